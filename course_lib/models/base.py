"""What every model shares: the parameter dict, random streams, L2 regularization.

The model protocol the ``Solver`` relies on:

- ``params``: ``dict[str, ndarray]`` named by :mod:`course_lib.models.naming`;
- ``loss(X, y=None)``: scores (N, C) in test mode when ``y`` is None, else
  ``(loss, grads)`` in training mode with ``grads`` keyed like ``params``;
- ``bn_stats``: ``dict[layer name, BatchNormStats]``, the running statistics
  of the batch-norm layers (empty without batchnorm). They are not
  parameters: no gradient reaches them, the forward pass updates them;
- ``rng``: the ``numpy.random.Generator`` that draws dropout masks.

The Solver saves and restores ``params``, ``bn_stats`` and the state of
``rng`` in checkpoints, so a resumed run continues exactly where it stopped.

Regularization, the course's one convention (the linear classifiers, every
model and every assignment use it): the loss gets ``reg * sum(W * W)`` for
every weight array ``W`` (names ending in ``.W``), so its gradient is
``2 * reg * W``. Biases, ``gamma`` and ``beta`` are not regularized. (CS231n's
networks write ``0.5 * reg * sum(W * W)`` instead, with gradient ``reg * W``:
the same penalty as ours with half the ``reg``.)
"""
import numpy as np

from course_lib import initializers, parallel
from course_lib.models.naming import is_weight

__all__ = ["Model"]


class Model:
    """Base class: holds ``params``, ``bn_stats``, ``rng``, ``reg`` and ``dtype``.

    Subclasses build ``params`` in ``__init__`` (with ``self._init_rng``) and
    implement ``loss``.
    """

    def __init__(self, reg=0.0, dtype=np.float64, seed=None):
        if reg < 0:
            raise ValueError(f"reg must be >= 0, got {reg!r}")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"dtype must be a float type such as np.float32 or np.float64, "
                             f"got {dtype!r}")
        self.reg = float(reg)
        self.dtype = np.dtype(dtype)
        self.seed = seed
        # Two independent streams from one seed: changing the dropout setting
        # leaves the initial weights unchanged, and vice versa.
        init_seq, dropout_seq = np.random.SeedSequence(seed).spawn(2)
        self._init_rng = np.random.default_rng(init_seq)
        self.rng = np.random.default_rng(dropout_seq)
        self.params = {}
        self.bn_stats = {}

    @property
    def num_params(self):
        """Total number of learnable numbers (weights, biases, gamma and beta)."""
        return int(sum(p.size for p in self.params.values()))

    def loss(self, X, y=None):
        raise NotImplementedError

    def predict(self, X, batch_size=200):
        """Predicted class of each example: ``argmax`` of the test-mode scores."""
        X = np.asarray(X)
        labels = [np.argmax(self.loss(X[i:i + batch_size]), axis=1)
                  for i in range(0, len(X), batch_size)]
        return np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)

    def __repr__(self):
        shapes = ", ".join(f"{name} {tuple(p.shape)}" for name, p in self.params.items())
        return f"{type(self).__name__}({shapes}; {self.num_params} parameters)"

    # ---- helpers for subclasses ---------------------------------------------
    def _weights(self, shape, init, weight_scale):
        """Initial weights: ``init`` (name or callable of course_lib.initializers)
        if given, else ``weight_scale * N(0, 1)``; cast to the model's dtype."""
        if init is None:
            if weight_scale < 0:
                raise ValueError(f"weight_scale must be >= 0, got {weight_scale!r}")
            values = weight_scale * self._init_rng.standard_normal(shape)
        else:
            values = initializers.get_initializer(init)(shape, self._init_rng)
        values = np.asarray(values, dtype=self.dtype)
        if values.shape != tuple(shape):
            raise ValueError(f"initializer {init!r} returned shape {values.shape}, "
                             f"expected {tuple(shape)}")
        return values

    def _layer_params(self, layer):
        """``{"W": ..., "b": ..., ["gamma": ..., "beta": ...]}`` of one layer, e.g. "fc1"."""
        prefix = layer + "."
        return {name[len(prefix):]: value for name, value in self.params.items()
                if name.startswith(prefix)}

    def _zeros(self, size):
        return np.zeros(size, dtype=self.dtype)

    def _ones(self, size):
        return np.ones(size, dtype=self.dtype)

    def _as_input(self, X, expected_shape):
        """X as an array of the model's dtype, with a clear error for a wrong shape.

        ``expected_shape`` is a tuple such as (3, 32, 32) for an exact
        per-example shape, or an int D when any shape with D numbers per
        example will do (fully connected nets flatten their input).
        """
        X = np.asarray(X)
        if isinstance(expected_shape, (int, np.integer)):
            ok = X.ndim >= 2 and int(np.prod(X.shape[1:])) == expected_shape
            want = f"(N, {expected_shape}) or any (N, ...) with {expected_shape} values per example"
        else:
            ok = X.ndim == 1 + len(expected_shape) and X.shape[1:] == tuple(expected_shape)
            want = "(N, " + ", ".join(str(d) for d in expected_shape) + ")"
        if not ok:
            raise ValueError(f"{type(self).__name__} expects X of shape {want}, got {X.shape}. "
                             "Check flatten / channels_first when loading the data.")
        return X.astype(self.dtype, copy=False)

    def _add_l2(self, loss, grads):
        """Add ``reg * sum(W*W)`` to the loss and ``2 * reg * W`` to each weight gradient.

        The weight gradients are updated in place: they are the arrays the
        backward pass just made for this call.
        """
        if self.reg == 0:
            return loss, grads
        for name, value in self.params.items():
            if is_weight(name):
                sum_squares, grads[name] = l2_term(value, grads[name], self.reg)
                loss += self.reg * sum_squares
        return loss, grads


