"""Safe, atomic and reproducible builds from an untrusted knowledge base.

- A secret planted outside the vault, referenced every way an article can (image, link, CSS url(), iframe,
  file:// URL, links inside the vault that lead out), is in no output: not in the PDF's text, bytes or
  streams, not in any EPUB or DOCX member.
- A default build sends a local HTTP server no request at all; `allow_remote: true` downloads an image
  once, within the limits.
- WeasyPrint's fetcher serves data: URLs and the vault's and theme's files only.
- A failed build leaves the previous file byte-identical; two builds never write one output at once; a hung
  pandoc is killed.
- Rebuilds are byte-identical for PDF, EPUB and DOCX, with and without SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import base64
import http.server
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import DATA

from publisher import build, load_book, pandoc, tree
from publisher.backends import docx as docx_backend
from publisher.backends.pdf import SafeFetcher
from publisher.cli import main
from publisher.diagnostics import ContentError, PublisherError, Reporter, SourceLocation
from publisher.remote import RemoteImages
from publisher.sanitize import clean_style, scheme_of

TOKEN = b"TOPSECRET-7f3a9c"


def png(text: bytes = b"") -> bytes:
    """A 1x1 PNG; `text` goes into a tEXt chunk, so that the file's own bytes can be searched for."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    body = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
    if text:
        body += chunk(b"tEXt", b"Comment\x00" + text)
    body += chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def forms(token: bytes) -> list[bytes]:
    """The token as it is, and as it reads inside base64 at each of the three alignments."""
    out = [token]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + token)
        out.append(encoded[4:-4])
    return out


def pdf_haystacks(path: Path) -> list[bytes]:
    """Everything a PDF holds: its bytes, every stream decoded, its text; and its attachments must be none."""
    import pypdf

    data = path.read_bytes()
    reader = pypdf.PdfReader(path)
    assert not reader.attachments, f"the PDF has attachments: {list(reader.attachments)}"
    out = [data, "\n".join(page.extract_text() or "" for page in reader.pages).encode()]
    numbers = {n for table in reader.xref.values() for n in table} | set(reader.xref_objStm)
    for number in sorted(numbers):
        obj = reader.get_object(number)
        if hasattr(obj, "get_data"):
            out.append(obj.get_data())
    return out


def zip_haystacks(path: Path) -> list[bytes]:
    with zipfile.ZipFile(path) as z:
        return [name.encode() + b"\n" + z.read(name) for name in z.namelist()]


def haystacks(path: Path) -> list[bytes]:
    return pdf_haystacks(path) if path.suffix == ".pdf" else zip_haystacks(path)


def contains(path: Path, token: bytes) -> bool:
    return any(f in h for h in haystacks(path) for f in forms(token))


def manifest(folder: Path, *, formats=("pdf", "epub", "docx"), extra: str = "") -> Path:
    path = folder / "book.yml"
    path.write_text(f"title: Untrusted\nsource: vault\nformats: [{', '.join(formats)}]\noutput: {{dir: out}}\n"
                    f"glossary: false\n{extra}chapters: [a]\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- a local web server
class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        routes = self.server.routes
        status, kind, body, delay = routes.get(self.path.split("?")[0], (404, "text/plain", b"no", 0))
        time.sleep(delay)
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", kind)
        else:
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status not in (301, 302):
            try:
                self.wfile.write(body)
            except OSError:
                pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A threading HTTP server on 127.0.0.1 and a free port; it records every request, and stops after the test."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.routes = {
        "/pic.png": (200, "image/png", png(b"REMOTE-IMAGE"), 0),
        "/page.html": (200, "text/html", b"<p>page</p>", 0),
        "/not-image.png": (200, "text/html", b"<p>html</p>", 0),
        "/big.png": (200, "image/png", png() + b"\0" * 2_000_000, 0),
        "/slow.png": (200, "image/png", png(), 3.0),
        "/fake.png": (200, "image/png", b'<svg xmlns="http://www.w3.org/2000/svg"/>', 0),
        "/to-file.png": (302, "file:///etc/passwd", b"", 0),
        "/to-pic.png": (302, "/pic.png", b"", 0),
    }
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------- the secret
def plant_secret(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """A vault beside a folder of secrets, and links inside the vault that lead to them."""
    secret = tmp_path / "secret"
    secret.mkdir()
    files = {
        "txt": secret / "secret.txt", "png": secret / "secret.png", "svg": secret / "secret.svg",
        "css": secret / "secret.css", "html": secret / "secret.html", "md": secret / "secret.md",
    }
    files["txt"].write_bytes(TOKEN + b"\n")
    files["png"].write_bytes(png(TOKEN))
    files["svg"].write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="20"><text x="0" y="15">'
                             + TOKEN + b"</text></svg>")
    files["css"].write_bytes(b'body::after { content: "' + TOKEN + b'" }')
    files["html"].write_bytes(b"<p>" + TOKEN + b"</p>")
    files["md"].write_bytes(b"# Secret\n\n" + TOKEN + b"\n")
    vault = tmp_path / "vault"
    vault.mkdir()
    for name, target in (("link.png", "png"), ("link.svg", "svg"), ("link.txt", "txt"), ("link.css", "css"),
                         ("linked.md", "md")):
        (vault / name).symlink_to(files[target])
    (vault / "ok.png").write_bytes(png(b"VISIBLE-IMAGE"))
    return vault, files


