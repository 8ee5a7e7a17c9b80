"""A PDF rendered in parts (publisher/backends/pdfparts.py) is the PDF rendered whole: the same text on every
page (contents, "(p. N)", the glossary's, tag index's and index's numbers, running heads), the same outline,
every link landing where it does in the whole book; and it is reproducible, with every font embedded."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pypdf
import pytest
from conftest import build_manifest, pdf_destination_pages, pdf_outline, pdf_pages_text
from test_pdf import appears_exactly, contents, diagram, layout_lines, page_of

from publisher import load_book
from publisher.backends import load_backend, pdfparts, pdfplan, pdfworker
from publisher.backends.pdf import Engine
from publisher.backends.view import for_format
from publisher.backends.weasy import tuned
from publisher.diagnostics import ManifestError
from publisher.themes import load_theme

WORDS = ("sprocket gear wheel lever pulley spring axle bearing cam ratchet piston valve crank shaft bolt "
         "hinge latch nozzle rivet gasket").split()


def prose(seed: int, paragraphs: int) -> str:
    out = []
    for p in range(paragraphs):
        words = [WORDS[(seed * 7 + p * 3 + i * 5) % len(WORDS)] for i in range(90)]
        out.append(" ".join(words).capitalize() + ".")
    return "\n\n".join(out)


ARTICLES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")


def vault(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    kb.mkdir()
    for n, name in enumerate(ARTICLES):
        later, earlier = ARTICLES[(n + 2) % len(ARTICLES)], ARTICLES[(n - 1) % len(ARTICLES)]
        body = (f"{prose(n, 4)}\n\nSee [[{later}]] for what follows and [[{earlier}]] for what came before.\n\n"
                f"- **{name.title()} Widget**: a part of the {name} machine that holds the sprocket.\n\n{prose(n + 1, 5)}\n")
        if name == "gamma":
            body += f"\n```\n{diagram(60)}\n```\n\nAnd the gear turns.\n"
        (kb / f"{name}.md").write_text(f'---\ntitle: "{name.title()} Machines"\ntags: [machines, {name}]\n'
                                       f"index: [sprocket]\n---\n# {name.title()} Machines\n\n{body}",
                                       encoding="utf-8")
    return kb


PARTS = ("parts:\n  - title: First Things\n    chapters: [alpha.md, beta.md]\n"
         "  - title: Later Things\n    chapters:\n      - gamma.md\n      - title: Two Together\n"
         "        articles: [delta.md, epsilon.md]\n      - zeta.md\n")
ONE_CHAPTER = "chapters:\n  - title: Everything\n    articles: [{glob: '*.md'}]\n"


def manifest(tmp_path: Path, name: str, pdf: str = "", shape: str = PARTS) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(
        f"title: Parts Book\nauthors: [Tester]\ndate: 2025-01-01\nsource: kb\nformats: [pdf]\n"
        f"output: {{name: {name}}}\n{pdf}{shape}", encoding="utf-8")
    return path


def pdf_whole(path: Path, target: Path) -> Path:
    """The book of this manifest rendered whole, whatever its part_pages (which decides its long chapters)."""
    book = load_book(path).book
    load_backend("pdf").write(for_format(book, "pdf"), load_theme(book.manifest.theme, book.manifest.path), target, whole=True)
    return target


@contextlib.contextmanager
def existed_at_first_layout(path: Path):
    """[whether path existed when a PDF in parts began] (pdfparts logs it, then each layout)."""
    seen: list[bool] = []

    class Handler(logging.Handler):
        def emit(self, record):
            if not seen:
                seen.append(path.exists())

    logger, handler = logging.getLogger("publisher.backends.pdfparts"), Handler(logging.DEBUG)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parts")
    vault(tmp)
    built = {}
    for name, pdf in (("parts", "pdf: {part_pages: 1, workers: 1}\n"), ("again", "pdf: {part_pages: 1, workers: 1}\n")):
        built[name] = build_manifest(manifest(tmp, name, pdf), tmp / f"out-{name}")
    with existed_at_first_layout(tmp / "out-parallel" / "parallel.epub") as built["epub first"]:
        built["parallel"] = build_manifest(manifest(tmp, "parallel", "pdf: {part_pages: 1, workers: 2}\n"),
                                           tmp / "out-parallel", ["pdf", "epub"])
    built["whole"] = pdf_whole(built["parts"].manifest, tmp / "whole.pdf")
    return built


def test_plan_cuts_the_book_into_front_chapters_and_back(tmp_path):
    vault(tmp_path)
    book = load_book(manifest(tmp_path, "p", "pdf: {part_pages: 1}\n")).book
    assert pdfplan.part_pages(book) == 1
    chunks = pdfplan.plan(book, 1)
    assert [c.kind for c in chunks] == ["front"] + ["body"] * 6 + ["back"] * 3
    assert [c.section for c in chunks[-3:]] == ["glossary", "tag-index", "index"]  # each back section alone
    assert [c.parts_before for c in chunks[1:7]] == [0, 1, 1, 2, 2, 2]  # the part counter goes on across parts
    # "Two Together" is longer than a part: cut between its articles
    assert [(p.chapter.title, p.start, p.stop) for c in chunks[4:6] for p in c.pieces] == [
        ("Two Together", 0, 1), ("Two Together", 1, None)]
    assert pdfplan.plan(book, 1000)[1].pieces[3].stop is None  # one part: the chapter whole
    assert pdfplan.workers(book) == len(os.sched_getaffinity(0))  # one per core this process may use
    assert pdfplan.part_pages(load_book(manifest(tmp_path, "w")).book) == 0  # short: whole
    tagged = load_book(manifest(tmp_path, "t", "pdf: {tagged: true, part_pages: 1}\n")).book
    assert pdfplan.part_pages(tagged) == 0  # a structure tree cannot be merged: always whole


def test_the_other_formats_are_written_before_the_workers_lay_out(books):
    """A PDF laid out by worker processes comes after the other formats (write_book): their pandoc runs and
    the workers, side by side, held 2.2 GB at N=1000."""
    assert books["epub first"] == [True]
    assert books["parallel"].files["epub"].is_file()


@pytest.mark.parametrize("name", ["parts", "parallel"])
def test_parts_give_the_same_pages_as_the_whole_book(books, name):
    """In parts, laid out by one process or by two: the same pages, outline and links as the book whole."""
    whole, parts = books["whole"], books[name].files["pdf"]
    assert [d.format() for d in books[name].reporter.diagnostics] == []
    assert pdf_pages_text(parts) == pdf_pages_text(whole)  # contents, (p. N), indexes, running heads, folios
    assert pdf_outline(parts) == pdf_outline(whole)
    assert pdf_destination_pages(parts) == pdf_destination_pages(whole)
    assert parts.read_bytes() == books["parts"].files["pdf"].read_bytes()  # workers change nothing


def test_a_one_chapter_book_is_cut_between_articles(tmp_path):
    """One chapter of every article, longer than a part: each article opens a page, a part may begin at any
    of them, and the pages (running heads, footnote numbers and all) are those of the book whole."""
    kb = vault(tmp_path)
    (kb / "beta.md").write_text((kb / "beta.md").read_text(encoding="utf-8") + "\nA note.[^n] Another.[^m]\n\n"
                                "[^n]: The first footnote.\n[^m]: The second footnote.\n", encoding="utf-8")
    (kb / "delta.md").write_text((kb / "delta.md").read_text(encoding="utf-8") + "\nOne more.[^k]\n\n"
                                 "[^k]: The third footnote.\n", encoding="utf-8")
    path = manifest(tmp_path, "one", "pdf: {part_pages: 2}\n", ONE_CHAPTER)
    book = load_book(path).book
    chunks = [c for c in pdfplan.plan(book, 2) if c.kind == "body"]
    assert len(chunks) >= 3 and all(len(c.pieces) == 1 for c in chunks)
    assert any(c.pieces[0].start > 0 and c.pieces[0].footnotes for c in chunks)  # the counter goes on
    parts = build_manifest(path, tmp_path / "p").files["pdf"]
    pages = pdf_pages_text(parts)
    assert pages == pdf_pages_text(pdf_whole(path, tmp_path / "whole.pdf"))
    assert pdf_outline(parts) == pdf_outline(tmp_path / "whole.pdf")
    assert sum("Everything" in p for p in pages) > 5  # the contents, the opener and the running heads
    text = " ".join(" ".join(pages).replace("\u00a0", " ").split())
    assert "3. The third footnote." in text  # numbered on from the chapter's first two


def test_page_numbers_links_and_outline_are_right(books):
    path = books["parts"].files["pdf"]
    book = load_book(books["parts"].manifest).book
    pages = pdf_pages_text(path)
    assert len(pages) > 25
    outline = pdf_outline(path)
    expected = [(0, "Contents")]
    for part in book.parts:
        expected.append((0, part.title))
        for chapter in part.chapters:
            expected.append((1, chapter.title))
            expected += [(2, a.title) for a in chapter.articles if not chapter.single]
    expected += [(0, "Glossary"), (0, "Tag index"), (0, "Index")]
    assert [(d, t) for d, t, _ in outline] == expected
    at = {t: n + 1 for _, t, n in outline}
    entries = contents(path)
    assert [t for t, _ in entries] == [t for _, t in expected[1:]]
    for title, number in entries:
        assert number == at[title] and title in " ".join(pages[number - 1].split()), title
    # every "(p. N)" after a cross-reference: the link beside it lands on page N, which holds the title
    reader = pypdf.PdfReader(path)
    links, destinations = pdf_destination_pages(path)
    assert links and all(dest in destinations for _, dest in links)
    titles = {a.id: a.title for a in book.articles}
    checked = 0
    for n, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            dest = str(annot.get_object().get("/Dest", ""))
            if dest in titles:
                target = destinations[dest]
                assert titles[dest] in " ".join(pages[target].split()), dest
                if n > at["Contents"] and n + 1 < at["Glossary"]:  # in the chapters: "(p. N)" is shown
                    assert f"{titles[dest]} (p.\u00a0{target + 1})" in " ".join(pages[n].split()) or \
                        f"(p.\u00a0{target + 1})" in pages[n], (n + 1, dest)
                    checked += 1
    assert checked >= 12  # forward and backward, across parts


def test_parts_are_reproducible_embed_every_font_and_keep_diagrams(books):
    parts, again = books["parts"].files["pdf"], books["again"].files["pdf"]
    assert parts.read_bytes() == again.read_bytes()
    out = subprocess.run(["pdffonts", str(parts)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert out and all(line.split()[-5] == "yes" for line in out)
    names = [line.split()[0] for line in out]
    assert len(set(names)) == len(names)  # each part's subsets tagged apart (one tag, one subset)
    rows = diagram(60).split("\n")
    assert appears_exactly(layout_lines(parts, page_of(pdf_pages_text(parts), rows)), rows)
    reader = pypdf.PdfReader(parts)
    assert reader.trailer["/Root"]["/PageMode"] == "/UseOutlines" and reader.trailer["/Root"]["/Lang"] == "en"
    assert reader.metadata.title == "Parts Book"
    whole = books["whole"]
    assert parts.read_bytes()[:8] == whole.read_bytes()[:8]  # the same PDF version as WeasyPrint writes


@pytest.mark.parametrize(("value", "message"), [
    ("{part_pages: 0}", "pdf.part_pages: must be a whole number of pages, at least 1, not 0"),
    ("{part_pages: many}", "pdf.part_pages: must be a whole number of pages, at least 1, not 'many'"),
    ("{workers: 0}", "pdf.workers: must be a whole number of processes, at least 1, not 0"),
    ("{workers: true}", "pdf.workers: must be a whole number of processes, at least 1, not True"),
])
def test_part_pages_is_checked(tmp_path, value, message):
    vault(tmp_path)
    path = manifest(tmp_path, "bad", f"pdf: {value}\n")
    with pytest.raises(ManifestError) as err:
        load_book(path)
    assert message in str(err.value)


def test_one_sided_parts_with_the_index_not_last(tmp_path):
    """One-sided: a part may open on a left-hand page, no blank pages. The index before other back matter
    takes the chunk's second layout (pdf.py's lay_out_book does the same for a whole book)."""
    vault(tmp_path)
    order = "back_matter: [index, glossary, tag_index]\n"
    path = manifest(tmp_path, "parts", f"{order}pdf: {{sides: 1, part_pages: 2}}\n")
    parts = build_manifest(path, tmp_path / "p").files["pdf"]
    whole = pdf_whole(path, tmp_path / "whole.pdf")
    assert pdf_pages_text(parts) == pdf_pages_text(whole)
    assert all(t.strip() for t in pdf_pages_text(parts))
    assert pdf_outline(parts) == pdf_outline(whole)
    assert pdf_destination_pages(parts) == pdf_destination_pages(whole)
    assert [t for _, t, _ in pdf_outline(parts)][-3:] == ["Index", "Glossary", "Tag index"]


def test_a_chunk_that_opens_on_either_side_moves_as_predicted(tmp_path):
    """A chunk that begins inside a long chapter of a two-sided book opens on the page it falls on, left or
    right; moved by one page, the next chapter (a right-hand opener) gains or loses the blank page before
    it. PartsRenderer.moved predicts, from one layout, the page count and every anchor's page of the layout
    at another place, as WeasyPrint finds them (when it did not, each sweep moved the chunks after such a
    chunk again and the sweeps of a thousand-article book did not settle)."""
    vault(tmp_path)
    shape = "chapters:\n  - title: Most\n    articles: [alpha.md, beta.md, gamma.md, delta.md, epsilon.md]\n  - zeta.md\n"
    book = for_format(load_book(manifest(tmp_path, "m", "pdf: {part_pages: 3}\n", shape)).book, "pdf")
    m, theme = book.manifest, load_theme(book.manifest.theme, book.manifest.path)
    engine = Engine(m.source, (m.source, *theme.folders), m.pdf_sides, m.pdf_tagged, theme.css("pdf"))
    renderer = pdfparts.PartsRenderer(load_backend("pdf"), book, theme, engine, 3)
    (i,) = [i for i, ids in renderer.turn_ids.items() if ids]  # [Most from epsilon, Zeta]
    renderer.records = [None] * len(renderer.chunks)
    outside, _ = pdfparts.targets_of(book, renderer.chunks[i])

    def at(first: int) -> pdfparts.Rendered:
        path = tmp_path / f"{first}.html"
        path.write_text(renderer.chunk_html(renderer.chunks[i], first), encoding="utf-8")
        return pdfparts.lay_out_part(pdfparts.Job(path, tmp_path / f"{first}.pdf", first, dict.fromkeys(outside, 9),
                                                  outside, False, []), engine)

    with tuned(engine.css):
        layouts = {first: at(first) for first in (7, 8, 9, 10)}
    assert len({r.count for r in layouts.values()}) == 2  # the blank page comes and goes with the side
    renderer.accept(i, (), layouts[7])
    for first in (8, 9, 10):
        count, move = renderer.moved(i, first)
        assert (count, {a: move(n) for a, n in layouts[7].anchors.items()}) == (layouts[first].count, layouts[first].anchors)


def test_a_held_layout_drawn_with_other_numbers_is_the_layout_with_them(tmp_path):
    """A chunk laid out before its numbers are known is held; drawn two pages later with other numbers of as
    many digits (renumber.py), it is byte for byte the chunk laid out there with those numbers. A number
    with another count of digits would change the layout: the held one is not drawn."""
    vault(tmp_path)
    book = for_format(load_book(manifest(tmp_path, "h", "pdf: {part_pages: 3}\n")).book, "pdf")
    m, theme = book.manifest, load_theme(book.manifest.theme, book.manifest.path)
    engine = Engine(m.source, (m.source, *theme.folders), m.pdf_sides, m.pdf_tagged, theme.css("pdf"))
    renderer = pdfparts.PartsRenderer(load_backend("pdf"), book, theme, engine, 3)
    # a chunk of the chapters that points both into itself and into other chunks
    i, (outside, inside) = next((i, t) for i, c in enumerate(renderer.chunks)
                                if c.kind == "body" and all(t := pdfparts.targets_of(book, c)))

    def lay_out(first: int, number: int, name: str, known: bool) -> pdfparts.Rendered:
        path = tmp_path / f"{name}.html"
        path.write_text(renderer.chunk_html(renderer.chunks[i], first), encoding="utf-8")
        job = pdfparts.Job(path, tmp_path / f"{name}.pdf", first, dict.fromkeys(outside, number), outside,
                           known, [], inside, hold=0 if known else pdfworker.HOLD_PAGES)
        return pdfparts.lay_out_part(job, engine)

    try:
        with tuned(engine.css):
            held = lay_out(11, 12, "held", known=False)
            assert held.held and not held.written and set(held.shown) == {*outside, *inside}
            right = lay_out(13, 14, "right", known=True)
            by = 2
            changes = {t: (n, 14 if t in outside else held.anchors[t] + by) for t, n in held.shown.items()}
            drawn = pdfworker.draw_held(tmp_path / "held.pdf", 13, changes, engine)
            assert drawn.written and not pdfworker._held
            assert (tmp_path / "held.pdf").read_bytes() == (tmp_path / "right.pdf").read_bytes()
            assert right.anchors == {a: n + by for a, n in held.anchors.items()}

            lay_out(11, 12, "again", known=False)
            changes = {t: (12, 101) for t in outside}
            assert not pdfworker.draw_held(tmp_path / "again.pdf", 11, changes, engine).written
            assert not (tmp_path / "again.pdf").exists() and not pdfworker._held
    finally:
        pdfworker.forget_held()


def test_each_part_is_laid_out_once_and_drawn_with_the_numbers_found_after(books, tmp_path, monkeypatch):
    """Parts laid out before the numbers they show are known are held and drawn once every part is placed:
    here every part is laid out once, and the pages are those of the book whole. A long book holds none."""
    book = for_format(load_book(books["parts"].manifest).book, "pdf")
    m, theme = book.manifest, load_theme(book.manifest.theme, book.manifest.path)
    engine = Engine(m.source, (m.source, *theme.folders), m.pdf_sides, m.pdf_tagged, theme.css("pdf"))
    with tuned(engine.css):
        progress = pdfparts.write_in_parts(load_backend("pdf"), book, theme, engine, tmp_path / "p.pdf", 1)
        assert progress.draws >= 3 and progress.layouts == len(pdfplan.plan(book, 1))
        assert pdf_pages_text(tmp_path / "p.pdf") == pdf_pages_text(books["whole"])
        assert not pdfworker._held
        monkeypatch.setattr(pdfparts, "LONG_BOOK_PAGES", 10)
        progress = pdfparts.write_in_parts(load_backend("pdf"), book, theme, engine, tmp_path / "long.pdf", 1)
        assert progress.draws == 0 and progress.layouts > len(pdfplan.plan(book, 1))
        assert (tmp_path / "long.pdf").read_bytes() == (tmp_path / "p.pdf").read_bytes()
        # two workers, nothing held: a part sent before the one ahead came back is written all the same (its
        # first page a projection) and the sweeps settle as they did before layouts were held
        monkeypatch.setattr(pdfparts, "workers", lambda book: 2)
        progress = pdfparts.write_in_parts(load_backend("pdf"), book, theme, engine, tmp_path / "long2.pdf", 1)
    assert progress.draws == 0 and progress.sweeps <= 3
    assert (tmp_path / "long2.pdf").read_bytes() == (tmp_path / "p.pdf").read_bytes()
    # each back matter section of a long book laid out alone by a new process (the old ones' memory freed)
    assert len(progress.processes) > 2 and os.getpid() not in progress.processes


def spawned_workers(pid: int) -> list[int]:
    """The PDF worker processes (spawned) of the process pid."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                        found.append(int(child))
    return found


