"""Grading every submission of a corpus on many hidden-input seeds (issue 15).

Shared by ``tests/test_grading_fairness.py`` (which asserts that every
per-item score is the same on every seed and machine) and
``tests/corpus/audit.py`` (which prints what differs, what passes while
wrong, and what the feedback blames).

Submissions of an assignment (:func:`submissions`): every author of
``tests/corpus/<alias>/``, and the project's bug corpus of
``tests/test_grading_<alias>.py`` (the solution, the release, each
``BUGS`` and ``MISUSE`` entry), as the solution cells the grader takes.

Two ways of grading, both through :class:`~course_lib.grading.engine.GradingRun`:

- :func:`grade_unmeasured`: the items that train nothing, in this process
  (``GradingRun.grade_in_process``): no sandbox launch per seed, so 20
  seeds cost about a second per submission. In-process grading judges no
  static check (no-loops, own-loops, use of the reference: the source is
  not analyzed), but those read only the source and cannot depend on the
  seed; everything computed from the hidden inputs is judged as in the
  sandbox (same inputs, references and comparisons).
- :func:`grade_sandboxed`: the whole assignment in the sandbox, as
  ``autograde`` does, measured item included (it trains a model: seconds
  per run, so fewer seeds).
"""
import dataclasses
import warnings
from functools import lru_cache

import numpy as np

from course_lib.grading import runner, static
from course_lib.grading.engine import GradingRun, RunContext
from course_lib.grading.notebooks import code_solution_ids, solution_cells
from course_lib.grading.registry import get_assignment
from course_lib.grading.spec import Student
from course_lib.grading.testing import make_submission, strip_solutions

from . import ASSIGNMENTS, authors, cells, solution_notebook

__all__ = ["SEEDS", "MEASURED_SEEDS", "MACHINE_SEEDS", "NOISE", "BUG_CORPORA", "submissions", "measured_item",
           "measured_cells", "touches_measured", "unmeasured_items", "unmeasured_run",
           "grade_unmeasured", "affected_items", "measured_run", "grade_measured",
           "sandbox_run", "grade_sandboxed", "seed_differences", "describe_difference"]

#: hidden-input seeds for the items that train nothing (issue 15: at least 20)
SEEDS = tuple(range(1, 21))
#: seeds of the measured items, graded in the sandbox (each run trains a
#: model); their protocol does not depend on the seed, so two show a difference
MEASURED_SEEDS = (1, 2)
#: seeds graded on another machine (``tests/test_grading_fairness.py``)
MACHINE_SEEDS = (1, 2)
#: noise of ``write_learnable_cifar10`` per assignment: the reference
#: solution's accuracy lands on or just above the ramp of partial credit
#: (with the default noise every accuracy is 1.0, far from any ramp; A2 at
#: 800 and A3 at 300 put correct authors at chance level)
NOISE = {"a1": 1150.0, "a2": 700.0, "a3": 200.0}
#: the bug corpora: test module of each assignment
BUG_CORPORA = {"a1": "tests.test_grading_a1", "a2": "tests.test_grading_a2",
               "a3": "tests.test_grading_a3"}


def _bug_module(alias):
    import importlib
    return importlib.import_module(BUG_CORPORA[alias])


def _cells_of(nb):
    return solution_cells(nb, code_solution_ids(nb))


@lru_cache(maxsize=None)
def submissions(alias):
    """``{name: [{"grade_id", "source"}]}``: ``corpus/<author>`` for every
    author, then ``solution``, ``release``, ``bug/<name>``, ``misuse/<name>``."""
    out = {f"corpus/{author}": cells(alias, author) for author in authors(alias)}
    nb = solution_notebook(alias)
    out["solution"] = _cells_of(nb)
    out["release"] = _cells_of(strip_solutions(nb))
    module = _bug_module(alias)
    for name, (cell, replacements, *_) in module.BUGS.items():
        out[f"bug/{name}"] = _cells_of(make_submission(nb, cell, *replacements))
    for name, (cell, source, *_) in module.MISUSE.items():
        out[f"misuse/{name}"] = _cells_of(make_submission(nb, cell, source=source))
    return out


# ---- which items train a model, and which cells they run -----------------------

class _DataProbe(RunContext):
    """Stands in for a run's :class:`RunContext` when a case is made only to
    see its call: records whether the case asks for a dataset (what makes
    an item "measured") and hands it blank images."""

    def __init__(self):
        super().__init__(0, key=0)
        self.used = False

    def cifar10(self):
        self.used = True
        return (np.zeros((10, 32, 32, 3), np.uint8), np.zeros(10, np.int64),
                np.zeros((10, 32, 32, 3), np.uint8), np.zeros(10, np.int64))


