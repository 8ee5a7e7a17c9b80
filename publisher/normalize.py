"""The normalizer: selected articles -> a complete book, in named steps called in order from one place.

    STEPS = (drop_comments, apply_conditions, format_aliases, sanitize, drop_title_headings, shift_headings,
             assign_ids, assign_block_ids, convert_callouts, embed_notes, render_obsidian, check_math, mark_direction,
             resolve_links, add_see_also, mark_diagrams, collect_glossary,
             collect_tags, build_index, add_properties, strip_positions)

Each step takes the book and returns a new one; diagrams (code blocks) are never rewritten.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace

from . import tree, treeedit
from .aliases import format_aliases
from .blockids import assign_block_ids
from .callouts import convert_callouts
from .collector import collector_paused
from .comments import drop_comments
from .context import Context, Prepared, check_order, step
from .diagnostics import Reporter
from .diagrams import mark_diagrams
from .editions import add_lesson_features, apply_conditions
from .embeds import embed_notes
from .formulas import check_math
from .glossary import collect_glossary
from .ids import RESERVED_IDS, IdAllocator, gfm_slug, xml_id
from .index import build_index
from .links import related_article, resolve_links
from .model import Article, Book, Chapter, Manifest, Part, map_articles
from .obsidian import render_obsidian
from .pandoc import parse_articles
from .properties import add_properties
from .sanitize import sanitize
from .scripts import mark_direction
from .select import Selection, numbered, passes, usable
from .tags import collect_tags
from .titles import drop_title_heading, titled_by_heading
from .vault import Vault, fold


# ---------------------------------------------------------------- assembling
def assemble(manifest: Manifest, selection: Selection, reporter: Reporter, vault: Vault | None = None) -> Book:
    """The book's skeleton: parts, chapters and articles with ids, levels and parsed bodies; the front and
    back matter files (read from the vault) beside them, each an unnumbered level-1 section of its own."""
    front, back = matter_articles(manifest, selection, vault, reporter)
    with collector_paused():  # every cached tree read: millions of small objects (see normalize)
        trees = parse_articles((*selection.articles, *front, *back), reporter)
    ids = IdAllocator()
    ids.used.update(RESERVED_IDS)  # Index.md is the article 'index-2', not the generated index
    has_parts = any(title for title, _ in selection.parts)
    chapter_level = 2 if has_parts else 1
    parts = []
    number = 0
    for pn, (part_title, chapters) in enumerate(selection.parts, 1):
        part_id = ids.take(f"part-{pn}")
        built = []
        for spec in chapters:
            single = spec.title is None and len(spec.articles) == 1
            level = chapter_level if single else chapter_level + 1
            articles = tuple(
                replace(titled_by_heading(a, trees.get(a.path, ())), blocks=trees.get(a.path, ()),
                        id=ids.take(xml_id(a.slug, "a")), level=level)
                for a in spec.articles
            )
            title = spec.title or articles[0].title
            number += 1
            label = numbered(title, number, manifest.numbering)
            if single:
                built.append(Chapter(label, articles[0].id, articles, chapter_level, True))
            else:
                built.append(Chapter(label, ids.take("ch-" + xml_id(title, "c")), articles, chapter_level, False))
        parts.append(Part(part_title, part_id, tuple(built)))

    def placed(articles: tuple[Article, ...]) -> tuple[Article, ...]:
        return tuple(replace(titled_by_heading(a, trees.get(a.path, ())), blocks=trees.get(a.path, ()),
                             id=ids.take(xml_id(a.slug, "a")), level=1) for a in articles)

    return Book(manifest=manifest, parts=tuple(parts), build_date=build_date(manifest, selection),
                front=placed(front), back=placed(back))


def matter_articles(manifest: Manifest, selection: Selection, vault: Vault | None,
                    reporter: Reporter) -> tuple[tuple[Article, ...], tuple[Article, ...]]:
    """The articles of the front_matter and back_matter files, in order. One that is a chapter too, named
    twice, or left out by the manifest's filter is not placed again (a warning)."""
    if vault is None:
        return (), ()
    seen = {a.path for a in selection.articles}
    out: dict[str, list[Article]] = {"front_matter": [], "back_matter": []}
    for key, items in (("front_matter", manifest.front_matter), ("back_matter", manifest.back_matter)):
        for item in items:
            if item.kind != "file":
                continue
            found = [a for a in vault.lookup(item.path) if a.path == item.path]
            if not found:
                reporter.error(f"{key}: no article '{item.path}' in the knowledge base", item.location, code="select.not-found")
                continue
            article = found[0]
            if article.path in seen:
                reporter.warning(f"{key}: '{article.path}' is already in the book; it is placed once", item.location, code="select.placed-once")
                continue
            if not passes(article, manifest):
                reporter.warning(f"{key}: '{article.path}' is left out by the manifest's filter", item.location, code="select.filtered")
                continue
            seen.add(article.path)
            if not usable(article, reporter, key):
                continue
            out[key].append(article)
    return tuple(out["front_matter"]), tuple(out["back_matter"])


