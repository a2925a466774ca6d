"""Fully connected networks: ``TwoLayerNet`` and ``FullyConnectedNet``.

A network with L layers (the input does not count) is

    {affine - [batchnorm | layernorm] - activation - [dropout]} x (L-1) - affine - softmax

where the activation is a ReLU unless another one is asked for (``activation=
"tanh"``, ``"sigmoid"`` or ``"leaky_relu"``, see ``ACTIVATIONS``).

Shapes: N examples, D input features (an image is flattened: D = 3*32*32 for
CIFAR-10), H_i the width of hidden layer i, C classes. Parameters are named
by :mod:`course_lib.models.naming`: ``fc{i}.W`` (D_in, D_out), ``fc{i}.b``
(D_out,) and, with normalization, ``fc{i}.gamma`` and ``fc{i}.beta`` (D_out,).

Example
-------
>>> import numpy as np
>>> model = FullyConnectedNet([50, 40], input_dim=12, num_classes=3, seed=0)
>>> list(model.params)
['fc1.W', 'fc1.b', 'fc2.W', 'fc2.b', 'fc3.W', 'fc3.b']
>>> model.loss(np.zeros((4, 12))).shape
(4, 3)
"""
import numpy as np

from course_lib import layers, losses, normalization, parallel
from course_lib.normalization import BatchNormStats
from course_lib.models.base import Model
from course_lib.models.naming import layer_name, param_name

__all__ = ["FullyConnectedNet", "TwoLayerNet", "ACTIVATIONS"]

NORMALIZATIONS = (None, "batchnorm", "layernorm")

ACTIVATIONS = layers.ACTIVATIONS  # name -> (forward, backward)


class FullyConnectedNet(Model):
    """A fully connected network of any depth with optional normalization and dropout.

    Parameters
    ----------
    hidden_dims : sequence of int
        Width of each hidden layer; ``[]`` gives a linear softmax classifier.
    input_dim : int
        D, the number of input features.
    num_classes : int
        C.
    dropout_keep_ratio : float in (0, 1]
        Probability of keeping a hidden unit (inverted dropout after each
        activation); 1 disables dropout.
    normalization : None, "batchnorm" or "layernorm"
        Applied between each hidden affine layer and its activation.
    reg : float
        L2 strength: the loss gets ``reg * sum(W*W)`` per weight matrix.
    weight_scale : float
        Standard deviation of the initial weights, ``weight_scale * N(0, 1)``.
    init : None, str or callable
        An initializer of :mod:`course_lib.initializers` (e.g. "he",
        "xavier") that replaces ``weight_scale``.
    dtype : numpy float type
        float32 trains faster; use float64 for gradient checks.
    seed : int or None
        Fixes the initial weights and the sequence of dropout masks.
    activation : {"relu", "tanh", "sigmoid", "leaky_relu"}, keyword-only
        Nonlinearity of every hidden layer (the output scores have none).
        "relu" is the default and the usual choice; "tanh" and "sigmoid"
        saturate, which is what the chapters on initialization and vanishing
        gradients study; "leaky_relu" uses slope 0.01 for negative inputs.
        Pair "relu"/"leaky_relu" with ``init="he"``, "tanh" and "sigmoid"
        with ``init="xavier"``.

    Attributes
    ----------
    params : dict of ndarray
    bn_stats : dict of BatchNormStats
        Running mean and variance of each batchnorm layer, keyed ``"fc{i}"``.
    rng : numpy.random.Generator
        Draws the dropout masks.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 dropout_keep_ratio=1, normalization=None, reg=0.0, weight_scale=1e-2,
                 init=None, dtype=np.float32, seed=None, *, activation="relu"):
        super().__init__(reg=reg, dtype=dtype, seed=seed)
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, "
                             f"got {normalization!r}")
        if not 0 < dropout_keep_ratio <= 1:
            raise ValueError(f"dropout_keep_ratio is the probability of keeping a unit and must "
                             f"be in (0, 1], got {dropout_keep_ratio!r}")
        hidden_dims = [int(h) for h in hidden_dims]
        if any(h < 1 for h in hidden_dims) or input_dim < 1 or num_classes < 1:
            raise ValueError("input_dim, num_classes and every hidden dimension must be >= 1; "
                             f"got input_dim={input_dim}, hidden_dims={hidden_dims}, "
                             f"num_classes={num_classes}")
        self.hidden_dims = hidden_dims
        self.input_dim = int(input_dim)
        self.num_classes = int(num_classes)
        self.dropout_keep_ratio = dropout_keep_ratio
        self.use_dropout = dropout_keep_ratio != 1
        self.normalization = normalization
        self.activation = activation
        self.num_layers = len(hidden_dims) + 1

        dims = [self.input_dim] + hidden_dims + [self.num_classes]
        for i in range(1, self.num_layers + 1):
            self.params[param_name("fc", i, "W")] = self._weights((dims[i - 1], dims[i]),
                                                                   init, weight_scale)
            self.params[param_name("fc", i, "b")] = self._zeros(dims[i])
            if normalization is not None and i < self.num_layers:
                self.params[param_name("fc", i, "gamma")] = self._ones(dims[i])
                self.params[param_name("fc", i, "beta")] = self._zeros(dims[i])
                if normalization == "batchnorm":
                    stats = BatchNormStats.create(dims[i], dtype=self.dtype)
                    self.bn_stats[layer_name("fc", i)] = stats

    def loss(self, X, y=None):
        """Scores, or loss and gradients.

        Parameters
        ----------
        X : ndarray, shape (N, D) (or (N, d1, ..., dk) with D = d1*...*dk)
        y : ndarray of int, shape (N,), optional

        Returns
        -------
        scores : ndarray, shape (N, C)
            When ``y`` is None (test mode: no dropout, batchnorm uses the
            running statistics).
        loss, grads : float and dict
            When ``y`` is given (training mode): the softmax loss plus
            ``reg * sum(W*W)`` over the weight matrices, and the
            gradient of each parameter, keyed like ``params``.
        """
        X = self._as_input(X, self.input_dim)
        train = y is not None
        with parallel.network_pass():      # products on our threads, none on BLAS's
            scores, caches = self._forward(X, train)
            if not train:
                return scores
            loss, dscores = losses.softmax_loss(scores, y)
            return self._add_l2(loss, self._backward(dscores, caches))

    def hidden_activations(self, X, train=False):
        """The output of every hidden layer (after the activation and dropout), keyed ``"fc{i}"``.

        For activation histograms. ``train=True`` runs the training-mode
        pass, which draws dropout masks and updates the batchnorm statistics.
        """
        X = self._as_input(X, self.input_dim)
        keep = {}
        self._forward(X, train, keep=keep)
        return keep

    def _forward(self, X, train, keep=None):
        caches = []
        out = X
        for i in range(1, self.num_layers):
            layer = layer_name("fc", i)
            out, cache = hidden_forward(out, self._layer_params(layer), self.bn_stats.get(layer),
                                        self.normalization, self.dropout_keep_ratio, train,
                                        self.rng, activation=self.activation)
            if keep is not None:
                keep[layer] = out
            caches.append(cache)
        p = self._layer_params(layer_name("fc", self.num_layers))
        scores, affine_cache = layers.affine_forward(out, p["W"], p["b"])
        caches.append(affine_cache)
        return scores, caches

    def _backward(self, dscores, caches):
        grads = {}
        if self.num_layers > 1:
            dout, grads["W"], grads["b"] = layers.affine_backward(dscores, caches[-1])
        else:                           # a linear classifier: its input is the data
            grads["W"], grads["b"] = layers.affine_param_grads(dscores, caches[-1])
        grads = {param_name("fc", self.num_layers, k): v for k, v in grads.items()}
        for i in range(self.num_layers - 1, 0, -1):
            # the first layer's input is the data: no gradient needed there
            dout, layer_grads = hidden_backward(dout, caches[i - 1], need_dx=i > 1)
            grads.update({param_name("fc", i, k): v for k, v in layer_grads.items()})
        return {name: grads[name] for name in self.params}  # same order as params


class TwoLayerNet(FullyConnectedNet):
    """affine - relu - affine - softmax: one hidden layer of ``hidden_dim`` units.

    The same network as ``FullyConnectedNet([hidden_dim], ...)`` without
    normalization or dropout, with CS231n's defaults (small weights
    ``1e-3 * N(0, 1)``, float64). Parameters ``fc1.W`` (D, H), ``fc1.b`` (H,),
    ``fc2.W`` (H, C), ``fc2.b`` (C,).
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float64, seed=None):
        super().__init__([hidden_dim], input_dim=input_dim, num_classes=num_classes,
                         reg=reg, weight_scale=weight_scale, dtype=dtype, seed=seed)
        self.hidden_dim = int(hidden_dim)


