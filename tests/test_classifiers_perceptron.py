"""Tests for course_lib.classifiers.perceptron."""
import numpy as np
import pytest

from course_lib.classifiers import (NotFittedError, Perceptron, and_gate, heaviside,
                                    xor_hidden, xor_network)

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
AND = np.array([0, 0, 0, 1])
OR = np.array([0, 1, 1, 1])
XOR = np.array([0, 1, 1, 0])


def test_heaviside():
    """Is the step 0 below zero and 1 at and above zero, keeping dtype?"""
    z = np.array([-2.0, -1e-12, 0.0, 3.0])
    out = heaviside(z)
    np.testing.assert_array_equal(out, [0, 0, 1, 1])
    assert out.dtype == np.float64
    assert heaviside(np.array([-1, 0, 1])).dtype.kind == "i"


def test_and_gate_truth_table():
    """Does the single neuron w = (0.5, 0.5), b = -0.8 compute AND?"""
    np.testing.assert_array_equal(and_gate(CORNERS), AND)
    np.testing.assert_array_equal(and_gate([1, 1]), [1])


def test_xor_network_truth_table_and_hidden_layer():
    """Does the hand-set two-layer network compute XOR, with hidden units
    AND (threshold 1.5) and OR (threshold 0.5)?"""
    np.testing.assert_array_equal(xor_network(CORNERS), XOR)
    hidden = xor_hidden(CORNERS)
    assert hidden.shape == (4, 2)
    np.testing.assert_array_equal(hidden[:, 0], AND)
    np.testing.assert_array_equal(hidden[:, 1], OR)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        xor_network(np.zeros((4, 3)))


def test_and_training_matches_hand_trace():
    """Without shuffling, does fitting AND follow Rosenblatt's rule exactly
    (mistakes per epoch 2, 3, 3, 2, 1, 0 ending at w = (2, 1), b = -3,
    traced by hand with the step 1 at z >= 0 and zero initial weights)?"""
    p = Perceptron(shuffle=False).fit(CORNERS, AND)
    assert p.errors_ == [2, 3, 3, 2, 1, 0]
    np.testing.assert_array_equal(p.coef_, [2.0, 1.0])
    assert p.intercept_ == -3.0
    assert p.n_iter_ == 6 and p.converged_


@pytest.mark.parametrize("target", [AND, OR], ids=["AND", "OR"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_linearly_separable_gates(target, seed):
    """Does the perceptron converge (an epoch without mistakes) on AND/OR?"""
    p = Perceptron(seed=seed).fit(CORNERS, target)
    assert p.converged_ and p.errors_[-1] == 0
    assert p.n_iter_ == len(p.errors_) < 100
    np.testing.assert_array_equal(p.predict(CORNERS), target)


def test_cannot_learn_xor():
    """On XOR, does every epoch up to max_epochs still make mistakes?"""
    p = Perceptron(max_epochs=50, seed=0).fit(CORNERS, XOR)
    assert not p.converged_
    assert p.n_iter_ == 50
    assert min(p.errors_) > 0
    assert p.score(CORNERS, XOR) < 1.0


def test_iris_setosa_vs_rest():
    """On Iris petal length/width, does it separate setosa perfectly, as in
    the notes' scikit-learn example, and classify the petal (2, 0.5)?"""
    datasets = pytest.importorskip("sklearn.datasets")
    iris = datasets.load_iris()
    X = iris.data[:, 2:4]
    y = (iris.target == 0).astype(int)
    p = Perceptron(seed=42).fit(X, y)
    assert p.converged_
    assert p.score(X, y) == 1.0
    np.testing.assert_array_equal(p.predict([[2.0, 0.5]]), [1])


def test_decision_function_sign_gives_prediction():
    """Is predict the step of w . x + b, in the original labels?"""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = np.where(X @ [1.0, -2.0, 0.5] + 0.3 > 0, "yes", "no")
    p = Perceptron(seed=0, max_epochs=500).fit(X, y)
    np.testing.assert_array_equal(p.classes_, ["no", "yes"])
    scores = p.decision_function(X)
    np.testing.assert_allclose(scores, X @ p.coef_ + p.intercept_)
    np.testing.assert_array_equal(p.predict(X), np.where(scores >= 0, "yes", "no"))
    assert p.score(X, y) == 1.0


def test_seed_and_shuffle():
    """Is a seeded shuffled fit reproducible?"""
    X, y = CORNERS, OR
    a = Perceptron(seed=7).fit(X, y)
    b = Perceptron(seed=7).fit(X, y)
    assert a.errors_ == b.errors_
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_bad_use_gives_clear_errors():
    """Three classes, predicting before fit, wrong feature count?"""
    with pytest.raises(ValueError, match="two classes.*3 distinct"):
        Perceptron().fit(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(NotFittedError):
        Perceptron().predict(CORNERS)
    p = Perceptron().fit(CORNERS, AND)
    with pytest.raises(ValueError, match=r"\(2, 3\).*2 features"):
        p.predict(np.zeros((2, 3)))
    assert Perceptron(max_epochs=5).get_params() == {
        "learning_rate": 1.0, "max_epochs": 5, "shuffle": True, "seed": None}
