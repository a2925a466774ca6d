"""Audit of the grader on the corpus (issue 15): not a test, a report.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python -m tests.corpus.audit [--jobs 2] [a1 a2 a3]

Prints, per assignment:

1. scores that differ between seeds: every (submission, item) of the
   corpus and the bug corpora whose score is not the same on the 20
   hidden-input seeds (items that train nothing, in process) or on the two
   seeds of the measured item (sandbox), with the scores per seed and the
   first feedback lines per distinct score;
2. every corpus author's sandbox verdict (seed 1, as ``autograde`` grades):
   points per item, marking
   - WRONG-PASSES: an item the author's header lists under ``Bugs:`` with
     full marks (wrong code passing),
   - UNFAIR: an item not listed that loses points (correct code penalized,
     or a deviation the header does not name),
   - DEP-NOTE: a listed item whose feedback also tells to fix a dependency
     first (check that the author's own cause is named before it);
   the measured item is not flagged UNFAIR: on the stand-in CIFAR-10 its
   accuracy depends on the hyperparameters (the solution's is printed);
3. the first feedback lines of every item that loses points, beside the
   header's deliberate deviations, to check that the feedback names the
   real cause.
"""
import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from course_lib.grading.registry import get_assignment
from course_lib.grading.testing import write_learnable_cifar10

from . import ASSIGNMENTS, bugs, header
from . import fairness

_ROOTS = {}


def _cifar(alias):
    if alias not in _ROOTS:
        _ROOTS[alias] = write_learnable_cifar10(
            tempfile.mkdtemp(prefix=f"audit-cifar-{alias}-"), num_per_batch=500,
            noise=fairness.NOISE[alias])
    return _ROOTS[alias]


def _audit_one(alias, name):
    """Everything the report needs about one submission (run in a worker)."""
    cells = fairness.submissions(alias)[name]
    started = time.perf_counter()
    graded = fairness.grade_unmeasured(alias, cells, fairness.SEEDS,
                                       items=fairness.affected_items(alias, name))
    sandbox = None
    if name.startswith("corpus/") or name == "solution":
        sandbox = fairness.grade_sandboxed(alias, cells, fairness.MEASURED_SEEDS, _cifar(alias))
        measured = fairness.measured_item(alias).name
        graded[measured] = sandbox[measured]
    elif fairness.touches_measured(alias, name):
        graded.update(fairness.grade_measured(alias, cells, fairness.MEASURED_SEEDS,
                                              _cifar(alias)))
    return {"name": name, "differences": fairness.seed_differences(graded),
            "sandbox": sandbox, "seconds": time.perf_counter() - started}


def _short(feedback, limit=3):
    lines = [line.strip() for line in feedback.splitlines()[1:] if line.strip()]
    return " | ".join(lines[:limit])[:400]


def _scores_text(scores):
    by_score = {}
    for seed in sorted(scores):
        by_score.setdefault(scores[seed], []).append(seed)
    return "; ".join(f"{score:g} on seeds {','.join(map(str, seeds))}"
                     for score, seeds in sorted(by_score.items()))


def report(alias, results, out=sys.stdout):
    assignment = get_assignment(alias)
    points = {item.name: item.points for item in assignment.items}
    w = out.write
    w(f"\n=== {alias} ({ASSIGNMENTS[alias]}): {len(results)} submissions ===\n")
    w("\n-- 1. scores that differ between seeds --\n")
    count = 0
    for res in results:
        for item, scores, feedback in res["differences"]:
            count += 1
            w(f"{res['name']:55s} {item:32s} {_scores_text(scores)}\n")
            shown = set()
            for seed in sorted(scores):
                if scores[seed] not in shown:
                    shown.add(scores[seed])
                    w(f"    seed {seed} ({scores[seed]:g}): {_short(feedback[seed])}\n")
    if not count:
        w("(none)\n")
    w("\n-- 2. corpus verdicts in the sandbox (seed %d) --\n" % fairness.MEASURED_SEEDS[0])
    flags = {"WRONG-PASSES": [], "UNFAIR": [], "DEP-NOTE": []}
    lost = []
    measured = fairness.measured_item(alias).name
    for res in results:
        if res["name"] == "solution" and res["sandbox"] is not None:
            score, feedback = res["sandbox"][measured][fairness.MEASURED_SEEDS[0]]
            w(f"{'(solution: ' + measured + ')':32s} {score:g}/{points[measured]:g}  "
              f"{_short(feedback, 1)}\n")
    for res in results:
        if res["sandbox"] is None or res["name"] == "solution":
            continue
        author = res["name"].split("/", 1)[1]
        listed = set(bugs(alias, author))
        seed = fairness.MEASURED_SEEDS[0]
        total = sum(per_seed[seed][0] for per_seed in res["sandbox"].values())
        w(f"{author:32s} {total:g}/{sum(points.values()):g}")
        marks = []
        for item, per_seed in res["sandbox"].items():
            score, feedback = per_seed[seed]
            full = score >= points[item] - 1e-9
            if item in listed and full:
                flags["WRONG-PASSES"].append((author, item, score, feedback))
            if item not in listed and not full and item != measured:
                flags["UNFAIR"].append((author, item, score, feedback))
            if item in listed and not full and "fix that first" in feedback:
                flags["DEP-NOTE"].append((author, item, score, feedback))
            if not full:
                marks.append(f"{item.split('.', 1)[1]} {score:g}/{points[item]:g}"
                             + ("" if item in listed or item == measured else " (!)"))
                lost.append((author, item, score, feedback))
        w(("  lost: " + ", ".join(marks) if marks else "  full marks") + "\n")
    for flag, found in flags.items():
        w(f"\n-- {flag}: {len(found)} --\n")
        for author, item, score, feedback in found:
            w(f"{author:32s} {item:32s} {score:g}/{points[item]:g}  {_short(feedback)}\n")
    w("\n-- 3. feedback of every item that loses points, beside the deviations --\n")
    for author in sorted({a for a, *_ in lost}):
        dev = header(alias, author).split("Deliberate deviations:", 1)[-1]
        dev = dev.split("Hyperparameters:", 1)[0].split("Bugs:", 1)[0]
        w(f"{author}: deviations: {' '.join(dev.split())[:500]}\n")
        for a, item, score, feedback in lost:
            if a == author:
                w(f"    {item} {score:g}/{points[item]:g}: {_short(feedback, 4)}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aliases", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    for alias in args.aliases:
        names = list(fairness.submissions(alias))
        started = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(_audit_one, [alias] * len(names), names))
        report(alias, results)
        print(f"({alias}: {time.perf_counter() - started:.0f} s with {args.jobs} workers)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
