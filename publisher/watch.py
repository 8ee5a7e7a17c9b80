"""`publisher build --watch`: build, then rebuild whenever a manifest, its knowledge base or its theme changes.

    watch(args, display):  check the formats -> start watchers -> build -> wait for a change -> build ...

The rebuild runs in this same process, so what is warm stays warm (pandoc's path and API version, the
imported renderers, fontconfig's fonts), and every article whose body did not change is read from the
content-hash parse cache (pandoc.py) instead of being parsed again. Watched, through watchfiles (native
file events): each knowledge-base folder and theme folder, recursively; each manifest (and the manifests
it `extends`), through its folder, not recursively, so an editor that saves by renaming is seen too.
Ignored: the output (a build must not trigger itself: its folder, or its own files where that folder
holds sources too), hidden files and folders (.git, .obsidian), and editors' temporary files. Bad input prints its diagnostics and the watch goes on (the
previous files stay: every file is written atomically); Ctrl-C ends it with exit code 0.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import PublisherError, Reporter, display_path
from .progress import Display
from .report import print_diagnostics

SKIP_DIRS = {"node_modules", "__pycache__"}  # as the vault reader skips them (vault.py)
TEMP_SUFFIXES = (".swp", ".swo", ".swx", ".swpx", ".tmp", ".temp", ".bak", ".part", ".crdownload", ".kate-swp", "~")
TEMP_PREFIXES = (".", "#", "~$", ".~lock.", ".goutputstream-")
SETTLE = 0.2  # seconds: changes seen by the other watcher meanwhile join the same rebuild


@dataclass(frozen=True)
class Roots:
    """What to watch: folders watched recursively, folders whose listed files are watched, what to ignore."""

    trees: frozenset[Path]
    files: frozenset[Path]  # manifests, watched through their folders
    outputs: frozenset[tuple[Path, str]]  # (folder, name) of each book's output

    @property
    def flat(self) -> frozenset[Path]:
        return frozenset(f.parent for f in self.files if f.parent.is_dir())


def is_temporary(name: str) -> bool:
    """An editor's swap, backup or lock file, or one of our own temporary files (write_atomic)."""
    return name.startswith(TEMP_PREFIXES) or name.endswith(TEMP_SUFFIXES) or name == "4913"  # vim's write test


def ignored(path: Path, roots: Roots) -> bool:
    """An output (the whole output folder, or the book's own files when that folder holds the sources
    too), a hidden or skipped folder's file, or a temporary file."""
    for folder, name in roots.outputs:
        if path.parent == folder and path.name.startswith((f"{name}.", f".{name}.")) and path.suffix != ".md":
            return True
        if path.is_relative_to(folder / name) and path.suffix != ".md":  # the web edition's folder
            return True
        if path.is_relative_to(folder) and not any(root.is_relative_to(folder) for root in roots.trees):
            return True
    root = next((r for r in roots.trees if path.is_relative_to(r)), None)
    parts = path.relative_to(root).parts if root is not None else (path.name,)
    return any(p.startswith(".") or p in SKIP_DIRS for p in parts[:-1]) or is_temporary(path.name)


def find_roots(args, previous: Roots | None = None) -> Roots:
    """The folders and files each manifest of args depends on, read again after every build (a manifest may
    name another source or theme). A manifest that cannot be read keeps the folders it had."""
    from .manifest import load_manifest
    from .themes import load_theme

    trees: set[Path] = set()
    files: set[Path] = set()
    outputs: set[tuple[Path, str]] = set()
    for name in args.manifests:
        path = Path(name).resolve()
        files.update(manifest_chain(path))
        try:
            manifest = load_manifest(path, Reporter())
            trees.add(Path(manifest.source).resolve())
            outputs.add((Path(args.out or manifest.output_dir).resolve(), manifest.output_name))
            trees.update(f.resolve() for f in load_theme(manifest.theme, manifest.path).folders)
        except PublisherError:
            if previous is not None:
                trees.update(previous.trees)
    return Roots(frozenset(t for t in trees if t.is_dir()), frozenset(files), frozenset(outputs))


