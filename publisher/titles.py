"""An article's title and its opening level-1 heading.

The book sets each article's title itself. An opening `# Heading` is dropped only when it repeats that
title; any other opening H1 is content, the article's first section. Titles compare as names do
(vault.fold: Unicode-normalized, case-insensitive), and punctuation and spacing do not count either:
`# What is DNS?` repeats the title `What Is DNS` and the file name `what-is-dns`.

An article whose front matter gives no `title` is titled by its file name; when its opening H1 repeats
that name, the H1 is the title as the author typed it (`# DHCP` for `dhcp.md`). An opening H1 that says
something else (`# Overview` in `Getting Started.md`) stays a section: the file name is the note's name,
as Obsidian shows it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from . import tree
from .model import Article
from .vault import fold

_WORDS = re.compile(r"[^\W_]+")  # letters and digits: a title's words, its punctuation and spacing left out


def title_key(text: str) -> str:
    """How titles compare: folded, words only (a title of punctuation alone compares folded)."""
    folded = fold(text)
    return " ".join(_WORDS.findall(folded)) or folded


def repeats_title(text: str, title: str) -> bool:
    return title_key(text) == title_key(title)


def opening_heading(blocks) -> str | None:
    """The text of a tree's opening level-1 heading, or None."""
    if blocks and blocks[0].get("t") == "Header" and blocks[0]["c"][0] == 1:
        return tree.stringify(blocks[0]["c"][2])
    return None


def titled_by_heading(article: Article, blocks) -> Article:
    """An article without a front-matter title whose opening H1 repeats its file name takes the H1's text
    as its title."""
    heading = opening_heading(blocks)
    if heading and heading.strip() and article.meta.get("title") in (None, "") and repeats_title(heading, article.slug):
        return replace(article, title=heading.strip())
    return article


def drop_title_heading(blocks: list, title: str) -> tuple[list, str | None]:
    """The blocks without an opening H1 that repeats title, and that H1's text (None: nothing dropped)."""
    heading = opening_heading(blocks)
    if heading is not None and repeats_title(heading, title):
        return blocks[1:], heading
    return blocks, None
