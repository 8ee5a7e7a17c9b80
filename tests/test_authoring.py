"""docs/authoring.md stays true: every `markdown` example in it builds (EPUB, DOCX, PDF) with no warning, and
each item of its "Not supported yet" list still behaves as the page says (when one starts to work, this test
fails and the page is updated)."""

from __future__ import annotations

import json
import os
import shutil

import pypandoc
import pytest
from conftest import DATA, ROOT, build_manifest, epub_documents

DOC = ROOT / "docs" / "authoring.md"
STARTER = ROOT / "publisher" / "starter" / "kb"
NOT_YET = "Not supported yet"


def _doc() -> list[dict]:
    return json.loads(pypandoc.convert_text(DOC.read_text(encoding="utf-8"), "json", format="commonmark_x"))["blocks"]


def _text(inlines) -> str:
    """The plain text of pandoc inlines (words, spaces, emphasis, code)."""
    parts = []
    for i in inlines:
        if i["t"] == "Str":
            parts.append(i["c"])
        elif i["t"] in ("Space", "SoftBreak"):
            parts.append(" ")
        elif i["t"] in ("Strong", "Emph"):
            parts.append(_text(i["c"]))
        elif i["t"] == "Code":
            parts.append(i["c"][1])
    return "".join(parts)


def examples() -> list[str]:
    out = []
    for block in _doc():
        if block["t"] == "Header" and _text(block["c"][2]) == NOT_YET:
            break
        if block["t"] == "CodeBlock" and "markdown" in block["c"][0][1]:
            out.append(block["c"][1])
    return out


def not_yet_items() -> list[str]:
    """The bold name opening each bullet of the "Not supported yet" section."""
    blocks = _doc()
    start = next(i for i, b in enumerate(blocks) if b["t"] == "Header" and _text(b["c"][2]) == NOT_YET)
    items = next(b for b in blocks[start:] if b["t"] == "BulletList")["c"]
    return [_text(item[0]["c"][0]["c"]) for item in items]


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    root = tmp_path_factory.mktemp("authoring")
    shutil.copytree(STARTER, root / "kb")
    (root / "kb" / "attachments").mkdir()
    shutil.copy(DATA / "links" / "vault" / "assets" / "image.png", root / "kb" / "attachments" / "router.png")
    return root


def test_every_example_builds_without_a_warning(vault, tmp_path):
    found = examples()
    assert len(found) >= 9
    (vault / "kb" / "examples").mkdir(exist_ok=True)
    for n, text in enumerate(found, 1):
        body = text if text.startswith("---\n") else f"---\ntitle: Example {n}\n---\n{text}"
        (vault / "kb" / "examples" / f"example-{n:02d}.md").write_text(body, encoding="utf-8")
    manifest = vault / "examples.yml"
    manifest.write_text("title: Examples\nsource: kb\nchapters:\n  - what-is-a-network\n  - routers\n  - dhcp\n"
                        "  - title: Examples\n    articles: [{glob: 'examples/*.md', sort: path}]\n", encoding="utf-8")
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1735689600")
    built = build_manifest(manifest, tmp_path)
    assert sorted(built.files) == ["docx", "epub", "pdf"]
    assert [d.format() for d in built.reporter.diagnostics if d.severity.value != "info"] == []


def _probe(vault, tmp_path, name: str, markdown: str, files: dict[str, bytes] | None = None):
    (vault / "kb" / "probe").mkdir(exist_ok=True)
    for rel, data in (files or {}).items():
        (vault / "kb" / rel).write_bytes(data)
    (vault / "kb" / "probe" / f"{name}.md").write_text(f"---\ntitle: Probe {name}\n---\n{markdown}\n", encoding="utf-8")
    manifest = vault / f"probe-{name}.yml"
    manifest.write_text(f"title: Probe\nsource: kb\nformats: [epub]\nchapters:\n  - routers\n  - probe/{name}.md\n",
                        encoding="utf-8")
    built = build_manifest(manifest, tmp_path)
    docs = epub_documents(built.files["epub"])
    body = next(d for n, d in docs.items() if any(el.get("id") == name for el in d.iter()))
    return body, [d for d in built.reporter.diagnostics if d.severity.value != "info"]


XHTML = "{http://www.w3.org/1999/xhtml}"

# name in the doc -> (Markdown, what still shows that it is not supported)
NOT_YET_CHECKS = {
    "Inline footnotes": ("A fact.^[an inline note]", lambda body, diags: "^[an inline note]" in "".join(body.itertext())),
    "Dataview queries": ("```dataview\nLIST FROM #networking\n```",
                         lambda body, diags: any("LIST FROM #networking" in "".join(p.itertext()) for p in body.iter(f"{XHTML}pre"))),
    "Templater commands": ("Today: <% tp.date.now() %>", lambda body, diags: "<% tp.date.now() %>" in "".join(body.itertext())),
    "Mermaid": ("```mermaid\ngraph TD; A-->B;\n```", lambda body, diags: [d.code for d in diags] == ["render.mermaid"]),
    "Audio and video embeds": ("![[talk.mp3]]", lambda body, diags: bool(diags) and any(
        "embed-placeholder" in (s.get("class") or "") for s in body.iter(f"{XHTML}span"))),
    "Collapsible HTML": ("<details><summary>More</summary>Hidden text</details>",
                         lambda body, diags: not list(body.iter(f"{XHTML}details")) and "Hidden text" in "".join(body.itertext())),
}


def test_the_not_supported_list_is_the_one_checked_here():
    assert not_yet_items() == list(NOT_YET_CHECKS)


@pytest.mark.parametrize("name", list(NOT_YET_CHECKS))
def test_not_supported_yet_still_behaves_as_documented(name, vault, tmp_path):
    markdown, still = NOT_YET_CHECKS[name]
    files = {"attachments/talk.mp3": b"ID3\x03\x00\x00\x00\x00\x00\x00"} if "mp3" in markdown else None
    slug = name.lower().replace(" ", "-")
    body, diags = _probe(vault, tmp_path, slug, markdown, files)
    assert still(body, diags), f"'{name}' seems to work now: move it out of docs/authoring.md's '{NOT_YET}' list"


def test_the_link_text_example_shows_what_the_page_says(vault, tmp_path):
    example = next(e for e in examples() if "[[router]]" in e)
    body, diags = _probe(vault, tmp_path, "link-text", example)
    assert diags == []
    assert ["".join(a.itertext()) for a in body.iter(f"{XHTML}a") if "xref" in (a.get("class") or "")] == [
        "router", "Routers > The Box at Home"]  # the two other notes are not in this probe's book: their titles stay
    text = " ".join("".join(body.itertext()).split())
    assert "What Is a Network?" in text and "DHCP" in text and "what-is-a-network" not in text
