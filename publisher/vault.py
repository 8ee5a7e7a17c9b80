"""Read the knowledge base: front matter, slugs, aliases, titles, and where each body starts."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import pickle
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import frontmatter
import yaml

from . import yamlsrc
from .cache import cache_store, content_key, entry_file
from .diagnostics import ContentError, Diagnostic, Reporter, Severity, SourceLocation
from .model import Article
from .yamlsrc import YamlDoc, YamlError, load_yaml

SKIP_DIRS = {"node_modules", "__pycache__"}
MAX_ARTICLE_BYTES = 16 * 1024 * 1024  # a larger "article" is not prose
_CLOSING = re.compile(r"^---[ \t]*$", re.MULTILINE)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fold(name: str) -> str:
    """How Obsidian compares names: Unicode-normalized, case-insensitive, outer space ignored."""
    return unicodedata.normalize("NFC", name).casefold().strip()


def fold_tag(tag: str) -> str:
    """Tags compare folded: case, '-', '_' and spaces do not matter; a leading '#' is dropped."""
    text = fold(tag).lstrip("#")
    return "".join(ch for ch in text if ch not in "-_ \t")


@dataclass(frozen=True, slots=True)
class Vault:
    root: Path
    articles: tuple[Article, ...]
    by_path: dict[str, Article] = field(default_factory=dict)  # folded "dir/stem" -> article
    by_name: dict[str, tuple[Article, ...]] = field(default_factory=dict)  # folded stem, alias, title
    attachments: frozenset[str] = frozenset()  # POSIX paths of non-Markdown files
    file_problems: tuple[Diagnostic, ...] = ()  # links among the other files that are not followed

    @property
    def problems(self) -> tuple[Diagnostic, ...]:
        """What is wrong with any note of the vault, selected or not (`publisher check --vault`)."""
        return (*(d for a in self.articles for d in a.problems), *self.file_problems)

    def lookup(self, name: str) -> tuple[Article, ...]:
        """Every article a name can mean, as Obsidian resolves it: path, path suffix, stem, alias, title.

        The candidates come shortest path first."""
        key = fold(name).removeprefix("./").removeprefix("/")
        if key.endswith(".md"):
            key = key[:-3]
        if key in self.by_path:
            return (self.by_path[key],)
        found: list[Article] = []
        if "/" in key:
            found = [a for p, a in self.by_path.items() if p.endswith("/" + key)]
        if not found:
            found = list(self.by_name.get(key, ()))
        return tuple(sorted(found, key=lambda a: (a.path.count("/"), len(a.path), a.path)))

    def names(self) -> list[str]:
        """Every slug, for did-you-mean hints."""
        return sorted({a.slug for a in self.articles})


def load_vault(root: Path, reporter: Reporter | None = None) -> Vault:
    """Every note of the knowledge base. What is wrong with a note is kept on it (Article.problems), not
    reported here: a note that a book does not select cannot fail that book (select.report_problems)."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise ContentError(Diagnostic(Severity.ERROR, "no such knowledge-base folder", SourceLocation(str(root)), code="vault.missing"))
    articles: list[Article] = []
    attachments: set[str] = set()
    file_problems: list[Diagnostic] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            file = Path(dirpath) / name
            rel = file.relative_to(root).as_posix()
            is_md = name.lower().endswith(".md")
            if file.is_symlink():
                problem = _symlink_problem(file, root)
                if problem is not None:
                    if is_md:  # the name still resolves; a book that selects it is told why it is skipped
                        articles.append(_unreadable(file, rel, problem))
                    else:  # an image that leads out: a book that shows it finds no such image
                        file_problems.append(problem)
                    continue
            if is_md:
                articles.append(read_article(file, rel))
            else:
                attachments.add(rel)
    by_path: dict[str, Article] = {}
    by_name: dict[str, list[Article]] = {}
    for a in articles:
        by_path[fold(a.path[:-3])] = a
        for key in {fold(n) for n in (a.slug, a.title, *a.aliases) if n}:
            by_name.setdefault(key, []).append(a)
    return Vault(
        root=root,
        articles=tuple(articles),
        by_path=by_path,
        by_name={k: tuple(v) for k, v in by_name.items()},
        attachments=frozenset(attachments),
        file_problems=tuple(file_problems),
    )


