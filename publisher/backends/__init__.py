"""Backends render a finished book. Built-in ones are registered through the same entry-point group
(`publisher.backends`) as third-party ones, and loaded lazily: a machine without Pango can still
build an EPUB."""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from .. import progress
from ..collector import release_memory
from ..diagnostics import (
    ContentError,
    Diagnostic,
    PublisherError,
    Reporter,
    Severity,
    SourceLocation,
    UsageError,
    did_you_mean,
    display_path,
)
from ..model import Book
from ..themes import Theme, load_theme
from .view import for_format

GROUP = "publisher.backends"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@runtime_checkable
class Backend(Protocol):
    name: ClassVar[str]  # the --format value and the entry-point name
    suffix: ClassVar[str]  # ".pdf"

    def check(self, book: Book, theme: Theme) -> Iterable[Diagnostic]: ...

    def write(self, book: Book, theme: Theme, target: Path) -> None: ...
    # A backend whose output is a folder (the web edition) also sets `folder = True`: it writes into an
    # empty folder at target, which then replaces the previous one whole (write_atomic).
    # One that may take every core with processes of its own (the PDF in parts) has `after_others(book)`:
    # when true, the other formats are written first, side by side, then this one.


def available() -> dict[str, str]:
    """Format name -> 'module:Class' of every installed backend."""
    return {ep.name: ep.value for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name)}


def load_backend(name: str) -> Backend:
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        names = sorted(available())
        raise UsageError(Diagnostic(
            Severity.ERROR,
            f"no backend for format '{name}' (available: {', '.join(names) or 'none'})",
            hint=did_you_mean(name, names),
            code="usage.format",
        ))
    try:
        cls = found[0].load()
    except Exception as exc:  # a broken third-party package or a missing system library
        raise UsageError(Diagnostic(Severity.ERROR, f"backend '{name}' cannot be loaded: {exc}", code="usage.format")) from None
    return cls()


