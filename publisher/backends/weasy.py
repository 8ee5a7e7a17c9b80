"""Changes to what WeasyPrint does with a book, each active only inside `tuned()` (pdf.py's rendering) and
each guarded: at start-up every change checks that what it replaces exists and takes the parameters of
WeasyPrint 70 (REQUIRES); one that does not apply is left out, the book is built without it, and the build
says once what is lost (`pdf.engine`, problems()). pyproject.toml pins the versions tested (TESTED).

1. Preformatted lines are drawn inside a marked-content span whose /ActualText is the line itself
   (PDF 1.7, 14.9.4). Text extractors read a span as written, spaces and all: `pdftotext -layout` gives
   back every row of a diagram exactly, where from bare glyphs it guesses word gaps and columns (two
   spaces become one, a 128-column row is re-spaced). Viewers copy the same text.
2. A page that shows the page number of another place (the contents, "p. 12" after a cross-reference,
   the glossary's and tag index's references) is laid out once, then again with the number known. But
   WeasyPrint 70 files a `target-counter(attr(href url), page)` under no anchor name (it names the
   anchor from the `attr()` token before resolving it), so the news that a later target has been placed
   never reaches the page that points to it; what rescues the number is that after each pass the `pages`
   counter (the page count) changes in every page's counter values, and a page whose values changed is
   laid out again: every such page was laid out three times. Here the anchor gets its name, and when the
   stylesheet never shows `counter(pages)` the comparison leaves `pages` out: twice. (In the sample
   handbook: 156 page layouts instead of 215, the same pages.)
3. (Only for a book rendered in parts, pdfparts.py.) A target named in `fixed_pages()` reports the page
   number given there, wherever its element is laid out, and one that is not in the document at all (a
   target in another chunk of the book) is taken as placed on that page: `target-counter()` to it shows
   the page where the target really is, with no element standing in for it (an empty element for each of
   the glossary's 2,012 targets, N=200, was a third of its layout time). The number is known before
   layout, so what points to a fixed target is set right the first time and no page is laid out again
   for it (nor, through a name WeasyPrint 70 reuses in compute_content_list, for its own page number): a
   chunk whose targets are all fixed is laid out once.
4. Python's cyclic garbage collector scans WeasyPrint's millions of box and style objects over and over
   while they are alive; inside, it runs less often.
5. A run of text that ends with a space before an inline element ("... This is where <a>...") and whose
   words fit the line only without that space was cut after its first word: WeasyPrint 70's
   split_first_line measures the line with the space that ends it (a space removed at a line's end, CSS
   Text 3, 4.1.3) and, finding it too wide, starts again from the first word; "The" stood alone on a
   justified line, or "Operat-", the rest of the sentence on the next (11 lines in the N=200 bench book).
   Here the line keeps its words and the space ends it, as when the space fits.
   docs/weasyprint-trailing-space.md is the reproduction.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re

from ..collector import fewer_collections
from ..diagnostics import Diagnostic, Severity

SHOWS_PAGE_COUNT = re.compile(r"counters?\(\s*pages\b")
PREFORMATTED = ("pre", "pre-wrap", "break-spaces")
_active: contextvars.ContextVar[bool] = contextvars.ContextVar("publisher_weasy", default=False)
_skip_page_count: contextvars.ContextVar[bool] = contextvars.ContextVar("publisher_weasy_pages", default=False)
_last_attr_target: contextvars.ContextVar[tuple] = contextvars.ContextVar("publisher_attr_target", default=((), None))
_fixed_pages: contextvars.ContextVar[dict | None] = contextvars.ContextVar("publisher_fixed_pages", default=None)
_outside_links: contextvars.ContextVar[frozenset | None] = contextvars.ContextVar("publisher_outside_links", default=None)


class PageCounters(dict):
    """A page's counter values that compare equal whatever their `pages` counter says."""

    def __eq__(self, other):
        if not isinstance(other, dict):
            return NotImplemented
        return {k: v for k, v in self.items() if k != "pages"} == {k: v for k, v in other.items() if k != "pages"}

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # a dict


