"""Autograding lanes: nbgrader's notebook pass in worker processes, gradebook
writes in the parent.

``nbgrader autograde`` does three things per student: it sanitizes the
submitted notebook (restores the instructor's cells, checks metadata), runs
it (here: writes the sandbox's verdict into the test cells) and saves the
grades in the gradebook, committing once per cell. Done in the parent that
owns the gradebook, that pass cost ~0.9 s of CPU per submission and capped
parallel grading at one core's worth of it.

So ``autograde --workers N`` runs N *lanes*. A lane takes one submission at
a time: the sandbox (a thread here waiting on its process), then nbgrader's
own notebook pass in a lane process (:func:`convert`), which writes the
autograded notebook but not the gradebook: :class:`LaneAutograde` is
nbgrader's ``Autograde`` without its database writes, and
:class:`CollectAutoGrades` takes ``SaveAutoGrades``'s place, keeping each
cell's score and comment as plain data. The parent then writes them with
:func:`record`, one transaction per submission (plus one for a late
penalty), with the same rules as ``SaveAutoGrades`` and
``AssignLatePenalties``. Only the parent writes the gradebook; lanes only
read the assignment's source cells from it (once per run: they cannot
change while it lasts).
"""
import copy
import logging
import os
import pickle
import queue
import shutil
import subprocess
import sys
from pathlib import Path

from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter, NbGraderException
from nbgrader.preprocessors import AssignLatePenalties, NbGraderPreprocessor, SaveAutoGrades

from .preprocessors import cache_verdict, forget_verdict

__all__ = ["Lanes", "LaneAutograde", "CollectAutoGrades", "convert", "record"]

_COLLECTED = {}  # notebook name -> {"grades": {...}, "comments": {...}}; one lane process
_LANE = {}       # this lane process's config, made once


class CollectAutoGrades(NbGraderPreprocessor):
    """What ``SaveAutoGrades`` would store, kept as data: each grade cell's
    automatic score and each solution or task cell's automatic comment."""

    def preprocess(self, nb, resources):
        grades, comments = {}, {}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if utils.is_grade(cell):
                grades[grade_id] = utils.determine_grade(cell, self.log)[0]
            if utils.is_solution(cell) or utils.is_task(cell):
                untouched = (cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
                             and not utils.is_task(cell))
                comments[grade_id] = "No response." if untouched else None
        _COLLECTED[resources["nbgrader"]["notebook"]] = {"grades": grades, "comments": comments}
        return nb, resources


class LaneAutograde(Autograde):
    """nbgrader's ``Autograde`` minus its gradebook writes (the student, the
    submission row, zeros for missing notebooks: :func:`record` does those).
    Like ``Autograde`` it copies the instructor's other files over the
    student's and skips notebooks the gradebook does not know."""

    def init_assignment(self, assignment_id, student_id):
        BaseConverter.init_assignment(self, assignment_id, student_id)
        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".",
                                                 assignment_id))
        dest = Path(self._format_dest(assignment_id, student_id))
        kept = {source / name for name in self.exclude_overwriting.get(assignment_id, [])}
        for name in utils.find_all_files(str(source), self.coursedir.ignore + ["*.ipynb"]):
            if Path(name) in kept:
                continue
            target = dest / Path(name).relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()
            shutil.copy(name, target)
        known = _LANE.setdefault("known", {}).get(assignment_id)
        if known is None:  # the gradebook's notebooks do not change during a run
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                known = {nb.name for nb in gb.find_assignment(assignment_id).notebooks}
            _LANE["known"][assignment_id] = known
        self.notebooks = [nb for nb in self.notebooks if Path(nb).stem in known]
        if not self.notebooks:
            raise NbGraderException(f"no notebook of {assignment_id} in the submission")


def _lane_config(config, seed):
    """The course's nbgrader config for a lane: verdicts come from the cache,
    and the preprocessors that write the gradebook are replaced/dropped."""
    config = copy.deepcopy(config)
    config.SandboxGrade.seed = int(seed)
    config.SandboxGrade.cached_only = True
    steps = []
    for step in config.Autograde.autograde_preprocessors:
        if step is SaveAutoGrades:
            steps.append(CollectAutoGrades)
        elif step is not AssignLatePenalties:
            steps.append(step)
    config.LaneAutograde.autograde_preprocessors = steps
    return config


def _check_schemas_once():
    """nbgrader's metadata check (``CheckCellMetadata``) calls
    ``jsonschema.validate(metadata, schema)`` for every cell, and that
    first validates the schema itself: ~1.5 ms per cell, a tenth of a lane's
    time per submission. The schema never changes, so in a lane it is
    checked once per schema and its validator kept; each cell is then
    validated exactly as ``jsonschema.validate`` would (same errors)."""
    import json
    import types

    import jsonschema
    from nbgrader.nbgraderformat import common

    validators = {}

    def validate(instance, schema):
        key = json.dumps(schema, sort_keys=True)
        validator = validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    common.jsonschema = types.SimpleNamespace(validate=validate)


