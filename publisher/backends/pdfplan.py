"""Where a long book's PDF is cut into parts (pdfparts.py lays them out): the front, runs of chapters (or of
a long chapter's articles) of about `part_pages` pages estimated from word counts, and each back matter
section; and how many worker processes lay them out."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .. import render, tree
from ..model import Article, Book, Chapter
from .weasy import installed

AUTO_PAGES = 600  # a book estimated longer than this is rendered in parts
AUTO_PART_PAGES = 100  # of about this many pages each (a worker laying out 150 pages held 600 MB)
LONG_CHAPTER_PAGES = 150  # a chapter longer than this starts each article on a new page (is_long)
WORDS_PER_PAGE = 320  # before any page is laid out: bench vault N=200, 241,805 words on 753 A4 pages


@dataclass(frozen=True, slots=True)
class Piece:
    """A chapter in a chunk: whole, or its articles from `start` to before `stop` (a long chapter's)."""

    chapter: Chapter
    start: int = 0
    stop: int | None = None
    footnotes: int = 0  # the chapter's footnotes before `start`: the chunk's footnote counter goes on from there

    @property
    def articles(self) -> tuple[Article, ...]:
        return self.chapter.articles[self.start:self.stop]


@dataclass(frozen=True, slots=True)
class Chunk:
    kind: str  # front | body | back
    pieces: tuple[Piece, ...] = ()
    parts_before: int = 0  # titled parts whose opener is in an earlier chunk (the part counter starts there)
    section: str = ""  # back: the one back matter section it holds (the glossary, the index, a file...)


def article_words(article: Article) -> int:
    return len(article.body.split())


def words(chapter: Chapter) -> int:
    return sum(article_words(a) for a in chapter.articles)


def chunk_words(chunk: Chunk) -> int:
    return sum(article_words(a) for p in chunk.pieces for a in p.articles)


def footnotes(article: Article) -> int:
    return sum(1 for block in article.blocks for node in tree.walk(block) if node.get("t") == "Note")


def long_chapter_pages(book: Book) -> int:
    """A chapter estimated longer than this many pages is long (see is_long): the manifest's part size, else
    150, whether or not this book is rendered in parts, so that the layout is the same."""
    return book.manifest.pdf_part_pages or LONG_CHAPTER_PAGES


def is_long(chapter: Chapter, pages: int) -> bool:
    """A long chapter starts each of its articles on a new page (the theme's `.chapter-body.long`), and a
    chunk may begin at any of them: elsewhere articles run on, and a cut there would move the text."""
    return not chapter.single and words(chapter) > pages * WORDS_PER_PAGE


def workers(book: Book) -> int:
    """Processes laying out chunks at once: the manifest's, else one per core this process may use."""
    if book.manifest.pdf_workers:
        return book.manifest.pdf_workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def estimated_pages(book: Book) -> int:
    return sum(words(c) for c in book.chapters) // WORDS_PER_PAGE


def part_pages(book: Book) -> int:
    """Pages per part, or 0: the book is rendered whole."""
    m = book.manifest
    if m.pdf_tagged or not {"fixed_pages", "outside_links"} <= installed():
        return 0  # structure trees cannot be merged; a WeasyPrint without other parts' page numbers
    if m.pdf_part_pages:
        return m.pdf_part_pages
    return AUTO_PART_PAGES if estimated_pages(book) > AUTO_PAGES else 0


def plan(book: Book, size: int) -> list[Chunk]:
    """Front, runs of about `size` pages (estimated from word counts), back. A run ends before the chapter or
    the article of a long chapter (is_long) that takes it to `size`: the same bound whether the book has
    many parts, many chapters or one chapter of a thousand articles."""
    chunks = [Chunk("front")]
    run: list[Piece] = []
    run_words, parts_before, openers = 0, 0, 0
    limit, long_pages = size * WORDS_PER_PAGE, long_chapter_pages(book)

    def cut() -> None:
        nonlocal run, run_words, parts_before
        chunks.append(Chunk("body", tuple(run), parts_before))
        run, run_words, parts_before = [], 0, openers

    for part in book.parts:
        for n, chapter in enumerate(part.chapters):
            if run and run_words >= limit:
                cut()
            if n == 0 and part.title:
                openers += 1
            if not is_long(chapter, long_pages):
                run.append(Piece(chapter))
                run_words += words(chapter)
                continue
            start, notes, notes_before = 0, 0, 0
            for k, article in enumerate(chapter.articles):
                if k > start and run_words >= limit:
                    run.append(Piece(chapter, start, k, notes_before))
                    cut()
                    start, notes_before = k, notes
                run_words += article_words(article)
                notes += footnotes(article)
            run.append(Piece(chapter, start, None, notes_before))
    if run:
        cut()
    # Each back matter section on its own: they open on a page of their own, and at a thousand articles the
    # glossary and the index run to hundreds of pages. The index gathers from the chapters only, so its
    # page numbers are all known by then (a whole book lays out its index apart for the same reason).
    chunks += [Chunk("back", section=ident) for ident, _, _ in render.back_matter(book, 1, {})]
    return chunks


# ---------------------------------------------------------------- what a document of the book holds
def toc_entries(book: Book) -> list[dict]:
    entries = []
    for part in book.parts:
        if part.title:
            entries.append({"level": 0, "title": part.title, "id": part.id, "kind": "part"})
        for chapter in part.chapters:
            entries.append({"level": 1, "title": chapter.title, "id": chapter.id, "kind": "chapter"})
            if not chapter.single:
                for a in chapter.articles:
                    entries.append({"level": 2, "title": a.title, "id": a.id, "kind": "article"})
    return entries


def sections(book: Book, pages: dict[str, int] | None = None, *, index_from: int = 0, chunk=None):
    """What a document of the book holds, as trees: (front matter sections, pieces of chapters, back matter
    sections, the back matter's contents entries); a section is (id, title, blocks). See pdf.PdfBackend.html."""
    kind = chunk.kind if chunk is not None else None
    front = [] if index_from or kind not in (None, "front") else render.front_matter(book)
    back = render.back_matter(book, 1, pages if pages is not None else {})
    toc_back = [{"id": i, "title": t} for i, t, _ in back]
    if index_from:
        back = [section for section in back if section[0] == render.INDEX_ID]
    elif kind in ("front", "body"):
        back = []
    elif kind == "back":
        back = [section for section in back if section[0] == chunk.section]
    if index_from or kind in ("front", "back"):
        pieces = []
    else:
        pieces = list(chunk.pieces) if kind == "body" else [Piece(c) for c in book.chapters]
    return front, pieces, back, toc_back
