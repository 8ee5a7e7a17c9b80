"""DOCX through pandoc with the theme's reference.docx: the whole book as one pandoc tree.

The reference document carries the design (styles, page size, footer with page numbers; Heading 1 and
the contents heading start a new page). Here the tree is made ready for Word first:
- a chapter below a part heading starts a new page (an empty paragraph with "page break before");
- the letters of the glossary and the index are "Glossary Letter" paragraphs, so the contents does not list A to Z;
- a diagram becomes one "Diagram" paragraph we write ourselves (pandoc ignores custom-style on code
  blocks), its text kept exactly and its size chosen so the widest line fits the text width;
- an id longer than Word's 40-character bookmark limit is replaced, in anchors and links alike;
- a callout's paragraphs take the "Callout" and "Callout Title" styles (a box in the reference document), an
  article's properties the "Properties" style;
- an image of the vault (class vault-file, an absolute percent-encoded path) goes in as a data: URI, since
  pandoc runs sandboxed and reads no file; one that is not a readable image inside the vault becomes its text;
- each run of words and spaces is one Str (tree.join_words): the same text in fewer runs, and pandoc
  reads a tree a third the size.
The tree is walked once for the first five, copying only what changes (`for_word`), once to join the words.
A long book goes to pandoc in parts, cut before a heading, merged into one document by docxmerge.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from lxml import etree

from .. import diagrams, pandoc, render
from .. import tree as pd  # publisher.tree: still `pd` here while this file is edited elsewhere
from ..collector import collector_paused
from ..diagnostics import Diagnostic
from ..highlight import DOCX_STYLE, has_coloured_code
from ..images import raster_type
from ..model import Book
from ..themes import TAB_SIZE, Theme
from . import ZIP_TIME, docxmerge

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
PAGE_BREAK = {"t": "RawBlock", "c": ["openxml", (
    '<w:p><w:pPr><w:pageBreakBefore/><w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
    '<w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>')]}
TOC_DEPTH = 2
MAX_BOOKMARK = 40  # Word drops the rest of a longer bookmark name, and the links to it break
CODE_HALF_POINTS = 18  # the Source Code style's size in the reference.docx (9 pt)
MAX_TAB_STOPS = 64  # Word keeps at most 64 tab stops in a paragraph
DIAGRAM_MAX_PT = CODE_HALF_POINTS / 2  # a diagram is never larger than the code beside it
DEFAULT_TEXT_WIDTH_PT = (11906 - 2 * 1440) / 20  # A4 with 1-inch margins, when the reference has no page size
# A book whose JSON for pandoc is longer is written in parts of about this many characters and merged
# (docxmerge.py). pandoc's DOCX writer holds 50 to 80 times its input, and takes more CPU per character the
# larger it is; measured on the N=1000 bench book (26.4 million characters, on 2 busy cores): whole, 2.1 GB
# and 13.5 s of CPU; parts of 16 million, 1.2 GB and 8.9 s for the largest; of 4 million (6 parts, the
# largest 5.6 million), 0.3 GB and 2.5 s. About 150 articles of 1,200 words; the sample books stay whole.
PART_CHARS = 4_000_000


def _meta_list(values: Iterable[str]) -> dict:
    return {"t": "MetaList", "c": [pd.meta_string(v) for v in values]}


def toc_field(title: str, depth: int = 2) -> dict:
    """The contents as pandoc's --toc writes it (a TOC field Word fills in on opening), as a block of our own:
    placed after the front matter, where --toc cannot put it."""
    return {"t": "RawBlock", "c": ["openxml", (
        '<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/><w:docPartUnique/></w:docPartObj>'
        '</w:sdtPr><w:sdtContent><w:p><w:pPr><w:pStyle w:val="TOCHeading"/></w:pPr><w:r><w:t xml:space="preserve">'
        f'{escape(title)}</w:t></w:r></w:p><w:p><w:r><w:fldChar w:fldCharType="begin" w:dirty="true"/>'
        f'<w:instrText xml:space="preserve">TOC \\o &quot;1-{depth}&quot; \\h \\z \\u</w:instrText>'
        '<w:fldChar w:fldCharType="separate"/><w:fldChar w:fldCharType="end"/></w:r></w:p></w:sdtContent></w:sdt>')]}


def book_blocks(book: Book) -> list[dict]:
    """Front matter and the contents (when there is front matter: else pandoc's --toc writes the contents),
    parts, chapters and back matter; Heading 1 breaks the page by its style, a lower chapter here."""
    blocks: list[dict] = []
    for _, _, section in render.front_matter(book):
        blocks.extend(section)
    if book.front:
        blocks.append(toc_field("Contents", TOC_DEPTH))
    for part in book.parts:
        if part.title:
            blocks.append(pd.header(1, part.id, pd.text_inlines(part.title), classes=["part"]))
        for chapter in part.chapters:
            if chapter.level > 1:
                blocks.append(PAGE_BREAK)
            blocks.extend(render.chapter_blocks(chapter))
    for ident, _, section in render.back_matter(book, 1):
        blocks.extend(map(_unlisted_letter, section) if ident in (render.GLOSSARY_ID, render.INDEX_ID) else section)
    return blocks


def _unlisted_letter(block: dict) -> dict:
    """A glossary letter as a "Glossary Letter" paragraph, not a heading: the contents lists no A to Z."""
    if block["t"] != "Header" or block["c"][0] == 1:
        return block
    _, attr, inlines = block["c"]
    return pd.div([pd.para(inlines)], ident=attr[0], kvs=[("custom-style", "Glossary Letter")])


# ---------------------------------------------------------------- the tree, made ready for Word
def for_word(blocks: list[dict], text_width_pt: float, root: Path, tab_size: int = TAB_SIZE) -> list[dict]:
    """The book's tree made ready for Word in one walk: short bookmark names, diagrams, callouts and the
    vault's images (each below). Only what changes is copied; the book's own tree is shared, never changed."""
    root = root.resolve()
    ids: set[str] = set()
    short: dict[str, str] = {}

    def element(node: dict) -> dict:
        t = node["t"]
        c = node.get("c")
        if type(c) is list:
            new = pd.rebuild(c, element)
            if new is not c:
                node = {"t": t, "c": new}
        at = pd.ATTR_AT.get(t)
        if at is not None:
            node = _short_id(node, at, ids, short)
            if t == "CodeBlock":
                node = _diagram(node, text_width_pt, tab_size)
            elif t == "Div":
                node = _callout(node)
            elif t == "Image":
                node = _vault_image(node, root)
        return node

    blocks = pd.rebuild(blocks, element)
    if len(set(short.values())) < len(short) or ids & set(short.values()):
        raise ValueError("a shortened bookmark name is not unique")  # 64 bits of SHA-1: not in practice
    return blocks


def _shortened(ident: str, short: dict[str, str]) -> str:
    """An id longer than a Word bookmark name may be becomes "X" + 16 hex digits of its SHA-1 (pandoc keeps a
    name that starts with a letter), in the element that carries it and in every "#id" link."""
    if len(ident) <= MAX_BOOKMARK:
        return ident
    name = short.get(ident)
    if name is None:
        name = short[ident] = "X" + hashlib.sha1(ident.encode("utf-8")).hexdigest()[:16]
    return name


def _short_id(node: dict, at: int, ids: set[str], short: dict[str, str]) -> dict:
    c = node["c"]
    ident = c[at][0]
    target = c[2][0] if node["t"] == "Link" else ""
    long_target = target.startswith("#") and len(target) > MAX_BOOKMARK + 1
    if ident:
        ids.add(ident)
    if len(ident) <= MAX_BOOKMARK and not long_target:
        return node
    c = list(c)
    if len(ident) > MAX_BOOKMARK:
        c[at] = [_shortened(ident, short), c[at][1], c[at][2]]
    if long_target:
        c[2] = ["#" + _shortened(target[1:], short), c[2][1]]
    return {"t": node["t"], "c": c}


def diagram_half_points(columns: int, text_width_pt: float) -> int:
    """The largest size, in half points, at which `columns` monospace cells fit the text width."""
    fit = diagrams.fit_pt(columns, text_width_pt)
    return max(round(2 * diagrams.DIAGRAM_MIN_PT), min(round(2 * DIAGRAM_MAX_PT), math.floor(2 * fit)))


def diagram_paragraph(text: str, columns: int, text_width_pt: float, tab_size: int = TAB_SIZE) -> dict:
    """One "Diagram" paragraph: a single run, its lines separated by breaks, every character kept."""
    half = diagram_half_points(columns, text_width_pt)
    rpr = f'<w:rPr><w:sz w:val="{half}"/><w:szCs w:val="{half}"/></w:rPr>'
    ppr = f'<w:pPr><w:pStyle w:val="Diagram"/>{_tab_stops(text, half, tab_size)}{rpr}</w:pPr>'
    return {"t": "RawBlock", "c": ["openxml", f'<w:p>{ppr}<w:r>{rpr}{_code_text(text)}</w:r></w:p>']}


def _code_text(text: str) -> str:
    """Lines of code as the text of one run: breaks between lines, and a tab as Word's own <w:tab/> (pandoc
    leaves the tab character inside <w:t>)."""
    lines = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in text.split("\n"))
    return lines.replace("\t", '</w:t><w:tab/><w:t xml:space="preserve">')


def _tab_stops(text: str, half_points: int, tab_size: int) -> str:
    """Tab stops every `tab_size` monospace cells at this size, as far as the text reaches (Word's own stand
    every half inch); nothing for text without a tab."""
    if "\t" not in text:
        return ""
    step = half_points / 2 * diagrams.MONO_ADVANCE_EM * tab_size * 20  # twips
    count = min(MAX_TAB_STOPS, diagrams.width(text, tab_size) // tab_size + 1)
    return "<w:tabs>" + "".join(f'<w:tab w:val="left" w:pos="{round(step * i)}"/>' for i in range(1, count + 1)) + "</w:tabs>"


def _diagram(node: dict, text_width_pt: float, tab_size: int = TAB_SIZE) -> dict:
    """A diagram as a Diagram paragraph, code with a tab as a Source Code paragraph with tab stops (each in a
    Div keeping its id, which pandoc makes a bookmark); other code is pandoc's."""
    attr, text = node["c"]
    if "diagram" in attr[1]:
        paragraph = diagram_paragraph(text, int(pd.get_kv(attr, "data-columns") or 0), text_width_pt, tab_size)
    elif "\t" in text:
        ppr = f'<w:pPr><w:pStyle w:val="SourceCode"/>{_tab_stops(text, CODE_HALF_POINTS, tab_size)}</w:pPr>'
        run = f'<w:r><w:rPr><w:rStyle w:val="VerbatimChar"/></w:rPr>{_code_text(text)}</w:r>'
        paragraph = {"t": "RawBlock", "c": ["openxml", f"<w:p>{ppr}{run}</w:p>"]}
    else:
        return node
    return pd.div([paragraph], ident=attr[0]) if attr[0] else paragraph


