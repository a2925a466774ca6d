"""A1's hidden-input grading: the solution, the release, realistic bugs and
use of the reference, graded in the sandbox with predicted scores.

Every submission is the solution notebook with one solution cell changed.
The measured item trains on a small learnable stand-in for CIFAR-10.
"""
from pathlib import Path

import numpy as np
import pytest

from course_lib.grading.specs.a1 import ASSIGNMENT
from course_lib.grading.engine import GradingRun
from course_lib.grading.notebooks import code_solution_ids, solution_cells
from course_lib.grading.testing import (corpus_grader, make_submission, read_notebook,
                                        write_learnable_cifar10)

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "a1_knn_linear" / "a1_knn_linear.ipynb"
FULL = {item.name: item.points for item in ASSIGNMENT.items}
SEED = 20240611

# name: (cell, replacements or whole source, {item: predicted score}, [feedback phrases])
BUGS = {
    "knn ties to the larger label": (
        "predict_labels",
        [("y_pred[i] = np.argmax(np.bincount(y_train[nearest]))",
          "counts = np.bincount(y_train[nearest])\n"
          "        y_pred[i] = len(counts) - 1 - np.argmax(counts[::-1])")],
        {"a1.predict_labels": 2}, ["ties go to the smaller label (0/1)", "picks the larger label"]),
    "knn ties to the nearest neighbour": (
        "predict_labels",
        [("y_pred[i] = np.argmax(np.bincount(y_train[nearest]))",
          "y_pred[i] = Counter(y_train[nearest].tolist()).most_common(1)[0][0]"),
         ("def predict_labels", "from collections import Counter\n\n\ndef predict_labels")],
        {"a1.predict_labels": 2}, ["label of the nearest"]),
    "one-loop distances without the square root": (
        "compute_distances_one_loop",
        [("dists[i] = np.sqrt(np.sum(diff * diff, axis=1))", "dists[i] = np.sum(diff * diff, axis=1)")],
        {"a1.compute_distances_one_loop": 0}, ["squared distances"]),
    "no-loop distances with a comprehension": (
        "compute_distances_no_loops",
        [("sq_test = np.sum(X * X, axis=1)[:, None]",
          "sq_test = np.array([[np.dot(row, row)] for row in X])")],
        {"a1.compute_distances_no_loops": 2}, ["no Python loops (0/1)", "comprehension"]),
    "svm missing the regularization gradient": (
        "svm_loss_naive", [("    dW += 2 * reg * W\n", "")],
        {"a1.svm_loss_naive": 2}, ["dW (0/2)", "regularization term is missing from dW"]),
    "svm counting the correct class": (
        "svm_loss_naive", [("            if j == y[i]:\n                continue\n", "")],
        {"a1.svm_loss_naive": 2}, ["loss (0/2)", "counts the correct class"]),
    "svm dW transposed": (
        "svm_loss_vectorized",
        [("dW = X.T @ coeff / num_train + 2 * reg * W", "dW = coeff.T @ X / num_train + 2 * reg * W.T")],
        {"a1.svm_loss_vectorized": 2}, ["transposed", "Your loss is correct but dW, no Python "
                                        "loops are not"]),
    "softmax without the max shift": (
        "softmax_loss_vectorized",
        [("    scores = scores - scores.max(axis=1, keepdims=True)\n", "")],
        {"a1.softmax_loss_vectorized": 0}, ["scores around 1000", "not a finite number"]),
    "softmax loss averaged over classes": (
        "softmax_loss_naive",
        [("loss = loss / num_train + reg", "loss = loss / num_classes + reg")],
        {"a1.softmax_loss_naive": 2}, ["divided by C"]),
    "sgd minibatches without replacement": (
        "train_linear_classifier",
        [("batch = rng.choice(num_train, batch_size)",
          "batch = rng.choice(num_train, batch_size, replace=False)")],
        {"a1.train_linear_classifier": 0}, ["without replacement"]),
    "relu gradient passed at zero": (
        "two_layer_loss", [("(hidden_in > 0)", "(hidden_in >= 0)")],
        {"a1.two_layer_loss": 5}, ["not h >= 0", "db1 are not"]),
    "two-layer weight gradients without regularization": (
        "two_layer_loss",
        [('"W2": hidden.T @ dscores + 2 * reg * W2', '"W2": hidden.T @ dscores'),
         ("X.T @ dhidden_in + 2 * reg * W1", "X.T @ dhidden_in")],
        {"a1.two_layer_loss": 5}, ["missing from the weight gradients"]),
}

