"""Convolutional networks: ``ConvNet`` (configurable) and ``ThreeLayerConvNet``.

``ConvNet`` follows the layer pattern of the course notes,

    INPUT -> [[CONV -> RELU] * n -> POOL?] * M -> [FC -> RELU] * K -> FC -> softmax

with the notes' sizing rules: convolutions keep the spatial size (stride 1,
zero padding ``(F - 1) / 2``, so 3x3 filters with padding 1) and only the 2x2,
stride-2 max pools halve it. Optional spatial batchnorm sits between each
convolution and its ReLU, and optional batchnorm / dropout in the FC layers.
``ThreeLayerConvNet`` is the smallest instance: conv - relu - pool - fc - relu - fc.

Shapes: N examples, C input channels, H x W images, F filters, HH = WW the
filter size, K classes (C is taken). Input is channels-first (N, C, H, W).
Parameters (named by :mod:`course_lib.models.naming`): ``conv{j}.W`` (F, C_in,
HH, WW), ``conv{j}.b`` (F,), with batchnorm ``conv{j}.gamma``, ``conv{j}.beta``
(F,); then ``fc{i}.W``, ``fc{i}.b`` (and ``fc{i}.gamma``, ``fc{i}.beta``) as
in :class:`~course_lib.models.fc_net.FullyConnectedNet`.

Both use the fast (im2col) convolution and the fast max pooling.

Example
-------
>>> import numpy as np
>>> model = ConvNet(input_dim=(3, 8, 8), conv_blocks=[(4,), (8,)], hidden_dims=(16,),
...                 num_classes=5, seed=0)
>>> list(model.params)
['conv1.W', 'conv1.b', 'conv2.W', 'conv2.b', 'fc1.W', 'fc1.b', 'fc2.W', 'fc2.b']
>>> model.loss(np.zeros((2, 3, 8, 8))).shape
(2, 5)
"""
import numpy as np

from course_lib import conv, layers, losses, normalization, parallel, pooling
from course_lib.normalization import BatchNormStats
from course_lib.models.base import Model
from course_lib.models.fc_net import hidden_backward, hidden_forward
from course_lib.models.naming import layer_name, param_name

__all__ = ["ConvNet", "ThreeLayerConvNet"]


