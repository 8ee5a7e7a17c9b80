"""`make bench`: how long each stage of publisher takes and how much memory it holds, on synthetic vaults
of N seed-shaped articles (bench/generate.py), beside the raw renderers measured in the same run.

    python bench/run.py                  # N = 50, 200, 1000 (the N=1000 PDF alone takes minutes)
    python bench/run.py --sizes 50,200   # or --quick for N = 50 only; --only pdf,epub,... for some stages
    python bench/run.py --sizes 1000 --merge   # add N = 1000 to the sizes of the last results

Every measurement runs in a fresh process, so its peak memory is its own. Peak memory is the largest sum
of the proportional set sizes (PSS) of the process and all its descendants (pandoc, worker processes),
sampled every 0.25 s from /proc, and never less than the Python process's own ru_maxrss. (Resident set
sizes would count a pandoc child forked from a 1 GB Python process as another 1 GB until it execs.) CPU time is that of the process and
every descendant it waited for. Nothing is cached between measurements: each one gets a fresh output
folder and a fresh XDG_CACHE_HOME, and anything a previous build left inside the benchmark vault is
removed, except where a warm cache is the point (the rebuild after one change, and `check` after a build).

What each stage means:
  load        manifest + vault + selection (publisher.manifest, .vault, .select)
  parse       normalize.assemble: every article through pandoc's reader (commonmark_x -> JSON tree)
  normalize   every step of publisher.normalize.STEPS, each timed by name
  glossary and indexes   the collect_glossary, collect_tags and build_index steps
  pdf|epub|docx          publisher.build() of that one format in a fresh process (load to written file);
              for the PDF, WeasyPrint's own time (HTML parsing, layout in render(), drawing and writing in
              Document.write_pdf()) and pandoc's writer (JSON -> HTML) are timed by wrapping those calls;
              for the EPUB, its number of XHTML content documents and the largest one's size (target h)
  all formats `publisher build MANIFEST` (pdf, epub and docx, as the manifest lists them)
  check       `publisher check MANIFEST` after a build (warm) and with nothing cached (cold)
  epub-warm   the EPUB again after a build: articles parsed already (the written-HTML cache emptied)
  rebuild     `publisher build -f epub -f docx` cold, then again after one article changed
  serve       `publisher serve`: after its first build, one article changed five times; each time, from the
              write to the page served with the change (the event that says the page changed, then the page
              fetched), what an open page waits for; the median of the five; CPU: the server's, in that time
Baselines: pandoc alone (`pandoc *.md -o book.epub|.docx`, its reader alone to JSON, and its writers
alone from that JSON) on the same article files, and WeasyPrint alone rendering the HTML publisher made
(the largest document it laid out: the whole book, or the largest part of a book laid out in parts).
Peers (`--only peers`, bench/peers.py), each one process on the same article files: pandoc -> Typst
markup -> the `typst` package, and pandoc -> HTML -> WeasyPrint with a ten-line stylesheet; with
publisher's PDF, each one's pages per second (target i: the whole PDF build at most 3x pandoc -> typst).
Beside them a sketch of another PDF engine (#15): publisher's own normalized book (load_book, nothing
cached) through pandoc's typst writer and Typst, with the theme's costly print features in
bench/typst-book.typ (a page number after every cross-reference, running heads, justification,
hyphenation, the contents).

Results: bench/results/latest.json, bench/results/latest.md (and README-table.md, the targets table).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
DEFAULT_SIZES = (50, 200, 1000)
PAGE = os.sysconf("SC_PAGE_SIZE")
GLOSSARY_STEPS = ("collect_glossary", "collect_tags", "build_index")
MB = 1024 * 1024

TARGETS = (
    # id, N it is judged at, what, limit, kind ("ratio" at most limit, or "seconds" / "MB" at most limit)
    ("a", 200, "pipeline's own work / whole PDF build", 0.10, "ratio"),
    ("b", 200, "EPUB build / pandoc's own EPUB (`pandoc *.md -o x.epub`)", 0.50, "ratio"),
    ("c", 200, "all three formats / PDF alone", 1.20, "ratio"),
    ("d", 1000, "peak memory, all three formats", 2048, "MB"),
    ("e", 200, "EPUB+DOCX rebuild after one change / cold EPUB+DOCX build", 0.25, "ratio"),
    ("f", 1000, "`publisher check` (after a build)", 5.0, "seconds"),
    ("g", 200, "`publisher serve`: one article changed -> the open page shows it", 1.5, "seconds"),
    ("h", 1000, "EPUB build / pandoc's own EPUB, whole book (largest content document)", 1.00, "ratio"),
    ("i", 200, "whole PDF build / pandoc -> typst, same articles (bench/peers.py)", 3.00, "ratio"),
    ("j", 1000, "peak memory, all three formats, every article in one chapter (#23)", 2048, "MB"),
    ("k", 1000, "all three formats: one chapter / many chapters (#23)", 1.20, "ratio"),
    ("l", 1000, "PDF laid out by 2 workers / by 1 (#15 b)", 0.60, "ratio"),
)
SHAPED = (  # measured at N=1000 (or when --only names them): name, manifest (bench/generate.py), build options
    ("all-formats-one-chapter", "book-one-chapter.yml", ()),
    ("pdf-workers-1", "book-pdf-workers-1.yml", ("-f", "pdf")),
    ("pdf-workers-2", "book-pdf-workers-2.yml", ("-f", "pdf")),
)
# bench/peers.py: publisher's PDF beside them; the last is publisher's own book through Typst (a sketch of
# another PDF engine, #15), not a peer
PEERS = {"peer-typst": "typst", "peer-weasyprint": "weasyprint", "sketch-typst-book": "typst-book"}
SKETCH_MAX_N = 200  # the sketch holds the whole book in Typst: 7.5 GB at N=1000 (2026-12-05); i is judged at 200


# ================================================================ the child: one measurement in-process
class StopStage(BaseException):
    """Raised by a wrapper once the stage being measured is done (a BaseException: no `except Exception`
    in the pipeline swallows it)."""


class Probe:
    """Timed calls by name. Each record is also appended to a file, so that calls made in worker processes
    forked from this one (which inherit the wrappers) are counted too; perf_counter is the system's
    monotonic clock, the same in every process."""

    def __init__(self, path: Path | None = None) -> None:
        self.intervals: dict[str, list[tuple[float, float]]] = {}
        self.cpu: dict[str, list[float]] = {}  # name -> [own CPU s, CPU s of children reaped meanwhile]
        self.missing: list[str] = []
        self.pid = os.getpid()
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644) if path else None

    def add(self, name: str, start: float, end: float, cpu: tuple[float, float] | None = None) -> None:
        if self.fd is not None and os.getpid() != self.pid:  # a forked worker: the file is the only way back
            os.write(self.fd, (json.dumps([name, start, end, cpu]) + "\n").encode())
            return
        self._add(name, start, end, cpu)

    def _add(self, name: str, start: float, end: float, cpu) -> None:
        self.intervals.setdefault(name, []).append((start, end))
        if cpu is not None:
            acc = self.cpu.setdefault(name, [0.0, 0.0])
            acc[0] += cpu[0]
            acc[1] += cpu[1]

    def collect(self) -> None:
        """Take in what forked workers recorded."""
        if self.path is None:
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            name, start, end, cpu = json.loads(line)
            self._add(name, start, end, cpu)

    def total(self, *prefixes: str) -> float:
        """Wall time during which at least one call of these categories ran (overlaps counted once)."""
        spans = sorted(iv for name, ivs in self.intervals.items() if name.startswith(prefixes) for iv in ivs)
        total, end = 0.0, float("-inf")
        for s, e in spans:
            if s > end:
                total += e - s
                end = e
            elif e > end:
                total += e - end
                end = e
        return total

    def summary(self) -> dict:
        out = {}
        for name, ivs in sorted(self.intervals.items()):
            out[name] = {"wall_s": round(self.total(name), 4), "calls": len(ivs)}
            if name in self.cpu:
                out[name].update(cpu_self_s=round(self.cpu[name][0], 4), cpu_children_s=round(self.cpu[name][1], 4))
        return out


def cpu_now() -> tuple[float, float]:
    """CPU seconds so far: this process (all threads), and its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def wrap(probe: Probe, obj, attr: str, name: str, stop: bool = False, after=None) -> None:
    """Time every call of obj.attr under `name`; with stop, end the stage once it returns."""
    original = getattr(obj, attr, None)
    if original is None:
        probe.missing.append(f"{getattr(obj, '__name__', obj)}.{attr}")
        return

    @functools.wraps(original)
    def timed(*args, **kwargs):
        start, cpu = time.perf_counter(), cpu_now()
        try:
            result = original(*args, **kwargs)
        finally:
            end = cpu_now()
            probe.add(name, start, time.perf_counter(), (end[0] - cpu[0], end[1] - cpu[1]))
        if after is not None:
            after(result)
        if stop:
            raise StopStage
        return result

    setattr(obj, attr, timed)