def build_date(manifest: Manifest, selection: Selection) -> str:
    """SOURCE_DATE_EPOCH, else the manifest's date, else the newest last_updated, else "" (no date is shown):
    never the clock, never an invented date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date().isoformat()
    if manifest.date:
        return manifest.date
    dates = sorted(a.last_updated for a in selection.articles if a.last_updated)
    return dates[-1] if dates else ""


# ---------------------------------------------------------------- steps
def drop_title_headings(book: Book, ctx: Context) -> Book:
    """The book sets each article's title itself: an opening level-1 heading that repeats the title is
    dropped (links to it land on the article, see assign_ids); any other is the article's first section."""

    def one(a: Article) -> Article:
        blocks, dropped = drop_title_heading(a.blocks, a.title)
        if dropped is None:
            return a
        ctx.title_headings[a.id] = dropped
        return replace(a, blocks=tuple(blocks))

    return map_articles(book, one)


def shift_headings(book: Book, ctx: Context) -> Book:
    """An article's top heading level sits one below its title, wherever it is placed in the book."""

    def one(a: Article) -> Article:
        blocks = list(a.blocks)
        shifted = treeedit.shift_headings(blocks, a.level)
        return a if shifted is blocks else replace(a, blocks=tuple(shifted))

    return map_articles(book, one)


def assign_ids(book: Book, ctx: Context) -> Book:
    """Heading ids namespaced per article and unique across the book; the link table for each article."""
    ids = IdAllocator()
    for a in book.every_article:
        ids.used.add(a.id)
    for c in book.chapters:
        ids.used.add(c.id)
    for p in book.parts:
        ids.used.add(p.id)

    def one(a: Article) -> Article:
        # the opening H1 dropped as the title: a link to it lands on the article (first, as Obsidian's would)
        dropped = ctx.title_headings.get(a.id)
        table: dict[str, str] = {key: a.id for key in (fold(dropped), gfm_slug(dropped)) if key} if dropped else {}

        def element(node: dict) -> dict:
            if node["t"] == "Header":
                level, attr, inl = node["c"]
                text = tree.stringify(inl)
                ident = ids.take(f"{a.id}--{xml_id(text, 'h')}")
                for key in (fold(text), gfm_slug(text), attr[0]):
                    if key:
                        table.setdefault(key, ident)
                return {"t": "Header", "c": [level, [ident, attr[1], attr[2]], inl]}
            if node["t"] in ("BlockQuote", "Div"):
                return tree.rebuild_children(node, element)
            return node

        blocks = tuple(tree.rebuild(list(a.blocks), element))
        ctx.anchors[a.id] = table
        return replace(a, blocks=blocks)

    book = map_articles(book, one)
    ctx.in_book.update({a.path: a for a in book.every_article})
    return book


def add_see_also(book: Book, ctx: Context) -> Book:
    """`related_topics` become a "See also" list of the related articles that are in the book (in a
    course packet, the lesson's reading list takes its place)."""
    if book.manifest.numbering == "lessons" and book.manifest.lessons.reading_list:
        return book

    def one(a: Article) -> Article:
        items, seen = [], {a.path}
        for name in a.related:
            target = related_article(a, name, ctx)
            if target is not None and target.path not in seen:
                seen.add(target.path)
                items.append([tree.plain([tree.link(tree.text_inlines(target.title), "#" + target.id, classes=["xref"])])])
        if not items:
            return a
        heading = tree.header(min(treeedit.MAX_LEVEL, a.level + 1), f"{a.id}--see-also", tree.text_inlines("See also"), classes=["see-also"])
        return replace(a, blocks=(*a.blocks, heading, tree.bullet_list(items)))

    return map_articles(book, one)


