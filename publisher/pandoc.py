"""pandoc, run safely, and the helpers to read and build its JSON tree.

We call the binary that pypandoc-binary ships through subprocess with an argument list: no shell, input
on stdin, `--sandbox` (pandoc may read no file and reach no network on its own), and a time limit.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import io
import json
import marshal
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .diagnostics import ContentError, Diagnostic, Severity, SourceLocation

READER = "commonmark_x+wikilinks_title_after_pipe+sourcepos-yaml_metadata_block"
# pandoc turns tabs into spaces (tab stop 4) before any reader sees the text, unless told not to: a code
# block drawn with tabs keeps them byte for byte (the themes show them at their tab stops). The batch
# reader's pandoc.read gets the sources as the command line leaves them, so one option serves both.
READER_OPTIONS = ("--preserve-tabs",)
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
                                          where, hint, code="pandoc.timeout")) from None
    if proc.returncode != 0:
        message = err.decode("utf-8", "replace").strip().splitlines()
        raise ContentError(Diagnostic(Severity.ERROR, f"pandoc failed: {' '.join(message)[:300]}", where, code="pandoc.failed"))
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
    out = run_pandoc([*READER_OPTIONS, "-f", READER, "-t", "json"], body, where=where, timeout=timeout,
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
            "block quotes, lists or emphasis inside each other: flatten them", code="markdown.too-deep")) from None


# ---------------------------------------------------------------- many articles in one pandoc run
# Each pandoc process costs about as much as reading an article (its runtime starts with a 64 MB heap), so
# articles are read a batch at a time: a custom reader (Lua, run by pandoc itself) reads each input file
# alone with pandoc.read and the very reader options of parse_markdown, and wraps each article's blocks in
# a Div of their own. Alone means alone: no link reference, footnote or heading id crosses from one article
# to the next (pandoc's --file-scope would prefix ids and rewrite links instead). tests/test_cache.py checks
# that a batch gives every article the tree parse_markdown gives it.
BATCH_MAX_BYTES = 256 * 1024  # a longer article is read alone (its time limit and its diagnostic its own)
_BATCH_KEY = "publisher-article"
_BATCH_READER = """
function Reader(sources, opts)
  local blocks = pandoc.Blocks{}
  for i, source in ipairs(sources) do
    local doc = pandoc.read(source.text, %s)
    blocks:insert(pandoc.Div(doc.blocks, pandoc.Attr("", {}, {{"%s", tostring(i)}})))
  end
  return pandoc.Pandoc(blocks)
end
"""


def parse_many(items: list[tuple[str, int]]) -> list[list[dict] | None]:
    """parse_markdown for several (body, line_offset) at once, in one pandoc run: each article's blocks, or
    None for an article to be parsed alone (too long, too deeply nested, or the whole run failed), which
    then gets parse_markdown's own diagnostic. Each tree parsed goes to the parse cache."""
    out: list[list[dict] | None] = [None] * len(items)
    data = []
    for body, _ in items:
        try:
            data.append(body.encode("utf-8") if len(body) <= BATCH_MAX_BYTES else None)
        except UnicodeEncodeError:
            data.append(None)
    batch = [i for i, d in enumerate(data) if d is not None]
    if not batch:
        return out
    with tempfile.TemporaryDirectory(prefix="publisher-read-") as tmp:
        reader = Path(tmp, "reader.lua")
        reader.write_text(_BATCH_READER % (json.dumps(READER), _BATCH_KEY), encoding="utf-8")
        files = []
        for i in batch:
            file = Path(tmp, f"{i:06d}.md")
            file.write_bytes(data[i])
            files.append(str(file))
        size = sum(len(data[i]) for i in batch)
        try:
            # the input files are ours, named by number: no user text becomes an argument
            text = run_pandoc([*READER_OPTIONS, "-f", str(reader), "-t", "json", *files], "",
                              timeout=PARSE_TIMEOUT + PARSE_TIMEOUT_PER_MB * size / 1e6)
            with _collector_paused():
                divs = json.loads(text)["blocks"]
        except (ContentError, ValueError, KeyError, TypeError, RecursionError):
            return out  # each alone, for the diagnostic that belongs to it
    if len(divs) != len(batch) or any(d.get("t") != "Div" or get_kv(d["c"][0], _BATCH_KEY) != str(n)
                                      for n, d in enumerate(divs, 1)):
        return out
    for i, div in zip(batch, divs, strict=True):
        line_offset = items[i][1]
        try:
            with _collector_paused():
                blocks = unwrap_sourcepos(div["c"][1], line_offset)
        except (TooDeep, RecursionError):
            continue  # parsed alone: parse_markdown reports it
        _cache_write(items[i][0], line_offset, blocks)
        out[i] = blocks
    return out


