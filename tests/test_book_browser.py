"""The built book, read in a real browser: every page loads, renders and stays offline.

Serves ``_build/html`` (or ``$COURSE_BOOK_HTML``) on 127.0.0.1 and drives
Debian's headless Chromium through every HTML page of the build with
playwright. A full-page screenshot of each page goes to
``_build/screenshots/<page>.png`` for a person to look at.

Run with ``make browser-test`` after ``make book``.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
import urllib.parse
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("COURSE_BOOK_HTML", ROOT / "_build" / "html"))
SHOTS = BUILD.parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
LOCAL_HOSTS = {"127.0.0.1"}
# Pages Sphinx generates around the chapters; checked like the others except
# for the search page, which has its own test.
SPECIAL_PAGES = {"search.html"}
TIMEOUT_MS = 30_000


def built_pages() -> list[str]:
    """Every HTML page of the build, as paths relative to BUILD (posix)."""
    if not (BUILD / "index.html").is_file():
        return []
    skip = ("_static/", "_sources/", "_images/")
    pages = []
    for path in BUILD.rglob("*.html"):
        rel = path.relative_to(BUILD).as_posix()
        head = path.read_text(encoding="utf-8", errors="replace")[:2000].lower()
        # index.html only redirects to the first chapter: it has its own test.
        if not rel.startswith(skip) and 'http-equiv="refresh"' not in head:
            pages.append(rel)
    return sorted(pages)


def toc_files() -> list[str]:
    """The documents _toc.yml lists (root and every `file:`), without suffix."""
    yaml = pytest.importorskip("yaml")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [str(Path(f).with_suffix("")) for f in files]


def screenshot_name(page: str) -> str:
    return page.removesuffix(".html").replace("/", "_") + ".png"


# ---------------------------------------------------------------------------
# Fixtures: a local web server and one browser for the whole module
# ---------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server():
    if not (BUILD / "index.html").is_file():
        pytest.skip(f"no built book in {BUILD}: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(BUILD))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (`make system-deps`)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page opened in a fresh context, with everything it asked the network for."""

    def __init__(self, browser, url):
        self.external, self.console_errors = [], []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        # Any request to another host is recorded and aborted, so a page that
        # would reach out fails here instead of hanging until a timeout.
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(
            f"{m.text} ({m.location.get('url', '')})"))
        self.page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))
        self.response = self.page.goto(url, wait_until="load")

    def _route(self, route):
        url = route.request.url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    opened = []

    def open_page(path):
        v = Visit(browser, f"{server}/{path}")
        opened.append(v)
        return v

    yield open_page
    for v in opened:
        v.close()


# ---------------------------------------------------------------------------
# In-page checks (JavaScript run in the page)
# ---------------------------------------------------------------------------
WAIT_FOR_MATHJAX = """async () => {
    if (!document.querySelector('.math')) return 'no math';
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
        await new Promise(r => setTimeout(r, 50));
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return 'MathJax never started';
    await MathJax.startup.promise;
    return 'typeset';
}"""

MATH_REPORT = """() => {
    const maths = [...document.querySelectorAll('.math')];
    const raw = maths.filter(m => !m.querySelector('mjx-container'))
                     .map(m => m.textContent.trim().slice(0, 80));
    const errors = [...document.querySelectorAll('mjx-merror')]
                     .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120));
    const prose = document.querySelector('main') || document.body;
    const copy = prose.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, mjx-container').forEach(n => n.remove());
    const text = copy.textContent;
    return {count: maths.length, rendered: document.querySelectorAll('mjx-container').length,
            raw: raw, errors: errors, dollars: text.includes('$$'),
            delimiters: /\\\\\\(|\\\\\\[/.test(text)};
}"""

WAIT_FOR_IMAGES = """async () => {
    const imgs = [...document.images];
    imgs.forEach(i => { i.loading = 'eager'; });
    await Promise.all(imgs.map(i => i.complete ? null :
        new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
    return imgs.filter(i => !(i.complete && i.naturalWidth > 0))
               .map(i => i.getAttribute('src'));
}"""

FIGURE_REPORT = r"""() => [...document.querySelectorAll('.cell')].flatMap(cell => {
    const source = cell.querySelector('.cell_input')?.textContent || '';
    const output = cell.querySelector('.cell_output');
    const text = output ? output.textContent : '';
    const problems = [];
    // A figure that was created but never rendered (e.g. a non-inline backend).
    if (/<Figure size \d+x\d+ with \d+ Axes>/.test(text))
        problems.push('figure printed as text: ' + text.trim().slice(0, 60));
    else if (/plt\.show\(\)/.test(source) && !(output && output.querySelector('img')))
        problems.push('plt.show() drew no image: ' + source.trim().slice(0, 60));
    return problems;
})"""

