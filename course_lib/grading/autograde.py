"""``autograde``: every collected submission through the sandbox and
nbgrader's notebook pass, grades into the gradebook, and a run report.

One submission never stops the others: its id, its time, its notebook, its
sandbox, nbgrader's pass over it and the gradebook writes for it each fail
as that student's failure, with the reason, while the batch goes on.

- a folder in ``submitted/`` whose name is not a valid student id
  (:mod:`.ids`) is not graded (nbgrader would read ``*`` as every student);
- a ``timestamp.txt`` that is not a time fails that student (fix it and
  run ``autograde --student ID``), before anything is graded;
- a notebook nbgrader cannot process (its pass raises) scores 0 on every
  item with nbgrader's reason, like an unreadable one (kept as
  ``<name>.ipynb.unreadable``); a pass that takes longer than
  ``pass_timeout`` seconds is ended and that student fails;
- locked cells the student deleted or edited are restored by nbgrader;
  the run report lists them (:func:`tampering`).

Each graded student's record (seed, time, anomalies, the verdict) is kept
in ``grading/reports/<assignment>/students/<id>.json``; ``autograde
--student ID --seed S`` grades that submission again with the same hidden
inputs and gives the same verdict.
"""
import gc
import os
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .course import CourseError
from .ids import id_problem

__all__ = ["autograde", "students_to_grade", "malformed_verdict", "tampering",
           "PASS_TIMEOUT"]

PASS_TIMEOUT = 120.0  # seconds of nbgrader's notebook pass for one submission


def get_assignment(name):
    from .registry import get_assignment as get
    try:
        return get(name)
    except KeyError as exc:
        raise CourseError(str(exc.args[0])) from None


def students_to_grade(course, assignment_id, wanted=None):
    """``(students, rejected)``: the ids with a submission folder of the
    assignment, sorted, and ``{folder name: reason}`` for folders that are
    not graded (not a valid id, a symbolic link)."""
    for name in wanted or ():
        problem = id_problem(name)
        if problem:
            raise CourseError(f"--student: {problem}")
    found, rejected = [], {}
    try:
        entries = sorted(os.scandir(course.submitted), key=lambda e: e.name)
    except FileNotFoundError:
        entries = []
    for entry in entries:
        if entry.name.startswith(".") and entry.name in (".staging",):
            continue
        folder = Path(entry.path) / assignment_id
        if not os.path.lexists(folder):
            continue
        problem = id_problem(entry.name)
        if not problem and (entry.is_symlink() or folder.is_symlink() or not folder.is_dir()):
            problem = f"{entry.name}/{assignment_id} is a symbolic link or not a folder"
        if problem:
            rejected[entry.name] = f"not graded: {problem}; rename or remove the folder"
            continue
        found.append(entry.name)
    if wanted:
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise CourseError(f"no submission of {assignment_id} for {', '.join(missing)}")
        found = [s for s in found if s in set(wanted)]
        rejected = {}
    if not found and not rejected:
        raise CourseError(f"no submissions of {assignment_id} in {course.submitted}: "
                          "run the collect step first")
    return found, rejected


def submission_time(folder):
    """``(time or None, problem)`` from a submission's ``timestamp.txt``."""
    from .lms import parse_timestamp
    path = Path(folder) / "timestamp.txt"
    if path.is_symlink():
        return None, "timestamp.txt is a symbolic link"
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"timestamp.txt cannot be read ({exc.strerror})"
    if not text.strip():
        return None, ""
    try:
        return parse_timestamp(text[:200]), ""
    except ValueError as exc:
        return None, f"timestamp.txt: {exc}; fix or delete it, then run autograde --student"


# ---- one submission ---------------------------------------------------------------

def source_cells(gb_notebook):
    """What :func:`tampering` compares with: the instructor's locked cells."""
    points = {c.name: c.max_score for c in gb_notebook.grade_cells}
    return [{"name": c.name, "source": c.source, "cell_type": c.cell_type,
             "points": points.get(c.name)} for c in gb_notebook.source_cells if c.locked]


def tampering(nb, locked):
    """What the student changed in the instructor's locked cells (nbgrader
    restores them silently): ``["deleted test_x", "edited test_y", ...]``."""
    by_id = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            by_id.setdefault(meta["grade_id"], []).append(cell)
    found = []
    for want in locked:
        cells = by_id.get(want["name"], [])
        if not cells:
            found.append(f"deleted {want['name']}")
            continue
        if len(cells) > 1:
            found.append(f"{want['name']} appears {len(cells)} times")
        cell = cells[-1]
        meta = cell.metadata["nbgrader"]
        changed = cell.get("cell_type") != want["cell_type"] or \
            str(cell.get("source", "")).strip() != (want["source"] or "").strip()
        if want["points"] is not None:
            try:
                changed |= float(meta.get("points", 0)) != float(want["points"])
            except (TypeError, ValueError, OverflowError):
                changed = True
        changed |= bool(meta.get("solution")) and want["points"] is not None
        if changed:
            found.append(f"edited {want['name']}")
    return found


def _placeholder_notebook(solution_ids, student, reason):
    """A notebook with one marked, empty solution cell per id (unique to the
    student, so its cached verdict is theirs alone)."""
    import nbformat
    cells = [nbformat.v4.new_markdown_cell("The submitted notebook could not be graded.")]
    for grade_id in sorted(solution_ids):
        cell = nbformat.v4.new_code_cell(f"# submission of {student} not graded: "
                                         f"{reason[:200]!r}\n")
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


