"""CIFAR-10 accuracy and wall time of the course classifiers beside
scikit-learn peers trained on the same split in the same run.

    python bench/bench_linear_cifar.py             # full run
    python bench/bench_linear_cifar.py --quick     # 2 x 2 grid per model, no kNN GridSearchCV
    python bench/bench_linear_cifar.py --no-knn    # only the linear models

Data: ``course_lib.data.get_cifar10_data`` default splits (train 49,000,
val = training images 49,000..49,999, test = first 1,000 test images), mean
image subtracted, bias trick (a column of ones) for the linear models.

1. kNN: 5-fold cross-validation of k on the first 5,000 training images,
   then the chosen k on the first 500 test images (CS231n reports ~27-28%).
   Peer: KNeighborsClassifier (brute force) with the same k; in the full
   run also GridSearchCV over the same k values and folds.
2. Linear SVM and softmax: a small grid search (learning rate x reg, each
   on a log scale) scored on the validation set, then the best model's test
   accuracy. Each run takes --num-iters SGD steps, multiplies the learning
   rate by --lr-decay after every epoch and returns the average of the
   weights over the second half of the steps (--average-from, a fraction
   of the steps; 0 for the last iterate), which removes most of the
   minibatch noise from W. By default the training set is doubled with
   the mirror image of every training image (--no-flip: without); the
   split and the validation and test images are unchanged, and the peers
   train on the same rows. Targets: val >= 0.38 (SVM), >= 0.39 (softmax). Peers:
   SGDClassifier(loss="hinge") (one-vs-rest hinge) and multinomial
   LogisticRegression (lbfgs) at the regularization strength our search
   chose. The peers get the same features divided by one constant (the
   pixel standard deviation), the scaling scikit-learn's solvers expect; a
   global scale changes no linear decision, only the step sizes.

Where the CIFAR-10 files were rebuilt from JPEG copies (the offline
machines of this project), pixels differ slightly from the official release
and so do the accuracies (lower by a point or more for pixel-level models).

BLAS threads default to 1: on a machine shared with other jobs, 2 OpenBLAS
threads made the small per-step products (200 x 3073 x 10) about 10x
slower. Pass ``--blas-threads 2`` on an idle machine.
"""
import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from course_lib.classifiers import KNearestNeighbor, LinearSVM, Softmax, cross_validate_knn
from course_lib.data import get_cifar10_data
from machine import describe  # bench/machine.py: the CPU beside every figure

K_CHOICES = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
# (learning rates, regs) searched for each linear model, ends of log-spaced grids
LINEAR_GRID = {"LinearSVM": ((3e-7, 3e-6), (1e2, 1e3)),
               "Softmax": ((1e-6, 1e-5), (1e2, 1e3))}
NUM_FOLDS = 5
KNN_TRAIN, KNN_TEST = 5000, 500


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


KNN_WIDTHS = (28, 6, 8, 9, 9)


def row(*cells, widths=KNN_WIDTHS):
    out = []
    for cell, width in zip(cells, widths):
        text = f"{cell:.3f}" if isinstance(cell, float) else str(cell)
        out.append(text.ljust(width) if width == widths[0] else text.rjust(width))
    print("  " + " ".join(out))


