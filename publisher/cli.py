"""The command line: a thin shell over publisher.build() and publisher.load_book().

    publisher build MANIFEST... [--format pdf|epub|docx]... [--out DIR] [--strict] [--draft] [--jobs N] [--quiet] [--watch]
    publisher check MANIFEST... [--strict] [--vault] [--verbose] [--report FILE]
    publisher formats
    publisher new DIR [--from VAULT]

stderr carries the diagnostics only. `build` shows its progress (progress.py) live on stderr when that is a
terminal, else as a few `[publisher] ...` lines on stdout beside its `wrote ...` lines; --quiet, neither.
How the diagnostics are grouped, summarized and reported: report.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import __version__, progress, report
from .diagnostics import Diagnostic, PublisherError, Reporter, Severity, SourceLocation, UsageError, display_path
from .report import EXIT_CONTENT, EXIT_OK, print_diagnostics


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as every other usage error
        raise UsageError(Diagnostic(Severity.ERROR, message, hint=f"see '{self.prog} --help'", code="usage.arguments"))


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
    _report_options(b)
    b.add_argument("--watch", "-w", action="store_true",
                   help="build, then rebuild whenever the manifest, its knowledge base or its theme changes (Ctrl-C stops)")
    c = sub.add_parser("check", help="validate manifests and their knowledge base; write nothing")
    c.add_argument("manifests", nargs="+", metavar="MANIFEST")
    c.add_argument("--strict", action="store_true", help="fail (exit 1) on any warning")
    c.add_argument("--vault", action="store_true",
                   help="also report what is wrong with every note of the knowledge base, selected or not")
    _report_options(c)
    ls = sub.add_parser("list", help="print the table of contents a manifest selects; write nothing")
    ls.add_argument("manifests", nargs="+", metavar="MANIFEST")
    sub.add_parser("formats", help="list the installed backends")
    n = sub.add_parser("new", help="create a small working vault and its manifest, or a manifest for a vault")
    n.add_argument("dir", metavar="DIR", help="a new (or empty) folder; with --from, where book.yml is written")
    n.add_argument("--from", dest="source", metavar="VAULT", help="write a manifest for this existing vault instead")
    s = sub.add_parser("serve", help="serve the web edition on 127.0.0.1, rebuilt and reloaded as files change")
    s.add_argument("manifest", metavar="MANIFEST")
    s.add_argument("--port", "-p", type=int, default=8000, help="the port (default 8000)")
    return p


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", "-v", action="store_true",
                   help=f"print every diagnostic (else the first {report.LIMIT} of each code, and no information)")
    p.add_argument("--report", metavar="FILE", help="write every diagnostic of the run to FILE as JSON Lines")


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
            from .collector import collector_paused
            from .tree import facts_memo

            # the blocks' facts found while normalizing serve the backends' checks; no collector passes
            # over the book's millions of objects meanwhile (see collector.collector_paused)
            if args.vault:
                _vault_problems(manifest, reporter)
            with facts_memo(), collector_paused():
                loaded = load_book(manifest, reporter, check=True)
                check_book(loaded.book, None, reporter)
            return EXIT_OK, [], _link_report(loaded, reporter)
        return EXIT_OK, build(manifest, args.formats, args.out, reporter=reporter, draft=args.draft,
                              strict=getattr(args, "strict", False))
    except PublisherError as exc:
        reporter.extend(exc.diagnostics)
        return exc.exit_code, []
    except Exception as exc:  # a bug of ours: one line, never a traceback (PUBLISHER_DEBUG=1 shows it)
        if os.environ.get("PUBLISHER_DEBUG"):
            raise
        reporter.error(f"internal error: {type(exc).__name__}: {exc}", SourceLocation(manifest),
                       "please report this; PUBLISHER_DEBUG=1 shows the traceback", code="internal.error")
        return EXIT_CONTENT, []


def _contents(manifest: str, reporter: Reporter) -> list[str]:
    from .manifest import load_manifest
    from .select import outline, select
    from .vault import load_vault

    m = load_manifest(Path(manifest), reporter)
    return outline(m, select(m, load_vault(m.source, reporter), reporter))


def _vault_problems(manifest: str, reporter: Reporter) -> None:
    """check --vault: what is wrong with each note of the manifest's knowledge base, whether the book selects
    it or not (a build reports those of the notes it selects only)."""
    from .manifest import load_manifest
    from .vault import load_vault

    reporter.extend(load_vault(load_manifest(Path(manifest)).source).problems)


def _place(d: Diagnostic) -> tuple:
    return (d.location.path, d.location.line, d.location.col) if d.location else ("", 0, 0)


def _link_report(loaded, reporter: Reporter) -> str:
    """check's link report: every unresolved, ambiguous, outside link and placeholder, grouped by article in
    the order of their lines (after the other diagnostics); returns the line that counts them."""
    from .links import summary

    links = [d for d in reporter.diagnostics if d.code.startswith("link.")]
    others = [d for d in reporter.diagnostics if not d.code.startswith("link.")]
    reporter.diagnostics[:] = others + sorted(links, key=_place)
    return summary(loaded.links)


def main(argv: list[str] | None = None) -> int:
    try:
        args = make_parser().parse_args(argv)
        if args.command is None:
            raise UsageError(Diagnostic(Severity.ERROR, "no command given", hint="try 'publisher build books/handbook.yml'", code="usage.arguments"))
        if args.command == "formats":
            from .backends import available

            for name, target in available().items():
                print(f"{name}\t{target}")
            return EXIT_OK
        if args.command == "new":
            from .scaffold import run_new

            return run_new(args.dir, args.source)
        if args.command == "serve":
            from .serve import serve

            return serve(args)
        if getattr(args, "jobs", 1) < 1:
            raise UsageError(Diagnostic(Severity.ERROR, "--jobs must be at least 1", code="usage.arguments"))
    except PublisherError as exc:
        print_diagnostics(exc.diagnostics)
        return exc.exit_code

    display = progress.display_for(args.quiet) if args.command == "build" else progress.Display()
    try:
        if getattr(args, "watch", False):
            from .watch import watch

            return watch(args, display, lambda paths: run(args, display))
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
    """Build (or check, or list) every manifest of args, print each one's diagnostics when it is done (the
    display paused meanwhile), then the run's summary; write --report; the exit code."""
    jobs = getattr(args, "jobs", 1)
    pairs = [(m, Reporter()) for m in args.manifests]
    shown = report.Run(verbose=getattr(args, "verbose", False))

    def one(pair: tuple[str, Reporter]) -> int:
        manifest, reporter = pair
        result = _run_one(manifest, args, reporter, display)
        with display.paused():
            return _done(manifest, reporter, result, args, shown)

    with display:  # a live display stops here, before the summary is printed
        if jobs == 1 or len(pairs) == 1:  # in this thread: Ctrl-C stops the build at once
            statuses = [one(pair) for pair in pairs]
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                statuses = list(pool.map(one, pairs))
    code = max(statuses, default=EXIT_OK)
    target = getattr(args, "report", None)
    if target:
        code = max(code, _write_report(Path(target), shown))
    for line in shown.summary_lines(display_path(target) if target else None):
        print(line, file=sys.stderr)
    sys.stdout.flush()
    return code


