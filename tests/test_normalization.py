"""Tests for course_lib.normalization: batch, layer and spatial batch normalization."""
import numpy as np
import pytest

from course_lib import conv, parallel
from course_lib import normalization as nz
from course_lib.normalization import BatchNormStats
from tests.helpers import check_layer


# check_layer draws dout from default_rng(seed). Drawn from the same stream as x, dout
# would be an affine function of x_hat per feature, and batch norm's dx is then exactly
# zero: the check would compare rounding noise. Hence the data use a different stream.
DOUT_SEED = 1000


def bn_inputs(seed, N=8, D=5):
    rng = np.random.default_rng(seed)
    x = 3.0 * rng.standard_normal((N, D)) + rng.standard_normal(D) * 5
    return x, rng.standard_normal(D), rng.standard_normal(D)


# ---- gradients ----------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("N, D", [(8, 5), (3, 2), (16, 1)])
@pytest.mark.parametrize("backward", [nz.batchnorm_backward, nz.batchnorm_backward_alt])
def test_batchnorm_train_gradients(backward, N, D, seed):
    """Do both batch-norm backward passes match numerical gradients in training mode?"""
    check_layer(nz.batchnorm_forward, backward, *bn_inputs(seed, N, D), None,
                seed=DOUT_SEED + seed, h=1e-5, tol=1e-6)


@pytest.mark.parametrize("backward", [nz.batchnorm_backward, nz.batchnorm_backward_alt])
def test_batchnorm_test_mode_gradients(backward):
    """Do both backward passes treat the running statistics as constants in test mode?"""
    x, gamma, beta = bn_inputs(3)
    stats = BatchNormStats(np.arange(5.0), np.arange(1.0, 6.0))
    check_layer(nz.batchnorm_forward, backward, x, gamma, beta, stats, train=False,
                h=1e-5, tol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("N, D", [(4, 6), (1, 3), (5, 4)])
def test_layernorm_gradients(N, D, seed):
    """Does layernorm_backward match numerical gradients (also for a batch of one)?

    (Not D = 2: two features always normalize to about +-1, so dx is nearly 0.)
    """
    check_layer(nz.layernorm_forward, nz.layernorm_backward, *bn_inputs(seed, N, D),
                seed=DOUT_SEED + seed, h=1e-5, tol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 3)])
@pytest.mark.parametrize("train", [True, False])
def test_spatial_batchnorm_gradients(shape, train, seed):
    """Does spatial_batchnorm_backward match numerical gradients in both modes?"""
    rng = np.random.default_rng(seed)
    C = shape[1]
    stats = None if train else BatchNormStats(rng.standard_normal(C), rng.uniform(0.5, 2, C))
    check_layer(nz.spatial_batchnorm_forward, nz.spatial_batchnorm_backward,
                2 * rng.standard_normal(shape) + 1, rng.standard_normal(C), rng.standard_normal(C),
                stats, train=train, seed=DOUT_SEED + seed, h=1e-5, tol=1e-6)


# ---- behaviour ----------------------------------------------------------------

def test_graph_and_closed_form_backward_agree():
    """Do the staged and the closed-form batch-norm backward give the same numbers?"""
    x, gamma, beta = bn_inputs(4, N=50, D=7)
    out, cache = nz.batchnorm_forward(x, gamma, beta, None)
    dout = np.random.default_rng(5).standard_normal(out.shape)
    for a, b in zip(nz.batchnorm_backward(dout, cache), nz.batchnorm_backward_alt(dout, cache)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_batchnorm_train_output_is_standardized():
    """With gamma = 1 and beta = 0, has each feature mean 0 and std 1 in training mode,
    and do gamma and beta then set that std and mean?"""
    x, _, _ = bn_inputs(0, N=200, D=4)
    out, _ = nz.batchnorm_forward(x, np.ones(4), np.zeros(4), None)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-4)  # eps shrinks it a hair
    gamma, beta = np.array([1.0, 2.0, 3.0, 0.5]), np.array([0.0, -1.0, 4.0, 2.0])
    out, _ = nz.batchnorm_forward(x, gamma, beta, None)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-4)


