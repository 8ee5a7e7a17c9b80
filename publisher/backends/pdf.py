"""PDF through HTML and WeasyPrint: the theme's Jinja2 template and print CSS (paged media)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .. import pandoc as pd
from .. import render
from ..diagnostics import Diagnostic
from ..model import Book
from ..themes import Theme

PAGE_WIDTH_MM = {"A4": 210.0, "Letter": 215.9, "A5": 148.0}
INNER_MARGIN_MM, OUTER_MARGIN_MM = 24.0, 18.0
MONO_ADVANCE_EM = 0.602  # DejaVu Sans Mono: every glyph is 0.602 em wide
DIAGRAM_MAX_PT, DIAGRAM_MIN_PT = 8.5, 5.0


def text_width_pt(page_size: str) -> float:
    return (PAGE_WIDTH_MM[page_size] - INNER_MARGIN_MM - OUTER_MARGIN_MM) / 25.4 * 72


def diagram_size(columns: int, page_size: str) -> float:
    """The largest font size (pt) at which a diagram of this many columns fits the text block."""
    if columns <= 0:
        return DIAGRAM_MAX_PT
    fit = text_width_pt(page_size) / (columns * MONO_ADVANCE_EM) * 0.98
    return round(max(DIAGRAM_MIN_PT, min(DIAGRAM_MAX_PT, fit)), 2)


def prepare(blocks: list, page_size: str) -> list:
    """Print-only changes: notes become footnote spans (set at the foot of the page), diagrams get a size."""

    def go(node):
        if isinstance(node, list):
            return [go(x) for x in node]
        if not isinstance(node, dict) or "t" not in node:
            return node
        t = node["t"]
        if t == "Note":
            inlines: list = []
            for block in go(node["c"]):
                if inlines:
                    inlines.append({"t": "Space"})
                inlines.extend(block["c"] if block.get("t") in ("Para", "Plain") else pd.text_inlines(pd.stringify(block)))
            return pd.span(inlines, classes=["footnote"])
        if t == "CodeBlock":
            attr, text = node["c"]
            if "diagram" in attr[1]:
                cols = int(pd.get_kv(attr, "data-columns") or 0)
                style = f"font-size: {diagram_size(cols, page_size)}pt"
                return {"t": t, "c": [[attr[0], attr[1], [*attr[2], ["style", style]]], text]}
            return node
        if "c" in node:
            return {"t": t, "c": go(node["c"])}
        return node

    return go(blocks)


def toc_entries(book: Book) -> list[dict]:
    entries = []
    for part in book.parts:
        if part.title:
            entries.append({"level": 0, "title": part.title, "id": part.id, "kind": "part"})
        for chapter in part.chapters:
            entries.append({"level": 1, "title": chapter.title, "id": chapter.id, "kind": "chapter"})
            if not chapter.single:
                for a in chapter.articles:
                    entries.append({"level": 2, "title": a.title, "id": a.id, "kind": "article"})
    return entries


class SafeFetcher:
    """Serves data: URLs and files under the given roots (resolved, so symlinks cannot escape); nothing else."""

    def __init__(self, roots: Iterable[Path]):
        from weasyprint.urls import URLFetcher

        self.roots = [Path(r).resolve() for r in roots]
        self.inner = URLFetcher(allowed_protocols={"data", "file"})

    def __call__(self, url: str, headers=None):
        return self.fetch(url, headers)

    def fetch(self, url: str, headers=None):
        parts = urlsplit(url)
        if parts.scheme == "data":
            return self.inner.fetch(url, headers)
        if parts.scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if any(path.is_relative_to(r) for r in self.roots) and path.is_file():
                return self.inner.fetch(url, headers)
        raise ValueError(f"not fetched (outside the knowledge base and the theme): {url}")


class PdfBackend:
    name = "pdf"
    suffix = ".pdf"

    def check(self, book: Book, theme: Theme) -> Iterable[Diagnostic]:
        return ()

    def write(self, book: Book, theme: Theme, target: Path) -> None:
        import weasyprint

        m = book.manifest
        level = 1
        back = render.back_matter(book, level)
        fragments = [prepare(render.chapter_blocks(c), m.page_size) for c in book.chapters]
        fragments += [prepare(blocks, m.page_size) for _, _, blocks in back]
        html = render.to_html(fragments)
        chapter_html = iter(html[: len(book.chapters)])
        parts = [
            {"title": p.title, "id": p.id, "chapters": [{"id": c.id, "html": next(chapter_html)} for c in p.chapters]}
            for p in book.parts
        ]
        back_html = [{"id": i, "title": t, "html": h} for (i, t, _), h in zip(back, html[len(book.chapters):], strict=True)]
        page = theme.render(
            "pdf.html.j2",
            book=book,
            m=m,
            toc=toc_entries(book),
            parts=parts,
            back=back_html,
            css=theme.css("pdf"),
            page_size=m.page_size,
        )
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        fetcher = SafeFetcher([m.source, *theme.folders])
        doc = weasyprint.HTML(string=page, base_url=str(m.source) + "/", url_fetcher=fetcher)
        doc.write_pdf(target, pdf_identifier=b"publisher", uncompressed_pdf=False)
