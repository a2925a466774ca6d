"""Tests for course_lib.models: naming, shapes, initial loss, gradients, train/test modes."""
import numpy as np
import pytest

from course_lib.gradcheck import eval_numerical_gradient
from course_lib.models import ConvNet, FullyConnectedNet, ThreeLayerConvNet, TwoLayerNet
from tests.helpers import gradient_error
from course_lib.models.naming import (is_weight, layer_of, param_name, parse_param_name)


def model_gradient_errors(model, X, y, h=1e-5):
    """Error of every parameter's analytic gradient against centred differences,
    relative to the gradient's scale (tests.helpers.gradient_error).

    The dropout stream is rewound before every evaluation so that all of them
    use the same masks. A parameter whose true gradient is zero (the bias of a
    layer followed by batchnorm, which subtracts it again) is compared in
    absolute terms instead, where the relative error is meaningless.
    """
    start = model.rng.bit_generator.state

    def f(_):
        model.rng.bit_generator.state = start
        return model.loss(X, y)[0]

    model.rng.bit_generator.state = start
    _, grads = model.loss(X, y)
    assert list(grads) == list(model.params), "grads must be keyed (and ordered) like params"
    errors = {}
    for name, value in model.params.items():
        numeric = eval_numerical_gradient(f, value, h=h)
        if np.abs(grads[name]).max() < 1e-12:
            assert np.abs(numeric).max() < 1e-8, f"{name}: analytic gradient 0 but numeric not"
            errors[name] = 0.0
        else:
            errors[name] = gradient_error(numeric, grads[name])
    return errors


def assert_gradients_ok(model, X, y, tol=1e-6):
    errors = model_gradient_errors(model, X, y)
    bad = {name: f"{e:.1e}" for name, e in errors.items() if e > tol}
    assert not bad, f"relative errors above {tol:.0e}: {bad}"


# ---- naming ---------------------------------------------------------------------------

def test_param_name_round_trip():
    """Does parse_param_name invert param_name, and layer_of / is_weight read the parts?"""
    assert param_name("fc", 1, "W") == "fc1.W"
    assert param_name("conv", 12, "gamma") == "conv12.gamma"
    assert parse_param_name("conv12.gamma") == ("conv", 12, "gamma")
    assert layer_of("fc3.beta") == "fc3"
    assert is_weight("conv2.W") and not is_weight("conv2.b") and not is_weight("fc1.gamma")


@pytest.mark.parametrize("bad", ["W1", "fc0.W", "fc1.w", "fc1W", "dense1.W", "fc1.b.b"])
def test_parse_param_name_rejects_other_names(bad):
    """Are names not made by param_name rejected with the expected form in the message?"""
    with pytest.raises(ValueError, match="<kind><index>.<attr>"):
        parse_param_name(bad)


def test_param_name_rejects_bad_parts():
    """Does param_name refuse unknown kinds, attributes and indices below 1?"""
    for args in [("dense", 1, "W"), ("fc", 0, "W"), ("fc", 1, "weight"), ("fc", True, "W")]:
        with pytest.raises(ValueError):
            param_name(*args)


# ---- construction ---------------------------------------------------------------------

def test_two_layer_net_params():
    """Does TwoLayerNet create fc1/fc2 weights of the right shapes, biases zero, scale as asked?"""
    model = TwoLayerNet(input_dim=300, hidden_dim=40, num_classes=7, weight_scale=1e-2, seed=0)
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {"fc1.W": (300, 40), "fc1.b": (40,), "fc2.W": (40, 7), "fc2.b": (7,)}
    assert model.params["fc1.W"].dtype == np.float64
    assert np.all(model.params["fc1.b"] == 0)
    assert 0.008 < model.params["fc1.W"].std() < 0.012
    assert model.num_params == 300 * 40 + 40 + 40 * 7 + 7


