"""EPUB 3 through ebooklib: a cover, a title page, one XHTML file per part opener and per chapter, the glossary
and the tag index; a nav document with landmarks and an NCX; a zip rewritten for byte-identical output.

Each page is pandoc's HTML5 made fit for a reading system (xhtml.py: `clean`, `footnotes`); `link_pages`
points every internal link into the file that holds its target. The theme's
`epub-page.xhtml.j2` and `epub-nav.xhtml.j2` write the documents; ebooklib writes the package and the NCX."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import io
import itertools
import string
import textwrap
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape as _esc
from pathlib import Path
from typing import NamedTuple

import lxml.html

from .. import cache, render
from ..collector import collector_paused
from ..diagnostics import Diagnostic
from ..htmlpolicy import epub_removals
from ..model import Book
from ..themes import Theme
from . import normalize_zip
from .epubsplit import split_pages
from .view import for_format
from .xhtml import MATHML, Images, clean, element, footnotes, fragment, image_type, page_of, serialize

CSS = "style/book.css"
XHTML = "application/xhtml+xml"
DIAGRAM_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")  # free licence: may be embedded
FONT_FACE = '\n@font-face { font-family: "Diagram Mono"; src: url("../fonts/diagram-mono.woff") format("woff"); }\n'
ACCESSIBILITY = (
    ("schema:accessMode", "textual"),
    ("schema:accessModeSufficient", "textual"),
    ("schema:accessibilityFeature", "structuralNavigation"),
    ("schema:accessibilityFeature", "tableOfContents"),
    ("schema:accessibilityFeature", "readingOrder"),
    ("schema:accessibilityHazard", "none"),
    ("schema:accessibilitySummary", "Chapters have structured headings, a table of contents and landmarks; footnotes "
                                    "link to their references and back; diagrams are drawn with text characters."),
)

def book_identifier(book: Book) -> str:
    """Stable across rebuilds: derived from the manifest's title and file name."""
    m = book.manifest
    return "urn:uuid:" + str(uuid.UUID(hashlib.sha256(f"{m.title}\0{m.path.name}".encode()).hexdigest()[:32]))


@dataclass
class Page:
    file: str
    title: str
    kind: str  # epub:type of the body
    tree: lxml.html.HtmlElement  # the body's content, inside a div


class Entry(NamedTuple):
    """One line of the table of contents."""

    title: str
    href: str
    children: tuple[Entry, ...] = ()


# ---------------------------------------------------------------- pages
def sources_modified(book: Book) -> dt.datetime:
    """When the book's sources (its manifest and articles) last changed: EPUB 3 requires dcterms:modified, and a
    book without a date (no SOURCE_DATE_EPOCH, manifest `date` or `last_updated`) shows none, so the package's
    last modification is that of its sources, a fact rather than an invented date (and the same on a rebuild)."""
    files = [book.manifest.path, *(a.file for a in book.every_article)]
    seconds = max((f.stat().st_mtime for f in files if f.exists()), default=0)
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC)


def make_pages(book: Book) -> tuple[list[Page], list[Entry]]:
    """Every page in reading order from the title page on, and the table of contents."""
    m = book.manifest
    front = render.front_matter(book)
    back = render.back_matter(book, 1)
    html = iter(render.to_html([b for _, _, b in front] + [render.chapter_blocks(c) for c in book.chapters]
                               + [b for _, _, b in back], extra=["--mathml"]))
    lines = [element("p", {"class": cls}, text) for cls, text in (
        ("subtitle", m.subtitle), ("authors", ", ".join(m.authors)), ("edition", m.edition), ("rights", m.rights)) if text]
    titlepage = element("section", {"class": "titlepage", "epub:type": "titlepage"}, "", element("h1", {}, m.title), *lines)
    pages = [Page("titlepage.xhtml", m.title, "frontmatter", page_of(titlepage))]
    toc: list[Entry] = []
    for ident, heading, _ in front:  # after the title page, before the contents (see write)
        pages.append(Page(f"front-{ident}.xhtml", heading, "frontmatter", fragment(next(html))))
        toc.append(Entry(heading, f"front-{ident}.xhtml"))
    n = 0
    for part in book.parts:
        chapters = []
        for chapter in part.chapters:
            n += 1
            file = f"chapter-{n:02d}.xhtml"
            articles = () if chapter.single else tuple(Entry(a.title, f"{file}#{a.id}") for a in chapter.articles)
            chapters.append((Page(file, chapter.title, "bodymatter", fragment(next(html))), Entry(chapter.title, file, articles)))
        if part.title:
            opener = element("section", {"class": "part-opener", "epub:type": "part"}, "", element("h1", {"id": part.id}, part.title))
            pages.append(Page(f"{part.id}.xhtml", part.title, "bodymatter", page_of(opener)))
            toc.append(Entry(part.title, f"{part.id}.xhtml", tuple(e for _, e in chapters)))
        else:
            toc.extend(e for _, e in chapters)
        pages.extend(p for p, _ in chapters)
    files = {a.id for a in book.back}
    for ident, heading, _ in back:
        file = f"back-{ident}.xhtml" if ident in files else f"{ident}.xhtml"
        pages.append(Page(file, heading, "backmatter", fragment(next(html))))
        toc.append(Entry(heading, file))
    return pages, toc


