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

    def visit(node):  # copied only where something is dropped or unwrapped: the rest stays the same objects
        if isinstance(node, list):
            out = None
            for i, item in enumerate(node):
                if isinstance(item, dict) and item.get("t") == "Div" and ONLY in item["c"][0][1]:
                    if out is None:
                        out = node[:i]
                    formats = format_words(tree.get_kv(item["c"][0], "data-formats") or "")
                    if not formats or fmt in formats:
                        out.extend(visit(item["c"][1]))
                    continue
                new = visit(item)
                if out is None and new is not item:
                    out = node[:i]
                if out is not None:
                    out.append(new)
            return node if out is None else out
        if isinstance(node, dict) and "c" in node and node.get("t") in ("Div", "BlockQuote", "BulletList", "OrderedList"):
            c = visit(node["c"])
            return node if c is node["c"] else {"t": node["t"], "c": c}
        return node

    return map_articles(book, lambda a: replace(a, blocks=tuple(visit(list(a.blocks)))))
