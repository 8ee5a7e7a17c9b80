"""Editions and course packets: content for some formats or editions only, and lessons (numbered
chapters opening with their objectives and closing with a reading list and, in print, a notes page).

Conditional blocks are written either as a fenced div, `::: {.only format="pdf docx" edition=handbook}`,
or as an Obsidian-friendly callout, `> [!only] print` (formats and `edition=NAME` words). An edition is
named by its manifest's file name or its output name. Editions are settled when the book is gathered;
formats when each backend receives its view of the book (backends.view.for_format).
"""

from __future__ import annotations

from dataclasses import replace

from . import tree
from .backends import available
from .backends.view import ONLY, format_words
from .diagnostics import did_you_mean
from .model import Article, Book, Chapter, map_articles
from .select import passes
from .vault import fold

FORMAT_NAMES = {"pdf": "pdf", "print": "pdf", "epub": "epub", "ebook": "epub", "e-reader": "epub",
                "docx": "docx", "word": "docx"}


def _condition(words: list[str], article: Article, ctx) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(formats, editions) named by the words of a condition; unknown formats are reported."""
    formats, editions = [], []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            key, sep, value = word.partition(":")
        if sep and key.strip().lower() == "edition":
            editions.append(value.strip())
        elif sep and key.strip().lower() == "format":
            formats.extend(FORMAT_NAMES.get(v.lower(), v.lower()) for v in format_words(value))
        elif word.lower() in FORMAT_NAMES or word.lower() in available():
            formats.append(FORMAT_NAMES.get(word.lower(), word.lower()))
        else:
            ctx.reporter.warning(f"'{word}' in a conditional block is neither a format nor edition=NAME", article.loc(),
                                 did_you_mean(word, sorted(FORMAT_NAMES)), code="edition.condition")
    return tuple(formats), tuple(editions)


def _only_div(blocks: list, formats: tuple[str, ...]) -> dict:
    return tree.div(blocks, classes=[ONLY], kvs=[("data-formats", " ".join(formats))])


def apply_conditions(book: Book, ctx) -> Book:
    """Normalize both spellings into Div.only; drop what another edition asked for."""
    m = book.manifest
    names = {fold(m.path.stem), fold(m.output_name)}

    def conditions(article: Article) -> Article:
        def element(node: dict) -> dict | tuple:
            t = node["t"]
            cond = None
            if t == "Div" and ONLY in node["c"][0][1] and tree.get_kv(node["c"][0], "data-formats") is None:
                attr, blocks = node["c"]
                kvs = dict((k, v) for k, v in attr[2])
                words = [f"format={w}" for w in format_words(kvs.get("format", kvs.get("formats", "")))]
                words += [f"edition={w}" for w in format_words(kvs.get("edition", kvs.get("editions", "")))]
                cond, body = _condition(words, article, ctx), blocks
            elif t == "BlockQuote":
                first = node["c"][0] if node["c"] else None
                if first and first.get("t") in ("Para", "Plain") and first["c"] and tree.stringify(first["c"][:1]).lower() == "[!only]":
                    head, rest = _first_line(first["c"][1:])
                    cond = _condition(format_words(tree.stringify(head)), article, ctx)
                    body = ([{"t": first["t"], "c": rest}] if rest else []) + node["c"][1:]
            if cond is not None:
                formats, editions = cond
                if editions and not names & {fold(e) for e in editions}:
                    return ()  # for another edition: dropped
                return _only_div(tree.rebuild(body, element), formats)
            if t in ("Div", "BlockQuote", "BulletList", "OrderedList"):
                return tree.rebuild_children(node, element)
            return node

        blocks = list(article.blocks)
        new = tree.rebuild(blocks, element)
        return article if new is blocks else replace(article, blocks=tuple(new))

    return map_articles(book, conditions)


def _first_line(inlines: list) -> tuple[list, list]:
    for i, node in enumerate(inlines):
        if node.get("t") in ("SoftBreak", "LineBreak"):
            return inlines[:i], inlines[i + 1:]
    return inlines, []


# ---------------------------------------------------------------- lessons
def add_lesson_features(book: Book, ctx) -> Book:
    """Each lesson opens with "In this lesson" (its articles' summaries) and closes with a reading list
    from related_topics and, in print, a page for notes."""
    settings = book.manifest.lessons
    if book.manifest.numbering != "lessons":
        return book

    def lesson(chapter: Chapter) -> Chapter:
        articles = list(chapter.articles)
        first, last = articles[0], articles[-1]
        if settings.objectives:
            box = objectives(chapter)
            if box:
                articles[0] = replace(first, blocks=(box, *first.blocks))
                last = articles[-1]
        tail = []
        if settings.reading_list:
            tail += reading_list(chapter, last, ctx)
        if settings.notes_page:
            tail.append(_only_div([tree.div([tree.header(min(6, last.level + 1), f"{chapter.id}--notes",
                                                     tree.text_inlines("Notes"), classes=["unnumbered", "notes-title"])],
                                          classes=["notes-page"])], ("pdf",)))
        articles[-1] = replace(last, blocks=(*last.blocks, *tail))
        return replace(chapter, articles=tuple(articles))

    parts = tuple(replace(p, chapters=tuple(lesson(c) for c in p.chapters)) for p in book.parts)
    return replace(book, parts=parts)


def objectives(chapter: Chapter) -> dict | None:
    with_summary = [a for a in chapter.articles if a.summary]
    if not with_summary:
        return None
    if len(chapter.articles) == 1:
        body = [tree.para(tree.text_inlines(with_summary[0].summary))]
    else:
        body = [tree.bullet_list([[tree.plain([{"t": "Strong", "c": tree.text_inlines(a.title)}, {"t": "Str", "c": ":"},
                                           {"t": "Space"}, *tree.text_inlines(a.summary)])] for a in with_summary])]
    title = tree.div([tree.para(tree.text_inlines("In this lesson"))], classes=["objectives-title"])
    return tree.div([title, *body], ident=f"{chapter.id}--objectives", classes=["objectives"])


def reading_list(chapter: Chapter, last: Article, ctx) -> list[dict]:
    items, seen = [], {a.path for a in chapter.articles}
    for article in chapter.articles:
        for name in article.related:
            found = ctx.vault.lookup(name.strip().removeprefix("[[").removesuffix("]]").split("|")[0])
            if not found or found[0].path in seen:
                continue
            target = found[0]
            seen.add(target.path)
            if not passes(target, ctx.manifest):  # a draft is not something to read
                continue
            placed = ctx.in_book.get(target.path)
            if placed is not None:
                items.append([tree.plain([tree.link(tree.text_inlines(placed.title), "#" + placed.id, classes=["xref"])])])
            else:
                items.append([tree.plain([{"t": "Emph", "c": tree.text_inlines(target.title)}, {"t": "Space"},
                                        *tree.text_inlines("(not in this packet)")])])
    if not items:
        return []
    return [tree.header(min(6, last.level + 1), f"{chapter.id}--reading-list", tree.text_inlines("Reading list"),
                      classes=["unnumbered", "reading-list"]), tree.bullet_list(items)]