def cached_tree(body: str, *, line_offset: int) -> list[dict] | None:
    """What parse_markdown would return, if the parse cache has it (else None: nothing is run). The Facts
    kept beside the tree go to the facts memo, if one is open: the normalizer's first walk over every block
    is then not needed. (A block that holds a heading has none kept: Facts.headers are elements of the tree.)"""
    found = _cache_read(body, line_offset, with_facts=True)
    if found is None:
        return None
    blocks, records = found
    memo = _memo()
    if memo is not None:
        for block, record in zip(blocks, records, strict=True):
            if record is not None:
                ids, mark, types, positions, other_kvs = record
                memo[id(block)] = (block, Facts(frozenset(ids), (), mark, frozenset(types), positions, other_kvs))
    return blocks


# ---------------------------------------------------------------- the parse cache
# Parsing is most of a rebuild's work, so each article's tree is kept under the hash of everything it
# depends on: its body, where the body starts in the file, the reader and the pandoc binary. Front matter
# (titles, tags) is read anew every time, so a changed title still updates every link text showing it.
# PUBLISHER_CACHE=DIR puts the cache elsewhere; PUBLISHER_CACHE=off turns it off.
# Entries are marshal data (Python's own format for code objects, read back far faster than JSON), which
# keeps the leaves unwrap_sourcepos shares shared: read back, an article's tree takes a third of the memory
# a JSON one would. marshal trusts its input as pickle does; the cache is the user's own, as the code is.
CACHE_VERSION = "4"  # 2: with the Facts of each block that holds no heading (see cached_tree); 3: marshal;
# 4: tabs kept (READER_OPTIONS, part of the key too)


def cache_dir() -> Path | None:
    value = os.environ.get("PUBLISHER_CACHE", "")
    if value.lower() in ("off", "0", "no"):
        return None
    base = Path(value) if value else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "publisher"
    return base / "parsed"


def cache_store(file: Path, data: bytes) -> None:
    """Put one cache entry in place whole (a temporary file beside it, renamed), or not at all: every cache
    here is best effort, and one that cannot be written only makes the next build slower."""
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


@functools.cache
def _pandoc_identity() -> str:
    stat = Path(pandoc_path()).stat()
    return f"{pandoc_path()}:{stat.st_size}:{stat.st_mtime_ns}"


def _cache_file(body: str, line_offset: int) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{CACHE_VERSION}\0{sys.implementation.cache_tag}\0{marshal.version}\0{READER}\0{READER_OPTIONS}\0"
                            f"{MAX_NESTING}\0{_pandoc_identity()}\0{line_offset}\0".encode())
    digest.update(body.encode("utf-8", "surrogatepass"))
    key = digest.hexdigest()
    return folder / key[:2] / f"{key}.marshal.z"


def _cache_read(body: str, line_offset: int, with_facts: bool = False):
    """The cached blocks (with with_facts: and the facts records beside them), or None."""
    file = _cache_file(body, line_offset)
    try:
        data = file.read_bytes() if file is not None else None
    except OSError:
        return None
    if data is None:
        return None
    try:
        with _collector_paused():
            blocks, records = marshal.loads(zlib.decompress(data))
        if type(blocks) is not list or type(records) is not list or len(records) != len(blocks):
            return None
    except (zlib.error, ValueError, EOFError, TypeError):
        return None  # a damaged entry is parsed again and rewritten
    return (blocks, records) if with_facts else blocks


def _cache_write(body: str, line_offset: int, blocks: list[dict]) -> None:
    """Best effort: a cache that cannot be written only makes the next build slower."""
    file = _cache_file(body, line_offset)
    if file is None:
        return
    cache_store(file, zlib.compress(marshal.dumps((blocks, [_facts_record(b) for b in blocks])), 1))


@contextlib.contextmanager
def _collector_paused():
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


SHARED_MARKS = frozenset(("Space", "SoftBreak", "LineBreak"))
_WRAPPER = ["wrapper", "1"]
_POS_AT = {"Link": 0, "Image": 0, "Header": 1, "CodeBlock": 0, "Code": 0, "Div": 0, "Span": 0}


