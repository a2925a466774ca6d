"""A3's hidden-input grading: the solution, the release, realistic bugs and
use of the reference, graded in the sandbox with predicted scores; and A3
as an nbgrader assignment (validate, the release, assignments/ up to date).

Every submission is the solution notebook with one solution cell changed.
The measured item trains on a small learnable stand-in for CIFAR-10.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib.grading import cli
from course_lib.grading.a3 import ASSIGNMENT
from course_lib.grading.engine import GradingRun
from course_lib.grading.notebooks import code_solution_ids, item_names, solution_cells
from course_lib.grading.testing import (make_submission, read_notebook, strip_solutions,
                                        write_learnable_cifar10)

ROOT = Path(__file__).resolve().parents[1]
AID = ASSIGNMENT.id
SOLUTION = ROOT / "solutions" / AID / f"{AID}.ipynb"
RELEASE = ROOT / "assignments" / AID / f"{AID}.ipynb"
BIN = Path(sys.executable).parent
FULL = {item.name: item.points for item in ASSIGNMENT.items}
MEASURED = "a3.convnet_accuracy"
UNMEASURED = {k: v for k, v in FULL.items() if k != MEASURED}
SEED = 20240623

_POOL_ROUTE = ("                    k, l = np.unravel_index(np.argmax(window), window.shape)\n"
               "                    dx[n, c, top + k, left + l] += dout[n, c, i, j]")
_POOL_WINDOW = "dx[n, c, top:top + pool_height, left:left + pool_width]"

# name: (cell, replacements, {item: predicted score}, [feedback phrases])
BUGS = {
    "conv padding counted once": (
        "conv_forward_naive",
        [("H_out = (H + 2 * pad - HH)", "H_out = (H + pad - HH)"),
         ("W_out = (W + 2 * pad - WW)", "W_out = (W + pad - WW)")],
        {"a3.conv_forward_naive": 0}, ["out (0/3)", "counts the padding once"]),
    "conv output size without the + 1": (
        "conv_forward_naive",
        [("H_out = (H + 2 * pad - HH) // stride + 1", "H_out = (H + 2 * pad - HH) // stride"),
         ("W_out = (W + 2 * pad - WW) // stride + 1", "W_out = (W + 2 * pad - WW) // stride")],
        {"a3.conv_forward_naive": 0}, ["one row and one column short"]),
    "conv backward ignores the stride": (
        "conv_backward_naive",
        [("rows = slice(i * stride, i * stride + HH)", "rows = slice(i, i + HH)"),
         ("cols = slice(j * stride, j * stride + WW)", "cols = slice(j, j + WW)")],
        {"a3.conv_backward_naive": 1}, ["dx (0/2)", "stride is ignored in your backward pass",
                                        "Your db is correct but dx, dw", "earned once dx is correct"]),
    "conv dw not summed over the batch": (
        "conv_backward_naive",
        [("    dw = np.zeros_like(w)\n    for n in range(N):\n",
          "    for n in range(N):\n        dw = np.zeros_like(w)\n")],
        {"a3.conv_backward_naive": 4}, ["dw (0/2)", "only the last sample's contribution"]),
    "conv db summed over the wrong axes": (
        "conv_backward_naive", [("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(1, 2, 3))")],
        {"a3.conv_backward_naive": 5}, ["db (0/1)", "yours sums over axes (1, 2, 3)"]),
    "pool gradient sent to every element of the window": (
        "max_pool_backward_naive", [(_POOL_ROUTE, f"                    {_POOL_WINDOW} += dout[n, c, i, j]")],
        {"a3.max_pool_backward_naive": 0}, ["goes to every input of the window"]),
    "pool gradient overwritten on overlapping windows": (
        "max_pool_backward_naive",
        [("dx[n, c, top + k, left + l] += dout", "dx[n, c, top + k, left + l] = dout")],
        {"a3.max_pool_backward_naive": 0}, ["overlapping 3x3 windows", "not ="]),
    "pool gradient to every tied maximum": (
        "max_pool_backward_naive",
        [(_POOL_ROUTE, "                    mask = window == window.max()\n"
                       f"                    {_POOL_WINDOW} += mask * dout[n, c, i, j]")],
        {"a3.max_pool_backward_naive": 0}, ["tie for the maximum", "goes to all of them"]),
    "spatial batchnorm without moving the channel axis": (
        "spatial_batchnorm_forward",
        [("rows = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)", "rows = x.reshape(N * H * W, C)"),
         ("out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)",
          "out = out_rows.reshape(N, C, H, W)")],
        {"a3.spatial_batchnorm_forward": 0, "a3.spatial_batchnorm_backward": 1},
        ["over axes (0, 2, 3)", "without moving the channel axis last",
         "calls your spatial_batchnorm_forward"]),
    "batchnorm with the unbiased variance": (
        "spatial_batchnorm_forward", [("var = np.mean(xc * xc, axis=0)", "var = x.var(axis=0, ddof=1)")],
        {"a3.spatial_batchnorm_forward": 0, "a3.spatial_batchnorm_backward": 1},
        ["biased variance"]),
    "convnet without regularizing W1": (
        "three_layer_convnet_loss", [('grads["W1"] = dW1 + 2 * reg * W1', 'grads["W1"] = dW1')],
        {"a3.three_layer_convnet_loss": 8}, ["dW1 (0/1)", "regularization gradient of W1 is missing"]),
    "convnet forgets the conv ReLU in backward": (
        "three_layer_convnet_loss", [("dconv = drelu * (conv_out > 0)", "dconv = drelu")],
        {"a3.three_layer_convnet_loss": 7}, ["dW1 (0/1)", "db1 (0/1)",
                                             "skips the ReLU after the convolution"]),
    "convnet forgets the hidden ReLU in backward": (
        "three_layer_convnet_loss",
        [("dhidden_in = (dscores @ W3.T) * (hidden_in > 0)", "dhidden_in = dscores @ W3.T")],
        {"a3.three_layer_convnet_loss": 5}, ["dW2 (0/1)", "skips the ReLU of the hidden affine layer"]),
}

MISUSE = {
    "imports the naive reference convolution": (
        "conv_forward_naive",
        "from course_lib.conv import conv_forward_naive as _reference\n\n\n"
        "def conv_forward_naive(x, w, b, stride=1, pad=0):\n"
        "    out, _ = _reference(x, w, b, stride=stride, pad=pad)\n"
        "    return out, (x, w, b, stride, pad)\n",
        # the backward pass runs on this forward's cache, so it is tainted too
        {"a3.conv_forward_naive": 0, "a3.conv_backward_naive": 0},
        ["uses the reference solution", "imported from course_lib.conv"]),
    "calls the provided fast layer inside the naive one": (
        "conv_backward_naive",
        "from course_lib.conv import conv_backward_fast\n\n\n"
        "def conv_backward_naive(dout, cache):\n"
        "    return conv_backward_fast(dout, tuple(cache) + (1,))\n",
        {"a3.conv_backward_naive": 0}, ["calls the provided conv_backward_fast",
                                        "needs written with your own loops"]),
    "imports normalization at run time": (
        "spatial_batchnorm_forward",
        "import importlib\n\n\ndef spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):\n"
        "    norm = importlib.import_module('course_lib.' + 'normalization')\n"
        "    return norm.spatial_batchnorm_forward(x, gamma, beta, None, eps=eps)\n",
        {"a3.spatial_batchnorm_forward": 0, "a3.spatial_batchnorm_backward": 0},
        ["at run time", "uses the reference solution"]),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = write_learnable_cifar10(tmp_path_factory.mktemp("cifar"), num_per_batch=500)
    return GradingRun("a3", seed=SEED, data_root=root)


@pytest.fixture(scope="module")
def run_unmeasured():
    """The same hidden inputs without the measured item (seconds of training
    per submission): the one-cell bugs below do not touch the training run."""
    return GradingRun(replace(ASSIGNMENT, items=ASSIGNMENT.items[:-1]), seed=SEED)


@pytest.fixture(scope="module")
def solution_nb():
    return read_notebook(SOLUTION)


def _cells(nb):
    return solution_cells(nb, code_solution_ids(nb))


@pytest.fixture(scope="module")
def graded(run, run_unmeasured, solution_nb):
    """``graded(name)``: the verdict of a submission (the solution and the
    release on every item, the bugs without the measured one). Without xdist
    all are graded up front, two at a time; under xdist each worker grades
    only the submissions its tests ask for."""
    submissions = {"solution": solution_nb, "release": strip_solutions(solution_nb)}
    for name, (cell, replacements, _, _) in BUGS.items():
        submissions[name] = make_submission(solution_nb, cell, *replacements)
    for name, (cell, source, _, _) in MISUSE.items():
        submissions[name] = make_submission(solution_nb, cell, source=source)

    def grade(name):
        grader = run if name in ("solution", "release") else run_unmeasured
        return grader.grade(_cells(submissions[name]))

    cache = {}
    if "PYTEST_XDIST_WORKER" not in os.environ:
        with ThreadPoolExecutor(2) as pool:
            cache.update(zip(submissions, pool.map(grade, submissions)))

    def get(name):
        if name not in cache:
            cache[name] = grade(name)
        return cache[name]
    return get


# ---- hidden-input grading --------------------------------------------------------

def test_solution_scores_full_marks(graded):
    """Does the reference solution earn every autograded point, the measured
    item saying which accuracy it reached?"""
    verdict = graded("solution")
    assert verdict.scores() == FULL, {k: v.feedback for k, v in verdict.items.items()
                                      if v.score < v.max_score}
    assert verdict.score == ASSIGNMENT.points == 34
    measured = verdict.items[MEASURED].feedback  # the accuracy reached and the one needed
    assert "validation accuracy" in measured and "needed: 0.28" in measured


def test_release_scores_zero_and_says_not_written(graded):
    """Does the unmodified release score 0 with 'not written yet' feedback?"""
    verdict = graded("release")
    assert verdict.score == 0
    assert "not written yet" in verdict.items["a3.conv_forward_naive"].feedback


@pytest.mark.parametrize("name", list(BUGS))
def test_buggy_submission_gets_predicted_score_and_named_bug(graded, name):
    """Does each realistic bug lose exactly the predicted points, with
    feedback that names the bug?"""
    _, _, changed, phrases = BUGS[name]
    verdict = graded(name)
    assert verdict.scores() == {**UNMEASURED, **changed}
    feedback = "\n".join(verdict.items[item].feedback for item in changed)
    for phrase in phrases:
        assert phrase in feedback, feedback


@pytest.mark.parametrize("name", list(MISUSE))
def test_use_of_the_reference_scores_zero_with_reason(graded, name):
    """Does using course_lib's reference (or a provided fast layer in place of
    a naive one) score 0 for the items concerned, saying why?"""
    _, _, changed, phrases = MISUSE[name]
    verdict = graded(name)
    assert verdict.scores() == {**UNMEASURED, **changed}
    feedback = "\n".join(verdict.items[item].feedback for item in changed)
    for phrase in phrases:
        assert phrase in feedback, feedback


def test_feedback_never_shows_hidden_values(graded, run):
    """Does the feedback describe cases in words, without the hidden numbers?"""
    names = ["release", "conv backward ignores the stride", "convnet without regularizing W1"]
    text = "\n".join(v.feedback for name in names for v in graded(name).items.values())
    x = run.calls[("a3.conv_forward_naive", "stride2_pad")].args[0]
    assert "stride 2 with pad 1" in text
    assert f"{x[0, 0, 0, 0]:.4f}" not in text and f"{x[0, 0, 0, 0]:.3f}" not in text


def test_in_process_mode_agrees_with_the_sandbox(run, solution_nb):
    """Does grade_item's in-kernel mode (stock nbgrader) give the same scores,
    backward passes on the student's own forward caches included?"""
    namespace = {}
    exec("import numpy as np", namespace)
    for cell in _cells(solution_nb):
        exec(cell["source"], namespace)
    verdict = run.grade_in_process(namespace, items=list(UNMEASURED))
    assert verdict.scores() == UNMEASURED


