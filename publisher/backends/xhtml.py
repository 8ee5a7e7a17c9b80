"""pandoc's HTML5 made fit for a reading system, as XHTML (the EPUB's pages; the web edition's too, as HTML):
`clean` keeps only what XHTML allows (no scripts, no remote resources; local images embedded once each,
anything else shown as a placeholder), `footnotes` makes EPUB 3 footnotes; `fragment` reads a page's HTML,
`serialize` writes it back."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from html import escape as _esc
from pathlib import Path
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

import lxml.html
from lxml import etree

from .. import htmlpolicy
from ..images import raster_type

# What a page keeps (the EPUB's profile of htmlpolicy): these elements (any other is unwrapped, its text kept)
# with these attributes.
KEEP = htmlpolicy.elements("epub")
PHRASING = frozenset("abbr b bdi bdo cite code dfn em h1 h2 h3 h4 h5 h6 i kbd mark p pre q rp rt ruby s samp small span "
                     "strong sub sup u var".split())  # elements whose content may only be phrasing content
BLOCK = frozenset("aside blockquote caption col colgroup dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header hr "
                  "li ol p pre section table tbody td tfoot th thead tr ul".split())  # not phrasing content
PARENTS = {"li": {"ol", "ul"}, "dt": {"dl"}, "dd": {"dl"}, "tr": {"table", "thead", "tbody", "tfoot"}, "td": {"tr"},
           "th": {"tr"}, "thead": {"table"}, "tbody": {"table"}, "tfoot": {"table"}, "caption": {"table"},
           "colgroup": {"table"}, "col": {"colgroup"}, "figcaption": {"figure"}, "rt": {"ruby"}, "rp": {"ruby"}}
CHILDREN = {"ul": {"li"}, "ol": {"li"}, "dl": {"dt", "dd"}, "tr": {"td", "th"}, "colgroup": {"col"}, "thead": {"tr"},
            "tbody": {"tr"}, "tfoot": {"tr"}, "table": {"caption", "colgroup", "thead", "tbody", "tfoot", "tr"}}
DROP = frozenset("script style template head title meta link base input select option".split())  # content and all
EMBEDS = {"iframe": "src", "embed": "src", "object": "data", "video": "src", "audio": "src", "svg": "", "canvas": ""}
GLOBAL_ATTRIBUTES, ATTRIBUTES = htmlpolicy.attributes("epub", generated=True)
VALID = htmlpolicy.values("epub")
BOOLEAN = htmlpolicy.BOOLEAN
DATA_ATTRIBUTE = re.compile(r"data-[a-z0-9_.-]+")
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
LINK_SCHEMES = ("http", "https", "mailto")
URL_SAFE = ":/?#@!$&'()*+,;=%~"
SVG = "{http://www.w3.org/2000/svg}"
MATHML = "{http://www.w3.org/1998/Math/MathML}"
MATHML_ELEMENTS = frozenset(
    "math semantics annotation mrow mi mn mo ms mtext mspace mfrac msqrt mroot mstyle merror mpadded mphantom "
    "mfenced menclose msub msup msubsup munder mover munderover mmultiscripts mprescripts none mtable mtr mtd "
    "mlabeledtr".split())


NOTE_REF_ATTRIBUTES = ("href", "class", "id", "role")  # in the order pandoc writes a note's reference


def fragment(html: str) -> lxml.html.HtmlElement:
    """A page's HTML, read; its notes (render.notes_at_end) in the form pandoc gives a document's notes."""
    root = lxml.html.fragment_fromstring(NOT_XML.sub("", html) or "<p></p>", create_parent="div")
    for notes in root.iterfind(".//div[@role='doc-endnotes']"):
        notes.tag = "section"
        for item in notes.iterfind("ol/li"):
            note = item.find("div")
            if note is not None and note.get("id"):
                item.set("id", note.get("id"))
                note.drop_tag()
        for ref in root.iterfind(".//a[@role='doc-noteref']"):
            kept = dict(ref.attrib)
            ref.attrib.clear()
            ref.attrib.update({name: kept.pop(name) for name in NOTE_REF_ATTRIBUTES if name in kept} | kept)
    return root


def element(tag: str, attributes: dict[str, str] | None = None, text: str = "", *children) -> lxml.html.HtmlElement:
    """An element of a page made as an element, its text and values made fit for XML (never markup in a string)."""
    el = lxml.html.Element(tag, {name: NOT_XML.sub("", value) for name, value in (attributes or {}).items()})
    el.text = NOT_XML.sub("", text) or None
    el.extend(children)
    return el


def page_of(*children) -> lxml.html.HtmlElement:
    """A page's content: these elements, in the div that `fragment` gives a page read from HTML."""
    return element("div", {}, "", *children)