def cover_svg(book: Book) -> bytes:
    """A plain cover drawn as SVG: the title, subtitle and authors, no outside resources."""
    m = book.manifest
    lines = [(line, 50, 62, "bold") for line in textwrap.wrap(m.title, 16)]
    lines += [(line, 30, 40, "normal") for line in textwrap.wrap(m.subtitle, 32)]
    y, texts = 260, []
    for text, size, step, weight in lines:
        texts.append(f'<text x="300" y="{y}" font-size="{size}" font-weight="{weight}">{_esc(text)}</text>')
        y += step
    authors = _esc(", ".join(m.authors))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="600" height="900" viewBox="0 0 600 900">'
        f'<title>{_esc(m.title)}</title><rect width="600" height="900" fill="#1f3a5f"/>'
        '<rect x="40" y="40" width="520" height="820" fill="none" stroke="#c9d6e8" stroke-width="3"/>'
        '<g fill="#ffffff" font-family="DejaVu Serif, serif" text-anchor="middle">'
        f'{"".join(texts)}<text x="300" y="800" font-size="28">{authors}</text></g></svg>\n'
    ).encode()


def cover_image(book: Book, images: Images) -> tuple[str, str, bytes]:
    """(name, media type, data) of the cover: the manifest's cover, read like any vault image, else cover_svg."""
    picture = images.read(book.manifest.cover) if book.manifest.cover else None
    kind = image_type(picture) if picture else None
    if kind is not None:
        return f"images/cover{kind[1]}", kind[0], picture
    return "images/cover.svg", "image/svg+xml", cover_svg(book)


