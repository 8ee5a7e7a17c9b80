"""The DOCX backend: back matter, the contents field, reproducible builds, and what LibreOffice makes of it."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from conftest import (
    BOOKS,
    W,
    build_manifest,
    docx_bookmark_paragraphs,
    docx_headings,
    docx_paragraph_text,
    docx_xml,
    pdf_pages_text,
    source_diagrams,
)

from publisher import load_book

BACK_MATTER = ("Glossary", "Tag index", "Index")


def _sections(path) -> dict[str, list]:
    """The body's elements under each Heading 1, by the heading's text."""
    sections: dict[str, list] = {}
    current = None
    for el in docx_xml(path).find(f"{W}body"):
        style = el.find(f"{W}pPr/{W}pStyle")
        if el.tag == f"{W}p" and style is not None and style.get(f"{W}val") == "Heading1":
            current = docx_paragraph_text(el)
            sections[current] = []
        elif current is not None:
            sections[current].append(el)
    return sections


def test_back_matter_sections_are_headings_with_working_links(sample_books):
    path = sample_books["handbook"].files["docx"]
    book = load_book(sample_books["handbook"].manifest).book
    headings = [text for style, text in docx_headings(path) if style == "Heading1"]
    assert headings[-3:] == list(BACK_MATTER)
    marks = docx_bookmark_paragraphs(path)
    assert [marks.get(name) for name in ("glossary", "tag-index", "index")] == list(BACK_MATTER)

    sections = _sections(path)
    titles = {a.id: a.title for a in book.articles}
    for name in BACK_MATTER:
        links = [(docx_paragraph_text(h), h.get(f"{W}anchor")) for el in sections[name] for h in el.iter(f"{W}hyperlink")]
        assert len(links) > 20, name
        assert [a for _, a in links if not a] == [], f"{name}: a link without an anchor"
        assert [a for _, a in links if a not in marks] == [], f"{name}: links to no bookmark"
        assert [a for _, a in links if not marks[a].strip()] == [], f"{name}: links to an empty paragraph"

    # the tag index links each article by its title, to the article's heading
    tag_links = [(docx_paragraph_text(h), h.get(f"{W}anchor")) for el in sections["Tag index"] for h in el.iter(f"{W}hyperlink")]
    assert {a for _, a in tag_links} == set(titles)
    for text, anchor in tag_links:
        assert text == titles[anchor] == marks[anchor], anchor
    # every glossary term is in the glossary section
    glossary_text = "\n".join(docx_paragraph_text(p) for el in sections["Glossary"] for p in el.iter(f"{W}p"))
    assert book.glossary and all(entry.term in glossary_text for entry in book.glossary)


def test_docx_has_a_table_of_contents_field(sample_books):
    doc = docx_xml(sample_books["handbook"].files["docx"])
    instructions = [el.text or "" for el in doc.iter(f"{W}instrText")] + [el.get(f"{W}instr", "") for el in doc.iter(f"{W}fldSimple")]
    assert any(i.split()[:1] == ["TOC"] for i in instructions), instructions


def test_two_docx_builds_are_byte_identical(tmp_path):
    first = build_manifest(BOOKS / "course-intro.yml", tmp_path / "one", formats=["docx"])
    second = build_manifest(BOOKS / "course-intro.yml", tmp_path / "two", formats=["docx"])
    assert sorted(first.files) == sorted(second.files) == ["docx"]
    assert first.files["docx"].read_bytes() == second.files["docx"].read_bytes()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed; .ci/run installs libreoffice-writer-nogui")
def test_libreoffice_converts_the_docx_to_pdf(sample_books, tmp_path):
    built = sample_books["handbook"]
    source = built.files["docx"]
    started = time.monotonic()
    proc = subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    pdf = tmp_path / f"{source.stem}.pdf"
    assert pdf.is_file(), f"soffice exit {proc.returncode} after {elapsed:.1f}s: {proc.stdout}{proc.stderr}"

    pages = pdf_pages_text(pdf)
    assert len(pages) > 40
    text = "\n".join(pages)
    flat = " ".join(text.split())
    book = load_book(built.manifest).book
    expected = [book.manifest.title, *(p.title for p in book.parts), *(c.title for c in book.chapters), *BACK_MATTER]
    assert [t for t in expected if " ".join(t.split()) not in flat] == []

    widest = max(source_diagrams(built), key=lambda d: max(len(x) for x in d.split("\n")))
    rows = [line.strip() for line in widest.split("\n") if line.strip()]
    lines = [line.strip() for line in text.splitlines()]
    assert rows[0] in lines
    start = lines.index(rows[0])
    assert lines[start:start + len(rows)] == rows
