"""Fair grades (issue 15): a submission's per-item scores do not depend on
the hidden-input seed of the run, nor on the machine that grades it.

Submissions: every CS231n-style author of ``tests/corpus/<alias>/`` and the
bug corpora of ``tests/test_grading_<alias>.py`` (solution, release, each
``BUGS`` and ``MISUSE`` entry); see ``tests/corpus/fairness.py``.

- Items that train nothing: graded on 20 seeds in this process
  (``GradingRun.grade_in_process``, one fresh namespace per seed): no
  sandbox launch per seed. Seed-invariance is a property of the cases,
  references and comparisons, which are the same in and out of the sandbox;
  the sandbox matters for security, and its static checks read only the
  source, which no seed changes. A bug-corpus entry is graded on the items
  that run a cell it changed (the others run the solution's code, graded
  as ``solution``).
- The measured item (it trains a model): graded in the sandbox, as
  ``autograde`` does, on two seeds, for every submission that changes a cell
  it runs; on learnable stand-in CIFAR-10 whose noise puts the solution's
  accuracy near the ramp of partial credit.
- Another machine: the corpus authors graded in a subprocess with other
  OpenBLAS kernels, numpy loops without AVX-512 and two BLAS threads
  (``test_assignment_notebooks.OTHER_MACHINES``) get the same scores as here.

Run time: 153 tests, about 3 min of CPU in all; with ``-n 2`` 14.8 min of
wall time on 2 cores shared with a load of 5-10 (21.6 min at 10-17), so
about 3-5 min on an idle 2-core CI machine. The items that train nothing cost 0.2-0.5 s per submission and
seed, plus building 20 runs per assignment and worker.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.grading.testing import write_learnable_cifar10
from tests.corpus import fairness

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

#: the emulated machine (test_assignment_notebooks.OTHER_MACHINES)
OTHER_MACHINE = {
    "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "2",
    "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512VL AVX512BW AVX512DQ "
                                "AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL X86_V4"}


def _params(measured=False):
    out = []
    for alias in fairness.ASSIGNMENTS:
        for name in fairness.submissions(alias):
            if measured and not fairness.touches_measured(alias, name):
                continue
            out.append(pytest.param(alias, name, id=f"{alias}-{name}"))
    return out


def _assert_same_on_every_seed(name, graded):
    problems = [fairness.describe_difference(name, item, scores, feedback)
                for item, scores, feedback in fairness.seed_differences(graded)]
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("alias,name", _params())
def test_unmeasured_scores_do_not_depend_on_the_seed(alias, name):
    cells = fairness.submissions(alias)[name]
    graded = fairness.grade_unmeasured(alias, cells, fairness.SEEDS,
                                       items=fairness.affected_items(alias, name))
    assert name.startswith("bug/") or name.startswith("misuse/") or graded
    _assert_same_on_every_seed(f"{alias} {name}", graded)


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    made = {}

    def get(alias):
        if alias not in made:
            made[alias] = write_learnable_cifar10(tmp_path_factory.mktemp(f"cifar-{alias}"),
                                                  num_per_batch=500, noise=fairness.NOISE[alias])
        return made[alias]
    return get


@pytest.mark.parametrize("alias,name", _params(measured=True))
def test_measured_score_does_not_depend_on_the_seed(alias, name, cifar):
    cells = fairness.submissions(alias)[name]
    graded = fairness.grade_measured(alias, cells, fairness.MEASURED_SEEDS, cifar(alias))
    _assert_same_on_every_seed(f"{alias} {name}", graded)


@pytest.mark.parametrize("alias", list(fairness.ASSIGNMENTS))
def test_corpus_scores_do_not_depend_on_the_machine(alias):
    """Other BLAS kernels, no AVX-512 loops, two BLAS threads: same scores."""
    env = {k: v for k, v in os.environ.items() if k not in OTHER_MACHINE}
    env.update(OTHER_MACHINE)
    seeds = ",".join(map(str, fairness.MACHINE_SEEDS))
    run = subprocess.run([sys.executable, "-m", "tests.corpus.fairness", alias, seeds],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    there = json.loads(run.stdout)
    here = fairness.corpus_scores(alias, fairness.MACHINE_SEEDS)
    differences = [
        f"{name}: {item} seed {seed}: {score:g} here, {there[name][item][seed]:g} on the "
        f"other machine" for name, items in here.items() for item, per_seed in items.items()
        for seed, score in per_seed.items() if there[name][item][seed] != score]
    assert not differences, "\n".join(differences)
