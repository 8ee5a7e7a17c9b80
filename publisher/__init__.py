"""publisher: a knowledge base of Markdown articles in, real books out (PDF, EPUB, DOCX).

    manifest -> vault -> selection -> normalized book (links, diagrams, glossary, tag index) -> backends
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .diagnostics import Reporter

if TYPE_CHECKING:
    from .model import Book

__version__ = "0.1.0"
__all__ = ["build", "load_book", "LoadedBook", "__version__"]


@dataclass(frozen=True, slots=True)
class LoadedBook:
    book: Book
    outside_links: tuple = ()
    links: tuple = ()  # links.Outcome of every link and embed
    context: object = None  # context.Context: the vault, and where every article and heading went


def load_book(manifest_path: str | Path, reporter: Reporter | None = None, *, draft: bool = False, check: bool = False):
    """Gather: read the manifest and the vault, select, parse and normalize. Nothing is written.

    check=True (`publisher check`): every diagnostic a build reports while gathering, and the link outcomes,
    but the book is not complete: its index is not marked, its glossary not harvested, positions kept."""
    from . import progress, tree
    from .context import Context
    from .manifest import load_manifest
    from .normalize import assemble, normalize
    from .select import select
    from .vault import load_vault

    reporter = reporter if reporter is not None else Reporter()
    progress.stage("load")
    manifest = load_manifest(Path(manifest_path), reporter)
    reporter.set_policy(manifest.diagnostics_ignore, manifest.diagnostics_error)
    vault = load_vault(manifest.source, reporter)
    selection = select(manifest, vault, reporter)
    with tree.facts_memo():  # open before the trees are read: the parse cache keeps their blocks' facts
        book = assemble(manifest, selection, reporter, vault)
        ctx = Context(manifest=manifest, vault=vault, reporter=reporter, draft=draft, check=check)
        progress.stage("normalize")
        book = normalize(book, ctx)
    return LoadedBook(book, tuple(ctx.outside), tuple(ctx.links.values()), ctx)


def build(manifest_path: str | Path, formats=None, out: str | Path | None = None, *, reporter: Reporter | None = None,
          draft: bool = False, strict: bool = False) -> list[Path]:
    """Build one manifest into each format; returns the files written. strict: a warning writes nothing."""
    from .backends import load_backend, output_folder, write_book

    reporter = reporter if reporter is not None else Reporter()
    for name in formats or ():
        load_backend(name)  # a usage error before any work
    if out:
        output_folder(Path(out))
    loaded = load_book(manifest_path, reporter, draft=draft)
    return write_book(loaded.book, formats, Path(out) if out else None, reporter, strict=strict)
