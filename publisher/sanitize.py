"""Untrusted articles made safe to render, whichever backend draws them.

The knowledge base is not trusted. The renderers are fenced in too (pandoc runs with --sandbox, WeasyPrint
with a fetcher that serves only the vault and the theme, the EPUB keeps only what XHTML allows), but the
book itself must already say nothing unsafe:

- Raw HTML (pandoc's RawBlock/RawInline "html": the commonmark reader gives each inline tag a node of its
  own, so `<span>` and `</span>` arrive apart with Markdown between them) is read tag by tag and written
  anew from an allowlist: only allowed elements and attributes, every value escaped, comments dropped.
  script, style, iframe, object, embed, svg, math and form controls go with their content; on* attributes,
  `rel` and javascript:, file: or data: URLs never pass; `style` keeps a few harmless properties and
  never a url(). Tags left open are closed, and stray end tags dropped, within the same list of blocks or
  inlines, so that no fragment can close the template's own elements. Raw content in any other format
  (```` ```{=openxml} ````) is removed.
- Attributes written in Markdown (`[x](y){onclick=...}`) follow the same rules.
- An image is a file inside the knowledge base, a data: image, or, only with the manifest's
  `allow_remote: true`, an http(s) image downloaded (remote.py: at most 5 MB in 10 s, an image type, checked by
  its first bytes) and handed on as a data: URL. Any other image becomes a visible placeholder.
- A link to javascript:, file:, data: and the like keeps its text only.
- An image kept without alt text (a data: or downloaded one here, a raw `<img>` with no alt attribute; the
  vault's own files are embeds') is a warning too: `warn_missing_alt`. A raw `alt=""` says "decorative".

Every removal is a warning naming path:line:col. Nothing here changes the tree it is given; what needs no
cleaning comes back as the very same objects (most of a tree: later steps and the normalizer's memo of
each block's facts rely on it).
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote, urlsplit

from . import htmlpolicy, tree
from .diagnostics import Reporter, SourceLocation
from .model import Article, Book, map_articles
from .paths import MISSING, OUTSIDE, leaves, locate
from .rawhtml import tokenize
from .remote import RemoteImages
from .vault import Vault

# ---------------------------------------------------------------- the allowlist: the book's profile of htmlpolicy
ALLOWED = htmlpolicy.elements("book")
VOID = frozenset("br col hr img wbr area base embed input link meta param source track keygen frame".split())
# removed with everything inside them (their text is code, a fallback for what cannot be shown, or a control)
REMOVED = frozenset(
    "script style template iframe frame frameset noframes object applet embed noembed noscript svg math "
    "canvas audio video source track map area head title meta link base param textarea select option optgroup "
    "datalist button input keygen output progress meter dialog portal xmp plaintext".split())
# removed, their content kept, without a word: they only group what they hold
QUIET_UNWRAP = frozenset("html body form fieldset legend label article header footer nav main center font "
                         "big tt strike".split())
GLOBAL_ATTRIBUTES, ATTRIBUTES = htmlpolicy.attributes("book")
BOOLEAN = htmlpolicy.BOOLEAN
VALUES = htmlpolicy.values("book")
# attributes whose removal deserves a word: they run code, fetch or embed something, or restyle the page
NOTED = frozenset("href src srcset action formaction data poster background xlink:href rel ping lowsrc dynsrc "
                  "codebase longdesc usemap cite manifest archive classid profile style".split())
# key=value attributes written in Markdown that pandoc passes on and that are harmless
MARKDOWN_KEYS = frozenset({"data-pos", "width", "height", "lang", "dir", "title", "custom-style", "start"})

LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel", "app", "obsidian"})  # app://obsidian.md/..., obsidian://
RAW_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})  # raw HTML links are never resolved in the vault
HTML_FORMATS = frozenset({"html", "html5", "html4"})
_LEAVES = frozenset({"Str", "Space", "SoftBreak", "LineBreak", "HorizontalRule"})
ELEMENT_NAMES = {"Link": "a link", "Image": "an image", "Span": "a span", "Div": "a div", "Header": "a heading",
                 "CodeBlock": "a code block", "Code": "code", "Table": "a table", "Figure": "a figure"}
DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp)(;[\w=.+-]+)*,", re.IGNORECASE)

STYLE_PROPERTIES = frozenset(
    "color background-color font-weight font-style font-variant font-size text-align text-decoration "
    "text-transform vertical-align white-space width max-width min-width height border border-top border-right "
    "border-bottom border-left border-color border-style border-width border-collapse padding padding-top "
    "padding-right padding-bottom padding-left margin margin-top margin-right margin-bottom margin-left "
    "list-style-type".split())
STYLE_VALUE = re.compile(r"[\w\s#%.,()+-]*")  # no quotes, no url(, no backslash escapes, no @, no comments
STYLE_FUNCTIONS = re.compile(r"(url|image|image-set|element|cross-fade|expression|attr|var|env|paint|src)\s*\(",
                             re.IGNORECASE)

_C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


def scheme_of(url: str) -> str:
    """The scheme of a URL as a browser reads it (WHATWG: controls and spaces around it dropped, tabs and
    line breaks inside it too), lower case, or ''."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(_C0_AND_SPACE))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else ""


