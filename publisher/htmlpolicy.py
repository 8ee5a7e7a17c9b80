"""One policy for the HTML in a book, in one table: which elements and attributes an article's raw HTML may
keep (the book's profile: sanitize.py writes raw HTML anew from it), and which a page of the EPUB keeps (the
EPUB's profile, stricter: backends/xhtml.py `clean`, which the web edition's pages go through as well).

The EPUB's profile leaves out what a reading system need not show as the author meant it: `<details>` and
`<summary>` (EPUB 3 reading systems need not support interaction; a closed one would hide its content:
the content is kept, open), a `style` but on table cells and columns (the theme styles the book and the
reader restyles it), and a width or an id that XHTML does not accept. What it leaves out of an article is
reported once for the article (`epub.removed`, `epub_removals`), never dropped without a word.

Markup that publisher and pandoc write themselves (notes, the title page, part openers) may carry a few
attributes that an article never keeps (GENERATED)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import tree
from .diagnostics import Diagnostic, Severity
from .model import Article
from .rawhtml import tokenize

# ---------------------------------------------------------------- the table
# element -> the profiles that keep it (any other element is unwrapped: its content stays)
_BOTH = ("book", "epub")
ELEMENTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        "a abbr aside b bdi bdo blockquote br caption cite code col colgroup dd del dfn div dl dt em figcaption figure "
        "h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q rp rt ruby s samp section small span strong sub sup "
        "table tbody td tfoot th thead tr u ul var wbr".split(), _BOTH),
    "details": ("book",),  # a reading system may show it closed, with no way to open it
    "summary": ("book",),
}
# attribute -> (the elements that keep it in the book's profile, in the EPUB's; "*": every element, "": none)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "id": ("*", "*"), "class": ("*", "*"), "title": ("*", "*"), "lang": ("*", "*"), "dir": ("*", "*"),
    "style": ("*", "td th col"),  # cleaned (sanitize.clean_style); in the EPUB a table's alignment only
    "href": ("a", "a"), "src": ("img", "img"), "alt": ("img", "img"), "width": ("img", "img"), "height": ("img", "img"),
    "start": ("ol", "ol"), "reversed": ("ol", "ol"), "type": ("ol", "ol"), "value": ("li", "li"),
    "colspan": ("td th", "td th"), "rowspan": ("td th", "td th"), "scope": ("th", "th"),
    "span": ("col colgroup", "col colgroup"), "open": ("details", ""),
}
# attribute -> the elements that may carry it in markup publisher or pandoc writes (never from an article)
GENERATED = {"role": "*", "epub:type": "*"}
BOOLEAN = frozenset({"reversed", "open"})
# attribute -> (the pattern its value must match in the book's profile, in the EPUB's; None: any value)
_VALUES: dict[str, tuple[str | None, str | None]] = {
    "id": (r"[A-Za-z_][\w.:-]{0,99}", r"[^\W\d][\w.-]*"),  # XHTML: an NCName
    "class": (r"[\w -]{0,200}", None), "dir": (r"ltr|rtl|auto",) * 2,
    "lang": (r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*",) * 2,
    "width": (r"\d{1,5}%?", r"\d{1,5}"), "height": (r"\d{1,5}%?", r"\d{1,5}"),  # HTML5: pixels, no %
    "colspan": (r"[1-9]\d{0,2}", r"[1-9]\d{0,3}"), "rowspan": (r"\d{1,3}", r"\d{1,4}"), "span": (r"[1-9]\d{0,2}", r"[1-9]\d{0,3}"),
    "start": (r"-?\d{1,9}",) * 2, "value": (r"-?\d{1,9}",) * 2, "type": (r"[1aAiI]",) * 2,
    "scope": (r"(row|col)(group)?",) * 2,
    "style": (None, r"(\s*[a-z-]+\s*:[^;{}<>\\]+;?)+\s*"),  # the book's: sanitize.clean_style
    "role": (None, r"doc-(noteref|backlink|endnotes|footnote)"), "epub:type": (None, r"titlepage|part"),
}


def elements(profile: str) -> frozenset[str]:
    return frozenset(name for name, profiles in ELEMENTS.items() if profile in profiles)


def attributes(profile: str, generated: bool = False) -> tuple[frozenset[str], dict[str, set[str]]]:
    """(the attributes every element keeps, {element: the attributes it keeps beyond those}) in a profile;
    `generated`: with the attributes of publisher's own markup."""
    column = 0 if profile == "book" else 1
    rows = {name: where[column] for name, where in ATTRIBUTES.items()}
    rows.update(GENERATED if generated else {})
    everywhere = frozenset(name for name, where in rows.items() if where == "*")
    by_element: dict[str, set[str]] = {}
    for name, where in rows.items():
        for element in where.split() if where != "*" else ():
            by_element.setdefault(element, set()).add(name)
    return everywhere, by_element


