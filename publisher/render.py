"""What every backend renders from: the book's chapters and back matter as pandoc blocks, and pandoc's
HTML for them. Backends differ in packaging, not in what the book says."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from . import pandoc, tree
from .collate import letter_of
from .collector import collector_paused
from .highlight import colour_code
from .ids import xml_id
from .model import Article, Book, Chapter
from .rawhtml import tokenize

GLOSSARY_ID = "glossary"
TAG_INDEX_ID = "tag-index"
INDEX_ID = "index"


def chapter_blocks(chapter: Chapter, start: int = 0, stop: int | None = None) -> list[dict]:
    """A chapter's heading, then each article (under its own heading when the chapter has several); with
    `start` and `stop`, those of its articles alone, under the chapter's heading only when `start` is 0."""
    blocks = [] if start else [tree.header(chapter.level, chapter.id, tree.text_inlines(chapter.title), classes=["chapter"])]
    for article in chapter.articles[start:stop]:
        if not chapter.single:
            blocks.append(tree.header(article.level, article.id, tree.text_inlines(article.title), classes=["article"]))
        blocks.extend(article.blocks)
    return blocks


def matter_section(article: Article) -> tuple[str, str, list[dict]]:
    """(id, title, blocks) of a front or back matter file: its title as an unnumbered level-1 heading, then its body."""
    heading = tree.header(1, article.id, tree.text_inlines(article.title), classes=["unnumbered", "matter"])
    return article.id, article.title, [heading, *article.blocks]


def front_matter(book: Book) -> list[tuple[str, str, list[dict]]]:
    """(id, title, blocks) of each front matter file, in the manifest's order."""
    return [matter_section(a) for a in book.front]


def back_matter(book: Book, level: int = 1, pages: dict[str, int] | None = None) -> list[tuple[str, str, list[dict]]]:
    """(id, title, blocks) of each back matter section, files and generated sections mixed in the order the
    manifest's back_matter gives.

    `pages` (anchor id -> page index, from a first rendering) makes the index list page numbers (print)."""
    files = {a.path: a for a in book.back}
    sections = []
    for item in book.manifest.back_matter:
        if item.kind == "file" and item.path in files:
            sections.append(matter_section(files[item.path]))
        elif item.kind == "glossary" and book.glossary:
            sections.append((GLOSSARY_ID, "Glossary", glossary_blocks(book, level)))
        elif item.kind == "tag_index" and book.tags:
            sections.append((TAG_INDEX_ID, "Tag index", tag_index_blocks(book, level)))
        elif item.kind == "index" and book.index:
            sections.append((INDEX_ID, "Index", index_blocks(book, level, pages)))
    return sections


def _letter_header(section: str, letter: str, level: int) -> dict:
    ident = f"{section}-{xml_id(letter, 'other') if letter.isalpha() else 'other'}".lower()
    return tree.header(min(6, level + 1), ident, tree.text_inlines(letter), classes=["unnumbered", "letter"])


def _xref(title: str, anchor: str) -> dict:
    return tree.link(tree.text_inlines(title), "#" + anchor, ["xref"])


def glossary_blocks(book: Book, level: int) -> list[dict]:
    """Letter groups of terms, each with its definition and the places that define it ("see ...")."""
    titles = {a.id: a.title for a in book.articles}
    blocks: list[dict] = [tree.header(level, GLOSSARY_ID, tree.text_inlines("Glossary"), classes=["unnumbered", "glossary"])]
    current = None
    items: list = []

    def flush():
        if items:
            blocks.append({"t": "DefinitionList", "c": list(items)})
            items.clear()

    for entry in book.glossary:
        letter = letter_of(entry.term)
        if letter != current:
            flush()
            current = letter
            blocks.append(_letter_header(GLOSSARY_ID, letter, level))
        definition = list(entry.definition)
        places = ([(entry.article_id, entry.anchor)] if entry.article_id else []) + list(entry.also)
        if places:
            refs: list = []
            for article_id, anchor in places:
                refs += [{"t": "Str", "c": ";"}, {"t": "Space"}] if refs else []
                refs.append(_xref(titles[article_id], anchor))
            definition += [{"t": "Space"}, tree.span([*tree.text_inlines("(see "), *refs, {"t": "Str", "c": ")"}], classes=["defined-in"])]
        term = [tree.span(tree.text_inlines(entry.term), ident=entry.id, classes=["gloss-term"])]
        if entry.expansion:
            term += [{"t": "Space"}, tree.span(tree.text_inlines(f"({entry.expansion})"), classes=["expansion"])]
        items.append([term, [[tree.plain(definition)]]])
    flush()
    return blocks


