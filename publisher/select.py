"""Manifest entries (path, slug, alias, title, glob, tag query, filters, sorts) -> ordered chapters."""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from pathlib import PurePosixPath

from .diagnostics import Diagnostic, ManifestError, Reporter, Severity, did_you_mean
from .model import Article, Entry, Manifest
from .vault import Vault, fold, fold_tag


@dataclass(frozen=True, slots=True)
class SelectedChapter:
    title: str | None
    articles: tuple[Article, ...]
    keypath: str


@dataclass(frozen=True, slots=True)
class Selection:
    parts: tuple[tuple[str | None, tuple[SelectedChapter, ...]], ...]

    @property
    def articles(self) -> tuple[Article, ...]:
        return tuple(a for _, chapters in self.parts for c in chapters for a in c.articles)


def sort_key(field: str):
    def key(a: Article):
        primary = {
            "title": fold(a.title),
            "difficulty": a.difficulty_rank,
            "last_updated": a.last_updated,
            "path": a.path,
        }[field]
        return (primary, fold(a.title), a.path)

    return key


def passes(article: Article, manifest: Manifest) -> bool:
    return all(_field_matches(article, key, allowed) for key, allowed in manifest.filters)


def select(manifest: Manifest, vault: Vault, reporter: Reporter) -> Selection:
    """Resolve every entry; manifest problems (no such article, ambiguity, duplicates) raise at the end.

    An article named explicitly (path, slug, alias, title) may appear once in a book: naming it twice is
    an error naming both places. Queries (glob, tag) take "the rest": they skip what the manifest names
    explicitly anywhere, and what an earlier query took."""
    problems: list[Diagnostic] = []
    explicit: dict[str, str] = {}  # article path -> key path that names it
    resolved: dict[int, list[Article]] = {}
    entries = [e for part in manifest.parts for spec in part.chapters for e in spec.entries]
    fields = {fold(k) for a in vault.articles for k in a.meta if isinstance(k, str)} if any(e.where for e in entries) else None
    for entry in entries:
        resolved[id(entry)] = _resolve(entry, manifest, vault, reporter, problems, fields)
        if entry.kind == "ref":
            for article in resolved[id(entry)]:
                if article.path in explicit:
                    problems.append(Diagnostic(
                        Severity.ERROR,
                        f"{entry.keypath}: '{article.path}' is already selected at {explicit[article.path]}",
                        entry.location,
                        "an article can appear once in a book",
                        code="select.duplicate",
                    ))
                else:
                    explicit[article.path] = entry.keypath
    taken = set(explicit)
    parts = []
    for part in manifest.parts:
        chapters = []
        for spec in part.chapters:
            articles: list[Article] = []
            for entry in spec.entries:
                for article in resolved[id(entry)]:
                    if entry.kind == "ref":
                        if explicit.get(article.path) == entry.keypath:
                            articles.append(article)
                    elif article.path not in taken:
                        taken.add(article.path)
                        articles.append(article)
            if articles:
                chapters.append(SelectedChapter(spec.title, tuple(articles), spec.keypath))
            elif spec.title:
                reporter.warning(f"{spec.keypath}: the chapter '{spec.title}' selects no article", spec.location, code="select.empty")
        if chapters:
            parts.append((part.title, tuple(chapters)))
    if problems:
        raise ManifestError(problems)
    if not parts:
        raise ManifestError(Diagnostic(Severity.ERROR, "the manifest selects no article", manifest.location, code="select.nothing"))
    return Selection(tuple(parts))


def _resolve(entry: Entry, manifest: Manifest, vault: Vault, reporter: Reporter, problems: list[Diagnostic],
             fields: set[str] | None = None) -> list[Article]:
    if entry.kind == "ref":
        found = vault.lookup(entry.value)
        if not found:
            problems.append(Diagnostic(
                Severity.ERROR,
                f"{entry.keypath}: no article '{entry.value}'",
                entry.location,
                did_you_mean(PurePosixPath(entry.value).stem if "/" in entry.value else entry.value,
                             vault.names() + [a.path for a in vault.articles]),
                code="select.not-found",
            ))
            return []
        if len(found) > 1:
            problems.append(Diagnostic(
                Severity.ERROR,
                f"{entry.keypath}: '{entry.value}' is ambiguous: {', '.join(a.path for a in found)}",
                entry.location,
                "name the article by its path",
                code="select.ambiguous",
            ))
            return []
        article = found[0]
        if not passes(article, manifest):
            reporter.warning(f"{entry.keypath}: '{article.path}' is left out by the manifest's filter", entry.location, code="select.filtered")
            return []
        return [article]
    return _query(entry, manifest, vault, reporter, fields)


