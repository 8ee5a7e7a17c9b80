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
    assert "installed: actual_text,fixed_pages,page_counters,target_names,trailing_spaces\n" in done.stdout
    engine = [line for line in done.stderr.splitlines() if line.endswith("[pdf.engine]")]
    assert engine == [
        f"publisher: warning: WeasyPrint {version('weasyprint')}: {weasy.LOST['outside_links']} "
        "(weasyprint.pdf.resolve_links takes (pages, keep_outside), not (pages)) "
        f"(publisher is tested with weasyprint{weasy.TESTED}) [pdf.engine]"]
    pdfs = list(tmp_path.glob("**/*.pdf"))
    assert len(pdfs) == 1 and pdf_text(pdfs[0]).strip()


def _lines(html: str) -> list[tuple[str, float]]:
    """Each line of the first page: its text and the width of its first piece of text."""
    import weasyprint
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    found: list[tuple[str, float]] = []

    def walk(box):
        if isinstance(box, LineBox):
            texts = [b for b in box.descendants() if isinstance(b, TextBox)]
            found.append(("".join(b.text for b in texts), texts[0].width))
        else:
            for child in getattr(box, "children", ()):
                walk(child)

    walk(weasyprint.HTML(string=html).render().pages[0]._page_box)
    return found


def test_words_that_fit_without_their_last_space_stay_on_their_line():
    # Change 5: the sentence fits a line of its own width, but not with the space before <em>; WeasyPrint 70
    # alone puts "The" on a line by itself.
    sentence = "The quick brown fox jumps over the lazy dog near the bank."
    page = "@page { size: 500px 200px; margin: 10px } body { margin: 0; font: 12px 'DejaVu Serif' } p { margin: 0 }"
    (_, width), = _lines(f"<html><head><style>{page}</style></head><body><p>{sentence}</p></body></html>")
    html = f"<html><head><style>{page} p {{ width: {width + 0.01}px }}</style></head><body><p>{sentence} <em>Then more.</em></p></body></html>"
    assert [text for text, _ in _lines(html)][:2] == ["The", "quick brown fox jumps over the lazy dog near the bank."]
    with weasy.tuned(""):
        assert [text for text, _ in _lines(html)] == [sentence, "Then more."]
        wider = html.replace(f"{width + 0.01}px", f"{width + 60}px")  # room for "Then": it follows on the line
        assert [text for text, _ in _lines(wider)] == [f"{sentence} Then", "more."]
