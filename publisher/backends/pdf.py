"""PDF through HTML and WeasyPrint: the theme's Jinja2 template and print CSS (paged media).

The page geometry lives here, not in the stylesheet: diagram sizes are computed from the same text width
that the template writes into the `@page` rules."""

from __future__ import annotations

import functools
import logging
import math
import shutil
import subprocess
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import diagrams, formulas, render
from .. import tree as pd  # publisher.tree: still `pd` here while this file is edited elsewhere
from ..diagnostics import Diagnostic, Severity
from ..index import ANCHOR as INDEX_ANCHOR
from ..model import Article, Book
from ..scripts import check_glyphs, installed_coverage
from ..themes import TAB_SIZE, Theme
from . import pdfparts, pdfplan
from .view import for_format
from .weasy import problems, tuned

MM = 72 / 25.4  # points per millimetre
MONO_FAMILY = "DejaVu Sans Mono"
MONO_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
DIAGRAM_MAX_PT = 8.5  # a diagram is never larger than the code beside it (0.8 em of 10.5 pt: print.css)
INDENT_PT = 24.0  # the most a list, quote or callout indents what it holds (see print.css)


@dataclass(frozen=True, slots=True)
class Geometry:
    """A page size (mm), its margins (mm) and the body type size (pt) that suits its measure."""

    width: float
    height: float
    top: float
    bottom: float
    inner: float
    outer: float
    font_pt: float

    def text_width_pt(self, landscape: bool = False) -> float:
        return ((self.height if landscape else self.width) - self.inner - self.outer) * MM

    def css(self, sides: int) -> dict[str, str]:
        """Margins of right-hand, left-hand and landscape pages, and the text block's height, for the template."""
        inner, outer = (self.inner, self.outer) if sides == 2 else ((self.inner + self.outer) / 2,) * 2
        middle = (self.inner + self.outer) / 2
        return {
            "right": f"{self.top}mm {outer}mm {self.bottom}mm {inner}mm",
            "left": f"{self.top}mm {inner}mm {self.bottom}mm {outer}mm",
            "landscape": f"{self.top}mm {middle}mm {self.bottom}mm {middle}mm",
            "text_height": f"{self.height - self.top - self.bottom:.1f}mm",
            "cover_height": f"{self.height - 1:.1f}mm",  # a full page, less rounding room
            "band_height": f"{self.height * 0.56:.1f}mm",
            "font_size": f"{self.font_pt}pt",
        }


GEOMETRY = {
    "A4": Geometry(210.0, 297.0, top=22, bottom=26, inner=24, outer=28, font_pt=10.5),
    "Letter": Geometry(215.9, 279.4, top=20, bottom=24, inner=25, outer=29, font_pt=10.5),
    "A5": Geometry(148.0, 210.0, top=16, bottom=19, inner=17, outer=15, font_pt=9.5),
}


def fit_size(columns: int, width_pt: float) -> float:
    """The largest size (pt, at most DIAGRAM_MAX_PT) at which this many monospace columns fit width_pt."""
    if columns <= 0:
        return DIAGRAM_MAX_PT
    return min(DIAGRAM_MAX_PT, math.floor(diagrams.fit_pt(columns, width_pt) * 100) / 100)


def diagram_setting(columns: int, page_size: str, indent_pt: float = 0.0) -> tuple[float, bool]:
    """(font size in pt, landscape?) for a diagram. It is set as large as fits the text block; one that would
    need less than diagrams.DIAGRAM_MIN_PT goes on a landscape page, at the size that fits there."""
    geometry = GEOMETRY[page_size]
    size = fit_size(columns, geometry.text_width_pt() - indent_pt)
    if size >= diagrams.DIAGRAM_MIN_PT:
        return size, False
    return fit_size(columns, geometry.text_width_pt(landscape=True) - indent_pt), True


CONTAINERS = ("BulletList", "OrderedList", "BlockQuote", "Div", "DefinitionList")


