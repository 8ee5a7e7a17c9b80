"""Load and validate a book manifest (books/*.yml): every problem at once, each with its key path and line."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from .backends import available as available_backends
from .contents import read_exclude, read_parts
from .diagnostics import Diagnostic, ManifestError, Reporter, Severity, SourceLocation, did_you_mean, display_path
from .keycheck import Checker, type_name
from .model import (
    GENERATED_SECTIONS,
    NUMBERING,
    Manifest,
)
from .schema import keys_at
from .sections import (
    PAGE_SIZES,
    read_diagnostics,
    read_epub,
    read_glossary,
    read_index,
    read_language,
    read_lessons,
    read_matter,
    read_pdf,
)
from .yamlsrc import YamlDoc, YamlError, load_yaml, merge_docs

TOP_KEYS = keys_at("")
MAX_EXTENDS = 10
OUTSIDE_POLICIES = ("footnote", "text", "keep")
LINK_TEXTS = ("auto", "typed", "title")  # what a bare [[link]] shows (links.py)


def load_manifest(path: Path, reporter: Reporter | None = None) -> Manifest:
    """Read and validate a manifest; raise ManifestError listing every problem.

    Warnings (duplicate keys) go to the reporter when one is given."""
    path = Path(path)
    doc, problems = _read(path, ())
    c = Checker(doc)
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
                names, filter_exclude = read_exclude(c, values, ("filter", "exclude"))
                if names:
                    c.error(("filter", "exclude"), "leaves out by tag or front-matter value, not by name",
                            "e.g. {tag: [private], kb_status: draft}; names and globs go in a query's exclude", code="manifest.value")
            else:
                filters.append((str(key), c.string_list(values, ("filter", key))))

    links = data.get("links") or {}
    outside, base_url, link_text = "footnote", "", "auto"
    if not isinstance(links, dict):
        c.error(("links",), "must be a mapping like {outside: footnote}", code="manifest.type")
    else:
        c.unknown_keys(links, keys_at("links"), ("links",))
        outside = c.choice(links.get("outside"), ("links", "outside"), OUTSIDE_POLICIES, "footnote")
        base_url = c.string(links.get("base_url"), ("links", "base_url"))
        link_text = c.choice(links.get("text"), ("links", "text"), LINK_TEXTS, "auto")
        if outside == "keep" and not base_url:
            c.error(("links", "outside"), "'keep' needs links.base_url, the address the vault is published at", code="manifest.required")

    glossary = read_glossary(c, data.get("glossary", True))
    tag_index = c.boolean(data.get("tag_index"), ("tag_index",), True)
    index, index_settings = read_index(c, data.get("index"))
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
    lessons = read_lessons(c, data.get("lessons"))
    front_matter = read_matter(c, data.get("front_matter"), ("front_matter",), source, generated=False)
    back_matter = read_matter(c, data.get("back_matter", list(GENERATED_SECTIONS)), ("back_matter",), source, generated=True)
    tag_labels: list[tuple[str, str]] = []
    raw_labels = data.get("tag_labels") or {}
    if not isinstance(raw_labels, dict):
        c.error(("tag_labels",), "must be a mapping of tag to label", code="manifest.type")
    else:
        tag_labels = [(str(k), c.string(v, ("tag_labels", k))) for k, v in raw_labels.items()]

    parts = read_parts(c, data)
    manifest = Manifest(
        path=path,
        title=title,
        subtitle=c.string(data.get("subtitle"), ("subtitle",)),
        authors=authors,
        language=read_language(c, data.get("language", "en")),
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
        links_text=link_text,
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
        properties=c.string_list(data.get("properties"), ("properties",)),
        parts=parts,
        page_size=c.choice(data.get("page_size"), ("page_size",), PAGE_SIZES, "A4"),
        allow_remote=c.boolean(data.get("allow_remote"), ("allow_remote",), False),
        **read_pdf(c, data.get("pdf")),
        **read_diagnostics(c, data.get("diagnostics")),
        epub_document_kb=read_epub(c, data.get("epub")),
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
