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

Worker processes (`pdf: {workers: N}`, one per core by default, 1: this process alone), each spawned with a
pool of its own: a worker gets the chunk's HTML as a file and the page numbers it shows, and gives back its
page count, anchors and bookmarks (pdf.Engine is all it holds of the book). At most one chunk each is in
flight. The front (cover to contents) goes first and alone, so the first chapters start where it really
ends; each later chunk is sent when a worker is free, after the results accepted meanwhile are placed
(project()), and one sent before the chunk ahead of it is accepted starts where that one's previous layout
(or its word count) says it ends. Results are accepted in the order sent, at points that depend on that
order alone (Workers), so a build is the same every time, and the same as with one process (the sweeps
stop only when nothing moves).

Page numbers that cross chunks. WeasyPrint is told the page number of every target a chunk points to in
another chunk (a link or `target-counter()`), which no element of the chunk holds (weasy.fixed_pages;
until 2026-12-05 an empty element stood in for each, a third of the glossary's layout time): the
contents, "(p. N)" and the glossary's and tag index's numbers come from the theme's own CSS, as in a book
rendered whole. A target in a later chunk is not placed yet: the first sweep
guesses its number, and its own targets' too (with every number known beforehand WeasyPrint lays each page
out once, where a book rendered whole lays out again every page that shows a page number). Such a layout
is held by the process that made it (pdfworker.py). When every chunk before the back matter is placed, each
held chunk is drawn where it made it, with its folios and numbers changed to the right ones, when each has
as many digits as the one it shows (renumber.py: the digits of the theme's faces are of one width, so the
layout is that of the right numbers, byte for byte); otherwise it is laid out again with them. The back
matter is laid out after that, every number known. Sweeps repeat until no chunk's inputs (its first page,
the numbers it shows) change, so a chunk whose page count changed moves the ones after it. The index's
numbers are literal, from every chunk's anchors. At N=200, 2 workers: each of the 11 chunks laid out
once, but for the contents and one chunk that pointed across page 100 by guess.

Links that cross chunks. WeasyPrint writes an internal link as a named destination and drops a link whose
anchor is not in its document: a chunk's links to other chunks are kept all the same (weasy.outside_links),
and the merge gives each name the destination it has in the chunk where it is. The outline is rebuilt
from every chunk's bookmarks and their levels (a chunk that opens inside a part has chapters at level 2
whose parent is in an earlier chunk).

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
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .. import render
from ..collector import release_memory, set_aside
from ..diagnostics import ContentError, Diagnostic, Severity, SourceLocation
from ..index import ANCHOR as INDEX_ANCHOR
from ..model import Book
from ..themes import Theme
from . import pdfworker
from .pdfmerge import merge
from .pdfplan import WORDS_PER_PAGE, Chunk, article_words, chunk_words, plan, sections, toc_entries, workers
from .pdfworker import Job, Rendered, Workers, draw_held, drop_held, lay_out_part, start_worker

MAX_SWEEPS = 6
LONG_BOOK_PAGES = 1500  # a longer book holds no layout, and lays its back matter sections out one at a time (memory)
log = logging.getLogger(__name__)


