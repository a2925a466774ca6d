"""Grades out of the gradebook: a CSV with one column per graded item and
the total, and a histogram of the totals.

A score is the manual score when a grader set one in formgrader, else the
autograder's (nbgrader's ``Grade.score``). Columns follow the notebook:
autograded test cells are named by the item they grade
(``a1.svm_loss_naive``), written answers by their grade id
(``inline_q1``).
"""
import csv
import statistics
from pathlib import Path

import nbformat

from .notebooks import item_names

__all__ = ["export_grades"]


def _columns(course, assignment):
    """``[(grade_id, column name)]`` in notebook order."""
    path = course.source / assignment.id / f"{assignment.notebook}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    columns = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        names = item_names(cell.source) if cell.cell_type == "code" else []
        columns.append((meta["grade_id"], "+".join(names) if names else meta["grade_id"]))
    return columns


def export_grades(course, assignment, out_dir):
    """Write ``<id>_grades.csv`` and ``<id>_scores.png`` into ``out_dir``;
    return a summary dict."""
    from nbgrader.api import MissingEntry
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = _columns(course, assignment)
    rows, totals, needs_manual, max_score = [], [], 0, 0.0
    with course.gradebook() as gb:
        for student in gb.students:
            try:
                submission = gb.find_submission(assignment.id, student.id)
            except MissingEntry:
                continue
            scores, manual = {}, 0
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    scores[grade.name] = grade.score
                    manual += bool(grade.needs_manual_grade)
            row = {"student_id": student.id}
            row.update({name: scores.get(grade_id, "") for grade_id, name in columns})
            row.update({"total": submission.score, "max_score": submission.max_score,
                        "needs_manual_grading": manual})
            rows.append(row)
            totals.append(submission.score)
            needs_manual += manual
            max_score = submission.max_score
    csv_path = out_dir / f"{assignment.id}_grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["student_id"] + [n for _, n in columns]
                                + ["total", "max_score", "needs_manual_grading"])
        writer.writeheader()
        writer.writerows(rows)
    plot_path = out_dir / f"{assignment.id}_scores.png"
    _plot(totals, max_score, assignment, plot_path)
    return {"csv": csv_path, "plot": plot_path, "num_students": len(rows),
            "mean": statistics.mean(totals) if totals else 0.0,
            "median": statistics.median(totals) if totals else 0.0,
            "max_score": max_score, "needs_manual": needs_manual}


def _plot(totals, max_score, assignment, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    top = max(max_score, max(totals, default=0), 1)
    ax.hist(totals, bins=min(20, max(5, len(totals))), range=(0, top), color="#4c72b0",
            edgecolor="white")
    if totals:
        ax.axvline(statistics.mean(totals), color="#c44e52", label=f"mean {statistics.mean(totals):.1f}")
        ax.axvline(statistics.median(totals), color="#55a868", linestyle="--",
                   label=f"median {statistics.median(totals):.1f}")
        ax.legend()
    ax.set_xlabel(f"total score (points, out of {max_score:g})")
    ax.set_ylabel("number of students")
    ax.set_title(f"{assignment.title}: score distribution ({len(totals)} submissions)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