def _install_actual_text() -> bool:
    import pydyf
    import weasyprint.draw as draw

    original = getattr(draw, "draw_text", None)
    if original is None or not hasattr(pydyf.Stream, "begin_marked_content"):
        return False

    @functools.wraps(original)
    def draw_text(stream, textbox, *args, **kwargs):
        text = getattr(textbox, "text", "")
        if not (_active.get() and text.strip() and textbox.style["white_space"] in PREFORMATTED):
            return original(stream, textbox, *args, **kwargs)
        stream.begin_marked_content("Span", pydyf.Dictionary({"ActualText": pydyf.String(text)}))
        try:
            return original(stream, textbox, *args, **kwargs)
        finally:
            stream.end_marked_content()

    draw.draw_text = draw_text
    return True


def _target_name(anchor_token, source_box, name_of, get_url_tuple) -> str | None:
    """The anchor a target token names, an `attr()` one resolved on its box's element (None: none)."""
    with contextlib.suppress(AttributeError, IndexError, TypeError, ValueError):
        if anchor_token and anchor_token[0] == "attr()":
            attr_name, kind, fallback = anchor_token[1]
            value = source_box.element.get(attr_name, fallback)
            anchor_token = ("url", get_url_tuple(value, source_box.style.base_url)) if kind == "url" else ("string", value)
        return name_of(anchor_token)
    return None


class _StandIn:
    """The target box of a fixed target that is not in the document: no counters, no text (what an empty
    element in its place gave)."""

    cached_counter_values: dict = {}

    def extract_text(self, text_part) -> str:
        return ""


_STAND_IN = _StandIn()


def _install_target_names() -> bool:
    import weasyprint.css.targets as targets

    collector = getattr(targets, "TargetCollector", None)
    name_of = getattr(targets, "anchor_name_from_token", None)
    get_url_tuple = getattr(targets, "get_url_tuple", None)
    if collector is None or name_of is None or get_url_tuple is None or not hasattr(collector, "lookup_target"):
        return False
    lookup_target = collector.lookup_target

    @functools.wraps(lookup_target)
    def remembering_lookup_target(self, anchor_token, source_box, css_token, parse_again):
        """Remember which anchor an attr() token named, for the anchor_name_from_token call that follows."""
        item = lookup_target(self, anchor_token, source_box, css_token, parse_again)
        if _active.get() and anchor_token and anchor_token[0] == "attr()":
            _last_attr_target.set((anchor_token, _target_name(anchor_token, source_box, name_of, get_url_tuple)))
        return item

    @functools.wraps(name_of)
    def anchor_name_from_token(anchor_token):
        name = name_of(anchor_token)
        if name is None and _active.get():
            token, resolved = _last_attr_target.get()
            if token is anchor_token:
                return resolved
        return name

    collector.lookup_target = remembering_lookup_target
    targets.anchor_name_from_token = anchor_name_from_token
    return True


def _install_page_counters() -> bool:
    import weasyprint.layout as layout

    original = getattr(layout, "initialize_page_maker", None)
    if original is None:
        return False

    @functools.wraps(original)
    def initialize_page_maker(context, root_box):
        result = original(context, root_box)
        if _active.get() and _skip_page_count.get():
            with contextlib.suppress(AttributeError, IndexError, TypeError, ValueError):
                resume_at, next_page, right_page, page_state, remake_state = context.page_maker[0]
                quote_depth, counters, scopes, groups = page_state
                if type(counters) is dict:
                    state = (quote_depth, PageCounters(counters), scopes, groups)
                    context.page_maker[0] = (resume_at, next_page, right_page, state, remake_state)
        return result

    layout.initialize_page_maker = initialize_page_maker
    return True


