"""Progress of a build while it runs: the stage, articles parsed, pages laid out, files written.

The pipeline announces itself through three hooks that cost nothing when nobody listens:

    progress.stage("normalize")                     # the build in this thread enters a stage
    progress.counted(results, "parse", total)       # results passed through, each one counted
    progress.wrote(path)                            # a file of the book is in place

They reach the Tracker of the build running in the calling thread (a context variable the CLI sets for
each manifest); WeasyPrint's pages are counted from its `weasyprint.progress` logger. Displays:

- LiveDisplay, when stderr is a terminal: a rich live display on stderr, one row per manifest.
- LineDisplay, otherwise: a few plain lines on stdout (one per stage, one when a book is done), each
  starting with PREFIX. stderr keeps its one job, the diagnostics (`path:line:col: severity: message`),
  which tests, editors and CI read line by line; stdout already carries the build's `wrote ...` lines.
- Display itself shows nothing (`--quiet`, and the commands that only report).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TypeVar

PREFIX = "[publisher] "
WEASYPRINT_LOGGER = "weasyprint.progress"  # weasyprint/logger.py: PROGRESS_LOGGER
T = TypeVar("T")


class Tracker:
    """The progress of one manifest's build; every change goes to its display."""

    def __init__(self, name: str, display: Display):
        self.name = name
        self.display = display
        self.stage = "start"
        self.total = 0  # articles to parse
        self.parsed = 0
        self.pages = 0  # pages WeasyPrint laid out: each layout of each document (a long book's parts, passes)
        self.drawing = False
        self.files: list[Path] = []
        self.started = time.monotonic()
        self.elapsed: float | None = None  # set when done
        self.ok = True

    def enter(self, stage: str, total: int = 0) -> None:
        self.stage, self.drawing = stage, False
        if total:
            self.total, self.parsed = total, 0
        self.display.changed(self, "stage")

    def advance(self, n: int = 1) -> None:
        self.parsed += n
        self.display.changed(self, "count")

    def page(self) -> None:
        self.pages += 1
        self.display.changed(self, "count")

    def draw(self) -> None:
        self.drawing = True
        self.display.changed(self, "count")

    def wrote(self, path: Path) -> None:
        self.files.append(Path(path))
        self.display.changed(self, "count")

    def finish(self, ok: bool) -> None:
        self.ok, self.elapsed = ok, time.monotonic() - self.started
        self.stage = "done" if ok else "failed"
        self.display.changed(self, "done")

    def summary(self) -> str:
        parts = []
        if self.total:
            parts.append(f"{self.parsed}/{self.total} articles" if self.parsed < self.total else _count(self.total, "article"))
        if self.pages:
            parts.append(_count(self.pages, "page") + " laid out" + (", drawing" if self.drawing and self.elapsed is None else ""))
        if self.files:
            parts.append(_count(len(self.files), "file"))
        return ", ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


_current: contextvars.ContextVar[Tracker | None] = contextvars.ContextVar("publisher_progress", default=None)


# ---------------------------------------------------------------- the hooks the pipeline calls
def stage(name: str, total: int = 0) -> None:
    tracker = _current.get()
    if tracker is not None:
        tracker.enter(name, total)


def counted(items: Iterable[T], name: str, total: int) -> Iterator[T]:
    """Enter stage `name` of `total` items now, and count each item as it is taken from the result."""
    tracker = _current.get()
    if tracker is None:
        return iter(items)
    tracker.enter(name, total)

    def each() -> Iterator[T]:
        for item in items:
            tracker.advance()
            yield item

    return each()


def wrote(path: Path) -> None:
    tracker = _current.get()
    if tracker is not None:
        tracker.wrote(path)


@contextlib.contextmanager
def tracking(tracker: Tracker) -> Iterator[Tracker]:
    """Hooks called in this thread (and WeasyPrint's pages laid out in it) go to tracker."""
    token = _current.set(tracker)
    try:
        yield tracker
    finally:
        _current.reset(token)


class _PageCounter(logging.Handler):
    """Counts WeasyPrint's 'Step 5 - Creating layout - Page %d' (a page laid out; not the '(up-to-date)'
    ones it keeps) for the build of the emitting thread, and notes 'Step 6 - Creating PDF'."""

    def emit(self, record: logging.LogRecord) -> None:
        tracker = _current.get()
        if tracker is None:
            return
        if record.msg == "Step 5 - Creating layout - Page %d":
            tracker.page()
        elif str(record.msg).startswith("Step 6"):
            tracker.draw()


