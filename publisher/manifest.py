"""Load and validate a book manifest (books/*.yml): every problem at once, each with its key path and line."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

from .backends import available as available_backends
from .codes import CODES
from .diagnostics import Diagnostic, ManifestError, Reporter, Severity, SourceLocation, did_you_mean, display_path
from .model import (
    GENERATED_SECTIONS,
    GLOSSARY_PATTERNS,
    NUMBERING,
    QUERY_KEYS,
    ChapterSpec,
    Entry,
    GlossarySettings,
    IndexSettings,
    LessonSettings,
    Manifest,
    MatterItem,
    PartSpec,
)
from .schema import keys_at
from .yamlsrc import KeyPath, YamlDoc, YamlError, format_keypath, load_yaml, merge_docs

TOP_KEYS = keys_at("")
MAX_EXTENDS = 10
SORTS = ("title", "difficulty", "last_updated", "path")
OUTSIDE_POLICIES = ("footnote", "text", "keep")
PAGE_SIZES = ("A4", "Letter", "A5")


class _Checker:
    def __init__(self, doc: YamlDoc):
        self.doc = doc
        self.problems: list[Diagnostic] = []

    def error(self, keypath: KeyPath, message: str, hint: str = "", *, key: bool = False, code: str) -> None:
        where = format_keypath(keypath)
        text = f"{where}: {message}" if where else message
        self.problems.append(Diagnostic(Severity.ERROR, text, self.doc.loc(keypath, key=key), hint, code))

    def unknown_keys(self, mapping: dict, allowed: set[str], base: KeyPath) -> None:
        for key in mapping:
            if key not in allowed:
                where = format_keypath(base)
                self.problems.append(Diagnostic(
                    Severity.ERROR,
                    f"{where}: unknown key '{key}'" if where else f"unknown key '{key}'",
                    self.doc.loc(base + (key,), key=True),
                    did_you_mean(str(key), sorted(allowed)),
                    code="manifest.unknown-key",
                ))

    def string(self, value: Any, keypath: KeyPath, *, required: bool = False) -> str:
        if value is None:
            if required:
                self.error(keypath, "is required", code="manifest.required")
            return ""
        if isinstance(value, (bool, int, float)) and keypath in self.doc.texts:
            return self.doc.texts[keypath]  # as written: YAML 1.1 reads `no` as false and `3.10` as 3.1
        if isinstance(value, (dt.date, int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.error(keypath, f"must be text, not {type_name(value)}", code="manifest.type")
            return ""
        if required and not value.strip():
            self.error(keypath, "must not be empty", code="manifest.required")
        return value

    def string_list(self, value: Any, keypath: KeyPath) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, (bool, int, float)) and keypath in self.doc.texts:
            return (self.doc.texts[keypath],)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return (str(value),)
        if not isinstance(value, list):
            self.error(keypath, f"must be a list of text, not {type_name(value)}", code="manifest.type")
            return ()
        out = []
        for i, item in enumerate(value):
            if isinstance(item, (bool, int, float)) and keypath + (i,) in self.doc.texts:
                out.append(self.doc.texts[keypath + (i,)])
            elif isinstance(item, bool) or not isinstance(item, (str, int, float)):
                self.error(keypath + (i,), f"must be text, not {type_name(item)}", code="manifest.type")
            else:
                out.append(str(item))
        return tuple(out)

    def boolean(self, value: Any, keypath: KeyPath, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(keypath, f"must be true or false, not {value!r}", code="manifest.type")
            return default
        return value

    def choice(self, value: Any, keypath: KeyPath, choices: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            self.error(keypath, f"must be one of {', '.join(choices)}, not {value!r}", did_you_mean(str(value), choices), code="manifest.choice")
            return default
        return value


def type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", type(None): "nothing"}.get(type(value), type(value).__name__)


def load_manifest(path: Path, reporter: Reporter | None = None) -> Manifest:
    """Read and validate a manifest; raise ManifestError listing every problem.

    Warnings (duplicate keys) go to the reporter when one is given."""
    path = Path(path)
    doc, problems = _read(path, ())
    c = _Checker(doc)
    c.problems.extend(problems)
    data = doc.value
    if not isinstance(data, dict):
        c.error((), f"a manifest is a mapping of keys (title, chapters, ...), not {type_name(data)}", code="manifest.type")
        raise ManifestError(c.problems)
    c.unknown_keys(data, TOP_KEYS, ())

    title = c.string(data.get("title"), ("title",), required=True)
    authors = c.string_list(data.get("authors"), ("authors",))
    if "author" in data:
        authors = authors + c.string_list(data.get("author"), ("author",))
    date = data.get("date")
    date_text = date.isoformat() if isinstance(date, dt.date) else c.string(date, ("date",))

    base = path.parent
    source_text = c.string(data.get("source", "."), ("source",))
    source = Path(os.path.normpath(Path(doc.origin(("source",))).parent / source_text))
    if not source.is_dir():
        c.error(("source",), f"no knowledge-base folder '{source_text}' (looked for {display_path(source)})", code="manifest.not-found")

    formats = c.string_list(data.get("formats", ["pdf", "epub", "docx"]), ("formats",))
    installed = sorted(available_backends())
    for i, name in enumerate(formats):
        if name not in installed:
            c.error(("formats", i), f"no backend for format '{name}' (available: {', '.join(installed)})",
                    did_you_mean(name, installed), code="manifest.not-found")

    output = data.get("output") or {}
    out_dir, out_name = base / "build", path.stem
    if not isinstance(output, dict):
        c.error(("output",), "must be a mapping like {dir: ../build, name: my-book}", code="manifest.type")
    else:
        c.unknown_keys(output, keys_at("output"), ("output",))
        if output.get("dir") is not None:
            out_dir = Path(os.path.normpath(Path(doc.origin(("output", "dir"))).parent / c.string(output.get("dir"), ("output", "dir"))))
        if output.get("name") is not None:
            out_name = c.string(output.get("name"), ("output", "name")) or out_name
            if "/" in out_name or "\\" in out_name or out_name.startswith("."):
                c.error(("output", "name"), f"must be a plain file name, not {out_name!r}", code="manifest.value")

    filters: list[tuple[str, tuple[str, ...]]] = []
    filter_exclude: tuple[tuple[str, tuple[str, ...]], ...] = ()
    raw_filter = data.get("filter") or {}
    if not isinstance(raw_filter, dict):
        c.error(("filter",), "must be a mapping of front-matter field to allowed values", code="manifest.type")
    else:
        for key, values in raw_filter.items():
            if key == "exclude":
                names, filter_exclude = _exclude(c, values, ("filter", "exclude"))
                if names:
                    c.error(("filter", "exclude"), "leaves out by tag or front-matter value, not by name",
                            "e.g. {tag: [private], kb_status: draft}; names and globs go in a query's exclude", code="manifest.value")
            else:
                filters.append((str(key), c.string_list(values, ("filter", key))))

    links = data.get("links") or {}
    outside, base_url = "footnote", ""
    if not isinstance(links, dict):
        c.error(("links",), "must be a mapping like {outside: footnote}", code="manifest.type")
    else:
        c.unknown_keys(links, keys_at("links"), ("links",))
        outside = c.choice(links.get("outside"), ("links", "outside"), OUTSIDE_POLICIES, "footnote")
        base_url = c.string(links.get("base_url"), ("links", "base_url"))
        if outside == "keep" and not base_url:
            c.error(("links", "outside"), "'keep' needs links.base_url, the address the vault is published at", code="manifest.required")

    glossary = _glossary(c, data.get("glossary", True))
    tag_index = c.boolean(data.get("tag_index"), ("tag_index",), True)
    index, index_settings = _index(c, data.get("index"))
    numbering = c.choice(data.get("numbering"), ("numbering",), NUMBERING, "none")
    direction = c.choice(data.get("direction"), ("direction",), ("ltr", "rtl"), "ltr")
    cover = c.string(data.get("cover"), ("cover",)).strip()
    if cover:
        cover_path = Path(cover)
        if cover_path.is_absolute() or ".." in cover_path.parts:
            c.error(("cover",), f"must be a path inside the knowledge base, not {cover!r}", code="manifest.value")
            cover = ""
        elif cover_path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            c.error(("cover",), f"must be a PNG or JPEG image, not {cover!r}", code="manifest.value")
            cover = ""
        elif source.is_dir() and not (source / cover_path).is_file():
            c.error(("cover",), f"no image '{cover}' in the knowledge base", code="manifest.not-found")
            cover = ""
    lessons = _lessons(c, data.get("lessons"))
    front_matter = _matter(c, data.get("front_matter"), ("front_matter",), source, generated=False)
    back_matter = _matter(c, data.get("back_matter", list(GENERATED_SECTIONS)), ("back_matter",), source, generated=True)
    tag_labels: list[tuple[str, str]] = []
    raw_labels = data.get("tag_labels") or {}
    if not isinstance(raw_labels, dict):
        c.error(("tag_labels",), "must be a mapping of tag to label", code="manifest.type")
    else:
        tag_labels = [(str(k), c.string(v, ("tag_labels", k))) for k, v in raw_labels.items()]

    parts = _parts(c, data)
    manifest = Manifest(
        path=path,
        title=title,
        subtitle=c.string(data.get("subtitle"), ("subtitle",)),
        authors=authors,
        language=_language(c, data.get("language", "en")),
        date=date_text,
        edition=c.string(data.get("edition"), ("edition",)),
        rights=c.string(data.get("rights"), ("rights",)),
        description=c.string(data.get("description"), ("description",)),
        source=source.resolve() if source.is_dir() else source,
        theme=c.string(data.get("theme", "default"), ("theme",)) or "default",
        formats=formats,
        output_dir=out_dir,
        output_name=out_name,
        filters=tuple(filters),
        filter_exclude=filter_exclude,
        links_outside=outside,
        links_base_url=base_url,
        glossary=glossary,
        tag_index=tag_index,
        index=index,
        index_settings=index_settings,
        numbering=numbering,
        cover=cover_path.as_posix() if cover else "",
        direction=direction,
        lessons=lessons,
        front_matter=front_matter,
        back_matter=back_matter,
        tag_labels=tuple(tag_labels),
        parts=parts,
        page_size=c.choice(data.get("page_size"), ("page_size",), PAGE_SIZES, "A4"),
        allow_remote=c.boolean(data.get("allow_remote"), ("allow_remote",), False),
        **_pdf(c, data.get("pdf")),
        **_diagnostics(c, data.get("diagnostics")),
        epub_document_kb=_epub(c, data.get("epub")),
        location=SourceLocation(str(path), 1, 1),
    )
    if any(p.is_error for p in c.problems):
        raise ManifestError(sorted(c.problems, key=lambda d: (d.location.line, d.location.col) if d.location else (0, 0)))
    if reporter is not None:
        reporter.extend(c.problems)
    return manifest


def _read(path: Path, chain: tuple[Path, ...]) -> tuple[YamlDoc, list[Diagnostic]]:
    """One manifest file as YAML, merged over the manifest it `extends` (relative to it), recursively."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(Diagnostic(Severity.ERROR, "no such manifest", SourceLocation(str(path)), code="manifest.read")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(Diagnostic(Severity.ERROR, f"cannot read manifest: {exc}", SourceLocation(str(path)), code="manifest.read")) from None
    try:
        doc, warnings = load_yaml(text, str(path))
    except YamlError as exc:
        raise ManifestError(exc.diagnostic) from None
    if not isinstance(doc.value, dict) or "extends" not in doc.value:
        return doc, warnings
    parent_name = doc.value["extends"]
    where = doc.loc(("extends",))
    if not isinstance(parent_name, str) or not parent_name.strip():
        raise ManifestError(Diagnostic(Severity.ERROR, "extends: must name another manifest file", where, code="manifest.extends"))
    parent_path = path.parent / parent_name
    resolved = [p.resolve() for p in (*chain, path)]
    if parent_path.resolve() in resolved:
        cycle = " -> ".join(p.name for p in (*chain, path, parent_path))
        raise ManifestError(Diagnostic(Severity.ERROR, f"extends: the manifests extend each other in a cycle: {cycle}", where, code="manifest.extends"))
    if len(chain) >= MAX_EXTENDS:
        raise ManifestError(Diagnostic(Severity.ERROR, f"extends: more than {MAX_EXTENDS} manifests deep", where, code="manifest.extends"))
    if not parent_path.is_file():
        raise ManifestError(Diagnostic(Severity.ERROR, f"extends: no manifest '{parent_name}'", where,
                                       did_you_mean(parent_name, sorted(p.name for p in path.parent.glob("*.yml"))),
                                       code="manifest.extends"))
    parent, parent_warnings = _read(parent_path, (*chain, path))
    own = dict(doc.value)
    del own["extends"]
    doc.value = own
    merged = merge_docs(parent, doc, replace_together=({"parts", "chapters"},))
    return merged, parent_warnings + warnings