def test_fc_net_param_names_with_normalization():
    """Do only hidden layers get gamma/beta (named after the layer) and BN running stats?"""
    model = FullyConnectedNet([5, 4], input_dim=6, num_classes=3, normalization="batchnorm")
    assert list(model.params) == ["fc1.W", "fc1.b", "fc1.gamma", "fc1.beta",
                                  "fc2.W", "fc2.b", "fc2.gamma", "fc2.beta", "fc3.W", "fc3.b"]
    assert sorted(model.bn_stats) == ["fc1", "fc2"]
    assert model.bn_stats["fc2"].running_mean.shape == (4,)
    for name in model.params:
        parse_param_name(name)
    assert FullyConnectedNet([5], input_dim=6, normalization="layernorm").bn_stats == {}


def test_fc_net_init_overrides_weight_scale():
    """Does init="he" give std sqrt(2/fan_in) instead of weight_scale?"""
    model = FullyConnectedNet([400], input_dim=800, weight_scale=1e-6, init="he", seed=0)
    assert model.params["fc1.W"].std() == pytest.approx(np.sqrt(2 / 800), rel=0.05)
    assert model.params["fc1.W"].dtype == np.float32


def test_same_seed_same_weights():
    """Do two models built with the same seed start from identical weights, and another seed not?"""
    a, b = (FullyConnectedNet([8], input_dim=5, seed=3) for _ in range(2))
    c = FullyConnectedNet([8], input_dim=5, seed=4)
    np.testing.assert_array_equal(a.params["fc1.W"], b.params["fc1.W"])
    assert not np.array_equal(a.params["fc1.W"], c.params["fc1.W"])


def test_three_layer_conv_net_params():
    """Does the conv keep the image size (pad (F-1)//2), so that fc1 gets F*H/2*W/2 inputs?"""
    model = ThreeLayerConvNet(input_dim=(3, 32, 32), num_filters=8, filter_size=5,
                              hidden_dim=20, num_classes=10)
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {"conv1.W": (8, 3, 5, 5), "conv1.b": (8,), "fc1.W": (8 * 16 * 16, 20),
                      "fc1.b": (20,), "fc2.W": (20, 10), "fc2.b": (10,)}
    assert model.params["conv1.W"].dtype == np.float32


def test_conv_net_layout():
    """Does ConvNet number convs across blocks, pool once per block and size fc1 accordingly?"""
    model = ConvNet(input_dim=(3, 16, 16), conv_blocks=[(4, 4), (8,)], hidden_dims=(10,),
                    num_classes=5, normalization="batchnorm")
    assert [name for name in model.params if name.endswith(".W")] == [
        "conv1.W", "conv2.W", "conv3.W", "fc1.W", "fc2.W"]
    assert model.params["conv2.W"].shape == (4, 4, 3, 3)
    assert model.params["conv3.W"].shape == (8, 4, 3, 3)
    assert model.params["fc1.W"].shape == (8 * 4 * 4, 10)  # 16 -> 8 -> 4 after two pools
    assert sorted(model.bn_stats) == ["conv1", "conv2", "conv3", "fc1"]
    flat = ConvNet(input_dim=(3, 8, 8), conv_blocks=[(4,)], pool_every_block=False,
                   hidden_dims=())
    assert flat.params["fc1.W"].shape == (4 * 8 * 8, 10)


@pytest.mark.parametrize("make, message", [
    (lambda: FullyConnectedNet([5], normalization="groupnorm"), "normalization"),
    (lambda: FullyConnectedNet([5], dropout_keep_ratio=0), "keeping"),
    (lambda: FullyConnectedNet([5], reg=-1), "reg"),
    (lambda: ConvNet(normalization="layernorm"), "normalization"),
    (lambda: ConvNet(filter_size=4), "odd"),
    (lambda: ConvNet(conv_blocks=[()]), "filter"),
])
def test_bad_hyperparameters_are_rejected(make, message):
    """Are impossible hyperparameters rejected with a message naming the problem?"""
    with pytest.raises(ValueError, match=message):
        make()


def test_wrong_input_shape_is_explained():
    """Does a wrongly shaped X raise a ValueError that shows the expected shape?"""
    with pytest.raises(ValueError, match=r"\(N, 3, 8, 8\)"):
        ConvNet(input_dim=(3, 8, 8), conv_blocks=[(2,)]).loss(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="12"):
        FullyConnectedNet([4], input_dim=12).loss(np.zeros((2, 13)))


# ---- scores and initial loss ------------------------------------------------------------

SMALL_MODELS = {
    "two_layer": lambda: TwoLayerNet(input_dim=3 * 8 * 8, hidden_dim=20, num_classes=10, seed=0),
    "fc_bn_dropout": lambda: FullyConnectedNet([20, 15], input_dim=3 * 8 * 8, weight_scale=1e-3,
                                               normalization="batchnorm", dropout_keep_ratio=0.5,
                                               seed=0),
    "three_layer_conv": lambda: ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4,
                                                  filter_size=3, hidden_dim=10, seed=0),
    "conv_net": lambda: ConvNet(input_dim=(3, 8, 8), conv_blocks=[(4,), (6,)], hidden_dims=(10,),
                                init=None, weight_scale=1e-3, seed=0),
}


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
def test_scores_shape_and_initial_loss(name):
    """Do small weights give scores of shape (N, C) and an initial loss of about log(10)?"""
    model = SMALL_MODELS[name]()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3, 8, 8))
    y = rng.integers(0, 10, 6)
    scores = model.loss(X)
    assert scores.shape == (6, 10)
    loss, grads = model.loss(X, y)
    assert loss == pytest.approx(np.log(10), abs=0.02)
    assert {k: g.shape for k, g in grads.items()} == {k: p.shape for k, p in model.params.items()}


def test_float32_model_stays_float32():
    """Does a float32 model return float32 scores and gradients (so training never upcasts)?"""
    model = ConvNet(input_dim=(3, 8, 8), conv_blocks=[(4,)], hidden_dims=(6,),
                    normalization="batchnorm", dropout_keep_ratio=0.5, reg=0.1, seed=0)
    X = np.random.default_rng(0).standard_normal((4, 3, 8, 8))  # float64 input
    assert model.loss(X).dtype == np.float32
    _, grads = model.loss(X, np.array([0, 1, 2, 3]))
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}


# ---- gradients --------------------------------------------------------------------------

FC_CONFIGS = [
    dict(hidden_dims=[]),
    dict(hidden_dims=[6]),
    dict(hidden_dims=[6, 5], reg=0.3),
    dict(hidden_dims=[6, 5, 4], reg=0.1),
    dict(hidden_dims=[6, 5], normalization="batchnorm"),
    dict(hidden_dims=[6, 5], normalization="batchnorm", reg=0.2),
    dict(hidden_dims=[6, 5], normalization="layernorm", reg=0.1),
    dict(hidden_dims=[6, 5], dropout_keep_ratio=0.6),
    dict(hidden_dims=[6, 5], dropout_keep_ratio=0.7, normalization="batchnorm", reg=0.05),
]


@pytest.mark.parametrize("config", FC_CONFIGS,
                         ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_fc_net_gradients(config):
    """Does FullyConnectedNet's backward match numerical gradients for every parameter?"""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 7)), rng.integers(0, 4, 5)
    model = FullyConnectedNet(input_dim=7, num_classes=4, weight_scale=0.5, dtype=np.float64,
                              seed=1, **config)
    assert_gradients_ok(model, X, y)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("config", [dict(), dict(normalization="batchnorm",
                                              dropout_keep_ratio=0.7, reg=0.1)],
                         ids=["plain", "bn-dropout-reg"])
def test_fc_net_gradients_per_activation(activation, config):
    """Does FullyConnectedNet's backward match numerical gradients with every activation?"""
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((5, 7)), rng.integers(0, 4, 5)
    model = FullyConnectedNet([6, 5], input_dim=7, num_classes=4, weight_scale=0.5,
                              dtype=np.float64, seed=2, activation=activation, **config)
    assert_gradients_ok(model, X, y, tol=1e-6)


def test_fc_net_activation_is_applied():
    """Does each activation shape the hidden outputs as its formula says, with ReLU by default?"""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6))
    outputs = {}
    for activation in (None, "relu", "tanh", "sigmoid", "leaky_relu"):
        extra = {} if activation is None else {"activation": activation}
        model = FullyConnectedNet([8], input_dim=6, num_classes=3, weight_scale=1.0,
                                  dtype=np.float64, seed=0, **extra)
        outputs[activation] = model.hidden_activations(X)["fc1"]
    pre = X @ model.params["fc1.W"]  # same seed, same weights; biases are zero
    np.testing.assert_array_equal(outputs[None], outputs["relu"])
    np.testing.assert_allclose(outputs["relu"], np.maximum(pre, 0))
    np.testing.assert_allclose(outputs["tanh"], np.tanh(pre))
    np.testing.assert_allclose(outputs["sigmoid"], 1 / (1 + np.exp(-pre)))
    np.testing.assert_allclose(outputs["leaky_relu"], np.where(pre > 0, pre, 0.01 * pre))
    assert FullyConnectedNet([8]).activation == "relu"


@pytest.mark.parametrize("bad", ["softplus", "ReLU", None, ["relu"]])
def test_unknown_activation_is_rejected(bad):
    """Is an unknown activation refused with a ValueError listing the valid names?"""
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', 'tanh', "
                                         r"'sigmoid', 'leaky_relu'\]"):
        FullyConnectedNet([5], activation=bad)


def test_two_layer_net_gradients():
    """Does TwoLayerNet's backward (with L2) match numerical gradients?"""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, weight_scale=0.5, reg=0.4,
                        seed=0)
    assert_gradients_ok(model, X, y)


@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_three_layer_conv_net_gradients(reg):
    """Does ThreeLayerConvNet's backward match numerical gradients?"""
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((3, 2, 6, 6)), rng.integers(0, 4, 3)
    model = ThreeLayerConvNet(input_dim=(2, 6, 6), num_filters=3, filter_size=3, hidden_dim=5,
                              num_classes=4, weight_scale=0.3, reg=reg, dtype=np.float64, seed=0)
    assert_gradients_ok(model, X, y)


@pytest.mark.parametrize("config", [
    dict(conv_blocks=[(3,), (2, 3)], hidden_dims=(5,)),
    dict(conv_blocks=[(3,), (2, 3)], hidden_dims=(5,), normalization="batchnorm",
         dropout_keep_ratio=0.7, reg=0.1),
    dict(conv_blocks=[(2, 2)], pool_every_block=False, hidden_dims=(), reg=0.2),
], ids=["plain", "bn-dropout-reg", "no-pool"])
def test_conv_net_gradients(config):
    """Does ConvNet's backward match numerical gradients for every parameter?"""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((3, 2, 6, 6)), rng.integers(0, 4, 3)
    model = ConvNet(input_dim=(2, 6, 6), num_classes=4, dtype=np.float64, seed=0, **config)
    assert_gradients_ok(model, X, y)


def _record_network_pass(monkeypatch, module, names):
    """Make parallel.network_pass a recording context and wrap ``module.<name>``
    for each of ``names``: returns ``(inside, outside)``, the names of the
    wrapped calls made inside the context and outside it."""
    from course_lib import parallel
    inside, outside, depth = [], [], [0]

    class Recording:
        def __enter__(self):
            depth[0] += 1

        def __exit__(self, *exc):
            depth[0] -= 1

    def recorded(name, real):
        def call(*args):
            (inside if depth[0] else outside).append(name)
            return real(*args)
        return call
    monkeypatch.setattr(parallel, "network_pass", Recording)
    for name in names:
        monkeypatch.setattr(module, name, recorded(name, getattr(module, name)))
    return inside, outside


