"""The glossary: curated terms (the manifest's glossary file, `glossary:` in front matter) win over terms
harvested from the articles in the book: "**Term**: definition" bullets, definition lists, and the bold
lead-in of an article's first paragraph ("**Term** is ...").

Duplicates merge across case, spacing, a plural 's' and an abbreviation ("Machine Learning (ML)" is
"Machine Learning" and "ML"). Two curated definitions that differ are reported, naming both places; a
harvested duplicate is silent and becomes an "also defined in" link of the entry it merges into.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path

from . import pandoc, tree, treeedit
from .collate import collation_key
from .diagnostics import SourceLocation
from .ids import IdAllocator, xml_id
from .model import Article, Book, GlossaryEntry, map_articles
from .vault import fold
from .yamlsrc import YamlError, load_yaml

SEPARATORS = (":", "\u2014", "\u2013")  # "**Term**: ...", "**Term** — ...", "**Term** – ..."
LEAD_VERBS = ("is", "are", "refers to", "involves", "means", "denotes", "describes", "stands for")
LEADING_ARTICLES = ("a ", "an ", "the ")
# "The history of AI is ...", "Types of AI are ...": a lead-in that names the article's topic, not a term
TOPIC_WORDS = {"history", "types", "kinds", "forms", "overview", "introduction", "basics", "fundamentals", "principles",
               "evolution", "future", "state", "anatomy", "role", "story"}
NOT_SENTENCE_ENDS = {"e.g.", "i.e.", "etc.", "vs.", "cf.", "dr.", "mr.", "mrs.", "ms.", "st.", "no.", "fig."}
NEAR_IDENTICAL = 0.9  # two definitions this similar (difflib ratio of their folded words) are one
PARENTHETICAL = re.compile(r"^(?P<long>.+?)\s*\((?P<short>[^()]+)\)$")

# What a harvested term must look like: a name, not a sentence (see is_term_name).
MAX_TERM_WORDS = 6
# A first word that makes the bold words a clause, not a name: third-person verbs, auxiliaries, and adverbs that
# open a pro or con in a list ("Allows you to ...", "Does not scale", "Often requires ...").
CLAUSE_OPENERS = frozenset("""
    adds allows avoids becomes brings can cannot could comes contains costs creates decreases depends does doesn't
    enables fails gets gives handles has have helps implies improves includes increases integrates is isn't keeps
    lacks leads lets makes may means might must needs offers provides reduces relies requires runs saves scales
    seems should ships stores supports takes tends uses was were will won't works would
    also always never often only rarely sometimes usually very
