"""Every cache publisher keeps, content-addressed: an entry's name is the hash of everything its content
depends on, so an entry is never stale, only unused, and a rebuild does only the work whose input changed.

One folder, PUBLISHER_CACHE=DIR (default $XDG_CACHE_HOME/publisher, or ~/.cache/publisher;
PUBLISHER_CACHE=off turns every cache off), with a folder per kind:
- parsed/: each article's pandoc tree (this module: read_tree, write_tree; publisher.pandoc keys it),
- written/: a writer's output for one fragment, and other pure functions of their input (cached_bytes),
- frontmatter/: each article's front matter as read (publisher.vault).

Every cache here is best effort: an entry that cannot be written only makes the next build slower, and one
that cannot be read (missing, damaged, from another version) is made again and rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

from .collector import collector_paused
from .tree import facts_record


def cache_root() -> Path | None:
    """The folder of every cache, or None when caching is off."""
    value = os.environ.get("PUBLISHER_CACHE", "")
    if value.lower() in ("off", "0", "no"):
        return None
    return Path(value) if value else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "publisher"


def content_key(head: str, data: bytes) -> str:
    """The hash that names an entry: of `head` (versions and settings, NUL-separated) and then `data`."""
    digest = hashlib.sha256(head.encode())
    digest.update(data)
    return digest.hexdigest()


def entry_file(kind: str, key: str, suffix: str) -> Path | None:
    """Where the entry `key` of the cache `kind` lives (None: caching is off)."""
    root = cache_root()
    return None if root is None else root / kind / key[:2] / f"{key}{suffix}"


def cache_store(file: Path, data: bytes) -> None:
    """Put one cache entry in place whole (a temporary file beside it, renamed), or not at all."""
    tmp = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, file)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _read(file: Path | None) -> bytes | None:
    try:
        return file.read_bytes() if file is not None else None
    except OSError:
        return None


# ---------------------------------------------------------------- the parse cache
# Parsing is most of a rebuild's work, so each article's tree is kept under the hash of everything it
# depends on: its body, where the body starts in the file, and the reader (`reader`: pandoc's reader, its
# options and the binary, as publisher.pandoc names them). Front matter (titles, tags) is read anew every
# time, so a changed title still updates every link text showing it.
# Entries are marshal data (Python's own format for code objects, read back far faster than JSON), which
# keeps the leaves unwrap_sourcepos shares shared: read back, an article's tree takes a third of the memory
# a JSON one would. marshal trusts its input as pickle does; the cache is the user's own, as the code is.
CACHE_VERSION = "4"  # 2: with the Facts of each block that holds no heading (see cached_tree); 3: marshal;
# 4: tabs kept (READER_OPTIONS, part of the key too)


def _tree_file(body: str, line_offset: int, reader: str) -> Path | None:
    key = content_key(f"{CACHE_VERSION}\0{sys.implementation.cache_tag}\0{marshal.version}\0{reader}\0{line_offset}\0",
                      body.encode("utf-8", "surrogatepass"))
    return entry_file("parsed", key, ".marshal.z")


def read_tree(body: str, line_offset: int, reader: str, with_facts: bool = False):
    """The cached blocks (with with_facts: and the facts records beside them, tree.facts_record's), or None."""
    data = _read(_tree_file(body, line_offset, reader))
    if data is None:
        return None
    try:
        with collector_paused():
            blocks, records = marshal.loads(zlib.decompress(data))
        if type(blocks) is not list or type(records) is not list or len(records) != len(blocks):
            return None
    except (zlib.error, ValueError, EOFError, TypeError):
        return None  # a damaged entry is parsed again and rewritten
    return (blocks, records) if with_facts else blocks


def write_tree(body: str, line_offset: int, reader: str, blocks: list[dict]) -> None:
    file = _tree_file(body, line_offset, reader)
    if file is None:
        return
    cache_store(file, zlib.compress(marshal.dumps((blocks, [facts_record(b) for b in blocks])), 1))


# ---------------------------------------------------------------- written fragments and other pure functions
WRITE_CACHE_VERSION = "1"


def _written_file(key: str) -> Path | None:
    return entry_file("written", key, ".z")


def read_written(key: str) -> str | None:
    """The text kept under `key` (see pandoc.write_fragments), or None."""
    data = _read(_written_file(key))
    try:
        return zlib.decompress(data).decode("utf-8") if data is not None else None
    except (zlib.error, UnicodeDecodeError):
        return None  # damaged: written again


def write_written(key: str, text: str | bytes) -> None:
    file = _written_file(key)
    if file is None:
        return
    cache_store(file, zlib.compress(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"), 1))


def cached_bytes(kind: str, fingerprint: bytes, make: Callable[[], bytes]) -> bytes:
    """make(), kept in the written cache under the hash of `kind` and `fingerprint`: for pure functions of
    their input that a rebuild would otherwise repeat (the EPUB's font subset, say)."""
    key = content_key(f"{WRITE_CACHE_VERSION}\0{kind}\0", fingerprint)
    data = _read(_written_file(key))
    if data is not None:
        with contextlib.suppress(zlib.error):
            return zlib.decompress(data)
    data = make()
    write_written(key, data)
    return data
