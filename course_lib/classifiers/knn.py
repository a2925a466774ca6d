"""k-nearest-neighbour classification with L1 or L2 distances.

Shapes: ``M`` test samples, ``N`` training samples, ``D`` features,
``C`` classes. Distances between a test row ``a`` and a training row ``b``:

    L1:  d(a, b) = sum_d |a_d - b_d|
    L2:  d(a, b) = sqrt(sum_d (a_d - b_d)^2)

There are three ways to compute the (M, N) distance matrix, which the course
builds in order: two Python loops, one loop over test rows (broadcasting over
the training set), and no loop at all. The L2 no-loop version expands the
square, ``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b``, so the work is one matrix
product, the operation a CPU does fastest.
"""
import numpy as np

from .base import (BaseEstimator, check_is_fitted, check_n_features, check_X,
                   check_X_y)

__all__ = ["KNearestNeighbor", "cross_validate_knn"]

_METRICS = ("l1", "l2")
# The L1 distance has no matrix-product shortcut: broadcasting (M, N, D) at
# once would need M*N*D floats (92 GB for 500 x 5000 x 3072 in float64), so
# it is computed for blocks of test rows of at most this many elements.
_L1_BLOCK_ELEMENTS = 1 << 22
# predict() computes distances for this many elements of the (M, N) matrix
# at a time, so predicting 10,000 CIFAR images does not hold 3.9 GB at once.
_PREDICT_BLOCK_ELEMENTS = 1 << 24


