"""CS231n-style student solutions of A1-A3, written for issue 15 (fair grades).

``tests/corpus/<alias>/<author>.py`` holds every solution cell of one
assignment as one "author" wrote it, each cell introduced by a line
``# %% <grade_id>``. The comment above the first cell says what the
author's style is and which deviations from the task are deliberate (what
the feedback should name). The files are cell sources, not modules: the
grader runs them after its prelude (``import numpy as np``), so they are
never imported.

- :func:`load`: ``{author: {grade_id: source}}`` of one assignment;
- :func:`submission`: an author's notebook (the solution notebook with
  every solution cell replaced), as a student would hand it in;
- :func:`header`: the author's description; :func:`bugs`: the items its
  last line (``# Bugs: a1.item, ...`` or ``none``) says the deliberate
  deviations should cost points on.
"""
import re
from functools import lru_cache
from pathlib import Path

__all__ = ["ASSIGNMENTS", "authors", "load", "header", "bugs", "cells", "solution_notebook",
           "submission"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: alias -> assignment id (the folder of its solution notebook)
ASSIGNMENTS = {"a1": "a1_knn_linear", "a2": "a2_fc_nets", "a3": "a3_convnets"}
_MARK = re.compile(r"^# %% (\S+)[ \t]*$", re.MULTILINE)


def _folder(alias):
    if alias not in ASSIGNMENTS:
        raise KeyError(f"unknown assignment {alias!r}; known: {sorted(ASSIGNMENTS)}")
    return HERE / alias


def authors(alias):
    """Names of the authors of ``alias`` (file names without ``.py``), sorted."""
    return sorted(p.stem for p in _folder(alias).glob("*.py") if not p.name.startswith("_"))


def _split(text, where):
    """``(header, {grade_id: source})`` of one author's file."""
    marks = list(_MARK.finditer(text))
    if not marks:
        raise ValueError(f"{where}: no '# %% <grade_id>' line")
    head = "\n".join(line[1:].strip() if line.startswith("#") else line
                     for line in text[:marks[0].start()].strip().splitlines())
    out = {}
    for mark, after in zip(marks, marks[1:] + [None]):
        grade_id = mark.group(1)
        if grade_id in out:
            raise ValueError(f"{where}: cell {grade_id!r} occurs twice")
        end = after.start() if after is not None else len(text)
        out[grade_id] = text[mark.end():end].strip("\n") + "\n"
    return head, out


@lru_cache(maxsize=None)
def _read(alias, author):
    path = _folder(alias) / f"{author}.py"
    head, sources = _split(path.read_text(encoding="utf-8"), path.relative_to(ROOT))
    wanted = _solution_ids(alias)
    missing, extra = sorted(wanted - set(sources)), sorted(set(sources) - wanted)
    if missing or extra:
        raise ValueError(f"{path.relative_to(ROOT)}: the cells must be exactly the solution "
                         f"cells of {ASSIGNMENTS[alias]}; missing {missing}, unknown {extra}")
    return head, sources


def load(alias):
    """``{author: {grade_id: source}}`` of every author of ``alias``."""
    return {author: dict(_read(alias, author)[1]) for author in authors(alias)}


def header(alias, author):
    """The author's description: style and deliberate deviations."""
    return _read(alias, author)[0]


def bugs(alias, author):
    """Item names (``a1.predict_labels``, ...) on which the author's deliberate
    deviations should cost points: the header's ``Bugs:`` list."""
    head = header(alias, author)
    if "Bugs:" not in head:
        raise ValueError(f"tests/corpus/{alias}/{author}.py: the header has no 'Bugs:' line")
    names = [n.strip() for n in head.split("Bugs:", 1)[1].replace("\n", " ").split(",")]
    if names == ["none"]:
        return ()
    from course_lib.grading.registry import get_assignment
    known = {item.name for item in get_assignment(alias).items}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"tests/corpus/{alias}/{author}.py: 'Bugs:' names unknown items "
                         f"{unknown}; items: {sorted(known)}")
    return tuple(names)


def cells(alias, author):
    """``[{"grade_id", "source"}]`` in notebook order: what the grader takes
    from the author's notebook (see :func:`submission`)."""
    sources = _read(alias, author)[1]
    return [{"grade_id": gid, "source": sources[gid]} for gid in _solution_order(alias)]


@lru_cache(maxsize=None)
def _solution_nb(alias):
    from course_lib.grading.testing import read_notebook
    aid = ASSIGNMENTS[alias]
    return read_notebook(ROOT / "solutions" / aid / f"{aid}.ipynb")


def solution_notebook(alias):
    """A copy of the instructor's solution notebook of ``alias``."""
    import copy
    return copy.deepcopy(_solution_nb(alias))


def _solution_order(alias):
    return [c.metadata["nbgrader"]["grade_id"] for c in _solution_nb(alias).cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def _solution_ids(alias):
    return set(_solution_order(alias))


def submission(alias, author):
    """The author's notebook: the solution notebook of ``alias`` with every
    solution cell replaced by the author's (``testing.make_submission``)."""
    from course_lib.grading.testing import make_submission
    nb = _solution_nb(alias)
    for grade_id, source in _read(alias, author)[1].items():
        nb = make_submission(nb, grade_id, source=source)
    return nb
