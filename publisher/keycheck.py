"""Checking a manifest's values: each against the type or the choices it must have, every problem kept (not
raised) with its key path and the line of the manifest, so that one run reports them all."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .diagnostics import Diagnostic, Severity, did_you_mean
from .yamlsrc import KeyPath, YamlDoc, format_keypath


class Checker:
    def __init__(self, doc: YamlDoc):
        self.doc = doc
        self.problems: list[Diagnostic] = []

    def error(self, keypath: KeyPath, message: str, hint: str = "", *, key: bool = False, code: str) -> None:
        where = format_keypath(keypath)
        text = f"{where}: {message}" if where else message
        self.problems.append(Diagnostic(Severity.ERROR, text, self.doc.loc(keypath, key=key), hint, code))

    def unknown_keys(self, mapping: dict, allowed: set[str], base: KeyPath) -> None:
        for key in mapping:
            if key not in allowed:
                where = format_keypath(base)
                self.problems.append(Diagnostic(
                    Severity.ERROR,
                    f"{where}: unknown key '{key}'" if where else f"unknown key '{key}'",
                    self.doc.loc(base + (key,), key=True),
                    did_you_mean(str(key), sorted(allowed)),
                    code="manifest.unknown-key",
                ))

    def string(self, value: Any, keypath: KeyPath, *, required: bool = False) -> str:
        if value is None:
            if required:
                self.error(keypath, "is required", code="manifest.required")
            return ""
        if isinstance(value, (bool, int, float)) and keypath in self.doc.texts:
            return self.doc.texts[keypath]  # as written: YAML 1.1 reads `no` as false and `3.10` as 3.1
        if isinstance(value, (dt.date, int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.error(keypath, f"must be text, not {type_name(value)}", code="manifest.type")
            return ""
        if required and not value.strip():
            self.error(keypath, "must not be empty", code="manifest.required")
        return value

    def string_list(self, value: Any, keypath: KeyPath) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, (bool, int, float)) and keypath in self.doc.texts:
            return (self.doc.texts[keypath],)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return (str(value),)
        if not isinstance(value, list):
            self.error(keypath, f"must be a list of text, not {type_name(value)}", code="manifest.type")
            return ()
        out = []
        for i, item in enumerate(value):
            if isinstance(item, (bool, int, float)) and keypath + (i,) in self.doc.texts:
                out.append(self.doc.texts[keypath + (i,)])
            elif isinstance(item, bool) or not isinstance(item, (str, int, float)):
                self.error(keypath + (i,), f"must be text, not {type_name(item)}", code="manifest.type")
            else:
                out.append(str(item))
        return tuple(out)

    def boolean(self, value: Any, keypath: KeyPath, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(keypath, f"must be true or false, not {value!r}", code="manifest.type")
            return default
        return value

    def choice(self, value: Any, keypath: KeyPath, choices: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            self.error(keypath, f"must be one of {', '.join(choices)}, not {value!r}", did_you_mean(str(value), choices), code="manifest.choice")
            return default
        return value


def type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", type(None): "nothing"}.get(type(value), type(value).__name__)
