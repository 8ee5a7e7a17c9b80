"""Editions from one vault: manifest inheritance, queries, and `publisher list`."""

from __future__ import annotations

import os

import pytest
from conftest import BOOKS, DATA

from publisher.cli import main
from publisher.diagnostics import ManifestError, Reporter
from publisher.manifest import load_manifest
from publisher.select import select
from publisher.vault import load_vault

EDITIONS = DATA / "editions"


def test_extends_takes_everything_and_overrides_what_it_sets():
    m = load_manifest(EDITIONS / "child.yml")
    assert (m.title, m.subtitle, m.authors) == ("Child Book", "The parent edition", ("Base Author",))
    assert m.output_name == "child" and m.output_dir == EDITIONS / "out"  # output merged key by key
    assert m.source == (DATA / "vault").resolve()  # relative to the parent that set it
    assert m.links_outside == "text" and m.filters == (("kb_status", ("published",)),)
    # the child's chapters replace the parent's parts
    assert [(p.title, [c.entries[0].value for c in p.chapters]) for p in m.parts] == [(None, ["gamma"])]


def test_extends_cycle_is_reported_at_its_place(monkeypatch):
    monkeypatch.chdir(EDITIONS)
    with pytest.raises(ManifestError) as exc:
        load_manifest(EDITIONS / "cycle-a.yml")
    assert [d.format() for d in exc.value.diagnostics] == [
        "cycle-b.yml:2:10: error: extends: the manifests extend each other in a cycle: cycle-a.yml -> cycle-b.yml -> cycle-a.yml [manifest.extends]"
    ]


def test_extends_a_missing_parent(monkeypatch):
    monkeypatch.chdir(EDITIONS)
    with pytest.raises(ManifestError) as exc:
        load_manifest(EDITIONS / "orphan.yml")
    assert exc.value.diagnostics[0].format() == "orphan.yml:1:10: error: extends: no manifest 'no-such-parent.yml' [manifest.extends]"
    assert exc.value.exit_code == 2


def test_queries_combine_conditions_and_exclude(monkeypatch):
    monkeypatch.chdir(EDITIONS)
    reporter = Reporter()
    m = load_manifest(EDITIONS / "queries.yml", reporter)
    selection = select(m, load_vault(m.source, reporter), reporter)
    chapters = [[a.path for a in c.articles] for _, cs in selection.parts for c in cs]
    assert chapters[0] == ["basics/beta.md", "advanced/gamma.md"]  # intermediate < advanced; draft delta is not published
    assert chapters[1] == ["basics/alpha.md"]  # beta and the delta glob excluded; gamma taken by chapter 1
    assert [d.format() for d in reporter.diagnostics] == [
        "queries.yml:13:9: warning: chapters[2].articles[0]: no article has the front-matter field 'dificulty' (did you mean 'difficulty'?) [select.unknown-field]",
        "queries.yml:13:9: warning: chapters[2].articles[0]: the query {glob: basics/*.md; dificulty: beginner} selects no article [select.empty]",
        "queries.yml:11:5: warning: chapters[2]: the chapter 'Typo' selects no article [select.empty]",
    ]


@pytest.mark.parametrize("name", sorted(p.stem for p in BOOKS.glob("*.yml")))
def test_publisher_list_of_each_sample_manifest(name, monkeypatch, capsys):
    monkeypatch.chdir(BOOKS.parent)
    assert main(["list", f"books/{name}.yml"]) == 0
    out = capsys.readouterr().out
    golden = DATA / "list" / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