@lru_cache(maxsize=None)
def _measured_calls(alias):
    """``{item name: [Call]}`` of the items whose cases read a dataset."""
    out = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # blank images have no spread
        for item in get_assignment(alias).items:
            for case in item.cases:
                probe = _DataProbe()
                call = case.make(np.random.default_rng(0), probe)
                if probe.used:
                    out.setdefault(item.name, []).append(call)
    return out


def measured_item(alias):
    """The assignment's measured item: the one that trains on a dataset."""
    names = list(_measured_calls(alias))
    if len(names) != 1:
        raise LookupError(f"{alias}: expected one item that reads a dataset, found {names}")
    return get_assignment(alias).item(names[0])


@lru_cache(maxsize=None)
def measured_cells(alias):
    """Grade ids of the solution cells the measured item runs: the cell of
    its function, of the student functions and hyperparameters it is given,
    and of every student function those call (read from the solution)."""
    return frozenset(_cells_reached(alias, submissions(alias)["solution"],
                                    _measured_functions(alias)))


def _names_in(spec, out):
    """Student function names an argument spec of a task refers to."""
    if isinstance(spec, dict):
        if "student" in spec:
            out.add(spec["student"])
        if "call" in spec:
            out.add(spec["call"]["func"])
        for value in spec.values():
            _names_in(value, out)
    elif isinstance(spec, list):
        for value in spec:
            _names_in(value, out)
    return out


@lru_cache(maxsize=None)
def _item_functions(alias):
    """``{item: {student function names its cases call or pass}}``."""
    out = {item.name: {item.func} for item in get_assignment(alias).items}
    for task in unmeasured_run(alias, SEEDS[0]).tasks:
        names = out[task["item"]]
        names.add(task["func"])
        _names_in(task["args"], names)
        _names_in(task["kwargs"], names)
        if "kwargs_from" in task:
            names.add(task["kwargs_from"]["name"])
    for name in _measured_functions(alias):
        out[measured_item(alias).name].add(name)
    return out


def _measured_functions(alias):
    item = measured_item(alias)
    names = {item.func}
    for call in _measured_calls(alias)[item.name]:
        names.update(a.name for a in list(call.args) + list(call.kwargs.values())
                     if isinstance(a, Student))
        if call.kwargs_from is not None:
            names.add(call.kwargs_from.name)
    return names


def _cells_reached(alias, cells, names):
    """Grade ids of the cells defining ``names`` and every function of the
    submission ``cells`` they call, transitively."""
    analysis = static.analyze(cells, get_assignment(alias).allowed_modules)
    todo, seen, grade_ids = sorted(names), set(), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for stmt in analysis.definitions(name):
            grade_ids.add(stmt.cell)
            todo.extend(u for u in stmt.uses if analysis.defined(u))
    return grade_ids


def affected_items(alias, name):
    """Items whose score submission ``name`` can change: those that run a
    cell in which it differs from the solution (following the calls of
    both the solution and the submission). Every item for a corpus author
    and for the solution itself; for a bug-corpus entry, usually a few (the
    others run exactly the solution's code, graded as ``solution``)."""
    subs = submissions(alias)
    if name.startswith("corpus/") or name == "solution":
        return [i.name for i in get_assignment(alias).items]
    reference = {c["grade_id"]: c["source"] for c in subs["solution"]}
    changed = {c["grade_id"] for c in subs[name] if c["source"] != reference.get(c["grade_id"])}
    out = []
    for item, names in _item_functions(alias).items():
        reached = _cells_reached(alias, subs["solution"], names) | \
            _cells_reached(alias, subs[name], names)
        if reached & changed:
            out.append(item)
    return out


def touches_measured(alias, name):
    """Does submission ``name`` differ from the solution in a cell the
    measured item runs? (Every corpus author does.)"""
    return measured_item(alias).name in affected_items(alias, name)


# ---- grading ----------------------------------------------------------------

def unmeasured_items(alias):
    """Names of the items that train nothing, in the assignment's order."""
    measured = measured_item(alias).name
    return [i.name for i in get_assignment(alias).items if i.name != measured]


@lru_cache(maxsize=None)
def unmeasured_run(alias, seed):
    """The :class:`GradingRun` of ``alias`` for ``seed`` with the measured
    item emptied (no cases, so no dataset): every item keeps its index in
    the assignment, and so the random inputs the real run draws for this
    seed (``default_rng([seed, item index, case index])``)."""
    assignment = get_assignment(alias)
    measured = measured_item(alias)
    items = tuple(dataclasses.replace(i, cases=(), checks=()) if i.name == measured.name else i
                  for i in assignment.items)
    return GradingRun(dataclasses.replace(assignment, items=items), seed)


