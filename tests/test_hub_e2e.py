"""The course on its JupyterHub, end to end, in Debian's Chromium (``make test-hub``).

Two students log in, fetch A1 from nbgrader's exchange, write solution cells
in JupyterLab, press "Check my notebook" (the hub's check service grades in
the sandbox), and submit; the instructor (a Unix user of their own, with the
environment their JupyterLab terminal has) collects, autogrades and releases
feedback; each student fetches their feedback, which holds their own score,
and can reach neither the other's work nor the answers.

Needs root and ``python deploy/hubctl.py setup`` (``make test-hub`` does both);
runs only with ``COURSE_HUB_E2E=1``. Everything is on 127.0.0.1. Step times
are written to ``$COURSE_HUB_ROOT/hub/e2e-timings.json`` and printed,
screenshots to ``$COURSE_HUB_ROOT/hub/e2e-screenshots/``.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

pytestmark = pytest.mark.skipif(
    os.environ.get("COURSE_HUB_E2E") != "1" or os.geteuid() != 0,
    reason="the hub end-to-end test runs with COURSE_HUB_E2E=1 as root (make test-hub)")

from .similarity_corpus import VARIANT_B, VARIANT_C  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
A1 = "a1_knn_linear"
TIMEOUT_MS = 180_000
#: screenshots of the check's answer and of the feedback (root only)
SHOTS = Path(os.environ.get("COURSE_HUB_ROOT", "/srv/nn-course-hub")) / "hub" / "e2e-screenshots"
NBGRADER_FEEDBACK_MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"
# what each student writes (grade id -> body of the solution region)
WORK = {
    "demo-alice": {g: VARIANT_C[g] for g in ("compute_distances_two_loops",
                                             "compute_distances_no_loops", "svm_loss_naive",
                                             "softmax_hyperparameters")},
    "demo-bob": {"compute_distances_one_loop": VARIANT_B["compute_distances_one_loop"],
                 # a bug: the regularization gradient is left out
                 "svm_loss_vectorized": VARIANT_B["svm_loss_vectorized"].replace(
                     " + 2.0 * reg * W", "")},
}
TIMINGS = {}


class step:
    """Times a step of the story into TIMINGS."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        TIMINGS[self.name] = round(time.perf_counter() - self.start, 1)


@pytest.fixture(scope="module")
def hub():
    import hubctl
    p = hubctl.paths()
    if not (p["student_venv"] / ".stamp").exists():
        pytest.fail(f"{p['root']} is not set up: run 'make test-hub' (hubctl.py setup)")
    # a clean course: no release, no submissions, no student copies, no log
    shutil.rmtree(p["exchange"] / hubctl.COURSE, ignore_errors=True)
    for sub in ("grading", "assignments"):
        shutil.rmtree(p["course"] / sub, ignore_errors=True)
    for user in hubctl.USERS:
        shutil.rmtree(Path("/home") / user / hubctl.COURSE, ignore_errors=True)
        # nbgrader's record of a student's past submissions
        shutil.rmtree(Path("/home") / user / ".local/share/jupyter/nbgrader_cache",
                      ignore_errors=True)
    (p["hub"] / "check.log").unlink(missing_ok=True)
    SHOTS.mkdir(exist_ok=True)
    start = time.perf_counter()
    proc = hubctl.start(background=True)
    TIMINGS["hub start"] = round(time.perf_counter() - start, 1)
    yield p
    hubctl.stop(proc)
    (p["hub"] / "e2e-timings.json").write_text(json.dumps(TIMINGS, indent=1))
    print("\nhub end-to-end step times (s):", json.dumps(TIMINGS, indent=1))


