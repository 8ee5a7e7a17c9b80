"""The manifest's table of contents: its parts, chapters and entries (a note, a folder, a query) and what it
excludes, each checked (keycheck.Checker) into the specs that select.py follows."""

from __future__ import annotations

from typing import Any

from .diagnostics import did_you_mean
from .keycheck import Checker, type_name
from .model import (
    GLOSSARY_PATTERNS,
    QUERY_KEYS,
    ChapterSpec,
    Entry,
    PartSpec,
)
from .schema import keys_at
from .yamlsrc import KeyPath, format_keypath

SORTS = ("title", "difficulty", "last_updated", "path")


def read_patterns(c: Checker, value: Any, kp: KeyPath) -> tuple[str, ...]:
    """glossary.patterns: which harvesting patterns apply (all of them when not given)."""
    if value is None:
        return GLOSSARY_PATTERNS
    names = c.string_list(value, kp)
    for i, name in enumerate(names):
        if name not in GLOSSARY_PATTERNS:
            c.error(kp + (i,), f"'{name}' is not a glossary pattern (one of {', '.join(GLOSSARY_PATTERNS)})",
                    did_you_mean(name, GLOSSARY_PATTERNS), code="manifest.choice")
    return tuple(n for n in names if n in GLOSSARY_PATTERNS)


def read_parts(c: Checker, data: dict) -> tuple[PartSpec, ...]:
    has_parts, has_chapters = "parts" in data, "chapters" in data
    if has_parts and has_chapters:
        c.error(("chapters",), "use either 'parts' or a top-level 'chapters', not both", key=True, code="manifest.value")
    if not has_parts and not has_chapters:
        c.error((), "the book has no content: add 'parts' or 'chapters'", code="manifest.required")
        return ()
    if has_chapters and not has_parts:
        chapters = read_chapters(c, data["chapters"], ("chapters",))
        return (PartSpec(None, chapters, c.doc.loc(("chapters",))),)
    raw = data["parts"]
    if not isinstance(raw, list) or not raw:
        c.error(("parts",), "must be a non-empty list of parts, each {title: ..., chapters: [...]}", code="manifest.type")
        return ()
    parts = []
    for i, part in enumerate(raw):
        kp: KeyPath = ("parts", i)
        if not isinstance(part, dict):
            c.error(kp, "a part is a mapping {title: ..., chapters: [...]}", code="manifest.type")
            continue
        c.unknown_keys(part, keys_at("parts[]"), kp)
        title = c.string(part.get("title"), kp + ("title",), required=True)
        if "chapters" not in part:
            c.error(kp, "a part needs 'chapters'", code="manifest.required")
            continue
        parts.append(PartSpec(title, read_chapters(c, part["chapters"], kp + ("chapters",)), c.doc.loc(kp)))
    return tuple(parts)


def read_chapters(c: Checker, raw: Any, kp: KeyPath) -> tuple[ChapterSpec, ...]:
    if not isinstance(raw, list) or not raw:
        c.error(kp, "must be a non-empty list of chapters", code="manifest.type")
        return ()
    chapters = []
    for i, item in enumerate(raw):
        ckp = kp + (i,)
        if isinstance(item, dict) and "articles" in item:
            c.unknown_keys(item, keys_at("chapters[]"), ckp)
            title = c.string(item.get("title"), ckp + ("title",), required=True)
            articles = item["articles"]
            if not isinstance(articles, list) or not articles:
                c.error(ckp + ("articles",), "must be a non-empty list of articles", code="manifest.type")
                continue
            entries = tuple(e for j, a in enumerate(articles) if (e := read_entry(c, a, ckp + ("articles", j))))
            chapters.append(ChapterSpec(title, entries, c.doc.loc(ckp), format_keypath(ckp)))
        else:
            entry = read_entry(c, item, ckp)
            if entry:
                chapters.append(ChapterSpec(None, (entry,), c.doc.loc(ckp), format_keypath(ckp)))
    return tuple(chapters)


def read_entry(c: Checker, item: Any, kp: KeyPath) -> Entry | None:
    loc, where = c.doc.loc(kp), format_keypath(kp)
    if isinstance(item, str):
        if not item.strip():
            c.error(kp, "an empty article reference", code="manifest.required")
            return None
        return Entry("ref", item.strip(), location=loc, keypath=where)
    if not isinstance(item, dict):
        c.error(kp, f"an article is a path, slug or title, or a query mapping (glob, tag, fields), not {type_name(item)}", code="manifest.type")
        return None
    sort = c.choice(item.get("sort"), kp + ("sort",), SORTS, "") or None
    if "path" in item:
        others = [k for k in item if k not in ("path", "sort")]
        if others:
            c.error(kp, f"'path' names one article; it does not combine with {', '.join(map(str, others))}",
                    "use glob, tag and front-matter fields to select several", code="manifest.value")
            return None
        value = c.string(item["path"], kp + ("path",), required=True)
        return Entry("ref", value.strip(), location=loc, keypath=where) if value else None
    glob = c.string(item.get("glob"), kp + ("glob",)) or None if "glob" in item else None
    tags = c.string_list(item.get("tag"), kp + ("tag",))
    if "tag" in item and not tags:
        c.error(kp + ("tag",), "names no tag", code="manifest.required")
    exclude, exclude_where = read_exclude(c, item.get("exclude"), kp + ("exclude",))
    conditions = []
    for key, value in item.items():
        if key in QUERY_KEYS:
            continue
        values = c.string_list(value, kp + (key,))
        if values:
            conditions.append((str(key), values))
    if glob is None and not tags and not conditions:
        c.error(kp, "a query needs at least one of glob, tag or a front-matter field",
                "e.g. {glob: 'ai/2_generative/*.md', sort: title}", code="manifest.required")
        return None
    keys = tuple((k, c.doc.loc(kp + (k,), key=True)) for k, _ in conditions)
    return Entry("query", glob=glob, tags=tags, where=tuple(conditions), exclude=exclude, exclude_where=exclude_where,
                 sort=sort, location=loc, keypath=where, keys=keys)


EXCLUDE_SHAPE = "names or globs, or a mapping like {tag: [private, no-export], kb_status: draft}"


def read_exclude(c: Checker, value: Any, kp: KeyPath) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """A query's exclude: names and globs (a text or a list), mappings of tag or front-matter field to values
    (alone or in the list), each value leaving out the articles that have it: (names, conditions)."""
    if value is None:
        return (), ()
    names: list[str] = []
    conditions: list[tuple[str, tuple[str, ...]]] = []
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        ikp = kp + (i,) if isinstance(value, list) else kp
        if isinstance(item, dict):
            if not item:
                c.error(ikp, f"an empty mapping excludes nothing: give {EXCLUDE_SHAPE}", code="manifest.required")
            for key, values in item.items():
                found = c.string_list(values, ikp + (key,))
                if not isinstance(key, str) or not key.strip():
                    c.error(ikp, f"must be {EXCLUDE_SHAPE}, not the key {key!r}", code="manifest.type")
                elif found:
                    conditions.append((key, found))
                elif values is None or values == []:  # what string_list let pass without a word
                    c.error(ikp + (key,), "names no value", code="manifest.required")
        elif isinstance(item, (str, int, float)) and not isinstance(item, bool) and str(item).strip():
            names.extend(c.string_list(item, ikp))
        else:
            c.error(ikp, f"must be {EXCLUDE_SHAPE}, not {type_name(item)}", code="manifest.type")
    return tuple(names), tuple(conditions)