def _symlink_problem(file: Path, root: Path) -> Diagnostic | None:
    """Why a symbolic link in the vault is not followed, or None for one that stays inside it."""
    try:
        target = file.resolve()
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError on a loop
        message = "a link that cannot be followed (a loop?); skipped"
    else:
        if not target.is_relative_to(root):
            message = "a link that leaves the knowledge base; skipped"
        elif not target.exists():
            message = "a link to nothing; skipped"
        else:
            return None
    return Diagnostic(Severity.WARNING, message, SourceLocation(str(file)), code="vault.symlink")


def _unreadable(file: Path, rel: str, *problems: Diagnostic) -> Article:
    """A note that cannot be read: its name resolves (links, the manifest), its body is empty, its problems
    are said by a book that selects it."""
    stem = PurePosixPath(rel).stem
    return Article(path=rel, file=file, slug=stem, title=stem, meta={}, tags=(), aliases=(), related=(),
                   difficulty="", kb_status="", last_updated="", summary="", body="", body_line=1,
                   problems=problems, readable=False)


def read_article(file: Path, rel: str) -> Article:
    """One article; problems are kept on it with their line (Article.problems) and the body is kept where it
    can be."""

    def unreadable(message: str, line: int = 0, col: int = 0, hint: str = "", code: str = "vault.unreadable") -> Article:
        return _unreadable(file, rel, Diagnostic(Severity.ERROR, message, SourceLocation(str(file), line, col), hint, code))

    try:
        if not file.is_file():  # a FIFO, a socket or a device named .md: reading could block for ever
            return unreadable("not a regular file; skipped")
        size = file.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            return unreadable(f"too large to be an article ({size} bytes; at most {MAX_ARTICLE_BYTES} are read)")
        raw = file.read_bytes()
    except OSError as exc:
        return unreadable(f"cannot read: {exc.strerror}")
    if b"\x00" in raw:
        return unreadable("not a text file (it contains NUL bytes)", *_line_col(raw, raw.index(b"\x00")), code="vault.encoding")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return unreadable(f"not valid UTF-8 at byte {exc.start} (0x{raw[exc.start]:02x})", *_line_col(raw, exc.start),
                          "save the file as UTF-8", code="vault.encoding")
    reporter = Reporter()  # what reading finds, kept on the article
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    meta: dict[str, Any] = {}
    meta_lines: dict[str, int] = {}
    texts: dict = {}
    body, body_line = text, 1
    try:
        split = split_front_matter(text)
    except ValueError:
        reporter.error("front matter has no closing '---'", SourceLocation(str(file), 1, 1),
                       "end the front matter with a line '---'", code="vault.front-matter-unclosed")
        split = None
    if split is not None:
        fm, rest, rest_line = split
        doc = _front_matter(fm, file, reporter)
        if doc is not None and isinstance(doc.value, str):
            reporter.warning("the opening '---' starts no front matter (plain text, not 'key: value' lines); "
                             "read as part of the article", SourceLocation(str(file), 1, 1), code="vault.front-matter")
        else:
            body, body_line = rest, rest_line
            if doc is not None:
                meta, texts = doc.value, doc.texts
                meta_lines = {str(k[0]): line + doc.line_offset for k, (line, _col) in doc.key_marks.items() if len(k) == 1}
                _check_text_fields(doc, reporter)
    stem = PurePosixPath(rel).stem

    def text_of(key: str) -> str:  # as written: `title: no` is the title "no", not false
        return _text(meta.get(key), texts.get((key,)))

    return Article(
        path=rel,
        file=file,
        slug=stem,
        title=text_of("title") or stem,
        meta=meta,
        tags=_text_list(meta, texts, "tags"),
        aliases=_text_list(meta, texts, "aliases"),
        related=_text_list(meta, texts, "related_topics"),
        difficulty=text_of("difficulty").lower(),
        kb_status=text_of("kb_status").lower(),
        last_updated=text_of("last_updated"),
        summary=text_of("summary"),
        body=body,
        body_line=body_line,
        meta_lines=meta_lines,
        problems=tuple(reporter.diagnostics),
        meta_unknown=bool(reporter.errors),  # the only errors of a text are its front matter's
    )


