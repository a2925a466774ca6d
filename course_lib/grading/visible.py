"""Helpers for the visible tests of the assignment notebooks.

Visible tests teach: they print what was checked, the number obtained,
and what it should be. In your own notebook they never stop a "Run All":
an unfinished function (``NotImplementedError``) or a failed check prints a
readable message marked ``[not done]``, ``[FAILED]`` or ``[ERROR]`` and the
notebook goes on. Under ``nbgrader validate`` (which sets
``NBGRADER_EXECUTION=validate``) the same outcomes raise, so that validate
reports exactly the cells that do not pass. They are not the grade; hidden
tests check more cases, on inputs you have not seen::

    with visible_test("svm_loss_naive"):
        loss, dW = svm_loss_naive(W, X_dev, y_dev, 0.0)
        check_shape("dW", dW, W.shape)
        check_close("loss", loss, 8.9951, tol=1e-4)
"""
import os
import time
import traceback
from contextlib import contextmanager

import numpy as np

__all__ = ["visible_test", "check_shape", "check_close", "check_equal", "check_true",
           "check_gradient", "check_accuracy", "timed", "VisibleCheckFailed"]


class VisibleCheckFailed(AssertionError):
    """A visible check did not hold (the message says what to look at)."""


class VisibleTestFailed(Exception):
    """Raised at the end of a failing visible test under ``nbgrader validate``."""

    def _render_traceback_(self):  # IPython shows this instead of a long traceback
        return [f"{type(self).__name__}: {self}"]


def _validating():
    return os.environ.get("NBGRADER_EXECUTION") == "validate"


@contextmanager
def visible_test(name):
    """Run the checks in the ``with`` block and report. Raises only under
    ``nbgrader validate``, after printing the same report."""
    failure = None
    try:
        yield
    except NotImplementedError:
        failure = (f"[not done] {name}: not implemented yet. Write your code in the solution "
                   "cell above (in place of `raise NotImplementedError()`), run that cell, "
                   "then this one.")
    except AssertionError as exc:
        failure = f"[FAILED]  {name}: {exc}"
    except Exception as exc:  # show the student's own error, briefly
        frames = traceback.extract_tb(exc.__traceback__)
        where = next((f"line {f.lineno} of {f.name}" for f in reversed(frames)
                      if "course_lib" not in f.filename), "")
        failure = (f"[ERROR]   {name}: {type(exc).__name__}: {exc}"
                   + (f" ({where})" if where else ""))
    if failure is None:
        print(f"[passed]  {name}: the visible checks pass. The hidden tests check more "
              "cases (edge cases, other shapes).")
        return
    print(failure)
    if _validating():
        raise VisibleTestFailed(failure)


def check_shape(name, value, shape):
    """``value`` is a numpy array of shape ``shape``."""
    if not isinstance(value, np.ndarray):
        raise VisibleCheckFailed(f"{name} should be a numpy array, got {type(value).__name__}")
    if value.shape != tuple(shape):
        raise VisibleCheckFailed(f"{name} has shape {value.shape}, expected {tuple(shape)}")
    print(f"  {name}: shape {value.shape} as expected")


def check_close(name, actual, expected, tol=1e-8):
    """Relative error ``max|a - e| / max|e|`` below ``tol``; prints it."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise VisibleCheckFailed(f"{name} has shape {actual.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(actual)):
        raise VisibleCheckFailed(f"{name} contains NaN or inf")
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-12)
    err = float(np.max(np.abs(actual - expected))) / scale if actual.size else 0.0
    shown = f"{float(actual):.6g}" if actual.ndim == 0 else f"shape {actual.shape}"
    print(f"  {name}: {shown}, relative error {err:.1e} (should be < {tol:.0e})")
    if err >= tol:
        expect = f"{float(expected):.6g}" if expected.ndim == 0 else "the expected values"
        raise VisibleCheckFailed(f"{name} is off: relative error {err:.1e}; expected {expect}")


def check_equal(name, actual, expected):
    """Exact equality of integer arrays (labels)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape or not np.array_equal(actual, expected):
        raise VisibleCheckFailed(f"{name} is {actual.tolist()}, expected {expected.tolist()}")
    print(f"  {name}: {actual.tolist()} as expected")


