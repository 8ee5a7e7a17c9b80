"""pandoc, run safely: reading Markdown into its JSON tree (an article alone, or many in one run) and writing
fragments of a tree (batched, and kept in the cache).

We call the binary that pypandoc-binary ships through subprocess with an argument list: no shell, input
on stdin, `--sandbox` (pandoc may read no file and reach no network on its own), and a time limit.
The tree itself (reading, changing and building it) is publisher.tree's; the caches are publisher.cache's.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cache, progress
from .collector import collector_paused
from .diagnostics import ContentError, Diagnostic, Reporter, Severity, SourceLocation
from .tree import CHILDREN, get_kv, join_words, rebuild_list_children, rebuild_lists, remember_facts, tree_bytes

if TYPE_CHECKING:
    from .model import Article

READER = "commonmark_x+wikilinks_title_after_pipe+sourcepos-yaml_metadata_block"
# pandoc turns tabs into spaces (tab stop 4) before any reader sees the text, unless told not to: a code
# block drawn with tabs keeps them byte for byte (the themes show them at their tab stops). The batch
# reader's pandoc.read gets the sources as the command line leaves them, so one option serves both.
READER_OPTIONS = ("--preserve-tabs",)
TIMEOUT = 60.0  # seconds for any pandoc run (a whole book's DOCX, a chapter's HTML)
PARSE_TIMEOUT = 20.0  # seconds to read one article: commonmark_x reads even pathological input in a few...
PARSE_TIMEOUT_PER_MB = 20.0  # ...and more for a long one (a 2 MB article takes 5-20 s, by the machine's load)
MAX_NESTING = 64  # elements inside each other (quotes, lists, emphasis); the renderers recurse on depth


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
    cached = cache.read_tree(body, line_offset, _reader_identity())
    if cached is not None:
        return cached
    if timeout is None:
        timeout = PARSE_TIMEOUT + PARSE_TIMEOUT_PER_MB * len(body) / 1e6
    out = run_pandoc([*READER_OPTIONS, "-f", READER, "-t", "json"], body, where=where, timeout=timeout,
                     hint="is the Markdown pathological, e.g. thousands of nested '>' or '['?")
    try:
        with collector_paused():
            blocks = unwrap_sourcepos(json.loads(out)["blocks"], line_offset)
        cache.write_tree(body, line_offset, _reader_identity(), blocks)
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
BATCH = 32  # articles at most in one pandoc run
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
            with collector_paused():
                divs = json.loads(text)["blocks"]
        except (ContentError, ValueError, KeyError, TypeError, RecursionError):
            return out  # each alone, for the diagnostic that belongs to it
    if len(divs) != len(batch) or any(d.get("t") != "Div" or get_kv(d["c"][0], _BATCH_KEY) != str(n)
                                      for n, d in enumerate(divs, 1)):
        return out
    for i, div in zip(batch, divs, strict=True):
        line_offset = items[i][1]
        try:
            with collector_paused():
                blocks = unwrap_sourcepos(div["c"][1], line_offset)
        except (TooDeep, RecursionError):
            continue  # parsed alone: parse_markdown reports it
        cache.write_tree(items[i][0], line_offset, _reader_identity(), blocks)
        out[i] = blocks
    return out


def cached_tree(body: str, *, line_offset: int) -> list[dict] | None:
    """What parse_markdown would return, if the parse cache has it (else None: nothing is run). The Facts
    kept beside the tree go to the facts memo, if one is open: the normalizer's first walk over every block
    is then not needed. (A block that holds a heading has none kept: Facts.headers are elements of the tree.)"""
    found = cache.read_tree(body, line_offset, _reader_identity(), with_facts=True)
    if found is None:
        return None
    blocks, records = found
    remember_facts(blocks, records)
    return blocks




@functools.cache
def _pandoc_identity() -> str:
    stat = Path(pandoc_path()).stat()
    return f"{pandoc_path()}:{stat.st_size}:{stat.st_mtime_ns}"


def _reader_identity() -> str:
    """What a parsed tree depends on besides its text and place: the parse cache's key holds it."""
    return f"{READER}\0{READER_OPTIONS}\0{MAX_NESTING}\0{_pandoc_identity()}"



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
    wrappers around are kept as a chain and read only then (most trees never need it). The descent is
    tree.rebuild_lists', each list of siblings whole (wrappers are spliced into it and Str joined along it)."""
    words: dict[str, dict] = {}
    marks: dict[str, dict] = {}
    chain: list[list[Any]] = []  # the attributes of the wrappers around, innermost last
    depth = 0  # elements around, the wrappers not counted

    def line_of() -> int:
        for attr in reversed(chain):
            line = _start_line(attr, line_offset)
            if line:
                return line
        return 0

    def sequence(items: list[Any]) -> list[Any]:  # one list of elements, changed in place (tree.rebuild_lists)
        nonlocal depth
        out: list[Any] = []
        for item in items:
            t = item["t"]
            c = item.get("c")
            if (t == "Span" or t == "Div") and _WRAPPER in c[0][2]:
                chain.append(c[0])
                rebuild_list_children(item, sequence)
                chain.pop()
                out.extend(c[1])
                continue
            if depth >= MAX_NESTING:
                raise TooDeep(line_of())
            at = _POS_AT.get(t)
            if at is not None:
                _pos(c[at], line_offset)
            if t in CHILDREN:
                depth += 1
                rebuild_list_children(item, sequence)
                depth -= 1
            out.append(item)
        # adjacent Str joined, then every leaf shared
        joined: list[Any] = []
        last_str = False
        for x in out:
            t = x["t"]
            if t == "Str":
                if last_str:
                    text = joined[-1]["c"] + x["c"]
                    joined[-1] = words.setdefault(text, {"t": "Str", "c": text})
                    continue
                last_str = True
                joined.append(words.setdefault(x["c"], x))
                continue
            if t in SHARED_MARKS and "c" not in x:
                x = marks.setdefault(t, x)
            last_str = False
            joined.append(x)
        items[:] = joined
        return items

    return rebuild_lists(blocks, sequence)


