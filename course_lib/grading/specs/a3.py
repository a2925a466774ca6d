"""Check specs of assignment A3: convolutional networks.

Every item calls one function the student writes in
``solutions/a3_convnets/a3_convnets.ipynb`` on fresh inputs and compares
each output with ``course_lib``'s reference. The layer items (naive
convolution, max pooling) live in :mod:`.a3_layers`, spatial batchnorm in
:mod:`.a3_norm`;
here are the three-layer network's loss and the measured item, which
trains the student's network (built on course_lib's fast layers, which
this assignment allows) on CIFAR-10 images the grader picks.

Shapes: N images, C channels, H x W images, F filters, HH x WW filter size,
D hidden units, K classes.
"""
import numpy as np

from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.losses import softmax_loss
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast

from .a1 import HALF_REG_GRAD, HALF_REG_LOSS, NAN_AFTER_TRAINING
from .a3_layers import LAYER_ITEMS, LAYER_REFERENCES
from .a3_norm import NORM_ITEMS, NORM_REFERENCES
from ..compare import AccuracyRamp, accuracy_verdict
from ..spec import (Assignment, Call, Case, Check, ImportGroup, Item, Student, StudentKwargs,
                   Variant)

__all__ = ["ASSIGNMENT", "ACCURACY_RAMP", "NUM_MEASURED_TRAIN", "NUM_MEASURED_VAL",
           "ALLOWED_HYPERPARAMETERS", "preprocess", "convnet_reference"]

#: the measured item's partial credit (chance is 0.10): none at or below
#: ``floor``, all from ``full`` (see bench/measured_items.py)
ACCURACY_RAMP = AccuracyRamp(floor=0.16, full=0.27)
NUM_MEASURED_TRAIN, NUM_MEASURED_VAL = 2000, 1000
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
#: what the network part of A3 may use from course_lib
FAST_LAYERS = ("course_lib.conv:conv_forward_fast,conv_backward_fast",
               "course_lib.pooling:max_pool_forward_fast,max_pool_backward_fast")
#: the hyperparameters a student may choose for the graded run, with their ranges
ALLOWED_HYPERPARAMETERS = {"num_filters": (1, 16), "filter_size": (1, 7), "hidden_dim": (1, 128),
                           "lr": (0.0, 1.0), "reg": (0.0, 1.0), "num_epochs": (1, 6),
                           "batch_size": (10, 500)}


# ---- the three-layer network -------------------------------------------------

def convnet_reference(params, X, y=None, reg=0.0, *, reg_loss=1.0, reg_grad=None,
                      conv_relu=True, fc_relu=True, reg_bias=False):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    The convolution has stride 1 and padding ``(HH - 1) // 2``; the loss is
    the mean softmax loss plus ``reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))``.
    The keyword-only arguments write known bugs: ``reg_grad`` maps weights to
    the factor of ``reg * W`` in their gradient (2 is right), ``conv_relu`` /
    ``fc_relu`` False forget a ReLU in the backward pass, ``reg_bias``
    regularizes the biases too.
    """
    W1, b1, W2, b2, W3, b3 = (params[k] for k in PARAM_NAMES)
    N = X.shape[0]
    conv_out, conv_cache = conv_forward_fast(X, W1, b1, 1, (W1.shape[2] - 1) // 2)
    relu1 = np.maximum(conv_out, 0)
    pooled, pool_cache = max_pool_forward_fast(relu1, 2, 2, 2)
    flat = pooled.reshape(N, -1)                                  # (N, F*H/2*W/2)
    hidden_in = flat @ W2 + b2
    hidden = np.maximum(hidden_in, 0)
    scores = hidden @ W3 + b3
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    weights = {"W1": W1, "W2": W2, "W3": W3}
    loss += reg_loss * reg * sum(float(np.sum(W * W)) for W in weights.values())
    grads = {"W3": hidden.T @ dscores, "b3": dscores.sum(axis=0)}
    dhidden = dscores @ W3.T
    if fc_relu:
        dhidden = dhidden * (hidden_in > 0)
    grads["W2"], grads["b2"] = flat.T @ dhidden, dhidden.sum(axis=0)
    drelu1 = max_pool_backward_fast((dhidden @ W2.T).reshape(pooled.shape), pool_cache)
    if conv_relu:
        drelu1 = drelu1 * (conv_out > 0)
    _, grads["W1"], grads["b1"] = conv_backward_fast(drelu1, conv_cache)
    factors = {"W1": 2.0, "W2": 2.0, "W3": 2.0, **(reg_grad or {})}
    for name, W in weights.items():
        grads[name] = grads[name] + factors[name] * reg * W
    if reg_bias:
        for name in ("b1", "b2", "b3"):
            loss += reg * float(np.sum(params[name] ** 2))
            grads[name] = grads[name] + 2 * reg * params[name]
    return float(loss), {k: grads[k] for k in PARAM_NAMES}


def _params(rng, C, F, HH, H, W, D, K, scale=0.4):
    return {"W1": rng.normal(0, scale, (F, C, HH, HH)), "b1": rng.normal(0, scale, F),
            "W2": rng.normal(0, scale / 2, (F * (H // 2) * (W // 2), D)),
            "b2": rng.normal(0, scale, D),
            "W3": rng.normal(0, scale, (D, K)), "b3": rng.normal(0, scale, K)}


def _convnet_cases():
    def scores(rng, ctx):
        return Call([_params(rng, 3, 4, 3, 8, 8, 6, 5), rng.normal(0, 1, (3, 3, 8, 8))])

    def random(rng, ctx):
        return Call([_params(rng, 3, 3, 5, 8, 6, 7, 4), rng.normal(0, 1, (4, 3, 8, 6)),
                     rng.integers(0, 4, 4), 0.05])

    def one(rng, ctx):
        return Call([_params(rng, 2, 3, 3, 6, 6, 5, 3), rng.normal(0, 1, (1, 2, 6, 6)),
                     rng.integers(0, 3, 1), 0.1])

    def mixed(rng, ctx):
        # Two images 1e4x brighter (one the negative of the other, so some conv
        # ReLUs pass either way); hidden unit 0 (its W2 column made positive)
        # is huge for them, and adds the same score to every class (W3's first
        # row constant, the other rows scaled down so a row's scores stay within
        # a few units of each other). Each row's own maximum keeps every exp
        # finite; the largest score of the batch underflows exp to 0 in the dim
        # rows (checked on 1000 seeds: always).
        X = rng.normal(0, 1, (4, 3, 8, 6))
        X[0] *= 1e4
        X[2] = -X[0]
        p = _params(rng, 3, 3, 5, 8, 6, 7, 4)
        p["W2"][:, 0] = np.abs(p["W2"][:, 0])
        p["W3"][1:] *= 1e-6
        p["W3"][0] = 1.0
        return Call([p, X, rng.integers(0, 4, 4), 0.0])

    def size(rng, ctx):  # centred differences: 2 * 16,384 loss evaluations for dW2
        return Call([_params(rng, 3, 8, 3, 16, 16, 32, 10, scale=0.1),
                     rng.normal(0, 1, (8, 3, 16, 16)), rng.integers(0, 10, 8), 0.01])

    return (Case("scores", "y = None: return the scores (N=3, C=3, 8x8 images, F=4 3x3 filters, "
                 "D=6, K=5)", scores),
            Case("random", "random parameters and labels with reg = 0.05, non-square 8x6 "
                 "images and 5x5 filters", random),
            Case("batch_1", "a single image (N=1) with reg = 0.1", one),
            Case("mixed_scales", "two images 10,000 times brighter, so their scores are in "
                 "the thousands and the others' near 0, each row's scores close together "
                 "(subtract each row's own maximum score, not the largest of the batch)",
                 mixed),
            Case("size", "a realistic size (N=8, 16x16 images, F=8, D=32, K=10)", size))


def _missing_reg(name):
    return Variant(f"The regularization gradient of {name} is missing: add 2 * reg * {name} "
                   f"to d{name} (every weight matrix is regularized, the convolution's too).",
                   lambda *a, **k: convnet_reference(*a, **k, reg_grad={name: 0.0}),
                   checks=(f"d{name}",))


_LOSS_CASES = ("random", "batch_1", "mixed_scales", "size")
_CONVNET_CHECKS = (
    Check("scores", 1, "", cases=("scores",)),
    Check("loss", 2, "0", kind="scalar", cases=_LOSS_CASES),
    *(Check(f"d{name}", 1, f"1.{name}", cases=_LOSS_CASES) for name in PARAM_NAMES),
)
_CONVNET_VARIANTS = (  # more specific hints first
    Variant("The backward pass skips the ReLU after the convolution: multiply the gradient by "
            "(conv_out > 0) before conv_backward_fast.",
            lambda *a, **k: convnet_reference(*a, **k, conv_relu=False),
            checks=("dW1", "db1")),
    Variant("The backward pass skips the ReLU of the hidden affine layer: multiply the gradient "
            "by (hidden_in > 0).", lambda *a, **k: convnet_reference(*a, **k, fc_relu=False),
            checks=("dW1", "db1", "dW2", "db2")),
    _missing_reg("W1"), _missing_reg("W2"), _missing_reg("W3"),
    Variant(HALF_REG_LOSS, lambda *a, **k: convnet_reference(
        *a, **k, reg_loss=0.5, reg_grad={"W1": 1.0, "W2": 1.0, "W3": 1.0}), checks=("loss",)),
    Variant(HALF_REG_GRAD, lambda *a, **k: convnet_reference(
        *a, **k, reg_grad={"W1": 1.0, "W2": 1.0, "W3": 1.0}), checks=("dW1", "dW2", "dW3")),
    Variant("It ignores regularization: add reg * (sum(W1**2) + sum(W2**2) + sum(W3**2)) to "
            "the loss.", lambda *a, **k: convnet_reference(*a, **k, reg_loss=0.0),
            checks=("loss",)),
    Variant("This assignment regularizes the weights W1, W2 and W3 only, not the biases.",
            lambda *a, **k: convnet_reference(*a, **k, reg_bias=True)),
)


# ---- measured result: train on CIFAR-10 -----------------------------------------

def preprocess(images, mean=None, std=None):
    """uint8 images (N, 32, 32, 3) -> float32 (N, 3, 32, 32), minus the mean
    image, divided by one overall standard deviation (both of the training
    images unless given). Returns ``(X, mean, std)``."""
    X = images.transpose(0, 3, 1, 2).astype(np.float32)
    if mean is None:
        mean = X.mean(axis=0)
    X -= mean
    if std is None:
        std = float(X.std())
    X /= std
    return X, mean, std


def _measured_case(rng, ctx):
    # not the run's rng: the result must not depend on the seed of a regrade
    images, labels, val_images, y_val, seed = ctx.measured_cifar10(
        "a3.convnet_accuracy", NUM_MEASURED_TRAIN, NUM_MEASURED_VAL)
    X, mean, std = preprocess(images)
    X_val, _, _ = preprocess(val_images, mean, std)
    hyper = StudentKwargs("convnet_hyperparameters", ALLOWED_HYPERPARAMETERS)
    return Call([Student("three_layer_convnet_loss"), X, labels.astype(np.int64)],
                {"seed": seed}, kwargs_from=hyper,
                private={"X_val": X_val.astype(np.float64), "y_val": y_val})


def _param_problem(params, image_shape):
    """Why ``params`` is not a usable three-layer network, or ''."""
    from ..compare import describe
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        return (f"train_convnet returned {describe(params)}; expected a dict with the keys "
                + ", ".join(PARAM_NAMES))
    for name in PARAM_NAMES:
        value = params[name]
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            return f"params[{name!r}] is {describe(value)}; expected a float array"
        if not np.all(np.isfinite(value)):
            return f"params[{name!r}] {NAN_AFTER_TRAINING}"
    W1, W2, W3 = params["W1"], params["W2"], params["W3"]
    C, H, W = image_shape
    ok = (W1.ndim == 4 and W1.shape[1] == C and W1.shape[2] == W1.shape[3]
          and W1.shape[2] % 2 == 1 and params["b1"].shape == W1.shape[:1]
          and W2.ndim == 2 and W2.shape[0] == W1.shape[0] * (H // 2) * (W // 2)
          and params["b2"].shape == W2.shape[1:] and W3.ndim == 2
          and W3.shape == (W2.shape[1], 10) and params["b3"].shape == (10,))
    if not ok:
        shapes = ", ".join(f"{k} {params[k].shape}" for k in PARAM_NAMES)
        return (f"the parameter shapes do not form the three-layer network on {C}x{H}x{W} "
                f"images with odd square filters and 10 classes: {shapes}")
    # the judge runs this network on the validation images here, in the grading
    # process: only sizes the allowed hyperparameters can give
    sizes = {"num_filters": W1.shape[0], "filter_size": W1.shape[2], "hidden_dim": W2.shape[1]}
    for key, size in sizes.items():
        low, high = ALLOWED_HYPERPARAMETERS[key]
        if not low <= size <= high:
            return (f"the network has {key} = {size}; the allowed range is {low} to {high} "
                    "(see convnet_hyperparameters)")
    return ""


def _accuracy_judge(params, call, ctx):
    X_val, y_val = call.private["X_val"], call.private["y_val"]
    problem = _param_problem(params, X_val.shape[1:])
    if problem:
        return False, problem
    scores = convnet_reference({k: v.astype(np.float64) for k, v in params.items()}, X_val)
    return accuracy_verdict(scores, y_val, ACCURACY_RAMP)


_MEASURED = Item(
    "a3.convnet_accuracy", "train_convnet", "three-layer convnet on CIFAR-10 (measured)",
    (Case("cifar", f"{NUM_MEASURED_TRAIN} CIFAR-10 training images with your "
          "convnet_hyperparameters()", _measured_case),),
    (Check("validation accuracy", 3, "", kind="custom", judge=_accuracy_judge),),
    depends=("a3.three_layer_convnet_loss",), time_limit=60)


ASSIGNMENT = Assignment(
    id="a3_convnets",
    title="A3 (convolutional networks)",
    notebook="a3_convnets",
    allowed_modules=("course_lib.data", "course_lib.gradcheck", *FAST_LAYERS),
    # the naive layers and spatial batchnorm are graded where the fast layers
    # cannot be called (importing them is harmless; calling them raises)
    groups=(ImportGroup("own_layers", ("course_lib.data",),
                        tuple(item.name for item in (*LAYER_ITEMS, *NORM_ITEMS))),
            ImportGroup("network", ("course_lib.data", *FAST_LAYERS))),
    reference_for={**LAYER_REFERENCES, **NORM_REFERENCES,
                   "three_layer_convnet_loss": convnet_reference},
    items=(
        *LAYER_ITEMS,
        *NORM_ITEMS,
        Item("a3.three_layer_convnet_loss", "three_layer_convnet_loss",
             "three_layer_convnet_loss", _convnet_cases(), _CONVNET_CHECKS,
             reference=convnet_reference, variants=_CONVNET_VARIANTS),
        _MEASURED,
    ),
)
