"""Diagnostics a person can act on: a code on every one, each code's first lines then a count, a summary,
the whole run as JSON Lines (--report), information that --strict does not count, and a manifest's
`diagnostics: {ignore, error}`."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from publisher.cli import main
from publisher.codes import CODES, markdown_table
from publisher.diagnostics import Diagnostic, Severity, SourceLocation
from publisher.report import Run
from publisher.vault import load_vault

CORPORA = ROOT.parent / "shared" / "corpora"
FIELDS = {"book", "books", "path", "line", "column", "severity", "code", "message", "hint", "target", "resolution"}
CODE = re.compile(r"[a-z]+(\.[a-z]+(-[a-z]+)*)+")


# ---------------------------------------------------------------- the registry
def _calls() -> list[tuple[str, int, str, ast.Call]]:
    """(file, line, severity the call makes, call) of every call in publisher/ that makes a diagnostic."""
    out = []
    for file in sorted((ROOT / "publisher").rglob("*.py")):
        if file.name == "diagnostics.py":  # the Reporter's own methods pass their `code` on
            continue
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "Diagnostic" and node.args and isinstance(node.args[0], ast.Attribute):
                out.append((file.name, node.lineno, node.args[0].attr.lower(), node))
            elif name in ("warning", "error", "info", "warn") and isinstance(func, ast.Attribute) \
                    and not (isinstance(func.value, ast.Name) and func.value.id in ("logging", "warnings")):
                out.append((file.name, node.lineno, {"warn": "warning"}.get(name, name), node))
    return out


def _code_of(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == "code":
            return kw.value
    position = 4 if name == "Diagnostic" else 3  # Diagnostic(severity, message, location, hint, code)
    return call.args[position] if len(call.args) > position else None


def test_every_diagnostic_of_the_code_base_has_a_registered_code():
    calls = _calls()
    assert len(calls) > 100
    problems, used = [], set()
    for file, line, severity, call in calls:
        name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr
        code = _code_of(call, name)
        if code is None:
            if name != "warn":  # sanitize's warn() has a default code, checked below
                problems.append(f"{file}:{line}: no code=")
            continue
        if isinstance(code, ast.Constant):
            used.add(code.value)
            if code.value not in CODES:
                problems.append(f"{file}:{line}: '{code.value}' is not in publisher/codes.py")
            elif CODES[code.value].severity != severity:
                problems.append(f"{file}:{line}: '{code.value}' is a {CODES[code.value].severity} in the registry, a {severity} here")
    # defaults of parameters named `code` (sanitize's warn) are codes too
    for file in (ROOT / "publisher").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                args = node.args.args[len(node.args.args) - len(node.args.defaults):]
                for arg, default in zip(args, node.args.defaults, strict=True):
                    if arg.arg == "code" and isinstance(default, ast.Constant) and default.value:
                        used.add(default.value)
                        assert default.value in CODES, f"{file.name}:{node.lineno}: '{default.value}' is not registered"
            elif isinstance(node, ast.Call):  # code= passed on to a helper that makes the diagnostic
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant) and kw.value.value:
                        used.add(kw.value.value)
                        assert kw.value.value in CODES, f"{file.name}:{node.lineno}: '{kw.value.value}' is not registered"
    assert problems == []
    assert sorted(set(CODES) - used) == []  # no code in the registry that nothing reports


def test_codes_are_dotted_lowercase_area_first_with_a_meaning():
    for name, code in CODES.items():
        assert CODE.fullmatch(name), name
        assert code.severity in ("error", "warning", "info") and code.meaning


def test_readme_lists_every_code():
    assert markdown_table() in (ROOT / "README.md").read_text(encoding="utf-8"), \
        "README's table of codes differs from publisher.codes.markdown_table(): paste its output"


def test_a_line_ends_with_its_code():
    d = Diagnostic(Severity.WARNING, "unresolved link to 'Vercel'", SourceLocation("a.md", 3, 7), "a hint", "link.unresolved")
    assert d.format() == "a.md:3:7: warning: unresolved link to 'Vercel' (a hint) [link.unresolved]"


# ---------------------------------------------------------------- grouping and the summary
def _link(n: int, target: str = "Vercel", note: str = "a.md", severity=Severity.WARNING) -> Diagnostic:
    return Diagnostic(severity, f"unresolved link to '{target}'", SourceLocation(note, n, 1), code="link.unresolved",
                      target=target, resolution="unresolved")


def test_each_code_shows_its_first_lines_then_a_count_and_every_error():
    diagnostics = [_link(n) for n in range(1, 9)]
    diagnostics += [Diagnostic(Severity.ERROR, f"not a text file {n}", SourceLocation("b.md"), code="vault.encoding") for n in range(7)]
    diagnostics.append(Diagnostic(Severity.INFO, "link to 'x.md', which is not in this book", SourceLocation("c.md", 1, 1),
                                  code="link.outside", target="x", resolution="outside: footnote"))
    lines = Run().book_lines("book.yml", diagnostics)
    assert [line for line in lines if "[link.unresolved]" in line] == [d.format() for d in diagnostics[:5]] + \
        ["... and 3 more [link.unresolved]"]
    assert sum("[vault.encoding]" in line for line in lines) == 7  # errors are never hidden
    assert not any("link.outside" in line for line in lines)  # information: in the report and the summary
    assert Run(verbose=True).book_lines("book.yml", diagnostics) == [d.format() for d in diagnostics]


def test_the_summary_counts_codes_and_names_the_most_linked_missing_notes():
    run = Run()
    diagnostics = [_link(n, "Vercel", f"n{n % 3}.md") for n in range(12)] + [_link(1, "vercel#Pricing", "z.md")]
    diagnostics += [_link(n, f"Other {n}") for n in range(2)]
    run.book_lines("book.yml", diagnostics)
    lines = run.summary_lines("report.jsonl")
    assert lines[0] == "publisher: 15 diagnostics in book.yml: 15 warnings; every one in report.jsonl"
    assert re.fullmatch(r" +15 +warning +link\.unresolved +a link to a note or file that does not exist", lines[1])
    assert lines[2:4] == ["  most-linked missing notes:", "    Vercel: 13 links in 4 notes"]
    assert len(lines) == 6


def test_nothing_to_summarize_when_every_line_was_shown():
    run = Run()
    run.book_lines("book.yml", [_link(1)])
    assert run.summary_lines() == []


def test_two_books_sharing_a_diagnostic_show_it_once_naming_the_books():
    run = Run()
    shared, own = _link(1, "Shared"), _link(2, "Own")
    assert run.book_lines("a.yml", [shared]) == [shared.format()]
    assert run.book_lines("b.yml", [shared, own]) == [own.format(), "b.yml: 1 diagnostic reported above for a.yml also concerns this book"]
    summary = run.summary_lines()
    assert summary[0] == "publisher: 2 diagnostics in 2 books: 2 warnings"
    assert summary[-1] == "  1 diagnostic shared by a.yml, b.yml, printed once"
    records = [json.loads(line) for line in run.report_lines()]
    assert [r["books"] for r in records] == [["a.yml", "b.yml"], ["b.yml"]]


# ---------------------------------------------------------------- the command line
def _vault(tmp_path: Path, manifest_extra: str = "", notes: int = 9) -> Path:
    """A vault of notes that link to missing notes (Vercel from every one) and to one note the book leaves out."""
    vault = tmp_path / "kb"
    vault.mkdir()
    for n in range(notes):
        (vault / f"note{n}.md").write_text(f"# Note {n}\n\nSee [[Vercel]], [[Missing {n}]] and [[left-out]].\n", encoding="utf-8")
    (vault / "left-out.md").write_text("# Left out\n\nNot in the book.\n", encoding="utf-8")
    manifest = tmp_path / "book.yml"
    manifest.write_text(f"title: T\nsource: kb\nformats: [epub]\n{manifest_extra}chapters:\n  - {{glob: 'note*.md'}}\n",
                        encoding="utf-8")
    return manifest


def test_report_holds_every_diagnostic_as_json_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    manifest = _vault(tmp_path)
    assert main(["check", str(manifest), "--report", "out/report.jsonl"]) == 0
    err = capsys.readouterr().err.splitlines()
    lines = (tmp_path / "out" / "report.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert all(set(r) == FIELDS for r in records)
    codes = [r["code"] for r in records]
    assert codes.count("link.unresolved") == 18 and codes.count("link.outside") == 9 and len(codes) == 27
    vercel = next(r for r in records if r["target"] == "Vercel")
    assert vercel == {"book": "book.yml", "books": ["book.yml"], "path": "kb/note0.md", "line": 3, "column": 5,
                      "severity": "warning", "code": "link.unresolved", "message": "unresolved link to 'Vercel'",
                      "hint": None, "target": "Vercel", "resolution": "unresolved"}
    outside = next(r for r in records if r["code"] == "link.outside")
    assert (outside["severity"], outside["target"], outside["resolution"]) == ("info", "left-out", "outside: footnote")
    # the terminal: 5 of the 18, one line for the rest, no information line by line; the summary names the file
    assert sum(line.endswith("[link.unresolved]") and ": warning: " in line for line in err) == 5
    assert "... and 13 more [link.unresolved]" in err
    assert not any("[link.outside]" in line for line in err)
    assert "publisher: 27 diagnostics in book.yml: 18 warnings, 9 info; every one in out/report.jsonl" in err
    assert "    Vercel: 9 links in 9 notes" in err
    assert "book.yml: 0 error(s), 18 warning(s), 9 info" in err
    assert not list((tmp_path / "out").glob(".*.tmp"))  # written under a temporary name, renamed into place


def test_links_the_edition_leaves_out_are_information_that_strict_does_not_count(tmp_path, capsys):
    manifest = _vault(tmp_path, notes=2)
    for n in range(2):  # no missing note: only the link to the article the edition leaves out
        (tmp_path / "kb" / f"note{n}.md").write_text("# Note\n\nSee [[left-out]].\n", encoding="utf-8")
    assert main(["check", str(manifest), "--strict"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith("book.yml: 0 error(s), 0 warning(s), 2 info")
    assert "links: 0 resolved, 2 outside" in err
    assert main(["check", str(manifest), "--verbose"]) == 0  # --verbose prints them
    err = capsys.readouterr().err
    assert ": warning: " not in err and err.count(": info: link to 'left-out.md', which is not in this book [link.outside]") == 2


def test_a_manifest_ignores_or_promotes_codes(tmp_path, capsys):
    manifest = _vault(tmp_path, "diagnostics: {ignore: [link.unresolved], error: [link.outside]}\n", notes=2)
    assert main(["check", str(manifest), "--report", str(tmp_path / "r.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "link.unresolved" not in err
    assert err.count(": error: link to 'left-out.md', which is not in this book [link.outside]") == 2
    codes = {json.loads(line)["code"] for line in (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()}
    assert codes == {"link.outside"}


def test_an_unknown_code_is_a_manifest_error_with_its_place_and_the_nearest_code(tmp_path, capsys):
    manifest = _vault(tmp_path, "diagnostics:\n  ignore: [link.unresolve, vault.encoding]\n", notes=1)
    assert main(["check", str(manifest)]) == 2
    assert capsys.readouterr().err.splitlines()[:2] == [
        f"{manifest}:5:12: error: diagnostics.ignore[0]: no diagnostic code 'link.unresolve' "
        "(did you mean 'link.unresolved'?) [manifest.unknown-code]",
        f"{manifest}:5:28: error: diagnostics.ignore[1]: 'vault.encoding' is an error; it cannot be ignored [manifest.unknown-code]",
    ]


def test_each_book_prints_its_lines_when_it_is_done(tmp_path):
    first = _vault(tmp_path, notes=1)
    second = tmp_path / "second.yml"
    second.write_text(first.read_text(encoding="utf-8").replace("note*.md", "left-out.md"), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "publisher", "build", "book.yml", "second.yml", "--out", "out"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    lines = run.stdout.splitlines()
    assert run.returncode == 0, lines
    order = [next(i for i, line in enumerate(lines) if text in line) for text in
             ("wrote out/book.epub", "unresolved link to 'Vercel'", "[publisher] second.yml: load", "wrote out/second.epub")]
    assert order == sorted(order), lines


# ---------------------------------------------------------------- real vaults
@pytest.mark.parametrize("name", ["de-wiki", "kepano-vault"])
def test_a_whole_vault_prints_a_screenful_and_reports_everything(name, tmp_path):
    root = CORPORA / name
    if not root.is_dir():
        pytest.skip(f"no corpora at {CORPORA} (the shared folder of real vaults is absent)")
    manifest = tmp_path / "book.yml"
    # the notes whose front matter is not YAML are left out, as in test_links: in a book they are errors
    broken = sorted({Path(d.location.path).relative_to(root).as_posix() for d in load_vault(root).problems if d.is_error})
    manifest.write_text(f'title: All\nsource: "{root}"\nformats: [epub]\nchapters:\n'
                        f'  - {{glob: "**/*.md", exclude: {json.dumps(broken)}}}\n', encoding="utf-8")

    def check(*extra: str) -> list[str]:
        run = subprocess.run([sys.executable, "-m", "publisher", "check", "book.yml", *extra], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr[-2000:]
        return run.stderr.splitlines()

    err = check("--report", "report.jsonl")
    records = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()]
    every = [line for line in check("--verbose") if re.search(r": (error|warning|info): ", line)]
    assert 30 < len(records) == len(every)
    assert len(err) <= 60, "\n".join(err)
    assert all(r["code"] in CODES and set(r) == FIELDS for r in records)
    assert any(line.startswith("publisher: ") and line.endswith("; every one in report.jsonl") for line in err)
