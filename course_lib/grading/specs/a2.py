"""Check specs of assignment A2: fully connected networks.

Every item calls one function the student writes in
``solutions/a2_fc_nets/a2_fc_nets.ipynb`` on fresh inputs and compares
each output with ``course_lib``'s reference. The layer items live in
:mod:`.a2_layers`; here are the update rules, the network of any depth and
the measured item. Shapes: N examples, D features, H hidden units, C classes.
"""
import numpy as np

from course_lib import losses, optim
from course_lib.models import FullyConnectedNet

from .a1 import HALF_REG_GRAD, HALF_REG_LOSS, NAN_AFTER_TRAINING
from .a2_layers import LAYER_ITEMS, LAYER_REFERENCES
from ..compare import AccuracyRamp, accuracy_verdict, compare, describe
from ..spec import Assignment, Call, Case, Check, Item, Pixels, StudentKwargs, Variant

__all__ = ["ASSIGNMENT", "ACCURACY_RAMP", "NUM_MEASURED_TRAIN", "NUM_MEASURED_VAL",
           "downsample", "fc_net_reference"]

#: the measured item's partial credit (4,000 training images at 16x16): none at
#: or below ``floor``, all from ``full`` (see bench/measured_items.py)
ACCURACY_RAMP = AccuracyRamp(floor=0.20, full=0.33)
NUM_MEASURED_TRAIN, NUM_MEASURED_VAL = 4000, 1000


def downsample(images):
    """(N, 32, 32, 3) uint8 images -> (N, 16, 16, 3) uint8 means of 2x2 blocks.
    A quarter of the features keeps the measured training run to seconds."""
    images = np.asarray(images)
    blocks = images.reshape(len(images), 16, 2, 16, 2, 3).mean(axis=(2, 4))
    return np.rint(blocks).astype(np.uint8)


# ---- update rules -----------------------------------------------------------

def _update_variant(rule, **bug):
    """An update rule with one known bug, returning ``(next_w, state)``."""
    def variant(w, dw, state=None):
        with np.errstate(all="ignore"):  # old_t divides by 1 - beta**0 = 0
            return _update(w, dw, dict(state or {}))

    def _update(w, dw, state):
        if rule == "sgd_momentum":
            lr, mu = state.get("lr", 1e-2), state.get("momentum", 0.9)
            v_old = state.get("velocity", np.zeros_like(w))
            if bug.get("sign"):
                v = mu * v_old + lr * dw
                return w + v, {**state, "velocity": v}
            v = mu * v_old - lr * dw
            step = v_old if bug.get("old_velocity") else v
            return w + step, {**state, "velocity": v}
        if rule == "rmsprop":
            lr, rho, eps = state.get("lr", 1e-2), state.get("decay_rate", 0.99), state.get("eps", 1e-8)
            cache = state.get("cache", np.zeros_like(w))
            cache = cache + dw * dw if bug.get("adagrad") else rho * cache + (1 - rho) * dw * dw
            if bug.get("no_sqrt"):
                denom = cache + eps
            elif bug.get("eps_inside"):
                denom = np.sqrt(cache + eps)
            else:
                denom = np.sqrt(cache) + eps
            return w - lr * dw / denom, {**state, "cache": cache}
        lr, b1, b2, eps = (state.get("lr", 1e-3), state.get("beta1", 0.9),
                           state.get("beta2", 0.999), state.get("eps", 1e-8))
        t = state.get("t", 0) + 1
        m = b1 * state.get("m", np.zeros_like(w)) + (1 - b1) * dw
        v = b2 * state.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
        tc = t - 1 if bug.get("old_t") else t
        m_hat, v_hat = (m, v) if bug.get("no_correction") else (m / (1 - b1 ** tc),
                                                                 v / (1 - b2 ** tc))
        return w - lr * m_hat / (np.sqrt(v_hat) + eps), {**state, "m": m, "v": v, "t": t}
    return variant


