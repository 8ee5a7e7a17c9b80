"""The e-reader edition as the stores judge it: EPUBCheck, the nav, the diagram font, the same bytes twice."""

from __future__ import annotations

import io
import zipfile

import pytest
from conftest import BOOKS, XHTML, build_manifest, epub_documents, epubcheck, source_diagrams
from fontTools.ttLib import TTFont

from publisher import load_book

OPS = "{http://www.idpf.org/2007/ops}"


@pytest.mark.parametrize("name", ["handbook", "ereader"])
def test_epubcheck_passes_without_errors_or_warnings(sample_books, name):
    assert epubcheck(sample_books[name].files["epub"]) == []


def test_nav_has_the_landmarks_and_the_manifest_order(sample_books):
    built = sample_books["handbook"]
    nav = epub_documents(built.files["epub"])["EPUB/nav.xhtml"]
    landmarks = next(n for n in nav.iter(f"{XHTML}nav") if n.get(f"{OPS}type") == "landmarks")
    kinds = [a.get(f"{OPS}type") for a in landmarks.iter(f"{XHTML}a")]
    assert kinds == ["cover", "toc", "bodymatter", "glossary", "index"]
    toc = next(n for n in nav.iter(f"{XHTML}nav") if n.get(f"{OPS}type") == "toc")
    book = load_book(built.manifest).book
    top = [("".join(li.find(f"{XHTML}a").itertext()).strip()) for li in toc.find(f"{XHTML}ol").findall(f"{XHTML}li")]
    assert top[: len(book.parts)] == [p.title for p in book.parts]


def test_every_document_has_a_language(sample_books):
    for name, doc in epub_documents(sample_books["handbook"].files["epub"]).items():
        assert doc.get("lang") == "en" and doc.get("{http://www.w3.org/XML/1998/namespace}lang") == "en", name


def test_the_embedded_font_covers_every_diagram_character(sample_books):
    built = sample_books["handbook"]
    with zipfile.ZipFile(built.files["epub"]) as z:
        fonts = [n for n in z.namelist() if n.startswith("EPUB/fonts/")]
        assert len(fonts) == 1
        cmap = TTFont(io.BytesIO(z.read(fonts[0]))).getBestCmap()
    needed = {ch for diagram in source_diagrams(built) for ch in diagram if ch not in "\n"}
    assert needed and not sorted(ch for ch in needed if ord(ch) not in cmap)


def test_footnotes_are_epub3_footnotes(sample_books):
    docs = epub_documents(sample_books["handbook"].files["epub"])
    asides = [a for d in docs.values() for a in d.iter(f"{XHTML}aside") if a.get(f"{OPS}type") == "footnote"]
    refs = [a for d in docs.values() for a in d.iter(f"{XHTML}a") if a.get(f"{OPS}type") == "noteref"]
    assert asides and len(refs) >= len(asides)


def test_two_builds_are_byte_identical(tmp_path):
    first = build_manifest(BOOKS / "ereader.yml", tmp_path / "one").files["epub"].read_bytes()
    second = build_manifest(BOOKS / "ereader.yml", tmp_path / "two").files["epub"].read_bytes()
    assert first == second
