"""Embeds: `![[note]]`, `![[note#Heading]]` and `![[note#^block]]` bring that content into the article;
`![[image.png|alt|300]]` and `![alt](path)` become images of files inside the vault (one without alt text
is a warning: an image says what it shows); whatever a printed book
cannot show (`![[x.base]]`, `![[x.canvas]]`, a PDF, a missing target) becomes a visible placeholder (class
"embed-placeholder") and a warning. An embed that would include itself, directly or through others, becomes a
link to the note it would repeat, with one warning naming the cycle. Remote images are sanitize's.

pandoc's wikilinks know no embeds: one arrives as a Str ending in "!" just before a Link of class "wikilink".
Embedded content keeps the links of the article it comes from (a Div with data-source, which
links.resolve_links reads), its headings sit one level below the place of the embed, and every id in it
is new. An image's target is the file's absolute path, percent-encoded, with class "vault-file".
"""

from __future__ import annotations

import posixpath
from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import quote, unquote, urlsplit

from . import tree, treeedit
from .blockids import book_ids
from .diagnostics import did_you_mean
from .ids import IdAllocator, xml_id
from .links import SOURCE_KEY, Target, did_you_mean_block, find_article, parse_target, record, same_heading
from .model import Article, Book, map_articles
from .paths import FOUND, OUTSIDE, Place, locate
from .sanitize import ALT_EXAMPLE, warn_missing_alt
from .vault import fold

MAX_DEPTH = 3
SECTION_CONTAINERS = ("Div", "BlockQuote", "BulletList", "OrderedList")  # where `![[note#Heading]]` looks too
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
VIEWS = {".base": "view", ".canvas": "canvas", ".pdf": "PDF", ".excalidraw": "drawing"}
MEDIA = {".mp3": "audio", ".wav": "audio", ".m4a": "audio", ".ogg": "audio", ".flac": "audio", ".mp4": "video",
         ".webm": "video", ".mov": "video", ".mkv": "video"}


def embed_notes(book: Book, ctx) -> Book:
    """Step: every embed in every article becomes its content, an image, or a placeholder."""
    embedder = _Embedder(book, ctx)
    return map_articles(book, embedder.article)


