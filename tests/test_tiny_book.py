"""A tiny vault built into all three formats: where each link lands, what is reported, what is generated."""

from __future__ import annotations

from conftest import (
    DATA,
    XHTML,
    W,
    docx_broken_links,
    docx_headings,
    docx_xml,
    epub_broken_links,
    epub_documents,
    pdf_links,
    pdf_outline,
)

from publisher import load_book
from publisher.diagnostics import Reporter


def test_diagnostics_are_exactly_the_broken_link(tiny_book, monkeypatch):
    monkeypatch.chdir(DATA)
    assert [d.format() for d in tiny_book.reporter.errors + tiny_book.reporter.warnings] == [
        "vault/basics/beta.md:15:77: warning: unresolved link to 'nowhere-article' [link.unresolved]"
    ]
    assert [d.code for d in tiny_book.reporter.infos] == ["link.outside"]  # to the article the filter leaves out


def test_structure_follows_the_manifest(tiny_book):
    book = load_book(DATA / "tiny.yml").book
    assert [(p.title, [c.title for c in p.chapters]) for p in book.parts] == [
        ("Basics", ["Alpha: The First Article", "Beta"]),
        ("Advanced", ["Going deeper"]),
    ]
    # the tag query picked gamma but not the draft delta
    assert [a.path for a in book.chapters[2].articles] == ["advanced/gamma.md"]
    assert pdf_outline(tiny_book.files["pdf"])[:6] == [
        (0, "Contents", 4), (0, "Basics", 6), (1, "Alpha: The First Article", 8), (1, "Beta", 10),
        (0, "Advanced", 12), (1, "Going deeper", 14),
    ]


def _epub_links(path, name):
    doc = epub_documents(path)[name]
    return [("".join(a.itertext()), a.get("href")) for a in doc.iter(f"{XHTML}a")]


def test_every_link_form_lands_in_the_epub(tiny_book):
    links = _epub_links(tiny_book.files["epub"], "EPUB/chapter-01.xhtml")
    assert links[:10] == [
        ("beta", "chapter-02.xhtml#beta"),  # [[beta]]: a name written as a word shows as typed, as in Obsidian
        ("the second one", "chapter-02.xhtml#beta"),
        ("beta > Details", "chapter-02.xhtml#beta--details"),
        ("a deep place", "chapter-03.xhtml#gamma--deep-section"),
        ("Overview", "#alpha--overview"),
        ("Beta by path", "chapter-02.xhtml#beta"),
        ("Beta details", "chapter-02.xhtml#beta--details"),
        ("Gamma encoded", "chapter-03.xhtml#gamma--deep-section"),
        ("relative", "chapter-03.xhtml#gamma--deep-section"),
        ("by alias", "#alpha"),
    ]
    assert epub_broken_links(tiny_book.files["epub"]) == []


def test_links_land_in_the_docx(tiny_book):
    path = tiny_book.files["docx"]
    assert docx_broken_links(path) == []
    doc = docx_xml(path)
    anchors = [h.get(f"{W}anchor") for h in doc.iter(f"{W}hyperlink") if h.get(f"{W}anchor")]
    assert len(anchors) >= 10
    headings = [text for _, text in docx_headings(path)]
    assert headings[:4] == ["Basics", "Alpha: The First Article", "Overview", "Links of other kinds"]


def test_links_land_in_the_pdf(tiny_book):
    targets, names = pdf_links(tiny_book.files["pdf"])
    assert targets and set(targets) <= names
    assert {"beta", "beta--details", "gamma--deep-section", "alpha--overview"} <= set(targets)


def test_code_is_never_rewritten(tiny_book):
    docs = epub_documents(tiny_book.files["epub"])
    code = ["".join(p.itertext()) for d in docs.values() for p in d.iter(f"{XHTML}pre")]
    assert 'print("[[not-a-link]] stays code")' in code


def test_outside_link_becomes_a_footnote(tiny_book):
    doc = epub_documents(tiny_book.files["epub"])["EPUB/chapter-03.xhtml"]
    text = " ".join(doc.itertext())
    assert "Delta" in text and "is not in this edition." in text


def test_glossary_and_tag_index(tiny_book):
    book = load_book(DATA / "tiny.yml", Reporter()).book
    assert [(e.term, e.source) for e in book.glossary] == [
        ("Alpha", "harvested"),  # the lead-in "**Alpha** is the first article."
        ("Gadget", "harvested"), ("Gizmo", "curated"), ("Widget", "curated"),
    ]
    assert [(g.label, g.article_ids) for g in book.tags] == [
        ("core_ideas", ("alpha", "beta")), ("deep", ("gamma",)), ("shared", ("alpha", "beta")),
    ]
    for fmt in ("epub",):
        names = epub_documents(tiny_book.files[fmt])
        assert {"EPUB/glossary.xhtml", "EPUB/tag-index.xhtml", "EPUB/index.xhtml"} <= set(names)
    headings = [text for _, text in docx_headings(tiny_book.files["docx"])]
    assert "Glossary" in headings and "Tag index" in headings and "Index" in headings
    titles = [t for _, t, _ in pdf_outline(tiny_book.files["pdf"])]
    assert titles[-3:] == ["Glossary", "Tag index", "Index"]
