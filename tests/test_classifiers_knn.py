"""Tests for course_lib.classifiers.knn."""
import math
from collections import Counter

import numpy as np
import pytest

from course_lib.classifiers import KNearestNeighbor, NotFittedError, cross_validate_knn
from course_lib.classifiers import knn as knn_module


def brute_force_predict(X_train, y_train, X_test, k, metric):
    """Reference written with plain Python: sort (distance, index) pairs,
    count votes with Counter, most votes then smallest label wins."""
    predictions = []
    for a in X_test.tolist():
        pairs = []
        for j, b in enumerate(X_train.tolist()):
            if metric == "l1":
                d = sum(abs(p - q) for p, q in zip(a, b))
            else:
                d = math.sqrt(sum((p - q) ** 2 for p, q in zip(a, b)))
            pairs.append((d, j))
        pairs.sort()
        votes = Counter(y_train[j] for _, j in pairs[:k])
        best = max(votes.values())
        predictions.append(min(label for label, n in votes.items() if n == best))
    return np.array(predictions)


def random_problem(seed, num_train=40, num_test=15, dim=6, num_classes=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X_train = rng.standard_normal((num_train, dim)).astype(dtype)
    X_test = rng.standard_normal((num_test, dim)).astype(dtype)
    y_train = rng.integers(num_classes, size=num_train)
    return X_train, y_train, X_test


@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1])
def test_three_distance_versions_agree(metric, dtype, seed):
    """Do the two-loop, one-loop and no-loop distances give the same matrix
    (and keep float32 as float32)?"""
    X_train, y_train, X_test = random_problem(seed, num_train=30, num_test=12,
                                              dim=50, dtype=dtype)
    knn = KNearestNeighbor(metric=metric).fit(X_train, y_train)
    d2 = knn.compute_distances_two_loops(X_test)
    d1 = knn.compute_distances_one_loop(X_test)
    d0 = knn.compute_distances_no_loops(X_test)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for d in (d2, d1, d0):
        assert d.shape == (12, 30)
        assert d.dtype == dtype
    np.testing.assert_allclose(d1, d2, rtol=rtol)
    np.testing.assert_allclose(d0, d2, rtol=rtol)


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_distances_match_definition(metric):
    """Are the distances the L1 / L2 norms of the differences?"""
    X_train, y_train, X_test = random_problem(3, dim=5)
    diff = X_test[:, None, :] - X_train[None, :, :]
    if metric == "l1":
        expected = np.abs(diff).sum(axis=2)
    else:
        expected = np.linalg.norm(diff, axis=2)
    knn = KNearestNeighbor(metric=metric).fit(X_train, y_train)
    np.testing.assert_allclose(knn.compute_distances_no_loops(X_test), expected,
                               rtol=1e-12, atol=1e-12)


def test_no_loop_l2_is_zero_not_nan_for_identical_rows():
    """Does clipping at 0 keep the expanded L2 formula from returning nan
    (square root of a tiny negative) when a test row equals a training row?"""
    rng = np.random.default_rng(0)
    X_train = rng.standard_normal((20, 300)) * 1e3 + 1e4
    knn = KNearestNeighbor().fit(X_train, np.arange(20))
    d = knn.compute_distances_no_loops(X_train)
    assert np.all(np.isfinite(d))
    assert np.all(np.diag(d) < 1e-3 * np.median(d))
    np.testing.assert_array_equal(knn.predict(X_train), np.arange(20))


def test_uint8_input_does_not_wrap_around():
    """Are uint8 pixels converted before subtracting (0 - 255 is not 1)?"""
    knn = KNearestNeighbor(metric="l1").fit(np.array([[255, 0]], dtype=np.uint8), [0])
    assert knn.X_train_.dtype == np.float64  # converted once, at fit
    X = np.array([[0, 255]], dtype=np.uint8)
    for method in (knn.compute_distances_two_loops, knn.compute_distances_one_loop,
                   knn.compute_distances_no_loops):
        np.testing.assert_array_equal(method(X), [[510.0]])


def test_l1_blocks_give_the_same_result(monkeypatch):
    """Does splitting the L1 computation into many blocks change nothing?"""
    X_train, y_train, X_test = random_problem(4)
    knn = KNearestNeighbor(metric="l1").fit(X_train, y_train)
    whole = knn.compute_distances_no_loops(X_test)
    monkeypatch.setattr(knn_module, "_L1_BLOCK_ELEMENTS", X_train.size * 2)
    np.testing.assert_array_equal(knn.compute_distances_no_loops(X_test), whole)


