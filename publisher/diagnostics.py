"""Diagnostics: every problem names a place, is collected, and is reported together."""

from __future__ import annotations

import difflib
import enum
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


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
    code: str = ""

    def format(self) -> str:
        head = f"{self.location}: " if self.location else "publisher: "
        tail = f" ({self.hint})" if self.hint else ""
        return f"{head}{self.severity.value}: {self.message}{tail}"

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
    """Collects diagnostics from every stage; the CLI prints them together."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        if diagnostic not in self.diagnostics:
            self.diagnostics.append(diagnostic)

    def error(self, message: str, location: SourceLocation | None = None, hint: str = "", code: str = "") -> None:
        self.add(Diagnostic(Severity.ERROR, message, location, hint, code))

    def warning(self, message: str, location: SourceLocation | None = None, hint: str = "", code: str = "") -> None:
        self.add(Diagnostic(Severity.WARNING, message, location, hint, code))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        for d in diagnostics:
            self.add(d)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """A hint naming the nearest candidate, or ''."""
    pool = list(dict.fromkeys(candidates))
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    if not matches:
        lowered = {c.casefold(): c for c in pool}
        matches = [lowered[m] for m in difflib.get_close_matches(word.casefold(), list(lowered), n=1, cutoff=cutoff)]
    return f"did you mean '{matches[0]}'?" if matches else ""
