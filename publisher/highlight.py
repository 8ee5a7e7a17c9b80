"""Syntax colouring of fenced code that names its language, for the HTML of the PDF and the EPUB (Pygments,
classes styled by the theme's print-friendly colours); the DOCX gets pandoc's own `pygments` style, the same
colours. Diagrams, `text` and code without a language (or in a language Pygments does not know) are left
exactly as they are; the colouring only wraps the characters in spans, it never changes one."""

from __future__ import annotations

import functools
import html
import threading

from . import tree

# Pygments loads its lexers and formatters on first use through module-level hooks that are not safe across
# threads: the formats are written side by side, and a build once stopped with "cannot import name
# 'HtmlFormatter' from 'pygments.formatters'" (twice seen, cache off). Its loading is done under this lock.
_LOADING = threading.Lock()
PLAIN = frozenset(("text", "txt", "diagram", "ascii", "plain", "mermaid"))
DOCX_STYLE = "pygments"  # pandoc's highlighting style for Word, the colours of Pygments' own default


@functools.cache
def _lexer(language: str):
    with _LOADING:
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        try:
            return get_lexer_by_name(language, stripnl=False, stripall=False, ensurenl=False, tabsize=0)
        except ClassNotFound:
            return None


@functools.cache
def _formatter_class():
    with _LOADING:
        from pygments.formatters.html import HtmlFormatter

        return HtmlFormatter


def _lexer_of(classes: list[str]):
    if not classes or classes[0].lower() in PLAIN or "diagram" in classes:
        return None
    return _lexer(classes[0].lower())


def has_coloured_code(blocks: list) -> bool:
    """Whether any code block here is in a language that gets colours (else the DOCX is written without
    highlighting: pandoc would add its token styles to every document)."""
    return any(node["t"] == "CodeBlock" and _lexer_of(node["c"][0][1]) is not None
               for block in blocks if "CodeBlock" in tree.facts(block).types for node in tree.walk(block))


def _coloured(node: dict) -> dict:
    if node["t"] != "CodeBlock":
        return tree.rebuild_children(node, _coloured)
    (ident, classes, _), text = node["c"]
    lexer = _lexer_of(classes)
    if lexer is None:
        return node
    from pygments import highlight

    body = highlight(text, lexer, _formatter_class()(nowrap=True, classprefix="hl-"))
    if body.endswith("\n") and not text.endswith("\n"):
        body = body[:-1]  # Pygments ends the last line; the code did not
    lang = html.escape(classes[0])
    id_attr = f' id="{html.escape(ident)}"' if ident else ""
    return {"t": "RawBlock", "c": ["html", f'<pre{id_attr} class="sourceCode {lang}"><code>{body}</code></pre>']}


def colour_code(blocks: list) -> list:
    """The blocks with each code block in a known language as coloured HTML (copied only where one is)."""
    return tree.rebuild(blocks, _coloured)
