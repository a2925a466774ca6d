"""Tests for course_lib.layers: affine, activations, maxout, dropout."""
import numpy as np
import pytest

from course_lib import layers
from tests.helpers import check_layer


def away_from_zero(rng, shape, gap=0.05):
    """Standard-normal-sized values with |x| >= gap, so that h never crosses a kink."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(gap, 2.0, size=shape)


# ---- gradients ----------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("x_shape, M", [((4, 5), 3), ((2, 3, 4), 6), ((1, 2, 2, 3), 1)])
def test_affine_gradients(x_shape, M, seed):
    """Does affine_backward match numerical gradients for inputs of any rank?"""
    rng = np.random.default_rng(seed)
    D = int(np.prod(x_shape[1:]))
    # The layer is linear in each argument, so a large step has no truncation error.
    check_layer(layers.affine_forward, layers.affine_backward, rng.standard_normal(x_shape),
                rng.standard_normal((D, M)), rng.standard_normal(M), seed=seed, h=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5)])
@pytest.mark.parametrize("forward, backward, kinked", [
    (layers.relu_forward, layers.relu_backward, True),
    (layers.leaky_relu_forward, layers.leaky_relu_backward, True),
    (layers.sigmoid_forward, layers.sigmoid_backward, False),
    (layers.tanh_forward, layers.tanh_backward, False),
])
def test_activation_gradients(forward, backward, kinked, shape, seed):
    """Does each activation's backward match numerical gradients (away from kinks)?"""
    rng = np.random.default_rng(seed)
    # Unit-scale inputs: in the saturated tails the gradients are tiny and their
    # relative error is dominated by rounding.
    x = away_from_zero(rng, shape) if kinked else rng.standard_normal(shape)
    check_layer(forward, backward, x, seed=seed, h=1e-5)


@pytest.mark.parametrize("alpha", [0.01, 0.2])
def test_leaky_relu_gradient_with_alpha(alpha):
    """Does the leaky ReLU backward use the slope alpha it was given?"""
    rng = np.random.default_rng(3)
    check_layer(layers.leaky_relu_forward, layers.leaky_relu_backward,
                away_from_zero(rng, (4, 6)), alpha=alpha, h=1e-5)
    _, cache = layers.leaky_relu_forward(np.array([-2.0, 3.0]), alpha=alpha)
    np.testing.assert_allclose(layers.leaky_relu_backward(np.ones(2), cache), [alpha, 1.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("N, D, M, k", [(4, 5, 3, 2), (3, 6, 2, 4)])
def test_maxout_gradients(N, D, M, k, seed):
    """Does maxout_backward match numerical gradients when no two pieces are nearly tied?"""
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((N, D)), rng.standard_normal((k, D, M)), rng.standard_normal((k, M))
    pieces = np.sort(x @ w + b[:, None, :], axis=0)
    assert np.min(pieces[-1] - pieces[-2]) > 1e-3, "test inputs are too close to a tie"
    check_layer(layers.maxout_forward, layers.maxout_backward, x, w, b, seed=seed, h=1e-5)


# ---- forward values -----------------------------------------------------------

def test_affine_forward_value_and_shapes():
    """Does affine_forward flatten each example and compute x w + b?"""
    x = np.arange(12.0).reshape(2, 2, 3)
    w = np.arange(18.0).reshape(6, 3) / 10
    b = np.array([1.0, -1.0, 0.5])
    out, _ = layers.affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(2, 6) @ w + b)
    dx, dw, db = layers.affine_backward(np.ones((2, 3)), layers.affine_forward(x, w, b)[1])
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape


def test_affine_param_grads_are_affine_backwards_without_dx():
    """Does affine_param_grads give exactly affine_backward's dw and db, and does
    affine_forward keep float32 float32 (adding b in place) yet promote to a
    float64 b as numpy would?"""
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((5, 2, 3), (6, 4), (4,)))
    out, cache = layers.affine_forward(x, w, b)
    assert out.dtype == np.float32
    dout = rng.standard_normal(out.shape).astype(np.float32)
    _, dw, db = layers.affine_backward(dout, cache)
    dw_alone, db_alone = layers.affine_param_grads(dout, cache)
    np.testing.assert_array_equal(dw_alone, dw)
    np.testing.assert_array_equal(db_alone, db)
    assert layers.affine_forward(x, w, b.astype(np.float64))[0].dtype == np.float64


def test_affine_rejects_mismatched_weights():
    """Does a weight matrix with the wrong number of rows get an error naming the shapes?"""
    with pytest.raises(ValueError, match=r"flattens to \(N, 6\)"):
        layers.affine_forward(np.ones((2, 2, 3)), np.ones((5, 3)), np.ones(3))


