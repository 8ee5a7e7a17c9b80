"""Read the knowledge base: front matter, slugs, aliases, titles, and where each body starts."""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import frontmatter

from .diagnostics import ContentError, Diagnostic, Reporter, Severity, SourceLocation
from .model import Article
from .yamlsrc import YamlError, load_yaml

SKIP_DIRS = {"node_modules", "__pycache__"}
_FM = frontmatter.YAMLHandler()


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


def load_vault(root: Path, reporter: Reporter) -> Vault:
    root = Path(root).resolve()
    if not root.is_dir():
        raise ContentError(Diagnostic(Severity.ERROR, "no such knowledge-base folder", SourceLocation(str(root))))
    articles: list[Article] = []
    attachments: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            file = Path(dirpath) / name
            rel = file.relative_to(root).as_posix()
            if file.is_symlink() and not file.resolve().is_relative_to(root):
                reporter.warning("a link that leaves the knowledge base; skipped", SourceLocation(str(file)))
                continue
            if name.lower().endswith(".md"):
                article = read_article(file, rel, reporter)
                if article is not None:
                    articles.append(article)
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
    )


def read_article(file: Path, rel: str, reporter: Reporter) -> Article | None:
    """One article; problems are reported with their line and the body is kept where it can be."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        reporter.error(f"cannot read: {exc.strerror}", SourceLocation(str(file)))
        return None
    if b"\x00" in raw:
        reporter.error("not a text file (it contains NUL bytes)", SourceLocation(str(file), *_line_col(raw, raw.index(b"\x00"))))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        reporter.error(
            f"not valid UTF-8 at byte {exc.start} (0x{raw[exc.start]:02x})",
            SourceLocation(str(file), line, col),
            "save the file as UTF-8",
        )
        return None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    meta: dict[str, Any] = {}
    meta_lines: dict[str, int] = {}
    body, body_line = text, 1
    if _FM.detect(text):
        opening = _FM.FM_BOUNDARY.match(text)
        assert opening is not None
        try:
            fm, body = _FM.split(text)
        except ValueError:
            reporter.error("front matter has no closing '---'", SourceLocation(str(file), 1, 1), "end the front matter with a line '---'")
            fm, body = "", text
        else:
            body_line = text[: len(text) - len(body)].count("\n") + 1
            offset = text[: opening.end()].count("\n")
            meta, meta_lines = _front_matter(fm, file, offset, reporter)
    stem = PurePosixPath(rel).stem
    title = _text(meta.get("title")) or stem
    return Article(
        path=rel,
        file=file,
        slug=stem,
        title=title.strip(),
        meta=meta,
        tags=tuple(t for t in (_text(x) for x in _list(_get(meta, "tags"))) if t),
        aliases=tuple(t for t in (_text(x) for x in _list(_get(meta, "aliases"))) if t),
        related=tuple(t for t in (_text(x) for x in _list(_get(meta, "related_topics"))) if t),
        difficulty=_text(meta.get("difficulty")).lower(),
        kb_status=_text(meta.get("kb_status")).lower(),
        last_updated=_text(meta.get("last_updated")),
        summary=_text(meta.get("summary")),
        body=body,
        body_line=body_line,
        meta_lines=meta_lines,
    )


def _front_matter(fm: str, file: Path, offset: int, reporter: Reporter) -> tuple[dict[str, Any], dict[str, int]]:
    try:
        doc, warnings = load_yaml(fm, str(file), line_offset=offset)
    except YamlError as exc:
        d = exc.diagnostic
        reporter.add(Diagnostic(Severity.WARNING, f"front matter ignored: {d.message.removeprefix('invalid YAML: ')}", d.location))
        return {}, {}
    reporter.extend(warnings)
    if doc.value is None:
        return {}, {}
    if not isinstance(doc.value, dict):
        reporter.warning("front matter ignored: it is not a mapping of keys", doc.loc(()))
        return {}, {}
    lines = {str(k[0]): line + offset for k, (line, _col) in doc.key_marks.items() if len(k) == 1}
    return doc.value, lines


def _get(meta: dict[str, Any], key: str) -> Any:
    """A front-matter value whatever the case of its key (real vaults write `Tags:` and `tags:`)."""
    if key in meta:
        return meta[key]
    for k, v in meta.items():
        if isinstance(k, str) and k.lower() == key:
            return v
    return None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [v for v in (s.strip() for s in value.split(",")) if v]
    return [value]


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return ""
    return str(value).strip()


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    col = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return line, col
