"""Tests for course_lib.pooling: max pooling (naive and fast) and average pooling."""
import numpy as np
import pytest

from course_lib import conv, parallel, pooling
from course_lib.pooling import (avg_pool_backward, avg_pool_forward,
                                max_pool_backward_fast, max_pool_backward_naive,
                                max_pool_forward_fast, max_pool_forward_naive)
from tests.helpers import check_layer, scaled_error

# (x shape, pool_height, pool_width, stride)
GEOMETRIES = [
    ((2, 3, 8, 8), 2, 2, 2),     # the usual 2x2 stride 2, tiles cover x
    ((2, 2, 7, 9), 3, 3, 2),     # overlapping 3x3 stride 2
    ((1, 2, 5, 6), 2, 3, 1),     # non-square window, stride 1, batch of one
    ((2, 2, 7, 7), 2, 2, 3),     # gaps between windows
    ((2, 1, 7, 5), 2, 2, 2),     # odd size: last row/column never pooled
    ((1, 1, 4, 6), 4, 6, 1),     # one window covers the whole image
]

MAX_PAIRS = [(max_pool_forward_naive, max_pool_backward_naive),
             (max_pool_forward_fast, max_pool_backward_fast)]


@pytest.fixture
def restore_threads(monkeypatch):
    """Whatever a test sets, the thread count is restored afterwards."""
    monkeypatch.setattr(parallel, "_num_threads", parallel.get_num_threads())


def random_x(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------ known values ----

@pytest.mark.parametrize("forward", [max_pool_forward_naive, max_pool_forward_fast])
def test_max_pool_hand_computed(forward):
    """Does 2x2 stride-2 max pooling keep the largest of each tile?"""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, _ = forward(x)
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])
    out, _ = forward(-x, 3, 3, 1)
    np.testing.assert_array_equal(out[0, 0], [[0, -1], [-4, -5]])


def test_avg_pool_hand_computed():
    """Does 2x2 stride-2 average pooling give each tile's mean?"""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, cache = avg_pool_forward(x)
    np.testing.assert_array_equal(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    dx = avg_pool_backward(np.ones((1, 1, 2, 2)), cache)
    np.testing.assert_array_equal(dx, np.full((1, 1, 4, 4), 0.25))


@pytest.mark.parametrize("forward, backward", MAX_PAIRS)
def test_max_pool_routes_gradient_to_the_maximum(forward, backward):
    """Does each window's gradient land on its maximum, and nowhere else?"""
    x = np.array([[[[1.0, 9.0, 2.0, 0.0],
                    [3.0, 4.0, 8.0, 1.0],
                    [7.0, 5.0, 0.0, 6.0],
                    [2.0, 1.0, 3.0, 4.0]]]])
    out, cache = forward(x)
    dx = backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), cache)
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 0, 1], expected[0, 0, 1, 2] = 10, 20
    expected[0, 0, 2, 0], expected[0, 0, 2, 3] = 30, 40
    np.testing.assert_array_equal(dx, expected)


@pytest.mark.parametrize("forward, backward", MAX_PAIRS)
@pytest.mark.parametrize("pool", [(2, 2, 2), (3, 3, 2), (2, 3, 1)])
def test_max_pool_ties_go_to_first_element(forward, backward, pool):
    """When a window holds several equal maxima (e.g. all zeros after a ReLU),
    does the whole gradient go to the first in row-major order, once?"""
    x = np.zeros((1, 1, 5, 7))
    out, cache = forward(x, *pool)
    dout = np.arange(1.0, out.size + 1).reshape(out.shape)
    dx = backward(dout, cache)
    ph, pw, stride = pool
    expected = np.zeros_like(x)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            expected[0, 0, i * stride, j * stride] += dout[0, 0, i, j]
    np.testing.assert_array_equal(dx, expected)
    assert dx.sum() == dout.sum()     # nothing duplicated, nothing lost


# --------------------------------------------------------------- gradients ----

@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_max_pool_naive_backward_matches_numerical_gradient(geometry):
    """Is the naive max-pool gradient right (numerical check)?"""
    shape, ph, pw, stride = geometry
    check_layer(max_pool_forward_naive, max_pool_backward_naive,
                random_x(shape, seed=len(shape) + ph), ph, pw, stride, tol=1e-6)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_max_pool_fast_backward_matches_numerical_gradient(geometry):
    """Is the fast max-pool gradient right (numerical check)?"""
    shape, ph, pw, stride = geometry
    check_layer(max_pool_forward_fast, max_pool_backward_fast,
                random_x(shape, seed=3), ph, pw, stride, tol=1e-6)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_avg_pool_backward_matches_numerical_gradient(geometry):
    """Is the average-pool gradient right (numerical check)?"""
    shape, ph, pw, stride = geometry
    # the layer is linear: a larger step has no truncation error and less
    # rounding error
    check_layer(avg_pool_forward, avg_pool_backward,
                random_x(shape, seed=5), ph, pw, stride, h=1e-4, tol=1e-6)