def unwrap_sourcepos(blocks: list[Any], line_offset: int) -> list[Any]:
    """The reader's wrappers removed, adjacent Str joined (as the reader does without sourcepos) and
    positions rewritten: the freshly read tree is changed in place.

    Equal leaves are then one object: every Space, SoftBreak and LineBreak of the article, and every Str of
    the same text. Half of a tree's elements are Spaces, so the tree takes far less memory, and the parse
    cache keeps the sharing. This is safe because no step changes an element in place (each makes a new
    one: see map_inlines); tests/test_cache.py checks that a whole build leaves every shared leaf as it was.

    Raises TooDeep past MAX_NESTING elements inside each other (the reader's wrappers do not count), before
    the walk itself could exhaust the stack. Its line is that of the innermost wrapper that has one: the
    wrappers around are passed down as a chain and read only then (most trees never need it)."""
    words: dict[str, dict] = {}
    marks: dict[str, dict] = {}

    def line_of(chain) -> int:
        while chain is not None:
            attr, chain = chain
            line = _start_line(attr, line_offset)
            if line:
                return line
        return 0

    def walk_list(items: list[Any], depth: int, chain) -> list[Any]:
        out: list[Any] = []
        for item in items:
            kind = type(item)
            if kind is dict:
                t = item.get("t")
                c = item.get("c")
                if (t == "Span" or t == "Div") and _WRAPPER in c[0][2]:
                    out.extend(walk_list(c[1], depth, (c[0], chain)))
                    continue
                inner = depth
                if t is not None:
                    inner += 1
                    if inner > MAX_NESTING:
                        raise TooDeep(line_of(chain))
                    at = _POS_AT.get(t)
                    if at is not None:
                        _pos(c[at], line_offset)
                if type(c) is list:
                    item["c"] = walk_list(c, inner, chain)
                out.append(item)
            elif kind is list:
                out.append(walk_list(item, depth, chain))
            else:
                out.append(item)
        # adjacent Str joined, then every leaf shared
        joined: list[Any] = []
        last_str = False
        for x in out:
            if type(x) is dict:
                t = x.get("t")
                if t == "Str":
                    if last_str:
                        text = joined[-1]["c"] + x["c"]
                        joined[-1] = words.setdefault(text, {"t": "Str", "c": text})
                        continue
                    last_str = True
                    if type(x.get("c")) is str:
                        x = words.setdefault(x["c"], x)
                    joined.append(x)
                    continue
                if t in SHARED_MARKS and "c" not in x:
                    x = marks.setdefault(t, x)
            last_str = False
            joined.append(x)
        return joined

    return walk_list(blocks, 0, None)


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
    """Every element under node, depth first, code and all (one frame and a stack: trees are deep and
    wide, and a generator per level cost most of the normalizer's time)."""
    stack = [node]
    pop, push = stack.pop, stack.append
    while stack:
        n = pop()
        if isinstance(n, list):
            stack.extend(reversed(n))
        elif isinstance(n, dict) and "t" in n:
            yield n
            c = n.get("c")
            if isinstance(c, list):
                push(c)


LEAVES = frozenset({"Str", "Space", "SoftBreak", "LineBreak"})  # elements without children


def rebuild(items: list, element: Callable[[dict], Any]) -> list:
    """items with element(node) in the place of each element (a dict with "t") inside them, lists inside
    lists followed; copied only where something changed, so an unchanged tree comes back as itself.
    element decides whether to go deeper (with `rebuild_children`); leaves (Str, Space, ...) are skipped."""
    out = None
    for i, x in enumerate(items):
        if type(x) is dict:
            t = x.get("t")
            if t is None or t in LEAVES:
                continue
            y = element(x)
        elif type(x) is list:
            y = rebuild(x, element)
        else:
            continue
        if y is not x:
            if out is None:
                out = list(items)
            out[i] = y
    return items if out is None else out


def same(new: list, old: list) -> list:
    """old when new holds the very same items (nothing was copied), else new."""
    return old if len(new) == len(old) and all(a is b for a, b in zip(new, old, strict=True)) else new


def rebuild_children(node: dict, element: Callable[[dict], Any]) -> dict:
    """node with `rebuild` applied to its content (a new dict only if the content changed)."""
    c = node.get("c")
    if type(c) is not list:
        return node
    new = rebuild(c, element)
    return node if new is c else {"t": node["t"], "c": new}


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


