"""Books of a whole vault (issue #16): EPUB content documents of bounded size, an index that stays an index
and a glossary of terms, not sentences.

The "done when" test of #16: both shared corpora and a generated vault of N=1000 articles (bench/generate.py)
are built whole, every note in one chapter, glossary and index on, each once (one normalize, one EPUB, one
EPUBCheck run), and every content document is at most 256 KB, EPUBCheck passes, no harvested glossary term is
a sentence, and the index entries are bounded. At N=1000 the chapter, the glossary and both indexes are cut
into several documents each. The tests of one whole-vault book run on one worker, which builds it once (conftest groups them by
vault), so the three books are built side by side."""

from __future__ import annotations

import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import pytest
from conftest import XHTML, epub_broken_links, epub_documents, epubcheck
from lxml import etree

from publisher import load_book, render, tree
from publisher.backends import write_book
from publisher.backends.epub import Page
from publisher.backends.epubsplit import split_pages
from publisher.diagnostics import ManifestError, Reporter
from publisher.glossary import is_term_name
from publisher.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
EPOCH = "1735689600"
OPS = "{http://www.idpf.org/2007/ops}"
NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
OPF = "{http://www.idpf.org/2007/opf}"
GENERATED_N = 1000
BOUND = 256 * 1024
# What a harvested term never is (asserted here independently of publisher.glossary's own lists)
VERB_OPENERS = {"allows", "does", "uses", "requires", "implies", "often", "is", "are", "has", "provides", "enables"}
FINITE = {"is", "are", "was", "were", "does", "can", "will"}


def _whole_vault(folder: Path, source: Path, extra: str = "") -> Path:
    manifest = folder / "book.yml"
    manifest.write_text(f'title: All of {source.name}\nsource: "{source}"\nformats: [epub]\n{extra}'
                        'chapters:\n  - title: All\n    articles:\n      - {glob: "**/*.md", sort: path}\n', encoding="utf-8")
    return manifest


def _book_params() -> list[str]:
    names = sorted(p.name for p in CORPORA.iterdir() if p.is_dir()) if CORPORA.is_dir() else []
    return [*names, "generated"]


@dataclass
class Whole:
    """One whole-vault book, built once: its EPUB, what was reported, the normalized book, its documents."""

    name: str
    epub: Path
    reporter: Reporter
    book: object
    docs: dict = field(default_factory=dict)


@pytest.fixture(scope="module", params=_book_params())
def whole(request, tmp_path_factory) -> Whole:
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "generated":
        sys.path.insert(0, str(ROOT / "bench"))
        from generate import generate

        generate(GENERATED_N, folder / "vault")
        manifest = _whole_vault(folder, folder / "vault" / "kb", "glossary: {file: glossary.yml}\n")
    else:  # every note of the vault, glossary harvested (index and tag index are on by default)
        manifest = _whole_vault(folder, CORPORA / request.param, "glossary: true\n")
    reporter = Reporter()
    book = load_book(manifest, reporter).book  # what build() does, keeping the book for the assertions
    [epub] = write_book(book, ["epub"], folder / "out", reporter)
    assert [d.format() for d in reporter.errors] == []
    return Whole(request.param, epub, reporter, book, epub_documents(epub))


def _sizes(epub: Path) -> dict[str, int]:
    with zipfile.ZipFile(epub) as z:
        return {i.filename: i.file_size for i in z.infolist() if i.filename.endswith(".xhtml")}


def test_every_content_document_is_bounded_and_epubcheck_passes(whole):
    sizes = _sizes(whole.epub)
    assert max(sizes.values()) <= BOUND, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    if whole.name == "generated":  # 1.2 million words: the chapter, the glossary and both indexes are cut
        for stem in ("chapter-01", "glossary", "tag-index", "index"):
            assert f"EPUB/{stem}-2.xhtml" in sizes, stem
    assert epub_broken_links(whole.epub) == []
    assert epubcheck(whole.epub) == []


