"""A1 as an nbgrader assignment: the source notebook, the release, and the
instructor's whole cycle (release, collect, autograde, feedback, export)
on a temporary course folder."""
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import cli
from course_lib.grading.a1 import ASSIGNMENT
from course_lib.grading.notebooks import item_names
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


def _comparable(path):
    """Notebook JSON without fields that may differ between two generations."""
    nb = json.loads(Path(path).read_text())
    nb["metadata"].pop("language_info", None)
    return nb


# ---- the source notebook -------------------------------------------------------

def test_every_item_is_graded_once_with_matching_points():
    """Does each hidden test cell name known items, with the points their checks add up to,
    and is every item graded exactly once?"""
    nb = read_notebook(SOLUTION)
    seen = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            names = item_names(cell.source)
            assert names, f"test cell {meta['grade_id']} names no item"
            assert meta["points"] == sum(ASSIGNMENT.item(n).points for n in names)
            seen += names
    assert sorted(seen) == sorted(item.name for item in ASSIGNMENT.items)
    defined = "\n".join(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    for item in ASSIGNMENT.items:
        assert f"def {item.func}(" in defined


def test_committed_source_matches_its_builder():
    """Is solutions/.../a1_knn_linear.ipynb exactly what solutions/build_a1.py writes?"""
    spec = importlib.util.spec_from_file_location("build_a1", ROOT / "solutions" / "build_a1.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    built = nbformat.v4.new_notebook(cells=builder.cells())
    committed = read_notebook(SOLUTION)
    assert [c.source for c in built.cells] == [c.source for c in committed.cells]
    assert [c.get("metadata") for c in built.cells] == [c.get("metadata") for c in committed.cells]


@pytest.mark.slow
def test_assignments_folder_is_up_to_date(tmp_path, env):
    """Does regenerating the release from solutions/ reproduce assignments/ exactly?"""
    course = _course(tmp_path)
    assert cli.main(["--course-dir", str(course), "generate", "a1"]) == 0
    generated = course / "assignments" / AID
    assert sorted(p.name for p in generated.iterdir()) == [f"{AID}.ipynb"]
    assert _comparable(generated / f"{AID}.ipynb") == _comparable(RELEASE), \
        "assignments/ is stale: run `make assignments`"
    text = RELEASE.read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "grade_item" not in text


@pytest.mark.slow
def test_nbgrader_validate_passes_on_the_solution(tmp_path, env):
    """Does `nbgrader validate` run the solution notebook (hidden tests included) and pass?"""
    nb_path = tmp_path / f"{AID}.ipynb"
    shutil.copy(SOLUTION, nb_path)
    proc = subprocess.run([str(BIN / "nbgrader"), "validate", str(nb_path),
                           "--Execute.timeout=1200", "--KernelManager.transport=ipc",
                           f"--KernelManager.ip={tmp_path / 'kernel-ipc'}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout + proc.stderr


def test_release_runs_top_to_bottom_without_errors(tmp_path, env):
    """Does the released notebook run to the end, each visible test saying 'not done'?"""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    nb = read_notebook(RELEASE)
    # ipc transport (see PERF-NOTES); its socket paths must be absolute
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel-ipc"))
    NotebookClient(nb, km=km, timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors[:1]
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert text.count("[not done]") >= 11


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
        zf.writestr("batch/../evil.ipynb", "{}")
    assert cli.main(run + ["collect", "a1", "--from", str(archive)]) == 0

    courseobj = cli.Course(course)
    serial = cli.autograde(courseobj, "a1", workers=1, seed=99, progress=False)
    scores_serial = _gradebook_scores(course)
    parallel = cli.autograde(courseobj, "a1", workers=2, seed=99, progress=False)
    assert not serial["failures"] and not parallel["failures"]
    me = os.environ.get("USER") or __import__("getpass").getuser()
    assert parallel["scores"] == {"alice": 43, "bob": 41, "carol": 0, me: 43}
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
    assert set(rows) == {"alice", "bob", "carol", me}
    assert float(rows["bob"]["a1.svm_loss_naive"]) == 1.5  # the manual score wins
    assert float(rows["alice"]["total"]) == 43.0 and float(rows["alice"]["max_score"]) == 49.0
    assert (exports / f"{AID}_scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
