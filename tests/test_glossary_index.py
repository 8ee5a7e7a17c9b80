"""The glossary, the tag index and the back-of-book index: what is harvested and merged, in what order,
where the index finds a term (and where never), and the page numbers the PDF's index prints."""

from __future__ import annotations

import re
from pathlib import Path

import pypdf
import pytest
from conftest import (
    DATA,
    XHTML,
    W,
    build_manifest,
    docx_broken_links,
    docx_headings,
    docx_paragraph_text,
    docx_xml,
    epub_broken_links,
    epub_documents,
    pdf_outline,
    pdf_pages_text,
)

from publisher import load_book, render, tree
from publisher.diagnostics import ManifestError, Reporter
from publisher.manifest import load_manifest

GLOSSARY = DATA / "glossary"
VAULT = GLOSSARY / "vault"


@pytest.fixture(scope="module")
def glossary_book(tmp_path_factory):
    return build_manifest(GLOSSARY / "book.yml", tmp_path_factory.mktemp("glossary"))


def _book(path: Path, reporter: Reporter | None = None):
    return load_book(path, reporter or Reporter()).book


def _manifest(tmp_path: Path, glossary: str, back_matter: str = "[glossary, index, tag_index]") -> Path:
    path = tmp_path / "book.yml"
    path.write_text(f"title: Switches\nsource: {VAULT}\nformats: [epub]\nfilter: {{kb_status: [published]}}\n"
                    f"glossary: {glossary}\nback_matter: {back_matter}\nchapters: [notes/intro.md, notes/extra.md]\n",
                    encoding="utf-8")
    return path


def _terms(book) -> list[str]:
    return [e.term for e in book.glossary]


def _flat(text: str) -> str:
    """PDF text as one line: WeasyPrint's hyphenation (U+2010 at a line end) undone, lines joined."""
    return " ".join(text.replace("\u2010\n", "").split())


# ---------------------------------------------------------------- the glossary
def test_glossary_entries_exactly(glossary_book):
    book = _book(GLOSSARY / "book.yml")
    assert [(e.term, e.source, e.expansion, tree.stringify(list(e.definition))) for e in book.glossary] == [
        ("3D Printing", "curated", "", "Building an object layer by layer from a digital model."),
        ("Ångström", "curated", "", "A unit of length equal to one ten-billionth of a metre."),
        ("Gadget", "harvested", "", "A device that makes another device more useful."),
        ("Generative AI", "harvested", "Generative Artificial Intelligence",
         "Generative Artificial Intelligence (Generative AI) involves models that create new content from patterns they have learned."),
        ("Sprocket", "harvested", "", "A toothed wheel that engages the links of a chain."),
        ("Über", "curated", "", "A German preposition, borrowed into English as a prefix meaning super."),
        ("Ubiquity", "harvested", "", "The state of being everywhere at once."),
        ("Umbrella", "harvested", "", "A folding canopy that keeps the rain off."),
        ("Widget", "curated", "", "A small component that does one thing well."),
        ("Zebra Crossing", "curated", "", "A pedestrian crossing marked with broad white stripes."),
    ]
    # the file's Markdown is rendered; the harvested duplicate of Widget is a place, not a second entry
    uber = next(e for e in book.glossary if e.term == "Über")
    assert any(n["t"] == "Emph" for n in uber.definition)
    widget = next(e for e in book.glossary if e.term == "Widget")
    assert (widget.article_id, widget.also) == ("", (("intro", "intro--g2"),))
    assert [e.article_id for e in book.glossary if e.term == "Ångström"] == ["extra"]  # front matter
    letters = [tree.stringify(b["c"][2]) for b in render.glossary_blocks(book, 1) if b["t"] == "Header" and b["c"][0] == 2]
    assert letters == ["#", "A", "G", "S", "U", "W", "Z"]
    assert glossary_book.reporter.diagnostics == []


def test_harvesting_is_judged(glossary_book):
    terms = _terms(_book(GLOSSARY / "book.yml"))
    assert "Short" not in terms  # "tiny." is shorter than min_definition
    assert "Gadget list" not in terms  # no separator: not a definition
    assert not any(t.startswith("Gadgets are useful") for t in terms)  # a takeaway in an ordered list
    assert "Doohickey" not in terms  # its article is not in the book


