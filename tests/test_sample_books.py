"""The sample books that `make book` builds, checked as a reader's tools would see them."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import (
    BOOKS,
    XHTML,
    W,
    docx_broken_links,
    docx_headings,
    docx_paragraph_text,
    docx_xml,
    epub_broken_links,
    epub_documents,
    pdf_links,
    pdf_outline,
    pdf_pages_text,
    pdf_text,
    source_diagrams,
)

from publisher import load_book


def planted_broken_links() -> set[str]:
    """path:line of the links the sample knowledge base leaves broken on purpose."""
    lines = (BOOKS / "kb" / "BROKEN-LINKS.txt").read_text(encoding="utf-8").splitlines()
    return {":".join(line.split(":")[:2]) for line in lines if line.strip()}


def test_the_sample_books_are_written(sample_books):
    assert sorted(sample_books["handbook"].files) == ["docx", "epub", "pdf"]
    assert sorted(sample_books["ereader"].files) == ["epub"]
    assert sorted(sample_books["course-intro"].files) == ["docx", "pdf"]
    assert sorted(sample_books["course-genai"].files) == ["docx", "pdf"]
    for built in sample_books.values():
        for path in built.files.values():
            assert path.stat().st_size > 10_000


def test_only_the_planted_links_are_reported(sample_books):
    planted = planted_broken_links()
    kb = (BOOKS / "kb").resolve()
    for name, built in sample_books.items():
        assert not built.reporter.errors, name
        for d in built.reporter.warnings:
            place = f"{Path(d.location.path).resolve().relative_to(kb)}:{d.location.line}"
            if d.code == "render.mermaid":  # the one mermaid block, said once per book that holds it
                assert place == "ai/2_generative/transformers.md:112", (name, d.format())
                continue
            assert place in planted and "unresolved link" in d.message, (name, d.format())
    handbook = {f"{Path(d.location.path).resolve().relative_to(kb)}:{d.location.line}"
                for d in sample_books["handbook"].reporter.warnings if d.code != "render.mermaid"}
    assert [d.code for d in sample_books["handbook"].reporter.warnings].count("render.mermaid") == 1
    assert handbook == planted


@pytest.mark.parametrize("name", ["handbook", "course-intro", "course-genai"])
def test_pdf_outline_follows_the_manifest(sample_books, name):
    built = sample_books[name]
    book = load_book(built.manifest).book
    expected = []
    for part in book.parts:
        if part.title:
            expected.append((0, part.title))
        for chapter in part.chapters:
            expected.append((1 if part.title else 0, chapter.title))
            if not chapter.single:
                expected += [(2 if part.title else 1, a.title) for a in chapter.articles]
    outline = [(depth, title) for depth, title, _ in pdf_outline(built.files["pdf"])]
    assert outline == [(0, "Contents"), *expected, (0, "Glossary"), (0, "Tag index"), (0, "Index")]


def test_handbook_has_the_manifest_order(sample_books):
    book = load_book(BOOKS / "handbook.yml").book
    assert [p.title for p in book.parts] == ["Foundations", "Machine Learning", "Generative AI", "Ethics and Governance"]
    assert [a.slug for c in book.parts[0].chapters for a in c.articles] == [
        "what-is-ai", "types-of-ai", "history-of-ai", "the-ai-stack", "machine-learning-vs-deep-learning",
    ]
    assert all(a.kb_status == "published" for a in book.articles)
    # the glob in "Language models" is sorted by title
    language = next(c for c in book.chapters if c.title == "Language models")
    titles = [a.title for a in language.articles]
    assert titles == sorted(titles, key=str.casefold)


def test_epub_chapters_follow_the_nav(sample_books):
    for name in ("handbook", "ereader"):
        path = sample_books[name].files["epub"]
        book = load_book(sample_books[name].manifest).book
        nav = epub_documents(path)["EPUB/nav.xhtml"]
        toc = next(n for n in nav.iter(f"{XHTML}nav") if n.get("{http://www.idpf.org/2007/ops}type") == "toc")
        titles = ["".join(a.itertext()).strip() for a in toc.iter(f"{XHTML}a")]
        chapters = [c.title for c in book.chapters]
        assert [t for t in titles if t in chapters] == chapters


@pytest.mark.parametrize("name", ["handbook", "ereader", "course-intro", "course-genai"])
def test_every_internal_link_resolves(sample_books, name):
    built = sample_books[name]
    if "epub" in built.files:
        assert epub_broken_links(built.files["epub"]) == []
    if "docx" in built.files:
        assert docx_broken_links(built.files["docx"]) == []
    if "pdf" in built.files:
        targets, names = pdf_links(built.files["pdf"])
        assert len(targets) > 20
        assert sorted(set(targets) - names) == []


def test_diagrams_are_exact_in_the_epub(sample_books):
    built = sample_books["handbook"]
    diagrams = source_diagrams(built)
    assert len(diagrams) >= 8
    docs = epub_documents(built.files["epub"])
    pres = ["".join(p.itertext()) for d in docs.values() for p in d.iter(f"{XHTML}pre") if "diagram" in (p.get("class") or "")]
    assert sorted(pres) == sorted(diagrams)


def test_diagrams_are_exact_in_the_pdf(sample_books):
    """Every line of every diagram is a line of the PDF's text, inner spacing and all."""
    built = sample_books["handbook"]
    lines = {line.strip() for line in pdf_text(built.files["pdf"]).splitlines()}
    diagrams = source_diagrams(built)
    assert len(diagrams) >= 8
    for diagram in diagrams:
        for line in diagram.split("\n"):
            if line.strip():
                assert line.strip() in lines, line


