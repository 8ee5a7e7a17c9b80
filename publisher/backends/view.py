"""The book as one backend shows it: the blocks meant for other formats (Div.only, see publisher.editions)
dropped, the rest unwrapped."""

from __future__ import annotations

from dataclasses import replace

from .. import tree
from ..model import Book, map_articles

ONLY = "only"  # the class of a block shown in some formats or editions only (its data-formats: which)


def format_words(text: str) -> list[str]:
    """The words of a list of formats or conditions: separated by spaces or commas."""
    return [w for w in text.replace(",", " ").split() if w]


def for_format(book: Book, fmt: str) -> Book:
    """The book as one backend shows it: blocks for other formats dropped, the rest unwrapped."""

    def element(node: dict) -> dict | tuple:  # copied only where something is dropped or unwrapped
        t = node["t"]
        if t == "Div" and ONLY in node["c"][0][1]:
            formats = format_words(tree.get_kv(node["c"][0], "data-formats") or "")
            return tuple(tree.rebuild(node["c"][1], element)) if not formats or fmt in formats else ()
        if t in ("Div", "BlockQuote", "BulletList", "OrderedList"):
            return tree.rebuild_children(node, element)
        return node

    return map_articles(book, lambda a: replace(a, blocks=tuple(tree.rebuild(list(a.blocks), element))))