def grade_unmeasured(alias, cells, seeds=SEEDS, items=None):
    """``{item: {seed: (score, feedback)}}`` of the items that train nothing
    (or of those of ``items``), graded in this process, in a fresh
    namespace per seed (as a fresh sandbox would run them). NaN and
    overflow warnings of the student's code are part of what is graded,
    not test output."""
    prelude = get_assignment(alias).prelude
    wanted = [i for i in unmeasured_items(alias) if items is None or i in items]
    out = {}
    if not wanted:
        return out
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for seed in seeds:
            namespace, _ = runner.run_cells(cells, prelude)
            verdict = unmeasured_run(alias, seed).grade_in_process(namespace, items=wanted)
            for name, item in verdict.items.items():
                out.setdefault(name, {})[seed] = (item.score, item.feedback)
    return out


@lru_cache(maxsize=None)
def measured_run(alias, seed, data_root):
    """The :class:`GradingRun` of ``alias`` for ``seed`` with every item but
    the measured one emptied: a sandbox that only trains."""
    assignment = get_assignment(alias)
    measured = measured_item(alias).name
    items = tuple(i if i.name == measured else dataclasses.replace(i, cases=(), checks=())
                  for i in assignment.items)
    return GradingRun(dataclasses.replace(assignment, items=items), seed,
                      data_root=str(data_root))


def grade_measured(alias, cells, seeds, data_root):
    """``{item: {seed: (score, feedback)}}`` of the measured item, graded in
    the sandbox as ``autograde`` does (one sandbox launch per seed)."""
    name = measured_item(alias).name
    out = {}
    for seed in seeds:
        verdict = measured_run(alias, seed, data_root).grade(cells)
        out.setdefault(name, {})[seed] = (verdict.items[name].score,
                                          verdict.items[name].feedback)
    return out


@lru_cache(maxsize=None)
def sandbox_run(alias, seed, data_root):
    """The full :class:`GradingRun` of ``alias`` for ``seed`` (one per process)."""
    return GradingRun(alias, seed, data_root=str(data_root))


def grade_sandboxed(alias, cells, seeds, data_root, items=None):
    """``{item: {seed: (score, feedback)}}`` of the whole assignment graded
    in the sandbox (measured item included), or of ``items`` only."""
    out = {}
    for seed in seeds:
        verdict = sandbox_run(alias, seed, data_root).grade(cells)
        for name, item in verdict.items.items():
            if items is None or name in items:
                out.setdefault(name, {})[seed] = (item.score, item.feedback)
    return out


# ---- comparing seeds ------------------------------------------------------------

def seed_differences(graded):
    """``[(item, {seed: score}, {seed: feedback})]`` for every item whose
    score is not the same on every seed."""
    out = []
    for item, per_seed in graded.items():
        scores = {seed: score for seed, (score, _) in per_seed.items()}
        if len(set(scores.values())) > 1:
            out.append((item, scores, {seed: fb for seed, (_, fb) in per_seed.items()}))
    return out


def _first_lines(feedback, limit=4):
    lines = [line for line in feedback.splitlines()[1:] if line.strip()]
    return lines[:limit]


def describe_difference(name, item, scores, feedback):
    """A failure message: the submission, the item, its score on every seed,
    and the first feedback lines of one seed per distinct score."""
    by_score = {}
    for seed in sorted(scores):
        by_score.setdefault(scores[seed], seed)
    text = [f"{name}: {item} scores differ between seeds",
            "  scores per seed: " + ", ".join(f"{seed}: {scores[seed]:g}"
                                               for seed in sorted(scores))]
    for score, seed in sorted(by_score.items()):
        text.append(f"  feedback with {score:g} points (seed {seed}):")
        text += ["    " + line for line in _first_lines(feedback[seed])]
    return "\n".join(text)


# ---- another machine ----------------------------------------------------------

def corpus_scores(alias, seeds):
    """``{submission: {item: {seed: score}}}`` of every corpus author and the
    solution on the items that train nothing, graded in this process."""
    out = {}
    for name, cells in submissions(alias).items():
        if name.startswith("corpus/") or name == "solution":
            graded = grade_unmeasured(alias, cells, seeds)
            out[name] = {item: {str(seed): score for seed, (score, _) in per_seed.items()}
                         for item, per_seed in graded.items()}
    return out


if __name__ == "__main__":  # python -m tests.corpus.fairness ALIAS SEED,SEED,...
    import json
    import sys
    _alias, _seeds = sys.argv[1], tuple(int(s) for s in sys.argv[2].split(","))
    json.dump(corpus_scores(_alias, _seeds), sys.stdout)