def test_split_documents_keep_spine_nav_ncx_and_footnotes_right(whole):
    docs, book = whole.docs, whole.book
    with zipfile.ZipFile(whole.epub) as z:
        opf = etree.fromstring(z.read("EPUB/content.opf"))
        ncx = etree.fromstring(z.read("EPUB/toc.ncx"))
    items = {i.get("id"): i.get("href") for i in opf.iter(f"{OPF}item")}
    spine = [items[r.get("idref")] for r in opf.iter(f"{OPF}itemref")]
    # the pieces of a page follow it, in order; the chapter opener begins the first
    pieces = [f for f in spine if f.startswith("chapter-01")]
    assert pieces == ["chapter-01.xhtml", *(f"chapter-01-{k}.xhtml" for k in range(2, len(pieces) + 1))]
    assert spine.index(pieces[-1]) - spine.index(pieces[0]) == len(pieces) - 1
    first = next(el for el in docs["EPUB/chapter-01.xhtml"].find(f"{XHTML}body") if isinstance(el.tag, str))
    assert first.tag == f"{XHTML}h1" and "chapter" in first.get("class")
    # every article heading is where the nav and the NCX say it is
    ids = {name.removeprefix("EPUB/"): {el.get("id") for el in doc.iter() if el.get("id")} for name, doc in docs.items()}
    for src in [p.get("src") for p in ncx.iter(f"{NCX}content")]:
        file, _, frag = src.partition("#")
        assert file in ids and (not frag or frag in ids[file]), src
    nav_targets = {a.get("href") for a in docs["EPUB/nav.xhtml"].iter(f"{XHTML}a")}
    assert {f"#{a.id}" for a in book.articles} <= {"#" + h.partition("#")[2] for h in nav_targets}
    # a note is in the document of the text that refers to it
    for name, doc in docs.items():
        for ref in doc.iter(f"{XHTML}a"):
            if ref.get(f"{OPS}type") == "noteref":
                assert ref.get("href").startswith("#") and ref.get("href")[1:] in ids[name.removeprefix("EPUB/")], name


def _harvested(book) -> list[str]:
    return [e.term for e in book.glossary if e.source == "harvested"]


def test_harvested_glossary_terms_are_names_not_sentences(whole):
    terms = _harvested(whole.book)
    for term in terms:
        words = term.split()
        assert 1 <= len(re.sub(r" \([^()]*\)$", "", term).split()) <= 6, term
        assert not term.endswith((".", "?", "!")) and ";" not in term, term
        assert words[0].casefold() not in VERB_OPENERS and not FINITE & set(words[1:]), term
    if whole.name == "de-wiki":
        assert {"DLQ (Dead Letter Queue)", "Data Engineer", "Message Queues", "Offset (Kafka)"} <= set(terms)
        assert "Allows you to recreate any downstream tables from raw sources." not in terms
    if whole.name == "generated":
        assert len(terms) >= 100


def test_the_index_leaves_general_terms_out_and_bounds_its_entries(whole):
    book = whole.book
    places = book.manifest.index_settings.max_places
    entries = [p for n, d in whole.docs.items() if re.fullmatch(r"EPUB/index(-\d+)?\.xhtml", n) for p in d.iter(f"{XHTML}p")]
    assert len(entries) == len(book.index)  # kepano-vault's has none: no glossary term, no index: in its notes
    for p in entries:  # at most max_places articles (each with at most max_places places), then "and N more"
        refs = [a for a in p.iter(f"{XHTML}a") if a.get("class") == "ix-ref"]
        articles = [a for a in refs if not "".join(a.itertext()).isdigit()]
        assert 1 <= len(articles) <= places and len(refs) - len(articles) <= places * len(articles)
    general = [d for d in whole.reporter.infos if d.code == "index.general-term"]
    if len(book.articles) >= 8:
        for d in general:
            term = re.search(r"'(.+?)'", d.message).group(1)
            assert term not in {e.term for e in book.index}
    if whole.name == "generated":  # a term's abbreviation that is a word ("AS", "CS": "as", "cs") is in most articles
        assert general and all(f"of the book's {GENERATED_N} articles" in d.message for d in general)
        assert any("more" in "".join(p.itertext()) for p in entries)  # some entry says "and N more"


