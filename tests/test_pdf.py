"""The printed book: checked with the tools a reader or a printer would use (pdftotext, pdffonts, pypdf)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pypdf
import pytest
from conftest import build_manifest, pdf_outline, pdf_pages_text, pdftotext, source_diagrams

from publisher import load_book
from publisher.backends.pdf import GEOMETRY, MM, diagram_setting
from publisher.diagnostics import ManifestError
from publisher.diagrams import MONO_ADVANCE_EM, width

BOX = "─│┌┐└┘├┤┬┴┼▶▼"


# ---------------------------------------------------------------- helpers
def diagram(columns: int, rows: int = 4) -> str:
    """A box of exactly `columns` columns with a label on each inner row (gaps of one, two and three spaces)."""
    inner = columns - 2
    lines = ["┌" + "─" * inner + "┐"]
    lines += ["│" + f"row {i}:  a wide  -  diagram   -  end".center(inner) + "│" for i in range(rows)]
    lines.append("└" + "─" * inner + "┘")
    return "\n".join(lines)


def article(title: str, body: str) -> str:
    return f'---\ntitle: "{title}"\ntags: [testing]\n---\n# {title}\n\n{body}\n'


def tiny_pdf(tmp_path: Path, articles: dict[str, str], extra: str = "", name: str = "book") -> tuple[Path, object]:
    """A vault of the given articles (file name -> Markdown) and a PDF built from a manifest naming them."""
    vault = tmp_path / "kb"
    vault.mkdir(exist_ok=True)
    for file, text in articles.items():
        (vault / file).write_text(text, encoding="utf-8")
    chapters = "".join(f"  - {file}\n" for file in articles)
    manifest = tmp_path / f"{name}.yml"
    manifest.write_text(f"title: Test Book\nsubtitle: A test\nauthors: [Tester]\ndate: 2025-01-01\nsource: kb\n"
                        f"formats: [pdf]\n{extra}chapters:\n{chapters}", encoding="utf-8")
    built = build_manifest(manifest, tmp_path / f"out-{name}")
    return built.files["pdf"], built


def mult(m: list[float], n: list[float]) -> list[float]:
    return [m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3], m[2] * n[0] + m[3] * n[2],
            m[2] * n[1] + m[3] * n[3], m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5]]


def mono_runs(page: pypdf.PageObject) -> list[tuple[str, float, float]]:
    """(text, left x, right x) in points of every run set in the monospace font, from its glyph positions."""
    runs = []

    def visit(text, cm, tm, font, size):
        text = text.strip("\n")
        if text.strip() and font and "Mono" in str(font.get("/BaseFont")):
            m = mult(list(tm), list(cm))
            left = m[4]
            runs.append((text, left, left + len(text) * MONO_ADVANCE_EM * size * abs(m[0])))

    page.extract_text(visitor_text=visit)
    return runs


def text_block(page_number: int, page: pypdf.PageObject, page_size: str, sides: int = 2) -> tuple[float, float]:
    """Left and right edges (pt) of the text block on a page (1-based number: odd pages are right-hand)."""
    g = GEOMETRY[page_size]
    width = float(page.mediabox.width)
    if width > float(page.mediabox.height):  # a landscape page: margins are the mean of inner and outer
        middle = (g.inner + g.outer) / 2 * MM
        return middle, width - middle
    inner, outer = (g.inner, g.outer) if sides == 2 else ((g.inner + g.outer) / 2,) * 2
    left, right = (inner, outer) if page_number % 2 else (outer, inner)
    return left * MM, width - right * MM


def layout_lines(path: Path, page: int) -> list[str]:
    """Plain `pdftotext -layout` of one page."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", "-f", str(page), "-l", str(page), str(path), "-"],
                         capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def appears_exactly(lines: list[str], rows: list[str]) -> bool:
    """The diagram's rows are consecutive lines of the page, shifted right by one common indent."""
    rows = [r.rstrip() for r in rows]
    lead = len(rows[0]) - len(rows[0].lstrip())
    for i, line in enumerate(lines):
        shift = len(line) - len(line.lstrip()) - lead
        if shift >= 0 and line.strip() == rows[0].strip():
            window = [x.rstrip() for x in lines[i:i + len(rows)]]
            if window == [(" " * shift + r) if r else "" for r in rows]:
                return True
    return False


def page_of(pages: list[str], rows: list[str]) -> int:
    """1-based number of the page whose text holds every row of a diagram."""
    found = [i + 1 for i, text in enumerate(pages) if all(r.strip() in text for r in rows if r.strip())]
    assert len(found) == 1, (rows[0], found)
    return found[0]