def check_accuracy(name, accuracy, floor, full):
    """Print ``accuracy`` against a measured item's ramp (nothing at ``floor``
    or below, all the points from ``full``) and fail below ``full``."""
    accuracy = float(accuracy)
    share = min(1.0, max(0.0, (accuracy - floor) / (full - floor)))
    print(f"  {name}: {accuracy:.3f} (all the points from {full:.2f}, none at {floor:.2f} or "
          f"below): {100 * share:.0f}% of the points on these images. The grader trains on "
          "other images, so expect a little more or less.")
    if accuracy < full:
        raise VisibleCheckFailed(f"{name} {accuracy:.3f} is below {full:.2f}, the accuracy that "
                                 "earns all the points: tune your hyperparameters")


def check_true(condition, message):
    """Fail with ``message`` unless ``condition``."""
    if not condition:
        raise VisibleCheckFailed(message)


def check_gradient(f, x, analytic, name="dW", num_checks=8, tol=1e-7, seed=0, h=1e-5,
                   kinks=False):
    """Compare ``analytic`` with centred differences of ``f`` at ``num_checks``
    random entries of ``x``; print the worst relative error.

    The difference is the five-point one, ``(8 (f(x+h) - f(x-h)) - (f(x+2h)
    - f(x-2h))) / 12h``, whose error shrinks like h^4. The two-point one errs
    by about h^2/6 times the third derivative, which on raw pixel values
    (|x| ~ 100) reaches 1e-7 of the gradient and fails a correct answer. The
    relative error's denominator is at least 1e-3 of the largest analytic
    entry, so an entry near zero is not judged on rounding noise alone.

    ``kinks=True`` is for losses with kinks (the SVM's hinge). Where a kink
    lies within ``2h`` of the point, the centred difference mixes two slopes
    and says nothing about the analytic gradient. Such an entry is found by
    comparing the slope from the right with the slope from the left (each
    a second-order one-sided difference, exact for a quadratic piece): on a
    smooth piece they agree to rounding, across a kink they differ by the
    jump. It is skipped (and counted) and another entry drawn, so a wrong
    analytic gradient is still caught on the smooth entries.
    """
    rng = np.random.default_rng(seed)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != np.shape(x):
        raise VisibleCheckFailed(f"{name} has shape {analytic.shape}, expected {np.shape(x)}")
    errors, skipped = [], 0
    floor = max(1e-8, 1e-3 * float(np.max(np.abs(analytic), initial=0.0)))
    for _ in range(50 * num_checks):
        if len(errors) == num_checks:
            break
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        values = _values(f, x, ix, h, (-2, -1, 0, 1, 2) if kinks else (-2, -1, 1, 2))
        numeric = (8 * (values[1] - values[-1]) - (values[2] - values[-2])) / (12 * h)
        if kinks:
            right = (-values[2] + 4 * values[1] - 3 * values[0]) / (2 * h)
            left = (3 * values[0] - 4 * values[-1] + values[-2]) / (2 * h)
            if abs(right - left) > 0.1 * tol * max(abs(right) + abs(left), 1e-8):
                skipped += 1
                continue
        exact = float(analytic[ix])
        errors.append(abs(numeric - exact) / max(floor, abs(numeric) + abs(exact)))
    if not errors:
        raise VisibleCheckFailed(f"every entry of {name} tried lies next to a kink; "
                                 "try another point x")
    worst = float(np.max(errors))
    note = f"; {skipped} entries next to a kink skipped" if skipped else ""
    print(f"  {name}: worst relative error {worst:.1e} over {len(errors)} entries "
          f"(passes below {tol:.0e}{note})")
    if not np.isfinite(worst) or worst >= tol:
        raise VisibleCheckFailed(f"the numerical and analytic {name} disagree "
                                 f"(relative error {worst:.1e}, needs < {tol:.0e})")


def _values(f, x, ix, h, steps):
    """``{k: f(x + k h e_ix)}`` for the ``steps`` k, restoring ``x[ix]``."""
    old = x[ix]
    out = {}
    try:
        for k in steps:
            x[ix] = old + k * h
            out[k] = float(f(x))
    finally:
        x[ix] = old
    return out


@contextmanager
def timed(label):
    """Print how long the block took."""
    start = time.perf_counter()
    yield
    print(f"  {label}: {time.perf_counter() - start:.3f} s")