# ---------------------------------------------------------------- the rules, one by one
@pytest.mark.parametrize(("term", "ok"), [
    ("Allows you to recreate any downstream tables from raw sources.", False),
    ("Does not replace dimensional modeling techniques", False),
    ("Uses large amounts of storage", False),
    ("Often requires additional downstream processing", False),
    ("Data is a first-class citizen", False),
    ("Scales with the data", False),
    ("Why does it matter?", False),
    ("Pros; cons", False),
    ("DLQ (Dead Letter Queue)", True),
    ("NIST AI Risk Management Framework (AI RMF)", True),
    ("Large Scale Distributed Stream Processing Engine Design", False),
    ("Message Queues", True),
    ("Databases", True),
    ("CAN bus", True),
    ("Kubernetes operator", True),
    ("Analytics engineering", True),
    ("U.S.", True),
])
def test_a_harvested_term_is_a_name(term, ok):
    assert is_term_name(term) is ok


def test_curated_terms_always_stay(tmp_path):
    vault = tmp_path / "kb"
    vault.mkdir()
    (vault / "glossary.yml").write_text('"Uses large amounts of storage": "A curated phrase, kept as written."\n', encoding="utf-8")
    (vault / "a.md").write_text("---\ntitle: A\nglossary:\n  Does the job: A front-matter term is kept too.\n---\n\n"
                                "- **Allows you to recreate tables**: a harvested clause, left out.\n", encoding="utf-8")
    manifest = tmp_path / "book.yml"
    manifest.write_text(f"title: T\nsource: {vault}\nformats: [epub]\nglossary: {{file: glossary.yml}}\nchapters: [a]\n",
                        encoding="utf-8")
    assert [e.term for e in load_book(manifest).book.glossary] == ["Does the job", "Uses large amounts of storage"]


def test_places_are_bounded_with_and_n_more():
    pages = {f"a--ix{n}": n * 2 for n in range(1, 21)}  # 20 pages, none consecutive
    refs = render.page_refs([("a", a) for a in pages], pages, limit=12)
    assert tree.stringify(refs).endswith("24, and 8 more")
    occurrences = [(f"art{n}", f"art{n}--ix1") for n in range(15)] + [("art0", f"art0--ix{n}") for n in range(2, 16)]
    titles = {f"art{n}": f"Article {n}" for n in range(15)}
    text = " ".join(tree.stringify(render.article_refs(occurrences, titles, 12)).split())
    assert text.startswith("Article 0 (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, and 3 more); Article 1;")
    assert text.endswith("Article 11; and 3 more")


