"""Issue 7: grading that cannot be fooled or broken.

Every attack of ``tests/attack_corpus.py`` (built from the A1 solution
notebook, one malicious cell each) must score exactly what the honest wrong
answer (the release stub of the attacked cell) scores, with a reason in the
feedback; a probe inside the sandbox must read nothing it should not and
reach no network; the gradebook and the course folder stay untouched.
"""
import dataclasses
import hashlib
import json
import socket
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from course_lib.grading import isolation, sandbox
from course_lib.grading.specs.a1 import ASSIGNMENT as A1
from course_lib.grading.engine import GradingRun
from course_lib.grading.notebooks import code_solution_ids, solution_cells
from course_lib.grading.testing import make_submission, read_notebook, strip_solutions

from .attack_corpus import ATTACKS, TARGET

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "a1_knn_linear" / "a1_knn_linear.ipynb"
ITEMS = ("a1.svm_loss_naive", "a1.svm_loss_vectorized", "a1.compute_distances_no_loops",
         "a1.predict_labels")

pytestmark = pytest.mark.skipif(not isolation.self_test()[0],
                                 reason="bubblewrap unavailable: " + isolation.self_test()[1])


def small_a1(time_limit=3):
    """A1 cut to four items with 3 s call limits: the attacks stay fast."""
    items = tuple(dataclasses.replace(A1.item(n), time_limit=time_limit) for n in ITEMS)
    return dataclasses.replace(A1, items=items, startup_seconds=10)


# 1 GB: the memfd hog reaches the sandbox's memory limit in a fraction of its
# 3 s of CPU time even on a loaded machine (at 2 GB it sometimes did not)
ATTACK_LIMITS = sandbox.Limits(cpu_seconds=60, wall_seconds=90, memory_bytes=1024 ** 3,
                               disk_bytes=64 * 1024 ** 2)


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory):
    """Files outside the sandbox that attacks try to reach: another
    student's submission, a gradebook, a result-looking array."""
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "other").mkdir()
    (folder / "other" / "a1_knn_linear.ipynb").write_bytes(SOLUTION.read_bytes())
    db = sqlite3.connect(folder / "gradebook.db")
    db.execute("create table grade (id integer primary key, manual_score real)")
    db.execute("insert into grade values (1, 0)")
    db.commit()
    db.close()
    np.save(folder / "expected.npy", np.zeros((3, 3)))
    return folder


@pytest.fixture(scope="module")
def corpus(secrets_dir):
    """``{name: solution cells}`` of every attack and of the honest baseline."""
    solution = read_notebook(SOLUTION)
    ids = code_solution_ids(solution)
    release = strip_solutions(solution)
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    sources = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    fill = {"{secret_solution}": str(SOLUTION),
            "{secret_other}": str(secrets_dir / "other" / "a1_knn_linear.ipynb"),
            "{secret_gradebook}": str(secrets_dir / "gradebook.db"),
            "{secret_array}": str(secrets_dir / "expected.npy")}
    out = {"honest wrong answer (release stub)":
           solution_cells(make_submission(solution, TARGET, source=stubs[TARGET]), ids)}
    for name, (cell, source) in ATTACKS.items():
        source = source.replace("{stub}", stubs[TARGET])
        for key, value in fill.items():
            source = source.replace(key, value)
        nb = make_submission(solution, TARGET, source=stubs[TARGET])
        if cell.endswith("+"):  # a correct cell with a global patch appended
            cell = cell[:-1]
            nb = make_submission(nb, cell, source=sources[cell] + "\n\n" + source)
        else:
            nb = make_submission(nb, cell, source=source)
        out[name] = solution_cells(nb, ids)
    return out


@pytest.fixture(scope="module")
def run():
    return GradingRun(small_a1(), seed=7, limits=ATTACK_LIMITS)


@pytest.fixture(scope="module")
def baseline(run, corpus):
    verdict = run.grade(corpus["honest wrong answer (release stub)"])
    assert verdict.scores() == {"a1.svm_loss_naive": 0, "a1.svm_loss_vectorized": 5,
                                "a1.compute_distances_no_loops": 3, "a1.predict_labels": 3}
    return verdict.scores()


def test_the_corpus_has_every_attack_of_the_issue():
    """Are there at least 30 attacks?"""
    assert len(ATTACKS) >= 30