class ConvNet(Model):
    """A VGG-style network: blocks of same-size convolutions, each followed by 2x2 max pooling.

    Parameters
    ----------
    input_dim : tuple (C, H, W)
    conv_blocks : sequence of sequences of int
        Filters of each convolution, grouped in blocks: ``[(32, 32), (64, 64)]``
        is conv32-relu-conv32-relu-pool-conv64-relu-conv64-relu-pool.
    pool_every_block : bool
        2x2 max pooling (stride 2) after each block; False keeps full resolution.
    hidden_dims : sequence of int
        Widths of the hidden fully connected layers after the convolutions.
    num_classes : int
    normalization : None or "batchnorm"
        Spatial batchnorm after every convolution and batchnorm after every
        hidden FC layer (before the ReLU).
    dropout_keep_ratio : float in (0, 1]
        Inverted dropout after each hidden FC layer's ReLU; 1 disables it.
    reg : float
        L2 strength: ``reg * sum(W*W)`` for every conv and FC weight.
    init : str or callable or None
        Initializer from :mod:`course_lib.initializers` ("he" suits ReLU
        networks); None uses ``weight_scale * N(0, 1)``.
    dtype : numpy float type
    seed : int or None
        Fixes the initial weights and the dropout masks.
    filter_size : int, keyword-only
        Odd filter size of every convolution (3 in the notes' pattern).
    weight_scale : float, keyword-only
        Standard deviation of the initial weights when ``init`` is None.
    """

    def __init__(self, input_dim=(3, 32, 32), conv_blocks=((32, 32), (64, 64)),
                 pool_every_block=True, hidden_dims=(256,), num_classes=10,
                 normalization=None, dropout_keep_ratio=1, reg=0.0, init="he",
                 dtype=np.float32, seed=None, *, filter_size=3, weight_scale=1e-3):
        super().__init__(reg=reg, dtype=dtype, seed=seed)
        if normalization not in (None, "batchnorm"):
            raise ValueError(f"ConvNet supports normalization=None or 'batchnorm', "
                             f"got {normalization!r}")
        if not 0 < dropout_keep_ratio <= 1:
            raise ValueError(f"dropout_keep_ratio is the probability of keeping a unit and must "
                             f"be in (0, 1], got {dropout_keep_ratio!r}")
        if len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        if filter_size < 1 or filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd (3, 5, 7, ...) so that padding "
                             f"(F-1)/2 keeps the image size; got {filter_size}")
        self.input_dim = tuple(int(d) for d in input_dim)
        self.conv_blocks = [tuple(int(f) for f in block) for block in conv_blocks]
        if any(len(block) == 0 or min(block) < 1 for block in self.conv_blocks):
            raise ValueError(f"each conv block needs at least one positive filter count, "
                             f"got {conv_blocks!r}")
        self.pool_every_block = bool(pool_every_block)
        self.hidden_dims = [int(h) for h in hidden_dims]
        self.num_classes = int(num_classes)
        self.normalization = normalization
        self.dropout_keep_ratio = dropout_keep_ratio
        self.filter_size = int(filter_size)
        self.pad = (self.filter_size - 1) // 2

        # One entry per convolution: (layer name, pool after it?)
        self.conv_layers = []
        channels, height, width = self.input_dim
        for block in self.conv_blocks:
            for k, num_filters in enumerate(block):
                j = len(self.conv_layers) + 1
                shape = (num_filters, channels, self.filter_size, self.filter_size)
                self.params[param_name("conv", j, "W")] = self._weights(shape, init, weight_scale)
                self.params[param_name("conv", j, "b")] = self._zeros(num_filters)
                if normalization == "batchnorm":
                    self._add_norm(layer_name("conv", j), num_filters)
                pool = self.pool_every_block and k == len(block) - 1
                if pool:
                    height = conv.conv_output_size(height, 2, stride=2)
                    width = conv.conv_output_size(width, 2, stride=2)
                self.conv_layers.append((layer_name("conv", j), pool))
                channels = num_filters

        dims = [channels * height * width] + self.hidden_dims + [self.num_classes]
        for i in range(1, len(dims)):
            self.params[param_name("fc", i, "W")] = self._weights((dims[i - 1], dims[i]),
                                                                  init, weight_scale)
            self.params[param_name("fc", i, "b")] = self._zeros(dims[i])
            if normalization == "batchnorm" and i < len(dims) - 1:
                self._add_norm(layer_name("fc", i), dims[i])
        self.num_fc_layers = len(dims) - 1

    def loss(self, X, y=None):
        """Scores, or loss and gradients.

        Parameters
        ----------
        X : ndarray, shape (N, C, H, W)
        y : ndarray of int, shape (N,), optional

        Returns
        -------
        scores : ndarray, shape (N, K)
            When ``y`` is None (test mode: no dropout, batchnorm uses the
            running statistics).
        loss, grads : float and dict
            When ``y`` is given (training mode): softmax loss plus
            ``reg * sum(W*W)``, and gradients keyed like ``params``.
        """
        X = self._as_input(X, self.input_dim)
        train = y is not None
        with parallel.network_pass():      # BLAS's threads out of our layers' way
            scores, caches = self._forward(X, train)
            if not train:
                return scores
            loss, dscores = losses.softmax_loss(scores, y)
            return self._add_l2(loss, self._backward(dscores, caches))

    def _add_norm(self, layer, num_features):
        self.params[layer + ".gamma"] = self._ones(num_features)
        self.params[layer + ".beta"] = self._zeros(num_features)
        self.bn_stats[layer] = BatchNormStats.create(num_features, dtype=self.dtype)

    def _forward(self, X, train):
        conv_caches, fc_caches = [], []
        out = X
        for layer, pool in self.conv_layers:
            p = self._layer_params(layer)
            out, conv_cache = conv.conv_forward_fast(out, p["W"], p["b"], stride=1, pad=self.pad)
            norm_cache = pool_cache = None
            if self.normalization == "batchnorm":
                out, norm_cache = normalization.spatial_batchnorm_forward(
                    out, p["gamma"], p["beta"], self.bn_stats[layer], train=train)
            # ReLU then max pooling, computed as pooling then ReLU: the same
            # numbers (max commutes with max(., 0)) and the same gradients,
            # with the ReLU on a quarter of the values.
            if pool:
                out, pool_cache = pooling.max_pool_forward_fast(out, 2, 2, 2)
            out, relu_cache = layers.relu_forward(out)
            conv_caches.append((conv_cache, norm_cache, relu_cache, pool_cache))
        for i in range(1, self.num_fc_layers):
            layer = layer_name("fc", i)
            # affine_forward flattens the (N, F, H', W') maps of the first FC layer.
            out, cache = hidden_forward(out, self._layer_params(layer), self.bn_stats.get(layer),
                                        self.normalization, self.dropout_keep_ratio, train,
                                        self.rng)
            fc_caches.append(cache)
        p = self._layer_params(layer_name("fc", self.num_fc_layers))
        scores, affine_cache = layers.affine_forward(out, p["W"], p["b"])
        fc_caches.append(affine_cache)
        return scores, (conv_caches, fc_caches)

    def _backward(self, dscores, caches):
        conv_caches, fc_caches = caches
        last = self.num_fc_layers
        dout, dW, db = layers.affine_backward(dscores, fc_caches[-1])
        grads = {param_name("fc", last, "W"): dW, param_name("fc", last, "b"): db}
        for i in range(last - 1, 0, -1):
            dout, layer_grads = hidden_backward(dout, fc_caches[i - 1])
            grads.update({param_name("fc", i, k): v for k, v in layer_grads.items()})
        for j in range(len(self.conv_layers), 0, -1):
            conv_cache, norm_cache, relu_cache, pool_cache = conv_caches[j - 1]
            layer_grads = {}
            dout = layers.relu_backward(dout, relu_cache)
            if pool_cache is not None:
                dout = pooling.max_pool_backward_fast(dout, pool_cache)
            if norm_cache is not None:
                dout, layer_grads["gamma"], layer_grads["beta"] = \
                    normalization.spatial_batchnorm_backward(dout, norm_cache)
            if j > 1:
                dout, layer_grads["W"], layer_grads["b"] = conv.conv_backward_fast(dout,
                                                                                   conv_cache)
            else:                       # the input is the images: no gradient needed there
                layer_grads["W"], layer_grads["b"] = conv.conv_param_grads_fast(dout, conv_cache)
            grads.update({param_name("conv", j, k): v for k, v in layer_grads.items()})
        return {name: grads[name] for name in self.params}  # same order as params


class ThreeLayerConvNet(ConvNet):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    The convolution keeps the spatial size (stride 1, padding
    ``(filter_size - 1) // 2``). Parameters: ``conv1.W`` (F, C, HH, WW),
    ``conv1.b`` (F,), ``fc1.W`` (F*H/2*W/2, hidden_dim), ``fc1.b``, ``fc2.W``
    (hidden_dim, K), ``fc2.b``. Weights start as ``weight_scale * N(0, 1)``.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        super().__init__(input_dim=input_dim, conv_blocks=[(num_filters,)],
                         pool_every_block=True, hidden_dims=(hidden_dim,),
                         num_classes=num_classes, reg=reg, init=None, dtype=dtype, seed=seed,
                         filter_size=filter_size, weight_scale=weight_scale)
        self.num_filters = int(num_filters)
        self.hidden_dim = int(hidden_dim)
