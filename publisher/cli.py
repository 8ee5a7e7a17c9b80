"""The command line: a thin shell over publisher.build() and publisher.load_book().

    publisher build MANIFEST... [--format pdf|epub|docx]... [--out DIR] [--strict] [--draft] [--jobs N] [--quiet]
    publisher check MANIFEST... [--strict]
    publisher formats
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import __version__
from .diagnostics import Diagnostic, PublisherError, Reporter, Severity, SourceLocation, UsageError, display_path

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as every other usage error
        raise UsageError(Diagnostic(Severity.ERROR, message, hint=f"see '{self.prog} --help'"))


def make_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="publisher", description="Turn a knowledge base of Markdown articles into books.")
    p.add_argument("--version", action="version", version=f"publisher {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    b = sub.add_parser("build", help="build books from manifests")
    b.add_argument("manifests", nargs="+", metavar="MANIFEST")
    b.add_argument("--format", "-f", action="append", dest="formats", metavar="FORMAT", help="pdf, epub, docx, ... (repeatable)")
    b.add_argument("--out", "-o", metavar="DIR", help="output folder (default: the manifest's output.dir)")
    b.add_argument("--strict", action="store_true", help="fail (exit 1) on any warning")
    b.add_argument("--draft", action="store_true", help="mark broken links visibly in the output")
    b.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="build N manifests at once")
    b.add_argument("--quiet", "-q", action="store_true", help="print nothing but diagnostics")
    c = sub.add_parser("check", help="validate manifests and their knowledge base; write nothing")
    c.add_argument("manifests", nargs="+", metavar="MANIFEST")
    c.add_argument("--strict", action="store_true", help="fail (exit 1) on any warning")
    ls = sub.add_parser("list", help="print the table of contents a manifest selects; write nothing")
    ls.add_argument("manifests", nargs="+", metavar="MANIFEST")
    sub.add_parser("formats", help="list the installed backends")
    return p


def _print(diagnostics) -> None:
    for d in diagnostics:
        print(d.format(), file=sys.stderr)


def _run_one(manifest: str, args, reporter: Reporter) -> tuple[int, list[Path]]:
    from . import build, load_book

    try:
        if args.command == "list":
            print("\n".join(_contents(manifest, reporter)))
            return EXIT_OK, []
        if args.command == "check":
            loaded = load_book(manifest, reporter)
            _link_report(loaded, reporter)
            return EXIT_OK, []
        return EXIT_OK, build(manifest, args.formats, args.out, reporter=reporter, draft=args.draft)
    except PublisherError as exc:
        reporter.extend(exc.diagnostics)
        return exc.exit_code, []
    except Exception as exc:  # a bug of ours: one line, never a traceback (PUBLISHER_DEBUG=1 shows it)
        if os.environ.get("PUBLISHER_DEBUG"):
            raise
        reporter.error(f"internal error: {type(exc).__name__}: {exc}", SourceLocation(manifest),
                       "please report this; PUBLISHER_DEBUG=1 shows the traceback")
        return EXIT_CONTENT, []


def _contents(manifest: str, reporter: Reporter) -> list[str]:
    from .manifest import load_manifest
    from .select import outline, select
    from .vault import load_vault

    m = load_manifest(Path(manifest), reporter)
    return outline(m, select(m, load_vault(m.source, reporter), reporter))


def _link_report(loaded, reporter: Reporter) -> None:
    """check's summary: links that leave the book, then the counts."""
    for where, path in loaded.outside_links:
        reporter.add(Diagnostic(Severity.WARNING, f"link to '{path}', which is not in this book", where, code="link.outside"))


def main(argv: list[str] | None = None) -> int:
    try:
        args = make_parser().parse_args(argv)
        if args.command is None:
            raise UsageError(Diagnostic(Severity.ERROR, "no command given", hint="try 'publisher build books/handbook.yml'"))
        if args.command == "formats":
            from .backends import available

            for name, target in available().items():
                print(f"{name}\t{target}")
            return EXIT_OK
        if getattr(args, "jobs", 1) < 1:
            raise UsageError(Diagnostic(Severity.ERROR, "--jobs must be at least 1"))
    except PublisherError as exc:
        _print(exc.diagnostics)
        return exc.exit_code

    jobs = getattr(args, "jobs", 1)
    reporters = [Reporter() for _ in args.manifests]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda mr: _run_one(mr[0], args, mr[1]), zip(args.manifests, reporters, strict=True)))
    code = EXIT_OK
    for manifest, reporter, (status, written) in zip(args.manifests, reporters, results, strict=True):
        _print(reporter.diagnostics)
        errors, warnings = len(reporter.errors), len(reporter.warnings)
        if status == EXIT_OK and errors:
            status = EXIT_CONTENT
        if status == EXIT_OK and getattr(args, "strict", False) and warnings:
            print(f"{display_path(manifest)}: error: {warnings} warning(s) under --strict", file=sys.stderr)
            status = EXIT_CONTENT
        code = max(code, status)
        if args.command == "check":
            print(f"{display_path(manifest)}: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
        elif not getattr(args, "quiet", False):
            for path in written:
                print(f"wrote {display_path(path)}")
    return code