def _query(entry: Entry, manifest: Manifest, vault: Vault, reporter: Reporter, fields: set[str] | None = None) -> list[Article]:
    """Every article that meets all of the query's conditions and the manifest's filter, sorted. (fields: every
    front-matter field of the vault, folded, when the caller has them already.)"""
    wanted_tags = {fold_tag(t) for t in entry.tags}
    if entry.where and fields is None:
        fields = {fold(k) for a in vault.articles for k in a.meta if isinstance(k, str)}
    for key, _ in entry.where:
        if fold(key) not in fields:
            reporter.warning(f"{entry.keypath}: no article has the front-matter field '{key}'", entry.location,
                             did_you_mean(key, ["glob", "tag", "sort", "exclude", *sorted(fields)]), code="select.unknown-field")

    def meets(a: Article) -> bool:
        if entry.glob and not _glob_match(a.path, entry.glob):
            return False
        if wanted_tags and not wanted_tags & {fold_tag(t) for t in a.tags}:
            return False
        if not all(_field_matches(a, key, values) for key, values in entry.where):
            return False
        return not any(_excluded(a, name, vault) for name in entry.exclude)

    hits = [a for a in vault.articles if meets(a)]
    if not hits:
        reporter.warning(f"{entry.keypath}: the query {entry.describe()} selects no article", entry.location, code="select.empty")
    chosen = [a for a in hits if passes(a, manifest)]
    return sorted(chosen, key=sort_key(entry.sort or "path"))


def _field_matches(article: Article, key: str, allowed: tuple[str, ...]) -> bool:
    value = next((v for k, v in article.meta.items() if isinstance(k, str) and fold(k) == fold(key)), None)
    values = value if isinstance(value, list) else [value]
    return bool({fold(str(v)) for v in values if v is not None} & {fold(a) for a in allowed})


def _excluded(article: Article, name: str, vault: Vault) -> bool:
    if any(ch in name for ch in "*?["):
        return _glob_match(article.path, name)
    return article.path in {a.path for a in vault.lookup(name)}


def _glob_match(path: str, pattern: str) -> bool:
    """Glob semantics over POSIX paths: '*' stays inside a folder, '**' crosses folders."""
    p, pat = _parts(path), _parts(pattern.removeprefix("./"))

    def match(i: int, j: int) -> bool:
        if j == len(pat):
            return i == len(p)
        if pat[j] == "**":
            return any(match(k, j + 1) for k in range(i, len(p) + 1))
        return i < len(p) and _component_match(p[i], pat[j]) and match(i + 1, j + 1)

    return match(0, 0)


@functools.lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str, ...]:
    return PurePosixPath(path).parts


def _component_match(name: str, pattern: str) -> bool:
    """PurePosixPath(name).match(pattern) for one component each, without making paths (a query tests every
    article of the vault): fnmatchcase, as PurePath.match does part by part on POSIX; a root never matches."""
    if "/" in name or "/" in pattern:
        return PurePosixPath(name).match(pattern)
    return fnmatch.fnmatchcase(name, pattern)


def numbered(title: str, number: int, numbering: str) -> str:
    """A chapter's title as the book shows it: "Lesson 3: Title", "3. Title" or the title alone."""
    if numbering == "lessons":
        return f"Lesson {number}: {title}"
    if numbering == "chapters":
        return f"{number}. {title}"
    return title


def outline(manifest: Manifest, selection: Selection) -> list[str]:
    """The resolved table of contents, one line each: what `publisher list` prints."""
    rows: list[tuple[str, str]] = [(manifest.title + (f": {manifest.subtitle}" if manifest.subtitle else ""), "")]
    rows += [("  front matter", item.path) for item in manifest.front_matter]
    number = 0
    for pn, (part_title, chapters) in enumerate(selection.parts, 1):
        indent = "    " if part_title else "  "
        if part_title:
            rows.append((f"Part {pn}. {part_title}", ""))
        for chapter in chapters:
            number += 1
            title = numbered(chapter.title or chapter.articles[0].title, number, manifest.numbering)
            if manifest.numbering == "none":
                title = f"{number}. {title}"
            if chapter.title is None and len(chapter.articles) == 1:
                rows.append((f"{indent}{title}", chapter.articles[0].path))
                continue
            rows.append((f"{indent}{title}", ""))
            rows += [(f"{indent}   {number}.{sn} {a.title}", a.path) for sn, a in enumerate(chapter.articles, 1)]
    back = [item.path if item.kind == "file" else item.kind.replace("_", " ") for item in manifest.back_matter]
    if back:
        rows.append(("  back matter", ", ".join(back)))
    width = max(len(left) for left, right in rows if right) + 2
    return [f"{left:<{width}}{right}".rstrip() for left, right in rows]