TEXT_FIELDS = ("title", "summary", "difficulty", "kb_status", "last_updated")
LIST_FIELDS = ("tags", "aliases", "related_topics")


def _check_text_fields(doc: YamlDoc, reporter: Reporter) -> None:
    """A field the book reads as text that holds a list or a mapping is ignored, and said so."""
    for key, value in doc.value.items():
        if key in TEXT_FIELDS and isinstance(value, (dict, list)):
            reporter.warning(f"front matter '{key}' ignored: it is a {'list' if isinstance(value, list) else 'mapping'}, "
                             "not text", doc.loc((key,)), "quote it", code="vault.front-matter")
        elif isinstance(key, str) and key.lower() in LIST_FIELDS and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, (dict, list)):
                    reporter.warning(f"front matter '{key}' item {i + 1} ignored: it is a "
                                     f"{'list' if isinstance(item, list) else 'mapping'}, not text", doc.loc((key, i)),
                                     "quote it: an unquoted [[link]] is a list in YAML", code="vault.front-matter")


_FM = frontmatter.YAMLHandler()


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, line the body starts on) of a text whose first line is '---'; None for another
    text. As in Obsidian, the front matter ends at the next line that is '---' (ValueError without one)."""
    if not _FM.detect(text):  # python-frontmatter's own test: the text opens with a '---' line
        return None
    first, newline, rest = text.partition("\n")
    if first.rstrip(" \t") != "---" or not newline:
        return None
    closing = _CLOSING.search(rest)
    if closing is None:
        raise ValueError("no closing '---'")
    fm = rest[: closing.start()]
    return fm, rest[closing.end() + 1:], fm.count("\n") + 3


def _front_matter(fm: str, file: Path, reporter: Reporter) -> YamlDoc | None:
    """The front matter's YAML (a mapping, or a plain-text scalar the caller reads as body), or None."""
    try:
        doc, warnings = load_front_matter(fm, str(file))
    except YamlError as exc:  # an error: a note read without its tags would silently leave tag-selected chapters
        d = exc.diagnostic
        reporter.add(Diagnostic(Severity.ERROR, f"invalid front matter: {d.message.removeprefix('invalid YAML: ')}",
                                d.location, d.hint, "vault.front-matter-invalid"))
        return None
    reporter.extend(warnings)
    if doc.value is None:
        return None
    if not isinstance(doc.value, (dict, str)):
        what = "a list" if isinstance(doc.value, list) else "a single value"
        reporter.warning(f"front matter ignored: it is {what}, not a mapping of keys", doc.loc(()), "write 'key: value' lines", code="vault.front-matter")
        return None
    return doc


# ---------------------------------------------------------------- the front-matter cache
# PyYAML's pure-Python loader (the one whose errors name their places; libyaml only where it rejects a `?`
# that YAML allows, `[Am I a Data Engineer?, ...]`, see yamlsrc) took a second at 1,000 articles. What load_yaml makes of
# a front matter depends on its text alone (and on PyYAML's version): values, places, written texts and
# diagnostics are kept under the hash of that text (and of yamlsrc.py's own source, so that a change there
# never reads a stale entry), beside the parse cache (PUBLISHER_CACHE), the file's path put back on reading.
# Read with an unpickler that knows only the date and time classes.
FRONT_MATTER_CACHE_VERSION = "1"


