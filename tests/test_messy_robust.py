"""Messy vaults (issue #17): a broken note fails only a book that uses it; broken front matter, a misspelt
manifest key and a malformed language are errors; --strict writes nothing; no invented date or copyright;
every author in the metadata; empty notes left out; no lock file left behind.

tests/data/messy/robust holds the vault and its manifests; what git cannot hold (NUL bytes, Latin-1, a FIFO)
is made in a copy by `messy` below."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import pypdf
import pytest
from conftest import DATA, docx_headings, docx_xml, epub_documents, epubcheck, pdf_outline, pdf_text

from publisher.backends import output_lock
from publisher.cli import main
from publisher.diagnostics import PublisherError

MESSY = DATA / "messy" / "robust"
FORMATS = ("pdf", "epub", "docx")
EARLIER = b"earlier output: a failed build leaves these bytes alone\n"
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"


def make_messy(folder: Path) -> Path:
    """A copy of the vault with the notes git cannot hold: binary, Latin-1, a FIFO named .md."""
    work = folder / "robust"
    shutil.copytree(MESSY, work)
    (work / "kb/bad/binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (work / "kb/bad/latin1.md").write_bytes(b"# Caf\xe9\n\nIn Latin-1.\n")
    os.mkfifo(work / "kb/bad/pipe.md")
    return work


@pytest.fixture
def messy(tmp_path, monkeypatch) -> Path:
    work = make_messy(tmp_path)
    monkeypatch.chdir(work)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return work


def run(capsys, *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.splitlines()


def plant(out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for fmt in FORMATS:
        (out / f"{name}.{fmt}").write_bytes(EARLIER)


def untouched(out: Path, name: str) -> bool:
    return all((out / f"{name}.{fmt}").read_bytes() == EARLIER for fmt in FORMATS) and \
        sorted(p.name for p in out.iterdir()) == sorted(f"{name}.{fmt}" for fmt in FORMATS)


# ---------------------------------------------------------------- one book over the messy vault, built once
@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    """good.yml in all three formats, under --strict, with no SOURCE_DATE_EPOCH and no dates in the notes."""
    work = make_messy(tmp_path_factory.mktemp("good"))
    saved, cwd = os.environ.pop("SOURCE_DATE_EPOCH", None), os.getcwd()
    os.chdir(work)
    try:
        code = main(["build", "good.yml", "--out", "out", "--strict", "--quiet"])
    finally:
        os.chdir(cwd)
        if saved is not None:
            os.environ["SOURCE_DATE_EPOCH"] = saved
    assert code == 0
    return {fmt: work / "out" / f"good.{fmt}" for fmt in FORMATS} | {"out": work / "out"}


def test_notes_the_book_does_not_select_cannot_fail_it(good, capsys):
    assert all(good[fmt].is_file() for fmt in FORMATS)  # built under --strict: not even a warning
    assert "First Steps" in pdf_text(good["pdf"])
    assert [h for _, h in docx_headings(good["docx"])][-2:] == ["First Steps", "Second Thoughts"]


def test_no_lock_file_is_left_after_a_build(good):
    assert sorted(p.name for p in good["out"].iterdir()) == ["good.docx", "good.epub", "good.pdf"]


def test_no_invented_date_or_copyright(good):
    text = pdf_text(good["pdf"])
    assert "1970" not in text and "\u00a9" not in text and not re.search(r"\b(19|20)\d\d\b", text)
    info = pypdf.PdfReader(good["pdf"]).metadata
    assert "/CreationDate" not in info and "/ModDate" not in info
    with zipfile.ZipFile(good["epub"]) as z:
        everything = b"".join(z.read(n) for n in z.namelist())
        opf = z.read("EPUB/content.opf").decode()
    assert b"1970" not in everything and "\u00a9".encode() not in everything
    assert "<dc:date" not in opf
    # EPUB 3 requires dcterms:modified: when the sources last changed (see README), never 1970
    modified = re.search(r'<meta property="dcterms:modified">([^<]+)</meta>', opf).group(1)
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", modified)
    with zipfile.ZipFile(good["docx"]) as z:
        everything = b"".join(z.read(n) for n in z.namelist())
        core = z.read("docProps/core.xml").decode()
    assert b"1970" not in everything and "\u00a9".encode() not in everything
    assert "dcterms:created" not in core and "dcterms:modified" not in core
    assert not [p for p, _ in docx_headings(good["docx"]) if p == "Date"]


def test_every_author_in_valid_metadata(good):
    assert epubcheck(good["epub"]) == []  # two dc:creator with one id each (RSC-005 before)
    with zipfile.ZipFile(good["epub"]) as z:
        from lxml import etree

        opf = etree.fromstring(z.read("EPUB/content.opf"))
    creators = opf.findall(f"{OPF}metadata/{DC}creator")
    assert [c.text for c in creators] == ["Ada Lovelace", "Grace Hopper"]
    assert len({c.get("id") for c in creators}) == 2
    assert pypdf.PdfReader(good["pdf"]).metadata["/Author"] == "Ada Lovelace, Grace Hopper"
    core = docx_xml(good["docx"], "docProps/core.xml")
    assert [c.text for c in core.iter(f"{DC}creator")] == ["Ada Lovelace; Grace Hopper"]
    title_page = pdf_text(good["pdf"])
    assert "Ada Lovelace, Grace Hopper" in title_page


# ---------------------------------------------------------------- problems belong to the book that uses the file
def test_check_reports_only_the_selected_notes_and_check_vault_every_note(messy, capsys):
    code, err = run(capsys, "check", "good.yml")
    assert (code, err[-1]) == (0, "good.yml: 0 error(s), 0 warning(s)")
    code, err = run(capsys, "check", "--vault", "good.yml")
    assert code == 1
    assert [line for line in err if ": error: " in line] == [
        "kb/bad/binary.md:3:1: error: not a text file (it contains NUL bytes) [vault.encoding]",
        "kb/bad/broken-tags.md:3:7: error: invalid front matter: in the list this '[' opens, expected ',' or ']', "
        "but got ':' (line 4, column 8) (quote an item that holds , [ ] { } : # or ?) [vault.front-matter-invalid]",
        "kb/bad/latin1.md:1:6: error: not valid UTF-8 at byte 5 (0xe9) (save the file as UTF-8) [vault.encoding]",
        "kb/bad/pipe.md: error: not a regular file; skipped [vault.unreadable]",
        "kb/bad/unclosed.md:1:1: error: front matter has no closing '---' (end the front matter with a line '---') "
        "[vault.front-matter-unclosed]",
    ]


@pytest.mark.parametrize(("name", "line"), [
    ("binary", "kb/bad/binary.md:3:1: error: not a text file (it contains NUL bytes) [vault.encoding]"),
    ("latin1", "kb/bad/latin1.md:1:6: error: not valid UTF-8 at byte 5 (0xe9) (save the file as UTF-8) [vault.encoding]"),
    ("pipe", "kb/bad/pipe.md: error: not a regular file; skipped [vault.unreadable]"),
])
def test_a_selected_unreadable_note_fails_its_book_and_writes_nothing(messy, capsys, name, line):
    (messy / "one.yml").write_text(f"title: One\nsource: kb\nglossary: false\nchapters: [first-steps, {name}]\n")
    plant(messy / "out", "one")
    code, err = run(capsys, "build", "one.yml", "--out", "out", "--quiet")
    assert (code, err) == (1, [line])
    assert untouched(messy / "out", "one")


def test_broken_front_matter_is_an_error_at_the_yaml_place(messy, capsys):
    """A tag query cannot tell whether a note whose front matter is not YAML belongs to it: an error (it used
    to be a warning, and the note silently left the chapter)."""
    plant(messy / "out", "tagged")
    code, err = run(capsys, "build", "tagged.yml", "--out", "out", "--quiet")
    assert code == 1
    assert err[0].startswith("kb/bad/broken-tags.md:3:7: error: invalid front matter: in the list this '[' opens")
    assert err[1] == ("tagged.yml:8:9: error: chapters[0].articles[0]: cannot tell whether the query {tag: alpha} selects "
                      "'bad/broken-tags.md': its front matter cannot be read (fix its front matter, or exclude it) "
                      "[select.unknown-front-matter]")
    assert err[2].startswith("kb/bad/unclosed.md:1:1: error: front matter has no closing '---'")
    assert untouched(messy / "out", "tagged")
    # named explicitly, the same error
    (messy / "named.yml").write_text("title: Named\nsource: kb\nchapters: [broken-tags]\n")
    code, err = run(capsys, "check", "named.yml")
    assert code == 1 and err[0].startswith("kb/bad/broken-tags.md:3:7: error: invalid front matter")


def test_an_unclosed_bracket_is_reported_at_the_bracket(messy, capsys):
    (messy / "kb/notes/late.md").write_text("---\ntitle: Late\naliases: [one, two\n---\nText.\n")
    (messy / "late.yml").write_text("title: Late\nsource: kb\nchapters: [late]\n")
    code, err = run(capsys, "check", "late.yml")
    assert code == 1
    assert err[0] == ("kb/notes/late.md:3:10: error: invalid front matter: this '[' is not closed: no ']' before the end of "
                      "the YAML [vault.front-matter-invalid]")


def test_a_question_mark_in_a_flow_list_is_yaml_and_a_broken_list_keeps_its_place(messy, capsys):
    """`aliases: [Am I a Data Engineer?, ...]` (de-wiki's FAQ notes) is valid YAML that PyYAML's own scanner
    refuses: the note is read, its aliases link to it; a list that is broken as well is still reported at its place."""
    notes = messy / "kb/notes"
    (notes / "faq.md").write_text("---\ntitle: FAQ\naliases: [Am I a Data Engineer?, What is it? Data, {b?: c}]\n---\nText.\n")
    (notes / "asker.md").write_text("---\ntitle: Asker\n---\nSee [[Am I a Data Engineer?]].\n")
    (notes / "worse.md").write_text("---\ntitle: Worse\naliases: [Why?, one: two: three]\n---\nText.\n")
    (messy / "faq.yml").write_text("title: FAQ\nsource: kb\nglossary: false\nchapters: [faq, asker]\n")
    (messy / "worse.yml").write_text("title: Worse\nsource: kb\nchapters: [worse]\n")
    assert run(capsys, "check", "faq.yml") == (0, [  # read by libyaml: its places are right too
        "kb/notes/faq.md:3:52: warning: front matter 'aliases' item 3 ignored: it is a mapping, not text "
        "(quote it: an unquoted [[link]] is a list in YAML) [vault.front-matter]",
        "faq.yml: links: 1 resolved, 0 outside, 0 broken, 0 ambiguous, 0 placeholder(s)", "faq.yml: 0 error(s), 1 warning(s)"])
    code, err = run(capsys, "check", "worse.yml")
    assert code == 1
    assert err[0] == ("kb/notes/worse.md:3:10: error: invalid front matter: in the list this '[' opens, expected ',' or ']', "
                      "but got '?' (line 3, column 14) (quote an item that holds , [ ] { } : # or ?) [vault.front-matter-invalid]")


# ---------------------------------------------------------------- the manifest
def test_a_misspelt_entry_key_is_an_error_and_a_field_no_note_has_a_warning(messy, capsys):
    code, err = run(capsys, "check", "misspelt.yml")
    assert code == 2
    assert err == [
        "misspelt.yml:11:5: warning: chapters[2]: no article has the front-matter field 'colour' [select.unknown-field]",
        "misspelt.yml:11:5: warning: chapters[2]: the query {glob: notes/*.md; colour: blue} selects no article [select.empty]",
        "misspelt.yml:9:5: error: chapters[1]: unknown key 'artciles' (did you mean 'articles'?) [manifest.unknown-key]",
        "misspelt.yml: 1 error(s), 2 warning(s)",
    ]


@pytest.mark.parametrize(("tag", "hint"), [("en_GB", "did you mean 'en-GB'?"),
                                           ("english", "a BCP 47 tag such as en, en-GB, fr, pt-BR or zh-Hant")])
def test_language_must_be_a_bcp47_tag(messy, capsys, tag, hint):
    (messy / "language.yml").write_text(f"title: Language\nsource: kb\nlanguage: {tag}\nchapters: [first-steps]\n")
    code, err = run(capsys, "check", "language.yml")
    assert (code, err[0]) == (2, f"language.yml:3:11: error: language: '{tag}' is not a BCP 47 language tag ({hint}) [manifest.value]")


def test_an_output_folder_that_is_a_file_is_a_usage_error(messy, capsys):
    (messy / "taken").write_text("a file, not a folder\n")
    code, err = run(capsys, "build", "good.yml", "--out", "taken", "--quiet")
    assert (code, err) == (2, ["taken: error: the output folder is a file, not a folder "
                               "(name a folder with --out or output.dir) [usage.output-not-a-folder]"])
    (messy / "dir.yml").write_text("title: Dir\nsource: kb\noutput: {dir: taken/sub}\nchapters: [first-steps]\n")
    code, err = run(capsys, "build", "dir.yml", "--quiet")
    assert (code, err) == (2, ["taken: error: a folder above the output folder taken/sub is a file, not a folder "
                               "(name a folder with --out or output.dir) [usage.output-not-a-folder]"])
    assert (messy / "taken").read_text() == "a file, not a folder\n"


# ---------------------------------------------------------------- --strict, empty notes, the lock
@pytest.mark.parametrize("manifest", ["empty", "wide"])
def test_strict_writes_nothing_after_a_warning(messy, capsys, manifest):
    """A warning of the book (an empty note) or of a format's own check (wide: the PDF's diagram check)."""
    plant(messy / "out", manifest)
    code, err = run(capsys, "build", f"{manifest}.yml", "--out", "out", "--strict", "--quiet")
    assert code == 1
    assert err[-1] == f"{manifest}.yml: error: {len(err) - 1} warning(s) under --strict; nothing written [build.strict]"
    assert untouched(messy / "out", manifest)  # nor a lock file, nor a temporary one


def test_empty_notes_are_warnings_and_no_chapter(messy, capsys):
    code, err = run(capsys, "build", "empty.yml", "--out", "out", "--quiet")
    assert (code, err) == (0, [
        "kb/empty/empty.md: warning: chapters[0]: 'empty/empty.md' is empty; left out "
        "(write something in it, or leave it out of the manifest) [select.empty-note]",
        "kb/empty/front-only.md: warning: chapters[2]: 'empty/front-only.md' is empty; left out "
        "(write something in it, or leave it out of the manifest) [select.empty-note]",
    ])
    out = messy / "out"
    assert [title for _, title, _ in pdf_outline(out / "empty.pdf")][-3:] == ["First Steps", "Mixed", "Second Thoughts"]
    assert "Only Front Matter" not in pdf_text(out / "empty.pdf")
    nav = [el.text for el in epub_documents(out / "empty.epub")["EPUB/nav.xhtml"].iter("{*}a")]
    assert "empty" not in nav and "Only Front Matter" not in nav and "Second Thoughts" in nav
    assert [h for _, h in docx_headings(out / "empty.docx")][-3:] == ["First Steps", "Mixed", "Second Thoughts"]
    assert epubcheck(out / "empty.epub") == []
    assert sorted(p.name for p in out.iterdir()) == ["empty.docx", "empty.epub", "empty.pdf"]


def test_a_held_lock_stops_a_second_build_and_is_removed_after_the_first(tmp_path):
    with output_lock(tmp_path, "book"):
        assert (tmp_path / ".book.lock").exists()
        with pytest.raises(PublisherError, match="another build is writing 'book'"), output_lock(tmp_path, "book"):
            pass
        held = os.open(tmp_path / ".book.lock", os.O_RDWR)  # a build that opened the file before it is removed
    assert not (tmp_path / ".book.lock").exists()
    try:
        import fcntl

        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # it locks a file no longer named: that lock counts for nothing
        with output_lock(tmp_path, "book"):  # a new build takes a new file
            assert (tmp_path / ".book.lock").exists() and os.fstat(held).st_ino != (tmp_path / ".book.lock").stat().st_ino
    finally:
        os.close(held)
    assert not (tmp_path / ".book.lock").exists()


def test_the_lock_is_removed_after_a_build_that_fails_while_writing(messy, capsys):
    (messy / "out/good.docx").mkdir(parents=True)  # a folder where the DOCX goes
    code, err = run(capsys, "build", "good.yml", "--out", "out", "--format", "docx", "--quiet")
    assert code == 1 and err[0].startswith("out/good.docx: error: cannot write")
    assert [p.name for p in (messy / "out").iterdir()] == ["good.docx"]
