"""WeasyPrint contained: the changes publisher makes to WeasyPrint's internals (publisher/backends/weasy.py)
apply to the version pyproject.toml pins, and one that does not apply costs a warning, not the build."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import version

from conftest import DATA, ROOT, pdf_text

from publisher.backends import weasy


def test_the_installed_weasyprint_is_the_pinned_one_and_takes_every_change():
    pinned = next(d for d in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
                  if d.startswith("weasyprint"))
    assert pinned == f"weasyprint{weasy.TESTED}"
    low, high = (int(b.lstrip("<>=")) for b in weasy.TESTED.split(","))
    assert low <= int(version("weasyprint").split(".")[0]) < high
    assert {name: weasy.mismatch(name) for name in weasy.REQUIRES} == dict.fromkeys(weasy.REQUIRES, "")
    assert weasy.installed() == frozenset(weasy.REQUIRES) == frozenset(weasy.INSTALLERS)
    assert weasy.problems() == []


def test_a_change_that_does_not_apply_is_one_warning_and_the_build_goes_on(tmp_path):
    # A WeasyPrint whose resolve_links takes another parameter: that change is left out, the others made.
    script = textwrap.dedent(f"""
        import sys
        import weasyprint.pdf as pdf

        original = pdf.resolve_links

        def resolve_links(pages, keep_outside=False):
            return original(pages)

        pdf.resolve_links = resolve_links
        from publisher.backends import weasy
        from publisher.cli import main

        print("installed:", ",".join(sorted(weasy.installed())))
        sys.exit(main(["build", {str(DATA / "tiny.yml")!r}, "-f", "pdf", "--out", {str(tmp_path)!r}]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "installed: actual_text,fixed_pages,page_counters,target_names\n" in done.stdout
    engine = [line for line in done.stderr.splitlines() if line.endswith("[pdf.engine]")]
    assert engine == [
        f"publisher: warning: WeasyPrint {version('weasyprint')}: {weasy.LOST['outside_links']} "
        "(weasyprint.pdf.resolve_links takes (pages, keep_outside), not (pages)) "
        f"(publisher is tested with weasyprint{weasy.TESTED}) [pdf.engine]"]
    pdfs = list(tmp_path.glob("**/*.pdf"))
    assert len(pdfs) == 1 and pdf_text(pdfs[0]).strip()