def contents(path: Path) -> list[tuple[str, int]]:
    """(title, page) of every entry of the contents list, read with pdftotext -layout."""
    pages = pdf_pages_text(path)
    first = next(i for i, text in enumerate(pages) if text.lstrip().startswith("Contents")) + 1
    entries = []
    for line in pdftotext(path, first=first, last=first + 1).splitlines():
        m = re.match(r"^\s*(.+?)\s*(?:\.\s*){2,}(\d+)\s*$", line)
        if m:
            entries.append((m.group(1), int(m.group(2))))
    return entries


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- the handbook
def test_every_diagram_line_is_exact_in_pdftotext_layout(sample_books):
    """Plain `pdftotext -layout` gives back every row of every diagram, the 128-column one included: each row
    is drawn inside a span whose ActualText is the row (publisher/backends/weasy.py). From bare glyphs it
    would guess word gaps and columns from character counts, and re-space the wide diagram."""
    built = sample_books["handbook"]
    path = built.files["pdf"]
    pages = pdf_pages_text(path)
    diagrams = source_diagrams(built)
    assert len(diagrams) >= 8 and max(width(d) for d in diagrams) >= 128
    for text in diagrams:
        rows = text.split("\n")
        assert appears_exactly(layout_lines(path, page_of(pages, rows)), rows), text


