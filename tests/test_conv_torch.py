"""Do our convolution and pooling agree with PyTorch's (forward and autograd)?"""
import numpy as np
import pytest

from course_lib.conv import (conv_backward_fast, conv_backward_naive,
                             conv_forward_fast, conv_forward_naive)
from tests.helpers import scaled_error
from course_lib.pooling import (avg_pool_backward, avg_pool_forward,
                                max_pool_backward_fast, max_pool_backward_naive,
                                max_pool_forward_fast, max_pool_forward_naive)

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch


def random_conv_case(seed):
    """A random geometry (sizes, stride, padding, dilation) that fits."""
    rng = np.random.default_rng(seed)
    N, C, num_filters = rng.integers(1, 4, size=3)
    HH, WW = rng.integers(1, 5, size=2)
    stride, dilation = rng.integers(1, 4), rng.integers(1, 3)
    pad = int(rng.integers(0, 3))
    H = int(rng.integers(dilation * (HH - 1) + 1, 12))
    W = int(rng.integers(dilation * (WW - 1) + 1, 12))
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((num_filters, C, HH, WW))
    b = rng.standard_normal(num_filters)
    return x, w, b, dict(stride=int(stride), pad=pad, dilation=int(dilation))


def torch_conv(x, w, b, dout, stride, pad, dilation):
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(tx, tw, tb, stride=stride, padding=pad, dilation=dilation)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("forward, backward", [
    (conv_forward_naive, conv_backward_naive),
    (conv_forward_fast, conv_backward_fast)])
def test_conv_matches_torch(seed, forward, backward):
    """Do out, dx, dw and db equal torch.nn.functional.conv2d's under
    autograd, for random shapes, strides, padding and dilation?"""
    x, w, b, hyper = random_conv_case(seed)
    out, cache = forward(x, w, b, **hyper)
    dout = np.random.default_rng(seed + 100).standard_normal(out.shape)
    expected = torch_conv(x, w, b, dout, **hyper)
    assert out.shape == expected[0].shape
    for ours, theirs in zip((out, *backward(dout, cache)), expected):
        assert scaled_error(ours, theirs) < 1e-10


def test_conv_matches_torch_on_benchmark_shape():
    """On a CIFAR-sized batch with 7x7 'same' filters, does the fast version
    agree with torch?"""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 32, 32))
    w = rng.standard_normal((8, 3, 7, 7))
    b = rng.standard_normal(8)
    out, cache = conv_forward_fast(x, w, b, pad=3)
    dout = rng.standard_normal(out.shape)
    expected = torch_conv(x, w, b, dout, stride=1, pad=3, dilation=1)
    for ours, theirs in zip((out, *conv_backward_fast(dout, cache)), expected):
        assert scaled_error(ours, theirs) < 1e-10


def random_pool_case(seed):
    rng = np.random.default_rng(seed)
    ph, pw = (int(v) for v in rng.integers(1, 4, size=2))
    stride = int(rng.integers(1, 4))
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)),
             int(rng.integers(ph, 10)), int(rng.integers(pw, 10)))
    return rng.standard_normal(shape), ph, pw, stride


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("forward, backward, torch_pool", [
    (max_pool_forward_naive, max_pool_backward_naive, F.max_pool2d),
    (max_pool_forward_fast, max_pool_backward_fast, F.max_pool2d),
    (avg_pool_forward, avg_pool_backward, F.avg_pool2d)])
def test_pooling_matches_torch(seed, forward, backward, torch_pool):
    """Do max and average pooling (forward and dx) equal torch's for random
    shapes, windows and strides?"""
    x, ph, pw, stride = random_pool_case(seed)
    out, cache = forward(x, ph, pw, stride)
    dout = np.random.default_rng(seed + 50).standard_normal(out.shape)
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch_pool(tx, (ph, pw), stride=stride)
    t_out.backward(torch.tensor(dout))
    assert scaled_error(out, t_out.detach().numpy()) < 1e-10
    assert scaled_error(backward(dout, cache), tx.grad.numpy()) < 1e-10
