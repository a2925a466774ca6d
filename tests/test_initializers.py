"""Tests for course_lib.initializers: weight scales, fan-in/out, the lookup."""
import functools

import numpy as np
import pytest

from course_lib import initializers as init
from course_lib.layers import affine_backward, affine_forward, relu_backward, relu_forward


@pytest.mark.parametrize("shape, fan_in, fan_out", [
    ((300, 100), 300, 100),
    ((4, 300, 100), 300, 100),
    ((32, 3, 5, 5), 75, 800),
    ((10,), 10, 10),
])
def test_fan_in_fan_out(shape, fan_in, fan_out):
    """Are fan-in and fan-out read correctly from dense, maxout, conv and bias shapes?"""
    assert init.fan_in_fan_out(shape) == (fan_in, fan_out)


@pytest.mark.parametrize("shape", [(400, 500), (64, 16, 5, 5)])
@pytest.mark.parametrize("scheme, expected_std", [
    (init.lecun_normal, lambda n_in, n_out: np.sqrt(1 / n_in)),
    (init.he_normal, lambda n_in, n_out: np.sqrt(2 / n_in)),
    (init.xavier_normal, lambda n_in, n_out: np.sqrt(2 / (n_in + n_out))),
    (init.xavier_uniform, lambda n_in, n_out: np.sqrt(2 / (n_in + n_out))),
    (functools.partial(init.small_random, scale=0.01), lambda n_in, n_out: 0.01),
    (init.get_initializer(0.05), lambda n_in, n_out: 0.05),
])
def test_empirical_std_matches_formula(scheme, expected_std, shape):
    """Does each scheme's sample standard deviation match its formula within 2%?"""
    w = scheme(shape, np.random.default_rng(0))
    assert w.shape == shape
    assert abs(w.mean()) < 0.02 * expected_std(*init.fan_in_fan_out(shape))
    assert w.std() == pytest.approx(expected_std(*init.fan_in_fan_out(shape)), rel=0.02)


def test_xavier_uniform_stays_within_its_limit():
    """Are Glorot-uniform weights inside [-sqrt(6/(n_in+n_out)), +sqrt(...)] and spread over it?"""
    w = init.xavier_uniform((200, 100), 0)
    limit = np.sqrt(6 / 300)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit


def test_sparse_connects_each_unit_to_num_nonzero_inputs():
    """Does every unit (dense column, conv filter, maxout piece column) get exactly
    num_nonzero nonzero incoming weights with the requested scale?"""
    w = init.sparse((200, 300), 0, num_nonzero=15, scale=0.1)
    np.testing.assert_array_equal((w != 0).sum(axis=0), np.full(300, 15))
    assert w[w != 0].std() == pytest.approx(0.1, rel=0.05)
    conv = init.sparse((8, 3, 3, 3), 0, num_nonzero=5)
    np.testing.assert_array_equal((conv != 0).reshape(8, -1).sum(axis=1), np.full(8, 5))
    maxout = init.sparse((2, 20, 7), 0, num_nonzero=4)
    np.testing.assert_array_equal((maxout != 0).sum(axis=1), np.full((2, 7), 4))
    # More connections than inputs: every input connected.
    assert np.all(init.sparse((3, 4), 0, num_nonzero=10) != 0)


def test_zeros_and_constant_bias():
    """Do zeros and constant_bias fill every entry with 0 and the value?"""
    np.testing.assert_array_equal(init.zeros((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.constant_bias((4,), value=0.01), np.full(4, 0.01))


def test_seeded_initializers_are_reproducible():
    """Does the same seed give the same weights, and a different seed different ones?"""
    for scheme in (init.he_normal, init.xavier_uniform, init.sparse, init.small_random):
        np.testing.assert_array_equal(scheme((5, 6), 3), scheme((5, 6), 3))
        assert not np.array_equal(scheme((5, 6), 3), scheme((5, 6), 4))


def test_zero_initialization_keeps_hidden_units_identical():
    """The symmetry problem: with all-zero weights, do all hidden units compute the same
    thing and get the same update, so that training never tells them apart?"""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 4))
    target = rng.standard_normal((16, 1))
    w1, b1 = init.zeros((4, 5)), init.zeros((5,))
    w2, b2 = init.constant_bias((5, 1), value=0.3), init.zeros((1,))  # any equal values
    for _ in range(20):
        a, c1 = affine_forward(X, w1, b1)
        h, c2 = relu_forward(a + 0.1)  # shift so the ReLUs pass gradient
        out, c3 = affine_forward(h, w2, b2)
        dout = (out - target) / len(X)
        dh, dw2, db2 = affine_backward(dout, c3)
        dx, dw1, db1 = affine_backward(relu_backward(dh, c2), c1)
        w1, b1, w2, b2 = w1 - 0.5 * dw1, b1 - 0.5 * db1, w2 - 0.5 * dw2, b2 - 0.5 * db2
    assert np.abs(w1).max() > 0  # the weights did move ...
    np.testing.assert_allclose(w1, w1[:, :1] * np.ones((1, 5)))  # ... but every column alike
    np.testing.assert_allclose(w2, w2[0, 0])
    # Random weights break the symmetry.
    assert not np.allclose(init.he_normal((4, 5), 0), init.he_normal((4, 5), 0)[:, :1])


def test_get_initializer_lookup():
    """Does get_initializer map names, floats and callables to initializers?"""
    assert init.get_initializer("he") is init.he_normal
    assert init.get_initializer("xavier") is init.xavier_normal
    assert init.get_initializer("xavier_uniform") is init.xavier_uniform
    assert init.get_initializer("lecun") is init.lecun_normal
    assert init.get_initializer("zeros") is init.zeros
    assert init.get_initializer("small") is init.small_random
    assert init.get_initializer("sparse") is init.sparse
    assert init.get_initializer(np.cos) is np.cos
    w = init.get_initializer(1e-3)((100, 100), 0)
    assert w.std() == pytest.approx(1e-3, rel=0.05)
    np.testing.assert_array_equal(init.get_initializer(0)((2, 2), 0), np.zeros((2, 2)))


@pytest.mark.parametrize("bad, error", [("kaiming", ValueError), (True, TypeError),
                                        (None, TypeError), (-0.1, ValueError)])
def test_get_initializer_rejects_unknown(bad, error):
    """Are unknown names, booleans, None and negative scales refused?"""
    with pytest.raises(error):
        init.get_initializer(bad)((3, 3), 0)


def test_bad_shapes_are_refused():
    """Is a hyperparameter passed in place of the shape refused with a hint?"""
    with pytest.raises(TypeError, match="functools.partial"):
        init.constant_bias(0.01)
    with pytest.raises(ValueError, match="positive"):
        init.he_normal((0, 3), 0)
    with pytest.raises(ValueError, match="fan-in"):
        init.he_normal((2, 2, 2, 2, 2), 0)
