"""Paths written in notes, resolved to files of the vault as Obsidian resolves them.

Obsidian writes a link to a file in one of three forms (Settings, Files and links, "New link format"):
shortest path when possible (`x.png`, or `attachments/x.png` where the name alone is ambiguous), relative path
to file (`../attachments/x.png`) and absolute path in vault (`attachments/x.png`, also `/attachments/x.png`).
One rule reads all three, for embeds, Markdown images and links to files alike:

1. the path from the note's folder, then from the vault's root (one that starts with `/`: from the root only);
2. else the files whose path ends with it (`x.png`, `attachments/x.png`): the one in the note's folder first,
   then the one the fewest folders deep, then the first in path order.

Names compare folded (case, Unicode form). A path that leaves the vault, once normalised (`..` above the root)
or once its symlinks are resolved, is "outside": nothing there is read. A path that stays inside the vault
and names no file is "missing", with the nearest attachment as a hint.
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import did_you_mean
from .vault import Vault, fold

FOUND, MISSING, OUTSIDE = "found", "missing", "outside"


@dataclass(frozen=True, slots=True)
class Place:
    kind: str  # FOUND | MISSING | OUTSIDE
    path: str = ""  # FOUND: the file's path in the vault
    hint: str = ""  # MISSING: "did you mean ...?" naming the nearest attachment


def candidates(written: str, note: str) -> list[str] | None:
    """The vault paths a path written in the note at `note` (a vault path) can name, in the order they are
    tried: from the note's folder, then from the root; None when the path leaves the vault."""
    written = written.strip()
    if written.startswith("/"):
        rooted = posixpath.normpath(written.lstrip("/"))
        return None if _leaves(rooted) else [rooted]
    here = posixpath.normpath(posixpath.join(posixpath.dirname(note), written))
    if _leaves(here):
        return None
    rooted = posixpath.normpath(written)
    return [here] if rooted == here or _leaves(rooted) else [here, rooted]


def leaves(root: Path, written: str, note: str) -> bool:
    """Whether a path written in a note leaves the vault at `root`: by `..`, or by a symlink on the way
    (resolved, never read)."""
    found = candidates(written, note)
    if found is None:
        return True
    root = root.resolve()
    try:
        return not any((root / c).resolve().is_relative_to(root) for c in found)
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
        return True


def locate(vault: Vault, written: str, note: str) -> Place:
    """The file of the vault a path written in the note at `note` names (its percent-encoding undone)."""
    found = candidates(written, note)
    if found is None or leaves(vault.root, written, note):
        return Place(OUTSIDE)
    files, by_name = _index(vault.attachments)
    for c in found:
        if fold(c) in files:
            return Place(FOUND, files[fold(c)])
    key = fold(found[-1])  # as from the root: the end of a path
    folder = posixpath.dirname(note)
    matches = [p for p in by_name.get(posixpath.basename(key), ()) if ("/" + fold(p)).endswith("/" + key)]
    if matches:
        return Place(FOUND, min(matches, key=lambda p: (posixpath.dirname(p) != folder, p.count("/"), p)))
    names = sorted({posixpath.basename(p) for paths in by_name.values() for p in paths})
    return Place(MISSING, hint=did_you_mean(posixpath.basename(found[-1]), names))


def _leaves(path: str) -> bool:
    return path == ".." or path.startswith("../")


@functools.lru_cache(maxsize=8)
def _index(attachments: frozenset[str]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Folded path -> path, and folded file name -> paths, of a vault's attachments."""
    by_name: dict[str, list[str]] = {}
    for p in sorted(attachments):
        by_name.setdefault(fold(posixpath.basename(p)), []).append(p)
    return {fold(p): p for p in attachments}, {k: tuple(v) for k, v in by_name.items()}