# what the attacked item's feedback must say (faults, forged files, reference use)
REASONS = {
    "sys.exit in the call": "SystemExit",
    "os._exit in the call": "exited with code 0",
    "segfault via ctypes": "segmentation fault",
    "infinite loop ignoring SIGINT and SIGTERM": "took too long",
    "memory bomb": "MemoryError",
    "fork bomb": "NotImplementedError",
    "disk fill (out/ and /tmp)": "wrote more files or bytes than the sandbox allows",
    "object array": "ndarray of dtype object",
    "ndarray subclass with a lying __array_function__": "Liar",
    "forged result: pickle in place of .npy": "not a .npy array file",
    "forged result: symlink out of the work dir": "symbolic link",
    "forged result: oversized .npy header": "the header promises",
    "forged result: .npz archive": "not a .npy array file",
    "import the reference (course_lib.classifiers)": "uses the reference solution",
    "exec the solutions notebook from the course dir": "NotImplementedError",
    "copy another student's submission": "NotImplementedError",
    "torch autograd (an installed package)": "No module named 'torch'",
    "torch beside numpy (its site folder appended to sys.path)": "No module named 'torch'",
    "memfd hog (memory in no address space)": "memory limit",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_scores_what_an_honest_wrong_answer_scores(name, run, corpus, baseline,
                                                          secrets_dir):
    """Does this attack score exactly the release stub's scores, with the
    reason in the attacked item's feedback, and leave the gradebook untouched?"""
    before = hashlib.sha256((secrets_dir / "gradebook.db").read_bytes()).hexdigest()
    verdict = run.grade(corpus[name])
    assert verdict.scores() == baseline, verdict.items["a1.svm_loss_naive"].feedback
    feedback = verdict.items["a1.svm_loss_naive"].feedback
    assert "0 / 4 points" in feedback and "✘" in feedback
    assert REASONS.get(name, "") in feedback, feedback
    assert hashlib.sha256((secrets_dir / "gradebook.db").read_bytes()).hexdigest() == before


PROBE = '''
def svm_loss_naive(W, X, y, reg):
    import glob, os, socket
    found = {}
    def read(label, paths):
        total = 0
        for path in paths:
            try:
                with open(path, "rb") as f:
                    total += len(f.read())
            except OSError:
                pass
        found[label] = total
    read("solutions", [SOLUTION] + glob.glob("/work/*/solutions/*/*.ipynb"))
    read("hidden_tests", [SPEC, SPEC.replace("a1.py", "a1_knn.py")])
    read("other_submission", [OTHER] + glob.glob("/tmp/**/*.ipynb", recursive=True))
    read("gradebook", [GRADEBOOK] + glob.glob("/tmp/**/gradebook.db", recursive=True)
                               + glob.glob("/work/*/grading/gradebook.db"))
    read("proc_of_grader", ["/proc/%d/environ" % GRADER_PID, "/proc/%d/cmdline" % GRADER_PID])
    for label, address in (("local_socket", ("127.0.0.1", PORT)), ("public_ip", ("1.1.1.1", 53)),
                           ("public_ip_2", ("8.8.8.8", 443))):
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(address)
            found[label] = 1
        except OSError:
            found[label] = 0
        finally:
            s.close()
    try:
        socket.getaddrinfo("example.com", 80)
        found["dns"] = 1
    except OSError:
        found["dns"] = 0
    found["uid"] = os.getuid()
    return found
'''


def test_probe_reads_nothing_and_reaches_nothing(secrets_dir, tmp_path):
    """Inside the sandbox, does a probe read 0 bytes of the solutions, the
    hidden-test sources, another submission, the gradebook and the grader's
    process, and fail to reach 127.0.0.1 (a listener we opened) and public IPs?"""
    import os
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    source = (PROBE.replace("SOLUTION", repr(str(SOLUTION)))
              .replace("SPEC", repr(str(ROOT / "course_lib" / "grading" / "a1.py")))
              .replace("OTHER", repr(str(secrets_dir / "other" / "a1_knn_linear.ipynb")))
              .replace("GRADEBOOK", repr(str(secrets_dir / "gradebook.db")))
              .replace("GRADER_PID", str(os.getpid())).replace("PORT", str(port)))
    # the probe must be able to read these on the host, or the test proves nothing
    assert SOLUTION.stat().st_size > 0 and (secrets_dir / "gradebook.db").stat().st_size > 0
    run = GradingRun(small_a1(time_limit=30), seed=7)
    run.grade([{"grade_id": TARGET, "source": source}], keep_dir=tmp_path)
    tid = next(t["id"] for t in run.tasks if t["item"] == "a1.svm_loss_naive")
    record = json.loads((tmp_path / "work" / "out" / f"{tid}.json").read_text())
    assert record["ok"], record
    found = {k: v["v"] for k, v in record["value"]["items"].items()}
    uid = found.pop("uid")
    assert found == {"solutions": 0, "hidden_tests": 0, "other_submission": 0, "gradebook": 0,
                     "proc_of_grader": 0, "local_socket": 0, "public_ip": 0, "public_ip_2": 0,
                     "dns": 0}
    assert uid != 0
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()


def test_work_folder_is_read_only_except_out(run, tmp_path):
    """Can student code change its inputs or the runner on disk? (It must not.)"""
    source = ("def svm_loss_naive(W, X, y, reg):\n    import glob\n    hits = 0\n"
              "    for p in glob.glob('in/*.npy') + ['runner.py', 'job.json']:\n"
              "        try:\n            open(p, 'ab').write(b'x')\n            hits += 1\n"
              "        except OSError:\n            pass\n    return hits\n")
    run.grade([{"grade_id": TARGET, "source": source}], keep_dir=tmp_path)
    tid = next(t["id"] for t in run.tasks if t["item"] == "a1.svm_loss_naive")
    record = json.loads((tmp_path / "work" / "out" / f"{tid}.json").read_text())
    assert record["value"] == {"t": "int", "v": 0}


def test_without_bwrap_grading_refuses_unless_allowed(monkeypatch, tmp_path):
    """With bwrap failing its self-test, does launch refuse with a clear error,
    and run (flagged as unsandboxed) only when explicitly allowed?"""
    monkeypatch.setitem(isolation._STATE, "test", (False, "bwrap is not installed"))
    (tmp_path / "s.py").write_text("print('ran')\n")
    with pytest.raises(isolation.SandboxUnavailable, match="--no-sandbox-i-trust-these"):
        sandbox.launch(["s.py"], tmp_path, sandbox.Limits(wall_seconds=20))
    monkeypatch.setitem(isolation._STATE, "unsafe", True)
    result = sandbox.launch(["s.py"], tmp_path, sandbox.Limits(wall_seconds=20))
    assert "ran" in result.stdout and result.sandboxed is False


# ---- malformed and edited notebooks through the instructor's autograde -------------

@pytest.mark.slow
def test_malformed_and_edited_notebooks_in_autograde(tmp_path, monkeypatch):
    """Through `autograde` (nbgrader + sandbox): do invalid JSON, a wrong
    nbformat, duplicated cell ids with a null byte, deleted or edited test
    cells and points, fake outputs and a huge output each get the score of
    what they contain (0 with a reason when unreadable), and does the batch
    finish with the other students' scores untouched?"""
    import copy
    import os
    import shutil
    import sys

    import nbformat

    from course_lib.grading import cli
    from course_lib.grading.testing import write_learnable_cifar10
    monkeypatch.setenv("COURSE_DATA_DIR", str(write_learnable_cifar10(tmp_path / "data", 1100)))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for name in ("COURSE_GRADEBOOK_URL", "COURSE_EXCHANGE", "COURSE_GRADING_SEED"):
        monkeypatch.delenv(name, raising=False)
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTION.parent, course / "solutions" / SOLUTION.parent.name)
    assert cli.main(["--course-dir", str(course), "generate", "a1"]) == 0

    solution = read_notebook(SOLUTION)
    text = SOLUTION.read_text()
    raw = json.loads(text)
    files = {"alice": text, "bob": text[: len(text) // 2],
             "carol": json.dumps(dict(raw, nbformat=5))}
    dave = copy.deepcopy(raw)
    for cell in dave["cells"]:
        cell["id"] = "same"
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == TARGET:
            cell["source"] = "".join(cell["source"]) + "\n\x00\n"
    files["dave"] = json.dumps(dave)
    eve = copy.deepcopy(solution)
    tests = [c for c in eve.cells if c.metadata.get("nbgrader", {}).get("grade")
             and c.cell_type == "code"]
    eve.cells.remove(tests[0])                       # a deleted test cell
    tests[1].source = "print('All tests passed')"    # an edited one
    for cell in tests[1:]:
        cell.metadata["nbgrader"]["points"] = 1000   # edited points
        cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1000"},
                                               execution_count=1)]
    files["eve"] = nbformat.writes(eve)
    frank = copy.deepcopy(solution)
    code = next(c for c in frank.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 30 * 1024 ** 2)]
    files["frank"] = nbformat.writes(frank)
    for student, content in files.items():
        folder = course / "grading" / "submitted" / student / "a1_knn_linear"
        folder.mkdir(parents=True)
        (folder / "a1_knn_linear.ipynb").write_text(content)

    summary = cli.autograde(cli.Course(course), "a1", workers=2, seed=3, progress=False)
    assert summary["failures"] == {}
    assert summary["scores"] == {"alice": 43, "bob": 0, "carol": 0, "dave": 39, "eve": 43,
                                 "frank": 43}
    fb = {s: "\n".join(i.feedback for i in v.items.values())
          for s, v in summary["verdicts"].items()}
    assert "not valid JSON" in fb["bob"]
    assert "nbformat 5" in fb["carol"]
    assert "null bytes" in summary["verdicts"]["dave"].cell_errors[TARGET]
    assert (course / "grading" / "submitted" / "bob" / "a1_knn_linear"
            / "a1_knn_linear.ipynb.unreadable").read_text() == files["bob"]