def secret_article(files: dict[str, Path]) -> str:
    f = {k: p.as_posix() for k, p in files.items()}
    u = {k: p.as_uri() for k, p in files.items()}
    return f"""# Secrets

VISIBLE-TEXT and a picture that may be shown: ![ok](ok.png)

## As images

![traversal](../secret/secret.png) ![absolute]({f['png']}) ![file url]({u['png']}) ![link inside](link.png)
![svg]({u['svg']}) ![[../secret/secret.png]] ![[link.svg]]
<img src="{u['svg']}"> <img src="../secret/secret.png"> <img src="link.png"> <img srcset="{u['png']} 1x">
`<img src="{u['png']}">`{{=html}}

## As links

[traversal](../secret/secret.txt) [file url]({u['txt']}) [[../secret/secret]] [[linked]]
[attachment](link.txt){{rel=attachment}} <a rel="attachment" href="../secret/secret.txt">raw</a>
<a href="{u['txt']}">raw file</a> <link rel="attachment" href="{u['txt']}"> <link rel="stylesheet" href="{u['css']}">

## As CSS

<span style="background: url({u['svg']})">a</span> [b]{{style="background-image: url('link.svg')"}}
<div style="list-style-image: url(../secret/secret.png)">c</div>

<style>@import url("{u['css']}"); body {{ background: url(../secret/secret.svg) }}</style>

## As embedded documents

<iframe src="{u['html']}"></iframe> <object data="{u['html']}"></object> <embed src="{u['txt']}">
<svg><image href="{u['svg']}"/></svg>

![[../secret/secret.md]] ![[linked]]
"""


def test_a_secret_outside_the_vault_reaches_no_output(tmp_path):
    vault, files = plant_secret(tmp_path)
    (vault / "a.md").write_text(secret_article(files), encoding="utf-8")
    reporter = Reporter()
    written = build(manifest(tmp_path), None, None, reporter=reporter)
    assert sorted(p.suffix for p in written) == [".docx", ".epub", ".pdf"]
    for path in written:
        assert not contains(path, TOKEN), f"the secret is in {path.name}"
    # the search finds what is there: the article's text everywhere, the vault's own image where it is embedded whole
    assert all(contains(path, b"VISIBLE-TEXT") for path in written)
    assert contains(tmp_path / "out" / "book.docx", b"VISIBLE-IMAGE")
    assert reporter.warnings and not reporter.errors
    # a link out of the vault is not a note missing from it: the warning says where it goes
    leaving = {d.message.split("'")[1] for d in reporter.warnings if "leaves the knowledge base" in d.message}
    assert leaving == {"../secret/secret.txt", "../secret/secret"}, [d.message for d in reporter.warnings]


