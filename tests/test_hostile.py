"""The adversarial suite: one folder per hostile input under tests/data/hostile, across the manifest, front
matter, body, links, resources and the file system. Each is built as a user would (`publisher build
book.yml`, the formats its manifest names) and asserts the exact diagnostics and exit code (expected.txt),
that no traceback shows, and that the earlier output in out/ is either untouched or replaced by a whole file.

Inputs that git cannot hold as they are (NUL bytes, CR line ends, FIFOs, links, megabytes) are made by
GENERATED below into a copy of the folder. Regenerate expected.txt with `make golden` after checking the
new output by eye.

A property test closes: any article hypothesis makes builds or yields a diagnostic, never an exception."""

from __future__ import annotations

import fcntl
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher import build, load_book
from publisher.cli import main
from publisher.diagnostics import PublisherError, Reporter

HOSTILE = DATA / "hostile"
CASES = sorted(p for p in HOSTILE.iterdir() if p.is_dir())
EARLIER = b"earlier output: a failed build must leave these bytes alone\n"
FORMATS = ("pdf", "epub", "docx")
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5f2b1a60000000049454e44ae426082")


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def _nested_yaml(depth: int) -> str:
    return "[" * depth + "]" * depth


def _article_of_size(size: int) -> str:
    paragraph = ("A long article is still an article: *emphasis*, `code`, a [link](https://example.com/) "
                 "and plain words to fill the line.\n\n")
    parts, total, n = [], 0, 0
    while total < size:
        n += 1
        piece = f"## Section {n}\n\n" + paragraph * 20
        parts.append(piece)
        total += len(piece)
    return "".join(parts)


GENERATED: dict[str, Callable[[Path], None]] = {
    "manifest-deep-nesting": lambda d: _write(d / "book.yml", "title: Deep\nsource: vault\nchapters: " + _nested_yaml(5000) + "\n"),
    "manifest-not-utf8": lambda d: _write(d / "book.yml", b"title: Caf\xe9\nsource: vault\nchapters: [a]\n"),
    "fm-deep-nesting": lambda d: _write(d / "vault/a.md", "---\ntitle: Deep\nx: " + _nested_yaml(3000) + "\n---\nThe body is kept.\n"),
    "text-bom-crlf": lambda d: _write(d / "vault/a.md", b"\xef\xbb\xbf---\r\ntitle: Windows\r\n---\r\n# Heading\r\n\r\nText with CRLF.\r\n"),
    "text-lone-cr": lambda d: _write(d / "vault/a.md", b"---\rtitle: Classic Mac\r---\r# Heading\r\rText with CR only.\r"),
    "body-nul-byte": lambda d: _write(d / "vault/a.md", b"# Title\n\nText\x00with a NUL.\n"),
    "body-binary-png": lambda d: (_write(d / "vault/a.md", "Text.\n"), _write(d / "vault/image.md", PNG_1PX)),
    "body-not-utf8": lambda d: _write(d / "vault/a.md", b"# Title\n\nCaf\xe9 in Latin-1.\n"),
    "body-control-characters": lambda d: _write(d / "vault/a.md", "---\ntitle: \"Bell\\a and escape\\e\"\n---\n"
                                                "Vertical\x0btab, form\x0cfeed, escape\x1b[31m and DEL\x7f.\n"),
    "body-deep-quotes": lambda d: _write(d / "vault/a.md", "Fine.\n\n" + ">" * 10_000 + " deep\n"),
    "body-deep-brackets": lambda d: _write(d / "vault/a.md", "[" * 10_000 + " text\n"),
    "body-unclosed-stars": lambda d: _write(d / "vault/a.md", "*a " * 5_000 + "\n\n" + "*" * 5_000 + "\n"),
    "body-deep-emphasis": lambda d: _write(d / "vault/a.md", "Fine.\n\n" + "*" * 3_000 + "deep" + "*" * 3_000 + "\n"),
    "body-long-code-block": lambda d: _write(d / "vault/a.md", "```\n" + "".join(f"line {i}\n" for i in range(10_000)) + "```\n"),
    "body-wide-diagram": lambda d: _write(d / "vault/a.md", "```\n\u250c" + "\u2500" * 398 + "\u2510\n\u2502" + " " * 398
                                          + "\u2502\n\u2514" + "\u2500" * 398 + "\u2518\n```\n"),
    "body-two-megabytes": lambda d: _write(d / "vault/a.md", _article_of_size(2 * 1024 * 1024)),
    "image-symlink-escape": lambda d: (_write(d / "secret.png", PNG_1PX), _write(d / "vault/a.md", "![secret](pic.png)\n"),
                                       (d / "vault/pic.png").symlink_to(d / "secret.png")),
    "fs-symlink-outside": lambda d: (_write(d / "secret.md", "A secret.\n"), (d / "vault/b.md").symlink_to(d / "secret.md")),
    "fs-symlink-loop": lambda d: ((d / "vault/b.md").symlink_to("c.md"), (d / "vault/c.md").symlink_to("b.md")),
    "fs-dangling-symlink": lambda d: (d / "vault/b.md").symlink_to("nothing.md"),
    "fs-fifo": lambda d: os.mkfifo(d / "vault/pipe.md"),
    "fs-output-is-a-directory": lambda d: (d / "out/book.docx").mkdir(parents=True),
}