def _start_line(attr: list[Any], line_offset: int) -> int:
    """The file line a wrapper's data-pos ("file@l:c-l:c" or "l:c-l:c") starts on, or 0."""
    value = get_kv(attr, "data-pos") or ""
    head = value.rsplit("@", 1)[-1].partition(":")[0]
    return int(head) + line_offset if head.isdigit() else 0


def document(blocks: list[Any], meta: dict[str, Any] | None = None) -> str:
    return json.dumps({"pandoc-api-version": api_version(), "meta": meta or {}, "blocks": blocks}, ensure_ascii=False)


# ---------------------------------------------------------------- writing fragments: batched and cached
# A writer's output for one fragment (a list of blocks) is a pure function of the fragment, the arguments and
# the pandoc binary, when nothing in it depends on the rest of the document (for HTML: no notes, which
# render.to_html places itself). So it is kept under the hash of exactly that, and a rebuild writes only the
# fragments that changed. The others go to pandoc together, one call per core, a raw marker between them:
# one pandoc start instead of one per chapter.
FRAGMENT_MARK = "<!--publisher:fragment-->"
_MARK_BLOCK = json.dumps({"t": "RawBlock", "c": ["html", FRAGMENT_MARK]})
WRITE_TIMEOUT_PER_MB = 30.0  # seconds of a batch's time limit per MB of JSON, beyond TIMEOUT
WRITE_BATCH_BYTES = 4_000_000  # of JSON in one pandoc writer run, about (write_fragments)


