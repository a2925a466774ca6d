"""Turn the outcomes of one item's calls into points and feedback text.

The verdict of a submission is plain data (:meth:`Verdict.to_dict` is
JSON): per item, the points of each check and a feedback text that says
which outputs are right, which are not, on which case (in words, never
the hidden values), how far off, and which known bug the result matches.
"""
import math
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from .compare import Missing, compare, select
from .hints import error_hint
from .sandbox import BLOCKED_MARKER

__all__ = ["CaseOutcome", "CheckResult", "ItemVerdict", "Verdict", "judge_item"]

OK, FAIL = "✔", "✘"


@dataclass
class CaseOutcome:
    """What one call returned (``value``) or why it did not (``error``)."""
    ok: bool
    value: object = None
    error: str = ""
    timeout: bool = False


@dataclass
class CheckResult:
    name: str
    points: float
    max_points: float
    message: str = ""

    @property
    def ok(self):
        return self.points == self.max_points


@dataclass
class ItemVerdict:
    name: str
    title: str
    score: float
    max_score: float
    checks: list = field(default_factory=list)
    feedback: str = ""
    reason: str = ""  # why the whole item scored 0, if it did for one reason


@dataclass
class Verdict:
    assignment: str
    seed: int
    items: dict = field(default_factory=dict)
    cell_errors: dict = field(default_factory=dict)

    @property
    def score(self):
        return sum(v.score for v in self.items.values())

    @property
    def max_score(self):
        return sum(v.max_score for v in self.items.values())

    def to_dict(self):
        return {"assignment": self.assignment, "seed": self.seed,
                "score": self.score, "max_score": self.max_score,
                "cell_errors": self.cell_errors,
                "items": {k: asdict(v) for k, v in self.items.items()}}

    def scores(self):
        """``{item name: points}``."""
        return {k: v.score for k, v in self.items.items()}


def _fmt(points):
    return f"{points:g}"


def _reference_use(item, run, analysis, load_info, outcomes):
    """Why the item counts as using the reference, or ''."""
    names = [item.func] + [n for n in _student_names(item, run)]
    for name in names:
        violation = analysis.taint(name)
        if violation is not None:
            return f"{name} {violation}"
    origin = load_info.get("origins", {}).get(item.func)
    if origin not in (None, "cell") and str(origin).startswith("course_lib"):
        return f"{item.func} is {origin}'s function, not one you wrote"
    for outcome in outcomes.values():
        if not outcome.ok and BLOCKED_MARKER in outcome.error:
            line = next(ln for ln in outcome.error.splitlines() if BLOCKED_MARKER in ln)
            detail = line.split(BLOCKED_MARKER, 1)[1].strip().rstrip(".")
            return f"at run time: {detail}"
    return ""


def _student_names(item, run):
    """Student objects the item's calls pass in (e.g. their own loss)."""
    from .spec import Student, StudentKwargs
    names = set()
    for (item_name, _), call in run.calls.items():
        if item_name != item.name:
            continue
        for value in list(call.args) + list(call.kwargs.values()):
            if isinstance(value, Student):
                names.add(value.name)
        if isinstance(call.kwargs_from, StudentKwargs):
            names.add(call.kwargs_from.name)
    return sorted(names)


