"""Tests for course_lib.conv: output sizes, naive and fast convolution."""
import multiprocessing
import os
import threading

import numpy as np
import pytest

from course_lib import conv, parallel
from course_lib.conv import (conv_backward_fast, conv_backward_naive, conv_param_grads_fast,
                             conv_forward_fast, conv_forward_naive,
                             conv_output_size)
from tests.helpers import check_layer, scaled_error, sum_tolerance

# (N, C, H, W, F, HH, WW, stride, pad, dilation): each row adds one twist
GEOMETRIES = [
    (2, 3, 5, 5, 2, 3, 3, 1, 0, 1),    # plain
    (2, 2, 7, 7, 3, 3, 3, 2, 1, 1),    # stride 2 with padding
    (1, 2, 7, 6, 2, 3, 3, 1, 2, 2),    # dilation 2, batch of one, W != H
    (2, 1, 6, 9, 2, 2, 3, 2, 0, 1),    # non-square kernel, stride leaves a remainder
    (1, 3, 8, 5, 4, 1, 1, 1, 0, 1),    # 1x1 convolution
    (2, 2, 9, 8, 2, 3, 2, 3, 1, 2),    # stride 3 + dilation 2 + padding
]


def make_conv_inputs(geometry, seed=0, dtype=np.float64):
    N, C, H, W, F, HH, WW, stride, pad, dilation = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    return x, w, b, dict(stride=stride, pad=pad, dilation=dilation)


@pytest.fixture
def restore_threads(monkeypatch):
    """Whatever a test sets, the thread count is restored afterwards."""
    monkeypatch.setattr(parallel, "_num_threads", parallel.get_num_threads())


# ------------------------------------------------------------ output size ----

def test_output_size_matches_the_notes_worked_examples():
    """Does the helper give 5 and 3 for a 7-wide input and 3-wide filter at
    stride 1 and 2, and 55 for AlexNet's 227 input with F=11, S=4, P=0?"""
    assert conv_output_size(7, 3, stride=1, pad=0) == 5
    assert conv_output_size(7, 3, stride=2, pad=0) == 3
    assert conv_output_size(227, 11, stride=4, pad=0) == 55


def test_output_size_padding_dilation_and_floor():
    """Does 'same' padding keep the size, does dilation widen the filter, and
    does a stride that does not divide evenly round down like PyTorch?"""
    assert conv_output_size(32, 3, stride=1, pad=1) == 32
    assert conv_output_size(32, 7, stride=1, pad=3) == 32
    assert conv_output_size(7, 3, dilation=2) == 3      # spans 5 pixels
    assert conv_output_size(32, 3, stride=2) == 15      # (32-3)/2+1 = 15.5
    assert conv_output_size(5, 5) == 1                  # exactly fits


@pytest.mark.parametrize("args, message", [
    ((5, 7), "does not fit"),
    ((5, 3, 1, 0, 3), "does not fit"),       # dilated extent 7 > 5
    ((5, 3, 0), "stride must be >= 1"),
    ((5, 3, 1, -1), "pad must be >= 0"),
    ((0, 1), "size must be >= 1"),
    ((5, 2.0), "filter_size must be an integer"),
])
def test_output_size_rejects_impossible_geometry(args, message):
    """Does an impossible geometry raise a ValueError that names the problem?"""
    with pytest.raises(ValueError, match=message):
        conv_output_size(*args)


# ------------------------------------------------------------ known values ----

@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward_fast])
def test_forward_on_hand_computed_example(forward):
    """Does each forward pass reproduce a convolution worked out by hand?"""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]],           # x[i, j] - x[i+1, j+1]
                  [[[0.0, 1.0], [1.0, 0.0]]]])          # x[i, j+1] + x[i+1, j]
    b = np.array([0.5, -1.0])
    out, _ = forward(x, w, b, stride=2)
    np.testing.assert_allclose(out[0, 0], [[-4.5, -4.5], [-4.5, -4.5]])
    np.testing.assert_allclose(out[0, 1], [[4.0, 8.0], [20.0, 24.0]])
    # zero padding: a ones filter over an all-ones image counts the pixels
    ones, _ = forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)),
                      np.zeros(1), pad=1)
    np.testing.assert_allclose(ones[0, 0], [[4, 6, 4], [6, 9, 6], [4, 6, 4]])