def tag_index_blocks(book: Book, level: int) -> list[dict]:
    titles = {a.id: a.title for a in book.articles}
    blocks: list[dict] = [tree.header(level, TAG_INDEX_ID, tree.text_inlines("Tag index"), classes=["unnumbered", "tag-index"])]
    for group in book.tags:
        links = [[tree.plain([tree.link(tree.text_inlines(titles[i]), "#" + i, ["xref"])])] for i in group.article_ids]
        blocks.append(tree.div([tree.para([tree.span(tree.text_inlines(group.label), ident=group.id, classes=["tag"])]), tree.bullet_list(links)],
                             classes=["tag-group", "nested"] if "/" in group.key else ["tag-group"]))
    return blocks


def index_blocks(book: Book, level: int, pages: dict[str, int] | None = None) -> list[dict]:
    """Letter groups of terms, each followed by where it occurs: links to every occurrence, grouped by
    article ("Neural Networks (1, 2, 3); History of AI"), or, given `pages`, page numbers with ranges."""
    titles = {a.id: a.title.split(": ")[0].strip() for a in book.articles}
    limit = book.manifest.index_settings.max_places
    blocks: list[dict] = [tree.header(level, INDEX_ID, tree.text_inlines("Index"), classes=["unnumbered", "index"])]
    current, paras = None, []
    for entry in book.index:
        refs = (page_refs(entry.occurrences, pages, limit) if pages is not None
                else article_refs(entry.occurrences, titles, limit))
        if not refs:
            continue
        letter = letter_of(entry.term)
        if letter != current:
            if paras:
                blocks.append(tree.div(paras, classes=["index-group"]))
            current, paras = letter, []
            blocks.append(_letter_header(INDEX_ID, letter, level))
        term = tree.span(tree.text_inlines(entry.term), ident=entry.id, classes=["ix-term"])
        paras.append(tree.para([term, {"t": "Str", "c": ","}, {"t": "Space"}, *refs]))
    if paras:
        blocks.append(tree.div(paras, classes=["index-group"]))
    return blocks


def _more(n: int) -> list[dict]:
    return tree.text_inlines(f"and {n} more")


def article_refs(occurrences, titles: dict[str, str], limit: int = 0) -> list[dict]:
    """Each article the term occurs in, linked to its first occurrence, with numbered links to every one
    ("History of AI (1, 2, 3)"); at most `limit` articles and numbers in each, then "and N more" (0: all)."""
    by_article: dict[str, list[str]] = {}
    for article_id, anchor in occurrences:
        by_article.setdefault(article_id, []).append(anchor)
    shown = list(by_article.items())[:limit] if limit else list(by_article.items())
    out: list[dict] = []
    for article_id, anchors in shown:
        if out:
            out += [{"t": "Str", "c": ";"}, {"t": "Space"}]
        out.append(tree.link(tree.text_inlines(titles[article_id]), "#" + anchors[0], ["ix-ref"]))
        if len(anchors) > 1:
            numbered = anchors[:limit] if limit else anchors
            numbers = [tree.link([{"t": "Str", "c": str(n)}], "#" + a, ["ix-ref"]) for n, a in enumerate(numbered, 1)]
            if len(anchors) > len(numbered):
                numbers.append(tree.span(_more(len(anchors) - len(numbered)), classes=["ix-more"]))
            out += [{"t": "Space"}, {"t": "Str", "c": "("}, *_joined(numbers), {"t": "Str", "c": ")"}]
    if len(shown) < len(by_article):
        out += [{"t": "Str", "c": ";"}, {"t": "Space"}, *_more(len(by_article) - len(shown))]
    return out