def _optim_cases(rule):
    def first(rng, ctx):
        hyper = {"sgd_momentum": {"lr": 0.05, "momentum": 0.9}, "rmsprop": {"lr": 0.01,
                 "decay_rate": 0.99, "eps": 1e-8}, "adam": {"lr": 0.01, "beta1": 0.9,
                 "beta2": 0.999, "eps": 1e-8}}[rule]
        return Call([rng.normal(0, 1, (5, 4)), rng.normal(0, 1, (5, 4)), hyper])

    def later(rng, ctx):
        shape = (3, 6)
        if rule == "sgd_momentum":
            state = {"lr": 0.02, "momentum": 0.8, "velocity": rng.normal(0, 0.1, shape)}
        elif rule == "rmsprop":
            state = {"lr": 0.005, "decay_rate": 0.9, "eps": 1e-8,
                     "cache": rng.uniform(0.01, 1.0, shape)}
        else:
            state = {"lr": 0.002, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8,
                     "m": rng.normal(0, 0.3, shape), "v": rng.uniform(0.01, 1.0, shape), "t": 4}
        return Call([rng.normal(0, 1, shape), rng.normal(0, 1, shape), state])

    def zero(rng, ctx):
        dw = rng.normal(0, 1, (4, 4))
        dw[rng.random((4, 4)) < 0.4] = 0.0
        cache = np.where(dw == 0, 0.0, rng.uniform(0.1, 1.0, (4, 4)))
        return Call([rng.normal(0, 1, (4, 4)), dw, {"lr": 0.01, "decay_rate": 0.99, "eps": 1e-8,
                                                    "cache": cache}])

    def adam_zero(rng, ctx):
        dw = rng.normal(0, 1, (4, 4))
        dw[rng.random((4, 4)) < 0.4] = 0.0
        dw[0, 0] = 0.0
        return Call([rng.normal(0, 1, (4, 4)), dw, {"lr": 0.01, "beta1": 0.9,
                                                    "beta2": 0.999, "eps": 1e-8}])

    # the continued step first: its feedback names bias-correction bugs
    cases = [Case("later", "a later step with existing state (velocity, cache or m, v and t)",
                  later),
             Case("first", "the first step: the state holds only the hyperparameters", first)]
    if rule == "rmsprop":
        cases.append(Case("zero_grad", "gradient entries exactly 0 where the cache is 0 as well "
                          "(eps keeps the division finite)", zero))
    if rule == "adam":
        cases.append(Case("zero_grad", "the first step with gradient entries exactly 0, so m "
                          "and v are 0 there (eps keeps the division finite)", adam_zero))
    return tuple(cases)


_OPTIM_VARIANTS = {
    "sgd_momentum": (
        Variant("w moves up the gradient: the velocity is v = momentum * v - lr * dw and the "
                "step is w + v.", _update_variant("sgd_momentum", sign=True)),
        Variant("Update the velocity first, then move w by the NEW velocity: w + v.",
                _update_variant("sgd_momentum", old_velocity=True), checks=("next_w",)),
    ),
    "rmsprop": (
        Variant("Divide by the square root of the cache: dw / (np.sqrt(cache) + eps).",
                _update_variant("rmsprop", no_sqrt=True), checks=("next_w",)),
        Variant("eps goes outside the square root: np.sqrt(cache) + eps.",
                _update_variant("rmsprop", eps_inside=True), checks=("next_w",)),
        Variant("That is Adagrad: RMSprop's cache is a moving average, decay_rate * cache + "
                "(1 - decay_rate) * dw**2.", _update_variant("rmsprop", adagrad=True)),
    ),
    "adam": (
        Variant("Adam without bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t "
                "(t counts this step too) before the update.",
                _update_variant("adam", no_correction=True), checks=("next_w",)),
        Variant("The bias correction uses t before it was incremented: increase t first, "
                "then divide by 1 - beta**t.", _update_variant("adam", old_t=True),
                checks=("next_w",)),
    ),
}