def test_dilation_equals_filter_with_zeros_inserted():
    """Is a dilation-2 convolution the same as an ordinary one whose filter
    has zeros between the taps?"""
    x, w, b, _ = make_conv_inputs((2, 2, 9, 8, 3, 3, 2, 1, 1, 1), seed=3)
    wide = np.zeros((3, 2, 5, 3))
    wide[:, :, ::2, ::2] = w
    expected, _ = conv_forward_naive(x, wide, b, stride=2, pad=1)
    for forward in (conv_forward_naive, conv_forward_fast):
        out, _ = forward(x, w, b, stride=2, pad=1, dilation=2)
        assert scaled_error(out, expected) < 1e-12


# --------------------------------------------------------------- gradients ----
# Convolution is linear in each of x, w and b, so the centred difference has
# no truncation error and a larger step only shrinks the rounding error
# (which, with h=1e-6, can reach 1e-6 relative on the smallest gradients).
H_STEP = 1e-4


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_naive_backward_matches_numerical_gradient(geometry):
    """Are dx, dw, db of the naive convolution right (numerical check)?"""
    x, w, b, hyper = make_conv_inputs(geometry, seed=sum(geometry))
    errors = check_layer(conv_forward_naive, conv_backward_naive, x, w, b,
                         h=H_STEP, tol=1e-6, **hyper)
    assert sorted(errors) == [0, 1, 2]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_fast_backward_matches_numerical_gradient(geometry):
    """Are dx, dw, db of the fast convolution right (numerical check)?"""
    x, w, b, hyper = make_conv_inputs(geometry, seed=7)
    check_layer(conv_forward_fast, conv_backward_fast, x, w, b, h=H_STEP,
                tol=1e-6, **hyper)


# ------------------------------------------------------------ naive == fast ----

@pytest.mark.parametrize("geometry", GEOMETRIES + [
    (4, 3, 12, 10, 5, 5, 5, 1, 2, 1),
    (3, 4, 11, 13, 6, 3, 3, 2, 1, 1),
])
def test_fast_equals_naive(geometry):
    """Do the fast forward and backward give the naive numbers (rel < 1e-10)?"""
    x, w, b, hyper = make_conv_inputs(geometry, seed=11)
    out_naive, cache_naive = conv_forward_naive(x, w, b, **hyper)
    out_fast, cache_fast = conv_forward_fast(x, w, b, **hyper)
    assert out_fast.shape == out_naive.shape
    assert scaled_error(out_fast, out_naive) < 1e-10
    dout = np.random.default_rng(12).standard_normal(out_naive.shape)
    for g_fast, g_naive in zip(conv_backward_fast(dout, cache_fast),
                               conv_backward_naive(dout, cache_naive)):
        assert g_fast.shape == g_naive.shape
        assert scaled_error(g_fast, g_naive) < 1e-10


@pytest.mark.parametrize("geometry", [GEOMETRIES[1], GEOMETRIES[2]])
def test_fast_same_when_batch_is_split(monkeypatch, geometry):
    """When the fast version works through the batch a few examples at a
    time (as it does on large batches), are the results still the naive ones?"""
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)       # one example per chunk
    x, w, b, hyper = make_conv_inputs((5,) + geometry[1:], seed=8)
    out_naive, cache_naive = conv_forward_naive(x, w, b, **hyper)
    out_fast, cache_fast = conv_forward_fast(x, w, b, **hyper)
    assert scaled_error(out_fast, out_naive) < 1e-10
    dout = np.random.default_rng(9).standard_normal(out_naive.shape)
    for g_fast, g_naive in zip(conv_backward_fast(dout, cache_fast),
                               conv_backward_naive(dout, cache_naive)):
        assert scaled_error(g_fast, g_naive) < 1e-10


@pytest.mark.parametrize("geometry", [GEOMETRIES[1], GEOMETRIES[2],
                                      (3, 4, 11, 13, 6, 3, 3, 2, 1, 1)])
