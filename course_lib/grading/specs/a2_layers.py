"""A2 check specs, part 1: layers as forward/backward pairs.

Affine, ReLU, batch normalization (two backward passes) and inverted
dropout. A backward item calls the student's backward pass on the cache
of the student's own forward pass (:class:`~.spec.StudentCall`), with
fresh inputs; the reference does the same with ``course_lib``. Shapes: N
batch, D features (``d1 * ... * dk`` for an (N, d1, ..., dk) input), M
outputs. ``LAYER_ITEMS`` are the items; :mod:`course_lib.grading.specs.a2`
assembles the assignment.
"""
import warnings

import numpy as np

from course_lib import layers, normalization
from course_lib.normalization import BatchNormStats

from ..spec import Call, Case, Check, Item, StudentCall, Variant

__all__ = ["LAYER_ITEMS", "LAYER_REFERENCES", "batchnorm_forward_reference"]


# ---- affine ---------------------------------------------------------------

def _affine_inputs(rng, x_shape, num_out):
    D = int(np.prod(x_shape[1:]))
    return rng.normal(0, 1, x_shape), rng.normal(0, 0.5, (D, num_out)), rng.normal(0, 0.5, num_out)


_AFFINE_SHAPES = (("random", "a random batch (N=6, D=5, M=4)", (6, 5), 4),
                  ("images", "inputs of shape (N, d1, d2) = (4, 3, 5) that must be flattened to "
                   "(N, 15)", (4, 3, 5), 7),
                  ("batch_1", "a single example of shape (1, 2, 3, 2)", (1, 2, 3, 2), 3),
                  # centred differences would need 2 * 196,608 forward passes for dx
                  ("size", "a realistic size: (64, 3, 32, 32) images, M=100", (64, 3, 32, 32), 100))


def _affine_forward_cases():
    return tuple(Case(name, text, lambda rng, ctx, s=shape, m=m: Call(list(_affine_inputs(rng, s, m))))
                 for name, text, shape, m in _AFFINE_SHAPES)


def _affine_backward_cases():
    def make(rng, shape, m):
        x, w, b = _affine_inputs(rng, shape, m)
        return Call([rng.normal(0, 1, (shape[0], m)), StudentCall("affine_forward", (x, w, b),
                                                                  pick="1")])
    return tuple(Case(name, text, lambda rng, ctx, s=shape, m=m: make(rng, s, m))
                 for name, text, shape, m in _AFFINE_SHAPES)


def _affine_backward_variant(flat_dx=False, dw_t=False, db_mean=False):
    def variant(dout, cache):
        x, w, _ = cache
        rows = x.reshape(x.shape[0], -1)
        dx = dout @ w.T
        dw = (dout.T @ rows) if dw_t else rows.T @ dout
        db = dout.mean(axis=0) if db_mean else dout.sum(axis=0)
        return (dx if flat_dx else dx.reshape(x.shape)), dw, db
    return variant


AFFINE_ITEMS = (
    Item("a2.affine_forward", "affine_forward", "affine_forward", _affine_forward_cases(),
         (Check("out", 2, "0"),), reference=layers.affine_forward,
         variants=(Variant("The bias b is missing: out = x w + b.",
                           lambda x, w, b: (x.reshape(len(x), -1) @ w, None)),)),
    Item("a2.affine_backward", "affine_backward", "affine_backward", _affine_backward_cases(),
         (Check("dx", 1, "0"), Check("dw", 1, "1"), Check("db", 1, "2")),
         reference=layers.affine_backward, depends=("a2.affine_forward",),
         variants=(Variant("dx must have the shape of x, (N, d1, ..., dk): reshape dout @ w.T "
                           "with x.shape.", _affine_backward_variant(flat_dx=True), checks=("dx",)),
                   Variant("dw is transposed: it is x_rows.T @ dout, shape (D, M).",
                           _affine_backward_variant(dw_t=True), checks=("dw",)),
                   Variant("db is the sum of dout over the batch, not its mean.",
                           _affine_backward_variant(db_mean=True), checks=("db",)))),
)


# ---- ReLU -----------------------------------------------------------------

def _relu_input(rng, kind):
    if kind == "random":
        return rng.normal(0, 1, (5, 7))
    if kind == "zeros":  # entries exactly at the kink x = 0
        x = rng.integers(-2, 3, (6, 4)).astype(float)
        x.flat[rng.choice(x.size, 6, replace=False)] = 0.0
        return x
    return rng.normal(0, 1, (2, 3, 4))