def pandoc_category(args) -> str | None:
    if not isinstance(args, (list, tuple)) or not args or "pandoc" not in os.path.basename(str(args[0])):
        return None
    src = dst = ""
    items = [str(a) for a in args]
    for i, a in enumerate(items):
        for short, long_ in (("-f", "--from"), ("-t", "--to")):
            value = items[i + 1] if a in (short, long_) and i + 1 < len(items) else (a.split("=", 1)[1] if a.startswith(long_ + "=") else None)
            if value is not None:
                if short == "-f":
                    src = value.split("+")[0].split("-")[0]
                else:
                    dst = value.split("+")[0].split("-")[0]
    if dst == "json":
        return "pandoc.read"
    if src == "json":
        return f"pandoc.write.{dst or 'html'}"
    return f"pandoc.other.{dst or '?'}"


def instrument_subprocess(probe: Probe) -> None:
    """Every pandoc process this process starts, timed from start to reaping, by what it reads and writes."""
    P = subprocess.Popen
    init, handle = P.__init__, getattr(P, "_handle_exitstatus", None)
    if handle is None:
        probe.missing.append("subprocess.Popen._handle_exitstatus")
        return

    def __init__(self, args, *a, **k):
        start = time.perf_counter()
        init(self, args, *a, **k)
        self._bench = (pandoc_category(args), start)

    def _handle_exitstatus(self, *a, **k):
        handle(self, *a, **k)
        info = getattr(self, "_bench", None)
        if info and info[0]:
            probe.add(info[0], info[1], time.perf_counter())
            self._bench = None

    P.__init__, P._handle_exitstatus = __init__, _handle_exitstatus


def instrument_pipeline(probe: Probe, upto: str | None, save_html: Path | None = None) -> None:
    """Wrap the public stages by name; missing names are reported, not fatal (the pipeline is changing)."""
    import publisher.manifest
    import publisher.normalize
    import publisher.select
    import publisher.vault

    wrap(probe, publisher.manifest, "load_manifest", "load.manifest")
    wrap(probe, publisher.vault, "load_vault", "load.vault")
    wrap(probe, publisher.select, "select", "load.select", stop=upto == "load")
    wrap(probe, publisher.normalize, "parse_articles", "parse_articles")
    wrap(probe, publisher.normalize, "assemble", "parse", stop=upto == "parse")
    wrap(probe, publisher.normalize, "normalize", "normalize", stop=upto == "normalize")
    steps = getattr(publisher.normalize, "STEPS", None)
    if steps is None:
        probe.missing.append("publisher.normalize.STEPS")
    else:
        def timed(step):
            @functools.wraps(step)
            def run(*args, **kwargs):
                start, cpu = time.perf_counter(), cpu_now()
                try:
                    return step(*args, **kwargs)
                finally:
                    end = cpu_now()
                    probe.add(f"step.{step.__name__}", start, time.perf_counter(), (end[0] - cpu[0], end[1] - cpu[1]))

            return run

        publisher.normalize.STEPS = tuple(timed(step) for step in steps)
    instrument_subprocess(probe)
    try:
        import publisher.backends as backends
    except ImportError:
        probe.missing.append("publisher.backends")
        return
    wrap(probe, backends, "write_book", "write_book")
    loader = getattr(backends, "load_backend", None)
    if loader is not None:
        def load_backend(name, *a, **k):
            backend = loader(name, *a, **k)
            for method in ("check", "write"):
                try:
                    wrap(probe, backend, method, f"backend.{name}.{method}")
                except (AttributeError, TypeError):  # slots or a frozen class: time the whole write_book instead
                    probe.missing.append(f"backend.{name}.{method}")
            return backend

        backends.load_backend = load_backend
    try:
        import publisher.backends.pdf as pdf
    except ImportError:
        return

    def keep_html(html):
        # the largest document: the whole book (later ones are the index alone, or a long book's parts)
        if save_html is not None and (not save_html.is_file() or save_html.stat().st_size < len(html.encode())):
            save_html.write_text(html, encoding="utf-8")

    wrap(probe, pdf.PdfBackend, "html", "pdf.html", after=keep_html)
    try:
        import publisher.backends.pdfparts as pdfparts
    except ImportError:
        return
    wrap(probe, pdfparts, "merge", "pdf.merge")  # a long book's parts merged into one PDF: our own work
    accept = pdfparts.PartsRenderer.accept

    @functools.wraps(accept)
    def accepting(self, i, inputs, record):
        """A part laid out by a worker process (spawned: no wrapper there) brings back WeasyPrint's spans."""
        if self.workers > 1:
            for name, start, end in record.spans:
                probe.add(name, start, end)
        return accept(self, i, inputs, record)

    pdfparts.PartsRenderer.accept = accepting


