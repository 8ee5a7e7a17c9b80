"""The tag index: tags folded (case, '-', '_', spaces), each listing the articles that carry it. A nested tag
(`ai/llm`) counts under its parent too (`ai`), as Obsidian's tag pane and tag search count it."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .collate import collation_key
from .ids import xml_id
from .model import Book, TagGroup
from .vault import fold_tag


def with_parents(tag: str) -> list[str]:
    """The tag and each tag it is nested under, outermost first: `a/b/c` -> `a`, `a/b`, `a/b/c`."""
    steps = [s for s in tag.lstrip("#").split("/") if s]
    return ["/".join(steps[:n]) for n in range(1, len(steps) + 1)]


def tag_keys(tags) -> set[str]:
    """The folded keys a tag query matches for these tags: each tag and its parents."""
    return {fold_tag(t) for tag in tags for t in with_parents(tag)} - {""}


def collect_tags(book: Book, ctx) -> Book:
    if not book.manifest.tag_index:
        return book
    labels = {fold_tag(k): v for k, v in book.manifest.tag_labels}
    spellings: dict[str, Counter] = {}
    members: dict[str, list[str]] = {}
    for article in book.articles:
        for tag in (t for typed in article.tags for t in with_parents(typed)):
            key = fold_tag(tag)
            if not key:
                continue
            spellings.setdefault(key, Counter())[tag] += 1
            if article.id not in members.setdefault(key, []):
                members[key].append(article.id)
    titles = {a.id: a.title for a in book.articles}
    groups = []
    for key, ids in members.items():
        # the most common spelling, ties to the lower-case one, labels the group
        label = labels.get(key) or sorted(spellings[key].items(), key=lambda kv: (-kv[1], kv[0] != kv[0].lower(), kv[0]))[0][0]
        ordered = tuple(sorted(ids, key=lambda i: collation_key(titles[i])))
        groups.append(TagGroup(key, label, ordered, "tag-" + xml_id(key, "t")))
    groups.sort(key=lambda g: collation_key(g.label))
    return replace(book, tags=tuple(groups))
