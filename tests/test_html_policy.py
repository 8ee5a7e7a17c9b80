"""One HTML policy (publisher/htmlpolicy.py): the raw HTML an article keeps, and the EPUB as a stricter profile
of it that says, once for each article, what it leaves out; the EPUB passes EPUBCheck all the same."""

from __future__ import annotations

import pytest
from conftest import XHTML, build_manifest, epub_documents, epubcheck, pdf_text

from publisher import htmlpolicy, sanitize
from publisher.backends import xhtml

RAW = ("---\ntitle: Raw\n---\nIntro line.\n\n<details open><summary>More about it</summary>\n\nThe hidden text.\n\n"
       "</details>\n\nA <span style=\"color: red\">red</span> word, a very<wbr>long word and a [styled](https://example.org){style=\"color: blue\"} link.\n")
PLAIN = "---\ntitle: Plain\n---\nNothing raw here, <b>bold</b> only.\n"


@pytest.fixture(scope="module")
def raw_book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("policy")
    (tmp / "vault").mkdir()
    (tmp / "vault" / "raw.md").write_text(RAW, encoding="utf-8")
    (tmp / "vault" / "plain.md").write_text(PLAIN, encoding="utf-8")
    (tmp / "book.yml").write_text("title: Policy\nsource: vault\nglossary: false\nchapters:\n  - raw\n  - plain\n",
                                  encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        return build_manifest(tmp / "book.yml", tmp / "out", ["epub", "pdf"])


def test_the_epub_is_a_stricter_profile_of_the_one_table():
    assert htmlpolicy.elements("epub") < htmlpolicy.elements("book") == sanitize.ALLOWED
    assert xhtml.KEEP == htmlpolicy.elements("epub") and {"details", "summary"} <= sanitize.ALLOWED - xhtml.KEEP
    book_everywhere, book_by_element = htmlpolicy.attributes("book")
    epub_everywhere, epub_by_element = htmlpolicy.attributes("epub")
    assert epub_everywhere <= book_everywhere
    assert all(names <= book_by_element.get(tag, set()) | book_everywhere for tag, names in epub_by_element.items())


def test_what_the_epub_leaves_out_is_reported_once_per_article(raw_book):
    root = str(raw_book.manifest.parent) + "/"
    lines = [d.format().removeprefix(root) for d in raw_book.reporter.diagnostics if d.code == "epub.removed"]
    assert lines == [
        "vault/raw.md:6:1: warning: the EPUB leaves out <details>, <summary>, style on <span> and style on <a> "
        "(its HTML profile is stricter than the book's; the text is kept) (a callout ('> [!note]-') shows the "
        "same in every format; the theme styles the EPUB) [epub.removed]"]


def test_the_epub_keeps_the_text_and_passes_epubcheck(raw_book):
    epub = raw_book.files["epub"]
    assert epubcheck(epub) == []
    body = next(d for name, d in epub_documents(epub).items() if "chapter-01" in name)
    text = "".join(body.itertext())
    assert "More about it" in text and "The hidden text." in text
    tags = {el.tag.removeprefix(XHTML) for el in body.iter() if isinstance(el.tag, str)}
    assert "wbr" in tags and not tags & {"details", "summary"}
    assert not [el for el in body.iter(f"{XHTML}span") if el.get("style")]


def test_the_pdf_keeps_what_the_book_allows(raw_book):
    text = pdf_text(raw_book.files["pdf"])
    assert "More about it" in text and "The hidden text." in text
