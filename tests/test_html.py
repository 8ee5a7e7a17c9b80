"""The web edition (`--format html`): the sample handbook as a static site, checked as files and in a real
browser (Debian's headless chromium through its chromedriver; nothing is downloaded)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import lxml.html
import pytest
from conftest import BOOKS, DATA, build_manifest, publisher_until_ctrl_c
from test_watch import Reader

from publisher import build
from publisher.backends import write_atomic
from publisher.diagnostics import Reporter
from publisher.progress import PREFIX

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
WAIT = 30  # seconds at most for anything the browser is waited for (the machine may be busy)
LOADS = {"img": "src", "script": "src", "link": "href", "iframe": "src", "source": "src", "video": "src", "audio": "src",
         "embed": "src", "object": "data"}  # what a browser fetches by itself


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1735689600")
    built = build_manifest(BOOKS / "handbook.yml", tmp_path_factory.mktemp("web"), ["html"])
    return built.files[""]  # the folder DIR/handbook (no suffix)


def pages(site: Path) -> dict[str, lxml.html.HtmlElement]:
    return {p.name: lxml.html.parse(str(p)).getroot() for p in sorted(site.glob("*.html"))}


def browser(*args: str):
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("needs Debian's chromium and chromium-driver (make test installs them)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never downloads anything
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # every request, in requests_made
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900", *args):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def requests_made(driver) -> list[str]:
    """The URL of every request the browser made since the last call (Chrome's DevTools network log)."""
    events = (json.loads(entry["message"])["message"] for entry in driver.get_log("performance"))
    return [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]


@pytest.fixture(scope="module")
def driver():
    d = browser()
    yield d
    d.quit()


def test_site_has_every_page_and_its_landmarks(site):
    found = pages(site)
    for name in ("index.html", "search.html", "glossary.html", "tag-index.html", "book-index.html", "chapter-01.html",
                 "part-1.html", "chapter-10.html", "chapter-10-02.html"):  # chapter 10 is long: a page per article
        assert name in found, name
    for name in ("style/book.css", "script/site.js", "search-index.js", "search-index.json", "fonts/diagram-mono.woff",
                 "images/cover.svg"):
        assert (site / name).is_file(), name
    for name, root in found.items():
        assert root.get("lang") == "en", name
        assert root.find(".//header") is not None and root.find(".//main[@id='content']") is not None, name
        assert root.xpath("//a[@class='skip-link']/@href") == ["#content"], name
        if name != "index.html":
            assert root.xpath("//nav[@aria-label='Contents']//a[@aria-current='page']/@href") in ([name], []), name
    chapter = found["chapter-04.html"]
    assert chapter.xpath("//pre[contains(@class, 'diagram')]"), "the AI stack's diagram"
    assert chapter.xpath("//a[@rel='prev']/@href") == ["chapter-03.html"] and chapter.xpath("//a[@rel='next']/@href") == ["chapter-05.html"]


def checked_links(site: Path) -> int:
    """Every src and href of every page is relative (or a fragment) and names a file of the site and an id on
    it; a link to another site (a reference in an article) is only something to follow, never fetched. The
    only scripts are the site's own, no attribute is an event handler. Returns the number of #id links."""
    found = pages(site)
    ids = {name: set(root.xpath("//@id")) for name, root in found.items()}
    checked = 0
    for name, root in found.items():
        assert set(root.xpath("//script/@src")) <= {"script/site.js", "search-index.js"}, name
        assert not root.xpath("//script[not(@src)]") and not root.xpath("//@*[starts-with(name(), 'on')]"), name
        for el in root.iter():
            attr = LOADS.get(el.tag) or ("href" if el.tag == "a" else None)
            value = el.get(attr) if attr else None
            if value is None:
                continue
            parts = urlsplit(value)
            if el.tag == "a" and parts.scheme in ("http", "https", "mailto"):
                continue
            assert not parts.scheme and not parts.netloc and not parts.path.startswith("/"), f"{name}: {value}"
            target = parts.path or name
            assert (site / target).is_file(), f"{name}: {value}"
            if parts.fragment:
                assert parts.fragment in ids[target], f"{name}: {value}"
                checked += 1
    css = (site / "style/book.css").read_text(encoding="utf-8")
    assert "url(" not in css.replace('url("../fonts/diagram-mono.woff")', "")
    return checked


def test_every_link_lands_on_its_element_and_nothing_leaves_the_folder(site):
    assert checked_links(site) > 500


@pytest.mark.parametrize("case", ["html-script-style-iframe", "html-raw-other-formats", "html-unbalanced", "css-url",
                                  "image-remote", "image-file-url", "image-traversal", "image-data-urls", "link-javascript",
                                  "link-file-url"])
def test_hostile_vaults_make_a_site_that_stays_in_its_folder(case, tmp_path):
    shutil.copytree(DATA / "hostile" / case, tmp_path / case)
    reporter = Reporter()
    written = build(tmp_path / case / "book.yml", ["html"], tmp_path / "out", reporter=reporter)
    assert not reporter.errors and written
    checked_links(written[0])
    assert not [p for p in written[0].rglob("*") if p.is_symlink() or not p.resolve().is_relative_to(written[0])]


def test_long_chapter_pages_and_article_links_point_to_their_page(site):
    found = pages(site)
    article = found["chapter-10-02.html"].xpath("//main//h1/@id")[0]  # the second article of "Language models"
    elsewhere = [href for root in found.values() for href in root.xpath("//main//a/@href") if href.endswith("#" + article)]
    assert elsewhere and all(href == f"chapter-10-02.html#{article}" for href in elsewhere)


def test_images_are_copied_in_and_a_remote_one_is_a_placeholder(tmp_path):
    site = build_manifest(DATA / "links" / "book.yml", tmp_path, ["html"]).files[""]
    sources = [src for root in pages(site).values() for src in root.xpath("//main//img/@src")]
    assert len(sources) >= 3 and all(src.startswith("images/") and (site / src).is_file() for src in sources)
    assert {Path(src).suffix for src in sources} >= {".png", ".svg"}
    text = " ".join(root.text_content() for root in pages(site).values())
    assert "[image: remote]" in text  # https://example.org/x.png: shown as a link to follow, never fetched


def test_a_failed_build_leaves_the_previous_site(tmp_path):
    target = tmp_path / "book"
    write_atomic(target, lambda tmp: (tmp / "index.html").write_text("first"), folder=True)

    def fails(tmp: Path):
        (tmp / "index.html").write_text("second")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomic(target, fails, folder=True)
    assert (target / "index.html").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["book"]  # no temporary folder left behind
    write_atomic(target, lambda tmp: (tmp / "other.html").write_text("third"), folder=True)
    assert [p.name for p in target.iterdir()] == ["other.html"]


# ---------------------------------------------------------------- in the browser, from file://
def test_cross_link_lands_on_its_element_from_file_url(site, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    requests_made(driver)
    driver.get((site / "chapter-04.html").as_uri())
    # the AI stack's diagram is wider than the text: it keeps its lines whole and scrolls sideways
    diagram = driver.find_element(By.CSS_SELECTOR, "pre.diagram")
    style = driver.execute_script("const s = getComputedStyle(arguments[0]); return [s.whiteSpace, s.overflowX, s.fontFamily]", diagram)
    assert style[:2] == ["pre", "auto"] and style[2].startswith('"Diagram Mono"')
    assert driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", diagram)
    link = driver.find_element(By.CSS_SELECTOR, "main a[href='chapter-06.html#training-data']")  # the chapter's third article
    driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", link)
    WebDriverWait(driver, WAIT).until(lambda d: d.current_url.endswith("chapter-06.html#training-data"))
    target = driver.find_element(By.ID, "training-data")
    top = driver.execute_script("return arguments[0].getBoundingClientRect().top", target)
    assert driver.execute_script("return window.scrollY") > 0 and 0 <= top < 50
    assert target.text.startswith("Training Data")
    urls = requests_made(driver)  # two pages, their stylesheet, script and diagram font: nothing from anywhere else
    assert len(urls) >= 4 and all(u.startswith(site.as_uri() + "/") for u in urls), urls


def test_search_finds_an_article_and_links_to_its_page(site, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get((site / "search.html").as_uri() + "?q=retrieval")
    results = WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results a"))
    first = results[0]
    assert first.text == "Retrieval-Augmented Generation (RAG)"
    href = first.get_attribute("href")
    page, _, ident = href.rpartition("#")
    assert page.startswith(site.as_uri()) and ident in set(lxml.html.parse(urlsplit(page).path).getroot().xpath("//@id"))
    box = driver.find_element(By.ID, "search-input")
    box.clear()
    box.send_keys("nothing-like-this-anywhere")
    WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "search-status").text.startswith("0 articles"))
    first_url = href
    driver.get(first_url)
    WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, ident).is_displayed())