class _Embedder:
    def __init__(self, book: Book, ctx) -> None:
        self.ctx = ctx
        self.current = {a.path: a for a in book.every_article}  # the book's articles as they are before this step
        self.ids = IdAllocator()
        self.ids.used.update(book_ids(book))
        self.parsed: dict[str, tuple[list, dict]] = {}  # articles outside the book: prepared blocks, block ids
        dropped = ctx.title_headings  # article id -> its opening H1 dropped as the title
        self.dropped = {a.path: dropped[a.id] for a in book.every_article if a.id in dropped}
        self.cycles: set[tuple[str, ...]] = set()  # each embed cycle reported, from the note it comes first to
        self.root = ctx.vault.root.resolve()

    def article(self, a: Article) -> Article:
        blocks = self.expand(list(a.blocks), a, a, ((a.path, None),), a.level)
        return replace(a, blocks=tuple(blocks))

    # ------------------------------------------------------------ blocks
    def expand(self, blocks: list, host: Article, source: Article, stack: tuple, level: int) -> list:
        """Notes embedded into blocks (from source, itself embedded along stack), then images and placeholders."""
        state = {"level": level}

        def go_list(items: list, top: bool = False) -> list:  # a list of blocks, in reading order
            if not items or items[0]["t"] in tree.INLINE_TYPES:
                return items  # running text: the inline pass below
            out: list = []
            changed = False
            for block in items:
                new = [block] if top and _inert(block) else go(block)
                if len(new) != 1 or new[0] is not block:
                    changed = True
                out.extend(new)
            return out if changed else items  # copied only where something changed

        def go(node: dict) -> list:
            t = node["t"]
            if t == "Header":
                state["level"] = node["c"][0]
                return [node]
            if t in ("Para", "Plain"):
                return self.split(node, host, source, stack, state["level"])
            return [tree.rebuild_list_children(node, go_list)]  # a quote, a list, a table: its lists of blocks

        expanded = go_list(blocks, top=True)
        inline = _Inline(self, source)
        if expanded and all(isinstance(b, dict) and b.get("t") not in tree.INLINE_TYPES for b in expanded):
            return [tree.map_inlines(b, inline) if tree.facts(b).types & {"Link", "Image"} else b for b in expanded]
        return tree.map_inlines(expanded, inline)

    def split(self, node: dict, host: Article, source: Article, stack: tuple, level: int) -> list:
        """A paragraph with notes embedded in it: the text before, the content, the text after."""
        inlines = node["c"]
        if not any(_is_embed(inlines, i - 1) for i in range(1, len(inlines)) if inlines[i].get("t") == "Link"):
            return [node]
        out: list = []
        run: list = []
        i = 0
        while i < len(inlines):
            if _is_embed(inlines, i) and self.kind(inlines[i + 1], source)[0] == "note":
                bang = inlines[i]["c"][:-1]
                run.extend([{"t": "Str", "c": bang}] if bang else [])
                content = self.note(inlines[i + 1], host, source, stack, level)
                if content is None or content.get("t") in ("Span", "Link"):  # a placeholder or link stays in the text
                    run.append(content or inlines[i + 1])
                else:
                    if _visible(run):
                        out.append({"t": node["t"], "c": _trim(run)})
                    out.append(content)
                    run = []
                i += 2
                continue
            run.append(inlines[i])
            i += 1
        if _visible(run):
            out.append({"t": node["t"], "c": _trim(run)})
        return out

    def kind(self, link: dict, source: Article) -> tuple[str, object]:
        """("note", article), ("file", vault path), or ("missing" | "outside", the paths.Place): what an
        embed's target is."""
        target = parse_target(link["c"][2][0], ["wikilink"])
        name = target.name if target else None
        if name is None:
            return "note", source
        suffix = PurePosixPath(name).suffix.lower()
        place = locate(self.ctx.vault, name, source.path) if suffix not in ("", ".md") else None
        if place is None or place.kind != FOUND:
            found = self.ctx.vault.lookup(name)
            if found:
                return "note", found[0]
            place = place or locate(self.ctx.vault, name, source.path)
        return ("file", place.path) if place.kind == FOUND else (place.kind, place)

    def note(self, link: dict, host: Article, source: Article, stack: tuple, level: int) -> dict | None:
        """The content a note embed brings (a Div), a placeholder Span, or (a cycle) the embed's own link."""
        url = link["c"][2][0]
        target = parse_target(url, ["wikilink"]) or Target(None)
        where = _where(source, link)
        if target.name is None:
            article, outcome = source, "resolved"
        else:
            article, outcome = find_article(target.name, source, self.ctx, where)
        if article is None:
            return None
        fragment = ("^" + target.block) if target.block else target.heading
        start = next((i for i, (path, frag) in enumerate(stack)
                      if path == article.path and (frag is None or fragment is None or frag == fragment)), None)
        if start is not None:
            return self.cycle(link, [path for path, _ in stack[start:]] + [article.path], where)
        if len(stack) > MAX_DEPTH:
            return self.placeholder(f"Embedded note '{url}' is nested too deeply", where, url,
                                    f"embed of '{url}' is nested more than {MAX_DEPTH} deep; a placeholder stands in for it")
        blocks, table = self.source_blocks(article)
        if target.block:
            chosen = _block(blocks, table.get("^" + fold(target.block)))
        elif target.heading:
            dropped = self.dropped.get(article.path)  # the opening H1 dropped as the title: the whole note
            chosen = blocks if dropped and same_heading(dropped, target.heading) else _section(blocks, target.heading)
        else:
            chosen = blocks
        if chosen is None:
            record(self.ctx, "broken", where, url)
            if target.block:
                self.ctx.reporter.warning(f"no block '^{target.block}' in '{article.path}' to embed; a placeholder stands "
                                          "in for it", where, did_you_mean_block(target.block, table), code="link.block",
                                          target=url, resolution="placeholder")
            else:
                self.ctx.reporter.warning(f"no heading '{target.heading}' in '{article.path}' to embed; a placeholder "
                                          "stands in for it", where, did_you_mean(target.heading or "", [
                                              tree.stringify(b["c"][2]) for b in tree.walk(blocks) if b["t"] == "Header"]),
                                          code="link.heading", target=url, resolution="placeholder")
            return _placeholder(f"Embedded section '{url}' was not found")
        record(self.ctx, outcome, where, url)
        chosen = self.new_ids(treeedit.shift_headings(chosen, level), host)
        content = self.expand(chosen, host, article, (*stack, (article.path, fragment)), level)
        return tree.div(content, classes=["embed", "embed-note"], kvs=[(SOURCE_KEY, article.path)])

    def source_blocks(self, article: Article) -> tuple[list, dict]:
        """An article's blocks as the book has them so far, and its block ids: one the book leaves out is
        prepared by the same steps as the book's were (ctx.prepare: normalize.prepare_apart), once."""
        if article.path in self.current:
            a = self.current[article.path]
            return list(a.blocks), {k: v for k, v in self.ctx.anchors.get(a.id, {}).items() if k.startswith("^")}
        if article.path not in self.parsed:
            prepared = self.ctx.prepare(article, self.ctx)
            if prepared.title_heading is not None:
                self.dropped[article.path] = prepared.title_heading
            self.parsed[article.path] = (list(prepared.blocks), prepared.block_ids)
        return self.parsed[article.path]

    def cycle(self, link: dict, paths: list[str], where) -> dict:
        """An embed that would include itself: a link to the note it would repeat, and one warning for each
        cycle (the same cycle met from another of its notes is not reported again)."""
        names = [PurePosixPath(p).stem for p in paths]
        ring = tuple(paths[:-1])
        turn = min(range(len(ring)), key=lambda i: ring[i:] + ring[:i])
        if ring[turn:] + ring[:turn] not in self.cycles:
            self.cycles.add(ring[turn:] + ring[:turn])
            self.ctx.reporter.warning(f"embed cycle: {' -> '.join(names)}; a link to '{names[-1]}' stands in for the "
                                      "repeated embed", where, code="link.embed-cycle")
        return link

    def new_ids(self, blocks: list, host: Article) -> list:
        """Every id in embedded content made new (and every heading given one): ids stay unique in the book."""

        def element(node: dict) -> dict:  # inner ids first, then the element's own
            node = tree.rebuild_children(node, element)
            at = tree.ATTR_AT.get(node["t"])
            if at is None:
                return node
            attr = node["c"][at]
            if not (attr[0] or node["t"] == "Header"):
                return node
            text = attr[0].split("--", 1)[-1] if attr[0] else xml_id(tree.stringify(node["c"][2]), "h")
            c = list(node["c"])
            c[at] = [self.ids.take(f"{host.id}--embed-{text}"), attr[1], attr[2]]
            return {"t": node["t"], "c": c}

        return tree.rebuild(blocks, element)

    # ------------------------------------------------------------ files
    def image(self, path: str, alt: list, attr: list, where, target: str, no_alt: str = "") -> dict:
        """An Image of a vault file (absolute path, percent-encoded, class vault-file); it must stay inside the vault.
        `no_alt`: the source gives no alt text, and this is how it would (a warning's hint)."""
        file = (self.root / path).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():  # gone since the vault was read
            return self.placeholder(f"Image '{target}' is not available", where, target,
                                    f"image '{target}' cannot be read; not included", kind="broken", code="image.missing")
        record(self.ctx, "resolved", where, target)
        if no_alt:
            warn_missing_alt(self.ctx.reporter, where, target, no_alt)
        classes = [*attr[1], "vault-file"] if "vault-file" not in attr[1] else attr[1]
        return {"t": "Image", "c": [[attr[0], classes, attr[2]], alt, [quote(file.as_posix()), ""]]}

    def placeholder(self, text: str, where, target: str, message: str, hint: str = "", kind: str = "placeholder",
                    code: str = "link.embed") -> dict:
        record(self.ctx, kind, where, target)
        self.ctx.reporter.warning(message, where, hint, code=code, target=target, resolution="placeholder")
        return _placeholder(text)

    def unavailable(self, place: Place, label: str, where, target: str) -> dict:
        """The placeholder of an image that names no file of the vault: one that leaves the vault (outside),
        or one inside it that names nothing (missing, with the nearest attachment as a hint)."""
        if place.kind == OUTSIDE:
            return self.placeholder(f"Image '{label}' is not available", where, target,
                                    f"image '{target}' is outside the knowledge base; not included", kind="broken",
                                    code="image.outside")
        return self.placeholder(f"Image '{label}' is not available", where, target,
                                f"image '{target}' is missing: no such file in the knowledge base", place.hint,
                                kind="broken", code="image.missing")


