"""Shared test helpers: one line checks a layer's backward pass."""
import re

import numpy as np

from course_lib.gradcheck import eval_numerical_gradient_array


def check_layer(forward, backward, *args, seed=0, h=1e-6, tol=1e-7, wrt=None,
                **kwargs):
    """Check ``backward`` against centred numerical gradients of ``forward``.

    ``forward(*args, **kwargs) -> (out, cache)`` and ``backward(dout, cache)``
    returns the gradients of the array arguments in their order (one array
    or a tuple). Every array argument is converted to float64 first. Also
    asserts that backward mutates neither ``dout`` nor any argument.

    ``wrt`` restricts the check to some argument positions (default: all
    array arguments that have a gradient). Returns ``{position: rel_error}``.
    """
    # dout comes from its own stream: a test that builds its inputs from the
    # same seed would otherwise get a dout correlated with them (for batch
    # norm this can make the true gradient exactly zero).
    rng = np.random.default_rng([seed, 0x5EED])
    args = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) else a
            for a in args]
    array_pos = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

    out, cache = forward(*args, **kwargs)
    dout = rng.standard_normal(np.shape(out))
    saved_args = [a.copy() for a in args if isinstance(a, np.ndarray)]
    saved_dout = dout.copy()
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    np.testing.assert_array_equal(dout, saved_dout, err_msg="backward mutated dout")
    for a, saved in zip([a for a in args if isinstance(a, np.ndarray)], saved_args):
        np.testing.assert_array_equal(a, saved, err_msg="an input was mutated")
    assert len(grads) <= len(array_pos), "backward returned more gradients than inputs"

    errors = {}
    for pos, grad in zip(array_pos, grads):
        if wrt is not None and pos not in wrt:
            continue

        def f(value, pos=pos):
            trial = list(args)
            trial[pos] = value
            return forward(*trial, **kwargs)[0]

        numeric = eval_numerical_gradient_array(f, args[pos], dout, h=h)
        assert np.shape(grad) == numeric.shape, (
            f"gradient {pos} has shape {np.shape(grad)}, expected {numeric.shape}")
        errors[pos] = gradient_error(numeric, grad)
        assert errors[pos] < tol, (
            f"{getattr(forward, '__name__', repr(forward))}: gradient of argument {pos} has error "
            f"{errors[pos]:.2e} (tolerance {tol:.0e})")
    return errors


# ---- comparing results that add the same terms in another order ------------
#
# Threads, BLAS kernels (AVX2 vs AVX-512) and CPUs add the terms of a sum in
# different orders, so the same computation differs in its last bits from one
# machine, build or thread count to another. Such comparisons must not use an
# element-wise relative error (an entry that nearly cancels can differ by
# 100% of itself) nor bit equality: they compare the difference with the
# array's scale, and allow the rounding error of an n-term sum.

def scaled_error(actual, expected):
    """``max|a - e| / max|e|``: the difference relative to the result's scale
    (not element by element). Shapes must match."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shapes {actual.shape} != {expected.shape}"
    if actual.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(expected))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(actual - expected))) / scale


def sum_tolerance(dtype, n_terms, safety=10.0):
    """Tolerance on ``scaled_error`` for two orders of summing ``n_terms``
    products in ``dtype``: rounding errors of random-signed terms grow like
    ``eps * sqrt(n)`` (float32 eps 1.2e-7, float64 2.2e-16); ``safety``
    covers the constant and the inputs' own rounding."""
    return safety * float(np.finfo(dtype).eps) * float(np.sqrt(max(n_terms, 1)))


def gradient_error(numeric, analytic):
    """``max|n - a| / max(max|n|, max|a|)``: an analytic gradient against
    centred differences, relative to the gradient's scale.

    Not the element-wise ``rel_error`` the book teaches: the centred
    difference carries an absolute error of about ``eps * |f| / h`` in every
    entry, which is far below the scale but can be 1e-6 of an entry that is
    nearly zero, and that entry's last digits change with the BLAS kernel,
    the CPU and the thread count. A real bug moves the error to 1e-3 or more.
    """
    numeric = np.asarray(numeric, dtype=np.float64)
    analytic = np.asarray(analytic, dtype=np.float64)
    assert numeric.shape == analytic.shape, f"shapes {numeric.shape} != {analytic.shape}"
    if numeric.size == 0:
        return 0.0
    if not (np.all(np.isfinite(numeric)) and np.all(np.isfinite(analytic))):
        return float("inf")
    scale = max(float(np.max(np.abs(numeric))), float(np.max(np.abs(analytic))),
                np.finfo(np.float64).tiny)
    return float(np.max(np.abs(numeric - analytic))) / scale


def describes_a_figure(alt):
    """Is ``alt`` words that say what a figure shows, not a file name, an
    image path or an address (Sphinx's default alt text is the path)?"""
    alt = str(alt).strip()
    return len(alt) >= 6 and not re.search(r"^\S+\.(png|jpe?g|svg|gif)$|^_images/|^https?://", alt)
