"""nbgrader preprocessors of the sandboxed grader, and the config that installs them.

:class:`SandboxGrade` takes the place of nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors``. nbgrader has already restored the
instructor's test cells, points and locked cells (``OverwriteCells``); we
take the student's solution cells by grade id, grade them with
:class:`~course_lib.grading.engine.GradingRun` (sandboxed, verdict computed
here) and write into each autograded test cell a stdout stream with the
feedback and an ``execute_result`` with the points, which nbgrader's
``determine_grade`` reads as partial credit and ``SaveAutoGrades`` stores.

:class:`StripHiddenTests` removes the hidden test regions before
``generate_feedback`` renders HTML.
"""
import os
import secrets
import threading

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from .notebooks import item_names, solution_cells, strip_hidden_tests

__all__ = ["SandboxGrade", "StripHiddenTests", "configure", "cache_verdict", "forget_verdict",
           "default_seed", "code_solution_ids_of"]

_VERDICTS = {}
_VERDICTS_LOCK = threading.Lock()
_PROCESS_SEED = None


def default_seed():
    """``$COURSE_GRADING_SEED`` or one random seed per process."""
    global _PROCESS_SEED
    if os.environ.get("COURSE_GRADING_SEED"):
        return int(os.environ["COURSE_GRADING_SEED"])
    if _PROCESS_SEED is None:
        _PROCESS_SEED = secrets.randbits(31)
    return _PROCESS_SEED


def cache_verdict(key, verdict):
    """Remember a verdict computed ahead of time (parallel grading) under
    :meth:`GradingRun.key` of its cells."""
    with _VERDICTS_LOCK:
        _VERDICTS[key] = verdict


def forget_verdict(key):
    with _VERDICTS_LOCK:
        _VERDICTS.pop(key, None)


_SOURCE_CELLS = {}  # (db url, assignment, notebook) -> SandboxGrade._source_cells, in a lane


def _cached(key):
    with _VERDICTS_LOCK:
        return _VERDICTS.get(key)


def code_solution_ids_of(source_notebook):
    """Grade ids of the solution code cells of a gradebook ``Notebook``."""
    names = {c.name for c in source_notebook.solution_cells}
    return {c.name for c in source_notebook.source_cells
            if c.name in names and c.cell_type == "code"}


class SandboxGrade(NbGraderPreprocessor):
    """Grade the solution cells in the sandbox; write scores into test cells."""

    seed = Integer(None, allow_none=True,
                   help="Seed of the hidden inputs (default: $COURSE_GRADING_SEED, else "
                        "random once per process).").tag(config=True)
    data_root = Unicode("", help="Dataset root for measured items (default: "
                                 "course_lib.data.data_dir()).").tag(config=True)
    cached_only = Bool(False, help="Use only verdicts cached ahead of time (an autograding "
                                   "lane never runs a sandbox itself).").tag(config=True)

    def preprocess(self, nb, resources):
        from .engine import get_run, verdict_key
        from .registry import get_assignment

        info = resources["nbgrader"]
        assignment = get_assignment(info["assignment"])
        found = self._source_cells(info)
        if found is None:
            self.log.error("notebook %s is not in the gradebook", info["notebook"])
            return nb, resources
        sources, solution_ids = found
        seed = self.seed if self.seed is not None else default_seed()
        cells = solution_cells(nb, solution_ids)
        verdict = _cached(verdict_key(assignment.id, seed, cells))
        if verdict is None:
            if self.cached_only:
                raise RuntimeError(f"no verdict was computed for {info['student']}'s "
                                   "solution cells (they changed during grading?)")
            verdict = get_run(assignment.id, seed, self.data_root or None).grade(cells)
        self.log.info("sandbox verdict for %s: %g / %g", info["student"], verdict.score,
                      verdict.max_score)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            self._write(cell, item_names(sources.get(meta.get("grade_id"), "")), verdict)
        return nb, resources

    def _source_cells(self, info):
        """``({grade id: instructor's source}, code solution ids)`` of the
        notebook from the gradebook, or None when it is not there. A lane
        (``cached_only``) serves one autograding run, during which the
        source notebook cannot change: it asks the gradebook once."""
        key = (info["db_url"], info["assignment"], info["notebook"])
        if self.cached_only and key in _SOURCE_CELLS:
            return _SOURCE_CELLS[key]
        with Gradebook(info["db_url"]) as gb:
            try:
                source = gb.find_notebook(info["notebook"], info["assignment"])
            except MissingEntry:
                return None
            found = ({c.name: c.source for c in source.source_cells},
                     code_solution_ids_of(source))
        if self.cached_only:
            _SOURCE_CELLS[key] = found
        return found

    def _write(self, cell, names, verdict):
        max_points = float(cell.metadata["nbgrader"].get("points", 0))
        texts, score = [], 0.0
        for name in names:
            item = verdict.items.get(name)
            if item is None:
                texts.append(f"{name}: unknown item; this cell cannot be graded "
                             "automatically (tell your instructor).")
                self.log.error("test cell %s names unknown item %s",
                               cell.metadata["nbgrader"].get("grade_id"), name)
                continue
            texts.append(item.feedback)
            score += item.score
        if not names:
            texts.append("This test cell names no graded item; it scores 0 automatically.")
        score = min(score, max_points)
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="\n\n".join(texts) + "\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": repr(score)},
                                   execution_count=1),
        ]
        cell.execution_count = 1


