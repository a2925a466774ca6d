"""The autograde run report: what happened to each submission and which
checks most students fail.

Per submission: its seed, grading time, score, and anomalies —
``unreadable`` (0 with the reason), ``repaired`` (cell ids renumbered),
``timeout`` (a call or nbgrader's pass ran out of time), ``reference``
(use of the reference solution), ``tampered`` (locked cells deleted or
edited; nbgrader restored them), ``late`` (seconds and penalty), ``failed``
(not graded, with the reason). Per item and per check: the share of graded
submissions that lost it.

Written to ``grading/reports/<assignment>/``: ``autograde-<time>.html``
and ``.csv`` (submissions), ``autograde-<time>-checks.csv`` (failure
rates), and ``students/<id>.json`` per graded student (seed, verdict,
anomalies; what ``export`` and a reproduction read). Files are written to
a temporary name and renamed, so an interrupted run never leaves a
half-written report.
"""
import datetime as dt
import html
import json
from pathlib import Path

from course_lib import _atomic

from .ids import write_csv

__all__ = ["StudentProblem", "lateness", "anomalies", "student_record", "write",
           "failure_rates", "terminal_lines", "read_records"]


class StudentProblem(RuntimeError):
    """Something about one submission that the instructor must fix (its
    message is the whole report line)."""


def lateness(gb, assignment_id, student):
    """``{"timestamp", "seconds_late", "penalty"}`` from the gradebook."""
    submission = gb.find_submission(assignment_id, student)
    penalty = sum((nb.late_submission_penalty or 0) for nb in submission.notebooks)
    return {"timestamp": str(submission.timestamp) if submission.timestamp else "",
            "seconds_late": float(submission.total_seconds_late or 0), "penalty": penalty}


def anomalies(verdict, info, late, error=""):
    """``[(kind, text)]`` for one submission (see the module doc)."""
    found = []
    if error:
        found.append(("failed", error))
    if info.get("unreadable"):
        found.append(("unreadable", info["unreadable"]))
    if info.get("repairs"):
        found.append(("repaired", "; ".join(info["repairs"])))
    for text in info.get("tampered", []):
        found.append(("tampered", text))
    for item in (verdict.items.values() if verdict is not None else ()):
        if "uses the reference solution" in (item.reason or ""):
            found.append(("reference", f"{item.name}: {item.reason[:200]}"))
        timeouts = [c.name for c in item.checks if "took too long" in (c.message or "")]
        if timeouts:
            found.append(("timeout", f"{item.name} ({', '.join(timeouts)})"))
    for extra in getattr(verdict, "anomalies", None) or ():  # the engine may add its own
        kind, text = extra if isinstance(extra, (tuple, list)) and len(extra) == 2 \
            else ("engine", str(extra))
        found.append((str(kind), str(text)))
    if late and late.get("seconds_late", 0) > 0:
        found.append(("late", f"{late['seconds_late'] / 3600:.2f} h late, "
                              f"penalty {late['penalty']:g} points"))
    return found


def student_record(student, seed, verdict, info, late, error=""):
    return {"student": student, "seed": seed,
            "graded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(info.get("seconds", 0.0), 3),
            "score": verdict.score if verdict is not None else None,
            "max_score": verdict.max_score if verdict is not None else None,
            "late": late or {}, "anomalies": anomalies(verdict, info, late, error),
            "verdict": verdict.to_dict() if verdict is not None else None}


def read_records(course, assignment_id, students=None):
    """``{student: record}`` of the last autograde of each student."""
    folder = course.reports(assignment_id) / "students"
    out = {}
    for path in sorted(folder.glob("*.json")):
        if students is not None and path.stem not in students:
            continue
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return out


def failure_rates(records):
    """``[(item, check, lost, graded)]`` over the records with a verdict:
    how many lost each check (checks in the assignment's order)."""
    counts, order = {}, []
    for rec in records:
        verdict = rec.get("verdict")
        if not verdict or any(kind in ("unreadable", "failed") for kind, _ in rec["anomalies"]):
            continue
        for item_name, item in verdict["items"].items():
            for check in item["checks"]:
                key = (item_name, check["name"])
                if key not in counts:
                    counts[key] = [0, 0]
                    order.append(key)
                counts[key][1] += 1
                counts[key][0] += check["points"] < check["max_points"]
    return [(item, check, *counts[(item, check)]) for item, check in order]


