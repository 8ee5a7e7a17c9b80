"""The web edition: a static site in a folder, DIR/NAME/, that works from file:// and from any static host.

    index.html       the cover, the title and the contents
    chapter-NN.html  one page per chapter; a long chapter of several articles, one page per article
                     (chapter-NN.html, chapter-NN-02.html, ...); front and back matter, part openers, the
                     glossary, the tag index and the index have a page each
    search.html      client-side search over the articles: search-index.js (the index assigned to a global,
                     so that it loads from file://, where fetch() is refused) and search-index.json (the same)
    style/ script/ images/ fonts/   the theme's stylesheet and script, the vault's images, the diagram font

Pages are made as the EPUB's are (xhtml.py: pandoc's HTML cleaned, images copied in under names made from
their content, every `#id` link pointed into the page that holds its id), then written through the theme's
`html-page.html.j2`: a header with the book's title and a search form, the contents in a sidebar, the page,
previous/next links. Nothing is fetched from another site: every stylesheet, script and font is in the folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from html import escape as _esc
from pathlib import Path

from lxml.html import HtmlElement

from .. import render
from ..collector import collector_paused
from ..diagnostics import Diagnostic
from ..model import Article, Book, Chapter
from ..themes import Theme
from .epub import FONT_FACE, Entry, Page, cover_image, diagram_font, link_pages
from .xhtml import Images, clean, element, fragment, page_of, serialize

LONG_CHAPTER = 3500  # words: a chapter of several articles longer than this has a page per article
CSS = "style/book.css"
SCRIPT = "script/site.js"
SEARCH_INDEX = "search-index"  # .json and .js
TEMPLATE = "html-page.html.j2"
FILES = {render.INDEX_ID: "book-index.html"}  # generated back matter whose id would make a clashing name
WORD = re.compile(r"\w+")  # a word of the search index (over plain text, never over Markdown or HTML)


@dataclass(frozen=True)
class Nav:
    """Where a page sits: the link before it and the one after it (title, href), or None."""

    previous: tuple[str, str] | None
    next: tuple[str, str] | None


class Contents:
    """The contents as nested lists, with the page shown marked as the current one: made once, marked per page
    (it is on every page; made for each, it was most of the writing of a long book's site)."""

    MARK = ' aria-current="page"'

    def __init__(self, toc: Iterable[Entry]):
        self.parts: list[str] = []
        self.marks: dict[str, list[int]] = {}  # href -> where in parts its mark goes
        self._add(toc)

    def _add(self, entries: Iterable[Entry]) -> None:
        self.parts.append("<ol>")
        for e in entries:
            self.parts.append(f'<li><a href="{_esc(e.href)}"')
            self.marks.setdefault(e.href, []).append(len(self.parts))
            self.parts += ["", f">{_esc(e.title)}</a>"]
            if e.children:
                self._add(e.children)
            self.parts.append("</li>")
        self.parts.append("</ol>")

    def html(self, current: str) -> str:
        parts = list(self.parts)
        for i in self.marks.get(current, ()):
            parts[i] = self.MARK
        return "".join(parts)


def is_long(chapter: Chapter) -> bool:
    return not chapter.single and sum(len(a.body.split()) for a in chapter.articles) > LONG_CHAPTER


def raise_headings(root) -> None:
    """Each page's outline starts at h1: in a book with parts a chapter's title is an h2 (an article of a long
    chapter, an h3); every heading of the page moves up by the same number of levels (renamed as elements)."""
    headings = [el for el in root.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    delta = min((int(el.tag[1]) for el in headings), default=1) - 1
    for el in headings if delta > 0 else ():
        el.tag = f"h{int(el.tag[1]) - delta}"


def chapter_pages(n: int, chapter: Chapter) -> list[tuple[str, str, tuple[Article, ...], list[dict]]]:
    """(file, title, articles, blocks) of each page of the chapter numbered n: one, or one per article of a
    long chapter (the first under the chapter's heading)."""
    file = f"chapter-{n:02d}.html"
    if not is_long(chapter):
        return [(file, chapter.title, chapter.articles, render.chapter_blocks(chapter))]
    pages = []
    for k, article in enumerate(chapter.articles):
        blocks = render.chapter_blocks(replace(chapter, articles=(article,)))
        pages.append((f"chapter-{n:02d}-{k + 1:02d}.html" if k else file, article.title if k else chapter.title, (article,),
                      blocks[1:] if k else blocks))
    return pages


def make_pages(book: Book) -> tuple[list[Page], list[Entry]]:
    """Every page after index.html, in reading order, and the table of contents."""
    plan: list[tuple[str, str, str, list[dict] | HtmlElement]] = []  # (file, title, kind, blocks or a ready page)
    toc: list[Entry] = []
    for ident, heading, blocks in render.front_matter(book):
        plan.append((f"front-{ident}.html", heading, "frontmatter", blocks))
        toc.append(Entry(heading, f"front-{ident}.html"))
    n = 0
    for part in book.parts:
        entries, start = [], len(plan)
        for chapter in part.chapters:
            n += 1
            pages = chapter_pages(n, chapter)
            plan += [(file, title, "bodymatter", blocks) for file, title, _, blocks in pages]
            file = pages[0][0]
            if len(pages) > 1:
                children = tuple(Entry(a.title, f"{p}#{a.id}" if k == 0 else p) for k, (p, _, (a,), _) in enumerate(pages))
            else:
                children = () if chapter.single else tuple(Entry(a.title, f"{file}#{a.id}") for a in chapter.articles)
            entries.append(Entry(chapter.title, file, children))
        if part.title:
            items = [element("li", {}, "", element("a", {"href": e.href}, e.title)) for e in entries]
            opener = element("section", {"class": "part-opener"}, "", element("h1", {"id": part.id}, part.title),
                             element("ul", {}, "", *items))
            plan.insert(start, (f"{part.id}.html", part.title, "part", page_of(opener)))  # before its chapters
            toc.append(Entry(part.title, f"{part.id}.html", tuple(entries)))
        else:
            toc.extend(entries)
    files = {a.id for a in book.back}
    for ident, heading, blocks in render.back_matter(book, 1):
        file = f"back-{ident}.html" if ident in files else FILES.get(ident, f"{ident}.html")
        plan.append((file, heading, "backmatter", blocks))
        toc.append(Entry(heading, file))
    html = iter(render.to_html([b for *_, b in plan if isinstance(b, list)]))
    pages = [Page(file, title, kind, fragment(next(html)) if isinstance(b, list) else b) for file, title, kind, b in plan]
    return pages, toc


def search_index(book: Book, pages: list[Page], where: dict[str, str]) -> list[dict]:
    """One entry per article: its title, the page (and place) it is on, its summary and its words, each once.
    A page's text goes to the article whose heading comes last before it."""
    titles = {a.id: a for a in book.every_article}
    texts: dict[str, list[str]] = {}
    for page in pages:
        current = None
        for el in page.tree:
            if el.get("id") in titles:  # an article's heading (a chapter of one article: the chapter's)
                current = texts.setdefault(el.get("id"), [])
            elif current is not None:
                current.append(el.text_content())
    entries = []
    for ident, chunks in texts.items():
        article, text = titles[ident], " ".join(chunks)
        words = sorted({w.lower() for w in WORD.findall(f"{article.title} {text}")})
        summary = article.summary or " ".join(text.split()[:40])
        entries.append({"title": article.title, "href": f"{where[ident]}#{ident}", "summary": summary, "words": " ".join(words)})
    return entries


@dataclass
class Site:
    """Every file of the web edition (path inside the folder -> bytes), and what it takes to make one page
    again (`publisher serve`'s preview of a changed article)."""

    book: Book
    theme: Theme
    files: dict[str, bytes]
    where: dict[str, str]  # id -> the page that holds it
    listing: Contents
    navs: dict[str, Nav]  # page -> its previous and next

    def page(self, page: Page) -> bytes:
        m = self.book.manifest
        return self.theme.render(
            TEMPLATE, lang=m.language, direction=m.direction, book_title=m.title, title=page.title, kind=page.kind,
            file=page.file, contents=self.listing.html(page.file), nav=self.navs[page.file], css=CSS, script=SCRIPT,
            search_index=f"{SEARCH_INDEX}.js", body=serialize(page.tree, "html")).encode()

    def write(self, target: Path) -> None:
        for name, data in self.files.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def again(self, book: Book, article_id: str) -> tuple[str, bytes] | None:
        """(file, bytes) of the page that holds the article, made from `book` (this site's book with that article
        changed, nothing else), or None when it is not on a chapter's page. Its images must be on the site."""
        n = 0
        for chapter in book.chapters:
            n += 1
            for file, title, articles, blocks in chapter_pages(n, chapter) if any(a.id == article_id for a in chapter.articles) else ():
                if any(a.id == article_id for a in articles):
                    page = Page(file, title, "bodymatter", fragment(render.to_html([blocks])[0]))
                    images = Images(book.manifest.source)
                    clean(page.tree, images)
                    raise_headings(page.tree)
                    link_pages([page], elsewhere=self.where)
                    return (file, self.page(page)) if images.files.keys() <= self.files.keys() else None
        return None


def make_site(book: Book, theme: Theme) -> Site:
    m = book.manifest
    pages, toc = make_pages(book)
    images = Images(m.source)
    for page in pages:
        clean(page.tree, images)
        raise_headings(page.tree)
    where, _ = link_pages(pages)
    font = diagram_font(pages)
    cover_name, _, cover_data = cover_image(book, images)
    home = Page("index.html", m.title, "cover", fragment(theme.render("html-home.html.j2", m=m, cover=cover_name, contents=Contents(toc).html("index.html"))))
    search = Page("search.html", "Search", "search", fragment(theme.render("html-search.html.j2")))

    files: dict[str, bytes] = {CSS: (theme.css("html") + (FONT_FACE if font else "")).encode(),
                               SCRIPT: theme.file("js/site.js").read_bytes(), cover_name: cover_data}
    files.update((name, data) for name, (_, data) in images.files.items())
    if font:
        files["fonts/diagram-mono.woff"] = font
    index = json.dumps(search_index(book, pages, where), ensure_ascii=False, separators=(",", ":"))
    files[f"{SEARCH_INDEX}.json"] = index.encode()
    files[f"{SEARCH_INDEX}.js"] = f"window.PUBLISHER_SEARCH = {index};\n".encode()

    order = [home, *pages]  # the search page is outside the reading order: it links back to the cover
    navs = {}
    for i, page in enumerate([*order, search]):
        before = order[i - 1] if 0 < i < len(order) else None
        after = order[i + 1] if i + 1 < len(order) else None
        navs[page.file] = Nav((before.title, before.file) if before else None, (after.title, after.file) if after else None)
    site = Site(book, theme, files, where, Contents(toc), navs)
    for page in [*order, search]:
        files[page.file] = site.page(page)
    return site


class HtmlBackend:
    name = "html"
    suffix = ""  # the site is the folder DIR/NAME
    folder = True  # written into an empty folder that replaces the previous site whole (write_atomic)

    def check(self, book: Book, theme: Theme) -> Iterable[Diagnostic]:
        return ()

    def write(self, book: Book, theme: Theme, target: Path) -> None:
        with collector_paused():  # as the EPUB's: millions of small objects made and dropped
            site = make_site(book, theme)
        site.write(target)
