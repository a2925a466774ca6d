"""course_lib.parallel: the thread count, network_pass and matmul.

How the layers use the threads (the same numbers with any count, a pool
thread really working, no pool with one thread, a forked child) is tested
with the layers, in test_conv.py, test_pooling.py and test_normalization.py.
"""
import numpy as np
import pytest

from course_lib import conv, parallel


@pytest.fixture
def restore_threads(monkeypatch):
    """Whatever a test sets, the thread count is restored afterwards."""
    monkeypatch.setattr(parallel, "_num_threads", parallel.get_num_threads())


def test_conv_still_offers_the_thread_settings():
    """Do conv.set_num_threads, get_num_threads and network_pass (their first
    home) still work, as parallel's?"""
    assert conv.set_num_threads is parallel.set_num_threads
    assert conv.get_num_threads is parallel.get_num_threads
    assert conv.network_pass is parallel.network_pass


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError),
                                        (1.5, TypeError), ("2", TypeError),
                                        (True, TypeError), (2.0, TypeError)])
def test_set_num_threads_validates(restore_threads, bad, error):
    """Does the thread knob refuse non-integers and counts below 1, and keep
    its setting?"""
    parallel.set_num_threads(3)
    with pytest.raises(error, match="number of threads"):
        parallel.set_num_threads(bad)
    assert parallel.get_num_threads() == 3


def test_set_num_threads_default_and_environment(monkeypatch, restore_threads):
    """Does None restore the default, which COURSE_LIB_NUM_THREADS (else
    OMP_NUM_THREADS) overrides, and is the previous value returned?"""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("COURSE_LIB_NUM_THREADS", "3")
    parallel.set_num_threads(2)
    assert parallel.set_num_threads(None) == 2
    assert parallel.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert parallel._default_num_threads() == 3
    monkeypatch.delenv("COURSE_LIB_NUM_THREADS")
    assert parallel._default_num_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "many")              # ignored
    assert 1 <= parallel._default_num_threads() <= parallel._MAX_DEFAULT_THREADS


def _blas_threads():
    from threadpoolctl import threadpool_info
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_network_pass_keeps_blas_on_one_thread_only_when_threaded(restore_threads):
    """Inside network_pass, is BLAS limited to one thread when our layers run
    several (so that its spinning workers leave the cores to ours), left as
    it was with one, and restored on the way out?"""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        if not before or max(before) < 2:
            pytest.skip("this BLAS cannot be given two threads")
        parallel.set_num_threads(2)
        with parallel.network_pass():
            assert _blas_threads() == [1] * len(before)
        assert _blas_threads() == before
        parallel.set_num_threads(1)
        with parallel.network_pass():
            assert _blas_threads() == before


def test_threaded_steps_limit_blas_once_per_network_pass(monkeypatch, restore_threads):
    """Do the threaded steps run with BLAS on one thread both inside
    network_pass and outside it, and set that limit themselves only
    outside (inside, network_pass has set it once for the whole pass)?
    Nested passes keep it until the outer one ends."""
    from threadpoolctl import threadpool_limits
    entered, blas = [], []
    real = parallel._single_blas_thread

    def counting():
        entered.append(1)
        return real()
    monkeypatch.setattr(parallel, "_single_blas_thread", counting)

    def step():
        parallel._in_threads(lambda tasks: [blas.append(_blas_threads()) for _ in tasks],
                             [0, 1, 2, 3], 2)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        if not before or max(before) < 2:
            pytest.skip("this BLAS cannot be given two threads")
        parallel.set_num_threads(2)
        step()
        assert len(entered) == 1
        with parallel.network_pass():
            with parallel.network_pass():
                step()
            step()
        assert len(entered) == 3                # the two network_pass contexts only
        step()
        assert len(entered) == 4
        assert _blas_threads() == before
    assert len(blas) == 16 and all(set(limits) == {1} for limits in blas)


PRODUCT_SHAPES = [  # (m, k, n): the output cut along its columns, along its rows
    (20, 300, 900), (700, 40, 260)]


@pytest.mark.parametrize("m, k, n", PRODUCT_SHAPES)
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_is_the_product(monkeypatch, restore_threads, m, k, n, threads, dtype):
    """On contiguous operands and on transposed views (as the affine layers
    pass them), does parallel.matmul give a @ b in the operands' dtype, with
    every piece filled (the pieces shared among threads where it splits)?"""
    monkeypatch.setattr(parallel, "_MIN_PARALLEL_MULTIPLY_ADDS", 1)
    parallel.set_num_threads(threads)
    rng = np.random.default_rng(threads)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    a_t, b_t = np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T    # F-ordered views
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for left, right in ((a, b), (a_t, b), (a, b_t)):
        out = parallel.matmul(left, right)
        assert out.dtype == dtype and out.shape == (m, n)
        np.testing.assert_allclose(out, a @ b, rtol=tolerance, atol=tolerance * np.sqrt(k))


def test_matmul_splits_only_large_products_with_threads(monkeypatch, restore_threads):
    """Is a product shared among threads (one piece each, on BLAS's one
    thread) only with several threads and at least
    _MIN_PARALLEL_MULTIPLY_ADDS multiply-adds?"""
    from threadpoolctl import threadpool_limits
    calls = []
    real = parallel._in_threads

    def spy(work, chunks, threads):
        calls.append((len(chunks), threads))
        def recorded(tasks):
            blas.append(_blas_threads())
            return work(tasks)
        return real(recorded, chunks, threads)
    blas = []
    monkeypatch.setattr(parallel, "_in_threads", spy)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((256, 256)), rng.standard_normal((256, 256))  # 16.8M
    assert a.shape[0] * a.shape[1] * b.shape[1] >= parallel._MIN_PARALLEL_MULTIPLY_ADDS
    with threadpool_limits(limits=2, user_api="blas"):
        parallel.set_num_threads(2)
        parallel.matmul(a, b)
        parallel.matmul(a[:, :128], b[:128])                  # half as large
        parallel.set_num_threads(1)
        parallel.matmul(a, b)
    assert calls == [(2, 2)]
    assert blas and all(set(limits) == {1} for limits in blas)


def test_network_pass_limits_a_blas_loaded_after_its_first_use(restore_threads):
    """A BLAS library loaded after network_pass was first used (scipy brings
    its own OpenBLAS): is it limited to one thread inside the context too?"""
    import subprocess
    import sys
    code = (
        "from threadpoolctl import threadpool_info, threadpool_limits\n"
        "from course_lib import parallel\n"
        "parallel.set_num_threads(2)\n"
        "with threadpool_limits(limits=2, user_api='blas'):\n"
        "    with parallel.network_pass():\n"
        "        pass\n"
        "    import scipy.linalg\n"
        "with threadpool_limits(limits=2, user_api='blas'):\n"
        "    libs = [i['filepath'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "    with parallel.network_pass():\n"
        "        inside = [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "print(len(set(libs)), inside)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**__import__("os").environ, "OPENBLAS_NUM_THREADS": "2"})
    assert run.returncode == 0, run.stderr
    count, inside = run.stdout.split(maxsplit=1)
    if int(count) < 2:
        pytest.skip("scipy shares numpy's BLAS here")
    assert inside.strip() == str([1] * int(count))
