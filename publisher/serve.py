"""`publisher serve MANIFEST [--port 8000]`: the web edition as you write.

    serve(args):  listen on 127.0.0.1:PORT -> watch.watch(build into a temporary folder, tell the open pages) -> Ctrl-C

The site is built (`--format html`) into a temporary folder, served from there by the standard library's
ThreadingHTTPServer on 127.0.0.1 only, and rebuilt by `build --watch`'s loop (watch.py) whenever a file of the
knowledge base, the manifest or the theme changes; unchanged articles come from the parse cache. Every HTML page
served gets one script more, `/__publisher/live.js` (the built site never holds it): it listens to
`/__publisher/events` (server-sent events) and reloads the page, where it was scrolled to, once a build
has changed it (or a stylesheet, script or image every page uses). A build's diagnostics show in the
terminal and in a panel on the page that can be dismissed. A failed build leaves the previous site as it
was (the folder is swapped in whole) and the server running.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from . import progress
from .diagnostics import Diagnostic, PublisherError, Reporter, Severity, SourceLocation, display_path
from .report import EXIT_CONTENT, EXIT_OK, EXIT_USAGE, print_diagnostics

HOST = "127.0.0.1"
LIVE = "/__publisher/"
KEEPALIVE = 15.0  # seconds between comments on an idle event stream (proxies and browsers close silent ones)
WAITING = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>publisher serve</title></head>
<body><main><h1>Not built yet</h1><p>The book could not be built: the diagnostics are in the terminal and below.
This page reloads once a build succeeds.</p></main></body></html>"""

LIVE_JS = r"""/* publisher serve: reload when a build changed this page, show each build's diagnostics (never in the built site). */
(function () {
  "use strict";
  var me = document.currentScript, seen = Number(me.getAttribute("data-build"));
  var key = "publisher-serve-scroll:" + location.pathname + location.search;
  var kept = sessionStorage.getItem(key);
  if (kept !== null) {
    sessionStorage.removeItem(key);
    window.scrollTo(0, Number(kept));
  }
  function panel(state) {
    var old = document.getElementById("publisher-serve-panel");
    if (old) old.remove();
    if (!state.diagnostics.length || sessionStorage.getItem("publisher-serve-dismissed") === String(state.build)) return;
    var box = document.createElement("aside");
    box.id = "publisher-serve-panel";
    box.setAttribute("role", "status");
    box.setAttribute("aria-label", "Build diagnostics");
    box.style.cssText = "position:fixed;right:1em;bottom:1em;z-index:1000;max-width:min(52em,90vw);max-height:40vh;" +
      "overflow:auto;background:#fff;color:#111;border:2px solid " + (state.ok ? "#c0701a" : "#b3261e") +
      ";box-shadow:0 2px 12px rgba(0,0,0,.3);padding:.6em .9em;font:13px/1.4 'DejaVu Sans Mono',monospace;";
    var head = document.createElement("p");
    head.style.cssText = "margin:0 0 .4em;font-weight:bold;";
    head.textContent = state.ok ? "Built, with warnings:" : "The build failed (the page shows the last good build):";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Dismiss";
    close.style.cssText = "float:right;margin-left:1em;";
    close.addEventListener("click", function () {
      sessionStorage.setItem("publisher-serve-dismissed", String(state.build));
      box.remove();
    });
    var list = document.createElement("ul");
    list.style.cssText = "margin:0;padding-left:1.2em;white-space:pre-wrap;";
    state.diagnostics.forEach(function (line) {
      var item = document.createElement("li");
      item.textContent = line;
      list.appendChild(item);
    });
    box.appendChild(close);
    box.appendChild(head);
    box.appendChild(list);
    document.body.appendChild(box);
  }
  var page = decodeURIComponent(location.pathname.slice(1));
  if (page === "" || page.slice(-1) === "/") page += "index.html";
  function touches(changed) {  /* this page, a file every page uses, or the search page's index */
    return changed === null || changed.some(function (file) {
      var index = file.indexOf("search-index.") === 0;
      return file === page || (index ? page === "search.html" : !/\.html$/.test(file));
    });
  }
  function reload() {
    sessionStorage.setItem(key, String(window.scrollY));
    source.close();
    location.reload();
  }
  /* Only this page changed: its new body in place of the old one (no flash, the scroll kept); anything
     else (a stylesheet, the search page's index and script): the page loaded again. */
  function update(state) {
    var others = state.changed === null || state.changed.some(function (file) { return file !== page; });
    if (others || page === "search.html") return reload();
    fetch(location.pathname, { cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (text) {
      var fresh = new DOMParser().parseFromString(text, "text/html");
      var y = window.scrollY;
      document.title = fresh.title;
      document.body.replaceWith(document.importNode(fresh.body, true));
      window.scrollTo(0, y);
      panel(state);
    }).catch(reload);
  }
  var source = new EventSource("/__publisher/events");
  source.onmessage = function (event) {
    var state = JSON.parse(event.data);
    var stale = state.ok && state.build !== seen && touches(state.changed);
    seen = state.build;
    if (stale) return update(state);
    panel(state);
  };
})();
"""


