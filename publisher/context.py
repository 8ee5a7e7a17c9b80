"""The normalizer's context: what its steps share besides the book, and what each step reads and writes of it.

Every step is `step(book, ctx) -> book`. Besides the book it gets and returns, a step may read a field of the
Context and write one (fill a table). A Step names both: `reads` and `writes` are names of Context fields.
check_order, run when the pipeline is built (normalize.STEPS) and by a test, holds the order to them: no step
reads a field that neither the caller gives (INPUTS) nor an earlier step writes, and every field a step writes
is read by a later step or by the caller once the book is normalized (RESULTS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from .ids import gfm_slug
from .vault import fold

if TYPE_CHECKING:
    from .diagnostics import Reporter, SourceLocation
    from .links import Outcome, Target
    from .model import Article, Book, Manifest
    from .vault import Vault


@dataclass(slots=True)
class Context:
    # ---- given by the caller (INPUTS)
    manifest: Manifest  # the book's manifest
    vault: Vault  # every article and file of the knowledge base: what links, embeds and images may reach
    reporter: Reporter  # where every diagnostic goes
    draft: bool = False  # `--draft`: a link to nothing is shown as a broken link, not as its text
    # `publisher check`: the steps that can report nothing and that nothing reported depends on (marking the
    # index, harvesting the glossary, stripping positions) are left out; the book is not written
    check: bool = False
    # the per-article preparation (normalize.prepare_apart, set by normalize): the steps before the embeds, for a
    # note the book leaves out that an article embeds; the same steps in the same order as the book's articles had
    prepare: Callable[[Article, Context], Prepared] | None = None
    # ---- written by the steps
    title_headings: dict[str, str] = field(default_factory=dict)  # article id -> its opening H1, dropped as the title
    anchors: dict[str, dict[str, str]] = field(default_factory=dict)  # article id -> heading or "^block" key -> id
    in_book: dict[str, Article] = field(default_factory=dict)  # path -> article as placed in the book
    outside: list[tuple[SourceLocation, str]] = field(default_factory=list)  # (location, path) of links that leave the book
    # (location, target) -> what each link and embed became; the first outcome recorded for a place stays
    links: dict[tuple[SourceLocation, str], Outcome] = field(default_factory=dict)

    def anchor(self, article: Article, target: Target) -> str | None:
        if target.block:
            return self.anchors.get(article.id, {}).get("^" + fold(target.block))
        if not target.heading:
            return article.id
        table = self.anchors.get(article.id, {})
        return table.get(fold(target.heading)) or table.get(gfm_slug(target.heading))

    def headings(self, article: Article) -> list[str]:
        return [k for k in self.anchors.get(article.id, {}) if not k.startswith("^")]


@dataclass(frozen=True, slots=True)
class Prepared:
    """An article as the steps before the embeds leave it: its blocks, its block ids ("^" + folded name -> id)
    and its opening H1 dropped as the title (or None)."""

    blocks: tuple
    block_ids: dict[str, str]
    title_heading: str | None


INPUTS = frozenset({"manifest", "vault", "reporter", "draft", "check", "prepare"})
# read by the caller of normalize (load_book, serve's preview, the backends through LoadedBook.context)
RESULTS = frozenset({"in_book", "anchors", "outside", "links"})


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the pipeline and the Context fields it reads and writes (a field it fills and reads back,
    as assign_block_ids does the anchors, is in both)."""

    run: Callable[[Book, Context], Book]
    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()

    def __call__(self, book: Book, ctx: Context) -> Book:
        return self.run(book, ctx)

    @property
    def __name__(self) -> str:  # a step is named as its function is (bench/run.py times each by name)
        return self.run.__name__


def step(run: Callable[[Book, Context], Book], reads: Iterable[str] = (), writes: Iterable[str] = ()) -> Step:
    return Step(run, frozenset(reads), frozenset(writes))


def check_order(steps: Iterable[Step], inputs: frozenset[str] = INPUTS, results: frozenset[str] = RESULTS) -> None:
    """Raise ValueError naming the step and the field when a step reads a field nothing wrote before it,
    writes one nothing reads after it, or names a field the Context does not have."""
    steps = tuple(steps)
    known = {f.name for f in fields(Context)}
    written = set(inputs)
    for i, s in enumerate(steps):
        for name in sorted((s.reads | s.writes) - known):
            raise ValueError(f"step {s.__name__} names '{name}', which is not a field of Context")
        for name in sorted(s.reads - written):
            raise ValueError(f"step {s.__name__} reads '{name}', which no earlier step writes")
        written |= s.writes
        later = set(results).union(*(t.reads for t in steps[i + 1:]))
        for name in sorted(s.writes - later):
            raise ValueError(f"step {s.__name__} writes '{name}', which no later step reads")


BEGIN, END = "<!-- steps: made by `make docs` from normalize.STEPS -->\n", "<!-- end of steps -->\n"


def table(steps: Iterable[Step]) -> str:
    """The steps in order with what each reads and writes: a Markdown table (README's architecture section)."""
    rows = ["| step | reads | writes |", "|---|---|---|"]
    for s in steps:
        rows.append(f"| `{s.__name__}` | {', '.join(sorted(s.reads)) or '-'} | {', '.join(sorted(s.writes)) or '-'} |")
    return "\n".join(rows) + "\n"


def with_table(readme: str, steps: Iterable[Step]) -> str:
    """README's text with the table between its markers made from the steps (`make docs`)."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + BEGIN + table(steps) + END + tail