def map_inlines(blocks: Any, fn: Callable[[list[Any]], list[Any]],
                enter: Callable[[dict], Any] | None = None) -> Any:
    """Apply fn to every list of inlines under blocks (innermost first), skipping code. Copied only where
    something changed: fn may return the very list it was given to say "no change". `enter(element)`, when
    given, may take an element over: what it returns (not None) stands in its place, not gone into."""

    def go_list(items: list) -> list:
        out = None
        inline = bool(items)
        for i, x in enumerate(items):
            if type(x) is dict:
                t = x.get("t")
                if t not in INLINE_TYPES:
                    inline = False
                if t is None or t in LEAVES:
                    continue
                y = go(x)
            else:
                inline = False
                if type(x) is not list:
                    continue
                y = go_list(x)
            if y is not x:
                if out is None:
                    out = list(items)
                out[i] = y
        new = items if out is None else out
        return fn(new) if inline else new

    def go(node: dict) -> Any:
        if node["t"] in ("CodeBlock", "Code", "RawBlock", "RawInline", "Math") or "c" not in node:
            return node
        if enter is not None:
            taken = enter(node)
            if taken is not None:
                return taken
        c = node["c"]
        new = go_list(c) if type(c) is list else c
        return node if new is c else {"t": node["t"], "c": new}

    if isinstance(blocks, list):
        return go_list(blocks)
    return go(blocks) if isinstance(blocks, dict) and "t" in blocks else blocks


ATTR_AT = {"Link": 0, "Image": 0, "CodeBlock": 0, "Code": 0, "Div": 0, "Span": 0, "Table": 0, "Figure": 0, "Header": 1}


class Facts(NamedTuple):
    """What several steps look for in one block, found in one walk: every non-empty id, the Header elements
    (in walk order), whether a Str holds Obsidian's comment mark `%%`, the types of the elements in it (the
    block's own included; Str, Space and SoftBreak left out), and whether any attributes hold a `data-pos` or
    another key=value.
    A step that has nothing to do in a block without, say, a Link hands that block on untouched."""

    ids: frozenset[str]
    headers: tuple[dict, ...]
    comment_mark: bool
    types: frozenset[str]
    positions: bool
    other_kvs: bool


_facts_local = threading.local()  # .memo: one per thread (`publisher build --jobs N` gathers books in threads)


def _memo() -> dict[int, tuple[Any, Facts]] | None:
    return getattr(_facts_local, "memo", None)


@contextlib.contextmanager
def facts_memo():
    """Within it, the Facts of each top-level block are found once: the normalizer's steps copy only what
    they change, so most blocks reach the next step as the very same objects, and trees are never changed
    in place. (Each entry keeps its block alive, so no other object can take its id() meanwhile.)"""
    if _memo() is not None:  # already open (load_book opens it before the trees are read)
        yield
        return
    _facts_local.memo = {}
    try:
        yield
    finally:
        _facts_local.memo = None


def facts(block: Any) -> Facts:
    memo = _memo()
    if memo is not None:
        hit = memo.get(id(block))
        if hit is not None and hit[0] is block:
            return hit[1]
    ids, headers, types, mark, positions, other_kvs = set(), [], set(), False, False, False
    # pandoc.walk's order, inlined (this is the one walk most blocks get): the words of a list are looked at
    # where they stand, and only elements with content go on the stack (in reverse, to come off in order)
    stack = [block]
    pop, extend = stack.pop, stack.extend
    while stack:
        n = pop()
        if type(n) is list:
            inner = []
            for x in n:
                if type(x) is dict:
                    t = x.get("t")
                    if t == "Str":
                        if not mark and "%%" in x["c"]:
                            mark = True
                    elif t != "Space" and t != "SoftBreak" and t is not None:
                        inner.append(x)
                elif type(x) is list:
                    inner.append(x)
            if inner:
                inner.reverse()
                extend(inner)
            continue
        if type(n) is not dict:
            continue
        t = n.get("t")
        if t is None:
            continue
        c = n.get("c")
        if t == "Str":
            if not mark and "%%" in c:
                mark = True
            continue
        if type(c) is list:
            stack.append(c)
        types.add(t)
        at = ATTR_AT.get(t)
        if at is not None:
            attr = c[at]
            if attr[0]:
                ids.add(attr[0])
            for kv in attr[2]:
                if kv[0] == "data-pos":
                    positions = True
                else:
                    other_kvs = True
            if t == "Header":
                headers.append(n)
    found = Facts(frozenset(ids), tuple(headers), mark, frozenset(types), positions, other_kvs)
    if memo is not None:
        memo[id(block)] = (block, found)
    return found