# ---- a few attacks against A2 and A3 ---------------------------------------------

OTHER = {  # assignment: (solution notebook, items kept, target cell = item function)
    "a2": ("a2_fc_nets", ("a2.affine_forward", "a2.relu_forward"), "relu_forward"),
    # (not a naive layer: their "written with your own loops" point is static,
    # earned by any loop, so an honest wrong answer with a loop scores 1)
    "a3": ("a3_convnets", ("a3.max_pool_forward_naive", "a3.spatial_batchnorm_forward"),
           "spatial_batchnorm_forward"),
}
GENERIC = {
    "monkeypatched np.allclose": "np.allclose = lambda *a, **k: True\n{stub}",
    "sys.excepthook": "import sys\nsys.excepthook = lambda *a: None\n{stub}",
    "ndarray subclass": ("class Liar(np.ndarray):\n"
                         "    def __array_function__(self, *a, **k):\n        return True\n"
                         "def {func}(*args, **kwargs):\n    return np.zeros(3).view(Liar), None\n"),
    # (no loop here: A3's "written with your own loops" point is static)
    "in-place mutation of the inputs": (
        "def {func}(*args, **kwargs):\n    args[0][...] = 0\n"
        "    return np.zeros_like(args[0]), None\n"),
    "exec the solutions notebook": (
        "def {func}(*args, **kwargs):\n    import json\n"
        "    nb = json.load(open('{path}'))\n"
        "    src = [''.join(c['source']) for c in nb['cells'] if 'def {func}' in ''.join(c['source'])]\n"
        "    ns = {'np': np}\n    exec(src[0], ns)\n    return ns['{func}'](*args, **kwargs)\n"),
    "os._exit in the call": "def {func}(*args, **kwargs):\n    import os\n    os._exit(1)\n",
}


