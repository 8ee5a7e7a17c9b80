"""Themes: a folder with theme.toml (parent, stylesheets per format, reference.docx), templates/ and css/."""

from __future__ import annotations

import functools
import importlib.util
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from .diagnostics import Diagnostic, ManifestError, Severity, SourceLocation


def _builtin_themes() -> Path:
    """themes/ of the repository, which an install carries as the package data of publisher.builtin_themes
    (pyproject.toml); a checkout used without installing has it beside the package."""
    try:
        spec = importlib.util.find_spec("publisher.builtin_themes")
    except ImportError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "themes"


BUILTIN_THEMES = _builtin_themes()
TAB_SIZE = 4


@dataclass(frozen=True)
class Theme:
    name: str
    folders: tuple[Path, ...]  # this theme first, then its parents
    config: dict[str, Any] = field(default_factory=dict)

    def file(self, relative: str) -> Path:
        for folder in self.folders:
            candidate = folder / relative
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"theme '{self.name}' has no {relative}")

    def stylesheets(self, fmt: str) -> list[Path]:
        names = self.config.get(fmt, {}).get("stylesheets", [])
        return [self.file(n) for n in names]

    def css(self, fmt: str) -> str:
        """The format's stylesheets, then the theme's tab stop for code (a tab shown where the diagrams'
        measurement counts it)."""
        sheets = [p.read_text(encoding="utf-8") for p in self.stylesheets(fmt)]
        return "\n".join([*sheets, f"pre, code {{ tab-size: {self.tab_size}; }}\n"])

    @property
    def tab_size(self) -> int:
        """Where code blocks and diagrams set their tab stops, in characters: theme.toml's `[code] tab_size`,
        else 4 (as Obsidian's editor shows them)."""
        value = self.config.get("code", {}).get("tab_size", TAB_SIZE)
        return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 16 else TAB_SIZE

    @functools.cached_property
    def env(self) -> jinja2.Environment:
        return jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(f / "templates") for f in self.folders]),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(["html", "xhtml", "j2"], default_for_string=True, default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(**values)


def load_theme(name: str, manifest_path: Path) -> Theme:
    """A theme beside the manifest (themes/NAME) wins over a built-in one of that name."""
    folders: list[Path] = []
    config: dict[str, Any] = {}
    seen: set[str] = set()
    current: str | None = name
    while current:
        if current in seen:
            raise ManifestError(Diagnostic(Severity.ERROR, f"theme '{current}' inherits from itself", SourceLocation(str(manifest_path)), code="manifest.theme"))
        seen.add(current)
        if current.startswith(".") or "/" in current or "\\" in current:  # a name, not a path out of themes/
            raise ManifestError(Diagnostic(Severity.ERROR, f"theme: '{current}' is not a theme's name", SourceLocation(str(manifest_path)), code="manifest.theme"))
        folder = next((f for f in (manifest_path.parent / "themes" / current, BUILTIN_THEMES / current) if (f / "theme.toml").is_file()), None)
        if folder is None:
            raise ManifestError(Diagnostic(Severity.ERROR, f"theme: no theme '{current}'", SourceLocation(str(manifest_path)), code="manifest.theme"))
        try:
            data = tomllib.loads((folder / "theme.toml").read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ManifestError(Diagnostic(Severity.ERROR, f"invalid theme.toml: {exc}", SourceLocation(str(folder / "theme.toml")), code="manifest.theme")) from None
        folders.append(folder)
        for key, value in data.items():
            config.setdefault(key, value)
        current = data.get("parent") or None
    return Theme(name, tuple(folders), config)
