"""A1 check specs, part 1: k-nearest neighbours and cross-validation.

Shapes: M test rows, N training rows, D features. ``KNN_ITEMS`` are the
items; :mod:`course_lib.grading.specs.a1` assembles the assignment.
"""
import numpy as np

from course_lib.classifiers import KNearestNeighbor, cross_validate_knn

from ..spec import Call, Case, Check, Item, Variant

__all__ = ["KNN_ITEMS", "no_loops_check"]


def _no_loops(analysis, item):
    found = analysis.loops(item.func)
    if not found:
        return True, ""
    cell, line, what = found[0]
    return False, (f"{item.func} (or a function it calls) uses {what} (cell '{cell}', "
                   f"line {line}); write it with whole-array operations")


def no_loops_check(requires):
    return Check("no Python loops", 1, kind="static", judge=_no_loops, requires=requires)


# ---- k-nearest neighbours -------------------------------------------------

def _distances_reference(X, X_train):
    knn = KNearestNeighbor().fit(X_train, np.zeros(len(X_train), dtype=np.int64))
    return knn.compute_distances_no_loops(X)


def _distance_cases():
    def random(rng, ctx):
        return Call([rng.normal(0, 50, (7, 12)), rng.normal(0, 50, (11, 12))])

    def duplicates(rng, ctx):
        # 120 test rows equal to training rows: |x|^2 + |y|^2 - 2 x.y comes out
        # as a tiny negative number for about a quarter of such pairs (rounding),
        # so code that does not clip at 0 meets np.sqrt of a negative number on
        # every seed and machine (all 120 non-negative: odds about 1e-15)
        X_train = rng.normal(0, 50, (130, 10)) + rng.uniform(0, 1, (130, 10))
        X = np.vstack([X_train[rng.permutation(130)[:120]], rng.normal(0, 50, (4, 10))])
        return Call([X, X_train])

    def one_row(rng, ctx):
        return Call([rng.normal(0, 50, (1, 6)), rng.normal(0, 50, (8, 6))])

    return (Case("random", "random test and training rows (M=7, N=11, D=12)", random),
            Case("duplicates", "test rows identical to training rows (distance exactly 0)",
                 duplicates),
            Case("one_row", "a single test row (M=1)", one_row))


_DISTANCE_VARIANTS = (
    Variant("These are squared distances: take the square root of the sum of squares.",
            lambda X, X_train: _distances_reference(X, X_train) ** 2),
    Variant("These are L1 distances (sums of absolute differences); the task asks for "
            "L2 (Euclidean) distances.",
            lambda X, X_train: np.abs(X[:, None, :] - X_train[None]).sum(axis=2)),
)


_CLIP_HINT = ("NaN where a test row equals a training row: the squared distance comes out "
              "as a tiny negative number (rounding), and np.sqrt of it is NaN. Clip at 0 "
              "before the square root: np.sqrt(np.maximum(d2, 0)).")


def _distance_item(func, loops_point=False):
    checks = [Check("dists", 2, rtol=1e-6, nonfinite_hint=_CLIP_HINT)]
    if loops_point:
        checks.append(no_loops_check(("dists",)))
    return Item(f"a1.{func}", func, func, _distance_cases(), tuple(checks),
                reference=_distances_reference, variants=_DISTANCE_VARIANTS)


def _predict_reference(dists, y_train, k=1):
    knn = KNearestNeighbor(k=k).fit(np.zeros((len(y_train), 1)), y_train)
    return knn.predict_labels(dists, k)


def _predict_variant(pick):
    """predict_labels with another way of settling a tied vote."""
    def predict(dists, y_train, k=1):
        order = np.argsort(dists, axis=1, kind="stable")[:, :k]
        out = np.empty(len(dists), dtype=np.int64)
        for i, row in enumerate(y_train[order]):
            counts = np.bincount(row)
            winners = np.flatnonzero(counts == counts.max())
            out[i] = pick(winners, row)
        return out
    return predict


def _unique_majority(rng, num_test, y_train, k):
    """Distances (M, N) whose k nearest neighbours have a clear majority."""
    rows = []
    while len(rows) < num_test:
        row = rng.uniform(1, 100, len(y_train))
        counts = np.bincount(y_train[np.argsort(row)[:k]])
        if np.sum(counts == counts.max()) == 1:
            rows.append(row)
    return np.array(rows)