_OPTIM_SLOTS = {"sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v")}


_ZERO_DIVISION_HINT = ("NaN where a gradient entry is 0: the step divides 0 by 0. Add eps "
                       "outside the square root: ... / (np.sqrt(cache_or_v) + eps).")


def _optim_item(rule):
    hint = _ZERO_DIVISION_HINT if rule in ("rmsprop", "adam") else ""
    checks = (Check("next_w", 2, "0", nonfinite_hint=hint),) + tuple(Check(slot, 1, f"1.{slot}")
                                              for slot in _OPTIM_SLOTS[rule])
    return Item(f"a2.{rule}", rule, rule, _optim_cases(rule), checks,
                reference=getattr(optim, rule), variants=_OPTIM_VARIANTS[rule])


# ---- a fully connected network of any depth ------------------------------------

def _num_layers(params):
    return len([k for k in params if k.startswith("W")])


def fc_net_reference(params, X, y=None, reg=0.0):
    """``fc_net_loss`` with course_lib's FullyConnectedNet: params ``W1, b1,
    ..., WL, bL``; loss = softmax loss + reg * sum of squared weights."""
    L = _num_layers(params)
    dims = [params[f"W{i}"].shape[1] for i in range(1, L)]
    model = FullyConnectedNet(dims, input_dim=params["W1"].shape[0],
                              num_classes=params[f"W{L}"].shape[1], reg=reg, dtype=np.float64)
    for i in range(1, L + 1):
        model.params[f"fc{i}.W"] = np.array(params[f"W{i}"], dtype=np.float64)
        model.params[f"fc{i}.b"] = np.array(params[f"b{i}"], dtype=np.float64)
    if y is None:
        return model.loss(X)
    loss, grads = model.loss(X, y)
    return float(loss), {f"{k[-1]}{k[2:-2]}": v for k, v in grads.items()}


def _net_variant(reg_loss=1.0, reg_grad=2.0, relu_ge=False, reg_bias=False):
    """``fc_net_loss`` with one known bug, written out layer by layer."""
    def variant(params, X, y=None, reg=0.0):
        L = _num_layers(params)
        h, inputs = X.reshape(len(X), -1), []
        for i in range(1, L):
            z = h @ params[f"W{i}"] + params[f"b{i}"]
            inputs.append((h, z))
            h = np.maximum(z, 0)
        scores = h @ params[f"W{L}"] + params[f"b{L}"]
        if y is None:
            return scores
        loss, dout = losses.softmax_loss(scores, y)
        grads = {f"W{L}": h.T @ dout, f"b{L}": dout.sum(axis=0)}
        for i in range(L - 1, 0, -1):
            h_in, z = inputs[i - 1]
            dout = (dout @ params[f"W{i + 1}"].T) * ((z >= 0) if relu_ge else (z > 0))
            grads[f"W{i}"], grads[f"b{i}"] = h_in.T @ dout, dout.sum(axis=0)
        for i in range(1, L + 1):
            W, b = params[f"W{i}"], params[f"b{i}"]
            loss += reg_loss * reg * float(np.sum(W * W))
            grads[f"W{i}"] = grads[f"W{i}"] + reg_grad * reg * W
            if reg_bias:
                loss += reg * float(np.sum(b * b))
                grads[f"b{i}"] = grads[f"b{i}"] + 2 * reg * b
        return float(loss), grads
    return variant


_NET_VARIANTS = (  # more specific hints first
    Variant("The ReLU passes gradient where its input is exactly 0: use a mask of z > 0, "
            "not z >= 0.", _net_variant(relu_ge=True)),
    Variant("The regularization term is missing from the weight gradients: add 2 * reg * W "
            "to each dW.", _net_variant(1.0, 0.0)),
    Variant(HALF_REG_LOSS, _net_variant(0.5, 1.0), checks=("loss",)),
    Variant(HALF_REG_GRAD, _net_variant(1.0, 1.0)),
    Variant("It ignores regularization: add reg * sum(W**2) over the weight matrices to "
            "the loss and 2 * reg * W to each dW.", _net_variant(0.0, 0.0)),
    Variant("This assignment regularizes the weight matrices only, not the biases.",
            _net_variant(reg_bias=True)),
)


