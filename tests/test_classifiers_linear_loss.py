"""Tests for course_lib.classifiers.linear_loss (SVM and softmax losses)."""
import numpy as np
import pytest

from course_lib.classifiers import (softmax_loss_naive, softmax_loss_vectorized,
                                    svm_loss_naive, svm_loss_vectorized)
from course_lib.gradcheck import eval_numerical_gradient
from tests.helpers import gradient_error, scaled_error

PAIRS = [(svm_loss_naive, svm_loss_vectorized),
         (softmax_loss_naive, softmax_loss_vectorized)]
ALL = [f for pair in PAIRS for f in pair]
SHAPES = [(1, 3, 2), (7, 5, 4), (30, 11, 10)]  # (N, D, C)


def make_problem(seed, N, D, C, w_scale=1.0):
    rng = np.random.default_rng(seed)
    W = w_scale * rng.standard_normal((D, C))
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    return W, X, y


def svm_problem_away_from_kinks(seed, N, D, C, h=1e-5):
    """A problem whose margins s_j - s_{y_i} + 1 are all farther than 100 h
    from 0, so the centred difference never straddles a kink of the hinge
    (changing one W entry by h moves a margin by at most h * max|x|)."""
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        W = rng.standard_normal((D, C))
        X = rng.standard_normal((N, D))
        y = rng.integers(C, size=N)
        scores = X @ W
        margins = scores - scores[np.arange(N), y][:, None] + 1
        margins[np.arange(N), y] = np.inf
        if np.min(np.abs(margins)) > 100 * h * np.abs(X).max():
            return W, X, y
    raise AssertionError("no kink-free problem found")


@pytest.mark.parametrize("naive, vectorized", PAIRS, ids=["svm", "softmax"])
@pytest.mark.parametrize("N, D, C", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reg", [0.0, 0.1, 5.0])
def test_naive_equals_vectorized(naive, vectorized, N, D, C, seed, reg):
    """Do the loop and loop-free versions give the same loss and gradient
    (to 1e-10 in float64), with and without regularization?"""
    W, X, y = make_problem(seed, N, D, C)
    loss_n, dW_n = naive(W, X, y, reg)
    loss_v, dW_v = vectorized(W, X, y, reg)
    assert isinstance(loss_n, float) and isinstance(loss_v, float)
    assert abs(loss_n - loss_v) <= 1e-10 * max(1.0, abs(loss_n))
    assert dW_n.shape == dW_v.shape == W.shape
    assert scaled_error(dW_n, dW_v) < 1e-10


@pytest.mark.parametrize("loss_fn", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("N, D, C", [(4, 3, 3), (9, 6, 5)])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_gradient_matches_numerical(loss_fn, N, D, C, seed, reg):
    """Is the analytic dW within 1e-7 (relative to its scale) of the centred
    numerical gradient (float64; SVM data chosen away from the kinks)?"""
    if loss_fn.__name__.startswith("svm"):
        W, X, y = svm_problem_away_from_kinks(seed, N, D, C)
    else:
        W, X, y = make_problem(seed, N, D, C)
    loss, dW = loss_fn(W, X, y, reg)
    numeric = eval_numerical_gradient(lambda W_: loss_fn(W_, X, y, reg)[0], W.copy())
    # where both are exactly 0 (a class with no violated margin and reg = 0)
    # the numerical side is rounding noise: look at the rest, on dW's scale
    nonzero = (dW != 0) | (np.abs(numeric) > 1e-9)
    assert nonzero.sum() > W.size // 2
    assert gradient_error(numeric[nonzero], dW[nonzero]) < 1e-7
    np.testing.assert_allclose(numeric[~nonzero], 0, atol=1e-9)


@pytest.mark.parametrize("loss_fn", ALL, ids=lambda f: f.__name__)
def test_regularization_term(loss_fn):
    """Does reg add reg * sum(W^2) to the loss and 2 reg W to dW?"""
    W, X, y = make_problem(3, 6, 4, 3)
    loss0, dW0 = loss_fn(W, X, y, 0.0)
    loss1, dW1 = loss_fn(W, X, y, 0.25)
    assert loss1 - loss0 == pytest.approx(0.25 * np.sum(W * W), rel=1e-12)
    np.testing.assert_allclose(dW1 - dW0, 0.5 * W, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss_fn", [svm_loss_naive, svm_loss_vectorized],
                         ids=lambda f: f.__name__)
def test_svm_hand_computed(loss_fn):
    """On scores (3.2, 5.1, -1.7) with correct class 0, is the hinge loss
    max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9, with gradient
    +x for the violating class and -x for the correct one?"""
    X = np.array([[1.0]])
    W = np.array([[3.2, 5.1, -1.7]])
    loss, dW = loss_fn(W, X, np.array([0]), 0.0)
    assert loss == pytest.approx(2.9, abs=1e-12)
    np.testing.assert_array_equal(dW, [[-1.0, 1.0, 0.0]])
    # correct class far ahead: every margin satisfied, loss and gradient 0
    loss, dW = loss_fn(W, X, np.array([1]), 0.0)
    assert loss == 0.0
    np.testing.assert_array_equal(dW, 0.0)


@pytest.mark.parametrize("loss_fn", [softmax_loss_naive, softmax_loss_vectorized],
                         ids=lambda f: f.__name__)
def test_initial_softmax_loss_is_log_num_classes(loss_fn):
    """With tiny random weights (scale 1e-4) every class has probability
    ~1/C: is the loss ~log(C), the sanity check from the notes?"""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 50))
    y = rng.integers(10, size=200)
    W = 1e-4 * rng.standard_normal((50, 10))
    loss, _ = loss_fn(W, X, y, 0.0)
    assert loss == pytest.approx(np.log(10), abs=1e-3)


