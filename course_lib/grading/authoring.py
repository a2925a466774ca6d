"""Build an assignment's nbgrader source notebook from Python.

A builder script (``solutions/build_a1.py``) lists cells with these
helpers and writes ``solutions/<id>/<id>.ipynb``; that committed notebook
is nbgrader's source. The helpers set the nbgrader metadata, give every
cell a stable id, and take each test cell's points from the check specs,
so the notebook and the grader cannot disagree::

    cells = [
        md("# A1 ..."),
        code("import numpy as np"),
        solution("svm_loss_naive", '''
            def svm_loss_naive(W, X, y, reg):
                ### BEGIN SOLUTION
                ...
                ### END SOLUTION
        '''),
        tests("a1.svm_loss_naive", visible='''
            with visible_test("svm_loss_naive"):
                ...
        '''),
        answer("inline_q1", 2, "YOUR ANSWER HERE"),
    ]
    write_notebook(cells, "solutions/a1_knn_linear/a1_knn_linear.ipynb")
"""
import textwrap

import nbformat
import numpy as np

from .registry import find_item

__all__ = ["md", "code", "solution", "tests", "answer", "write_notebook",
           "HIDDEN_BEGIN", "HIDDEN_END", "test_cell_id", "toy", "lit", "array_lit"]

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _text(source):
    return textwrap.dedent(source).strip("\n")


def md(source):
    """A plain markdown cell."""
    return nbformat.v4.new_markdown_cell(_text(source))


def code(source):
    """A plain code cell (instructor's code; not graded, not locked)."""
    return nbformat.v4.new_code_cell(_text(source))


def _nbgrader(cell, grade_id, grade, solution, locked, points=None):
    meta = {"grade": grade, "solution": solution, "locked": locked,
            "grade_id": grade_id, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    cell["id"] = grade_id.replace("_", "-")
    return cell


def solution(grade_id, source):
    """A code cell the student edits between ``### BEGIN/END SOLUTION``."""
    return _nbgrader(code(source), grade_id, grade=False, solution=True, locked=False)


def test_cell_id(item_name):
    """Grade id of the test cell that grades ``item_name``: ``test_<func>``."""
    return "test_" + item_name.split(".", 1)[1]


def tests(*item_names, visible="", setup=""):
    """A locked, autograded test cell: ``setup`` (unindented code, e.g. toy
    inputs), visible tests, then a hidden region naming the items it
    grades. Its points are the items' total."""
    points = sum(find_item(name)[1].points for name in item_names)
    calls = [f'grade_item("{name}")' for name in item_names]
    last = calls[0] if len(calls) == 1 else "sum([" + ", ".join(calls) + "])"
    hidden = [HIDDEN_BEGIN, "from course_lib.grading import grade_item", last, HIDDEN_END]
    visible = "\n".join(part for part in (_text(setup), _text(visible)) if part)
    body = (visible + "\n\n" if visible else "") + "\n".join(hidden)
    cell = nbformat.v4.new_code_cell(body)
    return _nbgrader(cell, test_cell_id(item_names[0]), grade=True, solution=False,
                     locked=True, points=points)


def answer(grade_id, points, source):
    """A manually graded markdown answer (an inline question's reply)."""
    return _nbgrader(md(source), grade_id, grade=True, solution=True, locked=False,
                     points=points)


def write_notebook(cells, path):
    """Write the notebook (stable cell ids, Python 3 kernel) to ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    seen = set()
    for index, cell in enumerate(cells):
        if "nbgrader" not in cell.metadata:
            cell["id"] = f"cell-{index:03d}"
        if cell["id"] in seen:
            raise ValueError(f"two cells with id {cell['id']!r}")
        seen.add(cell["id"])
    nb.cells = cells
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    return nb


# ---- literals for visible tests ---------------------------------------------

def toy(snippet):
    """Run a visible test's input snippet in the builder too, so its expected
    numbers come from exactly the arrays the student's cell builds.
    Returns ``(snippet, namespace)``."""
    namespace = {"np": np}
    exec(snippet, namespace)
    return snippet, namespace


# Expected values are written with LITERAL_DIGITS significant digits (of the
# largest entry, for an array): far finer than any visible check's tolerance
# (1e-8 relative to the largest entry, or looser), far coarser than the
# last-digit differences between BLAS builds, CPUs and thread counts (around
# 1e-16 relative). So a rebuild on another machine writes the same notebook,
# byte for byte. An array is rounded on one grid, set by its largest entry: an
# entry that should be 0 but comes out as 1e-17 on one machine and -3e-17 on
# another is written as 0.0 on both.
LITERAL_DIGITS = 10


def _fixed_text(x, decimals):
    """``x`` rounded to ``decimals`` places, as a short float literal."""
    text = f"{float(x):.{decimals}f}" if decimals > 0 else f"{round(float(x))}.0"
    if "." in text:
        text = text.rstrip("0")
        text = text + "0" if text.endswith(".") else text
    return "0.0" if text in ("-0.0",) else text


def _grid_texts(values):
    """Literals for the float ``values``, rounded on one grid of
    LITERAL_DIGITS significant digits of the largest magnitude."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("an expected value is NaN or infinite")
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if largest == 0.0:
        return ["0.0"] * values.size
    decimals = LITERAL_DIGITS - 1 - int(np.floor(np.log10(largest)))
    if decimals > 24:          # tiny numbers: keep them in e-notation instead
        return [f"{v:.{LITERAL_DIGITS}e}" for v in values.ravel()]
    return [_fixed_text(v, decimals) for v in values.ravel()]


def lit(x):
    """A float literal of ``x`` with LITERAL_DIGITS significant digits."""
    return _grid_texts([x])[0]


def array_lit(a):
    """An ``np.array([...])`` literal of float ``a``, all entries rounded on
    the grid of LITERAL_DIGITS significant digits of the largest one."""
    a = np.asarray(a, dtype=np.float64)
    texts = iter(_grid_texts(a))

    def nest(shape):
        if not shape:
            return next(texts)
        return "[" + ", ".join(nest(shape[1:]) for _ in range(shape[0])) + "]"
    return f"np.array({nest(a.shape)})"
