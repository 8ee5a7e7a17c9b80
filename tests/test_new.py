"""`publisher new`: a starter vault that builds in every format with no warning, and a manifest written for
an existing vault (both shared corpora, and a small vault with the cases a real one has) that builds as it stands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import build_manifest, docx_paragraph_text, docx_xml, epub_documents, epubcheck, pdf_text
from test_links import CORPORA

from publisher.cli import main

EPOCH = "1735689600"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "publisher", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_new_writes_a_vault_that_builds_everywhere_without_a_warning(tmp_path):
    done = run("new", "first", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[-1] == "build it with: publisher build first/book.yml"
    manifest = tmp_path / "first" / "book.yml"
    assert sorted(p.name for p in (tmp_path / "first" / "kb").rglob("*.md")) == ["dhcp.md", "routers.md", "what-is-a-network.md"]
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    built = build_manifest(manifest, tmp_path / "out")
    assert [d.format() for d in built.reporter.diagnostics] == []
    assert sorted(built.files) == ["docx", "epub", "pdf"]
    assert epubcheck(built.files["epub"]) == []
    # what the starter shows off reaches every format: an embedded section, a callout, a diagram, the glossary
    text = pdf_text(built.files["pdf"])
    for seen in ("A routing table lists networks", "One box, three jobs", "│  LAPTOP  │─────▶│  ROUTER  │", "Glossary"):
        assert seen in text
    epub = "".join(doc.xpath("string()") for doc in epub_documents(built.files["epub"]).values())
    assert "A routing table lists networks" in epub and "Gateway" in epub
    body = docx_xml(built.files["docx"])
    assert "Draw your own network first" in [docx_paragraph_text(p) for p in body.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p")]


def test_new_refuses_a_folder_in_use(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.md").write_text("mine\n", encoding="utf-8")
    assert main(["new", str(tmp_path / "mine")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("error: the folder is not empty; nothing was written (name a new or empty folder) "
                                                "[usage.arguments]")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.md"]


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_from_a_vault_one_chapter_per_folder(tmp_path, capsys):
    vault = tmp_path / "My Vault"
    _write(vault, {
        "Start.md": "# Start\n\nWelcome. See [[Beta]].\n",
        "Zeta/Beta.md": "---\ntitle: Beta\n---\nBeta text, see [[Start]].\n",
        "Zeta/deep/Alpha.md": "---\ntitle: Alpha\n---\nAlpha text.\n",
        "Zeta/Broken.md": "---\ntags: [a, b\n---\nThe tags never close.\n",
        "[Draft] notes/Gamma.md": "Gamma text.\n",
        "Templates/Daily.md": "---\ndate: {{date}}\n---\n# {{title}}\n",
        "Attachments/x.txt": "not a note\n",
    })
    assert main(["new", str(tmp_path / "book"), "--from", str(vault)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("3 chapter(s) from " + str(vault) + "; 2 note(s) left out, each named in it")  # Broken.md, Templates/Daily.md
    manifest = tmp_path / "book" / "book.yml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    assert data["source"] == "../My Vault" and data["title"] == "My Vault"
    chapters = [(c["title"], c["articles"][0]["glob"]) for c in data["chapters"]]
    assert chapters == [("My Vault", "*.md"), ("[Draft] notes", "[[]Draft] notes/**/*.md"), ("Zeta", "Zeta/**/*.md")]
    assert data["chapters"][2]["articles"][0]["exclude"] == ["Zeta/Broken.md"]
    assert "# Templates/ holds Obsidian templates, not notes: left out." in manifest.read_text(encoding="utf-8")
    # a second run does not overwrite the manifest
    assert main(["new", str(tmp_path / "book"), "--from", str(vault)]) == 2
    assert "book.yml exists already" in capsys.readouterr().err
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    built = build_manifest(manifest, tmp_path / "out")
    assert [d.format() for d in built.reporter.errors] == []
    text = pdf_text(built.files["pdf"])
    assert text.index("Welcome.") < text.index("Gamma text.") < text.index("Alpha text.") < text.index("Beta text")
    assert "The tags never close" not in text and "{{title}}" not in text


@pytest.mark.parametrize("name", sorted(p.name for p in CORPORA.iterdir() if p.is_dir()) if CORPORA.is_dir() else ["(none)"])
def test_from_builds_each_shared_corpus(name, tmp_path):
    if not (CORPORA / name).is_dir():
        pytest.skip(f"no corpora at {CORPORA} (the shared folder of real vaults is absent)")
    assert main(["new", str(tmp_path / "book"), "--from", str(CORPORA / name)]) == 0
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    # EPUB and DOCX: the PDF of every note of both corpora is built and checked by test_links' corpus tests
    built = build_manifest(tmp_path / "book" / "book.yml", tmp_path / "out", ["epub", "docx"])
    assert [d.format() for d in built.reporter.errors] == []
    assert sorted(built.files) == ["docx", "epub"]
    assert epubcheck(built.files["epub"]) == []
