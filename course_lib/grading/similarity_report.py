"""``python -m course_lib.grading.similarity``: gather the submissions, compare
them (:mod:`.similarity`) and write a ranked HTML report with side-by-side views.

The report folder holds ``index.html`` (pairs ranked by similarity, flagged
ones marked, then every submission against the reference), one page per
shown pair with both codes side by side and the shared passages highlighted,
and ``pairs.csv``. It is written into a temporary folder and renamed into
place, so an interrupted run never leaves a report that looks complete.
"""
import argparse
import csv
import html
import inspect
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .similarity import K, THRESHOLD, W, compare_all

__all__ = ["gather", "reference_code", "write_report", "main"]


def _solution_code(nb, solution_ids):
    from .notebooks import solution_cells
    parts = []
    for cell in solution_cells(nb, solution_ids):
        lines = [line for line in cell["source"].splitlines()
                 if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line]
        parts.append(f"# cell {cell['grade_id']}\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n"


def reference_code(course_dir, assignment):
    """The instructor's solution cells and the ``course_lib`` functions the
    items are graded against, as one text; and the solution cell ids."""
    import nbformat

    from .notebooks import code_solution_ids
    source = Path(course_dir) / "solutions" / assignment.id / f"{assignment.notebook}.ipynb"
    nb = nbformat.read(source, as_version=4)
    ids = code_solution_ids(nb)
    parts = [_solution_code(nb, ids)]
    seen = set()
    functions = list(assignment.reference_for.values()) + [i.reference for i in assignment.items]
    for fn in functions:
        if inspect.isfunction(fn) and fn.__module__.startswith("course_lib.") \
                and not fn.__module__.startswith("course_lib.grading") and fn not in seen:
            seen.add(fn)
            try:
                parts.append(f"# {fn.__module__}.{fn.__name__}\n" + inspect.getsource(fn))
            except (OSError, TypeError):
                pass
    return "\n\n".join(parts), ids


def starter_code(course_dir, assignment, solution_ids):
    """What every student got: the release's solution cells (stubs)."""
    import nbformat
    release = Path(course_dir) / "assignments" / assignment.id / f"{assignment.notebook}.ipynb"
    if not release.is_file():
        return ""
    return _solution_code(nbformat.read(release, as_version=4), solution_ids)


def gather(paths, solution_ids):
    """``({name: code}, [(name, reason)])`` from ``{name: notebook path}``."""
    from .notebooks import MalformedNotebook, read_submission
    codes, skipped = {}, []
    for name, path in sorted(paths.items()):
        try:
            nb, _ = read_submission(path)
        except MalformedNotebook as exc:
            skipped.append((name, str(exc)))
            continue
        codes[name] = _solution_code(nb, solution_ids)
    return codes, skipped


def submissions_in(course_dir, assignment, source=None):
    """``{student: notebook}``: from ``source`` (a folder of ``name.ipynb``
    or ``name/anything.ipynb``), else nbgrader's ``submitted`` folder."""
    found = {}
    if source is not None:
        source = Path(source)
        if not source.is_dir():
            raise SystemExit(f"similarity: {source} is not a folder of notebooks")
        for path in sorted(source.glob("*.ipynb")):
            found[path.stem] = path
        for path in sorted(source.glob("*/*.ipynb")):
            found.setdefault(path.parent.name, path)
        return found
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    submitted = Path(course_dir) / config.CourseDirectory.submitted_directory
    for path in sorted(submitted.glob(f"*/{assignment.id}/{assignment.notebook}.ipynb")):
        found[path.parent.parent.name] = path
    return found


# ---- HTML --------------------------------------------------------------------

_STYLE = """body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}tr.flag{background:#fde2e2}
.cols{display:flex;gap:1em}.cols>div{flex:1;min-width:0}pre{font-size:12px;margin:0}
pre span{display:block;white-space:pre-wrap}pre span.m{background:#ffe08a}
pre span i{color:#999;font-style:normal;display:inline-block;width:3em}"""


def _page(title, body):
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"{body}</body></html>\n")


def _code(code, marked):
    rows = []
    for number, line in enumerate(code.splitlines(), 1):
        cls = " class='m'" if number in marked else ""
        rows.append(f"<span{cls}><i>{number}</i>{html.escape(line)}</span>")
    return "<pre>" + "".join(rows) + "</pre>"


def _pair_page(pair, codes, reference):
    left = codes[pair.a]
    right = reference if pair.b == "reference" else codes[pair.b]
    body = (f"<p>similarity {pair.score:.0%} ({pair.shared} shared fingerprints); "
            "highlighted: lines in shared passages. <a href='index.html'>back</a></p>"
            f"<div class='cols'><div><h2>{html.escape(pair.a)}</h2>{_code(left, pair.lines_a)}"
            f"</div><div><h2>{html.escape(pair.b)}</h2>{_code(right, pair.lines_b)}</div></div>")
    return _page(f"{pair.a} vs {pair.b}", body)