def _install_fixed_pages() -> bool:
    import weasyprint.css.targets as targets

    collector = getattr(targets, "TargetCollector", None)
    original = getattr(collector, "cache_target_page_counters", None)
    collect_anchor = getattr(collector, "collect_anchor", None)
    if original is None or collect_anchor is None or not hasattr(targets.TargetLookupItem(), "cached_page_counter_values"):
        return False

    @functools.wraps(collect_anchor)
    def collecting_anchor(self, anchor_name):
        """A fixed target's page is known before any page is laid out: what points to it shows the number
        the first time, and no page is laid out again for the news (targets.py's "spread the news")."""
        collect_anchor(self, anchor_name)
        fixed = (_fixed_pages.get() or {}).get(anchor_name) if _active.get() and isinstance(anchor_name, str) else None
        item = self.target_lookup_items.get(anchor_name) if fixed is not None else None
        if item is not None and not item.cached_page_counter_values:
            item.cached_page_counter_values = {"page": [fixed]}

    lookup_target = collector.lookup_target  # (after target_names' change, when that one is made)
    name_of = targets.anchor_name_from_token  # likewise

    @functools.wraps(lookup_target)
    def lookup_fixed_target(self, anchor_token, source_box, css_token, parse_again):
        """A fixed target that no element of the document has (every anchor is collected with the styles,
        before any content is built) is up to date on its fixed page, as if a stand-in were placed there;
        WeasyPrint would discard what points to it ("target points to undefined anchor")."""
        fixed = _fixed_pages.get() if _active.get() else None
        name = _target_name(anchor_token, source_box, name_of, targets.get_url_tuple) if fixed else None
        if name is not None and name in fixed and name not in self.target_lookup_items:
            item = targets.TargetLookupItem("up-to-date")
            item.target_box = _STAND_IN  # its counters: none but the page's, below
            item.cached_page_counter_values = {"page": [fixed[name]]}
            self.target_lookup_items[name] = item
        return lookup_target(self, anchor_token, source_box, css_token, parse_again)

    @functools.wraps(original)
    def cache_target_page_counters(self, anchor_name, page_counter_values, page_maker_index, page_maker):
        fixed = (_fixed_pages.get() or {}).get(anchor_name) if _active.get() else None
        if fixed is not None and isinstance(page_counter_values, dict):
            item = self.target_lookup_items.get(anchor_name)
            if (not self.collecting and item is not None and item.state == "up-to-date"
                    and item.cached_page_counter_values.get("page") == [fixed]):
                item.page_maker_index = page_maker_index
                return None
            page_counter_values = {**page_counter_values, "page": [fixed]}
        return original(self, anchor_name, page_counter_values, page_maker_index, page_maker)

    collect_missing = getattr(collector, "collect_missing_counters", None)
    if collect_missing is not None:
        @functools.wraps(collect_missing)
        def collect_missing_counters(self, parent_box, css_token, parse_again, missing_counters, missing_target_counters):
            """WeasyPrint 70's compute_content_list reuses the name `missing_counters` for a target's list, so
            a box showing `target-counter(..., page)` seems to show its own page number, and every page
            holding one is laid out twice. When each of the box's targets is fixed, its text is right from
            the start: that list is not the box's own."""
            fixed = (_fixed_pages.get() or {}) if _active.get() else {}
            if (fixed and missing_target_counters and all(a in fixed for a in missing_target_counters)
                    and any(missing_counters is v for v in missing_target_counters.values())):
                missing_counters = []
            return collect_missing(self, parent_box, css_token, parse_again, missing_counters, missing_target_counters)

        collector.collect_missing_counters = collect_missing_counters
    collector.collect_anchor = collecting_anchor
    collector.lookup_target = lookup_fixed_target
    collector.cache_target_page_counters = cache_target_page_counters
    return True


def _install_outside_links() -> bool:
    import weasyprint.pdf as pdf

    original = getattr(pdf, "resolve_links", None)
    if original is None:
        return False

    @functools.wraps(original)
    def resolve_links(pages):
        """Links to the names given to `outside_links()` are kept (and written, as every internal link is, as
        a named destination that the merge supplies), where WeasyPrint drops a link to an anchor that is
        not in its document."""
        outside = _outside_links.get() if _active.get() else None
        if not outside:
            yield from original(pages)
            return
        names: set[str] = set()
        paged = []
        for page in pages:  # as the original: the first anchor of a name is the one
            paged.append([(name, x, y) for name, (x, y, _, _) in page.anchors.items() if name not in names])
            names.update(page.anchors)
        for page, anchors in zip(pages, paged, strict=True):
            yield [link for link in page.links if link[0] != "internal" or link[1] in names or link[1] in outside], anchors

    pdf.resolve_links = resolve_links
    return True


