"""Helpers for the visible tests of the assignment notebooks.

Visible tests teach: they print what was checked, the number obtained,
and what it should be. They never stop a "Run All": an unfinished
function (``NotImplementedError``) or a failed check prints a readable
message and the notebook goes on. They are not the grade; hidden tests
check more cases, on inputs you have not seen::

    with visible_test("svm_loss_naive"):
        loss, dW = svm_loss_naive(W, X_dev, y_dev, 0.0)
        check_shape("dW", dW, W.shape)
        check_close("loss", loss, 8.9951, tol=1e-4)
"""
import time
import traceback
from contextlib import contextmanager

import numpy as np

__all__ = ["visible_test", "check_shape", "check_close", "check_equal", "check_true",
           "check_gradient", "timed"]


class VisibleCheckFailed(AssertionError):
    """A visible check did not hold (the message says what to look at)."""


@contextmanager
def visible_test(name):
    """Run the checks in the ``with`` block and report; never raise."""
    try:
        yield
    except NotImplementedError:
        print(f"[not done] {name}: not implemented yet. Write your code in the marked region "
              "of the solution cell above, run that cell, then this one.")
    except AssertionError as exc:
        print(f"[FAILED]  {name}: {exc}")
    except Exception as exc:  # show the student's own error, briefly
        frames = traceback.extract_tb(exc.__traceback__)
        where = next((f"line {f.lineno} of {f.name}" for f in reversed(frames)
                      if "course_lib" not in f.filename), "")
        print(f"[ERROR]   {name}: {type(exc).__name__}: {exc}" + (f" ({where})" if where else ""))
    else:
        print(f"[passed]  {name}: the visible checks pass. The hidden tests check more "
              "cases (edge cases, other shapes).")


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


def check_true(condition, message):
    """Fail with ``message`` unless ``condition``."""
    if not condition:
        raise VisibleCheckFailed(message)


def check_gradient(f, x, analytic, name="dW", num_checks=8, tol=1e-7, seed=0):
    """Compare ``analytic`` with centred differences of ``f`` at a few
    random entries of ``x``; print each relative error."""
    from course_lib.gradcheck import grad_check_sparse
    errors = grad_check_sparse(f, x, analytic, num_checks=num_checks, seed=seed)
    worst = float(np.max(errors))
    print(f"  {name}: worst relative error {worst:.1e} over {num_checks} entries "
          f"(should be < {tol:.0e}; around 1e-2 or more means a bug)")
    if worst >= tol:
        raise VisibleCheckFailed(f"the numerical and analytic {name} disagree "
                                 f"(relative error {worst:.1e})")


@contextmanager
def timed(label):
    """Print how long the block took."""
    start = time.perf_counter()
    yield
    print(f"  {label}: {time.perf_counter() - start:.3f} s")