def started_with_workers(path: Path, out: Path) -> tuple[subprocess.Popen, list[int]]:
    """A build of the manifest in a process of its own, once both of its PDF workers have started."""
    build = subprocess.Popen([sys.executable, "-m", "publisher", "build", str(path), "-o", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(kids := spawned_workers(build.pid)) < 2 and build.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if len(kids) < 2:
        build.kill()
        build.communicate()
    assert len(kids) == 2, "the build ended before both of its workers started"
    return build, kids


def gone(pids: list[int]) -> list[int]:
    """Waits up to 30 s for the processes to end; kills and returns those still alive."""
    deadline = time.monotonic() + 30
    while (alive := [pid for pid in pids if Path(f"/proc/{pid}").exists()]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    return alive


def test_workers_end_with_a_killed_build(tmp_path):
    """A build killed while its workers lay out (SIGKILL: no clean-up of its own) takes them with it; left
    alone they would finish their chunk and then wait for the next forever."""
    vault(tmp_path)
    build, kids = started_with_workers(manifest(tmp_path, "killed", "pdf: {part_pages: 1, workers: 2}\n"), tmp_path / "out")
    build.kill()
    build.communicate()
    alive = gone(kids)
    assert not alive, f"workers {alive} outlived the build that started them"


def test_a_killed_worker_ends_the_build_with_one_line(tmp_path):
    """A worker killed from outside (the system's OOM killer, say) ends the build with one line naming it,
    exit 1, no traceback, the other worker ended with it and no PDF written."""
    vault(tmp_path)
    path = manifest(tmp_path, "worker", "pdf: {part_pages: 1, workers: 2}\n")
    build, kids = started_with_workers(path, tmp_path / "out")
    os.kill(kids[0], signal.SIGKILL)
    _, err = build.communicate(timeout=300)
    assert build.returncode == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if ": error: " in line] == [
        f"{path}: error: a PDF worker process ended before it had laid out its part (killed from outside, or out "
        "of memory) (with little memory, `pdf: {workers: 1}` or a smaller `pdf: {part_pages: N}`) [pdf.worker]"]
    assert not gone(kids[1:])
    assert not (tmp_path / "out" / "worker.pdf").exists()


def test_results_are_accepted_in_order_and_only_when_a_first_layout_is_needed():
    """Workers (pdfworker.py): what a chunk is sent with depends on the results accepted so far, so they are
    accepted in the order sent, at points that depend on that order alone; a process is free as soon as its
    job is done, accepted or not. Before a layout is sent, every first layout but the last (workers - 1) is
    accepted; a chunk laid out again (it has its last layout to go by) does not count, nor for `ahead`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    context = multiprocessing.get_context("spawn")
    pools = [ProcessPoolExecutor(1, mp_context=context) for _ in range(2)]
    accepted: list[int] = []
    workers = pdfworker.Workers(pools, None, lambda i, inputs, record: accepted.append(i))
    job = partial(pdfworker.Rendered, 1, 1, (), {}, [])  # a result, made in the worker
    try:
        workers.submit(0, (), job, (), first=True)
        workers.submit(1, (), job, (), first=False)  # laid out again
        assert workers.ahead(2) and not workers.ahead(0)
        workers.ready()  # one first layout out: nothing to accept, a worker free once one is done
        assert accepted == [] and len(workers.pending) == 2
        assert not workers.busy(workers.free())
        workers.submit(2, (), job, (), first=True)
        workers.ready()  # two first layouts out: the older accepted (the oldest result first)
        assert accepted == [0] and [s.chunk for s in workers.pending] == [1, 2]
        assert not workers.ahead(2) and workers.ahead(3)  # chunk 1 out, but laid out again
        workers.drain()
        assert accepted == [0, 1, 2] and not workers.pending
    finally:
        workers.shutdown()