def test_sigmoid_is_stable_for_large_inputs():
    """Does the sigmoid stay exact and warning-free at +-1e4 and agree with the textbook formula?"""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out, cache = layers.sigmoid_forward(np.array([-1e4, -800.0, 0.0, 800.0, 1e4]))
        dx = layers.sigmoid_backward(np.ones(5), cache)
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.25, 0.0, 0.0])
    x = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(layers.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14)


def test_plain_activations():
    """Do the element-wise helpers give the textbook values (step at 0 is 0)?"""
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(layers.step(x), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(layers.relu(x), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(layers.leaky_relu(x, alpha=0.1), [-0.2, 0.0, 3.0])
    np.testing.assert_allclose(layers.tanh_forward(x)[0], np.tanh(x))


def test_relu_backward_does_not_write_into_dout():
    """Does relu_backward return a new array instead of zeroing dout in place, and take
    the subgradient 0 at x = 0?"""
    _, cache = layers.relu_forward(np.array([-1.0, 0.0, 2.0]))
    dout = np.array([5.0, 6.0, 7.0])
    dx = layers.relu_backward(dout, cache)
    np.testing.assert_array_equal(dx, [0.0, 0.0, 7.0])
    np.testing.assert_array_equal(dout, [5.0, 6.0, 7.0])
    dout32 = dout.astype(np.float32)
    assert layers.relu_backward(dout32, cache.astype(np.float32)).dtype == np.float32


def test_maxout_generalizes_relu_and_routes_ties_to_first_piece():
    """Is maxout with pieces (0, x) a ReLU, and does a tie send the gradient to piece 0 only?"""
    x = np.array([[-2.0], [0.0], [3.0]])
    w = np.array([[[0.0]], [[1.0]]])  # pieces: 0 and x
    b = np.zeros((2, 1))
    out, cache = layers.maxout_forward(x, w, b)
    np.testing.assert_array_equal(out, layers.relu(x))
    dx, dw, db = layers.maxout_backward(np.ones((3, 1)), cache)
    # x = 0 ties both pieces at 0; piece 0 (constant) wins, so dx there is 0.
    np.testing.assert_array_equal(dx, [[0.0], [0.0], [1.0]])
    np.testing.assert_array_equal(db, [[2.0], [1.0]])
    np.testing.assert_array_equal(dw, [[[-2.0 + 0.0]], [[3.0]]])


# ---- dropout ------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_dropout_keeps_expected_value_and_drops_one_minus_p(p):
    """Does inverted dropout keep the mean and zero a fraction 1 - p of the units?"""
    x = np.random.default_rng(0).uniform(1.0, 3.0, size=(500, 400))
    out, _ = layers.dropout_forward(x, p, train=True, seed=1)
    assert abs(out.mean() / x.mean() - 1) < 0.02
    assert abs((out == 0).mean() - (1 - p)) < 0.01
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / p)


def test_dropout_is_identity_at_test_time():
    """Is dropout the identity (values and gradient) when train=False?"""
    x = np.random.default_rng(0).standard_normal((4, 5))
    out, cache = layers.dropout_forward(x, 0.3, train=False)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    np.testing.assert_array_equal(layers.dropout_backward(x, cache), x)


def test_dropout_seed_makes_the_mask_reproducible():
    """Do equal seeds give equal masks and different seeds different ones?"""
    x = np.ones((50, 50))
    a, _ = layers.dropout_forward(x, 0.5, seed=7)
    b, _ = layers.dropout_forward(x, 0.5, seed=7)
    c, _ = layers.dropout_forward(x, 0.5, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_backward_uses_the_forward_mask():
    """Does the gradient flow exactly through the units the forward pass kept (scaled by 1/p)?"""
    x = np.random.default_rng(0).standard_normal((20, 30))
    out, cache = layers.dropout_forward(x, 0.6, seed=3)
    dx = layers.dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(dx == 0, out == 0)
    np.testing.assert_allclose(dx[dx != 0], 1 / 0.6)
    def dropout_seed3(x, p):
        # A fixed seed, so every numerical evaluation sees the same mask.
        return layers.dropout_forward(x, p, seed=3)

    check_layer(dropout_seed3, layers.dropout_backward, x, 0.6, h=1e-4)


def test_dropout_keeps_float32():
    """Does a float32 input stay float32 (the mask must not upcast it)?"""
    out, _ = layers.dropout_forward(np.ones((3, 3), dtype=np.float32), 0.5, seed=0)
    assert out.dtype == np.float32


@pytest.mark.parametrize("p", [0, -0.1, 1.5, True, "0.5"])
def test_dropout_rejects_bad_keep_probability(p):
    """Is a keep probability outside (0, 1] refused with an explanation?"""
    with pytest.raises(ValueError, match="keep probability"):
        layers.dropout_forward(np.ones(3), p)