DIV_STYLES = {"callout-title": "Callout Title", "callout": "Callout", "properties": "Properties"}  # the first that applies


def _callout(node: dict) -> dict:
    """A callout Div and its title Div carry the Word paragraph style of a box (pandoc's custom-style), an
    article's properties theirs."""
    (ident, classes, kvs), content = node["c"]
    name = next((style for cls, style in DIV_STYLES.items() if cls in classes), None)
    if name is None:
        return node
    return {"t": "Div", "c": [[ident, classes, [*kvs, ["custom-style", name]]], content]}


def _vault_image(node: dict, root: Path) -> dict:
    """A vault-file Image as a data: URI of its file, checked to lie inside the vault (resolved) and to be an
    image; else its text."""
    if "vault-file" not in node["c"][0][1]:
        return node
    attr, alt, (url, title) = node["c"]
    path = Path(unquote(url)).resolve()
    data = path.read_bytes() if path.is_relative_to(root) and path.is_file() else b""
    raster = raster_type(data)
    kind = raster[0] if raster else None
    if kind is None and path.suffix.lower() == ".svg" and b"<svg" in data[:4096]:
        kind = "image/svg+xml"
    if kind is None:
        return pd.span(alt or pd.text_inlines(path.name), classes=["embed-placeholder"])
    return {"t": "Image", "c": [attr, alt, [f"data:{kind};base64,{base64.b64encode(data).decode()}", title]]}


