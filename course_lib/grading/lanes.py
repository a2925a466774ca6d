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
change while it lasts). A run's lanes are forked from the parent, which has
imported nbgrader already (a new interpreter spends 1.5-2 s of CPU on that);
a lane that dies is replaced by a new interpreter.
"""
import copy
import gc
import logging
import os
import pickle
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter, NbGraderException
from nbgrader.preprocessors import AssignLatePenalties, NbGraderPreprocessor, SaveAutoGrades

from .preprocessors import cache_verdict, forget_verdict

__all__ = ["Lanes", "LaneAutograde", "CollectAutoGrades", "convert", "record", "cell_names"]

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
    from .course import Course
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
        return {"error": failure_reason((result.get("log") or "") + "\n"
                                        + (result.get("error") or ""))}
    return {"notebooks": dict(_COLLECTED)}


_EXCEPTION_LINE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Warning)"
                             r"(?::.*)?$")


def failure_reason(log):
    """The exception nbgrader's captured log reports (its last line says
    only "Please see the above traceback")."""
    lines = [line.strip() for line in log.splitlines() if _EXCEPTION_LINE.match(line)
             and "Please see" not in line and "There was an error" not in line]
    return lines[-1][:400] if lines else "nbgrader's notebook pass failed"


def _serve(root, seed):
    """A lane process's loop (``python -m course_lib.grading _lane ROOT
    SEED``): pickled requests on stdin, pickled results on
    the original stdout (fd 1 is pointed at stderr, so stray prints cannot
    corrupt the replies). Parent and lane are both trusted code."""
    _run_lane(root, seed, sys.stdin.buffer, os.fdopen(os.dup(1), "wb"))


def _run_lane(root, seed, requests, replies):
    """Set up a lane process and serve ``requests`` until they end."""
    os.dup2(2, 1)  # stray prints go to stderr
    sys.stdout = sys.stderr
    _init_lane(root, seed)
    gc.freeze()  # the imported modules and config stay; collections skip them
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
    """A lane started as a new interpreter (``python -m course_lib.grading
    _lane``): it imports nbgrader itself (1.5-2 s of CPU)."""

    def __init__(self, root, seed):
        package_parent = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (package_parent, os.environ.get("PYTHONPATH")) if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "course_lib.grading", "_lane", str(root), str(int(seed))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.requests, self.replies = self.proc.stdin, self.proc.stdout

    def call(self, args, timeout=None):
        pickle.dump(args, self.requests)
        self.requests.flush()
        if timeout is not None:  # one request at a time: nothing is buffered ahead
            ready, _, _ = select.select([self.replies], [], [], timeout)
            if not ready:
                raise TimeoutError(timeout)
        return pickle.load(self.replies)

    def close(self):
        try:
            self.requests.close()  # the lane's loop ends at end of input
        except OSError:            # it is already gone
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.replies.close()


class _Child:
    """The parts of ``subprocess.Popen`` a lane needs, for a forked child."""

    def __init__(self, pid):
        self.pid, self.returncode = pid, None

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"lane {self.pid}", timeout)
            time.sleep(0.01)
        return self.returncode

    def kill(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class _ForkedLane(_LaneProcess):
    """A lane forked from the grading process, which has imported nbgrader
    already, so the lane starts without importing anything (this saves
    each lane the 1.5-2 s of CPU of a new interpreter). Used for the lanes
    a run starts with (see :class:`Lanes`); ``others`` are the
    lanes forked before this one, whose pipe ends the child closes (else
    they would never see the end of their input)."""

    def __init__(self, root, seed, others=()):
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        inherited = [f for lane in others for f in (lane.requests, lane.replies)]
        for stream in (sys.stdout, sys.stderr):  # else the child writes their buffers again
            stream.flush()
        pid = os.fork()
        if pid == 0:  # the lane
            code = 0
            try:
                os.close(request_w)
                os.close(reply_r)
                for f in inherited:
                    os.close(f.fileno())
                with open(request_r, "rb") as requests, open(reply_w, "wb") as replies:
                    _run_lane(root, seed, requests, replies)
            except BaseException:  # noqa: B036 - report, then leave without cleanup
                import traceback
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        os.close(request_r)
        os.close(reply_w)
        self.proc = _Child(pid)
        self.requests, self.replies = open(request_w, "wb"), open(reply_r, "rb")


class Lanes:
    """``count`` lane processes for one autograding run. Each serves one
    :func:`convert` at a time; one that dies is replaced (by a new
    interpreter) and the student it was serving gets an error. The first
    lanes are forked from this process when ``fork`` is true, or when it is
    ``None`` (the default) and no other thread runs here: a thread holding
    a lock at the fork would leave it held in the child for good."""

    def __init__(self, root, seed, count, fork=None):
        self.root, self.seed = root, seed
        self.idle = queue.Queue()
        self.all = []
        if fork is None:
            fork = hasattr(os, "fork") and threading.active_count() == 1
        for _ in range(max(1, count)):
            self._start(fork)

    def _start(self, fork=False):
        if fork:
            lane = _ForkedLane(self.root, self.seed, self.all)
        else:
            lane = _LaneProcess(self.root, self.seed)
        self.all.append(lane)
        self.idle.put(lane)

    def convert(self, assignment_id, student_id, key, verdict, timeout=None):
        """nbgrader's notebook pass for one student in an idle lane. A lane
        that dies, or takes longer than ``timeout`` seconds (its pass over a notebook of
        40,000 small cells takes minutes), is ended and replaced; the reply then
        says why (``"timeout": True`` for the latter)."""
        lane = self.idle.get()
        try:
            reply = lane.call((assignment_id, student_id, key, verdict), timeout)
        except TimeoutError:
            lane.proc.kill()
            lane.close()
            self._start()
            return {"error": f"nbgrader's notebook pass took longer than {timeout:g} s "
                             "(a notebook with very many or very large cells?)", "timeout": True}
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


def cell_names(gb, assignment_id):
    """``{cell id: cell name}`` for the source cells of an assignment's
    notebooks, in one query. A run looks them up once: they do not change
    while it lasts, and reading ``grade.name`` loads each cell on its own
    (39 queries per A1 submission, most of :func:`record`'s time)."""
    from nbgrader.api import Assignment, BaseCell, Notebook
    rows = (gb.db.query(BaseCell.id, BaseCell.name)
            .join(Notebook, Notebook.id == BaseCell.notebook_id)
            .join(Assignment, Assignment.id == Notebook.assignment_id)
            .filter(Assignment.name == assignment_id))
    return dict(rows.all())


def record(gb, coursedir, late, assignment_id, student_id, notebooks, names=None,
           timestamp=None):
    """Write one student's collected grades into the gradebook ``gb``, as
    nbgrader's ``Autograde``, ``SaveAutoGrades`` and ``AssignLatePenalties``
    would: create the student and the submission (with its timestamp),
    set automatic scores and comments (a grade needs manual grading when a
    manual score exists or there is no automatic one), give 0 to notebooks
    that were not submitted, and set late penalties with nbgrader's plugin
    (``late`` is an ``AssignLatePenalties`` with its plugin initialised).
    ``names`` is :func:`cell_names` of the assignment (looked up when not
    given). ``timestamp`` is the submission time when the caller has read
    it (else nbgrader reads ``timestamp.txt``)."""
    if names is None:
        names = cell_names(gb, assignment_id)
    gb.update_or_create_student(student_id)
    if timestamp is None:
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
        grades = {names[grade.cell_id]: grade for grade in notebook.grades}
        for name, score in found["grades"].items():
            grade = grades[name]
            grade.auto_score = score
            grade.needs_manual_grade = grade.manual_score is not None or score is None
        comments = {names[comment.cell_id]: comment for comment in notebook.comments}
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
