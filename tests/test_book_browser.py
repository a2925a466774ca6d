"""The built book, read in a real browser: every page loads, renders and stays offline.

Serves ``_build/html`` (or ``$COURSE_BOOK_HTML``) on 127.0.0.1 and drives
Debian's headless Chromium through every HTML page of the build with
playwright: the English edition (``book/``) and the Chinese one (``zh/``). A
full-page screenshot of each page goes to ``_build/screenshots/<page>.png``
for a person to look at.

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
SPECIAL_PAGES = {"search.html", "zh/search.html"}
# Fonts that draw Chinese; the Makefile installs fonts-wqy-microhei.
CJK_FONTS = ("WenQuanYi", "Noto Sans CJK", "Noto Serif CJK", "Source Han", "Droid Sans Fallback")
TIMEOUT_MS = 30_000


def built_pages() -> list[str]:
    """Every HTML page of the build, as paths relative to BUILD (posix)."""
    if not (BUILD / "index.html").is_file():
        return []
    skip = {"_static", "_sources", "_images"}  # in either edition's folder
    pages = []
    for path in BUILD.rglob("*.html"):
        rel = path.relative_to(BUILD).as_posix()
        head = path.read_text(encoding="utf-8", errors="replace")[:2000].lower()
        # index.html only redirects to the first chapter: it has its own test.
        if not skip & set(path.relative_to(BUILD).parts) and 'http-equiv="refresh"' not in head:
            pages.append(rel)
    return sorted(pages)


def toc_files(toc_file: str = "_toc.yml") -> list[str]:
    """The documents a _toc file lists (root and every `file:`), without suffix."""
    yaml = pytest.importorskip("yaml")
    toc = yaml.safe_load((ROOT / toc_file).read_text(encoding="utf-8"))
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

SWITCH_TARGET = """() => {
    const a = document.querySelector('a[data-edition-switch]');
    return a ? new URL(a.getAttribute('href'), location.href).pathname.slice(1) : null;
}"""


def other_edition(page: str) -> str:
    """The page of the other edition that `page` switches to."""
    if page.startswith("zh/"):
        name = page.removeprefix("zh/")
        return name if name in ("search.html", "genindex.html") else f"book/{name}"
    return "zh/" + page.removeprefix("book/")


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
    switch = v.page.evaluate(SWITCH_TARGET)
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
    if page.startswith(("book/", "zh/")) or page in ("search.html", "genindex.html"):
        other = other_edition(page)
        assert switch is not None, f"{page}: no link to the other edition"
        assert switch == other and other in PAGES + sorted(SPECIAL_PAGES), (
            f"{page}: the edition switch leads to {switch}, expected {other}")


def test_every_toc_entry_was_built():
    """Is there an HTML page for every document _toc.yml and _toc.zh.yml list?"""
    if not PAGES:
        pytest.skip(f"no built book in {BUILD}: run `make book` first")
    expected = toc_files() + [f"zh/{f}" for f in toc_files("_toc.zh.yml")]
    missing = [f for f in expected if f"{f}.html" not in PAGES]
    assert missing == [], f"in _toc.yml or _toc.zh.yml but not built: {missing}"


@pytest.mark.parametrize("index, first, title", [("index.html", "book/intro.html", "Welcome"),
                                                 ("zh/index.html", "zh/intro.html", "欢迎")])
def test_index_redirects_to_first_page(visit, index, first, title):
    """Does each edition's index.html lead to its welcome chapter?"""
    v = visit(index)
    v.page.wait_for_url(f"**/{first}", timeout=TIMEOUT_MS)
    assert v.page.locator("h1").first.inner_text().startswith(title)


def search(visit, query, shot, edition=""):
    """Run a query on an edition's search page ("" or "zh/"); return the paths of the pages it found."""
    v = visit(f"{edition}search.html?q={urllib.parse.quote(query)}")
    # Results are listed one by one; the summary line is written after the last.
    v.page.wait_for_function(
        "() => (document.querySelector('#search-results p.search-summary')?.textContent || '').trim() !== ''")
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.page.screenshot(path=str(SHOTS / shot), full_page=True)
    found = v.page.eval_on_selector_all(
        "#search-results ul.search li a",
        "as => as.map(a => new URL(a.getAttribute('href'), location.href).pathname.slice(1))")
    assert v.external == [] and v.console_errors == [], (v.external, v.console_errors)
    return found


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


GLOSSARY_ROWS = """() => [...document.querySelectorAll('table.glossary-table tbody tr')].map(tr => {
    const cells = [...tr.querySelectorAll('td')].map(td => {
        const copy = td.cloneNode(true);
        const also = [...copy.querySelectorAll('.glossary-also')].map(s => s.textContent.trim());
        copy.querySelectorAll('.glossary-also').forEach(s => s.remove());
        return {text: copy.textContent.trim(), also: also.join(' ')};
    });
    return cells;
})"""


@pytest.mark.parametrize("page, columns", [("book/glossary.html", ("en", "zh")),
                                           ("zh/glossary.html", ("zh", "en"))])
