"""A long book's DOCX is written by pandoc in parts and merged (publisher/backends/docxmerge.py): the same
document as the book written whole. Here a small book is written whole and, with a low part size, in parts."""

from __future__ import annotations

import base64
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import (
    W,
    build_manifest,
    docx_broken_links,
    docx_headings,
    docx_link_targets,
    docx_paragraph_text,
    docx_xml,
)

from publisher.backends import docx

R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Two one-pixel PNGs, red and green
RED = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
GREEN = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNg+M8AAAICAQB7CYF4AAAAAElFTkSuQmCC")
NAMES = ("alpha", "beta", "gamma", "delta")


def _article(i: int, name: str) -> str:
    after = NAMES[(i + 1) % len(NAMES)]
    image = "red.png" if i % 2 == 0 else "green.png"
    return f"""---
title: {name.title()}
tags: [t{i}]
---
Opening of {name}, which links to [[{after}#Details]] and to [[{NAMES[0]}]].[^n{i}]

## Steps

1. first step of {name}
2. second step of {name}
3. third step of {name}

- a bullet of {name}
- another bullet of {name}

![A picture in {name}]({image})

## Details

Details of {name}.[^d{i}] A link [out](https://example.com/{name}).

```python
def {name}():
    return {i}
```

[^n{i}]: A note of {name}, citing [a page](https://example.org/{name}).
[^d{i}]: Another note of {name}, with a list.

    1. a listed note of {name}
    2. another listed note of {name}
"""


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The same book written whole, in parts, and in parts again (a fresh build)."""
    root = tmp_path_factory.mktemp("docxparts")
    vault = root / "vault"
    vault.mkdir()
    (vault / "red.png").write_bytes(RED)
    (vault / "green.png").write_bytes(GREEN)
    for i, name in enumerate(NAMES):
        (vault / f"{name}.md").write_text(_article(i, name), encoding="utf-8")
    manifest = root / "book.yml"
    manifest.write_text(
        "title: Parts Book\nauthors: [Ada Lovelace]\nlanguage: en\ndate: 2025-01-24\nsource: vault\nformats: [docx]\n"
        "parts:\n  - title: First\n    chapters: [alpha, beta]\n  - title: Second\n    chapters: [gamma, delta]\n",
        encoding="utf-8")
    whole = build_manifest(manifest, root / "whole").files["docx"]
    saved = docx.PART_CHARS
    try:
        docx.PART_CHARS = 1  # a part at every chapter and article
        parts = build_manifest(manifest, root / "parts").files["docx"]
        again = build_manifest(manifest, root / "again").files["docx"]
    finally:
        docx.PART_CHARS = saved
    return whole, parts, again


def _paragraphs(path: Path) -> list[str]:
    return [docx_paragraph_text(p) for p in docx_xml(path).iter(f"{W}p")]


def _footnotes(path: Path) -> list[str]:
    """The text of each footnote in the order the body cites them (every citation finds its note)."""
    notes = {n.get(f"{W}id"): docx_paragraph_text(n) for n in docx_xml(path, "word/footnotes.xml").iter(f"{W}footnote")}
    return [notes[ref.get(f"{W}id")] for ref in docx_xml(path).iter(f"{W}footnoteReference")]


def _list_numbers(path: Path) -> list[tuple[str, str, int]]:
    """(text, number format, number) of every list paragraph, counted as Word counts: on along a list
    definition, from its start again where a list (w:num) restarts it."""
    numbering = docx_xml(path, "word/numbering.xml")
    abstract = {a.get(f"{W}abstractNumId"): a for a in numbering.iter(f"{W}abstractNum")}
    nums = {n.get(f"{W}numId"): n for n in numbering.iter(f"{W}num")}
    counters: dict[tuple[str, str], int] = {}
    started: set[str] = set()
    out = []
    for p in docx_xml(path).iter(f"{W}p"):
        num_id = p.find(f"{W}pPr/{W}numPr/{W}numId")
        if num_id is None:
            continue
        num = nums[num_id.get(f"{W}val")]
        definition = abstract[num.find(f"{W}abstractNumId").get(f"{W}val")]
        level = p.find(f"{W}pPr/{W}numPr/{W}ilvl").get(f"{W}val")
        key = (definition.get(f"{W}abstractNumId"), level)
        override = num.find(f"{W}lvlOverride[@{W}ilvl='{level}']/{W}startOverride")
        if override is not None and num.get(f"{W}numId") not in started:
            counters[key] = int(override.get(f"{W}val")) - 1
        started.add(num.get(f"{W}numId"))
        counters[key] = counters.get(key, 0) + 1
        fmt = definition.find(f"{W}lvl[@{W}ilvl='{level}']/{W}numFmt").get(f"{W}val")
        out.append((docx_paragraph_text(p), fmt, counters[key]))
    return out


def _images(path: Path) -> list[bytes]:
    """The bytes of every image the body shows, in order, each through its relationship."""
    with zipfile.ZipFile(path) as z:
        rels = {r.get("Id"): r.get("Target") for r in docx_xml(path, "word/_rels/document.xml.rels").iter(f"{REL}Relationship")}
        blips = docx_xml(path).iter("{http://schemas.openxmlformats.org/drawingml/2006/main}blip")
        return [z.read(f"word/{rels[b.get(f'{R}embed')]}") for b in blips]


def test_a_book_in_parts_is_the_book_written_whole(books):
    whole, parts, _ = books
    with zipfile.ZipFile(parts) as z:
        assert any(n.startswith("word/media/p") for n in z.namelist())  # the images of later parts: in parts
    assert _paragraphs(parts) == _paragraphs(whole)
    assert "Parts Book" in _paragraphs(parts)[:3]  # the title once, at the top
    assert _paragraphs(parts).count("Parts Book") == 1
    assert docx_headings(parts) == docx_headings(whole)
    marks = [b.get(f"{W}name") for b in docx_xml(parts).iter(f"{W}bookmarkStart")]
    assert sorted(marks) == sorted(b.get(f"{W}name") for b in docx_xml(whole).iter(f"{W}bookmarkStart"))
    ids = [b.get(f"{W}id") for b in docx_xml(parts).iter(f"{W}bookmarkStart")]
    assert len(set(ids)) == len(ids)
    assert docx_broken_links(parts) == []
    assert docx_link_targets(parts) == docx_link_targets(whole)  # each lands on the paragraph it lands on whole
    assert any(a.startswith("delta") for _, a, _ in docx_link_targets(parts))  # from the first part to the last
    assert _footnotes(parts) == _footnotes(whole) and len(_footnotes(parts)) == 2 * len(NAMES)
    assert _list_numbers(parts) == _list_numbers(whole)
    nums = {n.get(f"{W}numId") for n in docx_xml(parts, "word/numbering.xml").iter(f"{W}num")}
    in_notes = {n.get(f"{W}val") for n in docx_xml(parts, "word/footnotes.xml").iter(f"{W}numId")}
    assert in_notes and in_notes <= nums
    assert [n for _, fmt, n in _list_numbers(parts) if fmt == "decimal"] == [1, 2, 3] * len(NAMES)
    assert _images(parts) == _images(whole) == [RED, GREEN] * (len(NAMES) // 2)


def test_the_package_of_a_book_in_parts_is_that_of_the_whole(books):
    whole, parts, again = books
    assert parts.read_bytes() == again.read_bytes()  # reproducible
    for name in ("docProps/core.xml", "word/settings.xml", "word/footer1.xml"):
        assert docx_xml(parts, name) is not None
        with zipfile.ZipFile(parts) as a, zipfile.ZipFile(whole) as b:
            assert a.read(name) == b.read(name), name
    section = [docx_xml(p).find(f"{W}body/{W}sectPr") for p in (whole, parts)]
    assert [s is not None for s in section] == [True, True]
    assert section[0].getparent()[-1] is section[0] and section[1].getparent()[-1] is section[1]
    from lxml import etree

    assert etree.tostring(section[0]) == etree.tostring(section[1])
    styles = {p: {s.get(f"{W}styleId"): etree.tostring(s) for s in docx_xml(p, "word/styles.xml").iter(f"{W}style")}
              for p in (whole, parts)}
    assert styles[parts] == styles[whole]
    instructions = [el.text or "" for el in docx_xml(parts).iter(f"{W}instrText")]
    assert sum(i.split()[:1] == ["TOC"] for i in instructions) == 1  # one contents, in the first part


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_reads_the_book_in_parts_as_the_whole(books, tmp_path):
    def text(path: Path) -> str:
        out = tmp_path / path.parent.name
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                        "--convert-to", "txt:Text", "--outdir", str(out), str(path)], capture_output=True, timeout=300)
        return (out / f"{path.stem}.txt").read_text(encoding="utf-8-sig")

    whole, parts, _ = books
    lines = [line.strip() for line in text(parts).splitlines()]
    for name in NAMES:
        assert any(line.startswith(f"Details of {name}.") for line in lines)
        assert [line for line in lines if line.endswith(f"step of {name}")] == [
            f"1. first step of {name}", f"2. second step of {name}", f"3. third step of {name}"]
    assert text(parts) == text(whole)
