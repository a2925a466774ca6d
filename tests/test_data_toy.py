"""Are the toy 2-D data sets and Iris shaped, labelled and seeded as documented?"""
import importlib.util

import numpy as np
import pytest

from course_lib.data import load_iris, load_iris_2d, make_blobs, make_spiral, make_xor
from course_lib.data import toy

# checked without importing scikit-learn, which costs seconds per process
needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="Iris ships with scikit-learn")


def test_spiral_shapes_labels_and_radii():
    """Does each arm hold num_per_class points with radii 0..1 in order?"""
    X, y = make_spiral(num_per_class=50, num_classes=4, noise=0.1, seed=0)
    assert X.shape == (200, 2) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.repeat(np.arange(4), 50))
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius, np.tile(np.linspace(0, 1, 50), 4), atol=1e-12)


def test_spiral_without_noise_follows_the_arm_angles():
    """With noise=0 is point i of arm k at angle 4k + 4 i / (n - 1)?"""
    X, y = make_spiral(num_per_class=5, num_classes=3, noise=0.0)
    t = 4.0 * (y + np.tile(np.linspace(0, 1, 5), 3))
    r = np.tile(np.linspace(0, 1, 5), 3)
    np.testing.assert_allclose(X, np.column_stack([r * np.sin(t), r * np.cos(t)]))


def test_spiral_defeats_a_linear_classifier():
    """Does the best least-squares linear classifier get only about half right?"""
    X, y = make_spiral(num_per_class=100, num_classes=3, noise=0.2, seed=0)
    A = np.column_stack([X, np.ones(len(X))])  # (N, 3) with the bias trick
    W = np.linalg.lstsq(A, np.eye(3)[y], rcond=None)[0]
    accuracy = np.mean(np.argmax(A @ W, axis=1) == y)
    assert 0.4 < accuracy < 0.65


@pytest.mark.parametrize("make", [make_spiral, make_xor, make_blobs])
def test_generators_are_deterministic_per_seed(make):
    """Same seed, same data; another seed, other data; global RNG untouched?"""
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    X1, y1 = make(seed=5)
    X2, y2 = make(seed=5)
    X3, _ = make(seed=6)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_xor_labels_follow_the_corner_and_are_balanced():
    """Is y = x1 XOR x2 of each point's corner, with the corners equally used?"""
    X, y = make_xor(num_samples=200, noise=0.1, seed=0)
    assert X.shape == (200, 2) and y.dtype == np.int64
    corner = np.round(X).clip(0, 1).astype(int)  # noise 0.1 never crosses 0.5 here
    np.testing.assert_array_equal(y, corner[:, 0] ^ corner[:, 1])
    counts = np.unique(corner[:, 0] * 2 + corner[:, 1], return_counts=True)[1]
    np.testing.assert_array_equal(counts, [50, 50, 50, 50])
    # shuffled: not the corners in turn
    assert not np.array_equal(y, np.tile([0, 1, 1, 0], 50))


def test_xor_without_noise_is_exactly_the_truth_table():
    """With noise=0 are the points exactly the four binary inputs?"""
    X, y = make_xor(num_samples=8, noise=0.0)
    assert set(map(tuple, X.astype(int))) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    np.testing.assert_array_equal(y, X[:, 0].astype(int) ^ X[:, 1].astype(int))


def test_blobs_cluster_around_circle_centres():
    """Are class means near radius-4 centres and spreads near std?"""
    X, y = make_blobs(num_per_class=2000, num_classes=3, std=0.5, seed=1)
    assert X.shape == (6000, 2)
    np.testing.assert_array_equal(np.bincount(y), [2000] * 3)
    for k in range(3):
        angle = 2 * np.pi * k / 3
        np.testing.assert_allclose(X[y == k].mean(axis=0),
                                   [4 * np.cos(angle), 4 * np.sin(angle)], atol=0.05)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, atol=0.03)


@pytest.mark.parametrize("call", [lambda: make_spiral(num_per_class=0),
                                  lambda: make_blobs(num_classes=2.0),
                                  lambda: make_xor(num_samples=-4)])
def test_bad_sizes_are_rejected(call):
    """Are non-positive or non-integer sizes a clear ValueError?"""
    with pytest.raises(ValueError, match="must be a positive integer"):
        call()


@needs_sklearn
def test_iris_2d_is_petal_features_with_setosa_as_one():
    """Is X petal length/width and y 1 exactly for the 50 setosa flowers?"""
    X, y = load_iris_2d()
    assert X.shape == (150, 2) and y.dtype == np.int64
    assert y.sum() == 50 and (y[:50] == 1).all()
    # setosa petals are short (< 2 cm), the others' at least 3 cm
    assert X[y == 1, 0].max() < 2.0 < 3.0 <= X[y == 0, 0].min()
    np.testing.assert_allclose(X[0], [1.4, 0.2])


@needs_sklearn
def test_iris_has_four_features_and_three_balanced_classes():
    """Is load_iris the full 150 x 4 data with labels 0, 1, 2?"""
    X, y = load_iris()
    assert X.shape == (150, 4) and X.dtype == np.float64
    np.testing.assert_array_equal(np.bincount(y), [50, 50, 50])
    np.testing.assert_allclose(X[0], [5.1, 3.5, 1.4, 0.2])


@needs_sklearn
@pytest.mark.slow  # imports scikit-learn: 2-9 s of a shared core
def test_iris_csv_shortcut_matches_scikit_learn(monkeypatch):
    """Does reading sklearn's CSV directly give exactly sklearn's load_iris()?"""
    fast = load_iris()
    monkeypatch.setattr(toy.importlib.util, "find_spec", lambda name: None)
    slow = load_iris()
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
