"""Batch normalization and layer normalization as forward/backward pairs.

Both normalize, then scale and shift with learned ``gamma`` and ``beta``::

    x_hat = (x - mean) / sqrt(var + eps)
    out   = gamma * x_hat + beta

Batch normalization takes ``mean`` and ``var`` per feature over the batch
(axis 0) in training, and the running averages in ``stats`` at test time.
Layer normalization takes them per example over the features (axis 1) and
behaves the same in training and at test time.

Shapes: ``N`` batch, ``D`` features, ``C`` channels, ``H, W`` height and width.
Running statistics live in an explicit :class:`BatchNormStats` object that
``batchnorm_forward`` updates in training mode, not in a dict of options.
"""
from dataclasses import dataclass

import numpy as np

from course_lib import conv, parallel

__all__ = [
    "BatchNormStats",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
]


@dataclass
class BatchNormStats:
    """Running per-feature mean and variance of a batch-norm layer.

    Create one per layer with :meth:`create` and pass it to every call of
    :func:`batchnorm_forward`. In training mode the forward pass replaces
    both arrays by exponential moving averages; in test mode it only reads
    them.

    Attributes
    ----------
    running_mean : ndarray, shape (D,)
    running_var : ndarray, shape (D,)
    """

    running_mean: np.ndarray
    running_var: np.ndarray

    @classmethod
    def create(cls, num_features, dtype=np.float64):
        """Statistics of a fresh layer: mean 0 and variance 1 for ``num_features`` features."""
        if int(num_features) != num_features or num_features < 1:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        return cls(np.zeros(int(num_features), dtype=dtype), np.ones(int(num_features), dtype=dtype))

    def copy(self):
        """An independent copy (e.g. to snapshot the statistics of a model)."""
        return BatchNormStats(self.running_mean.copy(), self.running_var.copy())