def bench_knn(data, full):
    print(f"\n== kNN (L2), {KNN_TRAIN} train / {KNN_TEST} test, {NUM_FOLDS}-fold CV over "
          f"k in {K_CHOICES}")
    X = data["X_train"][:KNN_TRAIN, :-1]  # the bias column adds nothing to distances
    y = data["y_train"][:KNN_TRAIN]
    X_test, y_test = data["X_test"][:KNN_TEST, :-1], data["y_test"][:KNN_TEST]

    with Timer() as cv_time:
        accuracies = cross_validate_knn(X, y, K_CHOICES, num_folds=NUM_FOLDS)
    means = {k: a.mean() for k, a in accuracies.items()}
    best_k = max(K_CHOICES, key=lambda k: (means[k], -k))  # ties: smaller k
    print("  k:   " + " ".join(f"{k:6d}" for k in K_CHOICES))
    print("  mean " + " ".join(f"{means[k]:6.3f}" for k in K_CHOICES))
    print("  std  " + " ".join(f"{accuracies[k].std():6.3f}" for k in K_CHOICES))
    with Timer() as fit_time:
        test_acc = KNearestNeighbor(k=best_k).fit(X, y).score(X_test, y_test)

    from sklearn.neighbors import KNeighborsClassifier
    peer_cv = None
    if full:
        from sklearn.model_selection import GridSearchCV, KFold
        with Timer() as peer_cv_time:
            search = GridSearchCV(KNeighborsClassifier(algorithm="brute"),
                                  {"n_neighbors": K_CHOICES}, cv=KFold(NUM_FOLDS)).fit(X, y)
        peer_cv = (search.best_params_["n_neighbors"], search.best_score_,
                   peer_cv_time.seconds)
    with Timer() as peer_time:
        peer_acc = KNeighborsClassifier(n_neighbors=best_k, algorithm="brute").fit(
            X, y).score(X_test, y_test)

    print()
    row("", "k", "CV acc", "test acc", "time s")
    row("ours: cross_validate_knn", best_k, means[best_k], "", cv_time.seconds)
    if peer_cv:
        row("sklearn GridSearchCV", peer_cv[0], float(peer_cv[1]), "", peer_cv[2])
    row("ours: fit + predict", best_k, "", test_acc, fit_time.seconds)
    row("sklearn KNeighbors brute", best_k, "", peer_acc, peer_time.seconds)
    return [("kNN", f"ours k={best_k}", float(means[best_k]), test_acc, fit_time.seconds),
            ("kNN", f"sklearn k={best_k}", float("nan"), peer_acc, peer_time.seconds)]


def grid_search(cls, data, learning_rates, regs, settings):
    """Every (learning_rate, reg) pair; returns the best (val_acc, params, model, seconds)."""
    best = None
    print(f"\n== {cls.__name__}: grid search, {len(learning_rates)} learning rates x "
          f"{len(regs)} regs, {settings}")
    print(f"  {'learning_rate':>13s} {'reg':>9s} {'val acc':>8s} {'train acc':>9s} "
          f"{'time s':>7s}")
    for trial, (lr, reg) in enumerate((lr, reg) for lr in learning_rates for reg in regs):
        with Timer() as t:
            model = cls(learning_rate=lr, reg=reg, seed=trial, **settings).fit(
                data["X_train"], data["y_train"])
        val_acc = model.score(data["X_val"], data["y_val"])
        train_acc = model.score(data["X_train"][:5000], data["y_train"][:5000])
        print(f"  {lr:13.2e} {reg:9.3g} {val_acc:8.3f} {train_acc:9.3f} {t.seconds:7.1f}",
              flush=True)
        if best is None or val_acc > best[0]:
            best = (val_acc, dict(learning_rate=lr, reg=reg), model, t.seconds)
    return best


def log_grid(low, high, num):
    """``num`` values from low to high, evenly spaced on a log scale."""
    return [float(v) for v in np.geomspace(low, high, num)]


def mirror_rows(X):
    """Left-right mirror images of rows in the (H, W, C) order of
    ``get_cifar10_data(flatten=True, bias_trick=True)`` (bias column kept)."""
    N = len(X)
    images = X[:, :-1].reshape(N, 32, 32, 3)[:, :, ::-1, :].reshape(N, -1)
    return np.hstack([images, X[:, -1:]])


def with_mirrored_training_set(data):
    """A copy of ``data`` whose training set also holds every mirrored image."""
    out = dict(data)
    out["X_train"] = np.concatenate([data["X_train"], mirror_rows(data["X_train"])])
    out["y_train"] = np.concatenate([data["y_train"], data["y_train"]])
    return out


def peer_features(data, scale):
    """Without the bias column (the peers fit their own intercept), scaled."""
    return {name: data[name][:, :-1] / scale for name in ("X_train", "X_val", "X_test")}