""".split())
# Verbs that make a clause wherever they stand ("Data is a first-class citizen").
FINITE_VERBS = frozenset("is isn't are aren't was wasn't were weren't does doesn't can can't cannot will won't".split())
# Words that follow a verb, not a noun: "Scales with the data", "Integrates into ...", "Runs well".
AFTER_VERB = frozenset("""a an the you your it its they them their we us our this that these those not no to with without
    into onto on for from by at well more less many much any all some""".split())
ABBREVIATION = re.compile(r"(?:\w\.){2,}")  # "U.S.", "Ph.D.": a final dot that ends no sentence


# ---------------------------------------------------------------- keys
def term_key(term: str) -> str:
    """Duplicates merge across case, spacing and a plural 's'."""
    key = " ".join(fold(term).split())
    if key.endswith("s") and not key.endswith("ss") and len(key) > 3:
        key = key[:-1]
    return key


def split_parenthetical(term: str) -> tuple[str, str]:
    """"Generative Adversarial Network (GAN)" -> ("Generative Adversarial Network", "GAN"); else (term, "")."""
    m = PARENTHETICAL.match(term.strip())
    return (m["long"].strip(), m["short"].strip()) if m else (term.strip(), "")


def names_of(term: str, expansion: str = "") -> list[str]:
    """Every name a term goes by: as written, its long form and abbreviation, its expansion."""
    long, short = split_parenthetical(term)
    return list(dict.fromkeys(n for n in (term, long, short, expansion) if n))


def same_text(a: str, b: str) -> bool:
    """Near-identical definitions (case, punctuation, a word or two) are not worth a warning."""
    wa, wb = re.findall(r"\w+", fold(a)), re.findall(r"\w+", fold(b))
    return wa == wb or SequenceMatcher(None, wa, wb).ratio() >= NEAR_IDENTICAL


# ---------------------------------------------------------------- what a term is
def is_term_name(term: str) -> bool:
    """A harvested term is a name, not a sentence or a clause: at most MAX_TERM_WORDS words (an abbreviation in
    parentheses after them not counted: "NIST AI Risk Management Framework (AI RMF)"); no ';' and no '.',
    '?' or '!' at its end (an abbreviation like "U.S." aside); no finite verb among its words after the first
    ("Data is a first-class citizen"); and it does not open with a verb form: a word of CLAUSE_OPENERS ("Allows",
    "Does", "Uses", "Often"), or a word ending in "s" (not "ss", "us", "is", "ics") followed by a word that
    follows verbs, not nouns (AFTER_VERB: "a", "the", "you", "with", "not", ...) or by an "-ly" adverb. A word in
    capitals ("CAN bus") is a name, never a verb. Curated terms (glossary.yml, front matter) are never judged."""
    words = term.split()
    if not words or len(split_parenthetical(term)[0].split()) > MAX_TERM_WORDS or ";" in term:
        return False
    if term.endswith(("?", "!")) or (term.endswith(".") and not ABBREVIATION.fullmatch(words[-1])):
        return False
    first = words[0]
    if any(w in FINITE_VERBS for w in words[1:]):
        return False
    if first.isupper() and len(first) > 1:
        return True
    if first.casefold() in CLAUSE_OPENERS:
        return False
    low = first.casefold()
    if len(words) > 1 and len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "is", "ics")):
        second = words[1]
        if second in AFTER_VERB or (second.islower() and second.endswith("ly")):
            return False
    return True


# ---------------------------------------------------------------- harvesting patterns
def split_lead(inlines: list) -> tuple[str, list] | None:
    """'**Term**: definition' -> ('Term', definition inlines), or None."""
    if not inlines or inlines[0].get("t") != "Strong":
        return None
    term = tree.stringify(inlines[0]["c"]).strip()
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


def split_lead_in(inlines: list) -> tuple[str, str, list] | None:
    """A first paragraph opening "**A Term (T)** is ..." -> ("T", "Term", its first sentence), or None.

    The bold words must be followed by a defining verb (is, are, refers to, involves, ...); a leading
    article is dropped; an abbreviation in parentheses becomes the term and the words before it its expansion."""
    if len(inlines) < 3 or inlines[0].get("t") != "Strong" or inlines[1].get("t") != "Space":
        return None
    words = [n["c"].lower() for n in inlines[2:6] if n.get("t") == "Str"]
    if not any(" ".join(words).startswith(verb + " ") or " ".join(words) == verb for verb in LEAD_VERBS):
        return None
    term = " ".join(tree.stringify(inlines[0]["c"]).split())
    for article in LEADING_ARTICLES:
        if term.lower().startswith(article) and len(term) > len(article):
            term = term[len(article):]
    words = term.lower().split()
    if len(words) > 2 and words[0] in TOPIC_WORDS and words[1] in ("of", "in", "to"):
        return None
    first_word = term.split(" ", 1)[0]
    if first_word.islower():
        term = term[:1].upper() + term[1:]
    long, short = split_parenthetical(term)
    term, expansion = (short, long) if short else (term, "")
    sentence = first_sentence([*inlines[0]["c"], *inlines[1:]])
    return (term, expansion, sentence) if term else None


def first_sentence(inlines: list) -> list:
    """The inlines up to the end of the first sentence (a top-level word ending in . ! or ?)."""
    for i, node in enumerate(inlines):
        if node.get("t") != "Str" or not node["c"].endswith((".", "!", "?")) or node["c"].lower() in NOT_SENTENCE_ENDS:
            continue
        after = inlines[i + 1:]
        if not after or (after[0].get("t") in ("Space", "SoftBreak") and (len(after) < 2 or _starts_sentence(after[1]))):
            return inlines[: i + 1]
    return list(inlines)


def _starts_sentence(node: dict) -> bool:
    text = tree.stringify(node)
    return not text or not text[0].islower()


# ---------------------------------------------------------------- collecting
@dataclass(frozen=True, slots=True)
class Place:
    """Where a curated definition is written: an article (its id, "" for the glossary file) and the line."""

    article_id: str
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class Found:
    """A definition as found, before merging: the entry and where its text comes from."""

    entry: GlossaryEntry
    where: SourceLocation | None


class Glossary:
    """Merges definitions as they are found; curated ones come first."""

    def __init__(self, settings, reporter):
        self.reporter = reporter
        self.excluded = {term_key(t) for t in settings.exclude}
        self.entries: list[Found] = []
        self.keys: dict[str, int] = {}

    def add(self, found: Found) -> None:
        e = found.entry
        keys = [term_key(n) for n in names_of(e.term, e.expansion)]
        if self.excluded & set(keys):
            return
        index = next((self.keys[k] for k in keys if k in self.keys), None)
        if index is None:
            self.entries.append(found)
            for k in keys:
                self.keys.setdefault(k, len(self.entries) - 1)
            return
        old = self.entries[index]
        if e.source == "curated" and old.entry.source == "curated":
            if not same_text(tree.stringify(list(e.definition)), tree.stringify(list(old.entry.definition))):
                self.reporter.warning(
                    f"glossary term '{e.term}' is defined differently at {old.where}; that definition is kept",
                    found.where, code="glossary.conflict")
            return
        if e.article_id and (e.article_id, e.anchor) != (old.entry.article_id, old.entry.anchor):
            also = (*old.entry.also, (e.article_id, e.anchor))
            self.entries[index] = replace(old, entry=replace(old.entry, also=also))

    def finished(self) -> tuple[GlossaryEntry, ...]:
        ordered = sorted((f.entry for f in self.entries), key=lambda e: collation_key(e.term))
        ids = IdAllocator()
        return tuple(replace(e, id=ids.take("gl-" + xml_id(e.term, "t"))) for e in ordered)


def collect_glossary(book: Book, ctx) -> Book:
    settings = book.manifest.glossary
    if not settings.enabled:
        return book
    glossary = Glossary(settings, ctx.reporter)
    curated = _curated(book, ctx) + [t for a in book.articles for t in _front_matter_terms(a)]
    for (term, _, place), definition in zip(curated, parse_definitions([d for _, d, _ in curated]), strict=True):
        entry = GlossaryEntry(term, tuple(definition), place.article_id, place.article_id, "curated")
        glossary.add(Found(entry, place.location))
    if settings.harvest and not getattr(ctx, "check", False):  # `publisher check`: harvesting reports nothing
        book = map_articles(book, lambda a: harvest(a, settings, glossary), matter=False)
    return replace(book, glossary=glossary.finished())


def harvest(article: Article, settings, glossary: Glossary) -> Article:
    """Harvest one article; every harvested term gets an anchor (a Span around it) to link to."""
    patterns = set(settings.patterns)
    anchors = fresh_ids(f"{article.id}--g", taken_ids(article.blocks))

    def add(term: str, definition: list, anchor: str, expansion: str = "") -> bool:
        if len(tree.stringify(definition)) < settings.min_definition or not is_term_name(term):
            return False
        entry = GlossaryEntry(term, tuple(clean_definition(definition)), article.id, anchor, "harvested", expansion=expansion)
        glossary.add(Found(entry, article.loc()))
        return True

    same = tree.same  # copied only where something changed

    def element(block: dict) -> dict:
        t = block["t"]
        if t == "BulletList":
            items = []
            for item in block["c"]:  # an item's first block, then the rest (the anchors are numbered in this order)
                head = lead_term(item[0]) if item else None
                rest = tree.rebuild(item if head is None else item[1:], element)
                items.append(same(rest if head is None else [head, *rest], item))
            c = same(items, block["c"])
            return block if c is block["c"] else {"t": t, "c": c}
        if t == "DefinitionList":
            if "definition_lists" not in patterns:
                return block
            c = same([same(visit_definition(term, defs), entry) for entry in block["c"] for term, defs in [entry]],
                     block["c"])
            return block if c is block["c"] else {"t": t, "c": c}
        if t in ("BlockQuote", "Div", "OrderedList"):
            return tree.rebuild_children(block, element)
        return block

    def lead_term(block: dict) -> dict | None:
        """A list item's first paragraph with its "**Term**: definition" marked; None where no term is looked for."""
        if block.get("t") not in ("Plain", "Para") or "bullets" not in patterns:
            return None
        lead = split_lead(block["c"])
        if lead is None:
            return block
        anchor = next(anchors)
        if not add(*lead, anchor):
            return block
        return {"t": block["t"], "c": [tree.span([block["c"][0]], ident=anchor, classes=["term"]), *block["c"][1:]]}

    def visit_definition(term: list, defs: list) -> list:
        first = defs[0][0] if defs and defs[0] else None
        if first is None or first.get("t") not in ("Plain", "Para"):
            return [term, defs]
        anchor = next(anchors)
        if not add(tree.stringify(term).strip(), first["c"], anchor):
            return [term, defs]
        return [[tree.span(term, ident=anchor, classes=["term"])], defs]

    blocks = tree.rebuild(list(article.blocks), element)
    if "lead_in" in patterns:
        blocks = lead_in(blocks, add, anchors)
    return replace(article, blocks=tuple(blocks))


