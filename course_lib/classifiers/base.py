"""A small estimator base class in the style of scikit-learn, plus the input
checks every classifier in this package shares.

scikit-learn's conventions, kept here without importing it:

- ``__init__`` only stores its arguments, under the same names, so
  ``get_params`` can read them back (and ``clone``-like copies are trivial);
- ``fit(X, y)`` learns and returns ``self``;
- whatever was learned ends in an underscore (``W_``, ``classes_``).

Shapes: ``N`` samples, ``D`` features, ``C`` classes.
"""
import inspect

import numpy as np

__all__ = ["BaseEstimator", "NotFittedError", "check_X", "check_X_y",
           "check_is_fitted", "check_n_features"]


class NotFittedError(RuntimeError):
    """Raised when ``predict`` or ``score`` is called before ``fit``."""


class BaseEstimator:
    """get_params / set_params / repr read from the ``__init__`` signature."""

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD]

    def get_params(self, deep=True):
        """Hyperparameters as a dict ``{name: value}`` (``deep`` is accepted
        for scikit-learn compatibility; these estimators do not nest)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set hyperparameters by name and return ``self``.

        Unknown names raise ``ValueError`` listing the valid ones, so a typo
        such as ``learning_rte`` cannot pass silently.
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}; "
                    f"valid parameters are {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        # Show only the arguments that differ from their defaults, as
        # scikit-learn does, so the repr stays short.
        signature = inspect.signature(type(self).__init__)
        shown = []
        for name in self._param_names():
            value = getattr(self, name)
            default = signature.parameters[name].default
            if default is inspect.Parameter.empty or not _same(value, default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def score(self, X, y):
        """Mean accuracy of ``predict(X)`` against the labels ``y``."""
        y = np.asarray(y)
        y_pred = self.predict(X)
        if y.shape != y_pred.shape:
            raise ValueError(f"y has shape {y.shape} but X gives {y_pred.shape[0]} "
                             "predictions; pass one label per row of X")
        return float(np.mean(y_pred == y))


def _same(a, b):
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):  # arrays compare element-wise
        return False


def check_X(X, name="X"):
    """Return ``X`` as a 2-D numpy array (N, D), with a clear error otherwise."""
    X = np.asarray(X)
    if X.ndim != 2:
        hint = ""
        if X.ndim > 2:
            hint = (f"; flatten each sample first, e.g. {name}.reshape(len({name}), -1) "
                    f"gives shape {(X.shape[0], int(np.prod(X.shape[1:])))}")
        elif X.ndim == 1:
            hint = (f"; for a single sample use {name}.reshape(1, -1), for a single "
                    f"feature {name}.reshape(-1, 1)")
        raise ValueError(f"{name} must be a 2-D array (N, D) with one sample per row, "
                         f"got shape {X.shape}{hint}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {X.dtype}")
    return X


def check_X_y(X, y):
    """Return ``(X, y)`` as arrays (N, D) and (N,), checking they match."""
    X = check_X(X)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of N labels, got shape {y.shape}"
                         + ("; use y.ravel()" if y.size == len(y) else ""))
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} samples (shape {X.shape}) but y has "
                         f"{len(y)} labels; they must match")
    if len(y) == 0:
        raise ValueError("cannot fit on an empty training set (N = 0)")
    return X, y


def check_is_fitted(estimator, attribute):
    """Raise ``NotFittedError`` unless ``estimator`` has ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"this {type(estimator).__name__} is not fitted yet; "
            "call fit(X_train, y_train) before predict or score")


def check_n_features(X, num_features, fitted_shape=None, name="X"):
    """Check that ``X`` has the number of columns the model was fitted on."""
    if X.shape[1] != num_features:
        seen = f"data of shape {fitted_shape}" if fitted_shape else "data"
        raise ValueError(
            f"{name} has shape {X.shape} ({X.shape[1]} features per sample) but the "
            f"model was fitted on {seen} with {num_features} features per sample; "
            "preprocess training and test data the same way")