def judge_item(item, outcomes, run, analysis, load_info, verdict):
    """:class:`ItemVerdict` of ``item`` from ``{case name: CaseOutcome}``."""
    descriptions = {c.name: c.description for c in item.cases}
    head = f"{item.title}: "
    misuse = _reference_use(item, run, analysis, load_info, outcomes)
    if misuse:
        reason = (f"uses the reference solution ({misuse}). The course_lib functions this "
                  "assignment asks you to write may not be used in your answer, so this "
                  "item scores 0. Write it yourself with numpy.")
        checks = [CheckResult(c.name, 0.0, c.points, "not graded") for c in item.checks]
        return ItemVerdict(item.name, item.title, 0.0, item.points, checks,
                           f"{head}0 / {_fmt(item.points)} points\n  {FAIL} {reason}", reason)

    results, first_error = {}, None
    judged = {}  # static checks' own verdicts, before their requirements
    for check in item.checks:
        if check.kind == "static":
            ok, message = check.judge(analysis, item)
            judged[check.name] = ok
            if ok and any(not results[r].ok for r in check.requires):
                ok, message = False, ("earned once " + ", ".join(check.requires)
                                      + " " + ("is" if len(check.requires) == 1 else "are")
                                      + " correct")
            results[check.name] = CheckResult(check.name, check.points if ok else 0.0,
                                              check.points, message)
            continue
        message, passed_note, fraction = "", "", 1.0
        for case in item.cases_for(check):
            outcome = outcomes[case]
            where = f"on {descriptions[case]}"
            if not outcome.ok:
                first_error = first_error or (descriptions[case], outcome)
                message = ("took too long " if outcome.timeout else "raised an error ") + where
                break
            actual = select(outcome.value, check.output)
            if check.kind == "custom":
                ok, why = check.judge(actual, run.calls[(item.name, case)], run.ctx)
                if isinstance(ok, float) and not isinstance(ok, bool):
                    # partial credit (a measured accuracy on its ramp): the
                    # check keeps that share of its points, with the reason
                    fraction = min(fraction, max(0.0, min(1.0, ok)))
                    ok, passed_note = True, why
                else:
                    passed_note = why if ok else ""
            else:
                expected = select(run.expected[(item.name, case)], check.output)
                ok, why = compare(actual, expected, check.kind, check.rtol, check.name)
            if not ok:
                message = f"{where}: {why}"
                hint = "" if isinstance(actual, Missing) else _variant_hint(
                    item, check, case, actual, run)
                if not hint and check.nonfinite_hint and _has_nonfinite(actual):
                    hint = check.nonfinite_hint
                if hint:
                    message += f". {hint}"
                break
        points = 0.0 if message else round(check.points * fraction, 2)
        results[check.name] = CheckResult(check.name, points, check.points,
                                          message or passed_note)
    for check in item.checks:  # requirements may name later checks
        # a value check needs a static check's own verdict, not its gated
        # score: otherwise a wrong dx would also take db's points through the
        # "own loops" point that requires dx
        if check.kind != "static" and check.requires and results[check.name].ok \
                and any(not judged.get(r, results[r].ok) for r in check.requires):
            needed = " and ".join(f"'{r}'" for r in check.requires)
            results[check.name] = CheckResult(
                check.name, 0.0, check.points,
                f"counts only when {needed} {'passes' if len(check.requires) == 1 else 'pass'}")
    checks = [results[c.name] for c in item.checks]
    score = sum(c.points for c in checks)
    lines = [f"{head}{_fmt(score)} / {_fmt(item.points)} points"]
    for c in checks:
        mark = OK if c.ok else FAIL
        text = f"  {mark} {c.name} ({_fmt(c.points)}/{_fmt(c.max_points)})"
        lines.append(text + (f": {c.message}" if c.message else ""))
    right = [c.name for c in checks if c.ok]
    wrong = [c.name for c in checks if not c.ok]
    if right and wrong:
        lines.append(f"  Your {', '.join(right)} {'is' if len(right) == 1 else 'are'} correct "
                     f"but {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not.")
    in_own_code = False
    if first_error is not None:
        case_text, outcome = first_error
        lines.append(f"  Error on {case_text}:")
        lines += ["    " + line for line in outcome.error.splitlines()[:8]]
        where = _error_origin(item, outcome.error, verdict, run)
        in_own_code = where.startswith("your own")
        if where:
            lines.append(f"  The error is raised in {where}.")
        hint = error_hint(outcome.error)
        if hint:
            lines.append(f"  Hint: {hint}")
    if wrong:
        lines += _notes(item, analysis, verdict, after_own_error=in_own_code)
    return ItemVerdict(item.name, item.title, score, item.points, checks, "\n".join(lines))


def _has_nonfinite(value):
    """Does a returned number or float array hold NaN or infinity?"""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return not bool(np.all(np.isfinite(value)))
    return False


def _variant_hint(item, check, case, actual, run):
    """The hint of the first known bug whose output ``actual`` matches."""
    for variant, value in zip(item.variants, run.variant_values[(item.name, case)]):
        if value is None or (variant.checks is not None and check.name not in variant.checks):
            continue
        expected = select(value, check.output)
        if isinstance(expected, Missing):
            continue
        if check.kind == "custom":
            continue
        ok, _ = compare(actual, expected, check.kind, check.rtol, check.name)
        if ok:
            return variant.hint
    return ""


def _error_frames(text):
    """``[(cell, line, function)]`` of the student's frames in an error text
    (``runner.describe`` writes them as ``in <cell>, line <n>, in <func>``)."""
    return re.findall(r"^\s*in (.+?), line (\d+), in (\S+)$", text, flags=re.MULTILINE)


def _error_origin(item, text, verdict, run):
    """Where the student's own code raised: ``"your own f (cell 'c', line n)"``,
    ``"your g, which this item calls (cell 'c', line n)"``, or ``""``."""
    frames = _error_frames(text)
    if not frames:
        return ""
    cell, line, func = frames[-1]
    cell = cell[len("cell "):] if cell.startswith("cell ") else cell
    place = f"(cell '{cell}', line {line})"
    own = {item.func, "<module>"}
    dep_funcs = {}
    for dep in item.depends:
        try:
            dep_funcs[run.assignment.item(dep).func] = dep
        except KeyError:
            continue
    if func in dep_funcs:
        return f"your {func}, which this item calls {place}"
    if func in own or cell == item.func:
        return f"your own {item.func} {place}"
    return f"your function {func}, called from {item.func} {place}"


def _notes(item, analysis, verdict, after_own_error=False):
    """Context for a failing item: failing dependencies, cells that failed.
    After an error raised in the item's own code, a failing dependency is
    mentioned as a second thing to check, not as the cause."""
    notes = []
    for dep in item.depends:
        dep_verdict = verdict.items.get(dep)
        if dep_verdict is not None and dep_verdict.score < dep_verdict.max_score:
            if after_own_error:
                notes.append(f"  Note: your {dep_verdict.title}, which this item calls, does "
                             "not pass its own checks either; fix it too.")
            else:
                notes.append(f"  Note: this item calls your {dep_verdict.title}, which does "
                             "not pass its own checks yet; fix that first.")
    cells = {s.cell for s in analysis.definitions(item.func)}
    for cell, error in verdict.cell_errors.items():
        if not cells or cell in cells:
            first = error.splitlines()[0]
            notes.append(f"  Note: your cell '{cell}' raised {first} when run on its own "
                         "(the grader runs only your solution cells, in order; keep code that "
                         "needs other notebook variables out of them).")
    return notes
