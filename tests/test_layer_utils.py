"""Tests for course_lib.layer_utils: the composite layers."""
import numpy as np
import pytest

from course_lib import layer_utils as lu
from course_lib.conv import conv_forward_fast
from course_lib.layers import affine_forward, relu
from course_lib.normalization import (BatchNormStats, batchnorm_forward, layernorm_forward,
                                      spatial_batchnorm_forward)
from course_lib.pooling import max_pool_forward_fast
from tests.helpers import check_layer

DOUT_SEED = 1000  # dout from another stream than the data (see test_normalization)


def dense(seed, N=4, D=6, M=5):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, D)), rng.standard_normal((D, M)) / np.sqrt(D),
            rng.standard_normal(M), rng.standard_normal(M), rng.standard_normal(M))


def conv(seed, N=2, C=3, H=6, W=6, F=4, K=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, K, K)) / np.sqrt(C * K * K),
            rng.standard_normal(F), rng.standard_normal(F), rng.standard_normal(F))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_affine_relu_gradients(seed):
    """Does affine_relu_backward match numerical gradients?"""
    x, w, b, _, _ = dense(seed)
    check_layer(lu.affine_relu_forward, lu.affine_relu_backward, x, w, b,
                seed=DOUT_SEED + seed, h=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_affine_norm_relu_gradients(seed):
    """Do affine-batchnorm-relu and affine-layernorm-relu match numerical gradients?"""
    x, w, b, gamma, beta = dense(seed, N=8)
    check_layer(lu.affine_bn_relu_forward, lu.affine_bn_relu_backward, x, w, b, gamma, beta, None,
                seed=DOUT_SEED + seed, h=1e-5, tol=1e-6, wrt=[0, 1, 3, 4])
    check_layer(lu.affine_ln_relu_forward, lu.affine_ln_relu_backward, x, w, b, gamma, beta,
                seed=DOUT_SEED + seed, h=1e-5, tol=1e-6)


def test_bias_before_batchnorm_has_zero_gradient():
    """Is the gradient of a bias followed by batch norm zero (the mean subtraction cancels it)?"""
    x, w, b, gamma, beta = dense(0, N=8)
    out, cache = lu.affine_bn_relu_forward(x, w, b, gamma, beta, None)
    db = lu.affine_bn_relu_backward(np.random.default_rng(1).standard_normal(out.shape), cache)[2]
    np.testing.assert_allclose(db, 0, atol=1e-12)
    x, w, b, gamma, beta = conv(0)
    out, cache = lu.conv_bn_relu_forward(x, w, b, gamma, beta, None, pad=1)
    db = lu.conv_bn_relu_backward(np.random.default_rng(1).standard_normal(out.shape), cache)[2]
    np.testing.assert_allclose(db, 0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("stride, pad", [(1, 1), (2, 0)])
def test_conv_relu_gradients(stride, pad, seed):
    """Does conv_relu_backward match numerical gradients for several strides and paddings?"""
    x, w, b, _, _ = conv(seed)
    check_layer(lu.conv_relu_forward, lu.conv_relu_backward, x, w, b, stride=stride, pad=pad,
                seed=DOUT_SEED + seed, h=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_conv_relu_pool_gradients(seed):
    """Does conv_relu_pool_backward match numerical gradients?"""
    x, w, b, _, _ = conv(seed)
    check_layer(lu.conv_relu_pool_forward, lu.conv_relu_pool_backward, x, w, b, pad=1,
                seed=DOUT_SEED + seed, h=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("train", [True, False])
def test_conv_bn_relu_gradients(train, seed):
    """Does conv_bn_relu_backward match numerical gradients in training and test mode?"""
    x, w, b, gamma, beta = conv(seed)
    stats = None if train else BatchNormStats(np.full(4, 0.1), np.full(4, 0.8))
    check_layer(lu.conv_bn_relu_forward, lu.conv_bn_relu_backward, x, w, b, gamma, beta, stats,
                train=train, pad=1, seed=DOUT_SEED + seed, h=1e-5, tol=1e-6,
                wrt=[0, 1, 3, 4] if train else None)


def test_composites_equal_their_parts():
    """Do the composites compute exactly the chain of their parts, and update the BN stats?"""
    x, w, b, gamma, beta = dense(0, N=8)
    np.testing.assert_array_equal(lu.affine_relu_forward(x, w, b)[0],
                                  relu(affine_forward(x, w, b)[0]))
    s1, s2 = BatchNormStats.create(5), BatchNormStats.create(5)
    out = lu.affine_bn_relu_forward(x, w, b, gamma, beta, s1)[0]
    ref = relu(batchnorm_forward(affine_forward(x, w, b)[0], gamma, beta, s2)[0])
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(s1.running_mean, s2.running_mean)
    assert not np.array_equal(s1.running_mean, np.zeros(5))

    out = lu.affine_ln_relu_forward(x, w, b, gamma, beta, eps=0.5)[0]
    ref = relu(layernorm_forward(affine_forward(x, w, b)[0], gamma, beta, eps=0.5)[0])
    np.testing.assert_array_equal(out, ref)

    x, w, b, gamma, beta = conv(0)
    out = lu.conv_relu_pool_forward(x, w, b, pad=1)[0]
    ref = max_pool_forward_fast(relu(conv_forward_fast(x, w, b, pad=1)[0]))[0]
    np.testing.assert_array_equal(out, ref)
    assert out.shape == (2, 4, 3, 3)
    out = lu.conv_relu_forward(x, w, b, stride=2, pad=1)[0]
    np.testing.assert_array_equal(out, relu(conv_forward_fast(x, w, b, stride=2, pad=1)[0]))
    out = lu.conv_relu_pool_forward(x, w, b, stride=2, pad=1, pool=3)[0]
    ref = relu(conv_forward_fast(x, w, b, stride=2, pad=1)[0])
    ref = max_pool_forward_fast(ref, pool_height=3, pool_width=3, stride=3)[0]
    np.testing.assert_array_equal(out, ref)
    out = lu.conv_bn_relu_forward(x, w, b, gamma, beta, None, stride=2, pad=1, eps=0.5)[0]
    ref = spatial_batchnorm_forward(conv_forward_fast(x, w, b, stride=2, pad=1)[0], gamma, beta,
                                    None, eps=0.5)[0]
    np.testing.assert_array_equal(out, relu(ref))