# BCP 47 (RFC 5646, section 2.1): a well-formed tag; whether its subtags are registered is not checked, but
# a primary language subtag of 4 to 8 letters, which the grammar reserves and the registry has none of
# (`english`), is refused.
_ALNUM = "[a-z0-9]"
_LANGTAG = re.compile(
    rf"""[a-z]{{2,3}}(?:-[a-z]{{3}}){{0,3}}                         # language (with extlangs)
    (?:-[a-z]{{4}})?                                               # script
    (?:-(?:[a-z]{{2}}|[0-9]{{3}}))?                                 # region
    (?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*                   # variants
    (?:-[0-9a-wy-z](?:-{_ALNUM}{{2,8}})+)*                          # extensions
    (?:-x(?:-{_ALNUM}{{1,8}})+)?                                    # private use""", re.VERBOSE)
_PRIVATE_OR_GRANDFATHERED = re.compile(
    rf"x(?:-{_ALNUM}{{1,8}})+|en-gb-oed|i-(?:ami|bnn|default|enochian|hak|klingon|lux|mingo|navajo|pwn|tao|tay|tsu)"
    r"|sgn-(?:be-fr|be-nl|ch-de)|art-lojban|cel-gaulish|no-(?:bok|nyn)|zh-(?:guoyu|hakka|min|min-nan|xiang)")


