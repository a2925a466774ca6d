"""Weight initialization schemes.

Every initializer has the signature ``init(shape, rng=None, **hyper) ->
ndarray``: ``rng`` is a ``numpy.random.Generator``, an int seed or None, and
the hyperparameters are keyword-only with defaults, so ``functools.partial``
fixes them (``partial(sparse, num_nonzero=5)``). Models obtain one with
:func:`get_initializer`.

Why the scale matters: with ``n`` inputs of unit variance, the output
``s = sum_i w_i x_i`` has variance ``n Var(w)``. Choosing ``Var(w) = 1/n``
keeps it at 1 layer after layer ("calibrating the variances"); a ReLU zeroes
half of its inputs, so He et al. use ``Var(w) = 2/n``; Glorot and Bengio
balance the forward and backward passes with ``Var(w) = 2 / (n_in + n_out)``.

Fan-in and fan-out by shape (see :func:`fan_in_fan_out`):

=====================  ==================  ==============  ==============
weights                shape               fan_in          fan_out
=====================  ==================  ==============  ==============
dense                  (D, M)              D               M
maxout (k pieces)      (k, D, M)           D               M
convolution            (F, C, HH, WW)      C * HH * WW     F * HH * WW
bias / vector          (M,)                M               M
=====================  ==================  ==============  ==============
"""
import functools
import numbers

import numpy as np

__all__ = ["fan_in_fan_out", "zeros", "small_random", "lecun_normal", "he_normal",
           "xavier_normal", "xavier_uniform", "sparse", "constant_bias", "get_initializer"]


def fan_in_fan_out(shape):
    """Number of inputs and outputs of each unit for weights of ``shape``.

    Returns ``(fan_in, fan_out)`` following the table in the module
    docstring. Raises ``ValueError`` for other numbers of dimensions.
    """
    shape = _check_shape("fan_in_fan_out", shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) in (2, 3):
        return shape[-2], shape[-1]
    if len(shape) == 4:
        F, C, HH, WW = shape
        return C * HH * WW, F * HH * WW
    raise ValueError(f"cannot tell fan-in of weights with shape {shape}: expected (M,), (D, M), "
                     "(k, D, M) or (F, C, HH, WW)")


def zeros(shape, rng=None):
    """All zeros. Do not use for weights: every unit of a layer then computes
    the same output and receives the same gradient, so they stay identical
    forever (the symmetry problem). Fine for biases."""
    return np.zeros(_check_shape("zeros", shape))


def small_random(shape, rng=None, *, scale=0.01):
    """Gaussian weights ``scale * N(0, 1)``; the classic ``0.01 * randn``.

    Breaks symmetry, but in a deep net the activations shrink layer by layer
    when ``scale`` is too small (and explode when it is too large).
    """
    if scale < 0:
        raise ValueError(f"small_random: scale must be >= 0, got {scale}")
    return scale * _rng(rng).standard_normal(_check_shape("small_random", shape))


def lecun_normal(shape, rng=None):
    """``N(0, 1) / sqrt(fan_in)``: output variance equals input variance for
    linear or tanh-like units (``Var(w) = 1/n``)."""
    shape = _check_shape("lecun_normal", shape)
    fan_in, _ = fan_in_fan_out(shape)
    return _rng(rng).standard_normal(shape) / np.sqrt(fan_in)


def he_normal(shape, rng=None):
    """``N(0, 1) * sqrt(2 / fan_in)``, the choice for ReLU networks
    (``Var(w) = 2/n`` compensates for the half of the inputs a ReLU zeroes)."""
    shape = _check_shape("he_normal", shape)
    fan_in, _ = fan_in_fan_out(shape)
    return _rng(rng).standard_normal(shape) * np.sqrt(2.0 / fan_in)


