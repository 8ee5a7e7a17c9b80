"""The frozen values every stage shares: manifest -> vault -> selection -> book."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, SourceLocation
from .schema import keys_at

DIFFICULTY_ORDER = {"beginner": 0, "intermediate": 1, "advanced": 2}

Block = dict[str, Any]  # one pandoc JSON block; treated as immutable once a stage has returned it


# ---------------------------------------------------------------- manifest
@dataclass(frozen=True, slots=True)
class Entry:
    """One article entry of a chapter: a reference to one article, or a query that selects several.

    A query combines conditions, all of which must hold: a glob over paths, tags (any of them), and
    front-matter fields (the field's value is one of those given); `exclude` drops names or globs, and
    articles with any of the tags or field values its mappings give."""

    kind: str  # "ref" | "query"
    value: str = ""  # ref: a path, slug, alias or title
    glob: str | None = None
    tags: tuple[str, ...] = ()
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    exclude_where: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ("tag" or a field, values): any one leaves out
    sort: str | None = None
    location: SourceLocation | None = None
    keypath: str = ""
    keys: tuple[tuple[str, SourceLocation], ...] = ()  # where each front-matter key of `where` is written

    def describe(self) -> str:
        if self.kind == "ref":
            return repr(self.value)
        parts = ([f"glob: {self.glob}"] if self.glob else []) + ([f"tag: {', '.join(self.tags)}"] if self.tags else [])
        parts += [f"{k}: {', '.join(v)}" for k, v in self.where]
        return "{" + "; ".join(parts) + "}"


# The keys of a query entry (its other keys are front-matter fields), and those a chapter entry may carry.
QUERY_KEYS = tuple(sorted(keys_at("chapters[].articles[]")))  # the schema's (schema.py), as the reference says
ENTRY_KEYS = (*QUERY_KEYS, *sorted(keys_at("chapters[]")))


@dataclass(frozen=True, slots=True)
class ChapterSpec:
    title: str | None  # None: a chapter of one article, titled by the article
    entries: tuple[Entry, ...]
    location: SourceLocation
    keypath: str


@dataclass(frozen=True, slots=True)
class PartSpec:
    title: str | None  # None: the implicit part of a book without parts
    chapters: tuple[ChapterSpec, ...]
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class GlossarySettings:
    enabled: bool = True
    file: str | None = None
    harvest: bool = True
    min_definition: int = 12
    exclude: tuple[str, ...] = ()
    location: SourceLocation | None = None
    patterns: tuple[str, ...] = ("bullets", "definition_lists", "lead_in")  # what harvesting looks for


GLOSSARY_PATTERNS = ("bullets", "definition_lists", "lead_in")


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """The back-of-book index (`index:` in the manifest, when a mapping)."""

    exclude: tuple[str, ...] = ()  # never indexed
    include: tuple[str, ...] = ()  # always indexed, general or not
    max_share: float = 0.25  # a term in more of the book's articles than this is general: left out
    max_places: int = 12  # places an entry shows before "and N more"
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class MatterItem:
    """One entry of front_matter / back_matter: a generated section or a Markdown file of the vault."""

    kind: str  # "glossary" | "tag_index" | "index" | "file"
    path: str = ""  # for "file": POSIX path inside the knowledge base
    location: SourceLocation | None = None


GENERATED_SECTIONS = ("glossary", "tag_index", "index")
NUMBERING = ("none", "chapters", "lessons")


@dataclass(frozen=True, slots=True)
class LessonSettings:
    """What a lesson carries when `numbering: lessons`."""

    objectives: bool = True  # "In this lesson": the articles' summaries
    reading_list: bool = True  # from related_topics
    notes_page: bool = False  # a page for notes after each lesson, in print


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    title: str
    subtitle: str = ""
    authors: tuple[str, ...] = ()
    language: str = "en"
    date: str = ""
    edition: str = ""
    rights: str = ""
    description: str = ""
    source: Path = Path(".")
    theme: str = "default"
    formats: tuple[str, ...] = ("pdf", "epub", "docx")
    output_dir: Path = Path("build")
    output_name: str = "book"
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ("tag" or a field, allowed values): all must hold
    filter_exclude: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ("tag" or a field, values): any one leaves out
    links_outside: str = "footnote"
    links_base_url: str = ""
    links_text: str = "auto"  # a bare [[link]]: auto (as typed, a file name as the title) | typed | title
    glossary: GlossarySettings = field(default_factory=GlossarySettings)
    tag_index: bool = True
    index: bool = True
    index_settings: IndexSettings = field(default_factory=IndexSettings)
    numbering: str = "none"
    cover: str = ""  # an image inside the knowledge base (POSIX path), shown on the cover
    direction: str = "ltr"  # reading direction: ltr | rtl
    lessons: LessonSettings = field(default_factory=LessonSettings)
    front_matter: tuple[MatterItem, ...] = ()
    back_matter: tuple[MatterItem, ...] = tuple(MatterItem(k) for k in GENERATED_SECTIONS)
    tag_labels: tuple[tuple[str, str], ...] = ()
    properties: tuple[str, ...] = ()  # front-matter fields shown under each article's title (properties.py)
    parts: tuple[PartSpec, ...] = ()
    page_size: str = "A4"
    pdf_tagged: bool = False  # PDF/UA-1 with a structure tree
    pdf_sides: int = 2  # 2: facing pages (openers on the right); 1: every page alike
    epub_document_kb: int = 256  # no EPUB content document larger than this (backends/epubsplit.py)
    pdf_part_pages: int = 0  # render the PDF in parts of about this many pages (0: only when long; pdfparts.py)
    pdf_workers: int = 0  # processes laying out parts at once (0: one per core)
    allow_remote: bool = False  # download http(s) images (bounded) instead of showing a placeholder
    diagnostics_ignore: tuple[str, ...] = ()  # codes left out of the report (never an error)
    diagnostics_error: tuple[str, ...] = ()  # codes made errors
    location: SourceLocation | None = None


# ---------------------------------------------------------------- vault
@dataclass(frozen=True, slots=True)
class Article:
    """One Markdown article: front matter read, body parsed once into a pandoc tree."""

    path: str  # POSIX path relative to the knowledge-base root, with ".md"
    file: Path  # absolute path on disk
    slug: str  # file stem
    title: str
    meta: dict[str, Any]
    tags: tuple[str, ...]
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    difficulty: str
    kb_status: str
    last_updated: str
    summary: str
    body: str
    body_line: int  # line of the file on which the body starts (1-based)
    meta_lines: dict[str, int] = field(default_factory=dict)  # front-matter key -> line
    # what reading the file found (broken front matter, NUL bytes, ...): reported only by a book that selects
    # the article (select.report_problems) and by `publisher check --vault`
    problems: tuple[Diagnostic, ...] = ()
    readable: bool = True  # False: a file that could not be read (its name still resolves; its body is empty)
    meta_unknown: bool = False  # its front matter could not be read: which tags and fields it has is unknown
    blocks: tuple[Block, ...] = ()
    id: str = ""
    level: int = 1  # heading level of the article's title inside the book

    @property
    def difficulty_rank(self) -> int:
        return DIFFICULTY_ORDER.get(self.difficulty.lower(), len(DIFFICULTY_ORDER))

    def loc(self, line: int = 0, col: int = 0) -> SourceLocation:
        return SourceLocation(str(self.file), line, col)


# ---------------------------------------------------------------- book
@dataclass(frozen=True, slots=True)
class Chapter:
    title: str
    id: str
    articles: tuple[Article, ...]
    level: int  # heading level of the chapter title
    single: bool  # a chapter of one article, titled by it

    @property
    def number(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class Part:
    title: str | None
    id: str
    chapters: tuple[Chapter, ...]


@dataclass(frozen=True, slots=True)
class GlossaryEntry:
    term: str
    definition: tuple[Block, ...]  # pandoc inlines
    article_id: str  # where it is defined ("" for the curated file)
    anchor: str  # id of the place it is defined, or ""
    source: str  # "curated" | "harvested"
    id: str = ""
    expansion: str = ""  # the long form of an abbreviated term: "Generative AI" -> "Generative Artificial Intelligence"
    also: tuple[tuple[str, str], ...] = ()  # (article id, anchor) of other places that define the same term


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One term of the back-of-book index and every place in the prose where it occurs."""

    term: str
    occurrences: tuple[tuple[str, str], ...]  # (article id, anchor id), in reading order
    id: str = ""


@dataclass(frozen=True, slots=True)
class TagGroup:
    key: str  # folded tag
    label: str
    article_ids: tuple[str, ...]
    id: str = ""


@dataclass(frozen=True, slots=True)
class Book:
    manifest: Manifest
    parts: tuple[Part, ...]
    glossary: tuple[GlossaryEntry, ...] = ()
    tags: tuple[TagGroup, ...] = ()
    build_date: str = ""
    index: tuple[IndexEntry, ...] = ()
    front: tuple[Article, ...] = ()  # front_matter files, before the contents, in the manifest's order
    back: tuple[Article, ...] = ()  # the files of back_matter, in the manifest's order

    @property
    def every_article(self) -> tuple[Article, ...]:
        """Front matter, chapters' articles, back matter: all that links may reach. (The glossary, the index
        and the tag index gather from `articles`, the chapters, only.)"""
        return (*self.front, *self.articles, *self.back)

    @property
    def chapters(self) -> tuple[Chapter, ...]:
        return tuple(c for p in self.parts for c in p.chapters)

    @property
    def articles(self) -> tuple[Article, ...]:
        return tuple(a for c in self.chapters for a in c.articles)

    @property
    def has_parts(self) -> bool:
        return any(p.title for p in self.parts)

    def article(self, article_id: str) -> Article:
        for a in self.every_article:
            if a.id == article_id:
                return a
        raise KeyError(article_id)


def map_articles(book: Book, fn: Callable[[Article], Article], *, matter: bool = True) -> Book:
    """A new book with fn applied to every article, front and back matter included unless `matter` is
    false (the glossary harvest and the index, which gather from the chapters only); nothing mutated."""
    parts = tuple(
        replace(p, chapters=tuple(replace(c, articles=tuple(fn(a) for a in c.articles)) for c in p.chapters))
        for p in book.parts
    )
    if not matter:
        return replace(book, parts=parts)
    return replace(book, front=tuple(fn(a) for a in book.front), parts=parts, back=tuple(fn(a) for a in book.back))