def write(course, assignment, summary):
    """Write the student records and this run's report; return their paths."""
    folder = course.reports(assignment.id)
    for student, rec in summary["records"].items():
        _atomic.write_text(folder / "students" / f"{student}.json", json.dumps(rec, indent=1))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = folder / f"autograde-{stamp}"
    rows = []
    for student in sorted(set(summary["students"]) | set(summary["failures"])):
        rec = summary["records"].get(student)
        if rec is None:
            kinds = [("failed", summary["failures"].get(student, "not graded"))]
            rows.append([student, summary["seed"], "", "", "", "", "failed",
                         kinds[0][1]])
            continue
        late = rec["late"] or {}
        rows.append([student, rec["seed"], rec["seconds"], rec["score"], rec["max_score"],
                     late.get("penalty", ""),
                     " ".join(sorted({k for k, _ in rec["anomalies"]})),
                     " | ".join(f"{k}: {t}" for k, t in rec["anomalies"])])
    header = ["student_id", "seed", "seconds", "autograded_score", "autograded_max",
              "late_penalty", "anomalies", "details"]
    write_csv(base.with_suffix(".csv"), header, rows)
    rates = failure_rates(summary["records"].values())
    write_csv(Path(f"{base}-checks.csv"), ["item", "check", "lost", "graded", "share_lost"],
              [[i, c, lost, n, round(lost / n, 4) if n else ""] for i, c, lost, n in rates])
    _atomic.write_text(base.with_suffix(".html"), _html(assignment, summary, header, rows, rates))
    return {"csv": base.with_suffix(".csv"), "html": base.with_suffix(".html"),
            "checks": Path(f"{base}-checks.csv"), "rates": rates, "rows": rows}


def _html(assignment, summary, header, rows, rates):
    e = html.escape
    flagged = [r for r in rows if r[6]]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">",
        f"<title>autograde {e(assignment.id)}</title><style>body{{font:14px sans-serif;"
        "margin:2em}}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
        "vertical-align:top}td.d{white-space:pre-wrap;max-width:60em}.bar{background:#c44e52;"
        "height:10px}</style></head><body>",
        f"<h1>{e(assignment.title)}: autograde run</h1>",
        f"<p>seed {summary['seed']}; {len(summary['students'])} submissions in "
        f"{summary['seconds']:.1f} s on {summary['workers']} worker(s); "
        f"{len(summary['failures'])} not graded; sandbox: "
        f"{'bubblewrap' if summary['sandboxed'] else 'NONE (unsandboxed)'}</p>",
        f"<h2>Submissions with anomalies ({len(flagged)})</h2><table><tr>",
        "".join(f"<th>{e(h)}</th>" for h in header), "</tr>"]
    for row in flagged:
        parts.append("<tr>" + "".join(
            f"<td{' class=d' if i == 7 else ''}>{e(str(v))}</td>" for i, v in enumerate(row))
            + "</tr>")
    parts.append("</table><h2>Checks by share of submissions that lost them</h2><table>"
                 "<tr><th>item</th><th>check</th><th>lost</th><th>share</th><th></th></tr>")
    for item, check, lost, n in sorted(rates, key=lambda r: -(r[2] / r[3] if r[3] else 0)):
        share = lost / n if n else 0
        parts.append(f"<tr><td>{e(item)}</td><td>{e(check)}</td><td>{lost}/{n}</td>"
                     f"<td>{share:.0%}</td><td><div class=bar style='width:{200 * share:.0f}px'>"
                     "</div></td></tr>")
    parts.append("</table><h2>All submissions</h2><table><tr>"
                 + "".join(f"<th>{e(h)}</th>" for h in header[:7]) + "</tr>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row[:7]) + "</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def terminal_lines(summary, top=8):
    """What ``autograde`` prints after its summary line."""
    lines = []
    by_kind = {}
    for student, rec in sorted(summary["records"].items()):
        for kind, text in rec["anomalies"]:
            by_kind.setdefault(kind, []).append((student, text))
    for kind in ("failed", "unreadable", "timeout", "reference", "tampered", "late", "repaired"):
        for student, text in by_kind.pop(kind, []):
            lines.append(f"  {kind.upper()} {student}: {text}")
    for kind, entries in sorted(by_kind.items()):
        for student, text in entries:
            lines.append(f"  {kind.upper()} {student}: {text}")
    rates = sorted((r for r in summary["report"]["rates"] if r[3] and r[2]),
                   key=lambda r: -r[2] / r[3])[:top]
    if rates:
        lines.append("  most often lost:")
        for item, check, lost, n in rates:
            lines.append(f"    {lost / n:4.0%}  {item} / {check}  ({lost} of {n})")
    report = summary["report"]
    lines.append(f"  run report: {report['html']} (and {report['csv'].name}, "
                 f"{report['checks'].name})")
    return lines
