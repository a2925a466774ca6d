"""A feedback page in headless Chromium, opened from disk as a student would:
maths typeset by the bundled MathJax, no request leaving the page, no
student script running, long feedback lines wrapped."""
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from course_lib.grading import cli, isolation
from course_lib.grading.testing import write_learnable_cifar10

from .attack_corpus import INSTRUCTOR_NOTEBOOKS
from .test_book_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not isolation.self_test()[0], reason="bubblewrap unavailable")]

ROOT = Path(__file__).resolve().parents[1]
AID = "a1_knn_linear"
SOLUTION = ROOT / "solutions" / AID / f"{AID}.ipynb"
XSS = "script, event handlers, javascript: links, remote resources; a missing attachment"


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feedback")
    saved = dict(os.environ)
    os.environ.update(COURSE_DATA_DIR=str(write_learnable_cifar10(tmp / "data", 1100)),
                      COURSE_EXCHANGE=str(tmp / "exchange"), MPLBACKEND="Agg",
                      PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    os.environ.pop("COURSE_GRADEBOOK_URL", None)
    try:
        course = tmp / "course"
        (course / "solutions").mkdir(parents=True)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(SOLUTION.parent, course / "solutions" / AID)
        assert cli.main(["--course-dir", str(course), "generate", "a1"]) == 0
        folder = course / "grading" / "submitted" / "dave" / AID
        folder.mkdir(parents=True)
        notebook = INSTRUCTOR_NOTEBOOKS[XSS][0](json.loads(SOLUTION.read_text()))
        (folder / f"{AID}.ipynb").write_text(json.dumps(notebook))
        cli.autograde(cli.Course(course), "a1", workers=1, seed=1, progress=False)
        assert cli.main(["--course-dir", str(course), "feedback", "a1"]) == 0
        yield course / "grading" / "feedback" / "dave" / AID / f"{AID}.html"
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_feedback_page_in_chromium(page_path):
    """Opened from disk: is every request the page itself or data:, no
    student script run (the title unchanged), the maths typeset by MathJax,
    and no feedback line wider than its block?"""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found")
    requests, console = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: console.append(m.text))
            page.goto(page_path.as_uri())
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 0",
                                   timeout=60_000)
            title = page.title()
            typeset = page.evaluate("document.querySelectorAll('mjx-container').length")
            overflow = page.evaluate("""Array.from(document.querySelectorAll(
                'div.output_subarea pre')).filter(e => e.scrollWidth > e.clientWidth + 1).length""")
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "feedback_page.png"))
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith(("data:", page_path.as_uri()))]
    assert outside == []
    assert "pwned" not in title and title.startswith(AID)
    assert typeset >= 5
    assert overflow == 0
    assert not [m for m in console if "Refused" in m and "script" in m], console