def clean_style(style: str) -> tuple[str, list[str]]:
    """(the declarations kept, the declarations removed) of a style attribute."""
    kept, removed = [], []
    for declaration in style.split(";"):
        if not declaration.strip():
            continue
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), " ".join(value.split())
        if (colon and name in STYLE_PROPERTIES and STYLE_VALUE.fullmatch(value) and value
                and not STYLE_FUNCTIONS.search(value)):
            kept.append(f"{name}: {value}")
        else:
            removed.append(" ".join(declaration.split()))
    return "; ".join(kept), removed


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


ALT_EXAMPLE = "what the image shows"


def warn_missing_alt(reporter: Reporter, where: SourceLocation, target: str, example: str) -> None:
    """Every image in the book says what it shows: a warning for one whose source gives no alt text, the
    hint `example` written as the source would write it (with ALT_EXAMPLE in the place of the alt text)."""
    reporter.warning(f"image '{_short(target)}' has no alt text", where, f"describe it: {example}", code="image.alt")


# ---------------------------------------------------------------- raw HTML, tag by tag
@dataclass
class _Sequence:
    """Raw HTML state along one list of blocks or inlines: the allowed elements it opened, and the removed
    element whose content is being skipped (its name and how deep inside it we are)."""

    open: list[str] = field(default_factory=list)
    skip: str = ""
    skip_depth: int = 0
    kind: str = "RawInline"

    def close_all(self) -> str:
        closing = "".join(f"</{tag}>" for tag in reversed(self.open))
        self.open.clear()
        return closing