def _table(pairs, prefix, show):
    rows = ["<tr><th>#</th><th>pair</th><th>similarity</th><th>shared</th><th>flagged</th>"
            "<th>view</th></tr>"]
    for rank, pair in enumerate(pairs, 1):
        link = (f"<a href='{prefix}-{rank:04d}.html'>side by side</a>" if rank <= show else "")
        rows.append(f"<tr class='{'flag' if pair.flagged else ''}'><td>{rank}</td>"
                    f"<td>{html.escape(pair.a)} / {html.escape(pair.b)}</td>"
                    f"<td>{pair.score:.0%}</td><td>{pair.shared}</td>"
                    f"<td>{'FLAGGED' if pair.flagged else ''}</td><td>{link}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def write_report(out, title, codes, reference, pairs, against, threshold, skipped=(),
                 show=50):
    """Write the report folder ``out`` (replaced whole); return ``index.html``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        show_pairs = max(show, sum(p.flagged for p in pairs))
        for prefix, listed, limit in (("pair", pairs, show_pairs),
                                      ("ref", against, len(against))):
            for rank, pair in enumerate(listed[:limit], 1):
                (tmp / f"{prefix}-{rank:04d}.html").write_text(
                    _pair_page(pair, codes, reference), encoding="utf-8")
        flagged = sum(p.flagged for p in pairs)
        flagged_ref = sum(p.flagged for p in against)
        body = [f"<p>{len(codes)} submissions, {len(pairs)} pairs; threshold {threshold:.0%} "
                f"(k = {K} tokens, window {W}): <b>{flagged} pairs flagged</b>, "
                f"<b>{flagged_ref} submissions flagged against the reference</b>. "
                "Similarity is the share of the smaller submission's fingerprints that the "
                "other has, after the starter code's are removed; names, layout, comments and "
                "order do not change it. A flag is a reason to read both, not a verdict.</p>",
                "<h2>Pairs of submissions</h2>", _table(pairs, "pair", show_pairs),
                "<h2>Against the reference</h2>", _table(against, "ref", len(against))]
        if skipped:
            body.append("<h2>Not compared</h2><ul>" + "".join(
                f"<li>{html.escape(n)}: {html.escape(r)}</li>" for n, r in skipped) + "</ul>")
        (tmp / "index.html").write_text(_page(title, "".join(body)), encoding="utf-8")
        with open(tmp / "pairs.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["a", "b", "similarity", "shared", "flagged"])
            for pair in pairs + against:
                writer.writerow([pair.a, pair.b, f"{pair.score:.4f}", pair.shared,
                                 int(pair.flagged)])
        os.chmod(tmp, 0o755)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "index.html"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.grading.similarity",
        description="Compare every submission's solution cells with the reference and with "
                    "every other submission; write a ranked HTML report.")
    parser.add_argument("assignment", help="a1, a2, a3 or a full assignment id")
    parser.add_argument("--course-dir", default=".", help="course folder (default: here)")
    parser.add_argument("--from", dest="source",
                        help="a folder of notebooks instead of nbgrader's submitted/")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"flag pairs at or above this similarity (default {THRESHOLD})")
    parser.add_argument("--out", help="report folder (default: grading/similarity/<id>)")
    args = parser.parse_args(argv)
    from .registry import get_assignment
    try:
        assignment = get_assignment(args.assignment)
    except KeyError as exc:
        print(f"similarity: {exc.args[0]}", file=sys.stderr)
        return 2
    if not 0 < args.threshold <= 1:
        print("similarity: --threshold must be in (0, 1]", file=sys.stderr)
        return 2
    course = Path(args.course_dir).resolve()
    reference, ids = reference_code(course, assignment)
    paths = submissions_in(course, assignment, args.source)
    if not paths:
        print(f"similarity: no submissions of {assignment.id} found (run collect first, or "
              "pass --from DIR)", file=sys.stderr)
        return 2
    codes, skipped = gather(paths, ids)
    pairs, against = compare_all(codes, reference, starter_code(course, assignment, ids),
                                 args.threshold)
    out = Path(args.out) if args.out else course / "grading" / "similarity" / assignment.id
    index = write_report(out, f"Similarity of {assignment.id} submissions", codes, reference,
                         pairs, against, args.threshold, skipped)
    flagged = [p for p in pairs if p.flagged]
    print(f"{len(codes)} submissions, {len(pairs)} pairs: {len(flagged)} flagged at "
          f">= {args.threshold:.0%}; {sum(p.flagged for p in against)} flagged against the "
          f"reference. Report: {index}")
    for pair in flagged[:20]:
        print(f"  {pair.score:5.0%}  {pair.a} / {pair.b}")
    return 0