def instrument_weasyprint(probe: Probe, pages: list) -> None:
    import weasyprint
    import weasyprint.document

    wrap(probe, weasyprint.HTML, "__init__", "weasyprint.parse")
    wrap(probe, weasyprint.HTML, "render", "weasyprint.layout", after=lambda doc: pages.append(len(doc.pages)))
    wrap(probe, weasyprint.document.Document, "write_pdf", "weasyprint.draw_write")


def largest_document(written: list[Path]) -> dict:
    """The EPUB's number of XHTML content documents and the largest one's size (uncompressed), if an EPUB was written."""
    import zipfile

    for path in written:
        if path.suffix == ".epub":
            with zipfile.ZipFile(path) as z:
                sizes = [i.file_size for i in z.infolist() if i.filename.endswith(".xhtml")]
            return {"documents": len(sizes), "largest_document_kb": round(max(sizes) / 1024, 1)}
    return {}


def pdf_pages(written: list[Path]) -> int | None:
    """Pages of the PDF a build wrote (the book's, whatever WeasyPrint documents made it)."""
    import pypdf

    return next((len(pypdf.PdfReader(p).pages) for p in written if p.suffix == ".pdf"), None)


def rusage() -> dict:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"maxrss_self_mb": round(me.ru_maxrss / 1024, 1), "maxrss_children_mb": round(kids.ru_maxrss / 1024, 1),
            "cpu_self_s": round(me.ru_utime + me.ru_stime, 3), "cpu_children_s": round(kids.ru_utime + kids.ru_stime, 3)}


def child(args) -> int:
    """One measurement; writes its figures as JSON to args.result."""
    out: dict = {"stage": args.stage}
    probe = Probe(Path(args.result).with_suffix(".probe"))
    t0 = time.perf_counter()
    code = 0
    try:
        if args.stage == "weasyprint":
            import weasyprint
            import weasyprint.document  # noqa: F401

            pages: list[int] = []
            instrument_weasyprint(probe, pages)
            out["import_s"] = time.perf_counter() - t0
            start = time.perf_counter()
            html = Path(args.html)
            doc = weasyprint.HTML(string=html.read_text(encoding="utf-8"), base_url=str(Path(args.base)) + "/")
            doc.write_pdf(args.target)
            out["wall_s"] = time.perf_counter() - start
            out["pages"] = pages[-1] if pages else None
        else:
            import publisher
            from publisher.diagnostics import Reporter

            formats = [f for f in (args.formats or "").split(",") if f]
            if args.stage == "build":
                import publisher.backends  # noqa: F401
                for name in formats:  # a backend's imports (WeasyPrint, ebooklib) are not the build's time
                    __import__(f"publisher.backends.{name}")
                if "pdf" in formats:
                    import weasyprint  # noqa: F401
                if "epub" in formats:
                    import ebooklib.epub  # noqa: F401
            out["import_s"] = time.perf_counter() - t0
            pages = []
            instrument_pipeline(probe, args.stage if args.stage in ("load", "parse", "normalize") else None,
                                Path(args.html) if args.html else None)
            if "pdf" in formats:
                instrument_weasyprint(probe, pages)
            reporter = Reporter()
            start, cpu = time.perf_counter(), cpu_now()
            written: list[Path] = []
            try:
                if args.stage == "build":
                    written = publisher.build(args.manifest, formats, args.target, reporter=reporter)
                    out["files"] = {p.suffix[1:]: p.stat().st_size for p in written}
                    out.update(largest_document(written))
                else:
                    publisher.load_book(args.manifest, reporter)
            except StopStage:
                pass
            out["wall_s"] = time.perf_counter() - start
            out["cpu_s"] = sum(cpu_now()) - sum(cpu)
            out["pages"] = pdf_pages(written) if args.stage == "build" and "pdf" in formats else None
            out["renderings"] = len(pages)
            out["diagnostics"] = {"errors": len(reporter.errors), "warnings": len(reporter.warnings),
                                  "first": [d.format() for d in reporter.diagnostics[:5]]}
    except BaseException as exc:  # noqa: BLE001 - recorded and reported by the parent
        import traceback

        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
        out["traceback"] = traceback.format_exc()[-3000:]
        code = 1
    probe.collect()
    out["intervals"] = probe.summary()
    out["weasyprint_s"] = probe.total("weasyprint.")
    out["pandoc_read_s"] = probe.total("pandoc.read")
    out["pandoc_write_s"] = probe.total("pandoc.write.")
    out["renderers_s"] = probe.total("weasyprint.", "pandoc.write.")
    # CPU: WeasyPrint's own calls (in this process or forked workers); the PDF's pandoc writers are the
    # children reaped while PdfBackend.html runs
    out["weasyprint_cpu_s"] = sum(v[0] for k, v in probe.cpu.items() if k.startswith("weasyprint."))
    out["pandoc_write_cpu_s"] = sum(probe.cpu.get(k, [0, 0])[1] for k in ("pdf.html",))
    out["not_instrumented"] = probe.missing
    out.update(rusage())
    Path(args.result).write_text(json.dumps(out, indent=1), encoding="utf-8")
    return code