def lead_in(blocks: list, add, anchors) -> list:
    """The first paragraph of the article, when it opens with a bold term and a defining verb."""
    first = next((i for i, b in enumerate(blocks) if b.get("t") == "Para"), None)
    if first is None:
        return blocks
    inlines = blocks[first]["c"]
    found = split_lead_in(inlines)
    if found is None:
        return blocks
    term, expansion, sentence = found
    anchor = next(anchors)
    if not add(term, sentence, anchor, expansion):
        return blocks
    marked = {"t": "Para", "c": [tree.span([inlines[0]], ident=anchor, classes=["term"]), *inlines[1:]]}
    return [*blocks[:first], marked, *blocks[first + 1:]]


# ---------------------------------------------------------------- helpers
def taken_ids(blocks) -> set[str]:
    return tree.ids_of_blocks(blocks)


def fresh_ids(prefix: str, taken: set[str]):
    """prefix1, prefix2, ... skipping any id the article already uses."""
    n = 0
    while True:
        n += 1
        if f"{prefix}{n}" not in taken:
            yield f"{prefix}{n}"


def clean_definition(inlines: list) -> list:
    """A definition as the glossary shows it: no ids (they stay in the article), no source positions,
    the first letter capitalised."""

    out = list(treeedit.strip_attrs(list(inlines), ids=True))
    if out and out[0].get("t") == "Str" and out[0]["c"][:1].islower():
        out[0] = {"t": "Str", "c": out[0]["c"][:1].upper() + out[0]["c"][1:]}
    return out


