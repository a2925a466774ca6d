"""Hints for common errors, and feedback that names where the student's code raised."""
import numpy as np
import pytest

from course_lib.grading.hints import error_hint


def _error_text(code):
    try:
        exec(code, {"np": np})
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError("the code did not raise")


@pytest.mark.parametrize("code, phrase", [
    ("np.reshape(np.arange(4), newshape=(2, 2))", "renamed reshape's `newshape`"),
    ("int(np.array([1.0]))", ".item()"),
    ("np.array([np.arange(3), np.arange(2)])", "np.concatenate"),
    ("np.float(1)", "use float instead"),
    ("np.product([1, 2])", "np.prod"),
    ("np.NaN", "removed in numpy 2.0"),
    ("np.ones(3) + np.ones(4)", "keepdims"),
    ("undefined_name + 1", "solution cells run on their own")])
def test_numpy2_and_common_errors_get_a_hint(code, phrase):
    """Does each error that real (numpy-1 era) student code raises get a hint naming the fix?"""
    assert phrase in error_hint(_error_text(code))


def test_unknown_errors_get_no_hint():
    assert error_hint("ZeroDivisionError: division by zero") == ""


def test_feedback_says_the_error_is_in_the_students_own_function():
    """A crash inside the graded function itself is named as such, before a
    failing dependency is mentioned (and then only as a second thing to fix)."""
    from course_lib.grading.engine import GradingRun
    from course_lib.grading.spec import Assignment, Call, Case, Check, Item
    dep = Item("t.dep", "dep", "dep", (Case("c", "a case", lambda rng, ctx: Call([1.0])),),
               (Check("out", 1, kind="scalar"),), reference=lambda x: 2 * x)
    main = Item("t.main", "main", "main", (Case("c", "a case", lambda rng, ctx: Call([1.0])),),
                (Check("out", 1, kind="scalar"),), reference=lambda x: 4 * x, depends=("t.dep",))
    toy = Assignment(id="t", title="t", notebook="t", items=(dep, main), startup_seconds=10)
    run = GradingRun(toy, seed=0)
    cell = ("def dep(x):\n    return 3 * x\n\n"
            "def main(x):\n    folds = np.array([np.arange(3), np.arange(2)])\n    return dep(x)\n")
    verdict = run.grade([{"grade_id": "cell", "source": cell}])
    text = verdict.items["t.main"].feedback
    assert "The error is raised in your own main (cell 'cell', line 5)" in text, text
    assert "np.concatenate" in text
    assert "does not pass its own checks either" in text and "fix that first" not in text
