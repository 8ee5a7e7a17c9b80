"""EPUB content documents of bounded size: a page (a chapter, the glossary, an index) whose XHTML would exceed
the bound is cut into several documents that follow it in the spine. Reading systems slow down or give up on
content documents of megabytes; EPUBCheck takes minutes over them.

Everything works on the XHTML tree (lxml), never on the text. A page's top-level blocks are the units: a block
larger than the bound that holds other blocks (a div, a list, a definition list: an index's letter group, the
glossary's terms of one letter) is first cut into shallow copies of itself, each with a run of its children
(a list keeps counting with `start`, a definition list keeps each term with its definitions). The units are
then packed greedily, in order; when the next one does not fit, the document is cut before the best place
since it began: an article heading (the highest heading level) first, then lower headings, then any block
(never right after a heading). The first document keeps the page's file name, so the contents, the landmarks
and links to the page's start stay right; the others are named FILE-2.xhtml, FILE-3.xhtml, ... Footnotes go
with the text that refers to them: each document ends with the notes its own text (and those notes) refer to.

`split_pages` returns the pages in spine order and, for each file, the file it was cut from, so that
`link_pages` (epub.py) can point a link first into the documents of its own page (whose footnote ids
repeat those of other chapters) and then into any other.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath

from lxml import etree

DOCUMENT_LIMIT = 256 * 1024  # bytes of XHTML a content document may hold, at most
MARGIN = 4096  # what the document around the body takes (head, title, body element), with room to spare
SPLITTABLE = frozenset({"div", "section", "ul", "ol", "dl", "blockquote"})
HEADINGS = {f"h{n}": n for n in range(1, 7)}
ANY_BLOCK, AFTER_HEADING = 7, 8  # ranks of a cut before a block that is not a heading (lower is better)


def _size(el, growth: int = 0) -> int:
    """Bytes of an element's XHTML, with `growth` more for each `#id` link (link_pages may put a file name before it)."""
    links = sum(1 for a in el.iter("a") if a.get("href", "").startswith("#")) if growth else 0
    return len(etree.tostring(el, method="xml", encoding="utf-8")) + growth * links


def _is_notes(el) -> bool:
    return el.tag == "section" and el.get("epub:type") == "footnotes"


def split_pages(pages: list, limit: int = DOCUMENT_LIMIT) -> tuple[list, dict[str, str]]:
    """Every page as one or more pages of at most about `limit` bytes; {file: the file it was cut from}."""
    taken = {p.file for p in pages}
    growth = max(len(f) for f in taken) + 8  # a link "#id" may become "FILE-NNN.xhtml#id"
    out, origin = [], {}
    for page in pages:
        budget = max(1024, limit - MARGIN - len(page.title.encode()))
        origin[page.file] = page.file
        if _size(page.tree, growth) <= budget:
            out.append(page)
            continue
        pieces = _split_tree(page.tree, budget, growth)
        stem = PurePosixPath(page.file).stem
        for n, tree in enumerate(pieces, 1):
            file = page.file
            if n > 1:
                k = n
                while (file := f"{stem}-{k}.xhtml") in taken:
                    k += 1000
                taken.add(file)
                origin[file] = page.file
            out.append(replace(page, file=file, tree=tree))
    return out, origin


def _split_tree(root, budget: int, growth: int) -> list:
    """The root's children in several new roots (root's tag), each holding at most about `budget` bytes."""
    notes: dict[str, object] = {}  # id -> aside, in the order the page's notes came
    for section in [c for c in root if isinstance(c.tag, str) and _is_notes(c)]:
        for aside in section:
            if aside.get("id"):
                notes[aside.get("id")] = aside
        root.remove(section)
    note_sizes = {ident: _size(aside, growth) for ident, aside in notes.items()}
    units = []
    for child in list(root):
        units += _units(child, budget, growth) if isinstance(child.tag, str) else [child]
    sizes, refs, ranks = [], [], []
    for i, unit in enumerate(units):
        own = _notes_of(unit, notes)
        refs.append(own)
        sizes.append(_size(unit, growth) + sum(note_sizes[n] for n in own))
        ranks.append(_rank(unit, units[i - 1] if i else None))
    cuts, start, held = [], 0, 0
    for i, size in enumerate(sizes):
        while held + size > budget and i > start:
            j = min(range(start + 1, i + 1), key=lambda k: (ranks[k], -k))
            cuts.append(j)
            held -= sum(sizes[start:j])
            start = j
        held += size
    bounds = [0, *cuts, len(units)]
    pieces = []
    for n, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        piece = root.makeelement(root.tag, dict(root.attrib))
        if n == 0:
            piece.text = root.text
        placed: list[str] = []
        for unit, own in zip(units[a:b], refs[a:b], strict=True):
            piece.append(unit)
            placed += [r for r in own if r not in placed]
        if placed:
            section = piece.makeelement("section", {"class": "footnotes", "epub:type": "footnotes"})
            section.extend(notes[r] for r in sorted(placed, key=list(notes).index))
            piece.append(section)
        pieces.append(piece)
    return pieces


def _notes_of(unit, notes: dict) -> list[str]:
    """The ids of the notes a unit refers to, and those the notes refer to, in turn."""
    if not notes:
        return []
    found: list[str] = []
    todo = [unit]
    while todo:
        el = todo.pop()
        for a in el.iter("a"):
            target = (a.get("href") or "")[1:]
            if a.get("href", "").startswith("#") and target in notes and target not in found:
                found.append(target)
                todo.append(notes[target])
    return found


def _rank(unit, before) -> int:
    """How good a place to cut the document just before `unit` is: a heading's level, else a block."""
    if isinstance(unit.tag, str) and unit.tag in HEADINGS:
        return HEADINGS[unit.tag]
    return AFTER_HEADING if before is not None and isinstance(before.tag, str) and before.tag in HEADINGS else ANY_BLOCK


def _units(el, budget: int, growth: int) -> list:
    """An element, or, when it is too large and holds blocks, shallow copies of it each holding a run of its
    children (each run itself cut the same way when one child is too large)."""
    if el.tag not in SPLITTABLE or not len(el) or _size(el, growth) <= budget:
        return [el]
    children = [u for c in el for u in (_units(c, budget, growth) if isinstance(c.tag, str) else [c])]
    groups: list[list] = []
    for child in children:
        if el.tag == "dl" and child.tag == "dd" and groups:  # a term and its definitions stay together
            groups[-1].append(child)
        elif el.tag == "dl" and child.tag == "dt" and groups and groups[-1][-1].tag == "dt":
            groups[-1].append(child)
        else:
            groups.append([child])
    runs: list[list] = [[]]
    held = 0
    for group in groups:
        size = sum(_size(c, growth) for c in group)
        if runs[-1] and held + size > budget:
            runs.append([])
            held = 0
        runs[-1].extend(group)
        held += size
    if len(runs) == 1 and len(children) == len(el):
        return [el]
    counted = int(el.get("start", "1")) if el.tag == "ol" and el.get("start", "1").lstrip("-").isdigit() else 1
    copies = []
    for n, run in enumerate(runs):
        attrib = {k: v for k, v in el.attrib.items() if n == 0 or k != "id"}
        if el.tag == "ol" and n:
            attrib["start"] = str(counted)
        copy = el.makeelement(el.tag, attrib)
        if n == 0:
            copy.text = el.text
        copy.extend(run)
        counted += sum(1 for c in run if c.tag == "li")
        copies.append(copy)
    copies[-1].tail = el.tail
    return copies
