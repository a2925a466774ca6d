"""Composite ("sandwich") layers built from the forward/backward pairs.

Each composite chains existing layers and keeps their caches in a tuple;
its backward pass calls the parts' backward passes in reverse order. Nothing
is re-derived here, so the composites are exactly as correct as their parts.

Shapes: ``N`` batch, ``D`` input features, ``M`` output units; for
convolutions ``x`` is (N, C, H, W), ``w`` (F, C, HH, WW), ``b`` (F,).
The convolutions and poolings used are the fast versions.
"""
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.layers import affine_backward, affine_forward, relu_backward, relu_forward
from course_lib.normalization import (batchnorm_backward_alt, batchnorm_forward,
                                      layernorm_backward, layernorm_forward,
                                      spatial_batchnorm_backward, spatial_batchnorm_forward)
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast

__all__ = [
    "affine_relu_forward", "affine_relu_backward",
    "affine_bn_relu_forward", "affine_bn_relu_backward",
    "affine_ln_relu_forward", "affine_ln_relu_backward",
    "conv_relu_forward", "conv_relu_backward",
    "conv_relu_pool_forward", "conv_relu_pool_backward",
    "conv_bn_relu_forward", "conv_bn_relu_backward",
]


def affine_relu_forward(x, w, b):
    """``relu(x w + b)``: x (N, ...) flattened to (N, D), w (D, M), b (M,) -> (N, M)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of :func:`affine_relu_forward`; returns ``(dx, dw, db)``."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def affine_bn_relu_forward(x, w, b, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    """``relu(batchnorm(x w + b))``.

    gamma, beta have shape (M,); ``stats`` is the layer's
    :class:`~course_lib.normalization.BatchNormStats` (updated in training
    mode, required in test mode). With batch normalization right after it,
    ``b`` is redundant (the mean subtraction cancels it) but kept so the
    layer has the usual parameters.
    """
    a, fc_cache = affine_forward(x, w, b)
    a_bn, bn_cache = batchnorm_forward(a, gamma, beta, stats, train=train,
                                       momentum=momentum, eps=eps)
    out, relu_cache = relu_forward(a_bn)
    return out, (fc_cache, bn_cache, relu_cache)


def affine_bn_relu_backward(dout, cache):
    """Backward pass of :func:`affine_bn_relu_forward`; returns ``(dx, dw, db, dgamma, dbeta)``."""
    fc_cache, bn_cache, relu_cache = cache
    da_bn = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = batchnorm_backward_alt(da_bn, bn_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def affine_ln_relu_forward(x, w, b, gamma, beta, eps=1e-5):
    """``relu(layernorm(x w + b))``; gamma, beta have shape (M,)."""
    a, fc_cache = affine_forward(x, w, b)
    a_ln, ln_cache = layernorm_forward(a, gamma, beta, eps=eps)
    out, relu_cache = relu_forward(a_ln)
    return out, (fc_cache, ln_cache, relu_cache)


def affine_ln_relu_backward(dout, cache):
    """Backward pass of :func:`affine_ln_relu_forward`; returns ``(dx, dw, db, dgamma, dbeta)``."""
    fc_cache, ln_cache, relu_cache = cache
    da_ln = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = layernorm_backward(da_ln, ln_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, stride=1, pad=0):
    """``relu(conv(x, w) + b)``; out (N, F, H_out, W_out)."""
    a, conv_cache = conv_forward_fast(x, w, b, stride=stride, pad=pad)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Backward pass of :func:`conv_relu_forward`; returns ``(dx, dw, db)``."""
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, stride=1, pad=0, pool=2):
    """``maxpool(relu(conv(x, w) + b))`` with a ``pool x pool`` window and stride ``pool``.

    The pattern ``CONV -> RELU -> POOL``; with ``pool=2`` the pooling halves
    the height and width.
    """
    a, conv_cache = conv_forward_fast(x, w, b, stride=stride, pad=pad)
    r, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(r, pool_height=pool, pool_width=pool, stride=pool)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Backward pass of :func:`conv_relu_pool_forward`; returns ``(dx, dw, db)``."""
    conv_cache, relu_cache, pool_cache = cache
    dr = max_pool_backward_fast(dout, pool_cache)
    return conv_backward_fast(relu_backward(dr, relu_cache), conv_cache)


def conv_bn_relu_forward(x, w, b, gamma, beta, stats, train=True, stride=1, pad=0,
                         momentum=0.9, eps=1e-5):
    """``relu(spatial_batchnorm(conv(x, w) + b))``; gamma, beta have shape (F,).

    ``stats`` holds the running statistics of the F channels (see
    :func:`~course_lib.normalization.spatial_batchnorm_forward`).
    """
    a, conv_cache = conv_forward_fast(x, w, b, stride=stride, pad=pad)
    a_bn, bn_cache = spatial_batchnorm_forward(a, gamma, beta, stats, train=train,
                                               momentum=momentum, eps=eps)
    out, relu_cache = relu_forward(a_bn)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache):
    """Backward pass of :func:`conv_bn_relu_forward`; returns ``(dx, dw, db, dgamma, dbeta)``."""
    conv_cache, bn_cache, relu_cache = cache
    da_bn = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(da_bn, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db, dgamma, dbeta
