"""Vault semantics a reader notices: an opening H1 and the title, formatting inside an alias, block links
and embed cycles.

A small vault (tests/data/semantics) is built once into all three formats, and each behaviour is checked
where a reader meets it: the EPUB's XHTML, the DOCX's document.xml and the PDF's text and links.
"""

from __future__ import annotations

import os

import pytest
from conftest import (
    DATA,
    XHTML,
    W,
    build_manifest,
    docx_headings,
    docx_link_targets,
    docx_paragraph_text,
    docx_xml,
    epub_broken_links,
    epub_document,
    epub_documents,
    epub_link_targets,
    epubcheck,
    pdf_destination_pages,
    pdf_outline,
    pdf_pages_text,
    squash,
)

from publisher.cli import main
from publisher.titles import repeats_title

SEMANTICS = DATA / "semantics"
EPOCH = "1735689600"

REPORT = [
    "vault/reader.md:9:28: warning: raw HTML <script> removed with its content [html.removed]",
    "vault/cycle-b.md:6:1: warning: embed cycle: cycle-a -> cycle-b -> cycle-a; a link to 'cycle-a' stands in for the "
    "repeated embed [link.embed-cycle]",
    "vault/reader.md:9:17: warning: a link inside a link's text is left out: '<a href=\"https://example.com\">' [link.alias]",
    "vault/reader.md:15:18: warning: no block '^first-paragraph' in 'blocks.md'; the link lands on the article "
    "(did you mean '^first-para'?) [link.block]",
    "book.yml: links: 15 resolved, 0 outside, 1 broken, 0 ambiguous, 0 placeholder(s)",
    "book.yml: 0 error(s), 4 warning(s)",
]
# The links of reader.md that land in the book: (text shown, id it lands on). A bare link shows what was typed,
# as Obsidian does (links: {text: auto}; each name here is written as words, not as a file's slug)
READER_LINKS = [
    ("dhcp > DHCP", "dhcp"),  # [[dhcp#DHCP]]: the H1 dropped as the title, so the article itself
    ("opening > A Heading Of Its Own", "opening--a-heading-of-its-own"),  # an H1 that is content
    ("Getting Started > Overview", "getting-started--overview"),  # no title: the file name; the H1 a section
    ("Example bold, italic or struck text", "dhcp"),
    ("see and elsewhere now", "dhcp"),
    ("blocks > ^first-para", "blocks--first-para"),  # [[blocks#^first-para]], as Obsidian shows it
    ("the item", "blocks--list-item"),
    ("^local", "reader--local"),  # [[#^local]]
    ("blocks > ^first-paragraph", "blocks"),  # no such block: the article, and a warning
    ("strong alias", "dhcp"),  # in the embedded note the book leaves out
]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    return build_manifest(SEMANTICS / "book.yml", tmp_path_factory.mktemp("semantics"))


def _epub(book, ident: str):
    return epub_document(book.files["epub"], ident)[1]


def _docx_text(book) -> str:
    return squash(" ".join(docx_paragraph_text(p) for p in docx_xml(book.files["docx"]).iter(f"{W}p")))


def _pdf_text(book) -> str:
    return squash(" ".join(pdf_pages_text(book.files["pdf"])))


# ---------------------------------------------------------------- an opening H1 and the title
@pytest.mark.parametrize(("heading", "title", "same"), [
    ("DHCP", "dhcp", True),
    ("What is DNS?", "what-is-dns", True),  # punctuation, case and a file name's hyphens do not count
    ("Machine Learning vs. Deep Learning", "Machine Learning vs Deep Learning", True),
    ("Caf\u0065\u0301 Cr\u00e8me", "caf\u00e9 cr\u00e8me", True),  # Unicode-normalized
    ("Large Language Models", "Large Language Models (LLMs)", False),  # a word more is another heading
    ("Overview", "Getting Started", False),
])
def test_titles_compare_folded_words_only(heading, title, same):
    assert repeats_title(heading, title) is same


def test_an_opening_h1_is_dropped_only_when_it_repeats_the_title(book):
    headings = {ident: [(h.tag.removeprefix(XHTML), squash("".join(h.itertext())))
                        for h in _epub(book, ident).iter() if h.tag in {f"{XHTML}h{n}" for n in range(1, 7)}]
                for ident in ("dhcp", "opening", "what-is-dns", "getting-started")}
    assert headings == {
        "dhcp": [("h1", "DHCP"), ("h2", "Leases")],
        "opening": [("h1", "Opening Words"), ("h2", "A Heading Of Its Own"), ("h3", "After It")],
        "what-is-dns": [("h1", "What is DNS?")],  # no title: the H1 repeats the file name and is the title
        "getting-started": [("h1", "Getting Started"), ("h2", "Overview")],
    }
    docx = docx_headings(book.files["docx"])
    assert [t for _, t in docx[:7]] == ["DHCP", "Leases", "Opening Words", "A Heading Of Its Own", "After It",
                                        "What is DNS?", "Getting Started"]
    assert docx[3][0] == "Heading2" and docx[7] == ("Heading2", "Overview")
    outline = pdf_outline(book.files["pdf"])  # chapters only
    assert [title for _, title, _ in outline][1:5] == ["DHCP", "Opening Words", "What is DNS?", "Getting Started"]
    pages = [squash(t) for t in pdf_pages_text(book.files["pdf"])]
    starts = {title: pages[page] for _, title, page in outline}
    assert starts["DHCP"].startswith("DHCP It hands out addresses on a network. Leases Every address")
    assert "Opening Words A Heading Of Its Own The opening heading" in starts["Opening Words"]
    assert "What is DNS? DNS turns names into addresses." in starts["What is DNS?"]
    assert "Getting Started Overview Start with the overview." in starts["Getting Started"]


