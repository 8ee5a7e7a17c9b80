"""Every diagnostic's code: one registry, name -> default severity and one-line meaning.

A code is dotted lowercase, its area first (`link.unresolved`, `manifest.unknown-key`). It ends each printed
line (`... [link.unresolved]`), names a diagnostic in `--report`'s JSON Lines, and is what a manifest's
`diagnostics: {ignore: [...], error: [...]}` silences or promotes. tests/test_diagnostics.py fails when the
code base uses a code missing here (or at another severity), and when README's table differs from
markdown_table().
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    severity: str  # "error", "warning" or "info": what the code is unless a manifest promotes or ignores it
    meaning: str


def _codes(*rows: tuple[str, str, str]) -> dict[str, Code]:
    return {name: Code(severity, meaning) for name, severity, meaning in rows}


E, W, INFO = "error", "warning", "info"

CODES: dict[str, Code] = _codes(
    # the command line
    ("usage.arguments", E, "the command line is wrong"),
    ("usage.format", E, "a format no installed backend writes, or a backend that cannot be loaded"),
    ("serve.port", E, "publisher serve cannot listen on the port asked for (in use, not allowed, not a port)"),
    ("usage.output-not-a-folder", E, "the output folder given (--out, output.dir) is a file, or lies under one"),
    ("build.strict", E, "a build under --strict that ended with warnings; nothing written"),
    ("internal.error", E, "a bug of publisher's own (PUBLISHER_DEBUG=1 shows the traceback)"),
    # the manifest
    ("manifest.read", E, "the manifest file is missing or unreadable"),
    ("manifest.extends", E, "`extends` names no manifest, a cycle, or too deep a chain"),
    ("manifest.unknown-key", E, "a key the manifest does not know (with the nearest known key)"),
    ("manifest.required", E, "a required key or value is missing or empty"),
    ("manifest.type", E, "a value of the wrong kind (text, list, mapping, true/false)"),
    ("manifest.choice", E, "a value that is not one of the allowed choices"),
    ("manifest.value", E, "a value that is not allowed here (a path leaving the vault, a number out of range)"),
    ("manifest.not-found", E, "a folder, file, image or format the manifest names does not exist"),
    ("manifest.unknown-code", E, "`diagnostics:` names a code that does not exist (or ignores an error)"),
    ("manifest.theme", E, "the theme is missing, invalid or inherits from itself"),
    # YAML (manifests, front matter, glossary files)
    ("yaml.syntax", E, "the text is not valid YAML (a front matter's: see vault.front-matter)"),
    ("yaml.too-large", E, "YAML that expands to too many values (an alias bomb)"),
    ("yaml.duplicate-key", W, "a key given twice in a mapping; the last value is used"),
    # selecting the book's articles
    ("select.not-found", E, "the manifest names an article the knowledge base does not have"),
    ("select.ambiguous", E, "the manifest names an article several articles answer to"),
    ("select.duplicate", E, "the manifest names an article twice"),
    ("select.placed-once", W, "a front or back matter file already in the book; it is placed once"),
    ("select.filtered", W, "an article named explicitly is left out by the manifest's filter"),
    ("select.empty", W, "a chapter or query that selects no article"),
    ("select.nothing", E, "the manifest selects no article at all"),
    ("select.unknown-field", W, "a query names a front-matter field no article has"),
    ("select.empty-note", W, "a selected note with no text (or front matter only); left out"),
    ("select.nothing-left", E, "every note the manifest selects is left out (unreadable or empty)"),
    ("select.unknown-front-matter", E, "a tag or field query cannot tell whether a note whose front matter cannot be read belongs to it"),
    # the knowledge base
    ("vault.missing", E, "the knowledge-base folder does not exist"),
    ("vault.symlink", W, "a symbolic link that loops, leaves the knowledge base or leads nowhere; skipped"),
    ("vault.unreadable", E, "an article that is not a regular file, too large, or unreadable; skipped"),
    ("vault.encoding", E, "an article that is not UTF-8 text; skipped"),
    ("vault.front-matter-unclosed", E, "front matter without its closing '---'"),
    ("vault.front-matter", W, "front matter (or a field of it) ignored: not a mapping, not text"),
    ("vault.front-matter-invalid", E, "front matter that is not valid YAML: an error in a book that selects the note"),
    ("markdown.too-deep", E, "Markdown nested deeper than pandoc is allowed to read"),
    ("pandoc.timeout", E, "pandoc ran out of time and was stopped"),
    ("pandoc.failed", E, "pandoc failed"),
    ("comment.unclosed", W, "a '%%' comment that is never closed"),
    ("edition.condition", W, "a word in a conditional block that is neither a format nor edition=NAME"),
    # links and embeds
    ("link.unresolved", W, "a link to a note or file that does not exist"),
    ("link.ambiguous", W, "a link several notes answer to; the shortest path is used"),
    ("link.heading", W, "a link or embed to a heading or block the note does not have"),
    ("link.embed", W, "an embed the book cannot show (a cycle, too deep, a canvas, a missing image): a placeholder"),
    ("link.outside", INFO, "a link to a note the edition leaves out, handled by the manifest's links.outside"),
    ("link.block", W, "a link or embed to a block id the note does not have"),
    ("link.embed-cycle", W, "an embed that would include itself; a link to the note stands in for it"),
    ("link.alias", W, "a link inside a link's alias text, left out"),
    # raw HTML and images
    ("html.removed", W, "unsafe raw HTML, attributes, styles or links removed"),
    ("raw.removed", W, "raw content for another format (LaTeX, ...) removed"),
    ("image.alt", W, "an image without alt text"),
    ("image.remote", W, "a remote image not fetched"),
    ("image.outside", W, "an image outside the knowledge base, removed"),
    ("image.missing", W, "an image path inside the knowledge base that names no file"),
    ("image.data-url", W, "a data: URL image that is not PNG, JPEG, GIF or WebP, removed"),
    # generated sections
    ("glossary.file", E, "the glossary file is missing, unreadable or not a mapping"),
    ("glossary.definition", W, "a glossary term without a definition"),
    ("glossary.conflict", W, "a term the curated glossary defines twice, differently"),
    ("index.front-matter", W, "a front-matter `index` that is not a list of terms"),
    ("index.general-term", INFO, "a term found in so large a share of the articles that the index leaves it out (index.max_share)"),
    # the formats
    ("pdf.font", W, "the monospace font for diagrams is missing"),
    ("pdf.diagram-glyph", W, "a diagram character the PDF's monospace font lacks"),
    ("pdf.diagram-width", W, "a diagram too wide to print legibly"),
    ("pdf.glyph", W, "a character no installed font draws"),
    ("pdf.worker", E, "a PDF worker process ended before it had laid out its part (killed, or out of memory)"),
    ("pdf.engine", W, "a change publisher makes to WeasyPrint does not apply to the installed version: what is lost"),
    ("epub.removed", W, "raw HTML the book keeps but the EPUB's stricter profile leaves out (details and summary elements, styles), once per article"),
    ("math.invalid", W, "a formula that cannot be read; its TeX is shown"),
    ("render.mermaid", W, "mermaid diagrams are kept as code: no offline renderer"),
    ("output.write", E, "an output file or folder cannot be written"),
    ("output.locked", E, "another build is writing the same output"),
)


def markdown_table() -> str:
    """README's table of codes."""
    rows = ["| code | severity | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | {code.severity} | {code.meaning} |" for name, code in CODES.items()]
    return "\n".join(rows) + "\n"