def test_running_statistics_converge_and_test_mode_uses_them():
    """After many training batches, do the running statistics approach the data's mean and
    variance, and does test mode then standardize new data with them?"""
    rng = np.random.default_rng(0)
    mean, std = np.array([5.0, -2.0, 0.0]), np.array([3.0, 0.5, 1.0])
    stats = BatchNormStats.create(3)
    for _ in range(200):
        nz.batchnorm_forward(mean + std * rng.standard_normal((256, 3)), np.ones(3), np.zeros(3),
                             stats, momentum=0.9)
    assert np.all(np.abs(stats.running_mean - mean) < 0.05 * std)
    np.testing.assert_allclose(stats.running_var, std ** 2, rtol=0.05)
    x_test = mean + std * rng.standard_normal((5000, 3))
    frozen = stats.copy()
    out, _ = nz.batchnorm_forward(x_test, np.ones(3), np.zeros(3), stats, train=False)
    np.testing.assert_allclose(out, (x_test - frozen.running_mean) / np.sqrt(frozen.running_var + 1e-5))
    np.testing.assert_array_equal(stats.running_mean, frozen.running_mean)
    np.testing.assert_array_equal(stats.running_var, frozen.running_var)


def test_running_update_formula_one_step():
    """Is one training step's update running = momentum * running + (1 - momentum) * batch?"""
    x = np.array([[1.0, 10.0], [3.0, 14.0]])  # batch mean (2, 12), biased var (1, 4)
    stats = BatchNormStats(np.array([0.0, 2.0]), np.array([1.0, 1.0]))
    old_mean, old_var = stats.running_mean, stats.running_var
    nz.batchnorm_forward(x, np.ones(2), np.zeros(2), stats, momentum=0.75)
    np.testing.assert_allclose(stats.running_mean, [0.5, 4.5])
    np.testing.assert_allclose(stats.running_var, [1.0, 1.75])
    # Replaced, not written into: a snapshot taken before the step stays valid.
    np.testing.assert_array_equal(old_mean, [0.0, 2.0])
    np.testing.assert_array_equal(old_var, [1.0, 1.0])


def test_spatial_batchnorm_equals_batchnorm_on_reshape():
    """Is spatial batch norm exactly batch norm on the (N*H*W, C) reshape, stats included?"""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5, 6)) * 2 + 1
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    s1, s2 = BatchNormStats.create(4), BatchNormStats.create(4)
    out, cache = nz.spatial_batchnorm_forward(x, gamma, beta, s1)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 4)
    ref, ref_cache = nz.batchnorm_forward(rows, gamma, beta, s2)
    np.testing.assert_allclose(out, ref.reshape(3, 5, 6, 4).transpose(0, 3, 1, 2))
    np.testing.assert_allclose(s1.running_mean, s2.running_mean)
    np.testing.assert_allclose(s1.running_var, s2.running_var)
    dout = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = nz.spatial_batchnorm_backward(dout, cache)
    rdx, rdgamma, rdbeta = nz.batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, 4), ref_cache)
    np.testing.assert_allclose(dx, rdx.reshape(3, 5, 6, 4).transpose(0, 3, 1, 2), atol=1e-12)
    np.testing.assert_allclose(dgamma, rdgamma)
    np.testing.assert_allclose(dbeta, rdbeta)


@pytest.fixture
def restore_threads(monkeypatch):
    """Whatever a test sets, the thread count is restored afterwards."""
    monkeypatch.setattr(parallel, "_num_threads", parallel.get_num_threads())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("train", [True, False])
