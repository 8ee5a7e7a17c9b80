"""Cross-links: every link form a vault uses resolved to a place inside the book, or reported.

Forms: [[name]], [[name|text]], [[name#Heading]], [[name#Heading#Sub]], [[#Heading]], [[name#^block]],
app://obsidian.md/<vault>/<path>[#heading], obsidian://open?vault=..&file=.., relative .md links with
anchors and same-article #anchors, related_topics. Names resolve as Obsidian does (path, stem, alias,
title; a file name beats an alias or a title); an ambiguous name takes the shortest path and is reported.
Every outcome is kept in ctx.links, the record `publisher check` reports from.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, unquote, urlsplit

from . import tree as pd  # publisher.tree: still `pd` here while this file is edited elsewhere
from .diagnostics import SourceLocation, did_you_mean
from .ids import gfm_slug
from .model import Article, Book, map_articles
from .paths import FOUND, candidates, locate
from .vault import fold

APP_PREFIX = "app://obsidian.md/"
KINDS = ("resolved", "outside", "broken", "ambiguous", "placeholder")
SOURCE_KEY = "data-source"  # on a Div of embedded content: the vault path of the article it comes from
_OBSIDIAN_DROPS = re.compile(r"[#|^:\[\]%\\]+")  # characters Obsidian leaves out of heading links


@dataclass(frozen=True, slots=True)
class Target:
    name: str | None  # None: the article the link is in
    heading: str | None = None
    block: str | None = None
    fallback: str | None = None  # app://obsidian.md/<vault>/<path>: the path without the vault's name


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one link or embed: resolved, outside (the target is not in this book), broken,
    ambiguous (it took one of several candidates) or placeholder (an embed a book cannot show)."""

    kind: str
    where: SourceLocation
    target: str


def record(ctx, kind: str, where: SourceLocation, target: str) -> None:
    ctx.links.setdefault((where, target), Outcome(kind, where, target))


def outside_info(ctx, where: SourceLocation, path: str, url: str) -> None:
    """A link to a note or file the edition leaves out: information (the manifest's links.outside handles it)."""
    ctx.reporter.info(f"link to '{path}', which is not in this book", where, code="link.outside", target=url,
                      resolution=f"outside: {ctx.manifest.links_outside}")


def summary(outcomes: Iterable[Outcome]) -> str:
    counts = Counter(o.kind for o in outcomes)
    return (f"links: {counts['resolved']} resolved, {counts['outside']} outside, {counts['broken']} broken, "
            f"{counts['ambiguous']} ambiguous, {counts['placeholder']} placeholder(s)")


# ---------------------------------------------------------------- what a link means
def parse_target(url: str, classes: list[str]) -> Target | None:
    """What an href means inside the vault, or None for a link that leaves it (http:, mailto:)."""
    if "wikilink" in classes:
        return _split_fragment(url)
    if url.startswith(APP_PREFIX):
        target = _split_fragment(url[len(APP_PREFIX):])
        first, slash, rest = (target.name or "").partition("/")
        return replace(target, fallback=rest) if slash and rest else target
    if url.startswith("obsidian://"):
        query = parse_qs(urlsplit(url).query)
        file = (query.get("file") or [""])[0]
        return _split_fragment(file, decoded=True) if file else None
    if url.startswith("#"):
        return _split_fragment(url)
    scheme = urlsplit(url).scheme
    if scheme or url.startswith("//"):
        return None
    path, _, fragment = url.partition("#")
    if not path:
        return None
    target = _split_fragment("#" + fragment)
    return replace(target, name="./" + unquote(path))


def _split_fragment(text: str, *, decoded: bool = False) -> Target:
    if not decoded:
        text = unquote(text)
    name, _, fragment = text.partition("#")
    parts = [p for p in fragment.split("#") if p.strip()]
    heading = parts[-1].strip() if parts else None
    block = None
    if heading and heading.startswith("^"):
        block, heading = heading[1:], None
    return Target(name.strip() or None, heading, block)


def same_heading(text: str, wanted: str) -> bool:
    """A heading's text matches a link's: literally (case folded), as a GitHub slug, or as Obsidian writes it
    (without `#|^:[]%` and with `+` or `%20` for spaces)."""
    if fold(text) == fold(wanted) or gfm_slug(text) == gfm_slug(wanted) or gfm_slug(text) == wanted:
        return True
    return _obsidian_form(text) == _obsidian_form(wanted.replace("+", " "))


