"""Reading notebooks for grading, writing scores into test cells (importing
submissions: test_grading_collect.py)."""
import nbformat

from course_lib.grading.notebooks import item_names, solution_cells, strip_hidden_tests
from course_lib.grading.preprocessors import SandboxGrade, StripHiddenTests
from course_lib.grading.report import ItemVerdict, Verdict

TEST_SOURCE = ('with visible_test("f"):\n    check_true(f(1) == 2, "f(1)")\n\n'
               "### BEGIN HIDDEN TESTS\nfrom course_lib.grading import grade_item\n"
               'sum([grade_item("a1.f"), grade_item("a1.g")])\n### END HIDDEN TESTS')


def _cell(grade_id, source, solution=False, grade=False, points=None, cell_type="code"):
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": grade,
                                 "locked": grade and not solution, "schema_version": 3}
    if points is not None:
        cell.metadata["nbgrader"]["points"] = points
    return cell


def test_item_names_and_hidden_test_stripping():
    """Are the graded items read from a test cell, and is the hidden region removed whole?"""
    assert item_names(TEST_SOURCE) == ("a1.f", "a1.g")
    visible = strip_hidden_tests(TEST_SOURCE)
    assert "grade_item" not in visible and "HIDDEN" not in visible
    assert visible.startswith('with visible_test("f")')
    cell = nbformat.v4.new_code_cell(TEST_SOURCE)
    StripHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == visible


def test_solution_cells_by_grade_id_last_duplicate_wins():
    """Are only known solution ids taken, in order, the last of duplicates kept?"""
    nb = nbformat.v4.new_notebook(cells=[
        _cell("f", "def f(x): return 1", solution=True),
        _cell("g", "def g(x): return 2", solution=True),
        _cell("intruder", "import os", solution=True),
        nbformat.v4.new_code_cell("X = 1"),
        _cell("f", "def f(x): return 2 * x", solution=True, cell_type="markdown"),
    ])
    cells = solution_cells(nb, {"f", "g"})
    assert [c["grade_id"] for c in cells] == ["g", "f"]
    assert cells[1]["source"] == "def f(x): return 2 * x"


def test_scores_go_to_stdout_and_execute_result_never_stderr():
    """Does a test cell get the feedback on stdout and the clamped points as its result?"""
    verdict = Verdict("a1_knn_linear", 0, items={
        "a1.f": ItemVerdict("a1.f", "f", 2.0, 2.0, feedback="f: 2 / 2 points"),
        "a1.g": ItemVerdict("a1.g", "g", 1.0, 3.0, feedback="g: 1 / 3 points")})
    cell = _cell("test_f", TEST_SOURCE, grade=True, points=4)
    SandboxGrade()._write(cell, ["a1.f", "a1.g"], verdict)
    kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
    assert kinds == [("stream", "stdout"), ("execute_result", None)]
    assert "f: 2 / 2" in cell.outputs[0].text and "g: 1 / 3" in cell.outputs[0].text
    assert cell.outputs[1].data["text/plain"] == "3.0"
    from nbgrader.utils import determine_grade
    assert determine_grade(cell) == (3.0, 4.0)
    lonely = _cell("test_h", "print('no hidden test')", grade=True, points=2)
    SandboxGrade()._write(lonely, [], verdict)
    assert determine_grade(lonely) == (0.0, 2.0)
