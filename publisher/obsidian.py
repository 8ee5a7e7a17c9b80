"""What Obsidian renders that pandoc's commonmark_x reader leaves as typed, made real on the tree:

- `==text==` becomes marked text: a Span of class "mark" (pandoc writes `<mark>` in HTML, a highlight in
  Word). The reader has no `mark` extension, so the Str words are split at `==`; an opener must touch the
  word after it and a closer the word before it, as in Obsidian (`a == b` stays as typed).
- `- [ ] x` / `- [x] x` become checkboxes: the item opens with a Span of class "task" (or "task done") holding
  ☐ or ☒, and a list whose items are all tasks sits in a Div of class "task-list" (no bullets). The reader's
  `task_lists` does nothing while `fancy_lists` is on (pandoc 3.9), so the item's first words are read here.
- `#tag` and `#nested/tag` in prose become a Span of class "inline-tag" and join the article's tags (the tag
  index, the tag queries). Obsidian's rule: `#` at the start of a word, then letters, digits, `_`, `-` and
  `/`, at least one of them not a digit; never in code, links or headings.
- A mermaid code block stays code, with one warning per book (no offline renderer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from . import tree, treeedit
from .model import Article, Book, map_articles
from .vault import fold_tag

MARK = "=="
TAG = re.compile(r"#([\w/-]+)")  # applied to one Str word of the tree, never to the Markdown
BOXES = {" ": "\u2610", "x": "\u2612", "X": "\u2612"}
_SKIP_FOR_TAGS = frozenset(("Link", "Image", "Header", "Cite"))
_BREAKS = frozenset(("Space", "SoftBreak", "LineBreak"))


# ---------------------------------------------------------------- ==highlights==
def _split_marks(items: list) -> list:
    """Str words holding `==` split into words and mark tokens (the string MARK itself, not a dict)."""
    out: list = []
    for x in items:
        if type(x) is dict and x.get("t") == "Str" and MARK in x["c"]:
            for i, piece in enumerate(x["c"].split(MARK)):
                if i:
                    out.append(MARK)
                if piece:
                    out.append({"t": "Str", "c": piece})
        else:
            out.append(x)
    return out


def _is_word(x) -> bool:
    return type(x) is dict and x.get("t") not in _BREAKS


def highlight(items: list) -> list:
    """An inline list with each `==...==` run inside it made a Span.mark; the list itself when there is none."""
    if not any(type(x) is dict and x.get("t") == "Str" and MARK in x["c"] for x in items):
        return items
    tokens = _split_marks(items)
    out: list = []
    opened: int | None = None  # index in out of the open mark
    for i, x in enumerate(tokens):
        if x != MARK:
            out.append(x)
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if opened is not None and _is_word(before) and before is not MARK and len(out) > opened + 1:
            inner = out[opened + 1:]
            del out[opened:]
            out.append(tree.span(inner, classes=["mark"]))
            opened = None
        elif opened is None and _is_word(after):
            opened = len(out)
            out.append({"t": "Str", "c": MARK})  # a placeholder, kept as text if never closed
        else:
            out.append({"t": "Str", "c": MARK})
    return treeedit.merge_str(out)


# ---------------------------------------------------------------- #tags
def tag_of(word: str) -> tuple[str, str] | None:
    """(tag, the rest of the word) for a word that opens with an Obsidian tag, else None."""
    found = TAG.match(word)
    if not found:
        return None
    tag = found.group(1).rstrip("/")
    if not tag or tag.startswith("/") or all(ch.isdigit() for ch in tag if ch not in "/"):
        return None
    return tag, word[1 + len(tag):]


def _tagged(items: list, found: list[str]) -> list:
    """An inline list with each tag word made a Span.inline-tag (its tag appended to `found`); the list
    itself when it holds none."""
    out: list = []
    changed = False
    for i, x in enumerate(items):
        hit = None
        if type(x) is dict and x.get("t") == "Str" and x["c"].startswith("#") and (
                not i or (type(items[i - 1]) is dict and items[i - 1].get("t") in _BREAKS)):  # not C#, page#x
            hit = tag_of(x["c"])
        if hit is None:
            out.append(x)
            continue
        tag, rest = hit
        found.append(tag)
        changed = True
        out.append(tree.span([{"t": "Str", "c": "#" + tag}], classes=["inline-tag"]))
        if rest:
            out.append({"t": "Str", "c": rest})
    return out if changed else items


def _skip_for_tags(node: dict):
    return node if node["t"] in _SKIP_FOR_TAGS else None


def inline_tags(blocks: Iterable) -> list[str]:
    """Every inline tag in these blocks, in reading order (repeats included)."""
    found: list[str] = []
    tree.map_inlines(list(blocks), lambda items: _tagged(items, found), enter=_skip_for_tags)
    return found


# ---------------------------------------------------------------- - [ ] tasks
def _task_box(first: list) -> tuple[str, int] | None:
    """(the box's character, how many inlines the typed box takes) when an item's words open with `[ ]`,
    `[x]` or `[X]` and a space."""
    def is_str(k: int, text: str) -> bool:
        return k < len(first) and type(first[k]) is dict and first[k].get("t") == "Str" and first[k]["c"] == text

    def is_space(k: int) -> bool:
        return k < len(first) and type(first[k]) is dict and first[k].get("t") == "Space"

    if is_str(0, "[") and is_space(1) and is_str(2, "]") and is_space(3) and len(first) > 4:
        return BOXES[" "], 4
    for mark in ("x", "X"):
        if is_str(0, f"[{mark}]") and is_space(1) and len(first) > 2:
            return BOXES[mark], 2
    return None


def _task_item(item: list) -> list | None:
    """A list item with its typed box drawn, or None when it is not a task."""
    if not item or type(item[0]) is not dict or item[0].get("t") not in ("Plain", "Para"):
        return None
    found = _task_box(item[0]["c"])
    if found is None:
        return None
    box, taken = found
    classes = ["task", "done"] if box == BOXES["x"] else ["task"]
    words = [tree.span([{"t": "Str", "c": box}], classes=classes), {"t": "Space"}, *item[0]["c"][taken:]]
    return [{"t": item[0]["t"], "c": words}, *item[1:]]


def _tasks(node: dict) -> dict:
    node = tree.rebuild_children(node, _tasks)
    t = node["t"]
    if t not in ("BulletList", "OrderedList"):
        return node
    items = node["c"] if t == "BulletList" else node["c"][1]
    drawn = [_task_item(item) for item in items]
    if all(d is None for d in drawn):
        return node
    items = [d if d is not None else item for d, item in zip(drawn, items, strict=True)]
    new = {"t": t, "c": items if t == "BulletList" else [node["c"][0], items]}
    return tree.div([new], classes=["task-list"]) if all(d is not None for d in drawn) else new


# ---------------------------------------------------------------- the step
def render_obsidian(book: Book, ctx) -> Book:
    """Step: highlights, tasks and inline tags made real; an article's inline tags join its tags."""
    mermaid = []

    def one(a: Article) -> Article:
        old = list(a.blocks)
        blocks = tree.rebuild(old, _tasks)
        blocks = tree.map_inlines(blocks, highlight)
        found: list[str] = []
        blocks = tree.map_inlines(blocks, lambda items: _tagged(items, found), enter=_skip_for_tags)
        if not mermaid:
            mermaid.extend(_mermaid(a))
        if blocks is old and not found:
            return a
        known = {fold_tag(t) for t in a.tags}
        new_tags = []
        for tag in found:
            if fold_tag(tag) not in known:
                known.add(fold_tag(tag))
                new_tags.append(tag)
        return replace(a, blocks=tuple(blocks), tags=(*a.tags, *new_tags))

    book = map_articles(book, one)
    if mermaid:
        ctx.reporter.warning("mermaid diagrams are kept as code: no renderer draws them offline", mermaid[0],
                             "draw the diagram as an image, or with box-drawing characters", code="render.mermaid")
    return book


def _mermaid(a: Article) -> list:
    for block in a.blocks:
        if "CodeBlock" not in tree.facts(block).types:
            continue
        for node in tree.walk(block):
            if node["t"] == "CodeBlock" and node["c"][0][1][:1] == ["mermaid"]:
                line, col = tree.pos_of(node)
                return [a.loc(line, col)]
    return []


def inline_tags_of(articles: Iterable[Article]) -> dict[str, list[str]]:
    """Each article's inline tags (path -> tags), for the tag queries, which choose articles before the book
    is parsed. The trees are read as the book reads them (pandoc.parse_articles: the parse cache, else
    batches of pandoc), so the articles chosen are not parsed twice. An article without `#` before a word holds no tag and is not read;
    one that cannot be parsed has none here (the build reports it)."""
    from .diagnostics import Reporter
    from .pandoc import parse_articles

    trees = parse_articles(tuple(a for a in articles if TAG.search(a.body)), Reporter(), stage=False)
    return {path: inline_tags(blocks) for path, blocks in trees.items()}
