"""The threads course_lib's layers and optimizer share.

numpy runs each elementwise operation on one core; only matrix products can
use more, through BLAS's own threads. The fast conv and pooling layers,
spatial batch normalization, the fully connected layers' products and
Adam's update cut their work into independent pieces and share them among
a few Python threads instead (numpy releases the GIL inside its
operations, so the threads really run in parallel)::

    from course_lib import parallel
    parallel.set_num_threads(2)       # 1: everything in the calling thread
    with parallel.network_pass():     # BLAS on one thread while ours work
        out = parallel.matmul(a, b)   # a @ b, one piece per thread

``course_lib.conv`` still offers ``set_num_threads``, ``get_num_threads`` and
``network_pass``, their first home, as aliases of these.
"""
import contextlib
import numbers
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["set_num_threads", "get_num_threads", "network_pass", "matmul"]

# the default number of threads is at most this
_MAX_DEFAULT_THREADS = 4


def _default_num_threads():
    """COURSE_LIB_NUM_THREADS, else OMP_NUM_THREADS (so that a process told
    to use one thread, like a grading sandbox, stays serial), else the
    number of usable CPUs, at most _MAX_DEFAULT_THREADS."""
    for name in ("COURSE_LIB_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return int(value)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count()
    return max(1, min(cpus or 1, _MAX_DEFAULT_THREADS))


_num_threads = _default_num_threads()


def set_num_threads(n=None):
    """Set how many threads course_lib's layers and Adam use.

    ``n`` is an integer >= 1; 1 runs everything in the calling thread (the
    plain serial code). ``None`` restores the default: the environment
    variable ``COURSE_LIB_NUM_THREADS`` if set, else ``OMP_NUM_THREADS``,
    else the number of CPUs this process may use, at most 4. Matrix
    products additionally use BLAS's own threads (see ``threadpoolctl``).
    Returns the previous setting.
    """
    global _num_threads
    if n is None:
        n = _default_num_threads()
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"the number of threads must be an integer, got {n!r}")
    if n < 1:
        raise ValueError(f"the number of threads must be >= 1, got {n}")
    previous, _num_threads = _num_threads, int(n)
    return previous


def get_num_threads():
    """The number of threads course_lib's layers and Adam use."""
    return _num_threads


_executor = None      # (pid, workers, ThreadPoolExecutor), made on first use
_blas = None   # (threadpoolctl controller or False, len(sys.modules) when it was made)


def _single_blas_thread():
    """Context limiting BLAS to one thread while our own threads multiply:
    a product of one chunk is too small to gain from splitting it further,
    and two threads each calling a 2-thread BLAS measured 1.5-2x slower on
    the 7x7 case. (The BLAS setting is per process: other threads' products
    also run on one BLAS thread meanwhile.)

    threadpoolctl's controller lists the BLAS libraries loaded when it is
    made (1 ms); a later import can load another (scipy brings its own
    OpenBLAS), so the controller is made again whenever modules were
    imported since."""
    global _blas
    if _blas is None or (_blas[0] and _blas[1] != len(sys.modules)):
        try:
            from threadpoolctl import ThreadpoolController
            _blas = (ThreadpoolController(), len(sys.modules))
        except Exception:   # not installed (or broken): leave BLAS alone
            _blas = (False, 0)
    controller = _blas[0]
    return controller.limit(limits=1, user_api="blas") if controller else contextlib.nullcontext()


@contextlib.contextmanager
def network_pass():
    """Context for one pass (forward, or forward and backward) of a network
    made of these layers: with several threads (:func:`get_num_threads`),
    BLAS runs on one thread inside it; with one, it does nothing.

    Our layers run their own threads, each multiplying with one BLAS thread
    (see ``_single_blas_thread``). A product elsewhere in the network (its
    fully connected layers, say) would otherwise use BLAS's threads, and
    OpenBLAS's workers keep spinning on their cores for about 0.1 s after
    each such product, waiting for more: long enough to take a core from our
    threads for a whole backward pass. Measured on the ConvNet of
    ``bench/train_cifar.py``, batch 128, 2 threads, AMD EPYC: 190 ms per
    training step with BLAS's threads on for the fully connected layers,
    160 ms inside this context (those layers are 2% of the work). The
    fully connected nets run their passes in it too, their products shared
    among our threads by :func:`matmul`: then nothing spins when
    the optimizer's threads update the parameters after the pass.

    Inside it, the layers' threaded steps do not set the BLAS limit again
    (10-15 us each time, a few dozen times per training step).
    """
    global _passes
    if _num_threads <= 1:
        yield
        return
    with _single_blas_thread():
        with _passes_lock:
            _passes += 1
        try:
            yield
        finally:
            with _passes_lock:
                _passes -= 1


_passes = 0                     # network_pass contexts open now (BLAS on one thread)
_passes_lock = threading.Lock()


