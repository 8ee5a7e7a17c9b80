"""What Obsidian renders, in every format: highlights, tasks, inline tags, mathematics, code, every script.
tests/data/obsidian/ holds one article per case; the book is built once with the real renderers."""

from __future__ import annotations

import subprocess
import zipfile
from dataclasses import replace

import pytest
from conftest import DATA, XHTML, build_manifest, docx_xml, epub_documents, epubcheck, pdftotext
from lxml import etree

from publisher import load_book, tree
from publisher.scripts import check_glyphs

MATHML = "{http://www.w3.org/1998/Math/MathML}"
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


def test_right_to_left_paragraphs_get_their_direction(built):
    doc = _page(built, "chapter-04.xhtml")
    rtl = ["".join(d.itertext()).strip()[:6] for d in doc.iter(f"{XHTML}div") if d.get("dir") == "rtl"]
    assert rtl == ["مرحبا ", "שלום ל"]
    bidi = docx_xml(built.files["docx"]).iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}bidi")
    assert len(list(bidi)) == 2