def test_hidden_cases_cover_the_edge_cases(run):
    """Do the hidden inputs include stride 2 with padding, non-square inputs and
    filters, a batch of one, tied and shared pool maxima, and a large BN mean?"""
    conv = {c: run.calls[("a3.conv_forward_naive", c)] for c in
            ("stride2_pad", "nonsquare_filter", "batch_1")}
    assert conv["stride2_pad"].kwargs == {"stride": 2, "pad": 1}
    assert conv["stride2_pad"].args[0].shape[2] != conv["stride2_pad"].args[0].shape[3]
    w = conv["nonsquare_filter"].args[1]
    assert w.shape[2] != w.shape[3]
    assert conv["batch_1"].args[0].shape[0] == 1
    x_ties = run.calls[("a3.max_pool_forward_naive", "ties")].args[0]
    windows = x_ties.reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    assert np.sum(np.sum(windows == windows.max(axis=1, keepdims=True), axis=1) > 1) > 5
    x_big = run.calls[("a3.spatial_batchnorm_forward", "large_mean")].args[0]
    assert np.all(np.abs(x_big.mean(axis=(0, 2, 3))) > 1e5)


# ---- the source notebook and the release ----------------------------------------

@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    return write_learnable_cifar10(tmp_path_factory.mktemp("cifar_nb"), num_per_batch=500)


