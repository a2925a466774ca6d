"""Tests for course_lib.losses: hinge, softmax, binary logistic, L2 and L1 losses."""
import numpy as np
import pytest

from course_lib import losses
from tests.helpers import check_layer


def check_loss(loss_fn, x, y, **kwargs):
    """Check a loss's dx numerically by viewing it as a layer with a scalar output."""
    def forward(x):
        loss, dx = loss_fn(x, y, **kwargs)
        return np.array(loss), dx

    def backward(dout, dx):
        return dout * dx

    forward.__name__ = loss_fn.__name__
    # h = 1e-4: the losses are smooth (or piecewise linear), and a smaller step lets
    # rounding swamp the tiny dx entries of confident softmax rows.
    return check_layer(forward, backward, x, seed=99, h=1e-4)


# ---- gradients ----------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("N, C", [(5, 3), (12, 10), (1, 2)])
def test_softmax_loss_gradient(N, C, seed):
    """Does softmax_loss's dx match the numerical gradient?"""
    rng = np.random.default_rng(seed)
    check_loss(losses.softmax_loss, 2 * rng.standard_normal((N, C)), rng.integers(C, size=N))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("N, C, delta", [(5, 3, 1.0), (12, 10, 1.0), (4, 4, 10.0)])
def test_svm_loss_gradient(N, C, delta, seed):
    """Does svm_loss's dx match the numerical gradient (no margin sits on its kink)?"""
    rng = np.random.default_rng(seed)
    x, y = 3 * rng.standard_normal((N, C)), rng.integers(C, size=N)
    margins = x - x[np.arange(N), y][:, None] + delta
    margins[np.arange(N), y] = 1.0
    assert np.min(np.abs(margins)) > 1e-3, "test inputs too close to a kink"
    check_loss(losses.svm_loss, x, y, delta=delta)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(5, 3), (8, 1), (6,)])
@pytest.mark.parametrize("loss_fn", [losses.binary_logistic_loss, losses.l2_regression_loss,
                                     losses.l1_regression_loss])
def test_elementwise_loss_gradients(loss_fn, shape, seed):
    """Do the binary logistic, L2 and L1 losses' dx match the numerical gradient?"""
    rng = np.random.default_rng(seed)
    x = 2 * rng.standard_normal(shape)
    if loss_fn is losses.binary_logistic_loss:
        y = rng.integers(2, size=shape).astype(float)
    else:
        y = x + rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)
    check_loss(loss_fn, x, y)


# ---- values -------------------------------------------------------------------

def test_svm_loss_hand_worked_example():
    """Does the notes' example (scores 13, -7, 11, correct class 0, delta 10) give loss 8?"""
    loss, dx = losses.svm_loss(np.array([[13.0, -7.0, 11.0]]), np.array([0]), delta=10.0)
    assert loss == 8.0  # max(0, -7 - 13 + 10) + max(0, 11 - 13 + 10) = 0 + 8
    np.testing.assert_array_equal(dx, [[-1.0, 0.0, 1.0]])


def test_svm_loss_averages_over_examples():
    """Is the hinge loss the mean of the per-example losses, with dx divided by N?"""
    x = np.array([[13.0, -7.0, 11.0], [3.2, 5.1, -1.7]])
    loss, dx = losses.svm_loss(x, np.array([0, 0]))  # delta 1: 0 + (2.9 + 0) per example
    assert loss == pytest.approx((0.0 + 2.9) / 2)
    np.testing.assert_allclose(dx, [[0, 0, 0], [-0.5, 0.5, 0]])


def test_softmax_loss_is_log_c_for_tiny_scores():
    """Is the initial softmax loss about log(C) when all scores are nearly zero?"""
    rng = np.random.default_rng(0)
    for C in (2, 10, 100):
        loss, _ = losses.softmax_loss(1e-4 * rng.standard_normal((50, C)), rng.integers(C, size=50))
        assert loss == pytest.approx(np.log(C), abs=1e-3)


def test_softmax_loss_is_finite_for_huge_scores():
    """Do scores of 1e4 give the exact finite loss instead of inf or nan?"""
    x = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss, dx = losses.softmax_loss(x, np.array([0, 1]))
    assert loss == pytest.approx((0.0 + 1e4) / 2)
    np.testing.assert_allclose(dx, [[0, 0, 0], [0.5, -0.5, 0]], atol=1e-300)


def test_softmax_and_log_softmax():
    """Do the probabilities sum to 1, match exp(log_softmax), and ignore a shift of the scores?"""
    x = np.random.default_rng(0).standard_normal((4, 6))
    p = losses.softmax(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p, np.exp(losses.log_softmax(x)))
    np.testing.assert_allclose(p, losses.softmax(x + 1000.0))
    np.testing.assert_allclose(p, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True))


def test_binary_logistic_loss_values_and_stability():
    """Is the binary logistic loss exact at scores +-1e4 and log(2) per attribute at 0?"""
    x = np.array([[1e4, -1e4]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        right, dright = losses.binary_logistic_loss(x, np.array([[1.0, 0.0]]))
        wrong, dwrong = losses.binary_logistic_loss(x, np.array([[0.0, 1.0]]))
    assert right == 0.0 and wrong == 2e4
    np.testing.assert_array_equal(dright, [[0.0, 0.0]])
    np.testing.assert_array_equal(dwrong, [[1.0, -1.0]])
    loss, dx = losses.binary_logistic_loss(np.zeros((4, 3)), np.ones((4, 3)))
    assert loss == pytest.approx(3 * np.log(2))
    np.testing.assert_allclose(dx, -0.5 / 4)


def test_regression_loss_values():
    """Do L2 (with the 1/2) and L1 give the hand-computed averages over N?"""
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    y = np.array([[0.0, 0.0], [0.0, 1.0]])
    loss, dx = losses.l2_regression_loss(x, y)
    assert loss == pytest.approx(0.5 * (1 + 4 + 0 + 4) / 2)
    np.testing.assert_allclose(dx, (x - y) / 2)
    loss, dx = losses.l1_regression_loss(x, y)
    assert loss == pytest.approx((1 + 2 + 0 + 2) / 2)
    np.testing.assert_array_equal(dx, [[0.5, 0.5], [0.0, -0.5]])


def test_losses_do_not_mutate_scores():
    """Do the losses leave the scores untouched (softmax and SVM edit a copy)?"""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    saved = x.copy()
    y = rng.integers(4, size=6)
    losses.softmax_loss(x, y)
    losses.svm_loss(x, y)
    np.testing.assert_array_equal(x, saved)


# ---- errors -------------------------------------------------------------------

def test_bad_labels_are_refused():
    """Are out-of-range, non-integer or mis-shaped labels refused with a clear message?"""
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        losses.softmax_loss(x, np.array([0, 4, 1]))
    with pytest.raises(TypeError, match="integers"):
        losses.svm_loss(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        losses.softmax_loss(x, np.array([[0], [1], [2]]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        losses.binary_logistic_loss(x, -np.ones((3, 4)))
    with pytest.raises(ValueError, match="reshape"):
        losses.l2_regression_loss(np.zeros((3, 1)), np.zeros(3))
