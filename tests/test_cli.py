"""The command line: exit codes, one-line errors, the formats listing."""

from __future__ import annotations

import subprocess
import sys

from conftest import DATA

from publisher.cli import main


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["publisher: error: no command given (try 'publisher build books/handbook.yml') [usage.arguments]"]


def test_unknown_option_is_one_line(capsys):
    assert main(["build", "--colour", "x.yml"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("publisher: error: unrecognized arguments: --colour")


def test_unknown_format_suggests_the_nearest(capsys, tmp_path):
    assert main(["build", str(DATA / "tiny.yml"), "--format", "dcox", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "publisher: error: no backend for format 'dcox' (available: docx, epub, html, pdf) (did you mean 'docx'?) [usage.format]"
    assert not list(tmp_path.iterdir())


def test_missing_manifest(capsys, monkeypatch):
    monkeypatch.chdir(DATA)
    assert main(["check", "nope.yml"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == "nope.yml: error: no such manifest [manifest.read]"


def test_formats_lists_the_builtin_backends(capsys):
    assert main(["formats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines if line.split("\t")[0] in ("docx", "epub", "html", "pdf")] == ["docx", "epub", "html", "pdf"]


def test_strict_turns_warnings_into_exit_1(capsys, monkeypatch):
    monkeypatch.chdir(DATA)
    assert main(["check", "tiny.yml"]) == 0
    assert main(["check", "tiny.yml", "--strict"]) == 1


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "publisher", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("publisher ")


def test_the_command_keeps_its_exit_code_and_output_when_it_skips_the_teardown():
    # entry() leaves through os._exit: the code must still be main()'s, and both streams whole
    def run(*args):
        return subprocess.run([sys.executable, "-m", "publisher", *args], capture_output=True, text=True, cwd=DATA)

    ok, strict, usage = run("check", "tiny.yml"), run("check", "tiny.yml", "--strict"), run("check", "nope.yml")
    assert (ok.returncode, strict.returncode, usage.returncode) == (0, 1, 2)
    assert ok.stderr.splitlines()[-1] == "tiny.yml: 0 error(s), 1 warning(s), 1 info"
    assert "tiny.yml: error: 1 warning(s) under --strict" in strict.stderr.splitlines()
    assert usage.stderr.splitlines()[0] == "nope.yml: error: no such manifest [manifest.read]"