@functools.cache
def _loader_identity() -> str:
    source = Path(yamlsrc.__file__).read_bytes()
    return f"{FRONT_MATTER_CACHE_VERSION}\0{yaml.__version__}\0{hashlib.sha256(source).hexdigest()}"


def load_front_matter(text: str, path: str) -> tuple[YamlDoc, list[Diagnostic]]:
    """load_yaml(text, path, line_offset=1), from the cache when it has seen this text."""
    file = _front_matter_file(text)
    if file is not None:
        cached = _front_matter_read(file, path)
        if cached is not None:
            if isinstance(cached, YamlError):
                raise cached
            return cached
    try:
        doc, warnings = load_yaml(text, path, line_offset=1)
    except YamlError as exc:
        _front_matter_write(file, path, ("error", _plain(exc.diagnostic, path)))
        raise
    _front_matter_write(file, path, ("ok", doc.value, doc.marks, doc.key_marks, doc.texts,
                                     [_plain(d, path) for d in warnings]))
    return doc, warnings


def _front_matter_file(text: str) -> Path | None:
    return entry_file("frontmatter", content_key(f"{_loader_identity()}\0", text.encode("utf-8", "surrogatepass")), ".pickle")


def _plain(d: Diagnostic, path: str) -> tuple | None:
    """A diagnostic without its file, or None for one that names another file (then nothing is kept)."""
    if d.location is None or d.location.path != path:
        return None
    return d.severity.value, d.message, d.location.line, d.location.col, d.hint, d.code


def _diagnostic(t: tuple, path: str) -> Diagnostic:
    severity, message, line, col, hint, code = t
    return Diagnostic(Severity(severity), message, SourceLocation(path, line, col), hint, code)


class _Unpickler(pickle.Unpickler):
    ALLOWED = {("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"), ("datetime", "timedelta"),
               ("datetime", "timezone")}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not expected in the front-matter cache")


def _front_matter_read(file: Path, path: str):
    """(doc, warnings), a YamlError to raise, or None (not cached, or unreadable: read again and rewritten)."""
    try:
        with open(file, "rb") as f:
            entry = _Unpickler(f).load()
        if entry[0] == "error":
            return YamlError(_diagnostic(entry[1], path))
        _, value, marks, key_marks, texts, warnings = entry
        doc = YamlDoc(path=path, value=value, marks=marks, key_marks=key_marks, line_offset=1, texts=texts)
        return doc, [_diagnostic(w, path) for w in warnings]
    except Exception:  # noqa: BLE001 - missing, damaged or from another version: a cache miss
        return None


def _front_matter_write(file: Path | None, path: str, entry: tuple) -> None:
    """Best effort, like the parse cache; an entry with a diagnostic that names another file is not kept."""
    if file is None or entry[0] == "error" and entry[1] is None or entry[0] == "ok" and None in entry[5]:
        return
    try:
        data = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, RecursionError, TypeError):
        return
    cache_store(file, data)


def _text(value: Any, written: str | None = None) -> str:
    """A front-matter value as one line of text. YAML 1.1 reads `no`, `3.10` and `0755` as false, 3.1
    and 493: a plain scalar's text as written (`written`) is used instead."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, (bool, int, float)) and written is not None:
        value = written
    elif isinstance(value, dt.date):
        value = value.isoformat()
    elif isinstance(value, bool):
        return ""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


def _text_list(meta: dict[str, Any], texts: dict, key: str) -> tuple[str, ...]:
    """A list field (tags, aliases, ...) whatever the case of its key: a YAML list, or one text split at commas."""
    found = key if key in meta else next((k for k in meta if isinstance(k, str) and k.lower() == key), None)
    if found is None:
        return ()
    value = meta[found]
    if isinstance(value, list):
        items = [_text(v, texts.get((found, i))) for i, v in enumerate(value)]
    elif isinstance(value, str):
        items = [_text(v) for v in value.split(",")]
    else:
        items = [_text(value, texts.get((found,)))]
    return tuple(t for t in items if t)


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    col = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return line, col