# ================================================================ the parent: processes, memory, figures
def tree_pss(root: int) -> int:
    """Bytes of memory held by root and all its descendants: the sum of their proportional set sizes
    (a page shared by k processes counts 1/k to each), so a pandoc child forked from a large Python process
    is not counted twice for the pages it shares until it execs. Resident set size where PSS is unavailable."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss(pid)
        todo.extend(_children(pid))
    return total


def _children(pid: int) -> list[int]:
    """The processes pid started (each of its threads' children), without reading every process's stat."""
    kids: list[int] = []
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError), open(f"{task.path}/children", "rb") as f:
                kids.extend(int(k) for k in f.read().split())
    except OSError:
        pass
    return kids


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


class Sampler(threading.Thread):
    """The peak of tree_pss, every `interval` seconds. Reading a process's PSS makes the kernel walk its page
    tables: at 0.05 s the sampler of a 1 GB build took a third of a core (mostly system time) from the build
    it measured, more than the free core a one-worker build leaves it; at 0.25 s the whole bench runner took
    about a tenth of one (top, during an N=1000 build). A peak between two samples is caught by the build's own
    ru_maxrss where the build reports it."""

    def __init__(self, pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self.done = pid, interval, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, tree_pss(self.pid))
            self.done.wait(self.interval)


def measure(name: str, cmd: list[str], logs: Path, env: dict, timeout: float, cwd: Path | None = None,
            ok_codes: tuple[int, ...] = (0,)) -> dict:
    """Run cmd; its wall time, CPU time (with every descendant), peak memory of its process tree."""
    logs.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(logs / f"{name}.out", "wb") as so, open(logs / f"{name}.err", "wb") as se:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=so, stderr=se, env=env, cwd=cwd, start_new_session=True)
        sampler = Sampler(proc.pid)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            rc = proc.wait()
            rc = f"timeout after {timeout:.0f} s"
        wall = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_mb": round(sampler.peak / MB, 1), "rc": rc}
    if rc not in ok_codes:
        try:
            err = (logs / f"{name}.err").read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:  # the work folder went away (a `make clean` meanwhile)
            err = []
        result["error"] = " | ".join(err[-3:])[:500] or f"exit status {rc}"
    return result


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used, with the children it has waited for (pandoc), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def fresh_env(cache_root: Path) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=cache_root))
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONUNBUFFERED": "1"}
    env.pop("SOURCE_DATE_EPOCH", None)
    return env


def generated_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def reset(root: Path, keep: set[str]) -> None:
    """Remove whatever a build left inside the benchmark folder (a cache beside the vault, say)."""
    for p in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        if p.relative_to(root).as_posix() not in keep:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


class Run:
    """All measurements of one N."""

    def __init__(self, n: int, work: Path, only: set[str] | None, timeout: float | None = None,
                 noted: Callable[[dict], None] | None = None):
        self.n, self.only, self.noted = n, only, noted  # noted(results so far), after each measurement
        self.root = work / f"n{n}"
        self.scratch = work / f"n{n}-runs"
        self.logs = self.scratch / "logs"
        self.timeout = timeout or 600 + 30 * n  # seconds for any one measurement (a busy machine is slow)
        self.results: dict[str, dict] = {}

    def wanted(self, name: str) -> bool:
        return self.only is None or any(name == o or name.startswith(o + ".") or name.startswith(o + "-") for o in self.only)

    def note(self, name: str, r: dict) -> None:
        self.results[name] = r
        if self.noted is not None:
            self.noted(self.results)
        status = f"FAILED: {r['error']}" if r.get("error") else f"{r['wall_s']:.2f} s, {r['peak_mb']:.0f} MB"
        print(f"  n={self.n:<5} {name:<24} {status}", file=sys.stderr, flush=True)

    def child(self, name: str, stage: str, formats: str = "", html: Path | None = None, target: Path | None = None,
              base: Path | None = None) -> dict:
        reset(self.root, self.keep)
        result_file = self.scratch / f"{name}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", stage, "--manifest", str(self.manifest),
               "--result", str(result_file)]
        cmd += ["--formats", formats] if formats else []
        cmd += ["--html", str(html)] if html else []
        cmd += ["--target", str(target)] if target else []
        cmd += ["--base", str(base)] if base else []
        r = measure(name, cmd, self.logs, fresh_env(self.caches), self.timeout)
        if result_file.is_file():
            inner = json.loads(result_file.read_text(encoding="utf-8"))
            if inner.get("error"):
                r["error"] = inner["error"]
            r["peak_mb"] = max(r["peak_mb"], inner.get("maxrss_self_mb", 0))  # a peak between two samples
            r["detail"] = inner
        self.note(name, r)
        return r

    def tool(self, name: str, cmd: list[str], env: dict | None = None, cwd: Path | None = None, ok=(0,)) -> dict:
        r = measure(name, cmd, self.logs, env or fresh_env(self.caches), self.timeout, cwd=cwd, ok_codes=ok)
        self.note(name, r)
        return r

    def go(self) -> dict:
        sys.path.insert(0, str(BENCH))
        from generate import generate

        if self.scratch.exists():
            shutil.rmtree(self.scratch)
        self.caches = self.scratch / "caches"
        self.caches.mkdir(parents=True)
        t = time.perf_counter()
        info = generate(self.n, self.root)
        print(f"n={self.n}: generated {info['n']} articles, {info['words']} words in {time.perf_counter() - t:.1f} s "
              f"({self.root})", file=sys.stderr, flush=True)
        self.manifest = self.root / "book.yml"
        self.keep = generated_files(self.root)
        out = self.scratch / "out"
        publisher_cli = [sys.executable, "-m", "publisher"]

        for stage in ("load", "parse", "normalize"):
            if self.wanted(stage):
                self.child(stage, stage)
        html = self.scratch / "book.html"
        for fmt in ("pdf", "epub", "docx"):
            if self.wanted(fmt):
                self.child(fmt, "build", fmt, html=html if fmt == "pdf" else None, target=out / fmt)

        # baselines: the raw renderers on the same input
        if self.wanted("weasyprint") and html.is_file():
            self.child("weasyprint-alone", "weasyprint", html=html, target=self.scratch / "weasyprint-alone.pdf",
                       base=self.root / "kb")
        if self.wanted("pandoc"):
            import pypandoc

            pandoc = pypandoc.get_pandoc_path()
            files = info["articles"]
            kb = self.root / "kb"
            self.tool("pandoc-md-epub", [pandoc, *files, "-o", str(self.scratch / "pandoc.epub")], cwd=kb)
            self.tool("pandoc-md-docx", [pandoc, *files, "-o", str(self.scratch / "pandoc.docx")], cwd=kb)
            tree = self.scratch / "pandoc.json"
            self.tool("pandoc-reader", [pandoc, *files, "-t", "json", "-o", str(tree)], cwd=kb)
            if tree.is_file():
                self.tool("pandoc-writer-epub", [pandoc, str(tree), "-o", str(self.scratch / "pandoc-w.epub")])
                self.tool("pandoc-writer-docx", [pandoc, str(tree), "-o", str(self.scratch / "pandoc-w.docx")])

        if self.wanted("peers"):
            for name, kind in PEERS.items():
                if kind == "typst-book" and self.n > SKETCH_MAX_N:
                    continue
                self.peer(name, kind, info["articles"])
            self.pages_per_second()

        # the command line, as a user runs it
        if self.wanted("all") or self.wanted("check"):
            reset(self.root, self.keep)
            env = fresh_env(self.caches)
            if self.wanted("all"):
                self.tool("all-formats", [*publisher_cli, "build", str(self.manifest), "--out", str(out / "all"), "-q"], env=env)
            else:  # what check finds after a build: the parse cache an EPUB build (the cheapest) leaves
                self.tool("check-prime-epub", [*publisher_cli, "build", str(self.manifest), "-f", "epub", "--out",
                                               str(out / "prime"), "-q"], env=env)
            if self.wanted("epub"):  # the EPUB again with what a build leaves (parsed articles), its own HTML not
                shutil.rmtree(Path(env["XDG_CACHE_HOME"]) / "publisher" / "written", ignore_errors=True)
                self.tool("epub-warm", [*publisher_cli, "build", str(self.manifest), "-f", "epub", "--out",
                                        str(out / "warm"), "-q"], env=env)
            if self.wanted("check"):  # the same cache: what a build left behind
                self.tool("check-warm", [*publisher_cli, "check", str(self.manifest)], env=env, ok=(0, 1))
        for name, file, options in SHAPED:
            if self.wanted(name) and (self.n >= 1000 or name in (self.only or ())):
                reset(self.root, self.keep)
                self.tool(name, [*publisher_cli, "build", str(self.root / file), *options, "--out", str(out / name), "-q"])
        if self.wanted("check"):
            reset(self.root, self.keep)
            self.tool("check-cold", [*publisher_cli, "check", str(self.manifest)], ok=(0, 1))
        if self.wanted("rebuild"):
            self.rebuild(publisher_cli, info)
        if self.wanted("serve"):
            self.serve(publisher_cli, info)
        reset(self.root, self.keep)
        return {"n": self.n, "words": info["words"], "articles": info["n"], "measurements": self.results}

    def peer(self, name: str, kind: str, files: list[str]) -> None:
        """One peer's PDF of the same article files, as one process (bench/peers.py prints its pages)."""
        reset(self.root, self.keep)
        files = [str(self.manifest)] if kind == "typst-book" else files
        r = self.tool(name, [sys.executable, str(BENCH / "peers.py"), kind, str(self.scratch / f"{name}.pdf"), *files],
                      cwd=self.root / "kb")
        if not r.get("error"):
            r["detail"] = {"pages": int((self.logs / f"{name}.out").read_text(encoding="utf-8").split()[-1])}

    def pages_per_second(self) -> None:
        for name in ("pdf", *PEERS):
            r = self.results.get(name)
            if r and not r.get("error") and r.get("detail", {}).get("pages"):
                pages = r["detail"]["pages"]
                print(f"  n={self.n:<5} {name:<24} {pages} pages in {r['wall_s']:.1f} s: {pages / r['wall_s']:.1f} pages/s",
                      file=sys.stderr, flush=True)

    def rebuild(self, cli: list[str], info: dict) -> None:
        """EPUB and DOCX cold, then again after one article changed, on a copy of the vault."""
        copy = self.scratch / "rebuild"
        shutil.copytree(self.root, copy)
        env = fresh_env(self.caches)
        cmd = [*cli, "build", str(copy / "book.yml"), "-f", "epub", "-f", "docx", "--out", str(self.scratch / "out" / "rebuild"), "-q"]
        self.tool("rebuild-cold", cmd, env=env)
        changed = copy / "kb" / info["articles"][len(info["articles"]) // 2]
        text = changed.read_text(encoding="utf-8")
        changed.write_text(text.replace("\n## Key Takeaways", "\nOne sentence added for the rebuild benchmark.\n\n## Key Takeaways", 1),
                           encoding="utf-8")
        self.tool("rebuild-one-changed", cmd, env=env)


    def serve(self, cli: list[str], info: dict) -> None:
        """`publisher serve` on a copy of the vault; once built, one article changed five times, each time timed
        from the write to the changed page served: the reload event (server-sent events, as an open page gets
        it), then the page that holds the article fetched and the new sentence found in it."""
        import http.client
        import socket
        import statistics
        from urllib.request import urlopen

        copy = self.scratch / "serve"
        shutil.copytree(self.root, copy)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}/"
        self.logs.mkdir(parents=True, exist_ok=True)
        err = open(self.logs / "serve.err", "wb")  # noqa: SIM115 - closed below
        start = time.perf_counter()
        proc = subprocess.Popen([*cli, "serve", str(copy / "book.yml"), "--port", str(port)], stdout=subprocess.PIPE,
                                stderr=err, env=fresh_env(self.caches), text=True, start_new_session=True)
        sampler = Sampler(proc.pid)
        sampler.start()
        r: dict = {}
        try:
            for line in proc.stdout:
                if line.startswith("[publisher] watching"):
                    break
            r["first_build_s"] = round(time.perf_counter() - start, 3)
            events = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
            events.request("GET", "/__publisher/events")
            stream = events.getresponse()

            def next_build() -> dict:
                while True:
                    line = stream.readline().decode()
                    if not line:
                        raise OSError("the event stream ended")
                    if line.startswith("data: "):
                        return json.loads(line[6:])

            next_build()  # the first build's
            changed = copy / "kb" / info["articles"][len(info["articles"]) // 2]
            text = changed.read_text(encoding="utf-8")
            index = json.loads(urlopen(base + "search-index.json", timeout=60).read())
            page = next(e["href"] for e in index if e["href"].endswith("#" + changed.stem)).partition("#")[0]
            rounds, cpu, previews = [], [], []
            for k in range(5):
                marker = f"servebenchmark{k}"
                t, c = time.perf_counter(), process_cpu(proc.pid)
                changed.write_text(text.replace("\n## Key Takeaways", f"\nA sentence for the serve benchmark: {marker}.\n\n"
                                                "## Key Takeaways", 1), encoding="utf-8")
                while True:  # the first event that says the page changed (a preview, or the whole book built)
                    state = next_build()
                    if state["ok"] and (state["changed"] is None or page in state["changed"]):
                        break
                if marker not in urlopen(base + page, timeout=60).read().decode():
                    raise OSError(f"the change is not in {page}")
                rounds.append(round(time.perf_counter() - t, 3))
                cpu.append(round(process_cpu(proc.pid) - c, 3))
                previews.append(state["preview"])
                while state["preview"]:  # the whole book built, before the next change
                    state = next_build()
                time.sleep(1.0)
            r.update(wall_s=statistics.median(rounds), rounds=rounds, cpu_s=statistics.median(cpu), cpu_rounds=cpu,
                     previews=previews)
        except (OSError, StopIteration, ValueError) as exc:
            r.update(wall_s=0.0, cpu_s=0.0, error=f"{type(exc).__name__}: {exc}")
        finally:
            proc.send_signal(2)  # SIGINT: Ctrl-C
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
            sampler.done.set()
            sampler.join()
            err.close()
        r["peak_mb"] = round(sampler.peak / MB, 1)
        self.note("serve-reload", r)


# ================================================================ figures, targets, tables
def get(sizes: dict, n: int, name: str) -> dict | None:
    r = sizes.get(str(n), {}).get("measurements", {}).get(name)
    return r if r and not r.get("error") else None


def pick_n(sizes: dict, want: int, names: tuple[str, ...]) -> int | None:
    """The N a target is judged at: its own when measured, else the largest one measured."""
    have = [int(n) for n in sizes if all(get(sizes, int(n), x) for x in names)]
    if want in have:
        return want
    return max(have) if have else None


def judge(sizes: dict) -> list[dict]:
    rows = []
    for tid, want, what, limit, kind in TARGETS:
        needs = {"a": ("pdf",), "b": ("epub", "pandoc-md-epub"), "c": ("all-formats", "pdf"), "d": ("all-formats",),
                 "e": ("rebuild-cold", "rebuild-one-changed"), "f": ("check-warm",), "g": ("serve-reload",),
                 "h": ("epub", "pandoc-md-epub"), "i": ("pdf", "peer-typst"), "j": ("all-formats-one-chapter",),
                 "k": ("all-formats-one-chapter", "all-formats"), "l": ("pdf-workers-2", "pdf-workers-1")}[tid]
        n = pick_n(sizes, want, needs)
        needs += {"f": ("check-cold",), "b": ("epub-warm",), "i": ("sketch-typst-book",)}.get(tid, ())
        row = {"id": tid, "target": what, "n": n, "target_n": want, "limit": limit, "kind": kind, "figure": None,
               "cpu_figure": None, "met": None}
        try:
            judge_one(row, tid, {x: get(sizes, n, x) for x in needs} if n is not None else None)
        except (KeyError, TypeError, ZeroDivisionError) as exc:  # results of an older run.py
            row.update(figure=None, met=None, detail=f"cannot compute: {exc!r}")
        rows.append(row)
    return rows


def judge_one(row: dict, tid: str, m: dict | None) -> None:
    """The figure of one target from the measurements it needs (m: name -> measurement), and whether it is met."""
    if m is None:
        return
    if tid == "a":
        d = m["pdf"]["detail"]
        (own, own_cpu), whole = _own(d), d["wall_s"]
        row.update(figure=own / whole, cpu_figure=own_cpu / d["cpu_s"],
                   detail=f"{own:.1f} s of {whole:.1f} s (WeasyPrint {d['weasyprint_s']:.1f} s, pandoc writer {d['pandoc_write_s']:.1f} s)")
    elif tid in ("b", "c", "e", "h", "i", "k", "l"):
        top, bottom = {"b": ("epub", "pandoc-md-epub"), "c": ("all-formats", "pdf"), "e": ("rebuild-one-changed", "rebuild-cold"),
                       "h": ("epub", "pandoc-md-epub"), "i": ("pdf", "peer-typst"), "k": ("all-formats-one-chapter", "all-formats"),
                       "l": ("pdf-workers-2", "pdf-workers-1")}[tid]
        row.update(figure=m[top]["wall_s"] / m[bottom]["wall_s"], cpu_figure=m[top]["cpu_s"] / m[bottom]["cpu_s"],
                   detail=f"{m[top]['wall_s']:.1f} s vs {m[bottom]['wall_s']:.1f} s")
        if tid == "b" and m.get("epub-warm"):  # judged cold; beside it, after a build (articles already parsed)
            warm = m["epub-warm"]["wall_s"]
            row["detail"] += f" (parsed articles cached: {warm:.1f} s, {warm / m[bottom]['wall_s']:.2f})"
        if tid == "i":  # pages per second of each: typst's pages are not ours
            row["detail"] = ", ".join(f"{what} {d['detail']['pages']} pages in {d['wall_s']:.1f} s ({d['detail']['pages'] / d['wall_s']:.0f} pages/s)"
                                      for what, d in (("publisher", m["pdf"]), ("typst", m["peer-typst"])))
            sketch = m.get("sketch-typst-book")
            if sketch and not sketch.get("error") and sketch.get("detail", {}).get("pages"):
                row["detail"] += (f"; publisher's book through Typst (bench/typst-book.typ) {sketch['detail']['pages']} pages in "
                                  f"{sketch['wall_s']:.1f} s, {sketch['wall_s'] / m['peer-typst']['wall_s']:.2f}x")
        largest = m["epub"].get("detail", {}).get("largest_document_kb") if tid == "h" else None
        if largest is not None:
            row["detail"] += f"; largest content document {largest:.0f} KB ({m['epub']['detail']['documents']} documents)"
    elif tid in ("d", "j"):
        name = "all-formats" if tid == "d" else "all-formats-one-chapter"
        row.update(figure=m[name]["peak_mb"], detail=f"{m[name]['peak_mb']:.0f} MB")
    elif tid == "f":
        cold = f" (nothing cached: {m['check-cold']['wall_s']:.1f} s)" if m.get("check-cold") else ""
        row.update(figure=m["check-warm"]["wall_s"], detail=f"{m['check-warm']['wall_s']:.1f} s{cold}")
    elif tid == "g":
        g = m["serve-reload"]
        row.update(figure=g["wall_s"], detail=f"median {g['wall_s']:.2f} s of {', '.join(f'{x:.2f}' for x in g['rounds'])} "
                                              f"(CPU {g['cpu_s']:.2f} s; {sum(g.get('previews', ()))} of {len(g['rounds'])} "
                                              f"by the page made again; first build {g['first_build_s']:.1f} s)")
    row["met"] = row["figure"] <= row["limit"]


def fmt_limit(row: dict) -> str:
    return {"ratio": f"≤ {row['limit']:.2f}", "MB": f"≤ {row['limit']:.0f} MB", "seconds": f"≤ {row['limit']:g} s"}[row["kind"]]


def fmt_figure(row: dict) -> str:
    if row["figure"] is None:
        return "not measured"
    return {"ratio": f"{row['figure']:.2f}", "MB": f"{row['figure']:.0f} MB", "seconds": f"{row['figure']:.2f} s" if row["figure"] < 2 else f"{row['figure']:.1f} s"}[row["kind"]]


def targets_table(rows: list[dict]) -> str:
    lines = ["| | Target | N | Measured | Figure | Limit | Met | Same ratio in CPU time |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n = "–" if r["n"] is None else (str(r["n"]) if r["n"] == r["target_n"] else f"{r['n']} (target at {r['target_n']})")
        met = "–" if r["met"] is None else ("yes" if r["met"] else "**no**")
        cpu = "" if r.get("cpu_figure") is None else f"{r['cpu_figure']:.2f}"
        lines.append(f"| {r['id']} | {r['target']} | {n} | {r.get('detail', '')} | {fmt_figure(r)} | {fmt_limit(r)} | {met} | {cpu} |")
    return "\n".join(lines)


def _t(d: dict, *names: str) -> float:
    """Wall time of the instrumented calls of these names (or name prefixes ending in '.')."""
    return sum(v["wall_s"] for k, v in d["intervals"].items() if _named(k, names))


def _c(d: dict, *names: str) -> float:
    """CPU time (own and children's) of the instrumented calls of these names."""
    return sum(v.get("cpu_self_s", 0) + v.get("cpu_children_s", 0) for k, v in d["intervals"].items() if _named(k, names))


def _named(key: str, names: tuple[str, ...]) -> bool:
    return any(key == n or (n.endswith(".") and key.startswith(n)) for n in names)


def _own(d: dict) -> tuple[float, float]:
    return d["wall_s"] - d["renderers_s"], d["cpu_s"] - d["weasyprint_cpu_s"] - d["pandoc_write_cpu_s"]


GLOSSARY = tuple(f"step.{s}" for s in GLOSSARY_STEPS)
STAGE_ROWS = (
    # label, measurement, (wall s, CPU s) read from its in-process figures (None: the process as a whole)
    ("load (manifest, vault, selection)", "load", lambda d: (_t(d, "load."), _c(d, "load."))),
    ("parse (pandoc reader, all articles)", "parse", lambda d: (_t(d, "parse"), _c(d, "parse"))),
    ("  of which pandoc's reader", "parse", lambda d: (d["pandoc_read_s"], None)),
    ("normalize (all steps)", "normalize", lambda d: (_t(d, "normalize"), _c(d, "normalize"))),
    ("  glossary and indexes", "normalize", lambda d: (_t(d, *GLOSSARY), _c(d, *GLOSSARY))),
    ("pdf: whole build (in-process)", "pdf", lambda d: (d["wall_s"], d.get("cpu_s"))),
    ("  pdf backend write", "pdf", lambda d: (_t(d, "backend.pdf.write"), _c(d, "backend.pdf.write"))),
    ("  WeasyPrint parse + layout", "pdf", lambda d: (_t(d, "weasyprint.parse", "weasyprint.layout"),
                                                       _c(d, "weasyprint.parse", "weasyprint.layout"))),
    ("  WeasyPrint draw + write", "pdf", lambda d: (_t(d, "weasyprint.draw_write"), _c(d, "weasyprint.draw_write"))),
    ("  pandoc writer (JSON -> HTML)", "pdf", lambda d: (d["pandoc_write_s"], d["pandoc_write_cpu_s"])),
    ("  pipeline's own work", "pdf", _own),
    ("pdf (process)", "pdf", None),
    ("epub: whole build (in-process)", "epub", lambda d: (d["wall_s"], d.get("cpu_s"))),
    ("  epub backend write", "epub", lambda d: (_t(d, "backend.epub.write"), _c(d, "backend.epub.write"))),
    ("epub (process)", "epub", None),
    ("docx: whole build (in-process)", "docx", lambda d: (d["wall_s"], d.get("cpu_s"))),
    ("  docx backend write", "docx", lambda d: (_t(d, "backend.docx.write"), _c(d, "backend.docx.write"))),
    ("  pandoc writer (JSON -> DOCX)", "docx", lambda d: (d["pandoc_write_s"], None)),
    ("docx (process)", "docx", None),
    ("all formats: `publisher build`", "all-formats", None),
    ("all formats, every article in one chapter", "all-formats-one-chapter", None),
    ("pdf: `publisher build -f pdf`, 1 worker", "pdf-workers-1", None),
    ("pdf: `publisher build -f pdf`, 2 workers", "pdf-workers-2", None),
    ("`publisher check`, after a build", "check-warm", None),
    ("`publisher check`, nothing cached", "check-cold", None),
    ("rebuild epub+docx: cold", "rebuild-cold", None),
    ("rebuild epub+docx: one article changed", "rebuild-one-changed", None),
    ("baseline: pandoc *.md -> EPUB", "pandoc-md-epub", None),
    ("baseline: pandoc *.md -> DOCX", "pandoc-md-docx", None),
    ("baseline: pandoc reader alone (md -> JSON)", "pandoc-reader", None),
    ("baseline: pandoc EPUB writer alone (JSON -> EPUB)", "pandoc-writer-epub", None),
    ("baseline: pandoc DOCX writer alone (JSON -> DOCX)", "pandoc-writer-docx", None),
    ("baseline: WeasyPrint alone, same HTML", "weasyprint-alone", None),
    ("peer: pandoc -> typst (typst package)", "peer-typst", None),
    ("peer: pandoc -> HTML -> WeasyPrint, minimal CSS", "peer-weasyprint", None),
    ("sketch: publisher's book -> pandoc -> typst (bench/typst-book.typ)", "sketch-typst-book", None),
)


def stage_rows(sizes: dict) -> list[dict]:
    rows = []
    for label, name, read in STAGE_ROWS:
        for n in sorted(sizes, key=int):
            r = sizes[n]["measurements"].get(name)
            if r is None:
                continue
            row = {"stage": label, "n": int(n), "measurement": name}
            if r.get("error"):
                if label.startswith(" "):
                    continue
                row["error"] = r["error"]
                rows.append(row)
                continue
            d = r.get("detail", {})
            try:
                row["wall_s"], row["cpu_s"] = (r["wall_s"], r["cpu_s"]) if read is None else read(d)
            except (KeyError, TypeError):
                continue
            row["peak_mb"] = r["peak_mb"]
            notes = []
            if d.get("pages") and label.startswith(("pdf: whole", "baseline: WeasyPrint", "peer: ", "sketch: ")):
                notes.append(f"{d['pages']} pages, {d['pages'] / r['wall_s']:.1f} pages/s")
            if label.startswith("  WeasyPrint parse") and d.get("intervals", {}).get("weasyprint.layout", {}).get("calls", 0) > 1:
                notes.append(f"{d['intervals']['weasyprint.layout']['calls']} renderings")
            if label.startswith("normalize") and d.get("intervals"):
                steps = sorted(((k[5:], v["wall_s"]) for k, v in d["intervals"].items() if k.startswith("step.")), key=lambda kv: -kv[1])
                notes.append("slowest steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps[:4]))
            if label.startswith("  glossary") and d.get("intervals"):
                notes.append(", ".join(f"{s} {_t(d, 'step.' + s):.2f} s" for s in GLOSSARY_STEPS))
            if d.get("largest_document_kb") is not None and label.startswith("epub: whole"):
                notes.append(f"{d['documents']} content documents, the largest {d['largest_document_kb']:.0f} KB")
            if d.get("diagnostics", {}).get("warnings") and "whole build" in label:
                notes.append(f"{d['diagnostics']['warnings']} warnings")
            if label.endswith("(process)") and d.get("import_s"):
                notes.append(f"imports {d['import_s']:.1f} s")
            row["notes"] = "; ".join(notes)
            rows.append(row)
    return rows


def stages_table(rows: list[dict]) -> str:
    lines = ["| Stage | N | Wall (s) | CPU (s) | Peak (MB) | Notes |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['stage'].strip()} | {r['n']} | failed | | | {r['error'][:160].replace('|', '/')} |")
            continue
        label = ("&nbsp;&nbsp;" + r["stage"].strip()) if r["stage"].startswith(" ") else r["stage"]
        cpu = "" if r.get("cpu_s") is None else f"{r['cpu_s']:.1f}"
        peak = "" if r["stage"].startswith(" ") else f"{r['peak_mb']:.0f}"
        lines.append(f"| {label} | {r['n']} | {r['wall_s']:.2f} | {cpu} | {peak} | {r.get('notes', '')} |")
    return "\n".join(lines)


def machine() -> dict:
    import pypandoc

    try:
        pandoc = subprocess.run([pypandoc.get_pandoc_path(), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        pandoc = "?"
    try:
        from importlib.metadata import version

        weasy = version("weasyprint")
    except Exception:  # noqa: BLE001
        weasy = "?"
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "pandoc": pandoc, "weasyprint": weasy,
            "platform": platform.platform(), "load_average_start": [round(x, 2) for x in os.getloadavg()]}


def write_results(report: dict, results: Path) -> str:
    results.mkdir(parents=True, exist_ok=True)
    rows = judge(report["sizes"])
    report["targets"] = rows
    report["stages"] = stage_rows(report["sizes"])
    (results / "latest.json").write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    m = report["machine"]
    earlier = []  # what this run did not measure: from which run each figure comes
    for n, v in report["sizes"].items():
        runs: dict[str, list[str]] = {}
        measurements = v.get("measurements", {})
        for name, measured in measurements.items():
            run = measured.get("run") or v.get("run")
            if run:
                runs.setdefault(run, []).append(name)
        for run, names in sorted(runs.items()):
            earlier.append(f"N={n} on {run}" if len(names) == len(measurements) else f"N={n} {', '.join(names)} on {run}")
    when = report["date"] + (f" ({', '.join(earlier)})" if earlier else "")
    head = (f"Measured {when} on {m['cpus']} cores (load average {m['load_average_start'][0]} at the start, "
            f"{m.get('load_average_end', ['?'])[0]} at the end), {m['pandoc']}, WeasyPrint {m['weasyprint']}, "
            f"Python {m['python']}; sizes {', '.join(report['sizes'])} articles of about 1,200 words.")
    table = targets_table(rows)
    (results / "README-table.md").write_text(table + "\n\n" + head + "\n", encoding="utf-8")
    md = ["# publisher benchmark (`make bench`)", "", head, "", "## Targets", "", table, "", "## Stages", "",
          stages_table(report["stages"]), "",
          "Wall time of an indented row is the time spent in those calls inside the process above it. "
          "Peak memory is the largest PSS of a measurement's whole process tree. CPU is user + system time of the "
          "process and its descendants; on a busy machine it is the steadier figure.", ""]
    (results / "latest.md").write_text("\n".join(md), encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="publisher benchmark (make bench)")
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated N (default 50,200,1000)")
    p.add_argument("--quick", action="store_true", help="N = 50 only")
    p.add_argument("--work", type=Path, default=REPO / "build" / "bench", help="where vaults and outputs go")
    p.add_argument("--results", type=Path, default=BENCH / "results", help="where latest.json and latest.md go")
    p.add_argument("--only", help="comma-separated measurements (load,parse,normalize,pdf,epub,docx,weasyprint,pandoc,peers,all,check,rebuild,serve,"
                   "all-formats-one-chapter,pdf-workers-1,pdf-workers-2)")
    p.add_argument("--timeout", type=float, help="seconds allowed to any one measurement (default 600 + 30 N)")
    p.add_argument("--merge", action="store_true", help="keep the sizes of the last latest.json that this run does not measure (with --only, "
                                                            "also the measurements it does not make again)")
    p.add_argument("--report", action="store_true", help="rewrite the tables from the last latest.json and print them")
    # the child side: one measurement
    p.add_argument("--stage", choices=("load", "parse", "normalize", "build", "weasyprint"), help=argparse.SUPPRESS)
    p.add_argument("--manifest", help=argparse.SUPPRESS)
    p.add_argument("--formats", help=argparse.SUPPRESS)
    p.add_argument("--html", help=argparse.SUPPRESS)
    p.add_argument("--target", help=argparse.SUPPRESS)
    p.add_argument("--base", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.stage:
        return child(args)
    if args.report:
        report = json.loads((args.results / "latest.json").read_text(encoding="utf-8"))
        print(write_results(report, args.results))
        return 0

    sizes = [50] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    only = {o.strip() for o in args.only.split(",")} if args.only else None
    report = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "sizes": {},
              "command": " ".join(["bench/run.py", *(argv if argv is not None else sys.argv[1:])])}
    earlier: dict = {}  # with --merge, --only: the measurements of a size this run does not make again
    if args.merge and (args.results / "latest.json").is_file():
        old = json.loads((args.results / "latest.json").read_text(encoding="utf-8"))
        report["sizes"] = {k: {**v, "run": v.get("run") or old.get("date")} for k, v in old.get("sizes", {}).items()
                           if int(k) not in sizes}
        if only is not None:
            earlier = {int(k): {name: {**m, "run": m.get("run") or v.get("run") or old.get("date")}
                                for name, m in v.get("measurements", {}).items()}
                       for k, v in old.get("sizes", {}).items() if int(k) in sizes}
        report["merged_from"] = old.get("date")
    start = time.perf_counter()
    def keep(n: int, result: dict) -> None:  # partial results survive an interrupted run
        result = {**result, "measurements": {**earlier.get(n, {}), **result["measurements"]}}
        report["sizes"][str(n)] = {**report["sizes"].get(str(n), {}), **result}
        report["sizes"] = dict(sorted(report["sizes"].items(), key=lambda kv: int(kv[0])))
        report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        write_results(report, args.results)

    for n in sizes:
        # after each measurement (the N=1000 ones take up to half an hour each), then with the size's totals
        keep(n, Run(n, args.work, only, args.timeout, lambda results, n=n: keep(n, {"n": n, "measurements": dict(results)})).go())
    report["total_s"] = round(time.perf_counter() - start, 1)
    table = write_results(report, args.results)
    print(f"\n{table}\n\nFull tables: {args.results / 'latest.md'} (JSON: {args.results / 'latest.json'}); "
          f"{report['total_s']:.0f} s in all.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
