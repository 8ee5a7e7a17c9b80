"""A cover image named by the manifest, and the reading direction, in the PDF and the EPUB."""

from __future__ import annotations

import shutil
import zipfile

import pypdf
from conftest import DATA, build_manifest, epubcheck
from lxml import etree
from PIL import Image

OPF = "{http://www.idpf.org/2007/opf}"


def _book(tmp_path, extra: str):
    shutil.copytree(DATA / "vault", tmp_path / "vault")
    Image.new("RGB", (60, 90), (200, 30, 30)).save(tmp_path / "vault" / "cover.png")
    manifest = tmp_path / "book.yml"
    manifest.write_text((DATA / "tiny.yml").read_text(encoding="utf-8") + extra, encoding="utf-8")
    return build_manifest(manifest, tmp_path / "out", ["pdf", "epub"])


def test_the_manifest_cover_is_on_the_pdf_and_epub_covers(tmp_path):
    built = _book(tmp_path, "cover: cover.png\ndirection: rtl\n")
    first = pypdf.PdfReader(built.files["pdf"]).pages[0]
    xobjects = first["/Resources"].get("/XObject") or {}
    assert any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())
    with zipfile.ZipFile(built.files["epub"]) as z:
        opf = etree.fromstring(z.read("EPUB/content.opf"))
        cover = [i for i in opf.iter(f"{OPF}item") if "cover-image" in (i.get("properties") or "")]
        assert [(i.get("href"), i.get("media-type")) for i in cover] == [("images/cover.png", "image/png")]
        assert z.read("EPUB/images/cover.png") == (tmp_path / "vault" / "cover.png").read_bytes()
        assert opf.find(f"{OPF}spine").get("page-progression-direction") == "rtl"
        chapter = etree.fromstring(z.read("EPUB/chapter-01.xhtml"))
        assert chapter.get("dir") == "rtl"
    assert epubcheck(built.files["epub"]) == []


def test_without_a_cover_the_epub_draws_one(tmp_path):
    built = _book(tmp_path, "")
    with zipfile.ZipFile(built.files["epub"]) as z:
        assert "EPUB/images/cover.svg" in z.namelist()
        assert etree.fromstring(z.read("EPUB/chapter-01.xhtml")).get("dir") == "ltr"
