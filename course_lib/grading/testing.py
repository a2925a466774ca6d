"""Helpers for testing assignments and benchmarking the grader.

- :func:`write_learnable_cifar10`: a small CIFAR-10 stand-in in the official
  file layout whose classes a linear classifier can separate, so measured
  items and notebooks run without the real dataset;
- :func:`solution_sources`, :func:`make_submission`: synthetic submissions
  made from the solution notebook by replacing text in one solution cell;
- :func:`corpus_grader`: the verdicts of a bug corpus, graded two at a time.
"""
import copy
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import numpy as np

__all__ = ["write_learnable_cifar10", "read_notebook", "solution_sources", "make_submission",
           "strip_solutions", "corpus_grader"]

_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
            "truck")


def write_learnable_cifar10(root, num_per_batch=1100, noise=40.0, seed=0):
    """Write ``root/cifar-10-batches-py`` with ``num_per_batch`` images per
    batch: each image is its class's random template plus Gaussian noise,
    as uint8 rows in the official channel-planar order. Returns ``root``."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    templates = rng.uniform(40, 215, (10, 3072))
    for b, name in enumerate(_BATCHES):
        labels = rng.integers(0, 10, num_per_batch)
        data = templates[labels] + rng.normal(0, noise, (num_per_batch, 3072))
        batch = {"batch_label": f"learnable fake {name}", "labels": labels.tolist(),
                 "data": np.clip(np.rint(data), 0, 255).astype(np.uint8),
                 "filenames": [f"fake_{b}_{i}.png" for i in range(num_per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"label_names": list(_CLASSES), "num_cases_per_batch": num_per_batch,
            "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return Path(root)


def read_notebook(path):
    return nbformat.read(str(path), as_version=4)


def solution_sources(nb):
    """``{grade_id: source}`` of the solution code cells."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def make_submission(nb, grade_id, *replacements, source=None):
    """A copy of ``nb`` with solution cell ``grade_id`` changed: each
    ``(old, new)`` pair replaced (``old`` must occur: a bug that silently
    does not apply would make a test pass for the wrong reason), or the
    whole cell replaced by ``source``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") != grade_id:
            continue
        if source is not None:
            cell.source = source
        for old, new in replacements:
            if old not in cell.source:
                raise ValueError(f"{old!r} does not occur in cell {grade_id}")
            cell.source = cell.source.replace(old, new)
        return nb
    raise KeyError(f"no cell with grade id {grade_id}")


def strip_solutions(nb):
    """The cells' sources as a student sees them: solution regions replaced
    by nbgrader's stub (for grading the release without nbgrader)."""
    from nbgrader.preprocessors import ClearSolutions
    nb = copy.deepcopy(nb)
    clear = ClearSolutions()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            clear._replace_solution_region(cell, "python")
    return nb


def corpus_grader(solution_nb, bugs, misuse, grade, workers=2):
    """``get(name)``: the verdict of one submission of a corpus.

    The submissions are ``"solution"``, ``"release"`` (solutions stripped),
    every ``bugs[name] = (cell, replacements, ...)`` and every
    ``misuse[name] = (cell, source, ...)``, each the solution notebook with
    one cell changed. ``grade(name, nb)`` grades one. Outside pytest-xdist
    all are graded up front, ``workers`` at a time; under xdist (where each
    worker runs a few tests) only those asked for, on first use.
    """
    submissions = {"solution": solution_nb, "release": strip_solutions(solution_nb)}
    for name, (cell, replacements, *_) in bugs.items():
        submissions[name] = make_submission(solution_nb, cell, *replacements)
    for name, (cell, source, *_) in misuse.items():
        submissions[name] = make_submission(solution_nb, cell, source=source)
    cache = {}
    if "PYTEST_XDIST_WORKER" not in os.environ:
        with ThreadPoolExecutor(workers) as pool:
            cache.update(zip(submissions, pool.map(lambda name: grade(name, submissions[name]),
                                                   submissions)))

    def get(name):
        if name not in cache:
            cache[name] = grade(name, submissions[name])
        return cache[name]
    return get
