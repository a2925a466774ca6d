"""Forward values and every gradient compared with PyTorch (float64, autograd).

Skipped when torch is not installed. Conventions that differ from PyTorch are
converted in the test and named in its docstring.
"""
import numpy as np
import pytest

from course_lib import layers, losses
from course_lib import normalization as nz
from tests.helpers import scaled_error

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.torch

TOL = 1e-10
SEEDS = [0, 1, 2]


def t(a):
    """A float64 leaf tensor that records gradients (labels stay integer)."""
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.integer):
        return torch.from_numpy(a)
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def torch_grads(out, inputs, dout):
    """Forward output and gradients of sum(out * dout) with respect to inputs, as numpy."""
    grads = torch.autograd.grad(out, inputs, grad_outputs=torch.as_tensor(dout))
    return out.detach().numpy(), [g.numpy() for g in grads]


def assert_close(ours, theirs):
    assert scaled_error(ours, theirs) < TOL, f"relative error {scaled_error(ours, theirs):.1e}"


def random_shape(rng, ndim):
    return tuple(int(n) for n in rng.integers(2, 7, size=ndim))


@pytest.mark.parametrize("seed", SEEDS)
def test_affine_matches_torch(seed):
    """Do affine's output, dx, dw and db equal torch's x.flatten(1) @ w + b?"""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(random_shape(rng, 3))
    D, M = x.shape[1] * x.shape[2], int(rng.integers(1, 8))
    w, b = rng.standard_normal((D, M)), rng.standard_normal(M)
    out, cache = layers.affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    tx, tw, tb = t(x), t(w), t(b)
    ref, ref_grads = torch_grads(tx.flatten(1) @ tw + tb, (tx, tw, tb), dout)
    assert_close(out, ref)
    for ours, theirs in zip(layers.affine_backward(dout, cache), ref_grads):
        assert_close(ours, theirs)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ours, theirs", [
    ((layers.relu_forward, layers.relu_backward), torch.relu),
    ((lambda x: layers.leaky_relu_forward(x, alpha=0.1), layers.leaky_relu_backward),
     lambda x: F.leaky_relu(x, negative_slope=0.1)),
    ((layers.sigmoid_forward, layers.sigmoid_backward), torch.sigmoid),
    ((layers.tanh_forward, layers.tanh_backward), torch.tanh),
])
def test_activations_match_torch(ours, theirs, seed):
    """Do ReLU, leaky ReLU, sigmoid and tanh match torch in value and gradient?"""
    rng = np.random.default_rng(seed)
    # |x| up to about 6: deeper in the tails tanh'(x) = 1 - tanh(x)^2 is ill-conditioned
    # (the rounding of tanh(x) alone moves it by 1e-8 relative at |x| = 9).
    x = 2 * rng.standard_normal(random_shape(rng, 3))
    forward, backward = ours
    out, cache = forward(x)
    dout = rng.standard_normal(out.shape)
    tx = t(x)
    ref, (ref_dx,) = torch_grads(theirs(tx), (tx,), dout)
    assert_close(out, ref)
    assert_close(backward(dout, cache), ref_dx)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("backward", [nz.batchnorm_backward, nz.batchnorm_backward_alt])
def test_batchnorm_train_matches_torch(backward, seed):
    """In training mode, do output and gradients match F.batch_norm, and do the running
    statistics differ only by torch's unbiased variance (momentum 0.9 here = 0.1 there)?"""
    rng = np.random.default_rng(seed)
    N, D = (int(n) for n in rng.integers(2, 9, size=2))
    x = 2 * rng.standard_normal((N, D)) + 1
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    stats = nz.BatchNormStats(rng.standard_normal(D), rng.uniform(0.5, 2, D))
    running_mean, running_var = torch.tensor(stats.running_mean), torch.tensor(stats.running_var)
    out, cache = nz.batchnorm_forward(x, gamma, beta, stats, momentum=0.9, eps=1e-5)
    dout = rng.standard_normal(out.shape)
    tx, tg, tb = t(x), t(gamma), t(beta)
    ref_out = F.batch_norm(tx, running_mean, running_var, tg, tb, training=True, momentum=0.1,
                           eps=1e-5)
    ref, ref_grads = torch_grads(ref_out, (tx, tg, tb), dout)
    assert_close(out, ref)
    for ours, theirs in zip(backward(dout, cache), ref_grads):
        assert_close(ours, theirs)
    assert_close(stats.running_mean, running_mean.numpy())
    biased, unbiased = x.var(axis=0), x.var(axis=0, ddof=1)
    assert_close(stats.running_var, running_var.numpy() + 0.1 * (biased - unbiased))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("backward", [nz.batchnorm_backward, nz.batchnorm_backward_alt])
