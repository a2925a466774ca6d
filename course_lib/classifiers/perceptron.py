"""Rosenblatt's perceptron and two hand-wired threshold networks.

A perceptron (a linear threshold unit) outputs ``step(w . x + b)`` with the
Heaviside step ``step(z) = 1 if z >= 0 else 0``. Rosenblatt's rule learns
``w`` and ``b`` one sample at a time: after a wrong answer it moves the
weights toward the sample (missed a 1) or away from it (false 1),

    w <- w + learning_rate * (y - y_hat) * x,    b <- b + learning_rate * (y - y_hat),

and does nothing after a right answer. If a line (hyperplane) separates the
two classes this stops making mistakes after finitely many updates; if none
does, as for XOR, it never settles.

XOR becomes possible with one hidden layer: :func:`xor_network` is the
two-layer threshold network with hand-set weights from the course notes.
Shapes: ``N`` samples, ``D`` features.
"""
import numpy as np

from .base import (BaseEstimator, check_is_fitted, check_n_features, check_X,
                   check_X_y)

__all__ = ["Perceptron", "heaviside", "and_gate", "xor_network", "xor_hidden",
           "AND_WEIGHTS", "AND_BIAS", "XOR_HIDDEN_WEIGHTS", "XOR_HIDDEN_BIAS",
           "XOR_OUTPUT_WEIGHTS", "XOR_OUTPUT_BIAS"]


def heaviside(z):
    """Step activation: 1 where ``z >= 0``, else 0, in ``z``'s dtype
    (integer 0/1 for integer or boolean input)."""
    z = np.asarray(z)
    dtype = z.dtype if np.issubdtype(z.dtype, np.number) else np.int64
    return (z >= 0).astype(dtype)


class Perceptron(BaseEstimator):
    """Binary perceptron trained with Rosenblatt's rule.

    Parameters
    ----------
    learning_rate : float, default 1.0
        Step of each update. With zero initial weights it only rescales
        ``w`` and ``b``, so predictions do not depend on it.
    max_epochs : int, default 100
        Passes over the training set before giving up.
    shuffle : bool, default True
        Visit the samples in a new random order each epoch.
    seed : int or None, default None
        Seed for the shuffling.

    Attributes
    ----------
    coef_ : ndarray (D,)
        Weights ``w``.
    intercept_ : float
        Bias ``b``.
    classes_ : ndarray (2,)
        The two labels; ``classes_[1]`` is the one predicted when
        ``w . x + b >= 0``. With labels {0, 1} that is 1.
    n_iter_ : int
        Epochs run.
    errors_ : list of int
        Mistakes made in each epoch (the last is 0 if it converged).
    converged_ : bool
        Whether an epoch went by without a mistake.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> p = Perceptron(shuffle=False).fit(X, [0, 0, 0, 1])  # AND
    >>> p.predict(X), p.converged_
    (array([0, 0, 0, 1]), True)
    """

    def __init__(self, learning_rate=1.0, max_epochs=100, shuffle=True, seed=None):
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.seed = seed

    def fit(self, X, y):
        """Learn ``coef_`` and ``intercept_`` from ``X`` (N, D) and
        two-class labels ``y`` (N,), usually 0/1. Returns ``self``."""
        X, y = check_X_y(X, y)
        X = X.astype(np.float64)
        if isinstance(self.max_epochs, bool) or \
                not isinstance(self.max_epochs, (int, np.integer)) or self.max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive integer, got {self.max_epochs!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        self.classes_, target = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(
                f"the perceptron separates two classes, but y has {len(self.classes_)} "
                f"distinct label(s) {self.classes_[:10].tolist()}; for one class against "
                "the rest use e.g. (y == 0).astype(int)")
        rng = np.random.default_rng(self.seed)
        w = np.zeros(X.shape[1])
        b = 0.0
        self.errors_ = []
        for _ in range(self.max_epochs):
            order = rng.permutation(len(X)) if self.shuffle else range(len(X))
            mistakes = 0
            for i in order:
                y_hat = 1 if X[i] @ w + b >= 0 else 0
                update = self.learning_rate * (target[i] - y_hat)
                if update:
                    w += update * X[i]
                    b += update
                    mistakes += 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                break
        self.coef_ = w
        self.intercept_ = float(b)
        self.n_iter_ = len(self.errors_)
        self.converged_ = self.errors_[-1] == 0
        return self

    def decision_function(self, X):
        """Signed score ``X @ coef_ + intercept_`` (N,); >= 0 means
        ``classes_[1]``."""
        check_is_fitted(self, "coef_")
        X = check_X(X)
        check_n_features(X, len(self.coef_))
        return X @ self.coef_ + self.intercept_

    def predict(self, X):
        """Predicted labels (N,)."""
        positive = heaviside(self.decision_function(X)).astype(np.intp)
        return self.classes_[positive]


# ---- hand-set threshold networks (no learning) -----------------------------

#: AND as one neuron: 0.5 x1 + 0.5 x2 - 0.8 >= 0 only when x1 = x2 = 1.
AND_WEIGHTS = np.array([0.5, 0.5])
AND_BIAS = -0.8

#: XOR's hidden layer: unit 0 fires when x1 + x2 > 1.5 (AND), unit 1 when
#: x1 + x2 > 0.5 (OR). Columns are units, as in ``X @ W``.
XOR_HIDDEN_WEIGHTS = np.array([[1.0, 1.0],
                               [1.0, 1.0]])
XOR_HIDDEN_BIAS = np.array([-1.5, -0.5])
#: XOR's output: OR and not AND, i.e. fires when OR - AND > 0.5.
XOR_OUTPUT_WEIGHTS = np.array([-1.0, 1.0])
XOR_OUTPUT_BIAS = -0.5


def _check_pairs(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2): two inputs x1, x2 per row; "
                         f"got {X.shape}")
    return X


def and_gate(X):
    """AND of two binary inputs computed by one threshold neuron,
    ``step(0.5 x1 + 0.5 x2 - 0.8)``.

    ``X`` is (N, 2) (or one pair); returns 0/1 integers (N,).

    >>> and_gate([[0, 0], [0, 1], [1, 0], [1, 1]])
    array([0, 0, 0, 1])
    """
    return heaviside(_check_pairs(X) @ AND_WEIGHTS + AND_BIAS).astype(np.int64)


def xor_hidden(X):
    """Hidden-layer activations (N, 2) of :func:`xor_network`: column 0 is
    AND(x1, x2), column 1 is OR(x1, x2).

    The four corners of the square land on only three points of the hidden
    space, (0, 0), (0, 1) and (1, 1), and there a single line separates XOR's
    classes: the hidden layer made the problem linearly separable.

    >>> xor_hidden([[0, 0], [0, 1], [1, 0], [1, 1]])
    array([[0, 0],
           [0, 1],
           [0, 1],
           [1, 1]])
    """
    return heaviside(_check_pairs(X) @ XOR_HIDDEN_WEIGHTS + XOR_HIDDEN_BIAS).astype(np.int64)


def xor_network(X):
    """XOR of two binary inputs with a two-layer threshold network,
    ``step(-AND + OR - 0.5)`` with AND, OR from :func:`xor_hidden`.

    ``X`` is (N, 2) (or one pair); returns 0/1 integers (N,).

    >>> xor_network([[0, 0], [0, 1], [1, 0], [1, 1]])
    array([0, 1, 1, 0])
    """
    hidden = xor_hidden(X)
    return heaviside(hidden @ XOR_OUTPUT_WEIGHTS + XOR_OUTPUT_BIAS).astype(np.int64)