def manifest_chain(path: Path, depth: int = 8) -> list[Path]:
    """A manifest and the manifests it extends, as far as they can be read."""
    import yaml

    chain = [path]
    while depth > 0:
        try:
            data = yaml.safe_load(chain[-1].read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            break
        parent = data.get("extends") if isinstance(data, dict) else None
        if not isinstance(parent, str) or not parent.strip():
            break
        nxt = (chain[-1].parent / parent).resolve()
        if nxt in chain:
            break
        chain.append(nxt)
        depth -= 1
    return chain


class Watcher:
    """Two watchfiles watchers in threads (the trees recursively, the manifests' folders not), one queue.

    They run during the builds too: a change saved while a book is being written starts another build."""

    def __init__(self, roots: Roots):
        self.roots = roots
        self.changes: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.threads = []
        if roots.trees:
            self._start(sorted(roots.trees), True, lambda _c, p: not ignored(Path(p), roots))
        if roots.flat:
            self._start(sorted(roots.flat), False, lambda _c, p: Path(p) in roots.files)

    def _start(self, paths: list[Path], recursive: bool, accept) -> None:
        thread = threading.Thread(target=self._run, args=(paths, recursive, accept), daemon=True,
                                  name=f"publisher-watch-{'tree' if recursive else 'flat'}")
        thread.start()
        self.threads.append(thread)

    def _run(self, paths: list[Path], recursive: bool, accept) -> None:
        import watchfiles

        try:
            for batch in watchfiles.watch(*paths, watch_filter=accept, recursive=recursive, stop_event=self.stop,
                                          raise_interrupt=False, debounce=1600, step=50):
                self.changes.put({(change.name, Path(p)) for change, p in batch})
        except Exception as exc:  # a folder removed under the watcher: rebuild, which says what is missing
            if not self.stop.is_set():
                self.changes.put(exc)

    def wait(self) -> set[tuple[str, Path]] | None:
        """Block until something changes: (kind, path) of each change, or None when a watcher failed."""
        while True:
            try:
                item = self.changes.get(timeout=0.5)  # a timeout, so that Ctrl-C is seen at once
                break
            except queue.Empty:
                continue
        found: set | None = item if isinstance(item, set) else None
        while True:
            try:
                more = self.changes.get(timeout=SETTLE)
            except queue.Empty:
                return found
            found = found | more if isinstance(more, set) and found is not None else None

    def alive(self) -> bool:
        return all(t.is_alive() for t in self.threads)

    def close(self) -> None:
        self.stop.set()


def lasting(changes: Iterable[tuple[str, Path]]) -> list[Path]:
    """The paths changed, less the ones that came and went (a tool's temporary file, `sed -i`'s)."""
    kinds: dict[Path, set[str]] = {}
    for kind, path in changes:
        kinds.setdefault(path, set()).add(kind)
    return sorted(p for p, k in kinds.items() if "added" not in k or p.exists())


def describe(paths: Iterable[Path], limit: int = 3) -> str:
    names = [display_path(p) for p in paths]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def watch(args, display: Display, build: Callable[[list[Path] | None], object]) -> int:
    """Build, then rebuild on every change until Ctrl-C (exit 0). A wrong --format stops at once (exit 2).
    `build(paths changed, or None the first time)` builds: the command line's run of args, or `publisher
    serve`'s, which also tells the open pages."""
    from .backends import load_backend

    try:
        for name in args.formats or ():
            load_backend(name)
    except PublisherError as exc:
        print_diagnostics(exc.diagnostics)
        return exc.exit_code
    roots = find_roots(args)
    watcher = Watcher(roots)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill`, or a background job (SIGINT ignored there)
    paths: list[Path] | None = None  # what changed before a build (None: the first)
    try:
        while True:
            build(paths)
            new = find_roots(args, roots)
            if new != roots or not watcher.alive():  # another source or theme now, or a watched folder removed
                watcher.close()
                roots, watcher = new, Watcher(new)
            count = len(roots.trees) + len(roots.flat)
            display.note(f"watching {count} folder{'s' if count != 1 else ''} for changes (Ctrl-C stops)")
            while True:
                changed = watcher.wait()
                paths = lasting(changed or ())
                if changed is None or paths:  # None: a watcher stopped (a folder removed); a build says what is missing
                    break
            display.note(f"changed: {describe(paths)}" if paths else "changed: a watched folder")
    except KeyboardInterrupt:
        display.note("stopped watching")
        return 0
    finally:
        watcher.close()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
