"""Diagnostics: every problem names a place, is collected, and is reported together."""

from __future__ import annotations

import difflib
import enum
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"  # in the report and the summary; not counted by --strict, not printed line by line by default


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as the user should read it: relative to the working directory when inside it."""
    p = Path(path)
    try:
        rel = os.path.relpath(p)
    except ValueError:  # another drive
        return str(p)
    return str(p) if rel.startswith("..") else rel


@dataclass(frozen=True, slots=True)
class SourceLocation:
    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        text = display_path(self.path)
        if self.line:
            text += f":{self.line}"
            if self.col:
                text += f":{self.col}"
        return text


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    message: str
    location: SourceLocation | None = None
    hint: str = ""
    code: str = ""  # codes.CODES names every one
    target: str = ""  # a link's target as written
    resolution: str = ""  # what became of the link: "unresolved", "outside: footnote", ...

    def format(self) -> str:
        head = f"{self.location}: " if self.location else "publisher: "
        tail = f" ({self.hint})" if self.hint else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{head}{self.severity.value}: {self.message}{tail}{code}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class PublisherError(Exception):
    """A user error that stops the build; never shown as a traceback."""

    exit_code = 1

    def __init__(self, diagnostics: Iterable[Diagnostic] | Diagnostic | str):
        if isinstance(diagnostics, str):
            diagnostics = Diagnostic(Severity.ERROR, diagnostics)
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class ContentError(PublisherError):
    """The knowledge base cannot be published as it is (exit 1)."""

    exit_code = 1


class ManifestError(PublisherError):
    """The manifest is invalid (exit 2)."""

    exit_code = 2


class UsageError(PublisherError):
    """The command line is wrong (exit 2)."""

    exit_code = 2


@dataclass(slots=True)
class Reporter:
    """Collects diagnostics from every stage; the CLI prints them together. A manifest's `diagnostics:`
    (set_policy) drops the codes it ignores (never an error) and makes the codes it lists under `error` errors."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    ignore: frozenset[str] = frozenset()
    promote: frozenset[str] = frozenset()
    _seen: set[Diagnostic] = field(default_factory=set)

    def add(self, diagnostic: Diagnostic) -> None:
        diagnostic = self._applied(diagnostic)
        if diagnostic is None:
            return
        if len(self._seen) != len(self.diagnostics):  # the list was changed from outside
            self._seen = set(self.diagnostics)
        if diagnostic not in self._seen:
            self._seen.add(diagnostic)
            self.diagnostics.append(diagnostic)

    def _applied(self, d: Diagnostic) -> Diagnostic | None:
        if d.code in self.ignore and not d.is_error:
            return None
        if d.code in self.promote and not d.is_error:
            return replace(d, severity=Severity.ERROR)
        return d

    def set_policy(self, ignore: Iterable[str] = (), error: Iterable[str] = ()) -> None:
        """A manifest's `diagnostics: {ignore: [...], error: [...]}`, applied to what is here and what comes."""
        self.ignore, self.promote = frozenset(ignore), frozenset(error)
        kept = [a for d in self.diagnostics if (a := self._applied(d)) is not None]
        self.diagnostics[:] = list(dict.fromkeys(kept))
        self._seen = set(self.diagnostics)

    def error(self, message: str, location: SourceLocation | None = None, hint: str = "", code: str = "", **link: str) -> None:
        self.add(Diagnostic(Severity.ERROR, message, location, hint, code, **link))

    def warning(self, message: str, location: SourceLocation | None = None, hint: str = "", code: str = "", **link: str) -> None:
        self.add(Diagnostic(Severity.WARNING, message, location, hint, code, **link))

    def info(self, message: str, location: SourceLocation | None = None, hint: str = "", code: str = "", **link: str) -> None:
        self.add(Diagnostic(Severity.INFO, message, location, hint, code, **link))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        for d in diagnostics:
            self.add(d)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    @property
    def infos(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.INFO]


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """A hint naming the nearest candidate, or ''."""
    pool = list(dict.fromkeys(candidates))
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    if not matches:
        lowered = {c.casefold(): c for c in pool}
        matches = [lowered[m] for m in difflib.get_close_matches(word.casefold(), list(lowered), n=1, cutoff=cutoff)]
    return f"did you mean '{matches[0]}'?" if matches else ""