def test_batchnorm_eval_matches_torch(backward, seed):
    """In test mode, do output and gradients match F.batch_norm(training=False)?"""
    rng = np.random.default_rng(seed)
    N, D = (int(n) for n in rng.integers(1, 9, size=2))
    x = rng.standard_normal((N, D))
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    stats = nz.BatchNormStats(rng.standard_normal(D), rng.uniform(0.5, 2, D))
    out, cache = nz.batchnorm_forward(x, gamma, beta, stats, train=False)
    dout = rng.standard_normal(out.shape)
    tx, tg, tb = t(x), t(gamma), t(beta)
    ref_out = F.batch_norm(tx, torch.tensor(stats.running_mean), torch.tensor(stats.running_var),
                           tg, tb, training=False, eps=1e-5)
    ref, ref_grads = torch_grads(ref_out, (tx, tg, tb), dout)
    assert_close(out, ref)
    for ours, theirs in zip(backward(dout, cache), ref_grads):
        assert_close(ours, theirs)


@pytest.mark.parametrize("seed", SEEDS)
def test_spatial_batchnorm_matches_torch(seed):
    """Does spatial batch norm on (N, C, H, W) match F.batch_norm on the 4-D tensor?"""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(random_shape(rng, 4))
    C = x.shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    out, cache = nz.spatial_batchnorm_forward(x, gamma, beta, None)
    dout = rng.standard_normal(out.shape)
    tx, tg, tb = t(x), t(gamma), t(beta)
    ref, ref_grads = torch_grads(F.batch_norm(tx, None, None, tg, tb, training=True), (tx, tg, tb),
                                 dout)
    assert_close(out, ref)
    for ours, theirs in zip(nz.spatial_batchnorm_backward(dout, cache), ref_grads):
        assert_close(ours, theirs)


@pytest.mark.parametrize("seed", SEEDS)
def test_layernorm_matches_torch(seed):
    """Do layer norm's output and gradients match F.layer_norm over the last axis?"""
    rng = np.random.default_rng(seed)
    N, D = random_shape(rng, 2)
    x = 3 * rng.standard_normal((N, D))
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    out, cache = nz.layernorm_forward(x, gamma, beta)
    dout = rng.standard_normal(out.shape)
    tx, tg, tb = t(x), t(gamma), t(beta)
    ref, ref_grads = torch_grads(F.layer_norm(tx, (D,), tg, tb, eps=1e-5), (tx, tg, tb), dout)
    assert_close(out, ref)
    for ours, theirs in zip(nz.layernorm_backward(dout, cache), ref_grads):
        assert_close(ours, theirs)


def _classification(seed):
    rng = np.random.default_rng(seed)
    N, C = random_shape(rng, 2)
    return 3 * rng.standard_normal((N, C)), rng.integers(C, size=N)


def _targets(seed, kind):
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal(random_shape(rng, 2))
    if kind == "binary":
        return x, rng.integers(2, size=x.shape).astype(np.float64)
    return x, x + rng.standard_normal(x.shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ours, theirs, data", [
    (losses.softmax_loss, lambda x, y: F.cross_entropy(x, y), _classification),
    # multi_margin_loss also divides by the number of classes C.
    (losses.svm_loss, lambda x, y: F.multi_margin_loss(x, y, margin=1.0) * x.shape[1],
     _classification),
    (losses.binary_logistic_loss,
     lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="sum") / x.shape[0],
     lambda s: _targets(s, "binary")),
    # Ours keeps the 1/2 and averages over N only; mse_loss averages over every entry.
    (losses.l2_regression_loss,
     lambda x, y: 0.5 * F.mse_loss(x, y, reduction="sum") / x.shape[0],
     lambda s: _targets(s, "regression")),
    (losses.l1_regression_loss, lambda x, y: F.l1_loss(x, y, reduction="sum") / x.shape[0],
     lambda s: _targets(s, "regression")),
])
def test_losses_match_torch(ours, theirs, data, seed):
    """Do each loss and its dx equal torch's, after converting the averaging convention?"""
    x, y = data(seed)
    loss, dx = ours(x, y)
    tx = t(x)
    ty = t(y) if np.issubdtype(y.dtype, np.integer) else torch.from_numpy(y)
    ref = theirs(tx, ty)
    (ref_dx,) = torch.autograd.grad(ref, (tx,))
    assert_close(loss, ref.item())
    assert_close(dx, ref_dx.numpy())