class _Cleaner:
    """Cleans one article's tree (a new tree is returned; the one given is not changed)."""

    def __init__(self, article: Article, reporter: Reporter, vault: Vault, remote: RemoteImages):
        self.article = article
        self.reporter = reporter
        self.vault = vault
        self.remote = remote
        self.cursor = 0
        self._newlines: list[int] | None = None
        self.here: SourceLocation = article.loc(article.body_line, 1)

    # -------- places
    def locate(self, fragment: str) -> SourceLocation:
        """Where a raw fragment sits in the article (raw nodes carry no position): searched in the source
        from the previous one on, by its first line (inside a quote or a list the later lines are indented)."""
        body = self.article.body
        probe = fragment.strip().split("\n", 1)[0].strip()
        at = body.find(probe, self.cursor) if probe else -1
        if at < 0 and probe:
            at = body.find(probe)
        if at < 0:
            return self.here
        self.cursor = at + len(probe)
        if self._newlines is None:
            self._newlines = [i for i, ch in enumerate(body) if ch == "\n"]
        line = bisect.bisect_left(self._newlines, at)
        col = at - (self._newlines[line - 1] + 1 if line else 0) + 1
        return self.article.loc(self.article.body_line + line, col)

    def node_place(self, node: dict) -> SourceLocation:
        line, col = tree.pos_of(node)
        if line:
            self.here = self.article.loc(line, col)
        return self.here

    def warn(self, message: str, where: SourceLocation, hint: str = "", code: str = "html.removed") -> None:
        self.reporter.warning(message, where, hint, code=code)

    # -------- the tree
    def blocks(self, blocks: list) -> list:
        return self.sequence(blocks, top=True)

    def sequence(self, items: list, top: bool = False) -> list:
        """A list of elements (blocks or inlines) with raw HTML cleaned and balanced along it. (top: the
        article's own blocks, where a block with nothing to clean is seen at once from its tree.facts.)"""
        state = _Sequence()
        out: list = []
        changed = False
        for node in items:
            t = node["t"]
            if t in ("RawBlock", "RawInline"):
                state.kind = t
                cleaned = self.raw(node, state)
                changed = True
                if cleaned:
                    out.append({"t": t, "c": ["html", cleaned]})
            elif state.skip:
                changed = True
                continue  # the text between <script> and </script>, say, each tag a node of its own
            elif t in _LEAVES or (top and _nothing_to_clean(node)):
                out.append(node)  # nothing to clean, and most of a tree
            else:
                new = self.element(node)
                changed = changed or len(new) != 1 or new[0] is not node
                out.extend(new)
        closing = state.close_all()  # a removed element left open takes the rest of this list with it
        if closing:
            out.append({"t": state.kind, "c": ["html", closing]})
            changed = True
        return out if changed else items

    def element(self, node: dict) -> list:
        """One element, cleaned: a list, since a link that cannot stay gives way to its text. Each list of
        blocks or inlines in it is a sequence of its own (tree.rebuild_list_children)."""
        t = node["t"]
        if t in ("CodeBlock", "Code"):
            attr = self.attributes(node, node["c"][0])
            return [node if attr is node["c"][0] else {"t": t, "c": [attr, node["c"][1]]}]
        if t == "Image":
            return [self.image(node)]
        if t == "Link":
            return self.link(node)
        at = tree.ATTR_AT.get(t)
        if at is not None:  # a Div, Span, Header, Table or Figure
            c = node["c"]
            attr = self.attributes(node, c[at])
            if attr is not c[at]:
                node = {"t": t, "c": [*c[:at], attr, *c[at + 1:]]}
        return [tree.rebuild_list_children(node, self.sequence)]

    def attributes(self, node: dict, attr: list) -> list:
        """An element's attr with only harmless key=value pairs (pandoc writes each one out as an HTML attribute)."""
        ident, classes, kvs = attr
        kept = []
        changed = False  # nothing removed or rewritten: attr itself comes back
        for key, value in kvs:
            name = key.lower()
            if name == "style":
                style, removed = clean_style(value)
                if removed:
                    self.warn(f"style '{_short('; '.join(removed))}' removed from {ELEMENT_NAMES[node['t']]}",
                              self.node_place(node), "the theme styles the book")
                if style:
                    kept.append([key, style])
                changed = changed or style != value
            elif name in MARKDOWN_KEYS or (name.startswith("data-") and re.fullmatch(r"data-[\w.-]+", name)):
                kept.append([key, value])
            else:
                changed = True
                if name.startswith("on") or name in NOTED:
                    self.warn(f"attribute '{key}' removed from {ELEMENT_NAMES[node['t']]}", self.node_place(node))
        return [ident, list(classes), kept] if changed else attr

    def link(self, node: dict) -> list:
        attr, inlines, (url, title) = node["c"]
        where = self.node_place(node)
        scheme = "" if "wikilink" in attr[1] else scheme_of(url)  # [[Note: subtitle]] names an article
        inner = tree.rebuild_list_children(node, self.sequence)["c"][1]
        if scheme and scheme not in LINK_SCHEMES:
            self.warn(f"link to '{_short(url)}' removed; its text is kept", where,
                      "only web, mail and knowledge-base links are kept")
            return inner
        new_attr = self.attributes(node, attr)
        if new_attr is attr and inner is inlines:
            return [node]
        return [{"t": "Link", "c": [new_attr, inner, [url, title]]}]

    def image(self, node: dict) -> dict:
        attr, old_alt, (src, title) = node["c"]
        where = self.node_place(node)
        alt = tree.rebuild_list_children(node, self.sequence)["c"][1]
        checked = self.image_source(src, where, raw=False)
        if checked is None:
            label = tree.stringify(alt).strip() or unquote(urlsplit(src).path.rpartition("/")[2]) or "image"
            text = tree.text_inlines(f"[image: {label}]")
            if scheme_of(src) in ("http", "https"):
                text = [tree.link(text, src)]
            return tree.span(text, classes=["missing"])
        if checked != src or scheme_of(src) == "data":  # a data: or downloaded image; a vault file is embeds'
            if not tree.stringify(alt).strip():
                warn_missing_alt(self.reporter, where, src, f"![{ALT_EXAMPLE}]({_short(src, 30)})")
        new_attr = self.attributes(node, attr)
        if new_attr is attr and alt is old_alt and checked == src:
            return node
        return {"t": "Image", "c": [new_attr, alt, [checked, title]]}

    def image_source(self, src: str, where: SourceLocation, raw: bool = True) -> str | None:
        """The source an image may keep (a file of the vault, a data: image, a downloaded one), or None. A
        path inside the vault is read as the paths module reads it: a Markdown image's (raw=False) is kept for
        embeds, a raw <img>'s becomes the file's path from the vault's root."""
        scheme = scheme_of(src)
        if scheme == "data":
            if DATA_IMAGE.match(src.strip()):
                return src
            self.warn(f"image '{_short(src)}' removed: a data: URL that is not a PNG, JPEG, GIF or WebP image", where, code="image.data-url")
            return None
        if scheme in ("http", "https") or src.startswith("//"):
            url = src if scheme else "https:" + src
            data, reason = self.remote.fetch(url)
            if data is None:
                hint = "set 'allow_remote: true' in the manifest to download it" if not self.remote.allowed else ""
                self.warn(f"remote image not fetched: {_short(url)}" + (f": {reason}" if self.remote.allowed else ""),
                          where, hint, code="image.remote")
            return data
        if scheme:
            self.warn(f"image '{_short(src)}' removed: only images inside the knowledge base are used", where,
                      code="image.outside")
            return None
        path = unquote(src.split("?", 1)[0].split("#", 1)[0])
        place = locate(self.vault, path, self.article.path) if raw else None
        outside = place.kind == OUTSIDE if place else leaves(self.vault.root, path, self.article.path)
        if outside:
            self.warn(f"image '{_short(src)}' removed: it is outside the knowledge base", where, code="image.outside")
            return None
        if place is None:
            return src
        if place.kind == MISSING:
            self.warn(f"image '{_short(src)}' is missing: no such file in the knowledge base", where, place.hint,
                      code="image.missing")
            return None
        return quote(place.path)

    # -------- raw content
    def raw(self, node: dict, state: _Sequence) -> str:
        fmt, text = node["c"]
        if fmt.lower() not in HTML_FORMATS:
            self.warn(f"raw {fmt} removed", self.locate(text), "only raw HTML is kept, and only its safe part",
                      code="raw.removed")
            return ""
        where: list[SourceLocation] = []
        out: list[str] = []
        for token in tokenize(text):
            if token[0] == "text":
                if not state.skip:
                    out.append(html.escape(token[1], quote=False))
            elif token[0] == "start":
                line, col = token[4]

                def place(line: int = line, col: int = col) -> SourceLocation:  # found when there is something to say
                    if not where:
                        where.append(self.locate(text))
                    start = where[0]
                    if line == 1:
                        return replace(start, col=start.col + col)
                    return replace(start, line=start.line + line - 1, col=col + 1)

                out.append(self.start_tag(token[1], token[2], token[3], state, place))
            else:
                out.append(self.end_tag(token[1], state))
        if not where:  # keep the search in step with the source
            self.locate(text)
        return "".join(out)

    def start_tag(self, tag: str, attrs: list, closed: bool, state: _Sequence, place) -> str:
        if state.skip:
            if tag == state.skip and not closed and tag not in VOID:
                state.skip_depth += 1
            return ""
        if tag in REMOVED:
            self.warn(f"raw HTML <{tag}> removed" + ("" if tag in VOID or closed else " with its content"), place())
            if tag not in VOID and not closed:
                state.skip, state.skip_depth = tag, 1
            return ""
        if tag not in ALLOWED:
            if tag not in QUIET_UNWRAP:
                self.warn(f"raw HTML <{tag}> removed (its content is kept)", place())
            return ""
        kept = self.tag_attributes(tag, attrs, place)
        if tag == "img":
            src = self.image_source(kept.get("src", ""), place()) if kept.get("src") else None
            if src is None:
                label = kept.get("alt") or "image"
                return f'<span class="missing">[image: {html.escape(label)}]</span>'
            if "alt" not in kept:
                warn_missing_alt(self.reporter, place(), kept["src"],
                                 f'<img alt="{ALT_EXAMPLE}" src="{_short(kept["src"])}">')
            kept["src"] = src
        text = "".join(f' {name}="{html.escape(value)}"' for name, value in kept.items())
        if tag in VOID:
            return f"<{tag}{text} />"
        if closed:
            return f"<{tag}{text}></{tag}>"
        state.open.append(tag)
        return f"<{tag}{text}>"

    def tag_attributes(self, tag: str, attrs: list, place) -> dict[str, str]:
        allowed = GLOBAL_ATTRIBUTES | ATTRIBUTES.get(tag, set())
        kept: dict[str, str] = {}
        for name, value in attrs:
            value = value if value is not None else ""
            if name == "style":
                style, removed = clean_style(value)
                if removed:
                    self.warn(f"raw HTML: style '{_short('; '.join(removed))}' removed from <{tag}>", place(),
                              "the theme styles the book")
                if style:
                    kept["style"] = style
            elif name in allowed:
                if name == "href":
                    if not (value.startswith("#") or scheme_of(value) in RAW_LINK_SCHEMES):
                        self.warn(f"raw HTML: link to '{_short(value)}' removed from <{tag}>", place(),
                                  "raw HTML links may go to the web, to mail or to an #anchor; "
                                  "link to articles in Markdown")
                        continue
                elif name in VALUES and not VALUES[name].fullmatch(value):
                    continue
                kept[name] = name if name in BOOLEAN else value
            elif name.startswith("on") or name in NOTED:
                self.warn(f"raw HTML: {name} removed from <{tag}>", place())
        return kept

    def end_tag(self, tag: str, state: _Sequence) -> str:
        if state.skip:
            if tag == state.skip:
                state.skip_depth -= 1
                if state.skip_depth == 0:
                    state.skip = ""
            return ""
        if tag not in state.open:
            return ""  # a stray end tag: it could close the template's own elements
        closing = []
        while state.open:
            inner = state.open.pop()
            closing.append(f"</{inner}>")
            if inner == tag:
                break
        return "".join(closing)


# ---------------------------------------------------------------- the step
def _nothing_to_clean(block: dict) -> bool:
    """No raw markup, link or image anywhere in the block, and no attribute but source positions: the
    cleaner would hand it back as it is, and say nothing."""
    found = tree.facts(block)
    return not found.other_kvs and not found.types & {"RawBlock", "RawInline", "Link", "Image"}


def clean_blocks(blocks: list, article: Article, reporter: Reporter, vault: Vault, remote: RemoteImages) -> list:
    """Any tree read from the vault (an article's, an embedded note's), cleaned: a new list."""
    return _Cleaner(article, reporter, vault, remote).blocks(list(blocks))


def sanitize(book: Book, ctx) -> Book:
    """Step: raw HTML, attributes, images and links of every article reduced to what is safe to render."""
    remote = RemoteImages(ctx.manifest.allow_remote)
    return map_articles(book, lambda a: replace(a, blocks=tuple(clean_blocks(list(a.blocks), a, ctx.reporter, ctx.vault, remote))))
