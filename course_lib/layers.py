"""Layers as pure forward/backward function pairs.

Every layer is two functions::

    out, cache = op_forward(x, *params, **hyper)
    dx, *dparams = op_backward(dout, cache)

``backward`` returns the gradient of the loss with respect to each array
argument of ``forward``, in the same order and with the same shapes. Neither
function modifies its inputs or the cache, so a forward pass can be replayed
or checked numerically as often as you like.

Shapes: ``N`` is the batch size, ``D`` the number of input features (the
product ``d1 * ... * dk`` when ``x`` is an image batch), ``M`` the number of
output units, ``k`` the number of linear pieces of a maxout unit.

Also here are plain element-wise activations (``step``, ``sigmoid``,
``relu``, ``leaky_relu``) for plotting and for hand-built networks.
"""
import numbers

import numpy as np

from course_lib import parallel

__all__ = [
    "step", "sigmoid", "relu", "leaky_relu",
    "affine_forward", "affine_backward", "affine_param_grads",
    "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward", "ACTIVATIONS",
    "maxout_forward", "maxout_backward",
    "dropout_forward", "dropout_backward",
]


# ---- plain element-wise activations ---------------------------------------

def step(x, threshold=0.0):
    """Heaviside step: 1.0 where ``x > threshold``, else 0.0.

    The activation of the perceptron and of the hand-set AND / XOR networks.
    Its derivative is zero almost everywhere, which is why gradient descent
    cannot train it.
    """
    return (np.asarray(x) > threshold).astype(np.float64)


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, without overflow.

    ``exp`` is only ever taken of ``-|x|``, which lies in (0, 1], so the
    result is exact to rounding for any finite ``x`` (also +-1e4) and no
    overflow warning is raised.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def relu(x):
    """Rectified linear unit ``max(0, x)``."""
    return np.maximum(x, 0)


def leaky_relu(x, alpha=0.01):
    """Leaky ReLU: ``x`` for ``x > 0``, ``alpha * x`` otherwise."""
    x = np.asarray(x)
    return np.where(x > 0, x, alpha * x)


# ---- affine ---------------------------------------------------------------