def serialize(root, method: str = "xml") -> str:
    """The content of root (a page's div) as XHTML, or as HTML with method="html" (the web edition)."""
    return _esc(root.text or "", quote=False) + "".join(etree.tostring(child, method=method, encoding="unicode") for child in root)


# ---------------------------------------------------------------- making pandoc's HTML fit for an EPUB
@dataclass
class Images:
    """Local images inside the knowledge base, embedded once each under a name made from their content."""

    root: Path
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # name -> (media type, data)

    def embed(self, src: str) -> str | None:
        """The name inside the EPUB of the image at src, or None when it cannot be embedded."""
        data = self.read(src)
        kind = image_type(data) if data else None
        if kind is None:
            return None
        name = f"images/{hashlib.sha256(data).hexdigest()[:16]}{kind[1]}"
        self.files[name] = (kind[0], data)
        return name

    def read(self, src: str) -> bytes | None:
        """A data: URL's bytes, or a file's under the root (resolved: no way out); nothing from the network."""
        if src.startswith("data:"):
            head, _, payload = src.partition(",")
            try:
                return base64.b64decode(payload, validate=True) if head.endswith(";base64") else unquote_to_bytes(payload)
            except binascii.Error:
                return None
        if not src or urlsplit(src).scheme:
            return None
        root = self.root.resolve()  # a relative src is from the root; an absolute one (class vault-file) must lie under it
        path = (root / unquote(src.partition("?")[0].partition("#")[0])).resolve()
        return path.read_bytes() if path.is_relative_to(root) and path.is_file() else None


def image_type(data: bytes) -> tuple[str, str] | None:
    """(media type, suffix) of a PNG, JPEG, GIF or WebP, or of an SVG without scripts and outside references."""
    kind = raster_type(data)
    if kind is not None:
        return kind
    try:
        svg = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    for el in svg.iter():
        if el.tag in (SVG + "script", SVG + "foreignObject") or any(
            k.startswith("on") or (k.endswith("href") and not v.startswith("#")) for k, v in el.attrib.items()
        ):
            return None
    return ("image/svg+xml", ".svg") if svg.tag == SVG + "svg" else None


def mathml(el) -> etree._Element:
    """pandoc's MathML, read by the HTML parser as HTML elements, as elements of the MathML namespace: known
    elements and plain attributes only (no event, link or style attribute), the rest as its text."""
    tag = el.tag if el.tag in MATHML_ELEMENTS else "mtext"
    out = etree.Element(MATHML + tag, {k: v for k, v in el.attrib.items()
                                       if k.isalpha() and not k.startswith("on") and k not in ("href", "src", "style", "xmlns")},
                        nsmap={None: MATHML[1:-1]} if tag == "math" else None)
    out.text = el.text if tag == el.tag else el.text_content()
    if tag == el.tag:
        for child in el:
            if isinstance(child.tag, str):
                out.append(mathml(child))
    out.tail = el.tail
    return out


def clean(root: lxml.html.HtmlElement, images: Images) -> None:
    """Keep what XHTML in an EPUB allows; show what cannot come along (remote images, embeds) as placeholders.
    pandoc's MathML is kept, in its own namespace."""
    for el in list(root.iter("math")):
        el.getparent().replace(el, mathml(el))
    for el in list(root.iter()):
        if el is root or (isinstance(el.tag, str) and el.tag.startswith(MATHML)):
            continue
        if not isinstance(el.tag, str) or el.tag in DROP:
            el.drop_tree()
        elif el.tag in EMBEDS:  # remote, scripted or unchecked: a placeholder
            _placeholder(el, "image" if el.tag == "svg" else "embedded content", el.get(EMBEDS[el.tag] or "src", ""))
        elif el.tag not in KEEP:
            el.drop_tag()
        else:
            el.tag = _fit(el)
            if el.tag == "a" and el.get("name") and not el.get("id"):
                el.set("id", el.get("name"))
            allowed = GLOBAL_ATTRIBUTES | ATTRIBUTES.get(el.tag, set())
            kept = {name: name if name in BOOLEAN else value for name, value in el.attrib.items()
                    if (name in allowed or DATA_ATTRIBUTE.fullmatch(name)) and (name not in VALID or VALID[name].fullmatch(value))}
            el.attrib.clear()  # not `del`: lxml reads a name like "{{x}}" as a namespace
            el.attrib.update(kept)
            if el.tag == "img":
                src = images.embed(el.get("src", ""))
                if src:
                    el.set("src", src)
                    el.set("alt", el.get("alt", ""))
                else:
                    _placeholder(el, "image", el.get("src", ""))
            elif el.tag == "a" and el.get("href") and not el.get("href").startswith("#"):
                href = el.get("href")
                if urlsplit(href).scheme in LINK_SCHEMES:
                    el.set("href", quote(href, safe=URL_SAFE))
                else:
                    del el.attrib["href"]  # a file of the vault, an app: link: nothing a reader can open


