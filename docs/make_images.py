"""Render a few real pages of a built PDF as PNGs for the README: cover, contents, a page with a
diagram, the glossary and the tag index. Run by `make readme-images` after `make book`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pypdf


def pages_to_show(pdf: Path) -> dict[str, int]:
    """name -> 1-based page number, found from the outline and the text, never hard-coded."""
    reader = pypdf.PdfReader(pdf)
    found: dict[str, int] = {"cover": 1}

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            elif item.title in ("Contents", "Glossary", "Tag index"):
                found.setdefault(item.title.lower().replace(" ", "-"), reader.get_destination_page_number(item) + 1)

    walk(reader.outline)
    widest, page_no = 0, None
    for i, page in enumerate(reader.pages):
        text = page.extract_text() or ""
        box = [line for line in text.splitlines() if "\u2500" in line]
        if box and max(len(line) for line in box) > widest:
            widest, page_no = max(len(line) for line in box), i + 1
    if page_no:
        found["diagram"] = page_no
    return found


def main(pdf: str, out: str) -> None:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, page in pages_to_show(Path(pdf)).items():
        prefix = out_dir / name
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), "-singlefile", pdf, str(prefix)], check=True)
        print(f"{prefix}.png  (page {page})")


if __name__ == "__main__":
    main(*sys.argv[1:3])
