"""Linear classifiers trained by minibatch stochastic gradient descent.

The score function is ``s = X W``: ``X`` (N, D), ``W`` (D, C), one column of
weights (a "template") per class. There is no separate bias: use the bias
trick (append a column of ones to ``X``, e.g. ``get_cifar10_data(bias_trick=
True)``), which makes the last row of ``W`` the bias.

Training repeats, ``num_iters`` times: draw ``batch_size`` samples with
replacement, compute the loss and its gradient ``dW`` on them, and step
``W <- W - learning_rate * dW``. Two options help the last digits of
accuracy: ``lr_decay`` shrinks the step after every epoch (as CS231n's
Solver does), and ``average`` returns the mean of the iterates instead of
the last one (Polyak-Ruppert averaging), which cancels much of the noise
that minibatch steps leave in ``W``.
"""
import warnings

import numpy as np

from .base import (BaseEstimator, check_is_fitted, check_n_features, check_X,
                   check_X_y)
from .linear_loss import softmax_loss_vectorized, svm_loss_vectorized

__all__ = ["LinearClassifier", "LinearSVM", "Softmax"]

# Scale of the random initial weights: small enough that the initial
# softmax loss is close to log(C), as the sanity check in the notes expects.
INIT_SCALE = 1e-3


class LinearClassifier(BaseEstimator):
    """Shared training loop; subclasses choose the loss.

    Parameters
    ----------
    learning_rate : float, default 1e-7
        SGD step size.
    reg : float, default 2.5e4
        L2 regularization strength (the loss adds ``reg * sum(W * W)``).
        The defaults suit raw-pixel CIFAR-10 features (values up to ~255).
    num_iters : int, default 1500
        Number of SGD steps.
    batch_size : int, default 200
        Samples per step, drawn with replacement.
    seed : int or None, default None
        Seed for the initial weights and the minibatches.
    verbose : bool, default False
        Show a progress bar with the current loss.
    lr_decay : float, default 1.0
        Multiply the learning rate by this after every epoch, an epoch
        being ``max(1, N // batch_size)`` steps; 1.0 keeps it constant.
    average : bool or int, default False
        If True, ``W_`` is the mean of the weights after every step; if an
        int ``k >= 1``, the mean of the weights after steps ``k, k+1, ...,
        num_iters`` (start averaging once the loss has levelled off, e.g.
        at ``num_iters // 2``). False keeps the last iterate.

    Attributes
    ----------
    W_ : ndarray (D, C)
        Learned weights (same float dtype as ``X``; float64 for integer X).
    classes_ : ndarray (C,)
        Sorted distinct labels; column ``c`` of ``W_`` scores ``classes_[c]``.
    loss_history_ : ndarray (num_iters,)
        Minibatch loss at every step.
    """

    _loss_function = None  # set by subclasses: f(W, X, y, reg) -> (loss, dW)

    def __init__(self, learning_rate=1e-7, reg=2.5e4, num_iters=1500,
                 batch_size=200, seed=None, verbose=False, lr_decay=1.0, average=False):
        self.learning_rate = learning_rate
        self.reg = reg
        self.num_iters = num_iters
        self.batch_size = batch_size
        self.seed = seed
        self.verbose = verbose
        self.lr_decay = lr_decay
        self.average = average

    def loss(self, W, X, y):
        """Loss and gradient ``(loss, dW)`` of this classifier at ``W`` on
        ``(X, y)`` with ``y`` as class indices (0..C-1)."""
        loss_function = type(self)._loss_function
        if loss_function is None:
            raise NotImplementedError("LinearClassifier has no loss; use LinearSVM or "
                                      "Softmax, or subclass it and set _loss_function")
        return loss_function(W, X, y, self.reg)

    def fit(self, X, y):
        """Train from scratch on ``X`` (N, D) and labels ``y`` (N,).

        Stops early with a ``RuntimeWarning`` if the loss becomes inf or
        nan (learning rate too large). Returns ``self``.
        """
        X, y = check_X_y(X, y)
        self._check_hyperparameters()
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        num_train, dim = X.shape
        rng = np.random.default_rng(self.seed)
        W = (INIT_SCALE * rng.standard_normal((dim, len(self.classes_)))).astype(X.dtype)

        history = np.empty(self.num_iters)
        steps_per_epoch = max(1, num_train // self.batch_size)
        lr = self.learning_rate
        # steps are numbered from 1: average over W after steps average_from..num_iters
        average_from = (1 if self.average is True else int(self.average)) if self.average \
            else None
        W_mean, num_averaged = None, 0
        steps = range(self.num_iters)
        if self.verbose:
            from tqdm.auto import tqdm
            steps = tqdm(steps, desc=type(self).__name__, unit="step")
        done = 0
        with np.errstate(over="ignore", invalid="ignore"):
            for it in steps:
                batch = rng.integers(num_train, size=self.batch_size)
                loss, dW = self.loss(W, X[batch], y_index[batch])
                history[it] = loss
                done = it + 1
                if not np.isfinite(loss):
                    warnings.warn(
                        f"{type(self).__name__}: the loss became {loss} at step {it}; "
                        f"training stopped. Lower learning_rate (now "
                        f"{self.learning_rate:g}) or reg (now {self.reg:g}).",
                        RuntimeWarning, stacklevel=2)
                    break
                W -= lr * dW
                if (it + 1) % steps_per_epoch == 0:
                    lr *= self.lr_decay
                if average_from is not None and it + 1 >= average_from:
                    num_averaged += 1
                    if W_mean is None:
                        W_mean = W.copy()
                    else:
                        W_mean += (W - W_mean) / num_averaged
                if self.verbose and it % 50 == 0:
                    steps.set_postfix(loss=f"{loss:.4g}")
        if self.verbose:
            steps.close()
        self.W_ = W if W_mean is None else W_mean
        self.loss_history_ = history[:done]
        return self

    def decision_function(self, X):
        """Class scores ``X @ W_`` (N, C)."""
        check_is_fitted(self, "W_")
        X = check_X(X)
        check_n_features(X, self.W_.shape[0])
        return X @ self.W_

    def predict(self, X):
        """Label with the highest score for each row of ``X`` (N,)."""
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def _check_hyperparameters(self):
        for name in ("num_iters", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if not self.reg >= 0:
            raise ValueError(f"reg must be non-negative, got {self.reg!r}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        average = self.average
        if not (isinstance(average, (bool, np.bool_))
                or (isinstance(average, (int, np.integer)) and average >= 0)):
            raise ValueError(f"average must be True, False or a step number >= 1 from "
                             f"which to average the weights, got {average!r}")


class LinearSVM(LinearClassifier):
    """Linear classifier with the multiclass SVM (hinge) loss.

    See :class:`LinearClassifier` for the parameters and attributes.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]] * 20)  # last column: bias
    >>> y = np.array([0, 1] * 20)
    >>> svm = LinearSVM(learning_rate=0.1, reg=1e-3, num_iters=50, seed=0).fit(X, y)
    >>> svm.score(X, y)
    1.0
    """

    _loss_function = staticmethod(svm_loss_vectorized)


class Softmax(LinearClassifier):
    """Linear classifier with the softmax (cross-entropy) loss.

    See :class:`LinearClassifier` for the parameters and attributes; adds
    :meth:`predict_proba`.
    """

    _loss_function = staticmethod(softmax_loss_vectorized)

    def predict_proba(self, X):
        """Class probabilities (N, C), rows summing to 1, columns in the
        order of ``classes_``."""
        scores = self.decision_function(X)
        scores = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs
