"""Check specs of assignment A1: k-nearest neighbours and linear classifiers.

Every item calls one function the student writes in
``solutions/a1_knn_linear/a1_knn_linear.ipynb`` on fresh inputs and
compares each output with ``course_lib``'s reference. The kNN items live in
:mod:`.a1_knn`; here are the linear classifiers, the training loop, the
two-layer network and the measured item. Shapes: N samples, D features,
C classes, H hidden units.
"""
import numpy as np

from course_lib import layers, losses
from course_lib.classifiers import (LinearClassifier, softmax_loss_vectorized,
                                    svm_loss_vectorized)

from .a1_knn import KNN_ITEMS, no_loops_check
from ..compare import AccuracyRamp, accuracy_verdict
from ..runner import quadratic_loss
from ..spec import (Assignment, Call, Case, Check, Item, Pixels, Probe, Student,
                   StudentKwargs, Variant)

__all__ = ["ASSIGNMENT", "ACCURACY_RAMP", "NUM_MEASURED_TRAIN", "NUM_MEASURED_VAL",
           "HALF_REG_LOSS", "HALF_REG_GRAD", "NAN_AFTER_TRAINING"]

#: the measured item's partial credit: none at or below ``floor``, all from
#: ``full`` (2,000 training images; set from a population of reasonable
#: hyperparameters, see bench/measured_items.py and the grading README)
ACCURACY_RAMP = AccuracyRamp(floor=0.16, full=0.26)
NUM_MEASURED_TRAIN, NUM_MEASURED_VAL = 2000, 1000


# ---- linear losses --------------------------------------------------------

def _loss_variant(loss_fn, reg_loss=1.0, reg_grad=2.0, scale=None):
    """A loss with the regularization weighted differently, or the data
    term divided by something other than N."""
    def variant(W, X, y, reg):
        loss, dW = loss_fn(W, X, y, 0.0)
        if scale is not None:
            factor = scale(X, W)
            loss, dW = loss * factor, dW * factor
        return loss + reg_loss * reg * float(np.sum(W * W)), dW + reg_grad * reg * W
    return variant


def _svm_counting_correct(W, X, y, reg):
    loss, dW = svm_loss_vectorized(W, X, y, reg)
    return loss + 1.0, dW  # the correct class's margin is always 1; its gradient cancels