def test_index_settings_are_read_and_checked(tmp_path):
    manifest = tmp_path / "book.yml"
    base = "title: T\nsource: .\nchapters: [a]\n"
    (tmp_path / "a.md").write_text("# A\n", encoding="utf-8")
    manifest.write_text(base + "index: {exclude: [data], include: [pipeline], max_share: 0.4, max_places: 5}\n", encoding="utf-8")
    settings = load_manifest(manifest).index_settings
    assert (settings.exclude, settings.include, settings.max_share, settings.max_places) == (("data",), ("pipeline",), 0.4, 5)
    assert load_manifest(manifest).index
    manifest.write_text(base + "index: {max_share: 2, max_places: 0, maxplaces: 3}\nepub: {max_document_kb: 1000}\n",
                        encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        load_manifest(manifest)
    lines = [d.format() for d in info.value.diagnostics]
    assert len(lines) == 4 and any("did you mean 'max_places'" in line for line in lines), lines


def test_index_include_and_exclude(tmp_path):
    vault = tmp_path / "kb"
    vault.mkdir()
    for n in range(8):
        (vault / f"a{n}.md").write_text(f"---\ntitle: Note {n}\n---\n\nThe pipeline moves data{' quickly' * n}.\n"
                                        + ("\nA widget appears here once.\n" if n == 0 else ""), encoding="utf-8")
    manifest = tmp_path / "book.yml"
    chapters = "chapters:\n  - title: All\n    articles: [{glob: '*.md'}]\n"

    def index(spec: str):
        manifest.write_text(f"title: T\nsource: {vault}\nformats: [epub]\nindex: {spec}\n{chapters}", encoding="utf-8")
        from publisher.diagnostics import Reporter

        reporter = Reporter()
        book = load_book(manifest, reporter).book
        return [e.term for e in book.index], [d.message for d in reporter.infos if d.code == "index.general-term"]

    terms, general = index("{include: [widget, data]}")  # "data" is in every note: general, but included
    assert terms == ["data", "widget"] and general == []
    terms, general = index("{include: [widget, pipeline, data], exclude: [pipeline]}")
    assert terms == ["data", "widget"] and general == []
    manifest.write_text(f"title: T\nsource: {vault}\nformats: [epub]\nindex: {{include: [widget]}}\n{chapters}", encoding="utf-8")
    for n in range(8):  # front-matter terms: 'data' general (8 of 8 articles), reported once
        text = (vault / f"a{n}.md").read_text(encoding="utf-8")
        (vault / f"a{n}.md").write_text(text.replace("title:", "index: [data]\ntitle:"), encoding="utf-8")
    terms, general = index("{include: [widget], max_places: 7}")
    assert terms == ["widget"] and len(general) == 1 and "'data' is in 8 of the book's 8 articles" in general[0]
    terms, general = index("{include: [widget]}")  # in 8 articles, fewer than max_places (12): never general
    assert terms == ["data", "widget"] and general == []


# ---------------------------------------------------------------- splitting, on a tree
def _page(html: str) -> Page:
    return Page("chapter-01.xhtml", "Chapter", "bodymatter", lxml.html.fragment_fromstring(html, create_parent="div"))


def test_a_page_is_cut_at_articles_first_and_notes_follow_their_text():
    filler = "<p>" + "word " * 300 + "</p>"
    html = ('<h1 id="c">Chapter</h1>'
            + "".join(f'<h2 id="art{n}" class="article">A{n}</h2>{filler}<h3 id="s{n}">S</h3>{filler}'
                      f'<p>Note <a href="#fn{n}" epub:type="noteref" id="fnref{n}">{n}</a></p>' for n in range(1, 5))
            + '<section class="footnotes" epub:type="footnotes">'
            + "".join(f'<aside id="fn{n}" epub:type="footnote"><p><a href="#fnref{n}">{n}</a>. Note {n}.</p></aside>'
                      for n in range(1, 5)) + "</section>")
    pages, origin = split_pages([_page(html)], limit=8 * 1024)
    files = [p.file for p in pages]
    assert files == ["chapter-01.xhtml", "chapter-01-2.xhtml", "chapter-01-3.xhtml", "chapter-01-4.xhtml"]
    assert set(origin.values()) == {"chapter-01.xhtml"}
    for n, page in enumerate(pages, 1):
        first = next(iter(page.tree))
        assert first.tag == ("h1" if n == 1 else "h2")  # each document begins with the chapter or an article
        assert [a.get("id") for a in page.tree.iter("aside")] == [f"fn{n}"]  # its own note, at its end
        assert len(etree.tostring(page.tree)) < 8 * 1024


def test_a_large_list_or_group_is_cut_into_copies():
    items = "".join(f"<li>{'item ' * 40}{n}</li>" for n in range(60))
    terms = "".join(f"<dt>T{n}</dt><dd>{'definition ' * 30}</dd>" for n in range(60))
    html = f'<h1 id="g">Glossary</h1><ol id="list">{items}</ol><h2 id="g-t">T</h2><dl>{terms}</dl>'
    pages, _ = split_pages([_page(html)], limit=6 * 1024)
    lists = [ol for p in pages for ol in p.tree.iter("ol")]
    assert len(lists) > 2 and [ol.get("id") for ol in lists].count("list") == 1
    starts = [int(ol.get("start", "1")) for ol in lists]
    assert starts[0] == 1 and all(b == a + len(ol) for a, b, ol in zip(starts, starts[1:], lists, strict=False))
    dls = [dl for p in pages for dl in p.tree.iter("dl")]
    assert len(dls) > 2 and all(dl[0].tag == "dt" and dl[-1].tag == "dd" for dl in dls)
    assert sum(len(dl) for dl in dls) == 120
