"""Reading what the grader needs out of notebooks.

- :func:`solution_cells`: the student's code, taken only from solution
  cells with a known grade id (everything else in a submission is the
  instructor's, restored by nbgrader, or ignored);
- :func:`item_names`: the items a hidden test cell names with
  ``grade_item("...")``, read from the instructor's source text.
"""
import ast

__all__ = ["solution_cells", "code_solution_ids", "item_names", "strip_hidden_tests"]

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def code_solution_ids(nb):
    """Grade ids of the solution code cells of an (instructor's) notebook."""
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def solution_cells(nb, solution_ids):
    """``[{"grade_id", "source"}]`` of the solution cells whose grade id is
    in ``solution_ids`` (the instructor's solution *code* cells), in notebook
    order, whatever type the submission gives them. A grade id that occurs
    twice counts once, at its last occurrence (what nbgrader's
    DeduplicateIds keeps)."""
    chosen = {}
    for index, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not isinstance(meta, dict) or not meta.get("solution"):
            continue
        grade_id = meta.get("grade_id")
        if grade_id not in solution_ids:
            continue
        chosen[grade_id] = (index, cell)
    out = []
    for grade_id, (index, cell) in sorted(chosen.items(), key=lambda kv: kv[1][0]):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        out.append({"grade_id": str(grade_id), "source": str(source)})
    return out


def item_names(source):
    """Names in the ``grade_item("...")`` calls of a test cell's source."""
    from .static import parse
    try:
        tree = parse(source)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "grade_item" and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                names.append(node.args[0].value)
    return sorted(set(names), key=names.index)


def strip_hidden_tests(source):
    """``source`` without its ``### BEGIN/END HIDDEN TESTS`` regions."""
    out, hidden = [], False
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            hidden = True
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out).rstrip()