class _Inline:
    """Embeds and images inside running text: an image, a placeholder, or (a note embed in a heading) a link."""

    def __init__(self, embedder: _Embedder, source: Article) -> None:
        self.e = embedder
        self.source = source

    def __call__(self, inlines: list) -> list:
        for i, node in enumerate(inlines):
            t = node.get("t")
            if t == "Image" or (t == "Link" and i and _is_embed(inlines, i - 1)):
                break
        else:
            return inlines  # no embed, no image: the same list
        out: list = []
        i = 0
        while i < len(inlines):
            node = inlines[i]
            if _is_embed(inlines, i):
                bang = node["c"][:-1]
                out.extend([{"t": "Str", "c": bang}] if bang else [])
                out.append(self.embed(inlines[i + 1]))
                i += 2
                continue
            if node.get("t") == "Image" and "vault-file" not in node["c"][0][1]:
                node = self.markdown_image(node)
            out.append(node)
            i += 1
        return out

    def embed(self, link: dict) -> dict:
        e, url = self.e, link["c"][2][0]
        where = _where(self.source, link)
        kind, found = e.kind(link, self.source)
        if kind == "note":
            return link  # where no content can go (a heading): a cross-reference instead
        name = (parse_target(url, ["wikilink"]) or Target(url)).name or url
        suffix = PurePosixPath(name).suffix.lower()
        if kind in ("missing", "outside"):
            if suffix in IMAGES:
                return e.unavailable(found, url, where, url)
            hint = did_you_mean(PurePosixPath(name).stem, e.ctx.vault.names(), cutoff=0.75)
            return e.placeholder(f"Embedded note '{url}' was not found", where, url, f"unresolved embed '{url}'", hint, "broken")
        if suffix in IMAGES:
            text = tree.stringify(link["c"][1])  # the whole target when the embed has no `|`
            label, size = _alt_and_size(text) if text != url else ("", "")
            if label:
                alt = link["c"][1] if label == text.strip() else tree.text_inlines(label)
                return e.image(found, alt, ["", [], _size(size)], where, url)
            alt = tree.text_inlines(PurePosixPath(found).stem)  # as Obsidian does; the warning asks for better
            example = f"![[{url}|{ALT_EXAMPLE}{'|' + size if size else ''}]]"
            return e.image(found, alt, ["", [], _size(size)], where, url, example)
        what = VIEWS.get(suffix) or MEDIA.get(suffix) or "file"
        return e.placeholder(f"Embedded {what} '{url}' is not available in print", where, url,
                             f"embedded {what} '{url}' cannot be shown in a book; a placeholder stands in for it")

    def markdown_image(self, node: dict) -> dict:
        e = self.e
        attr, alt, (url, _title) = node["c"]
        where = _where(self.source, node)
        parts = urlsplit(url)
        if parts.scheme or url.startswith("//"):
            return node  # a data: image, or a remote one sanitize has handed on
        label, bar, size = tree.stringify(alt).rpartition("|")
        sizes = _size(size) if bar else []
        if sizes:  # Obsidian's ![alt|300](path)
            alt = tree.text_inlines(label)
        label = tree.stringify(alt) or posixpath.basename(parts.path) or url
        place = locate(e.ctx.vault, unquote(parts.path), self.source.path)
        if place.kind != FOUND:
            return e.unavailable(place, label, where, url)
        found = place.path
        if PurePosixPath(found).suffix.lower() not in IMAGES:
            return e.placeholder(f"Image '{label}' is not available", where, url,
                                 f"'{url}' is not an image; a placeholder stands in for it")
        example = f"![{ALT_EXAMPLE}{'|' + size.strip() if sizes else ''}]({url})" if not tree.stringify(alt).strip() else ""
        return e.image(found, alt, [attr[0], attr[1], attr[2] + sizes], where, url, example)


