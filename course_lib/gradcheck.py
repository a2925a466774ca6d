"""Numerical gradients and the relative error used to compare them.

All functions use the centred difference

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)

whose error is O(h^2), against O(h) for the one-sided formula. Work in
float64: in float32 the rounding error of f swamps the difference.
"""
import numpy as np

__all__ = ["rel_error", "eval_numerical_gradient",
           "eval_numerical_gradient_array", "grad_check_sparse"]


def rel_error(x, y):
    """Largest element-wise relative error ``|x - y| / max(1e-8, |x| + |y|)``.

    Rough guide (float64): < 1e-7 correct; 1e-7..1e-4 suspicious unless the
    function has kinks; > 1e-2 almost surely wrong.

    Raises ``ValueError`` when the shapes differ, instead of broadcasting.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error: shapes differ, {x.shape} vs {y.shape}")
    if x.size == 0:
        return 0.0
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return float("inf")
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x, h=1e-5, verbose=False):
    """Centred numerical gradient of a scalar function ``f`` at ``x``.

    ``x`` is perturbed in place one entry at a time and restored afterwards,
    so it must be a float array (float64 recommended).

    Returns an array of ``x``'s shape.
    """
    _require_float(x)
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = float(f(x))
        x[ix] = old - h
        fxmh = float(f(x))
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of ``sum(f(x) * df)``: the vector-Jacobian product
    of an array-valued ``f`` with the upstream gradient ``df``.

    This is what a layer's backward pass computes, so it checks ``dx`` of a
    layer directly: ``eval_numerical_gradient_array(lambda x: fwd(x)[0], x, dout)``.
    """
    _require_float(x)
    df = np.asarray(df)
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old
        if pos.shape != df.shape:
            raise ValueError(f"f(x) has shape {pos.shape} but df has shape {df.shape}")
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None,
                      verbose=False):
    """Compare ``analytic_grad`` with centred differences at ``num_checks``
    randomly chosen entries of ``x`` (cheap when ``x`` is large).

    Returns the array of ``num_checks`` relative errors; prints them when
    ``verbose`` is true.
    """
    _require_float(x)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad has shape {analytic_grad.shape}, "
                         f"expected x's shape {x.shape}")
    rng = np.random.default_rng(seed)
    errors = np.empty(num_checks)
    for k in range(num_checks):
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        old = x[ix]
        x[ix] = old + h
        fxph = float(f(x))
        x[ix] = old - h
        fxmh = float(f(x))
        x[ix] = old
        numeric = (fxph - fxmh) / (2 * h)
        analytic = float(analytic_grad[ix])
        denom = max(1e-8, abs(numeric) + abs(analytic))
        errors[k] = abs(numeric - analytic) / denom
        if verbose:
            print(f"numerical: {numeric:+.6e} analytic: {analytic:+.6e}, "
                  f"relative error: {errors[k]:.2e}")
    return errors


def _require_float(x):
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError("the point x must be a float numpy array (it is perturbed "
                        f"in place); got {type(x).__name__} "
                        f"{getattr(x, 'dtype', '')}".rstrip())
