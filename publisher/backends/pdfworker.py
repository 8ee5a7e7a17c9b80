"""Laying out one chunk of a book's PDF (pdfparts.py), in this process or in a worker process: what it needs
as plain data (Job), what comes back (Rendered), the layouts a process holds until it can draw them, and
the processes themselves (Workers).

A chunk laid out before every number it shows is known (what it points to in later chunks, its own first
page while the chunk before it is still being laid out) is held, not dropped: once the sweep has placed
every chunk, pdfparts sends the right numbers, and where each has as many digits as the one shown the
chunk is drawn from the same layout (renumber.py) instead of being laid out again. A held layout costs
about half a megabyte a page, so a process holds at most HOLD_PAGES pages; a chunk beyond that is dropped
as before and laid out again when its numbers are known. A long book's parts (pdfparts.LONG_BOOK_PAGES) are
not held at all: at N=1000 the build's memory is within a few megabytes of 2 GB as it is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path

from ..collector import collect_and_release
from .renumber import renumber
from .weasy import fixed_pages, outside_links, tuned

HOLD_PAGES = 400  # laid-out pages a process holds for drawing later (measured: 0.5 MB a page, N=50 book)
log = logging.getLogger(__name__)


@dataclass(slots=True)
class Rendered:
    """What the merge and the next sweep need from one laid-out chunk, once its Document is gone (or held)."""

    first: int
    count: int
    inputs: tuple
    anchors: dict[str, int]  # real anchor -> page number
    bookmarks: list[tuple[int, str, int, float, float, str]]  # level, label, page number, x, y, state
    written: bool = False
    blanks: tuple[int, ...] = ()  # the pages left blank before a right-hand one
    spans: list[tuple[str, float, float]] = field(default_factory=list)  # what WeasyPrint did when (perf_counter)
    shown: dict[str, int] = field(default_factory=dict)  # target -> the page number this layout shows
    held: bool = False  # the layout is kept by the process that made it, to be drawn with other numbers
    holder: int | None = None  # which worker holds it (pdfparts sets it)
    laid_out: bool = True  # False: drawn from a held layout
    process: int = 0  # the process that laid it out or drew it

    def with_result(self, drawn: Rendered) -> Rendered:
        """This record (a held layout moved, pdfparts' `shifted`) with what drawing it gave: written or not."""
        self.written, self.spans = drawn.written, drawn.spans
        return self


@dataclass(frozen=True, slots=True)
class Job:
    """What laying out a chunk needs, as plain data: the HTML by its path, not the book."""

    html: Path
    pdf: Path
    first: int
    numbers: dict[str, int]  # target -> the page number it shows
    outside: list[str]  # outside targets whose links are kept
    known: bool  # every outside number is known: the chunk may be written
    fixed_inside: list[str]  # inside targets given a number, which the layout must confirm
    inside: list[str] = field(default_factory=list)  # every inside target shown (its number: where it is)
    hold: int = 0  # not written: keep the layout to draw it later, while this process holds at most so many pages
    sure: bool = True  # its first page is sure (every chunk before it placed): a guess is held rather than written


@dataclass(slots=True)
class _Sent:
    """A job sent to a worker (Workers.pending)."""

    chunk: int
    inputs: tuple
    future: object
    worker: int
    finish: Callable[[Rendered], Rendered]
    drawing: bool  # draw_held: its result moves nothing
    first: bool  # the chunk's first layout: its result tells where the chunks after it begin


_engine = None  # a worker's engine (pdf.Engine), set by start_worker
_later = False  # a worker process that may leave a job's garbage to the start of its next job (start_worker)
_garbage = False  # a job's garbage left: collected first thing in the next job
_tuned = contextlib.ExitStack()  # a worker's weasy.tuned(), held open for as long as the process lives
_held: dict[Path, tuple[object, Job]] = {}  # a held layout by its chunk's PDF path


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


def blank(page) -> bool:
    """Whether WeasyPrint left the page blank (before a right-hand or left-hand one). Read from its page box
    (WeasyPrint 70); where that is not there, no page counts as blank and only the sweeps find the moves."""
    page_type = getattr(getattr(page, "_page_box", None), "page_type", None)
    return bool(getattr(page_type, "blank", False))


def start_worker(engine, parent: int) -> None:
    """A worker process: WeasyPrint quiet and tuned for the book's stylesheet for as long as it lives, and
    gone with the build that started it, however that ends."""
    global _engine, _later
    end_with_parent(parent)
    _later = True
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


def collect_garbage(later: bool = True) -> None:
    """A job's garbage (a dropped Document's boxes) collected and its memory handed back: in a worker that
    holds layouts (`later`), at the start of its next job instead, so that the result it came with reaches
    the main process first (collecting after a held part's drawing took 0.5-1.5 s, N=200, while the main
    process waited for that result to send the other worker its next part). The next job's layout starts
    after it either way, so the worker's memory does not grow; its last job's garbage goes with it."""
    global _garbage
    if later and _later:
        _garbage = True
        return
    _garbage = False
    collect_and_release()


def _collect_left() -> None:
    if _garbage:
        collect_garbage(later=False)


def lay_out_part(job: Job, engine=None) -> Rendered:
    """Lay the chunk out with its fixed numbers; write it when every number it shows is right
    (those outside as known now, a later sweep lays it out again if they move; those inside where this
    layout put their targets). Otherwise hold the layout (job.hold, within HOLD_PAGES) or drop it; a
    dropped Document's memory is handed back before returning, or in a worker of a book that holds
    layouts at the start of its next job (collect_garbage)."""
    engine = engine or _engine
    _collect_left()
    html = job.html.read_text(encoding="utf-8")
    job.html.unlink()
    start = time.perf_counter()
    with fixed_pages(job.numbers):
        document = engine.lay_out(html)
    spans = [("weasyprint.layout", start, time.perf_counter())]
    del html
    anchors = {a: job.first + n for n, page in enumerate(document.pages) for a in page.anchors}
    blanks = tuple(job.first + n for n, page in enumerate(document.pages) if blank(page))
    shown = {**{t: anchors[t] for t in job.inside if t in anchors}, **job.numbers}
    record = Rendered(job.first, len(document.pages), (), anchors, bookmarks_of(document, job.first), blanks=blanks,
                      spans=spans, shown=shown, process=os.getpid())
    right = job.known and all(anchors.get(t) == job.numbers[t] for t in job.fixed_inside)
    if not (right and job.sure) and sum(len(d.pages) for d, _ in _held.values()) + len(document.pages) <= job.hold:
        _held[job.pdf] = (document, job)
        record.held = True
        return record
    if right:  # on a first page not sure when it cannot be held: right most often (else laid out again)
        _write(engine, document, job, spans)
        record.written = True
    del document
    collect_garbage(later=job.hold > 0)  # (a long book holds nothing: its worker's memory back at once)
    return record


def draw_held(pdf: Path, first: int, numbers: dict[str, tuple[int, int]], engine=None) -> Rendered:
    """Draw the layout held for the chunk written to `pdf`, its first page numbered `first` and each target's
    number changed as `numbers` says (target -> (shown, right)); the layout is dropped either way. What
    comes back says whether it was written (renumber.py refuses a number it cannot change in place) and
    how long it took; pdfparts makes the rest of the record."""
    engine = engine or _engine
    _collect_left()
    document, job = _held.pop(pdf)
    spans: list[tuple[str, float, float]] = []
    start = time.perf_counter()
    written = renumber(document, job.first, first, numbers)
    if written:
        _write(engine, document, job, spans, start)
    else:
        log.debug("%s: drawn numbers would not fit; laid out again", pdf.name)
    del document
    collect_garbage()
    return Rendered(first, 0, (), {}, [], written=written, spans=spans, laid_out=False)


def drop_held(pdf: Path) -> None:
    """Forget the layout held for the chunk written to `pdf` (it is being laid out again)."""
    if _held.pop(pdf, None) is not None:
        collect_garbage()


def forget_held() -> None:
    """Forget every layout this process holds (a build that ended, in this process)."""
    if _held:
        _held.clear()
        collect_and_release()


def _write(engine, document, job: Job, spans: list, start: float | None = None) -> None:
    start = time.perf_counter() if start is None else start
    with outside_links(job.outside):
        engine.write_pdf(document, job.pdf)
    spans.append(("weasyprint.draw_write", start, time.perf_counter()))


class Workers:
    """The processes that lay chunks out and draw held ones: this one alone (no pools), or spawned ones, each
    a pool of its own, so that a layout held by one is drawn by it. Each has at most one job in flight.

    Results are accepted (accept) in the order their jobs were sent, and at points that depend on that order
    alone, never on which process finished first, so that every decision (what a chunk is sent with) is the
    same on every run: before a layout is sent, every first layout of a chunk sent before it is accepted but
    the last (workers - 1) ones. Those are what tell where the chunks after them begin; a chunk laid out
    again has its last layout to go by (it seldom changes its page count, and when it does the next sweep
    sees it), and a drawing moves no chunk and no number (written or not). So neither holds up a layout, and
    a process is free as soon as its job is done, accepted or not. (When a result had to be accepted to free
    its process, a part laid out again after the chapters, 10 s at N=200, kept the other worker idle for
    5.7 s, and each drawing, 3 s, waited for the one sent before it on the other worker.)"""

    def __init__(self, pools: list, engine, accept: Callable[[int, tuple, Rendered], None],
                 new_pool: Callable[[], object] | None = None):
        self.pools, self.engine, self.accept, self.new_pool = pools, engine, accept, new_pool
        self.pending: list[_Sent] = []  # sent and not yet accepted, in the order sent
        self.chores: list = []  # futures whose results are nothing (drop_held)

    def submit(self, i: int, inputs: tuple, job: Callable, args: tuple, worker: int | None = None,
               finish: Callable[[Rendered], Rendered] | None = None, first: bool = False) -> None:
        """Run job(*args) for chunk i in `worker` (a drawing of a layout it holds; any free one when None: a
        layout, `first` the chunk's first); its result, through `finish`, is accepted in turn. In this
        process alone, now."""
        finish = finish or (lambda record: record)
        if not self.pools:
            self.accept(i, inputs, finish(job(*args, engine=self.engine)))
            return
        if worker is None:
            self.ready()
            worker = self.free()
        while self.busy(worker):
            self.wait()

        def finishing(record: Rendered, worker: int = worker) -> Rendered:
            record = finish(record)
            record.holder = worker if record.held else None
            return record

        self.pending.append(_Sent(i, inputs, self.pools[worker].submit(job, *args), worker, finishing,
                                  drawing=job is draw_held, first=first))

    def chore(self, worker: int | None, job: Callable, *args) -> None:
        """Run job(*args) in `worker`, after what it has in hand; nothing comes back."""
        if not self.pools:
            job(*args)
        elif worker is not None:
            self.chores.append(self.pools[worker].submit(job, *args))

    def busy(self, worker: int) -> bool:
        """Whether `worker` has a job not finished yet."""
        return any(s.worker == worker and not s.future.done() for s in self.pending)

    def free(self) -> int:
        """The first worker with nothing in hand, once there is one."""
        while True:
            free = [w for w in range(len(self.pools)) if not self.busy(w)]
            if free:
                return free[0]
            self.wait()

    def wait(self) -> None:
        """Until one more job is done (nothing accepted)."""
        running = [s.future for s in self.pending if not s.future.done()]
        if running:
            wait_futures(running, return_when=FIRST_COMPLETED)

    def take(self) -> None:
        """Accept the oldest result (waiting for it)."""
        sent = self.pending.pop(0)
        self.accept(sent.chunk, sent.inputs, sent.finish(sent.future.result()))

    def ahead(self, i: int) -> bool:
        """Whether a chunk before chunk i is still out for its first layout, as far as accepted results tell
        (chunk i's first page is a guess: one laid out again goes by its last layout, see above)."""
        return any(s.chunk < i and s.first for s in self.pending)

    def wait_for(self, i: int) -> None:
        """Until what chunk i has in flight is back and accepted."""
        while any(s.chunk == i for s in self.pending):
            self.take()

    def ready(self) -> None:
        """Every first layout sent is accepted but the last (workers - 1) ones, and a worker is free."""
        if not self.pools:
            return
        while sum(s.first for s in self.pending) >= len(self.pools):
            self.take()
        self.free()

    def drain(self) -> None:
        while self.pending:
            self.take()
        for chore in self.chores:
            chore.result()
        self.chores.clear()

    def renew(self) -> None:
        """Every worker process ended and replaced by a new one, started when it is first given a job: an
        idle worker's memory back to the system, and a busy one's (a process that laid out parts keeps
        260-425 MB after them: its heap, WeasyPrint's caches). Only when nothing is in flight or held."""
        self.drain()
        for k, pool in enumerate(self.pools):
            pool.shutdown(wait=True)
            self.pools[k] = self.new_pool()

    def shutdown(self) -> None:
        """The end of the build, however it ends: every process ended, what was not started dropped."""
        for pool in self.pools:
            pool.shutdown(wait=True, cancel_futures=True)