def _install_trailing_spaces() -> bool:
    import math

    import weasyprint.layout.inline as inline
    import weasyprint.layout.preferred as preferred
    import weasyprint.text.line_break as line_break

    original = line_break.split_first_line
    if inline.split_first_line is not original or preferred.split_first_line is not original:
        return False

    @functools.wraps(original)
    def split_first_line(text, style, context, max_width, justification_spacing, is_line_start=True, minimum=False):
        result = original(text, style, context, max_width, justification_spacing, is_line_start, minimum)
        if (not _active.get() or result[2] is None or minimum or not text.endswith(" ")
                or max_width is None or not 0 < max_width < math.inf
                or style["white_space"] in PREFORMATTED):  # spaces that do not collapse stay where they are
            return result
        words = text.rstrip(" ")
        if result[1] >= len(words.encode()):
            return result
        # cut before its last word: do the words fit without the space? (one more layout, for about one call
        # in twenty in a chapter; guessing from the width of the line returned missed some)
        layout = line_break.create_layout(words, style, context, max_width, justification_spacing)
        line, resume = layout.get_first_line()
        fits = resume is None and line_break.line_size(line, style)[0] <= max_width
        layout.deactivate()
        if not fits:
            return result
        # what split_first_line returns when the space fits too: the whole text on one line, the space kept
        # (the line ends there: what follows cannot fit, and the line's last space is removed when it is placed)
        layout = line_break.create_layout(text, style, context, max_width, justification_spacing)
        line, resume = layout.get_first_line()
        if resume is not None:
            layout.deactivate()
            return result
        return line_break.first_line_metrics(line, text, layout, None, True, style)

    line_break.split_first_line = inline.split_first_line = preferred.split_first_line = split_first_line
    return True


def installed() -> frozenset[str]:
    """The names of the changes this WeasyPrint accepted."""
    return _install()


@contextlib.contextmanager
def _within(var: contextvars.ContextVar, value):
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def fixed_pages(pages: dict[str, int]):
    """Within: `target-counter(X, page)` shows pages[X] for every X in `pages` (see change 3 above)."""
    return _within(_fixed_pages, dict(pages))


def outside_links(names):
    """Within: links to these names are kept though no element here has them (see _install_outside_links)."""
    return _within(_outside_links, frozenset(names))


# What each change replaces in WeasyPrint (module, attribute, its parameters as tested, WeasyPrint 70) and
# what a book loses without it. A change whose attributes are missing or take other parameters is not made.
SPLIT_FIRST_LINE = ("text", "style", "context", "max_width", "justification_spacing", "is_line_start", "minimum")
REQUIRES: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "actual_text": (("weasyprint.draw", "draw_text", ("stream", "textbox", "offset_x", "text_overflow", "block_ellipsis")),
                    ("pydyf", "Stream.begin_marked_content", ("self", "tag", "property_list"))),
    "target_names": (("weasyprint.css.targets", "TargetCollector.lookup_target",
                      ("self", "anchor_token", "source_box", "css_token", "parse_again")),
                     ("weasyprint.css.targets", "anchor_name_from_token", ("anchor_token",)),
                     ("weasyprint.css.targets", "get_url_tuple", ("url", "base_url"))),
    "page_counters": (("weasyprint.layout", "initialize_page_maker", ("context", "root_box")),),
    "fixed_pages": (("weasyprint.css.targets", "TargetCollector.collect_anchor", ("self", "anchor_name")),
                    ("weasyprint.css.targets", "TargetCollector.lookup_target",
                     ("self", "anchor_token", "source_box", "css_token", "parse_again")),
                    ("weasyprint.css.targets", "anchor_name_from_token", ("anchor_token",)),
                    ("weasyprint.css.targets", "get_url_tuple", ("url", "base_url")),
                    ("weasyprint.css.targets", "TargetCollector.cache_target_page_counters",
                     ("self", "anchor_name", "page_counter_values", "page_maker_index", "page_maker")),
                    ("weasyprint.css.targets", "TargetCollector.collect_missing_counters",
                     ("self", "parent_box", "css_token", "parse_again_function", "missing_counters", "missing_target_counters")),
                    ("weasyprint.css.targets", "TargetLookupItem", ())),
    "outside_links": (("weasyprint.pdf", "resolve_links", ("pages",)),),
    "trailing_spaces": (("weasyprint.text.line_break", "split_first_line", SPLIT_FIRST_LINE),
                        ("weasyprint.layout.inline", "split_first_line", SPLIT_FIRST_LINE),
                        ("weasyprint.layout.preferred", "split_first_line", SPLIT_FIRST_LINE),
                        ("weasyprint.text.line_break", "create_layout",
                         ("text", "style", "context", "max_width", "justification_spacing")),
                        ("weasyprint.text.line_break", "line_size", ("line", "style")),
                        ("weasyprint.text.line_break", "first_line_metrics",
                         ("first_line", "text", "layout", "resume_at", "space_collapse", "style", "hyphenated",
                          "hyphenation_character")),
                        ("weasyprint.text.line_break", "Layout.deactivate", ("self",)),
                        ("weasyprint.text.line_break", "Layout.get_first_line", ("self",))),
}
LOST = {
    "actual_text": "preformatted lines are drawn without their ActualText: text copied or extracted from a diagram "
                   "loses its spacing",
    "target_names": "pages that show a page number (contents, \"(p. N)\") are laid out three times instead of twice",
    "page_counters": "pages that show a page number (contents, \"(p. N)\") are laid out three times instead of twice",
    "fixed_pages": "a long book is laid out whole, not in parts: memory grows with its page count",
    "outside_links": "a long book is laid out whole, not in parts: memory grows with its page count",
    "trailing_spaces": "a line whose words fit only without the space that ends them is cut after its first word",
}
TESTED = ">=70,<71"  # pyproject.toml's pin


