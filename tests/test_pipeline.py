"""The normalizer's steps and their context: each step reads and writes what it declares (context.Step), the
order holds (context.check_order), README's architecture table is the declarations', and a note the book leaves
out is embedded as the same steps made the book's own articles."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from publisher import context, load_book
from publisher.context import Context, check_order, step
from publisher.diagnostics import Reporter
from publisher.manifest import load_manifest
from publisher.normalize import PREPARATION, STEPS, assemble, prepare_apart
from publisher.select import select
from publisher.vault import load_vault

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
BOOKS = (DATA / "tiny.yml", DATA / "semantics/book.yml", DATA / "obsidian/obsidian.yml", DATA / "links/book.yml",
         DATA / "editions/packet.yml")


def none(book, ctx):
    return book


def test_the_pipeline_order_holds_and_names_what_breaks_it():
    check_order(STEPS)
    with pytest.raises(ValueError, match=r"^step assign_ids reads 'title_headings', which no earlier step writes$"):
        check_order([s for s in STEPS if s.__name__ != "drop_title_headings"])
    with pytest.raises(ValueError, match=r"^step none writes 'outside', which no later step reads$"):
        check_order([step(none, writes={"outside"})], results=frozenset())
    with pytest.raises(ValueError, match=r"^step none names 'anchor', which is not a field of Context$"):
        check_order([step(none, reads={"anchor"})])


def test_the_preparation_is_the_steps_before_the_embeds():
    assert STEPS[:len(PREPARATION)] == PREPARATION
    assert STEPS[len(PREPARATION)].__name__ == "embed_notes"


class Recording(Context):
    """A Context that notes which of its fields are read (any access: a table filled in place is read first)."""

    def __getattribute__(self, name):
        if name in FIELDS:
            object.__getattribute__(self, "seen").add(name)
        return object.__getattribute__(self, name)


FIELDS = frozenset(f.name for f in fields(Context))


def snapshot(ctx: Context) -> dict:
    """Each field's value in a form that changes when the field is written or a table in it is filled."""

    def one(value):
        if isinstance(value, dict):
            return {k: dict(v) if isinstance(v, dict) else id(v) for k, v in value.items()}
        if isinstance(value, list):
            return [id(v) for v in value]
        return id(value)

    return {f: one(object.__getattribute__(ctx, f)) for f in FIELDS}


@pytest.mark.parametrize("manifest", BOOKS, ids=lambda p: p.relative_to(DATA).as_posix())
def test_every_step_reads_and_writes_only_what_it_declares(manifest):
    reporter = Reporter()
    m = load_manifest(manifest, reporter)
    vault = load_vault(m.source, reporter)
    book = assemble(m, select(m, vault, reporter), reporter, vault)
    ctx = Recording(manifest=m, vault=vault, reporter=reporter, prepare=prepare_apart)
    for s in STEPS:
        ctx.seen = set()
        before = snapshot(ctx)
        book = s(book, ctx)
        after = snapshot(ctx)
        written = {f for f in FIELDS if before[f] != after[f]}
        assert not written - s.writes, f"{s.__name__} writes {sorted(written - s.writes)} and does not declare it"
        assert not ctx.seen - s.reads - s.writes, f"{s.__name__} reads {sorted(ctx.seen - s.reads - s.writes)} undeclared"


def test_readme_shows_the_steps_as_declared():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert context.table(STEPS) in readme and context.with_table(readme, STEPS) == readme, \
        "README's table of the normalizer's steps is not their declarations': run `make docs`"


def test_a_note_left_out_is_embedded_as_the_book_prepares_its_own(tmp_path):
    """An embedded note the book leaves out goes through the same steps as the book's articles: its comments
    dropped, its conditional blocks kept or left out for this edition, its callouts boxes, its block ids anchors."""
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "host.md").write_text("---\ntitle: Host\n---\nBefore.\n\n![[apart]]\n\nAfter.\n", encoding="utf-8")
    (kb / "apart.md").write_text(
        "---\ntitle: Apart\n---\n# Apart\n\nKept %%hidden%% text.\n\n"
        "::: {.only edition=other}\nFor another edition.\n:::\n\n"
        "> [!tip] A tip\n> Inside.\n\nA paragraph with an id. ^para\n", encoding="utf-8")
    (tmp_path / "book.yml").write_text("title: B\nsource: kb\nglossary: false\nchapters: [host]\n", encoding="utf-8")
    reporter = Reporter()
    loaded = load_book(tmp_path / "book.yml", reporter)
    assert not reporter.diagnostics
    [host] = loaded.book.articles
    [div] = [b for b in host.blocks if b["t"] == "Div" and "embed-note" in b["c"][0][1]]
    from publisher import tree

    text = tree.stringify(div["c"][1])
    assert "Kept text." in text and "hidden" not in text and "another edition" not in text
    assert "Apart" not in [tree.stringify(h["c"][2]) for h in tree.walk(div["c"][1]) if h["t"] == "Header"]
    assert any("callout" in n["c"][0][1] for n in tree.walk(div["c"][1]) if n["t"] == "Div")
    assert any(n["c"][0][0].endswith("--embed-para") for n in tree.walk(div["c"][1]) if n["t"] == "Span")
