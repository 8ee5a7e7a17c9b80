"""The page numbers a laid-out chunk of the book shows, changed before it is drawn, without laying it out again
(pdfparts.py). A chunk is laid out before the chunks after it, so the numbers of what it points to there
("(p. N)", the contents, the glossary's pages) are guesses, and so is its first page while the chunk before
it is still being laid out. Where each right number has as many digits as the guess, the layout is the
same: the theme's faces draw every digit at one width (their default figures are tabular), so no line
moves. The text of each such number is changed in the laid-out boxes, and WeasyPrint shapes it again
when it draws the page.

What is changed: in generated content (`::before`, `::after`) whose element's `target-counter()` names a
target in `numbers`, the number; in a margin box showing `counter(page)`, the folio. Each is checked
against the content that made it (only strings without digits beside one decimal number), and the new text
must be exactly as wide as the old. When any is not so, nothing is drawn from this layout: `renumber`
says so and the chunk is laid out again with the right numbers, as before this shortcut existed.
"""

from __future__ import annotations

from urllib.parse import unquote

PSEUDO = ("::before", "::after")


class Unchangeable(Exception):
    """A number that cannot be changed in the laid-out boxes."""


def renumber(document, first: int, new_first: int, numbers: dict[str, tuple[int, int]]) -> bool:
    """Change, in place, the numbers `document` (laid out with its first page numbered `first`) shows:
    every folio to the one of a first page numbered `new_first`, and each target's page in `numbers`
    (target -> (number shown, right number)). Whether every one could be changed; when not, the document
    may be half changed and is not to be drawn."""
    from weasyprint.formatting_structure import boxes

    changes: list[tuple[object, str]] = []
    numbers = {t: (old, new) for t, (old, new) in numbers.items() if old != new}
    try:
        for n, page in enumerate(document.pages):
            for box, source in _text_boxes(page._page_box, None, boxes):
                text = _changed(box.text, source, (first + n, new_first + n), numbers, isinstance(source, boxes.MarginBox))
                if text is not None:
                    changes.append((box, text))
        for box, text in changes:
            if abs(_width(box, text) - _width(box, box.text)) > 1e-3:
                raise Unchangeable(f"{box.text!r} -> {text!r}: another width")
    except (Unchangeable, AttributeError, KeyError, TypeError, ValueError):
        return False
    for box, text in changes:
        box.text = text
        box.pango_layout.text = text  # what draw_text shapes again (Layout.reactivate)
    return True


def _text_boxes(box, source, boxes):
    """Every text box under `box` made by generated content, with the box whose `content` made it (a margin
    box, or a ::before or ::after box)."""
    if isinstance(box, boxes.TextBox):
        if source is not None:
            yield box, source
        return
    if isinstance(box, boxes.MarginBox) or (box.element_tag or "").endswith(PSEUDO):
        if isinstance(box.style["content"], (tuple, list)):
            source = box
    for child in getattr(box, "children", ()):
        yield from _text_boxes(child, source, boxes)


def _changed(text: str, source, folio: tuple[int, int], numbers: dict, margin: bool) -> str | None:
    """The text box's new text, None when it keeps its own; Unchangeable when it cannot be known."""
    items = source.style["content"]
    if margin:
        shown = [value for kind, value in items if kind == "counter()" and value[0] == "page"]
        if not shown or folio[0] == folio[1]:
            return None
        old, new = folio
        if any(kind not in ("string", "counter()") or (kind == "counter()" and value != ("page", "decimal"))
               for kind, value in items):
            raise Unchangeable(f"margin content {items!r}")
    else:
        kinds = [kind for kind, _ in items]
        if "target-counter()" not in kinds and "target-counters()" not in kinds:
            return None
        if kinds.count("target-counter()") != 1 or any(k not in ("string", "target-counter()", "leader()") for k in kinds):
            raise Unchangeable(f"content {items!r}")
        value = next(value for kind, value in items if kind == "target-counter()")
        (token, counter), style = value[:2], value[-1]
        if token[0] != "attr()":
            raise Unchangeable(f"target {token!r}")
        href = source.element.get(token[1][0]) or ""
        target = unquote(href[1:]) if href.startswith("#") else None
        if target not in numbers:
            return None
        if counter != "page" or style != "decimal":
            raise Unchangeable(f"counter {counter} {style}")
        old, new = numbers[target]
    if any(kind in ("string", "leader()") and any(c.isdigit() for c in str(value)) for kind, value in items):
        raise Unchangeable("digits beside the number")
    digits = "".join(c for c in text if c.isdigit())
    if not digits:  # a fragment of the content without the number (a leader, text before a line break)
        return None
    if digits != str(old) or text.count(digits) != 1:
        raise Unchangeable(f"{text!r} does not show {old}")
    return text.replace(digits, str(new))


def _width(box, text: str) -> float:
    """The width WeasyPrint draws `text` at in the text box's style (with its justification spacing)."""
    from weasyprint.text.line_break import Layout, line_size

    layout = Layout(box.style, box.pango_layout.justification_spacing)
    layout.set_text(text, justify=True)
    line, _ = layout.get_first_line()
    return line_size(line, box.style)[0]
