"""The back-of-book index: every glossary term, every term an article lists under `index:` in its front
matter and every term the manifest's `index.include` lists (less those `index.exclude` lists), at each place
it occurs in the prose. A term found in more than `index.max_share` (0.25) of the articles of a book of at
least 8, and in more articles than an entry shows (`index.max_places`, 12), is a general term ("data" in a
book on data): it is left out with a warning naming it, unless `index.include` lists it.

Matching works on the pandoc tree: each run of words (Str, Space, SoftBreak) is read as one string and
searched case-insensitively for whole words (a term's last word may take a plural). Headings, callout
titles, code, diagrams, math, raw markup, links, images and footnotes (Word keeps no bookmark in a note)
are never searched. Each occurrence is wrapped in a Span
with a unique id (`<article-id>--ix<N>`), which every format links to and the PDF takes page numbers from.
"""

from __future__ import annotations

import re
from dataclasses import replace

from . import tree
from .collate import collation_key
from .glossary import fresh_ids, names_of, taken_ids, term_key
from .ids import IdAllocator, xml_id
from .model import Article, Book, IndexEntry, map_articles

WORDS = {"Str", "Space", "SoftBreak"}
NOT_PROSE = {"Header", "CodeBlock", "RawBlock", "Code", "RawInline", "Math", "Link", "Image", "Cite", "Note"}
NOT_PROSE_CLASSES = {"callout-title", "diagram"}  # a callout's title is a heading too
INLINE_CONTAINERS = {"Emph", "Underline", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps", "Span", "Quoted"}
ANCHOR = "--ix"  # every index anchor id contains it


def index_terms(book: Book, ctx) -> list[tuple[str, list[str]]]:
    """(term as the index shows it, the names it is found by): glossary terms, then front-matter terms."""
    terms: dict[str, tuple[str, list[str]]] = {}
    for entry in book.glossary:
        names = names_of(entry.term, entry.expansion)
        terms.setdefault(term_key(entry.term), (entry.term, names))
    for article in book.articles:
        value = article.meta.get("index")
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            ctx.reporter.warning("front matter 'index' must be a list of terms; ignored",
                                 article.loc(article.meta_lines.get("index", 0)), code="index.front-matter")
            continue
        for term in (" ".join(v.split()) for v in value):
            if term and not any(term_key(n) in terms for n in names_of(term)):
                terms[term_key(term)] = (term, names_of(term))
    settings = book.manifest.index_settings
    for term in (" ".join(v.split()) for v in settings.include):
        if term and not any(term_key(n) in terms for n in names_of(term)):
            terms[term_key(term)] = (term, names_of(term))
    excluded = {term_key(t) for t in settings.exclude}
    return [t for t in terms.values() if not excluded & {term_key(n) for n in t[1]}]


MIN_ARTICLES_FOR_GENERAL = 8  # a smaller book has no general terms: a share of a few articles says little


def general_terms(book: Book, terms: list[tuple[str, list[str]]], found: dict[int, list[tuple[str, str]]], ctx) -> set[int]:
    """The terms found in more than `index.max_share` of the book's articles (a book of at least 8) and in more
    articles than an entry shows (`index.max_places`: an entry that shows every place is never cut short), each
    reported once; a term `index.include` lists is never general."""
    settings = book.manifest.index_settings
    total = len(book.articles)
    if total < MIN_ARTICLES_FOR_GENERAL:
        return set()
    kept = {term_key(t) for t in settings.include}
    general = set()
    for i, occurrences in found.items():
        count = len({article_id for article_id, _ in occurrences})
        if count / total > settings.max_share and count > settings.max_places and not kept & {term_key(n) for n in terms[i][1]}:
            general.add(i)
    for i in sorted(general, key=lambda i: collation_key(terms[i][0])):
        count = len({article_id for article_id, _ in found[i]})
        ctx.reporter.info(  # information, as the issue asks: the index works as meant; --strict does not fail on it
            f"index: '{terms[i][0]}' is in {count} of the book's {total} articles, more than max_share "
            f"{settings.max_share:g}: left out as a general term", settings.location,
            "list it under index.include to keep it, or under index.exclude", code="index.general-term")
    return general


def variants(name: str) -> list[str]:
    """A name and its plural: model/models, bias/biases, query/queries."""
    low = name.casefold()
    if not low[-1:].isalpha():
        return [low]
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return [low, low + "es"]
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return [low, low[:-1] + "ies"]
    return [low, low + "s"]


class Matcher:
    """The names of all terms in one pattern, longest first (so "Machine Learning" wins over "Learning"); a
    name's words may be joined by a space or a hyphen; matched case-insensitively as whole words.

    `pattern` is that pattern as written. Most text is ASCII, and there a second pattern finds exactly the
    same matches much faster: the names grouped by their first letter (two different ASCII letters never
    match one character, so no name can win over another from a different group) and matched, case and
    all, against the lower-cased text (which, for ASCII, keeps every offset)."""

    def __init__(self, alternatives: list[str]) -> None:
        self.pattern = re.compile(rf"(?<!\w)(?:{'|'.join(_words_pattern(v.split(' ')) for v in alternatives)})(?!\w)",
                                  re.IGNORECASE)
        self.ascii: re.Pattern | None = None
        if all(v.isascii() and v[:1].strip() for v in alternatives):
            groups: dict[str, list[str]] = {}
            for v in alternatives:
                groups.setdefault(v[0], []).append(v)
            body = "|".join(
                re.escape(first) + "(?:" + "|".join(_words_pattern([v.split(" ")[0][1:], *v.split(" ")[1:]]) for v in names) + ")"
                for first, names in groups.items())
            self.ascii = re.compile(rf"(?<!\w)(?:{body})(?!\w)")

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, matched text) of every match, left to right."""
        if self.ascii is not None and text.isascii():
            return [(m.start(), m.end(), text[m.start():m.end()]) for m in self.ascii.finditer(text.lower())]
        return [(m.start(), m.end(), m.group(0)) for m in self.pattern.finditer(text)]


def _words_pattern(words: list[str]) -> str:
    return r"[\s\-]+".join(re.escape(w) for w in words)


def matcher(terms: list[tuple[str, list[str]]]) -> tuple[Matcher | None, dict[str, int]]:
    """The matcher of all names, and a table: matched text -> term."""
    table: dict[str, int] = {}
    for i, (_, names) in enumerate(terms):
        for name in names:
            if len(name.strip()) < 2:
                continue
            for v in variants(_norm(name)):
                table.setdefault(v, i)
    if not table:
        return None, table
    return Matcher(sorted(table, key=lambda v: (-len(v), v))), table


def _norm(text: str) -> str:
    return " ".join(re.split(r"[\s\-]+", text.casefold()))


def build_index(book: Book, ctx) -> Book:
    m = book.manifest
    if not m.index or not any(item.kind == "index" for item in m.back_matter):
        return book
    terms = index_terms(book, ctx)  # the only place that reports anything
    if getattr(ctx, "check", False):
        return book  # `publisher check`: marking reports nothing and nothing reported depends on it
    pattern, table = matcher(terms)
    if pattern is None:
        return book
    found: dict[int, list[tuple[str, str]]] = {}

    def one(article: Article) -> Article:
        ids = fresh_ids(article.id + ANCHOR, taken_ids(article.blocks))

        def hit(text: str) -> str | None:
            term = table.get(_norm(text))
            if term is None:
                return None
            anchor = next(ids)
            found.setdefault(term, []).append((article.id, anchor))
            return anchor

        return replace(article, blocks=tuple(mark_blocks(list(article.blocks), pattern, hit)))

    book = map_articles(book, one, matter=False)
    general = general_terms(book, terms, found, ctx)
    entries = [IndexEntry(terms[i][0], tuple(occ)) for i, occ in found.items() if i not in general]
    entries.sort(key=lambda e: collation_key(e.term))
    ids = IdAllocator()
    return replace(book, index=tuple(replace(e, id=ids.take("ix-" + xml_id(e.term, "t"))) for e in entries))


# ---------------------------------------------------------------- marking the tree (new nodes, in reading order)
# Copied only where an occurrence is marked: an unchanged list or element comes back as itself.
def mark_blocks(blocks: list, pattern: Matcher, hit) -> list:
    """A new tree with each occurrence wrapped in a Span; inline lists are found wherever blocks hold them
    (tree.rebuild_lists: each list whole, so a run of words is read across sibling inlines, and every list
    gone through in reading order, so the places are numbered as a reader meets them)."""

    def sequence(items: list) -> list:
        if items[0]["t"] not in tree.INLINE_TYPES:
            return tree.same([inner(block) for block in items], items)
        out: list = []
        run: list = []
        changed = False
        for node in items:
            if node["t"] in WORDS:
                run.append(node)
                continue
            if run:
                marked = mark_run(run, pattern, hit)
                changed = changed or marked is not run
                out.extend(marked)
                run = []
            new = inner(node) if node["t"] in INLINE_CONTAINERS else node
            changed = changed or new is not node
            out.append(new)
        if run:
            marked = mark_run(run, pattern, hit)
            changed = changed or marked is not run
            out.extend(marked)
        return out if changed else items

    def inner(node: dict) -> dict:
        if node["t"] in NOT_PROSE or (node["t"] == "Div" and NOT_PROSE_CLASSES & set(node["c"][0][1])):
            return node
        return tree.rebuild_list_children(node, sequence)

    return tree.rebuild_lists(blocks, sequence)


def mark_run(run: list, pattern: Matcher, hit) -> list:
    """One run of words: the text they make, searched; matched words split out and wrapped in a Span (the
    run itself when nothing is)."""
    if not run:
        return []
    pieces = [(n["c"] if n["t"] == "Str" else " ", n) for n in run]
    spans = [(start, end, a) for start, end, text in pattern.spans("".join(p for p, _ in pieces)) if (a := hit(text))]
    if not spans:
        return run
    cuts = sorted({c for start, end, _ in spans for c in (start, end)})
    out: list = []
    inside: list = []
    pos = k = ci = 0
    for piece, node in pieces:
        end = pos + len(piece)
        while ci < len(cuts) and cuts[ci] <= pos:
            ci += 1
        if (ci == len(cuts) or cuts[ci] >= end) and not (k < len(spans) and spans[k][0] <= pos and end <= spans[k][1]):
            out.append(node)  # a piece that no match touches
            pos = end
            continue
        inner = []
        j = ci
        while j < len(cuts) and cuts[j] < end:
            inner.append(cuts[j] - pos)
            j += 1
        for a, b in zip([0, *inner], [*inner, len(piece)], strict=True):
            part = node if node["t"] != "Str" or (a == 0 and b == len(piece)) else {"t": "Str", "c": piece[a:b]}
            if k < len(spans) and spans[k][0] <= pos + a and pos + b <= spans[k][1]:
                inside.append(part)
                if pos + b == spans[k][1]:
                    out.append({"t": "Span", "c": [[spans[k][2], ["ix"], []], inside]})
                    inside, k = [], k + 1
            else:
                out.append(part)
        pos += len(piece)
    return out
