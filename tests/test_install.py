"""An installable package: a wheel built from the repository, installed (not editable) into a fresh virtual
environment, builds a book from another folder with its built-in theme and starter vault.

The wheel is built by this environment's pip and setuptools, without build isolation, and installed without
its dependencies: the new environment reads those from this one's site-packages (a .pth file), so the test
asks no package index and still runs the installed code, not the checkout's."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from conftest import ROOT, epubcheck


def test_a_wheel_in_a_fresh_venv_builds_a_book_elsewhere(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("publisher-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "publisher/builtin_themes/default/theme.toml" in names
    assert "publisher/builtin_themes/default/reference.docx" in names
    assert "publisher/starter/book.yml" in names

    venv = tmp_path / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # --ignore-installed: this environment's own (editable) publisher is visible through the .pth file; it
    # must be neither taken for the install nor uninstalled
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--ignore-installed",
                    str(wheel)], env=env, check=True, capture_output=True, timeout=300)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([python, "-c", "import publisher, publisher.themes as t; print(publisher.__file__); "
                            "print(t.BUILTIN_THEMES)"], cwd=work, env=env, check=True, capture_output=True, text=True)
    module, themes = where.stdout.split()
    assert module.startswith(str(purelib)) and themes.startswith(str(purelib)), where.stdout
    publisher = venv / "bin" / "publisher"
    subprocess.run([publisher, "new", "first"], cwd=work, env=env, check=True, capture_output=True, timeout=60)
    done = subprocess.run([publisher, "build", "first/book.yml", "--format", "epub", "--format", "docx", "--quiet"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert (done.returncode, done.stderr) == (0, "")
    assert epubcheck(work / "first" / "build" / "home-networks.epub") == []
    assert (work / "first" / "build" / "home-networks.docx").stat().st_size > 10_000