class Live:
    """The latest build: its number, whether it succeeded, its diagnostics; the event streams wait on it."""

    def __init__(self, root: Path) -> None:
        self.root = root  # the temporary folder the site is built in
        self.site: Path | None = None
        self.build = 0
        self.ok = False
        self.diagnostics: list[str] = []
        self.history: list[tuple[int, list[str] | None]] = []  # (build, files it changed; None: any), the latest
        self.previewed = False  # the last event is a preview's: the whole build is under way
        self.closing = False
        self.changed = threading.Condition()

    def publish(self, site: Path | None, diagnostics: list[Diagnostic], files: list[str] | None = None) -> None:
        """A build done: the site it wrote (None: it failed), its diagnostics, the files it changed (None: any)."""
        with self.changed:
            self.build += 1
            self.ok = site is not None
            self.site = site or self.site
            self.diagnostics = [d.format() for d in diagnostics]
            self._changed(files, False)

    def preview(self, files: list[str]) -> None:
        """Pages made again ahead of the whole build (Builder.preview): the open ones reload."""
        with self.changed:
            self.build += 1
            self._changed(files, True)

    def _changed(self, files: list[str] | None, preview: bool) -> None:
        self.history = [*self.history[-99:], (self.build, files)]
        self.previewed = preview
        self.changed.notify_all()

    def close(self) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify_all()

    def message(self, since: int) -> bytes:
        """The state for a page that has seen build `since`: what every later build changed (None: anything)."""
        files: set[str] | None = set()
        for build, changed in self.history:
            if build > since and files is not None:
                files = None if changed is None else files | set(changed)
        state = {"build": self.build, "ok": self.ok, "diagnostics": self.diagnostics,
                 "changed": None if files is None else sorted(files), "preview": self.previewed}
        return f"data: {json.dumps(state)}\n\n".encode()