# ---------------------------------------------------------------- the network
def remote_article(base: str) -> str:
    return f"""# Remote

![image]({base}/pic.png) ![protocol relative]({base.removeprefix('http:')}/pic.png) [a link]({base}/page.html)
<img src="{base}/pic.png"> <img srcset="{base}/pic.png 2x"> <iframe src="{base}/page.html"></iframe>
<link rel="stylesheet" href="{base}/style.css"> <link rel="attachment" href="{base}/page.html">
<span style="background: url({base}/pic.png)">css</span> [span]{{style="background: url({base}/pic.png)"}}
<video poster="{base}/pic.png" src="{base}/v.mp4"></video> <audio src="{base}/a.mp3"></audio>
<object data="{base}/page.html"></object> <embed src="{base}/page.html"> <script src="{base}/s.js"></script>
<input type="image" src="{base}/pic.png"> <table background="{base}/pic.png"><tr><td>t</td></tr></table>
<svg><image href="{base}/pic.png"/></svg> <a href="{base}/page.html" ping="{base}/ping">ping</a>
<meta http-equiv="refresh" content="0; url={base}/page.html">

<style>@import "{base}/import.css"; p {{ background: url({base}/pic.png) }}</style>
"""


def test_a_default_build_sends_no_request(tmp_path, server):
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "a.md").write_text(remote_article(server.base), encoding="utf-8")
    reporter = Reporter()
    written = build(manifest(tmp_path), None, None, reporter=reporter)
    assert len(written) == 3
    assert server.requests == []
    messages = [d.message for d in reporter.warnings]
    assert sum(m.startswith("remote image not fetched") for m in messages) == 3  # ![image], ![...](//...), <img src>


def test_allow_remote_downloads_an_image_once_and_embeds_it(tmp_path, server):
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "a.md").write_text(
        f"![one]({server.base}/pic.png) and again ![two]({server.base}/pic.png)\n\n<img src=\"{server.base}/pic.png\" alt=\"three\">\n",
        encoding="utf-8")
    reporter = Reporter()
    written = build(manifest(tmp_path, formats=("pdf", "docx"), extra="allow_remote: true\n"), None, None, reporter=reporter)
    assert server.requests == ["/pic.png"]
    assert not reporter.diagnostics
    docx = tmp_path / "out" / "book.docx"
    with zipfile.ZipFile(docx) as z:
        assert any(n.startswith("word/media/") for n in z.namelist())
    assert contains(docx, b"REMOTE-IMAGE")
    import pypdf

    page = pypdf.PdfReader(written[0]).pages[0]
    assert page.images, "the downloaded image is drawn in the PDF"


@pytest.mark.parametrize(("path", "reason"), [
    ("/not-image.png", "it is text/html, not an image"),
    ("/big.png", "larger than 1 MB"),
    ("/slow.png", "timed out"),
    ("/fake.png", "not a PNG, JPEG, GIF or WebP image"),
    ("/to-file.png", "Redirection to url 'file:///etc/passwd' is not allowed"),
    ("/missing.png", "Not Found"),
])
def test_remote_images_are_bounded(server, path, reason):
    remote = RemoteImages(True, max_bytes=1024 * 1024, timeout=1.0)
    data, why = remote.fetch(server.base + path)
    assert data is None and reason in why


def test_remote_image_after_a_redirect_on_the_web(server):
    data, why = RemoteImages(True).fetch(server.base + "/to-pic.png")
    assert why == "" and data.startswith("data:image/png;base64,")