def mismatch(name: str) -> str:
    """What of WeasyPrint change `name` needs is missing or different ("" when it applies)."""
    import importlib
    import inspect

    for module, attribute, parameters in REQUIRES[name]:
        try:
            obj = importlib.import_module(module)
            for part in attribute.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            return f"{module}.{attribute} is missing"
        if parameters:
            try:
                found = tuple(inspect.signature(obj).parameters)
            except (TypeError, ValueError):
                found = None
            if found != parameters:
                return f"{module}.{attribute} takes ({', '.join(found or ('?',))}), not ({', '.join(parameters)})"
    return ""


INSTALLERS = {"actual_text": _install_actual_text, "target_names": _install_target_names,
              "page_counters": _install_page_counters, "fixed_pages": _install_fixed_pages,
              "outside_links": _install_outside_links, "trailing_spaces": _install_trailing_spaces}
_refused: dict[str, str] = {}


@functools.cache
def _install() -> frozenset[str]:
    installed = set()
    for name, install in INSTALLERS.items():
        reason = mismatch(name)
        if not reason:
            try:
                reason = "" if install() else "not applicable"
            except (ImportError, AttributeError) as exc:
                reason = str(exc)
        if reason:
            _refused[name] = reason
        else:
            installed.add(name)
    return frozenset(installed)


def problems() -> list[Diagnostic]:
    """One `pdf.engine` warning for each change this WeasyPrint does not accept: what the book loses."""
    from importlib.metadata import PackageNotFoundError, version

    _install()
    try:
        found = version("weasyprint")
    except PackageNotFoundError:
        found = "?"
    return [Diagnostic(Severity.WARNING, f"WeasyPrint {found}: {LOST[name]} ({reason})",
                       hint=f"publisher is tested with weasyprint{TESTED}", code="pdf.engine")
            for name, reason in _refused.items()]


@contextlib.contextmanager
def tuned(css: str):
    """Within: WeasyPrint, in this thread, draws preformatted lines with their ActualText, names the targets
    of attr() target-counters, skips the pass for `pages` when `css` never shows it, and the garbage
    collector runs less often."""
    installed = _install()
    # Without the targets' names, the `pages` pass is what brings forward page numbers in: keep it then.
    skip = "target_names" in installed and not SHOWS_PAGE_COUNT.search(css)
    active, skip = _active.set(True), _skip_page_count.set(skip)
    try:
        with fewer_collections():
            yield
    finally:
        _skip_page_count.reset(skip)
        _active.reset(active)
