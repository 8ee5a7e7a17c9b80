"""Callouts: Obsidian's `> [!type] Title` block quotes (foldable `[!faq]-`, `[!tip]+`, any type, any case) and
the GitHub alerts pandoc reads as a Div (class "note", ..., with a Div "title") become one shape of box:

    Div.callout.callout-KIND (data-callout=TYPE) [ Div.callout-title [Para title], body... ]

KIND is Obsidian's family of the type (`hint` is a tip, `fail` a failure); an unknown or localized type
keeps its own name and gets the plain box. Each backend styles the box (CSS; Word styles in the DOCX).
"""

from __future__ import annotations

from dataclasses import replace

from . import tree
from .ids import xml_id
from .model import Book, map_articles

KINDS = {  # Obsidian's aliases -> the type whose look they share
    "summary": "abstract", "tldr": "abstract", "hint": "tip", "important": "tip", "check": "success",
    "done": "success", "help": "question", "faq": "question", "caution": "warning", "attention": "warning",
    "fail": "failure", "missing": "failure", "error": "danger", "cite": "quote",
}
TITLES = {"faq": "FAQ", "tldr": "TL;DR", "todo": "To do"}
ALERTS = ("note", "tip", "important", "warning", "caution")  # GitHub's alert types, as pandoc's `alerts` reads them


def convert_callouts(book: Book, ctx) -> Book:
    """Step: every callout, wherever it is (in a list, in another callout), becomes a box."""
    # a block without a quote or a div holds no callout: handed on untouched (tree.facts tells at once)
    return map_articles(book, lambda a: replace(a, blocks=tuple(
        _convert(b) if tree.facts(b).types & {"BlockQuote", "Div"} else b for b in a.blocks)))


def callout(kind: str, title: list, body: list) -> dict:
    kind = kind.strip().lower() or "note"
    if not tree.stringify(title).strip():
        title = tree.text_inlines(TITLES.get(kind, kind.capitalize()))
    style = xml_id(KINDS.get(kind, kind), "c")
    return tree.div([tree.div([tree.para(title)], classes=["callout-title"]), *body],
                  classes=["callout", f"callout-{style}"], kvs=[("data-callout", kind)])


def _convert(node: dict) -> dict:
    """node with every callout in it converted (the innermost first); copied only where something changed."""
    t = node["t"]
    if t in ("BlockQuote", "Div", "BulletList", "OrderedList", "DefinitionList", "Figure", "Table"):
        new = tree.rebuild_children(node, _convert)
        if t == "BlockQuote":
            return _from_quote(new["c"]) or new
        if t == "Div":
            return _from_alert(new["c"][0], new["c"][1]) or new
        return new
    return node


def _from_quote(inner: list) -> dict | None:
    first = inner[0] if inner else None
    if not (first and first.get("t") in ("Para", "Plain") and first["c"] and first["c"][0].get("t") == "Str"):
        return None
    head = first["c"][0]["c"]
    if not head.startswith("[!") or "]" not in head:
        return None
    kind, _, rest = head[2:].partition("]")
    rest = rest.lstrip("+-")  # foldable or not: a book shows the callout open
    inlines = ([{"t": "Str", "c": rest}] if rest else []) + first["c"][1:]
    title, body = _split_title(inlines)
    return callout(kind, _drop_hashes(title), ([tree.para(body)] if body else []) + inner[1:])


def _from_alert(attr: list, inner: list) -> dict | None:
    classes = attr[1]
    if len(classes) != 1 or classes[0] not in ALERTS or not inner:
        return None
    first = inner[0]
    if first.get("t") != "Div" or "title" not in first["c"][0][1]:
        return None
    title = [x for b in first["c"][1] if b.get("t") in ("Para", "Plain") for x in b["c"]]
    return callout(classes[0], title, inner[1:])


def _split_title(inlines: list) -> tuple[list, list]:
    """The callout title runs to the first line break; the rest of the paragraph is its body."""
    for i, node in enumerate(inlines):
        if node.get("t") in ("SoftBreak", "LineBreak"):
            return _trim(inlines[:i]), _trim(inlines[i + 1:])
    return _trim(inlines), []


def _drop_hashes(title: list) -> list:
    """`> [!faq]- ### Question`: the heading marks written into a title are not part of it."""
    title = _trim(title)
    if title and title[0].get("t") == "Str" and set(title[0]["c"]) == {"#"}:
        return _trim(title[1:])
    return title


def _trim(inlines: list) -> list:
    while inlines and inlines[0].get("t") == "Space":
        inlines = inlines[1:]
    while inlines and inlines[-1].get("t") == "Space":
        inlines = inlines[:-1]
    return inlines
