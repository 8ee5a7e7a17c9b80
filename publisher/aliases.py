"""Formatting inside a wikilink's alias: `[[note|Example **bold**, *italic* or ~~struck~~ text]]` shows bold,
italic and struck-through text, as Obsidian does.

pandoc's wikilinks keep an alias as plain text (`Str "**bold**,"`). Each alias that holds a character
Markdown formats with is read again by pandoc as inline Markdown, every alias of the book in one run; what
it gives stands in for the plain text when it is one paragraph (an alias such as `# x` or `- x` stays as
written). Nothing may nest a link in a link: a link, an autolink, an image (its alt text kept), a footnote
or a raw `<a>` in an alias is left out, a raw `<a>` with a warning. The step runs before sanitize, which
cleans what is left of raw HTML as in the rest of the article.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from . import pandoc, tree
from .diagnostics import Reporter
from .model import Article, Book, map_articles
from .rawhtml import tokenize

MARKUP = frozenset("*_~`<>\\&$^=[]")  # an alias without any of these reads the same as Markdown: not read again


def format_aliases(book: Book, ctx) -> Book:
    """Step: the alias of every wikilink read as inline Markdown."""
    articles = book.every_article
    parsed = parse_aliases(text for a in articles for text in aliases_in(a.blocks))
    if not parsed:
        return book
    return map_articles(book, lambda a: replace(a, blocks=tuple(apply_aliases(list(a.blocks), parsed, a, ctx.reporter))))


def aliases_in(blocks: Iterable) -> list[str]:
    """The text of every alias that may hold formatting (embeds left out: theirs are alt text or nothing)."""
    found: list[str] = []

    def each(inlines: list) -> list:
        for i in range(len(inlines)):
            text = _alias(inlines, i)
            if text is not None:
                found.append(text)
        return inlines

    for block in blocks:
        if "Link" in tree.facts(block).types:
            tree.map_inlines(block, each)
    return found


def parse_aliases(texts: Iterable[str]) -> dict[str, list]:
    """Alias text -> its inlines, for each that pandoc reads as one paragraph of inline Markdown."""
    unique = list(dict.fromkeys(texts))
    if not unique:
        return {}
    out: dict[str, list] = {}
    for text, blocks in zip(unique, pandoc.parse_many([(t, 0) for t in unique]), strict=True):
        if blocks is not None and len(blocks) == 1 and blocks[0].get("t") in ("Para", "Plain"):
            out[text] = blocks[0]["c"]
    return out


def apply_aliases(blocks: list, parsed: dict[str, list], article: Article, reporter: Reporter) -> list:
    def each(inlines: list) -> list:
        out = None
        for i, node in enumerate(inlines):
            text = _alias(inlines, i)
            if text is None or text not in parsed:
                continue
            line, col = tree.pos_of(node)
            content = _no_links(parsed[text], article.loc(line, col), reporter)
            if out is None:
                out = list(inlines)
            out[i] = {"t": "Link", "c": [node["c"][0], content, node["c"][2]]}
        return inlines if out is None else out

    return [tree.map_inlines(b, each) if "Link" in tree.facts(b).types else b for b in blocks]


def _alias(inlines: list, i: int) -> str | None:
    """The alias text of the wikilink at inlines[i] (not an embed's) that holds markup, else None."""
    node = inlines[i]
    if node.get("t") != "Link" or "wikilink" not in node["c"][0][1]:
        return None
    if i and inlines[i - 1].get("t") == "Str" and inlines[i - 1]["c"].endswith("!"):
        return None
    text = tree.stringify(node["c"][1])
    if text == node["c"][2][0] or not MARKUP.intersection(text):
        return None
    return text


def _no_links(inlines: list, where, reporter: Reporter) -> list:
    """An alias's inlines without what would put a link inside the link (or a note in it), and without the
    positions of the alias's own reading (they are not the file's)."""

    def element(node: dict):
        t = node["t"]
        if t in ("Link", "Image"):
            return tree.span(tree.rebuild(node["c"][1], element))
        if t == "Note":
            return tree.span([])
        if t == "RawInline" and any(tok[0] in ("start", "end") and tok[1] == "a" for tok in tokenize(node["c"][1])):
            if not node["c"][1].startswith("</"):
                reporter.warning(f"a link inside a link's text is left out: '{node['c'][1]}'", where, code="link.alias")
            return tree.span([])
        node = tree.rebuild_children(node, element)
        attr = tree.attr_of(node)
        if attr is not None and tree.get_kv(attr, "data-pos") is not None:
            c = list(node["c"])
            c[1 if t == "Header" else 0] = [attr[0], attr[1], [kv for kv in attr[2] if kv[0] != "data-pos"]]
            node = {"t": t, "c": c}
        return node

    def unwrap(items: list) -> list:  # the Spans left of what was left out, and those that only grouped
        out: list = []
        for x in items:
            if x.get("t") == "Span" and x["c"][0] == ["", [], []]:
                out.extend(x["c"][1])
            else:
                out.append(x)
        return out

    return tree.map_inlines(tree.rebuild(inlines, element), unwrap)