def as_user(user, command, paths, check=True):
    """Run ``command`` (shell) as ``user`` with the environment the hub gives
    their JupyterLab terminal."""
    import hubctl
    role = hubctl.USERS[user]["role"]
    venv = paths["staff_venv"] if role in ("instructor", "ta") else paths["student_venv"]
    cwd = paths["course"] if role in ("instructor", "ta") else Path("/home") / user
    env = ["env", "-i", f"HOME=/home/{user}", f"USER={user}", f"PATH={venv}/bin:/usr/bin:/bin",
           f"JUPYTER_CONFIG_PATH={paths['etc']}", f"COURSE_DATA_DIR={paths['data']}",
           f"COURSE_ID={hubctl.COURSE}", "OPENBLAS_NUM_THREADS=1"]
    run = subprocess.run(["runuser", "-u", user, "--"] + env + ["sh", "-c", f"cd {cwd} && "
                                                                 + command],
                         capture_output=True, text=True, timeout=900)
    if check:
        assert run.returncode == 0, f"{command}: {run.stdout}\n{run.stderr}"
    return run


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (make system-deps)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Student:
    """One student's browser session on the hub."""

    def __init__(self, browser, user, password, base):
        self.user, self.base = user, base
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.route("**/*", self._local_only)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.password = password
        self.external = []

    def _local_only(self, route):
        host = re.match(r"^[a-z]+://([^/:]+)", route.request.url)
        if host and host.group(1) != "127.0.0.1":
            self.external.append(route.request.url)
            return route.abort()
        return route.continue_()

    def login(self):
        page = self.page
        page.goto(f"{self.base}/hub/login")
        page.fill("#username_input", self.user)
        page.fill("#password_input", self.password)
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{self.user}/lab**")
        self.lab("?reset")

    def lab(self, rest=""):
        self.page.goto(f"{self.base}/user/{self.user}/lab{rest}")
        self.page.wait_for_selector(".lm-MenuBar-itemLabel:has-text('Nbgrader')")

    def assignments(self):
        page = self.page
        page.click(".lm-MenuBar-itemLabel:has-text('Nbgrader')")
        page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
        page.wait_for_selector("text=Released assignments")
        return page

    def open_notebook(self):
        page = self.page
        self.lab(f"/tree/nn-numpy/{A1}/{A1}.ipynb")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        return page

    def write_cell(self, grade_id, body):
        """Replace a solution cell's stub by ``body``, typed into the cell's
        editor as a paste would insert it."""
        page = self.page
        cell = page.locator(".jp-Notebook .jp-CodeCell").filter(
            has_text=f"def {grade_id}(")
        editor = cell.locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(self.stub_source[grade_id].replace(
            self.stub_region[grade_id], body.strip("\n")))
        page.keyboard.press("Escape")

    def check(self):
        page = self.page
        page.keyboard.press("Control+s")
        # as a person would: the save is done (the tab's dirty mark is gone)
        page.wait_for_selector(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty", state="detached")
        start = time.perf_counter()
        button = page.locator(".jp-NotebookPanel-toolbar "
                              ".jp-Toolbar-item[data-jp-item-name='course-check'] button")
        assert button.is_enabled(), "the 'Check my notebook' button is disabled"
        button.click()
        try:  # the panel opens at once ("Checking ..."), then shows the answer
            page.wait_for_selector("#course-check-result", timeout=30_000)
            page.wait_for_selector("#course-check-result[data-state='done'],"
                                   " #course-check-result[data-state='error']")
        except Exception:
            page.screenshot(path=str(SHOTS / f"{self.user}-check-failed.png"))
            raise
        seconds = time.perf_counter() - start
        result = page.locator("#course-check-result")
        text = result.inner_text()
        assert result.get_attribute("data-state") == "done", text
        page.screenshot(path=str(SHOTS / f"{self.user}-check.png"))
        page.locator("#course-check-result .course-check-close").click()
        return text, seconds


def _stubs():
    """``({grade id: release source}, {grade id: stub region})`` of A1's release."""
    import nbformat
    nb = nbformat.read(ROOT / "assignments" / A1 / f"{A1}.ipynb", as_version=4)
    sources, regions = {}, {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        match = re.search(r"( *)# YOUR CODE HERE\n\1raise NotImplementedError\(\)", cell.source)
        if gid and cell.metadata["nbgrader"].get("solution") and match:
            sources[gid], regions[gid] = cell.source, match.group(0)
    return sources, regions


def _expected_score(path):
    """The verdict of a saved notebook's solution cells, computed here."""
    import nbformat

    from course_lib.grading.engine import GradingRun
    from course_lib.grading.notebooks import code_solution_ids, solution_cells
    source = nbformat.read(ROOT / "solutions" / A1 / f"{A1}.ipynb", as_version=4)
    cells = solution_cells(nbformat.read(path, as_version=4), code_solution_ids(source))
    return GradingRun(A1, 4242).grade(cells).score


def test_a_course_on_the_hub(hub, browser):
    """Two students fetch, write, check and submit A1 in the browser; the
    instructor collects, autogrades and releases feedback; each student
    fetches their own feedback and reaches nothing of the other's."""
    import hubctl
    paths = hub
    passwords = json.loads((paths["hub"] / "demo-users.json").read_text())
    base = f"http://127.0.0.1:{hubctl.PORT}"
    with step("instructor: release A1"):
        out = as_user("demo-instructor", "python -m course_lib.grading release a1", paths).stdout
    assert f"released {A1} to the exchange {paths['exchange']}" in out

    stub_source, stub_region = _stubs()
    students, predicted = {}, {}
    for user in WORK:
        s = Student(browser, user, passwords[user], base)
        s.stub_source, s.stub_region = stub_source, stub_region
        students[user] = s
        with step(f"{user}: log in (server spawned)"):
            s.login()
        with step(f"{user}: fetch A1"):
            page = s.assignments()
            page.click("#released_assignments_list button:has-text('Fetch')")
            page.wait_for_selector(f"#fetched_assignments_list >> text={A1}")
        with step(f"{user}: edit solution cells"):
            s.open_notebook()
            for grade_id, body in WORK[user].items():
                s.write_cell(grade_id, body)
        with step(f"{user}: check (button to result)"):
            text, seconds = s.check()
        TIMINGS[f"{user}: check latency"] = round(seconds, 1)
        saved = Path("/home") / user / "nn-numpy" / A1 / f"{A1}.ipynb"
        expected = _expected_score(saved)
        match = re.search(r"Predicted score: ([\d.]+) / 43", text)
        assert match, text
        predicted[user] = float(match.group(1))
        assert predicted[user] == expected > 0
        with step(f"{user}: submit"):
            page = s.assignments()
            page.click(f"#fetched_assignments_list button:has-text('Submit')")
            page.wait_for_selector(f"#submitted_assignments_list >> text={A1}")
    assert predicted["demo-alice"] != predicted["demo-bob"]
    log = [json.loads(l) for l in (paths["hub"] / "check.log").read_text().splitlines()]
    assert {l["user"] for l in log} == set(WORK) and all(l["status"] == "ok" for l in log)

    with step("instructor: collect"):
        out = as_user("demo-instructor", "python -m course_lib.grading collect a1", paths).stdout
    assert re.search(r"\b2 (new|submissions)\b", out), out  # both students' work
    with step("instructor: autograde (2 workers)"):
        out = as_user("demo-instructor",
                      "python -m course_lib.grading autograde a1 --workers 2", paths).stdout
    with step("instructor: feedback --release"):
        as_user("demo-instructor", "python -m course_lib.grading feedback a1 --release", paths)
    for user, s in students.items():
        with step(f"{user}: fetch feedback"):
            page = s.assignments()
            page.click("#submitted_assignments_list button:has-text('Fetch Feedback')")
            folder = Path("/home") / user / "nn-numpy" / A1 / "feedback"
            deadline = time.monotonic() + 60
            while not list(folder.glob(f"*/{A1}.html")) and time.monotonic() < deadline:
                # not time.sleep: the page's requests pass through this
                # process's route handler, which runs only while playwright waits
                page.wait_for_timeout(500)
        html_files = list(folder.glob(f"*/{A1}.html"))
        assert len(html_files) == 1, f"{user} has no feedback"
        rel = html_files[0].relative_to(Path("/home") / user)
        s.page.goto(f"{base}/user/{user}/files/{rel}")
        body = s.page.locator("body").inner_text()
        s.page.screenshot(path=str(SHOTS / f"{user}-feedback.png"), full_page=False)
        assert f"Score: {predicted[user]:g}" in body.replace(".0 /", " /") or \
            f"{predicted[user]:g} / " in body, body[:400]
        assert "HIDDEN TESTS" not in html_files[0].read_text()
        assert f"{ 'demo-bob' if user == 'demo-alice' else 'demo-alice'}" not in body

    # nothing of the other student's, and no answers
    alice = students["demo-alice"]
    response = alice.page.goto(f"{base}/user/demo-bob/lab")
    assert "demo-bob" not in alice.page.url or response.status in (403, 404) or \
        "permission" in alice.page.content().lower()
    for command, why in (("ls /home/demo-bob", "another student's home"),
                         (f"ls {paths['exchange']}/nn-numpy/inbound", "the submissions"),
                         (f"ls {paths['exchange']}/nn-numpy/feedback", "everyone's feedback"),
                         (f"cat {paths['course']}/solutions/{A1}/{A1}.ipynb", "the solutions")):
        run = as_user("demo-alice", command, paths, check=False)
        assert run.returncode != 0 and "Permission denied" in run.stderr, why
    run = as_user("demo-alice", "python -I -c 'import course_lib.grading.engine'", paths,
                  check=False)
    assert "No module named 'course_lib.grading.engine'" in run.stderr
    run = as_user("demo-alice", "python -I -c \"from course_lib.grading import grade_item; "
                  "grade_item('a1.svm_loss_naive')\"", paths, check=False)
    assert "cannot run in the students' environment" in run.stderr
    run = as_user("demo-alice", f"course-check nn-numpy/{A1}/{A1}.ipynb", paths, check=False)
    assert "COURSE_CHECK_URL is not set" in run.stderr or "no hub token" in run.stderr
    for s in students.values():
        # nbgrader's feedback template asks cdnjs for MathJax (its mathjax()
        # macro has the URL built in): refused here, like every other
        # outside request, so math in feedback stays TeX source; nothing else
        # may leave 127.0.0.1
        others = [u for u in s.external if not u.startswith(NBGRADER_FEEDBACK_MATHJAX)]
        assert others == [], others
        s.context.close()
