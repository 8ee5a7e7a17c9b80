"""The parse cache: a rebuild reuses each unchanged article's tree, and nothing stale ever shows."""

from __future__ import annotations

import shutil

from conftest import DATA, XHTML, build_manifest, epub_documents

from publisher import pandoc, tree


def test_a_cached_tree_equals_a_fresh_parse(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    body = "# T\n\nSee [[alpha]] and `code`.\n\n```\n┌─┐\n└─┘\n```\n"
    where = pandoc.SourceLocation("x.md")
    first = pandoc.parse_markdown(body, line_offset=3, where=where)
    assert len(list((tmp_path / "cache").rglob("*.marshal.z"))) == 1
    assert pandoc.parse_markdown(body, line_offset=3, where=where) == first
    # where the body starts is part of the key: positions are the file's own lines
    moved = pandoc.parse_markdown(body, line_offset=5, where=where)
    assert moved != first and len(list((tmp_path / "cache").rglob("*.marshal.z"))) == 2


def test_a_damaged_entry_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    where = pandoc.SourceLocation("x.md")
    first = pandoc.parse_markdown("Some *text*.\n", line_offset=0, where=where)
    for entry in (tmp_path / "cache").rglob("*.marshal.z"):
        entry.write_bytes(b"not zlib")
    assert pandoc.parse_markdown("Some *text*.\n", line_offset=0, where=where) == first


def test_equal_leaves_are_one_object_fresh_and_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    body = "The cat and the dog.\nThe end, *the* end.\n"
    where = pandoc.SourceLocation("x.md")
    for blocks in (pandoc.parse_markdown(body, line_offset=0, where=where),   # parsed
                   pandoc.parse_markdown(body, line_offset=0, where=where)):  # read back from the cache
        leaves = [n for n in tree.walk(blocks) if n["t"] in ("Str", "Space", "SoftBreak")]
        by_value: dict[str, list[dict]] = {}
        for leaf in leaves:
            by_value.setdefault(repr(leaf), []).append(leaf)
        assert len(by_value[repr({"t": "Space"})]) == 7 and len(by_value[repr({"t": "Str", "c": "the"})]) == 2
        assert all(all(x is group[0] for x in group) for group in by_value.values())


def test_no_step_and_no_backend_changes_a_shared_leaf(tmp_path, monkeypatch):
    """Sharing equal leaves (pandoc.unwrap_sourcepos) is only safe while nothing changes an element in place:
    every leaf of every parsed article is the same after a build of all three formats as when it was read."""
    import copy

    monkeypatch.setenv("PUBLISHER_CACHE", "off")
    seen: list[tuple[dict, dict]] = []
    unwrap = pandoc.unwrap_sourcepos

    def recording(blocks, line_offset):
        unwrapped = unwrap(blocks, line_offset)
        seen.extend((n, copy.deepcopy(n)) for n in tree.walk(unwrapped) if n["t"] in ("Str", "Space", "SoftBreak", "LineBreak"))
        return unwrapped

    monkeypatch.setattr(pandoc, "unwrap_sourcepos", recording)
    built = build_manifest(DATA / "tiny.yml", tmp_path / "out", ["pdf", "epub", "docx"])
    assert set(built.files) == {"pdf", "epub", "docx"} and len(seen) > 200
    assert [leaf for leaf, before in seen if leaf != before] == []


BATCH = [
    "# Intro\n\nSee [the spec][spec] and a note[^1].\n\n[spec]: https://example.org/spec\n[^1]: First note.\n\n```\nunclosed fence\n",
    "# Intro\n\nNo definition here: [the spec][spec], and a note[^1].\n\n[^1]: Second note.\n",
    "## Same heading\n\n## Same heading\n\n[x](#a%20b) [y](##z) [e]() [[w#h|w]] ![[pic.png|alt|20x10]]\r\nline\r\n",
    "```\n\tx\ty\n┌─┐\n```\n\n> [!note] Callout\n> body <span id=\"s\">s</span>\n",
    "",
]


def test_a_batch_gives_each_article_the_tree_it_gets_alone(monkeypatch):
    """pandoc.parse_many reads each article alone: an unclosed fence, a link reference or a footnote of one
    article never reaches the next, and ids, positions, tabs and line ends are what parse_markdown makes."""
    monkeypatch.setenv("PUBLISHER_CACHE", "off")
    where = pandoc.SourceLocation("x.md")
    items = [(body, 3 * n) for n, body in enumerate(BATCH)]
    together = pandoc.parse_many(items)
    alone = [pandoc.parse_markdown(body, line_offset=offset, where=where) for body, offset in items]
    assert together == alone
    # the second article's [the spec][spec] stays text: the definition is in the first
    assert "Link" not in tree.facts(together[1][1]).types


def test_a_batch_leaves_what_it_cannot_take_to_be_parsed_alone(monkeypatch):
    monkeypatch.setenv("PUBLISHER_CACHE", "off")
    deep = "> " * (pandoc.MAX_NESTING + 5) + "deep\n"
    long = "word " * (pandoc.BATCH_MAX_BYTES // 5 + 1)
    got = pandoc.parse_many([("Fine.\n", 0), (deep, 0), (long, 0), ("Also fine.\n", 0)])
    assert got[1] is None and got[2] is None
    assert tree.stringify(got[0]) == "Fine." and tree.stringify(got[3]) == "Also fine."


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


def test_a_warm_rebuild_after_a_title_change_equals_a_cold_build(tmp_path, monkeypatch):
    """The written-HTML cache (pandoc.write_fragments) as well as the parse cache: after a title changes, the
    rebuild shows it wherever it appears (nav, link texts, glossary, tag index, index) and is the very EPUB
    a build with nothing cached makes."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "warm"))
    vault = tmp_path / "book"
    shutil.copytree(DATA / "vault", vault / "vault")
    shutil.copy(DATA / "tiny.yml", vault / "tiny.yml")
    build_manifest(vault / "tiny.yml", tmp_path / "one", ["epub"])
    assert list((tmp_path / "warm" / "written").rglob("*.z"))  # the chapters' HTML is cached
    beta = vault / "vault" / "basics" / "beta.md"
    beta.write_text(beta.read_text(encoding="utf-8").replace('title: "Beta"', 'title: "Beta Renamed"'), encoding="utf-8")
    warm = build_manifest(vault / "tiny.yml", tmp_path / "two", ["epub"]).files["epub"]
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cold"))
    cold = build_manifest(vault / "tiny.yml", tmp_path / "three", ["epub"]).files["epub"]
    assert warm.read_bytes() == cold.read_bytes()

    docs = epub_documents(warm)
    texts = {name: ["".join(a.itertext()).strip() for a in doc.iter(f"{XHTML}a")] for name, doc in docs.items()}
    for name in ("EPUB/nav.xhtml", "EPUB/chapter-01.xhtml", "EPUB/glossary.xhtml", "EPUB/tag-index.xhtml", "EPUB/index.xhtml"):
        assert "Beta Renamed" in texts[name], name
    # the one "Beta" left is gamma's own text, [Beta](../basics/beta.md), not the title
    assert [name for name, found in texts.items() if "Beta" in found] == ["EPUB/chapter-03.xhtml"]


def test_fragments_written_together_equal_each_written_alone(monkeypatch):
    """render.to_html writes many fragments in one pandoc call: each comes back exactly as if written alone,
    with its own notes (numbered from 1) at its own end, even beside a fragment holding the split marker."""
    from publisher import render
    from publisher.backends.xhtml import fragment

    monkeypatch.setenv("PUBLISHER_CACHE", "off")
    note = {"t": "Note", "c": [tree.para(tree.text_inlines("A note."))]}
    fragments = [
        [tree.header(1, "one", tree.text_inlines("One")), tree.para([*tree.text_inlines("Text"), note])],
        [tree.para([*tree.text_inlines("More"), note, {"t": "Str", "c": "."}, note])],
        [tree.para(tree.text_inlines(pandoc.FRAGMENT_MARK))],
        [tree.header(2, "", tree.text_inlines("Plain"))],
    ]
    together = render.to_html(fragments)
    assert together == [render.to_html([f])[0] for f in fragments]
    assert together[2:] == render.to_html(fragments[2:])
    assert 'href="#fn1"' in together[0] and "fn2" not in together[0] and "footnotes" not in together[3]
    pages = [fragment(html) for html in together[:2]]  # the notes in pandoc's form: a list item each
    assert [[li.get("id") for li in page.iterfind(".//section[@role='doc-endnotes']/ol/li")] for page in pages] == [
        ["fn1"], ["fn1", "fn2"]]
