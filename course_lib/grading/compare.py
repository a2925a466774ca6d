"""Judge one returned value against the reference, in words a student can act on.

Every comparison is strict about what it accepts: an array must be exactly
an ``np.ndarray`` of the reference's shape and dtype kind, finite, and
within a relative tolerance measured against the size of the quantity
(``max|a - e| / max|e|``, so a gradient's tiny entries do not blow up the
error and a NaN never passes). Nothing broadcasts.
"""
import math

import numpy as np

__all__ = ["Unsupported", "select", "describe", "compare", "relative_error", "accuracy_verdict",
           "AccuracyRamp"]

SCALE_FLOOR = 1e-8  # below this, errors are measured in absolute terms


class Unsupported:
    """A returned object the runner could not pass on as data."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


class Missing:
    """The path into the result does not exist."""

    def __init__(self, why):
        self.why = why


def select(value, path):
    """The part of ``value`` that ``path`` ("", "1", "1.W1") points to, or
    a :class:`Missing` that says why it is not there."""
    if not path:
        return value
    for step in path.split("."):
        if isinstance(value, (tuple, list)) and step.isdigit():
            index = int(step)
            if index >= len(value):
                return Missing(f"returned {describe(value)}; expected at least {index + 1} values")
            value = value[index]
        elif isinstance(value, dict):
            if step not in value:
                return Missing(f"returned a dict without the key {step!r} "
                               f"(keys: {sorted(value)[:10]})")
            value = value[step]
        else:
            return Missing(f"returned {describe(value)}; expected a tuple or dict here")
    return value


def describe(value):
    """A short description of a returned value's type and shape."""
    if isinstance(value, Unsupported):
        return f"an object of type {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, (int, float)):
        return f"a number ({type(value).__name__})"
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    if isinstance(value, list):
        return f"a list of {len(value)} values"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)[:10]}"
    return type(value).__name__


def relative_error(actual, expected, floor=SCALE_FLOOR):
    """``max|a - e| / max(max|e|, floor)`` in float64."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(expected))), floor)
    return float(np.max(np.abs(actual - expected))) / scale


def _as_real(value):
    """A Python float from a number or a 0-d float/int array, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "fiu":
        return float(value)
    return None


def compare(actual, expected, kind="array", rtol=1e-6, name="the result"):
    """``(ok, message)`` for one output. ``message`` is empty when ok."""
    if isinstance(actual, Missing):
        return False, actual.why
    if kind == "scalar":
        return _compare_scalar(actual, expected, rtol, name)
    if kind == "labels":
        return _compare_labels(actual, expected, name)
    return _compare_array(actual, expected, rtol, name)


def _compare_scalar(actual, expected, rtol, name):
    value = _as_real(actual)
    if value is None:
        extra = ""
        if isinstance(actual, np.ndarray) and actual.size == 1:
            extra = f" (use float(...) to turn the shape-{actual.shape} array into a number)"
        return False, f"{name} should be a number; got {describe(actual)}{extra}"
    if not math.isfinite(value):
        return False, f"{name} is {value}, not a finite number"
    err = relative_error(value, expected)
    if err > rtol:
        return False, f"{name} is off: relative error {err:.1e}, tolerance {rtol:.0e}"
    return True, ""


def _compare_labels(actual, expected, name):
    if not isinstance(actual, np.ndarray):
        return False, f"{name} should be a numpy array of integer labels; got {describe(actual)}"
    if actual.shape != expected.shape:
        return False, f"{name} has shape {actual.shape}; expected {expected.shape}"
    if actual.dtype.kind not in "iu":
        return False, (f"{name} has dtype {actual.dtype}; labels must be integers "
                       "(create the array with dtype=int, or use .astype(int))")
    wrong = int(np.count_nonzero(actual != expected))
    if wrong:
        return False, f"{wrong} of {actual.size} entries of {name} differ from the expected ones"
    return True, ""


def _compare_array(actual, expected, rtol, name):
    expected = np.asarray(expected)
    if isinstance(actual, list) and expected.ndim == 1 and all(
            _as_real(v) is not None for v in actual):
        actual = np.array([_as_real(v) for v in actual])  # a list of numbers is fine
    if not isinstance(actual, np.ndarray):
        return False, (f"{name} should be a numpy array of shape {expected.shape}; "
                       f"got {describe(actual)}")
    if actual.shape != expected.shape:
        hint = ""
        squeezed = tuple(n for n in actual.shape if n != 1)
        if actual.ndim == 2 and actual.shape == expected.shape[::-1] and actual.ndim > 1 \
                and actual.shape[0] != actual.shape[1]:
            hint = " (transposed?)"
        elif actual.size == expected.size and squeezed == tuple(n for n in expected.shape
                                                                if n != 1):
            hint = (" (an extra axis of length 1: keepdims=True, or a reshape to a row or "
                    f"column; this course returns shape {expected.shape}, e.g. "
                    "x.mean(axis=0) without keepdims, or .reshape(-1))")
        elif actual.size == expected.size:
            hint = " (same number of entries: check your reshape)"
        return False, f"{name} has shape {actual.shape}; expected {expected.shape}{hint}"
    if expected.dtype.kind == "f" and actual.dtype.kind != "f":
        return False, (f"{name} has dtype {actual.dtype}; expected floating point "
                       "(an integer array truncates every value you store in it)")
    if actual.dtype.kind not in "fiu":
        return False, f"{name} has dtype {actual.dtype}; expected numbers"
    bad = ~np.isfinite(actual) if actual.dtype.kind == "f" else np.zeros(actual.shape, bool)
    if bad.any():
        return False, (f"{name} contains {int(bad.sum())} NaN or infinite "
                       f"{'entry' if bad.sum() == 1 else 'entries'}")
    err = relative_error(actual, expected)
    if err > rtol:
        hint = ""
        if actual.dtype == np.float32:
            hint = " (your array is float32; compute in float64)"
        return False, f"{name} is off: relative error {err:.1e}, tolerance {rtol:.0e}{hint}"
    return True, ""


class AccuracyRamp:
    """Partial credit for a measured accuracy: nothing at or below ``floor``,
    everything from ``full`` on, a straight line in between (so a result
    near the aim costs a little, not all the points)."""

    def __init__(self, floor, full):
        if not 0 <= floor < full <= 1:
            raise ValueError(f"need 0 <= floor < full <= 1; got {floor}, {full}")
        self.floor, self.full = float(floor), float(full)

    def fraction(self, accuracy):
        return min(1.0, max(0.0, (accuracy - self.floor) / (self.full - self.floor)))

    def __repr__(self):
        return f"AccuracyRamp({self.floor}, {self.full})"


def accuracy_verdict(scores, y_val, ramp):
    """``(fraction, text)`` for a measured item: the accuracy of
    ``argmax(scores)`` on the held-out labels ``y_val``, and the fraction of
    the points it earns on ``ramp`` (an :class:`AccuracyRamp`)."""
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y_val))
    fraction = ramp.fraction(accuracy)
    text = (f"validation accuracy {accuracy:.3f} on {len(y_val)} held-out images: "
            f"{100 * fraction:.0f}% of the points (0% at {ramp.floor:.2f} or below, "
            f"100% from {ramp.full:.2f})")
    return fraction, text
