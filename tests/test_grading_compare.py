"""Strict comparisons of returned values against the reference."""
import numpy as np
import pytest

from course_lib.grading.compare import (AccuracyRamp, Missing, Unsupported, accuracy_verdict,
                                        compare, relative_error, select)


def test_exact_array_passes():
    """Does an equal array of the right shape and dtype pass?"""
    e = np.arange(6.0).reshape(2, 3)
    assert compare(e.copy(), e) == (True, "")


def test_broadcastable_shape_is_rejected():
    """Is an array that would broadcast (shape (3,) for (2, 3)) rejected with both shapes?"""
    ok, msg = compare(np.zeros(3), np.zeros((2, 3)), name="dW")
    assert not ok and "(3,)" in msg and "(2, 3)" in msg


def test_transposed_shape_gets_a_hint():
    """Does a transposed result say 'transposed?'?"""
    ok, msg = compare(np.zeros((3, 2)), np.zeros((2, 3)), name="dW")
    assert not ok and "transposed" in msg


def test_nan_never_passes():
    """Is a NaN rejected even where the reference is NaN-free and tolerance is huge?"""
    a = np.array([1.0, np.nan])
    ok, msg = compare(a, np.array([1.0, 2.0]), rtol=1e9)
    assert not ok and "NaN" in msg


def test_tolerance_is_relative_to_the_largest_entry():
    """Is the error measured against the size of the quantity, not entry by entry?"""
    expected = np.array([1000.0, 1e-9])
    actual = np.array([1000.0, 2e-9])  # tiny entry off by 100%, irrelevant at this scale
    assert compare(actual, expected, rtol=1e-8)[0]
    ok, msg = compare(np.array([1001.0, 1e-9]), expected, rtol=1e-6)
    assert not ok and "relative error 1.0e-03" in msg
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0


def test_integer_array_for_float_output_is_rejected():
    """Is an integer array rejected where the reference is floating point?"""
    ok, msg = compare(np.zeros((2, 2), dtype=int), np.zeros((2, 2)))
    assert not ok and "floating point" in msg


def test_scalar_rules():
    """Are numbers and 0-d arrays accepted for a scalar, but not a (1,) array or a bool?"""
    assert compare(2.5, 2.5, kind="scalar")[0]
    assert compare(np.array(2.5), 2.5, kind="scalar")[0]
    ok, msg = compare(np.array([2.5]), 2.5, kind="scalar", name="loss")
    assert not ok and "float(" in msg
    assert not compare(True, 1.0, kind="scalar")[0]
    ok, msg = compare(float("inf"), 2.5, kind="scalar", name="loss")
    assert not ok and "not a finite number" in msg


def test_labels_must_be_integers_and_equal():
    """Are float labels rejected, and wrong labels counted?"""
    expected = np.array([1, 2, 3])
    ok, msg = compare(expected.astype(float), expected, kind="labels", name="y_pred")
    assert not ok and "integers" in msg
    ok, msg = compare(np.array([1, 0, 3]), expected, kind="labels", name="y_pred")
    assert not ok and "1 of 3" in msg
    assert compare(expected.copy(), expected, kind="labels")[0]


def test_unsupported_object_is_described():
    """Does a non-array object (e.g. a matrix subclass) fail with its type named?"""
    ok, msg = compare(Unsupported("numpy.matrix"), np.zeros((2, 2)), name="dW")
    assert not ok and "numpy.matrix" in msg


@pytest.mark.parametrize("value,path,expected", [
    ((1.0, {"W1": 5}), "1.W1", 5),
    ((1.0, 2.0), "0", 1.0),
    (np.ones(2), "", None),
])
def test_select_paths(value, path, expected):
    """Does an output path pick the right part of a returned value?"""
    got = select(value, path)
    if expected is None:
        assert got is value
    else:
        assert got == expected


def test_select_missing_parts_explain_what_was_returned():
    """Does a missing tuple element or dict key say what the function returned?"""
    assert "a number" in select(3.0, "1").why
    assert isinstance(select((1.0,), "1"), Missing)
    assert "without the key 'b1'" in select({"W1": 1}, "b1").why


def test_accuracy_verdict_gives_partial_credit_on_a_ramp():
    """Does an accuracy earn nothing at the floor, all at the aim, a straight
    line in between, and say so?"""
    y = np.array([0, 1, 2, 1])
    scores = np.eye(3)[[0, 1, 2, 0]]  # 3 of 4 right
    fraction, text = accuracy_verdict(scores, y, AccuracyRamp(0.5, 0.75))
    assert fraction == 1.0 and "0.750" in text and "4 held-out" in text and "100%" in text
    fraction, text = accuracy_verdict(scores, y, AccuracyRamp(0.7, 0.8))
    assert fraction == pytest.approx(0.5) and "50% of the points" in text
    fraction, text = accuracy_verdict(scores, y, AccuracyRamp(0.75, 0.9))
    assert fraction == 0.0 and "0% at 0.75 or below" in text
    with pytest.raises(ValueError):
        AccuracyRamp(0.5, 0.4)
