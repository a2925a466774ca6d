"""The instructor's whole cycle on A1 (release, collect, autograde, feedback,
export) in a temporary course folder; autograding lanes write what plain
`nbgrader autograde` writes. (Each assignment's notebook checks:
tests/test_assignment_notebooks.py.)"""
import csv
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import cli
from course_lib.grading.specs.a1 import ASSIGNMENT
from course_lib.grading.testing import make_submission, read_notebook, write_learnable_cifar10

ROOT = Path(__file__).resolve().parents[1]
AID = ASSIGNMENT.id
SOLUTION = ROOT / "solutions" / AID / f"{AID}.ipynb"
RELEASE = ROOT / "assignments" / AID / f"{AID}.ipynb"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    # the notebook asks for 5,500 training and 500 test images
    return write_learnable_cifar10(tmp_path_factory.mktemp("cifar"), num_per_batch=1100)


@pytest.fixture
def env(cifar_dir, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(cifar_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for name in ("COURSE_GRADEBOOK_URL", "COURSE_EXCHANGE", "COURSE_GRADING_SEED"):
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


def _course(tmp_path):
    """A course folder with A1's source and the course's nbgrader config."""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / AID, course / "solutions" / AID)
    return course


# ---- the instructor's cycle ----------------------------------------------------

def _gradebook_scores(course_dir):
    course = cli.Course(course_dir)
    out = {}
    with course.gradebook() as gb:
        for student in gb.students:
            submission = gb.find_submission(AID, student.id)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    out[(student.id, grade.name)] = grade.score
    return out


def _gradebook_state(course_dir):
    """Everything autograding writes into the gradebook, and the autograded
    notebooks' cells."""
    state = {}
    with cli.Course(course_dir).gradebook() as gb:
        for student in gb.students:
            submission = gb.find_submission(AID, student.id)
            state[(student.id, "timestamp")] = submission.timestamp
            for notebook in submission.notebooks:
                state[(student.id, notebook.name)] = ("late", notebook.late_submission_penalty)
                for grade in notebook.grades:
                    state[(student.id, grade.name)] = (grade.auto_score,
                                                       grade.needs_manual_grade)
                for comment in notebook.comments:
                    state[(student.id, "comment", comment.name)] = comment.auto_comment
            path = Path(course_dir) / "grading" / "autograded" / student.id / AID / f"{AID}.ipynb"
            state[(student.id, "cells")] = [
                (c.source, c.get("outputs"), c.metadata.get("nbgrader"))
                for c in nbformat.read(str(path), as_version=4).cells]
    return state


@pytest.mark.slow
def test_release_collect_autograde_feedback_export(tmp_path, env, monkeypatch):
    """Does the whole cycle work on a temporary course, through the exchange and
    a zip, with 2 workers giving the same gradebook as 1?"""
    course = _course(tmp_path)
    exchange = tmp_path / "exchange"
    monkeypatch.setenv("COURSE_EXCHANGE", str(exchange))
    run = ["--course-dir", str(course)]
    assert cli.main(run + ["release", "a1"]) == 0

    # a student fetches through the exchange, answers, and submits
    home = tmp_path / "student"
    home.mkdir()
    flags = [f"--Exchange.root={exchange}", "--CourseDirectory.course_id=nn-numpy"]
    subprocess.run([str(BIN / "nbgrader"), "fetch_assignment", AID] + flags, cwd=home, env=env,
                   check=True, capture_output=True, timeout=300)
    shutil.copy(SOLUTION, home / AID / f"{AID}.ipynb")
    subprocess.run([str(BIN / "nbgrader"), "submit", AID] + flags, cwd=home, env=env,
                   check=True, capture_output=True, timeout=300)
    assert cli.main(run + ["collect", "a1"]) == 0

    # three more arrive as a zip named by student
    solution = read_notebook(SOLUTION)
    buggy = make_submission(solution, "svm_loss_naive", ("    dW += 2 * reg * W\n", ""))
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("batch/alice.ipynb", SOLUTION.read_text())
        zf.writestr("batch/bob.ipynb", nbformat.writes(buggy))
        zf.writestr("batch/carol.ipynb", RELEASE.read_text())
        zf.writestr("batch/doejudy_12345_678901_a1_knn_linear.ipynb", RELEASE.read_text())
        zf.writestr("batch/../evil.ipynb", "{}")
    assert cli.main(run + ["collect", "a1", "--from", str(archive)]) == 0

    courseobj = cli.Course(course)
    serial = cli.autograde(courseobj, "a1", workers=1, seed=99, progress=False)
    scores_serial = _gradebook_scores(course)
    parallel = cli.autograde(courseobj, "a1", workers=2, seed=99, progress=False)
    assert not serial["failures"] and not parallel["failures"]
    me = os.environ.get("USER") or __import__("getpass").getuser()
    assert parallel["scores"] == {"alice": 43, "bob": 41, "carol": 0, "doejudy_12345": 0, me: 43}
    assert _gradebook_scores(course) == scores_serial
    assert scores_serial[("bob", "test_svm_loss_naive")] == 2

    # the lanes write what nbgrader's own autograde writes: grades, manual-grading
    # flags, comments, late penalties, autograded notebooks (due date now past and
    # late work scoring zero; a manual score on bob's cell keeps it flagged)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write('c.LateSubmissionPlugin.penalty_method = "zero"\n')
    courseobj = cli.Course(course)
    with courseobj.gradebook() as gb:
        gb.update_or_create_assignment(AID, duedate="2020-01-01 00:00:00 UTC")
        bob = gb.find_submission_notebook(AID, AID, "bob")
        next(g for g in bob.grades if g.name == "test_svm_loss_naive").manual_score = 1.5
        gb.db.commit()
    cli.autograde(courseobj, "a1", workers=2, seed=99, progress=False)
    ours = _gradebook_state(course)
    assert ours[("bob", "test_svm_loss_naive")][:2] == (2, True)
    assert ours[(me, AID)] == ("late", 43.0)  # submitted through the exchange, with a time
    subprocess.run([str(BIN / "nbgrader"), "autograde", AID, "--force"], cwd=course,
                   env=dict(env, COURSE_GRADING_SEED="99"), check=True, capture_output=True,
                   timeout=600)
    assert _gradebook_state(course) == ours

    assert cli.main(run + ["feedback", "a1"]) == 0
    page = (course / "grading" / "feedback" / "bob" / AID / f"{AID}.html").read_text()
    assert "regularization term is missing from dW" in page
    for secret in ("HIDDEN TESTS", "grade_item", "from course_lib.grading import"):
        assert secret not in page

    assert cli.main(run + ["export", "a1"]) == 0
    exports = course / "grading" / "exports"
    rows = {r["student_id"]: r for r in csv.DictReader(open(exports / f"{AID}_grades.csv"))}
    assert set(rows) == {"alice", "bob", "carol", "doejudy_12345", me}
    assert float(rows["bob"]["a1.svm_loss_naive"]) == 1.5  # the manual score wins
    assert float(rows["alice"]["final_total"]) == 43.0 and float(rows["alice"]["max_score"]) == 49.0
    assert list(rows) == sorted(rows)  # sorted by id
    # the exchange submission is late (due 2020) and late work scores zero
    assert float(rows[me]["raw_total"]) == 43.0 and float(rows[me]["late_penalty"]) == 43.0
    assert float(rows[me]["final_total"]) == 0.0 and float(rows[me]["autograded_final"]) == 0.0
    for plot in ("scores", "checks"):
        assert (exports / f"{AID}_{plot}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Canvas's gradebook import: its five student columns, the assignment's
    # column with the final total, the Canvas user id read from the file name
    canvas = list(csv.reader(open(exports / f"{AID}_canvas.csv")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         ASSIGNMENT.title]
    assert canvas[1][0].strip() == "Points Possible" and float(canvas[1][5]) == 49.0
    by_login = {r[3] or r[1]: r for r in canvas[2:]}
    assert by_login["12345"][:2] == ["doejudy", "12345"]
    assert float(by_login["bob"][5]) == 40.5 and float(by_login[me][5]) == 0.0
