"""Mathematics: `$...$` and `$$...$$` (pandoc's Math elements) as real formulas in every format.

- EPUB: MathML, written by pandoc (`--mathml`); the pages that hold it carry the `mathml` property.
- PDF: WeasyPrint lays out no MathML, so each formula is drawn by ziamath (pure Python, its STIX Two Math
  glyphs as paths) into an SVG, placed as an image sized in em and lowered to the text's baseline. The SVGs
  are kept in the cache by content.
- DOCX: Word equations, written by pandoc.
A formula that cannot be read is a warning (`math.invalid`) and stays visible as TeX, in code type.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.metadata
import json
from dataclasses import replace

from . import cache, tree
from .model import Article, Book, map_articles

EM = 12.0  # ziamath's size for the drawing; the image is then sized in em, so it follows the text around it


def _tex_error(tex: str) -> str | None:
    """Why the TeX cannot be read (the converter's complaint), or None when it can."""
    from latex2mathml.converter import convert

    try:
        convert(tex)
    except Exception as exc:  # latex2mathml raises its own exceptions, and IndexError, ValueError on bad input
        name = type(exc).__name__
        return PROBLEMS.get(name, name)
    return None


PROBLEMS = {  # latex2mathml's exceptions, said plainly
    "MissingSuperScriptOrSubscriptError": "a ^ or _ with nothing after it",
    "NoAvailableTokensError": "a command without its argument",
    "MissingEndError": "a \\begin without its \\end",
    "DenominatorNotFoundError": "a fraction without its denominator",
    "NumeratorNotFoundError": "a fraction without its numerator",
    "DoubleSuperscriptsError": "two ^ in a row",
    "DoubleSubscriptsError": "two _ in a row",
    "ExtraLeftOrMissingRightError": "a \\left without its \\right",
}


def _line_of(article: Article, tex: str, fence: str) -> int:
    at = article.body.find(fence + tex + fence)
    if at < 0:
        at = article.body.find(tex)
    return article.body_line + article.body.count("\n", 0, at) if at >= 0 else 0


def check_math(book: Book, ctx) -> Book:
    """Step: every formula read once; one that cannot be is reported where it stands and shown as its TeX."""

    def one(a: Article) -> Article:
        if not any("Math" in tree.facts(b).types for b in a.blocks):
            return a

        def element(node: dict):
            if node["t"] != "Math":
                return tree.rebuild_children(node, element)
            kind, tex = node["c"]
            problem = _tex_error(tex)
            if problem is None:
                return node
            fence = "$$" if kind["t"] == "DisplayMath" else "$"
            ctx.reporter.warning(f"the formula '{tex.strip()[:60]}' cannot be read ({problem}): it is shown as TeX",
                                 a.loc(_line_of(a, tex, fence)), "check its braces, ^ and _", code="math.invalid")
            return {"t": "Code", "c": [tree.attr(classes=["math-invalid"]), f"{fence}{tex}{fence}"]}

        old = list(a.blocks)
        blocks = tree.rebuild(old, element)
        return a if blocks is old else replace(a, blocks=tuple(blocks))

    return map_articles(book, one)


# ---------------------------------------------------------------- the PDF's images
@functools.cache
def _version() -> str:
    return importlib.metadata.version("ziamath")


def svg(tex: str, display: bool) -> tuple[bytes, float, float, float]:
    """(SVG, width, height, depth below the baseline), in units of EM; kept in the cache by content."""

    def draw() -> bytes:
        import ziamath

        formula = ziamath.Latex(tex, size=EM, inline=not display)
        picture = formula.svg()
        width, height = formula.getsize()
        box = picture.split('viewBox="', 1)[1].split('"', 1)[0].split()
        depth = float(box[1]) + float(box[3])  # the baseline is y = 0: what lies below it
        head = json.dumps([width, height, depth]).encode()
        return head + b"\n" + picture.encode()

    data = cache.cached_bytes("math-svg", f"{_version()}\0{display}\0{tex}".encode("utf-8", "surrogatepass"), draw)
    head, _, picture = data.partition(b"\n")
    width, height, depth = json.loads(head)
    return picture, width, height, depth


def as_image(node: dict) -> dict:
    """A Math element as an inline image of its formula (the TeX as its alternative text)."""
    kind, tex = node["c"]
    display = kind["t"] == "DisplayMath"
    try:
        picture, width, height, depth = svg(tex, display)
    except Exception:  # what check_math let through but ziamath cannot draw: the TeX stays visible
        return node
    uri = "data:image/svg+xml;base64," + base64.b64encode(picture).decode()
    style = f"width: {width / EM:.3f}em; height: {height / EM:.3f}em; vertical-align: {-depth / EM:.3f}em"
    classes = "math math-display" if display else "math math-inline"
    return {"t": "RawInline", "c": ["html", f'<img class="{classes}" src="{uri}" alt="{html.escape(tex)}" style="{style}"/>']}
