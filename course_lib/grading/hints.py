"""Hints for errors that real student code raises, in words a student can act on.

Much code that students bring from older courses ran under numpy 1 and
fails under numpy 2 (the course pins 2.4); other errors have one usual cause
in these assignments. :func:`error_hint` maps the text of an exception (as
the runner describes it: ``Type: message`` and the student's frames) to a
sentence that names the fix, or ``""``.
"""
import re

__all__ = ["error_hint", "ERROR_HINTS"]

# numpy 2 removed these names; numpy's own message names the replacement for
# most removals, but not for these
_REMOVED = {"product": "np.prod", "cumproduct": "np.cumprod", "sometrue": "np.any",
            "alltrue": "np.all", "in1d": "np.isin", "trapz": "np.trapezoid",
            "msort": "np.sort(a, axis=0)", "asscalar": "a.item()", "float": "float",
            "int": "int", "bool": "bool", "object": "object", "str": "str",
            "complex": "complex", "long": "int", "unicode": "str"}

#: (regular expression on the error text, hint); the first match wins
ERROR_HINTS = (
    (r"unexpected keyword argument 'newshape'",
     "numpy 2 renamed reshape's `newshape` argument: write np.reshape(a, shape) or "
     "a.reshape(shape)."),
    (r"only (0-dimensional|length-1|size-1) arrays can be converted to Python scalars",
     "int() or float() of an array works only for a 0-d array in numpy 2: take the number "
     "out with .item() (or index it: a[0]), or keep working with the array."),
    (r"inhomogeneous shape",
     "np.array(...) of pieces with different lengths fails (e.g. the folds of np.array_split "
     "when N is not a multiple of the number of folds): keep the pieces in a list and join "
     "the ones you need with np.concatenate."),
    (r"module 'numpy' has no attribute '(%s)'" % "|".join(_REMOVED),
     lambda m: (f"np.{m.group(1)} no longer exists in numpy 2 (or was removed in 1.24): use "
                f"{_REMOVED[m.group(1)]} instead.")),
    (r"was removed in the NumPy 2\.0 release",
     "That name was removed in numpy 2.0; the error message above names its replacement."),
    (r"Calling np\.sum\(generator\)",
     "np.sum of a generator is not supported: use the built-in sum(...), or build an array "
     "first."),
    (r"operands could not be broadcast together with shapes",
     "Two arrays with incompatible shapes were combined: print the shapes of the operands "
     "on that line (a missing keepdims=True, or a transposed array, is the usual cause)."),
    (r"(index|indices) .* out of bounds",
     "An index past the end of an array: check the loop bounds and the shapes they come "
     "from."),
    (r"^NameError: name '(\w+)' is not defined",
     lambda m: (f"{m.group(1)} is not defined when your solution cells run on their own: "
                "the grader runs only the solution cells, in order, so a name defined in "
                "another (non-solution) cell of the notebook is missing. Import or define it "
                "inside your solution cell.")),
)


def error_hint(text):
    """The hint for an error text (``""`` when none applies)."""
    for pattern, hint in ERROR_HINTS:
        match = re.search(pattern, text, flags=re.MULTILINE)
        if match:
            return hint(match) if callable(hint) else hint
    return ""