def values(profile: str) -> dict[str, re.Pattern]:
    column = 0 if profile == "book" else 1
    return {name: re.compile(p[column]) for name, p in _VALUES.items() if p[column] is not None}


# ---------------------------------------------------------------- what the EPUB leaves out of an article
_EPUB_ELEMENTS = elements("epub")
_EPUB_EVERYWHERE, _EPUB_BY_ELEMENT = attributes("epub")
_EPUB_VALUES = values("epub")
_MARKDOWN_ELEMENTS = {"Span": "span", "Div": "div", "Link": "a", "Image": "img", "Code": "code", "CodeBlock": "pre",
                      "Table": "table", "Figure": "figure", "Header": "h"}
_PIXELS = re.compile(r"\d{1,5}(px)?")


def _epub_keeps(tag: str, name: str, value: str) -> bool:
    allowed = name in _EPUB_EVERYWHERE or name in _EPUB_BY_ELEMENT.get(tag, ()) or name.startswith("data-")
    return allowed and (name not in _EPUB_VALUES or bool(_EPUB_VALUES[name].fullmatch(value)))


def _removed(article: Article) -> Iterator[tuple[str, str, tuple[int, int]]]:
    """(what, the raw text to find it by, its position in the tree or (0, 0)) of each thing the EPUB's
    profile removes from the article (its raw HTML, and the attributes written in Markdown)."""
    for node in tree.walk(list(article.blocks)):
        t = node["t"]
        if t in ("RawBlock", "RawInline") and node["c"][0] in ("html", "html5"):
            for token in tokenize(node["c"][1]):
                if token[0] != "start":
                    continue
                tag = token[1]
                if tag not in _EPUB_ELEMENTS:
                    yield f"<{tag}>", f"<{tag}", (0, 0)
                    continue
                for name, value in token[2]:
                    if not _epub_keeps(tag, name, value or ""):
                        yield f"{name} on <{tag}>", f"<{tag}", (0, 0)
        elif t in _MARKDOWN_ELEMENTS:
            attr = tree.attr_of(node)
            tag = f"h{node['c'][0]}" if t == "Header" else _MARKDOWN_ELEMENTS[t]
            for name, value in attr[2] if attr else ():
                if t == "Image":  # its style is the size's (embeds.py), kept as width and height
                    if name in ("width", "height") and not _PIXELS.fullmatch(value):
                        yield f"{name} on <{tag}>", f"{name}=", tree.pos_of(node)  # pandoc writes a style
                elif name == "style" and not _epub_keeps(tag, name, value):
                    yield f"style on <{tag}>", "style=", tree.pos_of(node)


HINTS = {"details": "a callout ('> [!note]-') shows the same in every format",
         "style": "the theme styles the EPUB", "width": "give sizes in pixels", "height": "give sizes in pixels"}


def epub_removals(article: Article) -> Diagnostic | None:
    """One warning naming everything the EPUB's profile removes from the article, at the first of them, or None."""
    found: dict[str, None] = {}
    hints: dict[str, None] = {}
    first = None
    for what, probe, (line, col) in _removed(article):
        found.setdefault(what)
        key = what.split()[0].strip("<>")
        if key in HINTS:
            hints.setdefault(HINTS[key])
        if first is None:
            first = (line, col) if line else _find(article, probe)
    if not found:
        return None
    names = list(found)
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return Diagnostic(Severity.WARNING, f"the EPUB leaves out {listed} (its HTML profile is stricter than the "
                      "book's; the text is kept)", article.loc(*first), "; ".join(hints), code="epub.removed")


def _find(article: Article, probe: str) -> tuple[int, int]:
    """Where the raw text first appears in the article's source (raw HTML carries no position), or its body's start."""
    body = article.body
    at = body.lower().find(probe.lower())
    if at < 0:
        return article.body_line, 1
    line = body.count("\n", 0, at)
    return article.body_line + line, at - (body.rfind("\n", 0, at) + 1) + 1