def page_refs(occurrences, pages: dict[str, int], limit: int = 0) -> list[dict]:
    """Page numbers, consecutive pages merged into ranges (12, 15–17); each number links to the first
    occurrence on its page. `pages` maps an anchor to the page number as printed (the PDF's folio). At most
    `limit` numbers and ranges, then "and N more" (the pages left out; 0: all)."""
    first: dict[int, str] = {}
    for _, anchor in occurrences:
        if anchor in pages:
            first.setdefault(pages[anchor], anchor)
    numbers = sorted(first)
    ranges: list[list[int]] = []
    for n in numbers:
        if ranges and n == ranges[-1][-1] + 1:
            ranges[-1].append(n)
        else:
            ranges.append([n])
    out = []
    for r in ranges:
        link = [tree.link([{"t": "Str", "c": str(r[0])}], "#" + first[r[0]], ["ix-page"])]
        if len(r) > 1:
            link += [{"t": "Str", "c": "\u2013"}, tree.link([{"t": "Str", "c": str(r[-1])}], "#" + first[r[-1]], ["ix-page"])]
        out.append(link)
    if limit and len(ranges) > limit:
        out = [*out[:limit], _more(sum(len(r) for r in ranges[limit:]))]
    return [x for i, group in enumerate(out) for x in ([{"t": "Str", "c": ","}, {"t": "Space"}] if i else []) + group]


def targets(fragments: Iterable[list[dict]]) -> tuple[list[str], set[str]]:
    """The names these lists of blocks link to within the document (a link to `#name`), each once in reading
    order, and the ids their elements carry: read from the trees, and from the tags of their raw HTML
    (the sanitizer's, read as it reads them)."""
    links: dict[str, None] = {}
    ids: set[str] = set()
    for blocks in fragments:
        for node in tree.walk(blocks):
            t = node["t"]
            at = tree.ATTR_AT.get(t)
            if at is not None and node["c"][at][0]:
                ids.add(node["c"][at][0])
            if t == "Link" and node["c"][2][0].startswith("#"):
                links.setdefault(unquote(node["c"][2][0][1:]))
            elif t in ("RawBlock", "RawInline") and node["c"][0] in ("html", "html5"):
                for token in tokenize(node["c"][1]):
                    for name, value in token[2] if token[0] == "start" else ():
                        if name == "id" and value:
                            ids.add(value)
                        elif name == "href" and value and value.startswith("#"):
                            links.setdefault(unquote(value[1:]))
    links.pop("", None)
    return list(links), ids


def _joined(items: list[dict]) -> list[dict]:
    out: list[dict] = []
    for item in items:
        out += [{"t": "Str", "c": ","}, {"t": "Space"}, item] if out else [item]
    return out


HTML_ARGS = ["-f", "json", "-t", "html5", "--wrap=none", "--syntax-highlighting=none"]


# A fragment longer than this (its tree_bytes) goes to pandoc in runs of its top-level blocks, each about this
# long, and their HTML is joined: the same text (pandoc's HTML writer writes a document's top-level blocks one
# after another, a newline between them: what write_fragments' batches rely on), with a pandoc run's memory
# bounded by a run's size, not by a chapter's. The whole-vault chapter of the N=1000 bench (every article in
# one chapter) was one run of 664 MB beside the DOCX writer's; runs of 2 MB took about 180 MB each.
PIECE_BYTES = 2_000_000


def _runs(blocks: list[dict], fingerprint: bytes, limit: int) -> list[tuple[list[dict], bytes]]:
    """(blocks, tree_bytes) of each run of `blocks` to write (see PIECE_BYTES): one when it is short."""
    if len(fingerprint) <= limit:
        return [(blocks, fingerprint)]
    runs, run, size = [], [], 0
    for block in blocks:
        n = len(tree.tree_bytes(block))
        if run and size + n > limit:
            runs.append(run)
            run, size = [], 0
        run.append(block)
        size += n
    runs.append(run)
    return [(r, tree.tree_bytes(r)) for r in runs]


