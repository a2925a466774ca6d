"""Reading what the grader needs out of notebooks.

- :func:`solution_cells`: the student's code, taken only from solution
  cells with a known grade id (everything else in a submission is the
  instructor's, restored by nbgrader, or ignored);
- :func:`item_names`: the items a hidden test cell names with
  ``grade_item("...")``, read from the instructor's source text.
"""
import ast
import functools
import json
import re
import warnings

__all__ = ["solution_cells", "code_solution_ids", "item_names", "strip_hidden_tests",
           "read_submission", "MalformedNotebook", "MAX_NOTEBOOK_BYTES"]

MAX_NOTEBOOK_BYTES = 64 * 1024 ** 2
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # nbformat 4.5's schema for cell ids


class MalformedNotebook(ValueError):
    """A submitted notebook that cannot be graded, with a reason for the student."""


def read_submission(path, max_bytes=MAX_NOTEBOOK_BYTES):
    """``(nb, repairs)`` for a submitted notebook, or :class:`MalformedNotebook`.

    Repairs what does not change the student's code (missing or duplicated
    cell ids, an older nbformat 4 minor version, outputs dropped when the
    file is large) and lists them; refuses, with a reason the feedback can
    show, what cannot be read as a notebook: not UTF-8 JSON, not nbformat 4
    (or 3, which is converted), a size over ``max_bytes``, cells that are
    not a list.
    """
    import nbformat
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise MalformedNotebook(f"the notebook file could not be read ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise MalformedNotebook(f"the notebook is larger than {max_bytes // 1024 ** 2} MB "
                                "(clear the outputs: Kernel > Restart & Clear Output, then "
                                "save and submit again)")
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedNotebook(f"the notebook is not UTF-8 text (byte {exc.start})") from None
    except ValueError as exc:
        raise MalformedNotebook(f"the notebook is not valid JSON ({exc}); was it edited "
                                "outside Jupyter or cut off while saving?") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", []), list):
        raise MalformedNotebook("the file is JSON but not a notebook (no list of cells)")
    major = raw.get("nbformat")
    if major not in (3, 4):
        raise MalformedNotebook(f"the notebook has nbformat {major!r}; only version 4 "
                                "(what Jupyter writes) can be graded")
    repairs = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises many types on odd content
        raise MalformedNotebook(f"the notebook could not be read by nbformat ({exc})") from None
    if any("cell id" in str(w.message) for w in caught):
        repairs.append("missing, duplicated or invalid cell ids renumbered")
    if major == 3:
        repairs.append("converted from nbformat 3")
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str):
            raise MalformedNotebook("a cell's source is not text")
    seen = set()
    for index, cell in enumerate(nb.cells):
        cid = cell.get("id")
        if not isinstance(cid, str) or not _CELL_ID.fullmatch(cid) or cid in seen:
            cell["id"] = f"cell-{index}"
            while cell["id"] in seen:
                cell["id"] += "x"
            repairs.append("missing, duplicated or invalid cell ids renumbered")
        seen.add(cell["id"])
    return nb, sorted(set(repairs))

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


@functools.lru_cache(maxsize=1024)
def item_names(source):
    """Names in the ``grade_item("...")`` calls of a test cell's source, as
    a tuple (cached: the instructor's test cells are parsed once per process)."""
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
    return tuple(sorted(set(names), key=names.index))


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
