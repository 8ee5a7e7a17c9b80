"""Cross-links: every link form a vault uses resolved to a place inside the book, or reported.

Forms: [[name]], [[name|text]], [[name#Heading]], [[name#Heading#Sub]], [[#Heading]], [[name#^block]],
app://obsidian.md/<vault>/<path>[#heading], obsidian://open?vault=..&file=.., relative .md links with
anchors and same-article #anchors. Names resolve as Obsidian does (path, stem, alias, title).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, unquote, urlsplit

from . import pandoc as pd
from .diagnostics import did_you_mean
from .model import Article, Book, map_articles

APP_PREFIX = "app://obsidian.md/"


@dataclass(frozen=True, slots=True)
class Target:
    name: str | None  # None: the article the link is in
    heading: str | None = None
    block: str | None = None


def parse_target(url: str, classes: list[str]) -> Target | None:
    """What an href means inside the vault, or None for a link that leaves it (http:, mailto:)."""
    if "wikilink" in classes:
        return _split_fragment(url)
    if url.startswith(APP_PREFIX):
        return _split_fragment(unquote(url[len(APP_PREFIX):]), decoded=True)
    if url.startswith("obsidian://"):
        query = parse_qs(urlsplit(url).query)
        file = (query.get("file") or [""])[0]
        return _split_fragment(file, decoded=True) if file else None
    if url.startswith("#"):
        return _split_fragment(url, relative=True)
    scheme = urlsplit(url).scheme
    if scheme or url.startswith("//"):
        return None
    path, _, fragment = url.partition("#")
    path = unquote(path)
    if not path:
        return None
    return Target("./" + path, _nonempty(unquote(fragment))) if not fragment.startswith("^") else Target("./" + path, None, fragment[1:])


def _nonempty(text: str | None) -> str | None:
    return text if text else None


def _split_fragment(text: str, *, decoded: bool = False, relative: bool = False) -> Target:
    if not decoded:
        text = unquote(text)
    name, _, fragment = text.partition("#")
    parts = [p for p in fragment.split("#") if p.strip()]
    heading = parts[-1].strip() if parts else None
    block = None
    if heading and heading.startswith("^"):
        block, heading = heading[1:], None
    return Target(name.strip() or None, heading, block)


def resolve_links(book: Book, ctx) -> Book:
    return map_articles(book, lambda a: replace(a, blocks=tuple(pd.map_inlines(list(a.blocks), _Rewriter(a, ctx)))))


class _Rewriter:
    def __init__(self, article: Article, ctx) -> None:
        self.article = article
        self.ctx = ctx

    def __call__(self, inlines: list) -> list:
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
        dest = self.lookup(target, where)
        if dest is None:
            stem = posixpath.basename(target.name or "").removesuffix(".md")
            self.ctx.reporter.warning(f"unresolved link to '{url}'", where, did_you_mean(stem, self.ctx.vault.names(), cutoff=0.75))
            text = inlines if explicit else pd.text_inlines(url)
            return [pd.span(text, classes=["broken-link"])] if self.ctx.draft else text
        text = inlines if explicit else pd.text_inlines(self.label(dest, target))
        in_book = self.ctx.in_book.get(dest.path)
        if in_book is None:
            return self.outside(dest, text, where)
        anchor = self.ctx.anchor(in_book, target)
        if anchor is None:
            wanted = f"#^{target.block}" if target.block else f"#{target.heading}"
            self.ctx.reporter.warning(
                f"no heading '{wanted.lstrip('#')}' in '{dest.path}'; the link lands on the article",
                where,
                did_you_mean(target.heading or "", self.ctx.headings(in_book)),
            )
            anchor = in_book.id
        return [pd.link(text, "#" + anchor, classes=["xref"])]

    def lookup(self, target: Target, where) -> Article | None:
        if target.name is None:
            return self.article
        name = target.name
        if name.startswith("./"):  # a relative Markdown link: a path from this article's folder
            base = posixpath.dirname(self.article.path)
            path = posixpath.normpath(posixpath.join(base, name[2:]))
            if path.startswith("../") or path == "..":
                return None  # outside the knowledge base: never read
            found = self.ctx.vault.lookup(path)
            return found[0] if len(found) == 1 else None
        found = self.ctx.vault.lookup(name)
        if len(found) > 1:
            self.ctx.reporter.warning(
                f"'{name}' is ambiguous: {', '.join(a.path for a in found)}; using '{found[0].path}'",
                where,
                "link by path to choose another",
            )
        return found[0] if found else None

    def label(self, dest: Article, target: Target) -> str:
        if target.heading and target.name is None:
            return target.heading
        if target.heading:
            return f"{dest.title} \u203a {target.heading}"
        return dest.title

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