def parse_definitions(texts: list[str]) -> list[list]:
    """Curated definitions are inline Markdown: parsed in one pandoc call, one paragraph each."""
    if not texts:
        return []
    blocks = json.loads(pandoc.run_pandoc(["-f", "commonmark_x", "-t", "json"], "\n\n".join(texts)))["blocks"]
    if len(blocks) == len(texts) and all(b.get("t") == "Para" for b in blocks):
        return [_plain_links(b["c"]) for b in blocks]
    return [tree.text_inlines(t) for t in texts]  # a definition that is not one paragraph is shown as written


def _plain_links(inlines: list) -> list:
    """Links in a curated definition keep only web addresses; a link into the vault becomes its text."""
    out = []
    for node in inlines:
        if node.get("t") == "Link" and not node["c"][2][0].startswith(("http://", "https://", "mailto:")):
            out.extend(node["c"][1])
        else:
            out.append(node)
    return out


def _curated(book: Book, ctx) -> list[tuple[str, str, Place]]:
    name = book.manifest.glossary.file
    if not name:
        return []
    file = (book.manifest.source / name)
    if not file.resolve().is_relative_to(Path(book.manifest.source).resolve()) or not file.is_file():
        ctx.reporter.error(f"glossary: no file '{name}' in the knowledge base", book.manifest.glossary.location, code="glossary.file")
        return []
    try:
        doc, warnings = load_yaml(file.read_text(encoding="utf-8"), str(file))
    except YamlError as exc:
        ctx.reporter.add(exc.diagnostic)
        return []
    except (OSError, UnicodeDecodeError) as exc:
        ctx.reporter.error(f"cannot read the glossary: {exc}", book.manifest.glossary.location, code="glossary.file")
        return []
    ctx.reporter.extend(warnings)
    if not isinstance(doc.value, dict):
        ctx.reporter.error("a glossary file is a mapping of term to definition", doc.loc(()), code="glossary.file")
        return []
    out = []
    for term, definition in doc.value.items():
        where = doc.loc((term,), key=True)
        if not isinstance(definition, str) or not definition.strip():
            ctx.reporter.warning(f"glossary term '{term}' has no definition", where, code="glossary.definition")
            continue
        out.append((str(term), " ".join(definition.split()), Place("", where)))
    return out


def _front_matter_terms(article: Article) -> list[tuple[str, str, Place]]:
    value = article.meta.get("glossary")
    if not isinstance(value, dict):
        return []
    start = article.meta_lines.get("glossary", 0)
    return [(str(k), " ".join(v.split()), Place(article.id, article.loc(_key_line(article, str(k), start))))
            for k, v in value.items() if isinstance(v, str) and v.strip()]


def _key_line(article: Article, key: str, start: int) -> int:
    """The front-matter line that defines `key` under `glossary:` (the line of `glossary:` if not found)."""
    try:
        lines = article.file.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return start
    for n in range(start, min(len(lines), article.body_line)):
        text = lines[n].strip().strip("\"'")
        if text.startswith(key) and text[len(key):].lstrip("\"'").startswith(":"):
            return n + 1
    return start
