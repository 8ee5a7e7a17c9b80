"""One folder per manifest problem, each asserting the exact diagnostic lines and the exit code.

Regenerate the expected files with `make golden` after checking the new output by eye."""

from __future__ import annotations

import os

import pytest
from conftest import DATA

from publisher.cli import main

CASES = sorted(p for p in (DATA / "manifest-errors").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_manifest_problem_is_reported_exactly(case, monkeypatch, capsys):
    monkeypatch.chdir(DATA)
    code = main(["check", f"manifest-errors/{case.name}/book.yml"])
    captured = capsys.readouterr()
    got = captured.err + f"exit {code}\n"
    expected = case / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")
    assert "Traceback" not in captured.err


def test_every_problem_is_reported_at_once(monkeypatch, capsys):
    monkeypatch.chdir(DATA)
    assert main(["check", "manifest-errors/many-problems/book.yml"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(errors) == 3
