"""A long book's PDF rendered in parts: WeasyPrint keeps every laid-out page in memory until it writes
(1.3-2.5 MB a page), so a 4,000-page book would need 7 GB or more. Here the book is cut into chunks: the
front (cover to contents), runs of about `part_pages` pages (estimated from word counts), and each back
matter section. A run ends before the chapter, or the article of a long chapter, that takes it to that size,
whatever the book's shape: many parts, many chapters, or one chapter of a thousand articles.

Long chapters. A chapter's articles run on without a page break, so a cut between two of them would move
the text. A chapter estimated longer than `part_pages` (150 when the manifest does not say) is long: the
theme starts each of its articles on a new page (`.chapter-body.long`), and a chunk may begin at any of
them. The rule is the book's, not the rendering's: a long chapter breaks so in a book rendered whole as
well. A chunk that begins inside a chapter opens on the page after the last (not on a right-hand one), is
no opener, sets the chapter's running head (string-set) from the chapter's title, numbers its footnotes on
from the chapter's earlier articles, and its articles' bookmarks nest under the chapter's in an earlier
chunk when the outline is rebuilt.

Each chunk is laid out alone, numbered on from its first page and on that page's side, written to a
temporary PDF and dropped, so memory stays that of one chunk a process; the PDFs are then merged.

Worker processes (`pdf: {workers: N}`, one per core by default, 1: this process alone). Each sweep sends
its chunks to a pool of spawned processes, at most one chunk each in flight: a worker gets the chunk's HTML
as a file and the page numbers it shows, and gives back its page count, anchors and bookmarks (pdf.Engine
is all it holds of the book). A chunk sent before the one ahead of it came back starts where that one's
previous layout (or its word count) says it ends; before each sweep every chunk's anchors move with the
page counts of those before it, so the second sweep mostly finds every number right and writes every
chunk, and a third confirms it. The oldest result is always taken first, so a build is the same every time,
and the same as with one process (the sweeps stop only when nothing moves).

Page numbers that cross chunks. A chunk holds an empty, out-of-flow stub for every target it points to in
another chunk (a link or `target-counter()`), and WeasyPrint is told the stub's page number
(weasy.fixed_pages): the contents, "(p. N)" and the glossary's and tag index's numbers come from the
theme's own CSS, as in a book rendered whole. A target in a later chunk is not placed yet: the first sweep
guesses its number and lays the chunk out without writing it; the next sweep lays it out again with the
number known, and writes it. Sweeps repeat until no chunk's inputs (its first page, the numbers it shows)
change, so a chunk whose page count changed moves the ones after it (a different number of digits may
rewrap a line; the stub itself takes no room). The index's numbers are literal, from every chunk's anchors.
A chunk's own targets are fixed too, at the pages its previous layout found (checked after the layout):
with every number known beforehand WeasyPrint lays each page out once, where a book rendered whole lays
out again every page that shows a page number; two layouts of a chunk cost about what one whole costs.

Links that cross chunks. WeasyPrint writes an internal link as a named destination and drops a link whose
anchor is not in its document: the stubs make those anchors (the index's links, which show their numbers
as text, are kept without one: weasy.outside_links), and the merge keeps each name's destination from the
chunk where it is real. The outline is rebuilt from every chunk's bookmarks and their levels (a
chunk that opens inside a part has chapters at level 2 whose parent is in an earlier chunk).

A two-sided book opens every chunk on a right-hand page, as a book rendered whole opens its parts, chapters
and back matter: the blank left-hand page before it, if any, is added when merging. A chunk that begins
inside a long chapter opens on whichever side its first page falls: moved by an odd number of pages, the
next chapter in it gains or loses the blank page before its right-hand opener, which the projection before
a sweep knows from the chunk's last layout (PartsRenderer.moved).

A tagged PDF (`pdf: {tagged: true}`) is never rendered in parts: each chunk would carry a structure tree of
its own, and merging those into one that PDF/UA accepts is beyond this merge.

Where the book is cut, and by how many processes it is laid out: pdfplan.py; the merge: pdfmerge.py.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .. import render
from ..collector import collect_and_release, release_memory, set_aside
from ..diagnostics import ContentError, Diagnostic, Severity, SourceLocation
from ..index import ANCHOR as INDEX_ANCHOR
from ..model import Book
from ..themes import Theme
from .pdfmerge import merge
from .pdfplan import WORDS_PER_PAGE, Chunk, article_words, chunk_words, plan, sections, toc_entries, workers
from .weasy import fixed_pages, outside_links, tuned

MAX_SWEEPS = 6
log = logging.getLogger(__name__)


@dataclass(slots=True)
class Rendered:
    """What the merge and the next sweep need from one laid-out chunk, once its Document is gone."""

    first: int
    count: int
    inputs: tuple
    anchors: dict[str, int]  # real anchor -> page number
    bookmarks: list[tuple[int, str, int, float, float, str]]  # level, label, page number, x, y, state
    written: bool = False
    blanks: tuple[int, ...] = ()  # the pages left blank before a right-hand one
    spans: list[tuple[str, float, float]] = field(default_factory=list)  # what WeasyPrint did when (perf_counter)


@dataclass(slots=True)
class Progress:
    layouts: int = 0
    sweeps: int = 0
    pages: list[int] = field(default_factory=list)


def targets_of(book: Book, chunk: Chunk, pages: dict[str, int] | None = None) -> tuple[list[str], list[str]]:
    """The names a chunk links to (or shows the page of): those it does not define (outside), and those it
    does (inside), each in reading order. Read from the trees of what the chunk holds (pdf.sections) and
    from what the template adds to them: the contents' links (front) and the part openers' ids."""
    front, pieces, back, toc_back = sections(book, pages, chunk=chunk)
    fragments = [blocks for _, _, blocks in front]
    fragments += [render.chapter_blocks(p.chapter, p.start, p.stop) for p in pieces]
    fragments += [blocks for _, _, blocks in back]
    links, ids = render.targets(fragments)
    if chunk.kind == "front":
        links = list(dict.fromkeys([*links, *(e["id"] for e in [*toc_entries(book), *toc_back])]))
    held = {id(p.chapter) for p in pieces if p.start == 0}
    ids.update(part.id for part in book.parts if part.title and part.chapters and id(part.chapters[0]) in held)
    return [n for n in links if n not in ids], [n for n in links if n in ids]


def bookmarks_of(document, first: int) -> list[tuple[int, str, int, float, float, str]]:
    """(level, label, page number, x, y in PDF points, state) of every bookmark, as write_pdf places them."""
    from weasyprint.matrix import Matrix

    out = []
    scale = 0.75
    for n, page in enumerate(document.pages):
        matrix = Matrix(scale, 0, 0, -scale, 0, page.height * scale)
        for level, label, (x, y), state in page.bookmarks:
            px, py = matrix.transform_point(x, y)
            out.append((level, label, first + n, px, py, state))
    return out


class PartsRenderer:
    def __init__(self, backend, book: Book, theme: Theme, engine, size: int, workers: int = 1):
        self.backend, self.book, self.theme, self.engine = backend, book, theme, engine
        self.chunks = plan(book, size)
        self.workers = max(1, min(workers, len(self.chunks)))
        self.sides = book.manifest.pdf_sides
        self.pages: dict[str, int] = {}  # every real anchor laid out so far -> page number
        self.targets: dict[int, tuple[list[str], list[str]]] = {}  # front and body chunks: outside, inside targets
        self.progress = Progress()
        # Words before each part, chapter and article (for guessing pages), and before each chunk.
        self.position: dict[str, int] = {}
        total = 0
        for part in book.parts:
            self.position.setdefault(part.id, total)
            for chapter in part.chapters:
                self.position.setdefault(chapter.id, total)
                for article in chapter.articles:
                    self.position.setdefault(article.id, total)
                    total += article_words(article)
        self.position[""] = total
        self.chunk_words: dict[int, int] = {}  # body chunk -> words before it
        for i, chunk in enumerate(self.chunks):
            if chunk.pieces:
                first = chunk.pieces[0]
                self.chunk_words[i] = self.position[first.articles[0].id if first.articles else first.chapter.id]
        self.words_in = {i: chunk_words(chunk) for i, chunk in enumerate(self.chunks)}  # chunk -> words in it
        # A two-sided book's chunk that begins inside a long chapter opens on either side: the ids of what opens
        # a right-hand page after its first (the next chapter, its part's opener), for PartsRenderer.moved.
        part_of = {c.id: p.id for p in book.parts for c in p.chapters}
        self.turn_ids = {i: [x for piece in chunk.pieces[1:] for x in (part_of.get(piece.chapter.id), piece.chapter.id) if x]
                         for i, chunk in enumerate(self.chunks)
                         if self.sides == 2 and chunk.pieces and chunk.pieces[0].start > 0}
        self.current = 0

    # ------------------------------------------------------------ one chunk
    def chunk_pages(self, chunk: Chunk) -> dict[str, int] | None:
        return self.index_pages() if chunk.section == render.INDEX_ID else None

    def chunk_html(self, chunk: Chunk, first: int, stubs: list[str]) -> str:
        return self.backend.html(self.book, self.theme, self.chunk_pages(chunk), chunk=chunk, chunk_first=first, stubs=stubs)

    def guess(self, target: str, first: int, rate: float) -> int:
        """A page number for a target not laid out yet, from the words before its article (`rate`: pages a
        word, self.rate()): the closer to the real number, the likelier the layout with the real one is the
        same (digits differ in width)."""
        at = self.position.get(target, self.position.get(target.split("--")[0]))
        if at is None:  # not in a chapter (the back matter): after them all
            at = self.position[""]
        start = self.chunk_words[self.current] if self.chunks[self.current].kind == "body" else 0
        if self.chunks[self.current].kind != "body":
            first = 1 + len(self.book.front) * 2 + len(self.book.chapters) // 40 + 6  # cover to contents
        return max(1, first + round((at - start) * rate))

    def numbers(self, outside: list[str], inside: list[str], settle: bool, first: int) -> tuple[dict[str, int], bool, list[str]]:
        """The page number each target shows, whether those outside are all known (the chunk can be written),
        and the inside targets given a number. With every outside target known, the inside ones are fixed
        when this chunk's last layout placed them all (checked after the layout), else WeasyPrint finds
        them itself; with some unknown (a layout only to learn the pages) they get guesses as well, which
        spares WeasyPrint laying out again every page that points forward."""
        rate = self.rate()
        numbers = {t: self.pages[t] if t in self.pages else self.guess(t, first, rate) for t in outside}
        known = all(t in self.pages for t in outside)
        if known and (settle or not all(t in self.pages for t in inside)):
            return numbers, True, []
        numbers.update({t: self.pages[t] if t in self.pages else self.guess(t, first, rate) for t in inside})
        return numbers, known, list(inside)

    def rate(self) -> float:
        """Pages a word, in the body chunks laid out so far."""
        done = [(i, r) for i, r in enumerate(self.records) if r is not None and self.chunks[i].kind == "body"]
        laid_words = sum(self.words_in[i] for i, _ in done)
        return sum(r.count for _, r in done) / laid_words if laid_words else 1 / WORDS_PER_PAGE

    def estimated_count(self, i: int) -> int:
        return max(1, round(self.words_in[i] * self.rate()))

    def index_pages(self) -> dict[str, int]:
        return {a: n for a, n in self.pages.items() if INDEX_ANCHOR in a}

    # ------------------------------------------------------------ the sweeps
    def next_first(self, end: int, chunk: Chunk) -> int:
        """A chunk opens on the page after `end`: a right-hand one in a two-sided book, as parts, chapters and
        back matter do, but for one that begins inside a long chapter, where an article opens any page."""
        first = end + 1
        inside = bool(chunk.pieces) and chunk.pieces[0].start > 0
        return first + 1 if self.sides == 2 and first % 2 == 0 and not inside else first

    def run(self, folder: Path) -> list[Rendered]:
        # The collection after each part frees that part's document (WeasyPrint's boxes hold cycles); the
        # book and everything else made before are set aside meanwhile (gc.freeze), so each collection looks
        # at the part's objects only, not again at the millions of the book's trees.
        log.debug("%d parts, %d worker process(es)", len(self.chunks), self.workers)
        with set_aside(), contextlib.ExitStack() as stack:
            pool = None
            if self.workers > 1:  # spawned, not forked: a worker holds WeasyPrint and one chunk, not the book
                pool = stack.enter_context(ProcessPoolExecutor(  # a worker that dies fails the build, never hangs it
                    self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker,
                    initargs=(self.engine, os.getpid())))
            try:
                return self._run(folder, pool)
            except BrokenProcessPool:  # a worker killed from outside: the system's OOM killer, most likely
                raise ContentError(Diagnostic(
                    Severity.ERROR, "a PDF worker process ended before it had laid out its part (killed from "
                    "outside, or out of memory)", SourceLocation(str(self.book.manifest.path)),
                    "with little memory, `pdf: {workers: 1}` or a smaller `pdf: {part_pages: N}`",
                    code="pdf.worker")) from None

    def accept(self, i: int, inputs: tuple, record: Rendered) -> None:
        """A chunk's layout: its anchors replace those of its previous one."""
        previous = self.records[i]
        for a in previous.anchors if previous is not None else ():
            self.pages.pop(a, None)
        self.pages.update(record.anchors)
        record.inputs = inputs
        self.records[i] = record
        self.progress.layouts += 1
        log.debug("sweep %d: part %d, pages %d-%d, %s", self.progress.sweeps, i, record.first,
                  record.first + record.count - 1, "written" if record.written else "laid out")

    def moved(self, i: int, first: int) -> tuple[int, Callable[[int], int]]:
        """Chunk i's last layout as it would be if it started at `first`: its page count, and where each of
        its pages goes. Its pages move with its first one, but in a chunk that opens on either side (one that
        begins inside a long chapter of a two-sided book) moved by an odd number of pages, the next chapter,
        which opens on a right-hand page, gains or loses the blank page before it: the pages before that
        turn move with the first, those from it on with the turn. (Without this a chunk moved by one page
        came back a page longer or shorter and moved every chunk after it in the next sweep, which moved
        the next chunk's in the one after: at N=1000 the sweeps did not settle.)"""
        record = self.records[i]
        by = first - record.first
        # the first page after the chunk's first that had to be a right-hand one
        was = min((record.anchors[x] for x in self.turn_ids.get(i, ()) if x in record.anchors), default=None)
        if was is None or by % 2 == 0:
            return record.count, lambda n: n + by
        before = was - record.first - ((was - 1) in record.blanks)  # its pages before the turn
        turn = first + before if (first + before) % 2 else first + before + 1
        late = turn - was
        return record.count + late - by, lambda n: n + (by if n < was else late)

    def project(self) -> None:
        """Before a sweep: where each chunk laid out before starts now, after the page counts of those before
        it, and its anchors moved with it (moved()), so that what points to them shows the right number the
        first time (the layout checks it)."""
        end = 0
        for i, (chunk, record) in enumerate(zip(self.chunks, self.records, strict=True)):
            first = 1 if i == 0 else self.next_first(end, chunk)
            if record is None:
                end = first + self.estimated_count(i) - 1
                continue
            count, move = self.moved(i, first)
            if first != record.first:
                self.pages.update({a: move(n) for a, n in record.anchors.items()})
            end = first + count - 1

    def _run(self, folder: Path, pool) -> list[Rendered]:
        """Sweeps over the chunks in order until none is laid out. One process lays each chunk out in turn,
        knowing where it starts. Worker processes lay out up to one chunk each at once (the oldest's result
        is taken before another is sent, so the sweeps are the same on every run): a chunk sent before the
        one ahead of it came back starts where that one's previous layout (or its word count) says it
        ends, and the next sweep lays it out again if that was wrong."""
        self.records: list[Rendered | None] = [None] * len(self.chunks)
        for sweep in range(1, MAX_SWEEPS + 1):
            self.progress.sweeps = sweep
            self.project()
            settle = sweep >= MAX_SWEEPS - 1  # the last sweeps leave inside targets to WeasyPrint
            pending: list[tuple[int, tuple, object]] = []
            laid_out = False
            end = 0
            for i, chunk in enumerate(self.chunks):
                first = 1 if i == 0 else self.next_first(end, chunk)
                if chunk.kind == "back" or i not in self.targets:
                    outside, inside = targets_of(self.book, chunk, self.chunk_pages(chunk))
                    if chunk.kind != "back":
                        self.targets[i] = (outside, inside)
                else:
                    outside, inside = self.targets[i]
                if all(r is not None for r in self.records):
                    # Every chunk laid out once: a target still unknown is in none of them. Without a stub,
                    # WeasyPrint drops its link and page number, as it does in a book rendered whole.
                    outside = [t for t in outside if t in self.pages]
                self.current = i
                numbers, known, fixed_inside = self.numbers(outside, inside if chunk.kind != "back" else [], settle, first)
                # What the chunk's layout depends on (its inside targets follow from these).
                inputs = (first, tuple(sorted((t, numbers[t]) for t in outside)),
                          tuple(sorted(self.index_pages().items())) if chunk.section == render.INDEX_ID else ())
                record = self.records[i]
                if record is not None and record.inputs == inputs and (record.written or not known):
                    end = record.first + record.count - 1
                    continue
                laid_out = True
                # The index's links show their numbers as text: no stub (at a thousand articles they are tens
                # of thousands, and every element costs WeasyPrint a computed style), kept all the same.
                stubs = [t for t in outside if INDEX_ANCHOR not in t]
                path = folder / f"{i:04d}.html"
                path.write_text(self.chunk_html(chunk, first, stubs), encoding="utf-8")
                release_memory()  # the chunk's HTML made here: the heap back to the system while workers lay out
                job = Job(path, folder / f"{i:04d}.pdf", first, numbers, stubs, outside, known, fixed_inside)
                if pool is None:
                    self.accept(i, inputs, lay_out_part(job, self.engine))
                    end = self.records[i].first + self.records[i].count - 1
                    continue
                # A back matter section is laid out alone: the glossary of a thousand articles points to ten
                # thousand places (a stub each), and its worker held 840 MB beside another's 550 (N=1000).
                alone = chunk.kind == "back"
                while alone and pending:
                    self.accept(*taken(pending.pop(0)))
                pending.append((i, inputs, pool.submit(lay_out_part, job)))
                while len(pending) >= (1 if alone else self.workers):
                    self.accept(*taken(pending.pop(0)))
                if not any(j == i for j, _, _ in pending):  # laid out already, here
                    end = first + self.records[i].count - 1
                else:  # where its last layout (or its words) says it ends
                    end = first + (self.moved(i, first)[0] if record is not None else self.estimated_count(i)) - 1
            for item in pending:
                self.accept(*taken(item))
            if not laid_out:
                break
        else:
            raise RuntimeError(f"the page numbers of the book's {len(self.chunks)} parts did not settle in {MAX_SWEEPS} sweeps")
        self.progress.pages = [r.count for r in self.records]
        return self.records