def _in_threads(work, chunks, threads):
    """Run ``work(tasks)`` in ``min(threads, len(chunks))`` threads at once.

    ``tasks`` yields ``(i, chunks[i])``; with several threads it is one
    iterator that they all share (``next`` on it is atomic under the GIL),
    so each thread takes the next chunk when done with its last. A thread
    slowed down (say, by another program on its core) then simply does
    fewer chunks. The calling thread is one of the workers, and ``work``
    must write each chunk's results where they depend only on ``i``, never
    on which thread did it. With one thread this is just
    ``work(enumerate(chunks))``.
    """
    global _executor
    count = min(threads, len(chunks))
    if count <= 1:
        work(enumerate(chunks))
        return
    if _executor is None or _executor[0] != os.getpid() or _executor[1] < count - 1:
        # none yet, inherited from the parent process by fork (its threads
        # did not come along), or too small
        _executor = (os.getpid(), count - 1, ThreadPoolExecutor(count - 1, "course_lib"))
    pool, futures, tasks = _executor[2], [], iter(list(enumerate(chunks)))
    with contextlib.nullcontext() if _passes else _single_blas_thread():
        try:
            for _ in range(count - 1):
                try:
                    futures.append(pool.submit(work, tasks))
                except RuntimeError:    # no thread could be started: the caller
                    pool.shutdown(wait=False, cancel_futures=True)  # does it all
                    _executor = None
                    break
            work(tasks)                 # returns once no chunk is left to take
        finally:
            for future in futures:      # not started: cancel; else wait (and
                if not future.cancel():  # re-raise the thread's error, if any)
                    future.result()


def matmul(a, b):
    """``a @ b`` for 2-D arrays, the work shared among :func:`get_num_threads` threads.

    a (m, k), b (k, n) -> (m, n). The larger output dimension is cut in one
    piece per thread (``a @ b[:, piece]`` or ``a[piece] @ b``), each piece
    a product on one BLAS thread, written into its part of the result.
    Products under about 17 million multiply-adds, and every product with
    one thread, are plain ``a @ b``.

    Why not let BLAS thread the product itself: OpenBLAS's worker threads
    keep spinning for about 0.1 s after each threaded product, waiting for
    more, and take a core from every Python thread that runs meanwhile
    (Adam's update after a backward pass ran on one core in effect). With
    the products on our threads and BLAS on one thread (see
    :func:`network_pass`), nothing spins. A piece runs 3-10% slower than
    BLAS's own split on the large products of the fully connected nets, yet
    their float64 training steps on 2 threads went from 1.05-1.19x
    PyTorch's time to 0.96-1.00x, Adam's threads having both cores to
    themselves (float32: 0.95-1.05x before, 0.91-1.00x after, within the
    noise; ``bench/bench_train_step.py``, AMD EPYC, alternated twice).
    """
    threads = _num_threads
    m, n = a.shape[0], b.shape[1]
    if threads <= 1 or m * n * a.shape[1] < _MIN_PARALLEL_MULTIPLY_ADDS:
        return a @ b
    out = np.empty((m, n), dtype=np.result_type(a, b))
    size = max(n, m)
    step = -(-size // threads)
    pieces = [slice(start, min(start + step, size)) for start in range(0, size, step)]
    if n >= m:
        def work(tasks):
            for _, piece in tasks:
                np.matmul(a, b[:, piece], out=out[:, piece])
    else:
        def work(tasks):
            for _, piece in tasks:
                np.matmul(a[piece], b, out=out[piece])
    _in_threads(work, pieces, threads)
    return out


# Smallest m * k * n that matmul shares among threads. Waking the other
# thread and splitting the product costs more than it saves on small
# products: chapter 8's 784-300-100 net at batch 50 (first-layer products of
# 11.8M) took 1.05-1.19 ms per SGD step split against 0.91-0.93 ms unsplit
# (float64, 2 threads), a 784-300 net at batch 50 in float32 1.46 against
# 0.97 ms. The fully connected nets of bench/bench_train_step.py (products
# of 26M and more) gain from the split: fc_bn_dropout float32 took 36.3 ms
# per Adam step with all of them split, 38.6 ms with only those of 67M and
# more. AMD EPYC, 2 cores.
_MIN_PARALLEL_MULTIPLY_ADDS = 1 << 24


def blockwise(work, size, itemsize):
    """Run ``work(tasks)`` over blocks of ``BLOCK_BYTES`` of a flat array.

    For elementwise passes over large arrays (Adam's update): done a block
    at a time, the several operations of a block run in the CPU cache, and
    only the arrays themselves pass through main memory. (The L2 term of
    ``models.base.l2_term`` uses the same blocks on one thread: it is
    limited by memory bandwidth, and two threads were no faster.)
    ``tasks`` yields ``(i, slice)`` pairs covering ``range(size)`` in order
    (the last block may be shorter); ``itemsize`` is the bytes per element.
    With :data:`MIN_THREADED_BLOCKS` blocks or more, the threads share them
    (see ``_in_threads``: ``work`` must write block ``i``'s results where
    they depend only on ``i``). Returns the number of blocks.
    """
    step = block_length(itemsize)
    blocks = [slice(start, start + step) for start in range(0, size, step)]
    threads = _num_threads if len(blocks) >= MIN_THREADED_BLOCKS else 1
    _in_threads(work, blocks, threads)
    return len(blocks)


def block_length(itemsize):
    """Elements in one block of :func:`blockwise` (``BLOCK_BYTES`` of them)."""
    return max(1, BLOCK_BYTES // itemsize)


# bytes of one block of each array in blockwise (256 KB: a few of them fit
# in a core's L2 cache)
BLOCK_BYTES = 1 << 18
# fewer blocks than this: one thread (waking another costs more than it saves)
MIN_THREADED_BLOCKS = 4
