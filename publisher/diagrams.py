"""Diagrams: code blocks drawn with box-drawing characters. Their text is never changed; they are only
marked (class "diagram") and measured, so each backend can pick a size that keeps every line whole."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from . import pandoc as pd
from .model import Article, Book, map_articles

BOX_DRAWING = range(0x2500, 0x2600)  # box drawing, block elements, geometric shapes
ARROWS = range(0x2190, 0x2200)
_DRAWN = re.compile("[\u2190-\u21ff\u2500-\u25ff]")  # BOX_DRAWING and ARROWS, for counting them at C speed


def is_diagram(text: str, classes: list[str]) -> bool:
    if classes and classes[0] not in ("text", "diagram", "ascii", "txt"):
        return False  # a program or a mermaid source: code, not a drawing
    return len(_DRAWN.findall(text)) >= 4


_NARROW = re.compile("[\x00-\x7f\u2190-\u21ff\u2500-\u25fc\u25ff]*")  # ASCII, arrows, box drawing: one cell each (U+25FD, U+25FE are wide)


def columns(line: str) -> int:
    """Display width of a line in a monospace font (wide East Asian characters take two cells)."""
    if _NARROW.fullmatch(line):
        return len(line)  # no ASCII, box-drawing or arrow character is wide or combining
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1 for ch in line)


def width(text: str) -> int:
    return max((columns(line) for line in text.split("\n")), default=0)


def _mark(block: dict) -> dict:
    if block.get("t") == "CodeBlock":
        attr, text = block["c"]
        if is_diagram(text, attr[1]) and "diagram" not in attr[1]:
            kvs = [kv for kv in attr[2] if kv[0] != "data-columns"] + [["data-columns", str(width(text))]]
            return {"t": "CodeBlock", "c": [[attr[0], [*attr[1], "diagram"], kvs], text]}
        return block
    return pd.rebuild_children(block, _mark)  # copied only where a diagram is marked


def mark_diagrams(book: Book, ctx) -> Book:
    def article(a: Article) -> Article:
        return replace(a, blocks=tuple(_mark(b) if "CodeBlock" in pd.facts(b).types else b for b in a.blocks))

    return map_articles(book, article)