def affine_forward(x, w, b):
    """Fully connected layer ``out = x w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
        Inputs; each example is flattened to a row of length
        ``D = d1 * ... * dk``.
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        ``(x, w, b)`` for :func:`affine_backward`.

    Examples
    --------
    >>> x = np.ones((2, 3)); w = np.eye(3)[:, :2]; b = np.array([0.5, -0.5])
    >>> affine_forward(x, w, b)[0]
    array([[1.5, 0.5],
           [1.5, 0.5]])
    """
    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    if x.ndim < 1 or w.ndim != 2 or b.ndim != 1:
        raise ValueError(
            "affine_forward expects x of shape (N, ...), w of shape (D, M) and b of "
            f"shape (M,); got x {x.shape}, w {w.shape}, b {b.shape}")
    num_features = int(np.prod(x.shape[1:]))
    if num_features != w.shape[0] or b.shape[0] != w.shape[1]:
        raise ValueError(
            f"affine_forward: x {x.shape} flattens to (N, {num_features}) but w is "
            f"{w.shape} and b is {b.shape}; w needs {num_features} rows and b one "
            "entry per column of w")
    out = parallel.matmul(x.reshape(x.shape[0], num_features), w)      # (N, D) @ (D, M)
    if np.result_type(out, b) == out.dtype:
        out += b                # in place: one pass, no second (N, M) array
    else:
        out = out + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward pass of :func:`affine_forward`.

    With ``X`` the inputs flattened to (N, D)::

        dx = dout w^T   (reshaped to x's shape)
        dw = X^T dout
        db = sum_n dout[n]

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple from :func:`affine_forward`

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    x, w, _ = cache
    dx = parallel.matmul(dout, w.T).reshape(x.shape)
    return (dx, *affine_param_grads(dout, cache))


def affine_param_grads(dout, cache):
    """The parameter gradients of :func:`affine_backward` alone: ``(dw, db)``.

    A network's first layer needs no gradient for its input (the data), and
    there ``dx = dout w^T`` is as large a product as the forward pass
    (N x D x M, the largest D of the network): the models skip it, as
    autograd frameworks do for inputs that need no gradient.
    """
    x = cache[0]
    x_rows = x.reshape(x.shape[0], -1)  # (N, D)
    return parallel.matmul(x_rows.T, dout), dout.sum(axis=0)


# ---- activations as layers ------------------------------------------------

def relu_forward(x):
    """ReLU layer ``out = max(0, x)``, any shape.

    Returns ``(out, cache)`` with ``cache = x``.
    """
    x = np.asarray(x)
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`: ``dx = dout * [x > 0]``.

    The gradient at exactly ``x = 0`` is taken as 0 (a subgradient). Written
    as a product with the boolean mask, which numpy runs 5x faster than
    ``np.where(x > 0, dout, 0)`` (whose only difference: an infinite or NaN
    ``dout`` where ``x <= 0`` gives 0 there, NaN here).
    """
    x = cache
    return np.multiply(dout, x > 0)


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU layer: ``out = x`` where ``x > 0``, ``alpha * x`` elsewhere.

    The small slope ``alpha`` keeps a gradient flowing through negative
    inputs, so a unit cannot "die" the way a ReLU unit can.
    """
    x = np.asarray(x)
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    """Backward pass of :func:`leaky_relu_forward`: ``dx = dout * (1 if x > 0 else alpha)``."""
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)


def sigmoid_forward(x):
    """Sigmoid layer ``out = 1 / (1 + exp(-x))``, stable for large ``|x|``.

    Returns ``(out, cache)``; the cache holds ``out`` because the derivative
    is expressed through it.
    """
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of :func:`sigmoid_forward`: ``dx = dout * s (1 - s)``.

    ``s (1 - s) <= 1/4``, and it vanishes when ``|x|`` is large: the
    saturation that stalls learning in deep sigmoid networks.
    """
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(x):
    """Tanh layer ``out = tanh(x) = 2 sigmoid(2x) - 1`` (zero-centred)."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of :func:`tanh_forward`: ``dx = dout * (1 - tanh(x)^2)``."""
    t = cache
    # (1 - t)(1 + t) rather than 1 - t*t: near |t| = 1 the subtraction 1 - t is
    # exact, while t*t is rounded before the cancellation.
    return dout * ((1.0 - t) * (1.0 + t))


# name -> (forward, backward) of the activation layers above; each forward
# takes x alone (leaky ReLU keeps its default slope alpha = 0.01). Models and
# course_lib.diagnostics pick their activation from here by name.
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
}


# ---- maxout ---------------------------------------------------------------

def maxout_forward(x, w, b):
    """Maxout layer: each output unit is the largest of ``k`` linear pieces.

    ``out[n, m] = max_j (x[n] @ w[j, :, m] + b[j, m])``. With ``k = 2`` and
    one piece fixed at zero it is a ReLU; with the pieces ``x`` and
    ``alpha x`` a leaky ReLU. It costs ``k`` times the parameters of an
    affine layer.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk), flattened to (N, D)
    w : ndarray, shape (k, D, M)
    b : ndarray, shape (k, M)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
    """
    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    if w.ndim != 3 or b.ndim != 2 or b.shape != (w.shape[0], w.shape[2]):
        raise ValueError("maxout_forward expects w of shape (k, D, M) and b of shape "
                         f"(k, M); got w {w.shape}, b {b.shape}")
    x_rows = x.reshape(x.shape[0], -1)  # (N, D)
    if x_rows.shape[1] != w.shape[1]:
        raise ValueError(f"maxout_forward: x flattens to {x_rows.shape} but w is {w.shape}; "
                         f"w needs D = {x_rows.shape[1]} in its middle axis")
    pieces = x_rows @ w + b[:, None, :]  # (k, N, M)
    # argmax returns the first maximum, so ties route the gradient to the lowest piece.
    winner = pieces.argmax(axis=0)  # (N, M)
    out = np.take_along_axis(pieces, winner[None], axis=0)[0]
    return out, (x, w, b, winner)


def maxout_backward(dout, cache):
    """Backward pass of :func:`maxout_forward`.

    Like a max gate, the gradient flows only into the winning piece
    ``j* = argmax_j``; that piece then backpropagates like an affine layer.

    Returns
    -------
    dx : ndarray, shape of x
    dw : ndarray, shape (k, D, M)
    db : ndarray, shape (k, M)
    """
    x, w, _, winner = cache
    x_rows = x.reshape(x.shape[0], -1)  # (N, D)
    num_pieces = w.shape[0]
    # dpieces[j] is dout where piece j won, else 0.
    dpieces = np.where(winner[None] == np.arange(num_pieces)[:, None, None], dout, 0.0)
    dx = np.einsum("knm,kdm->nd", dpieces, w).reshape(x.shape)
    dw = x_rows.T @ dpieces  # (k, D, M)
    db = dpieces.sum(axis=1)
    return dx, dw, db


# ---- dropout --------------------------------------------------------------

def dropout_forward(x, p, train=True, seed=None):
    """Inverted dropout with keep probability ``p``.

    In training each unit is kept with probability ``p`` and the kept ones
    are divided by ``p``::

        mask = (u < p) / p,  u ~ Uniform[0, 1)
        out = x * mask

    so ``E[out] = x``. At test time the layer is the identity and the
    prediction code does not have to rescale anything (that is what
    "inverted" means: the scaling moved from test time to training time).

    Parameters
    ----------
    x : ndarray, any shape
    p : float in (0, 1]
        Probability of *keeping* a unit (``p = 1`` disables dropout).
        Note that PyTorch's ``Dropout(p)`` takes the drop probability instead.
    train : bool
        False for evaluation: ``out`` is a copy of ``x``.
    seed : None, int or numpy.random.Generator
        Source of the mask; an int makes it reproducible, a Generator lets a
        model draw successive masks from one stream.

    Returns
    -------
    out : ndarray, shape of x
    cache : tuple ``(mask, train)``; mask is None at test time.
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
        raise ValueError(f"dropout keep probability p must be a number in (0, 1], got {p!r}; "
                         "p is the probability of keeping a unit, e.g. p=0.5")
    x = np.asarray(x)
    if not train:
        return x.copy(), (None, False)
    rng = np.random.default_rng(seed)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    mask = ((rng.random(x.shape) < p) / p).astype(dtype, copy=False)
    return x * mask, (mask, True)


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`: ``dx = dout * mask``.

    The same mask as in the forward pass (read from the cache); at test time
    the gradient passes through unchanged.
    """
    mask, train = cache
    if not train:
        return np.array(dout, copy=True)
    return dout * mask
