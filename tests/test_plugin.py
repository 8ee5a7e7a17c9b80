"""Backends are pluggable: a package under tests/plugins declares one through the `publisher.backends`
entry-point group, is installed with pip, and builds a book."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import DATA

PLUGIN = Path(__file__).parent / "plugins" / "publisher-txt"


def test_a_third_party_backend_builds_a_book(tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
         "--target", str(site), str(PLUGIN)],
        check=True, capture_output=True, text=True,
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    formats = subprocess.run([sys.executable, "-m", "publisher", "formats"], env=env, capture_output=True, text=True, check=True)
    assert "txt\tpublisher_txt:TxtBackend" in formats.stdout.splitlines()

    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "publisher", "build", str(DATA / "tiny.yml"), "--format", "txt", "--out", str(out)],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = (out / "tiny.txt").read_text(encoding="utf-8").splitlines()
    assert [line for line in text if line.startswith("#")] == [
        "# Basics", "## Alpha: The First Article", "## Beta", "# Advanced", "## Going deeper",
    ]
    assert not (out / "tiny.pdf").exists()