def l2_term(w, dw, reg):
    """``sum(w * w)`` as a float, and ``dw + 2 * reg * w`` written into ``dw``.

    Both in one pass over ``w``, a block of 256 KB at a time, so that each
    block is read from memory once and ``dw`` is updated where it lies. The
    textbook lines ``np.sum(w * w)`` and ``dw + 2 * reg * w`` read ``w``
    twice and write two temporaries and a new gradient as large as ``w``:
    on the 3072 x 500 weights of a two-layer net, 3.2 ms against 2.1 ms
    this way in float64, 1.8 against 1.1 ms in float32 (AMD EPYC, 1
    thread, the weights not in the cache). It runs on one thread: the pass
    is limited by memory bandwidth, and two threads sharing the blocks took
    as long as one (1.6-1.9 ms on 3072 x 500 float64 weights, 4.3-4.7 ms on
    3072 x 1024). ``dw`` that cannot be
    written in place (read-only, not contiguous, another dtype) gets a new
    array instead. Returns ``(sum_squares, dw)``.
    """
    scale = 2.0 * float(reg)
    if not (isinstance(dw, np.ndarray) and dw.shape == w.shape and dw.dtype == w.dtype
            and dw.flags.writeable and dw.flags.c_contiguous and w.flags.c_contiguous
            and np.issubdtype(w.dtype, np.floating)):
        return float(np.sum(w * w)), dw + scale * w
    flat_w, flat_dw = w.reshape(-1), dw.reshape(-1)
    step = parallel.block_length(w.itemsize)
    scratch = np.empty(min(step, w.size), dtype=w.dtype)
    sum_squares = 0.0
    for start in range(0, w.size, step):
        w_b, dw_b = flat_w[start:start + step], flat_dw[start:start + step]
        sum_squares += float(np.dot(w_b, w_b))      # BLAS dot: no temporary
        dw_b += np.multiply(w_b, scale, out=scratch[:len(w_b)])
    return sum_squares, dw
