"""The one place where parameter names are made and read back.

Every model names its parameters ``"<kind><index>.<attr>"``: ``"fc1.W"`` is
the weight matrix of the first fully connected layer, ``"conv2.b"`` the bias
of the second convolution. Layers of each kind are counted from 1 in the order
the data meets them. A normalization layer's ``gamma`` and ``beta`` carry the
name of the layer whose output they normalize (``"fc1.gamma"``), so that all
parameters of one layer share a prefix and ``layer_of`` groups them.

Only parameters whose attribute is ``"W"`` are L2-regularized (see
``is_weight``): biases and normalization parameters are not.

>>> param_name("fc", 1, "W")
'fc1.W'
>>> parse_param_name("conv12.gamma")
('conv', 12, 'gamma')
>>> layer_of("fc3.b")
'fc3'
"""
import re

__all__ = ["param_name", "layer_name", "parse_param_name", "layer_of", "is_weight",
           "KINDS", "ATTRS"]

KINDS = ("fc", "conv")
ATTRS = ("W", "b", "gamma", "beta")

_PATTERN = re.compile(r"^([a-z]+)([1-9][0-9]*)\.([A-Za-z]+)$")


def layer_name(kind, index):
    """Name of a layer, e.g. ``layer_name("conv", 2) -> "conv2"``."""
    if kind not in KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; use one of {KINDS}")
    if isinstance(index, bool) or not isinstance(index, int) or index < 1:
        raise ValueError(f"layer index must be an integer >= 1, got {index!r}")
    return f"{kind}{index}"


def param_name(kind, index, attr):
    """Name of one parameter array, e.g. ``param_name("fc", 1, "W") -> "fc1.W"``."""
    if attr not in ATTRS:
        raise ValueError(f"unknown parameter attribute {attr!r}; use one of {ATTRS}")
    return f"{layer_name(kind, index)}.{attr}"


def parse_param_name(name):
    """Inverse of ``param_name``: ``"fc1.W" -> ("fc", 1, "W")``."""
    match = _PATTERN.match(name)
    if match is None or match.group(1) not in KINDS or match.group(3) not in ATTRS:
        raise ValueError(f"{name!r} is not a parameter name of the form "
                         f"'<kind><index>.<attr>' with kind in {KINDS} and attr in {ATTRS}")
    return match.group(1), int(match.group(2)), match.group(3)


def layer_of(name):
    """The layer a parameter belongs to: ``"fc1.gamma" -> "fc1"``."""
    kind, index, _ = parse_param_name(name)
    return layer_name(kind, index)


def is_weight(name):
    """True for weight matrices and filters, the parameters L2 regularization acts on."""
    return parse_param_name(name)[2] == "W"