def is_language_tag(tag: str) -> bool:
    """Whether `tag` is a well-formed BCP 47 language tag (case does not matter)."""
    folded = tag.lower()
    return bool(_LANGTAG.fullmatch(folded) or _PRIVATE_OR_GRANDFATHERED.fullmatch(folded))


def _language(c: _Checker, value: Any) -> str:
    """language: a BCP 47 tag (en, en-GB, pt-BR, zh-Hant-TW), as EPUB, HTML and DOCX need it."""
    tag = c.string(value, ("language",)).strip()
    if not tag:
        return "en"
    if not is_language_tag(tag):
        hint = (f"did you mean '{tag.replace('_', '-')}'?" if is_language_tag(tag.replace("_", "-"))
                else "a BCP 47 tag such as en, en-GB, fr, pt-BR or zh-Hant")
        c.error(("language",), f"'{tag}' is not a BCP 47 language tag", hint, code="manifest.value")
        return "en"
    return tag


def _lessons(c: _Checker, value: Any) -> LessonSettings:
    kp: KeyPath = ("lessons",)
    if value is None:
        return LessonSettings()
    if not isinstance(value, dict):
        c.error(kp, "must be a mapping like {objectives: true, reading_list: true, notes_page: true}", code="manifest.type")
        return LessonSettings()
    c.unknown_keys(value, keys_at("lessons"), kp)
    return LessonSettings(
        objectives=c.boolean(value.get("objectives"), kp + ("objectives",), True),
        reading_list=c.boolean(value.get("reading_list"), kp + ("reading_list",), True),
        notes_page=c.boolean(value.get("notes_page"), kp + ("notes_page",), False),
    )