@pytest.mark.parametrize(("glossary", "expected"), [
    ("{file: glossary.yml, harvest: false}", ["3D Printing", "Ångström", "Über", "Widget", "Zebra Crossing"]),
    ("{patterns: [lead_in]}", ["Ångström", "Generative AI"]),
    ("{patterns: [definition_lists]}", ["Ångström", "Sprocket"]),
    ("{patterns: [bullets], min_definition: 40}", ["Ångström", "Gadget", "Umbrella", "Widget"]),  # Ubiquity: 38
    ("{patterns: [bullets, lead_in], exclude: [gadgets, generative ai]}", ["Ångström", "Ubiquity", "Umbrella", "Widget"]),
    ("false", []),
])
def test_harvesting_switches(tmp_path, glossary, expected):
    assert _terms(_book(_manifest(tmp_path, glossary))) == expected


def test_an_unknown_pattern_is_a_manifest_error(tmp_path):
    with pytest.raises(ManifestError) as info:
        load_manifest(_manifest(tmp_path, "{patterns: [bullets, lead-in]}"))
    assert [d.message for d in info.value.diagnostics] == [
        "glossary.patterns[1]: 'lead-in' is not a glossary pattern (one of bullets, definition_lists, lead_in)"]
    assert info.value.diagnostics[0].hint == "did you mean 'lead_in'?"


def test_lead_in_names_the_term_and_its_expansion():
    book = _book(GLOSSARY / "book.yml")
    entry = next(e for e in book.glossary if e.term == "Generative AI")
    assert (entry.article_id, entry.anchor) == ("intro", "intro--g6")  # after the five bullets
    # the opening `# Introduction` is not the title ("Introduction: Where Gadgets Come From"): a section of its own
    heading, first = book.article("intro").blocks[:2]
    assert heading["t"] == "Header" and tree.stringify(heading["c"][2]) == "Introduction"
    assert first["t"] == "Para" and tree.attr_of(first["c"][0])[0] == "intro--g6"


def test_conflicting_curated_definitions_name_both_places(monkeypatch):
    monkeypatch.chdir(DATA)
    reporter = Reporter()
    _book(GLOSSARY / "conflict.yml", reporter)
    # "3D printing ... model!" in the same file is near-identical to the curated one: not reported
    assert [d.format() for d in reporter.warnings] == [
        "glossary/vault/notes/conflict.md:5: warning: glossary term 'Widget' is defined differently at "
        "glossary/vault/glossary.yml:3:1; that definition is kept [glossary.conflict]"]


# ---------------------------------------------------------------- the tag index
def test_tag_groups_exactly():
    book = _book(GLOSSARY / "book.yml")
    assert [(g.label, g.article_ids) for g in book.tags] == [
        ("Core ideas", ("intro",)),  # tag_labels names the folded tag
        ("tools", ("extra", "intro")),  # Tools and tools are one tag; articles sorted by title
        ("wheels", ("extra", "long")),
    ]


# ---------------------------------------------------------------- the index
def _ix_spans(node, path=()):
    if isinstance(node, list):
        for x in node:
            yield from _ix_spans(x, path)
    elif isinstance(node, dict) and "t" in node:
        if node["t"] == "Span" and "ix" in node["c"][0][1]:
            yield node, path
        if "c" in node:
            yield from _ix_spans(node["c"], (*path, node["t"]))


def test_index_occurrences_and_never_in_code_headings_or_links():
    book = _book(GLOSSARY / "book.yml")
    counts = {e.term: len(e.occurrences) for e in book.index}
    assert counts == {"Gadget": 7, "Generative AI": 2, "Sprocket": 7, "toothed wheel": 2, "Ubiquity": 1,
                      "Umbrella": 1, "Widget": 3}
    spans = [(tree.stringify(s), p) for a in book.articles for s, p in _ix_spans(list(a.blocks))]
    assert len(spans) == sum(counts.values())
    assert not [p for _, p in spans if {"Code", "CodeBlock", "Header", "Link", "Note"} & set(p)]
    assert sorted({t.lower() for t, _ in spans if "gad" in t.lower()}) == ["gadget", "gadgets"]
    ids = [a for e in book.index for _, a in e.occurrences]
    assert len(ids) == len(set(ids)) and all("--ix" in i for i in ids)
    gadget = next(e for e in book.index if e.term == "Gadget")
    assert [a for a, _ in gadget.occurrences] == ["intro"] * 6 + ["extra"]