def test_fast_same_without_kept_columns(monkeypatch, restore_threads, geometry):
    """When the forward pass does not keep its im2col matrix (too large),
    does the backward pass rebuild it and give the same gradients?"""
    parallel.set_num_threads(1)             # with threads it is never kept
    x, w, b, hyper = make_conv_inputs(geometry, seed=13)
    out, cache_kept = conv_forward_fast(x, w, b, **hyper)
    assert cache_kept[6] is not None
    monkeypatch.setattr(conv, "_KEEP_COLS_BYTES", 0)
    out_small, cache_small = conv_forward_fast(x, w, b, **hyper)
    assert cache_small[6] is None
    np.testing.assert_array_equal(out_small, out)
    dout = np.random.default_rng(14).standard_normal(out.shape)
    _, cache_naive = conv_forward_naive(x, w, b, **hyper)
    for g_small, g_kept, g_naive in zip(conv_backward_fast(dout, cache_small),
                                        conv_backward_fast(dout, cache_kept),
                                        conv_backward_naive(dout, cache_naive)):
        assert scaled_error(g_small, g_naive) < 1e-10
        assert scaled_error(g_kept, g_naive) < 1e-10


def test_caches_are_interchangeable():
    """Can the fast backward use the naive forward's cache and vice versa?"""
    x, w, b, hyper = make_conv_inputs(GEOMETRIES[1], seed=5)
    out, cache_naive = conv_forward_naive(x, w, b, **hyper)
    _, cache_fast = conv_forward_fast(x, w, b, **hyper)
    dout = np.ones_like(out)
    for a, c in zip(conv_backward_fast(dout, cache_naive),
                    conv_backward_naive(dout, cache_fast)):
        assert scaled_error(a, c) < 1e-10


@pytest.mark.parametrize("forward, backward", [
    (conv_forward_naive, conv_backward_naive),
    (conv_forward_fast, conv_backward_fast)])
def test_float32_in_float32_out(forward, backward):
    """Does float32 input give float32 outputs and gradients, close to the
    float64 result?"""
    x, w, b, hyper = make_conv_inputs(GEOMETRIES[2], seed=2, dtype=np.float32)
    out, cache = forward(x, w, b, **hyper)
    dout = np.ones_like(out)
    grads = backward(dout, cache)
    assert out.dtype == np.float32
    assert [g.dtype for g in grads] == [np.float32] * 3
    out64, cache64 = forward(*(a.astype(np.float64) for a in (x, w, b)), **hyper)
    assert scaled_error(out, out64) < 1e-4
    for g, g64 in zip(grads, backward(dout.astype(np.float64), cache64)):
        assert scaled_error(g, g64) < 1e-4


def test_integer_images_are_computed_in_float64():
    """Does a uint8 image (as loaded from CIFAR-10) give a float64 output
    instead of overflowing?"""
    x = np.full((1, 1, 3, 3), 200, dtype=np.uint8)
    out, _ = conv_forward_fast(x, np.ones((1, 1, 3, 3), dtype=np.int64),
                               np.zeros(1, dtype=np.int64))
    assert out.dtype == np.float64
    assert out[0, 0, 0, 0] == 1800.0


@pytest.mark.parametrize("forward, backward", [
    (conv_forward_naive, conv_backward_naive),
    (conv_forward_fast, conv_backward_fast)])
def test_no_input_or_cache_is_mutated(forward, backward):
    """Do forward and backward leave x, w, b, dout and the cache untouched?"""
    x, w, b, hyper = make_conv_inputs(GEOMETRIES[5], seed=4)
    saved = [a.copy() for a in (x, w, b)]
    out, cache = forward(x, w, b, **hyper)
    cache_arrays = [a.copy() for a in cache if isinstance(a, np.ndarray)]
    dout = np.random.default_rng(0).standard_normal(out.shape)
    dout_saved = dout.copy()
    backward(dout, cache)
    for a, s in zip((x, w, b), saved):
        np.testing.assert_array_equal(a, s)
    np.testing.assert_array_equal(dout, dout_saved)
    for a, s in zip([a for a in cache if isinstance(a, np.ndarray)], cache_arrays):
        np.testing.assert_array_equal(a, s)


# ------------------------------------------------------------------ errors ----