# ------------------------------------------------------------ naive == fast ----

@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("relu", [False, True])
def test_fast_max_pool_equals_naive(geometry, relu):
    """Do the fast max-pool forward and backward give exactly the naive
    numbers, also on ReLU-like inputs full of tied zeros?"""
    shape, ph, pw, stride = geometry
    x = random_x(shape, seed=9)
    if relu:
        x = np.maximum(x, 0)
    out_naive, cache_naive = max_pool_forward_naive(x, ph, pw, stride)
    out_fast, cache_fast = max_pool_forward_fast(x, ph, pw, stride)
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = random_x(out_naive.shape, seed=10)
    dx_naive = max_pool_backward_naive(dout, cache_naive)
    dx_fast = max_pool_backward_fast(dout, cache_fast)
    assert scaled_error(dx_fast, dx_naive) < 1e-10
    # caches are interchangeable
    assert scaled_error(max_pool_backward_fast(dout, cache_naive), dx_naive) < 1e-10
    assert scaled_error(max_pool_backward_naive(dout, cache_fast), dx_naive) < 1e-10


@pytest.mark.parametrize("geometry", [GEOMETRIES[0], GEOMETRIES[1]])
def test_fast_max_pool_same_when_batch_is_split(monkeypatch, restore_threads, geometry):
    """When the fast version works through the batch a few examples at a
    time (as it does on large inputs), are the results still the naive ones?"""
    parallel.set_num_threads(1)             # the serial path (threads: below)
    monkeypatch.setattr(pooling, "_CHUNK_BYTES", 1)     # one example per chunk
    shape, ph, pw, stride = geometry
    x = np.maximum(random_x((5,) + shape[1:], seed=4), 0)
    out_naive, cache_naive = max_pool_forward_naive(x, ph, pw, stride)
    out_fast, cache_fast = max_pool_forward_fast(x, ph, pw, stride)
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = random_x(out_naive.shape, seed=6)
    # overlapping windows add in another order: equal up to rounding
    assert scaled_error(max_pool_backward_fast(dout, cache_fast),
                     max_pool_backward_naive(dout, cache_naive)) < 1e-12


def test_uncovered_rows_get_zero_gradient():
    """With an odd image size, do the last row and column (in no window) get
    exactly zero gradient from both max and average pooling?"""
    x = random_x((2, 3, 7, 5), seed=1)
    for forward, backward in MAX_PAIRS + [(avg_pool_forward, avg_pool_backward)]:
        out, cache = forward(x)
        dx = backward(np.ones_like(out), cache)
        assert out.shape == (2, 3, 3, 2)
        assert np.all(dx[:, :, 6, :] == 0) and np.all(dx[:, :, :, 4] == 0)
        assert dx.sum() == pytest.approx(out.size)


# ------------------------------------------------------ dtype and mutation ----

@pytest.mark.parametrize("forward, backward", MAX_PAIRS + [
    (avg_pool_forward, avg_pool_backward)])
