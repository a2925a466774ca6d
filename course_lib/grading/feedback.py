"""``feedback``: one HTML page per student, each made in a process of its
own with a time limit, and ``--release`` per student.

nbgrader's ``generate_feedback`` renders every student in one process and
reports failure for all when one notebook breaks (a missing attachment, a
Markdown cell built to make rendering quadratic holds everyone). Here each
student's page is rendered by nbgrader's ``GenerateFeedback`` in a child
forked from this process (nbgrader is imported once), killed after
``timeout`` seconds; a student whose page fails or times out is named with
the reason, their partial page removed, and the others go on.

The page (template ``templates/course_feedback``): student content
sanitised (:mod:`.sanitize`), a Content Security Policy that allows no
script but the bundled MathJax (inlined, fonts as ``data:`` URIs: the
page is one file that works offline) and no remote resource; items named
in the contents, written answers not graded yet marked *pending*, output
lines wrapped, no ``Out[1]: 2.0`` under the test cells (the points are in
the heading).

``release`` copies each page to the exchange with nbgrader's
``release_feedback``, student by student: a student imported from a zip
or folder (no ``submission_secret.txt``: they never used the exchange)
is skipped and named, with where their page is.
"""
import base64
import copy
import functools
import hashlib
import json
import os
import select
import signal
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from .ids import id_problem

__all__ = ["FeedbackPresentation", "generate", "release", "mathjax_head", "FEEDBACK_TIMEOUT"]

FEEDBACK_TIMEOUT = 60.0
MATHJAX_MARK = "<!--course-feedback-mathjax-->"
TEMPLATES = Path(__file__).with_name("templates")
MATHJAX = Path(__file__).resolve().parents[2] / "book" / "_static" / "mathjax"
_MATHJAX_CONFIG = """window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], processEscapes: true, autoload: {}},
  options: {enableMenu: false},
  startup: {typeset: true}
};"""


@functools.lru_cache(maxsize=1)
def mathjax_head():
    """``(html, csp)``: the script tags of the bundled MathJax with its fonts
    inlined, and the page's Content-Security-Policy allowing exactly them."""
    scripts = [_MATHJAX_CONFIG]
    try:
        code = (MATHJAX / "tex-chtml.js").read_text(encoding="utf-8")
        fonts = MATHJAX / "output" / "chtml" / "fonts" / "woff-v2"
        for font in sorted(fonts.glob("*.woff")):
            uri = "data:font/woff;base64," + base64.b64encode(font.read_bytes()).decode()
            code = code.replace(f"%%URL%%/{font.name}", uri)
        scripts.append(code)
    except OSError:  # no book folder next to course_lib: maths stays as TeX source
        scripts = []
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
                      + "'" for s in scripts)
    csp = (f"default-src 'none'; script-src {hashes or chr(39) + 'none' + chr(39)}; "
           "style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; "
           "form-action 'none'")
    html = "\n".join(f"<script>{s}</script>" for s in scripts)
    return html, csp


class FeedbackPresentation(NbGraderPreprocessor):
    """Names each graded cell after its items, marks grades still to be
    given by hand, drops the points echo (``Out[1]``) of test cells; runs
    after ``GetGrades`` and before ``StripHiddenTests``."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        from .notebooks import item_names
        from .registry import get_assignment
        info = resources["nbgrader"]
        try:
            titles = {i.name: i.title for i in get_assignment(info["assignment"]).items}
        except KeyError:
            titles = {}
        pending = set()
        with Gradebook(info["db_url"]) as gb:
            try:
                submitted = gb.find_submission_notebook(info["notebook"], info["assignment"],
                                                        info["student"])
                pending = {g.name for g in submitted.grades
                           if g.needs_manual_grade and g.manual_score is None
                           and g.auto_score is None}
            except MissingEntry:
                pass
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            grade_id = meta.get("grade_id", "")
            names = item_names(cell.source) if cell.cell_type == "code" else ()
            if names:
                title = " + ".join(titles.get(n, n) for n in names)
            elif cell.cell_type == "markdown" or meta.get("solution"):
                title = f"Written answer ({grade_id})"
            else:
                title = f"Test cell {grade_id}"
            cell.metadata["course_feedback"] = {"title": title, "pending": grade_id in pending}
            if cell.cell_type == "code" and not meta.get("solution"):
                cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]
        _, csp = mathjax_head()
        resources["course_feedback"] = {
            "title": f"{info['assignment']}: feedback for {info['student']}",
            "csp": csp, "pending": len(pending)}
        return nb, resources


def _nbgrader_templates():
    import nbgrader
    return Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"


def _config(course):
    """The course's nbgrader config for our feedback pages."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from .preprocessors import StripHiddenTests
    config = copy.deepcopy(course.config)
    config.HTMLExporter.template_name = "course_feedback"
    config.HTMLExporter.filters = {"local_css": "course_lib.grading.sanitize.local_css"}
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(_nbgrader_templates())]
    config.GenerateFeedback.preprocessors = [GetGrades, FeedbackPresentation, StripHiddenTests,
                                             CSSHTMLHeaderPreprocessor]
    return config