def _obsidian_form(text: str) -> str:
    return " ".join(_OBSIDIAN_DROPS.sub(" ", fold(text)).split())


def find_article(name: str, source: Article, ctx, where: SourceLocation) -> tuple[Article | None, str]:
    """The article a name means from source, and "resolved" or "ambiguous" (reported, naming the candidates)."""
    vault = ctx.vault
    if name.startswith(("./", "../")):  # a Markdown link or a relative wikilink: a path from the linking
        name = name.removeprefix("./")  # article's folder, else a vault path or name
        if candidates(name, source.path) is None:
            return None, "broken"  # outside the knowledge base (by `..`): never read
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(source.path), name))
        found = vault.lookup(rel)
        if len(found) == 1:
            return found[0], "resolved"
    found = vault.lookup(name)
    if len(found) > 1:
        stem = fold(posixpath.basename(name).removesuffix(".md"))
        by_file = [a for a in found if fold(a.slug) == stem]
        found = tuple(by_file) if by_file else found
    if len(found) > 1:
        ctx.reporter.warning(f"'{name}' is ambiguous: {', '.join(a.path for a in found)}; using '{found[0].path}'",
                             where, "link by path to choose another", code="link.ambiguous", target=name,
                             resolution=f"ambiguous: {found[0].path}")
        return found[0], "ambiguous"
    return (found[0], "resolved") if found else (None, "broken")


# ---------------------------------------------------------------- rewriting the tree
def resolve_links(book: Book, ctx) -> Book:
    headings = _Headings(book.every_article)

    def one(a: Article) -> Article:
        rewriter = _Rewriter(a, ctx, headings)
        # a block without a Link or a Div (embedded content) has nothing to resolve: handed on untouched
        return replace(a, blocks=tuple(_resolve(b, rewriter, ctx, headings) if pd.facts(b).types & {"Link", "Div"} else b
                                       for b in a.blocks))

    return map_articles(book, one)