def _matter(c: _Checker, value: Any, kp: KeyPath, source: Path, *, generated: bool) -> tuple[MatterItem, ...]:
    """front_matter / back_matter: Markdown files of the vault and (at the back) the generated sections."""
    if value is None:
        return ()
    if not isinstance(value, list):
        c.error(kp, "must be a list" + (" like [glossary, tag_index, index, appendix.md]" if generated else " of Markdown files"), code="manifest.type")
        return ()
    items = []
    for i, item in enumerate(value):
        where = kp + (i,)
        if not isinstance(item, str) or not item.strip():
            c.error(where, f"must be a file name{' or a generated section' if generated else ''}, not {type_name(item)}", code="manifest.type")
            continue
        if item in GENERATED_SECTIONS:
            if generated:
                items.append(MatterItem(item, "", c.doc.loc(where)))
            else:
                c.error(where, f"'{item}' belongs in back_matter", code="manifest.value")
            continue
        if not item.endswith(".md"):
            choices = list(GENERATED_SECTIONS) if generated else []
            c.error(where, f"'{item}' is neither a Markdown file (.md) nor a generated section", did_you_mean(item, choices), code="manifest.choice")
            continue
        path = Path(item)
        if path.is_absolute() or ".." in path.parts:
            c.error(where, f"must be a path inside the knowledge base, not {item!r}", code="manifest.value")
            continue
        if source.is_dir() and not (source / path).is_file():
            c.error(where, f"no file '{item}' in the knowledge base", code="manifest.not-found")
            continue
        items.append(MatterItem("file", path.as_posix(), c.doc.loc(where)))
    return tuple(items)