def _facts_record(block: Any) -> list | None:
    """A block's Facts as the parse cache keeps them (JSON), or None for a block that holds a heading."""
    found = facts(block)
    if found.headers:
        return None
    return [sorted(found.ids), found.comment_mark, sorted(found.types), found.positions, found.other_kvs]


def forget_facts_but(blocks: list[Any]) -> None:
    """Keep the memo's entries of these blocks only, once it holds a quarter more than them: the entries of
    blocks a step replaced would keep them alive (a copy of every changed paragraph, say)."""
    memo = _memo()
    if memo is not None and len(memo) > 1.25 * len(blocks) + 1000:
        keep = {id(b) for b in blocks}
        for key in [k for k in memo if k not in keep]:
            del memo[key]


def ids_of_blocks(blocks: Iterable[Any]) -> set[str]:
    """Every non-empty id inside these blocks (as ids_in finds them)."""
    out: set[str] = set()
    for block in blocks:
        out |= facts(block).ids
    return out


def headers_of(blocks: Iterable[Any]) -> list[dict]:
    """Every Header element inside these blocks, in walk order."""
    return [h for block in blocks for h in facts(block).headers]


def ids_in(node: Any) -> Iterator[str]:
    """Every non-empty id of the elements under node (as attr_of finds them), in walk order."""
    for n in walk(node):
        at = ATTR_AT.get(n["t"])
        if at is not None:
            ident = n["c"][at][0]
            if ident:
                yield ident


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


# ---------------------------------------------------------------- writing fragments: batched and cached
# A writer's output for one fragment (a list of blocks) is a pure function of the fragment, the arguments and
# the pandoc binary, when nothing in it depends on the rest of the document (for HTML: no notes, which
# render.to_html places itself). So it is kept under the hash of exactly that, and a rebuild writes only the
# fragments that changed. The others go to pandoc together, one call per core, a raw marker between them:
# one pandoc start instead of one per chapter.
WRITE_CACHE_VERSION = "1"
FRAGMENT_MARK = "<!--publisher:fragment-->"
_MARK_BLOCK = json.dumps({"t": "RawBlock", "c": ["html", FRAGMENT_MARK]})
WRITE_TIMEOUT_PER_MB = 30.0  # seconds of a batch's time limit per MB of JSON, beyond TIMEOUT


