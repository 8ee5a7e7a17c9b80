"""Themes: a folder with theme.toml (parent, stylesheets per format, reference.docx), templates/ and css/."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from .diagnostics import Diagnostic, ManifestError, Severity, SourceLocation

BUILTIN_THEMES = Path(__file__).resolve().parent.parent / "themes"


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
        return "\n".join(p.read_text(encoding="utf-8") for p in self.stylesheets(fmt))

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
