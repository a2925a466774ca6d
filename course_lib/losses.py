"""Loss functions on a batch of scores, each returning ``(loss, dx)``.

``x`` holds the scores (the output of the last layer, no activation),
shape (N, C) for N examples and C classes (or attributes, or regression
targets); ``dx`` is the gradient of the loss with respect to ``x``. Every
loss is averaged over the N examples, so its size does not depend on the
batch size. Regularization is added by the model, not here.
"""
import numpy as np

from course_lib.layers import sigmoid

__all__ = ["softmax", "log_softmax", "svm_loss", "softmax_loss",
           "binary_logistic_loss", "l2_regression_loss", "l1_regression_loss"]


def log_softmax(x):
    """Row-wise ``log(exp(x) / sum_j exp(x_j))`` without overflow.

    Subtracting the row maximum first changes nothing mathematically
    (numerator and denominator are both scaled by ``exp(-max)``) but keeps
    every exponent <= 0.
    """
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(x):
    """Row-wise probabilities ``exp(x_c) / sum_j exp(x_j)`` of scores x (N, C)."""
    x = np.asarray(x)
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def svm_loss(x, y, delta=1.0):
    """Multiclass SVM (hinge) loss.

    ``L = 1/N sum_n sum_{j != y_n} max(0, x[n, j] - x[n, y_n] + delta)``:
    every wrong class whose score comes within ``delta`` of the correct
    class's score adds to the loss.

    Parameters
    ----------
    x : ndarray, shape (N, C)
    y : ndarray of int, shape (N,), values in [0, C)
    delta : float
        The margin.

    Returns
    -------
    loss : float
    dx : ndarray, shape (N, C)
        ``1/N`` for every wrong class with a positive margin, and minus
        ``1/N`` times their number for the correct class.

    Examples
    --------
    >>> svm_loss(np.array([[13.0, -7.0, 11.0]]), np.array([0]), delta=10.0)[0]
    8.0
    """
    x, y = _check_classification("svm_loss", x, y)
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0.0, x - x[rows, y][:, None] + delta)
    margins[rows, y] = 0.0
    loss = margins.sum() / N
    dx = (margins > 0).astype(x.dtype)
    dx[rows, y] = -dx.sum(axis=1)
    dx /= N
    return float(loss), dx


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss.

    ``L = -1/N sum_n log p[n, y_n]`` with ``p = softmax(x)`` row-wise,
    computed through the log-sum-exp so that scores of 1e4 neither overflow
    nor give ``log(0)``.

    Parameters
    ----------
    x : ndarray, shape (N, C)
    y : ndarray of int, shape (N,), values in [0, C)

    Returns
    -------
    loss : float
        About ``log(C)`` when all scores are nearly equal (a sanity check
        for a freshly initialized network).
    dx : ndarray, shape (N, C)
        ``(p - onehot(y)) / N``.
    """
    x, y = _check_classification("softmax_loss", x, y)
    N = x.shape[0]
    rows = np.arange(N)
    log_probs = log_softmax(x)
    loss = -log_probs[rows, y].sum() / N
    dx = np.exp(log_probs)
    dx[rows, y] -= 1.0
    dx /= N
    return float(loss), dx


def binary_logistic_loss(x, y):
    """Independent logistic regression per attribute (multi-label).

    For attribute scores ``x`` and labels ``y`` in {0, 1}::

        L = 1/N sum_n sum_c -[y log s(x) + (1 - y) log(1 - s(x))],  s = sigmoid

    evaluated as ``max(x, 0) - x y + log(1 + exp(-|x|))``, which is finite
    for any finite score (also +-1e4).

    Parameters
    ----------
    x : ndarray, shape (N, C)
        One score per attribute (shape (N,) works for a single attribute).
    y : ndarray, shape of x, values 0 or 1

    Returns
    -------
    loss : float
    dx : ndarray, shape of x
        ``(sigmoid(x) - y) / N``.
    """
    x, y = _check_same_shape("binary_logistic_loss", x, y)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("binary_logistic_loss: y must contain only 0 and 1 "
                         "(for labels in {-1, +1} use (y + 1) / 2)")
    N = x.shape[0]
    loss = (np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))).sum() / N
    dx = (sigmoid(x) - y) / N
    return float(loss), dx


def l2_regression_loss(x, y):
    """Squared L2 regression loss, half the sum of squares averaged over N.

    ``L = 1/N sum_n 0.5 * ||x[n] - y[n]||^2``; the 1/2 makes the gradient
    ``dx = (x - y) / N``. (PyTorch's ``mse_loss`` averages over every entry
    and has no 1/2: ``L = mse_loss * C / 2``.)

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N,)
    y : ndarray, shape of x

    Returns
    -------
    loss : float
    dx : ndarray, shape of x
    """
    x, y = _check_same_shape("l2_regression_loss", x, y)
    diff = x - y
    N = x.shape[0]
    return float(0.5 * (diff * diff).sum() / N), diff / N


def l1_regression_loss(x, y):
    """L1 regression loss ``L = 1/N sum_n ||x[n] - y[n]||_1``.

    Less sensitive to outliers than L2. The gradient ``dx = sign(x - y) / N``
    is taken as 0 where ``x == y``.

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N,)
    y : ndarray, shape of x

    Returns
    -------
    loss : float
    dx : ndarray, shape of x
    """
    x, y = _check_same_shape("l1_regression_loss", x, y)
    diff = x - y
    N = x.shape[0]
    return float(np.abs(diff).sum() / N), np.sign(diff) / N


def _as_float(x):
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _check_classification(name, x, y):
    x, y = _as_float(x), np.asarray(y)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} expects scores x of shape (N, C) with N >= 1, got {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"{name} expects labels y of shape ({x.shape[0]},) to match x "
                         f"{x.shape}, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name}: labels y must be integers (class indices), got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        raise ValueError(f"{name}: labels must lie in [0, {x.shape[1]}) for {x.shape[1]} classes; "
                         f"got values from {y.min()} to {y.max()}")
    return x, y


def _check_same_shape(name, x, y):
    x, y = _as_float(x), _as_float(y)
    if x.shape != y.shape:
        raise ValueError(f"{name}: targets y must have the shape of the scores x, got x {x.shape} "
                         f"and y {y.shape}; reshape y (e.g. y.reshape(x.shape)) rather than rely "
                         "on broadcasting")
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"{name} needs at least one example, got x of shape {x.shape}")
    return x, y
