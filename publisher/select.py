"""Manifest entries (path, slug, alias, title, glob, tag query, filters, sorts) -> ordered chapters."""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from pathlib import PurePosixPath

from .diagnostics import ContentError, Diagnostic, ManifestError, Reporter, Severity, did_you_mean
from .model import ENTRY_KEYS, Article, Entry, Manifest
from .obsidian import inline_tags_of
from .tags import tag_keys
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
    """The manifest's filter: every condition holds (a tag, a front-matter value), and no exclude matches."""
    return (all(_matches(article, key, allowed) for key, allowed in manifest.filters)
            and not any(_matches(article, key, values) for key, values in manifest.filter_exclude))


def has_tag(article: Article, tags: set[str], inline=()) -> bool:
    """Whether the article (its front-matter tags, and the inline tags given) has one of the (folded) tags,
    or a tag nested under one: `export` is met by `export` and by `export/draft`."""
    return bool(tags & tag_keys((*article.tags, *inline)))


def _matches(article: Article, key: str, values: tuple[str, ...]) -> bool:
    """A condition of a filter or a query's exclude: `tag` (nested tags too), else a front-matter field."""
    if key == "tag":
        return has_tag(article, {fold_tag(v) for v in values})
    return _field_matches(article, key, values)


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
    dropped = 0
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
            dropped += len(articles)
            articles = [a for a in articles if usable(a, reporter, spec.keypath)]
            dropped -= len(articles)
            if articles:
                chapters.append(SelectedChapter(spec.title, tuple(articles), spec.keypath))
            elif spec.title:
                reporter.warning(f"{spec.keypath}: the chapter '{spec.title}' selects no article", spec.location, code="select.empty")
        if chapters:
            parts.append((part.title, tuple(chapters)))
    if problems:
        raise ManifestError(problems)
    if not parts and dropped:
        raise ContentError(Diagnostic(Severity.ERROR, "every article the manifest selects is empty or cannot be read",
                                      manifest.location, code="select.nothing-left"))
    if not parts:
        raise ManifestError(Diagnostic(Severity.ERROR, "the manifest selects no article", manifest.location, code="select.nothing"))
    return Selection(tuple(parts))


def usable(article: Article, reporter: Reporter, where: str) -> bool:
    """Whether a selected article goes into the book. What reading it found is reported here, by the book that
    uses it (vault.py keeps it on the article); one that cannot be read, or says nothing, is left out."""
    reporter.extend(article.problems)
    if not article.readable:
        return False
    if not article.body.strip():
        reporter.warning(f"{where}: '{article.path}' is empty; left out", article.loc(),
                         "write something in it, or leave it out of the manifest", code="select.empty-note")
        return False
    return True


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
    return _query(entry, manifest, vault, reporter, problems, fields)


def _query(entry: Entry, manifest: Manifest, vault: Vault, reporter: Reporter, problems: list[Diagnostic],
           fields: set[str] | None = None) -> list[Article]:
    """Every article that meets all of the query's conditions and the manifest's filter, sorted. (fields: every
    front-matter field of the vault, folded, when the caller has them already.)

    A query's other keys are front-matter fields; one that no note of the vault has and that is close to a key
    of the manifest (`artciles`, `glbo`) is a misspelt key: an error with a did-you-mean (a chapter that
    silently selects nothing otherwise). One far from every key is a field no note has: a warning."""
    wanted_tags = {fold_tag(t) for t in entry.tags}
    inline = inline_tags_of(a for a in vault.articles if not wanted_tags & tag_keys(a.tags)) if wanted_tags else {}
    if entry.where and fields is None:
        fields = {fold(k) for a in vault.articles for k in a.meta if isinstance(k, str)}
    for key, _ in entry.where:
        if fold(key) in fields:
            continue
        misspelt = did_you_mean(key, ENTRY_KEYS)
        if misspelt:  # a key of the manifest written wrong, not a query on a field no note has
            problems.append(Diagnostic(Severity.ERROR, f"{entry.keypath}: unknown key '{key}'",
                                       dict(entry.keys).get(key, entry.location), misspelt, "manifest.unknown-key"))
            return []
        reporter.warning(f"{entry.keypath}: no article has the front-matter field '{key}'", entry.location,
                         did_you_mean(key, sorted(fields)), code="select.unknown-field")

    def meets(a: Article) -> bool:
        if entry.glob and not _glob_match(a.path, entry.glob):
            return False
        if wanted_tags and not has_tag(a, wanted_tags, inline.get(a.path, ())):
            return False
        if not all(_field_matches(a, key, values) for key, values in entry.where):
            return False
        if any(_matches(a, key, values) for key, values in entry.exclude_where):
            return False
        return not any(_excluded(a, name, vault) for name in entry.exclude)

    hits = [a for a in vault.articles if meets(a)]
    if wanted_tags or entry.where:  # a note whose front matter cannot be read may belong here: an error, not a gap
        for a in vault.articles:
            if a.meta_unknown and (not entry.glob or _glob_match(a.path, entry.glob)) \
                    and not any(_excluded(a, name, vault) for name in entry.exclude):
                reporter.extend(a.problems)
                reporter.error(f"{entry.keypath}: cannot tell whether the query {entry.describe()} selects '{a.path}': "
                               "its front matter cannot be read", entry.location, "fix its front matter, or exclude it",
                               code="select.unknown-front-matter")
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
    back = [item.path if item.kind == "file" else item.kind.replace("_", " ") for item in manifest.back_matter
            if _kept(item.kind, manifest)]
    if back:
        rows.append(("  back matter", ", ".join(back)))
    width = max(len(left) for left, right in rows if right) + 2
    return [f"{left:<{width}}{right}".rstrip() for left, right in rows]


def _kept(kind: str, manifest: Manifest) -> bool:
    """A back matter item the manifest keeps: a file, or a generated section it has not turned off."""
    return {"glossary": manifest.glossary.enabled, "tag_index": manifest.tag_index,
            "index": manifest.index}.get(kind, True)