def test_float32_in_float32_out(forward, backward):
    """Does float32 input give float32 output and gradient?"""
    x = random_x((2, 3, 6, 6), dtype=np.float32)
    out, cache = forward(x)
    dx = backward(np.ones_like(out), cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32


@pytest.mark.parametrize("forward, backward", MAX_PAIRS + [
    (avg_pool_forward, avg_pool_backward)])
def test_integer_images_are_pooled_in_float64(forward, backward):
    """Does a uint8 image give float64 output and gradient (an average of
    integers is not an integer, nor is a gradient)?"""
    x = np.array([[[[1, 2], [3, 250]]]], dtype=np.uint8)
    out, cache = forward(x)
    dx = backward(np.full((1, 1, 1, 1), 0.5), cache)
    assert out.dtype == np.float64 and dx.dtype == np.float64
    expected_out = 250.0 if forward is not avg_pool_forward else 64.0
    assert out[0, 0, 0, 0] == expected_out
    assert dx.sum() == 0.5


@pytest.mark.parametrize("forward, backward", MAX_PAIRS + [
    (avg_pool_forward, avg_pool_backward)])
@pytest.mark.parametrize("geometry", [GEOMETRIES[0], GEOMETRIES[1]])
def test_no_input_or_cache_is_mutated(forward, backward, geometry):
    """Do forward and backward leave x, dout and the cache untouched?"""
    shape, ph, pw, stride = geometry
    x = random_x(shape)
    x_saved = x.copy()
    out, cache = forward(x, ph, pw, stride)
    cache_saved = [a.copy() for a in cache if isinstance(a, np.ndarray)]
    dout = random_x(out.shape, seed=1)
    dout_saved = dout.copy()
    backward(dout, cache)
    np.testing.assert_array_equal(x, x_saved)
    np.testing.assert_array_equal(dout, dout_saved)
    for a, s in zip([a for a in cache if isinstance(a, np.ndarray)], cache_saved):
        np.testing.assert_array_equal(a, s)


# ------------------------------------------------------------------ errors ----

@pytest.mark.parametrize("forward", [max_pool_forward_naive,
                                     max_pool_forward_fast, avg_pool_forward])
def test_bad_input_raises_clear_errors(forward):
    """Do a window larger than the image, or an image without the channel
    axis, raise a ValueError that says so?"""
    with pytest.raises(ValueError, match="does not fit"):
        forward(np.zeros((1, 1, 3, 3)), 4, 4, 1)
    with pytest.raises(ValueError, match=r"x must be \(N, C, H, W\)"):
        forward(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        forward(np.zeros((1, 1, 4, 4)), 2, 2, 0)


@pytest.mark.parametrize("forward, backward", MAX_PAIRS + [
    (avg_pool_forward, avg_pool_backward)])
def test_backward_rejects_dout_of_wrong_shape(forward, backward):
    """Does backward refuse a dout that is not the shape of the output?"""
    out, cache = forward(random_x((2, 3, 6, 6)))
    with pytest.raises(ValueError, match="dout has shape"):
        backward(np.ones((2, 3, 2, 3)), cache)


# ----------------------------------------------------------------- threads ----
# The fast max pool shares a batch's chunks among parallel.get_num_threads()
# threads; each input element sees the same operations whichever thread
# does its chunk, so the results must be bitwise the serial ones.

THREAD_GEOMETRIES = [   # N is large enough for several chunks
    ((7, 3, 8, 8), 2, 2, 2),     # the usual 2x2 stride 2
    ((5, 2, 7, 9), 3, 3, 2),     # overlapping 3x3 stride 2 (accumulating backward)
    ((6, 2, 5, 6), 2, 3, 1),     # non-square window, stride 1
    ((9, 1, 7, 5), 2, 2, 2),     # odd size: last row/column never pooled
]


def pool_results(geometry, dtype, threads, seed=31):
    shape, ph, pw, stride = geometry
    x = np.maximum(random_x(shape, seed=seed, dtype=dtype), 0)   # many ties
    parallel.set_num_threads(threads)
    out, cache = max_pool_forward_fast(x, ph, pw, stride)
    dout = random_x(out.shape, seed=seed + 1, dtype=dtype)
    return out, cache[4], max_pool_backward_fast(dout, cache)


def assert_pool_threads_match_serial(geometry, dtype, threads, seed=31):
    """Fast max pool with ``threads`` threads == serial fast == naive."""
    serial = pool_results(geometry, dtype, 1, seed)
    threaded = pool_results(geometry, dtype, threads, seed)
    for name, t, s in zip(("out", "argmax", "dx"), threaded, serial):
        np.testing.assert_array_equal(t, s, err_msg=f"{name}: {threads} threads differ")
    shape, ph, pw, stride = geometry
    x = np.maximum(random_x(shape, seed=seed, dtype=dtype), 0)
    out, cache = max_pool_forward_naive(x, ph, pw, stride)
    np.testing.assert_array_equal(threaded[0], out)
    dx = max_pool_backward_naive(random_x(out.shape, seed=seed + 1, dtype=dtype), cache)
    assert scaled_error(threaded[2], dx) < 1e-6


@pytest.mark.parametrize("geometry", THREAD_GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("items", [1, 2])
@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_the_serial_results(monkeypatch, restore_threads, geometry,
                                         dtype, items, threads):
    """With 2 or 3 threads sharing chunks of 1 or 2 examples, are the output,
    the recorded winners and dx bitwise the serial ones (and the naive)?"""
    shape = geometry[0]
    for name in ("_CHUNK_BYTES", "_THREAD_CHUNK_BYTES"):
        monkeypatch.setattr(pooling, name,
                            items * int(np.prod(shape[1:])) * np.dtype(dtype).itemsize)
    assert len(pooling._batch_chunks(np.empty(shape, dtype), threads)) >= threads
    assert_pool_threads_match_serial(geometry, dtype, threads)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_thread_comparison_catches_a_lost_chunk(monkeypatch, restore_threads, direction):
    """Would the comparison above notice a chunk that no thread did? (Seeds
    no other test uses: a lost chunk leaves whatever np.empty found, which
    can be a freed result of the same computation, and then it does not.)"""
    real = parallel._in_threads

    def broken(work, chunks, threads):     # work is max_pool_<direction>_fast's
        if threads > 1 and direction in work.__qualname__:
            chunks = chunks[:-1]
        return real(work, chunks, threads)
    monkeypatch.setattr(parallel, "_in_threads", broken)
    monkeypatch.setattr(pooling, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(pooling, "_THREAD_CHUNK_BYTES", 1)
    with pytest.raises(AssertionError):
        assert_pool_threads_match_serial(THREAD_GEOMETRIES[0], np.float64, 2,
                                         seed=80 if direction == "forward" else 90)