def _fit(el) -> str:
    """The tag an element can keep where it stands (raw HTML nests anyhow and the HTML parser does not mend it):
    a block in phrasing content, an item or cell outside its container, a list or table holding something else,
    becomes a span or a div."""
    parent = el.getparent()
    inline = any(a.tag in PHRASING for a in el.iterancestors())
    if el.tag in BLOCK and inline:
        return "span"
    if el.tag in ("caption", "figcaption"):
        siblings = [c for c in parent if isinstance(c.tag, str) and c.tag not in DROP]
        if el is not siblings[0] and (el.tag == "caption" or el is not siblings[-1]):
            return "div"
    if (el.tag in PARENTS and parent.tag not in PARENTS[el.tag]) or (el.tag in CHILDREN and not _orderly(el)):
        return "span" if inline else "div"
    return el.tag


def _orderly(el) -> bool:
    """A list, table or row that holds only what it may, all the way down."""
    children = [c for c in el if isinstance(c.tag, str) and c.tag not in DROP]
    return not (el.text or "").strip() and not any((c.tail or "").strip() for c in el) and all(
        c.tag in CHILDREN[el.tag] and (c.tag not in CHILDREN or _orderly(c)) for c in children)


def _placeholder(el, what: str, url: str) -> None:
    """A visible note in place of an image or embed the EPUB cannot hold, linking to it when it is on the web."""
    parts = urlsplit("" if url.startswith("data:") else url)
    label = el.get("alt") or el.get("title") or (unquote(parts.path.rpartition("/")[2]) if what == "image" else parts.netloc)
    span = el.makeelement("span", {"class": "missing"})
    span.text = f"[{what}: {label}]" if label else f"[{what}]"
    span.tail = el.tail
    if parts.scheme in ("http", "https") and not any(a.tag == "a" for a in el.iterancestors()):
        link = span.makeelement("a", {"href": quote(url, safe=URL_SAFE)})
        link.text, span.text = span.text, None
        span.append(link)
    el.getparent().replace(el, span)


def footnotes(root: lxml.html.HtmlElement) -> None:
    """pandoc's end-of-document notes -> one `aside epub:type="footnote"` each, opening with a link back."""
    for ref in root.iterfind(".//a[@role='doc-noteref']"):
        ref.set("epub:type", "noteref")
    for section in root.iterfind(".//section[@role='doc-endnotes']"):
        notes = section.makeelement("section", {"class": "footnotes", "epub:type": "footnotes"})
        for n, item in enumerate(section.iterfind("ol/li"), 1):
            for old in item.iterfind(".//a[@role='doc-backlink']"):
                old.drop_tree()
            aside = notes.makeelement("aside", {"id": item.get("id", f"fn{n}"), "class": "footnote",
                                                "epub:type": "footnote", "role": "doc-footnote"})
            aside.text = item.text
            aside.extend(item)
            first = aside[0] if len(aside) and aside[0].tag == "p" and not (aside.text or "").strip() else None
            if first is None:
                first = aside.makeelement("p", {})
                aside.insert(0, first)
            back = first.makeelement("a", {"href": f"#fnref{n}", "class": "footnote-back", "role": "doc-backlink"})
            back.text, back.tail, first.text = str(n), ". " + (first.text or ""), None
            first.insert(0, back)
            notes.append(aside)
        section.getparent().replace(section, notes)
