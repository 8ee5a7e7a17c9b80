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
        "cycle-b.yml:2:10: error: extends: the manifests extend each other in a cycle: cycle-a.yml -> cycle-b.yml -> cycle-a.yml"
    ]


def test_extends_a_missing_parent(monkeypatch):
    monkeypatch.chdir(EDITIONS)
    with pytest.raises(ManifestError) as exc:
        load_manifest(EDITIONS / "orphan.yml")
    assert exc.value.diagnostics[0].format() == "orphan.yml:1:10: error: extends: no manifest 'no-such-parent.yml'"
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
        "queries.yml:13:9: warning: chapters[2].articles[0]: no article has the front-matter field 'dificulty' (did you mean 'difficulty'?)",
        "queries.yml:13:9: warning: chapters[2].articles[0]: the query {glob: basics/*.md; dificulty: beginner} selects no article",
        "queries.yml:11:5: warning: chapters[2]: the chapter 'Typo' selects no article",
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