@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("k", [1, 2, 3, 5, 12, 40])
def test_predict_matches_brute_force(metric, k):
    """Do predictions equal an independent pure-Python k-NN, for small k
    (partition path) and large k (full sort), with odd labels?"""
    X_train, y_train, X_test = random_problem(k, num_classes=4)
    labels = np.array([3, 7, 10, 42])[y_train]  # classes need not be 0..C-1
    knn = KNearestNeighbor(k=k, metric=metric).fit(X_train, labels)
    np.testing.assert_array_equal(knn.predict(X_test),
                                  brute_force_predict(X_train, labels, X_test, k, metric))


def test_predict_in_blocks_matches_one_block(monkeypatch):
    """Does predict give the same labels when it splits the test set?"""
    X_train, y_train, X_test = random_problem(5)
    knn = KNearestNeighbor(k=3).fit(X_train, y_train)
    whole = knn.predict(X_test)
    monkeypatch.setattr(knn_module, "_PREDICT_BLOCK_ELEMENTS", 2 * len(X_train))
    np.testing.assert_array_equal(knn.predict(X_test), whole)


def test_vote_tie_goes_to_smaller_label():
    """With k=2 and one neighbour of each class, does the smaller label win
    even though the other neighbour is nearer?"""
    X_train = np.array([[1.0], [-2.0], [10.0]])
    y_train = np.array([5, 2, 5])
    knn = KNearestNeighbor(k=2).fit(X_train, y_train)
    np.testing.assert_array_equal(knn.predict(np.array([[0.0]])), [2])
    # and with a three-way tie among k=3
    knn = KNearestNeighbor(k=3).fit(np.array([[1.0], [2.0], [3.0]]), [9, 4, 6])
    np.testing.assert_array_equal(knn.predict(np.array([[0.0]])), [4])


def test_equal_distances_prefer_earlier_training_sample():
    """When several training samples are equally far at the k-th place, is
    the earlier one taken (deterministic, not arbitrary)?"""
    # Test point 0; training points at distance 1 (x4, labels alternate) and 5.
    X_train = np.array([[5.0], [1.0], [-1.0], [1.0], [-1.0]] + [[9.0]] * 30)
    y_train = np.array([0, 3, 1, 1, 1] + [0] * 30)
    knn = KNearestNeighbor(k=1).fit(X_train, y_train)
    assert knn.predict(np.array([[0.0]]))[0] == 3
    # k=2 takes samples 1 and 2 (labels 3, 1): a tie, the smaller label wins
    assert knn.predict(np.array([[0.0]]), k=2)[0] == 1
    dists = knn.compute_distances_no_loops(np.array([[0.0]]))
    np.testing.assert_array_equal(knn_module._nearest(dists, 3), [[1, 2, 3]])


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 20, 99, 100])
def test_nearest_are_sorted_by_distance_then_index(k):
    """Are the k nearest returned nearest first, equal distances in index
    order, on both the partition path (small k) and the full sort?"""
    rng = np.random.default_rng(k)
    dists = rng.integers(1, 30, size=(8, 100)).astype(float)  # many ties
    dists[:, :4] = [[0.5, 0.5, 0.25, 0.75]]  # a tie inside the 3 or 4 nearest
    expected = np.array([sorted(range(100), key=lambda j: (row[j], j))[:k]
                         for row in dists])
    np.testing.assert_array_equal(knn_module._nearest(dists, k), expected)
    distinct = rng.permutation(100 * 8).reshape(8, 100).astype(float)
    np.testing.assert_array_equal(knn_module._nearest(distinct, k),
                                  np.argsort(distinct, axis=1)[:, :k])


def test_predict_labels_from_given_distances():
    """Does predict_labels vote over the k smallest entries of each row?"""
    knn = KNearestNeighbor().fit(np.zeros((4, 1)), [0, 1, 1, 2])
    dists = np.array([[0.1, 0.2, 0.3, 0.4],
                      [5.0, 0.1, 0.3, 0.2],
                      [0.3, 0.9, 0.8, 0.1]])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=1), [0, 1, 2])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=3), [1, 1, 0])
    with pytest.raises(ValueError, match="one column per training sample"):
        knn.predict_labels(dists[:, :3])


def test_score_is_accuracy():
    """Is score the fraction of correct predictions?"""
    X_train = np.array([[0.0], [10.0]])
    knn = KNearestNeighbor().fit(X_train, [0, 1])
    assert knn.score(np.array([[1.0], [9.0], [8.0], [2.0]]), [0, 1, 0, 0]) == 0.75


def test_fit_returns_self_and_sets_attributes():
    """Does fit return the estimator with X_train_, y_train_, classes_?"""
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    knn = KNearestNeighbor(k=2)
    assert knn.fit(X, [2, 0, 2]) is knn
    assert knn.X_train_.dtype == np.float32
    np.testing.assert_array_equal(knn.y_train_, [2, 0, 2])
    np.testing.assert_array_equal(knn.classes_, [0, 2])


