"""Alt text: every image in the book says what it shows. One without alt text in its source (`![](pic.png)`,
`![[pic.png]]`, `![[pic.png|120]]`, a raw `<img>` with no alt attribute, a data: image) is a warning at its
path:line:col, once, whichever format is built and in `publisher check` too; an image with alt text is not.
A number or WxH after the embed's `|` is a size, never alt text."""

from __future__ import annotations

import base64

import pytest
from conftest import XHTML, build_manifest, epub_documents, epubcheck

from publisher.cli import main

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5f2b1a60000000049454e44ae426082")
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode("ascii")

WITHOUT_ALT = f"""---
title: Pictures
---
![](pics/pic.png)

![[pic.png]]

![[pic.png|120]]

![|300](pics/pic.png)

Inline <img src="pics/pic.png"> in a sentence.

![]({DATA_URL})

![[shared]]

![[shared]]
"""
WITH_ALT = f"""---
title: Described
---
![A red square](pics/pic.png)

![[pic.png|A red square]]

![[pic.png|A red square|120x60]]

![A red square|300](pics/pic.png)

Inline <img src="pics/pic.png" alt="A red square"> and a decorative <img src="pics/pic.png" alt="">.

![A red dot]({DATA_URL})
"""
SHARED = "---\ntitle: Shared\n---\nA note embedded twice, outside the book.\n\n![[pic.png]]\n"
EXPECTED = [  # as the steps find them: sanitize's (raw HTML, data: images), then the embeds' (a note's first)
    "vault/a.md:12:8: warning: image 'pics/pic.png' has no alt text "
    "(describe it: <img alt=\"what the image shows\" src=\"pics/pic.png\">) [image.alt]",
    f"vault/a.md:14:1: warning: image '{DATA_URL[:59]}\u2026' has no alt text "
    f"(describe it: ![what the image shows]({DATA_URL[:29]}\u2026)) [image.alt]",
    "vault/shared.md:6:1: warning: image 'pic.png' has no alt text (describe it: ![[pic.png|what the image shows]]) [image.alt]",
    "vault/a.md:4:1: warning: image 'pics/pic.png' has no alt text (describe it: ![what the image shows](pics/pic.png)) [image.alt]",
    "vault/a.md:6:1: warning: image 'pic.png' has no alt text (describe it: ![[pic.png|what the image shows]]) [image.alt]",
    "vault/a.md:8:1: warning: image 'pic.png' has no alt text (describe it: ![[pic.png|what the image shows|120]]) [image.alt]",
    "vault/a.md:10:1: warning: image 'pics/pic.png' has no alt text (describe it: ![what the image shows|300](pics/pic.png)) [image.alt]",
]


def _vault(tmp_path, body: str, monkeypatch) -> None:
    (tmp_path / "vault" / "pics").mkdir(parents=True)
    (tmp_path / "vault" / "pics" / "pic.png").write_bytes(PNG_1PX)
    (tmp_path / "vault" / "a.md").write_text(body, encoding="utf-8")
    (tmp_path / "vault" / "shared.md").write_text(SHARED, encoding="utf-8")
    (tmp_path / "book.yml").write_text("title: Alt\nsource: vault\nglossary: false\nchapters:\n  - a\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def without_alt(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alt")
    with pytest.MonkeyPatch.context() as mp:
        _vault(tmp, WITHOUT_ALT, mp)
        built = build_manifest(tmp / "book.yml", tmp / "out", ["epub", "docx", "pdf"])
        return [d.format() for d in built.reporter.diagnostics], built


def _epub_images(built) -> list[dict[str, str]]:
    doc = epub_documents(built.files["epub"])
    return [dict(img.attrib) for d in doc.values() for img in d.iter(f"{XHTML}img") if "cover" not in img.get("src", "")]


def test_every_image_without_alt_text_is_one_warning(without_alt):
    diagnostics, _ = without_alt
    assert diagnostics == EXPECTED  # the note embedded twice: its image is named once, in the note


def test_check_reports_missing_alt_text_too(tmp_path, monkeypatch, capsys):
    _vault(tmp_path, WITHOUT_ALT, monkeypatch)
    assert main(["check", "book.yml", "--verbose"]) == 0  # every line: 7 of one code would be 5 and a count
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "alt text" in line] == EXPECTED
    assert main(["check", "book.yml", "--strict"]) == 1


def test_images_without_alt_text_still_make_a_valid_epub(without_alt):
    _, built = without_alt
    images = _epub_images(built)
    assert len(images) == 8 and all("alt" in img for img in images)
    # an embed without alt text shows the file's name, as Obsidian does; a size stays a size
    assert [(img.get("alt"), img.get("width")) for img in images[1:3]] == [("pic", None), ("pic", "120")]
    assert epubcheck(built.files["epub"]) == []


def test_images_with_alt_text_yield_no_diagnostic(tmp_path, monkeypatch):
    _vault(tmp_path, WITH_ALT, monkeypatch)
    built = build_manifest(tmp_path / "book.yml", tmp_path / "out", ["epub"])
    assert [d.format() for d in built.reporter.diagnostics] == []
    images = _epub_images(built)
    assert [(img.get("alt"), img.get("width"), img.get("height")) for img in images] == [
        ("A red square", None, None),
        ("A red square", None, None),
        ("A red square", "120", "60"),  # ![[pic.png|A red square|120x60]]: the alt text, then the size
        ("A red square", "300", None),
        ("A red square", None, None),
        ("", None, None),  # a raw alt="" marks the image decorative
        ("A red dot", None, None),
    ]