def taken(item: tuple[int, tuple, object]) -> tuple[int, tuple, Rendered]:
    i, inputs, result = item
    return i, inputs, result.result()


# ---------------------------------------------------------------- laying out one chunk (here or in a worker)
@dataclass(frozen=True, slots=True)
class Job:
    """What laying out a chunk needs, as plain data: the HTML by its path, not the book."""

    html: Path
    pdf: Path
    first: int
    numbers: dict[str, int]  # target -> the page number it shows
    stubs: list[str]  # outside targets given an empty element in the HTML
    outside: list[str]  # outside targets whose links are kept
    known: bool  # every outside number is known: the chunk may be written
    fixed_inside: list[str]  # inside targets given a number, which the layout must confirm


_engine = None  # a worker's engine (pdf.Engine), set by start_worker
_tuned = contextlib.ExitStack()  # a worker's weasy.tuned(), held open for as long as the process lives


def blank(page) -> bool:
    """Whether WeasyPrint left the page blank (before a right-hand or left-hand one). Read from its page box
    (WeasyPrint 70); where that is not there, no page counts as blank and only the sweeps find the moves."""
    page_type = getattr(getattr(page, "_page_box", None), "page_type", None)
    return bool(getattr(page_type, "blank", False))


def start_worker(engine, parent: int) -> None:
    """A worker process: WeasyPrint quiet and tuned for the book's stylesheet for as long as it lives, and
    gone with the build that started it, however that ends."""
    global _engine
    end_with_parent(parent)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    _tuned.enter_context(tuned(engine.css))
    _engine = engine