def _svm_margin_ge(W, X, y, reg):
    N = len(X)
    scores = X @ W
    margins = scores - scores[np.arange(N), y][:, None] + 1
    margins[np.arange(N), y] = -1
    mask = (margins >= 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    loss = np.maximum(margins, 0).sum() / N + reg * np.sum(W * W)
    return float(loss), X.T @ mask / N + 2 * reg * W


# The course regularizes with reg * sum(W**2) (gradient 2 * reg * W) everywhere;
# CS231n's networks (and some years' linear classifiers) use half of it.
HALF_REG_LOSS = ("The regularization term is reg * sum(W**2) in this course; yours is "
              "0.5 * reg * sum(W**2) (CS231n's convention for networks): drop the 0.5 "
              "(the gradient is then 2 * reg * W).")
HALF_REG_GRAD = ("The gradient of reg * sum(W**2) is 2 * reg * W; yours adds reg * W (the "
              "gradient of 0.5 * reg * sum(W**2), CS231n's convention for networks).")
#: why trained weights hold NaN or inf, for the measured items that train with
#: the student's own update rules (A2, A3)
NAN_AFTER_TRAINING = ("contains NaN or inf after training. Usual causes: an update rule "
                      "that divides by zero (Adam's bias correction 1 - beta**t needs t >= 1, "
                      "so increase t before using it; eps belongs outside the square root), "
                      "a log of 0 in the loss, or a learning rate so large that the weights "
                      "overflow")


def _common_loss_variants(loss_fn):
    # more specific hints first: the first variant a result matches is named
    return (
        Variant("The regularization term is missing from dW: add 2 * reg * W.",
                _loss_variant(loss_fn, 1.0, 0.0), checks=("dW",)),
        Variant(HALF_REG_LOSS, _loss_variant(loss_fn, 0.5, 1.0), checks=("loss",)),
        Variant(HALF_REG_GRAD, _loss_variant(loss_fn, 1.0, 1.0), checks=("dW",)),
        Variant("It ignores regularization: add reg * sum(W * W) to the loss and "
                "2 * reg * W to dW.", _loss_variant(loss_fn, 0.0, 0.0)),
        Variant("The data term is a sum over samples: divide it by N to get the mean.",
                _loss_variant(loss_fn, scale=lambda X, W: len(X))),
        Variant("The data loss is divided by C (the number of classes); average over the "
                "N samples instead.", _loss_variant(loss_fn, scale=lambda X, W: len(X) / W.shape[1]),
                checks=("loss",)),
        Variant("np.mean over the (N, C) array divides by N * C: the loss is the sum "
                "over classes, averaged over the N samples only.",
                _loss_variant(loss_fn, scale=lambda X, W: 1.0 / W.shape[1])),
    )


# A realistic size: where the analytic gradient takes milliseconds, centred
# differences need 2 * D * C = 61,460 loss evaluations and overrun the item's
# CPU-time limit many times over (see the grading README's security model).
_SIZE_TEXT = "a realistic size (N=200, D=3073, C=10, reg=1e3)"


def _size_case(rng, ctx):
    X = np.hstack([rng.normal(0, 60, (200, 3072)), np.ones((200, 1))])
    return Call([rng.normal(0, 1e-4, (3073, 10)), X, rng.integers(0, 10, 200), 1e3])


def _svm_cases():
    def random(rng, ctx):
        return Call([rng.normal(0, 0.5, (20, 6)), rng.normal(0, 1, (30, 20)),
                     rng.integers(0, 6, 30), 0.3])

    def margin_zero(rng, ctx):
        while True:  # integer scores make some margins exactly 0
            W = rng.integers(-1, 2, (5, 4)).astype(float)
            X = rng.integers(-2, 3, (12, 5)).astype(float)
            y = rng.integers(0, 4, 12)
            scores = X @ W
            margins = scores - scores[np.arange(12), y][:, None] + 1
            margins[np.arange(12), y] = 1
            if np.count_nonzero(margins == 0) >= 2:
                return Call([W, X, y, 0.25])

    def one(rng, ctx):
        return Call([rng.normal(0, 0.5, (9, 5)), rng.normal(0, 1, (1, 9)),
                     rng.integers(0, 5, 1), 0.1])

    return (Case("random", "random W, X, y with reg = 0.3 (N=30, D=20, C=6)", random),
            Case("margin_zero", "margins exactly equal to 0 (they do not count)", margin_zero),
            Case("batch_1", "a single sample (N=1)", one),
            Case("size", _SIZE_TEXT, _size_case))


def _softmax_cases():
    def random(rng, ctx):
        return Call([rng.normal(0, 0.5, (20, 6)), rng.normal(0, 1, (30, 20)),
                     rng.integers(0, 6, 30), 0.2])

    def large(rng, ctx):
        # a bias column of ones and a bias row near 1000: every score is about
        # 1000 (np.exp overflows), while the differences between scores stay small
        X = np.hstack([rng.normal(0, 1, (10, 7)), np.ones((10, 1))])
        W = np.vstack([rng.normal(0, 1, (7, 5)), 1000 + rng.normal(0, 1, (1, 5))])
        return Call([W, X, rng.integers(0, 5, 10), 0.0])

    def mixed(rng, ctx):
        # the bias column is +1 in half the rows and -1 in the others: scores near
        # +1000 in some rows and -1000 in the rest. Subtracting the maximum of the
        # whole array (not each row's) leaves exp(-2000) = 0 in the low rows.
        sign = np.repeat([1.0, -1.0], 6)
        X = np.hstack([rng.normal(0, 1, (12, 7)), sign[rng.permutation(12)][:, None]])
        W = np.vstack([rng.normal(0, 1, (7, 5)), 1000 + rng.normal(0, 1, (1, 5))])
        return Call([W, X, rng.integers(0, 5, 12), 0.0])

    def one(rng, ctx):
        return Call([rng.normal(0, 0.5, (9, 5)), rng.normal(0, 1, (1, 9)),
                     rng.integers(0, 5, 1), 0.1])

    return (Case("random", "random W, X, y with reg = 0.2 (N=30, D=20, C=6)", random),
            Case("large_scores", "scores around 1000 (np.exp overflows unless you "
                 "subtract each row's maximum score first)", large),
            Case("mixed_scales", "scores around +1000 in some rows and -1000 in others "
                 "(subtract each row's own maximum, not the largest score of all rows)",
                 mixed),
            Case("batch_1", "a single sample (N=1)", one),
            Case("size", _SIZE_TEXT, _size_case))


_OVERFLOW_HINT = ("NaN or inf with large scores: np.exp overflows (or a whole row underflows "
                  "to 0). Subtract each row's maximum score first: "
                  "scores - scores.max(axis=1, keepdims=True).")


def _loss_item(func, reference, cases, variants, vectorized):
    hint = _OVERFLOW_HINT if func.startswith("softmax") else ""
    checks = [Check("loss", 2, "0", kind="scalar", nonfinite_hint=hint),
              Check("dW", 2, "1", nonfinite_hint=hint)]
    if vectorized:
        checks.append(no_loops_check(("loss", "dW")))
    return Item(f"a1.{func}", func, func, cases, tuple(checks), reference=reference,
                variants=variants)


# ---- training loop ----------------------------------------------------------

class _ProbeClassifier(LinearClassifier):
    _loss_function = staticmethod(quadratic_loss)


def _train_reference(loss_fn, X, y, lr=1e-7, reg=2.5e4, num_iters=1500, batch_size=200,
                     seed=0, _without_replacement=False, _sign=1.0, _use_lr=True):
    if loss_fn is quadratic_loss and not (_without_replacement or _sign != 1.0 or not _use_lr):
        model = _ProbeClassifier(learning_rate=lr, reg=reg, num_iters=num_iters,
                                 batch_size=batch_size, seed=seed).fit(X, y)
        return model.W_, model.loss_history_
    rng = np.random.default_rng(seed)
    W = 1e-3 * rng.standard_normal((X.shape[1], int(y.max()) + 1))
    history = np.empty(num_iters)
    for it in range(num_iters):
        if _without_replacement:
            batch = rng.choice(len(X), batch_size, replace=False)
        else:
            batch = rng.integers(len(X), size=batch_size)
        history[it], dW = loss_fn(W, X[batch], y[batch], reg)
        W = W - _sign * (lr if _use_lr else 1.0) * dW
    return W, history


def _train_cases():
    def make(rng, batch_size, num_iters):
        X = rng.normal(0, 1, (50, 6))
        y = rng.permutation(np.arange(50) % 4)
        return Call([Probe("quadratic_loss"), X, y],
                    {"lr": 0.1, "reg": 0.01, "num_iters": num_iters,
                     "batch_size": batch_size, "seed": int(rng.integers(1 << 30))})

    return (Case("random", "a smooth test loss, batch_size=10, 30 steps",
                 lambda rng, ctx: make(rng, 10, 30)),
            Case("batch_1", "batch_size=1, 20 steps", lambda rng, ctx: make(rng, 1, 20)))


_TRAIN_VARIANTS = (
    Variant("Your minibatches are drawn without replacement; draw them with "
            "rng.choice(num_train, batch_size) (with replacement), as the notebook says.",
            lambda *a, **k: _train_reference(*a, **k, _without_replacement=True)),
    Variant("W moves up the gradient: the step is W -= lr * dW.",
            lambda *a, **k: _train_reference(*a, **k, _sign=-1.0)),
    Variant("The step ignores the learning rate: W -= lr * dW.",
            lambda *a, **k: _train_reference(*a, **k, _use_lr=False)),
)


# ---- two-layer network ------------------------------------------------------

def _two_layer_reference(params, X, y=None, reg=0.0):
    h, cache1 = layers.affine_forward(X, params["W1"], params["b1"])
    a, cache_relu = layers.relu_forward(h)
    scores, cache2 = layers.affine_forward(a, params["W2"], params["b2"])
    if y is None:
        return scores
    loss, dscores = losses.softmax_loss(scores, y)
    da, dW2, db2 = layers.affine_backward(dscores, cache2)
    dh = layers.relu_backward(da, cache_relu)
    _, dW1, db1 = layers.affine_backward(dh, cache1)
    W1, W2 = params["W1"], params["W2"]
    loss += reg * (float(np.sum(W1 * W1)) + float(np.sum(W2 * W2)))
    return loss, {"W1": dW1 + 2 * reg * W1, "b1": db1, "W2": dW2 + 2 * reg * W2, "b2": db2}


def _two_layer_variant(reg_loss=1.0, reg_grad=2.0, relu_ge=False, reg_bias=False):
    def variant(params, X, y=None, reg=0.0):
        W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
        h = X @ W1 + b1
        a = np.maximum(h, 0)
        scores = a @ W2 + b2
        if y is None:
            return scores
        loss, dscores = losses.softmax_loss(scores, y)
        da = dscores @ W2.T
        dh = da * ((h >= 0) if relu_ge else (h > 0))
        grads = {"W1": X.T @ dh + reg_grad * reg * W1, "b1": dh.sum(axis=0),
                 "W2": a.T @ dscores + reg_grad * reg * W2, "b2": dscores.sum(axis=0)}
        loss += reg_loss * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        if reg_bias:
            loss += reg * (np.sum(b1 * b1) + np.sum(b2 * b2))
            grads["b1"] = grads["b1"] + 2 * reg * b1
            grads["b2"] = grads["b2"] + 2 * reg * b2
        return float(loss), grads
    return variant


def _two_layer_cases():
    def params(rng, D, H, C, integer=False):
        if integer:
            return {"W1": rng.integers(-1, 2, (D, H)).astype(float),
                    "b1": rng.integers(-1, 2, H).astype(float),
                    "W2": rng.normal(0, 0.5, (H, C)), "b2": rng.normal(0, 0.5, C)}
        return {"W1": rng.normal(0, 0.5, (D, H)), "b1": rng.normal(0, 0.5, H),
                "W2": rng.normal(0, 0.5, (H, C)), "b2": rng.normal(0, 0.5, C)}

    def scores(rng, ctx):
        return Call([params(rng, 6, 7, 4), rng.normal(0, 1, (5, 6))])

    def random(rng, ctx):
        return Call([params(rng, 6, 7, 4), rng.normal(0, 1, (5, 6)), rng.integers(0, 4, 5), 0.05])

    def relu_zero(rng, ctx):
        return Call([params(rng, 5, 8, 3, integer=True), rng.integers(-2, 3, (6, 5)).astype(float),
                     rng.integers(0, 3, 6), 0.0])

    def one(rng, ctx):
        return Call([params(rng, 4, 5, 3), rng.normal(0, 1, (1, 4)), rng.integers(0, 3, 1), 0.1])

    def mixed(rng, ctx):
        # Hidden unit 0 adds the same large score to every class of a bright
        # row (W2's first row constant, the other rows scaled down so a row's
        # scores stay within a few units of each other): scores in the
        # thousands in some rows, near 0 in others. Each row's own maximum
        # keeps every exp finite; the largest score of all rows underflows exp
        # to 0 in the dim rows 6 and 7. Rows 1, 3, 5 are -rows 0, 2, 4, so
        # unit 0 passes one row of each pair (checked on 1000 seeds: always).
        p = params(rng, 6, 7, 4)
        X = rng.normal(0, 1, (8, 6))
        X[[0, 2, 4]] *= 1e5
        X[[1, 3, 5]] = -X[[0, 2, 4]]
        p["W2"][1:] *= 1e-6
        p["W2"][0] = 1.0
        return Call([p, X, rng.integers(0, 4, 8), 0.0])

    def size(rng, ctx):  # centred differences would need 2 * 307,200 evaluations for dW1
        p = {"W1": rng.normal(0, 1e-3, (3072, 100)), "b1": rng.normal(0, 0.1, 100),
             "W2": rng.normal(0, 0.1, (100, 10)), "b2": rng.normal(0, 0.1, 10)}
        return Call([p, rng.normal(0, 60, (50, 3072)), rng.integers(0, 10, 50), 0.05])

    return (Case("scores", "y = None: return the scores (N=5, D=6, H=7, C=4)", scores),
            Case("random", "random parameters and data with reg = 0.05", random),
            Case("relu_zero", "hidden units whose input is exactly 0 (no gradient passes)",
                 relu_zero),
            Case("batch_1", "a single sample (N=1) with reg = 0.1", one),
            Case("mixed_scales", "some samples' scores in the thousands and the others' near "
                 "0, each row's scores close together (subtract each row's own maximum "
                 "score, not the largest of all rows)", mixed),
            Case("size", "a realistic size (N=50, D=3072, H=100, C=10)", size))


_LOSS_CASES = ("random", "relu_zero", "batch_1", "mixed_scales", "size")
_TWO_LAYER_CHECKS = (
    Check("scores", 1, "", cases=("scores",)),
    Check("loss", 2, "0", kind="scalar", cases=_LOSS_CASES),
    Check("dW1", 1, "1.W1", cases=_LOSS_CASES), Check("db1", 1, "1.b1", cases=_LOSS_CASES),
    Check("dW2", 1, "1.W2", cases=_LOSS_CASES), Check("db2", 1, "1.b2", cases=_LOSS_CASES),
)
_TWO_LAYER_VARIANTS = (  # more specific hints first
    Variant("The ReLU passes gradient where its input is exactly 0: use a mask of h > 0, "
            "not h >= 0.", _two_layer_variant(relu_ge=True)),
    Variant("The regularization term is missing from the weight gradients: add "
            "2 * reg * W1 and 2 * reg * W2.", _two_layer_variant(1.0, 0.0),
            checks=("dW1", "dW2")),
    Variant(HALF_REG_LOSS, _two_layer_variant(0.5, 1.0), checks=("loss",)),
    Variant(HALF_REG_GRAD, _two_layer_variant(1.0, 1.0), checks=("dW1", "dW2")),
    Variant("It ignores regularization: add reg * (sum(W1**2) + sum(W2**2)) to the loss "
            "and 2 * reg * W to each weight gradient.", _two_layer_variant(0.0, 0.0)),
    Variant("This assignment regularizes the weights W1 and W2 only, not the biases.",
            _two_layer_variant(reg_bias=True)),
)


# ---- measured result: softmax on CIFAR-10 -----------------------------------

def _measured_case(rng, ctx):
    # not the run's rng: the result must not depend on the seed of a regrade
    images, labels, val_images, y_val, seed = ctx.measured_cifar10(
        "a1.softmax_accuracy", NUM_MEASURED_TRAIN, NUM_MEASURED_VAL)
    mean = images.reshape(len(images), -1).mean(axis=0)
    hyper = StudentKwargs("softmax_hyperparameters",
                          {"lr": (0.0, 1.0), "reg": (0.0, 1e6), "num_iters": (1, 1500),
                           "batch_size": (1, 1000)}, required=("lr", "reg"))
    return Call([Student("softmax_loss_vectorized"), Pixels(images, mean),
                 labels.astype(np.int64)],
                {"seed": seed}, kwargs_from=hyper,
                private={"X_val": Pixels(val_images, mean).value(), "y_val": y_val})


def _accuracy_judge(W, call, ctx):
    X_val, y_val = call.private["X_val"], call.private["y_val"]
    expected_shape = (X_val.shape[1], 10)
    if not isinstance(W, np.ndarray) or W.shape != expected_shape or W.dtype.kind != "f":
        from ..compare import describe
        return False, (f"the W your train_linear_classifier returned is {describe(W)}; "
                       f"expected a float array of shape {expected_shape}")
    if not np.all(np.isfinite(W)):
        return False, ("W contains NaN or inf after training: the learning rate is too large, "
                       "or the loss divides by zero or takes the log of 0 somewhere")
    return accuracy_verdict(X_val @ W, y_val, ACCURACY_RAMP)


_MEASURED = Item(
    "a1.softmax_accuracy", "train_linear_classifier", "softmax on CIFAR-10 (measured)",
    (Case("cifar", f"{NUM_MEASURED_TRAIN} CIFAR-10 training images with your "
          "softmax_hyperparameters()", _measured_case),),
    (Check("validation accuracy", 3, "0", kind="custom", judge=_accuracy_judge),),
    depends=("a1.softmax_loss_vectorized", "a1.train_linear_classifier"), time_limit=120)


ASSIGNMENT = Assignment(
    id="a1_knn_linear",
    title="A1 (kNN and linear classifiers)",
    notebook="a1_knn_linear",
    reference_for={"softmax_loss_vectorized": softmax_loss_vectorized},
    items=(
        *KNN_ITEMS,
        _loss_item("svm_loss_naive", svm_loss_vectorized, _svm_cases(),
                   _common_loss_variants(svm_loss_vectorized) + (
                       Variant("The loss counts the correct class too (its margin is always "
                               "1): skip j == y_i.", _svm_counting_correct),
                       Variant("Margins of exactly 0 count as violated in your dW; only "
                               "margins > 0 contribute.", _svm_margin_ge)), False),
        _loss_item("svm_loss_vectorized", svm_loss_vectorized, _svm_cases(),
                   _common_loss_variants(svm_loss_vectorized) + (
                       Variant("The loss counts the correct class too (its margin is always "
                               "1): set margins[arange(N), y] = 0.", _svm_counting_correct),
                       Variant("Margins of exactly 0 count as violated in your dW; only "
                               "margins > 0 contribute.", _svm_margin_ge)), True),
        _loss_item("softmax_loss_naive", softmax_loss_vectorized, _softmax_cases(),
                   _common_loss_variants(softmax_loss_vectorized), False),
        _loss_item("softmax_loss_vectorized", softmax_loss_vectorized, _softmax_cases(),
                   _common_loss_variants(softmax_loss_vectorized), True),
        Item("a1.train_linear_classifier", "train_linear_classifier",
             "train_linear_classifier", _train_cases(),
             (Check("W", 2, "0"), Check("loss_history", 1, "1")),
             reference=_train_reference, variants=_TRAIN_VARIANTS),
        Item("a1.two_layer_loss", "two_layer_loss", "two_layer_loss", _two_layer_cases(),
             _TWO_LAYER_CHECKS, reference=_two_layer_reference, variants=_TWO_LAYER_VARIANTS),
        _MEASURED,
    ),
)