class Handler(SimpleHTTPRequestHandler):
    """The site's files as they are on disk (each request sees the latest folder), HTML pages with the live
    script after them, the script itself and the event stream; no caching, no access log."""

    def __init__(self, *args, live: Live, **kwargs):
        self.live = live
        super().__init__(*args, directory=str(live.site or live.root), **kwargs)

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == LIVE + "events":
            return self.events()
        if path == LIVE + "live.js":
            return self.send(LIVE_JS.encode(), "text/javascript; charset=utf-8")
        if self.live.site is None:  # no build has succeeded yet
            if path.endswith(("/", ".html")):
                return self.send(self.inject(WAITING.encode()), "text/html; charset=utf-8")
            return self.send_error(HTTPStatus.NOT_FOUND)
        file = Path(self.translate_path(self.path))
        if file.is_dir() and path.endswith("/"):
            file = file / "index.html"
        if file.suffix == ".html" and file.is_file():
            try:
                return self.send(self.inject(file.read_bytes()), "text/html; charset=utf-8")
            except OSError:  # the folder swapped under us: the next request finds the new one
                pass
        return super().do_GET()

    def inject(self, page: bytes) -> bytes:
        """The page and, after it, the live script (browsers run content after </html> as part of the body)."""
        return page + f'\n<script src="{LIVE}live.js" data-build="{self.live.build}"></script>\n'.encode()

    def send(self, body: bytes, kind: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def events(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        live, seen = self.live, -1
        try:
            while True:
                with live.changed:
                    if live.build == seen and not live.closing:
                        live.changed.wait(KEEPALIVE)
                    if live.closing:
                        return
                    news, message = live.build != seen, live.message(seen)
                    seen = live.build
                self.wfile.write(message if news else b": still here\n\n")
                self.wfile.flush()
        except OSError:  # the page was closed or reloaded
            return


def fingerprints(site: Path | None) -> dict[str, bytes]:
    """Each file of the site (its path inside) -> a digest of its bytes; {} before the first build."""
    if site is None or not site.is_dir():
        return {}
    return {p.relative_to(site).as_posix(): hashlib.blake2b(p.read_bytes(), digest_size=16).digest()
            for p in site.rglob("*") if p.is_file()}


def listen(port: int, live: Live) -> ThreadingHTTPServer | Diagnostic:
    try:
        server = ThreadingHTTPServer((HOST, port), partial(Handler, live=live))
    except (OSError, OverflowError) as exc:  # in use, not allowed, or not a port at all
        return Diagnostic(Severity.ERROR, f"cannot serve on {HOST}:{port}: {getattr(exc, 'strerror', None) or exc}",
                          hint="choose another port with --port N", code="serve.port")
    server.daemon_threads = True
    return server


class Builder:
    """Builds the web edition into `out` and keeps what the last good build knew, for a preview: when one article's
    body is all that changed, its page is made again at once from the last book (that article read, parsed and
    normalized alone, every link and heading of the others known), then the whole book is built as always."""

    def __init__(self, manifest: str, out: Path, live: Live, display):
        self.manifest, self.out, self.live, self.display = manifest, out, live, display
        self.last = None  # (LoadedBook, html.Site) of the last good build

    def build(self, reporter: Reporter) -> Path | None:
        """The whole site, written: its folder; None when the book has errors."""
        from . import load_book
        from .backends import write_atomic
        from .backends.html import make_site
        from .backends.view import for_format
        from .collector import collector_paused
        from .themes import load_theme

        loaded = load_book(self.manifest, reporter)
        if reporter.errors:
            return None
        view = for_format(loaded.book, "html")
        theme = load_theme(view.manifest.theme, view.manifest.path)
        progress.stage("html")
        with collector_paused():  # see collector.collector_paused
            site = make_site(view, theme)
        target = self.out / view.manifest.output_name
        write_atomic(target, site.write, folder=True)
        progress.wrote(target)
        self.last = (loaded, site)
        return target

    def preview(self, path: Path) -> str | None:
        """The page of the article at path made again and written into the site: its name; None when the
        change is more than one article's body (its front matter, a new image, a course's lessons)."""
        from dataclasses import replace

        from . import pandoc, tree
        from .backends.view import for_format
        from .model import Book, Chapter, Part, map_articles
        from .normalize import normalize
        from .vault import read_article

        if self.last is None or self.live.site is None:
            return None
        loaded, site = self.last
        book, ctx = loaded.book, loaded.context
        old = next((a for a in book.articles if a.file.resolve() == path), None)
        if old is None or book.manifest.numbering == "lessons":
            return None
        reporter = Reporter()
        fresh = read_article(old.file, old.path)  # what is wrong with it is kept on it (Article.problems)
        if not fresh.readable or any(d.is_error for d in fresh.problems) or fresh.meta != old.meta:
            return None
        reporter.extend(fresh.problems)
        parsed = pandoc.parse_markdown(fresh.body, line_offset=fresh.body_line - 1, where=fresh.loc(fresh.body_line, 1))
        alone = replace(fresh, blocks=tuple(parsed), id=old.id, level=old.level)
        mini = Book(book.manifest, (Part(None, "preview", (Chapter(old.title, old.id, (alone,), old.level, True),)),),
                    build_date=book.build_date)
        context = replace(ctx, reporter=reporter, in_book=dict(ctx.in_book), anchors=dict(ctx.anchors), outside=[], links={})
        with tree.facts_memo():
            new = normalize(mini, context).articles[0]
        if reporter.errors:
            return None
        page = site.again(for_format(map_articles(book, lambda a: new if a.id == old.id else a), "html"), old.id)
        if page is None:
            return None
        name, data = page
        write_atomic_file(self.live.site / name, data)
        return name

    def __call__(self, paths: list[Path] | None) -> int:
        started = time.monotonic()
        if paths and len(paths) == 1 and paths[0].suffix == ".md":
            try:
                name = self.preview(paths[0].resolve())
            except Exception:  # noqa: BLE001 - a preview is a shortcut: the whole build below says what is wrong
                name = None
            if name is not None:
                self.live.preview([name])
                self.display.note(f"{name} made again in {time.monotonic() - started:.1f} s; building the book")
        reporter, before = Reporter(), fingerprints(self.live.site)
        with self.display:  # a live display (on a terminal) stops here, before any diagnostic is printed
            tracker = self.display.tracker(display_path(self.manifest))
            with progress.tracking(tracker):
                try:
                    site = self.build(reporter)
                except PublisherError as exc:
                    reporter.extend(exc.diagnostics)
                    site = None
                except Exception as exc:  # a bug of ours: one line, as the command line says it
                    reporter.error(f"internal error: {type(exc).__name__}: {exc}", SourceLocation(self.manifest),
                                   "please report this; PUBLISHER_DEBUG=1 shows the traceback", code="internal.error")
                    site = None
                    if os.environ.get("PUBLISHER_DEBUG"):
                        raise
            tracker.finish(site is not None)
        print_diagnostics(reporter.diagnostics)
        after = fingerprints(site)
        changed = (sorted(f for f in before.keys() | after.keys() if before.get(f) != after.get(f)) if before else None) if site else []
        self.live.publish(site, reporter.diagnostics, changed)
        self.display.note(f"{'built' if site else 'build failed'} in {time.monotonic() - started:.1f} s")
        sys.stdout.flush()
        return EXIT_OK if site else EXIT_CONTENT


def write_atomic_file(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.preview.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def serve(args) -> int:
    """Serve the web edition of args.manifest until Ctrl-C (exit 0); a port that cannot be had: exit 2."""
    from .watch import watch

    out = Path(tempfile.mkdtemp(prefix="publisher-serve-"))
    live = Live(out)
    server = listen(args.port, live)
    if isinstance(server, Diagnostic):
        print_diagnostics([server])
        shutil.rmtree(out, ignore_errors=True)
        return EXIT_USAGE
    url = f"http://{HOST}:{server.server_address[1]}/"
    watch_args = argparse.Namespace(manifests=[args.manifest], formats=["html"], out=str(out))
    display = progress.display_for(False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="publisher-serve")
    thread.start()
    print(f"serving {url} (Ctrl-C stops)", flush=True)
    try:
        code = watch(watch_args, display, Builder(args.manifest, out, live, display))
    finally:
        live.close()
        server.shutdown()
        server.server_close()
        shutil.rmtree(out, ignore_errors=True)
    return code