def text_width_pt(reference: Path | None) -> float:
    """Page width less the side margins of the reference document's section, in points."""
    if reference is None:
        return DEFAULT_TEXT_WIDTH_PT
    with zipfile.ZipFile(reference) as z:
        section = ElementTree.fromstring(z.read("word/document.xml")).find(f"{W}body/{W}sectPr")
    size = section.find(f"{W}pgSz") if section is not None else None
    margins = section.find(f"{W}pgMar") if section is not None else None
    if size is None or margins is None:
        return DEFAULT_TEXT_WIDTH_PT
    twips = int(size.get(f"{W}w")) - int(margins.get(f"{W}left", 0)) - int(margins.get(f"{W}right", 0))
    return twips / 20


# ---------------------------------------------------------------- the backend
def _reference(theme: Theme) -> Path | None:
    try:
        return theme.file(theme.config.get("docx", {}).get("reference", "reference.docx"))
    except FileNotFoundError:
        return None


def _properties(book: Book) -> dict:
    m = book.manifest
    meta = {
        "title": pd.meta_string(m.title),
        "author": _meta_list(m.authors),
        "lang": pd.meta_string(m.language),
        "toc-title": pd.meta_string("Contents"),
        "keywords": _meta_list(g.label for g in book.tags),
    }
    if book.build_date:  # else none: no invented date
        meta["date"] = pd.meta_string(book.build_date)
    if m.subtitle:
        meta["subtitle"] = pd.meta_string(m.subtitle)
    if m.description or m.subtitle:
        meta["subject"] = pd.meta_string(m.description or m.subtitle)
    if m.description:
        meta["description"] = pd.meta_string(m.description)
    return meta