@pytest.mark.parametrize("loss_fn", [softmax_loss_naive, softmax_loss_vectorized],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_stable_for_huge_scores(loss_fn, dtype):
    """Are loss and gradient finite and equal to the hand-computed values
    for scores of +-1e4 (where exp overflows without the shift)?"""
    X = np.array([[1.0], [1.0], [1.0]], dtype=dtype)
    W = np.array([[1e4, 0.0, -1e4]], dtype=dtype)  # scores (1e4, 0, -1e4) for every row
    y = np.array([0, 1, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        loss, dW = loss_fn(W, X, y, 0.0)
    # -log p: class 0 -> 0, class 1 -> 1e4, class 2 -> 2e4; mean 1e4
    assert loss == pytest.approx(1e4, rel=1e-7)
    # p = (1, 0, 0) for each row; dW = mean over rows of (p - onehot)
    np.testing.assert_allclose(dW, [[2 / 3, -1 / 3, -1 / 3]], rtol=1e-6)
    assert dW.dtype == dtype
    # two tied huge scores: probability 1/2, loss log 2
    loss, _ = loss_fn(np.array([[1e4, 1e4]], dtype=dtype), X[:1], y[:1], 0.0)
    assert loss == pytest.approx(np.log(2), rel=1e-6)


@pytest.mark.parametrize("loss_fn", ALL, ids=lambda f: f.__name__)
def test_keeps_dtype_of_W(loss_fn):
    """Is dW float32 when W is float32, even for float64 or int X?"""
    W, X, y = make_problem(0, 5, 4, 3)
    for X_in in (X, (X * 10).astype(np.int64)):
        loss, dW = loss_fn(W.astype(np.float32), X_in, y, 0.1)
        assert dW.dtype == np.float32
        assert np.isfinite(loss)


@pytest.mark.parametrize("loss_fn", ALL, ids=lambda f: f.__name__)
def test_inputs_are_not_modified(loss_fn):
    """Do the losses leave W, X and y untouched?"""
    W, X, y = make_problem(1, 6, 4, 3)
    saved = W.copy(), X.copy(), y.copy()
    loss_fn(W, X, y, 0.3)
    for before, after in zip(saved, (W, X, y)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("loss_fn", ALL, ids=lambda f: f.__name__)
def test_bad_inputs_give_clear_errors(loss_fn):
    """Do mismatched shapes and out-of-range labels say what is wrong?"""
    W, X, y = make_problem(0, 5, 4, 3)
    with pytest.raises(ValueError, match=r"X has shape \(5, 3\) but W has shape \(4, 3\)"):
        loss_fn(W, X[:, :3], y, 0.0)
    with pytest.raises(ValueError, match="labels must lie in"):
        loss_fn(W, X, np.array([0, 1, 2, 3, 0]), 0.0)
    with pytest.raises(ValueError, match="one label per row"):
        loss_fn(W, X, y[:4], 0.0)
    with pytest.raises(TypeError, match="integer class indices"):
        loss_fn(W, X, y.astype(float), 0.0)


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_matches_torch_cross_entropy(seed):
    """Do loss and dW equal PyTorch's cross_entropy + L2 term via autograd?"""
    torch = pytest.importorskip("torch")
    W, X, y = make_problem(seed, 20, 8, 5)
    reg = 0.3
    W_t = torch.tensor(W, requires_grad=True)
    loss_t = (torch.nn.functional.cross_entropy(torch.tensor(X) @ W_t, torch.tensor(y))
              + reg * (W_t * W_t).sum())
    loss_t.backward()
    loss, dW = softmax_loss_vectorized(W, X, y, reg)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    assert scaled_error(dW, W_t.grad.numpy()) < 1e-10


@pytest.mark.torch
def test_svm_matches_torch_multi_margin_loss():
    """Does the SVM loss equal PyTorch's multi_margin_loss times C (torch
    averages over classes as well as samples)?"""
    torch = pytest.importorskip("torch")
    W, X, y = svm_problem_away_from_kinks(0, 20, 8, 5)
    W_t = torch.tensor(W, requires_grad=True)
    loss_t = 5 * torch.nn.functional.multi_margin_loss(torch.tensor(X) @ W_t,
                                                       torch.tensor(y), margin=1.0)
    loss_t.backward()
    loss, dW = svm_loss_vectorized(W, X, y, 0.0)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    assert scaled_error(dW, W_t.grad.numpy()) < 1e-10