def test_conv_net_products_run_inside_network_pass(monkeypatch):
    """Does ConvNet.loss run its whole pass, the fully connected layers'
    forward and backward products included, inside parallel.network_pass
    (BLAS's threads kept out of the conv layers' way), in training and in
    test mode?"""
    from course_lib import layers
    inside, outside = _record_network_pass(monkeypatch, layers,
                                           ("affine_forward", "affine_backward"))
    model = ConvNet(input_dim=(2, 6, 6), num_classes=4, hidden_dims=(5,), seed=0)
    X, y = np.zeros((2, 2, 6, 6)), np.array([0, 1])
    model.loss(X, y)
    model.loss(X)
    assert sorted(inside) == ["affine_backward"] * 2 + ["affine_forward"] * 4
    assert not outside


@pytest.mark.parametrize("make_model", [
    lambda: FullyConnectedNet([5, 4], input_dim=6, num_classes=3, normalization="batchnorm",
                              dropout_keep_ratio=0.5, seed=0),
    lambda: TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, seed=0),
], ids=["FullyConnectedNet", "TwoLayerNet"])
def test_fully_connected_products_run_inside_network_pass(monkeypatch, make_model):
    """Do the fully connected nets run every product of their forward and
    backward passes inside parallel.network_pass (so that BLAS's spinning
    workers never hold a core when Adam's threads run next), in training
    and in test mode?"""
    from course_lib import parallel
    inside, outside = _record_network_pass(monkeypatch, parallel, ("matmul",))
    model = make_model()
    X, y = np.ones((2, 6)), np.array([0, 2])
    model.loss(X, y)
    training_products = len(inside)
    model.loss(X)
    test_products = len(inside) - training_products
    layers = model.num_layers
    # training: a forward and a dW product per layer, dx for all but the first
    assert training_products == 3 * layers - 1 and test_products == layers
    assert not outside


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_before_relu_is_relu_before_pooling(dtype):
    """ConvNet applies its ReLU after the 2x2 max pooling instead of before
    it: on inputs full of ties (zeros, repeated values, all-negative
    windows), are the outputs and the input gradients exactly the same as
    in the notes' order?"""
    from course_lib.layers import relu_backward, relu_forward
    from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, size=(4, 3, 8, 10)).astype(dtype)      # many ties
    dout = rng.standard_normal((4, 3, 4, 5)).astype(dtype)
    r, relu_cache = relu_forward(x)
    notes, pool_cache = max_pool_forward_fast(r)
    dx_notes = relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache)
    p, pool_cache = max_pool_forward_fast(x)
    ours, relu_cache = relu_forward(p)
    dx_ours = max_pool_backward_fast(relu_backward(dout, relu_cache), pool_cache)
    np.testing.assert_array_equal(ours, notes)
    np.testing.assert_array_equal(dx_ours, dx_notes)
    assert np.count_nonzero(dx_ours) > 0