def _init_lane(root, seed):
    from .cli import Course
    _check_schemas_once()
    log = logging.getLogger(f"course_lib.grading.lane{os.getpid()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    _LANE.update(config=_lane_config(Course(root).config, seed), log=log)


def convert(assignment_id, student_id, key, verdict):
    """In a lane process: nbgrader's notebook pass for one student with the
    verdict computed beforehand. Returns ``{"notebooks": {name: records}}``
    or ``{"error": text}``."""
    from nbgrader.coursedir import CourseDirectory
    config = _LANE["config"]
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = assignment_id, student_id
    _COLLECTED.clear()
    cache_verdict(key, verdict)
    try:
        app = LaneAutograde(coursedir=coursedir, config=config, log=_LANE["log"])
        app.force = True
        result = utils.capture_log(app)
    finally:
        forget_verdict(key)
    if not result.get("success"):
        lines = (result.get("error") or result.get("log") or "").strip().splitlines()
        return {"error": lines[-1] if lines else "nbgrader's notebook pass failed"}
    return {"notebooks": dict(_COLLECTED)}


def _serve(root, seed):
    """A lane process's loop (``python -m course_lib.grading _lane ROOT
    SEED``): pickled requests on stdin, pickled results on
    the original stdout (fd 1 is pointed at stderr, so stray prints cannot
    corrupt the replies). Parent and lane are both trusted code."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _init_lane(root, seed)
    requests = sys.stdin.buffer
    while True:
        try:
            args = pickle.load(requests)
        except EOFError:
            return
        try:
            reply = convert(*args)
        except Exception as exc:  # reported for this student; the lane goes on
            reply = {"error": f"nbgrader's notebook pass failed: {type(exc).__name__}: {exc}"}
        pickle.dump(reply, replies)
        replies.flush()


class _LaneProcess:
    def __init__(self, root, seed):
        package_parent = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (package_parent, os.environ.get("PYTHONPATH")) if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "course_lib.grading", "_lane", str(root), str(int(seed))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def call(self, args):
        pickle.dump(args, self.proc.stdin)
        self.proc.stdin.flush()
        return pickle.load(self.proc.stdout)

    def close(self):
        try:
            self.proc.stdin.close()  # the lane's loop ends at end of input
        except OSError:              # it is already gone
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class Lanes:
    """``count`` lane processes for one autograding run. Each is started
    now (it imports nbgrader once, while the first sandboxes run) and
    serves one :func:`convert` at a time; one that dies is replaced and
    the student it was serving gets an error."""

    def __init__(self, root, seed, count):
        self.root, self.seed = root, seed
        self.idle = queue.Queue()
        self.all = []
        for _ in range(max(1, count)):
            self._start()

    def _start(self):
        lane = _LaneProcess(self.root, self.seed)
        self.all.append(lane)
        self.idle.put(lane)

    def convert(self, assignment_id, student_id, key, verdict):
        lane = self.idle.get()
        try:
            reply = lane.call((assignment_id, student_id, key, verdict))
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            lane.close()
            self._start()
            return {"error": f"the notebook pass died ({type(exc).__name__}); "
                             f"exit code {lane.proc.returncode}"}
        self.idle.put(lane)
        return reply

    def close(self):
        for lane in self.all:
            lane.close()


def record(gb, coursedir, late, assignment_id, student_id, notebooks):
    """Write one student's collected grades into the gradebook ``gb``, as
    nbgrader's ``Autograde``, ``SaveAutoGrades`` and ``AssignLatePenalties``
    would: create the student and the submission (with its timestamp),
    set automatic scores and comments (a grade needs manual grading when a
    manual score exists or there is no automatic one), give 0 to notebooks
    that were not submitted, and set late penalties with nbgrader's plugin
    (``late`` is an ``AssignLatePenalties`` with its plugin initialised)."""
    gb.update_or_create_student(student_id)
    folder = coursedir.format_path(coursedir.submitted_directory, student_id, assignment_id)
    timestamp = coursedir.get_existing_timestamp(folder)
    extra = {"timestamp": timestamp} if timestamp else {}
    submission = gb.update_or_create_submission(assignment_id, student_id, **extra)
    for notebook in submission.notebooks:
        found = notebooks.get(notebook.name)
        if found is None:
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = 0, False
            continue
        grades = {grade.name: grade for grade in notebook.grades}
        for name, score in found["grades"].items():
            grade = grades[name]
            grade.auto_score = score
            grade.needs_manual_grade = grade.manual_score is not None or score is None
        comments = {comment.name: comment for comment in notebook.comments}
        for name, text in found["comments"].items():
            comments[name].auto_comment = text
    gb.db.commit()
    seconds_late = submission.total_seconds_late
    for notebook in submission.notebooks:
        if notebook.name not in notebooks:
            continue
        notebook.late_submission_penalty = None
        if seconds_late > 0:
            penalty = late.plugin_inst.late_submission_penalty(student_id, notebook.score,
                                                               seconds_late)
            if penalty is not None:
                notebook.late_submission_penalty = late._check_late_penalty(notebook, penalty)
    gb.db.commit()
