"""Parallel and distributed grading give the scores of a clean serial run.

A batch of 50 submissions (the solution, the release, one-bug variants and
faulty ones: crashes, hangs, bombs, huge output, broken cells) graded with
1 and with 2 workers, and on a Dask ``LocalCluster`` of 2 worker processes,
must give every submission exactly the scores it gets when graded alone.
"""
import pytest

from course_lib.grading import isolation
from course_lib.grading.distributed import DaskLauncher, grade_batch, pack_folder, unpack_results
from course_lib.grading.engine import GradingRun
from course_lib.grading.notebooks import code_solution_ids, solution_cells
from course_lib.grading.testing import make_submission, read_notebook, strip_solutions

from .attack_corpus import ATTACKS, TARGET
from .test_grading_attacks import ATTACK_LIMITS, SOLUTION, small_a1

pytestmark = pytest.mark.skipif(not isolation.self_test()[0],
                                 reason="bubblewrap unavailable: " + isolation.self_test()[1])

BUGS = [("svm_loss_naive", "    dW += 2 * reg * W\n", ""),
        ("svm_loss_vectorized", "dW = X.T @ coeff / num_train + 2 * reg * W",
         "dW = coeff.T @ X / num_train + 2 * reg * W.T"),
        ("predict_labels", "y_pred[i] = np.argmax(np.bincount(y_train[nearest]))",
         "counts = np.bincount(y_train[nearest])\n"
         "        y_pred[i] = len(counts) - 1 - np.argmax(counts[::-1])")]
FAULTS = ["os._exit in the call", "segfault via ctypes", "memory bomb", "fork bomb",
          "huge stdout", "sys.exit in the call", "object array", "time-based output"]


def batch(count=50):
    """``count`` submissions: honest ones and faulty ones, interleaved."""
    solution = read_notebook(SOLUTION)
    ids = code_solution_ids(solution)
    stub = next(c.source for c in strip_solutions(solution).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == TARGET)
    kinds = [solution, strip_solutions(solution)]
    kinds += [make_submission(solution, cell, (old, new)) for cell, old, new in BUGS]
    for name in FAULTS:
        cell, source = ATTACKS[name]
        kinds.append(make_submission(solution, cell, source=source.replace("{stub}", stub)))
    kinds.append(make_submission(solution, "svm_loss_vectorized",
                                 source="def svm_loss_vectorized(W, X, y, reg:\n"))  # syntax
    return [solution_cells(kinds[i % len(kinds)], ids) for i in range(count)]


@pytest.fixture(scope="module")
def submissions():
    return batch()


@pytest.fixture(scope="module")
def serial_scores(submissions):
    """Each distinct submission graded alone, one after another, in a fresh run."""
    run = GradingRun(small_a1(), seed=11, limits=ATTACK_LIMITS)
    alone = {}
    for cells in submissions:
        key = run.key(cells)
        if key not in alone:
            alone[key] = run.grade(cells).scores()
    return [alone[run.key(cells)] for cells in submissions]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_batch_matches_a_clean_serial_run(workers, submissions, serial_scores):
    """Does a batch of 50 mixed submissions on 1 or 2 workers give each one
    exactly the scores it gets graded alone, and does the batch finish?"""
    run = GradingRun(small_a1(), seed=11, limits=ATTACK_LIMITS)
    verdicts = grade_batch(run, submissions, workers=workers)
    assert [v.scores() for v in verdicts] == serial_scores
    totals = {sum(s.values()) for s in serial_scores}
    assert {0.0, 15.0} <= totals and len(totals) >= 4  # the batch is really mixed


@pytest.mark.slow
def test_dask_local_cluster_matches_serial(submissions, serial_scores):
    """On a Dask LocalCluster (2 worker processes), do the sandboxes run on
    the workers while verdicts stay here, with the serial scores?"""
    distributed = pytest.importorskip("distributed")
    run = GradingRun(small_a1(), seed=11, limits=ATTACK_LIMITS)
    picks = list(range(0, 13)) + [13, 14]  # every kind of the batch once
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        run.launcher = DaskLauncher(client)
        verdicts = grade_batch(run, [submissions[i] for i in picks], workers=2)
        ran_on = client.run(lambda: __import__("os").getpid())
    assert [v.scores() for v in verdicts] == [serial_scores[i] for i in picks]
    assert len(ran_on) == 2


def test_result_archive_from_a_worker_is_unpacked_safely(tmp_path):
    """Are links, '..' paths and absolute names in a worker's result archive
    dropped while plain result files arrive?"""
    import io
    import tarfile
    src = tmp_path / "src"
    src.mkdir()
    (src / "t0.json").write_text("{}")
    data = io.BytesIO(pack_folder(src))
    with tarfile.open(fileobj=data, mode="a") as tar:
        for name, kind in (("../escape.json", tarfile.REGTYPE), ("/abs.json", tarfile.REGTYPE),
                           ("link.npy", tarfile.SYMTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd"
            tar.addfile(info, io.BytesIO(b""))
    dest = tmp_path / "dest" / "out"
    dest.mkdir(parents=True)
    unpack_results(data.getvalue(), dest)
    assert sorted(p.name for p in dest.iterdir()) == ["t0.json"]
    assert not (tmp_path / "dest" / "escape.json").exists()