# ---------------------------------------------------------------- displays
class Display:
    """Shows nothing: --quiet, and the commands that only report. Subclasses show the trackers' changes."""

    def __init__(self) -> None:
        self.trackers: list[Tracker] = []
        self._lock = threading.Lock()
        self._printing = threading.RLock()
        self._logger_state: tuple | None = None

    def tracker(self, name: str) -> Tracker:
        tracker = Tracker(name, self)
        with self._lock:
            self.trackers.append(tracker)
        return tracker

    def changed(self, tracker: Tracker, what: str) -> None:
        pass

    def note(self, text: str) -> None:
        """A line about the run itself (watch mode: what changed, that it waits)."""

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """While a build that is done prints its lines: one build at a time, nothing of the display between."""
        with self._printing:
            yield

    def __enter__(self) -> Display:
        self.trackers = []
        return self

    def __exit__(self, *exc) -> None:
        pass

    # WeasyPrint's page messages are INFO on its progress logger; the PDF backend sets 'weasyprint' to
    # ERROR, so the child logger gets a level of its own while a display listens, and does not propagate.
    def _listen_to_weasyprint(self) -> None:
        logger = logging.getLogger(WEASYPRINT_LOGGER)
        handler = _PageCounter()
        self._logger_state = (logger, handler, logger.level, logger.propagate)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False

    def _stop_listening(self) -> None:
        if self._logger_state is not None:
            logger, handler, level, propagate = self._logger_state
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
            self._logger_state = None


class LineDisplay(Display):
    """Plain lines for a log: one when a build enters a stage, one when it is done. Each is written whole,
    under a lock, and flushed, so that lines of parallel builds never mix."""

    def __init__(self, stream: IO[str] | None = None):
        super().__init__()
        self.stream = stream

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stdout
        with self._lock:
            try:
                stream.write(f"{PREFIX}{text}\n")
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: progress is not worth failing for
                pass

    def changed(self, tracker: Tracker, what: str) -> None:
        if what == "stage":
            extra = f" ({_count(tracker.total, 'article')})" if tracker.stage == "parse" and tracker.total else ""
            self._write(f"{tracker.name}: {tracker.stage}{extra}")
        elif what == "done":
            summary = tracker.summary()
            verb = "done" if tracker.ok else "failed"
            self._write(f"{tracker.name}: {verb} in {tracker.elapsed:.1f} s" + (f" ({summary})" if summary else ""))

    def note(self, text: str) -> None:
        self._write(text)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        with self._printing, self._lock:  # no progress line of another build between a build's lines
            yield

    def __enter__(self) -> LineDisplay:
        super().__enter__()
        self._listen_to_weasyprint()
        return self

    def __exit__(self, *exc) -> None:
        self._stop_listening()


class LiveDisplay(Display):
    """A rich live display on stderr, one row per manifest: status, name, stage, a bar (articles parsed;
    a pulse while a stage has no count), the counts, the time. Erased while a book that is done prints its
    lines (paused), drawn again below them; stopped at the end, its last state left on screen."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console

        self.console = Console(stderr=True)
        self._live = None
        self._spinners: dict[int, object] = {}

    def _render(self):
        from rich.progress_bar import ProgressBar
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 1))
        for column in ("status", "name", "stage", "bar", "summary", "time"):
            table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=40 if column == "name" else None)
        with self._lock:
            trackers = list(self.trackers)
        names = [Path(t.name).name for t in trackers]
        for t, short in zip(trackers, names, strict=True):
            name = short if names.count(short) == 1 else t.name
            if t.elapsed is not None:
                status = Text("✓", style="green") if t.ok else Text("✗", style="bold red")
                bar: object = Text("")
                seconds = t.elapsed
            else:
                status = self._spinners.setdefault(id(t), Spinner("dots", style="cyan"))
                counting = t.stage == "parse" and t.total
                bar = ProgressBar(total=t.total if counting else None, completed=t.parsed if counting else 0, width=12)
                seconds = time.monotonic() - t.started
            table.add_row(status, Text(name, style="bold"), Text(t.stage, style="cyan"), bar,
                          Text(t.summary()), Text(f"{seconds:.1f} s", style="dim"))
        return table

    def changed(self, tracker: Tracker, what: str) -> None:
        live = self._live
        if live is not None and what != "count":
            live.refresh()

    def note(self, text: str) -> None:
        self.console.print(text, style="dim", markup=False, highlight=False)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The live rows are erased while a build that is done prints its lines, and drawn again below them."""
        with self._printing:
            live, self._live = self._live, None
            if live is None:
                yield
                return
            live.transient = True
            live.stop()
            try:
                yield
            finally:
                live.transient = False
                self._live = live
                live.start(refresh=True)

    def __enter__(self) -> LiveDisplay:
        from rich.live import Live

        super().__enter__()
        self._spinners = {}
        self._live = Live(console=self.console, get_renderable=self._render, refresh_per_second=8, transient=False)
        self._listen_to_weasyprint()
        self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        live, self._live = self._live, None
        try:
            if live is not None:
                live.stop()
        finally:
            self._stop_listening()


def display_for(quiet: bool, stderr: IO[str] | None = None) -> Display:
    """Live on a terminal, lines in a log, nothing under --quiet."""
    if quiet:
        return Display()
    stderr = stderr or sys.stderr
    try:
        tty = stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty and os.environ.get("TERM", "") != "dumb":
        return LiveDisplay()
    return LineDisplay()