@pytest.mark.parametrize("short", sorted(OTHER))
def test_attacks_on_a2_and_a3_score_the_stub(short):
    """Against A2 and A3 too, does each attack score exactly the release stub?"""
    from course_lib.grading.registry import get_assignment
    aid, names, func = OTHER[short]
    path = ROOT / "solutions" / aid / f"{aid}.ipynb"
    assignment = get_assignment(short)
    if not path.is_file() or not all(n in {i.name for i in assignment.items} for n in names):
        pytest.skip(f"{aid} is not built yet")
    items = tuple(dataclasses.replace(assignment.item(n), time_limit=5) for n in names)
    run = GradingRun(dataclasses.replace(assignment, items=items, startup_seconds=10), seed=3,
                     limits=ATTACK_LIMITS)
    solution = read_notebook(path)
    ids = code_solution_ids(solution)
    stub = next(c.source for c in strip_solutions(solution).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == func)
    baseline = run.grade(solution_cells(make_submission(solution, func, source=stub), ids))
    full = run.grade(solution_cells(solution, ids)).scores()
    assert baseline.scores() == dict(full, **{f"{short}.{func}": 0})
    assert sum(full.values()) == sum(i.points for i in items)  # the solution scores in full
    for name, source in GENERIC.items():
        source = (source.replace("{stub}", stub).replace("{func}", func)
                  .replace("{path}", str(path)))
        verdict = run.grade(solution_cells(make_submission(solution, func, source=source), ids))
        assert verdict.scores() == baseline.scores(), (name, verdict.scores())
