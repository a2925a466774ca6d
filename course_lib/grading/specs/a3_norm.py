"""A3 check specs, part 2: spatial batch normalization (training mode).

Shapes: N batch, C channels, H x W feature maps. The backward item calls
the student's backward on the cache of the student's own forward pass.
Students may build on their own (non-spatial) batchnorm written in the
notebook; ``course_lib.normalization`` stays blocked.
"""
import numpy as np

from course_lib.normalization import spatial_batchnorm_backward, spatial_batchnorm_forward

from ..spec import Call, Case, Check, Item, StudentCall, Variant

__all__ = ["NORM_ITEMS", "NORM_REFERENCES"]


def _sbn_forward_ref(x, gamma, beta, eps=1e-5):
    return spatial_batchnorm_forward(x, gamma, beta, None, train=True, eps=eps)


def _sbn_geometries():
    return (
        ("random", "random feature maps (N=4, C=3, 5x6)", (4, 3, 5, 6), 0.0),
        ("large_mean", "channels whose values are about a million plus small variations "
         "(compute the variance as the mean of (x - mean)**2)", (3, 2, 4, 5), 1e6),
        ("batch_1", "a single sample (N=1, C=2, 4x7): the statistics still use all H*W "
         "positions", (1, 2, 4, 7), 0.0),
        # centred differences would need 2 * 32,768 forward passes for dx
        ("size", "a realistic size (N=32, C=16, 8x8)", (32, 16, 8, 8), 0.0),
    )


def _sbn_inputs(rng, shape, offset):
    C = shape[1]
    x = rng.normal(0, 1, shape) * rng.uniform(0.5, 3, (1, C, 1, 1)) \
        + rng.normal(0, 2, (1, C, 1, 1)) + offset * rng.choice([-1, 1], (1, C, 1, 1))
    return x, rng.uniform(0.5, 2, C), rng.normal(0, 1, C)


def _sbn_forward_cases():
    def maker(shape, offset):
        return lambda rng, ctx: Call(list(_sbn_inputs(rng, shape, offset)))
    return tuple(Case(name, text, maker(*rest)) for name, text, *rest in _sbn_geometries())


def _sbn_backward_cases():
    def maker(shape, offset):
        def make(rng, ctx):
            x, gamma, beta = _sbn_inputs(rng, shape, offset)
            return Call([rng.normal(0, 1, shape),
                         StudentCall("spatial_batchnorm_forward", (x, gamma, beta), pick="1")])
        return make
    return tuple(Case(name, text, maker(*rest)) for name, text, *rest in _sbn_geometries())


def _normalize(x, gamma, beta, axes, eps=1e-5, ddof=0):
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    shape = (1, -1, 1, 1)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


def _sbn_no_transpose(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    rows = x.reshape(N * H * W, C)  # the bug: channels mixed with positions
    mu, var = rows.mean(axis=0), rows.var(axis=0)
    return ((rows - mu) / np.sqrt(var + eps) * gamma + beta).reshape(N, C, H, W), None


_AXES_HINT = ("Spatial batchnorm normalizes each channel over the batch and all positions: "
              "statistics over axes (0, 2, 3), one mean and variance per channel; ")
_SBN_FORWARD_VARIANTS = (
    Variant(_AXES_HINT + "yours reshapes (N, C, H, W) to (N*H*W, C) without moving the channel "
            "axis last first (x.transpose(0, 2, 3, 1)), which mixes channels.", _sbn_no_transpose),
    Variant(_AXES_HINT + "yours uses the batch axis only (one mean per channel and position).",
            lambda x, g, b, eps=1e-5: (_normalize(x, g, b, 0, eps), None)),
    Variant(_AXES_HINT + "yours uses each sample's own positions (axes 2, 3).",
            lambda x, g, b, eps=1e-5: (_normalize(x, g, b, (2, 3), eps), None)),
    Variant(_AXES_HINT + "yours includes the channel axis too.",
            lambda x, g, b, eps=1e-5: (_normalize(x, g, b, (0, 1, 2, 3), eps), None)),
    Variant("Batchnorm uses the biased variance (divide by the number of values, np.var's "
            "default ddof=0); yours divides by one less.",
            lambda x, g, b, eps=1e-5: (_normalize(x, g, b, (0, 2, 3), eps, ddof=1), None)),
)


def _sbn_backward_variant(dparam_axes=(0, 2, 3), full_dx=True):
    """spatial batchnorm backward with one known bug, from a reference cache."""
    def variant(dout, cache):
        dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
        _, x, mu, inv_std, gamma = cache        # x (N, C, H, W), mu and inv_std (C,)
        x_hat = (x - mu[:, None, None]) * inv_std[:, None, None]
        if dparam_axes != (0, 2, 3):
            dgamma = (dout * x_hat).sum(axis=dparam_axes)
            dbeta = dout.sum(axis=dparam_axes)
        if not full_dx:
            dx = dout * (gamma * inv_std)[:, None, None]
        return dx, dgamma, dbeta
    return variant


_SBN_BACKWARD_VARIANTS = (
    Variant("dx misses the terms that come from the mean and the variance depending on x: "
            "dx is not just dout * gamma / std.", _sbn_backward_variant(full_dx=False),
            checks=("dx",)),
    Variant("dgamma and dbeta must add over the batch and all positions (axes 0, 2, 3), one "
            "value per channel; yours adds over the batch only.",
            _sbn_backward_variant(dparam_axes=0), checks=("dgamma", "dbeta")),
)


NORM_REFERENCES = {"spatial_batchnorm_forward": _sbn_forward_ref}

NORM_ITEMS = (
    Item("a3.spatial_batchnorm_forward", "spatial_batchnorm_forward",
         "spatial_batchnorm_forward", _sbn_forward_cases(), (Check("out", 2, "0"),),
         reference=_sbn_forward_ref, variants=_SBN_FORWARD_VARIANTS),
    Item("a3.spatial_batchnorm_backward", "spatial_batchnorm_backward",
         "spatial_batchnorm_backward", _sbn_backward_cases(),
         (Check("dx", 2, "0"), Check("dgamma", 1, "1"), Check("dbeta", 1, "2")),
         reference=spatial_batchnorm_backward, variants=_SBN_BACKWARD_VARIANTS,
         depends=("a3.spatial_batchnorm_forward",)),
)
