"""Obsidian comments: everything between two `%%` marks is dropped, inline or across blocks; code keeps them.

The marks are found in the tree, in document order: a Str may open or close a comment (`%%note%%`, `%%`,
`word%%`), and whatever lies between, Str, Space, emphasis, whole paragraphs or lists, is left out.
"""

from __future__ import annotations

from dataclasses import replace

from . import tree, treeedit
from .model import Article, Book, map_articles

MARK = "%%"
TEXT_BLOCKS = ("Para", "Plain")


def drop_comments(book: Book, ctx) -> Book:
    """Step: drop `%%comments%%`; a comment left open hides the rest of its article, as in Obsidian, and is reported."""

    def one(a: Article) -> Article:
        if not any(tree.facts(b).comment_mark for b in a.blocks):  # MARK is "%%"
            return a
        dropper = _Dropper()
        blocks = tree.rebuild_lists(list(a.blocks), dropper.sequence)
        if dropper.inside:
            ctx.reporter.warning("a '%%' comment is never closed; it hides the rest of the article", a.loc(),
                                 "close it with another '%%'", code="comment.unclosed")
        return replace(a, blocks=tuple(blocks))

    return map_articles(book, one)


class _Dropper:
    """Goes through one article in reading order (tree.rebuild_lists, each list of siblings whole), whether
    inside a comment carried from element to element and from level to level."""

    __slots__ = ("inside", "shown")

    def __init__(self) -> None:
        self.inside = False
        self.shown = 0  # elements and words kept so far: a container that kept none is wholly inside

    def sequence(self, items: list) -> list:
        """A list of blocks or inlines with what lies inside comments taken out (code keeps its marks)."""
        out: list = []
        for node in items:
            t = node["t"]
            if t == "Str" and MARK in node["c"]:
                for i, piece in enumerate(node["c"].split(MARK)):
                    if i:
                        self.inside = not self.inside
                    if piece and not self.inside:
                        out.append({"t": "Str", "c": piece})
                        self.shown += 1
            elif t in tree.CHILDREN:
                new = self.container(node)
                if new is not None:
                    out.append(new)
            elif not self.inside:
                out.append(node)
                self.shown += 1
        if items[0]["t"] in tree.INLINE_TYPES:
            out = _tidy(out)
        return tree.same(out, items)

    def container(self, node: dict) -> dict | None:
        before, shown = self.inside, self.shown
        new = tree.rebuild_list_children(node, self.sequence)
        t = node["t"]
        if t in TEXT_BLOCKS or t == "Header":
            if new is node and not before:
                return node
            return new if _visible(new["c"][2] if t == "Header" else new["c"]) else None
        if before and self.inside and self.shown == shown:
            return None  # wholly inside a comment
        if t == "BulletList":
            items = [item for item in new["c"] if item]
            return {"t": t, "c": items} if items else None
        if t == "OrderedList":
            items = [item for item in new["c"][1] if item]
            return {"t": t, "c": [new["c"][0], items]} if items else None
        return new


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