def _relu_backward_call(rng, kind):
    x = _relu_input(rng, kind)
    return Call([rng.normal(0, 1, x.shape), StudentCall("relu_forward", (x,), pick="1")])


_RELU_CASES = (("random", "a random (5, 7) array"),
               ("zeros", "inputs with entries exactly 0 (the kink: no gradient passes there)"),
               ("three_d", "an input of shape (2, 3, 4)"))

RELU_ITEMS = (
    Item("a2.relu_forward", "relu_forward", "relu_forward",
         tuple(Case(n, t, lambda rng, ctx, n=n: Call([_relu_input(rng, n)])) for n, t in _RELU_CASES),
         (Check("out", 1, "0"),), reference=layers.relu_forward),
    Item("a2.relu_backward", "relu_backward", "relu_backward",
         tuple(Case(n, t, lambda rng, ctx, n=n: _relu_backward_call(rng, n)) for n, t in _RELU_CASES),
         (Check("dx", 1, ""),), reference=layers.relu_backward, depends=("a2.relu_forward",),
         variants=(Variant("Your ReLU passes the gradient where x is exactly 0: use the mask "
                           "x > 0, not x >= 0 (the gradient at the kink is taken as 0).",
                           lambda dout, x: dout * (x >= 0)),)),
)


# ---- batch normalization ----------------------------------------------------

