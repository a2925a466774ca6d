"""A3's hidden-input grading: the solution, the release, realistic bugs and
use of the reference, graded in the sandbox with predicted scores (A3 as an
nbgrader notebook: tests/test_assignment_notebooks.py).

Every submission is the solution notebook with one solution cell changed.
The measured item trains on a small learnable stand-in for CIFAR-10.
"""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from course_lib.grading.specs.a3 import ACCURACY_RAMP, ASSIGNMENT
from course_lib.grading.engine import GradingRun
from course_lib.grading.notebooks import code_solution_ids, solution_cells
from course_lib.grading.testing import corpus_grader, read_notebook, write_learnable_cifar10

ROOT = Path(__file__).resolve().parents[1]
AID = ASSIGNMENT.id
SOLUTION = ROOT / "solutions" / AID / f"{AID}.ipynb"
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
        {"a3.conv_backward_naive": 0}, ["uses the reference solution",
                                        "course_lib.conv.conv_backward_fast cannot be called"]),
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
    release on every item, the bugs without the measured one)."""
    def grade(name, nb):
        grader = run if name in ("solution", "release") else run_unmeasured
        return grader.grade(_cells(nb))
    return corpus_grader(solution_nb, BUGS, MISUSE, grade)


# ---- hidden-input grading --------------------------------------------------------

def test_solution_scores_full_marks(graded):
    """Does the reference solution earn every autograded point, the measured
    item saying which accuracy it reached?"""
    verdict = graded("solution")
    assert verdict.scores() == FULL, {k: v.feedback for k, v in verdict.items.items()
                                      if v.score < v.max_score}
    assert verdict.score == ASSIGNMENT.points == 34
    measured = verdict.items[MEASURED].feedback  # the accuracy reached and the one needed
    assert "validation accuracy" in measured and f"100% from {ACCURACY_RAMP.full:.2f}" in measured


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