MISUSE = {
    "imports the reference loss": (
        "svm_loss_vectorized",
        "from course_lib.classifiers import svm_loss_vectorized as _reference\n\n\n"
        "def svm_loss_vectorized(W, X, y, reg):\n    return _reference(W, X, y, reg)\n",
        {"a1.svm_loss_vectorized": 0}, ["uses the reference solution", "course_lib.classifiers"]),
    "reaches the reference through the package": (
        "softmax_loss_naive",
        "import course_lib\n\n\ndef softmax_loss_naive(W, X, y, reg):\n"
        "    return course_lib.classifiers.softmax_loss_naive(W, X, y, reg)\n",
        {"a1.softmax_loss_naive": 0}, ["uses the reference solution", "course_lib.classifiers"]),
    "imports layers at run time": (
        "two_layer_loss",
        "import importlib\n\n\ndef two_layer_loss(params, X, y=None, reg=0.0):\n"
        "    layers = importlib.import_module('course_lib.' + 'layers')\n"
        "    h, _ = layers.affine_forward(X, params['W1'], params['b1'])\n"
        "    return h\n",
        {"a1.two_layer_loss": 0}, ["at run time", "uses the reference solution"]),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = write_learnable_cifar10(tmp_path_factory.mktemp("cifar"), num_per_batch=500)
    return GradingRun("a1", seed=SEED, data_root=root)


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


def test_release_scores_zero_and_says_not_written(graded):
    """Does the unmodified release score 0 with 'not written yet' feedback?"""
    verdict = graded("release")
    assert verdict.score == 0
    assert "not written yet" in verdict.items["a1.svm_loss_naive"].feedback


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
    """Does using course_lib's reference score 0 for that item (only), saying why?"""
    _, _, changed, phrases = MISUSE[name]
    verdict = graded(name)
    assert verdict.scores() == {**FULL, **changed}
    feedback = "\n".join(verdict.items[item].feedback for item in changed)
    for phrase in phrases:
        assert phrase in feedback, feedback


def test_feedback_never_shows_hidden_values(graded, run):
    """Does the feedback describe cases in words, without the hidden numbers?"""
    names = ["solution", "release", "svm missing the regularization gradient"]
    text = "\n".join(v.feedback for name in names for v in graded(name).items.values())
    W = run.calls[("a1.svm_loss_naive", "random")].args[0]
    assert f"{W[0, 0]:.4f}" not in text


def test_verdict_is_reproducible_and_seed_changes_inputs(run, solution_nb, graded):
    """Is a verdict a pure function of the cells and the seed, and does a
    new seed give new hidden inputs?"""
    again = run.grade(_cells(make_submission(solution_nb, "svm_loss_naive",
                                             ("    dW += 2 * reg * W\n", ""))))
    assert again.to_dict() == graded("svm missing the regularization gradient").to_dict()
    other = GradingRun("a1", seed=SEED + 1, data_root=run.ctx.data_root)
    key = ("a1.svm_loss_naive", "random")
    assert not np.array_equal(other.calls[key].args[1], run.calls[key].args[1])


def test_in_process_mode_agrees_with_the_sandbox(run, solution_nb):
    """Does grade_item's in-kernel mode (stock nbgrader) give the same scores?"""
    namespace = {}
    exec("import numpy as np", namespace)
    for cell in _cells(solution_nb):
        exec(cell["source"], namespace)
    verdict = run.grade_in_process(namespace)
    assert verdict.scores() == FULL


def test_hidden_inputs_are_read_only(run):
    """Are the pristine inputs protected against in-place changes?"""
    X = run.calls[("a1.svm_loss_naive", "random")].args[1]
    with pytest.raises(ValueError):
        X[0, 0] = 1.0


def test_measured_images_are_the_ones_the_seed_picks(run):
    """Does the measured case get C-ordered copies of exactly the images and
    labels that its random draws select from the whole data set?"""
    from course_lib.data import load_cifar10
    from course_lib.grading.engine import RunContext
    X_train, y_train, X_test, y_test = load_cifar10(root=run.ctx.data_root, download=False)
    picked = RunContext(SEED, run.ctx.data_root).cifar10_sample(
        np.random.default_rng(3), 40, 30)
    rng = np.random.default_rng(3)
    train = rng.choice(len(X_train), 40, replace=False)
    val = rng.choice(len(X_test), 30, replace=False)
    for got, want in zip(picked, (X_train[train], y_train[train], X_test[val], y_test[val])):
        assert got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)