def batchnorm_forward_reference(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    """The notebook's interface on top of ``course_lib.normalization``:
    ``stats`` is a dict of ``running_mean`` and ``running_var``, and a new
    dict comes back as a third value (the inputs are never modified)."""
    bn = BatchNormStats(np.array(stats["running_mean"], dtype=np.float64),
                        np.array(stats["running_var"], dtype=np.float64))
    out, cache = normalization.batchnorm_forward(x, gamma, beta, bn, train=train,
                                                 momentum=momentum, eps=eps)
    return out, cache, {"running_mean": bn.running_mean, "running_var": bn.running_var}


def _bn_variant(use_running=False, updated=False, ddof=0, swap_momentum=False, eps_out=False,
                test_batch=False, one_pass=False):
    """batchnorm_forward with one known bug (see the variants' hints)."""
    def variant(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ddof=1 on a single example
            return _forward(x, gamma, beta, stats, train, momentum, eps)

    def _forward(x, gamma, beta, stats, train, momentum, eps):
        old_mean, old_var = stats["running_mean"], stats["running_var"]
        mu = x.mean(axis=0)
        var = (x * x).mean(axis=0) - mu * mu if one_pass else x.var(axis=0, ddof=ddof)
        new_mean, new_var = old_mean, old_var
        if train:
            keep = 1 - momentum if swap_momentum else momentum
            new_mean = keep * old_mean + (1 - keep) * mu
            new_var = keep * old_var + (1 - keep) * var
            if use_running:
                mu, var = (new_mean, new_var) if updated else (old_mean, old_var)
        elif not test_batch:
            mu, var = old_mean, old_var
        std = np.sqrt(var) + eps if eps_out else np.sqrt(var + eps)
        return gamma * (x - mu) / std + beta, None, {"running_mean": new_mean,
                                                     "running_var": new_var}
    return variant


def _bn_inputs(rng, N, D, offset=0.0, spread=2.0):
    x = offset + 3.0 + spread * rng.normal(0, 1, (N, D))
    # running_var on the scale of the batch's variance, so that an error in the
    # batch variance is not hidden by a much larger old value
    stats = {"running_mean": rng.normal(0, 1, D),
             "running_var": rng.uniform(0.5, 2.0, D) * (spread / 2.0) ** 2}
    return x, rng.normal(1, 0.3, D), rng.normal(0, 0.5, D), stats


def _bn_forward_cases():
    def train(rng, ctx, offset=0.0, spread=2.0, momentum=0.9):
        x, gamma, beta, stats = _bn_inputs(rng, 8, 5, offset, spread)
        return Call([x, gamma, beta, stats], {"train": True, "momentum": momentum})

    def test(rng, ctx, N=6):
        x, gamma, beta, stats = _bn_inputs(rng, N, 5)
        return Call([x, gamma, beta, stats], {"train": False})

    return (Case("train", "training mode, a random batch (N=8, D=5)", train),
            Case("offset", "training mode, features with a large mean (about 1e5) and a small "
                 "spread (0.1), momentum=0.8", lambda rng, ctx: train(rng, ctx, 1e5, 0.1, 0.8)),
            Case("test", "test mode (train=False) with given running statistics", test),
            Case("test_batch_1", "test mode with a single example (N=1)",
                 lambda rng, ctx: test(rng, ctx, 1)))


_TRAIN, _TEST = ("train", "offset"), ("test", "test_batch_1")
_BN_FORWARD_VARIANTS = (
    Variant("In training mode, normalize with the batch's own mean and variance; the running "
            "averages are for test mode only.", _bn_variant(use_running=True),
            checks=("out (training)",)),
    Variant("In training mode, normalize with the batch's own mean and variance; the running "
            "averages (even freshly updated) are for test mode only.",
            _bn_variant(use_running=True, updated=True), checks=("out (training)",)),
    Variant("Use the biased variance (divide by N, np.var's default), not N - 1.",
            _bn_variant(ddof=1)),
    Variant("eps goes inside the square root: sqrt(var + eps).", _bn_variant(eps_out=True)),
    Variant("E[x^2] - E[x]^2 loses all precision when a feature's mean is large compared with "
            "its spread: compute the variance from x - mean.", _bn_variant(one_pass=True),
            checks=("out (training)",)),
    Variant("The running averages keep momentum of the OLD value: running = momentum * running "
            "+ (1 - momentum) * batch value.", _bn_variant(swap_momentum=True),
            checks=("running_mean", "running_var")),
    Variant("At test time, normalize with the running mean and variance, not the batch's.",
            _bn_variant(test_batch=True), checks=("out (test mode)",)),
)


def _bn_backward_variant(kind):
    def variant(dout, cache):
        _, x_hat, _, std, gamma = cache
        g = dout * gamma
        dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        if kind == "no_mean":
            dx = (g - x_hat * (g * x_hat).mean(axis=0)) / std
        elif kind == "no_var":
            dx = (g - g.mean(axis=0)) / std
        elif kind == "constant":
            dx = g / std
        else:
            dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std
        if kind == "dbeta_mean":
            dbeta = dout.mean(axis=0)
        return dx, dgamma, dbeta
    return variant


_BN_BACKWARD_VARIANTS = (
    Variant("dx is missing the term from the batch mean: the mean depends on every x, so "
            "subtract mean(dout * gamma) over the batch (see the closed form).",
            _bn_backward_variant("no_mean"), checks=("dx",)),
    Variant("dx is missing the term from the batch variance (the x_hat * mean(g * x_hat) term).",
            _bn_backward_variant("no_var"), checks=("dx",)),
    Variant("dx treats the batch mean and variance as constants; in training mode they depend "
            "on x too.", _bn_backward_variant("constant"), checks=("dx",)),
    Variant("dbeta is the sum of dout over the batch, not its mean.",
            _bn_backward_variant("dbeta_mean"), checks=("dbeta",)),
)


def _bn_backward_cases():
    def make(rng, N, offset=0.0, spread=2.0, D=5):
        x, gamma, beta, stats = _bn_inputs(rng, N, D, offset, spread)
        return Call([rng.normal(0, 1, (N, D)),
                     StudentCall("batchnorm_forward", (x, gamma, beta, stats), {"train": True},
                                 pick="1")])
    return (Case("random", "training mode, a random batch (N=8, D=5)",
                 lambda rng, ctx: make(rng, 8)),
            Case("offset", "features with a large mean (about 1e5) and a small spread",
                 lambda rng, ctx: make(rng, 8, 1e5, 0.1)),
            Case("batch_2", "a batch of two examples (N=2)", lambda rng, ctx: make(rng, 2)),
            Case("size", "a realistic size (N=128, D=512)",
                 lambda rng, ctx: make(rng, 128, D=512)))


def _bn_backward_item(func, backward):
    return Item(f"a2.{func}", func, func, _bn_backward_cases(),
                (Check("dx", 2, "0"), Check("dgamma", 1, "1"), Check("dbeta", 1, "2")),
                reference=backward, variants=_BN_BACKWARD_VARIANTS,
                depends=("a2.batchnorm_forward",))


BATCHNORM_ITEMS = (
    Item("a2.batchnorm_forward", "batchnorm_forward", "batchnorm_forward", _bn_forward_cases(),
         (Check("out (training)", 2, "0", cases=_TRAIN),
          Check("running_mean", 1, "2.running_mean"), Check("running_var", 1, "2.running_var"),
          Check("out (test mode)", 1, "0", cases=_TEST)),
         reference=batchnorm_forward_reference, variants=_BN_FORWARD_VARIANTS),
    _bn_backward_item("batchnorm_backward", normalization.batchnorm_backward),
    _bn_backward_item("batchnorm_backward_alt", normalization.batchnorm_backward_alt),
)


# ---- inverted dropout -------------------------------------------------------

def _dropout_variant(inverted=True, scale_test=False, drop_prob=False):
    def variant(x, p, train=True, seed=None):
        if not train:
            return (x * p if scale_test else x.copy()), None
        keep = 1 - p if drop_prob else p
        mask = (np.random.default_rng(seed).random(x.shape) < keep)
        return x * (mask / keep if inverted else mask), None
    return variant


def _dropout_call(rng, shape, p, train):
    return Call([rng.normal(0, 1, shape), p], {"train": train, "seed": int(rng.integers(1 << 30))})


_DROPOUT_CASES = (
    ("keep_half", "training mode, p=0.5 and a fixed seed (N=10, D=7; the mask must be "
     "np.random.default_rng(seed).random(x.shape) < p)", (10, 7), 0.5, True),
    ("keep_08", "training mode, p=0.8, an input of shape (4, 3, 5) and a fixed seed",
     (4, 3, 5), 0.8, True),
    ("test", "test mode (train=False), p=0.3", (5, 6), 0.3, False))

def _dropout_backward_call(rng, shape, p, train):
    x, seed = rng.normal(0, 1, shape), int(rng.integers(1 << 30))
    return Call([rng.normal(0, 1, shape),
                 StudentCall("dropout_forward", (x, p), {"train": train, "seed": seed}, pick="1")])


DROPOUT_ITEMS = (
    Item("a2.dropout_forward", "dropout_forward", "dropout_forward",
         tuple(Case(n, t, lambda rng, ctx, s=s, p=p, tr=tr: _dropout_call(rng, s, p, tr))
               for n, t, s, p, tr in _DROPOUT_CASES),
         (Check("out (training)", 2, "0", cases=("keep_half", "keep_08")),
          Check("out (test mode)", 1, "0", cases=("test",))),
         reference=layers.dropout_forward,
         variants=(Variant("At test time inverted dropout is the identity: the scaling by 1/p "
                           "already happened in training, so do not multiply by p.",
                           _dropout_variant(scale_test=True), checks=("out (test mode)",)),
                   Variant("This is not inverted dropout: divide the kept units by p during "
                           "training, so that the expected output equals x.",
                           _dropout_variant(inverted=False), checks=("out (training)",)),
                   Variant("p is the probability of KEEPING a unit: the mask is "
                           "rng.random(x.shape) < p.", _dropout_variant(drop_prob=True),
                           checks=("out (training)",)))),
    Item("a2.dropout_backward", "dropout_backward", "dropout_backward",
         tuple(Case(n, t, lambda rng, ctx, s=s, p=p, tr=tr: _dropout_backward_call(rng, s, p, tr))
               for n, t, s, p, tr in _DROPOUT_CASES[1:]),
         (Check("dx", 1, ""),), reference=layers.dropout_backward,
         depends=("a2.dropout_forward",),
         variants=(Variant("dx = dout * mask with the same (already scaled) mask as the forward "
                           "pass; yours divides by p a second time.",
                           lambda dout, cache: dout * cache[0] * cache[0].max()),
                   Variant("dx must be zero where the forward pass dropped a unit: multiply dout "
                           "by the mask.", lambda dout, cache: dout.copy()))),
)

LAYER_ITEMS = AFFINE_ITEMS + RELU_ITEMS + BATCHNORM_ITEMS + DROPOUT_ITEMS
LAYER_REFERENCES = {"affine_forward": layers.affine_forward, "relu_forward": layers.relu_forward,
                    "batchnorm_forward": batchnorm_forward_reference,
                    "dropout_forward": layers.dropout_forward}