class _Headings:
    """Article id -> (text, id) of each of its headings, as the article is when the step begins; found when
    first asked (most links land without a look at them)."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self.articles = {a.id: a for a in articles}
        self.found: dict[str, list[tuple[str, str]]] = {}

    def get(self, article_id: str, default=None):
        if article_id not in self.found:
            article = self.articles.get(article_id)
            if article is None:
                return default
            self.found[article_id] = [(pd.stringify(n["c"][2]), n["c"][1][0]) for n in pd.headers_of(article.blocks)]
        return self.found[article_id]


def _resolve(node, rewriter: _Rewriter, ctx, headings):
    """map_inlines, but content embedded from another article is resolved from that article. Copied only
    where something changed."""

    def embedded(div: dict) -> dict | None:
        if div["t"] != "Div" or pd.get_kv(div["c"][0], SOURCE_KEY) is None:
            return None
        attr, blocks = div["c"]
        path = pd.get_kv(attr, SOURCE_KEY)
        source = ctx.in_book.get(path) or next((a for a in ctx.vault.articles if a.path == path), rewriter.article)
        clean = [attr[0], attr[1], [kv for kv in attr[2] if kv[0] != SOURCE_KEY]]
        return {"t": "Div", "c": [clean, _resolve(blocks, _Rewriter(source, ctx, headings), ctx, headings)]}

    return pd.map_inlines(node, rewriter, embedded)


class _Rewriter:
    def __init__(self, article: Article, ctx, headings: _Headings) -> None:
        self.article = article
        self.ctx = ctx
        self.headings = headings  # article id -> (text, id) of each heading

    def __call__(self, inlines: list) -> list:
        if not any(node.get("t") == "Link" for node in inlines):
            return inlines  # nothing to resolve: the same list
        out: list = []
        for node in inlines:
            if node.get("t") == "Link":
                out.extend(self.link(node))
            else:
                out.append(node)
        return out

    def link(self, node: dict) -> list:
        attr, inlines, (url, _title) = node["c"]
        target = parse_target(url, attr[1])
        if target is None:
            return [node]
        line, col = pd.pos_of(node)
        where = self.article.loc(line, col)
        explicit = "wikilink" not in attr[1] or pd.stringify(inlines) != url
        dest, kind = self.lookup(target, where)
        if dest is None:
            return self.broken(target, url, inlines if explicit else None, where)
        in_book = self.ctx.in_book.get(dest.path)
        if in_book is None:
            record(self.ctx, "ambiguous" if kind == "ambiguous" else "outside", where, url)
            outside_info(self.ctx, where, dest.path, url)
            text = inlines if explicit else pd.text_inlines(self.label(dest, target, None, url))
            return self.outside(dest, text, where)
        anchor = self.anchor(in_book, target)
        if anchor is None:
            if target.block:
                self.ctx.reporter.warning(f"no block '^{target.block}' in '{dest.path}'; the link lands on the article",
                                          where, did_you_mean_block(target.block, self.ctx.anchors.get(in_book.id, {})),
                                          code="link.block", target=url, resolution=f"article: {dest.path}")
            else:
                self.ctx.reporter.warning(
                    f"no heading '{target.heading}' in '{dest.path}'; the link lands on the article",
                    where,
                    did_you_mean(target.heading or "", [t for t, _ in self.headings.get(in_book.id, [])]),
                    code="link.heading",
                    target=url,
                    resolution=f"article: {dest.path}",
                )
            kind = "broken"
        record(self.ctx, kind, where, url)
        text = inlines if explicit else pd.text_inlines(self.label(in_book, target, anchor, url))
        return [pd.link(text, "#" + (anchor or in_book.id), classes=["xref"])]

    def lookup(self, target: Target, where) -> tuple[Article | None, str]:
        if target.name is None:
            return self.article, "resolved"
        dest, kind = find_article(target.name, self.article, self.ctx, where)
        if dest is None and target.fallback:
            dest, kind = find_article(target.fallback, self.article, self.ctx, where)
        return dest, kind

    def anchor(self, article: Article, target: Target) -> str | None:
        found = self.ctx.anchor(article, target)
        if found or not target.heading:
            return found
        return next((ident for text, ident in self.headings.get(article.id, []) if same_heading(text, target.heading)), None)

    def label(self, dest: Article, target: Target, anchor: str | None, url: str) -> str:
        """A bare link shows what the author typed (links.text), or the target's title, and the heading as the
        target writes it (none for the opening heading dropped as the title); a block link the block's id, as
        Obsidian does: `Title › ^id`, `^id`."""
        if shows_typed(target, self.ctx.manifest.links_text):
            return typed_text(url)
        if target.block:
            return f"^{target.block}" if target.name is None else f"{dest.title} \u203a ^{target.block}"
        heading = target.heading if anchor != dest.id else None
        if heading and anchor:
            heading = next((text for text, ident in self.headings.get(dest.id, []) if ident == anchor), heading)
        if heading and target.name is None:
            return heading
        return f"{dest.title} \u203a {heading}" if heading else dest.title

    def broken(self, target: Target, url: str, text: list | None, where) -> list:
        """A link to nothing keeps its text, is reported, and in a draft is marked; a file of the vault that
        is not an article (a PDF, a .base) leaves the book like an article the book leaves out."""
        name = target.name or ""
        place = locate(self.ctx.vault, name.removeprefix("./"), self.article.path) if name else None
        file = place.path if place and place.kind == FOUND else None
        fragment = target.heading or (target.block and "^" + target.block)
        if text is None and shows_typed(target, self.ctx.manifest.links_text):
            text = pd.text_inlines(typed_text(url))
        shown = text or pd.text_inlines(f"{name} \u203a {fragment}" if fragment else name or url)
        if file is not None:
            record(self.ctx, "outside", where, url)
            outside_info(self.ctx, where, file, url)
            self.ctx.outside.append((where, file))
            if self.ctx.manifest.links_outside == "keep":
                return [pd.link(shown, f"{self.ctx.manifest.links_base_url.rstrip('/')}/{file}", classes=["outside"])]
            return shown
        record(self.ctx, "broken", where, url)
        stem = posixpath.basename(name).removesuffix(".md")
        if name.startswith(("./", "../")) and candidates(name, self.article.path) is None:  # out by `..`
            self.ctx.reporter.warning(f"unresolved link to '{url}': it leaves the knowledge base, which is all the book reads",
                                      where, "move the note into the knowledge base, or link to it by its web address",
                                      code="link.unresolved", target=url, resolution="unresolved")
            return [pd.span(shown, classes=["broken-link"])] if self.ctx.draft else shown
        self.ctx.reporter.warning(f"unresolved link to '{url}'", where, did_you_mean(stem, self.ctx.vault.names(), cutoff=0.75),
                                  code="link.unresolved", target=url, resolution="unresolved")
        return [pd.span(shown, classes=["broken-link"])] if self.ctx.draft else shown

    def outside(self, dest: Article, text: list, where) -> list:
        """A link to an article this book leaves out follows the manifest's links.outside policy."""
        policy = self.ctx.manifest.links_outside
        self.ctx.outside.append((where, dest.path))
        if policy == "keep":
            base = self.ctx.manifest.links_base_url.rstrip("/")
            return [pd.link(text, f"{base}/{dest.path[:-3]}", classes=["outside"])]
        if policy == "text":
            return text
        note = pd.para([{"t": "Emph", "c": pd.text_inlines(dest.title)}, {"t": "Space"}, *pd.text_inlines("is not in this edition.")])
        return [*text, {"t": "Note", "c": [note]}]