@dataclass(slots=True)
class Progress:
    layouts: int = 0
    draws: int = 0  # held layouts drawn (pdfworker.py)
    sweeps: int = 0
    processes: set[int] = field(default_factory=set)  # those that laid out or drew parts
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

    def chunk_html(self, chunk: Chunk, first: int) -> str:
        return self.backend.html(self.book, self.theme, self.chunk_pages(chunk), chunk=chunk, chunk_first=first)

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

    def numbers(self, outside: list[str], inside: list[str], settle: bool, first: int,
                last: int) -> tuple[dict[str, int], bool, list[str]]:
        """The page number each target shows, whether those outside are all known (the chunk can be written),
        and the inside targets given a number. With every outside target known, the inside ones are fixed
        when this chunk's last layout placed them all (checked after the layout), else WeasyPrint finds
        them itself; with some unknown (a layout only to learn the pages) they get guesses as well, which
        spares WeasyPrint laying out again every page that points forward, unless the chunk's pages (to
        `last`, as estimated) pass from one number of digits to more: a guess there may have a digit too
        many or too few, and the layout could not be drawn with the right number (drawable())."""
        rate = self.rate()
        numbers = {t: self.pages[t] if t in self.pages else self.guess(t, first, rate) for t in outside}
        known = all(t in self.pages for t in outside)
        inside_known = all(t in self.pages for t in inside)
        if known and (settle or not inside_known) or not inside_known and len(str(first)) != len(str(last)):
            return numbers, known, []
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
        context = multiprocessing.get_context("spawn")

        def new_pool() -> ProcessPoolExecutor:  # a worker that dies fails the build, never hangs it
            return ProcessPoolExecutor(1, mp_context=context, initializer=start_worker, initargs=(self.engine, os.getpid()))

        with set_aside(), contextlib.ExitStack() as stack:
            # spawned, not forked: a worker holds WeasyPrint and its chunks, not the book
            workers = Workers([new_pool() for _ in range(self.workers if self.workers > 1 else 0)],
                              self.engine, self.accept, new_pool)
            stack.callback(workers.shutdown)
            stack.callback(pdfworker.forget_held)  # what this process held, when the build fails
            try:
                return self._run(folder, workers)
            except BrokenProcessPool:  # a worker killed from outside: the system's OOM killer, most likely
                raise ContentError(Diagnostic(
                    Severity.ERROR, "a PDF worker process ended before it had laid out its part (killed from "
                    "outside, or out of memory)", SourceLocation(str(self.book.manifest.path)),
                    "with little memory, `pdf: {workers: 1}` or a smaller `pdf: {part_pages: N}`",
                    code="pdf.worker")) from None

    def accept(self, i: int, inputs: tuple, record: Rendered) -> None:
        """A chunk's layout (or a held one drawn): its anchors replace those of its previous one."""
        previous = self.records[i]
        for a in previous.anchors if previous is not None else ():
            self.pages.pop(a, None)
        self.pages.update(record.anchors)
        record.inputs = inputs
        self.records[i] = record
        self.progress.layouts += record.laid_out
        self.progress.draws += not record.laid_out
        self.progress.processes.add(record.process)
        log.debug("sweep %d: part %d, pages %d-%d, %s", self.progress.sweeps, i, record.first,
                  record.first + record.count - 1, ("laid out" if record.laid_out else "drawn") + (
                      ", written" if record.written else ", held" if record.held else ""))

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

    def project(self) -> list[int]:
        """Where each chunk laid out before starts now, after the page counts of those before it, and its
        anchors moved with it (moved()), so that what points to them shows the right number the first time
        (the layout checks it). The last page of each chunk, as projected."""
        end, ends = 0, []
        for i, (chunk, record) in enumerate(zip(self.chunks, self.records, strict=True)):
            first = 1 if i == 0 else self.next_first(end, chunk)
            if record is None:
                end = first + self.estimated_count(i) - 1
            else:
                count, move = self.moved(i, first)
                if first != record.first:
                    self.pages.update({a: move(n) for a, n in record.anchors.items()})
                end = first + count - 1
            ends.append(end)
        return ends

    def drawable(self, i: int, inputs: tuple, numbers: dict[str, int], outside: list[str]) -> dict[str, tuple[int, int]] | None:
        """The numbers to change in chunk i's held layout for it to be drawn at `first` with every number
        right (target -> (shown, right)); None when it must be laid out again: not held, moved by an odd
        number of pages (the sides change), other targets outside or index numbers (text, not generated),
        or a number (a folio among them) with more or fewer digits than it shows."""
        record = self.records[i]
        if record is None or not record.held or record.written:
            return None
        first = inputs[0]
        by = first - record.first
        why = ""
        if by % 2:
            why = f"moved by {by} pages"
        elif {t for t, _ in record.inputs[1]} != set(outside) or record.inputs[2] != inputs[2]:
            why = "other targets outside or index numbers"
        elif any(len(str(record.first + k)) != len(str(first + k)) for k in range(record.count)):
            why = f"folios from {record.first} to {first}"
        changes = {}
        outside_targets = set(outside)
        for target, old in record.shown.items() if not why else ():
            new = numbers.get(target) if target in outside_targets else record.anchors.get(target)
            new = None if new is None else new + (0 if target in outside_targets else by)
            if new is None or len(str(new)) != len(str(old)):
                why = f"{target}: {old} -> {new}"
                break
            changes[target] = (old, new)
        if why:
            log.debug("part %d is laid out again: %s", i, why)
            return None
        return changes

    def shifted(self, i: int, first: int) -> Rendered:
        """Chunk i's held layout as drawn at `first` (moved by an even number of pages: every page with it)."""
        record = self.records[i]
        by = first - record.first
        return Rendered(first, record.count, (), {a: n + by for a, n in record.anchors.items()},
                        [(level, label, n + by, x, y, state) for level, label, n, x, y, state in record.bookmarks],
                        blanks=tuple(n + by for n in record.blanks), laid_out=False, process=record.process)

    def _run(self, folder: Path, workers: Workers) -> list[Rendered]:
        """Sweeps over the chunks in order until none is laid out or drawn. One process lays each chunk out
        in turn, knowing where it starts. Worker processes lay out up to one chunk each at once (the oldest's
        result is taken before another is sent, so the sweeps are the same on every run): a chunk sent
        before the one ahead of it came back starts where that one's previous layout (or its word count)
        says it ends. A layout not written (a number it shows was a guess) is held where it was made and
        drawn there with the right numbers once every chunk before the back matter is placed (pdfworker.py),
        or laid out again."""
        self.records: list[Rendered | None] = [None] * len(self.chunks)
        self.hold_pages = 0 if self.long_book() else pdfworker.HOLD_PAGES
        for sweep in range(1, MAX_SWEEPS + 1):
            self.progress.sweeps = sweep
            settle = sweep >= MAX_SWEEPS - 1  # the last sweeps leave inside targets to WeasyPrint
            laid_out = False
            for i, chunk in enumerate(self.chunks):
                if chunk.kind == "back" and self.chunks[i - 1].kind != "back":
                    # Every chunk before the back matter placed: what is held is drawn with the right
                    # numbers, and its memory handed back, or laid out again with them.
                    workers.drain()
                    laid_out |= self.visit_all(range(i), folder, workers, settle)
                alone = chunk.kind == "back" and self.long_book()
                if alone:
                    # A long book's back matter section is laid out alone, by a new process: the glossary of
                    # a thousand articles points to ten thousand places, and its worker held 840 MB beside
                    # another's 550 (N=1000, with an element for each place); a long book holds no layout to lose.
                    if any(r is not None and r.held for r in self.records):
                        workers.drain()  # (a book first projected shorter may hold layouts still)
                    else:
                        workers.renew()
                laid_out |= self.visit(i, folder, workers, settle)
                if alone or self.records[i] is None and i == 0:
                    # The front (cover to contents) is short: laid out before the rest, the chunk after it
                    # starts where it really ends, not where its words say (a guess that moves every folio).
                    workers.drain()
            workers.drain()
            if not laid_out:
                break
        else:
            raise RuntimeError(f"the page numbers of the book's {len(self.chunks)} parts did not settle in {MAX_SWEEPS} sweeps")
        self.progress.pages = [r.count for r in self.records]
        return self.records

    def long_book(self) -> bool:
        """More than LONG_BOOK_PAGES pages, as projected."""
        return self.project()[-1] > LONG_BOOK_PAGES

    def visit_all(self, chunks: range, folder: Path, workers: Workers, settle: bool) -> bool:
        """visit() each of `chunks`: the held ones that can be drawn (quick), each as its holder comes free (a
        held layout is drawn where it is), and meanwhile, by a worker with nothing of its own left to draw,
        the others (a held one that cannot be drawn among them, first): whether any was laid out or drawn.
        (Laid out again only after every drawing was sent, a part of 112 pages started 3.4 s after its
        worker had drawn its own, N=200.) Every first layout is accepted before (drain), so the order in
        which they are sent, which depends on which worker is free first, changes nothing they are sent
        with: a drawing's result moves nothing."""
        held = [j for j in chunks if self.records[j] is not None and self.records[j].held]
        rest = [j for j in chunks if j not in held]
        laid_out = False
        while held:
            ready = [j for j in held if not workers.busy(self.records[j].holder)]
            if ready:
                held.remove(ready[0])
                drawn = self.visit(ready[0], folder, workers, settle, draw_only=True)
                if not drawn:
                    rest.insert(0, ready[0])  # to be laid out again (or nothing to do): before the others
                laid_out |= drawn
                continue
            holders = {self.records[j].holder for j in held}
            if rest and any(not workers.busy(w) and w not in holders for w in range(len(workers.pools))):
                laid_out |= self.visit(rest.pop(0), folder, workers, settle)
                continue
            workers.wait()
        for j in rest:  # (what is out now was sent with what it would be sent with again: not waited for)
            laid_out |= self.visit(j, folder, workers, settle)
        return laid_out

    def visit(self, i: int, folder: Path, workers: Workers, settle: bool, draw_only: bool = False) -> bool:
        """Chunk i in a sweep: left as it is (False) when its inputs (first page, the numbers it shows) are
        those of its last layout and that one is written, or cannot be yet; drawn when it is held and can
        be drawn with them; laid out otherwise (unless `draw_only`). A layout is written when every number it
        shows is known and every chunk before it has come back (its first page is sure), else held if it can
        be (pdfworker.py), else written all the same when its numbers are known."""
        chunk = self.chunks[i]
        workers.wait_for(i)  # its last layout or drawing back
        workers.ready()  # a worker free first: what came back meanwhile places the chunks before this one
        ends = self.project()  # where each chunk starts and ends, from the layouts come back (else estimates)
        first = 1 if i == 0 else self.next_first(ends[i - 1], chunk)
        if chunk.kind == "back" or i not in self.targets:
            outside, inside = targets_of(self.book, chunk, self.chunk_pages(chunk))
            if chunk.kind != "back":
                self.targets[i] = (outside, inside)
        else:
            outside, inside = self.targets[i]
        if chunk.kind == "back":
            inside = []
        if all(r is not None for r in self.records):
            # Every chunk laid out once: a target still unknown is in none of them. Without a number,
            # WeasyPrint drops its link and page number, as it does in a book rendered whole.
            outside = [t for t in outside if t in self.pages]
        self.current = i
        numbers, known, fixed_inside = self.numbers(outside, inside, settle, first, ends[i])
        # What the chunk's layout depends on (its inside targets follow from these).
        inputs = (first, tuple(sorted((t, numbers[t]) for t in outside)),
                  tuple(sorted(self.index_pages().items())) if chunk.section == render.INDEX_ID else ())
        record = self.records[i]
        if record is not None and record.inputs == inputs and (record.written or not known):
            return False
        pdf = folder / f"{i:04d}.pdf"
        changes = self.drawable(i, inputs, numbers, outside)
        if changes is not None and not known:
            return False  # held, and still right but for numbers: drawn once every one of them is known
        if changes is not None:
            drawn = self.shifted(i, first)
            workers.submit(i, inputs, draw_held, (pdf, first, changes), record.holder,
                           lambda result, drawn=drawn: drawn.with_result(result))
            return True
        if draw_only:
            return False
        if record is not None and record.held:
            workers.chore(record.holder, drop_held, pdf)
        path = folder / f"{i:04d}.html"
        path.write_text(self.chunk_html(chunk, first), encoding="utf-8")
        release_memory()  # the chunk's HTML made here: the heap back to the system while workers lay out
        job = Job(path, pdf, first, numbers, outside, known, fixed_inside, inside, hold=self.hold_pages,
                  sure=not workers.ahead(i))
        workers.submit(i, inputs, lay_out_part, (job,), first=record is None)
        return True


def write_in_parts(backend, book: Book, theme: Theme, engine, target: Path, size: int) -> Progress:
    renderer = PartsRenderer(backend, book, theme, engine, size, workers(book))
    with tempfile.TemporaryDirectory(prefix="publisher-pdf-") as tmp:
        records = renderer.run(Path(tmp))
        merge(records, Path(tmp), target)
    return renderer.progress
