"""Golden files of the normalized book: for a few small vaults, every article's pandoc tree as the normalizer
leaves it, with the glossary, the index and the tag index, written as JSON under tests/golden/. A change to any
step that changes a tree shows here as a diff; after a deliberate one, `make golden` writes them again (read
the diff). No absolute path (the vault's place is <kb>) and no date in them."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

import pytest

from publisher import load_book, tree
from publisher.diagnostics import Reporter

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
BOOKS = {
    "tiny": DATA / "tiny.yml",  # the sample vault: parts, a tag query, a curated glossary, links outside
    "semantics": DATA / "semantics/book.yml",  # titles, embeds (of a note left out too, and a cycle), block ids
    "obsidian": DATA / "obsidian/obsidian.yml",  # marks, math, code, scripts, callouts, tags, properties
    "robust": DATA / "messy/robust/good.yml",  # a messy vault's good notes
}


def normalized(manifest: Path) -> str:
    """The normalized book as pretty JSON: one line per block, its inlines on that line."""
    loaded = load_book(manifest, Reporter())
    book = loaded.book
    root = loaded.context.vault.root.resolve().as_posix()
    articles = [{"path": a.path, "id": a.id, "title": a.title, "level": a.level, "tags": list(a.tags),
                 "blocks": list(a.blocks)} for a in book.every_article]
    data = {
        "parts": [{"title": p.title, "id": p.id, "chapters": [
            {"title": c.title, "id": c.id, "level": c.level, "articles": [a.id for a in c.articles]}
            for c in p.chapters]} for p in book.parts],
        "articles": articles,
        "glossary": [asdict(e) for e in book.glossary],
        "index": [asdict(e) for e in book.index],
        "tags": [asdict(t) for t in book.tags],
    }
    text = _pretty(data)
    for absolute in (quote(root), root):
        text = text.replace(absolute, "<kb>")
    return text


def _pretty(value, indent: str = "") -> str:
    """JSON with an object's keys one per line, and each block of a list of blocks (or each object of a list);
    a block that holds blocks (a Div, a quote, a list) shows them so too; the rest of a block on one line."""
    inner = indent + " "
    if isinstance(value, dict) and "t" not in value and value:
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, dict) and _holds_blocks(value.get("c")):
        return f'{{"t":{json.dumps(value["t"])},"c":{_pretty(value["c"], indent)}}}'
    if isinstance(value, list) and (_holds_blocks(value) or any(isinstance(x, dict) and "t" not in x for x in value)):
        return "[\n" + ",\n".join(inner + _pretty(x, inner) for x in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _holds_blocks(value) -> bool:
    """A list of blocks, or a list with one somewhere inside it (not inside an inline)."""
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(x, dict) and "t" in x and x["t"] not in tree.INLINE_TYPES for x in value):
        return True
    return any(_holds_blocks(x) for x in value if isinstance(x, list))


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_the_normalized_book_is_the_golden_one(name, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    text = normalized(BOOKS[name])
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert str(Path(__file__).parent.parent) not in text  # no absolute path
    assert golden.exists(), f"no {golden.name}: run `make golden` and read the diff"
    assert text == golden.read_text(encoding="utf-8"), (
        f"the normalized book of {BOOKS[name].relative_to(DATA)} differs from tests/golden/{name}.json: "
        "if the change is meant, run `make golden` and read the diff")


def test_the_golden_files_stay_small():
    assert sum(f.stat().st_size for f in GOLDEN.glob("*.json")) < 300_000
