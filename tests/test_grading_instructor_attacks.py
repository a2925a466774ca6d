"""Issue 21, the instructor's side: one course, one batch, every attack of
``attack_corpus.INSTRUCTOR_NOTEBOOKS`` and ``INSTRUCTOR_NAMES`` mixed with
honest submissions, through collect (exchange and zip), autograde,
feedback (--release) and export. No attack may stop the batch, change an
honest student's grade, or put script or remote resources into a page."""
import csv
import json
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import cli, isolation
from course_lib.grading.runreport import read_records
from course_lib.grading.testing import make_submission, read_notebook, write_learnable_cifar10

from .attack_corpus import INSTRUCTOR_NAMES, INSTRUCTOR_NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
AID = "a1_knn_linear"
SOLUTION = ROOT / "solutions" / AID / f"{AID}.ipynb"
RELEASE = ROOT / "assignments" / AID / f"{AID}.ipynb"
NB = f"{AID}.ipynb"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not isolation.self_test()[0], reason="bubblewrap unavailable")]

# who submits what (zip unless said); the expected autograded outcome
ZIPPED = {"dave": "script, event handlers, javascript: links, remote resources; a missing attachment",
          "erin": "HTML that makes the sanitiser's parser quadratic",
          "olga": "Markdown that makes nbconvert's rendering quadratic",
          "frank": "a JSON integer too large for a float",
          "gina": "a solution flag set on a test cell",
          "hank": "a test cell copied into a Markdown cell",
          "ivan": "cell ids in another script",
          "ivy": "duplicated cell ids the repair missed",
          "judy": "200,000 cells, 40 MB (nbgrader's pass without a time limit)"}
PASS_TIMEOUT = 20      # the many-cells notebook takes minutes in nbgrader's pass
FEEDBACK_TIMEOUT = 30  # the quadratic Markdown takes minutes to render