@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward_fast])
@pytest.mark.parametrize("shapes, message", [
    (((2, 32, 32, 3), (4, 3, 3, 3), (4,)), "channels-last: use x.transpose"),
    (((2, 5, 8, 8), (4, 3, 3, 3), (4,)), r"x has 5 channels \(axis 1\) but w expects 3"),
    (((2, 3, 8), (4, 3, 3, 3), (4,)), r"x must be \(N, C, H, W\)"),
    (((2, 3, 8, 8), (4, 3, 3), (4,)), r"w must be \(F, C, HH, WW\)"),
    (((2, 3, 8, 8), (4, 3, 3, 3), (3,)), "b must have shape"),
    (((2, 3, 2, 2), (4, 3, 3, 3), (4,)), "does not fit"),
])
def test_bad_shapes_raise_clear_errors(forward, shapes, message):
    """Do wrong shapes (channels-last images, a missing axis, a bias of the
    wrong length, a filter larger than the image) raise a helpful error?"""
    x, w, b = (np.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match=message):
        forward(x, w, b)


@pytest.mark.parametrize("forward, backward", [
    (conv_forward_naive, conv_backward_naive),
    (conv_forward_fast, conv_backward_fast)])
def test_backward_rejects_dout_of_wrong_shape(forward, backward):
    """Does backward refuse a dout whose shape is not the forward output's?"""
    x, w, b, hyper = make_conv_inputs(GEOMETRIES[0])
    out, cache = forward(x, w, b, **hyper)
    with pytest.raises(ValueError, match="dout has shape"):
        backward(out[:, :, :-1], cache)


# ----------------------------------------------------------------- threads ----
# The fast layers share a batch's chunks among parallel.get_num_threads() threads.
# The chunk size is made tiny so that even these small batches give several
# chunks (and odd numbers of them) to share.

THREAD_GEOMETRIES = [   # N is large enough for several chunks
    (7, 2, 7, 7, 3, 3, 3, 2, 1, 1),     # stride 2 with padding
    (5, 2, 7, 6, 2, 3, 3, 1, 2, 2),     # dilation 2, stride 1 (the wide col2im)
    (6, 1, 6, 9, 2, 2, 3, 2, 0, 1),     # non-square kernel, no padding
    (9, 3, 8, 8, 4, 5, 5, 1, 2, 1),     # 'same' 5x5
]


def small_chunks(monkeypatch, geometry, dtype, items):
    """Make the conv chunks ``items`` examples long for this geometry."""
    N, C, H, W, F, HH, WW, stride, pad, dilation = geometry
    positions = (conv_output_size(H, HH, stride, pad, dilation)
                 * conv_output_size(W, WW, stride, pad, dilation))
    monkeypatch.setattr(conv, "_CHUNK_BYTES",
                        items * C * HH * WW * positions * np.dtype(dtype).itemsize)


def conv_results(geometry, dtype, threads, seed=21):
    """out, dx, dw, db of the fast layer run with ``threads`` threads."""
    x, w, b, hyper = make_conv_inputs(geometry, seed=seed, dtype=dtype)
    parallel.set_num_threads(threads)
    out, cache = conv_forward_fast(x, w, b, **hyper)
    dout = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(dtype)
    return (out,) + conv_backward_fast(dout, cache)