def test_every_font_is_embedded(sample_books):
    for name in ("handbook", "course-intro"):
        out = subprocess.run(["pdffonts", str(sample_books[name].files["pdf"])], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
        assert out
        assert all(line.split()[-5] == "yes" for line in out), out
        names = " ".join(line.split()[0] for line in out)
        assert "DejaVu-Sans-Mono" in names and "Linux-Libertine-O" in names


def test_contents_page_numbers_are_where_the_titles_are(sample_books):
    path = sample_books["handbook"].files["pdf"]
    book = load_book(sample_books["handbook"].manifest).book
    pages = pdf_pages_text(path)
    entries = contents(path)
    expected = [t for p in book.parts for t in [p.title] + [c.title for c in p.chapters]
                + [a.title for c in p.chapters if not c.single for a in c.articles]]
    assert {t for t, _ in entries} >= set(expected) | {"Glossary", "Tag index"}
    outline = {title: page + 1 for _, title, page in pdf_outline(path)}
    for title, number in entries:
        text = pages[number - 1]
        assert " ".join(title.split()) in " ".join(text.split()), (title, number)
        assert outline[title] == number, title  # the bookmark leads to the same page
        if title in {c.title for c in book.chapters} | {"Glossary", "Tag index", "Index"}:
            # an opener: the title heads the page (no running head above it), the folio is at its foot
            assert " ".join(text.split()).startswith(" ".join(title.split())), (title, text[:80])
            assert lines_of(text)[-1] == str(number)
        if title in {p.title for p in book.parts}:
            assert title in lines_of(text)[:3]


def test_running_heads(sample_books):
    """Left pages: folio and book title; right pages: chapter title and folio; no running head on openers
    (their folio is at the foot) nor on part openers and blank pages. pypdf reads the margin boxes last."""
    path = sample_books["handbook"].files["pdf"]
    book = load_book(sample_books["handbook"].manifest).book
    pages = [lines_of(t) for t in pdf_pages_text(path)]
    outline = pdf_outline(path)
    parts = {page: title for _, title, page in outline if title in {p.title for p in book.parts}}
    back = {page: title for depth, title, page in outline if depth == 0 and title not in parts.values() and title != "Contents"}
    openers = {page: title for _, title, page in outline if title in {c.title for c in book.chapters}} | back
    current, checked = None, 0
    for index, lines in enumerate(pages):
        number = index + 1
        if index in parts:
            current = None
            assert lines[-1] == parts[index]  # no folio, no head
        elif index in openers:
            current = openers[index]
            assert lines[-1] == str(number) and lines[0].startswith(current.split()[0])
        elif current and lines:
            assert lines[-1] == (f"{current} {number}" if number % 2 else f"{number} {book.manifest.title}"), number
            checked += 1
    assert checked > 40 and len(openers) == len(book.chapters) + len(back)


def test_pdf_metadata(sample_books):
    reader = pypdf.PdfReader(sample_books["handbook"].files["pdf"])
    meta = reader.metadata
    assert meta.title == "The AI Handbook"
    assert meta.author == "The Publisher Team"
    assert meta.subject == "A field guide to artificial intelligence"
    assert {"generative-ai", "transformers", "ethics"} <= {k.strip() for k in meta["/Keywords"].split(",")}
    assert meta["/CreationDate"].startswith("D:2025")
    assert reader.trailer["/Root"]["/Lang"] == "en"
    assert reader.trailer["/Root"]["/PageMode"] == "/UseOutlines"


def test_long_table_repeats_its_header(sample_books):
    pages = pdf_pages_text(sample_books["handbook"].files["pdf"])
    header = re.compile(r"Metric\s+Task\s+What It Measures\s+Range\s+Better")
    assert len([p for p in pages if header.search(p)]) >= 2


def test_outside_links_become_footnotes(tmp_path):
    """An edition that leaves an article out: the link to it becomes a footnote at the foot of the page."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "left-out.md").write_text(article("Left Out", "Not in the book."), encoding="utf-8")
    path, built = tiny_pdf(tmp_path, {
        "kept.md": article("Kept", "This links to [[left-out]] in a sentence.\n\nMore text follows."),
        "other.md": article("Other", "Nothing here."),
    }, extra="links: {outside: footnote}\n")
    page = next(lines_of(t) for t in pdf_pages_text(path) if "in a sentence" in t)
    body = next(i for i, line in enumerate(page) if "in a sentence" in line)
    note = next(i for i, line in enumerate(page) if "not in this edition" in line)
    assert note > body and page[note].startswith("1.")


# ---------------------------------------------------------------- diagrams in tiny vaults
@pytest.mark.parametrize("page_size", ["A4", "Letter", "A5"])
def test_wide_diagrams_fit_the_text_block(tmp_path, page_size):
    """A 70- and a 140-column diagram: every row whole on one line, every glyph inside the text block; on A5
    the 140-column one needs a landscape page."""
    narrow, wide = diagram(70), diagram(140)
    path, built = tiny_pdf(tmp_path, {"wide.md": article("Wide", f"Before.\n\n```\n{narrow}\n```\n\nBetween.\n\n```\n{wide}\n```\n\nAfter.")},
                           extra=f"page_size: {page_size}\n")
    assert [d.format() for d in built.reporter.diagnostics] == []
    reader = pypdf.PdfReader(path)
    pages = [p.extract_text() for p in reader.pages]
    landscape = []
    for text in (narrow, wide):
        rows = text.split("\n")
        number = page_of(pages, rows)
        page = reader.pages[number - 1]
        size, on_landscape = diagram_setting(140 if text == wide else 70, page_size)
        assert on_landscape == (float(page.mediabox.width) > float(page.mediabox.height))
        landscape.append(on_landscape)
        assert [r for r in rows if r in lines_of(pages[number - 1])] == rows  # whole, never wrapped
        assert appears_exactly(layout_lines(path, number), rows)
        left, right = text_block(number, page, page_size)
        runs = [r for r in mono_runs(page) if r[0] in rows]
        assert len(runs) == len(rows)
        for run, x0, x1 in runs:
            assert left - 0.5 <= x0 and x1 <= right + 0.5, (run[:20], x0, x1, left, right)
        if not on_landscape:
            assert x1 - x0 > 0.9 * (right - left) or text == narrow  # as large as fits, not tiny
    assert landscape == [False, page_size == "A5"]


def test_diagram_glyph_missing_from_the_font_is_reported(tmp_path, capsys):
    body = "Intro line.\n\n```\n┌──────┐\n│ 漢 ok │\n└──────┘\n```\n"
    path, built = tiny_pdf(tmp_path, {"glyph.md": article("Glyph", body)})
    messages = [d.format() for d in built.reporter.warnings]
    assert len(messages) == 1
    assert messages[0].startswith(f"{tmp_path / 'kb' / 'glyph.md'}:11:3: warning: diagram character '漢' (U+6F22")
    assert "DejaVu Sans Mono" in messages[0]
    # `publisher check` reports what the build reports (the backends' own checks included), writing nothing
    from publisher.cli import main

    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["check", str(tmp_path / "book.yml"), "--strict"]) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "warning:" in line] == messages


# ---------------------------------------------------------------- manifest options
def test_rebuild_is_byte_identical(tmp_path):
    files = {"a.md": article("Alpha", f"Text.\n\n```\n{diagram(40)}\n```\n"), "b.md": article("Beta", "More text.")}
    first, _ = tiny_pdf(tmp_path, files, name="one")
    second, _ = tiny_pdf(tmp_path, files, name="two")
    assert hashlib.sha256(first.read_bytes()).hexdigest() == hashlib.sha256(second.read_bytes()).hexdigest()


def test_tagged_pdf_is_pdf_ua_and_reproducible(tmp_path):
    files = {"a.md": article("Alpha", "Text with a [[b|link]].\n\n| A | B |\n|---|---|\n| 1 | 2 |\n"), "b.md": article("Beta", "More.")}
    first, _ = tiny_pdf(tmp_path, files, extra="pdf: {tagged: true}\n", name="one")
    second, _ = tiny_pdf(tmp_path, files, extra="pdf: {tagged: true}\n", name="two")
    root = pypdf.PdfReader(first).trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert b"pdfuaid" in root["/Metadata"].get_object().get_data()
    assert first.read_bytes() == second.read_bytes()


def test_one_sided_has_no_blank_pages_and_the_same_margins(tmp_path):
    files = {f"{n}.md": article(n.title(), f"Text of {n}.\n\n```\n{diagram(90)}\n```\n") for n in ("one", "two", "three")}
    two, _ = tiny_pdf(tmp_path, files, name="two")
    one, _ = tiny_pdf(tmp_path, files, extra="pdf: {sides: 1}\n", name="one")
    assert "" in [t.strip() for t in pdf_pages_text(two)]  # facing pages: blank versos before openers
    assert all(t.strip() for t in pdf_pages_text(one))
    reader = pypdf.PdfReader(one)
    lefts = {round(mono_runs(p)[0][1]) for p in reader.pages if mono_runs(p)}
    assert len(lefts) == 1  # every page has the same left margin
    openers = [i for _, _, i in pdf_outline(one)]
    assert any(i % 2 for i in openers)  # a chapter may open on a left-hand page


@pytest.mark.parametrize(("value", "message"), [
    ("{sides: 3}", "pdf.sides: must be 1 (one-sided) or 2 (two-sided), not 3"),
    ("{side: 1}", "pdf: unknown key 'side'"),
    ("{tagged: yes please}", "pdf.tagged: must be true or false"),
    ("true", "pdf: must be a mapping like {tagged: true, sides: 2}"),
])
def test_pdf_options_are_checked(tmp_path, value, message):
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.md").write_text(article("Alpha", "Text."), encoding="utf-8")
    manifest = tmp_path / "book.yml"
    manifest.write_text(f"title: T\nsource: kb\npdf: {value}\nchapters: [a.md]\n", encoding="utf-8")
    with pytest.raises(ManifestError) as err:
        load_book(manifest)
    assert message in str(err.value)


def test_images_are_scaled_to_the_text_block(tmp_path):
    from PIL import Image

    (tmp_path / "kb").mkdir()
    Image.new("RGB", (3000, 600), (40, 80, 160)).save(tmp_path / "kb" / "wide.png")
    path, built = tiny_pdf(tmp_path, {"pic.md": article("Picture", "Before.\n\n![A wide picture](wide.png)\n\nAfter.")})
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    rows = [line.split() for line in out[2:]]
    assert [(r[3], r[4]) for r in rows] == [("3000", "600")]
    drawn_inches = 3000 / float(rows[0][12])  # x-ppi: pixels per inch as drawn
    assert drawn_inches * 72 <= GEOMETRY["A4"].text_width_pt() + 0.5
    assert drawn_inches * 72 >= GEOMETRY["A4"].text_width_pt() * 0.95


def test_diagram_too_wide_even_for_landscape_is_reported_not_clipped(tmp_path):
    wide = diagram(260)
    path, built = tiny_pdf(tmp_path, {"huge.md": article("Huge", f"Text.\n\n```\n{wide}\n```\n")}, extra="page_size: A5\n")
    assert [d.format() for d in built.reporter.warnings] == [
        f"{tmp_path / 'kb' / 'huge.md'}:10: warning: diagram of 260 columns is set at 3.15 pt on a landscape page,"
        " below the 5.0 pt that prints legibly (split it, or shorten its widest line) [pdf.diagram-width]"]
    reader = pypdf.PdfReader(path)
    number = page_of([p.extract_text() for p in reader.pages], wide.split("\n"))
    left, right = text_block(number, reader.pages[number - 1], "A5")
    assert all(left - 0.5 <= x0 and x1 <= right + 0.5 for _, x0, x1 in mono_runs(reader.pages[number - 1]))


def test_an_article_named_like_a_generated_section_does_not_cut_the_book(tmp_path):
    """An article Index.md (or Glossary.md, Contents.md) once took the generated index's id: the PDF, which
    finds the index by that id, ended where the article began (de-wiki's Index.md: 13 pages of 166)."""
    from conftest import build_manifest, pdf_text

    kb = tmp_path / "kb"
    kb.mkdir()
    for name, text in (("Alpha", "Alpha text comes first."), ("Index", "The own index note of the vault."),
                       ("Glossary", "A note called Glossary."), ("Zeta", "Zeta text comes last.")):
        (kb / f"{name}.md").write_text(f"---\nindex: [text, note]\n---\n# {name}\n\n{text} A note of text.\n",
                                       encoding="utf-8")
    manifest = tmp_path / "book.yml"  # a chapter each: each starts a page, where the PDF was cut
    manifest.write_text("title: Names\nsource: kb\nformats: [pdf]\nchapters: [Alpha.md, Glossary.md, Index.md, Zeta.md]\n",
                        encoding="utf-8")
    built = build_manifest(manifest, tmp_path / "out")
    text = pdf_text(built.files["pdf"])
    assert text.index("Alpha text comes first.") < text.index("A note called Glossary.") \
        < text.index("The own index note of the vault.") < text.index("Zeta text comes last.")
