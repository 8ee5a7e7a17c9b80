"""DOCX through pandoc with the theme's reference.docx: the whole book as one pandoc tree."""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path
from typing import Iterable

from .. import pandoc as pd
from .. import render
from ..diagnostics import Diagnostic
from ..model import Book
from ..themes import Theme
from . import normalize_zip

PAGE_BREAK = {"t": "RawBlock", "c": ["openxml", '<w:p><w:r><w:br w:type="page"/></w:r></w:p>']}


def _meta_list(values: Iterable[str]) -> dict:
    return {"t": "MetaList", "c": [pd.meta_string(v) for v in values]}


def book_blocks(book: Book) -> list[dict]:
    blocks: list[dict] = []
    for part in book.parts:
        if part.title:
            blocks.append(pd.header(1, part.id, pd.text_inlines(part.title), classes=["part"]))
        for chapter in part.chapters:
            blocks.extend(render.chapter_blocks(chapter))
    for _, _, section in render.back_matter(book, 1):
        blocks.append(PAGE_BREAK)
        blocks.extend(section)
    return blocks


class DocxBackend:
    name = "docx"
    suffix = ".docx"

    def check(self, book: Book, theme: Theme) -> Iterable[Diagnostic]:
        return ()

    def write(self, book: Book, theme: Theme, target: Path) -> None:
        m = book.manifest
        meta = {
            "title": pd.meta_string(m.title),
            "author": _meta_list(m.authors),
            "date": pd.meta_string(book.build_date),
            "lang": pd.meta_string(m.language),
            "toc-title": pd.meta_string("Contents"),
            "keywords": _meta_list(g.label for g in book.tags),
        }
        if m.subtitle:
            meta["subtitle"] = pd.meta_string(m.subtitle)
        if m.description:
            meta["subject"] = pd.meta_string(m.description)
        args = ["-f", "json", "-t", "docx", "-o", "-", "--toc", "--toc-depth=2", "--syntax-highlighting=none"]
        try:
            args.append(f"--reference-doc={theme.file(theme.config.get('docx', {}).get('reference', 'reference.docx'))}")
        except FileNotFoundError:
            pass
        epoch = calendar.timegm(dt.date.fromisoformat(book.build_date).timetuple())
        data = pd.run_pandoc(args, pd.document(book_blocks(book), meta), binary=True, env={"SOURCE_DATE_EPOCH": str(epoch)})
        raw = target.with_suffix(".raw")
        try:
            raw.write_bytes(data)
            normalize_zip(raw, target, first=("[Content_Types].xml",))
        finally:
            raw.unlink(missing_ok=True)
