"""EPUB 3 through ebooklib: one XHTML file per chapter and per part opener, a nav document and an NCX,
links rewritten across files, a zip rewritten for byte-identical output."""

from __future__ import annotations

import datetime as dt
import hashlib
from html import escape as _esc
import uuid
from pathlib import Path
from typing import Iterable

import lxml.html

from .. import render
from ..diagnostics import Diagnostic
from ..model import Book
from ..themes import Theme
from . import normalize_zip

def book_identifier(book: Book) -> str:
    """Stable across rebuilds: derived from the manifest's title and file name."""
    m = book.manifest
    return "urn:uuid:" + str(uuid.UUID(hashlib.sha256(f"{m.title}\0{m.path.name}".encode()).hexdigest()[:32]))


def _fragment(html: str):
    return lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")


def _serialize(root) -> str:
    return "".join(lxml.html.tostring(child, encoding="unicode") for child in root)


class EpubBackend:
    name = "epub"
    suffix = ".epub"

    def check(self, book: Book, theme: Theme) -> Iterable[Diagnostic]:
        return ()

    def write(self, book: Book, theme: Theme, target: Path) -> None:
        from ebooklib import epub

        m = book.manifest
        eb = epub.EpubBook()
        eb.set_identifier(book_identifier(book))
        eb.set_title(m.title)
        eb.set_language(m.language)
        for author in m.authors:
            eb.add_author(author)
        if m.description:
            eb.add_metadata("DC", "description", m.description)
        eb.add_metadata("DC", "date", book.build_date)
        for group in book.tags:
            eb.add_metadata("DC", "subject", group.label)

        css = epub.EpubItem(uid="css", file_name="style/book.css", media_type="text/css", content=theme.css("epub").encode())
        eb.add_item(css)

        # Pages: (file name, title, html, toc level, kind)
        back = render.back_matter(book, 1)
        html = render.to_html([render.chapter_blocks(c) for c in book.chapters] + [b for _, _, b in back])
        pages: list[tuple[str, str, str]] = []
        toc: list = []
        chapter_html = iter(html)
        n = 0
        title_html = f'<section class="titlepage" epub:type="titlepage"><h1>{_esc(m.title)}</h1>' + (
            f"<p class=\"subtitle\">{_esc(m.subtitle)}</p>" if m.subtitle else "") + (
            f"<p class=\"authors\">{_esc(', '.join(m.authors))}</p>" if m.authors else "") + "</section>"
        pages.append(("titlepage.xhtml", m.title, title_html))
        for part in book.parts:
            children = []
            if part.title:
                file = f"{part.id}.xhtml"
                pages.append((file, part.title, f'<section class="part-opener"><h1 id="{part.id}">{_esc(part.title)}</h1></section>'))
            for chapter in part.chapters:
                n += 1
                file = f"chapter-{n:02d}.xhtml"
                pages.append((file, chapter.title, next(chapter_html)))
                if chapter.single:
                    children.append(epub.Link(f"{file}#{chapter.id}", chapter.title, chapter.id))
                else:
                    children.append((epub.Section(chapter.title, f"{file}#{chapter.id}"),
                                     [epub.Link(f"{file}#{a.id}", a.title, a.id) for a in chapter.articles]))
            if part.title:
                toc.append((epub.Section(part.title, f"{part.id}.xhtml"), children))
            else:
                toc.extend(children)
        for ident, title, _ in back:
            pages.append((f"{ident}.xhtml", title, next(chapter_html)))
            toc.append(epub.Link(f"{ident}.xhtml", title, ident))

        # Every id lives in one file; internal links are rewritten to point into it.
        trees = [(file, title, _fragment(body)) for file, title, body in pages]
        where = {}
        for file, _, tree in trees:
            for el in tree.iter():
                ident = el.get("id")
                if ident:
                    where.setdefault(ident, file)
        items = []
        for file, title, tree in trees:
            for a in tree.iter("a"):
                href = a.get("href", "")
                if href.startswith("#"):
                    dest = where.get(href[1:])
                    if dest and dest != file:
                        a.set("href", f"{dest}{href}")
            item = epub.EpubHtml(title=title, file_name=file, lang=m.language)
            item.content = f"<html><body>{_serialize(tree)}</body></html>"
            item.add_item(css)
            eb.add_item(item)
            items.append(item)

        eb.toc = toc
        eb.add_item(epub.EpubNcx())
        nav = epub.EpubNav()
        nav.add_item(css)
        eb.add_item(nav)
        eb.spine = [items[0], "nav", *items[1:]]
        modified = dt.datetime.fromisoformat(book.build_date)
        raw = target.with_suffix(".raw")
        try:
            epub.write_epub(str(raw), eb, {"raise_exceptions": True, "mtime": modified, "epub3_pages": False})
            normalize_zip(raw, target)
        finally:
            raw.unlink(missing_ok=True)