# ---------------------------------------------------------------- helpers
def _inert(block: dict) -> bool:
    """A block without a link, an image or a heading anywhere in it: no embed, no image, and no change of
    level for the embeds after it (tree.facts tells at once)."""
    found = tree.facts(block)
    return not found.headers and not found.types & {"Link", "Image"}


def _is_embed(inlines: list, i: int) -> bool:
    node = inlines[i]
    return (node.get("t") == "Str" and node["c"].endswith("!") and i + 1 < len(inlines)
            and inlines[i + 1].get("t") == "Link" and "wikilink" in inlines[i + 1]["c"][0][1])


def _where(source: Article, node: dict):
    line, col = tree.pos_of(node)
    return source.loc(line, col - 1 if node.get("t") == "Link" and col > 1 else col)


def _alt_and_size(text: str) -> tuple[str, str]:
    """An image embed's `|alt`, `|300`, `|300x200` or `|alt|300`: (the alt text, the size). A number or WxH
    alone is a size, never alt text."""
    label, _, last = text.rpartition("|")
    return (label.strip(), last.strip()) if _size(last) else (text.strip(), "")


def _size(text: str) -> list[list[str]]:
    """`|300` or `|300x200`: Obsidian's image size in pixels, as pandoc's width/height (DOCX, EPUB) and as a
    style (WeasyPrint reads no width attribute)."""
    width, _, height = text.strip().partition("x")
    if not width.isdigit() or (height and not height.isdigit()):
        return []
    style = f"width: {width}px" + (f"; height: {height}px" if height else "")
    return [["width", width]] + ([["height", height]] if height else []) + [["style", style]]