def _done(manifest: str, reporter: Reporter, result: tuple, args, shown: report.Run) -> int:
    """Print what one manifest's run wrote and reported (its diagnostics grouped by report.Run); its status."""
    status, written, *link_report = result
    name = display_path(manifest)
    if args.command == "build" and not getattr(args, "quiet", False):
        for path in written:
            print(f"wrote {display_path(path)}")
    sys.stdout.flush()  # stdout and stderr into one log: whole lines, in order
    for line in shown.book_lines(name, reporter.diagnostics):
        print(line, file=sys.stderr)
    for line in link_report:
        print(f"{name}: {line}", file=sys.stderr)
    errors, warnings, infos = len(reporter.errors), len(reporter.warnings), len(reporter.infos)
    if status == EXIT_OK and errors:
        status = EXIT_CONTENT
    if status == EXIT_OK and getattr(args, "strict", False) and warnings:
        print(f"{name}: error: {warnings} warning(s) under --strict", file=sys.stderr)
        status = EXIT_CONTENT
    if args.command == "check":
        print(f"{name}: {errors} error(s), {warnings} warning(s)" + (f", {infos} info" if infos else ""), file=sys.stderr)
    sys.stderr.flush()
    return status


def _write_report(target: Path, shown: report.Run) -> int:
    """--report FILE, written whole or not at all; a status (EXIT_CONTENT when it cannot be written)."""
    from .backends import write_atomic

    text = "".join(line + "\n" for line in shown.report_lines())
    try:
        write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        print_diagnostics([Diagnostic(Severity.ERROR, f"cannot write the report: {exc.strerror or exc}", SourceLocation(str(target)),
                           code="output.write")])
        return EXIT_CONTENT
    return EXIT_OK