def test_predict_before_fit_is_a_clear_error():
    """Does predicting with an unfitted model say to call fit first?"""
    with pytest.raises(NotFittedError, match="call fit"):
        KNearestNeighbor().predict(np.zeros((2, 3)))


def test_wrong_number_of_features_names_both_shapes():
    """Does a feature mismatch report the test and training shapes?"""
    knn = KNearestNeighbor().fit(np.zeros((5, 3)), np.arange(5))
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(5, 3\)"):
        knn.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(5, 3\)"):
        knn.compute_distances_two_loops(np.zeros((2, 4)))


def test_images_must_be_flattened():
    """Are unflattened images rejected with the reshape that fixes them?"""
    with pytest.raises(ValueError, match=r"reshape.*\(4, 12\)"):
        KNearestNeighbor().fit(np.zeros((4, 2, 2, 3)), np.arange(4))


def test_k_larger_than_training_set_is_a_clear_error():
    """Is k > N rejected with both numbers in the message?"""
    knn = KNearestNeighbor(k=6).fit(np.zeros((5, 2)), np.arange(5))
    with pytest.raises(ValueError, match="k = 6.*5 samples"):
        knn.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="positive integer"):
        knn.predict(np.zeros((1, 2)), k=0)


def test_bad_metric_and_mismatched_labels():
    """Are an unknown metric and a y of the wrong length rejected?"""
    with pytest.raises(ValueError, match="'l1' or 'l2'"):
        KNearestNeighbor(metric="cosine").fit(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="3 samples.*2 labels"):
        KNearestNeighbor().fit(np.zeros((3, 2)), [0, 1])


def test_get_set_params():
    """Do get_params/set_params read and write the constructor arguments?"""
    knn = KNearestNeighbor(k=3, metric="l1")
    assert knn.get_params() == {"k": 3, "metric": "l1"}
    assert knn.set_params(k=5) is knn and knn.k == 5
    assert repr(knn) == "KNearestNeighbor(k=5, metric='l1')"
    with pytest.raises(ValueError, match="valid parameters are k, metric"):
        knn.set_params(n_neighbors=3)


# ---- cross-validation -----------------------------------------------------

def test_cross_validation_shape_and_perfect_score_on_separable_data():
    """Does cross-validation return num_folds accuracies per k, all 1.0 on
    two far-apart clusters?"""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.1, (30, 2)), rng.normal(10, 0.1, (30, 2))])
    y = np.repeat([0, 1], 30)
    result = cross_validate_knn(X, y, [1, 3, 5], num_folds=4, seed=0)
    assert sorted(result) == [1, 3, 5]
    for k, accuracies in result.items():
        assert accuracies.shape == (4,)
        np.testing.assert_array_equal(accuracies, 1.0)


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_cross_validation_matches_refitting_per_k(metric):
    """Does reusing one distance matrix per fold give the accuracies of
    fitting and predicting separately for every k and fold?"""
    X, y, _ = random_problem(7, num_train=50, num_classes=3)
    k_choices = [1, 2, 4, 9]
    result = cross_validate_knn(X, y, k_choices, num_folds=5, metric=metric)
    folds = np.array_split(np.arange(50), 5)  # in order when seed is None
    for f, val in enumerate(folds):
        train = np.setdiff1d(np.arange(50), val)
        for k in k_choices:
            expected = np.mean(brute_force_predict(X[train], y[train], X[val], k, metric)
                               == y[val])
            assert result[k][f] == pytest.approx(expected)


def test_cross_validation_rejects_bad_arguments():
    """Are a k too big for the training folds and a bad fold count rejected?"""
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match="larger than the smallest training split"):
        cross_validate_knn(X, y, [1, 9], num_folds=5)
    with pytest.raises(ValueError, match="num_folds"):
        cross_validate_knn(X, y, [1], num_folds=1)
    with pytest.raises(ValueError, match="k_choices is empty"):
        cross_validate_knn(X, y, [], num_folds=2)


def test_cross_validation_seed_shuffles_reproducibly():
    """Without a seed are the folds consecutive blocks, and with a seed
    shuffled the same way every time?"""
    X = np.arange(40, dtype=float)[:, None]
    y = np.repeat([0, 1], 20)
    # in order, folds 1 and 2 (points 10-19, 20-29) lose their neighbours
    # across the class boundary: points 15-19 and 20-24 are misclassified
    in_order = cross_validate_knn(X, y, [1], num_folds=4)
    np.testing.assert_array_equal(in_order[1], [1.0, 0.5, 0.5, 1.0])
    a = cross_validate_knn(X, y, [1], num_folds=4, seed=3)
    b = cross_validate_knn(X, y, [1], num_folds=4, seed=3)
    np.testing.assert_array_equal(a[1], b[1])
    assert a[1].mean() > 0.9  # scattered folds keep close neighbours