def written_as_file(name: str) -> bool:
    """A link target written as a file's name or path, not as words: a `/`, a `.md`, or lowercase words (or
    numbers) joined by `-` or `_` (`what-is-ai`, `0_fundamentals`). `router` and `Heroku Dyno` are words."""
    if "/" in name or name.lower().endswith(".md"):
        return True
    words = name.replace("_", "-").split("-")
    return len(words) > 1 and all(w.isalnum() and (w.islower() or w.isdigit()) for w in words)


def shows_typed(target: Target, rule: str) -> bool:
    """Whether a bare link shows what was typed (links.text): always, never, or (auto) unless its target is
    written as a file name or path, the note's name or, for `[[#Heading]]`, the heading's."""
    if rule != "auto":
        return rule == "typed"
    return not written_as_file(target.name if target.name is not None else target.heading or "")


def typed_text(url: str) -> str:
    """A bare wikilink as Obsidian shows it: the target as typed, each `#` a ` > ` (`note > Heading`,
    `note > ^block`); `[[#Heading]]` shows the heading alone."""
    return " > ".join(part.strip() for part in url.split("#") if part.strip())


def did_you_mean_block(block: str, anchors: dict[str, str]) -> str:
    """A hint naming the nearest block id of an article (its anchors, as Context.anchors holds them)."""
    return did_you_mean("^" + fold(block), [k for k in anchors if k.startswith("^")])


def related_article(article: Article, name: str, ctx) -> Article | None:
    """A `related_topics` entry (a name, a path or a [[wikilink]]) as the in-book article it names; one that
    names nothing is reported at the front-matter key's line."""
    text = name.strip().removeprefix("[[").removesuffix("]]").split("|")[0].strip()
    if not text:
        return None
    where = article.loc(next((n for k, n in article.meta_lines.items() if k.lower() == "related_topics"), 0), 0)
    dest, kind = find_article(_split_fragment(text).name or text, article, ctx, where)
    if dest is None:
        where = article.loc(_front_matter_line(article, text), 0)
        record(ctx, "broken", where, text)
        ctx.reporter.warning(f"unresolved link to '{text}' in related_topics", where,
                             did_you_mean(text, ctx.vault.names(), cutoff=0.75), code="link.unresolved",
                             target=text, resolution="unresolved")
        return None
    target = ctx.in_book.get(dest.path)
    if target is not None:
        record(ctx, kind, where, text)
    return target


def _front_matter_line(article: Article, text: str) -> int:
    """The line of a related_topics entry: the first line from the key on that names it, else the key's."""
    key_line = next((n for k, n in article.meta_lines.items() if k.lower() == "related_topics"), 0)
    if not key_line:
        return 0
    try:
        lines = article.file.read_text(encoding="utf-8").splitlines()[key_line - 1:article.body_line - 1]
    except (OSError, UnicodeDecodeError):
        return key_line
    return next((key_line + i for i, line in enumerate(lines) if text in line), key_line)
