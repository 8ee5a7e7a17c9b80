"""Block ids: Obsidian's `^block-id` at the end of a paragraph or list item, or alone on the line after a
block (a table, a code block, a quote), names that block so `[[note#^block-id]]` can link to it or embed it.

The `^block-id` text is dropped; the paragraph's text becomes a Span, the block before a lone `^id` a Div,
with the id `<article-id>--<block-id>`, registered in ctx.anchors under "^" + fold(block-id).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from . import tree
from .ids import IdAllocator, xml_id
from .model import Article, Book, map_articles
from .vault import fold

BLOCK_ID = re.compile(r"\^([A-Za-z0-9-]+)")  # Obsidian's block ids: letters, digits and hyphens
CONTAINERS = ("BlockQuote", "Div", "BulletList", "OrderedList")  # their lists of blocks (and items) are searched


def assign_block_ids(book: Book, ctx) -> Book:
    """Step: every `^block-id` becomes an anchor of its article."""
    ids = IdAllocator()
    ids.used.update(book_ids(book))

    def one(a: Article) -> Article:
        table = ctx.anchors.setdefault(a.id, {})
        blocks = mark_block_ids(list(a.blocks), lambda name: ids.take(f"{a.id}--{xml_id(name, 'b')}"), table)
        return replace(a, blocks=tuple(blocks))

    return map_articles(book, one)


def book_ids(book: Book) -> set[str]:
    """Every id the book already uses: parts, chapters, articles and every element of every article."""
    used = {p.id for p in book.parts} | {c.id for c in book.chapters}
    for a in book.every_article:
        used.add(a.id)
        used |= tree.ids_of_blocks(a.blocks)
    return used


def mark_block_ids(blocks: list, make_id: Callable[[str], str], table: dict[str, str]) -> list:
    """The blocks with each `^block-id` turned into an id (a new tree); table gets "^" + fold(name) -> id."""

    def take(name: str) -> str:
        key = "^" + fold(name)
        if key not in table:
            table[key] = make_id(name)
        return table[key]

    def go_blocks(items: list) -> list:  # one list of blocks, in reading order: the first id of a name wins
        out: list = []
        changed = False
        for block in items:
            name = _lone_id(block)
            if name and out and "^" + fold(name) not in table:
                out[-1] = tree.div([out[-1]], ident=take(name), classes=["block"])
                changed = True
                continue
            new = go(block)
            changed = changed or new is not block
            out.append(new)
        return out if changed else items  # copied only where something changed

    def go(node: dict) -> dict:
        t = node.get("t")
        if t in ("Para", "Plain"):
            inlines, name = _trailing_id(node["c"])
            if name and inlines and "^" + fold(name) not in table:
                return {"t": t, "c": [tree.span(inlines, ident=take(name), classes=["block"])]}
            return node
        return tree.rebuild_list_children(node, go_blocks) if t in CONTAINERS else node

    return go_blocks(blocks)


def _trailing_id(inlines: list) -> tuple[list, str | None]:
    """A paragraph ending in ` ^block-id`: its inlines without it, and the name."""
    if len(inlines) < 2 or inlines[-1].get("t") != "Str":
        return inlines, None
    match = BLOCK_ID.fullmatch(inlines[-1]["c"])
    if not match or inlines[-2].get("t") not in ("Space", "SoftBreak", "LineBreak"):
        return inlines, None
    rest = inlines[:-2]
    while rest and rest[-1].get("t") in ("Space", "SoftBreak", "LineBreak"):
        rest = rest[:-1]
    return rest, match.group(1)


def _lone_id(block: dict) -> str | None:
    """A paragraph that is nothing but `^block-id`: it names the block before it."""
    if block.get("t") == "Para" and len(block["c"]) == 1 and block["c"][0].get("t") == "Str":
        match = BLOCK_ID.fullmatch(block["c"][0]["c"])
        return match.group(1) if match else None
    return None
