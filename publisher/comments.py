"""Obsidian comments: everything between two `%%` marks is dropped, inline or across blocks; code keeps them.

The marks are found in the tree, in document order: a Str may open or close a comment (`%%note%%`, `%%`,
`word%%`), and whatever lies between, Str, Space, emphasis, whole paragraphs or lists, is left out.
"""

from __future__ import annotations

from dataclasses import replace

from . import tree, treeedit
from .model import Article, Book, map_articles

MARK = "%%"
CODE = ("CodeBlock", "RawBlock", "Code", "RawInline", "Math")
TEXT_BLOCKS = ("Para", "Plain")


class _State:
    __slots__ = ("inside",)

    def __init__(self) -> None:
        self.inside = False


def drop_comments(book: Book, ctx) -> Book:
    """Step: drop `%%comments%%`; a comment left open hides the rest of its article, as in Obsidian, and is reported."""

    def one(a: Article) -> Article:
        if not any(tree.facts(b).comment_mark for b in a.blocks):  # MARK is "%%"
            return a
        state = _State()
        blocks = _blocks(list(a.blocks), state)
        if state.inside:
            ctx.reporter.warning("a '%%' comment is never closed; it hides the rest of the article", a.loc(),
                                 "close it with another '%%'", code="comment.unclosed")
        return replace(a, blocks=tuple(blocks))

    return map_articles(book, one)


def _blocks(blocks: list, state: _State) -> list:
    out = []
    for block in blocks:
        new = _block(block, state)
        if new is not None:
            out.append(new)
    return out


def _block(node: dict, state: _State) -> dict | None:
    t = node.get("t")
    if t.startswith(("Align", "ColWidth")):
        return node  # a table's column specification: never text
    if t in CODE:
        return None if state.inside else node
    if t in TEXT_BLOCKS or t == "Header":
        before = state.inside
        inlines = node["c"][2] if t == "Header" else node["c"]
        new = _inlines(inlines, state)
        if new == inlines and not before:
            return node
        if not _visible(new):
            return None
        if t == "Header":
            return {"t": t, "c": [node["c"][0], node["c"][1], new]}
        return {"t": t, "c": new}
    c = node.get("c")
    if not isinstance(c, list):
        return None if state.inside else node
    before = state.inside
    new_c = _content(c, state)
    if before and state.inside:
        return None  # wholly inside a comment
    if t == "BulletList":
        new_c = [item for item in new_c if item]
        return {"t": t, "c": new_c} if new_c else None
    if t == "OrderedList":
        items = [item for item in new_c[1] if item]
        return {"t": t, "c": [new_c[0], items]} if items else None
    return {"t": t, "c": new_c}


def _content(c: list, state: _State) -> list:
    """A list of inlines, of blocks, or of the parts of a container (list items, table parts, attributes)."""
    if c and all(isinstance(x, dict) and "t" in x for x in c):
        return _inlines(c, state) if all(x["t"] in tree.INLINE_TYPES for x in c) else _blocks(c, state)
    return _children(c, state)


def _children(c: list, state: _State) -> list:
    out = []
    for item in c:
        if isinstance(item, list):
            out.append(_content(item, state))
        elif isinstance(item, dict) and "t" in item:
            out.append(_block(item, state) or {"t": "Plain", "c": []})
        else:
            out.append(item)
    return out


def _inlines(inlines: list, state: _State) -> list:
    out: list = []
    for node in inlines:
        t = node.get("t")
        if t == "Str" and MARK in node["c"]:
            pieces = node["c"].split(MARK)
            for i, piece in enumerate(pieces):
                if i:
                    state.inside = not state.inside
                if piece and not state.inside:
                    out.append({"t": "Str", "c": piece})
        elif t in CODE or t in ("Str", "Space", "SoftBreak", "LineBreak") or not isinstance(node.get("c"), list):
            if not state.inside:
                out.append(node)
        else:  # emphasis, a link, a span, a note: a mark may sit inside
            before = state.inside
            new = {"t": t, "c": _content(node["c"], state)}
            if not (before and state.inside):
                out.append(new)
    return _tidy(out)


def _tidy(inlines: list) -> list:
    """No doubled or dangling spaces where a comment was taken out."""
    out: list = []
    for node in inlines:
        if node.get("t") == "Space" and (not out or out[-1].get("t") in ("Space", "SoftBreak", "LineBreak")):
            continue
        if node.get("t") in ("SoftBreak", "LineBreak") and out and out[-1].get("t") == "Space":
            out[-1] = node
            continue
        out.append(node)
    while out and out[-1].get("t") in ("Space", "SoftBreak"):
        out.pop()
    return treeedit.merge_str(out)


def _visible(inlines: list) -> bool:
    return any(n.get("t") not in ("Space", "SoftBreak", "LineBreak") for n in inlines)