def write_atomic(target: Path, write, folder: bool = False) -> None:
    """write(tmp_path) into a temporary name beside target, then rename into place: a failed build
    never damages the previous file. folder=True: tmp_path is an empty folder, and the previous folder at
    target is moved aside and removed once the new one is in its place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if folder:
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        old = tmp_dir.with_suffix(".old")
        try:
            write(tmp_dir)
            os.chmod(tmp_dir, 0o755)
            moved = target.is_dir() and not target.is_symlink()
            if moved:
                os.rename(target, old)
            try:
                os.rename(tmp_dir, target)
            except OSError:
                if moved:
                    os.rename(old, target)  # the previous folder back in place
                raise
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def check_book(book: Book, formats: Iterable[str] | None, reporter: Reporter) -> tuple[list[Backend], Theme]:
    """What each format's backend finds in the book before writing it (the PDF: diagram characters its
    monospace font lacks, diagrams too wide to print): the backends and the theme, loaded."""
    manifest = book.manifest
    backends = [load_backend(n) for n in dict.fromkeys(formats or manifest.formats)]
    theme = load_theme(manifest.theme, manifest.path)
    for backend in backends:
        reporter.extend(backend.check(book, theme))
    return backends, theme


def output_folder(out_dir: Path) -> Path:
    """The output folder, or a usage error when it (or a folder above it) is a file."""
    probe = out_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "the output folder" if probe == out_dir else f"a folder above the output folder {display_path(out_dir)}"
        raise UsageError(Diagnostic(Severity.ERROR, f"{what} is a file, not a folder", SourceLocation(str(probe)),
                                    "name a folder with --out or output.dir", "usage.output-not-a-folder"))
    return out_dir


def write_book(book: Book, formats: Iterable[str] | None, out: Path | None, reporter: Reporter, *,
               strict: bool = False) -> list[Path]:
    """Check the book in each format, then write each (atomically, under the output's lock). Nothing is
    written after an error, or after a warning when strict (--strict): the previous files stay as they were."""
    manifest = book.manifest
    out_dir = output_folder(out if out is not None else manifest.output_dir)
    backends, theme = check_book(book, formats, reporter)
    if reporter.errors:
        raise ContentError(())
    if strict and reporter.warnings:
        raise ContentError(Diagnostic(Severity.ERROR, f"{len(reporter.warnings)} warning(s) under --strict; nothing written",
                                      SourceLocation(str(manifest.path)), code="build.strict"))
    jobs = [(backend, for_format(book, backend.name), out_dir / f"{manifest.output_name}{backend.suffix}")
            for backend in backends]

    def write(backend: Backend, view: Book, target: Path) -> Path:
        try:
            write_atomic(target, lambda tmp: backend.write(view, theme, tmp), getattr(backend, "folder", False))
        except OSError as exc:  # a folder in the way, a full disk, no permission
            raise PublisherError(Diagnostic(Severity.ERROR, f"cannot write: {exc.strerror or exc}",
                                            SourceLocation(str(target)), code="output.write")) from None
        progress.wrote(target)
        release_memory()  # what this format's writer held, handed back while the others are written
        return target

    def side_by_side(jobs: list) -> dict[str, Path]:
        """The formats side by side: the PDF (WeasyPrint, the longest) in this thread, where Ctrl-C stops it
        at once, the others in threads, where they mostly wait for pandoc. Each file is written whole."""
        if len(jobs) == 1:
            return {jobs[0][0].name: write(*jobs[0])}
        jobs = sorted(jobs, key=lambda job: job[0].name != "pdf")
        pool = ThreadPoolExecutor(max_workers=len(jobs) - 1, thread_name_prefix="publisher-format")
        try:
            futures = [pool.submit(contextvars.copy_context().run, write, *job) for job in jobs[1:]]
            done = {jobs[0][0].name: write(*jobs[0])}
            done.update((job[0].name, future.result()) for job, future in zip(jobs[1:], futures, strict=True))
        except KeyboardInterrupt:  # stop now; a format being written is left unwritten (its temporary removed)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # no file is still being written once the lock goes
        return done

    # A PDF laid out by worker processes takes every core, and each worker a few hundred MB: the other
    # formats go first, so that their pandoc runs and the workers never add up (N=1000, all three formats
    # side by side: 2.2 GB at the peak). The cores were busy with the workers anyway.
    first, last = [], []
    for job in jobs:
        (last if getattr(job[0], "after_others", lambda book: False)(job[1]) else first).append(job)
    with output_lock(out_dir, manifest.output_name):
        progress.stage("+".join(backend.name for backend in backends))
        done = side_by_side(first) if first else {}
        if last:
            done.update(side_by_side(last))
    return [done[backend.name] for backend in backends]


@contextlib.contextmanager
def output_lock(out_dir: Path, name: str) -> Iterator[None]:
    """Hold `.NAME.lock` in the output folder while the book's files are written: a second build of the same
    output stops at once with one line, rather than wait or interleave (each file is atomic anyway).

    The lock file is removed when the build ends, while it is still held. So that a build that opened the
    file just before it was removed cannot hold a lock on a file no longer there (beside a third build's
    new one), a lock counts only when the name still leads to the file locked; otherwise it is taken again."""
    lock = out_dir / f".{name}.lock"
    while True:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise PublisherError(Diagnostic(Severity.ERROR, f"cannot write here: {exc.strerror or exc}",
                                            SourceLocation(str(lock)), code="output.write")) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PublisherError(Diagnostic(
                Severity.ERROR, f"another build is writing '{name}' in {display_path(out_dir)} now",
                SourceLocation(str(lock)), "try again when it has finished", code="output.locked")) from None
        if _same_file(fd, lock):
            break
        os.close(fd)  # removed (or replaced) by the build that held it: take the lock again
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # while held: no other build holds this file
        os.close(fd)  # and the lock with it


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def normalize_zip(source: Path, target: Path, first: tuple[str, ...] = ("mimetype",)) -> None:
    """The same entries in a fixed order with fixed timestamps; `first` leads (EPUB's mimetype, stored)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        names = zin.namelist()
        ordered = [n for n in first if n in names] + sorted(n for n in names if n not in first)
        for name in ordered:
            data = zin.read(name)
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
