"""The manifest's schema: every key a manifest may hold, its type, default and meaning, with an example.

manifest.py takes the keys each mapping accepts from here (`keys_at`), so a key is accepted exactly when it is
described; `make docs` writes docs/manifest.md from it (`reference`), and a test checks that the file is
current and that every example loads."""

from __future__ import annotations

from dataclasses import dataclass

# A key's place: its names from the top, "[]" for "each item of a list" (parts[].chapters[].articles[].glob).
ANY_ITEM = "[]"


@dataclass(frozen=True, slots=True)
class Key:
    path: str  # "pdf.sides", "parts[].title"
    type: str
    default: str
    meaning: str
    example: str  # YAML, as a manifest holds it (the whole top-level entry)


KEYS: tuple[Key, ...] = (
    # ---- the book
    Key("title", "text", "(required)", "The book's title, on the cover, the title page and in the metadata.",
        "title: The AI Handbook"),
    Key("subtitle", "text", "none", "A subtitle under the title.", "subtitle: A field guide"),
    Key("authors", "list of text", "none", "The authors, in order, on the title page and in every format's metadata.",
        "authors: [Ada Lovelace, Alan Turing]"),
    Key("author", "text", "none", "One author; added after `authors` when both are given.", "author: Ada Lovelace"),
    Key("language", "text", "en", "The book's language (a BCP 47 tag): hyphenation, quotes, the EPUB and DOCX language.",
        "language: en-GB"),
    Key("date", "date", "SOURCE_DATE_EPOCH, else the newest `last_updated`",
        "The book's date on the title page and in the metadata; every date of a build comes from here.",
        "date: 2025-01-24"),
    Key("edition", "text", "none", "An edition statement on the title page.", "edition: First edition"),
    Key("rights", "text", "none", "The rights statement on the copyright page and in the metadata.",
        'rights: "CC BY 4.0"'),
    Key("description", "text", "none", "A description for the EPUB's and DOCX's metadata.",
        "description: Every published article of the knowledge base."),
    Key("cover", "path", "none (a typeset cover)", "A PNG or JPEG image inside the knowledge base, used as the PDF and EPUB cover.",
        "cover: images/cover.png"),
    Key("direction", "ltr | rtl", "ltr", "The EPUB's reading direction.", "direction: rtl"),
    # ---- where from, where to
    Key("source", "path", ". (the manifest's folder)", "The knowledge base: a folder of Markdown notes, relative to the manifest.",
        "source: kb"),
    Key("extends", "path", "none",
        "Take every key from another manifest (relative to this one) and override what this one sets; mappings "
        "such as `output` merge key by key, and `chapters` replaces `parts`.", "extends: handbook.yml"),
    Key("theme", "name", "default", "A theme: `themes/NAME` beside the manifest, else a built-in one.", "theme: default"),
    Key("formats", "list of format names", "[pdf, epub, docx]", "The formats `publisher build` writes (`publisher formats` lists them).",
        "formats: [pdf, epub]"),
    Key("output", "mapping", "{dir: build beside the manifest, name: the manifest's file name}",
        "Where the files go: `DIR/NAME.EXT`. `--out` overrides `dir`.", "output: {dir: ../build, name: handbook}"),
    Key("output.dir", "path", "build", "The output folder, relative to the manifest.", "output: {dir: ../build}"),
    Key("output.name", "file name", "the manifest's file name", "The files' name without suffix.", "output: {name: handbook}"),
    # ---- which notes
    Key("filter", "mapping of field to values", "none",
        "Front-matter conditions every article must meet, whatever selects it (an article named explicitly but "
        "filtered out is left out with a warning); `tag:` keeps articles with one of the tags, `exclude:` leaves out "
        "by tag or field as a query's exclude does.", "filter: {kb_status: [published], exclude: {tag: no-export}}"),
    Key("parts", "list of parts", "none (give `parts` or `chapters`)", "The level above chapters.",
        "parts:\n  - title: Foundations\n    chapters: [what-is-ai]"),
    Key("parts[].title", "text", "(required)", "The part's title.", "parts:\n  - title: Foundations\n    chapters: [what-is-ai]"),
    Key("parts[].chapters", "list of chapters", "(required)", "The part's chapters, as a top-level `chapters` list.",
        "parts:\n  - title: Foundations\n    chapters: [what-is-ai]"),
    Key("chapters", "list of chapters", "none (give `parts` or `chapters`)",
        "The book's chapters when it has no parts. A chapter is an article reference (a chapter of one article, "
        "titled by it) or a mapping with `title` and `articles`.",
        "chapters:\n  - what-is-ai\n  - title: Generative models\n    articles: [generative-ai-overview]"),
    Key("chapters[].title", "text", "(required with `articles`)", "The title of a chapter of several articles.",
        "chapters:\n  - title: Generative models\n    articles: [generative-ai-overview]"),
    Key("chapters[].articles", "list of articles", "(required with `title`)",
        "The chapter's articles, each an article reference or a query; they become its sections.",
        "chapters:\n  - title: Generative models\n    articles: [generative-ai-overview, {glob: 'ai/2_generative/*.md'}]"),
    Key("chapters[].articles[].path", "text", "none",
        "One article by path, file name, alias or title (a plain string means the same).",
        "chapters:\n  - title: Basics\n    articles: [{path: ai/0_fundamentals/what-is-ai.md}]"),
    Key("chapters[].articles[].glob", "glob", "none",
        "A query: the articles whose path matches (`*` stays in a folder, `**` crosses folders).",
        "chapters:\n  - title: Generative models\n    articles: [{glob: 'ai/2_generative/*.md'}]"),
    Key("chapters[].articles[].tag", "tag or list of tags", "none", "A query: the articles with any of these tags.",
        "chapters:\n  - title: Language models\n    articles: [{tag: [llm, transformers]}]"),
    Key("chapters[].articles[].exclude", "names or globs, and mappings of tag or field to values", "none",
        "Leaves articles out of the query's result: by name or glob, by tag (a tag takes its nested tags: "
        "`private` leaves out `private/draft` too) or by front-matter value; any one of them leaves an article out.",
        "chapters:\n  - title: Generative models\n    articles:\n      - {glob: 'ai/**/*.md', exclude: [history-of-ai, {tag: private, kb_status: draft}]}"),
    Key("chapters[].articles[].sort", "title | difficulty | last_updated | path", "the vault's order (path)",
        "The order of a query's articles (difficulty: beginner < intermediate < advanced); ties fall back to title, then path.",
        "chapters:\n  - title: Generative models\n    articles: [{glob: 'ai/2_generative/*.md', sort: title}]"),
    Key("chapters[].articles[].FIELD", "value or list of values", "none",
        "A query: the articles whose front-matter FIELD has one of these values (any field but the keys above).",
        "chapters:\n  - title: For beginners\n    articles: [{difficulty: beginner}]"),
    Key("front_matter", "list of Markdown files", "none",
        "Files of the knowledge base after the title page and before the contents (a preface, a syllabus).",
        "front_matter: [course/syllabus.md]"),
    Key("back_matter", "list of files and generated sections", "[glossary, tag_index, index]",
        "What follows the chapters, in order: Markdown files of the knowledge base and the generated sections "
        "`glossary`, `tag_index`, `index`.", "back_matter: [course/further-reading.md, glossary, index]"),
    # ---- what the normalizer adds
    Key("links", "mapping", "{outside: footnote}", "How links are treated.", "links: {outside: footnote}"),
    Key("links.outside", "footnote | text | keep", "footnote",
        "A link to an article the book leaves out: a footnote naming it, its text alone, or a link to "
        "`links.base_url` (keep).", "links: {outside: text}"),
    Key("links.base_url", "URL", "none", "Where the vault is published, for `outside: keep`.",
        "links: {outside: keep, base_url: 'https://example.org/kb/'}"),
    Key("links.text", "auto | typed | title", "auto",
        "What a link without its own text shows. `auto`: what the author typed, as Obsidian shows it (`[[router]]` "
        "shows \"router\", `[[Routers#Tables]]` \"Routers > Tables\"), except a target written as a file name or "
        "path (`[[what-is-ai]]`, `[[ai/what-is-ai]]`: lowercase words joined by `-` or `_`, or a `/`), which shows "
        "the target's title. `typed`: always what was typed; `title`: always the target's title (and heading). "
        "`[[note|text]]` and `[text](note.md)` always show their text.", "links: {text: typed}"),
    Key("glossary", "true | false | mapping", "true",
        "A glossary: a curated file, `glossary:` in front matter, and terms harvested from the articles.",
        "glossary: {file: glossary.yml}"),
    Key("glossary.file", "path", "none", "A curated glossary in the knowledge base (`Term: \"definition\"` lines); it wins over harvested terms.",
        "glossary: {file: glossary.yml}"),
    Key("glossary.harvest", "boolean", "true", "Harvest terms from the articles in the book.", "glossary: {harvest: false}"),
    Key("glossary.min_definition", "whole number", "12", "The shortest harvested definition kept, in characters.",
        "glossary: {min_definition: 20}"),
    Key("glossary.exclude", "list of terms", "none", "Terms never put in the glossary.", "glossary: {exclude: [Overview]}"),
    Key("glossary.patterns", "list of bullets | definition_lists | lead_in", "all three",
        "Where terms are harvested: `**Term**: definition` bullets, definition lists, an article's bold lead-in.",
        "glossary: {patterns: [bullets]}"),
    Key("properties", "list of front-matter fields", "none",
        "Front-matter fields shown under each article's title, in this order, as one line of text "
        "(`Difficulty: beginner · Last updated: 2025-01-24`): a list joined with commas, a date as YYYY-MM-DD, true "
        "and false as yes and no; a field an article lacks is left out.", "properties: [difficulty, last_updated]"),
    Key("tag_index", "boolean", "true", "A tag index: every tag and the articles that carry it.", "tag_index: false"),
    Key("tag_labels", "mapping of tag to label", "none", "How a tag is shown in the tag index.",
        'tag_labels: {llm: "Large language models"}'),
    Key("index", "true | false | mapping", "true",
        "A back-of-book index of the glossary terms and the terms articles list under `index:` in their front matter.",
        "index: false"),
    Key("index.exclude", "list of terms", "none", "Terms never put in the index (and never reported as general).",
        "index: {exclude: [data, model]}"),
    Key("index.include", "list of terms", "none",
        "Terms always indexed wherever they occur in the prose, even when they are general (see `max_share`).",
        "index: {include: [pipeline]}"),
    Key("index.max_share", "number above 0, at most 1", "0.25",
        "A term found in more than this share of the book's articles, and in more articles than `max_places`, is "
        "general: it is left out of the index with a warning naming it (`index.general-term`), unless `include` or "
        "`exclude` lists it. Only in a book of at least 8 articles.", "index: {max_share: 0.4}"),
    Key("index.max_places", "whole number", "12",
        "The places an entry shows (pages or page ranges in print; articles in the EPUB and DOCX, each with at most "
        "this many numbered occurrences), then \"and N more\".", "index: {max_places: 8}"),
    Key("numbering", "none | chapters | lessons", "none", "Chapter numbers: \"3. Title\" or \"Lesson 3: Title\".",
        "numbering: chapters"),
    Key("lessons", "mapping", "{objectives: true, reading_list: true, notes_page: false}",
        "With `numbering: lessons`, what each lesson carries.", "lessons: {notes_page: true}"),
    Key("lessons.objectives", "boolean", "true", "Open each lesson with \"In this lesson\": its articles' summaries.",
        "lessons: {objectives: false}"),
    Key("lessons.reading_list", "boolean", "true", "Close each lesson with a reading list from its articles' `related_topics`.",
        "lessons: {reading_list: false}"),
    Key("lessons.notes_page", "boolean", "false", "Close each lesson with a page for notes, in print.", "lessons: {notes_page: true}"),
    # ---- print
    Key("page_size", "A4 | Letter | A5", "A4", "The PDF's page size.", "page_size: Letter"),
    Key("pdf", "mapping", "{sides: 2, tagged: false}", "PDF settings.", "pdf: {sides: 1}"),
    Key("pdf.sides", "1 | 2", "2", "One- or two-sided layout (margins, running heads, chapters on a right-hand page).",
        "pdf: {sides: 1}"),
    Key("pdf.tagged", "boolean", "false", "A tagged PDF (PDF/UA-1) with a structure tree; always rendered whole.",
        "pdf: {tagged: true}"),
    Key("pdf.part_pages", "whole number", "automatic (parts of about 100 pages past about 600)",
        "Render the PDF in parts of about this many pages, merged into one file; a chapter estimated longer "
        "starts each of its articles on a new page, so a part may begin at any of them.", "pdf: {part_pages: 300}"),
    Key("pdf.workers", "whole number", "one per core", "Processes laying out the parts of a PDF rendered in parts at "
        "once (1: one process); the PDF is the same.", "pdf: {workers: 2}"),
    Key("diagnostics", "mapping", "{}", "Codes (README lists them) to leave out of the report or to make errors.",
        "diagnostics: {ignore: [image.alt], error: [link.unresolved]}"),
    Key("diagnostics.ignore", "list of codes", "none", "Diagnostics left out of the build's report (an error cannot be ignored).",
        "diagnostics: {ignore: [image.alt]}"),
    Key("diagnostics.error", "list of codes", "none", "Diagnostics that fail the build as errors.",
        "diagnostics: {error: [link.unresolved]}"),
    Key("epub", "mapping", "{max_document_kb: 256}", "EPUB settings.", "epub: {max_document_kb: 128}"),
    Key("epub.max_document_kb", "whole number from 8 to 256", "256",
        "No content document of the EPUB is larger than this many KB of XHTML: a longer chapter, glossary or index "
        "continues in the next document, cut before an article, else a heading, else a block.",
        "epub: {max_document_kb: 128}"),
    Key("allow_remote", "boolean", "false", "Download http(s) images (5 MB, 10 s each); otherwise a placeholder stands in.",
        "allow_remote: true"),
)

