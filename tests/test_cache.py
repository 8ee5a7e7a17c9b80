"""The parse cache: a rebuild reuses each unchanged article's tree, and nothing stale ever shows."""

from __future__ import annotations

import shutil

from conftest import DATA, XHTML, build_manifest, epub_documents

from publisher import pandoc


def test_a_cached_tree_equals_a_fresh_parse(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    body = "# T\n\nSee [[alpha]] and `code`.\n\n```\n┌─┐\n└─┘\n```\n"
    where = pandoc.SourceLocation("x.md")
    first = pandoc.parse_markdown(body, line_offset=3, where=where)
    assert len(list((tmp_path / "cache").rglob("*.json.z"))) == 1
    assert pandoc.parse_markdown(body, line_offset=3, where=where) == first
    # where the body starts is part of the key: positions are the file's own lines
    moved = pandoc.parse_markdown(body, line_offset=5, where=where)
    assert moved != first and len(list((tmp_path / "cache").rglob("*.json.z"))) == 2


def test_a_damaged_entry_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    where = pandoc.SourceLocation("x.md")
    first = pandoc.parse_markdown("Some *text*.\n", line_offset=0, where=where)
    for entry in (tmp_path / "cache").rglob("*.json.z"):
        entry.write_bytes(b"not zlib")
    assert pandoc.parse_markdown("Some *text*.\n", line_offset=0, where=where) == first


def test_a_changed_title_updates_every_link_that_shows_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    vault = tmp_path / "book"
    shutil.copytree(DATA / "vault", vault / "vault")
    shutil.copy(DATA / "tiny.yml", vault / "tiny.yml")
    build_manifest(vault / "tiny.yml", tmp_path / "one", ["epub"])
    beta = vault / "vault" / "basics" / "beta.md"
    beta.write_text(beta.read_text(encoding="utf-8").replace('title: "Beta"', 'title: "Beta Renamed"'), encoding="utf-8")
    built = build_manifest(vault / "tiny.yml", tmp_path / "two", ["epub"])
    doc = epub_documents(built.files["epub"])["EPUB/chapter-01.xhtml"]
    texts = ["".join(a.itertext()) for a in doc.iter(f"{XHTML}a") if (a.get("href") or "").startswith("chapter-02.xhtml")]
    assert "Beta Renamed" in texts and "Beta" not in texts