def _predict_cases():
    def k1(rng, ctx):
        y_train = rng.integers(0, 5, 15)
        return Call([rng.uniform(1, 100, (6, 15)), y_train], {"k": 1})

    def k5(rng, ctx):
        y_train = rng.permutation(np.repeat(np.arange(4), 6))
        return Call([_unique_majority(rng, 8, y_train, 5), y_train], {"k": 5})

    def tie(rng, ctx):
        y_train = rng.permutation(np.repeat(np.arange(5), 8))
        dists = rng.uniform(10, 20, (8, len(y_train)))
        for i in range(len(dists)):
            lo, hi = np.sort(rng.choice(5, 2, replace=False))
            first, second = (hi, lo) if i % 2 == 0 else (lo, hi)
            a = rng.choice(np.flatnonzero(y_train == first), 2, replace=False)
            b = rng.choice(np.flatnonzero(y_train == second), 2, replace=False)
            dists[i, [a[0], b[0], a[1], b[1]]] = [1, 2, 3, 4] + rng.uniform(0, 0.5, 4)
        return Call([dists, y_train], {"k": 4})

    return (Case("k1", "k = 1", k1),
            Case("k5", "k = 5 with a clear majority among the 5 nearest", k5),
            Case("tie", "k = 4 with a 2-2 tie between two labels", tie))


# ---- cross-validation -----------------------------------------------------

def _cv_reference(X, y, k_choices, num_folds):
    accuracies = cross_validate_knn(X, y, k_choices, num_folds=num_folds)
    return np.array([accuracies[k] for k in k_choices])


def _cv_on_training_data(X, y, k_choices, num_folds):
    out = np.empty((len(k_choices), num_folds))
    for f, val in enumerate(np.array_split(np.arange(len(X)), num_folds)):
        knn = KNearestNeighbor().fit(X, y)
        dists = knn.compute_distances_no_loops(X[val])
        for i, k in enumerate(k_choices):
            out[i, f] = np.mean(knn.predict_labels(dists, k) == y[val])
    return out


def _cv_cases():
    def blobs(rng, num, num_folds):
        # two classes and odd k: no tied votes, so this item does not
        # depend on how predict_labels settles ties
        y = rng.integers(0, 2, num)
        centres = rng.normal(0, 1.0, (2, 4))
        return Call([centres[y] + rng.normal(0, 1.5, (num, 4)), y, [1, 3, 5, 9], num_folds])

    return (Case("even", "45 samples in 5 folds, k in [1, 3, 5, 9]",
                 lambda rng, ctx: blobs(rng, 45, 5)),
            Case("uneven", "43 samples in 4 folds of unequal size (np.array_split)",
                 lambda rng, ctx: blobs(rng, 43, 4)))


KNN_ITEMS = (
    _distance_item("compute_distances_two_loops"),
    _distance_item("compute_distances_one_loop"),
    _distance_item("compute_distances_no_loops", loops_point=True),
    Item("a1.predict_labels", "predict_labels", "predict_labels", _predict_cases(),
         (Check("k = 1", 1, kind="labels", cases=("k1",)),
          Check("majority vote", 1, kind="labels", cases=("k5",)),
          Check("ties go to the smaller label", 1, kind="labels", cases=("tie",))),
         reference=_predict_reference,
         variants=(Variant("On a tied vote your code picks the larger label; pick the "
                           "smallest (np.argmax of np.bincount does).",
                           _predict_variant(lambda winners, row: winners.max())),
                   Variant("On a tied vote your code picks the label of the nearest of "
                           "the tied neighbours; the rule is: the smallest label.",
                           _predict_variant(lambda winners, row: next(
                               v for v in row if v in winners))),
                   Variant("Your code ignores k and uses the single nearest neighbour.",
                           lambda d, y, k=1: _predict_reference(d, y, 1)))),
    Item("a1.cross_validate_k", "cross_validate_k", "cross_validate_k", _cv_cases(),
         (Check("accuracies", 2, rtol=1e-9),), reference=_cv_reference,
         variants=(Variant("The validation fold is part of your training data: train on "
                           "the other folds only.", _cv_on_training_data),),
         depends=("a1.compute_distances_no_loops", "a1.predict_labels")),
)