def hidden_forward(x, p, stats, normalization_kind, keep_ratio, train, rng, activation="relu"):
    """One hidden block: affine - [batchnorm | layernorm] - activation - [dropout].

    ``p`` holds the block's "W", "b" (and "gamma", "beta"); ``stats`` its
    BatchNormStats (or None); ``rng`` the Generator that draws dropout masks;
    ``activation`` a key of ``ACTIVATIONS``. Returns ``(out, cache)``; shared
    by FullyConnectedNet and ConvNet.
    """
    out, affine_cache = layers.affine_forward(x, p["W"], p["b"])
    norm_cache = None
    if normalization_kind == "batchnorm":
        out, norm_cache = normalization.batchnorm_forward(out, p["gamma"], p["beta"], stats,
                                                          train=train)
    elif normalization_kind == "layernorm":
        out, norm_cache = normalization.layernorm_forward(out, p["gamma"], p["beta"])
    act_forward, act_backward = ACTIVATIONS[activation]
    out, act_cache = act_forward(out)
    dropout_cache = None
    if keep_ratio != 1 and train:
        # Passing the Generator draws a fresh mask from the model's stream at every call.
        out, dropout_cache = layers.dropout_forward(out, keep_ratio, train=True, seed=rng)
    # The cache carries the backward function, so hidden_backward needs no lookup.
    return out, (normalization_kind, affine_cache, norm_cache, (act_backward, act_cache),
                 dropout_cache)


def hidden_backward(dout, cache, need_dx=True):
    """Backward pass of ``hidden_forward``: returns ``(dx, {"W": dW, "b": db, ...})``.

    With ``need_dx=False`` (the network's first layer) dx is None and is
    not computed (see :func:`~course_lib.layers.affine_param_grads`).
    """
    normalization_kind, affine_cache, norm_cache, (act_backward, act_cache), dropout_cache = cache
    grads = {}
    if dropout_cache is not None:
        dout = layers.dropout_backward(dout, dropout_cache)
    dout = act_backward(dout, act_cache)
    if normalization_kind == "batchnorm":
        dout, grads["gamma"], grads["beta"] = normalization.batchnorm_backward_alt(dout, norm_cache)
    elif normalization_kind == "layernorm":
        dout, grads["gamma"], grads["beta"] = normalization.layernorm_backward(dout, norm_cache)
    if need_dx:
        dx, grads["W"], grads["b"] = layers.affine_backward(dout, affine_cache)
    else:
        dx = None
        grads["W"], grads["b"] = layers.affine_param_grads(dout, affine_cache)
    return dx, grads
