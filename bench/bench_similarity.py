"""Copy detectors on the same A1 test set: ours (course_lib.grading.similarity),
``copydetect`` and ``pycode_similar`` (when importable; install them anywhere
on PYTHONPATH, e.g. ``pip install --target /tmp/peers copydetect==0.5.0
pycode_similar==1.4`` then ``PYTHONPATH=/tmp/peers``: they are not
course dependencies).

    python bench/bench_similarity.py

Test set (tests/similarity_corpus.py): the instructor's A1 solution and two
solutions written independently, each with four disguised copies (renamed,
reformatted, reordered, all three): 15 submissions, 105 pairs, 30 of them
copies. For each detector: the lowest score of a copy pair, the highest of
an independent pair (a gap > 0 means some threshold separates them), the
true and false positives at the detector's own threshold, and the time for
all pairs. The starter code is given to each tool as boilerplate where it
takes one.
"""
import os
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import nbformat  # noqa: E402

from course_lib.grading.registry import get_assignment  # noqa: E402
from course_lib.grading.similarity import compare_all  # noqa: E402
from course_lib.grading.similarity_report import reference_code, starter_code  # noqa: E402
from machine import describe  # noqa: E402
from tests.similarity_corpus import copies, honest  # noqa: E402


def corpus():
    a1 = get_assignment("a1")
    root = HERE.parent
    reference, ids = reference_code(root, a1)
    nb = nbformat.read(root / "solutions" / a1.id / f"{a1.notebook}.ipynb", as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade_id") in ids}
    subs = {}
    for family, sources in honest(cells).items():
        subs[family] = "\n\n".join(sources.values())
        for kind, copied in copies(sources, random.Random(len(family))).items():
            subs[f"{family}~{kind}"] = "\n\n".join(copied.values())
    return subs, starter_code(root, a1, ids)


def ours(subs, base):
    pairs, _ = compare_all(subs, None, base)
    return {(p.a, p.b): p.score for p in pairs}


def copydetect_scores(subs, base, k=25, win=1):
    from copydetect import CodeFingerprint, compare_files
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, code in list(subs.items()) + [("__base__", base)]:
            paths[name] = Path(tmp) / f"{name.replace('~', '_')}.py"
            paths[name].write_text(code)
        import numpy as np
        boiler = np.array(sorted(CodeFingerprint(str(paths["__base__"]), k, win).hashes))
        prints = {n: CodeFingerprint(str(paths[n]), k, win, boilerplate=boiler) for n in subs}
    names = sorted(subs)
    scores = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            _, sims, _ = compare_files(prints[a], prints[b])
            scores[(a, b)] = max(sims)  # the share of the smaller one, like ours
    return scores


def pycode_similar_scores(subs, base):
    import pycode_similar
    names = sorted(subs)
    scores = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            try:
                result = pycode_similar.detect([subs[a], subs[b]], module_level=False)
                # (share of the first's AST lines found in the second, ...)
                scores[(a, b)] = pycode_similar.summarize(result[0][1])[0]
            except Exception as exc:  # its parser refuses some inputs
                scores[(a, b)] = float("nan")
                print(f"  pycode_similar failed on {a} / {b}: {type(exc).__name__}")
    return scores


def report(label, scores, threshold, seconds):
    copy = [s for (a, b), s in scores.items() if a.split("~")[0] == b.split("~")[0]]
    other = [s for (a, b), s in scores.items() if a.split("~")[0] != b.split("~")[0]]
    tp = sum(s >= threshold for s in copy)
    fp = sum(s >= threshold for s in other)
    print(f"{label:<34} {min(copy):>9.2f} {max(other):>11.2f} {min(copy) - max(other):>6.2f} "
          f"{tp:>3}/{len(copy)} {fp:>3}/{len(other)} {seconds:>8.2f}")


def main():
    print(describe())
    subs, base = corpus()
    print(f"{len(subs)} submissions, {len(subs) * (len(subs) - 1) // 2} pairs")
    print(f"{'detector (threshold)':<34} {'min copy':>9} {'max honest':>11} {'gap':>6} "
          f"{'TP':>6} {'FP':>7} {'seconds':>8}")
    start = time.perf_counter()
    scores = ours(subs, base)
    report("ours: winnowing k=12 w=6 (0.5)", scores, 0.5, time.perf_counter() - start)
    try:
        import copydetect  # noqa: F401
    except ImportError:
        print("copydetect: not importable (see the docstring)")
    else:
        for k, win in ((25, 1), (12, 6)):
            start = time.perf_counter()
            scores = copydetect_scores(subs, base, k, win)
            report(f"copydetect k={k} w={win} (0.5)", scores, 0.5, time.perf_counter() - start)
    try:
        import pycode_similar  # noqa: F401
    except ImportError:
        print("pycode_similar: not importable (see the docstring)")
    else:
        start = time.perf_counter()
        scores = pycode_similar_scores(subs, base)
        report("pycode_similar (0.5)", scores, 0.5, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
