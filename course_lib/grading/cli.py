"""Instructor commands, one per step (run from the course folder, the one
with ``nbgrader_config.py``, or pass ``--course-dir``)::

    python -m course_lib.grading generate  a1   # solutions/ -> assignments/ (nbgrader)
    python -m course_lib.grading release   a1   # generate + copy to nbgrader's exchange
    python -m course_lib.grading collect   a1 [--from DIR_OR_ZIP]
    python -m course_lib.grading autograde a1 [--workers N] [--seed S] [--student ID ...]
                                              [--dask | --scheduler tcp://HOST:PORT]
                                              [--no-sandbox-i-trust-these]
    python -m course_lib.grading feedback  a1 [--release]
    python -m course_lib.grading export    a1 [--out DIR]

Each command shows progress and ends with a summary. ``autograde`` runs
``--workers`` lanes (:mod:`~course_lib.grading.lanes`); a lane takes one
submission at a time, runs its sandbox, then nbgrader's own notebook pass
(in a lane process, without gradebook writes). This process writes each
finished submission's grades into the gradebook, so writes never conflict
(SQLite or a database server), and since a verdict depends only on the
submission and the seed, scores do not depend on the number of workers.
``--dask``/``--scheduler`` run the sandboxes on Dask workers (see
:mod:`~course_lib.grading.distributed`); grading refuses to start when the
bubblewrap sandbox does not work, unless ``--no-sandbox-i-trust-these``.
"""
import argparse
import copy
import gc
import os
import secrets
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

__all__ = ["main", "Course"]


class CourseError(RuntimeError):
    """A problem the instructor can fix; printed without a traceback."""


