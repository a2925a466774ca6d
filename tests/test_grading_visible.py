"""course_lib.grading.visible: what a student sees in the notebook tells the
truth (kinks do not fail a correct gradient, low accuracy does not pass, and
nbgrader validate fails exactly when a visible test does)."""
import numpy as np
import pytest

from course_lib.grading.visible import (VisibleCheckFailed, check_accuracy, check_gradient,
                                        visible_test)


def _hinge_problem():
    """An SVM-like loss with a kink: f(W) = sum max(0, X @ W + 1) over a batch
    whose margins sit within h of 0 for some entries, and its gradient."""
    rng = np.random.default_rng(3)
    X = rng.normal(0, 100, (40, 30))
    W = rng.normal(0, 1e-3, (30, 5))
    margins = X @ W
    # move some margins to within 1e-7 of the kink at -1 (closer than h * |x|)
    margins[:12, 0] = -1.0 + 1e-7
    offset = margins - X @ W
    f = lambda w: float(np.maximum(0, X @ w + offset + 1).sum())  # noqa: E731
    grad = X.T @ ((X @ W + offset + 1) > 0).astype(float)
    return f, W, grad


def test_kinks_are_skipped_and_a_wrong_gradient_still_fails(capsys):
    """With kinks=True, does a correct gradient pass where plain centred
    differences report errors near the kink, and does a wrong one fail?"""
    f, W, grad = _hinge_problem()
    with pytest.raises(VisibleCheckFailed):   # the kink shows up without the guard
        check_gradient(f, W.copy(), grad, num_checks=60, tol=1e-6, seed=1)
    check_gradient(f, W.copy(), grad, num_checks=60, tol=1e-6, seed=1, kinks=True)
    assert "next to a kink skipped" in capsys.readouterr().out
    wrong = grad.copy()
    wrong[:, 1:] *= 1.01
    with pytest.raises(VisibleCheckFailed, match="disagree"):
        check_gradient(f, W.copy(), wrong, num_checks=30, tol=1e-6, seed=2, kinks=True)


def test_accuracy_below_full_marks_fails(capsys):
    """Does an accuracy below the full-marks aim fail (and one above pass)?"""
    with pytest.raises(VisibleCheckFailed, match="below 0.30"):
        check_accuracy("validation accuracy", 0.27, 0.2, 0.3)
    assert "70% of the points" in capsys.readouterr().out
    check_accuracy("validation accuracy", 0.31, 0.2, 0.3)


@pytest.mark.parametrize("validating", [False, True])
@pytest.mark.parametrize("body, mark", [
    ("raise NotImplementedError()", "[not done]"),
    ("raise VisibleCheckFailed('off by 2')", "[FAILED]"),
    ("1 / 0", "[ERROR]"),
    ("pass", "[passed]")])
def test_visible_test_raises_only_under_validate(monkeypatch, capsys, validating, body, mark):
    """In a notebook a failing visible test prints and goes on; under
    nbgrader validate (NBGRADER_EXECUTION=validate) it raises after printing,
    so validate lists it. A passing one never raises."""
    if validating:
        monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    else:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    raised = False
    try:
        with visible_test("f"):
            exec(body, {"VisibleCheckFailed": VisibleCheckFailed})
    except Exception:  # noqa: BLE001 - the test is whether anything escapes
        raised = True
    assert mark in capsys.readouterr().out
    assert raised == (validating and mark != "[passed]")


def test_a_correct_gradient_on_raw_pixel_values_passes_and_a_missing_term_fails():
    """Softmax on unscaled pixels (|x| up to ~180): the third derivative is
    ~1e6 there, so two-point centred differences err by ~1e-7 of the gradient
    and failed a correct answer at tol 1e-7 (CI, a1). Does the five-point
    difference pass it on every seed, and does dropping the regularization
    gradient still fail?"""
    from course_lib.classifiers.linear_loss import softmax_loss_vectorized
    rng = np.random.default_rng(0)
    X = np.hstack([rng.uniform(0, 180, (50, 300)), np.ones((50, 1))])
    y = rng.integers(0, 10, 50)
    W = 1e-4 * rng.standard_normal((301, 10))
    f = lambda w: softmax_loss_vectorized(w, X, y, 1e2)[0]  # noqa: E731
    _, grad = softmax_loss_vectorized(W, X, y, 1e2)
    for seed in range(5):
        check_gradient(f, W, grad, seed=seed)
    with pytest.raises(VisibleCheckFailed, match="disagree"):
        check_gradient(f, W, grad - 2 * 1e2 * W)
