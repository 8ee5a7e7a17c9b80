"""A long book's DOCX written by pandoc in parts and merged into one document here.

pandoc's DOCX writer holds many times the size of its JSON input (about 2.5 GB for a book of 1,000 articles),
so docx.py gives it the book in parts cut before a heading (`split`) and `merge` joins the parts' packages.
Every part comes from the same pandoc with the same reference document and metadata, so the parts differ only
in what their bodies use; the first part gives the package (styles, settings, the footer, the section
properties, the core properties) and each part adds, renumbered so that nothing collides:
- its body, between the first part's opening of the body and its section properties;
- its bookmarks (w:id; the names are the book's ids, unique in the whole book, so every internal hyperlink,
  a w:anchor naming a bookmark, lands on its bookmark whatever part holds it);
- its lists (w:num, each ordered list with its own restart, and the w:abstractNum definitions it uses: pandoc
  numbers these by list style, the same in every part);
- its footnotes (and the hyperlinks in them), its images (pandoc names them media/rIdN.*, as its
  relationships, in every part alike) and drawing ids, its external hyperlinks, and any style it adds.
The document is written part by part as it is read: memory holds one part's XML, never the whole book's.
docxcompose (PyPI) merges documents too, but holds the whole merged tree and parses footnotes.xml again for
every footnote it copies (the sample handbook in 3 parts: 10.6 s against 1.1 s here, on 2 busy cores); and
it gives each list a random nsid, so two builds would differ.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from lxml import etree

from . import ZIP_TIME

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WP_NS = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
W = f"{{{W_NS}}}"
R = f"{{{R_NS}}}"
W_ID, W_VAL, NUM_ID, DOC_PR = f"{W}id", f"{W}val", f"{W}numId", f"{{{WP_NS}}}docPr"
BOOKMARK_START, BOOKMARK_END, FOOTNOTE_REFERENCE = f"{W}bookmarkStart", f"{W}bookmarkEnd", f"{W}footnoteReference"
DOCUMENT, STYLES, NUMBERING, FOOTNOTES = "word/document.xml", "word/styles.xml", "word/numbering.xml", "word/footnotes.xml"
RELS = {DOCUMENT: "word/_rels/document.xml.rels", FOOTNOTES: "word/_rels/footnotes.xml.rels"}
CONTENT_TYPES = "[Content_Types].xml"
PARSER = etree.XMLParser(huge_tree=True, remove_blank_text=False)


# ---------------------------------------------------------------- where the book is cut
def split(blocks: list[dict], sizes: list[int], limit: int, page_break: dict) -> list[tuple[int, int]]:
    """(start, end) of each run of top-level blocks. A part ends once it holds `limit` characters of JSON,
    before the next heading of level 1 or 2 (or the page break before it); past 1.5 times the limit before
    any heading, past twice the limit before any block. (A heading's bookmark, which pandoc ends where its
    section ends, then ends at the end of its part: it still starts at its heading, where links land.)"""
    cuts, start, size = [], 0, 0
    for i, (block, n) in enumerate(zip(blocks, sizes, strict=True)):
        if i > start and size >= limit and blocks[i - 1] != page_break:
            level = block["c"][0] if block["t"] == "Header" else 1 if block == page_break else 99
            if level <= 2 or (level < 99 and size >= 1.5 * limit) or size >= 2 * limit:
                cuts.append((start, i))
                start, size = i, 0
        size += n
    cuts.append((start, len(blocks)))
    return cuts


# ---------------------------------------------------------------- the merge
def _xml(z: zipfile.ZipFile, name: str) -> etree._Element | None:
    return etree.fromstring(z.read(name), PARSER) if name in z.namelist() else None


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class _Merge:
    """The state carried from part to part: the first part's package and the next free ids."""

    def __init__(self, first: zipfile.ZipFile):
        self.first = first
        self.rels = {name: _xml(first, rels) for name, rels in RELS.items()}
        if self.rels[FOOTNOTES] is None:  # a later part's footnotes may link out
            self.rels[FOOTNOTES] = etree.Element(f"{{{PKG_REL_NS}}}Relationships", nsmap={None: PKG_REL_NS})
        self.shared = {(r.get("Type"), r.get("Target")): r.get("Id") for r in self.rels[DOCUMENT]}
        self.styles = _xml(first, STYLES)
        self.style_ids = {s.get(f"{W}styleId") for s in self.styles.iter(f"{W}style")}
        self.numbering = _xml(first, NUMBERING)
        self.abstract_ids = {a.get(f"{W}abstractNumId") for a in self.numbering.iter(f"{W}abstractNum")}
        self.next_num = 1 + max((int(n.get(f"{W}numId")) for n in self.numbering.iter(f"{W}num")), default=0)
        self.footnotes = _xml(first, FOOTNOTES)
        for note in [n for n in self.footnotes if n.get(f"{W}type") is None]:  # each part adds its own
            self.footnotes.remove(note)
        self.next_note = 1
        self.types = _xml(first, CONTENT_TYPES)
        self.type_keys = {(t.tag, t.get("Extension") or t.get("PartName")) for t in self.types}
        self.media: dict[str, bytes] = {}
        self.next_bookmark = self.next_drawing = 0

    def part(self, k: int, z: zipfile.ZipFile) -> tuple[bytes, bytes, bytes]:
        """Part k's body renumbered, as (what precedes the body's content, the content, what follows it)."""
        renamed = self._relationships(k, z)
        doc = _xml(z, DOCUMENT)
        nums = self._numbering(z)
        start = (self.next_bookmark, self.next_drawing)
        notes = self._footnotes(z, doc, lambda el: self._renumber(el, start, nums, {}, renamed))
        for el in doc.iter():
            self._renumber(el, start, nums, notes, renamed)
        self._styles(z)
        text = _bytes(doc)
        del doc
        opening = text.index(b">", text.index(b"<w:body")) + 1
        closing = text.rindex(b"<w:sectPr")
        return text[:opening], text[opening:closing], text[closing:]

    def _renumber(self, el: etree._Element, start: tuple[int, int], nums: dict[str, str], notes: dict[str, str],
                  renamed: dict[str, str]) -> None:
        """One element's ids in the merged document: bookmarks and drawings after the previous parts' (by
        `start`), lists and footnotes as mapped, relationships as renamed."""
        tag = el.tag
        if tag == BOOKMARK_START or tag == BOOKMARK_END:
            value = start[0] + int(el.get(W_ID))
            el.set(W_ID, str(value))
            self.next_bookmark = max(self.next_bookmark, value + 1)
        elif tag == NUM_ID and nums:
            el.set(W_VAL, nums.get(el.get(W_VAL), el.get(W_VAL)))
        elif tag == FOOTNOTE_REFERENCE and notes:
            el.set(W_ID, notes[el.get(W_ID)])
        elif tag == DOC_PR:
            value = start[1] + int(el.get("id"))
            el.set("id", str(value))
            self.next_drawing = max(self.next_drawing, value + 1)
        if renamed:
            for name, value in el.attrib.items():
                if name.startswith(R) and value in renamed:
                    el.set(name, renamed[value])

    def _relationships(self, k: int, z: zipfile.ZipFile) -> dict[str, str]:
        """Part k's own relationships (images, external hyperlinks), of the document and of its footnotes,
        under new ids ("p2rId9"), its images under new names ("media/p2rId9.png"); the package's own
        relationships (styles, numbering, footer, ...) under the first part's ids."""
        renamed: dict[str, str] = {}
        for source, rels_name in RELS.items():
            rels = _xml(z, rels_name)
            if rels is None:
                continue
            for rel in rels:
                rid, target = rel.get("Id"), rel.get("Target")
                own = rel.get("TargetMode") == "External" or target.startswith("media/")
                if not own:
                    renamed[rid] = self.shared.get((rel.get("Type"), target), rid)
                    continue
                new = renamed[rid] = rid if k == 0 else f"p{k}{rid}"
                if target.startswith("media/"):
                    name = target if k == 0 else f"media/p{k}{target[len('media/'):]}"
                    self.media[f"word/{name}"] = z.read(f"word/{target}")
                    target = name
                    self._content_type(z, f"/word/{name}", f"/word/{rel.get('Target')}")
                if k > 0:
                    self.rels[source].append(etree.Element(
                        f"{{{PKG_REL_NS}}}Relationship", {**dict(rel.attrib), "Id": new, "Target": target}))
        return {} if all(old == new for old, new in renamed.items()) else renamed

    def _content_type(self, z: zipfile.ZipFile, name: str, was: str) -> None:
        """An image's content type: by its extension (a Default) or its own Override, as the part had it."""
        for t in _xml(z, CONTENT_TYPES):
            key = t.get("Extension") or t.get("PartName")
            if key == was:
                t = etree.Element(t.tag, {**dict(t.attrib), "PartName": name})
                key = name
            elif t.get("Extension") is None or not name.endswith("." + key):
                continue
            if (t.tag, key) not in self.type_keys:
                self.type_keys.add((t.tag, key))
                self.types.append(t)

    def _numbering(self, z: zipfile.ZipFile) -> dict[str, str]:
        """The part's lists under new numIds (each w:num, with its restart), and any list
        definition (w:abstractNum) not there yet."""
        if self.first is z:
            return {}
        numbering = _xml(z, NUMBERING)
        mapping: dict[str, str] = {}
        for num in numbering.iter(f"{W}num"):  # those of lists in footnotes too
            old = num.get(f"{W}numId")
            mapping[old] = str(self.next_num)
            self.next_num += 1
            num.set(f"{W}numId", mapping[old])
            self.numbering.append(num)
        for abstract in numbering.iter(f"{W}abstractNum"):
            ident = abstract.get(f"{W}abstractNumId")
            if ident not in self.abstract_ids:
                self.abstract_ids.add(ident)
                first_num = self.numbering.find(f"{W}num")
                first_num.addprevious(abstract) if first_num is not None else self.numbering.append(abstract)
        return mapping

    def _footnotes(self, z: zipfile.ZipFile, doc: etree._Element, renumber) -> dict[str, str]:
        """The part's footnotes numbered on from the previous parts', in the order the body cites them."""
        cited = [el.get(f"{W}id") for el in doc.iter(f"{W}footnoteReference")]
        if not cited:
            return {}
        notes = {n.get(f"{W}id"): n for n in _xml(z, FOOTNOTES) if n.get(f"{W}type") is None}
        mapping: dict[str, str] = {}
        for old in cited:
            note = notes[old]
            mapping[old] = str(self.next_note)
            self.next_note += 1
            note.set(W_ID, mapping[old])
            for el in note.iter():  # its bookmarks and hyperlinks
                renumber(el)
            self.footnotes.append(note)
        return mapping

    def _styles(self, z: zipfile.ZipFile) -> None:
        """Any style the part has that the first lacks (pandoc adds the styles a document uses)."""
        if self.first is z:
            return
        for style in _xml(z, STYLES).iter(f"{W}style"):
            if style.get(f"{W}styleId") not in self.style_ids:
                self.style_ids.add(style.get(f"{W}styleId"))
                self.styles.append(style)

    def rest(self) -> Iterator[tuple[str, bytes]]:
        """Every entry of the package but the document, the merged ones and the images included."""
        merged = {STYLES: self.styles, NUMBERING: self.numbering, FOOTNOTES: self.footnotes,
                  CONTENT_TYPES: self.types, **{RELS[name]: root for name, root in self.rels.items()}}
        for name in self.first.namelist():
            if name not in merged and name != DOCUMENT and not name.startswith("word/media/"):
                yield name, self.first.read(name)
        for name, root in merged.items():
            if name in self.first.namelist() or len(root):
                yield name, _bytes(root)
        yield from self.media.items()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def merge(parts: Iterable[bytes], target: Path, core: Callable[[bytes], bytes]) -> None:
    """The parts' DOCX packages (pandoc's, in the book's order; each made when asked for) as one DOCX at
    target, dated as docx.package dates a whole one (`core` rewrites docProps/core.xml). The document is
    written first, part by part as each arrives, then the other entries in order."""
    parts = iter(parts)
    with zipfile.ZipFile(target, "w") as zout, zipfile.ZipFile(io.BytesIO(next(parts))) as first:
        state = _Merge(first)
        head, body, tail = state.part(0, first)
        with zout.open(_info(DOCUMENT), "w") as out:
            out.write(head)
            out.write(body)
            del body
            for k, data in enumerate(parts, start=1):
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    out.write(state.part(k, z)[1])
                del data
            out.write(tail)
        for name, content in sorted(state.rest(), key=lambda entry: (entry[0] != CONTENT_TYPES, entry[0])):
            zout.writestr(_info(name), core(content) if name == "docProps/core.xml" else content)
