"""Tests for course_lib.classifiers.linear (LinearSVM, Softmax estimators)."""
import numpy as np
import pytest

from course_lib.classifiers import LinearSVM, NotFittedError, Softmax

ESTIMATORS = [LinearSVM, Softmax]


def blobs(seed=0, num_per_class=100, centers=((0, 4), (4, -2), (-4, -2)), std=1.0):
    """Separable-ish Gaussian blobs in 2-D with a bias column of ones."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, std, (num_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(len(centers)), num_per_class)
    return np.hstack([X, np.ones((len(X), 1))]), y


FAST = dict(learning_rate=0.05, reg=1e-3, num_iters=300, batch_size=50, seed=0)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fits_blobs_and_reduces_loss(cls):
    """Does SGD lower the loss and reach > 95% accuracy on three blobs?"""
    X, y = blobs()
    model = cls(**FAST)
    assert model.fit(X, y) is model
    history = model.loss_history_
    assert history.shape == (300,)
    assert history[-30:].mean() < 0.5 * history[:10].mean()
    assert model.score(X, y) > 0.95
    X_test, y_test = blobs(seed=1)
    assert model.score(X_test, y_test) > 0.95


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_learned_attributes(cls):
    """Are W_ (D, C), classes_ and predictions in the original labels?"""
    X, y = blobs()
    labels = np.array([10, 20, 30])[y]
    model = cls(**FAST).fit(X, labels)
    assert model.W_.shape == (3, 3)
    np.testing.assert_array_equal(model.classes_, [10, 20, 30])
    assert set(np.unique(model.predict(X))) <= {10, 20, 30}
    np.testing.assert_array_equal(model.decision_function(X), X @ model.W_)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_seed_makes_training_reproducible(cls):
    """Does the same seed give the same weights, and another seed others?"""
    X, y = blobs()
    a = cls(**FAST).fit(X, y).W_
    b = cls(**FAST).fit(X, y).W_
    c = cls(**{**FAST, "seed": 1}).fit(X, y).W_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_batches_drawn_with_replacement(cls):
    """Can a batch be larger than the training set (sampling with
    replacement), and does each step use exactly batch_size samples?"""
    X, y = blobs(num_per_class=2)
    model = cls(learning_rate=0.1, reg=0.0, num_iters=1, batch_size=50, seed=3)
    model.fit(X, y)
    rng = np.random.default_rng(3)
    W0 = (1e-3 * rng.standard_normal((3, 3)))
    batch = rng.integers(len(X), size=50)
    expected_loss, _ = model.loss(W0, X[batch], y[batch])
    assert model.loss_history_[0] == pytest.approx(expected_loss, rel=1e-12)


def test_one_sgd_step_by_hand():
    """Is the update W <- W - learning_rate * dW of the minibatch loss?"""
    X, y = blobs(num_per_class=5)
    model = Softmax(learning_rate=0.3, reg=0.1, num_iters=1, batch_size=7, seed=5).fit(X, y)
    rng = np.random.default_rng(5)
    W0 = 1e-3 * rng.standard_normal((3, 3))
    batch = rng.integers(len(X), size=7)
    _, dW = model.loss(W0, X[batch], y[batch])
    np.testing.assert_allclose(model.W_, W0 - 0.3 * dW, rtol=1e-12)


def test_softmax_predict_proba():
    """Do probabilities sum to 1 per row and agree with predict?"""
    X, y = blobs()
    model = Softmax(**FAST).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))
    scores = X @ model.W_
    np.testing.assert_allclose(proba, np.exp(scores) / np.exp(scores).sum(1, keepdims=True))


def test_float32_data_gives_float32_weights():
    """Does training on float32 keep W_ in float32 (half the memory)?"""
    X, y = blobs()
    model = LinearSVM(**FAST).fit(X.astype(np.float32), y)
    assert model.W_.dtype == np.float32
    assert model.score(X.astype(np.float32), y) > 0.95


def test_divergence_warns_and_stops():
    """With an absurd learning rate, does training stop with a warning that
    names the learning rate instead of filling W_ with nan silently?"""
    X, y = blobs()
    model = LinearSVM(learning_rate=1e300, reg=1e3, num_iters=100, seed=0)
    with pytest.warns(RuntimeWarning, match="Lower learning_rate"):
        model.fit(X * 1e10, y)
    assert len(model.loss_history_) < 100
    assert not np.isfinite(model.loss_history_[-1])


def test_default_hyperparameters_and_params_api():
    """Are the documented defaults in place and get/set_params working?"""
    model = Softmax()
    assert model.get_params() == {"learning_rate": 1e-7, "reg": 2.5e4, "num_iters": 1500,
                                  "batch_size": 200, "seed": None, "verbose": False,
                                  "lr_decay": 1.0, "average": False}
    assert model.set_params(reg=1.0, num_iters=10) is model
    assert (model.reg, model.num_iters) == (1.0, 10)
    assert repr(model) == "Softmax(reg=1.0, num_iters=10)"
    with pytest.raises(ValueError, match="no parameter 'learning_rte'"):
        model.set_params(learning_rte=1.0)


def test_bad_use_gives_clear_errors():
    """Predict before fit, wrong feature count, bad hyperparameters?"""
    X, y = blobs()
    with pytest.raises(NotFittedError, match="call fit"):
        LinearSVM().predict(X)
    model = LinearSVM(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"\(4, 2\).*3 features"):
        model.predict(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        LinearSVM(batch_size=0).fit(X, y)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        LinearSVM(learning_rate=-1.0).fit(X, y)
    with pytest.raises(ValueError, match=r"lr_decay must be in \(0, 1\]"):
        LinearSVM(lr_decay=0.0).fit(X, y)
    with pytest.raises(ValueError, match="average must be True, False or a step"):
        LinearSVM(average=-3).fit(X, y)


def test_verbose_shows_a_progress_bar(capsys):
    """Does verbose=True print a tqdm bar (to stderr)?"""
    X, y = blobs(num_per_class=5)
    LinearSVM(learning_rate=0.1, reg=0.0, num_iters=20, batch_size=4, seed=0,
              verbose=True).fit(X, y)
    err = capsys.readouterr().err
    assert "LinearSVM" in err and "20/20" in err


def test_lr_decay_shrinks_the_step_after_each_epoch():
    """With N = 2 * batch_size (an epoch is 2 steps) and lr_decay=0.5, are
    steps 1-2 taken with the full rate and steps 3-4 with half of it?"""
    X, y = blobs(num_per_class=2)  # 6 samples
    lr, reg = 0.3, 0.1
    model = Softmax(learning_rate=lr, reg=reg, num_iters=4, batch_size=3, seed=2,
                    lr_decay=0.5).fit(X, y)
    rng = np.random.default_rng(2)
    W = 1e-3 * rng.standard_normal((3, 3))
    for step_lr in (lr, lr, lr / 2, lr / 2):
        batch = rng.integers(len(X), size=3)
        _, dW = model.loss(W, X[batch], y[batch])
        W = W - step_lr * dW
    np.testing.assert_allclose(model.W_, W, rtol=1e-12)
    constant = Softmax(learning_rate=lr, reg=reg, num_iters=4, batch_size=3, seed=2).fit(X, y)
    assert not np.allclose(constant.W_, W)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_average_is_the_mean_of_the_iterates(cls):
    """Is W_ with average=True the mean of the weights after steps 1..T, and
    with average=k the mean after steps k..T (same seed, same iterates)?"""
    X, y = blobs()
    settings = dict(learning_rate=0.05, reg=1e-3, batch_size=20, seed=4)
    iterates = [cls(num_iters=t, **settings).fit(X, y).W_ for t in (1, 2, 3, 4, 5)]
    averaged = cls(num_iters=5, average=True, **settings).fit(X, y)
    np.testing.assert_allclose(averaged.W_, np.mean(iterates, axis=0), rtol=1e-12)
    from_3 = cls(num_iters=5, average=3, **settings).fit(X, y)
    np.testing.assert_allclose(from_3.W_, np.mean(iterates[2:], axis=0), rtol=1e-12)
    # the loss history still follows the last iterate's path
    np.testing.assert_array_equal(averaged.loss_history_,
                                  cls(num_iters=5, **settings).fit(X, y).loss_history_)


def test_average_keeps_float32():
    """Does averaging keep float32 weights in float32?"""
    X, y = blobs()
    model = LinearSVM(**FAST, average=150).fit(X.astype(np.float32), y)
    assert model.W_.dtype == np.float32
    assert model.score(X.astype(np.float32), y) > 0.95