# ---------------------------------------------------------------- WeasyPrint's fetcher
def test_weasyprint_fetches_only_the_vault_and_data(tmp_path, server):
    """The HTML given straight to WeasyPrint, past the sanitizer: every escape is refused by the fetcher."""
    import weasyprint

    vault, files = plant_secret(tmp_path)
    u = {k: p.as_uri() for k, p in files.items()}
    page = f"""<html><head><link rel="stylesheet" href="{u['css']}"><link rel="stylesheet" href="{server.base}/s.css">
    <link rel="attachment" href="{u['txt']}"><link rel="attachment" href="link.txt">
    <style>@import url("{u['css']}"); @import url("{server.base}/i.css");
    body {{ background: url({u['svg']}) }} h1 {{ background: url({server.base}/pic.png) }}</style></head>
    <body><h1>VISIBLE-TEXT</h1><img src="file:///etc/passwd"><img src="{u['png']}"><img src="link.png">
    <img src="link.svg"><img src="{server.base}/pic.png"><a rel="attachment" href="{u['txt']}">a</a>
    <a rel="attachment" href="link.txt">b</a><iframe src="{u['html']}"></iframe><object data="{u['svg']}"></object>
    <embed src="{u['svg']}"><img src="ok.png"><img src="data:image/png;base64,{base64.b64encode(png()).decode()}"></body></html>"""
    fetched = []
    fetcher = SafeFetcher([vault])
    inner = fetcher.fetch

    def spy(url, headers=None):
        fetched.append(url)
        return inner(url, headers)

    fetcher.fetch = spy
    target = tmp_path / "direct.pdf"
    weasyprint.HTML(string=page, base_url=str(vault) + "/", url_fetcher=fetcher).write_pdf(target)
    assert not contains(target, TOKEN)
    assert server.requests == []
    assert any(url.endswith("/ok.png") for url in fetched)  # a file of the vault is served
    with pytest.raises(ValueError):
        fetcher.fetch((vault / "link.png").as_uri())  # a link inside the vault that leads out
    with pytest.raises(ValueError):
        fetcher.fetch("file://otherhost" + str(vault / "ok.png"))
    assert fetcher.fetch((vault / "ok.png").as_uri()) is not None


# ---------------------------------------------------------------- the sanitizer's pieces
def test_schemes_are_read_as_a_browser_reads_them():
    assert scheme_of(" JaVa\tScRiPt:alert(1)") == "javascript"
    assert scheme_of("java\nscript:x") == "javascript"
    assert scheme_of("notes/a.md") == "" and scheme_of("#x") == ""


def test_style_keeps_harmless_declarations_only():
    assert clean_style("color: red; position: fixed; background: url(x)") == (
        "color: red", ["position: fixed", "background: url(x)"])
    assert clean_style("width: expression(alert(1))")[0] == ""
    assert clean_style("color: re\\64")[0] == ""


def test_raw_html_is_balanced_and_escaped(tmp_path):
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "a.md").write_text(
        "Inline <span class=\"x\">open <b>bold\n\n</div></section> stray\n\n<div>\n\nblock never closed\n\n"
        "<p title='a\"b' onmouseover=x>quotes</p> <![CDATA[x]]> <!-- comment --> <x-widget>custom</x-widget>\n",
        encoding="utf-8")
    book = load_book(manifest(tmp_path), Reporter()).book
    raw = [n["c"][1] for n in tree.walk(list(book.articles[0].blocks)) if n["t"] in ("RawBlock", "RawInline")]
    html = "".join(raw)
    for tag in ("span", "b", "div", "p"):
        assert html.count(f"<{tag}") == html.count(f"</{tag}>"), tag
    assert "</section>" not in html and "onmouseover" not in html and "comment" not in html
    assert 'title="a&quot;b"' in html and "x-widget" not in html


# ---------------------------------------------------------------- atomic outputs
@pytest.mark.parametrize("failure", [RuntimeError("the backend broke"), KeyboardInterrupt()])
def test_a_failed_build_leaves_the_previous_file_byte_identical(tmp_path, monkeypatch, failure):
    out = tmp_path / "out"
    first = build(DATA / "tiny.yml", ["docx"], out)[0]
    before = first.read_bytes()

    def broken(self, book, theme, target):
        target.write_bytes(b"PK\x03\x04 half a zip")  # partial bytes in the temporary file
        raise failure

    monkeypatch.setattr(docx_backend.DocxBackend, "write", broken)
    with pytest.raises(type(failure)):
        build(DATA / "tiny.yml", ["docx"], out)
    assert first.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["tiny.docx"]  # nor the lock file


def test_a_pandoc_failure_leaves_the_previous_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    first = build(DATA / "tiny.yml", ["docx"], out)[0]
    before = first.read_bytes()
    real = pandoc.run_pandoc

    def failing(args, text, **kw):
        if "docx" in args:
            return real(["-f", "json", "-t", "docx", "--no-such-option"], text, **kw)
        return real(args, text, **kw)

    monkeypatch.setattr(pandoc, "run_pandoc", failing)
    assert main(["build", str(DATA / "tiny.yml"), "-f", "docx", "--out", str(out)]) == 1
    assert "pandoc failed: Unknown option --no-such-option" in capsys.readouterr().err
    assert first.read_bytes() == before