def write_fragments(args: list[str], fragments: list[list[Any]], fingerprints: list[bytes] | None = None, *,
                    joined: bool = False, workers: int | None = None) -> list[str]:
    """pandoc's text output with `args` (reading JSON) for each fragment (a list of blocks), each exactly as
    if written alone. `fingerprints`: each fragment's tree_bytes, when the caller has them already.
    `joined`: give pandoc the trees with their words joined (join_words), for a writer that does not wrap."""
    fingerprints = fingerprints or [tree_bytes(f) for f in fragments]
    keys = [_write_key([*args, f"joined={joined}"], f) for f in fingerprints]
    out: list[str | None] = [cache.read_written(k) for k in keys]
    todo = [i for i, text in enumerate(out) if text is None]
    if todo:
        with collector_paused():
            texts = {i: json.dumps(join_words(fragments[i]) if joined else fragments[i], ensure_ascii=False) for i in todo}
        workers = max(1, min(workers or os.cpu_count() or 1, 2, len(todo)))
        # At least one batch a process, and none much over WRITE_BATCH_BYTES: a pandoc run's memory grows with
        # its input (half of a thousand articles' HTML in each of two runs: 440 MB each, beside the DOCX's).
        count = max(workers, min(len(todo), -(-sum(len(t) for t in texts.values()) // WRITE_BATCH_BYTES)))
        batches: list[list[int]] = [[] for _ in range(count)]
        sizes = [0] * count
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
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(one, batches))
        for batch, written in zip(batches, results, strict=True):
            for i, text in zip(batch, written, strict=True):
                out[i] = text
                cache.write_written(keys[i], text)
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
    return cache.content_key(f"{cache.WRITE_CACHE_VERSION}\0{_pandoc_identity()}\0{api_version()}\0{args!r}\0",
                             fingerprint)


# ---------------------------------------------------------------- every article of a book
def parse_articles(articles: tuple[Article, ...], reporter: Reporter, *, stage: bool = True) -> dict[str, tuple]:
    """Parse every selected article once: from the parse cache, else a batch at a time (parse_many)
    in a few parallel pandoc runs; an article a batch cannot take is parsed alone. `stage`: shown as the
    "parse" stage of the progress display."""

    def alone(a: Article) -> tuple:
        try:
            return tuple(parse_markdown(a.body, line_offset=a.body_line - 1, where=a.loc(a.body_line, 1)))
        except ContentError as exc:
            reporter.extend(exc.diagnostics)
            return ()

    def batch(group: list[Article]) -> list[tuple[str, tuple]]:
        trees = parse_many([(a.body, a.body_line - 1) for a in group]) if len(group) > 1 else [None]
        return [(a.path, tuple(tree) if tree is not None else alone(a)) for a, tree in zip(group, trees, strict=True)]

    workers = max(1, min(8, (os.cpu_count() or 2) * 2))
    found: dict[str, tuple] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def each():
            # a cached tree is read here, one after another (decoding holds the GIL: threads only contend
            # for it); the rest go to pandoc in batches, a few at a time
            todo = []
            for a in articles:
                tree = cached_tree(a.body, line_offset=a.body_line - 1)
                if tree is None:
                    todo.append(a)
                else:
                    yield a.path, tuple(tree)
            size = max(1, min(BATCH, -(-len(todo) // workers)))
            futures = [pool.submit(batch, todo[i:i + size]) for i in range(0, len(todo), size)]
            for future in futures:
                yield from future.result()

        for path, tree in progress.counted(each(), "parse", len(articles)) if stage else each():
            found[path] = tree
    return {a.path: found[a.path] for a in articles}


def __getattr__(name: str) -> Any:
    """The tree helpers lived here before publisher.tree (0.x): a plugin that still takes them from here gets
    them, with a DeprecationWarning naming the new place."""
    from . import tree

    if name.startswith("_") or not hasattr(tree, name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    warnings.warn(f"publisher.pandoc.{name} is publisher.tree.{name} now", DeprecationWarning, stacklevel=2)
    return getattr(tree, name)