def test_index_switch(tmp_path):
    assert _book(_manifest(tmp_path, "true", "[glossary, tag_index]")).index == ()
    path = _manifest(tmp_path, "true")
    path.write_text(path.read_text(encoding="utf-8") + "index: false\n", encoding="utf-8")
    book = _book(path)
    assert book.index == () and [i for i, _, _ in render.back_matter(book)] == ["glossary", "tag-index"]


def test_back_matter_in_every_format_in_the_manifest_order(glossary_book):
    assert [t for _, t, _ in pdf_outline(glossary_book.files["pdf"])][-3:] == ["Glossary", "Index", "Tag index"]
    docs = epub_documents(glossary_book.files["epub"])
    index = docs["EPUB/index.xhtml"]
    hrefs = [a.get("href") for a in index.iter(f"{XHTML}a")]
    book = _book(GLOSSARY / "book.yml")
    assert {h.partition("#")[2] for h in hrefs} == {a for e in book.index for _, a in e.occurrences}
    assert epub_broken_links(glossary_book.files["epub"]) == []
    assert "Gadget, Introduction (1, 2, 3, 4, 5, 6); Extra" in " ".join("".join(index.itertext()).split())
    code = [el for d in docs.values() for tag in ("pre", "code", "a", "h1", "h2", "h3") for el in d.iter(f"{XHTML}{tag}")]
    assert not [el for el in code if el.find(f".//{XHTML}span[@class='ix']") is not None]
    headings = [text for style, text in docx_headings(glossary_book.files["docx"]) if style == "Heading1"]
    assert headings[-3:] == ["Glossary", "Index", "Tag index"]
    assert "G" not in [text for _, text in docx_headings(glossary_book.files["docx"])]  # letters are not headings
    assert docx_broken_links(glossary_book.files["docx"]) == []


def test_page_numbers_merge_into_ranges():
    pages = {"a--ix1": 11, "a--ix2": 14, "a--ix3": 14, "b--ix1": 15, "b--ix2": 16, "c--ix1": 30}
    occurrences = [("a", "a--ix1"), ("a", "a--ix2"), ("a", "a--ix3"), ("b", "b--ix1"), ("b", "b--ix2"), ("c", "c--ix1"),
                   ("c", "c--ix9")]  # an anchor on no page is left out
    refs = render.page_refs(occurrences, pages)
    shown = [n["c"] if n["t"] == "Str" else "<" + n["c"][2][0] + ">" for n in refs if n["t"] != "Space"]
    # pages 11, 14-16, 30: each number links to the first occurrence on its page
    assert "".join(shown) == "<#a--ix1>,<#a--ix2>\u2013<#b--ix2>,<#c--ix1>"


def _index_numbers(text: str, term: str) -> list[int]:
    found = re.search(re.escape(term) + r", (\d+(?:\u2013\d+)?(?:, \d+(?:\u2013\d+)?)*)", text)
    assert found, term
    pages = []
    for part in found.group(1).split(", "):
        first, _, last = part.partition("\u2013")
        pages += range(int(first), int(last or first) + 1)
    return pages


