"""The parts of a long book's PDF (pdfparts.py) merged into one: pages in order, one name tree of the real
anchors, the outline rebuilt from every part's bookmarks, the fonts' subset tags made unique."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pdfparts import Rendered


def merge(records: list[Rendered], folder: Path, target: Path) -> None:
    """One PDF: every chunk's pages in order (a blank page where a two-sided book needs one), one name tree
    of the real anchors, the outline rebuilt from the chunks' bookmarks, the front chunk's metadata and
    viewer settings, and an identifier made from the content (two builds give the same bytes).

    qpdf (pikepdf) copies each chunk's objects into the book and reads their streams from the chunk's file
    only while writing, so the merge holds the objects' dictionaries, not every page's content. Those are
    many all the same: 0.7 GB for 3,470 pages with a hundred thousand links and destinations (N=1000)."""
    import pikepdf

    book = pikepdf.new()
    sources = []  # open until the book is written: qpdf reads each copied stream from its chunk then
    where: dict[str, tuple[int, float, float]] = {}  # name -> (page index in the book, x, y)
    try:
        for i, record in enumerate(records):
            chunk = pikepdf.open(folder / f"{i:04d}.pdf")
            sources.append(chunk)
            while len(book.pages) + 1 < record.first:  # the blank left-hand page before a right-hand opener
                box = chunk.pages[0].mediabox
                book.add_blank_page(page_size=(float(box[2]) - float(box[0]), float(box[3]) - float(box[1])))
            assert len(book.pages) + 1 == record.first, (i, len(book.pages), record.first)
            offset = len(book.pages)
            with warnings.catch_warnings():
                # that pages.extend() leaves the chunk's named destinations behind is the point: one name
                # tree is made below, of each chunk's real anchors
                warnings.simplefilter("ignore", pikepdf.exceptions.PageCopyWarning)
                book.pages.extend(chunk.pages)
            if i:
                retag_fonts(book.pages[offset:], i)
            index = {page.objgen: n for n, page in enumerate(chunk.pages)}
            names = chunk.Root.get("/Names")
            tree = names.get("/Dests") if names is not None else None
            for name, dest in (pikepdf.NameTree(tree).items() if tree is not None else ()):
                if name in record.anchors and name not in where:  # the first of two alike, as WeasyPrint does
                    page = index.get(dest[0].objgen)
                    if page is not None:
                        where[name] = (offset + page, float(dest[2] or 0), float(dest[3] or 0))
        # Links whose target is nowhere in the book (WeasyPrint would have dropped them) go.
        for page in book.pages:
            annots = page.obj.get("/Annots")
            if annots is None:
                continue
            kept = [a for a in annots if "/Dest" not in a or str(a.Dest) in where]
            if len(kept) != len(annots):
                page.obj.Annots = book.make_indirect(pikepdf.Array(kept))
        tree = pikepdf.NameTree.new(book)  # qpdf keeps its leaves small and balanced
        for name in sorted(where):
            n, x, y = where[name]
            tree[name] = pikepdf.Array([book.pages[n].obj, pikepdf.Name.XYZ, x, y, 0])
        book.Root.Names = pikepdf.Dictionary(Dests=tree.obj)
        add_outline(book, [b for r in records for b in r.bookmarks])
        front = sources[0] if sources else None
        if front is not None:
            for key in ("/Lang", "/PageMode", "/PageLayout", "/ViewerPreferences"):
                if key in front.Root:
                    book.Root[key] = book.copy_foreign(front.Root[key]) if isinstance(front.Root[key], pikepdf.Dictionary) else front.Root[key]
            if "/Info" in front.trailer:
                book.docinfo = book.copy_foreign(front.docinfo)
        # deterministic_id: the identifier is a digest of the content, so two builds give the same bytes
        book.save(target, deterministic_id=True, compress_streams=True,
                  object_stream_mode=pikepdf.ObjectStreamMode.generate,
                  min_version=front.pdf_version if front is not None else "1.7")  # the parts' own (WeasyPrint's)
    finally:
        book.close()
        for chunk in sources:
            chunk.close()


def retag_fonts(pages, chunk: int) -> None:
    """Give the font subsets of a chunk tags of their own: WeasyPrint derives a subset's six-letter tag from
    the font alone, so every chunk names a different subset alike, where a PDF must not (ISO 32000, 9.6.4)."""
    import pikepdf

    seen: set[tuple[int, int]] = set()

    def first_time(obj) -> bool:
        """An indirect object is retagged once, wherever it is shared; a direct one (0, 0) is its own."""
        if obj.objgen == (0, 0):
            return True
        if obj.objgen in seen:
            return False
        seen.add(obj.objgen)
        return True

    def retag(name) -> pikepdf.Name:
        tag, plus, rest = str(name)[1:].partition("+")
        if not plus or len(tag) != 6:
            return name
        digest = hashlib.sha256(f"{chunk}:{tag}".encode()).digest()
        return pikepdf.Name("/" + "".join(chr(65 + b % 26) for b in digest[:6]) + "+" + rest)

    def visit(font) -> None:
        if not first_time(font):
            return
        if "/BaseFont" in font:
            font.BaseFont = retag(font.BaseFont)
        descriptor = font.get("/FontDescriptor")
        if descriptor is not None and first_time(descriptor) and "/FontName" in descriptor:
            descriptor.FontName = retag(descriptor.FontName)
        for child in font.get("/DescendantFonts") or ():
            visit(child)

    for page in pages:
        resources = page.obj.get("/Resources")
        fonts = resources.get("/Font") if resources is not None else None
        for _, font in (fonts.items() if fonts is not None else ()):
            visit(font)


def add_outline(book, bookmarks) -> None:
    """Nest the bookmarks by level, as WeasyPrint does in one document: each under the last one before it of
    a lower level."""
    import pikepdf

    with book.open_outline() as outline:
        stack: list[tuple[int, pikepdf.OutlineItem]] = []
        for level, label, page, x, y, state in bookmarks:
            while stack and stack[-1][0] >= level:
                stack.pop()
            item = pikepdf.OutlineItem(label, pikepdf.Array([book.pages[page - 1].obj, pikepdf.Name.XYZ, x, y, 0]))
            item.is_closed = state == "closed"
            (stack[-1][1].children if stack else outline.root).append(item)
            stack.append((level, item))