def _grads_judge(prefix, check_name):
    """Custom check: every gradient whose name starts with ``prefix``
    (dW1, ..., dWL or db1, ..., dbL), whatever the depth of the network;
    hints from the variants that apply to ``check_name``."""
    def judge(actual, call, ctx):
        _, expected = fc_net_reference(*call.args, **call.kwargs)
        if not isinstance(actual, dict):
            return False, f"the gradients should be a dict like params; got {describe(actual)}"
        for key in sorted(k for k in expected if k.startswith(prefix)):
            if key not in actual:
                return False, f"the gradients have no key {key!r} (keys: {sorted(actual)[:10]})"
            ok, why = compare(actual[key], expected[key], "array", 1e-6, f"d{key}")
            if ok:
                continue
            for variant in _NET_VARIANTS:
                if variant.checks is not None and check_name not in variant.checks:
                    continue
                try:
                    wrong = variant.fn(*call.args, **call.kwargs)[1][key]
                except Exception:  # a variant that cannot run here never matches
                    continue
                if compare(actual[key], wrong, "array", 1e-6, key)[0]:
                    return False, f"{why}. {variant.hint}"
            return False, why
        return True, ""
    return judge


def _net_cases():
    def params(rng, dims, integer=False):
        p = {}
        for i in range(1, len(dims)):
            if integer and i == 1:
                p["W1"] = rng.integers(-1, 2, dims[:2]).astype(float)
                p["b1"] = rng.integers(-1, 2, dims[1]).astype(float)
            else:
                p[f"W{i}"] = rng.normal(0, 0.5, (dims[i - 1], dims[i]))
                p[f"b{i}"] = rng.normal(0, 0.5, dims[i])
        return p

    def make(rng, dims, N, reg, y=True, integer=False):
        X = (rng.integers(-2, 3, (N, dims[0])).astype(float) if integer
             else rng.normal(0, 1, (N, dims[0])))
        args = [params(rng, dims, integer), X]
        if y:
            args += [rng.integers(0, dims[-1], N), reg]
        return Call(args)

    return (Case("scores", "y = None: the scores of a net with two hidden layers (D=6, H=7, 5, "
                 "C=4)", lambda rng, ctx: make(rng, (6, 7, 5, 4), 5, 0.0, y=False)),
            Case("one_hidden", "one hidden layer (D=6, H=8, C=4) with reg = 0.1",
                 lambda rng, ctx: make(rng, (6, 8, 4), 5, 0.1)),
            Case("three_hidden", "three hidden layers (D=5, H=6, 4, 7, C=3) with reg = 0.05",
                 lambda rng, ctx: make(rng, (5, 6, 4, 7, 3), 7, 0.05)),
            Case("relu_zero", "hidden units whose input is exactly 0 (no gradient passes)",
                 lambda rng, ctx: make(rng, (5, 8, 6, 3), 6, 0.0, integer=True)),
            Case("batch_1", "a single example (N=1), one hidden layer, reg = 0.2",
                 lambda rng, ctx: make(rng, (4, 5, 3), 1, 0.2)),
            # centred differences would need 2 * 76,900 evaluations for dW1
            Case("size", "a realistic size (N=64, D=769, H=100, C=10) with reg = 0.05",
                 lambda rng, ctx: make(rng, (769, 100, 10), 64, 0.05)))


