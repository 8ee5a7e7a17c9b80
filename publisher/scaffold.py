"""`publisher new`: a first book in one command.

    publisher new DIR                 a small working vault (links, an embed, callouts, a diagram, glossary
                                      terms) and the manifest that builds it
    publisher new DIR --from VAULT    a manifest for an existing vault: one chapter per top-level folder,
                                      sorted by title; notes a book cannot read are left out, each named
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from importlib import resources
from pathlib import Path

from .diagnostics import Diagnostic, Reporter, Severity, SourceLocation, UsageError, display_path

MANIFEST = "book.yml"


def _usage(message: str, where: Path | None = None, hint: str = "") -> UsageError:
    return UsageError(Diagnostic(Severity.ERROR, message, SourceLocation(str(where)) if where else None, hint,
                                 code="usage.arguments"))


def _fresh_folder(dest: Path, *, manifest_only: bool) -> None:
    """dest may not exist yet, or (for a manifest alone) hold no book.yml; a starter vault wants it empty."""
    if dest.exists() and not dest.is_dir():
        raise _usage("exists and is not a folder", dest, "name a new folder")
    if manifest_only:
        if (dest / MANIFEST).exists():
            raise _usage(f"{MANIFEST} exists already; nothing was written", dest / MANIFEST, "name another folder")
    elif dest.is_dir() and any(dest.iterdir()):
        raise _usage("the folder is not empty; nothing was written", dest, "name a new or empty folder")


def new_book(dest: Path) -> Path:
    """Copy the starter vault and its manifest into dest (new or empty); returns the manifest's path."""
    dest = Path(dest)
    _fresh_folder(dest, manifest_only=False)
    starter = resources.files("publisher") / "starter"
    with resources.as_file(starter) as src:
        shutil.copytree(src, dest, dirs_exist_ok=True)
    return dest / MANIFEST


def _quoted(text: str) -> str:
    """A YAML scalar that reads back as text exactly (a JSON string is a YAML double-quoted scalar)."""
    return json.dumps(text, ensure_ascii=False)


def _humane(name: str) -> str:
    text = name.replace("_", " ").replace("-", " ").strip() or name
    return text[:1].upper() + text[1:]


def _unreadable(vault_root: Path) -> tuple[list, dict[str, str]]:
    """The vault's articles, and {path: why} of the notes a book would fail on (an error kept on the note:
    broken front matter, a binary or non-UTF-8 file, ...)."""
    from .vault import load_vault

    vault = load_vault(vault_root, Reporter())
    why = {a.path: " ".join(next(d for d in a.problems if d.is_error).message.split())
           for a in vault.articles if any(d.is_error for d in a.problems)}
    return list(vault.articles), why


def _templates_folder(vault_root: Path, folders) -> str:
    """The top-level folder of Obsidian templates: the one its Templates plugin reads
    (.obsidian/templates.json), else one named 'Templates' as is the custom; or ''."""
    try:
        settings = json.loads((vault_root / ".obsidian" / "templates.json").read_text(encoding="utf-8"))
        folder = settings.get("folder") if isinstance(settings, dict) else None
        if isinstance(folder, str) and folder.strip("/"):
            return folder.strip("/")
    except (OSError, ValueError):
        pass
    return next((f for f in folders if f.casefold() == "templates"), "")


def manifest_for_vault(vault_root: Path, dest: Path) -> tuple[Path, int, int]:
    """Write dest/book.yml for the vault: one chapter per top-level folder (notes at the top first), each
    sorted by title. Returns (manifest, chapters, notes left out)."""
    vault_root, dest = Path(vault_root), Path(dest)
    if not vault_root.is_dir():
        raise _usage("no such knowledge-base folder", vault_root)
    _fresh_folder(dest, manifest_only=True)
    articles, why = _unreadable(vault_root)
    folders: dict[str, list[str]] = {}  # "" for the notes at the top
    for a in articles:
        top = a.path.split("/", 1)[0] if "/" in a.path else ""
        folders.setdefault(top, []).append(a.path)
    templates = _templates_folder(vault_root, folders)
    vault_root = vault_root.resolve()
    lines = [
        f"# A book of the whole vault {display_path(vault_root)}, written by `publisher new --from`.",
        "# One chapter per top-level folder, its notes sorted by title. Edit freely: docs/manifest.md has every key.",
        f"title: {_quoted(_humane(vault_root.name))}",
        "language: en",
        f"source: {_quoted(os.path.relpath(vault_root, dest.resolve()))}",
        "formats: [pdf, epub, docx]",
        f"output: {{dir: build, name: {_quoted(vault_root.name.lower().replace(' ', '-') or 'book')}}}",
        "chapters:",
    ]
    chapters = left_out = 0
    for top in sorted(folders, key=lambda t: (t != "", t.casefold())):
        if templates and top == templates:
            lines += [f"  # {top}/ holds Obsidian templates, not notes: left out. To include it:",
                      f"  # - {{title: {_quoted(_humane(top))}, articles: [{{glob: {_quoted(glob.escape(top) + '/**/*.md')}, sort: title}}]}}"]
            left_out += len(folders[top])
            continue
        skipped = sorted(p for p in folders[top] if p in why)
        reasons = [f"{_quoted(glob.escape(p) if any(ch in p for ch in '*?[') else p)}  # {why[p]}" for p in skipped]
        if len(skipped) == len(folders[top]):
            lines.append(f"  # {top or 'the notes at the top'}: no chapter, every note is left out:")
            lines += [f"  #   {r}" for r in reasons]
        else:
            title = _humane(top) if top else _humane(vault_root.name)
            pattern = f"{glob.escape(top)}/**/*.md" if top else "*.md"
            lines += [f"  - title: {_quoted(title)}", "    articles:", f"      - glob: {_quoted(pattern)}",
                      "        sort: title"]
            if reasons:
                lines += ["        exclude:  # notes a book cannot read, each with the reason"]
                lines += [f"          - {r}" for r in reasons]
            chapters += 1
        left_out += len(skipped)
    if not chapters:
        raise _usage("no note in this folder can be read as an article; nothing was written", vault_root)
    from .backends import write_atomic

    manifest = dest / MANIFEST
    write_atomic(manifest, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8"))
    return manifest, chapters, left_out


def run_new(dest: str, source: str | None) -> int:
    """The `publisher new` command: write, then print the one command that builds the result."""
    target = Path(dest)
    if source is None:
        manifest = new_book(target)
        notes = sum(1 for _ in (target / "kb").rglob("*.md"))
        print(f"created {display_path(manifest)} and a knowledge base of {notes} notes in {display_path(target / 'kb')}")
    else:
        manifest, chapters, left_out = manifest_for_vault(Path(source), target)
        note = f"; {left_out} note(s) left out, each named in it" if left_out else ""
        print(f"wrote {display_path(manifest)}: {chapters} chapter(s) from {display_path(source)}{note}")
    print(f"build it with: publisher build {display_path(manifest)}")
    return 0