def strip_positions(book: Book, ctx: Context) -> Book:
    """Source positions served the diagnostics; no output shows them."""
    if getattr(ctx, "check", False):
        return book  # nothing is written

    def strip(a: Article) -> Article:
        return replace(a, blocks=tuple(treeedit.strip_attrs([b])[0] if tree.facts(b).positions else b for b in a.blocks))

    return map_articles(book, strip)


# Each step with the Context fields it reads and writes (context.py); check_order holds the order to them.
PREPARATION = (  # each article's own steps, before the embeds: prepare_apart runs them for a note the book leaves out
    step(drop_comments, reads={"reporter"}),
    step(apply_conditions, reads={"reporter"}),  # before sanitize, which keeps no unknown key=value attribute
    step(format_aliases, reads={"reporter"}),  # before sanitize too: an alias's raw HTML is cleaned as the article's
    step(sanitize, reads={"manifest", "vault", "reporter"}),  # raw HTML, attributes, images and links made safe
    step(drop_title_headings, writes={"title_headings"}),
    step(shift_headings),
    step(assign_ids, reads={"title_headings"}, writes={"anchors", "in_book"}),
    step(assign_block_ids, reads={"anchors"}, writes={"anchors"}),
    step(convert_callouts),
)
STEPS = (
    *PREPARATION,
    # a note the book leaves out is prepared as the book's were (prepare): so embed_notes reads what they read
    step(embed_notes, reads={"manifest", "vault", "reporter", "draft", "check", "prepare", "title_headings", "anchors"},
         writes={"links"}),
    step(render_obsidian, reads={"reporter"}),  # ==highlights==, tasks, inline #tags (which join the article's tags)
    step(check_math, reads={"reporter"}),  # a formula that cannot be read: a warning, and its TeX shown
    step(mark_direction),  # a right-to-left paragraph in a left-to-right book (or the reverse) gets its dir
    step(resolve_links, reads={"manifest", "vault", "reporter", "draft", "anchors", "in_book", "links"}, writes={"links", "outside"}),
    step(add_see_also, reads={"vault", "reporter", "in_book", "links"}, writes={"links"}),
    step(add_lesson_features, reads={"vault", "manifest", "in_book"}),
    step(mark_diagrams),
    step(collect_glossary, reads={"reporter", "check"}),
    step(collect_tags),
    step(build_index, reads={"reporter", "check"}),
    step(add_properties, reads={"check"}),  # after the glossary and the index have gathered: neither reads a property
    step(strip_positions, reads={"check"}),
)
check_order(STEPS)  # when the pipeline is built: a step that reads what nothing wrote before it stops here


def prepare_apart(article: Article, ctx: Context) -> Prepared:
    """A note the book leaves out, made ready to embed as the book's own articles are: the same steps
    (PREPARATION) in the same order, on a book of this article alone with a context of its own (its ids and
    anchors are not the book's; embeds give embedded content new ids). Its diagnostics go to ctx's reporter."""
    with collector_paused():
        blocks = parse_articles((article,), ctx.reporter, stage=False).get(article.path, ())
    alone = replace(titled_by_heading(article, blocks), blocks=blocks, id="embedded", level=1)
    book = Book(manifest=ctx.manifest, parts=(Part(None, "", (Chapter(alone.title, "", (alone,), 1, True),)),))
    own = Context(manifest=ctx.manifest, vault=ctx.vault, reporter=ctx.reporter, draft=ctx.draft, check=ctx.check)
    for s in PREPARATION:
        book = s(book, own)
    anchors = own.anchors.get(alone.id, {})
    return Prepared(book.articles[0].blocks, {k: v for k, v in anchors.items() if k.startswith("^")},
                    own.title_headings.get(alone.id))


def normalize(book: Book, ctx: Context) -> Book:
    # The steps make and drop millions of small lists and dicts, and trees hold no cycles: without the cyclic
    # collector's passes over the whole heap, the normalizer takes about half the time.
    # Each block's pandoc.facts are found once and kept while the block is in the book.
    ctx.prepare = prepare_apart
    with collector_paused(), tree.facts_memo():
        for each in STEPS:
            book = each(book, ctx)
            tree.forget_facts_but([b for a in book.every_article for b in a.blocks])
    return book
