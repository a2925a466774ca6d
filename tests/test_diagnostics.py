"""Tests for course_lib.diagnostics: update ratios, FC-stack records, gradient norms, confusion."""
import numpy as np
import pytest

from course_lib import diagnostics
from course_lib.gradcheck import eval_numerical_gradient
from tests.helpers import gradient_error
from course_lib.models import FullyConnectedNet


def test_update_ratio_value():
    """Is the update ratio ||w_new - w_old|| / ||w_old||?"""
    w = np.array([3.0, 4.0])  # norm 5
    assert diagnostics.update_ratio(w, w + np.array([0.003, 0.004])) == pytest.approx(1e-3)
    assert diagnostics.update_ratio(np.zeros(2), np.ones(2)) > 1e6  # all update, no weight


def test_update_ratio_shape_mismatch():
    """Are weights of different shapes refused instead of broadcast?"""
    with pytest.raises(ValueError, match="shapes differ"):
        diagnostics.update_ratio(np.ones(3), np.ones((3, 1)))


def test_update_ratios_per_parameter():
    """Does update_ratios give one ratio per parameter name?"""
    old = {"fc1.W": np.ones(4), "fc1.b": np.ones(2)}
    new = {"fc1.W": np.ones(4) * 1.5, "fc1.b": np.ones(2)}
    assert diagnostics.update_ratios(old, new) == {"fc1.W": pytest.approx(0.5), "fc1.b": 0.0}


def test_array_stats():
    """Does array_stats report mean, std, the zero fraction and the saturated fraction?"""
    stats = diagnostics.array_stats(np.array([0.0, 0.0, 1.0, -1.0]))
    assert stats["mean"] == 0.0 and stats["std"] == pytest.approx(np.sqrt(0.5))
    assert stats["frac_zero"] == 0.5 and stats["frac_saturated"] == 0.5


def test_small_init_collapses_tanh_activations():
    """With weights 0.01*N(0,1), do tanh activations shrink layer by layer (and not with Xavier)?"""
    X = np.random.default_rng(0).standard_normal((200, 100))
    small = diagnostics.run_fc_stack(X, diagnostics.random_fc_weights([100] * 8, init=0.01, seed=0))
    stds = [a.std() for a in small["activations"].values()]
    assert len(stds) == 6 and all(b < a for a, b in zip(stds, stds[1:]))
    assert stds[-1] < 1e-6
    xavier = diagnostics.run_fc_stack(X, diagnostics.random_fc_weights([100] * 8, seed=0))
    assert 0.2 < list(xavier["activations"].values())[-1].std() < 1.0


def test_sigmoid_gradients_vanish_towards_the_input():
    """In a deep sigmoid stack, is the first layer's weight gradient far smaller than the last's?"""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 30)), rng.integers(0, 3, 50)
    record = diagnostics.run_fc_stack(X, diagnostics.random_fc_weights([30] * 7 + [3], seed=0),
                                      activation="sigmoid", y=y)
    norms = list(diagnostics.layer_gradient_norms(record["grads"]).values())
    assert len(norms) == 7
    assert norms[0] < 0.01 * norms[-1]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "identity"])
def test_run_fc_stack_gradients(activation):
    """Are run_fc_stack's recorded gradients the true gradients of its loss?"""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((4, 5)), rng.integers(0, 3, 4)
    weights = diagnostics.random_fc_weights([5, 6, 4, 3], init=0.8, seed=1)
    record = diagnostics.run_fc_stack(X, weights, activation=activation, y=y)
    assert list(record["grads"]) == ["fc1.W", "fc1.b", "fc2.W", "fc2.b", "fc3.W", "fc3.b"]
    assert list(record["dactivations"]) == ["fc1", "fc2"]
    for i, (W, b) in enumerate(weights, start=1):
        numeric = eval_numerical_gradient(
            lambda _: diagnostics.run_fc_stack(X, weights, activation, y)["loss"], W, h=1e-5)
        assert gradient_error(numeric, record["grads"][f"fc{i}.W"]) < 1e-6


def test_run_fc_stack_rejects_mismatched_weights():
    """Does a W with the wrong number of rows give an error naming the layer?"""
    weights = diagnostics.random_fc_weights([4, 5, 3], seed=0)
    weights[1] = (np.ones((6, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="layer 2"):
        diagnostics.run_fc_stack(np.ones((2, 4)), weights)


def test_layer_gradient_norms_of_a_model():
    """Does layer_gradient_norms give one norm per layer of a model's grads, input to output?"""
    rng = np.random.default_rng(0)
    model = FullyConnectedNet([6, 5], input_dim=4, num_classes=3, normalization="batchnorm",
                              dtype=np.float64, seed=0)
    _, grads = model.loss(rng.standard_normal((8, 4)), rng.integers(0, 3, 8))
    norms = diagnostics.layer_gradient_norms(grads)
    assert list(norms) == ["fc1", "fc2", "fc3"]
    assert norms["fc2"] == pytest.approx(np.linalg.norm(grads["fc2.W"]))
    assert list(diagnostics.layer_gradient_norms({"fc1.W": 1, "conv2.W": 1, "conv1.W": 1})) == [
        "conv1", "conv2", "fc1"]


def test_activation_stats_of_a_model():
    """Does activation_stats summarise every hidden layer of a model (ReLU: many exact zeros)?"""
    model = FullyConnectedNet([50, 40], input_dim=10, dtype=np.float64, seed=0, init="he")
    X = np.random.default_rng(0).standard_normal((100, 10))
    stats = diagnostics.activation_stats(model.hidden_activations(X))
    assert list(stats) == ["fc1", "fc2"]
    assert 0.3 < stats["fc1"]["frac_zero"] < 0.7


def test_confusion_matrix():
    """Does confusion_matrix count (true, predicted) pairs, with the accuracy on its diagonal?"""
    m = diagnostics.confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]))
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    assert diagnostics.confusion_matrix(np.array([0]), np.array([0]), num_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="num_classes"):
        diagnostics.confusion_matrix(np.array([0, 5]), np.array([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match="same length"):
        diagnostics.confusion_matrix(np.array([0, 1]), np.array([0]))


@pytest.mark.parametrize("init, expected_std", [
    ("lecun", lambda n_in, n_out: 1 / np.sqrt(n_in)),
    ("xavier", lambda n_in, n_out: np.sqrt(2 / (n_in + n_out))),
    ("he", lambda n_in, n_out: np.sqrt(2 / n_in)),
    (0.05, lambda n_in, n_out: 0.05),
])
def test_random_fc_weights_scale(init, expected_std):
    """Does each init name give the standard deviation its docstring promises, layer by layer?"""
    dims = [400, 100, 900]
    weights = diagnostics.random_fc_weights(dims, init=init, seed=0)
    for (W, b), n_in, n_out in zip(weights, dims[:-1], dims[1:]):
        assert W.shape == (n_in, n_out) and not b.any()
        assert W.std() == pytest.approx(expected_std(n_in, n_out), rel=0.03)