def _set_aside(path, solution_ids, student, reason):
    """Keep the submitted notebook as ``<name>.unreadable`` and put a
    placeholder in its place; return the placeholder."""
    import nbformat
    os.replace(path, path.with_name(path.name + ".unreadable"))
    placeholder = _placeholder_notebook(solution_ids, student, reason)
    nbformat.write(placeholder, str(path))
    return placeholder


def sandbox_verdict(run, path, solution_ids, student="?", locked=()):
    """Grade one submitted notebook in the sandbox: ``(verdict, cache key,
    info)``, ``info`` holding ``unreadable`` (a reason), ``repairs`` and
    ``tampered`` (lists). A notebook that cannot be read is kept as
    ``<name>.unreadable`` and replaced by a placeholder nbgrader can
    process; every item scores 0 with the reason. A readable one with
    broken cell ids is repaired (the original kept as ``<name>.original``)."""
    import nbformat

    from .notebooks import MalformedNotebook, read_submission, solution_cells
    path = Path(path)
    info = {"unreadable": "", "repairs": [], "tampered": []}
    try:
        nb, repairs = read_submission(path)
    except MalformedNotebook as exc:
        info["unreadable"] = str(exc)
        placeholder = _set_aside(path, solution_ids, student, str(exc))
        return (malformed_verdict(run, str(exc)),
                run.key(solution_cells(placeholder, solution_ids)), info)
    info["repairs"] = repairs
    try:
        info["tampered"] = tampering(nb, locked)
    except Exception as exc:  # noqa: BLE001 - a report line, never a reason to stop
        info["tampered"] = [f"could not be checked ({type(exc).__name__})"]
    if repairs:
        path.with_name(path.name + ".original").write_bytes(path.read_bytes())
        nbformat.write(nb, str(path))
    cells = solution_cells(nb, solution_ids)
    return run.grade(cells), run.key(cells), info


# ---- the batch ---------------------------------------------------------------------

def autograde(course, assignment_id, students=None, workers=1, seed=None, progress=True,
              dask=None, unsandboxed=False, pass_timeout=PASS_TIMEOUT):
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

    from . import isolation, runreport, sandbox
    from .engine import get_run
    from .lanes import Lanes, cell_names, record
    from .notebooks import solution_cells
    from .preprocessors import code_solution_ids_of
    assignment = get_assignment(assignment_id)
    students, rejected = students_to_grade(course, assignment.id, students)
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
        locked = source_cells(source)
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
    verdicts, failures, records = {}, dict(rejected), {}
    if client is not None:
        run.launcher = DaskLauncher(client)

    def lane(student):
        began = time.perf_counter()
        folder = course.submitted / student / assignment.id
        when, problem = submission_time(folder)
        if problem:
            raise runreport.StudentProblem(problem)
        path = folder / f"{assignment.notebook}.ipynb"
        verdict, key, info = sandbox_verdict(run, path, solution_ids, student, locked)
        converted = lanes.convert(assignment.id, student, key, verdict, timeout=pass_timeout)
        if "error" in converted and not converted.get("timeout") and not info["unreadable"]:
            # nbgrader's own pass failed on this notebook: 0 with nbgrader's reason
            reason = f"nbgrader could not process it ({converted['error'][:300]})"
            placeholder = _set_aside(path, solution_ids, student, reason)
            verdict, info["unreadable"] = malformed_verdict(run, reason), reason
            key = run.key(solution_cells(placeholder, solution_ids))
            converted = lanes.convert(assignment.id, student, key, verdict, timeout=pass_timeout)
        info["seconds"] = time.perf_counter() - began
        return verdict, converted, info, when

    gc.freeze()  # what is loaded by now stays; the run's collections skip it
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, course.gradebook() as gb:
            names = cell_names(gb, assignment.id)
            futures = {pool.submit(lane, s): s for s in students}
            for future in tqdm(as_completed(futures), total=len(futures), desc="grading",
                               unit="submission", disable=not progress):
                student = futures[future]
                try:  # everything about one student, up to its gradebook writes
                    verdict, converted, info, when = future.result()
                    verdicts[student] = verdict
                    if "error" in converted:
                        failures[student] = converted["error"]
                        records[student] = runreport.student_record(
                            student, seed, verdict, info, None, converted["error"])
                        continue
                    record(gb, coursedir, late, assignment.id, student, converted["notebooks"],
                           names, timestamp=when)
                    lateness = runreport.lateness(gb, assignment.id, student)
                    records[student] = runreport.student_record(student, seed, verdict, info,
                                                                lateness)
                except isolation.SandboxUnavailable as exc:
                    raise CourseError(str(exc)) from None
                except Exception as exc:  # the batch always finishes; say who and why
                    gb.db.rollback()
                    failures[student] = (str(exc) if isinstance(exc, runreport.StudentProblem)
                                         else f"grading failed: {type(exc).__name__}: {exc}")
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
            if student in failures:
                continue
            try:
                scores[student] = gb.find_submission(assignment.id, student).score
            except MissingEntry:
                pass
    summary = {"assignment": assignment.id, "seed": seed, "students": students,
               "scores": scores, "verdicts": verdicts, "failures": failures,
               "max_score": assignment.points, "seconds": time.perf_counter() - start,
               "sandboxed": isolation.mode() == "bwrap", "workers": workers,
               "records": records, "confinement": sandbox.confinement()}
    summary["report"] = runreport.write(course, assignment, summary)
    return summary