def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    """Batch normalization of a (N, D) batch, per feature.

    Training mode uses the batch statistics ``mu = mean_n x``,
    ``var = mean_n (x - mu)^2`` (the biased variance, as in the forward
    normalization) and, when ``stats`` is given, updates it in place::

        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var

    Test mode normalizes with ``stats.running_mean`` and ``stats.running_var``
    and does not change them.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma, beta : ndarray, shape (D,)
    stats : BatchNormStats or None
        Required in test mode; may be None in training mode (then no running
        statistics are kept).
    train : bool
    momentum : float in [0, 1]
        Weight of the old running value. PyTorch's ``momentum`` is the weight
        of the new value (``1 - momentum`` here), and its running variance
        uses the unbiased ``N / (N - 1)`` correction.
    eps : float
        Added to the variance so a constant feature does not divide by zero.

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple for :func:`batchnorm_backward` / :func:`batchnorm_backward_alt`
    """
    x, gamma, beta = np.asarray(x), np.asarray(gamma), np.asarray(beta)
    _check_norm_shapes("batchnorm_forward", x, gamma, beta)
    _check_momentum_and_stats(momentum, stats, x.shape[1])
    if train:
        if x.shape[0] < 2:
            raise ValueError("batchnorm_forward in training mode needs at least 2 examples "
                             f"to estimate a variance, got x of shape {x.shape}; "
                             "use train=False for single examples")
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        if stats is not None:
            stats.running_mean = momentum * stats.running_mean + (1 - momentum) * mu
            stats.running_var = momentum * stats.running_var + (1 - momentum) * var
    else:
        if stats is None:
            raise ValueError("batchnorm_forward in test mode (train=False) needs the running "
                             "statistics: pass the BatchNormStats the layer was trained with")
        xc = x - stats.running_mean
        var = stats.running_var
    std = np.sqrt(var + eps)
    x_hat = xc / std
    out = gamma * x_hat + beta
    return out, (train, x_hat, xc, std, gamma)


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward`, node by node.

    Walks the computational graph of the forward pass backwards:
    ``out = gamma * x_hat + beta``, ``x_hat = xc * (1 / std)``,
    ``std = sqrt(var + eps)``, ``var = mean(xc^2)``, ``xc = x - mu``,
    ``mu = mean(x)``. Each line below is one node's local gradient.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma, dbeta : ndarray, shape (D,)
    """
    train, x_hat, xc, std, gamma = cache
    num_rows = x_hat.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if not train:
        # Test mode: mean and variance are constants, the layer is affine in x.
        return dx_hat / std, dgamma, dbeta
    inv_std = 1.0 / std
    dxc = dx_hat * inv_std                                   # through x_hat = xc * inv_std
    dinv_std = (dx_hat * xc).sum(axis=0)
    dstd = -dinv_std / (std * std)                           # inv_std = 1 / std
    dvar = dstd * 0.5 / std                                  # std = sqrt(var + eps)
    dxc = dxc + (2.0 / num_rows) * xc * dvar                 # var = mean(xc^2)
    dmu = -dxc.sum(axis=0)                                   # xc = x - mu
    dx = dxc + dmu / num_rows                                # mu = mean(x)
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of :func:`batchnorm_forward` in closed form.

    Simplifying the graph of :func:`batchnorm_backward` on paper gives, per
    feature, with ``g = dout * gamma`` (the gradient with respect to x_hat)::

        dx = (g - mean_n(g) - x_hat * mean_n(g * x_hat)) / std

    The same numbers as :func:`batchnorm_backward` with fewer temporaries.
    Returns ``(dx, dgamma, dbeta)``.
    """
    train, x_hat, _, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    if not train:
        return g / std, dgamma, dbeta
    dx = _normalized_backward(g, x_hat, std, axis=0)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalization: normalize each example over its D features.

    ``mu_n = mean_d x[n]``, ``var_n = mean_d (x[n] - mu_n)^2``; then scale
    and shift per feature with ``gamma`` and ``beta``. No running statistics:
    training and test time compute the same thing, and a batch of one works.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma, beta : ndarray, shape (D,)
    eps : float

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple for :func:`layernorm_backward`
    """
    x, gamma, beta = np.asarray(x), np.asarray(gamma), np.asarray(beta)
    _check_norm_shapes("layernorm_forward", x, gamma, beta)
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    std = np.sqrt((xc * xc).mean(axis=1, keepdims=True) + eps)  # (N, 1)
    x_hat = xc / std
    return gamma * x_hat + beta, (x_hat, std, gamma)


def layernorm_backward(dout, cache):
    """Backward pass of :func:`layernorm_forward`.

    The batch-norm closed form with the roles of the axes swapped, per
    example: ``dx = (g - mean_d(g) - x_hat * mean_d(g * x_hat)) / std`` with
    ``g = dout * gamma``. Returns ``(dx, dgamma, dbeta)``.
    """
    x_hat, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = _normalized_backward(dout * gamma, x_hat, std, axis=1)
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    """Batch normalization for convolutional feature maps, per channel.

    Every position of a channel is one more sample of that channel, so the
    statistics are taken over N, H and W: the same numbers as
    :func:`batchnorm_forward` on ``x`` reshaped to (N*H*W, C), running
    statistics included.

    Computed without that reshape, which would move every value (the
    channel axis last, and back for the output): on the (N, C, H*W) view of
    ``x`` a channel's values in one example are contiguous, so each sum is
    a fast contiguous reduction. The batch is done a few examples at a time
    (see :func:`_over_chunks`; the threads of
    :func:`course_lib.parallel.set_num_threads` share the chunks), each chunk's
    centred values ``x - mean`` going to a small scratch buffer that stays
    in the CPU cache, first to sum their squares, then to compute
    ``out = (x - mean) * (gamma / std) + beta``. No array of the batch's
    size is made but ``out``; the cache keeps ``x`` itself (which the
    caller does not modify, see :mod:`course_lib.layers`). Every sum over
    positions is taken per example and channel, then over the batch in
    order, so any number of threads gives the same numbers.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    stats : BatchNormStats for C features, or None in training mode
    train, momentum, eps : as in :func:`batchnorm_forward`

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple ``(train, x, mu, inv_std, gamma)`` for
        :func:`spatial_batchnorm_backward`: ``mu`` (C,) is the mean ``x``
        was normalized with (the batch's, or in test mode the running one)
        and ``inv_std`` (C,) is ``1 / sqrt(var + eps)``, so that
        ``x_hat = (x - mu[:, None, None]) * inv_std[:, None, None]``
    """
    x, gamma, beta = np.asarray(x), np.asarray(gamma), np.asarray(beta)
    if x.ndim != 4:
        raise ValueError(f"spatial_batchnorm_forward expects x of shape (N, C, H, W), got {x.shape}")
    N, C, H, W = x.shape
    if gamma.shape != (C,) or beta.shape != (C,):
        raise ValueError(f"spatial_batchnorm_forward: gamma and beta need shape ({C},) to match "
                         f"the {C} channels of x {x.shape}; got gamma {gamma.shape}, beta "
                         f"{beta.shape}")
    _check_momentum_and_stats(momentum, stats, C)
    dtype = np.result_type(x, gamma, beta)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    x = x.astype(dtype, copy=False)
    x3 = x.reshape(N, C, H * W)                                        # (N, C, H*W)
    if train:
        num_values = N * H * W                  # samples of each channel
        if num_values < 2:
            raise ValueError("spatial_batchnorm_forward in training mode needs at least 2 "
                             f"values per channel to estimate a variance, got x of shape "
                             f"{x.shape}; use train=False for a single 1x1 example")
        sums = np.empty((N, C), dtype=dtype)     # over the positions of (n, c)
        squares = np.empty((N, C), dtype=dtype)  # of (x - mu)^2, likewise
        _over_chunks(x3, lambda chunk, _: x3[chunk].sum(axis=2, out=sums[chunk]))
        mu = sums.sum(axis=0) / num_values                              # (C,)

        def sum_squares(chunk, scratch):
            xc = np.subtract(x3[chunk], mu[:, None], out=scratch)
            np.vecdot(xc, xc, out=squares[chunk])
        _over_chunks(x3, sum_squares)
        var = squares.sum(axis=0) / num_values
        if stats is not None:
            stats.running_mean = momentum * stats.running_mean + (1 - momentum) * mu
            stats.running_var = momentum * stats.running_var + (1 - momentum) * var
    else:
        if stats is None:
            raise ValueError("spatial_batchnorm_forward in test mode (train=False) needs the "
                             "running statistics: pass the BatchNormStats the layer was "
                             "trained with")
        mu, var = stats.running_mean.astype(dtype), stats.running_var.astype(dtype)
    inv_std = 1 / np.sqrt(var + eps)
    scale, shift = (gamma * inv_std)[:, None], beta.astype(dtype)[:, None]   # (C, 1)
    out = np.empty_like(x3)

    def normalize(chunk, scratch):
        xc = np.subtract(x3[chunk], mu[:, None], out=scratch)
        np.multiply(xc, scale, out=out[chunk])
        out[chunk] += shift
    _over_chunks(x3, normalize)
    return out.reshape(x.shape), (train, x, mu, inv_std, gamma)


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_forward`.

    The closed form of :func:`batchnorm_backward_alt` per channel, with
    ``M = N*H*W`` values per channel, ``s = inv_std``, ``g = dout`` and
    ``xc = x - mu``::

        dbeta  = sum g                 dgamma = s * sum(g * xc)
        dx     = gamma*s * (g - mean(g) - xc * s^2 * mean(g * xc))

    that is ``dx = k1 * g + k2 * xc + k3`` with one number per channel for
    each ``k``. One pass over the batch for both sums, one writing ``dx``,
    both a chunk at a time with ``xc`` in a scratch buffer, as in the
    forward pass. In test mode the mean and variance are constants and
    ``dx = gamma * s * g``.

    Returns ``(dx, dgamma, dbeta)`` with dx of shape (N, C, H, W).
    """
    train, x, mu, inv_std, gamma = cache
    N, C, H, W = x.shape
    if np.shape(dout) != x.shape:
        raise ValueError(f"dout has shape {np.shape(dout)} but the forward pass produced "
                         f"{x.shape}")
    dtype = x.dtype
    g3 = np.asarray(dout, dtype=dtype).reshape(N, C, H * W)            # (N, C, H*W)
    x3 = x.reshape(N, C, H * W)
    sums, dots = np.empty((N, C), dtype=dtype), np.empty((N, C), dtype=dtype)

    def reduce(chunk, scratch):
        xc = np.subtract(x3[chunk], mu[:, None], out=scratch)
        g3[chunk].sum(axis=2, out=sums[chunk])
        np.vecdot(g3[chunk], xc, out=dots[chunk])
    _over_chunks(x3, reduce)
    dbeta, dot = sums.sum(axis=0), dots.sum(axis=0)
    dgamma = dot * inv_std
    k1 = (gamma * inv_std).astype(dtype, copy=False)[:, None]
    dx = np.empty_like(g3)
    if not train:
        _over_chunks(x3, lambda chunk, _: np.multiply(g3[chunk], k1, out=dx[chunk]))
        return dx.reshape(x.shape), dgamma, dbeta
    num_values = N * H * W
    k2 = (-k1[:, 0] * inv_std * inv_std * dot / num_values)[:, None]
    k3 = (-k1[:, 0] * dbeta / num_values)[:, None]

    def input_grad(chunk, scratch):
        xc = np.subtract(x3[chunk], mu[:, None], out=scratch)
        xc *= k2
        xc += k3
        np.multiply(g3[chunk], k1, out=dx[chunk])
        dx[chunk] += xc
    _over_chunks(x3, input_grad)
    return dx.reshape(x.shape), dgamma, dbeta


# Chunks of the batch that spatial batch norm works through: small enough
# that the few passes over each chunk hit the CPU cache, large enough that
# numpy's per-call overhead stays small. With several threads the chunks
# are larger (fewer numpy calls, so the threads wait less for the GIL
# between them), as in course_lib.pooling.
_CHUNK_BYTES = 1 << 18
_THREAD_CHUNK_BYTES = 1 << 20


def _over_chunks(x3, work):
    """Call ``work(chunk, scratch)`` for slices ``chunk`` covering the batch
    axis of ``x3``, with ``scratch`` an array shaped like ``x3[chunk]`` that
    is the calling thread's own. The chunks are shared among the threads of
    :func:`course_lib.parallel.set_num_threads`; ``work`` writes each chunk's
    results where they depend only on the chunk, so every thread count
    gives the same numbers."""
    threads = parallel.get_num_threads()
    size = _CHUNK_BYTES if threads == 1 else _THREAD_CHUNK_BYTES
    chunks = conv._batch_chunks(len(x3), x3[:1].nbytes, size, threads)
    n0 = max(c.stop - c.start for c in chunks)

    def run(tasks):
        scratch = np.empty((n0,) + x3.shape[1:], dtype=x3.dtype)
        for _, chunk in tasks:
            work(chunk, scratch[:chunk.stop - chunk.start])
    parallel._in_threads(run, chunks, threads)


def _normalized_backward(g, x_hat, std, axis):
    """Gradient through ``x_hat = (x - mean(x)) / std(x)`` along ``axis``, given ``g = dL/dx_hat``."""
    g_mean = g.mean(axis=axis, keepdims=True)
    gx_mean = (g * x_hat).mean(axis=axis, keepdims=True)
    return (g - g_mean - x_hat * gx_mean) / std


def _check_norm_shapes(name, x, gamma, beta):
    if x.ndim != 2:
        raise ValueError(f"{name} expects x of shape (N, D), got {x.shape}; "
                         "flatten images first or use spatial_batchnorm_forward for (N, C, H, W)")
    if gamma.shape != (x.shape[1],) or beta.shape != (x.shape[1],):
        raise ValueError(f"{name}: gamma and beta need shape ({x.shape[1]},) to match x "
                         f"{x.shape}; got gamma {gamma.shape}, beta {beta.shape}")


def _check_momentum_and_stats(momentum, stats, num_features):
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
    if stats is not None and stats.running_mean.shape != (num_features,):
        raise ValueError(f"stats hold {stats.running_mean.shape[0]} features but x has "
                         f"{num_features}; create them with BatchNormStats.create({num_features})")