def _placeholder(text: str) -> dict:
    return tree.span(tree.text_inlines(f"[{text}]"), classes=["embed-placeholder"])


def _visible(inlines: list) -> bool:
    return any(n.get("t") not in ("Space", "SoftBreak", "LineBreak") for n in inlines)


def _trim(inlines: list) -> list:
    while inlines and inlines[0].get("t") in ("Space", "SoftBreak", "LineBreak"):
        inlines = inlines[1:]
    while inlines and inlines[-1].get("t") in ("Space", "SoftBreak", "LineBreak"):
        inlines = inlines[:-1]
    return inlines


def _section(blocks: list, heading: str) -> list | None:
    """A heading and what follows it up to the next heading of its level or above (searched in nested blocks
    too: a list of blocks whole before the lists inside its quotes, divs and lists, in reading order)."""
    found: list[list] = []

    def look(items: list) -> list:
        if found:
            return items
        for i, block in enumerate(items):
            if block["t"] == "Header" and same_heading(tree.stringify(block["c"][2]), heading):
                level = block["c"][0]
                end = next((j for j in range(i + 1, len(items))
                            if items[j]["t"] == "Header" and items[j]["c"][0] <= level), len(items))
                found.append(items[i:end])
                return items
        for block in items:
            if block["t"] in SECTION_CONTAINERS:
                tree.rebuild_list_children(block, look)
        return items

    look(blocks)
    return found[0] if found else None


def _block(blocks: list, ident: str | None) -> list | None:
    """The block that carries a block id: a Div's content, or the paragraph of a Span."""
    if not ident:
        return None
    for node in tree.walk(blocks):
        if node.get("t") in ("Para", "Plain") and len(node["c"]) == 1 and node["c"][0].get("t") == "Span" \
                and node["c"][0]["c"][0][0] == ident:
            return [tree.para(node["c"][0]["c"][1])]
        if node.get("t") == "Div" and node["c"][0][0] == ident:
            return list(node["c"][1])
    return None
