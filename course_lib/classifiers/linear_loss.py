"""Multiclass SVM (hinge) and softmax (cross-entropy) losses of a linear
classifier, with their gradients: a naive version that loops as the course
notes derive it, and a vectorized version with no Python loops.

Shapes: ``N`` samples, ``D`` features (with the bias trick, the last feature
is a constant 1 and the last row of ``W`` is the bias), ``C`` classes.
Scores are ``s = X W`` (N, C). For sample ``i`` with correct class ``y_i``:

    SVM:      L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)
    softmax:  L_i = -log(exp(s_{y_i}) / sum_j exp(s_j))

and the total loss is ``L = (1/N) sum_i L_i + reg * sum(W * W)``, so the
regularization adds ``2 * reg * W`` to the gradient. All four functions
return ``(loss, dW)`` with ``loss`` a Python float and ``dW`` shaped and
typed like ``W``.
"""
import numpy as np

__all__ = ["svm_loss_naive", "svm_loss_vectorized",
           "softmax_loss_naive", "softmax_loss_vectorized"]

DELTA = 1.0  # SVM margin; any positive value is equivalent up to scaling W


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss and gradient, looping over samples and classes.

    Parameters
    ----------
    W : ndarray (D, C)
        Weights.
    X : ndarray (N, D)
        Samples, one per row.
    y : ndarray (N,)
        Correct classes, integers in ``[0, C)``.
    reg : float
        L2 regularization strength.

    Returns
    -------
    loss : float
    dW : ndarray (D, C)
        Gradient of the loss with respect to ``W``.

    Notes
    -----
    Each violated margin ``s_j - s_{y_i} + 1 > 0`` pushes class ``j``'s
    weights away from ``x_i`` and the correct class's toward it:
    ``dW[:, j] += x_i``, ``dW[:, y_i] -= x_i``.
    """
    W, X, y = _check_inputs(W, X, y, reg)
    num_train, num_classes = X.shape[0], W.shape[1]
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(num_train):
        scores = X[i] @ W  # (C,)
        correct_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_score + DELTA
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss and gradient without Python loops.

    Same parameters and result as :func:`svm_loss_naive`. The gradient is
    ``X.T @ M`` where ``M[i, j] = 1`` for each violated margin and
    ``M[i, y_i] = -(number of violated margins of sample i)``.
    """
    W, X, y = _check_inputs(W, X, y, reg)
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W  # (N, C)
    margins = scores - scores[rows, y][:, None] + DELTA
    np.maximum(margins, 0, out=margins)
    margins[rows, y] = 0  # the correct class is not compared with itself
    loss = margins.sum() / num_train + reg * np.sum(W * W)

    violated = (margins > 0).astype(W.dtype)  # (N, C)
    violated[rows, y] = -violated.sum(axis=1)
    dW = X.T @ violated
    dW /= num_train
    dW += 2 * reg * W
    return float(loss), dW


def softmax_loss_naive(W, X, y, reg):
    """Softmax (cross-entropy) loss and gradient, looping over samples and
    classes.

    Same parameters and result as :func:`svm_loss_naive`.

    Notes
    -----
    With probabilities ``p_j = exp(s_j) / sum_k exp(s_k)`` the gradient of
    ``L_i`` is ``dL_i/dW[:, j] = (p_j - [j == y_i]) x_i``. The scores are
    shifted by their maximum first: that leaves ``p`` unchanged and keeps
    ``exp`` from overflowing (``exp(1000)`` is ``inf`` in float64).
    """
    W, X, y = _check_inputs(W, X, y, reg)
    num_train, num_classes = X.shape[0], W.shape[1]
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(num_train):
        scores = X[i] @ W  # (C,)
        scores = scores - np.max(scores)
        log_sum_exp = np.log(np.sum(np.exp(scores)))
        loss += log_sum_exp - scores[y[i]]
        for j in range(num_classes):
            p_j = np.exp(scores[j] - log_sum_exp)
            dW[:, j] += (p_j - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax (cross-entropy) loss and gradient without Python loops.

    Same parameters and result as :func:`svm_loss_naive`. Computes
    ``log p = s - max(s) - log(sum(exp(s - max(s))))`` row by row, so the
    loss stays finite even for scores of 1e4, and the gradient is
    ``X.T @ (P - Y) / N`` with ``Y`` the one-hot labels.
    """
    W, X, y = _check_inputs(W, X, y, reg)
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W  # (N, C)
    scores -= scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / num_train + reg * np.sum(W * W)

    dscores = np.exp(log_probs)  # P, (N, C)
    dscores[rows, y] -= 1
    dW = X.T @ dscores
    dW /= num_train
    dW += 2 * reg * W
    return float(loss), dW


def _check_inputs(W, X, y, reg):
    """Shapes and types, with errors that say what to change. ``X`` is cast
    to ``W``'s dtype so the products (and ``dW``) keep that dtype."""
    W = np.asarray(W)
    if W.ndim != 2 or not np.issubdtype(W.dtype, np.floating):
        raise ValueError(f"W must be a 2-D float array (D, C), got shape {W.shape} "
                         f"and dtype {W.dtype}")
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (N, D), got shape {X.shape}; "
                         "flatten images with X.reshape(len(X), -1)")
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X has shape {X.shape} but W has shape {W.shape}: X's columns (D = "
            f"{X.shape[1]}) must equal W's rows ({W.shape[0]}); did the bias trick "
            "add a column of ones to X but not a row to W, or the other way round?")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), one label per row of X; "
                         f"got {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("X is empty (N = 0): the mean loss is undefined")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class indices, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= W.shape[1]:
        raise ValueError(f"labels must lie in [0, {W.shape[1]}) for W with "
                         f"{W.shape[1]} columns; got labels from {y.min()} to {y.max()}")
    if not np.isscalar(reg) or reg < 0:
        raise ValueError(f"reg must be a non-negative number, got {reg!r}")
    return W, X.astype(W.dtype, copy=False), y