def _render_one(config, assignment_id, student):
    """In the child: nbgrader's GenerateFeedback for one student."""
    from nbgrader import utils
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = assignment_id, student
    app = GenerateFeedback(coursedir=coursedir, config=config)
    # our template extends nbgrader's 'feedback/index.html.j2': its folder
    # goes on the search path (GenerateFeedback sets the list when created)
    extra = Config()
    extra.HTMLExporter.extra_template_paths = (
        list(app.config.HTMLExporter.extra_template_paths) + [str(_nbgrader_templates())])
    app.update_config(extra)
    app.force = True
    result = utils.capture_log(app)
    if not result.get("success"):
        lines = [line.strip() for line in (result.get("error") or result.get("log") or "")
                 .splitlines() if line.strip().startswith(("[ERROR]", "    "))
                 and "Please see" not in line and "There was an error" not in line]
        raise RuntimeError(lines[-1][:300] if lines else "nbgrader's feedback step failed")
    # MathJax goes in after rendering: the template engine and nbconvert's
    # HTML parsing would take seconds per page over its 1.7 MB
    page = Path(coursedir.format_path(coursedir.feedback_directory, student, assignment_id))
    for html in page.glob("*.html"):
        text = html.read_text(encoding="utf-8").replace(MATHJAX_MARK, mathjax_head()[0], 1)
        tmp = html.with_name(f".{html.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, html)


def start_child(fn):
    """Fork a child that runs ``fn()`` and reports on a pipe: ``(pid, fd)``."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            try:
                fn()
                message = {"ok": True}
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                message = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
                code = 1
            os.write(write_fd, json.dumps(message).encode())
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def finish_child(pid, fd, killed=False):
    """``(ok, message)`` of a child started by :func:`start_child`."""
    if killed:
        os.kill(pid, signal.SIGKILL)
    chunks = []
    while not killed:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    try:
        message = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        message = {}
    if message.get("ok"):
        return True, ""
    return False, message.get("error") or f"the rendering process ended with status {status}"


def run_children(jobs, timeout, workers=1, done=None):
    """Run ``{key: fn}`` in forked children, ``workers`` at a time, each
    killed after ``timeout`` seconds; ``{key: (ok, message)}``. ``done(key)``
    is called as each one ends (a progress bar)."""
    import time
    pending, running, results = list(jobs.items()), {}, {}
    while pending or running:
        while pending and len(running) < max(1, workers):
            key, fn = pending.pop(0)
            pid, fd = start_child(fn)
            running[fd] = (key, pid, time.monotonic() + timeout)
        wait = max(0.0, min(deadline for _, _, deadline in running.values()) - time.monotonic())
        ready, _, _ = select.select(list(running), [], [], wait)
        now = time.monotonic()
        for fd in list(running):
            key, pid, deadline = running[fd]
            if fd in ready:
                results[key] = finish_child(pid, fd)
            elif now >= deadline:
                finish_child(pid, fd, killed=True)
                results[key] = (False, f"took longer than {timeout:g} s (not rendered)")
            else:
                continue
            del running[fd]
            if done is not None:
                done(key)
    return results


def feedback_students(course, assignment):
    """``(students, rejected)``: ids with an autograded notebook, sorted."""
    found, rejected = [], {}
    if not course.autograded.is_dir():
        return found, rejected
    for entry in sorted(os.scandir(course.autograded), key=lambda e: e.name):
        nb = Path(entry.path) / assignment.id / f"{assignment.notebook}.ipynb"
        if not nb.exists():
            continue
        problem = id_problem(entry.name) or (
            "a symbolic link" if entry.is_symlink() or nb.is_symlink() else "")
        if problem:
            rejected[entry.name] = f"no feedback: {problem}"
        else:
            found.append(entry.name)
    return found, rejected


def generate(course, assignment, students=None, timeout=FEEDBACK_TIMEOUT, progress=True,
             workers=None):
    """Render each student's page, ``workers`` at a time (default: the
    number of cores); ``(done, failed)``: ids, and ``{id: reason}``."""
    import tqdm as tqdm_module
    from nbgrader.converters import GenerateFeedback  # noqa: F401 - imported once, here
    found, failed = feedback_students(course, assignment)
    if students:
        found = [s for s in found if s in set(students)]
    config = _config(course)
    mathjax_head()  # read once here, not in every child
    tqdm_module.tqdm.monitor_interval = 0  # no monitor thread: children are forked
    bar = tqdm_module.tqdm(total=len(found), desc="feedback", unit="student",
                           disable=not progress)
    jobs = {s: functools.partial(_render_one, config, assignment.id, s) for s in found}
    try:
        results = run_children(jobs, timeout, workers or os.cpu_count() or 1,
                               done=lambda _: bar.update(1))
    finally:
        bar.close()
    done = []
    for student in found:
        ok, why = results[student]
        if ok:
            done.append(student)
            continue
        failed[student] = why
        page = course.feedback_dir / student / assignment.id / f"{assignment.notebook}.html"
        page.unlink(missing_ok=True)  # never leave a partial page to be released
    return done, failed


def release(course, assignment, students):
    """Release each student's page through the exchange; ``(released,
    skipped)``, ``skipped`` saying why and where the page is."""
    api = course.api()
    released, skipped = [], {}
    for student in students:
        folder = course.feedback_dir / student / assignment.id
        page = folder / f"{assignment.notebook}.html"
        if not page.is_file():
            skipped[student] = "no feedback page"
            continue
        missing = [n for n in ("submission_secret.txt", "timestamp.txt")
                   if not (folder / n).is_file()]
        if missing:
            skipped[student] = (f"not submitted through the exchange (no {' or '.join(missing)}):"
                                f" give them {page} another way")
            continue
        try:
            result = api.release_feedback(assignment.id, student_id=student)
        except Exception as exc:  # noqa: BLE001 - this student only
            result = {"success": False, "error": f"{type(exc).__name__}: {exc}"}
        if result.get("success"):
            released.append(student)
        else:
            lines = (result.get("error") or result.get("log") or "").strip().splitlines()
            skipped[student] = lines[-1] if lines else "nbgrader's release_feedback failed"
    return released, skipped