def test_two_builds_never_write_one_output_at_once(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    inside, release = threading.Event(), threading.Event()
    real = docx_backend.DocxBackend.write

    def slow(self, book, theme, target):
        inside.set()
        assert release.wait(60)
        real(self, book, theme, target)

    monkeypatch.setattr(docx_backend.DocxBackend, "write", slow)
    results: list = []
    first = threading.Thread(target=lambda: results.append(build(DATA / "tiny.yml", ["docx"], out)))
    first.start()
    try:
        assert inside.wait(120)
        with pytest.raises(PublisherError) as second:
            build(DATA / "tiny.yml", ["docx"], out)
    finally:
        release.set()
        first.join(120)
    line = second.value.diagnostics[0].format()
    assert line.endswith(f"error: another build is writing 'tiny' in {out} now (try again when it has finished) [output.locked]")
    assert results and results[0][0].is_file()
    with zipfile.ZipFile(results[0][0]) as z:
        assert z.testzip() is None
    assert not (out / ".tiny.lock").exists()  # free again once the first build ends: its lock file is gone


# ---------------------------------------------------------------- pandoc's limits
def test_a_hung_pandoc_is_killed_with_what_it_started(tmp_path, monkeypatch):
    pids = tmp_path / "pids"
    fake = tmp_path / "pandoc"
    fake.write_text(f"#!/bin/sh\nsleep 60 &\necho $$ $! > {pids}\nwait\n")
    fake.chmod(0o755)
    monkeypatch.setattr(pandoc, "pandoc_path", lambda: str(fake))
    start = time.monotonic()
    with pytest.raises(ContentError) as exc:
        pandoc.parse_markdown("text", line_offset=0, where=SourceLocation("a.md", 1, 1), timeout=1.0)
    assert time.monotonic() - start < 10
    assert exc.value.diagnostics[0].format() == (
        "a.md:1:1: error: pandoc took longer than 1 s and was stopped "
        "(is the Markdown pathological, e.g. thousands of nested '>' or '['?) [pandoc.timeout]")
    for pid in pids.read_text().split():
        assert not _alive(int(pid)), f"process {pid} outlived the time limit"


def _alive(pid: int, wait: float = 3.0) -> bool:
    """Whether a process still runs (a zombie waiting for its parent does not), after a moment for init to reap it."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


def test_pathological_markdown_is_bounded_and_named():
    where = SourceLocation("a.md", 3, 1)
    for text in (">" * 10_000 + " x", "- " * 5_000 + "x", "*" * 3_000 + "x" + "*" * 3_000):
        with pytest.raises(ContentError, match="nests more than 64 levels deep"):
            pandoc.parse_markdown(text, line_offset=2, where=where)
    ok = "\n".join(">" * i + " level" for i in range(1, 40))
    assert pandoc.parse_markdown(ok, line_offset=2, where=where)


# ---------------------------------------------------------------- reproducible
@pytest.mark.parametrize("epoch", [None, "1735689600"])
@pytest.mark.parametrize("book", ["tiny", "untrusted"])
def test_rebuilds_are_byte_identical(tmp_path, monkeypatch, epoch, book):
    """The tiny book, and one with images, raw HTML and many warnings: the same bytes twice."""
    if epoch is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    if book == "tiny":
        path = DATA / "tiny.yml"
    else:
        vault, files = plant_secret(tmp_path)
        (vault / "a.md").write_text(secret_article(files), encoding="utf-8")
        path = manifest(tmp_path)
    first = {p.suffix: p for p in build(path, None, tmp_path / "one")}
    time.sleep(1.1)  # a clock read anywhere would now differ
    second = {p.suffix: p for p in build(path, None, tmp_path / "two")}
    assert sorted(first) == [".docx", ".epub", ".pdf"]
    different = [s for s in first if first[s].read_bytes() != second[s].read_bytes()]
    assert different == []
