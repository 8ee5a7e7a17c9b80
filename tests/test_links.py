"""Cross-links, embeds and the link report: every link lands, or is reported.

A tiny vault (tests/data/links) holds every link form, every kind of embed, callouts and comments; it is
built once into all three formats, and each link is followed to where it lands: the EPUB element its
href names, the DOCX paragraph its hyperlink's bookmark marks, the PDF page of its named destination.
The real vaults in ../shared/corpora are built whole, once each, and checked the same way.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
import zipfile
from pathlib import Path

import pytest
from conftest import (
    DATA,
    XHTML,
    W,
    build_manifest,
    docx_bookmark_paragraphs,
    docx_broken_links,
    docx_link_targets,
    docx_paragraph_text,
    docx_xml,
    epub_broken_links,
    epub_document,
    epub_link_targets,
    fenced_blocks,
    pdf_destination_pages,
    pdf_pages_text,
    squash,
)

from publisher import build, load_book, tree
from publisher.cli import main
from publisher.diagnostics import Reporter
from publisher.links import Target, parse_target, same_heading
from publisher.vault import load_vault

LINKS = DATA / "links"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
EPOCH = "1735689600"

# Every link of forms.md that lands in the book, in order: (text shown, id it lands on).
FORMS = [
    ("Target Note", "target"),  # [[target]]: the title (the book says links: {text: title})
    ("explicit text", "target"),
    ("Target Note \u203a First Section", "target--first-section"),
    ("section text", "target--first-section"),
    ("Target Note \u203a Sub Part", "target--sub-part"),  # [[target#First Section#Sub Part]]
    ("Local Heading", "forms--local-heading"),  # [[#Local Heading]]
    ("Target Note \u203a ^para-id", "target--para-id"),  # [[target#^para-id]]: as Obsidian shows it
    ("item text", "target--item-id"),
    ("alias text", "target"),
    ("title text", "target"),
    ("path text", "target"),
    ("case text", "target"),
    ("unicode text", "cafe-creme"),  # NFD and another case than the file's name
    ("ambiguous text", "dup"),  # the shortest path, and a warning
    ("missing heading text", "target"),  # lands on the article, and a warning
    ("Target Note \u203a Second: With Colon", "target--second-with-colon"),  # [[target#Second With Colon]]
    ("table text", "target--table-id"),  # a lone ^table-id names the table above it
    ("local block text", "forms--local-block"),
    ("Target Note \u203a First Section", "target--first-section"),  # [[target#first-section]]: the heading's text
    ("app path", "target"),
    ("app with md", "target--first-section"),
    ("app vault", "target--sub-part"),  # app://obsidian.md/MyVault/notes/target: the vault's name dropped
    ("obsidian url", "target"),
    ("relative", "target--first-section"),
    ("relative encoded", "target--first-section"),
    ("same page", "forms--local-heading"),
    ("plus form", "forms--local-heading"),
    ("Target Note", "target"),  # related_topics: "See also" ([[target]] and its alias Bullseye: once)
]
# What each id marks: the start of the heading's or the block's text (None: a table).
LANDS_ON = {
    "target": "Target Note",
    "target--first-section": "First Section",
    "target--sub-part": "Sub Part",
    "target--second-with-colon": "Second: With Colon",
    "target--para-id": "The first section\u2019s paragraph, named by a block id.",
    "target--item-id": "the named item",
    "target--table-id": None,
    "forms--local-heading": "Local Heading",
    "forms--local-block": "A paragraph with a block id.",
    "cafe-creme": "Caf\u00e9 Cr\u00e8me",
    "dup": "Dup in a",
}
REPORT = [
    "vault/embeds.md:26:1: warning: embedded view 'data.base' cannot be shown in a book; a placeholder stands in for it [link.embed]",
    "vault/embeds.md:28:1: warning: embedded canvas 'board.canvas' cannot be shown in a book; a placeholder stands in for it [link.embed]",
    "vault/embeds.md:30:1: warning: unresolved embed 'missing-note' [link.embed]",
    "vault/embeds.md:32:1: warning: no heading 'Missing Section' in 'notes/target.md' to embed; a placeholder stands in "
    "for it (did you mean 'First Section'?) [link.heading]",
    "vault/embeds.md:38:8: warning: embedded view 'data.base#View' cannot be shown in a book; a placeholder stands in for it [link.embed]",
    "vault/forms.md:6: warning: unresolved link to 'no-such-topic' in related_topics [link.unresolved]",
    "vault/forms.md:22:3: warning: 'dup' is ambiguous: a/dup.md, b/deeper/dup.md; using 'a/dup.md' (link by path to "
    "choose another) [link.ambiguous]",
    "vault/forms.md:23:3: info: link to 'left-out.md', which is not in this book [link.outside]",
    "vault/forms.md:24:3: warning: unresolved link to 'nowhere' [link.unresolved]",
    "vault/forms.md:25:3: warning: no heading 'No Such Heading' in 'notes/target.md'; the link lands on the article [link.heading]",
    "vault/forms.md:41:3: info: link to 'data.base', which is not in this book [link.outside]",
    "vault/more/cycle-b.md:6:1: warning: embed cycle: cycle-a -> cycle-b -> cycle-a; a link to 'cycle-a' stands in for "
    "the repeated embed [link.embed-cycle]",
    "vault/more/cycle-b.md:6:2: info: link to 'more/cycle-a.md', which is not in this book [link.outside]",  # that link
    "vault/more/deep-3.md:6:1: warning: embed of 'deep-4' is nested more than 3 deep; a placeholder stands in for it [link.embed]",
    "book.yml: links: 41 resolved, 3 outside, 5 broken, 1 ambiguous, 4 placeholder(s)",
]
PLACEHOLDERS = [
    "[Embedded view 'data.base' is not available in print]",
    "[Embedded canvas 'board.canvas' is not available in print]",
    "[Embedded note 'missing-note' was not found]",
    "[Embedded section 'target#Missing Section' was not found]",
    "[Embedded view 'data.base#View' is not available in print]",
    "[Embedded note 'deep-4' is nested too deeply]",
]
HIDDEN = ["hidden inline", "Hidden block", "spanning paragraphs", "still hidden"]


@pytest.fixture(scope="module")
def links_book(tmp_path_factory):
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    return build_manifest(LINKS / "book.yml", tmp_path_factory.mktemp("links"))


def _epub_doc(built, ident: str) -> tuple[str, object]:
    return epub_document(built.files["epub"], ident)


def _epub_text(built, ident: str) -> str:
    return squash("".join(_epub_doc(built, ident)[1].itertext()))


def _docx_text(built) -> str:
    return squash(" ".join(docx_paragraph_lines(built)))


def _pdf_text(built) -> str:
    return squash(" ".join(pdf_pages_text(built.files["pdf"])))


# ---------------------------------------------------------------- where each link lands
def test_every_link_form_lands_in_the_epub(links_book):
    name, _ = _epub_doc(links_book, "forms")
    links = [(text, href, el) for doc, text, href, el in epub_link_targets(links_book.files["epub"])
             if doc == name and "://" not in href and not re.fullmatch(r"#fn(ref)?\d+", href)]
    assert [(text, href.partition("#")[2]) for text, href, _ in links] == FORMS
    for text, href, el in links:
        assert el is not None, (text, href)
        expected = LANDS_ON[href.partition("#")[2]]
        if expected is None:
            assert el.find(f".//{XHTML}table") is not None
        else:
            assert squash("".join(el.itertext())).startswith(expected), (text, href)
    assert epub_broken_links(links_book.files["epub"]) == []


def test_every_link_form_lands_in_the_docx(links_book):
    path = links_book.files["docx"]
    assert docx_broken_links(path) == []
    landed = {(text, anchor): paragraph for text, anchor, paragraph in docx_link_targets(path)}
    for text, ident in FORMS:
        assert (text, ident) in landed, (text, ident)
        if LANDS_ON[ident] is not None:
            assert squash(landed[text, ident]).startswith(LANDS_ON[ident]), (text, ident, landed[text, ident])
    assert docx_bookmark_paragraphs(path)["target--table-id"] is not None


def test_every_link_form_lands_in_the_pdf(links_book):
    links, pages = pdf_destination_pages(links_book.files["pdf"])
    texts = [squash(t) for t in pdf_pages_text(links_book.files["pdf"])]
    assert {dest for _, dest in links} <= set(pages)
    for _, ident in FORMS:
        assert ident in {dest for _, dest in links}, ident
        if LANDS_ON[ident] is not None:
            assert LANDS_ON[ident] in texts[pages[ident]], ident


def test_print_cross_references_carry_the_page_number(links_book):
    _, pages = pdf_destination_pages(links_book.files["pdf"])
    text = _pdf_text(links_book)
    assert f"explicit text (p.\u00a0{pages['target'] + 1})" in text or f"explicit text (p. {pages['target'] + 1})" in text


def test_outside_and_broken_links_keep_their_text(links_book):
    text = _epub_text(links_book, "forms")
    assert "outside text" in text and "Left Out is not in this edition." in text
    names = [t for _, t, _, _ in epub_link_targets(links_book.files["epub"])]
    assert "nowhere" in text and "nowhere" not in names and "a file" in text and "a file" not in names


def test_draft_marks_broken_links():
    book = load_book(LINKS / "book.yml", Reporter(), draft=True).book
    forms = next(a for a in book.articles if a.path == "forms.md")
    marked = [tree.stringify(n) for n in tree.walk(list(forms.blocks))
              if n["t"] == "Span" and "broken-link" in n["c"][0][1]]
    assert marked == ["nowhere"]
    plain = load_book(LINKS / "book.yml", Reporter()).book
    assert not any(n["t"] == "Span" and "broken-link" in n["c"][0][1] for a in plain.articles for n in tree.walk(list(a.blocks)))


@pytest.mark.parametrize(("url", "classes", "target"), [
    ("target#First Section#Sub Part", ["wikilink"], Target("target", "Sub Part")),
    ("#^blk", ["wikilink"], Target(None, None, "blk")),
    ("app://obsidian.md/MyVault/notes/x%20y.md#A%20B", [], Target("MyVault/notes/x y.md", "A B", None, "notes/x y.md")),
    ("obsidian://open?vault=V&file=notes%2Fx", [], Target("notes/x")),
    ("../a/b%20c.md#^id", [], Target("./../a/b c.md", None, "id")),
    ("https://example.org/x.md", [], None),
])
def test_parse_target(url, classes, target):
    assert parse_target(url, classes) == target


def test_headings_match_as_obsidian_writes_them():
    assert same_heading("Second: With Colon", "Second With Colon")
    assert same_heading("Deep Section", "deep-section") and same_heading("Deep Section", "Deep+Section")
    assert not same_heading("Deep Section", "Shallow Section")


# ---------------------------------------------------------------- the report
def test_check_prints_the_link_report(capsys, monkeypatch):
    monkeypatch.chdir(LINKS)
    assert main(["check", "book.yml", "--verbose"]) == 0  # every line, the information about outside links too
    err = capsys.readouterr().err.splitlines()
    start = err.index(REPORT[0])
    assert err[start:start + len(REPORT)] == REPORT
    assert re.fullmatch(r"book\.yml: 0 error\(s\), \d+ warning\(s\), 3 info", err[start + len(REPORT)])  # outside links: 2, and the cycle's link
    assert main(["check", "book.yml", "--strict"]) == 1


# ---------------------------------------------------------------- block ids, embeds, images
def test_block_ids_leave_no_text(links_book):
    # a bare link to a block shows its id (`Target Note › ^para-id`, as Obsidian does): that is the only place
    for text in (_epub_text(links_book, "target"), _docx_text(links_book), _pdf_text(links_book)):
        text = text.replace("Target Note \u203a ^para-id", "")
        assert "^para-id" not in text and "^item-id" not in text and "^table-id" not in text and "^local-block" not in text


def test_embedded_notes_bring_their_content(links_book):
    text = _epub_text(links_book, "embeds")
    whole, _, rest = text.partition("Section First Section")
    assert "Opening words of the target." in whole and "Closing words." in whole
    section, _, rest = rest.partition("Block ")
    assert "Words under the sub part." in section and "Closing words." not in section
    block, _, _ = rest.partition("Images")
    assert block.strip() == "The first section\u2019s paragraph, named by a block id."
    assert "A says hi. B says hi." in text and "Deep level 3 links to Target Note" in text
    for fmt_text in (_docx_text(links_book), _pdf_text(links_book)):
        assert "Opening words of the target." in fmt_text and "Deep level 3 links to Target Note" in fmt_text


def test_ids_stay_unique_with_embedded_content():
    book = load_book(LINKS / "book.yml", Reporter()).book
    ids = [attr[0] for a in book.articles for n in tree.walk(list(a.blocks)) if (attr := tree.attr_of(n)) and attr[0]]
    ids += [a.id for a in book.articles]
    assert len(ids) == len(set(ids))
    embeds = next(a for a in book.articles if a.path == "embeds.md")
    headers = [(n["c"][0], tree.stringify(n["c"][2])) for n in tree.walk(list(embeds.blocks)) if n["t"] == "Header"]
    # the embedded headings sit below the heading of the place they are embedded at
    assert headers[:4] == [(2, "Whole note"), (3, "First Section"), (4, "Sub Part"), (3, "Second: With Colon")]


def test_placeholders_in_every_format(links_book):
    name, doc = _epub_doc(links_book, "embeds")
    spans = ["".join(s.itertext()) for s in doc.iter(f"{XHTML}span") if "embed-placeholder" in (s.get("class") or "")]
    assert spans == PLACEHOLDERS
    docx, pdf = _docx_text(links_book), _pdf_text(links_book)
    for text in PLACEHOLDERS:
        assert text in docx and text in pdf, text


def test_images_in_the_pdf_and_the_docx(links_book):
    import pypdf

    reader = pypdf.PdfReader(links_book.files["pdf"])
    assert len({im.name for page in reader.pages for im in page.images}) == 2  # the PNGs; the SVG is drawn
    with zipfile.ZipFile(links_book.files["docx"]) as z:
        media = sorted(Path(n).suffix for n in z.namelist() if n.startswith("word/media/"))
    assert media == [".png", ".png", ".svg"]
    extents = [e.get("cx") for e in docx_xml(links_book.files["docx"]).iter(
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}extent")]
    assert str(300 * 9525) in extents  # ![[image.png|300]]: 300 px wide


def test_images_in_the_epub(links_book):
    with zipfile.ZipFile(links_book.files["epub"]) as z:
        images = [n for n in z.namelist() if n.startswith("EPUB/images/") and not n.endswith("cover.svg")]
    assert len(images) == 3
    assert "[image:" not in _epub_text(links_book, "embeds").partition("Placeholders")[0]


# ---------------------------------------------------------------- diagrams, callouts, comments
def test_mermaid_stays_byte_exact(links_book):
    source = dict(fenced_blocks((LINKS / "vault" / "callouts.md").read_text(encoding="utf-8")))["mermaid"]
    _, doc = _epub_doc(links_book, "callouts")
    assert ["".join(p.itertext()) for p in doc.iter(f"{XHTML}pre")] == [source]
    book = load_book(LINKS / "book.yml", Reporter()).book
    callouts = next(a for a in book.articles if a.path == "callouts.md")
    assert [n["c"][1] for n in tree.walk(list(callouts.blocks)) if n["t"] == "CodeBlock"] == [source]
    assert source.split("\n")[1] in "\n".join(docx_paragraph_lines(links_book))


def docx_paragraph_lines(built) -> list[str]:
    return [docx_paragraph_text(p) for p in docx_xml(built.files["docx"]).iter(f"{W}p")]


def test_callouts_are_boxes_in_every_format(links_book):
    _, doc = _epub_doc(links_book, "callouts")
    boxes = [(d.get("class"), squash("".join(d.find(f"{XHTML}div").itertext())))
             for d in doc.iter(f"{XHTML}div") if "callout " in (d.get("class") or "") + " "]
    assert boxes == [
        ("callout callout-note", "A plain note"), ("callout callout-question", "Folded question"),
        ("callout callout-tip", "Open tip"), ("callout callout-warnung", "Achtung"),
        ("callout callout-note", "Note"), ("callout callout-question", "Heading title"),
    ]
    styles = [s.get(f"{W}val") for s in docx_xml(links_book.files["docx"]).iter(f"{W}pStyle")]
    assert styles.count("CalloutTitle") == 6 and styles.count("Callout") >= 4
    pdf = _pdf_text(links_book)
    assert "A plain note Body of the note." in pdf and "[!" not in pdf and "###" not in pdf


def test_comments_are_dropped_except_in_code(links_book):
    for text in (_epub_text(links_book, "callouts"), _docx_text(links_book), _pdf_text(links_book)):
        assert "Visible text." in text and "After the comment." in text and "%%code stays%%" in text
        assert not any(hidden in text for hidden in HIDDEN)



def test_text_between_comments_stays_in_a_quote_or_a_list(tmp_path):
    """A comment that ends inside a quote or a list item and another that opens there: what lies between stays
    (the element is not wholly inside a comment), and a numbered list a comment ends in stays a valid list."""
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "a.md").write_text(
        "---\ntitle: A\n---\nStart %% one\n\n1. two %% three\n2. four\n\n%% five\n\n> six %% seven %% eight\n\n"
        "- nine %% ten %% eleven\n\ntwelve %%\n", encoding="utf-8")
    (tmp_path / "book.yml").write_text("title: C\nsource: vault\nformats: [epub]\nchapters: [a.md]\n", encoding="utf-8")
    reporter = Reporter()
    [epub] = build(tmp_path / "book.yml", ["epub"], tmp_path / "out", reporter=reporter)
    _, doc = epub_document(epub, "a")
    assert [squash("".join(e.itertext())) for e in doc.iter(f"{XHTML}p", f"{XHTML}li")] == [
        "Start", "three", "four", "seven", "ten"]
    assert [str(d) for d in reporter.diagnostics] == []


# ---------------------------------------------------------------- real vaults
def _corpus_names() -> list[str]:
    return sorted(p.name for p in CORPORA.iterdir() if p.is_dir()) if CORPORA.is_dir() else ["(none)"]


@pytest.fixture(scope="module", params=_corpus_names())
def corpus(request, tmp_path_factory):
    root = CORPORA / request.param
    if not root.is_dir():
        pytest.skip(f"no corpora at {CORPORA} (the shared folder of real vaults is absent)")
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    folder = tmp_path_factory.mktemp(request.param)
    manifest = folder / "book.yml"
    # the notes whose front matter is not YAML are left out: in a book they are errors (test_messy_robust.py)
    broken = sorted({Path(d.location.path).relative_to(root).as_posix() for d in load_vault(root).problems if d.is_error})
    manifest.write_text(f'title: All of {request.param}\nsource: "{root}"\nformats: [pdf, epub, docx]\n'
                        'chapters:\n  - title: All\n    articles:\n      - {glob: "**/*.md", sort: path, '
                        f'exclude: {json.dumps(broken)}}}\n', encoding="utf-8")
    return root, manifest, build_manifest(manifest, folder / "out")


def test_corpus_builds_in_every_format(corpus):
    root, _, built = corpus
    assert sorted(built.files) == ["docx", "epub", "pdf"]
    assert [d.format() for d in built.reporter.errors] == []
    assert all(path.stat().st_size > 10_000 for path in built.files.values())


def test_corpus_internal_links_resolve(corpus):
    _, _, built = corpus
    assert epub_broken_links(built.files["epub"]) == []
    marks = docx_bookmark_paragraphs(built.files["docx"])
    assert [anchor for _, anchor, _ in docx_link_targets(built.files["docx"]) if anchor not in marks] == []
    links, pages = pdf_destination_pages(built.files["pdf"])
    assert links and {dest for _, dest in links} <= set(pages)


WIKILINK = re.compile(r"!?\[\[([^\]|#]*)(#[^\]|]*)?(?:\\?\|[^\]]*)?\]\]")


def unresolvable_wikilinks(root: Path) -> set[tuple[str, int]]:
    """(file, line) of each [[wikilink]] outside code whose note or file does not exist: an oracle read from the
    files themselves (names: file stems, paths, and the titles and aliases the vault reader found)."""
    from publisher.vault import fold, load_vault

    vault = load_vault(root, Reporter())
    names = {fold(n) for a in vault.articles for n in (a.slug, a.title, *a.aliases, a.path[:-3])}
    files = {fold(p) for p in vault.attachments} | {fold(Path(p).name) for p in vault.attachments}
    out = set()
    for a in vault.articles:
        lines = a.file.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
        fenced = False
        for n, line in enumerate(lines, 1):
            if n < a.body_line:
                continue
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            if fenced:
                continue
            for m in WIKILINK.finditer(re.sub(r"`[^`]*`", "", line)):
                name = fold(unicodedata.normalize("NFC", m.group(1)).strip().rstrip("\\"))  # `[[a\|b]]` in a table
                if name and name not in names and name.removesuffix(".md") not in names and name not in files \
                        and not any(x.endswith("/" + name) for x in names | files):
                    out.add((str(a.file), n))
    return out


def test_corpus_unresolved_links_are_in_the_report(corpus, capsys):
    root, manifest, _ = corpus
    main(["check", str(manifest), "--verbose"])  # every line: each unresolved link
    err = capsys.readouterr().err.splitlines()
    reported = set()
    for line in err:
        m = re.match(r"(.+?):(\d+)(?::\d+)?: warning: ", line)
        if m:
            reported.add((str(Path(m.group(1)).resolve()), int(m.group(2))))
    missing = unresolvable_wikilinks(root) - reported
    assert not missing, sorted(missing)
    summary = [line for line in err if ": links: " in line]
    assert len(summary) == 1 and re.search(r"links: \d+ resolved, \d+ outside, \d+ broken, \d+ ambiguous, \d+ placeholder", summary[0])
    print(summary[0])


def test_corpus_epub_passes_epubcheck(corpus):
    from conftest import epubcheck

    _, _, built = corpus
    assert epubcheck(built.files["epub"]) == []