@pytest.fixture
def env(cifar_dir, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(cifar_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for name in ("COURSE_GRADEBOOK_URL", "COURSE_EXCHANGE", "COURSE_GRADING_SEED"):
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


def _comparable(path):
    """Notebook JSON without fields that may differ between two generations."""
    nb = json.loads(Path(path).read_text())
    nb["metadata"].pop("language_info", None)
    return nb


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
    manual = [c for c in nb.cells if c.cell_type == "markdown"
              and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(manual) == 3


def test_committed_source_matches_its_builder():
    """Is solutions/a3_convnets/a3_convnets.ipynb exactly what solutions/build_a3.py writes?"""
    spec = importlib.util.spec_from_file_location("build_a3", ROOT / "solutions" / "build_a3.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    built = nbformat.v4.new_notebook(cells=builder.cells())
    committed = read_notebook(SOLUTION)
    assert [c.source for c in built.cells] == [c.source for c in committed.cells]
    assert [c.get("metadata") for c in built.cells] == [c.get("metadata") for c in committed.cells]


@pytest.mark.slow
def test_assignments_folder_is_up_to_date(tmp_path, env):
    """Does regenerating the release from solutions/ reproduce assignments/ exactly?"""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / AID, course / "solutions" / AID)
    assert cli.main(["--course-dir", str(course), "generate", "a3"]) == 0
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
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel-ipc"))
    NotebookClient(nb, km=km, timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors[:1]
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert text.count("[not done]") >= 8
