"""The glossary: curated terms (the manifest's glossary file, `glossary:` in front matter) and terms
harvested from "**Term**: definition" list items and definition lists of the articles in the book."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

from . import pandoc as pd
from .ids import xml_id
from .model import Article, Book, GlossaryEntry, map_articles
from .vault import fold
from .yamlsrc import YamlError, load_yaml

SEPARATORS = (":", "\u2014", "\u2013")  # "**Term**: ...", "**Term** — ...", "**Term** – ..."


def term_key(term: str) -> str:
    """Duplicates merge across case, spacing and a plural 's'."""
    key = " ".join(fold(term).split())
    if key.endswith("s") and not key.endswith("ss") and len(key) > 3:
        key = key[:-1]
    return key


def collation_key(term: str) -> tuple:
    """Accents and case do not change the order ("Über" files under U); ties keep a stable order."""
    base = "".join(c for c in unicodedata.normalize("NFKD", term) if not unicodedata.combining(c))
    return (base.casefold(), term.casefold(), term)


def letter_of(term: str) -> str:
    first = collation_key(term)[0][:1].upper()
    return first if first.isalpha() else "#"


def split_lead(inlines: list) -> tuple[str, list] | None:
    """'**Term**: definition' -> ('Term', definition inlines), or None."""
    if not inlines or inlines[0].get("t") != "Strong":
        return None
    term = pd.stringify(inlines[0]["c"]).strip()
    rest = list(inlines[1:])
    if term.endswith(":"):  # "**Term:** definition"
        term = term[:-1].strip()
    else:
        while rest and rest[0].get("t") == "Space":
            rest.pop(0)
        if not rest or rest[0].get("t") != "Str" or not rest[0]["c"].startswith(SEPARATORS):
            return None
        first = rest[0]["c"].lstrip(":\u2014\u2013")
        rest = ([{"t": "Str", "c": first}] if first else []) + rest[1:]
    while rest and rest[0].get("t") in ("Space", "SoftBreak"):
        rest.pop(0)
    if not term or not rest:
        return None
    return term, rest


def collect_glossary(book: Book, ctx) -> Book:
    settings = book.manifest.glossary
    if not settings.enabled:
        return book
    entries: dict[str, GlossaryEntry] = {}
    definitions: dict[str, str] = {}
    excluded = {term_key(t) for t in settings.exclude}

    def add(entry: GlossaryEntry, where) -> None:
        key = term_key(entry.term)
        if key in excluded:
            return
        old = entries.get(key)
        if old is None:
            entries[key] = entry
            definitions[key] = pd.stringify(entry.definition)
            return
        if old.source == "curated" and entry.source == "harvested":
            return
        text = pd.stringify(entry.definition)
        if fold(text) != fold(definitions[key]) and where is not None:
            ctx.reporter.warning(f"glossary term '{entry.term}' is defined again, differently; the first definition is kept", where)

    for term, definition in _curated(book, ctx):
        add(GlossaryEntry(term, tuple(pd.text_inlines(definition)), "", "", "curated"), None)

    def harvest(article: Article) -> Article:
        for term, definition in _front_matter_terms(article):
            add(GlossaryEntry(term, tuple(pd.text_inlines(definition)), article.id, article.id, "curated"), None)
        if not settings.harvest:
            return article
        counter = [0]

        def visit(block: dict) -> dict:
            t = block.get("t")
            if t == "BulletList":
                return {"t": t, "c": [[visit_item(item[0]), *map(visit, item[1:])] if item else item for item in block["c"]]}
            if t == "DefinitionList":
                for term_inlines, defs in block["c"]:
                    if defs and defs[0]:
                        first = defs[0][0]
                        if first.get("t") in ("Plain", "Para"):
                            term = pd.stringify(term_inlines).strip()
                            if len(pd.stringify(first["c"])) >= settings.min_definition:
                                add(GlossaryEntry(term, tuple(first["c"]), article.id, article.id, "harvested"), article.loc())
                return block
            if t in ("BlockQuote", "Div"):
                c = block["c"]
                return {"t": t, "c": [*c[:-1], [visit(b) for b in c[-1]]]} if t == "Div" else {"t": t, "c": [visit(b) for b in c]}
            if t == "OrderedList":
                return {"t": t, "c": [block["c"][0], [[visit(b) for b in item] for item in block["c"][1]]]}
            return block

        def visit_item(block: dict) -> dict:
            if block.get("t") not in ("Plain", "Para"):
                return visit(block)
            lead = split_lead(block["c"])
            if lead is None:
                return block
            term, definition = lead
            if len(pd.stringify(definition)) < settings.min_definition:
                return block
            counter[0] += 1
            anchor = f"{article.id}--g{counter[0]}"
            add(GlossaryEntry(term, tuple(definition), article.id, anchor, "harvested"), article.loc())
            marked = [pd.span([block["c"][0]], ident=anchor, classes=["term"]), *block["c"][1:]]
            return {"t": block["t"], "c": marked}

        return replace(article, blocks=tuple(visit(b) for b in article.blocks))

    book = map_articles(book, harvest)
    ordered = sorted(entries.values(), key=lambda e: collation_key(e.term))
    ids: set[str] = set()
    final = []
    for e in ordered:
        ident = "gl-" + xml_id(e.term, "t")
        while ident in ids:
            ident += "-x"
        ids.add(ident)
        final.append(replace(e, id=ident))
    return replace(book, glossary=tuple(final))


def _curated(book: Book, ctx) -> list[tuple[str, str]]:
    name = book.manifest.glossary.file
    if not name:
        return []
    file = (book.manifest.source / name)
    if not file.resolve().is_relative_to(Path(book.manifest.source).resolve()) or not file.is_file():
        ctx.reporter.error(f"glossary: no file '{name}' in the knowledge base", book.manifest.glossary.location)
        return []
    try:
        doc, warnings = load_yaml(file.read_text(encoding="utf-8"), str(file))
    except YamlError as exc:
        ctx.reporter.add(exc.diagnostic)
        return []
    except (OSError, UnicodeDecodeError) as exc:
        ctx.reporter.error(f"cannot read the glossary: {exc}", book.manifest.glossary.location)
        return []
    ctx.reporter.extend(warnings)
    if not isinstance(doc.value, dict):
        ctx.reporter.error("a glossary file is a mapping of term to definition", doc.loc(()))
        return []
    out = []
    for term, definition in doc.value.items():
        if not isinstance(definition, str) or not definition.strip():
            ctx.reporter.warning(f"glossary term '{term}' has no definition", doc.loc((term,), key=True))
            continue
        out.append((str(term), " ".join(definition.split())))
    return out


def _front_matter_terms(article: Article) -> list[tuple[str, str]]:
    value = article.meta.get("glossary")
    if not isinstance(value, dict):
        return []
    return [(str(k), " ".join(v.split())) for k, v in value.items() if isinstance(v, str) and v.strip()]
