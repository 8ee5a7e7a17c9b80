"""The PDF of the benchmark's articles made by the tools people compare publisher with (`make bench`
measures each as one process, in the same run and on the same article files as publisher's PDF):

    python bench/peers.py typst OUT.pdf FILE.md...        # pandoc -> Typst markup -> the `typst` package
    python bench/peers.py weasyprint OUT.pdf FILE.md...   # pandoc -> HTML -> WeasyPrint, MINIMAL_CSS
    python bench/peers.py typst-book OUT.pdf MANIFEST     # publisher's book -> pandoc's typst writer -> typst

Run in the vault folder (the files are relative to it). Prints the PDF's page count. `typst-book` is not a
peer but a sketch of another PDF engine for publisher (#15): the book publisher gathers and normalizes from
MANIFEST (the same parts, chapters, cross-references and back matter its PDF has; nothing cached), written
by pandoc's typst writer and laid out by Typst with bench/typst-book.typ, which keeps the default theme's
costly print features (a page number after every cross-reference, running heads, justified and hyphenated
text, the contents) but not its look. The `typst` package is
a bench-only dependency (pyproject's `bench` extra, which `make bench` installs).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

# The ten lines a writer would start from: a page, a body face, headings, code and tables.
MINIMAL_CSS = """
@page { size: A4; margin: 22mm 26mm; @bottom-center { content: counter(page); } }
html { font-family: "DejaVu Serif", serif; font-size: 10.5pt; line-height: 1.38; }
h1, h2, h3 { font-family: "DejaVu Sans", sans-serif; line-height: 1.2; break-after: avoid; }
h1 { font-size: 20pt; break-before: page; }
h2 { font-size: 14pt; }
pre, code { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; }
pre { white-space: pre-wrap; background: #f4f4f4; padding: 2mm; }
table { border-collapse: collapse; }
td, th { border: 0.5pt solid #999; padding: 1mm 2mm; }
blockquote { margin-left: 6mm; color: #333; }
"""


def pages(pdf: Path) -> int:
    import pypdf

    return len(pypdf.PdfReader(pdf).pages)


def typst_book(manifest: Path) -> bytes:
    """Typst markup of the book publisher makes of MANIFEST: its parts, chapters and back matter as the PDF
    has them (no front matter: the sketch's contents stands for it), through pandoc's typst writer."""
    import publisher
    from publisher import pandoc, render
    from publisher import tree as pd

    book = publisher.load_book(manifest).book
    blocks: list[dict] = []
    for part in book.parts:
        if part.title:
            blocks.append(pd.header(1, part.id, pd.text_inlines(part.title), classes=["part"]))
        for chapter in part.chapters:
            blocks.extend(render.chapter_blocks(chapter))
    for _, _, section in render.back_matter(book, 1):
        blocks.extend(section)
    return pandoc.run_pandoc(["-f", "json", "-t", "typst"], pandoc.document(blocks, {}), binary=True)


def main(argv: list[str]) -> int:
    import pypandoc

    kind, out, files = argv[0], Path(argv[1]).resolve(), argv[2:]
    pandoc = pypandoc.get_pandoc_path()
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "typst":
            import typst

            source = Path(tmp) / "book.typ"
            subprocess.run([pandoc, *files, "-s", "-t", "typst", "-V", "papersize=a4", "-o", str(source)], check=True)
            typst.compile(str(source), output=str(out))
        elif kind == "weasyprint":
            import weasyprint

            css = Path(tmp) / "minimal.css"
            css.write_text(MINIMAL_CSS, encoding="utf-8")
            html = Path(tmp) / "book.html"
            subprocess.run([pandoc, *files, "-s", "-t", "html5", "--css", str(css), "-o", str(html)], check=True)
            weasyprint.HTML(filename=str(html), base_url=str(Path.cwd()) + "/").write_pdf(out)
        elif kind == "typst-book":
            import typst

            source = Path(tmp) / "book.typ"
            source.write_bytes((Path(__file__).parent / "typst-book.typ").read_bytes() + typst_book(Path(files[0])))
            typst.compile(str(source), output=str(out))
        else:
            print(f"peers.py: unknown kind {kind!r} (typst, weasyprint or typst-book)", file=sys.stderr)
            return 2
    print(pages(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
