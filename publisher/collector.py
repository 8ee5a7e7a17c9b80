"""When Python's cyclic garbage collector runs, and when freed memory goes back to the system: the one policy
every step that makes or reads millions of small objects at once (a parse, a cached tree read back, a
writer's JSON, WeasyPrint's boxes) follows."""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def collector_paused():
    """Millions of small containers in a row: without the cyclic collector's passes, ten times faster.

    On the way out, what was made meanwhile joins the oldest generation (freeze, then unfreeze) instead of
    being scanned at once by the first young collection: trees hold no cycles, and that one scan of millions
    of objects cost a third of a second at 1,000 articles, each time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def release_memory() -> None:
    """Hand the freed heap back to the system. glibc keeps what Python freed (a format written, a part laid
    out) for later, so a process carries its high-water mark on: the main process of a long book would hold
    the EPUB's and the DOCX's memory while the PDF's workers lay out, a worker one part's into the next."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@contextlib.contextmanager
def set_aside():
    """Within: every object that exists now is left out of each collection (gc.freeze), so that collecting
    what a step makes (a laid-out part) does not look again at the millions of the book's trees."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def fewer_collections(first_generation: int = 50_000):
    """Within: the youngest generation is collected after this many new containers at the least (WeasyPrint
    makes boxes by the million, few of them garbage before the layout ends)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], first_generation), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def collect_and_release() -> None:
    """A step's cycles freed (a laid-out document's boxes) and the memory handed back."""
    gc.collect()
    release_memory()