def prepare(blocks: list, page_size: str, tab_size: int = TAB_SIZE) -> list:
    """Print-only changes: notes become footnote spans (set at the foot of the page), formulas images,
    diagrams get a size and, when too wide for the page, a landscape page of their own; tabs in code become
    the spaces up to the theme's next tab stop (WeasyPrint 70 gives a tab that starts at a tab stop no width)."""

    elements: dict[float, Callable[[dict], Any]] = {}

    def at(indent: float) -> Callable[[dict], Any]:
        """What each element becomes where it sits indent points in (a list, quote or callout is further in)."""
        if indent in elements:
            return elements[indent]

        def element(node: dict) -> Any:
            t = node["t"]
            if t == "Note":
                inlines: list = []
                for block in pd.rebuild(node["c"], element):
                    if inlines:
                        inlines.append({"t": "Space"})
                    inlines.extend(block["c"] if block.get("t") in ("Para", "Plain") else pd.text_inlines(pd.stringify(block)))
                return pd.span(inlines, classes=["footnote"])
            if t == "Math":
                return formulas.as_image(node)
            if t == "CodeBlock":
                attr, text = node["c"]
                if "\t" in text:
                    text = diagrams.expand_tabs(text, tab_size)
                    node = {"t": t, "c": [attr, text]}
                if "diagram" not in attr[1]:
                    return node
                size, landscape = diagram_setting(int(pd.get_kv(attr, "data-columns") or 0), page_size, indent)
                block = {"t": t, "c": [[attr[0], attr[1], [*attr[2], ["style", f"font-size: {size}pt"]]], text]}
                return pd.div([block], classes=["landscape"]) if landscape else block
            return pd.rebuild_children(node, at(indent + INDENT_PT) if t in CONTAINERS else element)

        elements[indent] = element
        return element

    return pd.rebuild(list(blocks), at(0.0))


# ---------------------------------------------------------------- checks before rendering
@functools.cache
def mono_font() -> tuple[Path | None, frozenset[int]]:
    """The DejaVu Sans Mono file fontconfig finds (else the Debian path) and the code points it holds."""
    path = None
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{family}\t%{file}", MONO_FAMILY], capture_output=True, text=True)
        family, _, file = out.stdout.partition("\t")
        if out.returncode == 0 and MONO_FAMILY in family.split(","):
            path = Path(file)
    if path is None and MONO_FILE.is_file():
        path = MONO_FILE
    if path is None:
        return None, frozenset()
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return path, frozenset(font.getBestCmap())


def diagrams_of(article: Article) -> Iterator[tuple[str, int]]:
    """(text, columns) of each diagram of an article, in reading order (footnotes included); a block without
    a code block is passed over on its pandoc.facts (kept from the normalizer when a facts memo is open)."""
    for block in article.blocks:
        if "CodeBlock" not in pd.facts(block).types:
            continue
        for node in pd.walk(block):
            if node["t"] == "CodeBlock" and "diagram" in node["c"][0][1]:
                yield node["c"][1], int(pd.get_kv(node["c"][0], "data-columns") or 0)


def first_line(article: Article, text: str) -> int:
    """The file line on which a diagram starts (0 when its text cannot be found in the body)."""
    first = text.split("\n", 1)[0]
    at = article.body.find(text)
    if at < 0:
        at = article.body.find(first) if first.strip() else -1
    return article.body_line + article.body.count("\n", 0, at) if at >= 0 else 0


def check_diagrams(book: Book) -> list[Diagnostic]:
    """Every diagram character the monospace font lacks (another font would break the columns), and every
    diagram too wide even for a landscape page."""
    path, covered = mono_font()
    if path is None:
        return [Diagnostic(Severity.WARNING, f"no {MONO_FAMILY} font: diagrams cannot be checked or set exactly",
                           hint="apt-get install fonts-dejavu-core", code="pdf.font")]
    problems = []
    for article in book.every_article:
        for text, columns in diagrams_of(article):
            line = first_line(article, text)
            seen = set()
            for row, content in enumerate(text.split("\n")):
                for col, ch in enumerate(content, 1):
                    if ch in seen or ch.isspace() or ord(ch) in covered:
                        continue
                    seen.add(ch)
                    fallback = ord(ch) in installed_coverage()
                    problems.append(Diagnostic(
                        Severity.WARNING,
                        f"diagram character '{ch}' (U+{ord(ch):04X} {unicodedata.name(ch, '?')}) is not in {MONO_FAMILY} ({path.name}):"
                        + (" another font would draw it and shift the columns" if fallback else
                           " no installed font draws it: it prints as an empty box"),
                        article.loc(line + row if line else 0, col if line else 0), code="pdf.diagram-glyph"))
            size, _ = diagram_setting(columns, book.manifest.page_size)
            if size < diagrams.DIAGRAM_MIN_PT:
                problems.append(Diagnostic(
                    Severity.WARNING,
                    f"diagram of {columns} columns is set at {size} pt on a landscape page, below the {diagrams.DIAGRAM_MIN_PT} pt"
                    " that prints legibly", article.loc(line), "split it, or shorten its widest line", code="pdf.diagram-width"))
    return problems


