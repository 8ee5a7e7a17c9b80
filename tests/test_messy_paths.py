"""Real vaults are messy (#17, #24): paths as Obsidian writes them, tabs in code, exclusion by tag and field.

tests/data/messy/paths/vault is a small vault in the style of books/kb: an attachments/ folder, notes in nested
folders, a note whose name has a space. paths.yml reaches every image and link in Obsidian's three link formats
(shortest, relative, absolute in vault; %20 and <angle brackets>) and is built in all three formats once."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import DATA, XHTML, W, build_manifest, docx_xml, epub_documents, epubcheck

from publisher import diagrams, tree
from publisher.cli import main
from publisher.diagnostics import Reporter
from publisher.paths import FOUND, MISSING, OUTSIDE, locate
from publisher.vault import load_vault

MESSY = DATA / "messy" / "paths"
VAULT = MESSY / "vault"
RED, GREEN, BLUE, YELLOW = (200, 30, 30), (30, 160, 30), (30, 30, 200), (220, 200, 20)
# every image of paths.yml, in reading order: its alt text and the colour of the file it must show
IMAGES = [
    ("A red diagram", RED),
    ("A green photo", GREEN),
    ("A green photo, percent-encoded", GREEN),
    ("A green photo, in angle brackets", GREEN),
    ("A red diagram, from the root of the vault", RED),
    ("A red diagram, absolute in vault", RED),
    ("The blue one, in raw HTML", BLUE),
    ("The yellow one beside this note", YELLOW),
    ("The blue one in attachments", BLUE),
    ("A red diagram, two folders up", RED),
]


def _colour(data: bytes) -> tuple[int, int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0))


@pytest.fixture(scope="module")
def paths_book(tmp_path_factory):
    return build_manifest(MESSY / "paths.yml", tmp_path_factory.mktemp("messy-paths"))


# ---------------------------------------------------------------- the one rule
@pytest.fixture(scope="module")
def vault():
    return load_vault(VAULT, Reporter())


@pytest.mark.parametrize(("written", "note", "kind", "path"), [
    ("../attachments/diagram.png", "notes/start.md", FOUND, "attachments/diagram.png"),  # relative
    ("attachments/diagram.png", "notes/start.md", FOUND, "attachments/diagram.png"),  # absolute in vault
    ("/attachments/diagram.png", "notes/start.md", FOUND, "attachments/diagram.png"),  # vault-absolute
    ("diagram.png", "notes/deeper/nested.md", FOUND, "attachments/diagram.png"),  # shortest
    ("Attachments/DIAGRAM.png", "notes/start.md", FOUND, "attachments/diagram.png"),  # names compare folded
    ("photo one.png", "topics/other note.md", FOUND, "attachments/photo one.png"),
    ("shared.png", "notes/deeper/nested.md", FOUND, "notes/deeper/shared.png"),  # the one beside the note
    ("shared.png", "topics/draft.md", FOUND, "attachments/shared.png"),  # else the fewest folders deep
    ("shared.png", "notes/start.md", FOUND, "attachments/shared.png"),
    ("./shared.png", "notes/deeper/nested.md", FOUND, "notes/deeper/shared.png"),
    ("deeper/shared.png", "topics/draft.md", FOUND, "notes/deeper/shared.png"),  # the end of a path
    ("../attachments/diagram.pgn", "notes/start.md", MISSING, ""),  # inside the vault, names nothing
    ("/etc/passwd", "notes/start.md", MISSING, ""),  # from the vault's root: inside it
    ("../../attachments/diagram.png", "notes/start.md", OUTSIDE, ""),  # one folder above the root
    ("../attachments/diagram.png", "start.md", OUTSIDE, ""),
    ("/../diagram.png", "notes/start.md", OUTSIDE, ""),
    ("notes/../../x.png", "a.md", OUTSIDE, ""),
])
def test_one_rule_finds_files_as_obsidian_does(vault, written, note, kind, path):
    place = locate(vault, written, note)
    assert (place.kind, place.path) == (kind, path)


def test_a_missing_file_is_missing_with_the_nearest_attachment(vault):
    assert locate(vault, "../attachments/diagram.pgn", "notes/start.md").hint == "did you mean 'diagram.png'?"


def test_a_symlink_out_of_the_vault_is_outside_and_never_read(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.png").write_bytes((VAULT / "attachments" / "diagram.png").read_bytes())
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "a.md").write_text("![Through a link](linked/secret.png)\n", encoding="utf-8")
    (tmp_path / "vault" / "linked").symlink_to(tmp_path / "elsewhere")
    assert locate(load_vault(tmp_path / "vault", Reporter()), "linked/secret.png", "a.md").kind == OUTSIDE


# ---------------------------------------------------------------- every format shows every image, right file
def test_the_book_builds_without_a_word(paths_book):
    assert set(paths_book.files) == {"pdf", "epub", "docx"}
    assert [str(d) for d in paths_book.reporter.diagnostics] == []


def test_epub_shows_each_image_from_its_file(paths_book):
    docs = epub_documents(paths_book.files["epub"])
    with zipfile.ZipFile(paths_book.files["epub"]) as z:
        shown = [(img.get("alt"), _colour(z.read("EPUB/" + img.get("src").removeprefix("../"))))
                 for name in sorted(docs) for img in docs[name].iter(f"{XHTML}img") if "cover" not in img.get("src")]
    assert shown == IMAGES
    assert epubcheck(paths_book.files["epub"]) == []


def test_docx_shows_each_image_from_its_file(paths_book):
    doc = docx_xml(paths_book.files["docx"])
    rels = docx_xml(paths_book.files["docx"], "word/_rels/document.xml.rels")
    target = {r.get("Id"): r.get("Target") for r in rels}
    ns = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main",
          "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
    with zipfile.ZipFile(paths_book.files["docx"]) as z:
        shown = [(d.find(".//wp:docPr", ns).get("descr"),
                  _colour(z.read("word/" + target[d.find(".//a:blip", ns).get(f"{{{ns['r']}}}embed")])))
                 for d in doc.iter(f"{W}drawing")]
    assert shown == [i for i in IMAGES if "raw HTML" not in i[0]]  # DOCX has no raw HTML


def test_pdf_draws_each_image_from_its_file(paths_book, tmp_path):
    subprocess.run(["pdfimages", "-png", str(paths_book.files["pdf"]), str(tmp_path / "img")], check=True)
    drawn = [_colour(p.read_bytes()) for p in sorted(tmp_path.glob("img-*.png"))]  # in the order they are drawn
    assert drawn == [colour for _, colour in IMAGES]


def test_links_in_every_form_land_on_the_other_note(paths_book):
    docs = epub_documents(paths_book.files["epub"])
    hrefs = [(a.text or "".join(a.itertext()), a.get("href")) for name in sorted(docs) for a in docs[name].iter(f"{XHTML}a")
             if "xref" in (a.get("class") or "")]
    texts = ["relative with %20", "relative in angle brackets", "vault-absolute", "absolute in vault", "by its name",
             "the other note"]
    assert [t for t, _ in hrefs if t in texts] == texts
    assert len({h.partition("#")[2] for t, h in hrefs if t in texts}) == 1


# ---------------------------------------------------------------- what cannot be found, said plainly
def test_missing_and_outside_are_told_apart(tmp_path, capsys):
    root = tmp_path / "paths"
    shutil.copytree(MESSY, root)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.png").write_bytes((VAULT / "attachments" / "diagram.png").read_bytes())
    (root / "vault" / "linked").symlink_to(tmp_path / "elsewhere")
    assert main(["check", str(root / "broken.yml")]) == 0
    err = capsys.readouterr().err.replace(str(root) + "/", "")
    assert err.splitlines()[:5] == [
        "vault/topics/broken.md:7:1: warning: image '../../outside.png' removed: it is outside the knowledge base [image.outside]",
        "vault/topics/broken.md:9:1: warning: image '../linked/secret.png' removed: it is outside the knowledge base "
        "[image.outside]",
        "vault/topics/broken.md:11:1: warning: image '../attachments/nothing.png' is missing: no such file in the "
        "knowledge base [image.missing]",
        "vault/topics/broken.md:3:1: warning: image '../attachments/diagram.pgn' is missing: no such file in the "
        "knowledge base (did you mean 'diagram.png'?) [image.missing]",
        "vault/topics/broken.md:5:1: warning: image 'diagrm.png' is missing: no such file in the knowledge base "
        "(did you mean 'diagram.png'?) [image.missing]",
    ]


# ---------------------------------------------------------------- publisher list
def test_list_names_only_the_back_matter_the_manifest_keeps(tmp_path, capsys):
    assert main(["list", str(MESSY / "paths.yml")]) == 0
    assert "back matter" not in capsys.readouterr().out
    manifest = tmp_path / "some.yml"
    manifest.write_text(f"title: Some\nsource: {VAULT}\nglossary: false\nback_matter: [topics/diary.md, glossary, "
                        "tag_index, index]\nchapters: [notes/start.md]\n", encoding="utf-8")
    assert main(["list", str(manifest)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split() == ["back", "matter", "topics/diary.md,", "tag", "index,", "index"]



# ---------------------------------------------------------------- tabs in code, kept
TABLE = "id\tname\tkind\n1\talpha\tx\n22\tbeta\ty"


def test_tabs_are_kept_in_the_tree_and_in_the_epub(paths_book):
    from publisher import load_book

    loaded = load_book(MESSY / "paths.yml", Reporter())
    codes = [n["c"][1] for a in loaded.book.articles for n in tree.walk(list(a.blocks)) if n["t"] == "CodeBlock"]
    assert codes[0] == TABLE and codes[1].startswith("┌──┐\t\t┌──┐")
    docs = epub_documents(paths_book.files["epub"])
    pres = ["".join(p.itertext()) for name in sorted(docs) for p in docs[name].iter(f"{XHTML}pre")]
    assert pres[0] == TABLE
    with zipfile.ZipFile(paths_book.files["epub"]) as z:
        assert "pre, code { tab-size: 4; }" in z.read("EPUB/style/book.css").decode()


def test_tabs_are_word_tabs_at_the_theme_tab_stops_in_the_docx(paths_book):
    paragraphs = [p for p in docx_xml(paths_book.files["docx"]).iter(f"{W}p")
                  if p.find(f"{W}pPr/{W}pStyle") is not None and p.find(f"{W}pPr/{W}pStyle").get(f"{W}val") == "SourceCode"]
    code = paragraphs[0]
    text = "".join("\t" if el.tag == f"{W}tab" else "\n" if el.tag == f"{W}br" else el.text or ""
                   for el in code.iter(f"{W}t", f"{W}tab", f"{W}br") if el.getparent().tag != f"{W}tabs")
    assert text == TABLE
    stops = [int(t.get(f"{W}pos")) for t in code.find(f"{W}pPr/{W}tabs")]
    assert stops[:3] == [433, 867, 1300]  # 4 cells of 9 pt DejaVu Sans Mono (0.602 em), in twips


def test_tabs_stand_at_the_theme_tab_stops_in_the_pdf(paths_book):
    from conftest import pdf_text

    text = pdf_text(paths_book.files["pdf"])
    assert "id  name    kind" in text and "1   alpha   x" in text and "22  beta    y" in text


def test_a_tab_counts_to_the_next_tab_stop_in_a_diagram_width():
    assert diagrams.width("┌──┐\t\t┌──┐") == 16
    assert diagrams.width("┌──┐\t\t┌──┐", 8) == 20
    assert diagrams.width("│in│\t→\t│to│") == 16
    assert diagrams.expand_tabs("ab\tc\n\td", 4) == "ab  c\n    d"


# ---------------------------------------------------------------- exclusion by tag and by field (#24)
def _selected(manifest: Path) -> list[str]:
    from publisher.manifest import load_manifest
    from publisher.select import select

    reporter = Reporter()
    m = load_manifest(manifest, reporter)
    return [a.path for a in select(m, load_vault(m.source, reporter), reporter).articles]


def test_a_query_and_the_filter_leave_out_by_tag_and_by_field():
    # start: by name; private (export and no-export): the filter; diary (private/journal): the tag private
    # with its nested tags; draft: kb_status. nested is tagged export/guides: {tag: export} takes it.
    assert _selected(MESSY / "tags.yml") == ["notes/deeper/nested.md", "topics/other note.md"]


@pytest.mark.parametrize(("query", "expected"), [
    ("{tag: export, exclude: {tag: [private, no-export]}}", ["topics/draft.md"]),
    ("{tag: export, exclude: {kb_status: draft, tag: no-export}}", ["topics/diary.md"]),
    ("{tag: export/guides}", []),
    ("{tag: private}", ["topics/diary.md"]),
    ("{glob: 'topics/*.md', exclude: [diary, '*/d*.md', {tag: export}]}", ["topics/broken.md"]),
])
def test_exclusion_shapes(tmp_path, query, expected):
    """Each query after a first chapter that takes notes/deeper (tagged export/guides) and topics/other note."""
    manifest = tmp_path / "q.yml"
    manifest.write_text(f"title: Q\nsource: {VAULT}\nchapters:\n  - {{tag: export/guides}}\n  - other note\n"
                        f"  - title: C\n    articles: [{query}, notes/start.md]\n", encoding="utf-8")
    assert _selected(manifest) == ["notes/deeper/nested.md", "topics/other note.md", *expected, "notes/start.md"]


def test_bad_exclude_shapes_are_manifest_errors_with_their_key_paths(capsys, monkeypatch):
    monkeypatch.chdir(MESSY)
    assert main(["list", "bad-exclude.yml"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "bad-exclude.yml:3:19: error: filter.exclude: leaves out by tag or front-matter value, not by name (e.g. "
        "{tag: [private], kb_status: draft}; names and globs go in a query's exclude) [manifest.value]",
        "bad-exclude.yml:8:33: error: chapters[0].articles[1].exclude[0]: must be names or globs, or a mapping like "
        "{tag: [private, no-export], kb_status: draft}, not a list [manifest.type]",
        "bad-exclude.yml:9:38: error: chapters[0].articles[2].exclude.tag: names no value [manifest.required]",
        "bad-exclude.yml:10:32: error: chapters[0].articles[3].exclude: an empty mapping excludes nothing: give names "
        "or globs, or a mapping like {tag: [private, no-export], kb_status: draft} [manifest.required]",
    ]
