"""Autograding throughput on A1: the sandboxed grader vs stock nbgrader.

    .venv/bin/python bench/bench_grading.py [--submissions 50] [--stock-submissions N]

Builds a temporary course with A1, makes synthetic submissions (the
solution, the unmodified release, and one-bug variants of the solution, in
turn), and times, each in a fresh process on the same submissions:

- stock ``nbgrader autograde`` (its default ``Execute`` preprocessor runs
  each whole notebook, hidden tests included, in a kernel started with
  transport "ipc"; hidden cells then grade in the student's kernel);
- ``python -m course_lib.grading autograde`` with 1 and with 2 workers,
  sandboxed with bubblewrap (the default; the bench refuses to run when
  the sandbox is unavailable, so the figures are never unsandboxed ones).

Prints submissions per minute (medians of interleaved runs for the sandboxed
grader, one run of stock) and ratios against stock, and checks that
the graders agree on every submission's total. Uses the real CIFAR-10 when
present, else a learnable stand-in.
"""
import argparse
import os
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from machine import describe  # bench/machine.py: the CPU beside every figure

ROOT = Path(__file__).resolve().parents[1]
AID = "a1_knn_linear"
BIN = Path(sys.executable).parent

# one-cell bugs (cell, old, new), as in tests/test_grading_a1.py
BUGS = [
    ("predict_labels", "y_pred[i] = np.argmax(np.bincount(y_train[nearest]))",
     "counts = np.bincount(y_train[nearest])\n        y_pred[i] = len(counts) - 1 - np.argmax(counts[::-1])"),
    ("compute_distances_one_loop", "dists[i] = np.sqrt(np.sum(diff * diff, axis=1))",
     "dists[i] = np.sum(diff * diff, axis=1)"),
    ("svm_loss_naive", "    dW += 2 * reg * W\n", ""),
    ("svm_loss_vectorized", "dW = X.T @ coeff / num_train + 2 * reg * W",
     "dW = coeff.T @ X / num_train + 2 * reg * W.T"),
    ("softmax_loss_vectorized", "    scores = scores - scores.max(axis=1, keepdims=True)\n", ""),
    ("softmax_loss_naive", "loss = loss / num_train + reg", "loss = loss / num_classes + reg"),
    ("train_linear_classifier", "batch = rng.choice(num_train, batch_size)",
     "batch = rng.choice(num_train, batch_size, replace=False)"),
    ("two_layer_loss", "(hidden_in > 0)", "(hidden_in >= 0)"),
]

STOCK_CONFIG = """\
import os
from course_lib.grading.preprocessors import configure
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute,
                                    GetGrades, IgnorePattern, LimitOutput, SaveAutoGrades)
c = get_config()
root = os.path.dirname(os.path.abspath(__file__))
configure(c, root)  # same folders; then nbgrader's default preprocessors again
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor]
c.Execute.timeout = 3600
c.KernelManager.transport = "ipc"
c.KernelManager.ip = os.path.join(root, "kernel-ipc")
"""


def make_course(folder, stock):
    (folder / "solutions").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / AID, folder / "solutions" / AID)
    if stock:
        (folder / "nbgrader_config.py").write_text(STOCK_CONFIG)
    else:
        shutil.copy(ROOT / "nbgrader_config.py", folder)


def submissions(count):
    from course_lib.grading.testing import make_submission, read_notebook, strip_solutions
    solution = read_notebook(ROOT / "solutions" / AID / f"{AID}.ipynb")
    kinds = [solution, strip_solutions(solution)]
    kinds += [make_submission(solution, cell, (old, new)) for cell, old, new in BUGS]
    return [kinds[i % len(kinds)] for i in range(count)]


def place(course, notebooks):
    for i, nb in enumerate(notebooks):
        dest = course / "grading" / "submitted" / f"s{i:02d}" / AID
        dest.mkdir(parents=True)
        nbformat.write(nb, str(dest / f"{AID}.ipynb"))


def timed(cmd, cwd, env):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}")
    return seconds


