"""Edits that several steps make to a tree, each one transform of publisher.tree (rebuild, which descends
by tree.CHILDREN): headings moved to their level, source positions and ids taken out; and adjacent words joined."""

from __future__ import annotations

from typing import Any

from .tree import ATTR_AT, facts, headers_of, rebuild, rebuild_children, same

MAX_LEVEL = 6  # the deepest heading


def shift_headings(blocks: list, level: int) -> list:
    """blocks with every heading moved by the same steps, the top one to level + 1 (none deeper than 6, the
    order kept); only the blocks that hold a heading are gone into, and copied only where one moves."""
    levels = [h["c"][0] for h in headers_of(blocks)]
    delta = level + 1 - min(levels) if levels else 0
    if delta == 0:
        return blocks

    def element(node: dict) -> dict:
        if node["t"] == "Header":
            n, a, inlines = node["c"]
            node = {"t": "Header", "c": [max(1, min(MAX_LEVEL, n + delta)), a, inlines]}
        return rebuild_children(node, element)

    return same([element(b) if type(b) is dict and facts(b).headers else b for b in blocks], blocks)


def strip_attrs(items: list, ids: bool = False) -> list:
    """items without the source positions the reader left in their attributes (data-pos), and without
    their ids when asked (a copy of text that stays where it was too); copied only where something goes."""

    def element(node: dict) -> dict:
        node = rebuild_children(node, element)
        at = ATTR_AT.get(node["t"])
        if at is not None:
            a = node["c"][at]
            if (ids and a[0]) or any(kv[0] == "data-pos" for kv in a[2]):
                c = list(node["c"])
                c[at] = ["" if ids else a[0], a[1], [kv for kv in a[2] if kv[0] != "data-pos"]]
                node = {"t": node["t"], "c": c}
        return node

    return rebuild(items, element)


def merge_str(items: list[Any]) -> list[Any]:
    """Join adjacent Str inlines, as the reader does without sourcepos."""
    out: list[Any] = []
    for item in items:
        if (
            isinstance(item, dict)
            and item.get("t") == "Str"
            and out
            and isinstance(out[-1], dict)
            and out[-1].get("t") == "Str"
        ):
            out[-1] = {"t": "Str", "c": out[-1]["c"] + item["c"]}
        else:
            out.append(item)
    return out
