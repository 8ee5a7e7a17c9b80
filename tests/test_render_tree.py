"""Rendering from the tree: a PDF chunk's link targets and ids read from the trees it holds (raw HTML read by its
tags), never from its HTML; a fragment's notes made as tree nodes and given pandoc's form as elements."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from publisher import load_book, render, tree
from publisher.backends import pdfplan
from publisher.backends.pdfparts import targets_of
from publisher.backends.xhtml import fragment

FILLER = "\n\n" + " ".join(["words"] * 700) + "\n"


def _book(tmp_path: Path):
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "one.md").write_text("---\ntitle: One\n---\n## Start\n\nSee [[two#Later]] and [[one#Start]], "
                               'and <a href="#raw-target">the raw one</a>.\n' + FILLER, encoding="utf-8")
    (kb / "two.md").write_text('---\ntitle: Two\n---\n## Later\n\nA <span id="raw-target">raw target</span> and '
                               "[[one]].\n" + FILLER, encoding="utf-8")
    (tmp_path / "book.yml").write_text("title: T\nsource: kb\nglossary: false\nchapters:\n  - one\n  - two\n",
                                       encoding="utf-8")
    return load_book(tmp_path / "book.yml").book


def test_a_chunks_targets_come_from_its_trees(tmp_path):
    book = _book(tmp_path)
    chunks = pdfplan.plan(book, 1)  # a chunk for each chapter
    bodies = [c for c in chunks if c.kind == "body"]
    assert len(bodies) == 2
    later = next(h["c"][1][0] for h in tree.headers_of(book.chapters[1].articles[0].blocks))
    start = next(h["c"][1][0] for h in tree.headers_of(book.chapters[0].articles[0].blocks))
    assert targets_of(book, bodies[0]) == ([later, "raw-target"], [start])
    assert targets_of(book, bodies[1]) == ([book.chapters[0].id], [])
    outside, inside = targets_of(book, chunks[0])  # the front: the contents link to every chapter
    assert [c.id for c in book.chapters] == [t for t in outside if t in {c.id for c in book.chapters}] and not inside


def test_notes_are_tree_nodes_given_pandocs_form():
    note = {"t": "Note", "c": [tree.para([*tree.text_inlines("Outer"), {"t": "Note", "c": [tree.plain(tree.text_inlines("Inner"))]}])]}
    blocks = [tree.para([*tree.text_inlines("Text"), note])]
    made = render.notes_at_end(blocks)
    assert blocks == [tree.para([*tree.text_inlines("Text"), note])]  # not changed
    assert not any(n["t"] in ("Note", "RawBlock", "RawInline") for n in tree.walk(made))
    page = fragment(render.to_html([blocks])[0])
    refs = page.findall(".//a[@role='doc-noteref']")
    assert [list(a.attrib) for a in refs] == [["href", "class", "id", "role"]] * 2
    items = page.findall(".//section[@role='doc-endnotes']/ol/li")
    assert [li.get("id") for li in items] == ["fn1", "fn2"]  # the note inside a note after it
    assert etree.tostring(items[1], encoding="unicode").startswith('<li id="fn2">\nInner<a href="#fnref2" class="footnote-back"')


def test_a_long_fragment_written_in_runs_is_the_fragment_written_whole():
    """A chapter longer than render.PIECE_BYTES goes to pandoc in runs of its blocks; the HTML joined from them
    is the chapter's HTML written in one piece (its notes, code, tables, headings and the back matter's lists)."""
    book = load_book(Path(__file__).parents[1] / "books" / "handbook.yml").book
    fragments = [render.chapter_blocks(c) for c in book.chapters] + [b for *_, b in render.back_matter(book, 1)]
    assert any(n["t"] == "Note" for n in tree.walk(fragments)) and any(n["t"] == "CodeBlock" for n in tree.walk(fragments))
    whole = render.to_html(fragments, limit=10**9)
    assert render.to_html(fragments, limit=1) == whole  # each top-level block a run of its own
    assert render.to_html(fragments, limit=30_000) == whole