def xavier_normal(shape, rng=None):
    """Glorot normal: ``N(0, 2 / (fan_in + fan_out))``."""
    shape = _check_shape("xavier_normal", shape)
    fan_in, fan_out = fan_in_fan_out(shape)
    return _rng(rng).standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform(shape, rng=None):
    """Glorot uniform on ``[-a, a]`` with ``a = sqrt(6 / (fan_in + fan_out))``,
    which has the same variance ``a^2 / 3 = 2 / (fan_in + fan_out)`` as
    :func:`xavier_normal`."""
    shape = _check_shape("xavier_uniform", shape)
    fan_in, fan_out = fan_in_fan_out(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return _rng(rng).uniform(-limit, limit, size=shape)


def sparse(shape, rng=None, *, num_nonzero=10, scale=0.01):
    """Sparse initialization: each unit is connected to ``num_nonzero``
    randomly chosen inputs with weights ``scale * N(0, 1)``; all other
    weights are 0.

    The zeros make the scale independent of the fan-in, and the random choice
    of connections breaks the symmetry. A unit is a column of dense weights
    (D, M), a filter of convolution weights (F, C, HH, WW). When the fan-in
    is smaller than ``num_nonzero`` every input is connected.
    """
    shape = _check_shape("sparse", shape)
    if int(num_nonzero) != num_nonzero or num_nonzero < 1:
        raise ValueError(f"sparse: num_nonzero must be a positive integer, got {num_nonzero!r}")
    rng = _rng(rng)
    fan_in, _ = fan_in_fan_out(shape)
    if len(shape) == 4:
        num_units = shape[0]
    elif len(shape) == 1:
        num_units, fan_in = 1, shape[0]
    else:
        num_units = int(np.prod(shape)) // fan_in
    # One column per unit: a random permutation of its inputs, first num_nonzero kept.
    chosen = np.argsort(rng.random((fan_in, num_units)), axis=0)[:int(num_nonzero)]
    w = np.zeros((fan_in, num_units))
    np.put_along_axis(w, chosen, scale * rng.standard_normal(chosen.shape), axis=0)
    if len(shape) == 4:
        return w.T.reshape(shape)  # (F, C*HH*WW) -> (F, C, HH, WW)
    if len(shape) == 3:
        # Columns are ordered (piece, unit); move the piece axis to the front.
        k, D, M = shape
        return w.reshape(D, k, M).transpose(1, 0, 2).copy()
    return w.reshape(shape)


def constant_bias(shape, rng=None, *, value=0.0):
    """Every entry equal to ``value``. Biases are usually 0; some use 0.01
    for ReLU layers so that every unit starts active (its benefit is not
    consistent)."""
    return np.full(_check_shape("constant_bias", shape), float(value))


_BY_NAME = {
    "zeros": zeros,
    "small": small_random,
    "lecun": lecun_normal,
    "he": he_normal,
    "xavier": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "sparse": sparse,
}


def get_initializer(name_or_callable):
    """Look up an initializer ``init(shape, rng) -> ndarray``.

    Parameters
    ----------
    name_or_callable : str, float or callable
        One of ``"zeros", "small", "lecun", "he", "xavier",
        "xavier_uniform", "sparse"``; a float ``s`` for ``s * N(0, 1)``
        (:func:`small_random` with ``scale=s``); or a callable, returned
        unchanged.

    Examples
    --------
    >>> init = get_initializer("he")
    >>> init((3, 4), np.random.default_rng(0)).shape
    (3, 4)
    >>> float(get_initializer(0.0)((2,), 0)[0])
    0.0
    """
    if callable(name_or_callable):
        return name_or_callable
    if isinstance(name_or_callable, str):
        try:
            return _BY_NAME[name_or_callable]
        except KeyError:
            raise ValueError(f"unknown initializer {name_or_callable!r}; choose one of "
                             f"{sorted(_BY_NAME)}, a float weight scale, or a callable "
                             "init(shape, rng)") from None
    if isinstance(name_or_callable, numbers.Real) and not isinstance(name_or_callable, bool):
        return functools.partial(small_random, scale=float(name_or_callable))
    raise TypeError("get_initializer expects a name, a float weight scale or a callable "
                    f"init(shape, rng); got {type(name_or_callable).__name__}")


def _rng(rng):
    return np.random.default_rng(rng)


def _check_shape(name, shape):
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        dims = tuple(shape)
        shape = tuple(int(n) for n in dims)
    except TypeError:
        raise TypeError(f"{name}(shape, rng=None, ...): shape must be a tuple of ints such as "
                        f"(D, M), got {shape!r}. Hyperparameters are keyword-only: fix them "
                        f"with functools.partial({name}, ...)") from None
    if shape != dims:
        raise TypeError(f"{name}: shape must hold whole numbers, got {dims!r}")
    if any(n < 1 for n in shape):
        raise ValueError(f"{name}: every dimension of shape must be positive, got {shape}")
    return shape
