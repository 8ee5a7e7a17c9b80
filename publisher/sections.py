"""The manifest's settings, a section at a time: the language, lessons, front and back matter, and the pdf,
epub, diagnostics, index and glossary sections, each checked (keycheck.Checker) into its model value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .codes import CODES
from .contents import read_patterns
from .diagnostics import did_you_mean
from .keycheck import Checker, type_name
from .model import (
    GENERATED_SECTIONS,
    GlossarySettings,
    IndexSettings,
    LessonSettings,
    MatterItem,
)
from .schema import keys_at
from .yamlsrc import KeyPath

PAGE_SIZES = ("A4", "Letter", "A5")


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


def read_language(c: Checker, value: Any) -> str:
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


def read_lessons(c: Checker, value: Any) -> LessonSettings:
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


def read_matter(c: Checker, value: Any, kp: KeyPath, source: Path, *, generated: bool) -> tuple[MatterItem, ...]:
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


def read_pdf(c: Checker, value: Any) -> dict[str, Any]:
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


def read_diagnostics(c: Checker, value: Any) -> dict[str, tuple[str, ...]]:
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


def read_epub(c: Checker, value: Any) -> int:
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


def read_index(c: Checker, value: Any) -> tuple[bool, IndexSettings]:
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


def read_glossary(c: Checker, value: Any) -> GlossarySettings:
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
        patterns=read_patterns(c, value.get("patterns"), kp + ("patterns",)),
    )
