"""A2's hidden-input grading: the solution, the release, realistic bugs and
use of the reference, graded in the sandbox with predicted scores (A2 as an
nbgrader notebook: tests/test_assignment_notebooks.py).

Every submission is the solution notebook with one solution cell changed.
The measured item and the notebook run on a small learnable stand-in for
CIFAR-10.
"""
from pathlib import Path

import pytest

from course_lib.grading.specs.a2 import ASSIGNMENT
from course_lib.grading.engine import GradingRun
from course_lib.grading.notebooks import code_solution_ids, solution_cells
from course_lib.grading.testing import (corpus_grader, make_submission, read_notebook,
                                        write_learnable_cifar10)

ROOT = Path(__file__).resolve().parents[1]
AID = ASSIGNMENT.id
SOLUTION = ROOT / "solutions" / AID / f"{AID}.ipynb"
FULL = {item.name: item.points for item in ASSIGNMENT.items}
SEED = 20240612

# name: (cell, replacements or whole source, {item: predicted score}, [feedback phrases])
BUGS = {
    "batchnorm normalizes with running statistics in training": (
        "batchnorm_forward",
        [("        running_var = momentum * running_var + (1 - momentum) * var\n",
          "        running_var = momentum * running_var + (1 - momentum) * var\n"
          "        xc, var = x - running_mean, running_var\n")],
        # the backward passes get this forward's cache: dx and dgamma are wrong too
        {"a2.batchnorm_forward": 3, "a2.batchnorm_backward": 1, "a2.batchnorm_backward_alt": 1},
        ["out (training) (0/2)", "normalize with the batch's own mean and variance",
         "calls your batchnorm_forward"]),
    "adam without bias correction": (
        "adam",
        [("    m_hat = m / (1 - beta1 ** t)\n    v_hat = v / (1 - beta2 ** t)\n",
          "    m_hat, v_hat = m, v\n")],
        {"a2.adam": 2}, ["next_w (0/2)", "Adam without bias correction"]),
    "dropout scaled at test time": (
        "dropout_forward", [("        return x.copy(), (None, False)", "        return x * p, (None, False)")],
        {"a2.dropout_forward": 2}, ["out (test mode) (0/1)", "do not multiply by p"]),
    "dropout not inverted": (
        "dropout_forward",
        [("mask = (rng.random(x.shape) < p) / p", "mask = (rng.random(x.shape) < p) * 1.0")],
        {"a2.dropout_forward": 1, "a2.dropout_backward": 0},
        ["out (training) (0/2)", "This is not inverted dropout"]),
    "network without the regularization gradient": (
        "fc_net_loss", [('        grads[f"W{i}"] = grads[f"W{i}"] + 2 * reg * W\n', "")],
        {"a2.fc_net_loss": 4}, ["dW (every layer) (0/2)", "missing from the weight gradients",
                                "Your scores, loss, db (every layer) are correct"]),
    "network with CS231n's 0.5 * reg convention": (
        "fc_net_loss", [("loss += reg * np.sum(W * W)", "loss += 0.5 * reg * np.sum(W * W)"),
                        ('grads[f"W{i}"] + 2 * reg * W', 'grads[f"W{i}"] + reg * W')],
        {"a2.fc_net_loss": 2}, ["loss (0/2)", "dW (every layer) (0/2)",
                                "yours is 0.5 * reg * sum(W**2)", "drop the 0.5"]),
    "relu backward passes gradient at zero": (
        "relu_backward", [("dx = dout * (x > 0)", "dx = dout * (x >= 0)")],
        {"a2.relu_backward": 0, "a2.fc_net_loss": 3},
        ["inputs with entries exactly 0", "not x >= 0", "not z >= 0"]),
    "affine dx not reshaped": (
        "affine_backward", [("dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T")],
        {"a2.affine_backward": 2}, ["dx (0/1)", "(same number of entries: check your reshape)",
                                    "dx must have the shape of x"]),
    "momentum steps with the old velocity": (
        "sgd_momentum",
        [("    v = momentum * v - lr * dw\n    next_w = w + v\n",
          "    next_w = w + v\n    v = momentum * v - lr * dw\n")],
        {"a2.sgd_momentum": 1}, ["next_w (0/2)", "move w by the NEW velocity"]),
    "momentum with the wrong sign": (
        "sgd_momentum", [("v = momentum * v - lr * dw", "v = momentum * v + lr * dw")],
        {"a2.sgd_momentum": 0}, ["w moves up the gradient"]),
    "rmsprop without the square root": (
        "rmsprop", [("np.sqrt(cache) + eps", "cache + eps")],
        {"a2.rmsprop": 1}, ["next_w (0/2)", "Divide by the square root of the cache"]),
    "rmsprop without eps": (
        "rmsprop", [("(np.sqrt(cache) + eps)", "np.sqrt(cache)")],
        {"a2.rmsprop": 1}, ["eps keeps the division finite", "NaN or infinite"]),
    "batchnorm backward missing the mean term": (
        "batchnorm_backward", [("dx = dxc + dmean / num", "dx = dxc")],
        {"a2.batchnorm_backward": 2}, ["dx (0/2)", "missing the term from the batch mean",
                                       "Your dgamma, dbeta are correct but dx is not"]),
}