def test_spatial_batchnorm_in_chunks_equals_batchnorm_on_reshape(monkeypatch, restore_threads,
                                                                 train, threads):
    """Spatial batch norm works through the batch a few examples at a time:
    over several chunks (the last one partial), in float32, with 1 or 2
    threads, does it give batchnorm_forward / batchnorm_backward's numbers on
    the (N*H*W, C) reshape, keep float32, and leave x, dout and the cache
    untouched?"""
    rng = np.random.default_rng(1)
    N, C, H, W = 7, 3, 4, 5
    parallel.set_num_threads(threads)
    for name in ("_CHUNK_BYTES", "_THREAD_CHUNK_BYTES"):
        monkeypatch.setattr(nz, name, 2 * C * H * W * 4)           # 2 examples per chunk
    x = (rng.standard_normal((N, C, H, W)) * 2 + 3).astype(np.float32)
    gamma, beta = (rng.standard_normal(C).astype(np.float32) for _ in range(2))
    s1 = None if train else BatchNormStats(rng.standard_normal(C).astype(np.float32),
                                           rng.uniform(0.5, 2, C).astype(np.float32))
    s2 = None if train else s1.copy()
    saved_x = x.copy()
    out, cache = nz.spatial_batchnorm_forward(x, gamma, beta, s1, train=train)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    ref, ref_cache = nz.batchnorm_forward(rows, gamma, beta, s2, train=train)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref.reshape(N, H, W, C).transpose(0, 3, 1, 2),
                               rtol=1e-5, atol=1e-5)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    saved_dout, saved_cache = dout.copy(), [np.copy(c) for c in cache]
    grads = nz.spatial_batchnorm_backward(dout, cache)
    ref_grads = nz.batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(-1, C), ref_cache)
    ref_grads = (ref_grads[0].reshape(N, H, W, C).transpose(0, 3, 1, 2),) + ref_grads[1:]
    for ours, theirs in zip(grads, ref_grads):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())
    np.testing.assert_array_equal(x, saved_x)
    np.testing.assert_array_equal(dout, saved_dout)
    for item, saved in zip(cache, saved_cache):
        np.testing.assert_array_equal(item, saved)


@pytest.mark.parametrize("train", [True, False])
def test_spatial_batchnorm_is_the_same_with_any_thread_count(monkeypatch, restore_threads,
                                                             train):
    """Its sums are taken per example and channel, then over the batch in
    order: do 1, 2 and 3 threads (which split the batch differently) give
    the same outputs, running statistics and gradients? (Compared to float32
    rounding, not bitwise: a SIMD dot product may round differently on
    differently aligned scratch buffers.)"""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((37, 8, 6, 5)).astype(np.float32)
    monkeypatch.setattr(nz, "_CHUNK_BYTES", 5 * x[0].nbytes)
    monkeypatch.setattr(nz, "_THREAD_CHUNK_BYTES", 3 * x[0].nbytes)
    gamma, beta = rng.standard_normal(8), rng.standard_normal(8)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        parallel.set_num_threads(threads)
        stats = BatchNormStats(np.full(8, 0.5, np.float32), np.full(8, 2.0, np.float32))
        out, cache = nz.spatial_batchnorm_forward(x, gamma.astype(np.float32),
                                                  beta.astype(np.float32), stats, train=train)
        results.append((out, stats.running_mean, stats.running_var,
                        *nz.spatial_batchnorm_backward(dout, cache)))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_layernorm_standardizes_each_example():
    """Does layer norm give every example mean 0 and std 1 over its features?"""
    x, _, _ = bn_inputs(1, N=6, D=50)
    out, _ = nz.layernorm_forward(x, np.ones(50), np.zeros(50))
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1, rtol=1e-3)


def test_stats_create():
    """Does BatchNormStats.create give zeros for the mean and ones for the variance?"""
    stats = BatchNormStats.create(3)
    np.testing.assert_array_equal(stats.running_mean, np.zeros(3))
    np.testing.assert_array_equal(stats.running_var, np.ones(3))
    with pytest.raises(ValueError):
        BatchNormStats.create(0)


def test_clear_errors():
    """Are missing test-mode statistics, a single training example and mismatched shapes refused?"""
    x, gamma, beta = bn_inputs(0)
    with pytest.raises(ValueError, match="BatchNormStats"):
        nz.batchnorm_forward(x, gamma, beta, None, train=False)
    with pytest.raises(ValueError, match="at least 2"):
        nz.batchnorm_forward(x[:1], gamma, beta, None)
    with pytest.raises(ValueError, match=r"create\(5\)"):
        nz.batchnorm_forward(x, gamma, beta, BatchNormStats.create(4))
    with pytest.raises(ValueError, match="gamma and beta"):
        nz.layernorm_forward(x, gamma[:3], beta)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        nz.spatial_batchnorm_forward(x, gamma, beta, None)
