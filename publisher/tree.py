"""The pandoc JSON tree: reading it (attributes, walk, stringify, the Facts of a block), changing it without
changing it in place (rebuild, rebuild_lists, map_inlines) and building it (para, span, div, ...).

Nothing here runs pandoc (publisher.pandoc does): a tree is plain lists and dicts as pandoc's JSON writer
gives them, and no step changes an element in place (each makes a new one), so equal leaves may be shared.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

# ---------------------------------------------------------------- where things live in an element
# The one table of where an element's children are: for each type of pandoc 3 with children, the places in its
# "c" that hold them (ALL: "c" itself is the list). A place holds blocks or inlines, or what holds them: list
# items, definition-list entries ([term, [definition]]), a Table's caption, head, bodies and foot (rows of
# cells), a Figure's caption, a Cite's citations. Every walk over a tree descends by this table alone
# (walk, rebuild_children, rebuild_list_children, map_inlines, facts); the types it does not name have no
# children (Str, Code, Math, RawInline, RawBlock, CodeBlock, HorizontalRule, Space, ...).
ALL = None
CHILDREN: dict[str, tuple[int, ...] | None] = {
    # blocks
    "Plain": ALL, "Para": ALL, "LineBlock": ALL, "BlockQuote": ALL, "BulletList": ALL, "DefinitionList": ALL,
    "OrderedList": (1,), "Header": (2,), "Div": (1,), "Figure": (1, 2), "Table": (1, 3, 4, 5),
    # inlines
    "Emph": ALL, "Underline": ALL, "Strong": ALL, "Strikeout": ALL, "Superscript": ALL, "Subscript": ALL,
    "SmallCaps": ALL, "Note": ALL, "Quoted": (1,), "Cite": (0, 1), "Link": (1,), "Image": (1,), "Span": (1,),
}
# Where an element's attributes are (id, classes, key=value pairs), for the types that have them.
ATTR_AT = {"Link": 0, "Image": 0, "CodeBlock": 0, "Code": 0, "Div": 0, "Span": 0, "Table": 0, "Figure": 0, "Header": 1}


# ---------------------------------------------------------------- reading the tree
def attr_of(node: dict) -> list[Any] | None:
    at = ATTR_AT.get(node.get("t"))
    return None if at is None else node["c"][at]


def get_kv(attr: list[Any], key: str) -> str | None:
    for k, v in attr[2]:
        if k == key:
            return v
    return None


def pos_of(node: dict) -> tuple[int, int]:
    attr = attr_of(node)
    value = get_kv(attr, "data-pos") if attr else None
    if not value:
        return 0, 0
    line, _, col = value.partition(":")
    return int(line), int(col or 0)


def walk(node: Any) -> Iterator[dict]:
    """Every element under node, depth first, code and all (one frame and a stack: trees are deep and
    wide, and a generator per level cost most of the normalizer's time)."""
    stack = [node]
    pop, push, extend = stack.pop, stack.append, stack.extend
    get = CHILDREN.get
    while stack:
        n = pop()
        if type(n) is list:
            extend(reversed(n))
        elif type(n) is dict:
            t = n.get("t")
            if t is None:  # a citation: its prefix and suffix are inlines
                extend(reversed(n.values()))
                continue
            yield n
            at = get(t, ())
            if at is ALL:
                push(n["c"])
            elif at:
                c = n["c"]
                extend(c[i] for i in reversed(at))


LEAVES = frozenset({"Str", "Space", "SoftBreak", "LineBreak"})  # elements without children


def rebuild(items: list, element: Callable[[dict], Any]) -> list:
    """items with element(node) in the place of each element (a dict with "t") inside them, lists inside
    lists followed; copied only where something changed, so an unchanged tree comes back as itself.
    element decides whether to go deeper (with `rebuild_children`); leaves (Str, Space, ...) are skipped.
    What element returns as a tuple takes the element's place in the list (an empty one drops it)."""
    out = None
    for i, x in enumerate(items):
        if type(x) is dict:
            t = x.get("t")
            y = x if t is None or t in LEAVES else element(x)
        elif type(x) is list:
            y = rebuild(x, element)
        else:
            y = x
        if y is x:
            if out is not None:
                out.append(x)
            continue
        if out is None:
            out = items[:i]
        if type(y) is tuple:
            out.extend(y)
        else:
            out.append(y)
    return items if out is None else out


def same(new: list, old: list) -> list:
    """old when new holds the very same items (nothing was copied), else new."""
    return old if len(new) == len(old) and all(a is b for a, b in zip(new, old, strict=True)) else new


def rebuild_children(node: dict, element: Callable[[dict], Any]) -> dict:
    """node with `rebuild` applied to its children (CHILDREN; a new dict only if one changed)."""
    return _with_children(node, rebuild, element)


def rebuild_lists(items: list, sequence: Callable[[list], list]) -> list:
    """items with sequence(elements) in the place of each list of elements (blocks or inlines) inside them,
    lists inside lists followed (list items, table rows and cells): each list of siblings handed over whole.
    sequence decides, element by element and in reading order, where to go deeper (with
    `rebuild_list_children`), so it may carry what it has seen along the list and down into the elements.
    Copied only where something changed: sequence returns the very list it was given to say "no change"."""
    if not items:
        return items
    first = items[0]
    if type(first) is dict and "t" in first:  # pandoc's lists hold elements only, or none
        return sequence(items)
    return same([rebuild_lists(x, sequence) if type(x) is list else x for x in items], items)


def rebuild_list_children(node: dict, sequence: Callable[[list], list]) -> dict:
    """node with `rebuild_lists` applied to its children (CHILDREN; a new dict only if one changed)."""
    return _with_children(node, rebuild_lists, sequence)


def _with_children(node: dict, rebuild_list: Callable[[list, Any], list], how: Any) -> dict:
    """node with rebuild_list(x, how) in the place of each list x of its children (a new dict only if one changed)."""
    at = CHILDREN.get(node["t"], ())
    c = node.get("c")
    if at is ALL:
        new = rebuild_list(c, how)
        return node if new is c else {"t": node["t"], "c": new}
    out = None
    for i in at:
        x = c[i]
        if type(x) is list:
            y = rebuild_list(x, how)
            if y is not x:
                if out is None:
                    out = list(c)
                out[i] = y
    return node if out is None else {"t": node["t"], "c": out}


def stringify(node: Any) -> str:
    """The plain text of inlines or blocks."""
    parts: list[str] = []

    def go(n: Any) -> None:
        if isinstance(n, list):
            for x in n:
                go(x)
            return
        if not isinstance(n, dict):
            return
        t = n.get("t")
        if t == "Str":
            parts.append(n["c"])
        elif t in ("Space", "SoftBreak", "LineBreak"):
            parts.append(" ")
        elif t in ("Code", "Math"):
            parts.append(n["c"][1])
        elif t == "Quoted":
            q = "\u201c\u201d" if n["c"][0]["t"] == "DoubleQuote" else "\u2018\u2019"
            parts.append(q[0])
            go(n["c"][1])
            parts.append(q[1])
        elif t in ("Note", "RawInline", "RawBlock"):
            return
        elif t in ("Link", "Image", "Span", "Cite"):
            go(n["c"][1])
        elif t in ("Emph", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps", "Underline", "Plain", "Para"):
            go(n["c"])
        elif t == "Header":
            go(n["c"][2])
        elif "c" in n and isinstance(n["c"], list):
            go(n["c"])

    go(node)
    return "".join(parts)


def map_inlines(blocks: Any, fn: Callable[[list[Any]], list[Any]],
                enter: Callable[[dict], Any] | None = None) -> Any:
    """Apply fn to every list of inlines under blocks (innermost first), skipping code. Copied only where
    something changed: fn may return the very list it was given to say "no change". `enter(element)`, when
    given, may take an element over: what it returns (not None) stands in its place, not gone into."""

    def go_list(items: list, _: Any = None) -> list:
        out = None
        inline = bool(items)
        for i, x in enumerate(items):
            if type(x) is dict:
                t = x.get("t")
                if t not in INLINE_TYPES:
                    inline = False
                if t is None or t in LEAVES:
                    continue
                y = go(x)
            else:
                inline = False
                if type(x) is not list:
                    continue
                y = go_list(x)
            if y is not x:
                if out is None:
                    out = list(items)
                out[i] = y
        new = items if out is None else out
        return fn(new) if inline else new

    def go(node: dict) -> Any:
        at = CHILDREN.get(node["t"], ())
        if at is not ALL and not at:  # code, math, raw: their text is not inlines
            return node
        if enter is not None:
            taken = enter(node)
            if taken is not None:
                return taken
        return _with_children(node, go_list, None)

    if isinstance(blocks, list):
        return go_list(blocks)
    return go(blocks) if isinstance(blocks, dict) and "t" in blocks else blocks


class Facts(NamedTuple):
    """What several steps look for in one block, found in one walk: every non-empty id, the Header elements
    (in walk order), whether a Str holds Obsidian's comment mark `%%`, the types of the elements in it (the
    block's own included; Str, Space and SoftBreak left out), and whether any attributes hold a `data-pos` or
    another key=value.
    A step that has nothing to do in a block without, say, a Link hands that block on untouched."""

    ids: frozenset[str]
    headers: tuple[dict, ...]
    comment_mark: bool
    types: frozenset[str]
    positions: bool
    other_kvs: bool


_facts_local = threading.local()  # .memo: one per thread (`publisher build --jobs N` gathers books in threads)


def _memo() -> dict[int, tuple[Any, Facts]] | None:
    return getattr(_facts_local, "memo", None)


@contextlib.contextmanager
def facts_memo():
    """Within it, the Facts of each top-level block are found once: the normalizer's steps copy only what
    they change, so most blocks reach the next step as the very same objects, and trees are never changed
    in place. (Each entry keeps its block alive, so no other object can take its id() meanwhile.)"""
    if _memo() is not None:  # already open (load_book opens it before the trees are read)
        yield
        return
    _facts_local.memo = {}
    try:
        yield
    finally:
        _facts_local.memo = None


def facts(block: Any) -> Facts:
    memo = _memo()
    if memo is not None:
        hit = memo.get(id(block))
        if hit is not None and hit[0] is block:
            return hit[1]
    ids, headers, types, mark, positions, other_kvs = set(), [], set(), False, False, False
    # walk's order, inlined (this is the one walk most blocks get): the words of a list are looked at
    # where they stand, and only elements with content go on the stack (in reverse, to come off in order)
    stack = [block]
    pop, extend = stack.pop, stack.extend
    while stack:
        n = pop()
        if type(n) is list:
            inner = []
            for x in n:
                if type(x) is dict:
                    t = x.get("t")
                    if t == "Str":
                        if not mark and "%%" in x["c"]:
                            mark = True
                    elif t != "Space" and t != "SoftBreak" and t is not None:
                        inner.append(x)
                elif type(x) is list:
                    inner.append(x)
            if inner:
                inner.reverse()
                extend(inner)
            continue
        if type(n) is not dict:
            continue
        t = n.get("t")
        if t is None:
            continue
        c = n.get("c")
        if t == "Str":
            if not mark and "%%" in c:
                mark = True
            continue
        where = CHILDREN.get(t, ())
        if where is ALL:
            stack.append(c)
        elif where:
            extend(c[i] for i in reversed(where))
        types.add(t)
        at = ATTR_AT.get(t)
        if at is not None:
            attr = c[at]
            if attr[0]:
                ids.add(attr[0])
            for kv in attr[2]:
                if kv[0] == "data-pos":
                    positions = True
                else:
                    other_kvs = True
            if t == "Header":
                headers.append(n)
    found = Facts(frozenset(ids), tuple(headers), mark, frozenset(types), positions, other_kvs)
    if memo is not None:
        memo[id(block)] = (block, found)
    return found


def facts_record(block: Any) -> list | None:
    """A block's Facts as the parse cache keeps them (plain lists), or None for a block that holds a heading."""
    found = facts(block)
    if found.headers:
        return None
    return [sorted(found.ids), found.comment_mark, sorted(found.types), found.positions, found.other_kvs]


def remember_facts(blocks: list[Any], records: list[list | None]) -> None:
    """Put the Facts the parse cache kept beside these blocks (facts_record's) in the memo, if one is open:
    the normalizer's first walk over every block is then not needed."""
    memo = _memo()
    if memo is not None:
        for block, record in zip(blocks, records, strict=True):
            if record is not None:
                ids, mark, types, positions, other_kvs = record
                memo[id(block)] = (block, Facts(frozenset(ids), (), mark, frozenset(types), positions, other_kvs))


def forget_facts_but(blocks: list[Any]) -> None:
    """Keep the memo's entries of these blocks only, once it holds a quarter more than them: the entries of
    blocks a step replaced would keep them alive (a copy of every changed paragraph, say)."""
    memo = _memo()
    if memo is not None and len(memo) > 1.25 * len(blocks) + 1000:
        keep = {id(b) for b in blocks}
        for key in [k for k in memo if k not in keep]:
            del memo[key]


def ids_of_blocks(blocks: Iterable[Any]) -> set[str]:
    """Every non-empty id inside these blocks (as ids_in finds them)."""
    out: set[str] = set()
    for block in blocks:
        out |= facts(block).ids
    return out


def headers_of(blocks: Iterable[Any]) -> list[dict]:
    """Every Header element inside these blocks, in walk order."""
    return [h for block in blocks for h in facts(block).headers]


def ids_in(node: Any) -> Iterator[str]:
    """Every non-empty id of the elements under node (as attr_of finds them), in walk order."""
    for n in walk(node):
        at = ATTR_AT.get(n["t"])
        if at is not None:
            ident = n["c"][at][0]
            if ident:
                yield ident


INLINE_TYPES = {
    "Str", "Emph", "Underline", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps", "Quoted",
    "Cite", "Code", "Space", "SoftBreak", "LineBreak", "Math", "RawInline", "Link", "Image", "Note", "Span",
}


# ---------------------------------------------------------------- building the tree
def attr(ident: str = "", classes: Iterable[str] = (), kvs: Iterable[tuple[str, str]] = ()) -> list[Any]:
    return [ident, list(classes), [list(kv) for kv in kvs]]


def text_inlines(text: str) -> list[dict]:
    out: list[dict] = []
    for i, word in enumerate(text.split(" ")):
        if i:
            out.append({"t": "Space"})
        if word:
            out.append({"t": "Str", "c": word})
    return out


def header(level: int, ident: str, inlines: list[Any], classes: Iterable[str] = ()) -> dict:
    return {"t": "Header", "c": [level, attr(ident, classes), inlines]}


def para(inlines: list[Any]) -> dict:
    return {"t": "Para", "c": inlines}


def plain(inlines: list[Any]) -> dict:
    return {"t": "Plain", "c": inlines}


def link(inlines: list[Any], target: str, classes: Iterable[str] = ()) -> dict:
    return {"t": "Link", "c": [attr("", classes), inlines, [target, ""]]}


def span(inlines: list[Any], ident: str = "", classes: Iterable[str] = ()) -> dict:
    return {"t": "Span", "c": [attr(ident, classes), inlines]}


def div(blocks: list[Any], ident: str = "", classes: Iterable[str] = (), kvs: Iterable[tuple[str, str]] = ()) -> dict:
    return {"t": "Div", "c": [attr(ident, classes, kvs), blocks]}


def bullet_list(items: list[list[Any]]) -> dict:
    return {"t": "BulletList", "c": items}


def meta_string(text: str) -> dict:
    return {"t": "MetaInlines", "c": text_inlines(text)}


# ---------------------------------------------------------------- trees as a writer or a cache sees them
def tree_bytes(node: Any) -> bytes:
    """The tree as bytes that depend on its content alone (pickle without its memo, so not on which equal
    strings happen to be one object): a fingerprint four times faster to make than its JSON."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, 5)
    pickler.fast = True  # no memo: the same content gives the same bytes (trees hold no cycles)
    pickler.dump(node)
    return buffer.getvalue()


def join_words(node: Any) -> Any:
    """The tree with each run of Str and Space inlines joined into one Str. For a writer that does not wrap
    lines (HTML with --wrap=none, DOCX) either says the same, but the joined tree is a third the size: less
    JSON to write and for pandoc to read, and (in a DOCX) one run where there were many."""
    return map_inlines(node, _joined)


def _joined(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    words: list[str] = []
    for item in items:
        t = item["t"]
        if t == "Str" or t == "Space":
            words.append(item["c"] if t == "Str" else " ")
            continue
        if words:
            out.append({"t": "Str", "c": "".join(words)})
            words = []
        out.append(item)
    if words:
        out.append({"t": "Str", "c": "".join(words)})
    return out