def test_wide_diagram_is_on_one_page_and_not_wrapped(sample_books):
    built = sample_books["handbook"]
    widest = max(source_diagrams(built), key=lambda d: max(len(x) for x in d.split("\n")))
    assert max(len(x) for x in widest.split("\n")) > 100
    pages = [p for p in pdf_pages_text(built.files["pdf"]) if widest.split("\n")[1].strip() in p]
    assert len(pages) == 1
    page_lines = [line.strip() for line in pages[0].splitlines()]
    rows = [line.strip() for line in widest.split("\n") if line.strip()]
    start = page_lines.index(rows[0])
    assert page_lines[start:start + len(rows)] == rows


def test_docx_uses_heading_styles_in_order(sample_books):
    built = sample_books["handbook"]
    book = load_book(built.manifest).book
    headings = docx_headings(built.files["docx"])
    parts = [text for style, text in headings if style == "Heading1"]
    assert parts == [p.title for p in book.parts] + ["Glossary", "Tag index", "Index"]
    chapters = [text for style, text in headings if style == "Heading2"]
    assert [c for c in chapters if c in {ch.title for ch in book.chapters}] == [c.title for c in book.chapters]


def test_diagrams_are_exact_in_the_docx(sample_books):
    built = sample_books["handbook"]
    doc = docx_xml(built.files["docx"])
    paragraphs = [p for p in doc.iter(f"{W}p") if (s := p.find(f"{W}pPr/{W}pStyle")) is not None and s.get(f"{W}val") == "Diagram"]
    assert sorted(docx_paragraph_text(p) for p in paragraphs) == sorted(source_diagrams(built))


def test_docx_bookmarks_fit_word(sample_books):
    doc = docx_xml(sample_books["handbook"].files["docx"])
    names = [b.get(f"{W}name") for b in doc.iter(f"{W}bookmarkStart")]
    assert names and max(len(n) for n in names) <= 40
    assert len(names) == len(set(names))


def test_docx_properties(sample_books):
    core = docx_xml(sample_books["handbook"].files["docx"], "docProps/core.xml")
    text = {el.tag.split("}")[1]: el.text for el in core}
    assert text["title"] == "The AI Handbook"
    assert text["creator"] == "The Publisher Team"
    assert text["language"] == "en"
    assert "generative-ai" in text["keywords"]