def test_pdf_index_page_numbers_are_the_pages_of_the_term(glossary_book):
    path = glossary_book.files["pdf"]
    texts = pdf_pages_text(path)
    outline = {title: page for _, title, page in pdf_outline(path)}
    back = outline["Glossary"]
    index_text = _flat("\n".join(texts[outline["Index"]:outline["Tag index"]]))
    for term in ("Sprocket", "Widget", "Umbrella"):  # words no title or running head holds
        expected = [n for n, t in enumerate(texts[:back], 1) if re.search(rf"\b{term}\b", t, re.IGNORECASE)]
        assert len(expected) >= 1 and _index_numbers(index_text, term) == expected, term
    assert len(_index_numbers(index_text, "Sprocket")) >= 3
    # each number links to the first occurrence on its page; the contents still shows the right pages
    reader = pypdf.PdfReader(path)
    destinations = {name: reader.get_destination_page_number(d) for name, d in reader.named_destinations.items()}
    page = reader.pages[outline["Index"]]
    links = [a.get_object() for a in page.get("/Annots") or [] if a.get_object().get("/Subtype") == "/Link"]
    targets = [str(a["/Dest"] if "/Dest" in a else a["/A"]["/D"]) for a in links]
    assert targets and all("--ix" in t for t in targets)
    numbers = [int(n) for n in re.findall(r"\d+", re.sub(r"^Index", "", index_text))][:-1]  # the last is the folio
    assert sorted({destinations[t] + 1 for t in targets}) == sorted(set(numbers))
    contents = _flat(texts[outline["Contents"]])
    for title in ("Glossary", "Index", "Tag index"):
        assert re.search(rf"{title} [. ]+{outline[title] + 1}\b", contents), title


# ---------------------------------------------------------------- the sample handbook
JUNK = ("History of artificial intelligence", "Types of AI", "Bias enters at every stage", "Key Takeaways")


def test_handbook_glossary_is_large_and_clean(sample_books):
    built = sample_books["handbook"]
    assert not [d for d in built.reporter.diagnostics if "glossary" in d.message]
    book = load_book(built.manifest).book
    assert len(book.glossary) >= 40
    for entry in book.glossary:
        definition = tree.stringify(list(entry.definition))
        assert entry.term not in JUNK and len(entry.term.split()) <= 8, entry.term
        assert not entry.term.endswith((".", ",", ":", ";")), entry.term
        assert len(definition) >= book.manifest.glossary.min_definition and definition[0].isupper(), entry.term
    terms = {e.term for e in book.glossary}
    assert {"Artificial Intelligence", "Generative AI", "Naïve Bayes", "Expert System", "t-SNE"} <= terms
    assert "LLM" not in terms  # the lead-in "A Large Language Model (LLM)" merged into the curated term
    llm = next(e for e in book.glossary if e.term == "Large Language Model")
    assert llm.source == "curated" and llm.also == (("large-language-models", "large-language-models--g11"),)


def _docx_section(path: Path, title: str) -> str:
    paragraphs = list(docx_xml(path).iter(f"{W}p"))
    out, inside = [], False
    for p in paragraphs:
        style = p.find(f"{W}pPr/{W}pStyle")
        heading = style is not None and style.get(f"{W}val") == "Heading1"
        if heading:
            inside = docx_paragraph_text(p) == title
        elif inside:
            out.append(docx_paragraph_text(p))
    return " ".join(" ".join(out).split())


def test_handbook_index_and_tag_index_are_complete_in_every_format(sample_books):
    built = sample_books["handbook"]
    book = load_book(built.manifest).book
    assert len(book.index) >= 100
    titles = {a.id: a.title for a in book.articles}
    epub = epub_documents(built.files["epub"])
    epub_index = " ".join("".join(epub["EPUB/index.xhtml"].itertext()).split())
    epub_tags = " ".join("".join(epub["EPUB/tag-index.xhtml"].itertext()).split())
    hrefs = {a.get("href").partition("#")[2] for a in epub["EPUB/index.xhtml"].iter(f"{XHTML}a")}
    # every entry links its first occurrence; an entry shows at most 12 articles, 12 numbers in each
    assert {e.occurrences[0][1] for e in book.index} <= hrefs <= {a for e in book.index for _, a in e.occurrences}
    docx_index = _docx_section(built.files["docx"], "Index")
    docx_tags = _docx_section(built.files["docx"], "Tag index")
    texts = pdf_pages_text(built.files["pdf"])
    outline = {title: page for _, title, page in pdf_outline(built.files["pdf"])}
    pdf_index = _flat("\n".join(texts[outline["Index"]:]))
    pdf_tags = _flat("\n".join(texts[outline["Tag index"]:outline["Index"]]))
    for entry in book.index:
        assert entry.term in epub_index and entry.term in docx_index, entry.term
        assert _index_numbers(pdf_index, entry.term), entry.term
    for group in book.tags:
        for text in (epub_tags, docx_tags, pdf_tags):
            assert group.label in text and all(titles[i] in text for i in group.article_ids), group.label