def test_glossary_lists_every_concept_once(visit, page, columns):
    """Does each glossary page show every concept of book/glossary/*.yml in one row, with its
    other Chinese names, English first on the English page and Chinese first on the Chinese one?"""
    glossary = pytest.importorskip("course_lib.glossary")
    rows = glossary.merge(glossary.load_entries(ROOT / "book" / "glossary"))
    assert rows, "no glossary entries found"
    v = visit(page)
    shown = v.page.evaluate(GLOSSARY_ROWS)
    # Sphinx typesets ' and " as curly quotes (Hebb's rule -> Hebb’s rule).
    curly = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
    pairs = [(r[0]["text"].translate(curly), r[1]["text"].translate(curly)) for r in shown]
    expected = [(r[columns[0]], r[columns[1]]) for r in rows]
    assert sorted(pairs) == sorted(expected), "rows differ from book/glossary/*.yml"
    zh_column = columns.index("zh")
    also = {r[zh_column]["text"]: r[zh_column]["also"] for r in shown}
    missing = [r["zh"] for r in rows if any(a not in also[r["zh"]] for a in r["aliases"])]
    assert missing == [], f"other names not shown for {missing}"
    if page.startswith("zh/"):
        pypinyin = pytest.importorskip("pypinyin")
        readings = [pypinyin.lazy_pinyin(zh.replace(" ", "")) for zh, _ in pairs]
        # Terms that start with a digit (1×1 卷积) close the list, under "#".
        firsts = [f if f.isalpha() else "~" for f in ("".join(r)[:1].lower() for r in readings)]
        assert firsts == sorted(firsts), "the Chinese glossary is not in pinyin order"


def test_chinese_search_finds_words_inside_terms(visit):
    """Does the Chinese edition's search find 梯度 inside 梯度消失, and the whole term too?
    (Sphinx's Chinese index splits words with jieba; without it Chinese is not indexed.)"""
    with_term = sorted(f"zh/{p.stem}.html" for p in (ROOT / "book" / "zh").glob("*.md")
                       if "梯度消失" in p.read_text(encoding="utf-8") and f"zh/{p.stem}.html" in PAGES)
    if not with_term:
        pytest.skip("no built Chinese page writes 梯度消失")
    for query, shot in (("梯度", "search-zh-part.png"), ("梯度消失", "search-zh-term.png"),
                        ("消失", "search-zh-tail.png")):
        found = search(visit, query, shot, edition="zh/")
        assert set(with_term) <= set(found), f"{query!r} should find {with_term}; found {found}"


def test_chinese_search_finds_english_words(visit):
    """Are English words in Chinese pages indexed too (softmax in chapter 2)?"""
    assert "zh/02_linear.html" in search(visit, "softmax", "search-zh-softmax.png", edition="zh/")


SECTIONS = "() => [...document.querySelectorAll('article.bd-article section')].map(s => s.id)"
SWITCH_IN_VIEW = """() => {
    const r = document.querySelector('a[data-edition-switch]').getBoundingClientRect();
    return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
}"""
HEADING_TOP = """id => document.getElementById(id)
    .querySelector('h1, h2, h3, h4, h5, h6').getBoundingClientRect().top"""


@pytest.mark.parametrize("start, target", [("book/09_cnn.html", "zh/09_cnn.html"),
                                           ("zh/04_backprop.html", "book/04_backprop.html")])
def test_edition_switch_lands_on_the_same_section(visit, start, target):
    """Scrolled to a section, does the switch open the other edition at the same section?"""
    if start not in PAGES or target not in PAGES:
        pytest.skip(f"{start} or {target} is not built")
    v = visit(start)
    v.page.evaluate(WAIT_FOR_IMAGES)  # so that no figure above moves the section meanwhile
    sections = v.page.evaluate(SECTIONS)
    index = 2 * len(sections) // 3  # a section deep in the page
    v.page.evaluate(f"document.getElementById({sections[index]!r}).scrollIntoView()")
    # The switch stays in view (the article header is sticky); click it where
    # it is (playwright's click would first scroll it, and the page with it).
    assert v.page.evaluate(SWITCH_IN_VIEW), "the switch is not in view after scrolling"
    v.page.evaluate("document.querySelector('a[data-edition-switch]').click()")
    v.page.wait_for_url(f"**/{target}#*")
    v.page.wait_for_load_state("load")
    landed = urllib.parse.urlsplit(v.page.url).fragment
    other = v.page.evaluate(SECTIONS)
    assert len(other) == len(sections), f"{target} has {len(other)} sections, {start} {len(sections)}"
    assert landed == other[index], f"landed on #{landed}, expected #{other[index]} (section {index})"
    assert 0 <= v.page.evaluate(HEADING_TOP, landed) < 450, "the section's heading is not in view"
    assert v.console_errors == [], v.console_errors


def test_edition_switch_keeps_the_search_query(visit):
    """Does the switch on a search page run the same query in the other edition?"""
    v = visit("search.html?q=softmax")
    v.page.evaluate("document.querySelector('a[data-edition-switch]').click()")
    v.page.wait_for_url("**/zh/search.html?q=softmax*")
    v.page.wait_for_function(
        "() => (document.querySelector('#search-results p.search-summary')?.textContent || '').trim() !== ''")
    assert v.page.locator("#search-results ul.search li").count() > 0


FIRST_PARAGRAPH_HAN = """() => {
    const p = document.querySelector('article.bd-article section p');
    const text = [...p.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('');
    return (text.match(/[\u3400-\u9fff]/g) || []).length;
}"""


def test_chinese_text_renders_with_a_chinese_font(visit):
    """Is the Chinese prose drawn with an installed CJK font (not boxes, not a fallback)?"""
    v = visit("zh/intro.html")
    cdp = v.context.new_cdp_session(v.page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "article.bd-article section p"})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    han = v.page.evaluate(FIRST_PARAGRAPH_HAN)
    cjk = sum(f["glyphCount"] for f in fonts if f["familyName"].startswith(CJK_FONTS))
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.page.locator("article.bd-article section p").first.screenshot(path=str(SHOTS / "zh-font.png"))
    assert han > 20, f"the first paragraph of zh/intro.html has only {han} Chinese characters"
    assert cjk >= han, f"{han} Chinese characters, {cjk} glyphs from a CJK font: {fonts}"
