"""YAML read with the place of every value, so that each problem can name its line and column.

PyYAML composes a node tree with marks; we construct plain
Python values from it ourselves to record where each key path sits, to report duplicate keys, and to
bound the expansion of aliases (a "billion laughs" document loads at once but never finishes walking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .diagnostics import Diagnostic, Severity, SourceLocation

KeyPath = tuple[str | int, ...]
MAX_NODES = 100_000
MAP_TAG, SEQ_TAG = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def format_keypath(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(slots=True)
class YamlDoc:
    """A loaded YAML value with the (line, col) of every key path (1-based)."""

    path: str
    value: Any
    marks: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    line_offset: int = 0
    texts: dict[KeyPath, str] = field(default_factory=dict)  # a plain scalar's text as written (`no`, `3.10`)
    origins: dict[KeyPath, str] = field(default_factory=dict)  # key paths a merged document took from another file

    def origin(self, keypath: KeyPath) -> str:
        """The file that set a key path (the document's own unless it was inherited)."""
        probe = keypath
        while probe not in self.origins and probe:
            probe = probe[:-1]
        return self.origins.get(probe, self.path)

    def loc(self, keypath: KeyPath = (), *, key: bool = False) -> SourceLocation:
        """The place of a value (or, with key=True, of its key), falling back to its parent."""
        table = self.key_marks if key else self.marks
        probe = keypath
        while probe not in table and probe:
            probe = probe[:-1]
        line, col = table.get(probe, self.marks.get(probe, (1, 1)))
        return SourceLocation(self.origin(probe), line + self.line_offset, col)


def merge_docs(parent: YamlDoc, child: YamlDoc, replace_together: tuple[set[str], ...] = ()) -> YamlDoc:
    """child over parent: a value the child sets wins; mappings merge key by key; the places of inherited
    values keep naming the parent's file. Keys in one `replace_together` group replace each other
    (a child's `chapters` drops the parent's `parts`)."""
    merged = YamlDoc(path=child.path, value=None)

    def copy(doc: YamlDoc, prefix: KeyPath) -> None:
        n = len(prefix)
        for table, out in ((doc.marks, merged.marks), (doc.key_marks, merged.key_marks), (doc.texts, merged.texts)):
            for kp, mark in table.items():
                if kp[:n] == prefix:
                    out[kp] = mark
                    merged.origins[kp] = doc.origin(kp)

    def merge(pv: Any, cv: Any, prefix: KeyPath) -> Any:
        if isinstance(pv, dict) and isinstance(cv, dict):
            out = {}
            dropped = {k for group in (replace_together if not prefix else ()) if group & set(cv) for k in group} - set(cv)
            for key in pv:
                if key not in cv and key not in dropped:
                    out[key] = pv[key]
                    copy(parent, prefix + (key,))
            for key in cv:
                if key in pv and isinstance(pv[key], dict) and isinstance(cv[key], dict):
                    merged.marks[prefix + (key,)] = child.marks.get(prefix + (key,), (1, 1))
                    merged.key_marks[prefix + (key,)] = child.key_marks.get(prefix + (key,), (1, 1))
                    merged.origins[prefix + (key,)] = child.origin(prefix + (key,))
                    out[key] = merge(pv[key], cv[key], prefix + (key,))
                else:
                    out[key] = cv[key]
                    copy(child, prefix + (key,))
            return out
        copy(child, prefix)
        return cv

    merged.value = merge(parent.value, child.value, ())
    merged.marks.setdefault((), child.marks.get((), (1, 1)))
    return merged


class YamlError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic


class _Builder:
    def __init__(self, doc: YamlDoc, warnings: list[Diagnostic]):
        self.doc = doc
        self.warnings = warnings
        self.count = 0
        self.scalar_loader = yaml.SafeLoader("")

    def mark(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            line, col = self.mark(node)
            raise YamlError(
                Diagnostic(
                    Severity.ERROR,
                    f"YAML expands to more than {MAX_NODES} values (an alias bomb?)",
                    SourceLocation(self.doc.path, line + self.doc.line_offset, col),
                    code="yaml.too-large",
                )
            )
        self.doc.marks.setdefault(path, self.mark(node))
        if not isinstance(node, yaml.ScalarNode) and node.tag not in (MAP_TAG, SEQ_TAG):
            line, col = self.mark(node)  # as yaml.safe_load: `!!python/object/apply:os.system [...]` is refused
            raise YamlError(Diagnostic(Severity.ERROR, f"invalid YAML: unknown tag '{node.tag.replace('tag:yaml.org,2002:', '!!')}'",
                                       SourceLocation(self.doc.path, line + self.doc.line_offset, col), code="yaml.syntax"))
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    merged = self.build(value_node, path)
                    for m in merged if isinstance(merged, list) else [merged]:
                        if isinstance(m, dict):
                            for k, v in m.items():
                                result.setdefault(k, v)
                    continue
                key = self.build(key_node, path + ("<key>",))
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    key = str(key)
                if isinstance(key, (int, float, bool)) or key is None:
                    key = str(key).lower() if isinstance(key, bool) else str(key)
                sub = path + (key,)
                if key in result:
                    line, col = self.mark(key_node)
                    self.warnings.append(
                        Diagnostic(
                            Severity.WARNING,
                            f"duplicate key '{key}' (the last value is used)",
                            SourceLocation(self.doc.path, line + self.doc.line_offset, col),
                            code="yaml.duplicate-key",
                        )
                    )
                self.doc.key_marks[sub] = self.mark(key_node)
                self.doc.marks[sub] = self.mark(value_node)
                result[key] = self.build(value_node, sub)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and node.style is None:
            self.doc.texts[path] = node.value
        try:
            return self.scalar_loader.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. an impossible date such as 2025-02-30
            line, col = self.mark(node)
            raise YamlError(
                Diagnostic(
                    Severity.ERROR,
                    f"invalid YAML value {node.value!r}: {exc}",
                    SourceLocation(self.doc.path, line + self.doc.line_offset, col),
                    code="yaml.syntax",
                )
            ) from None


def load_yaml(text: str, path: str, *, line_offset: int = 0) -> tuple[YamlDoc, list[Diagnostic]]:
    """Parse one YAML document; raise YamlError with the place of a syntax error."""
    doc = YamlDoc(path=path, value=None, line_offset=line_offset)
    warnings: list[Diagnostic] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        node = _question_mark_retry(exc, text)
        if node is _REJECTED:
            raise YamlError(_syntax_error(exc, text, path, line_offset)) from None
    except yaml.YAMLError as exc:
        raise YamlError(Diagnostic(Severity.ERROR, f"invalid YAML: {exc}", SourceLocation(path, 1 + line_offset, 1), code="yaml.syntax")) from None
    except RecursionError:  # PyYAML composes recursively
        raise YamlError(_too_deep(path, line_offset)) from None
    if node is None:
        return doc, warnings
    try:
        doc.value = _Builder(doc, warnings).build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError(
            Diagnostic(Severity.ERROR, f"invalid YAML: {exc.problem}", SourceLocation(path, line + line_offset, col), code="yaml.syntax")
        ) from None
    except RecursionError:
        raise YamlError(_too_deep(path, line_offset)) from None
    return doc, warnings


_REJECTED = object()


def _question_mark_retry(exc: yaml.MarkedYAMLError, text: str) -> Any:
    """The node tree of a text PyYAML rejected only for a `?` inside a plain scalar of a flow collection
    (`aliases: [Am I a Data Engineer?, ...]`): valid YAML (1.1 and 1.2: only `, [ ] { }` end such a scalar,
    and `?` is a key indicator only when a space follows it), which PyYAML's pure-Python scanner refuses
    (yaml/pyyaml#128) and libyaml reads (yaml/libyaml#105), as Obsidian does. _REJECTED for any other error,
    or when libyaml rejects it too: the error reported is PyYAML's, with its place."""
    mark = exc.problem_mark
    if mark is None or not getattr(yaml, "__with_libyaml__", False) or text[mark.index:mark.index + 1] != "?":
        return _REJECTED
    try:
        return yaml.compose(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, RecursionError):
        return _REJECTED


UNCLOSED = ("while parsing a flow", "while scanning a quoted scalar")  # contexts that begin at an opener


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, path: str, line_offset: int) -> Diagnostic:
    """A syntax error at its cause: an unclosed `[`, `{` or quote is reported at the opener (PyYAML's context),
    not where the parser noticed it (the next key, or the end of the file), which is named in the message."""
    problem = exc.problem or exc.context or "invalid YAML"
    mark, hint = exc.problem_mark or exc.context_mark, ""
    opener = exc.context_mark
    if opener is not None and exc.problem_mark is not None and (exc.context or "").startswith(UNCLOSED):
        char = text[opener.index] if opener.index < len(text) else ""
        close = {"[": "]", "{": "}"}.get(char, char)
        what = {"[": "list", "{": "mapping"}.get(char, "quoted text")
        found = exc.problem_mark
        if found.index >= len(text.rstrip()):
            problem = f"this {char!r} is not closed: no {close!r} before the end of the YAML"
        else:
            problem = f"in the {what} this {char!r} opens, {problem} (line {found.line + 1 + line_offset}, column {found.column + 1})"
            hint = "quote an item that holds , [ ] { } : # or ?" if char in "[{" else ""
        mark = opener
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Diagnostic(Severity.ERROR, f"invalid YAML: {problem}", SourceLocation(path, line + line_offset, col), hint,
                      code="yaml.syntax")


def _too_deep(path: str, line_offset: int) -> Diagnostic:
    return Diagnostic(Severity.ERROR, "invalid YAML: lists or mappings nested too deeply", SourceLocation(path, 1 + line_offset, 1),
                      code="yaml.syntax")
