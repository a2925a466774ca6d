"""Does course_lib.gradcheck compute centred numerical gradients correctly?"""
import numpy as np
import pytest

from course_lib.gradcheck import (eval_numerical_gradient,
                                  eval_numerical_gradient_array,
                                  grad_check_sparse, rel_error)


def test_rel_error_zero_for_equal_and_rejects_shape_mismatch():
    x = np.array([1.0, -2.0, 3.0])
    assert rel_error(x, x.copy()) == 0.0
    # the smallest |x| gives the largest relative error: 1e-3 / (1 + 1.001)
    assert rel_error(x, x + 1e-3) == pytest.approx(1e-3 / 2.001, rel=1e-9)
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(3), np.zeros((3, 1)))


def test_rel_error_is_infinite_for_nan():
    assert rel_error(np.array([np.nan]), np.array([1.0])) == float("inf")


def test_numerical_gradient_of_quadratic_is_exact_and_x_restored():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    x0 = x.copy()
    grad = eval_numerical_gradient(lambda v: v @ A @ v, x)
    assert rel_error(grad, (A + A.T) @ x0) < 1e-8
    np.testing.assert_array_equal(x, x0)


def test_numerical_gradient_array_is_vector_jacobian_product():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5))
    df = rng.standard_normal((3, 5))
    grad = eval_numerical_gradient_array(np.tanh, x, df)
    assert rel_error(grad, df * (1 - np.tanh(x) ** 2)) < 1e-8


def test_grad_check_sparse_returns_small_errors_for_right_and_large_for_wrong():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 10))
    f = lambda v: np.sum(np.sin(v))
    good = grad_check_sparse(f, x, np.cos(x), num_checks=7, seed=0)
    assert good.shape == (7,) and np.all(good < 1e-7)
    bad = grad_check_sparse(f, x, np.cos(x) + 0.5, num_checks=7, seed=0)
    assert np.all(bad > 1e-2)


def test_integer_point_is_rejected_with_clear_message():
    with pytest.raises(TypeError, match="float numpy array"):
        eval_numerical_gradient(lambda v: 0.0, np.arange(3))