MISUSE = {
    "imports the reference affine layer": (
        "affine_forward",
        "from course_lib.layers import affine_forward as _reference\n\n\n"
        "def affine_forward(x, w, b):\n    return _reference(x, w, b)\n",
        # everything that calls this affine_forward uses the reference too
        {"a2.affine_forward": 0, "a2.affine_backward": 0, "a2.fc_net_loss": 0,
         "a2.fc_accuracy": 0},
        ["uses the reference solution", "course_lib.layers"]),
    "reaches the reference optimizer through the package": (
        "adam",
        "import course_lib\n\n\ndef adam(w, dw, state=None):\n"
        "    return course_lib.optim.adam(w, dw, state)\n",
        {"a2.adam": 0, "a2.fc_accuracy": 0}, ["uses the reference solution", "course_lib.optim"]),
    "imports normalization at run time": (
        "batchnorm_forward",
        "import importlib\n\n\n"
        "def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):\n"
        "    norm = importlib.import_module('course_lib.' + 'normalization')\n"
        "    return norm.batchnorm_forward(x, gamma, beta, None, train=train)\n",
        {"a2.batchnorm_forward": 0, "a2.batchnorm_backward": 0, "a2.batchnorm_backward_alt": 0},
        ["at run time", "uses the reference solution"]),
}


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    # the measured item draws 4,000 training images; the notebook uses 5,000
    return write_learnable_cifar10(tmp_path_factory.mktemp("cifar"), num_per_batch=1000)


@pytest.fixture(scope="module")
def run(cifar_dir):
    return GradingRun("a2", seed=SEED, data_root=cifar_dir)


@pytest.fixture(scope="module")
def solution_nb():
    return read_notebook(SOLUTION)


def _cells(nb):
    return solution_cells(nb, code_solution_ids(nb))


@pytest.fixture(scope="module")
def graded(run, solution_nb):
    """``graded(name)``: the verdict of a submission of the corpus below."""
    return corpus_grader(solution_nb, BUGS, MISUSE, lambda name, nb: run.grade(_cells(nb)))


def test_solution_scores_full_marks(graded):
    """Does the reference solution earn every autograded point?"""
    verdict = graded("solution")
    assert verdict.scores() == FULL, {k: v.feedback for k, v in verdict.items.items()
                                      if v.score < v.max_score}
    assert verdict.score == ASSIGNMENT.points == 43
    assert "validation accuracy" in verdict.items["a2.fc_accuracy"].feedback


def test_release_scores_zero_and_says_not_written(graded):
    """Does the unmodified release score 0 with 'not written yet' feedback, the
    backward passes included (they call the unwritten forward passes)?"""
    verdict = graded("release")
    assert verdict.score == 0
    assert "not written yet" in verdict.items["a2.affine_forward"].feedback
    assert "not written yet" in verdict.items["a2.batchnorm_backward"].feedback


@pytest.mark.parametrize("name", list(BUGS))
def test_buggy_submission_gets_predicted_score_and_named_bug(graded, name):
    """Does each realistic bug lose exactly the predicted points, with
    feedback that names the bug?"""
    _, _, changed, phrases = BUGS[name]
    verdict = graded(name)
    assert verdict.scores() == {**FULL, **changed}
    feedback = "\n".join(verdict.items[item].feedback for item in changed)
    for phrase in phrases:
        assert phrase in feedback, feedback


@pytest.mark.parametrize("name", list(MISUSE))
def test_use_of_the_reference_scores_zero_with_reason(graded, name):
    """Does using course_lib's reference score 0 for the items that use it
    (only), saying why?"""
    _, _, changed, phrases = MISUSE[name]
    verdict = graded(name)
    assert verdict.scores() == {**FULL, **changed}
    feedback = "\n".join(verdict.items[item].feedback for item in changed)
    for phrase in phrases:
        assert phrase in feedback, feedback


def test_backward_is_graded_on_the_students_own_cache(run, solution_nb):
    """Is a backward pass graded on the cache of the student's own forward pass,
    whatever that cache holds (here: a dict instead of the solution's tuple)?"""
    nb = make_submission(solution_nb, "affine_forward", ("cache = (x, w, b)",
                                                         'cache = {"x": x, "w": w}'))
    nb = make_submission(nb, "affine_backward", ("x, w, b = cache", 'x, w = cache["x"], cache["w"]'))
    verdict = run.grade(_cells(nb))
    assert verdict.items["a2.affine_backward"].score == FULL["a2.affine_backward"]
    assert verdict.items["a2.fc_net_loss"].score == FULL["a2.fc_net_loss"]


def test_hidden_inputs_cover_the_edge_cases(run):
    """Do the hidden inputs include (N, d1, d2) affine inputs, exact zeros at the
    ReLU kink, a large batchnorm mean offset and single examples?"""
    x, w, _ = run.calls[("a2.affine_forward", "images")].args
    assert x.ndim == 3 and x.shape[1] != x.shape[2] and w.shape[0] == x.shape[1] * x.shape[2]
    assert (run.calls[("a2.relu_forward", "zeros")].args[0] == 0).sum() >= 3
    assert run.calls[("a2.batchnorm_forward", "offset")].args[0].mean() > 9e4
    assert len(run.calls[("a2.batchnorm_forward", "test_batch_1")].args[0]) == 1
    assert len(run.calls[("a2.fc_net_loss", "batch_1")].args[1]) == 1
    depths = {len(run.calls[("a2.fc_net_loss", c)].args[0]) // 2 for c in ("one_hidden",
                                                                           "three_hidden")}
    assert depths == {2, 4}


def test_in_process_mode_agrees_with_the_sandbox(run, solution_nb):
    """Does grade_item's in-kernel mode (stock nbgrader) give the same scores?"""
    namespace = {}
    exec("import numpy as np", namespace)
    for cell in _cells(solution_nb):
        exec(cell["source"], namespace)
    verdict = run.grade_in_process(namespace)
    assert verdict.scores() == FULL
