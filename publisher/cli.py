"""The command line: a thin shell over publisher.build() and publisher.load_book().

    publisher build MANIFEST... [--format pdf|epub|docx]... [--out DIR] [--strict] [--draft] [--jobs N] [--quiet] [--watch]
    publisher check MANIFEST... [--strict]
    publisher formats

stderr carries the diagnostics only. `build` shows its progress (progress.py) live on stderr when that is a
terminal, else as a few `[publisher] ...` lines on stdout beside its `wrote ...` lines; --quiet, neither.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import __version__, progress
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
    b.add_argument("--watch", "-w", action="store_true",
                   help="build, then rebuild whenever the manifest, its knowledge base or its theme changes (Ctrl-C stops)")
    c = sub.add_parser("check", help="validate manifests and their knowledge base; write nothing")
    c.add_argument("manifests", nargs="+", metavar="MANIFEST")
    c.add_argument("--strict", action="store_true", help="fail (exit 1) on any warning")
    ls = sub.add_parser("list", help="print the table of contents a manifest selects; write nothing")
    ls.add_argument("manifests", nargs="+", metavar="MANIFEST")
    sub.add_parser("formats", help="list the installed backends")
    s = sub.add_parser("serve", help="serve the web edition on 127.0.0.1, rebuilt and reloaded as files change")
    s.add_argument("manifest", metavar="MANIFEST")
    s.add_argument("--port", "-p", type=int, default=8000, help="the port (default 8000)")
    return p


def _print(diagnostics) -> None:
    for d in diagnostics:
        print(d.format(), file=sys.stderr)


def _run_one(manifest: str, args, reporter: Reporter, display: progress.Display | None = None) -> tuple:
    """(status, files written[, report lines]) of one manifest; its progress goes to display."""
    display = display if display is not None else progress.Display()
    tracker = display.tracker(display_path(manifest))
    with progress.tracking(tracker):
        result = _run_one_tracked(manifest, args, reporter)
    tracker.finish(result[0] == EXIT_OK and not reporter.errors)
    return result


def _run_one_tracked(manifest: str, args, reporter: Reporter) -> tuple:
    from . import build, load_book

    try:
        if args.command == "list":
            try:
                print("\n".join(_contents(manifest, reporter)), flush=True)
            except BrokenPipeError:  # `publisher list x.yml | head`
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more is written
            return EXIT_OK, []
        if args.command == "check":  # what a build of the manifest's formats would report, nothing written
            from .backends import check_book
            from .pandoc import _collector_paused, facts_memo

            # the blocks' facts found while normalizing serve the backends' checks; no collector passes
            # over the book's millions of objects meanwhile (see pandoc._collector_paused)
            with facts_memo(), _collector_paused():
                loaded = load_book(manifest, reporter, check=True)
                check_book(loaded.book, None, reporter)
            return EXIT_OK, [], _link_report(loaded, reporter)
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


def _place(d: Diagnostic) -> tuple:
    return (d.location.path, d.location.line, d.location.col) if d.location else ("", 0, 0)


def _link_report(loaded, reporter: Reporter) -> str:
    """check's link report: every unresolved, ambiguous, outside link and placeholder, grouped by article in
    the order of their lines (after the other diagnostics); returns the line that counts them."""
    from .links import summary

    for where, path in loaded.outside_links:
        reporter.add(Diagnostic(Severity.WARNING, f"link to '{path}', which is not in this book", where, code="link.outside"))
    links = [d for d in reporter.diagnostics if d.code.startswith("link.")]
    others = [d for d in reporter.diagnostics if not d.code.startswith("link.")]
    reporter.diagnostics[:] = others + sorted(links, key=_place)
    return summary(loaded.links)


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
        if args.command == "serve":
            from .serve import serve

            return serve(args)
        if getattr(args, "jobs", 1) < 1:
            raise UsageError(Diagnostic(Severity.ERROR, "--jobs must be at least 1"))
    except PublisherError as exc:
        _print(exc.diagnostics)
        return exc.exit_code

    display = progress.display_for(args.quiet) if args.command == "build" else progress.Display()
    try:
        if getattr(args, "watch", False):
            from .watch import watch

            return watch(args, display)
        return run(args, display)
    except KeyboardInterrupt:  # Ctrl-C: no traceback; every file written so far is whole (write_atomic)
        print("publisher: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The `publisher` command (and `python -m publisher`): main(), then out without the interpreter's
    teardown. A book is millions of small objects (at a thousand articles, a second of freeing them one by
    one, a fifth of `publisher check`); by the time main() returns, every file is written and closed
    (write_atomic), every worker thread and pandoc process has ended, and only the standard streams are
    left to flush."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a reader that went away, or a stream closed already
        pass
    os._exit(code)


def run(args, display: progress.Display) -> int:
    """Build (or check, or list) every manifest of args, print their diagnostics; the exit code."""
    jobs = getattr(args, "jobs", 1)
    reporters = [Reporter() for _ in args.manifests]
    pairs = list(zip(args.manifests, reporters, strict=True))
    with display:  # a live display stops here, before any diagnostic is printed
        if jobs == 1 or len(pairs) == 1:  # in this thread: Ctrl-C stops the build at once
            results = [_run_one(m, args, r, display) for m, r in pairs]
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                results = list(pool.map(lambda mr: _run_one(mr[0], args, mr[1], display), pairs))
    code = EXIT_OK
    for manifest, reporter, (status, written, *report) in zip(args.manifests, reporters, results, strict=True):
        sys.stdout.flush()  # stdout and stderr into one log: whole lines, in order
        _print(reporter.diagnostics)
        for line in report:
            print(f"{display_path(manifest)}: {line}", file=sys.stderr)
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
    sys.stdout.flush()
    return code
