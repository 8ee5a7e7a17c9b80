"""Properties: the front-matter fields the manifest lists (`properties: [difficulty, last_updated]`), shown
under each article's title as one line, `Difficulty: beginner · Last updated: 2025-01-24`, in every format.

A value is text, never markup: a list is joined with commas, a date is written as ISO 8601, true and false
are "yes" and "no", a `[[link]]` shows its text; a property an article lacks (or leaves empty) is absent.
The line is a Div of class `properties` (the theme styles it; Word gives it the "Properties" style), added
after the glossary and the index have gathered, so neither reads it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from . import tree as pd
from .model import Article, Book, map_articles

SEPARATOR = " \u00b7 "  # a middle dot between properties


def add_properties(book: Book, ctx) -> Book:
    names = book.manifest.properties
    if not names or getattr(ctx, "check", False):
        return book  # nothing asked, or nothing is written

    def one(a: Article) -> Article:
        shown = [(label(name), text) for name in names if (text := value_text(field(a.meta, name)))]
        if not shown:
            return a
        return replace(a, blocks=(properties_block(shown), *a.blocks))

    return map_articles(book, one, matter=False)  # a preface or an appendix is not an article with properties


def field(meta: dict[str, Any], name: str) -> Any:
    """A front-matter field by name, written in any case (`Last_Updated`)."""
    if name in meta:
        return meta[name]
    return next((v for k, v in meta.items() if isinstance(k, str) and k.lower() == name.lower()), None)


def label(name: str) -> str:
    """A field's name as a reader reads it: `last_updated` -> "Last updated"."""
    words = " ".join(name.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:]


def value_text(value: Any) -> str:
    """A front-matter value as one line of plain text ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(t for t in map(value_text, value) if t)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {t}" for k, v in value.items() if (t := value_text(v)))
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(value)).split())
    if text.startswith("[[") and text.endswith("]]"):  # a link in a property shows its text, as Obsidian does
        text = text[2:-2].rpartition("|")[2].strip()
    return text


def properties_block(shown: list[tuple[str, str]]) -> dict:
    """`Name: value · Name: value` in one paragraph, each property a Span, its name Strong."""
    inlines: list[dict] = []
    for i, (name, text) in enumerate(shown):
        if i:
            inlines += pd.text_inlines(SEPARATOR)
        body = [{"t": "Strong", "c": pd.text_inlines(name + ":")}, {"t": "Space"}, *pd.text_inlines(text)]
        inlines.append(pd.span(body, classes=["property"]))
    return pd.div([pd.para(inlines)], classes=["properties"])