# ---------------------------------------------------------------- rendering
def subject(book: Book) -> str:
    m = book.manifest
    return m.description or m.subtitle


class SafeFetcher:
    """Serves data: URLs and files under the given roots (resolved, so symlinks cannot escape); nothing else."""

    _fail_on_errors = False  # WeasyPrint reads it when a fetch is refused: a warning, not a crash

    def __init__(self, roots: Iterable[Path]):
        from weasyprint.urls import URLFetcher

        self.roots = [Path(r).resolve() for r in roots]
        self.inner = URLFetcher(allowed_protocols={"data", "file"})

    def __call__(self, url: str, headers=None):
        return self.fetch(url, headers)

    def fetch(self, url: str, headers=None):
        parts = urlsplit(url)
        if parts.scheme == "data":
            return self.inner.fetch(url, headers)
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            try:
                path = Path(unquote(parts.path)).resolve()
            except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
                path = None
            if path is not None and any(path.is_relative_to(r) for r in self.roots) and path.is_file():
                return self.inner.fetch(path.as_uri(), headers)  # the file checked, not the link to it
        raise ValueError(f"not fetched (outside the knowledge base and the theme): {url}")


def open_with_outline(sides: int):
    """A finisher: viewers open the PDF with its bookmarks shown, facing pages for a two-sided book."""

    def finish(document, pdf) -> None:
        pdf.catalog["PageMode"] = "/UseOutlines"
        pdf.catalog["PageLayout"] = "/TwoPageRight" if sides == 2 else "/SinglePage"

    return finish


# ---------------------------------------------------------------- the index's page numbers
def index_anchor_pages(pages) -> dict[str, int]:
    """Index anchor (ids with "--ix") -> the number printed on its page. The default theme numbers every page
    from the cover on (no counter-reset), so the folio is the page's position."""
    return {anchor: n for n, page in enumerate(pages, 1) for anchor in page.anchors if INDEX_ANCHOR in anchor}


def index_is_last(book: Book) -> bool:
    """Whether the book ends with a back-of-book index (what `write` can append as a document of its own)."""
    generated = [item for item in book.manifest.back_matter
                 if item.kind != "file" or any(a.path == item.path for a in book.back)]
    generated = [i for i in generated if {"glossary": book.glossary, "tag_index": book.tags,
                                          "index": book.index}.get(i.kind, True)]
    return bool(generated) and generated[-1].kind == "index"


