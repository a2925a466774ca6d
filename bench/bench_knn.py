"""Time the k-NN distance matrix: two loops, one loop, no loops, against a
bare matrix product of the same shapes measured in the same run.

    python bench/bench_knn.py            # loop versions at full size (~1.5 min each)
    python bench/bench_knn.py --quick    # loop versions on 50 test rows, scaled x10

Shapes: 500 test x 5,000 train x 3,072 features (CIFAR-10 sized), random
data, float64 and float32, with 1 and 2 BLAS threads. The fast rows are
timed in interleaved repeats (every method once per round) and the table
shows medians, so a busy machine slows all of them alike. Target: the
no-loop L2 distances take at most 1.3x the bare product ``A @ B.T``.
"""
import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from course_lib.classifiers import KNearestNeighbor
from machine import describe  # bench/machine.py: the CPU beside every figure

NUM_TEST, NUM_TRAIN, DIM = 500, 5000, 3072


def textbook_no_loops(X, X_train):
    """The common one-liner, for comparison: it allocates X**2 and
    X_train**2 temporaries and three (M, N) arrays."""
    return np.sqrt(np.maximum(np.sum(X ** 2, axis=1)[:, None]
                              + np.sum(X_train ** 2, axis=1)[None, :]
                              - 2 * X @ X_train.T, 0))


def sklearn_peer():
    try:
        from sklearn.metrics.pairwise import euclidean_distances
    except ImportError:
        return None
    return euclidean_distances


def time_once(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def interleaved(methods, repeats):
    """Median seconds per method, each round running every method once."""
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            times[name].append(time_once(fn)[0])
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="time the loop versions on 50 test rows and scale by 10")
    parser.add_argument("--no-loops-only", action="store_true",
                        help="skip the two-loop and one-loop versions")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", default="1,2", help="BLAS thread counts, e.g. 1,2")
    args = parser.parse_args()
    print(describe(), flush=True)
    thread_counts = [int(t) for t in args.threads.split(",")]
    flops = 2.0 * NUM_TEST * NUM_TRAIN * DIM
    rng = np.random.default_rng(0)
    X64 = rng.standard_normal((NUM_TEST, DIM))
    X_train64 = rng.standard_normal((NUM_TRAIN, DIM))
    euclidean_distances = sklearn_peer()

    print(f"k-NN distances, {NUM_TEST} test x {NUM_TRAIN} train x {DIM} features, "
          f"numpy {np.__version__}; medians of {args.repeats} interleaved rounds")
    summary = []
    for dtype in (np.float64, np.float32):
        X, X_train = X64.astype(dtype), X_train64.astype(dtype)
        knn = KNearestNeighbor().fit(X_train, np.zeros(NUM_TRAIN, dtype=int))
        reference = None
        for threads in thread_counts:
            with threadpool_limits(limits=threads, user_api="blas"):
                methods = {
                    "bare matmul A @ B.T": lambda: X @ X_train.T,
                    "no-loop (course_lib)": lambda: knn.compute_distances_no_loops(X),
                    "no-loop, textbook one-liner": lambda: textbook_no_loops(X, X_train),
                }
                if euclidean_distances is not None:
                    methods["sklearn euclidean_distances"] = (
                        lambda: euclidean_distances(X, X_train))
                for fn in methods.values():  # warm up caches and thread pools
                    fn()
                medians = interleaved(methods, args.repeats)
            reference = knn.compute_distances_no_loops(X)
            base = medians["bare matmul A @ B.T"]
            print(f"\n{np.dtype(dtype).name}, {threads} BLAS thread(s)")
            print(f"  {'method':32s} {'median s':>9s} {'GF/s':>7s} {'x matmul':>9s}")
            for name, seconds in medians.items():
                print(f"  {name:32s} {seconds:9.3f} {flops / seconds / 1e9:7.1f} "
                      f"{seconds / base:9.2f}")
            ratio = medians["no-loop (course_lib)"] / base
            summary.append((np.dtype(dtype).name, threads, ratio))

        if args.no_loops_only:
            continue
        rows = 50 if args.quick else NUM_TEST
        scale = NUM_TEST / rows
        label = f" ({rows} test rows, time x{scale:g})" if args.quick else ""
        print(f"\n{np.dtype(dtype).name}, loop versions, timed once{label} "
              "(no BLAS inside, so thread count does not matter)")
        for name, method in (("two loops", knn.compute_distances_two_loops),
                             ("one loop", knn.compute_distances_one_loop)):
            seconds, dists = time_once(lambda: method(X[:rows]))
            error = np.max(np.abs(dists - reference[:rows]) / np.abs(reference[:rows]))
            print(f"  {name:32s} {seconds * scale:9.1f} s   "
                  f"max relative difference from no-loop {error:.1e}")

    print("\nno-loop / bare matmul (target <= 1.3):")
    for dtype_name, threads, ratio in summary:
        verdict = "ok" if ratio <= 1.3 else "ABOVE TARGET"
        print(f"  {dtype_name:8s} {threads} thread(s): {ratio:.3f}  {verdict}")


if __name__ == "__main__":
    main()
