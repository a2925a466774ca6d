"""Numbers to watch while a network trains ("babysitting the learning process").

- ``update_ratio``: norm of a parameter update over the norm of the parameter.
  Around 1e-3 is healthy; much lower means the learning rate is probably too
  low, much higher that it is too high. The ``Solver`` records it per
  parameter and iteration when ``track_diagnostics=True``.
- ``run_fc_stack`` pushes data through a stack of affine + activation layers
  and back, recording every layer's activations and gradients: the experiment
  behind the activation histograms (bad initialization collapses them to 0 or
  saturates them) and the vanishing-gradient demo (sigmoid layers shrink the
  gradient on its way to the input).
- ``layer_gradient_norms`` and ``activation_stats`` summarise such records,
  or a model's own gradients and ``hidden_activations``, one entry per layer.
- ``confusion_matrix`` counts which classes are mistaken for which.

Shapes: N examples, D input features, C classes.
"""
import numpy as np

from course_lib import layers, losses
from course_lib.models.naming import layer_name, layer_of, param_name, parse_param_name

__all__ = ["update_ratio", "update_ratios", "array_stats", "activation_stats",
           "layer_gradient_norms", "random_fc_weights", "run_fc_stack", "confusion_matrix",
           "ACTIVATIONS"]

# name -> (forward, backward); every forward takes x only and returns (out, cache).
ACTIVATIONS = {**layers.ACTIVATIONS,
               "identity": (lambda x: (x, None), lambda dout, cache: dout)}


def update_ratio(w_old, w_new):
    """``||w_new - w_old|| / ||w_old||`` (Frobenius norms), as a float.

    Computed from the update actually applied, not from the raw gradient, so
    it reflects the learning rate and the optimizer's scaling. A zero ``w_old``
    (e.g. a freshly initialised bias) is compared with a tiny number instead
    and gives a large ratio, which is the truth: the update is all there is.
    """
    w_old = np.asarray(w_old, dtype=np.float64)
    w_new = np.asarray(w_new, dtype=np.float64)
    if w_old.shape != w_new.shape:
        raise ValueError(f"update_ratio: shapes differ, {w_old.shape} vs {w_new.shape}")
    return float(np.linalg.norm(w_new - w_old) / max(np.linalg.norm(w_old), 1e-12))


def update_ratios(params_old, params_new):
    """``update_ratio`` of every parameter in two dicts with the same keys."""
    if params_old.keys() != params_new.keys():
        raise ValueError("update_ratios: the two parameter dicts have different names: "
                         f"{sorted(params_old)} vs {sorted(params_new)}")
    return {name: update_ratio(params_old[name], params_new[name]) for name in params_old}