def totals(course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'grading' / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(AID).submissions}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=50)
    parser.add_argument("--stock-submissions", type=int,
                        help="grade only the first N with stock nbgrader (its rate is per "
                             "submission; default: all)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved runs of the sandboxed grader per worker count")
    args = parser.parse_args()
    print(describe(), flush=True)

    from course_lib.data import data_dir
    from course_lib.grading import isolation
    ok, detail = isolation.self_test()
    if not ok:
        raise SystemExit(f"the sandbox does not work here ({detail}); nothing to measure")
    load_before = os.getloadavg()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg",
               COURSE_GRADING_SEED=str(args.seed), PYTHONWARNINGS="ignore")
    env.pop("COURSE_GRADEBOOK_URL", None)
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    if (data_dir() / "cifar-10-batches-py" / "test_batch").is_file():
        data = "real CIFAR-10"
    else:
        from course_lib.grading.testing import write_learnable_cifar10
        env["COURSE_DATA_DIR"] = str(write_learnable_cifar10(work / "data", 1100))
        data = "learnable CIFAR-10 stand-in"
    notebooks = submissions(args.submissions)
    num_stock = args.stock_submissions or args.submissions
    # stock once (it is slow); the sandboxed grader with 1 and 2 workers,
    # interleaved, args.repeats times each: medians
    plan = [("stock nbgrader autograde", True, 1, num_stock)]
    for _ in range(args.repeats):
        plan += [("sandboxed grader", False, 1, args.submissions),
                 ("sandboxed grader", False, 2, args.submissions)]
    times, scores = {}, {}
    try:
        for index, (name, stock, workers, subset) in enumerate(plan):
            course = work / f"run{index}"
            make_course(course, stock)
            grading = [str(BIN / "python"), "-m", "course_lib.grading", "--course-dir",
                       str(course)]
            timed(grading + ["generate", "a1"], course, env)
            place(course, notebooks[:subset])
            if stock:
                cmd = [str(BIN / "nbgrader"), "autograde", AID, "--force"]
            else:
                cmd = grading + ["autograde", "a1", "--workers", str(workers),
                                 "--seed", str(args.seed)]
            print(f"running: {name}, {workers} worker(s), {subset} submissions ...",
                  file=sys.stderr, flush=True)
            times.setdefault((name, workers, subset), []).append(timed(cmd, course, env))
            scores.setdefault((name, workers), []).append(totals(course))
            shutil.rmtree(course, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = [(name, workers, subset, statistics.median(t), t)
            for (name, workers, subset), t in times.items()]
    rows = [(n.replace("sandboxed grader", "sandboxed (bwrap)"), *rest) for n, *rest in rows]
    stock_rate = 60 * rows[0][2] / rows[0][3]
    print(f"\nAutograding A1 ({data}; the solution, the release and {len(BUGS)} one-bug "
          f"variants in turn; seed {args.seed}; {os.cpu_count()} cores; median of "
          f"{args.repeats} interleaved runs for the sandboxed grader, 1 run of stock)\n")
    print(f"{'grader':<26}{'workers':>8}{'subs':>6}{'seconds':>10}{'subs/min':>10}"
          f"{'vs stock':>10}   runs (s)")
    for name, workers, subset, seconds, runs in rows:
        rate = 60 * subset / seconds
        print(f"{name:<26}{workers:>8}{subset:>6}{seconds:>10.1f}{rate:>10.1f}"
              f"{rate / stock_rate:>9.1f}x   {', '.join(f'{t:.1f}' for t in runs)}")
    print(f"\n2-worker speed-up of the sandboxed grader: {rows[1][3] / rows[2][3]:.2f}x "
          "(goal >= 1.7x)")
    # each 1-worker run against the 2-worker run right after it (the machine's
    # speed drifts, so neighbours are the fairest pairs)
    pairs = [a / b for a, b in zip(rows[1][4], rows[2][4])]
    print(f"run by run (each 1-worker run / the 2-worker run after it): "
          f"{', '.join(f'{r:.2f}' for r in pairs)}; median {statistics.median(pairs):.2f}x")
    print(f"sandbox: {detail}")
    print("load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in load_before)
          + "; after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    stock = scores["stock nbgrader autograde", 1][0]
    sandboxed = scores["sandboxed grader", 1] + scores["sandboxed grader", 2]
    same = all(run == sandboxed[0] for run in sandboxed)
    agree = sum(stock[s] == sandboxed[0][s] for s in stock)
    print(f"totals: all sandboxed runs (1 and 2 workers) identical: {same}; stock and "
          f"sandboxed agree on {agree}/{len(stock)} submissions")


if __name__ == "__main__":
    main()