# ---------------------------------------------------------------- where each link lands, and what it shows
def test_links_land_and_show_what_obsidian_shows_in_the_epub(book):
    name, _ = epub_document(book.files["epub"], "reader")
    links = [(squash(text), href.partition("#")[2], el) for d, text, href, el in epub_link_targets(book.files["epub"])
             if d == name]
    assert [(text, ident) for text, ident, _ in links] == READER_LINKS
    assert all(el is not None for _, _, el in links)
    assert epub_broken_links(book.files["epub"]) == []


def test_links_land_and_show_what_obsidian_shows_in_the_docx(book):
    landed = [(squash(text), anchor) for text, anchor, paragraph in docx_link_targets(book.files["docx"])
              if paragraph is not None]
    for pair in READER_LINKS:
        assert pair in landed, pair


def test_links_land_and_show_what_obsidian_shows_in_the_pdf(book):
    links, pages = pdf_destination_pages(book.files["pdf"])
    assert {dest for _, dest in links} <= set(pages)
    assert {ident for _, ident in READER_LINKS} <= {dest for _, dest in links}
    text = _pdf_text(book)
    for shown in ("blocks > ^first-para (p.", "the item (p.", "^local (p.", "dhcp > DHCP (p."):
        assert shown in text, shown


# ---------------------------------------------------------------- embeds through the title heading
def test_an_embed_of_the_title_heading_brings_the_whole_note(book):
    embeds = [squash("".join(d.itertext())) for d in _epub(book, "reader").iter(f"{XHTML}div")
              if "embed-note" in (d.get("class") or "")]
    assert embeds == [
        "It hands out addresses on a network. Leases Every address is lent for a while.",
        "Left out words, with a strong alias. Part The left-out note\u2019s part.",
    ]
    for text in (_docx_text(book), _pdf_text(book)):
        assert "through its title heading: It hands out addresses on a network. Leases Every address" in text
        assert "title heading: Left out words, with a strong alias" in text
    assert not [el for doc in epub_documents(book.files["epub"]).values() for el in doc.iter()
                if "embed-placeholder" in (el.get("class") or "")]


# ---------------------------------------------------------------- formatting inside an alias
def test_an_alias_shows_its_formatting_in_every_format(book):
    doc = _epub(book, "reader")
    a = next(a for a in doc.iter(f"{XHTML}a") if "".join(a.itertext()).startswith("Example"))
    assert [(el.tag.removeprefix(XHTML), el.text) for el in a] == [("strong", "bold"), ("em", "italic"), ("del", "struck")]
    strong = next(a for a in doc.iter(f"{XHTML}a") if "".join(a.itertext()) == "strong alias")
    assert strong[0].tag == f"{XHTML}strong"
    link = next(h for h in docx_xml(book.files["docx"]).iter(f"{W}hyperlink")
                if docx_paragraph_text(h).startswith("Example"))
    runs = [(r.findtext(f"{W}t"), sorted(c.tag.removeprefix(W) for c in r.find(f"{W}rPr") if c.tag != f"{W}rStyle"))
            for r in link.iter(f"{W}r")]
    assert runs == [("Example ", []), ("bold", ["b", "bCs"]), (", ", []), ("italic", ["i", "iCs"]), (" or ", []),
                    ("struck", ["strike"]), (" text", [])]
    for text in (squash("".join(doc.itertext())), _docx_text(book), _pdf_text(book)):
        assert "Example bold, italic or struck text" in text
        assert "**" not in text and "~~" not in text


def test_an_alias_smuggles_no_html_and_no_link(book):
    doc = _epub(book, "reader")
    assert not list(doc.iter(f"{XHTML}script"))
    assert all(a.find(f".//{XHTML}a") is None for a in doc.iter(f"{XHTML}a"))
    hrefs = [href for _, _, href, _ in epub_link_targets(book.files["epub"])]
    assert not any("example.com" in h for h in hrefs)
    assert "alert" not in _docx_text(book) and "alert" not in _pdf_text(book)
    assert not any("example.com" in (h.get(f"{W}anchor") or "") for h in docx_xml(book.files["docx"]).iter(f"{W}hyperlink"))


# ---------------------------------------------------------------- embed cycles
def test_an_embed_cycle_becomes_a_link_to_the_note(book):
    for ident, title in (("cycle-a", "Cycle A"), ("cycle-b", "Cycle B")):
        doc = _epub(book, ident)
        div = next(d for d in doc.iter(f"{XHTML}div") if "embed-note" in (d.get("class") or ""))
        links = [(a.text, a.get("href")) for a in div.iter(f"{XHTML}a")]
        assert links == [(title, f"#{ident}")], links
    landed = docx_link_targets(book.files["docx"])
    assert ("Cycle A", "cycle-a", "Cycle A") in landed and ("Cycle B", "cycle-b", "Cycle B") in landed
    _, pages = pdf_destination_pages(book.files["pdf"])
    text = _pdf_text(book)
    assert f"A says hi. B says hi. Cycle A (p. {pages['cycle-a'] + 1})" in text.replace("\u00a0", " ")
    assert "includes itself" not in text and "includes itself" not in _docx_text(book)


# ---------------------------------------------------------------- the report, and EPUBCheck
def test_check_reports_each_problem_once(capsys, monkeypatch):
    monkeypatch.chdir(SEMANTICS)
    assert main(["check", "book.yml"]) == 0
    assert capsys.readouterr().err.splitlines() == REPORT


def test_the_build_reports_the_same(book):
    codes = sorted(d.code for d in book.reporter.diagnostics)
    assert codes == ["html.removed", "link.alias", "link.block", "link.embed-cycle"]


def test_epub_passes_epubcheck(book):
    assert epubcheck(book.files["epub"]) == []