def tree_bytes(node: Any) -> bytes:
    """The tree as bytes that depend on its content alone (pickle without its memo, so not on which equal
    strings happen to be one object): a fingerprint four times faster to make than its JSON."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, 5)
    pickler.fast = True  # no memo: the same content gives the same bytes (trees hold no cycles)
    pickler.dump(node)
    return buffer.getvalue()


def write_fragments(args: list[str], fragments: list[list[Any]], fingerprints: list[bytes] | None = None, *,
                    joined: bool = False, workers: int | None = None) -> list[str]:
    """pandoc's text output with `args` (reading JSON) for each fragment (a list of blocks), each exactly as
    if written alone. `fingerprints`: each fragment's tree_bytes, when the caller has them already.
    `joined`: give pandoc the trees with their words joined (join_words), for a writer that does not wrap."""
    fingerprints = fingerprints or [tree_bytes(f) for f in fragments]
    keys = [_write_key([*args, f"joined={joined}"], f) for f in fingerprints]
    out: list[str | None] = [_write_cache_read(k) for k in keys]
    todo = [i for i, text in enumerate(out) if text is None]
    if todo:
        with _collector_paused():
            texts = {i: json.dumps(join_words(fragments[i]) if joined else fragments[i], ensure_ascii=False) for i in todo}
        workers = max(1, min(workers or os.cpu_count() or 1, 2, len(todo)))
        batches: list[list[int]] = [[] for _ in range(workers)]
        sizes = [0] * workers
        for i in sorted(todo, key=lambda i: -len(texts[i])):  # largest first, each to the lightest batch
            j = sizes.index(min(sizes))
            batches[j].append(i)
            sizes[j] += len(texts[i])
        batches = [sorted(b) for b in batches if b]

        def one(batch: list[int]) -> list[str]:
            return _write_batch(args, [texts[i] for i in batch])

        if len(batches) == 1:
            results = [one(batches[0])]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(batches)) as pool:
                results = list(pool.map(one, batches))
        for batch, written in zip(batches, results, strict=True):
            for i, text in zip(batch, written, strict=True):
                out[i] = text
                _write_cache_write(keys[i], text)
    return out  # type: ignore[return-value]


def _document_text(inner: list[str]) -> str:
    head = json.dumps({"pandoc-api-version": api_version(), "meta": {}})[:-1]
    return f'{head}, "blocks": [{", ".join(inner)}]}}'


def _write_batch(args: list[str], fragments: list[str]) -> list[str]:
    """One pandoc call for all fragments, split at the markers; each alone when a fragment is empty or holds
    the marker's text itself (then the split could not be trusted)."""
    if len(fragments) == 1 or any(f.strip() == "[]" or "publisher:fragment" in f for f in fragments):
        return [run_pandoc(args, _document_text([f.strip()[1:-1]] if f.strip() != "[]" else [])) for f in fragments]
    inner: list[str] = []
    for f in fragments:
        if inner:
            inner.append(_MARK_BLOCK)
        inner.append(f.strip()[1:-1])
    text = _document_text(inner)
    out = run_pandoc(args, text, timeout=TIMEOUT + WRITE_TIMEOUT_PER_MB * len(text) / 1e6)
    pieces = out.split(f"\n{FRAGMENT_MARK}\n")
    if len(pieces) != len(fragments):
        return [run_pandoc(args, _document_text([f.strip()[1:-1]])) for f in fragments]
    return [p + "\n" for p in pieces[:-1]] + [pieces[-1]]


def _write_key(args: list[str], fingerprint: bytes) -> str:
    digest = hashlib.sha256(f"{WRITE_CACHE_VERSION}\0{_pandoc_identity()}\0{api_version()}\0{args!r}\0".encode())
    digest.update(fingerprint)
    return digest.hexdigest()


def cached_bytes(kind: str, fingerprint: bytes, make: Callable[[], bytes]) -> bytes:
    """make(), kept in the same cache under the hash of `kind` and `fingerprint`: for other pure functions of
    their input that a rebuild would otherwise repeat (the EPUB's font subset, say)."""
    key = hashlib.sha256(f"{WRITE_CACHE_VERSION}\0{kind}\0".encode() + fingerprint).hexdigest()
    file = _write_cache_file(key)
    try:
        data = file.read_bytes() if file is not None else None
        if data is not None:
            return zlib.decompress(data)
    except (OSError, zlib.error):
        pass
    data = make()
    _write_cache_write(key, data)
    return data


def _write_cache_file(key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder.parent / "written" / key[:2] / f"{key}.z"


def _write_cache_read(key: str) -> str | None:
    file = _write_cache_file(key)
    try:
        data = file.read_bytes() if file is not None else None
        return zlib.decompress(data).decode("utf-8") if data is not None else None
    except (OSError, zlib.error, UnicodeDecodeError):
        return None  # missing or damaged: written again


def _write_cache_write(key: str, text: str | bytes) -> None:
    """Best effort, like the parse cache."""
    file = _write_cache_file(key)
    if file is None:
        return
    cache_store(file, zlib.compress(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"), 1))


def join_words(node: Any) -> Any:
    """A copy of the tree with each run of Str and Space inlines joined into one Str. For a writer that does
    not wrap lines (HTML with --wrap=none, DOCX) either says the same, but the joined tree is a third the
    size: less JSON to write and for pandoc to read, and (in a DOCX) one run where there were many."""
    if type(node) is list:
        out: list[Any] = []
        words: list[str] = []
        for item in node:
            if type(item) is dict:
                t = item.get("t")
                if t == "Str":
                    words.append(item["c"])
                    continue
                if t == "Space":
                    words.append(" ")
                    continue
                if words:
                    out.append({"t": "Str", "c": "".join(words)})
                    words = []
                out.append({"t": t, "c": join_words(item["c"])} if "c" in item else item)
            else:
                if words:
                    out.append({"t": "Str", "c": "".join(words)})
                    words = []
                out.append(join_words(item) if type(item) is list else item)
        if words:
            out.append({"t": "Str", "c": "".join(words)})
        return out
    return node
