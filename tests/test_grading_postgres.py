"""The gradebook on a real PostgreSQL server (COURSE_GRADEBOOK_URL=postgresql://...):
release, collect, autograde (2 workers) and export against a server this
test starts and stops (tests/pg_server.py)."""
import csv
import os
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import cli, isolation
from course_lib.grading.testing import make_submission, read_notebook, write_learnable_cifar10

from .pg_server import PostgresServer, find_bindir

ROOT = Path(__file__).resolve().parents[1]
AID = "a1_knn_linear"
SOLUTION = ROOT / "solutions" / AID / f"{AID}.ipynb"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(find_bindir() is None, reason="PostgreSQL is not installed "
                                 "(the Makefile's APT_PACKAGES installs it)"),
              pytest.mark.skipif(not isolation.self_test()[0], reason="bubblewrap unavailable")]


def test_release_autograde_export_on_postgresql(tmp_path, monkeypatch):
    """With the gradebook on PostgreSQL, do release, collect, autograde with
    2 workers and export work, giving the scores SQLite gives, with the
    rows really in the server?"""
    import psycopg
    monkeypatch.setenv("COURSE_DATA_DIR", str(write_learnable_cifar10(tmp_path / "data", 1100)))
    monkeypatch.setenv("COURSE_EXCHANGE", str(tmp_path / "exchange"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("COURSE_GRADING_SEED", raising=False)
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTION.parent, course / "solutions" / AID)
    buggy = make_submission(read_notebook(SOLUTION), "svm_loss_naive",
                            ("    dW += 2 * reg * W\n", ""))
    archive = tmp_path / "subs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice.ipynb", SOLUTION.read_text())
        zf.writestr("bob.ipynb", nbformat.writes(buggy))
    with PostgresServer() as pg:
        monkeypatch.setenv("COURSE_GRADEBOOK_URL", pg.url())
        run = ["--course-dir", str(course)]
        assert cli.main(run + ["release", "a1"]) == 0
        assert cli.main(run + ["collect", "a1", "--from", str(archive)]) == 0
        summary = cli.autograde(cli.Course(course), "a1", workers=2, seed=5, progress=False)
        assert summary["failures"] == {} and summary["scores"] == {"alice": 43, "bob": 41}
        assert cli.main(run + ["export", "a1"]) == 0
        rows = {r["student_id"]: r for r in csv.DictReader(
            open(course / "grading" / "exports" / f"{AID}_grades.csv"))}
        assert float(rows["bob"]["final_total"]) == 41.0
        assert float(rows["bob"]["a1.svm_loss_naive"]) == 2.0
        with psycopg.connect(host=str(pg.socket), user="grader", dbname="course") as conn:
            with conn.cursor() as cursor:
                cursor.execute("select count(*) from submitted_assignment")
                assert cursor.fetchone()[0] == 2
                cursor.execute("select sum(auto_score) from grade")
                assert float(cursor.fetchone()[0]) == 84.0
        assert not (course / "grading" / "gradebook.db").exists()