# ---------------------------------------------------------------- conditional content and lessons
def _texts(built) -> dict[str, str]:
    """The whole text of each format a build wrote."""
    from conftest import docx_paragraph_text, docx_xml, epub_documents, pdf_text

    out = {}
    if "pdf" in built.files:
        out["pdf"] = pdf_text(built.files["pdf"])
    if "epub" in built.files:
        out["epub"] = "\n".join("".join(d.itertext()) for d in epub_documents(built.files["epub"]).values())
    if "docx" in built.files:
        doc = docx_xml(built.files["docx"])
        out["docx"] = "\n".join(docx_paragraph_text(p) for p in doc.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p"))
    return out


@pytest.fixture(scope="module")
def packet(tmp_path_factory):
    from conftest import build_manifest

    out = tmp_path_factory.mktemp("packet")
    return {name: _texts(build_manifest(EDITIONS / f"{name}.yml", out)) for name in ("packet", "packet-lessons")}


def test_conditional_content_follows_the_format(packet):
    texts = packet["packet-lessons"]
    shown = {fmt: {w for w in ("PRINT-ONLY", "SCREEN-ONLY", "WORD-ONLY") if w in text} for fmt, text in texts.items()}
    assert shown == {"pdf": {"PRINT-ONLY"}, "epub": {"SCREEN-ONLY"}, "docx": {"SCREEN-ONLY", "WORD-ONLY"}}
    assert all("Common text for every format." in text for text in texts.values())


def test_conditional_content_follows_the_edition(packet):
    for fmt in ("pdf", "epub", "docx"):
        assert "PACKET-EDITION" in packet["packet"][fmt] and "OTHER-EDITION" not in packet["packet"][fmt]
        assert "PACKET-EDITION" not in packet["packet-lessons"][fmt]


def test_lessons_are_numbered_with_objectives_and_a_reading_list(packet):
    for fmt, text in packet["packet-lessons"].items():
        assert "Lesson 1: Lesson One Topic" in text and "Lesson 2: Lesson Two Topic" in text, fmt
        assert "In this lesson" in text and "Learn what the first topic is and why it matters." in text, fmt
        assert "Reading list" in text and "An Outside Note (not in this packet)" in text, fmt
        assert "A Draft Note" not in text, fmt  # unpublished: not something to read
        assert "See also" not in text, fmt  # the reading list takes its place
    pdf_notes = packet["packet-lessons"]["pdf"].count("Notes")
    assert pdf_notes == 2 and "Notes" not in packet["packet-lessons"]["epub"]


def test_lesson_objectives_open_the_lesson(tmp_path):
    from publisher import load_book

    book = load_book(EDITIONS / "packet-lessons.yml").book
    first = book.chapters[0].articles[0].blocks[0]
    assert first["t"] == "Div" and "objectives" in first["c"][0][1]


# ---------------------------------------------------------------- front and back matter files
def test_front_and_back_matter_files_are_sections_of_their_own():
    from publisher import load_book

    reporter = Reporter()
    loaded = load_book(EDITIONS / "matter.yml", reporter)
    book = loaded.book
    assert reporter.diagnostics == []
    assert [a.path for a in book.front] == ["preface.md"] and [a.path for a in book.back] == ["appendix.md"]
    assert [(a.id, a.level) for a in (*book.front, *book.back)] == [("preface", 1), ("appendix", 1)]
    assert [c.title for c in book.chapters] == ["Lesson One Topic", "Matter Chapter"]  # matter is not a chapter
    # normalized like every article: the title heading dropped, headings below the title, links resolved
    preface = book.front[0]
    assert not any(b["t"] == "Header" and b["c"][0] == 1 for b in preface.blocks)
    assert book.article("preface") is preface
    # links from a chapter reach the front and back matter, and back
    chapter_links = [b["c"][2][0] for b in _walk(book.chapters[1].articles[0].blocks) if b["t"] == "Link"]
    assert chapter_links == ["#preface", "#appendix--sources"]
    assert "#matter-chapter" in [b["c"][2][0] for b in _walk(preface.blocks) if b["t"] == "Link"]
    # the glossary, the index and the tag index gather from the chapters only
    assert [e.term for e in book.glossary] == ["Common Text"]
    matter_ids = {"preface", "appendix"}
    assert not {article_id for e in book.index for article_id, _ in e.occurrences} & matter_ids
    assert not {i for g in book.tags for i in g.article_ids} & matter_ids


def _walk(blocks):
    from publisher import tree

    return tree.walk(list(blocks))


@pytest.fixture(scope="module")
def matter_book(tmp_path_factory):
    from conftest import build_manifest

    built = build_manifest(EDITIONS / "matter.yml", tmp_path_factory.mktemp("matter"))
    assert built.reporter.diagnostics == []
    return built


def test_front_and_back_matter_in_the_pdf(matter_book):
    from conftest import pdf_outline, pdf_pages_text

    path = matter_book.files["pdf"]
    outline = [(title, page) for _, title, page in pdf_outline(path)]
    assert [t for t, _ in outline] == ["Preface to the Matter Book", "Contents", "Lesson One Topic", "Matter Chapter",
                                      "Appendix of Sources", "Glossary", "Index"]
    pages = dict(outline)
    texts = pdf_pages_text(path)
    copyright_page = next(i for i, t in enumerate(texts) if "Made with publisher" in t)
    assert copyright_page < pages["Preface to the Matter Book"] < pages["Contents"] < pages["Lesson One Topic"]
    assert pages["Matter Chapter"] < pages["Appendix of Sources"] < pages["Glossary"] < pages["Index"]
    assert pages["Preface to the Matter Book"] % 2 == 0  # a right-hand page (0-based)
    contents = texts[pages["Contents"]]
    assert "Appendix of Sources" in contents and "Preface to the Matter Book" not in contents  # the contents follows it
    assert "PREFACE-TEXT" in texts[pages["Preface to the Matter Book"]]


def test_front_and_back_matter_in_the_epub(matter_book):
    import zipfile

    from conftest import epub_broken_links, epubcheck
    from lxml import etree

    path = matter_book.files["epub"]
    with zipfile.ZipFile(path) as z:
        opf = etree.fromstring(z.read("EPUB/content.opf"))
        nav = etree.fromstring(z.read("EPUB/nav.xhtml"))
    ns = {"opf": "http://www.idpf.org/2007/opf", "x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
    spine = [i.get("idref") for i in opf.iterfind("opf:spine/opf:itemref", ns)]
    assert spine == ["cover", "titlepage", "front-preface", "nav", "chapter-01", "chapter-02", "back-appendix",
                     "glossary", "index"]
    toc = [a.get("href") for a in nav.iterfind(".//x:nav[@epub:type='toc']//x:a", ns)]
    assert toc == ["front-preface.xhtml", "chapter-01.xhtml", "chapter-02.xhtml", "back-appendix.xhtml",
                   "glossary.xhtml", "index.xhtml"]
    landmarks = {a.get("{http://www.idpf.org/2007/ops}type"): a.get("href")
                 for a in nav.iterfind(".//x:nav[@epub:type='landmarks']//x:a", ns)}
    assert landmarks["bodymatter"] == "chapter-01.xhtml"
    assert epub_broken_links(path) == [] and epubcheck(path) == []


def test_front_and_back_matter_in_the_docx(matter_book):
    from conftest import W, docx_broken_links, docx_paragraph_text, docx_xml

    path = matter_book.files["docx"]
    body = docx_xml(path).find(f"{W}body")
    order = []
    for el in body:
        if el.tag == f"{W}sdt" and "TOC" in "".join(t.text or "" for t in el.iter(f"{W}instrText")):
            order.append("CONTENTS")
        elif el.tag == f"{W}p":
            style = el.find(f"{W}pPr/{W}pStyle")
            if style is not None and style.get(f"{W}val") in ("Title", "Heading1"):
                order.append(docx_paragraph_text(el))
    assert order == ["Matter Book", "Preface to the Matter Book", "CONTENTS", "Lesson One Topic", "Matter Chapter",
                     "Appendix of Sources", "Glossary", "Index"]
    assert docx_broken_links(path) == []