@functools.lru_cache(maxsize=1)
def font_configuration(css: str):
    """One font set-up (fontconfig's font list, Pango's font map and its caches) for every layout a process
    makes with one theme's stylesheet, a book's parts and its index among them, where WeasyPrint sets one up
    for each."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@dataclass(frozen=True, slots=True)
class Engine:
    """WeasyPrint for one book: lays out its HTML and writes a Document. Plain data, so that a worker process
    laying out parts of the book (pdfparts.py) can be handed one."""

    source: Path  # the knowledge base: relative URLs resolve from it
    roots: tuple[Path, ...]  # what may be read: the knowledge base and the theme
    sides: int
    tagged: bool
    css: str  # the theme's print stylesheet (weasy.tuned reads it)

    def lay_out(self, html: str):
        import weasyprint

        return weasyprint.HTML(string=html, base_url=str(self.source) + "/",
                               url_fetcher=SafeFetcher(self.roots)).render(font_config=font_configuration(self.css))

    def write_pdf(self, document, path: Path) -> None:
        # Dates come from the template's dcterms meta (the book's build date), never from the clock, and the
        # identifier is fixed: the same book gives the same bytes.
        options = {"pdf_variant": "pdf/ua-1", "pdf_tags": True} if self.tagged else {}
        document.write_pdf(path, pdf_identifier=b"publisher", uncompressed_pdf=False,
                           finisher=open_with_outline(self.sides), **options)


class PdfBackend:
    name = "pdf"
    suffix = ".pdf"

    def after_others(self, book: Book) -> bool:
        """Laid out in parts by more than one worker process: written after the other formats."""
        return bool(pdfplan.part_pages(book)) and pdfplan.workers(book) > 1

    def check(self, book: Book, theme: Theme) -> Iterable[Diagnostic]:
        book = for_format(book, self.name)
        return [*problems(), *check_diagrams(book), *check_glyphs(book)]

    def html(self, book: Book, theme: Theme, pages: dict[str, int] | None = None, *, index_from: int = 0,
             chunk=None, chunk_first: int = 0) -> str:
        """The whole book as one HTML document for WeasyPrint. `pages` (index anchor -> printed page number)
        gives the index its page numbers; without it the index is its heading alone. With `index_from`
        (the page on which the index starts) the document is the index alone, numbered from that page.
        With `chunk` (a pdfplan.Chunk) it is that part of the book alone, numbered from `chunk_first` (its
        targets in other chunks have no element here: weasy.fixed_pages gives their numbers)."""
        m = book.manifest
        kind = chunk.kind if chunk is not None else None
        front, pieces, back, toc_back = pdfplan.sections(book, pages, index_from=index_from, chunk=chunk)
        fragments = [prepare(blocks, m.page_size, theme.tab_size) for _, _, blocks in front]
        fragments += [prepare(render.chapter_blocks(p.chapter, p.start, p.stop), m.page_size, theme.tab_size) for p in pieces]
        fragments += [prepare(blocks, m.page_size, theme.tab_size) for _, _, blocks in back]
        html = render.to_html(fragments) if fragments else []
        front_html = [{"id": i, "title": t, "html": h} for (i, t, _), h in zip(front, html[: len(front)], strict=True)]
        html = html[len(front):]
        chapter_html = iter(html[: len(pieces)])
        held = {id(p.chapter): p for p in pieces}  # a chunk holds one piece of a chapter at most
        long_pages = pdfplan.long_chapter_pages(book)

        def chapter(c) -> dict:
            piece = held[id(c)]
            return {"id": c.id, "html": next(chapter_html), "title": c.title, "long": pdfplan.is_long(c, long_pages),
                    "continued": piece.start > 0, "footnotes": piece.footnotes}

        parts = [
            {"title": p.title, "id": p.id, "opener": id(p.chapters[0]) in held and held[id(p.chapters[0])].start == 0,
             "chapters": [chapter(c) for c in p.chapters if id(c) in held]}
            for p in book.parts if any(id(c) in held for c in p.chapters)
        ]
        back_html = [{"id": i, "title": t, "html": h} for (i, t, _), h in zip(back, html[len(pieces):], strict=True)]
        return theme.render(
            "pdf.html.j2",
            book=book,
            m=m,
            toc=pdfplan.toc_entries(book) if kind in (None, "front") else [],
            toc_back=toc_back if kind in (None, "front") else [],
            parts=parts,
            front=front_html,
            back=back_html,
            css=theme.css("pdf"),
            page_size=m.page_size,
            cover_url=(m.source / m.cover).as_uri() if m.cover else "",
            page=GEOMETRY[m.page_size].css(m.pdf_sides),
            sides=m.pdf_sides,
            subject=subject(book),
            index_from=index_from,
            show_front=kind in (None, "front"),
            in_parts=chunk is not None,
            chunk_first=chunk_first if chunk is not None else 0,
            stubs="",  # (a theme's template from before 2026-12-05 shows it: other chunks' targets need no element)
            parts_before=chunk.parts_before if chunk is not None else 0,
        )

    def write(self, book: Book, theme: Theme, target: Path, *, whole: bool = False) -> None:
        """The PDF; in parts (pdfparts.py) when the book is long or the manifest asks, unless `whole`."""
        m = book.manifest
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        engine = Engine(m.source, (m.source, *theme.folders), m.pdf_sides, m.pdf_tagged, theme.css("pdf"))
        with tuned(engine.css):
            size = 0 if whole else pdfplan.part_pages(book)
            if size:  # a long book: laid out a part at a time, so memory stays that of a part or two
                pdfparts.write_in_parts(self, book, theme, engine, target, size)
                return
            engine.write_pdf(self.lay_out_book(book, theme, engine.lay_out), target)

    def lay_out_book(self, book: Book, theme: Theme, lay_out):
        """One layout of the book. The index's page numbers need the page of every occurrence, so the book
        is laid out with the index as its heading alone; when the index ends the book, the index is then laid
        out as a document of its own, numbered on from that heading's page, and put in its place. (An index
        followed by other back matter costs a second layout of the whole book.)"""
        document = lay_out(self.html(book, theme))
        if book.index and any(item.kind == "index" for item in book.manifest.back_matter):
            pages = index_anchor_pages(document.pages)
            start = next((n for n, page in enumerate(document.pages) if render.INDEX_ID in page.anchors), None)
            if index_is_last(book) and start is not None:
                index = lay_out(self.html(book, theme, pages, index_from=start + 1))
                document = document.copy([*document.pages[:start], *index.pages])
            else:
                document = lay_out(self.html(book, theme, pages))
        return document