def test_regularization_term_is_reg_sum_w_squared():
    """Is the L2 term exactly reg * sum(W*W) over weights only (the course's one
    convention), with gradient 2 * reg * W?"""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 5)), rng.integers(0, 3, 4)
    plain = FullyConnectedNet([6], input_dim=5, num_classes=3, dtype=np.float64, seed=0,
                              normalization="batchnorm")
    regular = FullyConnectedNet([6], input_dim=5, num_classes=3, dtype=np.float64, seed=0,
                                normalization="batchnorm", reg=0.7)
    for p in regular.params.values():
        p += 0.5  # non-zero biases and betas: they must still not be penalised
    for name in plain.params:
        plain.params[name] = regular.params[name].copy()
    loss0, grads0 = plain.loss(X, y)
    loss1, grads1 = regular.loss(X, y)
    W1, W2 = regular.params["fc1.W"], regular.params["fc2.W"]
    assert loss1 - loss0 == pytest.approx(0.7 * (np.sum(W1 * W1) + np.sum(W2 * W2)))
    np.testing.assert_allclose(grads1["fc1.W"] - grads0["fc1.W"], 1.4 * W1, atol=1e-12)
    for name in ("fc1.b", "fc1.gamma", "fc1.beta", "fc2.b"):
        np.testing.assert_array_equal(grads1[name], grads0[name])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l2_term_in_blocks_equals_the_textbook_lines(monkeypatch, dtype):
    """Over several blocks (the last one partial), does l2_term give
    sum(w*w) within rounding and exactly the numbers of dw + 2*reg*w,
    written into dw itself?"""
    from course_lib import parallel
    from course_lib.models import base
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 16 * np.dtype(dtype).itemsize)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((9, 11)).astype(dtype)             # 99 numbers: 7 blocks
    dw = rng.standard_normal((9, 11)).astype(dtype)
    expected = dw + 2.0 * 0.3 * w
    sum_squares, out = base.l2_term(w, dw, 0.3)
    assert out is dw
    np.testing.assert_array_equal(out, expected)
    assert sum_squares == pytest.approx(float(np.sum(w.astype(np.float64) ** 2)),
                                        rel=10 * float(np.finfo(dtype).eps))


@pytest.mark.parametrize("make_dw", [
    lambda dw: np.asfortranarray(dw),                          # not C-contiguous
    lambda dw: dw.astype(np.float32),                          # another dtype
    lambda dw: np.lib.stride_tricks.as_strided(dw, writeable=False),   # read-only
], ids=["fortran order", "float32 gradient", "read-only"])
def test_l2_term_leaves_a_gradient_it_cannot_update_in_place(make_dw):
    """A gradient l2_term cannot write into (another layout, another dtype,
    read-only) is left untouched and a new array is returned, with the
    same numbers as the textbook lines."""
    from course_lib.models.base import l2_term
    rng = np.random.default_rng(1)
    w = rng.standard_normal((5, 7))
    dw = make_dw(rng.standard_normal((5, 7)))
    before = dw.copy()
    sum_squares, out = l2_term(w, dw, 0.25)
    np.testing.assert_array_equal(dw, before)
    np.testing.assert_allclose(out, before + 0.5 * w, rtol=1e-6)
    assert sum_squares == pytest.approx(float(np.sum(w * w)))


def test_l2_term_makes_no_array_as_large_as_the_weights():
    """On 4 MB of weights, does l2_term allocate less than one 256 KB block
    and its own bookkeeping (the textbook lines make three 4 MB arrays)?"""
    import tracemalloc
    from course_lib.models.base import l2_term
    rng = np.random.default_rng(2)
    w, dw = rng.standard_normal((1024, 512)), rng.standard_normal((1024, 512))
    tracemalloc.start()
    try:
        l2_term(w, dw, 1e-3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 300_000, f"l2_term allocated {peak} bytes at its peak"


# ---- train vs test mode -------------------------------------------------------------------

def test_dropout_only_in_training_mode():
    """Is dropout off at test time (same scores every call) and on in training (masks vary)?"""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 10)), rng.integers(0, 3, 8)
    model = FullyConnectedNet([50, 50], input_dim=10, num_classes=3, dropout_keep_ratio=0.5,
                              dtype=np.float64, seed=0)
    twin = FullyConnectedNet([50, 50], input_dim=10, num_classes=3, dtype=np.float64, seed=0)
    np.testing.assert_array_equal(model.loss(X), model.loss(X))
    np.testing.assert_allclose(model.loss(X), twin.loss(X))  # no rescaling at test time
    state = model.rng.bit_generator.state
    model.loss(X)
    assert model.rng.bit_generator.state == state, "test mode must not draw masks"
    assert model.loss(X, y)[0] != model.loss(X, y)[0]