def end_with_parent(parent: int) -> None:
    """Linux: this process is killed when its parent ends (PR_SET_PDEATHSIG). A build killed (Ctrl-C twice,
    SIGTERM, SIGKILL, the machine's OOM killer) would otherwise leave its workers laying out their chunks,
    then waiting for the next one forever: measured, two workers still running ten minutes after."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux, not glibc: the pool's own end of file, when it comes
        return
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(1)


def lay_out_part(job: Job, engine=None) -> Rendered:
    """Lay the chunk out with its stubs and fixed numbers; write it when every number it shows is right
    (those outside as known now, a later sweep lays it out again if they move; those inside where this
    layout put their targets). The Document is dropped and its memory handed back before returning."""
    engine = engine or _engine
    html = job.html.read_text(encoding="utf-8")
    job.html.unlink()
    start = time.perf_counter()
    with fixed_pages(job.numbers):
        document = engine.lay_out(html)
    spans = [("weasyprint.layout", start, time.perf_counter())]
    del html
    stubs = set(job.stubs)
    anchors = {a: job.first + n for n, page in enumerate(document.pages) for a in page.anchors if a not in stubs}
    blanks = tuple(job.first + n for n, page in enumerate(document.pages) if blank(page))
    record = Rendered(job.first, len(document.pages), (), anchors, bookmarks_of(document, job.first), blanks=blanks,
                      spans=spans)
    if job.known and all(anchors.get(t) == job.numbers[t] for t in job.fixed_inside):
        start = time.perf_counter()
        with outside_links(job.outside):
            engine.write_pdf(document, job.pdf)
        spans.append(("weasyprint.draw_write", start, time.perf_counter()))
        record.written = True
    del document
    collect_and_release()
    return record


def write_in_parts(backend, book: Book, theme: Theme, engine, target: Path, size: int) -> Progress:
    renderer = PartsRenderer(backend, book, theme, engine, size, workers(book))
    with tempfile.TemporaryDirectory(prefix="publisher-pdf-") as tmp:
        records = renderer.run(Path(tmp))
        merge(records, Path(tmp), target)
    return renderer.progress