_LOSS_CASES = ("one_hidden", "three_hidden", "relu_zero", "batch_1", "size")
NET_ITEM = Item(
    "a2.fc_net_loss", "fc_net_loss", "fc_net_loss", _net_cases(),
    (Check("scores", 1, "", cases=("scores",)),
     Check("loss", 2, "0", kind="scalar", cases=_LOSS_CASES),
     Check("dW (every layer)", 2, "1", kind="custom", judge=_grads_judge("W", "dW (every layer)"),
           cases=_LOSS_CASES),
     Check("db (every layer)", 1, "1", kind="custom", judge=_grads_judge("b", "db (every layer)"),
           cases=_LOSS_CASES)),
    reference=fc_net_reference, variants=_NET_VARIANTS,
    depends=("a2.affine_forward", "a2.affine_backward", "a2.relu_forward", "a2.relu_backward"))


# ---- measured result: a small network on CIFAR-10 ---------------------------------

def _measured_case(rng, ctx):
    # not the run's rng: the result must not depend on the seed of a regrade
    train_images, labels, val_images, y_val, seed = ctx.measured_cifar10(
        "a2.fc_accuracy", NUM_MEASURED_TRAIN, NUM_MEASURED_VAL)
    images = downsample(train_images)
    mean = images.reshape(len(images), -1).mean(axis=0)
    hyper = StudentKwargs("fc_hyperparameters",
                          {"hidden_size": (1, 500), "num_hidden_layers": (1, 3), "lr": (0.0, 1.0),
                           "reg": (0.0, 100.0), "num_iters": (1, 1000), "batch_size": (1, 500),
                           "weight_scale": (0.0, 1.0)}, required=("lr",))
    return Call([Pixels(images, mean), labels.astype(np.int64)],
                {"seed": seed}, kwargs_from=hyper,
                private={"X_val": Pixels(downsample(val_images), mean).value(),
                         "y_val": y_val})


def _accuracy_judge(params, call, ctx):
    X_val, y_val = call.private["X_val"], call.private["y_val"]
    if not isinstance(params, dict) or "W1" not in params:
        return False, (f"train_fc_net returned {describe(params)}; expected the params dict "
                       "(W1, b1, ..., WL, bL)")
    L = _num_layers(params)
    h = X_val
    for i in range(1, L + 1):
        W, b = params.get(f"W{i}"), params.get(f"b{i}")
        ok = (isinstance(W, np.ndarray) and isinstance(b, np.ndarray) and W.ndim == 2
              and W.shape[0] == h.shape[1] and b.shape == (W.shape[1],)
              and W.dtype.kind == "f" and b.dtype.kind == "f")
        if not ok:
            return False, (f"W{i} is {describe(W)} and b{i} is {describe(b)}; they do not fit "
                           f"inputs with {h.shape[1]} features")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            return False, f"W{i} or b{i} {NAN_AFTER_TRAINING}"
        h = h @ W + b
        if i < L:
            h = np.maximum(h, 0)
    if h.shape[1] != 10:
        return False, f"the network has {h.shape[1]} outputs; CIFAR-10 has 10 classes"
    return accuracy_verdict(h, y_val, ACCURACY_RAMP)


_MEASURED = Item(
    "a2.fc_accuracy", "train_fc_net", "a network on CIFAR-10 (measured)",
    (Case("cifar", f"{NUM_MEASURED_TRAIN} CIFAR-10 training images (16x16) with your "
          "fc_hyperparameters()", _measured_case),),
    (Check("validation accuracy", 3, "", kind="custom", judge=_accuracy_judge),),
    depends=("a2.fc_net_loss", "a2.adam"), time_limit=120)


ASSIGNMENT = Assignment(
    id="a2_fc_nets",
    title="A2 (fully connected networks)",
    notebook="a2_fc_nets",
    reference_for=dict(LAYER_REFERENCES),
    items=(
        *LAYER_ITEMS[:4],
        NET_ITEM,
        _optim_item("sgd_momentum"), _optim_item("rmsprop"), _optim_item("adam"),
        *LAYER_ITEMS[4:],
        _MEASURED,
    ),
)
