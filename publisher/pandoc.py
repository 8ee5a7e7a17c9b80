"""pandoc, run safely, and the helpers to read and build its JSON tree.

We call the binary that pypandoc-binary ships through subprocess with an argument list: no shell, input
on stdin, `--sandbox` (pandoc may read no file and reach no network on its own), and a time limit.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .diagnostics import ContentError, Diagnostic, Severity, SourceLocation

READER = "commonmark_x+wikilinks_title_after_pipe+sourcepos-yaml_metadata_block"
TIMEOUT = 60.0  # seconds for any pandoc run (a whole book's DOCX, a chapter's HTML)
PARSE_TIMEOUT = 20.0  # seconds to read one article: commonmark_x reads even pathological input in a few...
PARSE_TIMEOUT_PER_MB = 20.0  # ...and more for a long one (a 2 MB article takes 5-20 s, by the machine's load)
MAX_NESTING = 64  # elements inside each other (quotes, lists, emphasis); the renderers recurse on depth
_EMPTY_ATTR: list[Any] = ["", [], []]


@functools.cache
def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


@functools.cache
def api_version() -> list[int]:
    return json.loads(run_pandoc(["-f", "markdown", "-t", "json"], ""))["pandoc-api-version"]


def run_pandoc(args: list[str], text: str, *, binary: bool = False, timeout: float = TIMEOUT,
               where: SourceLocation | None = None, env: dict[str, str] | None = None, hint: str = "") -> Any:
    """Run pandoc on stdin; return its stdout as text, or as bytes with binary=True.

    The input never becomes an argument, so no user text can turn into an option. Past the time limit
    pandoc's whole process group is killed and a ContentError names `where`."""
    cmd = [pandoc_path(), "--sandbox", *args]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, **(env or {})}, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(text.encode("utf-8"), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise ContentError(Diagnostic(Severity.ERROR, f"pandoc took longer than {timeout:g} s and was stopped",
                                          where, hint)) from None
    if proc.returncode != 0:
        message = err.decode("utf-8", "replace").strip().splitlines()
        raise ContentError(Diagnostic(Severity.ERROR, f"pandoc failed: {' '.join(message)[:300]}", where))
    return out if binary else out.decode("utf-8")


def _kill(proc: subprocess.Popen) -> None:
    """Kill pandoc and anything it started (its own session), and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended on its own meanwhile
        pass
    proc.communicate()


def parse_markdown(body: str, *, line_offset: int, where: SourceLocation, timeout: float | None = None) -> list[dict]:
    """Markdown -> pandoc blocks, with `data-pos` "line:col" (in the file's own lines) on links, images,
    headings and code blocks, and the reader's per-inline wrappers removed.

    Bounded: a time limit (by default PARSE_TIMEOUT and PARSE_TIMEOUT_PER_MB of text), and at most
    MAX_NESTING elements inside each other (a ContentError otherwise)."""
    cached = _cache_read(body, line_offset)
    if cached is not None:
        return cached
    if timeout is None:
        timeout = PARSE_TIMEOUT + PARSE_TIMEOUT_PER_MB * len(body) / 1e6
    out = run_pandoc(["-f", READER, "-t", "json"], body, where=where, timeout=timeout,
                     hint="is the Markdown pathological, e.g. thousands of nested '>' or '['?")
    try:
        with _collector_paused():
            blocks = unwrap_sourcepos(json.loads(out)["blocks"], line_offset)
        _cache_write(body, line_offset, blocks)
        return blocks
    except (TooDeep, RecursionError) as exc:  # RecursionError: json's own limit, far deeper still
        line = exc.line if isinstance(exc, TooDeep) else 0
        raise ContentError(Diagnostic(
            Severity.ERROR, f"the Markdown nests more than {MAX_NESTING} levels deep",
            SourceLocation(where.path, line) if line else where,
            "block quotes, lists or emphasis inside each other: flatten them")) from None


# ---------------------------------------------------------------- the parse cache
# Parsing is most of a rebuild's work, so each article's tree is kept under the hash of everything it
# depends on: its body, where the body starts in the file, the reader and the pandoc binary. Front matter
# (titles, tags) is read anew every time, so a changed title still updates every link text showing it.
# PUBLISHER_CACHE=DIR puts the cache elsewhere; PUBLISHER_CACHE=off turns it off.
CACHE_VERSION = "1"


def cache_dir() -> Path | None:
    value = os.environ.get("PUBLISHER_CACHE", "")
    if value.lower() in ("off", "0", "no"):
        return None
    base = Path(value) if value else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "publisher"
    return base / "parsed"


@functools.cache
def _pandoc_identity() -> str:
    stat = Path(pandoc_path()).stat()
    return f"{pandoc_path()}:{stat.st_size}:{stat.st_mtime_ns}"


def _cache_file(body: str, line_offset: int) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{CACHE_VERSION}\0{READER}\0{MAX_NESTING}\0{_pandoc_identity()}\0{line_offset}\0".encode())
    digest.update(body.encode("utf-8", "surrogatepass"))
    key = digest.hexdigest()
    return folder / key[:2] / f"{key}.json.z"


def _cache_read(body: str, line_offset: int) -> list[dict] | None:
    file = _cache_file(body, line_offset)
    try:
        data = file.read_bytes() if file is not None else None
    except OSError:
        return None
    if data is None:
        return None
    try:
        with _collector_paused():
            return json.loads(zlib.decompress(data))
    except (zlib.error, ValueError):
        return None  # a damaged entry is parsed again and rewritten


def _cache_write(body: str, line_offset: int, blocks: list[dict]) -> None:
    """Best effort: a cache that cannot be written only makes the next build slower."""
    file = _cache_file(body, line_offset)
    if file is None:
        return
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(zlib.compress(json.dumps(blocks, ensure_ascii=False, separators=(",", ":")).encode(), 1))
        os.replace(tmp, file)
    except OSError:
        return


@contextlib.contextmanager
def _collector_paused():
    """Millions of small containers in a row: without the cyclic collector's passes, ten times faster."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class TooDeep(Exception):
    """Elements nest deeper than MAX_NESTING; `line` of the file where they do (0: unknown)."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _pos(attr: list[Any], line_offset: int) -> None:
    """Rewrite data-pos "file@l:c-l:c" or "l:c-l:c" into "line:col" of the source file."""
    for kv in attr[2]:
        if kv[0] == "data-pos":
            start = kv[1].rsplit("@", 1)[-1].split("-", 1)[0].split(";", 1)[0]
            line, _, col = start.partition(":")
            try:
                kv[1] = f"{int(line) + line_offset}:{int(col)}"
            except ValueError:
                kv[1] = ""


def _is_wrapper(node: dict) -> bool:
    return node.get("t") in ("Span", "Div") and ["wrapper", "1"] in node["c"][0][2]


def unwrap_sourcepos(blocks: list[Any], line_offset: int) -> list[Any]:
    """The reader's wrappers removed and positions rewritten (the freshly read tree is changed in place).

    Raises TooDeep past MAX_NESTING elements inside each other (the reader's wrappers do not count), before
    the walk itself could exhaust the stack."""

    def walk_list(items: list[Any], depth: int, line: int) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if isinstance(item, dict) and _is_wrapper(item):
                out.extend(walk_list(item["c"][1], depth, _start_line(item["c"][0], line_offset) or line))
            else:
                out.append(walk(item, depth, line))
        return merge_str(out)

    def walk(node: Any, depth: int, line: int) -> Any:
        if isinstance(node, list):
            return walk_list(node, depth, line)
        if not isinstance(node, dict):
            return node
        t = node.get("t")
        if t is not None:
            depth += 1
            if depth > MAX_NESTING:
                raise TooDeep(line)
        if t in ("Link", "Image", "Header", "CodeBlock", "Code", "Div", "Span"):
            attr = node["c"][1] if t == "Header" else node["c"][0]
            _pos(attr, line_offset)
        if "c" in node:
            node["c"] = walk(node["c"], depth, line)
        return node

    return walk_list(blocks, 0, 0)


def _start_line(attr: list[Any], line_offset: int) -> int:
    """The file line a wrapper's data-pos ("file@l:c-l:c" or "l:c-l:c") starts on, or 0."""
    value = get_kv(attr, "data-pos") or ""
    head = value.rsplit("@", 1)[-1].partition(":")[0]
    return int(head) + line_offset if head.isdigit() else 0


def merge_str(items: list[Any]) -> list[Any]:
    """Join adjacent Str inlines, as the reader does without sourcepos."""
    out: list[Any] = []
    for item in items:
        if (
            isinstance(item, dict)
            and item.get("t") == "Str"
            and out
            and isinstance(out[-1], dict)
            and out[-1].get("t") == "Str"
        ):
            out[-1] = {"t": "Str", "c": out[-1]["c"] + item["c"]}
        else:
            out.append(item)
    return out


# ---------------------------------------------------------------- reading the tree
def attr_of(node: dict) -> list[Any] | None:
    t = node.get("t")
    if t in ("Link", "Image", "CodeBlock", "Code", "Div", "Span", "Table", "Figure"):
        return node["c"][0]
    if t == "Header":
        return node["c"][1]
    return None


def get_kv(attr: list[Any], key: str) -> str | None:
    for k, v in attr[2]:
        if k == key:
            return v
    return None


def pos_of(node: dict) -> tuple[int, int]:
    attr = attr_of(node)
    value = get_kv(attr, "data-pos") if attr else None
    if not value:
        return 0, 0
    line, _, col = value.partition(":")
    return int(line), int(col or 0)


def walk(node: Any) -> Iterator[dict]:
    """Every element under node, depth first, code and all."""
    if isinstance(node, list):
        for item in node:
            yield from walk(item)
    elif isinstance(node, dict) and "t" in node:
        yield node
        c = node.get("c")
        if isinstance(c, list):
            yield from walk(c)


def stringify(node: Any) -> str:
    """The plain text of inlines or blocks."""
    parts: list[str] = []

    def go(n: Any) -> None:
        if isinstance(n, list):
            for x in n:
                go(x)
            return
        if not isinstance(n, dict):
            return
        t = n.get("t")
        if t == "Str":
            parts.append(n["c"])
        elif t in ("Space", "SoftBreak", "LineBreak"):
            parts.append(" ")
        elif t in ("Code", "Math"):
            parts.append(n["c"][1])
        elif t == "Quoted":
            q = "\u201c\u201d" if n["c"][0]["t"] == "DoubleQuote" else "\u2018\u2019"
            parts.append(q[0])
            go(n["c"][1])
            parts.append(q[1])
        elif t in ("Note", "RawInline", "RawBlock"):
            return
        elif t in ("Link", "Image", "Span"):
            go(n["c"][1])
        elif t == "Cite":
            go(n["c"][1])
        elif t in ("Emph", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps", "Underline", "Plain", "Para"):
            go(n["c"])
        elif t == "Header":
            go(n["c"][2])
        elif "c" in n and isinstance(n["c"], list):
            go(n["c"])

    go(node)
    return "".join(parts)


def map_inlines(blocks: Any, fn: Callable[[list[Any]], list[Any]]) -> Any:
    """Apply fn to every list of inlines under blocks (innermost first), skipping code."""

    def go(node: Any) -> Any:
        if isinstance(node, list):
            new = [go(x) for x in node]
            if new and all(isinstance(x, dict) and x.get("t") in INLINE_TYPES for x in new):
                return fn(new)
            return new
        if isinstance(node, dict) and "t" in node:
            if node["t"] in ("CodeBlock", "Code", "RawBlock", "RawInline", "Math"):
                return node
            if "c" in node:
                return {"t": node["t"], "c": go(node["c"])}
            return node
        return node

    return go(blocks)


INLINE_TYPES = {
    "Str", "Emph", "Underline", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps", "Quoted",
    "Cite", "Code", "Space", "SoftBreak", "LineBreak", "Math", "RawInline", "Link", "Image", "Note", "Span",
}


# ---------------------------------------------------------------- building the tree
def attr(ident: str = "", classes: Iterable[str] = (), kvs: Iterable[tuple[str, str]] = ()) -> list[Any]:
    return [ident, list(classes), [list(kv) for kv in kvs]]


def text_inlines(text: str) -> list[dict]:
    out: list[dict] = []
    for i, word in enumerate(text.split(" ")):
        if i:
            out.append({"t": "Space"})
        if word:
            out.append({"t": "Str", "c": word})
    return out


def header(level: int, ident: str, inlines: list[Any], classes: Iterable[str] = ()) -> dict:
    return {"t": "Header", "c": [level, attr(ident, classes), inlines]}


def para(inlines: list[Any]) -> dict:
    return {"t": "Para", "c": inlines}


def plain(inlines: list[Any]) -> dict:
    return {"t": "Plain", "c": inlines}


def link(inlines: list[Any], target: str, classes: Iterable[str] = ()) -> dict:
    return {"t": "Link", "c": [attr("", classes), inlines, [target, ""]]}


def span(inlines: list[Any], ident: str = "", classes: Iterable[str] = ()) -> dict:
    return {"t": "Span", "c": [attr(ident, classes), inlines]}


def div(blocks: list[Any], ident: str = "", classes: Iterable[str] = (), kvs: Iterable[tuple[str, str]] = ()) -> dict:
    return {"t": "Div", "c": [attr(ident, classes, kvs), blocks]}


def bullet_list(items: list[list[Any]]) -> dict:
    return {"t": "BulletList", "c": items}


def document(blocks: list[Any], meta: dict[str, Any] | None = None) -> str:
    return json.dumps({"pandoc-api-version": api_version(), "meta": meta or {}, "blocks": blocks}, ensure_ascii=False)


def meta_string(text: str) -> dict:
    return {"t": "MetaInlines", "c": text_inlines(text)}
