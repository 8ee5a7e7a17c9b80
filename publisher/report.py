"""What a run reports, shown so that a person can act on it, and kept whole for tools.

- Each book's diagnostics are printed when the book is done (cli.run). Errors are all printed: they are
  few and each stops the book. Of each code's warnings, the first LIMIT are printed and one line counts the
  rest (`... and 3,894 more [link.unresolved]`); information (`link.outside`) is not printed line by line.
  --verbose prints every line. A diagnostic an earlier book of the run printed is not printed again; one
  line says how many, and for which book.
- The run ends with a summary on stderr: the count of each code, the most-linked missing notes, and the
  report file (when anything was left out of the lines above, or --report was given).
- --report FILE: every diagnostic of the run as JSON Lines, one object a line (report_lines()).
"""

from __future__ import annotations

import json
import posixpath
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

from .codes import CODES
from .diagnostics import Diagnostic, Severity, display_path

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2  # done; the content is wrong; the command line or the manifest is


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """Each diagnostic as its one line, on stderr (a book's own are grouped by Run instead)."""
    for d in diagnostics:
        print(d.format(), file=sys.stderr)

LIMIT = 5  # lines a book prints of each code's warnings (--verbose: all)
TOP_MISSING = 5  # missing notes the summary names


@dataclass(slots=True)
class Run:
    """Every diagnostic of one run (one `publisher build|check` of one or more manifests), with the books
    that reported it, in the order they were reported."""

    verbose: bool = False
    limit: int = LIMIT
    seen: dict[Diagnostic, list[str]] = field(default_factory=dict)
    books: list[str] = field(default_factory=list)
    left_out: int = 0  # warnings not printed line by line (beyond a code's first lines, or printed for another book)

    def book_lines(self, book: str, diagnostics: Iterable[Diagnostic]) -> list[str]:
        """The lines to print for one book that is done, and each diagnostic noted."""
        self.books.append(book)
        lines: list[str] = []
        shown: Counter[str] = Counter()
        more: Counter[str] = Counter()
        repeated: Counter[str] = Counter()  # first book -> diagnostics of this one it printed already
        for d in diagnostics:
            books = self.seen.setdefault(d, [])
            if book not in books:
                books.append(book)
            if len(books) > 1:
                repeated[books[0]] += d.severity is not Severity.INFO
            elif self.verbose or d.is_error or (d.severity is Severity.WARNING and shown[d.code] < self.limit):
                shown[d.code] += 1
                lines.append(d.format())
            elif d.severity is Severity.WARNING:
                more[d.code] += 1
        lines += [f"... and {n:,} more [{code}]" for code, n in more.items()]
        lines += [f"{book}: {n:,} {_plural(n, 'diagnostic')} reported above for {first} also "
                  f"{'concern' if n != 1 else 'concerns'} this book" for first, n in repeated.items() if n]
        self.left_out += sum(more.values()) + sum(repeated.values())
        return lines

    def summary_lines(self, report: str | None = None) -> list[str]:
        """The run's summary: nothing when every warning and error was printed above (information alone is
        not worth the lines: check's link report counts it) and no report was asked for."""
        if not self.seen or not (self.left_out or report):
            return []
        by_code = Counter((d.code, d.severity) for d in self.seen)
        severities = Counter(d.severity for d in self.seen)
        books = f"{len(self.books)} books" if len(self.books) != 1 else self.books[0]
        head = (f"publisher: {len(self.seen):,} {_plural(len(self.seen), 'diagnostic')} in {books}: "
                + ", ".join(f"{severities[s]:,} {s.value if s is Severity.INFO else _plural(severities[s], s.value)}"
                            for s in Severity if severities[s]))
        lines = [head + (f"; every one in {report}" if report else "")]
        width = max(len(code) for code, _ in by_code)
        for (code, severity), n in sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0][0])):
            meaning = CODES[code].meaning if code in CODES else ""
            lines.append(f"  {n:>7,}  {severity.value:<7}  {code:<{width}}  {meaning}".rstrip())
        missing = missing_notes(self.seen)
        if missing:
            lines.append("  most-linked missing notes:")
            lines += [f"    {name}: {_count(links, 'link')} in {_count(notes, 'note')}" for name, links, notes in missing[:TOP_MISSING]]
        shared = Counter(tuple(books) for books in self.seen.values() if len(books) > 1)
        lines += [f"  {n:,} {_plural(n, 'diagnostic')} shared by {', '.join(books)}, printed once" for books, n in shared.items()]
        return lines

    def report_lines(self) -> Iterator[str]:
        """--report: one JSON object a line for each diagnostic of the run."""
        for d, books in self.seen.items():
            loc = d.location
            yield json.dumps({
                "book": books[0] if books else None,
                "books": books,
                "path": display_path(loc.path) if loc else None,
                "line": loc.line or None if loc else None,
                "column": loc.col or None if loc else None,
                "severity": d.severity.value,
                "code": d.code,
                "message": d.message,
                "hint": d.hint or None,
                "target": d.target or None,
                "resolution": d.resolution or None,
            }, ensure_ascii=False)


def missing_notes(diagnostics: Iterable[Diagnostic]) -> list[tuple[str, int, int]]:
    """(name, links, notes) of each note the unresolved links name, the most linked first: a name as most
    of its links write it, the same note however it is cased, with a heading or as a path."""
    links: Counter[str] = Counter()
    notes: dict[str, set[str]] = {}
    spellings: dict[str, Counter[str]] = {}
    for d in diagnostics:
        if d.code != "link.unresolved" or not d.target:
            continue
        name = posixpath.basename(unquote(d.target).partition("#")[0].strip().removesuffix(".md")) or d.target
        key = name.casefold()
        links[key] += 1
        notes.setdefault(key, set()).add(d.location.path if d.location else "")
        spellings.setdefault(key, Counter())[name] += 1
    ranked = sorted(links, key=lambda k: (-links[k], -len(notes[k]), k))
    return [(spellings[k].most_common(1)[0][0], links[k], len(notes[k])) for k in ranked]


def _plural(n: int, noun: str) -> str:
    return noun if n == 1 else noun + "s"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {_plural(n, noun)}"