def _inbound(exchange, student, stamp, files, secret="s3cret"):
    folder = exchange / "nn-numpy" / "inbound" / f"{student}+{AID}+{stamp}+{student}rand"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "timestamp.txt").write_text(stamp)
    (folder / "submission_secret.txt").write_text(secret + student)
    return folder


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    env = {"COURSE_DATA_DIR": str(write_learnable_cifar10(tmp / "data", 1100)),
           "COURSE_EXCHANGE": str(tmp / "exchange"), "MPLBACKEND": "Agg",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    saved = {k: os.environ.get(k) for k in list(env) + ["COURSE_GRADEBOOK_URL",
                                                        "COURSE_GRADING_SEED"]}
    os.environ.update(env)
    os.environ.pop("COURSE_GRADEBOOK_URL", None)
    os.environ.pop("COURSE_GRADING_SEED", None)
    root = tmp / "course"
    (root / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(SOLUTION.parent, root / "solutions" / AID)
    yield root, tmp / "exchange", tmp
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def batch(course):
    """Release, collect (exchange + zip), plant two folders by hand, autograde."""
    root, exchange, tmp = course
    run = ["--course-dir", str(root)]
    assert cli.main(run + ["release", "a1"]) == 0
    raw = json.loads(SOLUTION.read_text())
    solution = read_notebook(SOLUTION)
    # the exchange: alice honest, carol the release stub, mallory a link to
    # the instructor's solution, bob a folder whose name holds no time
    _inbound(exchange, "alice", "2026-03-01 10:00:00.000000 UTC", {NB: SOLUTION.read_bytes()})
    _inbound(exchange, "carol", "2026-03-01 10:00:00.000000 UTC", {NB: RELEASE.read_bytes()})
    link = _inbound(exchange, "mallory", "2026-03-01 10:00:00.000000 UTC", {})
    os.symlink(root / "solutions" / AID / NB, link / NB)
    bad = exchange / "nn-numpy" / "inbound" / f"bob+{AID}+the day after+x"
    bad.mkdir()
    (bad / NB).write_bytes(SOLUTION.read_bytes())
    assert cli.main(run + ["collect", "a1"]) == 0

    archive = tmp / "submissions.zip"
    buggy = make_submission(solution, "svm_loss_naive", ("    dW += 2 * reg * W\n", ""))
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/lena.ipynb", nbformat.writes(buggy))
        for student, attack in ZIPPED.items():
            built = INSTRUCTOR_NOTEBOOKS[attack][0](raw)
            zf.writestr(f"export/{student}.ipynb",
                        built if isinstance(built, str) else json.dumps(built))
        for name in INSTRUCTOR_NAMES:  # each would replace or glob someone's work
            zf.writestr(f"export/{name}", RELEASE.read_text())
    assert cli.main(run + ["collect", "a1", "--from", str(archive)]) == 0

    submitted = root / "grading" / "submitted"
    for name in ("*", "kate"):  # as stock nbgrader collect would leave them
        (submitted / name / AID).mkdir(parents=True)
        (submitted / name / AID / NB).write_bytes(RELEASE.read_bytes())
    (submitted / "kate" / AID / NB).write_bytes(SOLUTION.read_bytes())
    (submitted / "kate" / AID / "timestamp.txt").write_text("2026-02-30 25:61:00 UTC")
    summary = cli.autograde(cli.Course(root), "a1", workers=2, progress=False,
                            pass_timeout=PASS_TIMEOUT)
    return summary


def test_collect_took_only_what_it_should(course, batch):
    """Was mallory's link to the solution never collected, bob's bad folder
    name refused without stopping the others, and none of the names of
    INSTRUCTOR_NAMES made into a student?"""
    root, _, _ = course
    submitted = root / "grading" / "submitted"
    students = sorted(p.name for p in submitted.iterdir() if not p.name.startswith("."))
    assert students == sorted(["*", "alice", "carol", "kate", "lena"] + list(ZIPPED))
    for path in submitted.rglob("*"):
        assert not path.is_symlink()
    assert not list(submitted.rglob("*mallory*"))


def test_one_submission_never_stops_or_changes_the_batch(batch):
    """Do the honest submissions get exactly their own scores, the malformed
    ones 0 (or their code's score when only cell ids needed renumbering),
    and do the bad id, the bad timestamp and the endless notebook pass fail
    alone, each with its reason?"""
    scores = batch["scores"]
    assert scores["alice"] == 43 and scores["carol"] == 0 and scores["lena"] == 41
    for student, attack in ZIPPED.items():
        outcome = INSTRUCTOR_NOTEBOOKS[attack][1]
        if outcome == "zero":
            assert scores[student] == 0, student
            feedback = "\n".join(i.feedback for i in batch["verdicts"][student].items.values())
            assert "could not be graded" in feedback and "nbgrader could not process" in feedback
        elif outcome == "timeout":
            assert "took longer than" in batch["failures"][student]
        else:  # repaired, sanitised, feedback-timeout: graded on their code
            assert scores[student] == 43, student
    assert set(batch["failures"]) == {"*", "kate", "judy"}
    assert "not a usable student id" in batch["failures"]["*"]
    assert "timestamp.txt" in batch["failures"]["kate"]
    reasons = {s: [k for k, _ in r["anomalies"]] for s, r in batch["records"].items()}
    assert "unreadable" in reasons["frank"] and "tampered" in reasons["gina"]
    assert "repaired" in reasons["ivan"]


def test_glob_id_deleted_nobody_s_results(course, batch):
    """Is every graded student's autograded notebook still there (a '*'
    passed to nbgrader would have replaced or removed them)?"""
    root, _, _ = course
    autograded = root / "grading" / "autograded"
    for student in batch["scores"]:
        assert (autograded / student / AID / NB).is_file(), student
    assert not (autograded / "*").exists()


def test_run_report_lists_the_anomalies(course, batch):
    """Does the run report (CSV and HTML) name each failed or odd
    submission with its seed, and rank the checks by failure rate?"""
    report = batch["report"]
    rows = {r["student_id"]: r for r in csv.DictReader(open(report["csv"]))}
    assert rows["judy"]["anomalies"] == "failed" and rows["kate"]["anomalies"] == "failed"
    assert "unreadable" in rows["frank"]["anomalies"]
    assert int(rows["alice"]["seed"]) == batch["seed"]
    checks = list(csv.DictReader(open(report["checks"])))
    svm = {r["check"]: (int(r["lost"]), int(r["graded"])) for r in checks
           if r["item"] == "a1.svm_loss_naive"}
    # graded on code: alice, carol, lena, dave, erin, ivan, ivy, olga; carol's stub
    # loses both checks, lena's missing regularisation term loses dW
    assert svm == {"loss": (1, 8), "dW": (2, 8)}
    page = report["html"].read_text()
    assert "judy" in page and "<script" not in page


def test_a_disputed_grade_is_reproduced_exactly(course, batch):
    """Does autograde --student lena --seed S (S from her record) give the
    same verdict as the batch did?"""
    root, _, _ = course
    record = read_records(cli.Course(root), AID, {"lena"})["lena"]
    assert record["seed"] == batch["seed"]
    again = cli.autograde(cli.Course(root), "a1", students=["lena"], seed=record["seed"],
                          progress=False)
    assert again["verdicts"]["lena"].to_dict() == record["verdict"]
    assert again["scores"]["lena"] == 41


def _page(root, student):
    return (root / "grading" / "feedback" / student / AID / f"{AID}.html").read_text()


def _without_allowed_scripts(page):
    """The page minus the script elements its Content-Security-Policy allows
    (MathJax); fails if any other script element is left."""
    import base64
    import hashlib
    meta = re.search(r"<meta[^>]*Content-Security-Policy[^>]*>", page).group(0)
    policy = re.search(r'content="([^"]*)"', meta).group(1)
    assert page.index(meta) < page.index("<style")  # before anything a page loads
    allowed = set(re.findall(r"'sha256-([^']+)'", policy))
    assert len(allowed) == 2 and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "default-src 'none'" in policy and "img-src data:" in policy

    def drop(match):
        digest = base64.b64encode(hashlib.sha256(match.group(1).encode()).digest()).decode()
        assert digest in allowed, "a script the policy does not allow"
        return ""
    rest = re.sub(r"<script>(.*?)</script>", drop, page, flags=re.S)
    assert "<script" not in rest.lower()
    return rest


def test_feedback_is_safe_and_one_student_never_stops_it(course, batch, capsys):
    """Does feedback --release render every graded student but the one whose
    Markdown would take minutes (named, no partial page), with no student
    script, event handler, javascript: link or remote resource in any page,
    and release to the exchange student while naming the zip ones?"""
    root, exchange, _ = course
    code = cli.main(["--course-dir", str(root), "feedback", "a1", "--release",
                     "--timeout", str(FEEDBACK_TIMEOUT)])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 1 and "FAILED erin: took longer than" in out
    assert re.search(r"feedback: 100%.*\| (\d+)/\1 ", captured.err)  # the progress bar
    assert not (root / "grading" / "feedback" / "erin" / AID / f"{AID}.html").exists()
    assert re.search(r"not released to dave: not submitted through the exchange", out)
    released = list((exchange / "nn-numpy" / "feedback").glob("*.html"))
    assert len(released) == 2  # alice and carol came through the exchange
    for student in ("alice", "carol", "dave", "frank", "hank", "ivan", "lena", "olga"):
        page = _without_allowed_scripts(_page(root, student))
        lowered = page.lower()
        for bad in ("onerror", "onload", "198.51.100.7", "<iframe", "<svg", "pwned", "@import"):
            assert bad not in lowered, (student, bad)
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", lowered), student
        assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", lowered), student
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), student
    alice = _page(root, "alice")
    toc = alice[alice.index('<div id="toc">'):alice.index("</ol>")]
    assert ">svm_loss_naive</a> (Score: 4.0 / 4.0)" in toc and "Test cell" not in toc
    assert "pending: graded by hand, not yet graded" in toc  # the written answers
    assert "white-space: pre-wrap" in alice
    dave = _page(root, "dave")
    assert "My notes" in dave and "$x^2 &lt; y$" in dave
    assert "Out[" not in _page(root, "lena")


def test_export_escapes_formulas_and_applies_late_penalties(course, batch):
    """Does every export escape a student id that is a formula (one that
    reached the gradebook some other way), and sort its rows?"""
    root, _, _ = course
    evil = '=HYPERLINK("http://198.51.100.7","x")'
    with cli.Course(root).gradebook() as gb:
        gb.update_or_create_student(evil)
        gb.add_submission(AID, evil)
    assert cli.main(["--course-dir", str(root), "export", "a1"]) == 0
    exports = root / "grading" / "exports"
    for name in (f"{AID}_grades.csv", f"{AID}_canvas.csv"):
        text = (exports / name).read_text()
        cells = [c for row in csv.reader(text.splitlines()) for c in row]
        assert "'" + evil in cells, name
        assert not any(c.startswith(("=", "+", "@")) for c in cells), name
    ids = [r["student_id"] for r in csv.DictReader(open(exports / f"{AID}_grades.csv"))]
    assert ids == sorted(ids)
