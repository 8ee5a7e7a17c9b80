"""The tag index: tags folded (case, '-', '_', spaces), each listing the articles that carry it."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .collate import collation_key
from .ids import xml_id
from .model import Book, TagGroup
from .vault import fold_tag


def collect_tags(book: Book, ctx) -> Book:
    if not book.manifest.tag_index:
        return book
    labels = {fold_tag(k): v for k, v in book.manifest.tag_labels}
    spellings: dict[str, Counter] = {}
    members: dict[str, list[str]] = {}
    for article in book.articles:
        for tag in article.tags:
            key = fold_tag(tag)
            if not key:
                continue
            spellings.setdefault(key, Counter())[tag.lstrip("#")] += 1
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
