"""Manifest entries (path, slug, alias, title, glob, tag query, filters, sorts) -> ordered chapters."""

from __future__ import annotations

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
    for key, allowed in manifest.filters:
        value = article.meta.get(key)
        values = value if isinstance(value, list) else [value]
        if not {fold(str(v)) for v in values if v is not None} & {fold(a) for a in allowed}:
            return False
    return True


def select(manifest: Manifest, vault: Vault, reporter: Reporter) -> Selection:
    """Resolve every entry; manifest problems (no such article, ambiguity, duplicates) raise at the end.

    An article named explicitly (path, slug, alias, title) may appear once in a book: naming it twice is
    an error naming both places. Queries (glob, tag) take "the rest": they skip what the manifest names
    explicitly anywhere, and what an earlier query took."""
    problems: list[Diagnostic] = []
    explicit: dict[str, str] = {}  # article path -> key path that names it
    resolved: dict[int, list[Article]] = {}
    entries = [e for part in manifest.parts for spec in part.chapters for e in spec.entries]
    for entry in entries:
        resolved[id(entry)] = _resolve(entry, manifest, vault, reporter, problems)
        if entry.kind == "ref":
            for article in resolved[id(entry)]:
                if article.path in explicit:
                    problems.append(Diagnostic(
                        Severity.ERROR,
                        f"{entry.keypath}: '{article.path}' is already selected at {explicit[article.path]}",
                        entry.location,
                        "an article can appear once in a book",
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
                reporter.warning(f"{spec.keypath}: the chapter '{spec.title}' selects no article", spec.location)
        if chapters:
            parts.append((part.title, tuple(chapters)))
    if problems:
        raise ManifestError(problems)
    if not parts:
        raise ManifestError(Diagnostic(Severity.ERROR, "the manifest selects no article", manifest.location))
    return Selection(tuple(parts))


def _resolve(entry: Entry, manifest: Manifest, vault: Vault, reporter: Reporter, problems: list[Diagnostic]) -> list[Article]:
    if entry.kind == "ref":
        assert isinstance(entry.value, str)
        found = vault.lookup(entry.value)
        if not found:
            problems.append(Diagnostic(
                Severity.ERROR,
                f"{entry.keypath}: no article '{entry.value}'",
                entry.location,
                did_you_mean(PurePosixPath(entry.value).stem if "/" in entry.value else entry.value,
                             vault.names() + [a.path for a in vault.articles]),
            ))
            return []
        if len(found) > 1:
            problems.append(Diagnostic(
                Severity.ERROR,
                f"{entry.keypath}: '{entry.value}' is ambiguous: {', '.join(a.path for a in found)}",
                entry.location,
                "name the article by its path",
            ))
            return []
        article = found[0]
        if not passes(article, manifest):
            reporter.warning(f"{entry.keypath}: '{article.path}' is left out by the manifest's filter", entry.location)
            return []
        return [article]
    if entry.kind == "glob":
        assert isinstance(entry.value, str)
        pattern = entry.value
        hits = [a for a in vault.articles if _glob_match(a.path, pattern)]
        if not hits:
            reporter.warning(f"{entry.keypath}: the pattern '{pattern}' matches no article", entry.location)
    else:
        wanted = {fold_tag(t) for t in entry.value}
        hits = [a for a in vault.articles if wanted & {fold_tag(t) for t in a.tags}]
        if not hits:
            reporter.warning(f"{entry.keypath}: no article has the tag {', '.join(entry.value)}", entry.location)
    chosen = [a for a in hits if passes(a, manifest)]
    return sorted(chosen, key=sort_key(entry.sort or "path"))


def _glob_match(path: str, pattern: str) -> bool:
    """Glob semantics over POSIX paths: '*' stays inside a folder, '**' crosses folders."""
    p, pat = PurePosixPath(path).parts, PurePosixPath(pattern.removeprefix("./")).parts

    def match(i: int, j: int) -> bool:
        if j == len(pat):
            return i == len(p)
        if pat[j] == "**":
            return any(match(k, j + 1) for k in range(i, len(p) + 1))
        return i < len(p) and PurePosixPath(p[i]).match(pat[j]) and match(i + 1, j + 1)

    return match(0, 0)