class KNearestNeighbor(BaseEstimator):
    """k-nearest-neighbour classifier: the majority label among the ``k``
    training samples closest to each test sample.

    Parameters
    ----------
    k : int, default 1
        Number of neighbours that vote.
    metric : {"l2", "l1"}, default "l2"
        Euclidean or Manhattan distance.

    Attributes
    ----------
    X_train_ : ndarray (N, D)
        The training data (``fit`` only stores it; integer input such as
        uint8 images is converted to float64 once, here).
    y_train_ : ndarray (N,)
        The training labels.
    classes_ : ndarray (C,)
        Sorted distinct labels. Votes are tied toward the earlier class,
        i.e. the smaller label.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]])
    >>> knn = KNearestNeighbor(k=1).fit(X, [0, 0, 1, 1])
    >>> knn.predict(np.array([[0.2, 0.1], [5.5, 4.0]]))
    array([0, 1])
    """

    def __init__(self, k=1, metric="l2"):
        self.k = k
        self.metric = metric

    def fit(self, X, y):
        """Memorise the training set ``X`` (N, D) and labels ``y`` (N,)."""
        X, y = check_X_y(X, y)
        self._check_metric()
        self.X_train_ = X.astype(_float_dtype(X), copy=False)
        self.y_train_ = y
        self.classes_, self._y_index = np.unique(y, return_inverse=True)
        return self

    # ---- distances ------------------------------------------------------

    def compute_distances_two_loops(self, X):
        """Distances (M, N) with a Python loop over test and training rows.

        ``dists[i, j]`` is the distance between ``X[i]`` and ``X_train_[j]``.
        Slow (tens of seconds for 500 x 5000 CIFAR images): it is here to
        show the definition plainly.
        """
        X, X_train, dtype = self._prepare(X)
        dists = np.empty((len(X), len(X_train)), dtype=dtype)
        for i in range(len(X)):
            for j in range(len(X_train)):
                diff = X[i] - X_train[j]
                if self.metric == "l1":
                    dists[i, j] = np.sum(np.abs(diff))
                else:
                    dists[i, j] = np.sqrt(np.sum(diff * diff))
        return dists

    def compute_distances_one_loop(self, X):
        """Distances (M, N) with one loop over test rows; each row is
        compared with the whole training set at once by broadcasting."""
        X, X_train, dtype = self._prepare(X)
        dists = np.empty((len(X), len(X_train)), dtype=dtype)
        for i in range(len(X)):
            diff = X_train - X[i]  # (N, D)
            if self.metric == "l1":
                dists[i] = np.abs(diff).sum(axis=1)
            else:
                dists[i] = np.sqrt(np.einsum("nd,nd->n", diff, diff))
        return dists

    def compute_distances_no_loops(self, X):
        """Distances (M, N) without Python loops over samples.

        L2: ``sqrt(|a|^2 + |b|^2 - 2 a.b)``. Rounding can make the sum
        slightly negative for (nearly) identical rows, so it is clipped at
        0 before the square root. The product is updated in place and the
        squared norms come from ``einsum``, so no (M, D) or (N, D)
        temporary is created and the cost stays close to that of the bare
        product ``X @ X_train_.T`` (``bench/bench_knn.py`` measures it).
        float32 input stays float32.

        L1 has no such shortcut; it broadcasts blocks of test rows against
        the training set (a few loop steps over blocks bound the memory).
        """
        X, X_train, dtype = self._prepare(X)
        if self.metric == "l1":
            return _l1_distances_blocked(X, X_train, dtype)
        dists = X @ X_train.T  # (M, N)
        dists *= -2
        dists += np.einsum("md,md->m", X, X)[:, None]
        dists += np.einsum("nd,nd->n", X_train, X_train)[None, :]
        np.maximum(dists, 0, out=dists)
        np.sqrt(dists, out=dists)
        return dists

    # ---- prediction -----------------------------------------------------

    def predict_labels(self, dists, k=None):
        """Labels (M,) from a distance matrix ``dists`` (M, N).

        Each test sample takes the most common label among its ``k``
        nearest training samples; a tied vote goes to the smaller label.
        Among equally distant training samples, the earlier one counts as
        nearer (a stable sort), so results do not depend on chance.
        """
        check_is_fitted(self, "X_train_")
        k = self._check_k(k)
        dists = np.asarray(dists)
        if dists.ndim != 2 or dists.shape[1] != len(self.y_train_):
            raise ValueError(
                f"dists must have shape (M, {len(self.y_train_)}), one column per "
                f"training sample; got {dists.shape}")
        order = _nearest(dists, k)
        return self.classes_[_vote(self._y_index[order], len(self.classes_))]

    def predict(self, X, k=None):
        """Predicted labels (M,) for test samples ``X`` (M, D)."""
        check_is_fitted(self, "X_train_")
        k = self._check_k(k)
        X = check_X(X)
        check_n_features(X, self.X_train_.shape[1], self.X_train_.shape)
        rows = max(1, _PREDICT_BLOCK_ELEMENTS // max(1, len(self.X_train_)))
        labels = [self.predict_labels(self.compute_distances_no_loops(X[s:s + rows]), k)
                  for s in range(0, len(X), rows)]
        if not labels:
            return self.classes_[:0]
        return np.concatenate(labels)

    # ---- checks ---------------------------------------------------------

    def _check_metric(self):
        if self.metric not in _METRICS:
            raise ValueError(f"metric must be 'l1' or 'l2', got {self.metric!r}")

    def _check_k(self, k):
        k = self.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if k > len(self.y_train_):
            raise ValueError(
                f"k = {k} is larger than the training set ({len(self.y_train_)} "
                "samples); choose k <= the number of training samples")
        return int(k)

    def _prepare(self, X):
        check_is_fitted(self, "X_train_")
        self._check_metric()
        X = check_X(X)
        check_n_features(X, self.X_train_.shape[1], self.X_train_.shape)
        dtype = np.result_type(_float_dtype(X), self.X_train_.dtype)
        return (X.astype(dtype, copy=False), self.X_train_.astype(dtype, copy=False),
                dtype)


def _float_dtype(X):
    """float32/float64 stay as they are; integers, bools and float16 do not
    (uint8 pixel differences would wrap around, float16 sums lose digits)."""
    if X.dtype in (np.float32, np.float64):
        return X.dtype
    return np.dtype(np.float32 if X.dtype == np.float16 else np.float64)


def _l1_distances_blocked(X, X_train, dtype):
    dists = np.empty((len(X), len(X_train)), dtype=dtype)
    rows = max(1, _L1_BLOCK_ELEMENTS // max(1, X_train.size))
    for s in range(0, len(X), rows):
        diff = X[s:s + rows, None, :] - X_train[None, :, :]  # (m, N, D)
        np.abs(diff, out=diff)
        dists[s:s + rows] = diff.sum(axis=2)
    return dists


def _nearest(dists, k):
    """Indices (M, k) of the k smallest entries of each row, nearest first,
    earlier column first among equal distances."""
    if k == 1:
        return np.argmin(dists, axis=1)[:, None]  # argmin keeps the first
    if k < dists.shape[1] // 4:
        # Partition first (O(N)), then order only the k candidates; ties at
        # the k-th distance could be cut arbitrarily, so fall back to a full
        # stable sort when the boundary value repeats.
        part = np.argpartition(dists, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(dists, part, axis=1)
        kth = vals.max(axis=1, keepdims=True)
        if not np.any((dists == kth).sum(axis=1) > (vals == kth).sum(axis=1)):
            key = np.lexsort((part, vals), axis=1)  # by distance, then index
            return np.take_along_axis(part, key, axis=1)
    return np.argsort(dists, axis=1, kind="stable")[:, :k]


def _vote(neighbor_classes, num_classes):
    """Most common class index per row of ``neighbor_classes`` (M, k);
    ``argmax`` returns the first maximum, i.e. the smaller class on a tie."""
    num_rows = len(neighbor_classes)
    offsets = np.arange(num_rows)[:, None] * num_classes
    counts = np.bincount((neighbor_classes + offsets).ravel(),
                         minlength=num_rows * num_classes)
    return counts.reshape(num_rows, num_classes).argmax(axis=1)


def cross_validate_knn(X, y, k_choices, num_folds=5, metric="l2", seed=None):
    """Accuracy of k-NN for every ``k`` in ``k_choices`` on each of
    ``num_folds`` folds.

    The data are split into ``num_folds`` nearly equal folds (in order, or
    after a shuffle when ``seed`` is given). Each fold in turn is the
    validation set and the others the training set. The distance matrix of
    a fold is computed once and the neighbours sorted once; every ``k``
    then only re-counts votes.

    Returns
    -------
    dict
        ``{k: ndarray (num_folds,)}`` of validation accuracies.
    """
    X, y = check_X_y(X, y)
    if isinstance(num_folds, bool) or not isinstance(num_folds, (int, np.integer)) \
            or not 2 <= num_folds <= len(X):
        raise ValueError(f"num_folds must be an integer between 2 and the number of "
                         f"samples ({len(X)}), got {num_folds!r}")
    k_choices = list(k_choices)
    if not k_choices:
        raise ValueError("k_choices is empty; pass the k values to try, e.g. [1, 5, 10]")
    indices = np.arange(len(X))
    if seed is not None:
        indices = np.random.default_rng(seed).permutation(len(X))
    folds = np.array_split(indices, num_folds)
    smallest_train = len(X) - max(len(f) for f in folds)
    too_big = [k for k in k_choices if k > smallest_train]
    if too_big:
        raise ValueError(f"k = {too_big} larger than the smallest training split "
                         f"({smallest_train} samples with {num_folds} folds)")

    accuracies = {k: np.empty(num_folds) for k in k_choices}
    for f, val_idx in enumerate(folds):
        train_idx = np.concatenate(folds[:f] + folds[f + 1:])
        knn = KNearestNeighbor(k=1, metric=metric).fit(X[train_idx], y[train_idx])
        for k in k_choices:
            knn._check_k(k)
        dists = knn.compute_distances_no_loops(X[val_idx])
        order = _nearest(dists, max(k_choices))
        neighbor_classes = knn._y_index[order]
        for k in k_choices:
            votes = _vote(neighbor_classes[:, :k], len(knn.classes_))
            accuracies[k][f] = np.mean(knn.classes_[votes] == y[val_idx])
    return accuracies