def assert_threads_match_serial(geometry, dtype, threads, seed=21):
    """Fast with ``threads`` threads == fast serial == naive (float64).

    out, dx and db must equal the serial numbers to within rounding (each
    example is computed by the same operations), dw too (the threads' partial
    sums are added in another order); the same thread count must give
    bitwise the same numbers twice.
    """
    serial = conv_results(geometry, dtype, 1, seed)
    threaded = conv_results(geometry, dtype, threads, seed)
    again = conv_results(geometry, dtype, threads, seed)
    x, w, b, hyper = make_conv_inputs(geometry, seed=seed)
    out, cache = conv_forward_naive(x, w, b, **hyper)
    dout = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(dtype)
    naive = (out,) + conv_backward_naive(dout.astype(np.float64), cache)
    # Threads add dw's and db's per-chunk partial sums in another order than
    # one thread does, and BLAS kernels differ between CPUs: compare with the
    # rounding error of the longest sum in any output (dw adds N * Hout * Wout
    # products), relative to each output's scale.
    N, C, H, W, F, HH, WW = geometry[:7]
    n_terms = max(N * out.shape[2] * out.shape[3], C * HH * WW, F * HH * WW)
    tol = sum_tolerance(dtype, n_terms)
    for name, t, s, a, n in zip(("out", "dx", "dw", "db"), threaded, serial, again, naive):
        assert t.dtype == dtype and t.shape == s.shape, name
        err = scaled_error(t, s)
        assert err < tol, f"{name}: {threads} threads differ from 1 by {err:.1e} > {tol:.1e}"
        err = scaled_error(t, n)
        assert err < tol, f"{name}: differs from the naive layer by {err:.1e} > {tol:.1e}"
        # The same thread count on the same machine adds in the same order.
        np.testing.assert_array_equal(t, a, err_msg=f"{name}: not deterministic")


@pytest.mark.parametrize("geometry", THREAD_GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("items", [1, 2])
@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_the_serial_results(monkeypatch, restore_threads, geometry,
                                         dtype, items, threads):
    """With 2 or 3 threads sharing chunks of 1 or 2 examples, are out, dx,
    dw and db those of the serial fast layer and of the naive one?"""
    small_chunks(monkeypatch, geometry, dtype, items)
    assert len(conv._batch_chunks(geometry[0], 1, items, threads)) >= threads
    assert_threads_match_serial(geometry, dtype, threads)


@pytest.mark.parametrize("geometry", THREAD_GEOMETRIES[:2])
def test_threads_and_caches_mix(monkeypatch, restore_threads, geometry):
    """A serial forward keeps its im2col matrix in the cache; a threaded one
    does not (each thread regathers its chunks). Does either backward, with
    1 or 2 threads, give the serial gradients from either cache?"""
    small_chunks(monkeypatch, geometry, np.float64, 1)
    x, w, b, hyper = make_conv_inputs(geometry, seed=23)
    caches = {}
    for threads in (1, 2):
        parallel.set_num_threads(threads)
        caches[threads] = conv_forward_fast(x, w, b, **hyper)[1]
    assert caches[1][6] is not None and caches[2][6] is None
    dout = np.random.default_rng(24).standard_normal(conv_forward_naive(
        x, w, b, **hyper)[0].shape)
    parallel.set_num_threads(1)
    expected = conv_backward_fast(dout, caches[1])
    for forward_threads, backward_threads in [(1, 2), (2, 1), (2, 2)]:
        parallel.set_num_threads(backward_threads)
        got = conv_backward_fast(dout, caches[forward_threads])
        for g, e in zip(got, expected):
            assert scaled_error(g, e) < 1e-12


@pytest.mark.parametrize("lost", [0, -1])
def test_thread_comparison_catches_a_lost_chunk(monkeypatch, restore_threads, lost):
    """Would the comparison above notice if no thread did the first (or the
    last) chunk? (Seeds no other test uses: a lost chunk leaves whatever
    np.empty found, which can be a freed result of the same computation.)"""
    real = parallel._in_threads

    def broken(work, chunks, threads):
        if threads > 1:
            chunks = [c for i, c in enumerate(chunks) if i != lost % len(chunks)]
        return real(work, chunks, threads)
    monkeypatch.setattr(parallel, "_in_threads", broken)
    geometry = THREAD_GEOMETRIES[0]
    small_chunks(monkeypatch, geometry, np.float64, 1)
    with pytest.raises(AssertionError):
        assert_threads_match_serial(geometry, np.float64, 2, seed=70 + 10 * lost)


def test_threads_really_run_in_parallel(monkeypatch, restore_threads):
    """With 2 threads, does a pool thread (not only the caller) do chunks?"""
    real, idents = parallel._in_threads, set()
    helper_ran = threading.Event()

    def spy(work, chunks, threads):
        def recorded(tasks):
            idents.add(threading.get_ident())
            if threading.current_thread() is threading.main_thread():
                helper_ran.wait(10)        # let the pool thread take chunks first
            else:
                helper_ran.set()
            return work(tasks)
        return real(recorded, chunks, threads)
    monkeypatch.setattr(parallel, "_in_threads", spy)
    small_chunks(monkeypatch, THREAD_GEOMETRIES[0], np.float64, 1)
    conv_results(THREAD_GEOMETRIES[0], np.float64, 2)
    # the caller and a pool thread; a pool made earlier for 3 threads has two
    # workers, and the forward and backward calls may each get another one
    assert threading.main_thread().ident in idents and len(idents) >= 2


def test_one_thread_never_touches_the_pool(monkeypatch, restore_threads):
    """With 1 thread (or a single chunk) no pool is made or used."""
    class NoPool:
        def __init__(self, *args):
            raise AssertionError("a thread pool was made")
    monkeypatch.setattr(parallel, "ThreadPoolExecutor", NoPool)
    monkeypatch.setattr(parallel, "_executor", None)
    geometry = THREAD_GEOMETRIES[0]
    small_chunks(monkeypatch, geometry, np.float64, 1)
    conv_results(geometry, np.float64, 1)
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1 << 30)   # one chunk
    conv_results(geometry, np.float64, 2)