def test_dropout_masks_reproducible_with_seed():
    """Do two models with the same seed draw the same dropout masks, call after call?"""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 10)), rng.integers(0, 3, 8)
    a, b = (FullyConnectedNet([20], input_dim=10, num_classes=3, dropout_keep_ratio=0.5, seed=5)
            for _ in range(2))
    assert [a.loss(X, y)[0] for _ in range(3)] == [b.loss(X, y)[0] for _ in range(3)]


def test_batchnorm_running_statistics():
    """Does training mode update the running stats, and test mode use them without changing them?"""
    rng = np.random.default_rng(0)
    X, y = 3.0 + 2.0 * rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, normalization="batchnorm",
                              dtype=np.float64, seed=0)
    stats = model.bn_stats["fc1"]
    before = stats.running_mean.copy()
    model.loss(X, y)
    assert not np.allclose(stats.running_mean, before)
    after_train = (stats.running_mean.copy(), stats.running_var.copy())
    scores = model.loss(X)
    np.testing.assert_array_equal(stats.running_mean, after_train[0])
    np.testing.assert_array_equal(stats.running_var, after_train[1])
    stats.running_mean = stats.running_mean + 1.0
    assert not np.allclose(model.loss(X), scores), "test mode must read the running mean"


def test_hidden_activations():
    """Does hidden_activations return each hidden layer's ReLU output, keyed by layer?"""
    rng = np.random.default_rng(0)
    model = FullyConnectedNet([7, 6], input_dim=5, num_classes=3, dtype=np.float64, seed=0)
    acts = model.hidden_activations(rng.standard_normal((4, 5)))
    assert list(acts) == ["fc1", "fc2"]
    assert acts["fc1"].shape == (4, 7) and acts["fc2"].shape == (4, 6)
    assert acts["fc1"].min() >= 0 and acts["fc1"].max() > 0


def test_predict_matches_argmax_of_scores():
    """Does predict return the argmax of the test-mode scores, batch by batch?"""
    rng = np.random.default_rng(0)
    model = TwoLayerNet(input_dim=5, hidden_dim=8, num_classes=4, weight_scale=1.0, seed=0)
    X = rng.standard_normal((7, 5))
    np.testing.assert_array_equal(model.predict(X, batch_size=3), model.loss(X).argmax(axis=1))


@pytest.mark.torch
def test_conv_net_matches_torch():
    """Do ConvNet's loss and gradients equal PyTorch's for the same weights (training-mode BN)?"""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 3, 8, 8)), rng.integers(0, 5, 4)
    model = ConvNet(input_dim=(3, 8, 8), conv_blocks=[(4,), (6,)], hidden_dims=(7,),
                    num_classes=5, normalization="batchnorm", reg=0.1, dtype=np.float64, seed=0)
    loss, grads = model.loss(X, y)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    out = torch.tensor(X)
    for j in (1, 2):
        out = F.conv2d(out, t[f"conv{j}.W"], t[f"conv{j}.b"], padding=1)
        out = F.batch_norm(out, None, None, t[f"conv{j}.gamma"], t[f"conv{j}.beta"],
                           training=True, eps=1e-5)
        out = F.max_pool2d(F.relu(out), 2)
    out = out.reshape(4, -1) @ t["fc1.W"] + t["fc1.b"]
    out = F.relu(F.batch_norm(out, None, None, t["fc1.gamma"], t["fc1.beta"], training=True,
                              eps=1e-5))
    scores = out @ t["fc2.W"] + t["fc2.b"]
    t_loss = F.cross_entropy(scores, torch.tensor(y)) + 0.1 * sum(
        (t[k] ** 2).sum() for k in t if k.endswith(".W"))
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-10)
    for name in model.params:
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=name)