def _pdf(c: _Checker, value: Any) -> dict[str, Any]:
    """pdf: {tagged: true, sides: 1, part_pages: 300, workers: 2}: PDF/UA tagging, one- or two-sided layout,
    rendering in parts, by how many processes."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.error(("pdf",), "must be a mapping like {tagged: true, sides: 2}", code="manifest.type")
        return {}
    c.unknown_keys(value, keys_at("pdf"), ("pdf",))
    sides = value.get("sides", 2)
    if sides not in (1, 2) or isinstance(sides, bool):
        c.error(("pdf", "sides"), f"must be 1 (one-sided) or 2 (two-sided), not {sides!r}", code="manifest.value")
        sides = 2
    # part_pages: render in parts of about this many pages (publisher/backends/pdfparts.py), which a long
    # book does by itself; a tagged PDF is never rendered in parts.
    part_pages = value.get("part_pages", 0)
    if not isinstance(part_pages, int) or isinstance(part_pages, bool) or part_pages < 1 and "part_pages" in value:
        c.error(("pdf", "part_pages"), f"must be a whole number of pages, at least 1, not {part_pages!r}", code="manifest.value")
        part_pages = 0
    # workers: processes laying out the parts at once (0: one per core the process may use)
    workers = value.get("workers", 0)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1 and "workers" in value:
        c.error(("pdf", "workers"), f"must be a whole number of processes, at least 1, not {workers!r}", code="manifest.value")
        workers = 0
    return {"pdf_tagged": c.boolean(value.get("tagged"), ("pdf", "tagged"), False), "pdf_sides": sides,
            "pdf_part_pages": part_pages, "pdf_workers": workers}


def _diagnostics(c: _Checker, value: Any) -> dict[str, tuple[str, ...]]:
    """diagnostics: {ignore: [codes], error: [codes]}: codes (publisher/codes.py) left out of the build's
    report, or made errors. An error cannot be ignored."""
    kp: KeyPath = ("diagnostics",)
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.error(kp, "must be a mapping like {ignore: [link.heading], error: [link.unresolved]}", code="manifest.type")
        return {}
    c.unknown_keys(value, keys_at("diagnostics"), kp)
    out = {}
    for key in ("ignore", "error"):
        names = c.string_list(value.get(key), kp + (key,))
        for i, name in enumerate(names):
            if name not in CODES:
                c.error(kp + (key, i), f"no diagnostic code '{name}'", did_you_mean(name, CODES) or "see README's list of codes",
                        code="manifest.unknown-code")
            elif key == "ignore" and CODES[name].severity == "error":
                c.error(kp + (key, i), f"'{name}' is an error; it cannot be ignored", code="manifest.unknown-code")
        out[f"diagnostics_{key}"] = tuple(n for n in names if n in CODES)
    return out


def _epub(c: _Checker, value: Any) -> int:
    """epub: {max_document_kb: 64}: the largest content document, in KB (256 at most)."""
    if value is None:
        return 256
    if not isinstance(value, dict):
        c.error(("epub",), "must be a mapping like {max_document_kb: 128}", code="manifest.type")
        return 256
    c.unknown_keys(value, keys_at("epub"), ("epub",))
    kb = value.get("max_document_kb", 256)
    if isinstance(kb, bool) or not isinstance(kb, int) or not 8 <= kb <= 256:
        c.error(("epub", "max_document_kb"), f"must be a whole number of KB from 8 to 256, not {kb!r}", code="manifest.value")
        return 256
    return kb


def _index(c: _Checker, value: Any) -> tuple[bool, IndexSettings]:
    """index: true | false | {exclude: [...], include: [...], max_share: 0.25, max_places: 12}."""
    kp: KeyPath = ("index",)
    if value is None or isinstance(value, bool):
        return value is not False, IndexSettings(location=c.doc.loc(kp))
    if not isinstance(value, dict):
        c.error(kp, "must be true, false or a mapping like {exclude: [data], max_places: 12}", code="manifest.type")
        return True, IndexSettings()
    c.unknown_keys(value, keys_at("index"), kp)
    share = value.get("max_share", 0.25)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        c.error(kp + ("max_share",), f"must be a share of the articles above 0 and at most 1, like 0.25, not {share!r}", code="manifest.value")
        share = 0.25
    places = value.get("max_places", 12)
    if isinstance(places, bool) or not isinstance(places, int) or places < 1:
        c.error(kp + ("max_places",), f"must be a whole number, at least 1, not {places!r}", code="manifest.value")
        places = 12
    return True, IndexSettings(exclude=c.string_list(value.get("exclude"), kp + ("exclude",)),
                               include=c.string_list(value.get("include"), kp + ("include",)),
                               max_share=float(share), max_places=places, location=c.doc.loc(kp, key=True))


def _glossary(c: _Checker, value: Any) -> GlossarySettings:
    kp: KeyPath = ("glossary",)
    if isinstance(value, bool) or value is None:
        return GlossarySettings(enabled=value is not False, location=c.doc.loc(kp))
    if not isinstance(value, dict):
        c.error(kp, "must be true, false or a mapping like {file: glossary.yml}", code="manifest.type")
        return GlossarySettings()
    c.unknown_keys(value, keys_at("glossary"), kp)
    file = c.string(value.get("file"), kp + ("file",)) or None
    if file and (Path(file).is_absolute() or ".." in Path(file).parts):
        c.error(kp + ("file",), f"must be a path inside the knowledge base, not {file!r}", code="manifest.value")
        file = None
    min_def = value.get("min_definition", 12)
    if isinstance(min_def, bool) or not isinstance(min_def, int) or min_def < 0:
        c.error(kp + ("min_definition",), f"must be a whole number of characters, not {min_def!r}", code="manifest.value")
        min_def = 12
    return GlossarySettings(
        enabled=True,
        file=file,
        harvest=c.boolean(value.get("harvest"), kp + ("harvest",), True),
        min_definition=min_def,
        exclude=c.string_list(value.get("exclude"), kp + ("exclude",)),
        location=c.doc.loc(kp + ("file",)),
        patterns=_patterns(c, value.get("patterns"), kp + ("patterns",)),
    )


def _patterns(c: _Checker, value: Any, kp: KeyPath) -> tuple[str, ...]:
    """glossary.patterns: which harvesting patterns apply (all of them when not given)."""
    if value is None:
        return GLOSSARY_PATTERNS
    names = c.string_list(value, kp)
    for i, name in enumerate(names):
        if name not in GLOSSARY_PATTERNS:
            c.error(kp + (i,), f"'{name}' is not a glossary pattern (one of {', '.join(GLOSSARY_PATTERNS)})",
                    did_you_mean(name, GLOSSARY_PATTERNS), code="manifest.choice")
    return tuple(n for n in names if n in GLOSSARY_PATTERNS)


def _parts(c: _Checker, data: dict) -> tuple[PartSpec, ...]:
    has_parts, has_chapters = "parts" in data, "chapters" in data
    if has_parts and has_chapters:
        c.error(("chapters",), "use either 'parts' or a top-level 'chapters', not both", key=True, code="manifest.value")
    if not has_parts and not has_chapters:
        c.error((), "the book has no content: add 'parts' or 'chapters'", code="manifest.required")
        return ()
    if has_chapters and not has_parts:
        chapters = _chapters(c, data["chapters"], ("chapters",))
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
        parts.append(PartSpec(title, _chapters(c, part["chapters"], kp + ("chapters",)), c.doc.loc(kp)))
    return tuple(parts)


def _chapters(c: _Checker, raw: Any, kp: KeyPath) -> tuple[ChapterSpec, ...]:
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
            entries = tuple(e for j, a in enumerate(articles) if (e := _entry(c, a, ckp + ("articles", j))))
            chapters.append(ChapterSpec(title, entries, c.doc.loc(ckp), format_keypath(ckp)))
        else:
            entry = _entry(c, item, ckp)
            if entry:
                chapters.append(ChapterSpec(None, (entry,), c.doc.loc(ckp), format_keypath(ckp)))
    return tuple(chapters)


def _entry(c: _Checker, item: Any, kp: KeyPath) -> Entry | None:
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
    exclude, exclude_where = _exclude(c, item.get("exclude"), kp + ("exclude",))
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


def _exclude(c: _Checker, value: Any, kp: KeyPath) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
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