def to_html(fragments: list[list[dict]], *, extra: list[str] | None = None, limit: int = PIECE_BYTES) -> list[str]:
    """Each list of blocks as an HTML5 fragment, its notes at its own end as pandoc writes them.

    Written together in few pandoc calls and cached fragment by fragment (pandoc.write_fragments): each
    fragment carries its own notes (`notes_at_end`), so its HTML depends on nothing else; a long fragment in
    runs of its blocks (PIECE_BYTES, `limit`). `extra` may not turn line wrapping on (the words are joined)."""
    runs: list[list[dict]] = []
    fingerprints: list[bytes] = []
    counts: list[int] = []  # runs of each fragment
    with collector_paused():  # a walk over millions of small objects: see collector.collector_paused
        for blocks in fragments:
            fingerprint = tree.tree_bytes(blocks)
            if b"CodeBlock" in fingerprint:  # (or a word in the text: then nothing is changed)
                blocks = colour_code(blocks)
                fingerprint = tree.tree_bytes(blocks)
            if b"Note" in fingerprint:
                blocks = notes_at_end(blocks)
                fingerprint = tree.tree_bytes(blocks)
            pieces = _runs(blocks, fingerprint, limit)
            counts.append(len(pieces))
            for run, run_fingerprint in pieces:
                runs.append(run)
                fingerprints.append(run_fingerprint)
    # --wrap=none: a Space is written as " ", so words may be joined (pandoc.join_words)
    written = pandoc.write_fragments([*HTML_ARGS, *(extra or [])], runs, fingerprints, joined=True)
    out, at = [], 0
    for n in counts:
        out.append("".join(written[at:at + n]))
        at += n
    return out


NOTES_ID = "footnotes"


def _note_link(ident: str, target: str, role: str, inlines: list[dict]) -> dict:
    cls = "footnote-ref" if role == "doc-noteref" else "footnote-back"
    return {"t": "Link", "c": [tree.attr(ident, [cls], [("role", role)]), inlines, ["#" + target, ""]]}


def notes_at_end(blocks: list[dict]) -> list[dict]:
    """The blocks with each note replaced by a reference to it, and after them a div of the notes, each a div
    of its own in a numbered list and ending with a link back: pandoc's HTML writer does so for a whole
    document; done here, as a tree, a fragment's notes stay with it when several fragments are written in one
    call (xhtml.fragment gives the div pandoc's form: a section whose list items are the notes). A note inside
    a note is numbered after the others, as it is met. The blocks themselves are not changed."""
    notes: list[list[dict]] = []

    def element(node: dict):
        if node["t"] != "Note":
            return tree.rebuild_children(node, element)
        notes.append(node["c"])
        n = len(notes)
        return _note_link(f"fnref{n}", f"fn{n}", "doc-noteref", [{"t": "Superscript", "c": [{"t": "Str", "c": str(n)}]}])

    out = tree.rebuild(list(blocks), element)
    items = []
    while len(items) < len(notes):
        n = len(items) + 1
        body = list(tree.rebuild(notes[n - 1], element))
        back = _note_link("", f"fnref{n}", "doc-backlink", [{"t": "Str", "c": "\u21a9\ufe0e"}])
        if body and body[-1].get("t") in ("Para", "Plain"):
            body[-1] = {"t": body[-1]["t"], "c": [*body[-1]["c"], back]}
        else:
            body.append(tree.plain([back]))
        items.append([tree.div(body, f"fn{n}")])
    if not items:
        return out
    listed = {"t": "OrderedList", "c": [[1, {"t": "DefaultStyle"}, {"t": "DefaultDelim"}], items]}
    return [*out, tree.div([{"t": "HorizontalRule"}, listed], NOTES_ID, ["footnotes", "footnotes-end-of-document"],
                           [("role", "doc-endnotes")])]