def array_stats(x):
    """Mean, standard deviation, min, max and the fraction of exact zeros of ``x``.

    The zero fraction shows dead ReLUs; ``frac_saturated`` (|x| > 0.99) shows
    tanh units stuck at -1 or 1 (and sigmoid units stuck at 1).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError("array_stats: got an empty array")
    return {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()),
            "max": float(x.max()), "frac_zero": float(np.mean(x == 0)),
            "frac_saturated": float(np.mean(np.abs(x) > 0.99))}


def activation_stats(activations):
    """``array_stats`` of each entry of a ``{layer: activations}`` dict, in order."""
    return {name: array_stats(value) for name, value in activations.items()}


def layer_gradient_norms(grads):
    """Frobenius norm of each layer's weight gradient, keyed by layer.

    ``grads`` is a dict named like a model's params (``"fc1.W"``, ...), e.g.
    the second value returned by ``model.loss(X, y)``. Layers come in network
    order (all conv layers, then fc layers, each by index), so a plot of the
    values from left to right goes from the input to the output.
    """
    norms = {}
    kind_order = {"conv": 0, "fc": 1}
    names = [n for n in grads if parse_param_name(n)[2] == "W"]
    names.sort(key=lambda n: (kind_order[parse_param_name(n)[0]], parse_param_name(n)[1]))
    for name in names:
        norms[layer_of(name)] = float(np.linalg.norm(np.asarray(grads[name], dtype=np.float64)))
    return norms


def random_fc_weights(dims, init="lecun", seed=None, dtype=np.float64):
    """Random weights for ``run_fc_stack``: a list of ``(W, b)`` per layer.

    ``dims`` lists the layer widths from input to output, e.g. ``[500] * 11``
    for ten layers of 500 units. ``init`` is ``"lecun"`` (std ``1/sqrt(fan_in)``,
    the calibration of the notes), ``"xavier"`` (Glorot's std
    ``sqrt(2/(fan_in + fan_out))``, the same as ``"lecun"`` when the widths are
    equal), ``"he"`` (std ``sqrt(2/fan_in)``) or a float used as the standard
    deviation itself (e.g. 0.01 to watch tanh activations collapse to zero).
    Biases are zero.
    """
    if len(dims) < 2:
        raise ValueError(f"dims needs at least an input and an output width, got {dims!r}")
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        if init == "lecun":
            std = 1.0 / np.sqrt(fan_in)
        elif init == "xavier":
            std = np.sqrt(2.0 / (fan_in + fan_out))
        elif init == "he":
            std = np.sqrt(2.0 / fan_in)
        elif isinstance(init, (int, float)) and not isinstance(init, bool) and init > 0:
            std = float(init)
        else:
            raise ValueError(f"init must be 'lecun', 'xavier', 'he' or a positive float, got {init!r}")
        W = (std * rng.standard_normal((fan_in, fan_out))).astype(dtype)  # (D_in, D_out)
        weights.append((W, np.zeros(fan_out, dtype=dtype)))
    return weights


def run_fc_stack(X, weights, activation="tanh", y=None):
    """Forward (and, given labels, backward) pass through an FC stack, recording each layer.

    The network is ``{affine - activation} x (L-1) - affine``, with ``L =
    len(weights)``; the last affine gives the scores. With ``y`` the softmax
    loss is backpropagated and the gradients are recorded too.

    Parameters
    ----------
    X : ndarray, shape (N, D)
    weights : list of (W, b)
        ``W`` of shape (D_in, D_out), ``b`` of shape (D_out,), e.g. from
        ``random_fc_weights``.
    activation : str
        One of ``ACTIVATIONS``: "relu", "sigmoid", "tanh", "leaky_relu", "identity".
    y : ndarray of int, shape (N,), optional

    Returns
    -------
    record : dict
        ``"activations"``: ``{"fc1": a1, ...}`` outputs of the L-1 hidden
        layers after the activation, each (N, D_out); ``"scores"`` (N, C).
        With ``y`` also ``"loss"`` (float), ``"grads"`` named like model
        parameters (``"fc1.W"``, ``"fc1.b"``, ...) and ``"dactivations"``:
        ``{"fc1": dL/da1, ...}``, the gradient arriving at each hidden output.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
    if len(weights) < 1:
        raise ValueError("weights is empty: give at least the output layer's (W, b)")
    act_forward, act_backward = ACTIVATIONS[activation]
    record = {"activations": {}}
    caches = []
    out = np.asarray(X)
    for i, (W, b) in enumerate(weights, start=1):
        if out.ndim != 2 or out.shape[1] != W.shape[0]:
            raise ValueError(f"layer {i}: input has shape {out.shape} but W has shape "
                             f"{W.shape}; W of layer i must have as many rows as layer "
                             "i-1 has columns")
        out, affine_cache = layers.affine_forward(out, W, b)
        act_cache = None
        if i < len(weights):
            out, act_cache = act_forward(out)
            record["activations"][layer_name("fc", i)] = out
        caches.append((affine_cache, act_cache))
    record["scores"] = out
    if y is None:
        return record

    loss, dout = losses.softmax_loss(out, y)
    grads, dactivations = {}, {}
    for i in range(len(weights), 0, -1):
        affine_cache, act_cache = caches[i - 1]
        if i < len(weights):
            dactivations[i] = dout
            dout = act_backward(dout, act_cache)
        dout, dW, db = layers.affine_backward(dout, affine_cache)
        grads[i] = (dW, db)
    # Network order (input to output) reads better in a table or a plot than backprop order.
    record["loss"] = float(loss)
    record["grads"] = {}
    for i in sorted(grads):
        record["grads"][param_name("fc", i, "W")] = grads[i][0]
        record["grads"][param_name("fc", i, "b")] = grads[i][1]
    record["dactivations"] = {layer_name("fc", i): dactivations[i] for i in sorted(dactivations)}
    return record


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Counts ``M[i, j]`` of examples of true class i predicted as class j.

    ``num_classes`` defaults to one more than the largest label seen.
    Returns an int64 array of shape (C, C); its trace over its sum is the accuracy.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length, got "
                         f"{y_true.shape} and {y_pred.shape}")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0):
            raise ValueError(f"{name} must hold non-negative integer class labels")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    if y_true.size and max(y_true.max(), y_pred.max()) >= num_classes:
        raise ValueError(f"a label is >= num_classes={num_classes}")
    flat = y_true.astype(np.int64) * num_classes + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
