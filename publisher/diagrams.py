"""Diagrams: code blocks drawn with box-drawing characters. Their text is never changed; they are only
marked (class "diagram") and measured, so each backend can pick a size that keeps every line whole."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import replace

from . import tree
from .model import Article, Book, map_articles
from .themes import TAB_SIZE, load_theme

BOX_DRAWING = range(0x2500, 0x2600)  # box drawing, block elements, geometric shapes
ARROWS = range(0x2190, 0x2200)
# A diagram's size in every format: the largest at which its widest line fits the text width, at most the size
# of the format's code (backends/pdf.py, backends/docx.py) and at least DIAGRAM_MIN_PT, smaller than anyone
# reads (the PDF turns such a diagram's page to landscape; Word sets it at that size and lets it run wider).
MONO_ADVANCE_EM = 0.602  # DejaVu Sans Mono: every glyph is 0.602 em wide
DIAGRAM_MIN_PT = 5.0
FIT = 0.98  # of the text width: room for rounding in the layout
_DRAWN = re.compile("[\u2190-\u21ff\u2500-\u25ff]")  # BOX_DRAWING and ARROWS, for counting them at C speed


def is_diagram(text: str, classes: list[str]) -> bool:
    if classes and classes[0] not in ("text", "diagram", "ascii", "txt"):
        return False  # a program or a mermaid source: code, not a drawing
    return len(_DRAWN.findall(text)) >= 4


_NARROW = re.compile("[\x00-\x7f\u2190-\u21ff\u2500-\u25fc\u25ff]*")  # ASCII, arrows, box drawing: one cell each (U+25FD, U+25FE are wide)


def columns(line: str, tab_size: int = TAB_SIZE) -> int:
    """Display width of a line in a monospace font (wide East Asian characters take two cells; a tab goes
    on to the next tab stop)."""
    if "\t" in line:
        return columns(expand_tabs(line, tab_size))
    if _NARROW.fullmatch(line):
        return len(line)  # no ASCII, box-drawing or arrow character is wide or combining
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1 for ch in line)


def expand_tabs(text: str, tab_size: int = TAB_SIZE) -> str:
    """The text with each tab replaced by the spaces up to the next tab stop (columns counted as above)."""
    lines = []
    for line in text.split("\n"):
        *pieces, last = line.split("\t")
        at, out = 0, []
        for piece in pieces:
            at += columns(piece)
            out += [piece, " " * (tab_size - at % tab_size)]
            at += tab_size - at % tab_size
        lines.append("".join(out) + last)
    return "\n".join(lines)


def width(text: str, tab_size: int = TAB_SIZE) -> int:
    return max((columns(line, tab_size) for line in text.split("\n")), default=0)


def fit_pt(columns: int, width_pt: float) -> float:
    """The size (pt) at which `columns` monospace cells fill the text width (less the room for rounding)."""
    return width_pt * FIT / (max(columns, 1) * MONO_ADVANCE_EM)


def mark_diagrams(book: Book, ctx) -> Book:
    tab_size = functools.cache(lambda: load_theme(ctx.manifest.theme, ctx.manifest.path).tab_size)

    def mark(block: dict) -> dict:
        if block.get("t") == "CodeBlock":
            attr, text = block["c"]
            if is_diagram(text, attr[1]) and "diagram" not in attr[1]:
                measured = width(text, tab_size()) if "\t" in text else width(text)  # the theme only when it counts
                kvs = [kv for kv in attr[2] if kv[0] != "data-columns"] + [["data-columns", str(measured)]]
                return {"t": "CodeBlock", "c": [[attr[0], [*attr[1], "diagram"], kvs], text]}
            return block
        return tree.rebuild_children(block, mark)  # copied only where a diagram is marked

    def article(a: Article) -> Article:
        return replace(a, blocks=tuple(mark(b) if "CodeBlock" in tree.facts(b).types else b for b in a.blocks))

    return map_articles(book, article)