_BY_PATH = {k.path: k for k in KEYS}


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def keys_at(where: str) -> set[str]:
    """The keys a mapping at `where` accepts ("" for the top, "pdf", "parts[]", "chapters[]")."""
    return {k.path.rsplit(".", 1)[-1] for k in KEYS if _parent(k.path) == where and not k.path.endswith(".FIELD")}


def reference() -> str:
    """docs/manifest.md."""
    out = [
        "# The manifest",
        "",
        "<!-- Written by `make docs` from publisher/schema.py: edit that file, not this one. -->",
        "",
        "A manifest is a YAML file that makes one book of a knowledge base. Every key is below, with its type,",
        "its default and an example; `parts[].chapters` means the `chapters` key of each item of `parts`, and",
        "what is said of `chapters[]` holds for the chapters of a part too. A key that is not listed is an error",
        "with a did-you-mean.",
        "",
        "```yaml",
        "title: Home Networks",
        "source: kb",
        "chapters:",
        "  - what-is-a-network",
        "  - title: Handing Out Addresses",
        "    articles: [{tag: addressing, sort: title}]",
        "```",
        "",
        "| key | type | default |",
        "|---|---|---|",
    ]
    out += [f"| [`{k.path}`](#{_anchor(k.path)}) | {k.type} | {k.default} |" for k in KEYS]
    for k in KEYS:
        out += ["", f"## `{k.path}`", "", k.meaning, "", f"Type: {k.type}. Default: {k.default}.", "",
                "```yaml", k.example, "```"]
    return "\n".join(out) + "\n"


def _anchor(path: str) -> str:
    """GitHub's heading anchor of "`path`"."""
    return "".join(ch for ch in path.lower() if ch.isalnum() or ch in "-_ ").replace(" ", "-")
