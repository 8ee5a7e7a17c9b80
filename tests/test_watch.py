"""`publisher build --watch` in a real process on a copy of the tiny vault: it rebuilds what changed,
reading unchanged articles from the parse cache, ignores its own output and editors' temporary files,
keeps watching through bad input, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import threading
import time
import zipfile
from pathlib import Path

from conftest import DATA, publisher_until_ctrl_c

from publisher.progress import PREFIX
from publisher.watch import Roots, ignored, lasting

DEADLINE = 90.0  # seconds for any one step: generous, the machine may be busy


class Reader:
    """The lines a stream gives, read in a thread, waited for with a deadline."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, predicate, what: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no {what} within {DEADLINE} s; got {self.lines}")

    def drain(self, seconds: float) -> list[str]:
        end, got = time.monotonic() + seconds, []
        while time.monotonic() < end:
            try:
                got.append(self._queue.get(timeout=0.1))
            except queue.Empty:
                pass
        self.lines += got
        return got


def epub_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith((".xhtml", ".ncx")))


def cache_entries() -> set[str]:
    folder = Path(os.environ["PUBLISHER_CACHE"]) / "parsed"
    return {str(p) for p in folder.rglob("*.marshal.z")} if folder.is_dir() else set()


def test_watch_rebuilds_on_change_and_stops_on_ctrl_c(tmp_path):
    vault = tmp_path / "vault"
    shutil.copytree(DATA / "vault", vault)
    manifest = tmp_path / "tiny.yml"
    shutil.copy(DATA / "tiny.yml", manifest)
    out = vault / "_out"  # inside the watched vault: the build must not trigger itself
    epub = out / "tiny.epub"
    proc = subprocess.Popen(publisher_until_ctrl_c("build", "--watch", "tiny.yml", "-f", "epub", "--out", "vault/_out"),
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    stdout, stderr = Reader(proc.stdout), Reader(proc.stderr)
    try:
        watching = f"{PREFIX}watching "
        stdout.wait_for(lambda line: line.startswith(watching), "first build")
        assert "Alpha: The First Article" in epub_text(epub)
        assert not [line for line in stdout.drain(1.5) if line.startswith(PREFIX)]  # its own output: no rebuild

        # an editor's swap and backup files: no rebuild either
        (vault / "basics" / ".alpha.md.swp").write_text("x", encoding="utf-8")
        (vault / "basics" / "alpha.md~").write_text("x", encoding="utf-8")
        assert not [line for line in stdout.drain(1.5) if line.startswith(PREFIX)]

        # a new title in the front matter: rebuilt, every body read from the parse cache (none changed)
        cached = cache_entries()
        alpha = vault / "basics" / "alpha.md"
        text = alpha.read_text(encoding="utf-8")
        alpha.write_text(text.replace('title: "Alpha: The First Article"', 'title: "Alpha Renamed"', 1), encoding="utf-8")
        stdout.wait_for(lambda line: line == f"{PREFIX}changed: {os.path.join('vault', 'basics', 'alpha.md')}", "change")
        stdout.wait_for(lambda line: line.startswith(watching), "rebuild")
        deadline = time.monotonic() + DEADLINE
        while "Alpha Renamed" not in epub_text(epub):
            assert time.monotonic() < deadline, "the rebuilt EPUB never showed the new title"
            time.sleep(0.2)
        assert cache_entries() == cached

        # a broken manifest: its diagnostics, the previous EPUB untouched, and the watch goes on
        before = epub.read_bytes()
        good = manifest.read_text(encoding="utf-8")
        manifest.write_text(good.replace("title: Tiny Book", "title: [Tiny Book"), encoding="utf-8")
        stderr.wait_for(lambda line: line.startswith("tiny.yml:") and ": error: " in line, "manifest error")
        stdout.wait_for(lambda line: line.startswith(watching), "watch after the error")
        assert epub.read_bytes() == before
        manifest.write_text(good.replace("title: Tiny Book", "title: Tiny Book Again"), encoding="utf-8")
        stdout.wait_for(lambda line: line.startswith(f"{PREFIX}tiny.yml: done"), "build after the fix")
        stdout.wait_for(lambda line: line.startswith(watching), "watch after the fix")
        assert "Tiny Book Again" in epub_text(epub)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=DEADLINE)
    stdout.drain(0.5)
    stderr.drain(0.5)
    assert code == 0, stderr.lines
    assert stdout.lines[-1] == f"{PREFIX}stopped watching"
    assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in stderr.lines + stdout.lines)
    assert sorted(p.name for p in out.iterdir()) == ["tiny.epub"]  # no temporary file left, nor the lock file


def test_what_is_ignored(tmp_path):
    kb = tmp_path / "kb"
    roots = Roots(trees=frozenset({kb}), files=frozenset(), outputs=frozenset({(kb / "build", "book")}))
    assert not ignored(kb / "a.md", roots)
    assert not ignored(kb / "sub" / "image.png", roots)
    for path in (kb / "build" / "book.pdf", kb / ".obsidian" / "workspace.json", kb / ".a.md.swp", kb / "a.md~",
                 kb / "#a.md#", kb / ".#a.md", kb / "4913", kb / "sub" / ".book.pdf.x1y2.tmp", kb / "node_modules" / "x.md"):
        assert ignored(path, roots), path
    # output written among the sources themselves: its own files are ignored, not the articles
    beside = Roots(trees=frozenset({kb}), files=frozenset(), outputs=frozenset({(kb, "book")}))
    assert ignored(kb / "book.pdf", beside) and ignored(kb / ".book.pdf.x1y2.tmp", beside) and ignored(kb / ".book.lock", beside)
    assert not any(ignored(kb / name, beside) for name in ("a.md", "book-notes.md", "book.md"))
    kb.mkdir()
    (kb / "a.md").write_text("x", encoding="utf-8")
    gone = kb / "sedXYZ"
    assert lasting({("added", gone), ("deleted", gone), ("modified", kb / "a.md")}) == [kb / "a.md"]
    assert lasting({("deleted", kb / "b.md")}) == [kb / "b.md"]
