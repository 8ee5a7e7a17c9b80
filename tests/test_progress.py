"""Progress of `publisher build`: plain `[publisher] ...` lines on stdout in a log, a live display on a
terminal (a real pty), nothing under --quiet; stderr holds the diagnostics alone in every case."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from conftest import DATA

from publisher.cli import main
from publisher.diagnostics import display_path
from publisher.progress import PREFIX

TINY = DATA / "tiny.yml"
WARNING = "vault/basics/beta.md:15:77: warning: unresolved link to 'nowhere-article' [link.unresolved]"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def progress_lines(out: str) -> list[str]:
    return [line.removeprefix(PREFIX) for line in out.splitlines() if line.startswith(PREFIX)]


def test_a_log_gets_one_line_per_stage_and_stderr_only_diagnostics(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(DATA)
    assert main(["build", "tiny.yml", "-f", "epub", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [WARNING]  # exactly as without progress
    lines = progress_lines(captured.out)
    assert lines[:-1] == ["tiny.yml: load", "tiny.yml: parse (3 articles)", "tiny.yml: normalize", "tiny.yml: epub"]
    assert re.fullmatch(r"tiny\.yml: done in \d+\.\d s \(3 articles, 1 file\)", lines[-1])
    assert [line for line in captured.out.splitlines() if not line.startswith(PREFIX)] == [
        f"wrote {display_path(tmp_path / 'tiny.epub')}"]


def test_quiet_prints_nothing_but_the_diagnostics(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(DATA)
    assert main(["build", "tiny.yml", "-f", "epub", "--out", str(tmp_path), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [WARNING]


def test_check_and_list_show_no_progress(monkeypatch, capsys):
    monkeypatch.chdir(DATA)
    main(["check", "tiny.yml"])
    main(["list", "tiny.yml"])
    captured = capsys.readouterr()
    assert PREFIX not in captured.out + captured.err


def test_pages_laid_out_by_weasyprint_are_counted(tmp_path, monkeypatch, capsys):
    import pypdf

    monkeypatch.chdir(DATA)
    assert main(["build", "tiny.yml", "-f", "pdf", "--out", str(tmp_path)]) == 0
    done = progress_lines(capsys.readouterr().out)[-1]
    laid_out = re.fullmatch(r"tiny\.yml: done in \d+\.\d s \(3 articles, (\d+) pages laid out, 1 file\)", done)
    assert laid_out, done
    pages = len(pypdf.PdfReader(tmp_path / "tiny.pdf").pages)
    assert pages <= int(laid_out[1]) <= 3 * pages  # every page at least once; again when a pass needs it


def test_parallel_builds_each_have_their_lines_whole(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    second = tmp_path / "second.yml"
    second.write_text(TINY.read_text(encoding="utf-8").replace("source: vault", f"source: {DATA / 'vault'}")
                      + "output: {name: second}\n", encoding="utf-8")
    assert main(["build", str(TINY), str(second), "-f", "epub", "-j", "2", "--out", str(tmp_path / "out")]) == 0
    lines = progress_lines(capsys.readouterr().out)
    for name in (display_path(TINY), "second.yml"):
        mine = [line.removeprefix(f"{name}: ") for line in lines if line.startswith(f"{name}: ")]
        assert mine[:4] == ["load", "parse (3 articles)", "normalize", "epub"] and mine[4].startswith("done in ")
    assert len(lines) == 10


def test_a_failed_build_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yml"
    bad.write_text("title: Bad\nsource: nowhere\nchapters: [x]\n", encoding="utf-8")
    assert main(["build", "bad.yml", "-f", "epub"]) == 2
    captured = capsys.readouterr()
    assert progress_lines(captured.out)[-1].startswith("bad.yml: failed in ")
    assert all(": error: " in line for line in captured.err.splitlines())


# ---------------------------------------------------------------- a real terminal
def run_in_pty(args: list[str], cwd: Path, columns: int = 100) -> tuple[int, str, str]:
    """Run publisher with stderr (and stdin) on a pseudo-terminal and stdout on a pipe; (exit code, what the
    terminal showed, stdout)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-m", "publisher", *args], cwd=cwd, env=env,
                            stdin=slave, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    out = proc.stdout.read().decode()
    proc.stdout.close()
    return proc.wait(timeout=30), shown.decode("utf-8", "replace"), out


def test_a_terminal_gets_a_live_display_then_whole_diagnostic_lines(tmp_path):
    code, shown, out = run_in_pty(["build", "tiny.yml", "-f", "epub", "--out", str(tmp_path)], DATA)
    assert code == 0, shown
    assert "Traceback" not in shown
    assert "\x1b[?25l" in shown and "\x1b[?25h" in shown  # the live display hid the cursor and gave it back
    frames = ANSI.sub("", shown).replace("\r\n", "\n").split("\r")
    assert any(re.search(r"tiny\.yml +(parse|normalize|epub)", f) for f in frames), frames[-3:]
    final = [line.rstrip() for line in frames[-1].split("\n")]
    assert re.fullmatch(r"✓ tiny\.yml +done +3 articles, 1 file +\d+\.\d s", final[0]), final
    # the diagnostic on a line of its own, printed when the book was done: the live rows erased, then drawn below it
    assert any(f.split("\n")[0].rstrip() == WARNING for f in frames[:-1]), frames[-3:]
    assert PREFIX not in shown + out  # no log lines on a terminal
    assert out.splitlines() == [f"wrote {tmp_path / 'tiny.epub'}"]  # outside the working folder: in full


def test_quiet_on_a_terminal_shows_only_the_diagnostics(tmp_path):
    code, shown, out = run_in_pty(["build", "tiny.yml", "-f", "epub", "--out", str(tmp_path), "--quiet"], DATA)
    assert code == 0
    assert shown.replace("\r\n", "\n") == WARNING + "\n"
    assert out == ""
