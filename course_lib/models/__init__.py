"""Neural network models trained by :class:`course_lib.solver.Solver`.

Each model has ``params`` (a dict named by :mod:`course_lib.models.naming`,
e.g. ``"fc1.W"``) and ``loss(X, y=None)``: scores (N, C) when ``y`` is None,
``(loss, grads)`` when it is given. See :mod:`course_lib.models.base` for the
whole protocol and the L2 convention ``reg * sum(W*W)``.

``save_params(model, path)`` / ``load_params(model, path)`` (in
:mod:`course_lib.models.io`) keep a trained model's parameters in an .npz file.
"""
from course_lib.models.base import Model
from course_lib.models.cnn import ConvNet, ThreeLayerConvNet
from course_lib.models.fc_net import FullyConnectedNet, TwoLayerNet
from course_lib.models.io import load_params, save_params
from course_lib.models.naming import layer_of, param_name, parse_param_name

__all__ = ["Model", "TwoLayerNet", "FullyConnectedNet", "ThreeLayerConvNet", "ConvNet",
           "param_name", "parse_param_name", "layer_of", "save_params", "load_params"]