def _valid(path: Path, fmt: str) -> bool:
    data = path.read_bytes()
    if fmt == "pdf":
        return data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    with zipfile.ZipFile(path) as z:
        return z.testzip() is None and (fmt != "epub" or z.namelist()[0] == "mimetype")


def run_case(case: Path, tmp_path: Path, monkeypatch, capsys) -> tuple[str, int, Path]:
    """Copy the case, make its generated inputs, plant earlier outputs, build; (stderr, exit code, folder)."""
    work = tmp_path / case.name
    shutil.copytree(case, work, symlinks=True, ignore=shutil.ignore_patterns("expected.txt"))
    (work / "vault").mkdir(exist_ok=True)
    if case.name in GENERATED:
        GENERATED[case.name](work)
    out = work / "out"
    out.mkdir(exist_ok=True)
    for fmt in FORMATS:
        if not (out / f"book.{fmt}").exists():
            (out / f"book.{fmt}").write_bytes(EARLIER)
    monkeypatch.chdir(work)
    lock = None
    if case.name == "fs-output-locked":  # another build holds the output
        lock = os.open(out / ".book.lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        code = main(["build", "book.yml", "--quiet", "--verbose"])  # every diagnostic: each is part of the case
    finally:
        if lock is not None:
            os.close(lock)
    return capsys.readouterr().err, code, work


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_hostile_input_is_reported_exactly(case, tmp_path, monkeypatch, capsys):
    err, code, work = run_case(case, tmp_path, monkeypatch, capsys)
    got = err + f"exit {code}\n"
    expected = case / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")
    assert "Traceback" not in err and "internal error" not in err
    out = work / "out"
    for fmt in FORMATS:
        target = out / f"book.{fmt}"
        if target.is_file() and target.read_bytes() != EARLIER:
            assert code == 0, f"{target.name} replaced by a build that failed"
            assert _valid(target, fmt), f"{target.name} is not a whole {fmt}"
    assert not [p.name for p in out.iterdir() if p.name.endswith((".tmp", ".raw"))], "temporary files left behind"
    assert not (work.parent / "escaped.docx").exists()


def test_yaml_1_1_keeps_the_text_as_written(tmp_path, monkeypatch, capsys):
    """`title: no` is the title "no", `3.10` and `0755` stay as written (not False, 3.1 and 493)."""
    run_case(HOSTILE / "fm-yaml-1-1", tmp_path, monkeypatch, capsys)
    article = load_book(tmp_path / "fm-yaml-1-1" / "book.yml").book.articles[0]
    assert (article.title, article.aliases, article.tags, article.summary) == ("no", ("3.10", "0755"), ("yes", "1.0"), "off")


def test_text_line_ends_and_bom_are_read_alike(tmp_path, monkeypatch, capsys):
    for name in ("text-bom-crlf", "text-lone-cr"):
        run_case(HOSTILE / name, tmp_path, monkeypatch, capsys)
        article = load_book(tmp_path / name / "book.yml").book.articles[0]
        assert article.title in ("Windows", "Classic Mac") and "\r" not in article.body
        assert article.body.startswith("# Heading\n\nText with C")


# ---------------------------------------------------------------- any article
_PIECES = st.sampled_from([
    "*", "**", "_", "`", "```", "~~~", "[", "]", "(", ")", "![", "[[", "]]", "|", "#", "> ", "- ", "1. ", "\n", "\n\n",
    "---\n", "%%", "$", "$$", "^[", "[^1]", "[^1]: note\n", ":::", "{#id .cls key=val}", "{onclick=x}", "\\",
    "<", ">", "&", "&#0;", "&amp;", "<span>", "</span>", "<div>", "</div>", "<b>", "<script>", "</script>",
    "<img src=x onerror=alert(1)>", "<a href='javascript:x'>", "</a>", "<style>", "</style>", "<!--", "-->",
    "<iframe src=file:///etc/passwd>", "<svg><image href=file:///etc/passwd /></svg>", "<table><tr><td>", "</table>",
    "[[a]]", "[[a#H|t]]", "[x](../../etc/passwd)", "![x](file:///etc/passwd)", "![x](http://127.0.0.1:9/x.png)",
    "> [!note] Title\n> body\n", "| a | b |\n|---|---|\n| 1 | 2 |\n", "\u2500\u2502\u250c", "\u0000", "\u000b", "\u202e",
    "\ufeff", "\ud7ff", "\U0001f600", " ", "\t", "word", "Term: a definition of the term\n",
])
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=60).map("".join)
_FRONT = st.one_of(st.just(""), st.builds(lambda t: f"---\ntitle: {t}\n---\n", st.text(max_size=20)),
                   st.sampled_from(["---\n", "---\n- a\n---\n", "---\ntitle: [\n---\n", "---\n---\n", "---\ntitle: no\n---\n"]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(front=_FRONT, body=_TEXT)
def test_any_article_builds_or_yields_a_diagnostic(tmp_path_factory, front, body):
    work = tmp_path_factory.mktemp("any")
    _write(work / "vault/a.md", front + body)
    _write(work / "book.yml", "title: Any\nsource: vault\nglossary: false\nchapters: [a]\n")
    reporter = Reporter()
    try:
        written = build(work / "book.yml", ["epub"], work / "out", reporter=reporter)
    except PublisherError as exc:
        assert exc.diagnostics or reporter.errors, "a failure with nothing said"
        return
    assert [p.name for p in written] == ["book.epub"] and _valid(written[0], "epub")