PAGES = built_pages()


@pytest.mark.parametrize("page", PAGES or [None], ids=PAGES or ["no-build"])
def test_page_renders_offline(visit, page):
    """Does the page load (200) with no console error, no request to another host,
    all math typeset by the local MathJax and every image loaded?"""
    if page is None:
        pytest.skip(f"no built book in {BUILD}: run `make book` first")
    v = visit(page)
    assert v.response is not None and v.response.status == 200, f"{page}: HTTP status"
    state = v.page.evaluate(WAIT_FOR_MATHJAX)
    assert state in ("no math", "typeset"), f"{page}: {state}"
    math = v.page.evaluate(MATH_REPORT)
    broken_images = v.page.evaluate(WAIT_FOR_IMAGES)
    missing_figures = v.page.evaluate(FIGURE_REPORT)
    if page not in SPECIAL_PAGES:
        v.page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.page.screenshot(path=str(SHOTS / screenshot_name(page)), full_page=True)

    assert v.external == [], f"{page} requested other hosts: {v.external}"
    assert v.console_errors == [], f"{page} logged JavaScript errors: {v.console_errors}"
    assert math["raw"] == [], f"{page}: math left as TeX source: {math['raw'][:5]}"
    assert math["rendered"] >= math["count"], f"{page}: {math}"
    assert math["errors"] == [], f"{page}: MathJax could not typeset: {math['errors'][:5]}"
    assert not math["dollars"], f"{page}: raw $$ left in the text"
    assert not math["delimiters"], f"{page}: raw \\( or \\[ left in the text"
    assert broken_images == [], f"{page}: images that did not load: {broken_images}"
    assert missing_figures == [], f"{page}: figures missing from cell outputs: {missing_figures}"


def test_every_toc_entry_was_built():
    """Is there an HTML page for every document _toc.yml lists?"""
    if not PAGES:
        pytest.skip(f"no built book in {BUILD}: run `make book` first")
    missing = [f for f in toc_files() if f"{f}.html" not in PAGES]
    assert missing == [], f"in _toc.yml but not built: {missing}"


def test_index_redirects_to_first_page(visit):
    """Does the site's index.html lead to the welcome chapter?"""
    v = visit("index.html")
    v.page.wait_for_url("**/book/intro.html", timeout=TIMEOUT_MS)
    assert v.page.locator("h1").first.inner_text().startswith("Welcome")


def search(visit, query, shot):
    """Run a query on the search page; return the paths of the pages it found."""
    v = visit(f"search.html?q={urllib.parse.quote(query)}")
    v.page.wait_for_function(
        "() => document.querySelector('#search-results ul.search li') !== null"
        " || /did not match|no documents/i.test(document.querySelector('#search-results')?.textContent || '')")
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.page.screenshot(path=str(SHOTS / shot), full_page=True)
    hrefs = v.page.eval_on_selector_all("#search-results ul.search li a",
                                        "as => as.map(a => a.getAttribute('href'))")
    assert v.external == [] and v.console_errors == [], (v.external, v.console_errors)
    return [urllib.parse.urlsplit(h).path for h in hrefs]


def test_search_finds_softmax(visit):
    """Does the search page find "softmax", in the linear-classification chapter when it is built?"""
    expected = [p for p in ("book/02_linear.html",) if p in PAGES] or ["book/glossary.html"]
    found = search(visit, "softmax", "search-softmax.png")
    assert found, "searching 'softmax' found nothing"
    for page in expected:
        assert page in found, f"'softmax' should find {page}; found {found}"


def test_search_finds_chinese_term(visit):
    """Can a reader type a Chinese term (损失函数) and land on the glossary?"""
    assert "book/glossary.html" in search(visit, "损失函数", "search-chinese.png")


def test_glossary_lists_every_entry(visit):
    """Does the glossary page show every English and Chinese term of book/glossary/*.yml?"""
    yaml = pytest.importorskip("yaml")
    entries = [e for f in sorted((ROOT / "book" / "glossary").glob("*.yml"))
               for e in yaml.safe_load(f.read_text(encoding="utf-8")) or []]
    assert entries, "no glossary entries found"
    v = visit("book/glossary.html")
    cells = v.page.eval_on_selector_all(
        "table.glossary-table td", "tds => tds.map(td => td.textContent.trim())")
    # Sphinx typesets ' and " as curly quotes (Hebb's rule -> Hebb’s rule).
    curly = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
    cells = {c.translate(curly) for c in cells}
    missing = [e["en"] for e in entries if e["en"] not in cells or e["zh"] not in cells]
    assert missing == [], f"glossary rows missing for: {missing}"
