"""Every script, every glyph.

- Direction: a paragraph whose first strong character runs the other way than the book (Arabic or Hebrew in
  a left-to-right book) sits in a Div with `dir`, so its punctuation lands on the correct side (WeasyPrint
  ignores `dir="auto"`; pandoc writes `w:bidi` for Word).
- Glyphs: every character the book prints that no installed font can draw (WeasyPrint, through Pango, falls
  back to any installed font, so the fonts fontconfig lists are the ones that matter) is a warning with its place.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace

from . import tree
from .diagnostics import Diagnostic, Severity
from .model import Article, Book, map_articles

_RTL_TEXT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe]")  # Hebrew, Arabic, Syriac, Thaana, N'Ko...: a quick test only
STRONG = {"L": "ltr", "R": "rtl", "AL": "rtl"}
SILENT = frozenset(("Cc", "Cf", "Zs", "Zl", "Zp", "Cs"))  # controls, joiners and selectors, spaces: nothing to draw


def first_strong(text: str) -> str | None:
    """"ltr" or "rtl": the direction of the first strongly directional character, as dir="auto" decides."""
    for ch in text:
        found = STRONG.get(unicodedata.bidirectional(ch))
        if found:
            return found
    return None


def mark_direction(book: Book, ctx) -> Book:
    """Step: a paragraph (or a list item's words) whose text runs against the book gets its own direction."""
    ltr = book.manifest.direction != "rtl"

    def element(node: dict):
        t = node["t"]
        if t in ("Para", "Plain", "Header"):
            direction = first_strong(tree.stringify(node))
            if direction is not None and (direction == "rtl") == ltr:
                return tree.div([node], kvs=[("dir", direction)])
            return node
        if t in ("CodeBlock", "RawBlock", "Table", "Figure"):
            return node
        return tree.rebuild_children(node, element)

    def one(a: Article) -> Article:
        if ltr and not _RTL_TEXT.search(a.body):
            return a  # the usual case: nothing right-to-left at all
        old = list(a.blocks)
        new = tree.rebuild(old, element)
        return a if new is old else replace(a, blocks=tuple(new))

    return map_articles(book, one)


# ---------------------------------------------------------------- glyphs
@functools.cache
def installed_coverage() -> frozenset[int]:
    """Every code point some installed font draws, as fontconfig lists them (each font's charset, from its
    own cache): where Pango, and so WeasyPrint, looks for a font that has a character. (Read from the fonts'
    files with fontTools, the same set took 5 to 9 s of a cold build's check, before any page was laid out.)"""
    if not shutil.which("fc-list"):
        return frozenset()
    out = subprocess.run(["fc-list", "--format", "%{charset}\n"], capture_output=True, text=True, check=False)
    points: set[int] = set()
    for span in out.stdout.split():  # "20-7e a0-17f 2013 ..."
        low, _, high = span.partition("-")
        try:
            points.update(range(int(low, 16), int(high or low, 16) + 1))
        except ValueError:
            continue
    return frozenset(points)


def _characters(article: Article):
    """(character, is in a diagram) of everything the article prints: its words, code and diagrams."""
    for block in article.blocks:
        for node in tree.walk(block):
            t = node["t"]
            if t == "Str":
                yield node["c"], False
            elif t in ("Code", "CodeBlock"):
                yield node["c"][1], t == "CodeBlock" and "diagram" in node["c"][0][1]


def check_glyphs(book: Book) -> list[Diagnostic]:
    """Every character outside diagrams (the diagram check has those) that no installed font draws, once,
    at the first place it occurs."""
    covered = installed_coverage()
    if not covered:
        return []  # no fontconfig: nothing to judge by
    seen: set[str] = set()
    problems = []
    for article in book.every_article:
        for text, diagram in _characters(article):
            if diagram:
                continue
            for ch in text:
                if ch in seen or ord(ch) in covered or unicodedata.category(ch) in SILENT:
                    continue
                seen.add(ch)
                at = article.body.find(ch)
                line = article.body_line + article.body.count("\n", 0, at) if at >= 0 else 0
                col = at - article.body.rfind("\n", 0, at) if at >= 0 else 0
                problems.append(Diagnostic(
                    Severity.WARNING,
                    f"no installed font draws '{ch}' (U+{ord(ch):04X} {_name(ch)}): it prints as an empty box",
                    article.loc(line, col), f"install a font that has it; fc-list ':charset={ord(ch):x}' lists those that do",
                    code="pdf.glyph"))
    return problems


def _name(ch: str) -> str:
    return unicodedata.name(ch, "PRIVATE USE" if unicodedata.category(ch) == "Co" else "UNNAMED")