def test_measured_data_is_the_courses_not_the_seeds(run):
    """Is the measured item's data (images, renamed labels, training seed)
    the same for every seed of a course, different for another course key,
    with the classes renamed (so weights trained on CIFAR-10's own labels
    are useless)?"""
    key = ("a1.softmax_accuracy", "cifar")
    other_seed = GradingRun("a1", seed=SEED + 7, data_root=run.ctx.data_root, key=run.ctx.key)
    other_key = GradingRun("a1", seed=SEED, data_root=run.ctx.data_root, key=run.ctx.key + 1)
    mine, same, different = (r.calls[key] for r in (run, other_seed, other_key))
    np.testing.assert_array_equal(mine.args[1].images, same.args[1].images)
    np.testing.assert_array_equal(mine.args[2], same.args[2])
    np.testing.assert_array_equal(mine.private["y_val"], same.private["y_val"])
    assert mine.kwargs == same.kwargs
    assert not np.array_equal(mine.args[2], different.args[2])
    # the labels are CIFAR-10's renamed by a permutation that is not the identity
    ctx = run.ctx
    images, labels, _, _, _ = ctx.measured_cifar10("a1.softmax_accuracy", 2000, 1000)
    X_train, y_train, _, _ = ctx.cifar10()
    flat = X_train.reshape(len(X_train), -1)
    rows = {bytes(r): i for i, r in enumerate(flat[:5000])}
    pairs = {(int(y_train[rows[bytes(im.reshape(-1))]]), int(lab))
             for im, lab in zip(images, labels) if bytes(im.reshape(-1)) in rows}
    assert len({a for a, _ in pairs}) == len(pairs)  # one new name per class
    assert any(a != b for a, b in pairs)


@pytest.mark.slow
def test_numerical_gradients_do_not_pass_an_analytic_item(run, solution_nb):
    """A softmax_loss_vectorized whose dW comes from centred differences
    (written by the student, gradcheck being blocked) is right on the small
    cases but overruns the CPU-time limit on the realistic-size case, so the
    dW check fails."""
    source = (
        "def softmax_loss_vectorized(W, X, y, reg):\n"
        "    def loss_of(W):\n"
        "        s = X @ W\n        s = s - s.max(axis=1, keepdims=True)\n"
        "        p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)\n"
        "        return -np.log(p[np.arange(len(y)), y]).mean() + reg * np.sum(W * W)\n"
        "    dW = np.zeros_like(W)\n    h = 1e-5\n"
        "    for i in np.ndindex(*W.shape):\n"
        "        old = W[i]\n        W = W.copy()\n        W[i] = old + h\n        up = loss_of(W)\n"
        "        W[i] = old - h\n        down = loss_of(W)\n        W[i] = old\n"
        "        dW[i] = (up - down) / (2 * h)\n"
        "    return loss_of(W), dW\n")
    verdict = run.grade(_cells(make_submission(solution_nb, "softmax_loss_vectorized",
                                               source=source)))
    item = verdict.items["a1.softmax_loss_vectorized"]
    assert item.score < item.max_score / 2, item.feedback
    assert "realistic size" in item.feedback


@pytest.mark.parametrize("key", [0, 1, 2, 3, 4])
def test_pasted_weights_trained_on_cifar_labels_earn_nothing(run, key):
    """Weights trained offline on CIFAR-10's own labels (here: on every
    training image, the measured ones included) and returned by a
    train_linear_classifier that ignores its data: are they worth nothing on
    the measured item, for any course key? (The classes are renamed by a
    cycle, so they are right on no class.)"""
    from course_lib.classifiers.linear_loss import softmax_loss_vectorized
    from course_lib.grading.engine import RunContext
    from course_lib.grading.spec import Pixels
    from course_lib.grading.specs.a1 import (ACCURACY_RAMP, NUM_MEASURED_TRAIN, NUM_MEASURED_VAL,
                                             _accuracy_judge, _measured_case)
    ctx = RunContext(SEED, run.ctx.data_root, key)   # the measured case only, not a whole run
    call = _measured_case(None, ctx)
    images, _, val_images, _, _ = ctx.measured_cifar10("a1.softmax_accuracy", NUM_MEASURED_TRAIN,
                                                       NUM_MEASURED_VAL)
    mean = images.reshape(len(images), -1).mean(axis=0)
    X_train, y_train, X_test, y_test = ctx.cifar10()
    X = Pixels(X_train, mean).value()
    W = np.zeros((X.shape[1], 10))
    for _ in range(200):                       # plain gradient descent on the true labels
        W -= 1e-6 * softmax_loss_vectorized(W, X, y_train, 1e-3)[1]
    rows = {bytes(r): i for i, r in enumerate(X_test.reshape(len(X_test), -1))}
    true_val = y_test[[rows[bytes(im.reshape(-1))] for im in val_images]]
    honest = np.mean(np.argmax(Pixels(val_images, mean).value() @ W, axis=1) == true_val)
    assert honest > ACCURACY_RAMP.full + 0.2     # good weights for CIFAR-10's own labels
    fraction, message = _accuracy_judge(W, call, ctx)
    assert fraction == 0, message
