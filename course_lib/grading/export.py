"""Grades out of the gradebook, ready for a spreadsheet or an LMS.

- ``<id>_grades.csv``: one row per student, sorted by id: each graded
  item's raw score (the manual score when a grader set one in formgrader,
  else the autograder's), the raw total, nbgrader's late penalty and the
  final total (raw minus penalty, never below 0), the autograded part
  alone, how many written answers still wait for a grader, the submission
  time and how late it was. (nbgrader charges a late penalty per notebook;
  each assignment here has one notebook, so it is one column.)
- ``<id>_canvas.csv``: Canvas's gradebook import format (``Student, ID,
  SIS User ID, SIS Login ID, Section``, then the assignment's column with
  the final total, a ``Points Possible`` row first), sorted by name.
  ``ID`` is the Canvas user id when ``collect`` read it from a Canvas file
  name (``grading/roster.csv``); otherwise the student id goes into ``SIS
  Login ID``, which Canvas also matches on.
- ``<id>_scores.png``: histogram of the final *autograded* totals (written
  answers not yet graded do not count), whole students on the axis;
  ``<id>_checks.png``: per item and check, the share of students who lost
  it (from autograde's records).

Every text cell is escaped against spreadsheet formulas (:func:`.ids.csv_cell`).
"""
import statistics
from pathlib import Path

import nbformat

from course_lib import _atomic

from .ids import write_csv
from .notebooks import item_names

__all__ = ["export_grades", "gradebook_rows"]


def _columns(course, assignment):
    """``[(grade_id, column name, autograded)]`` in notebook order."""
    path = course.source / assignment.id / f"{assignment.notebook}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    columns = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        names = item_names(cell.source) if cell.cell_type == "code" else []
        auto = cell.cell_type == "code" and not meta.get("solution")
        columns.append((meta["grade_id"], "+".join(names) if names else meta["grade_id"], auto))
    return columns


def gradebook_rows(course, assignment):
    """One dict per student with a submission, sorted by id (see the module doc)."""
    from nbgrader.api import MissingEntry
    columns = _columns(course, assignment)
    auto_ids = {grade_id for grade_id, _, auto in columns if auto}
    rows = []
    with course.gradebook() as gb:
        for student in gb.students:
            try:
                submission = gb.find_submission(assignment.id, student.id)
            except MissingEntry:
                continue
            scores, pending, penalty = {}, 0, 0.0
            auto_raw = auto_max = max_score = 0.0
            for notebook in submission.notebooks:
                penalty += notebook.late_submission_penalty or 0.0
                for grade in notebook.grades:
                    scores[grade.name] = grade.score
                    max_score += grade.max_score
                    pending += bool(grade.needs_manual_grade and grade.manual_score is None
                                    and grade.auto_score is None)
                    if grade.name in auto_ids:
                        auto_raw += grade.score
                        auto_max += grade.max_score
            raw = sum(scores.values())
            row = {"student_id": student.id}
            row.update({name: scores.get(grade_id, "") for grade_id, name, _ in columns})
            row.update({
                "raw_total": raw, "late_penalty": penalty, "final_total": max(0.0, raw - penalty),
                "max_score": max_score, "autograded_raw": auto_raw,
                "autograded_final": max(0.0, auto_raw - penalty), "autograded_max": auto_max,
                "pending_manual_grades": pending,
                "submitted_at": str(submission.timestamp or ""),
                "hours_late": round((submission.total_seconds_late or 0) / 3600, 3),
                "_name": " ".join(n for n in (student.first_name, student.last_name) if n)})
            rows.append(row)
    rows.sort(key=lambda r: r["student_id"])
    return columns, rows


def _canvas(path, points, rows, roster, column):
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]
    out = [["    Points Possible", "", "", "", "", points]]
    body = []
    for row in rows:
        known = roster.get(row["student_id"], {})
        canvas_id = known.get("lms_id", "") if known.get("lms") == "canvas" else ""
        name = known.get("name") or row["_name"] or row["student_id"]
        login = "" if canvas_id else row["student_id"]
        body.append([name, canvas_id, "", login, "", round(row["final_total"], 2)])
    body.sort(key=lambda r: (str(r[0]).lower(), str(r[1]), str(r[3])))
    write_csv(path, header, out + body)


def export_grades(course, assignment, out_dir, canvas_column=None):
    """Write the CSVs and plots into ``out_dir``; return a summary dict."""
    from .roster import read_roster
    from .runreport import failure_rates, read_records
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    columns, rows = gradebook_rows(course, assignment)
    fields = (["student_id"] + [name for _, name, _ in columns]
              + ["raw_total", "late_penalty", "final_total", "max_score", "autograded_raw",
                 "autograded_final", "autograded_max", "pending_manual_grades", "submitted_at",
                 "hours_late"])
    csv_path = out_dir / f"{assignment.id}_grades.csv"
    write_csv(csv_path, fields, [[row[f] for f in fields] for row in rows])
    canvas_path = out_dir / f"{assignment.id}_canvas.csv"
    points = rows[0]["max_score"] if rows else assignment.points
    _canvas(canvas_path, points, rows, read_roster(course.grading / "roster.csv"),
            canvas_column or assignment.title)
    finals = [row["autograded_final"] for row in rows]
    auto_max = rows[0]["autograded_max"] if rows else assignment.points
    plot_path = out_dir / f"{assignment.id}_scores.png"
    _histogram(finals, auto_max, assignment, plot_path)
    records = read_records(course, assignment.id, {row["student_id"] for row in rows})
    rates = failure_rates(records.values())
    checks_path = out_dir / f"{assignment.id}_checks.png" if rates else None
    if rates:
        _checks_plot(rates, assignment, checks_path)
    totals = [row["final_total"] for row in rows]
    return {"csv": csv_path, "canvas": canvas_path, "plot": plot_path, "checks": checks_path,
            "num_students": len(rows),
            "mean": statistics.mean(totals) if totals else 0.0,
            "median": statistics.median(totals) if totals else 0.0,
            "max_score": rows[0]["max_score"] if rows else 0.0,
            "late": sum(1 for row in rows if row["late_penalty"] > 0),
            "needs_manual": sum(row["pending_manual_grades"] for row in rows), "rows": rows}


def _histogram(values, top, assignment, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator
    top = max(float(top), max(values, default=0.0), 1.0)
    width = max(1.0, np.ceil(top / 25))  # whole points per bar, at most ~25 bars
    edges = np.arange(0, top + width, width)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.hist(values, bins=edges, color="#4c72b0", edgecolor="white")
    if values:
        ax.axvline(statistics.mean(values), color="#c44e52",
                   label=f"mean {statistics.mean(values):.1f}")
        ax.axvline(statistics.median(values), color="#55a868", linestyle="--",
                   label=f"median {statistics.median(values):.1f}")
        ax.legend()
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, edges[-1])
    ax.set_xlabel(f"autograded points after late penalties (out of {top:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{assignment.title}: {len(values)} submissions", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def _checks_plot(rates, assignment, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    titles = {i.name: i.title for i in assignment.items}
    labels = [f"{titles.get(item, item)}: {check}" for item, check, _, _ in rates]
    shares = [lost / n if n else 0.0 for _, _, lost, n in rates]
    fig, ax = plt.subplots(figsize=(8, 0.22 * len(rates) + 1.2))
    ax.barh(range(len(rates)), shares, color="#c44e52")
    ax.set_yticks(range(len(rates)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of students who lost the check")
    ax.set_title(f"{assignment.title}: checks lost", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path):
    import matplotlib.pyplot as plt
    try:
        with _atomic.replacing(path, "wb") as f:
            fig.savefig(f, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