def package(data: bytes, target: Path, build_date: str) -> None:
    """pandoc's DOCX rewritten for byte-identical builds, as normalize_zip does, in one pass that also dates
    docProps/core.xml: under --sandbox pandoc ignores SOURCE_DATE_EPOCH and dates the document 1970-01-01."""
    first = "[Content_Types].xml"
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(target, "w") as zout:
        names = zin.namelist()
        for name in [n for n in names if n == first] + sorted(n for n in names if n != first):
            content = zin.read(name)
            if name == "docProps/core.xml":
                content = _dated(content, build_date)
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, content)


def _dated(core: bytes, build_date: str) -> bytes:
    """docProps/core.xml with the book's date as created and modified (pandoc under --sandbox writes
    1970-01-01, which is not a fact), or with neither (both are optional) when the book has no date."""
    if build_date:
        return core.replace(b"1970-01-01T00:00:00Z", f"{build_date}T00:00:00Z".encode())
    root = etree.fromstring(core)
    for el in [el for el in root if etree.QName(el).localname in ("created", "modified")]:
        root.remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class DocxBackend:
    name = "docx"
    suffix = ".docx"

    def check(self, book: Book, theme: Theme) -> Iterable[Diagnostic]:
        return ()

    def write(self, book: Book, theme: Theme, target: Path) -> None:
        reference = _reference(theme)
        with collector_paused():  # millions of small objects made and dropped: see collector.collector_paused
            blocks = for_word(book_blocks(book), text_width_pt(reference), book.manifest.source, theme.tab_size)
        style = DOCX_STYLE if has_coloured_code(blocks) else "none"
        args = ["-f", "json", "-t", "docx", "-o", "-", f"--syntax-highlighting={style}"]
        if reference is not None:
            args.append(f"--reference-doc={reference}")
        toc = [] if book.front else ["--toc", f"--toc-depth={TOC_DEPTH}"]  # with front matter, book_blocks places it
        with collector_paused():
            blocks = pd.join_words(blocks)  # one run where there were many
            texts = [json.dumps(block, ensure_ascii=False) for block in blocks]
        parts = docxmerge.split(blocks, [len(text) for text in texts], PART_CHARS, PAGE_BREAK)
        del blocks
        meta = _properties(book)
        # the JSON document up to its blocks ('..."blocks": ['); the parts after the first without the title,
        # subtitle, authors and date, which pandoc sets at the top of the document
        openings = [pandoc.document([], m)[:-2] for m in (meta, {"lang": meta["lang"]})]

        def written(k: int, start: int, end: int) -> bytes:
            document = openings[k > 0] + ", ".join(texts[start:end]) + "]}"  # as pandoc.document writes it
            texts[start:end] = [""] * (end - start)
            timeout = pandoc.TIMEOUT + pandoc.WRITE_TIMEOUT_PER_MB * len(document) / 1e6
            return pandoc.run_pandoc([*args, *(toc if k == 0 else [])], document, binary=True, timeout=timeout)

        if len(parts) == 1:
            package(written(0, *parts[0]), target, book.build_date)
        else:  # a long book: pandoc's writer holds many times its input, so it writes the book in parts
            docxmerge.merge((written(k, *part) for k, part in enumerate(parts)), target,
                            lambda core: _dated(core, book.build_date))
