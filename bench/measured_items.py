"""Where the measured items' ramps come from: accuracies of a population of
reasonable hyperparameters, trained by the solution's own functions on the
exact protocol the grader uses (same images, renamed classes, seed).

For each assignment, the solution notebook's cells run in this process
(trusted code), then the measured item's call is made with each setting of
the population on the protocol data of several course keys, and judged as
the grader judges it. Prints one row per setting (accuracy per key, CPU
seconds), the spread, and the share of settings that would get full marks,
partial credit or nothing on the current ramp::

    .venv/bin/python bench/measured_items.py                 # all three, keys 0-2
    .venv/bin/python bench/measured_items.py --only a1 --keys 0,1,2,3

Needs the real CIFAR-10 (``make data``).
"""
import argparse
import itertools
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from machine import describe  # bench/machine.py: the CPU beside every figure

from course_lib.grading import runner
from course_lib.grading.compare import select
from course_lib.grading.engine import GradingRun
from course_lib.grading.registry import get_assignment
from course_lib.grading.testing import read_notebook, solution_sources

ROOT = Path(__file__).resolve().parents[1]


def _grid(**values):
    keys = list(values)
    return [dict(zip(keys, combo)) for combo in itertools.product(*values.values())]


# CS231n's suggested settings first in each population (its assignment 1
# softmax: lr 1e-7 / 5e-7, reg 2.5e4 / 5e4), then the ranges around them
POPULATIONS = {
    "a1": ("a1.softmax_accuracy", "softmax_hyperparameters",
           _grid(lr=[1e-7, 5e-7], reg=[2.5e4, 5e4], num_iters=[1500], batch_size=[200])
           + _grid(lr=[2e-7, 1e-6, 2e-6], reg=[1e3, 5e3, 1e4], num_iters=[1500],
                   batch_size=[200])
           + _grid(lr=[1e-6], reg=[5e3], num_iters=[300], batch_size=[200])),
    "a2": ("a2.fc_accuracy", "fc_hyperparameters",
           _grid(hidden_size=[100], num_hidden_layers=[1], lr=[1e-4, 3e-4], reg=[0.0, 0.25],
                 num_iters=[400, 1000], batch_size=[100], weight_scale=[1e-3])
           + _grid(hidden_size=[50, 200], num_hidden_layers=[1, 2], lr=[1e-4], reg=[0.05],
                   num_iters=[1000], batch_size=[200], weight_scale=[1e-3])
           + _grid(hidden_size=[100], num_hidden_layers=[1], lr=[1e-3], reg=[0.0],
                   num_iters=[500], batch_size=[100], weight_scale=[1e-2])),
    "a3": ("a3.convnet_accuracy", "convnet_hyperparameters",
           _grid(num_filters=[8], filter_size=[3], hidden_dim=[64], lr=[1e-3], reg=[1e-3],
                 num_epochs=[4], batch_size=[50])
           + _grid(num_filters=[16], filter_size=[3, 5], hidden_dim=[100], lr=[1e-3, 5e-4],
                   reg=[0.0, 1e-3], num_epochs=[3], batch_size=[50])
           + _grid(num_filters=[8], filter_size=[5], hidden_dim=[32], lr=[2e-3], reg=[0.0],
                   num_epochs=[2], batch_size=[100])),
}


def solution_namespace(assignment):
    """The solution notebook's solution cells, run in order in a fresh namespace."""
    nb = read_notebook(ROOT / "solutions" / assignment.id / f"{assignment.id}.ipynb")
    cells = [{"grade_id": k, "source": v} for k, v in solution_sources(nb).items()]
    namespace, errors = runner.run_cells(cells, assignment.prelude)
    if errors:
        raise SystemExit(f"the solution cells failed: {errors}")
    return namespace


def measure(alias, keys, limit=None):
    item_name, hyper_fn, population = POPULATIONS[alias]
    assignment = get_assignment(alias)
    item = assignment.item(item_name)
    namespace = solution_namespace(assignment)
    runs = {key: GradingRun(assignment, seed=0, key=key) for key in keys}
    population = population[:limit] if limit else population
    print(f"\n== {assignment.title}: {item.title}, ramp {item.checks[0].judge.__globals__['ACCURACY_RAMP']}")
    print(f"{'setting':<100s} " + " ".join(f"key {k:<3d}" for k in keys) + "  cpu s")
    rows = []
    for setting in population:
        accs, cpu = [], 0.0
        for key, run in runs.items():
            task = next(t for t in run.tasks if t["item"] == item_name)
            call = run.calls[(item_name, task["case"])]
            namespace[hyper_fn] = lambda setting=setting: dict(setting)
            start = time.process_time()
            with np.errstate(all="ignore"):
                value = runner.call_task(task, namespace, lambda rel, run=run: run.arrays[rel].copy())
            cpu += time.process_time() - start
            check = item.checks[0]
            fraction, text = check.judge(select(value, check.output), call, run.ctx)
            match = re.search(r"accuracy (\d\.\d+)", text)
            accs.append(float(match.group(1)) if match else float("nan"))
        rows.append((setting, accs))
        label = ", ".join(f"{k}={v:g}" for k, v in setting.items())
        print(f"{label:<100s} " + " ".join(f"{a:7.3f}" for a in accs)
              + f"  {cpu / len(keys):5.1f}", flush=True)
    flat = [a for _, accs in rows for a in accs]
    ramp = item.checks[0].judge.__globals__["ACCURACY_RAMP"]
    full = sum(a >= ramp.full for a in flat)
    none = sum(a <= ramp.floor for a in flat)
    print(f"accuracy over {len(rows)} settings x {len(keys)} keys: min {min(flat):.3f}, "
          f"median {statistics.median(flat):.3f}, max {max(flat):.3f}; spread between keys "
          f"(max - min per setting): median "
          f"{statistics.median(max(a) - min(a) for _, a in rows):.3f}")
    print(f"on {ramp}: {full} of {len(flat)} full marks, {len(flat) - full - none} partial, "
          f"{none} nothing")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(POPULATIONS))
    parser.add_argument("--keys", default="0,1,2", help="course keys (protocols), e.g. 0,1,2")
    parser.add_argument("--limit", type=int, help="only the first N settings per assignment")
    args = parser.parse_args(argv)
    print(describe(), flush=True)
    keys = [int(k) for k in args.keys.split(",")]
    for alias in args.only or sorted(POPULATIONS):
        measure(alias, keys, args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