def test_readable_without_script(site):
    """With scripts off, a page shows its text, the contents and the previous/next links."""
    from selenium.webdriver.common.by import By

    d = browser("--blink-settings=scriptEnabled=false")
    try:
        d.get((site / "chapter-02.html").as_uri())
        assert d.find_element(By.CSS_SELECTOR, "main h1").is_displayed()
        assert len([a for a in d.find_elements(By.CSS_SELECTOR, "nav.sidebar a") if a.is_displayed()]) > 20
        assert d.find_element(By.CSS_SELECTOR, "a[rel=next]").is_displayed()
        d.get((site / "search.html").as_uri() + "?q=retrieval")  # scripts really are off: no results, a note instead
        assert "Search needs JavaScript" in d.find_element(By.TAG_NAME, "main").text
        assert not d.find_elements(By.CSS_SELECTOR, "#search-results li")
    finally:
        d.quit()


# ---------------------------------------------------------------- publisher serve
def wait(driver, predicate):
    """predicate(driver) once it is true (a page's body may be replaced meanwhile: serve updates it in place)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(predicate)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_reloads_the_open_page_and_stops_on_ctrl_c(tmp_path, driver):
    from selenium.webdriver.common.by import By

    shutil.copytree(DATA / "vault", tmp_path / "vault")
    manifest = tmp_path / "tiny.yml"
    shutil.copy(DATA / "tiny.yml", manifest)
    port = free_port()
    proc = subprocess.Popen(publisher_until_ctrl_c("serve", "tiny.yml", "--port", str(port)), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    stdout, stderr = Reader(proc.stdout), Reader(proc.stderr)
    try:
        stdout.wait_for(lambda line: line.startswith(f"{PREFIX}watching "), "first build")
        assert stdout.lines[0] == f"serving http://127.0.0.1:{port}/ (Ctrl-C stops)"
        stderr.wait_for(lambda line: "unresolved link to 'nowhere-article'" in line, "the warning in the terminal")
        driver.get(f"http://127.0.0.1:{port}/chapter-01.html")
        assert driver.find_element(By.CSS_SELECTOR, "main h1").text.startswith("Alpha")
        # the warning on the page too, in a panel that can be dismissed
        panel = wait(driver, lambda d: d.find_element(By.ID, "publisher-serve-panel"))
        assert "unresolved link to 'nowhere-article'" in panel.text
        panel.find_element(By.TAG_NAME, "button").click()
        assert not driver.find_elements(By.ID, "publisher-serve-panel")

        alpha = tmp_path / "vault" / "basics" / "alpha.md"
        alpha.write_text(alpha.read_text(encoding="utf-8") + "\nA sentence written while the page was open.\n", encoding="utf-8")
        wait(driver, lambda d: "A sentence written while the page was open." in d.find_element(By.TAG_NAME, "main").text)
        stdout.wait_for(lambda line: line.startswith(f"{PREFIX}built in "), "the whole book built after the page")
        wait(driver, lambda d: d.execute_script(  # dismissed: the panel of the last build
            "const b = document.querySelector('#publisher-serve-panel button'); return b !== null && (b.click(), true)"))

        # another page changed: this one stays as it is (not reloaded), the new build's warning shown on it
        driver.execute_script("window.notReloaded = true")
        beta = tmp_path / "vault" / "basics" / "beta.md"
        beta.write_text(beta.read_text(encoding="utf-8") + "\nBeta changed.\n", encoding="utf-8")
        stdout.wait_for(lambda line: line.startswith(f"{PREFIX}built in "), "the whole book built")
        wait(driver, lambda d: d.find_elements(By.ID, "publisher-serve-panel"))
        assert driver.execute_script("return window.notReloaded") is True
        assert b"Beta changed." in urlopen(f"http://127.0.0.1:{port}/chapter-02.html").read()

        # bad input: the error on the page and in the terminal (at the unclosed "[", 1:8), the page as it was,
        # the server still running
        good = manifest.read_text(encoding="utf-8")
        manifest.write_text(good.replace("title: Tiny Book", "title: [Tiny Book"), encoding="utf-8")
        wait(driver, lambda d: "error:" in d.find_element(By.ID, "publisher-serve-panel").text)
        assert "tiny.yml:1:8: error: invalid YAML" in driver.find_element(By.ID, "publisher-serve-panel").text
        assert "A sentence written while the page was open." in driver.find_element(By.TAG_NAME, "main").text
        stderr.wait_for(lambda line: line.startswith("tiny.yml:1:8: error: "), "the error in the terminal")
        manifest.write_text(good.replace("title: Tiny Book", "title: Tiny Book Again"), encoding="utf-8")
        wait(driver, lambda d: d.find_element(By.CLASS_NAME, "site-title").text == "Tiny Book Again")
        assert urlsplit(driver.current_url).path == "/chapter-01.html"
        assert b"__publisher" not in urlopen(f"http://127.0.0.1:{port}/script/site.js").read()  # only pages get the script
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=WAIT)
    assert code == 0
    assert not [line for line in stderr.lines + stderr.drain(0.5) if "Traceback" in line or "Error" in line]


def test_serve_reports_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "publisher", "serve", str(DATA / "tiny.yml"), "--port", str(port)],
                              capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 2
    assert done.stderr.startswith(f"publisher: error: cannot serve on 127.0.0.1:{port}: ") and done.stderr.count("\n") == 1


def test_serve_preview_shows_what_the_whole_build_shows(tmp_path):
    """The page of a changed article made again alone (Builder.preview) has the text, links and heading ids the
    whole book's build gives it; a change to the front matter is left to the whole build."""
    from publisher.progress import Display
    from publisher.serve import Builder, Live

    shutil.copytree(DATA / "vault", tmp_path / "vault")
    shutil.copy(DATA / "tiny.yml", tmp_path / "tiny.yml")
    live = Live(tmp_path / "out")
    builder = Builder(str(tmp_path / "tiny.yml"), tmp_path / "out", live, Display())
    assert builder(None) == 0

    def main_of(data: bytes):
        main = lxml.html.fromstring(data).find(".//main")
        return main.text_content(), main.xpath(".//a/@href"), [(h.tag, h.get("id")) for h in main.iter("h1", "h2", "h3", "h4")]

    alpha = (tmp_path / "vault" / "basics" / "alpha.md").resolve()
    text = alpha.read_text(encoding="utf-8")
    alpha.write_text(text + "\n## Added later\n\nA new paragraph that links to [[beta]] and [[#Added later]].\n", encoding="utf-8")
    name = builder.preview(alpha)
    preview = (live.site / name).read_bytes()
    assert b"A new paragraph that links to" in preview
    builder.build(Reporter())
    assert main_of(preview) == main_of((live.site / name).read_bytes())

    alpha.write_text(text.replace('title: "Alpha: The First Article"', 'title: "Alpha Renamed"', 1), encoding="utf-8")
    assert builder.preview(alpha) is None