class StripHiddenTests(NbGraderPreprocessor):
    """Remove hidden test regions, so feedback HTML never shows them."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "HIDDEN TESTS" in cell.source:
            cell.source = strip_hidden_tests(cell.source)
        return cell, resources


def configure(c, root):
    """Set up an nbgrader config ``c`` for the course whose folder is ``root``:
    source ``solutions/``, release ``assignments/``, everything produced by
    grading under the git-ignored ``grading/``, and our preprocessors.

    The exchange and the course id come from ``$COURSE_EXCHANGE`` and
    ``$COURSE_ID``, else from the site's nbgrader config (a JupyterHub's,
    see :mod:`.siteconfig`), else the course's defaults."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, GetGrades, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)
    from .siteconfig import site_settings
    root = os.fspath(root)
    site = site_settings(root)
    c.CourseDirectory.root = root
    c.CourseDirectory.course_id = (os.environ.get("COURSE_ID")
                                   or site.get(("CourseDirectory", "course_id"), "nn-numpy"))
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "assignments"
    c.CourseDirectory.submitted_directory = "grading/submitted"
    c.CourseDirectory.autograded_directory = "grading/autograded"
    c.CourseDirectory.feedback_directory = "grading/feedback"
    c.CourseDirectory.solution_directory = "grading/solution"
    default_db = "sqlite:///" + os.path.join(root, "grading", "gradebook.db")
    c.CourseDirectory.db_url = os.environ.get("COURSE_GRADEBOOK_URL", default_db)
    if c.CourseDirectory.db_url == default_db:  # SQLite does not create folders
        os.makedirs(os.path.join(root, "grading"), exist_ok=True)
    c.Exchange.root = (os.environ.get("COURSE_EXCHANGE") or site.get(("Exchange", "root"))
                       or os.path.join(root, "grading", "exchange"))
    for (section, key), value in site.items():
        if section == "Exchange" and key != "root":
            setattr(c.Exchange, key, value)
    c.OverwriteCells.add_missing_cells = True
    # nbgrader's default list with Execute replaced; its final CheckCellMetadata
    # is left out: the sanitizing pass just checked the metadata and we do not
    # change it (validating every cell's schema again costs ~0.2 s a notebook)
    c.Autograde.autograde_preprocessors = [
        SandboxGrade, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties]
    c.GenerateFeedback.preprocessors = [GetGrades, StripHiddenTests, CSSHTMLHeaderPreprocessor]
    # every HTML page made of a submission (feedback, formgrader) gets the
    # student's Markdown and outputs sanitised first (see sanitize.py)
    from .sanitize import SanitizeStudentContent
    c.HTMLExporter.preprocessors = [SanitizeStudentContent]
    return c
