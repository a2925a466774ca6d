"""Instructor commands, one per step (run from the course folder, the one
with ``nbgrader_config.py``, or pass ``--course-dir``)::

    python -m course_lib.grading generate  a1   # solutions/ -> assignments/ (nbgrader)
    python -m course_lib.grading release   a1   # generate + copy to nbgrader's exchange
    python -m course_lib.grading collect   a1 [--from DIR_OR_ZIP] [--timestamps CSV]
    python -m course_lib.grading autograde a1 [--workers N] [--seed S] [--student ID ...]
                                              [--dask | --scheduler tcp://HOST:PORT]
                                              [--no-sandbox-i-trust-these]
    python -m course_lib.grading feedback  a1 [--release] [--timeout S]
    python -m course_lib.grading export    a1 [--out DIR] [--canvas-column NAME]
    python -m course_lib.grading formgrader    [--port N] [--no-browser]

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
import os
import statistics
import sys
from pathlib import Path

from .autograde import PASS_TIMEOUT, autograde, malformed_verdict  # noqa: F401 (re-exported)
from .course import Course, CourseError  # noqa: F401 (re-exported)

__all__ = ["main", "Course"]


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
    from .collect import CollectError, import_submissions, place, read_timestamps
    from .exchange import read_inbound
    assignment = _assignment(args.assignment)
    try:
        timestamps = read_timestamps(args.timestamps) if args.timestamps else None
        if args.source is None:
            from .collect import CollectReport
            report = CollectReport()
            incoming = read_inbound(course.config.Exchange.root,
                                    course.config.CourseDirectory.course_id, assignment.id,
                                    assignment.notebook, report)
            where = "the exchange"
        else:
            incoming, report = import_submissions(args.source, assignment.id,
                                                  assignment.notebook, timestamps)
            where = args.source
    except CollectError as exc:
        raise CourseError(str(exc)) from None
    place(incoming, course.submitted, course.root / "grading" / "superseded", assignment.id,
          report)
    _write_roster(course, incoming)
    _print_collect(report, where, course.submitted)


def _write_roster(course, incoming):
    """Names and LMS numbers of students whose ids came from LMS file names
    (``grading/roster.csv``; the Canvas export reads it)."""
    from .roster import update_roster
    update_roster(course.root / "grading" / "roster.csv",
                  [(s.student, s.lms.lms, s.lms.lms_id, s.lms.name) for s in incoming if s.lms])


def _print_collect(report, where, submitted):
    new, replaced = report.count("new"), report.count("replaced")
    kept, same = report.count("kept"), report.count("unchanged")
    if not report.placed and not report.skipped:
        print(f"no submissions found in {where}")
        return
    print(f"collected from {where} into {submitted}: {new} new, {replaced} replaced by a newer "
          f"one, {same} unchanged, {kept} older than the one already collected (kept aside)")
    for student, action, detail in report.placed:
        if action in ("replaced", "kept"):
            print(f"  {student}: {detail}")
    for student, note in report.notes:
        print(f"  note {student}: {note}")
    if report.untimed:
        print(f"  {len(report.untimed)} without a submission time (no late penalty can apply; "
              "give times with --timestamps FILE or a timestamp.txt): "
              + ", ".join(report.untimed[:20]) + (" ..." if len(report.untimed) > 20 else ""))
    for name, reason in report.skipped:
        print(f"  skipped {name}: {reason}")


# ---- autograde --------------------------------------------------------------

def cmd_autograde(course, args):
    from .runreport import terminal_lines
    address = args.scheduler or ("local" if args.dask else None)
    summary = autograde(course, args.assignment, args.student, args.workers, args.seed,
                        dask=address, unsandboxed=args.no_sandbox_i_trust_these,
                        pass_timeout=args.pass_timeout)
    scores = list(summary["scores"].values())
    where = f"Dask at {address}" if address else "this machine"
    print(f"\nautograded {len(summary['students'])} submissions of {summary['assignment']} "
          f"in {summary['seconds']:.1f} s ({summary['workers']} worker(s) on {where}); "
          f"hidden-input seed {summary['seed']} (stored per student; "
          "autograde --student ID --seed S grades one again exactly)")
    if summary["sandboxed"]:
        print("  sandbox: bubblewrap (no network, no view of the course folder, only the "
              "interpreter, its standard library and numpy, an unprivileged uid per run)")
        print(f"  limits: {summary['confinement']}")
    else:
        from .isolation import UNSAFE_WARNING
        print("  " + UNSAFE_WARNING)
    if scores:
        print(f"  total score (autograded {summary['max_score']:g} points + manual): mean "
              f"{statistics.mean(scores):.1f}, median {statistics.median(scores):.1f}, "
              f"min {min(scores):g}, max {max(scores):g}")
    for line in terminal_lines(summary):
        print(line)
    print("  written questions need manual grading: python -m course_lib.grading formgrader")
    if summary["failures"]:
        raise CourseError(f"{len(summary['failures'])} submissions could not be autograded "
                          "(listed above as FAILED)")


# ---- feedback / export --------------------------------------------------------

def cmd_feedback(course, args):
    from .feedback import generate, release
    assignment = _assignment(args.assignment)
    done, failed = generate(course, assignment, timeout=args.timeout)
    print(f"feedback: {len(done)} HTML pages under {course.feedback_dir}")
    for student, why in sorted(failed.items()):
        print(f"  FAILED {student}: {why}")
    if args.release:
        released, skipped = release(course, assignment, done)
        print(f"released {len(released)} pages to the exchange")
        for student, why in sorted(skipped.items()):
            print(f"  not released to {student}: {why}")
    if failed:
        raise CourseError(f"no feedback page for {len(failed)} students (listed above)")


def cmd_export(course, args):
    from .export import export_grades
    assignment = _assignment(args.assignment)
    out = Path(args.out) if args.out else course.grading / "exports"
    try:
        result = export_grades(course, assignment, out, args.canvas_column)
    except OSError as exc:
        raise CourseError(f"cannot write the export into {out}: {exc}") from None
    print(f"exported {result['num_students']} students (sorted by id): {result['csv']}")
    print(f"  Canvas gradebook import: {result['canvas']}")
    print(f"  autograded totals: {result['plot']}")
    if result["checks"]:
        print(f"  checks lost, per item: {result['checks']}")
    if result["num_students"]:
        print(f"  final total mean {result['mean']:.1f} / {result['max_score']:g}, median "
              f"{result['median']:.1f}; {result['late']} late; {result['needs_manual']} written "
              "answers still need manual grading")


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
                           ("export", "grades CSV, Canvas import CSV, score plots"),
                           ("formgrader", "open nbgrader's formgrader (grade written answers)")):
        p = sub.add_parser(name, help=helptext)
        if name == "formgrader":
            p.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
            p.add_argument("--no-browser", action="store_true", help="do not open a browser")
            continue
        p.add_argument("assignment", help="assignment id or short name, e.g. a1")
        if name == "collect":
            p.add_argument("--from", dest="source", help="folder or .zip of student notebooks "
                           "(<student>.ipynb, <student>/<any>.ipynb, or Canvas/Moodle downloads)")
            p.add_argument("--timestamps", help="CSV with columns student,timestamp: the "
                           "submission times of a folder or zip (UTC unless said)")
        if name == "autograde":
            p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
            p.add_argument("--seed", type=int, help="hidden-input seed (default: random)")
            p.add_argument("--student", action="append", help="only this student (repeatable)")
            p.add_argument("--pass-timeout", type=float, default=PASS_TIMEOUT,
                           help="seconds nbgrader's notebook pass may take per submission "
                           "(default %(default)g)")
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
            p.add_argument("--timeout", type=float, default=60.0,
                           help="seconds one student's page may take (default %(default)g)")
        if name == "export":
            p.add_argument("--out", help="output folder (default grading/exports)")
            p.add_argument("--canvas-column", help="the assignment's column in Canvas, e.g. "
                           "'A1 (123456)' (default: the assignment's title)")
    return parser


def cmd_formgrader(course, args):
    from .formgrader import run
    code = run(course, args.port, browser=not args.no_browser)
    if code:
        raise CourseError(f"JupyterLab (serving the formgrader) ended with status {code}")


COMMANDS = {"generate": cmd_generate, "release": cmd_release, "collect": cmd_collect,
            "autograde": cmd_autograde, "feedback": cmd_feedback, "export": cmd_export,
            "formgrader": cmd_formgrader}


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