class Course:
    """The course folder, its nbgrader config and an nbgrader API on it."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise CourseError(f"no nbgrader_config.py in {self.root}: run this command in the "
                              "course folder or pass --course-dir")
        from traitlets.config.loader import PyFileConfigLoader
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        cd = self.config.CourseDirectory
        self.db_url = cd.db_url
        self.submitted = self.root / cd.submitted_directory
        self.feedback_dir = self.root / cd.feedback_directory
        self.source = self.root / cd.source_directory
        exchange = Path(self.config.Exchange.root)
        if exchange.parent == self.root / "grading":  # the default: ours to create
            exchange.mkdir(parents=True, exist_ok=True)

    def api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        config = copy.deepcopy(self.config)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def gradebook(self):
        from nbgrader.api import Gradebook
        return Gradebook(self.db_url)


def _check(result, what):
    if not result.get("success"):
        detail = (result.get("error") or result.get("log") or "").strip().splitlines()[-15:]
        raise CourseError(f"{what} failed:\n" + "\n".join(detail))
    return result


def _assignment(name):
    from .registry import get_assignment
    try:
        return get_assignment(name)
    except KeyError as exc:
        raise CourseError(str(exc.args[0])) from None


# ---- generate / release -----------------------------------------------------

def cmd_generate(course, args):
    assignment = _assignment(args.assignment)
    _check(course.api().generate_assignment(assignment.id), "nbgrader generate_assignment")
    release = course.root / course.config.CourseDirectory.release_directory / assignment.id
    print(f"generated {release}: " + ", ".join(sorted(p.name for p in release.iterdir())))


def cmd_release(course, args):
    cmd_generate(course, args)
    assignment = _assignment(args.assignment)
    exchange = Path(course.config.Exchange.root)
    exchange.mkdir(parents=True, exist_ok=True)
    _check(course.api().release_assignment(assignment.id), "nbgrader release_assignment")
    print(f"released {assignment.id} to the exchange {exchange} "
          f"(course {course.config.CourseDirectory.course_id})")


# ---- collect ----------------------------------------------------------------

def cmd_collect(course, args):
    assignment = _assignment(args.assignment)
    if args.source is None:
        _check(course.api().collect(assignment.id), "nbgrader collect")
        found = sorted(p.parent.name for p in course.submitted.glob(f"*/{assignment.id}"))
        print(f"collected from the exchange: {len(found)} submissions in {course.submitted}")
        return
    from .collect import import_submissions
    imported, skipped = import_submissions(Path(args.source), course.submitted, assignment.id,
                                           assignment.notebook)
    print(f"imported {len(imported)} submissions into {course.submitted}")
    for name, reason in skipped:
        print(f"  skipped {name}: {reason}")


# ---- autograde --------------------------------------------------------------

def _students(course, assignment_id, wanted):
    found = sorted(p.parent.name for p in course.submitted.glob(f"*/{assignment_id}")
                   if p.is_dir())
    if wanted:
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise CourseError(f"no submission of {assignment_id} for {', '.join(missing)}")
        found = [s for s in found if s in set(wanted)]
    if not found:
        raise CourseError(f"no submissions of {assignment_id} in {course.submitted}: "
                          "run the collect step first")
    return found


def _sandbox_verdict(run, path, solution_ids, student="?"):
    """Grade one submitted notebook in the sandbox; return the verdict and its
    cache key (:func:`engine.verdict_key`) for nbgrader's pass. A notebook
    that cannot be read (invalid JSON, wrong nbformat, too large) is kept as
    ``<name>.unreadable`` and replaced by a placeholder nbgrader can
    process; every item scores 0 with the reason. A readable one with broken
    cell ids is repaired the same way (the original kept as
    ``<name>.original``)."""
    import nbformat

    from .notebooks import MalformedNotebook, read_submission, solution_cells
    path = Path(path)
    try:
        nb, repairs = read_submission(path)
    except MalformedNotebook as exc:
        reason = str(exc)
        os.replace(path, path.with_name(path.name + ".unreadable"))
        placeholder = _placeholder_notebook(solution_ids, student, reason)
        nbformat.write(placeholder, str(path))
        return (malformed_verdict(run, reason),
                run.key(solution_cells(placeholder, solution_ids)))
    if repairs:
        path.with_name(path.name + ".original").write_bytes(path.read_bytes())
        nbformat.write(nb, str(path))
    cells = solution_cells(nb, solution_ids)
    return run.grade(cells), run.key(cells)


def _placeholder_notebook(solution_ids, student, reason):
    """A notebook with one marked, empty solution cell per id (unique to the
    student, so its cached verdict is theirs alone)."""
    import nbformat
    cells = [nbformat.v4.new_markdown_cell(f"The submitted notebook could not be read: {reason}")]
    for grade_id in sorted(solution_ids):
        cell = nbformat.v4.new_code_cell(f"# unreadable submission of {student}: {reason}\n")
        cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False,
                                     "schema_version": 3, "solution": True, "task": False}
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def malformed_verdict(run, reason):
    """A verdict of 0 on every item, each saying why."""
    from .report import CheckResult, ItemVerdict, Verdict
    verdict = Verdict(assignment=run.assignment.id, seed=run.seed)
    text = f"your notebook could not be graded: {reason}"
    for item in run.assignment.items:
        checks = [CheckResult(c.name, 0.0, c.points, "not graded") for c in item.checks]
        verdict.items[item.name] = ItemVerdict(
            item.name, item.title, 0.0, item.points, checks,
            f"{item.title}: 0 / {item.points:g} points\n  \u2718 {text}", text)
    return verdict


def autograde(course, assignment_id, students=None, workers=1, seed=None, progress=True,
              dask=None, unsandboxed=False):
    """Autograde submissions; return a summary dict (also used by tests).

    ``workers`` lanes (see :mod:`.lanes`) each take one submission at a
    time: its sandbox (a thread here waits on it), then nbgrader's notebook
    pass in a lane process. As each lane finishes a submission, this thread
    writes its grades into the gradebook, so writes never conflict and
    scores do not depend on the number of workers. ``dask`` (``"local"`` or
    a scheduler address) runs the sandboxes on Dask workers instead (one
    lane here per worker thread there, at most one lane process per core).
    ``unsandboxed=True`` allows grading without bubblewrap (trusted code only).
    """
    from nbgrader.api import MissingEntry
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import AssignLatePenalties
    from tqdm.auto import tqdm

    from . import isolation, sandbox
    from .engine import get_run
    from .lanes import Lanes, cell_names, record
    from .preprocessors import code_solution_ids_of
    assignment = _assignment(assignment_id)
    students = _students(course, assignment.id, students)
    if unsandboxed:
        isolation.allow_unsandboxed(True)
        print(isolation.UNSAFE_WARNING, file=sys.stderr)
    try:
        isolation.require()
    except isolation.SandboxUnavailable as exc:
        raise CourseError(str(exc)) from None
    client = None
    lane_processes = max(1, workers)
    if dask:
        from .distributed import DaskLauncher, dask_client
        client = dask_client(dask)
        workers = max(1, sum(client.nthreads().values()))
        lane_processes = min(workers, os.cpu_count() or 1)
    seed = secrets.randbits(31) if seed is None else int(seed)
    with course.gradebook() as gb:
        try:
            source = gb.find_notebook(assignment.notebook, assignment.id)
        except MissingEntry:
            raise CourseError(f"{assignment.id} is not in the gradebook: run the generate "
                              "(or release) step first") from None
        solution_ids = code_solution_ids_of(source)
    coursedir = CourseDirectory(config=course.config)
    late = AssignLatePenalties(config=course.config)
    late.init_plugin()
    start = time.perf_counter()
    # forked from this process while no other thread runs (Dask's client has threads)
    lanes = Lanes(course.root, seed, lane_processes, fork=None if client is None else False)
    try:
        run = get_run(assignment.id, seed)
    except BaseException:
        lanes.close()
        raise
    verdicts, failures = {}, {}
    if client is not None:
        run.launcher = DaskLauncher(client)

    def lane(student):
        path = course.submitted / student / assignment.id / f"{assignment.notebook}.ipynb"
        verdict, key = _sandbox_verdict(run, path, solution_ids, student)
        return verdict, lanes.convert(assignment.id, student, key, verdict)

    gc.freeze()  # what is loaded by now stays; the run's collections skip it
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, course.gradebook() as gb:
            names = cell_names(gb, assignment.id)
            futures = {pool.submit(lane, s): s for s in students}
            for future in tqdm(as_completed(futures), total=len(futures), desc="grading",
                               unit="submission", disable=not progress):
                student = futures[future]
                try:
                    verdicts[student], converted = future.result()
                except isolation.SandboxUnavailable as exc:
                    raise CourseError(str(exc)) from None
                except Exception as exc:  # the batch always finishes; say who and why
                    failures[student] = f"grading failed: {type(exc).__name__}: {exc}"
                    continue
                if "error" in converted:
                    failures[student] = converted["error"]
                    continue
                record(gb, coursedir, late, assignment.id, student, converted["notebooks"],
                       names)
    finally:
        gc.unfreeze()
        lanes.close()
        if client is not None:
            run.launcher = sandbox.launch
            cluster = getattr(client, "_course_cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    scores = {}
    with course.gradebook() as gb:
        for student in students:
            try:
                scores[student] = gb.find_submission(assignment.id, student).score
            except MissingEntry:
                pass
    return {"assignment": assignment.id, "seed": seed, "students": students,
            "scores": scores, "verdicts": verdicts, "failures": failures,
            "max_score": assignment.points, "seconds": time.perf_counter() - start,
            "sandboxed": isolation.mode() == "bwrap", "workers": workers}


def cmd_autograde(course, args):
    address = args.scheduler or ("local" if args.dask else None)
    summary = autograde(course, args.assignment, args.student, args.workers, args.seed,
                        dask=address, unsandboxed=args.no_sandbox_i_trust_these)
    scores = list(summary["scores"].values())
    where = f"Dask at {address}" if address else "this machine"
    print(f"\nautograded {len(summary['students'])} submissions of {summary['assignment']} "
          f"in {summary['seconds']:.1f} s ({summary['workers']} worker(s) on {where}); "
          f"hidden-input seed {summary['seed']} (pass --seed to reproduce)")
    if summary["sandboxed"]:
        print("  sandbox: bubblewrap (no network, no view of the course folder, "
              "an unprivileged uid per run)")
    else:
        from .isolation import UNSAFE_WARNING
        print("  " + UNSAFE_WARNING)
    if scores:
        print(f"  total score (autograded {summary['max_score']:g} points + manual): mean "
              f"{statistics.mean(scores):.1f}, median {statistics.median(scores):.1f}, "
              f"min {min(scores):g}, max {max(scores):g}")
    for student, error in summary["failures"].items():
        print(f"  FAILED {student}: {error}")
    print("  written questions need manual grading: nbgrader formgrader (or "
          "`jupyter lab` -> Formgrader)")
    if summary["failures"]:
        raise CourseError(f"{len(summary['failures'])} submissions could not be autograded")


# ---- feedback / export --------------------------------------------------------

def cmd_feedback(course, args):
    assignment = _assignment(args.assignment)
    _check(course.api().generate_feedback(assignment.id), "nbgrader generate_feedback")
    pages = sorted(course.feedback_dir.glob(f"*/{assignment.id}/*.html"))
    print(f"feedback: {len(pages)} HTML pages under {course.feedback_dir}")
    if args.release:
        _check(course.api().release_feedback(assignment.id), "nbgrader release_feedback")
        print("released the feedback to the exchange")


def cmd_export(course, args):
    from .export import export_grades
    assignment = _assignment(args.assignment)
    out = Path(args.out) if args.out else course.root / "grading" / "exports"
    result = export_grades(course, assignment, out)
    print(f"exported {result['num_students']} students: {result['csv']}")
    print(f"score distribution: {result['plot']}")
    if result["num_students"]:
        print(f"  mean {result['mean']:.1f} / {result['max_score']:g}, median {result['median']:.1f}; "
              f"{result['needs_manual']} answers still need manual grading")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading",
                                     description="Grade the course's nbgrader assignments.")
    parser.add_argument("--course-dir", default=".", help="folder with nbgrader_config.py")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("generate", "make the student version (assignments/)"),
                           ("release", "generate and copy to nbgrader's exchange"),
                           ("collect", "collect submissions (exchange, folder or zip)"),
                           ("autograde", "grade submissions in the sandbox"),
                           ("feedback", "HTML feedback per student (hidden tests removed)"),
                           ("export", "CSV of scores per item and a score histogram")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("assignment", help="assignment id or short name, e.g. a1")
        if name == "collect":
            p.add_argument("--from", dest="source", help="folder or .zip of student notebooks "
                           "(<student>.ipynb or <student>/<any>.ipynb)")
        if name == "autograde":
            p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
            p.add_argument("--seed", type=int, help="hidden-input seed (default: random)")
            p.add_argument("--student", action="append", help="only this student (repeatable)")
            p.add_argument("--dask", action="store_true",
                           help="run the sandboxes on a local Dask cluster (worker processes)")
            p.add_argument("--scheduler", help="run the sandboxes on the Dask cluster at this "
                           "address, e.g. tcp://host:8786 (the gradebook stays here; for "
                           "PostgreSQL set COURSE_GRADEBOOK_URL)")
            p.add_argument("--no-sandbox-i-trust-these", action="store_true",
                           help="grade even where bubblewrap is unavailable (student code then "
                           "runs as you, with only resource limits; trusted code only)")
        if name == "feedback":
            p.add_argument("--release", action="store_true", help="also release via the exchange")
        if name == "export":
            p.add_argument("--out", help="output folder (default grading/exports)")
    return parser


COMMANDS = {"generate": cmd_generate, "release": cmd_release, "collect": cmd_collect,
            "autograde": cmd_autograde, "feedback": cmd_feedback, "export": cmd_export}


def main(argv=None):
    import warnings
    args = build_parser().parse_args(argv)
    # nbgrader's gradebook code triggers SQLAlchemy session warnings; they are not ours to fix
    warnings.filterwarnings("ignore", message=".*not in session.*")
    # nbgrader runs the `alembic` program when it creates a gradebook
    bindir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        COMMANDS[args.command](Course(args.course_dir), args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