def link_pages(pages: list[Page], origin: dict[str, str] | None = None,
               elsewhere: dict[str, str] | None = None) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Ids unique within each file; `#id` links point into the file that holds the id, or stop being links.

    `origin` maps a file to the page it was cut from (epubsplit): a link looks first in its own file, then in
    the other files of its page, then anywhere; `elsewhere`: where the ids of other files are (a page made
    again alone). Returns (id -> the file that holds it, the first when several do;
    {(page's first file, id): file that holds it})."""
    origin = origin or {}
    ids: dict[str, set[str]] = {}
    where: dict[str, str] = dict(elsewhere or {})
    near: dict[tuple[str, str], str] = {}
    for page in pages:
        seen = ids[page.file] = set()
        group = origin.get(page.file, page.file)
        for el in list(page.tree.iterfind(".//*[@id]")):
            ident = el.get("id")
            if ident in seen:
                del el.attrib["id"]
            elif ident:
                seen.add(ident)
                where.setdefault(ident, page.file)
                near.setdefault((group, ident), page.file)
    for page in pages:
        group = origin.get(page.file, page.file)
        for a in page.tree.iterfind(".//a[@href]"):
            href = a.get("href")
            if not href.startswith("#"):
                continue
            target = href[1:]
            if target not in ids[page.file]:
                file = near.get((group, target)) or where.get(target)
                if file:
                    a.set("href", f"{file}#{target}")
                else:
                    del a.attrib["href"]
    return where, near


def retarget(entries: Iterable[Entry], near: dict[tuple[str, str], str]) -> list[Entry]:
    """Contents entries `FILE#id` pointed at the document of FILE's page that now holds the id."""
    out = []
    for e in entries:
        file, _, ident = e.href.partition("#")
        href = f"{near.get((file, ident), file)}#{ident}" if ident else e.href
        out.append(e._replace(href=href, children=tuple(retarget(e.children, near))))
    return out


def diagram_font(pages: list[Page]) -> bytes | None:
    """DejaVu Sans Mono cut down to the characters the diagrams use, as WOFF; None without diagrams or font.
    Kept in the cache under the font file's identity, fontTools' version and the characters (a rebuild skips
    fontTools)."""
    text = "".join(pre.text_content() for p in pages for pre in p.tree.iterfind(".//pre[@class]")
                   if "diagram" in pre.get("class").split())
    if not text or not DIAGRAM_FONT.is_file():
        return None
    chars = "".join(sorted(set(text + string.printable)))
    stat = DIAGRAM_FONT.stat()
    tools = importlib.metadata.version("fonttools")
    fingerprint = f"{DIAGRAM_FONT}\0{stat.st_size}\0{stat.st_mtime_ns}\0{tools}\0{chars}".encode("utf-8", "surrogatepass")
    return cache.cached_bytes("diagram-font", fingerprint, lambda: _subset_font(chars))


def _subset_font(chars: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options(flavor="woff", name_IDs=["*"], hinting=False)
    options.drop_tables.append("FFTM")
    font = TTFont(str(DIAGRAM_FONT), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- the package
def _ncx(entries: Iterable[Entry], ids) -> list:
    from ebooklib import epub

    return [(epub.Section(e.title, e.href), _ncx(e.children, ids)) if e.children else epub.Link(e.href, e.title, f"np-{next(ids)}")
            for e in entries]


class EpubBackend:
    name = "epub"
    suffix = ".epub"

    def check(self, book: Book, theme: Theme) -> Iterable[Diagnostic]:
        """What the EPUB's profile of the HTML policy leaves out of each article, one warning an article."""
        found = (epub_removals(a) for a in for_format(book, self.name).every_article)
        return [d for d in found if d is not None]

    def write(self, book: Book, theme: Theme, target: Path) -> None:
        with collector_paused():  # millions of small objects made and dropped: see collector.collector_paused
            self._write(book, theme, target)

    def _write(self, book: Book, theme: Theme, target: Path) -> None:
        from ebooklib import epub

        m = book.manifest
        pages, toc = make_pages(book)
        images = Images(m.source)
        for page in pages:
            clean(page.tree, images)
            footnotes(page.tree)
        pages, origin = split_pages(pages, m.epub_document_kb * 1024)
        toc = retarget(toc, link_pages(pages, origin)[1])
        cover_name, cover_type, cover_data = cover_image(book, images)
        cover = Page("cover.xhtml", m.title, "cover", page_of(
            element("section", {"class": "cover"}, "", element("img", {"src": cover_name, "alt": m.title}))))
        nav = Page("nav.xhtml", "Contents", "frontmatter", fragment(""))
        font = diagram_font(pages)

        eb = epub.EpubBook()
        eb.set_identifier(book_identifier(book))
        eb.set_title(m.title)
        eb.set_language(m.language)
        eb.set_direction(m.direction)
        for n, author in enumerate(m.authors, 1):  # each dc:creator an id of its own (EPUBCheck RSC-005)
            eb.add_author(author, uid="creator" if n == 1 else f"creator-{n}")
        for name, value in (("description", m.description), ("rights", m.rights), ("date", book.build_date)):
            if value:
                eb.add_metadata("DC", name, value)
        for group in book.tags:
            eb.add_metadata("DC", "subject", group.label)
        for prop, value in ACCESSIBILITY + ((("schema:accessMode", "visual"),) if images.files else ()):
            eb.add_metadata(None, "meta", value, {"property": prop})
        eb.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})

        def add(uid: str, file: str, media_type: str, content: bytes, *properties: str):
            item = epub.EpubItem(uid=uid, file_name=file, media_type=media_type, content=content)
            item.properties = list(properties)
            eb.add_item(item)
            return item

        def document(page: Page, template: str = "epub-page.xhtml.j2", **values) -> bytes:
            return theme.render(template, lang=m.language, direction=m.direction, title=page.title, kind=page.kind, css=CSS,
                                body=serialize(page.tree), **values).encode()

        add("css", CSS, "text/css", (theme.css("epub") + (FONT_FACE if font else "")).encode())
        add("cover-image", cover_name, cover_type, cover_data, "cover-image")
        for name, (media_type, data) in images.files.items():
            add("img-" + Path(name).stem, name, media_type, data)
        if font:
            add("diagram-font", "fonts/diagram-mono.woff", "font/woff", font)
        opening = next((i for i, p in enumerate(pages) if p.kind != "frontmatter"), len(pages))  # title page, front matter
        start = pages[min(opening, len(pages) - 1)]
        landmarks = [("cover", cover.file, "Cover"), ("toc", f"{nav.file}#toc", "Contents"),
                     ("bodymatter", start.file, "Start of content")]
        present = {p.file for p in pages}
        index = next((i for i in (render.INDEX_ID, render.TAG_INDEX_ID) if f"{i}.xhtml" in present), None)
        landmarks += [(kind, f"{ident}.xhtml", title) for kind, ident, title in (
            ("glossary", render.GLOSSARY_ID, "Glossary"), ("index", index, "Index" if index == render.INDEX_ID else "Tag index"))
            if ident and f"{ident}.xhtml" in present]
        def page(p: Page):
            has_math = next(p.tree.iter(MATHML + "math"), None) is not None
            return add(Path(p.file).stem, p.file, XHTML, document(p), *(["mathml"] if has_math else []))

        spine = [page(p) for p in (cover, *pages[:opening])]
        spine.append(add("nav", nav.file, XHTML, document(nav, "epub-nav.xhtml.j2", toc=toc, landmarks=landmarks), "nav"))
        spine += [page(p) for p in pages[opening:]]
        eb.toc = _ncx(toc, itertools.count(1))
        eb.add_item(epub.EpubNcx())
        eb.spine = spine

        modified = dt.datetime.fromisoformat(book.build_date) if book.build_date else sources_modified(book)
        raw = target.with_suffix(".raw")
        try:
            options = {"raise_exceptions": True, "mtime": modified, "epub3_pages": False,
                       "compresslevel": 0}  # normalize_zip compresses it, once
            epub.write_epub(str(raw), eb, options)
            normalize_zip(raw, target)
        finally:
            raw.unlink(missing_ok=True)