def bench_linear(data, grid_size, settings):
    results = []
    scale = float(data["X_train"][:, :-1].std())
    peer_data = peer_features(data, scale)
    num_train = len(data["X_train"])
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    for cls, lr_range, reg_range, target in (
            (LinearSVM, LINEAR_GRID["LinearSVM"][0], LINEAR_GRID["LinearSVM"][1], 0.38),
            (Softmax, LINEAR_GRID["Softmax"][0], LINEAR_GRID["Softmax"][1], 0.39)):
        val_acc, params, model, seconds = grid_search(
            cls, data, log_grid(*lr_range, grid_size), log_grid(*reg_range, grid_size),
            settings)
        test_acc = model.score(data["X_test"], data["y_test"])
        verdict = "meets" if val_acc >= target else "BELOW"
        print(f"  best: learning_rate={params['learning_rate']:.2e} reg={params['reg']:.3g}: "
              f"val {val_acc:.3f} ({verdict} target {target}), test {test_acc:.3f}")
        results.append((cls.__name__, "ours (best of search)", val_acc, test_acc, seconds))

        # Same regularization on the scaled features: W' = scale * W, so the
        # penalty reg * |W|^2 becomes (reg / scale^2) * |W'|^2.
        reg_scaled = params["reg"] / scale ** 2
        if cls is LinearSVM:
            # SGDClassifier minimises mean hinge + alpha/2 |w|^2 per binary problem
            peer = SGDClassifier(loss="hinge", alpha=2 * reg_scaled, max_iter=10, tol=None,
                                 random_state=0)
            name = "sklearn SGDClassifier hinge"
        else:
            # LogisticRegression minimises C * sum CE + 1/2 |W|^2
            peer = LogisticRegression(C=1 / (2 * reg_scaled * num_train), max_iter=100)
            name = "sklearn LogisticRegression"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at the iteration cap
            with Timer() as t:
                peer.fit(peer_data["X_train"], data["y_train"])
        results.append((cls.__name__, name,
                        peer.score(peer_data["X_val"], data["y_val"]),
                        peer.score(peer_data["X_test"], data["y_test"]), t.seconds))
        print(f"  peer {name}: val {results[-1][2]:.3f}, test {results[-1][3]:.3f}, "
              f"{t.seconds:.1f} s", flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 x 2 grid per model, skip the kNN GridSearchCV peer")
    parser.add_argument("--no-knn", action="store_true", help="skip the kNN part")
    parser.add_argument("--grid-size", type=int, default=None,
                        help="values per hyperparameter in the grid (default 3; 2 with --quick)")
    parser.add_argument("--num-iters", type=int, default=4000)
    parser.add_argument("--lr-decay", type=float, default=0.9,
                        help="learning-rate factor per epoch (1 = constant)")
    parser.add_argument("--average-from", type=float, default=0.5,
                        help="average W over the steps after this fraction of num_iters "
                             "(0: keep the last iterate)")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--no-flip", action="store_true",
                        help="train the linear models on the 49,000 images only, "
                             "without their mirror images")
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args()
    print(describe(), flush=True)
    grid_size = args.grid_size or (2 if args.quick else 3)
    settings = dict(num_iters=args.num_iters, batch_size=args.batch_size,
                    lr_decay=args.lr_decay,
                    average=max(1, int(args.average_from * args.num_iters))
                    if args.average_from > 0 else False)

    start = time.perf_counter()
    with threadpool_limits(limits=args.blas_threads):
        with Timer() as load_time:
            data = get_cifar10_data(bias_trick=True, dtype=np.float32)
        print(f"CIFAR-10 loaded in {load_time.seconds:.1f} s: train {data['X_train'].shape}, "
              f"val {data['X_val'].shape}, test {data['X_test'].shape}, float32, "
              f"{args.blas_threads} BLAS thread(s)")
        results = [] if args.no_knn else bench_knn(data, full=not args.quick)
        linear_data = data if args.no_flip else with_mirrored_training_set(data)
        print(f"\nLinear models: {len(linear_data['X_train'])} training rows"
              f"{'' if args.no_flip else ' (49,000 images and their mirror images)'}")
        results += bench_linear(linear_data, grid_size, settings)

    print("\n== summary (time s: one training run at the chosen hyperparameters; "
          "kNN: fit + predict)")
    print(f"  {'model':10s} {'implementation':30s} {'val acc':>8s} {'test acc':>9s} "
          f"{'time s':>8s}")
    for model, impl, val_acc, test_acc, seconds in results:
        if np.isnan(val_acc):
            val = ""
        elif model == "kNN":
            val = f"{val_acc:.3f}*"
        else:
            val = f"{val_acc:.3f}"
        print(f"  {model:10s} {impl:30s} {val:>8s} {test_acc:9.3f} {seconds:8.1f}")
    if not args.no_knn:
        print("  * kNN: mean 5-fold cross-validation accuracy on the 5,000 training images")
    print(f"\ntotal wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