def test_threads_fall_back_when_no_thread_starts(monkeypatch, restore_threads):
    """If the pool cannot start a thread (e.g. a process limit), does the
    caller do all the work, with the same results?"""
    class Hopeless:
        def __init__(self, *args):
            pass

        def submit(self, fn, *args):
            raise RuntimeError("can't start new thread")

        def shutdown(self, wait=True, cancel_futures=False):
            pass
    geometry = THREAD_GEOMETRIES[1]
    small_chunks(monkeypatch, geometry, np.float64, 1)
    expected = conv_results(geometry, np.float64, 2)
    monkeypatch.setattr(parallel, "ThreadPoolExecutor", Hopeless)
    monkeypatch.setattr(parallel, "_executor", None)
    for got, want in zip(conv_results(geometry, np.float64, 2), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_threads_work_in_a_forked_child(monkeypatch, restore_threads):
    """A child process forked after the pool started (its threads stay in
    the parent) gets a pool of its own and the same results."""
    geometry = THREAD_GEOMETRIES[0]
    small_chunks(monkeypatch, geometry, np.float64, 1)
    expected = conv_results(geometry, np.float64, 2)           # starts the pool
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as children:
        got = children.apply_async(conv_results, (geometry, np.float64, 2)).get(60)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_batch_chunks_share_evenly():
    """Do the chunks cover the batch in order, keep the serial split for one
    thread, and for several threads come in equal sizes (within one) and a
    multiple of the thread count when there are enough examples?"""
    assert conv._batch_chunks(10, 1, 4) == [slice(0, 4), slice(4, 8), slice(8, 10)]
    for num, step, threads in [(10, 4, 2), (50, 3, 2), (7, 1, 3), (3, 1, 2), (5, 9, 2)]:
        chunks = conv._batch_chunks(num, 1, step, threads)
        assert [c.start for c in chunks[1:]] == [c.stop for c in chunks[:-1]]
        assert chunks[0].start == 0 and chunks[-1].stop == num
        sizes = [c.stop - c.start for c in chunks]
        assert max(sizes) - min(sizes) <= 1 and max(sizes) <= step
        assert len(chunks) % threads == 0 or len(chunks) == num or len(chunks) == 1


@pytest.mark.parametrize("stride, pad", [(1, 1), (2, 0), (2, 1)])
def test_conv_param_grads_are_the_backward_passs_dw_and_db(stride, pad):
    """Does conv_param_grads_fast give exactly conv_backward_fast's dw and db
    (it skips dx, for a network's first layer), from either forward's cache?"""
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((5, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3)), \
        rng.standard_normal(4)
    for forward in (conv_forward_fast, conv_forward_naive):
        out, cache = forward(x, w, b, stride=stride, pad=pad)
        dout = rng.standard_normal(out.shape)
        _, dw, db = conv_backward_fast(dout, cache)
        dw_alone, db_alone = conv_param_grads_fast(dout, cache)
        np.testing.assert_array_equal(dw_alone, dw)
        np.testing.assert_array_equal(db_alone, db)
