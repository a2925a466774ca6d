"""The trusted side: inputs, references, the sandboxed run, the verdict.

A :class:`GradingRun` belongs to one assignment and one seed. It makes
every case's inputs once (``np.random.default_rng([seed, item, case])``,
so a run is reproducible and a new seed gives fresh inputs), keeps them
read-only, and computes the reference results and the known-bug variants
with ``course_lib`` itself before any student code runs.
:meth:`GradingRun.grade` then takes one submission's solution cells,
runs them in the sandbox and judges what comes back::

    run = GradingRun("a1_knn_linear", seed=1234)
    verdict = run.grade([{"grade_id": "svm_loss_naive", "source": "def ..."}])
    verdict.score, verdict.max_score, verdict.items["a1.svm_loss_naive"].feedback

Only data crosses the boundary: arrays in ``.npy`` files (loaded with
``allow_pickle=False``) and JSON. The verdict is a pure function of the
solution cells and the run, so serial and parallel grading agree.
"""
import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np

from . import boundary, runner, sandbox, static, workspace
from .registry import get_assignment
from .report import CaseOutcome, judge_item, Verdict
from .spec import Pixels, Probe, Student, StudentCall, StudentKwargs

__all__ = ["RunContext", "GradingRun", "get_run", "verdict_key", "GradingSetupError",
           "MAX_RESTARTS", "protocol_key", "PROTOCOL_VERSION"]

MAX_RESTARTS = 4          # relaunches after a task crashed or hung
MAX_SANDBOX_SECONDS = 300  # one launch; each call also has its own (smaller) limit
MAX_RESULT_BYTES = 256 * 1024 ** 2
RECORD_JSON_BYTES = 1024 ** 2  # a result record or cells.json (arrays are separate files)
# what the parent reads back for one call: RESULT_FACTOR times the expected
# result's size, plus RESULT_FLOOR; a decoded node of a result's tree costs NODE_BYTES
RESULT_FACTOR, RESULT_FLOOR, NODE_BYTES = 4, 1024 ** 2, 64
MAX_NOTES = 200  # entries of cells.json's "errors" and "origins" kept
RUNNER_PATH = Path(runner.__file__)


class GradingSetupError(RuntimeError):
    """The instructor's side cannot prepare a grading run (e.g. no dataset)."""


#: the course's measured-item key: ``$COURSE_GRADING_KEY`` (a secret number the
#: instructor sets for the course and keeps for regrades), else this public default
DEFAULT_PROTOCOL_KEY = 0
#: bumped when a measured item's protocol changes (other images, other sizes)
PROTOCOL_VERSION = 2  # 2: the classes renamed by a cycle (1: by any permutation)


def protocol_key():
    """The course's key for measured items (see :meth:`RunContext.protocol_rng`)."""
    text = os.environ.get("COURSE_GRADING_KEY", "").strip()
    if not text:
        return DEFAULT_PROTOCOL_KEY
    try:
        key = int(text, 0)
    except ValueError:
        raise GradingSetupError(f"COURSE_GRADING_KEY must be an integer; got {text!r}") from None
    if key < 0:
        raise GradingSetupError("COURSE_GRADING_KEY must not be negative")
    return key


class RunContext:
    """What case generators may use besides their random generator: the
    run's seed and datasets, loaded once per run, and the course's
    protocol key for measured items."""

    def __init__(self, seed, data_root=None, key=None):
        self.seed = seed
        self.data_root = data_root
        self.key = protocol_key() if key is None else int(key)
        self._cache = {}
        self._lock = threading.Lock()

    def protocol_rng(self, item_name):
        """A random generator for a measured item that does NOT depend on the
        run's seed: the same training and validation images, label
        permutation and training seed in every run of the course (so a
        student's measured result is the same whatever seed a regrade
        uses), different between courses (``key``) and protocol versions."""
        digest = hashlib.sha256(item_name.encode()).digest()
        return np.random.default_rng([self.key, PROTOCOL_VERSION,
                                      int.from_bytes(digest[:8], "little")])

    def release_data(self):
        """Forget the loaded datasets (the cases keep their own subsets)."""
        with self._lock:
            self._cache.clear()

    def cifar10(self):
        """``(X_train, y_train, X_test, y_test)`` uint8 images, loaded once."""
        with self._lock:
            if "cifar10" not in self._cache:
                from course_lib.data import DatasetError, load_cifar10
                try:
                    self._cache["cifar10"] = load_cifar10(  # cases pick a few images
                        root=self.data_root, download=False, contiguous=False)
                except DatasetError as exc:
                    raise GradingSetupError(
                        f"grading needs CIFAR-10 for a measured item: {exc}") from exc
            return self._cache["cifar10"]

    def measured_cifar10(self, item_name, num_train, num_val):
        """A measured item's data, the same in every run of a course:
        ``num_train`` training and ``num_val`` validation images, their labels
        with the classes renamed by a permutation (weights trained elsewhere
        on CIFAR-10's own labels score chance), and the training seed:
        ``(images, labels, val_images, y_val, seed)``."""
        prng = self.protocol_rng(item_name)
        images, labels, val_images, y_val = self.cifar10_sample(prng, num_train, num_val)
        # a random 10-cycle (sigma shift sigma^-1): no class keeps its name, so
        # weights trained on CIFAR-10's labels are right on no class at all
        order = prng.permutation(10)
        rename = np.empty(10, dtype=np.int64)
        rename[order] = np.roll(order, -1)
        return images, rename[labels], val_images, rename[y_val], int(prng.integers(1 << 30))

    def cifar10_sample(self, rng, num_train, num_val):
        """``num_train`` CIFAR-10 training images and ``num_val`` test images
        (uint8, C-ordered) with their labels, each drawn by ``rng`` without
        replacement: ``(X_train, y_train, X_val, y_val)``."""
        X_train, y_train, X_test, y_test = self.cifar10()
        train = rng.choice(len(X_train), min(num_train, len(X_train)), replace=False)
        val = rng.choice(len(X_test), min(num_val, len(X_test)), replace=False)
        return (np.ascontiguousarray(X_train[train]), y_train[train],
                np.ascontiguousarray(X_test[val]), y_test[val])


def _readonly(value):
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.setflags(write=False)
    return value


class GradingRun:
    """Inputs, references and variants of one assignment for one seed."""

    def __init__(self, assignment, seed, data_root=None, limits=None, key=None):
        self.assignment = get_assignment(assignment) if isinstance(assignment, str) else assignment
        self.seed = int(seed)
        self.ctx = RunContext(self.seed, data_root, key)
        self.calls, self.expected, self.variant_values = {}, {}, {}
        self.tasks, self.arrays = [], {}
        for i, item in enumerate(self.assignment.items):
            for j, case in enumerate(item.cases):
                rng = np.random.default_rng([self.seed, i, j])
                call = case.make(rng, self.ctx)
                call.args = [_readonly(a) for a in call.args]
                call.kwargs = {k: _readonly(v) for k, v in call.kwargs.items()}
                key = (item.name, case.name)
                self.calls[key] = call
                if item.reference is not None:
                    self.expected[key] = item.reference(*self._resolve(call.args),
                                                        **self._resolve(call.kwargs))
                self.variant_values[key] = [
                    _try(v.fn, self._resolve(call.args), self._resolve(call.kwargs))
                    for v in item.variants]
                self.tasks.append(self._task(f"t{len(self.tasks)}", item, case, call))
        # one sandbox per import group, each with its own stand-in course_lib
        # (A3 grades its naive layers where the fast ones cannot be called)
        self.groups = []
        for group, names in self.assignment.import_groups():
            tasks = [t for t in self.tasks if t["item"] in names]
            if tasks:
                self.groups.append((group, tasks))
        budget = max(sum(t["time_limit"] for t in tasks) for _, tasks in self.groups)
        budget = min(budget + self.assignment.startup_seconds, MAX_SANDBOX_SECONDS)
        self.limits = limits or sandbox.Limits(cpu_seconds=int(budget) + 10,  # CPU seconds;
                                               wall_seconds=sandbox.wall_backstop(budget) + 30)
        self.ctx.release_data()  # the cases hold what they need
        self._template = None
        self._template_lock = threading.Lock()
        # how a prepared work folder is run: here (default), or shipped to
        # another machine (distributed.DaskLauncher); the verdict stays here
        self.launcher = sandbox.launch

    # ---- inputs -------------------------------------------------------

    def _resolve(self, value):
        """The value the reference sees for an argument (copies of arrays)."""
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, StudentCall):  # before Student: it is one
            from .compare import select
            result = self.assignment.reference_for[value.name](
                *self._resolve(list(value.args)), **self._resolve(dict(value.kwargs or {})))
            return select(result, value.pick)
        if isinstance(value, Student):
            return self.assignment.reference_for[value.name]
        if isinstance(value, Probe):
            return runner.PROBES[value.name]
        if isinstance(value, Pixels):
            return value.value()
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._resolve(v) for v in value)
        return value

    def _arg_spec(self, value, tid, counter):
        if isinstance(value, np.ndarray):
            name = f"in/{tid}_{len(counter)}.npy"
            counter.append(name)
            self.arrays[name] = value
            return {"npy": name}
        if isinstance(value, StudentCall):  # before Student: it is one
            return {"call": {"func": value.name, "pick": value.pick,
                             "args": [self._arg_spec(a, tid, counter) for a in value.args],
                             "kwargs": {k: self._arg_spec(v, tid, counter)
                                        for k, v in (value.kwargs or {}).items()}}}
        if isinstance(value, Student):
            return {"student": value.name}
        if isinstance(value, Probe):
            return {"probe": value.name}
        if isinstance(value, Pixels):
            return {"pixels": self._arg_spec(value.images, tid, counter)["npy"],
                    "mean": self._arg_spec(value.mean, tid, counter)["npy"]}
        if isinstance(value, dict):
            return {"dict": {k: self._arg_spec(v, tid, counter) for k, v in value.items()}}
        if isinstance(value, (list, tuple)):
            return {"list": [self._arg_spec(v, tid, counter) for v in value]}
        if isinstance(value, np.generic):
            value = value.item()
        json.dumps(value)  # anything else must be plain JSON
        return {"json": value}

    def _task(self, tid, item, case, call):
        counter = []
        task = {"id": tid, "item": item.name, "case": case.name, "func": item.func,
                "args": [self._arg_spec(a, tid, counter) for a in call.args],
                "kwargs": {k: self._arg_spec(v, tid, counter) for k, v in call.kwargs.items()},
                "time_limit": item.time_limit}
        if isinstance(call.kwargs_from, StudentKwargs):
            task["kwargs_from"] = {"name": call.kwargs_from.name,
                                   "allowed": call.kwargs_from.allowed,
                                   "required": list(call.kwargs_from.required)}
        return task

    def template_dir(self):
        """What every sandbox of this run starts from, written once:
        ``site-<group>/`` (each import group's stand-in ``course_lib``, see
        :mod:`.shim`), ``runner.py`` and ``in/`` (the hidden inputs as
        ``.npy``). Work folders link to these files (see
        :meth:`_prepare_workdir`); nothing writes to them afterwards."""
        from .shim import build_shim, call_blocked_for
        with self._template_lock:
            if self._template is None:
                self._tmp = workspace.TemporaryFolder(prefix="run-")  # 0700, never outlives us
                template = Path(self._tmp.name) / "template"
                groups = [group for group, _ in self.groups]
                for group in groups:
                    build_shim(template / f"site-{group.name}", group.allowed_modules,
                               call_blocked_for(group, groups), self.assignment.title)
                shutil.copy2(RUNNER_PATH, template / "runner.py")
                (template / "in").mkdir()
                for rel, array in self.arrays.items():
                    np.save(template / rel, array, allow_pickle=False)
                for folder, _, files in os.walk(template):
                    for name in files:
                        os.chmod(os.path.join(folder, name), 0o444)
                self._template = template
            return self._template

    def _prepare_workdir(self, workdir, group):
        """Fill a fresh work folder from :meth:`template_dir`: the runner,
        the inputs, and ``site/``, the stand-in ``course_lib`` of ``group``
        only (never another group's: the naive layers' sandbox must not hold
        the fast ones). In the sandbox the folder is mounted read-only, so
        its files can be hard links to the template's: about 120 links
        instead of writing 6 MB of inputs and the stand-in package for every
        submission (on A1 that took the grading process's CPU per sandbox
        run from about 170 to 55 ms, and halved the kernel's time). Without
        the sandbox (``isolation.mode() == "none"``), or where links cannot
        be made (another file system), the files are copies, so that no run
        can change what the next one gets."""
        from . import isolation
        template = self.template_dir()
        link = isolation.mode() == "bwrap"
        sources = [(template / "runner.py", Path("runner.py")), (template / "in", Path("in")),
                   (template / f"site-{group.name}", Path("site"))]
        for source, rel in sources:
            if source.is_file():
                pairs = [(source, workdir / rel)]
            else:
                pairs = []
                for folder, dirs, files in os.walk(source):
                    sub = Path(folder).relative_to(source)
                    (workdir / rel / sub).mkdir(parents=True, exist_ok=True)
                    pairs += [(Path(folder) / name, workdir / rel / sub / name) for name in files]
            for src, dest in pairs:
                if link:
                    try:
                        os.link(src, dest)
                        continue
                    except OSError:  # e.g. keep_dir on another file system
                        link = False
                shutil.copyfile(src, dest)

    # ---- grading ------------------------------------------------------

    def key(self, cells):
        """Cache key of a verdict: the run and the solution cells."""
        return verdict_key(self.assignment.id, self.seed, cells, self.ctx.key)

    def grade(self, cells, keep_dir=None):
        """Verdict for solution cells ``[{"grade_id", "source"}]`` run in the sandbox."""
        cells = [{"grade_id": str(c["grade_id"]), "source": static.clean_source(c["source"])}
                 for c in cells]
        analysis = static.analyze(cells, self.assignment.allowed_modules)
        outcomes, load_info = {}, {"errors": {}, "origins": {}}
        with workspace.folder("grade-") as tmp:  # removed even if this process is killed
            for group, tasks in self.groups:
                name = "work" if len(self.groups) == 1 else f"work-{group.name}"
                workdir = Path(keep_dir or tmp) / name
                try:
                    got, info = self._run_sandbox(cells, workdir, Path(tmp) / name, group, tasks)
                finally:  # the sandbox's scratch (out/), once its results are read
                    workspace.release(workdir, keep_files=keep_dir is not None)
                outcomes.update(got)
                for key in ("errors", "origins"):
                    for k, v in info.get(key, {}).items():
                        load_info[key].setdefault(k, v)
        return self._judge(outcomes, load_info, analysis)

    def grade_in_process(self, namespace, items=None):
        """Verdict computed by calling functions of ``namespace`` directly,
        in this process: the in-kernel mode of stock ``nbgrader autograde``.
        Not safe against a hostile submission (see the README)."""
        outcomes = {}
        wanted = set(items) if items else None
        for task in self.tasks:
            if wanted is not None and task["item"] not in wanted:
                continue
            store = {}

            def save_array(path, value, store=store):
                store[path] = np.array(value, copy=True)
                return path

            try:
                value = runner.call_task(task, namespace, lambda rel: self.arrays[rel].copy())
                tree = runner.encode(value, save_array)
                outcomes[task["id"]] = CaseOutcome(ok=True, value=_decode(tree, store.__getitem__))
            except Exception as exc:  # the student's error, reported as feedback
                outcomes[task["id"]] = CaseOutcome(ok=False, error=runner.describe(exc))
        origins = {t["func"]: runner.function_origin(namespace, t["func"]) for t in self.tasks}
        load_info = {"errors": {}, "origins": _normalize_origins(origins)}
        cells = [{"grade_id": "notebook", "source": ""}]
        return self._judge(outcomes, load_info, static.analyze(cells), items=wanted)

    def _judge(self, outcomes, load_info, analysis, items=None):
        verdict = Verdict(assignment=self.assignment.id, seed=self.seed,
                          cell_errors=dict(load_info.get("errors", {})))
        verdict.cell_errors.update(analysis.syntax_errors)
        by_item = {}
        for task in self.tasks:
            by_item.setdefault(task["item"], []).append(task)
        for item in self.assignment.items:
            if items is not None and item.name not in items:
                continue
            case_outcomes = {t["case"]: outcomes.get(t["id"], CaseOutcome(
                ok=False, error="was not run")) for t in by_item.get(item.name, [])}
            verdict.items[item.name] = judge_item(
                item, case_outcomes, self, analysis, load_info, verdict)
        return verdict

    def _run_sandbox(self, cells, workdir, tmp, group, tasks):
        """Run ``tasks`` (one import group's) in a sandbox: their outcomes and
        what loading the cells said."""
        workdir.mkdir(parents=True)
        self._prepare_workdir(workdir, group)
        job = {"site": [str(workdir / "site")] + sandbox.site_paths(),
               "prelude": self.assignment.prelude, "cells": cells,
               "tasks": [{k: v for k, v in t.items() if k not in ("item", "case")}
                         for t in tasks]}
        logs = tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        outcomes, load_info, start = {}, {"errors": {}, "origins": {}}, 0
        for _ in range(MAX_RESTARTS + 1):
            job["start"] = start
            (workdir / "job.json").write_text(json.dumps(job))
            watchdog = sandbox.TaskWatchdog({t["id"]: float(t["time_limit"])
                                             for t in tasks[start:]})
            result = self.launcher(["runner.py", "job.json"], workdir, self.limits, logs,
                                   watchdog=watchdog)
            info = _read_json(workdir / "out" / "cells.json")
            if isinstance(info, dict):
                load_info = {"errors": _str_dict(info.get("errors")),
                             "origins": _normalize_origins(_str_dict(info.get("origins")))}
            culprit = None
            for index in range(start, len(tasks)):
                tid = tasks[index]["id"]
                record = _read_json(workdir / "out" / f"{tid}.json")
                if record is not None:
                    outcomes[tid] = _outcome(record, workdir, result_budget(self, tasks[index]))
                if (workdir / "out" / f"{tid}.started").exists():
                    culprit = index  # the last call that began
            done = all(t["id"] in outcomes for t in tasks)
            if done:
                break
            if culprit is None:  # died before the first task: loading the cells
                why = _crash_reason(result, "while running your solution cells")
                for task in tasks[start:]:
                    outcomes.setdefault(task["id"], CaseOutcome(ok=False, error=why))
                break
            # the run died during the last call that began: that call failed
            # (a result file for it was written by the student, not the
            # runner), and so did earlier ones that left no result
            why = _crash_reason(result, "during this call")
            for task in tasks[start:culprit]:
                outcomes.setdefault(task["id"], CaseOutcome(ok=False, error=why,
                                                            timeout=result.timed_out))
            outcomes[tasks[culprit]["id"]] = CaseOutcome(ok=False, error=why,
                                                              timeout=result.timed_out)
            start = culprit + 1
            if start >= len(tasks):
                break
        for task in tasks:
            outcomes.setdefault(task["id"], CaseOutcome(
                ok=False, error="not run: earlier calls crashed too often"))
        return outcomes, load_info


def verdict_key(assignment_id, seed, cells, key=None):
    """Cache key of the verdict on solution cells ``[{"grade_id", "source"}]``
    in the run ``(assignment_id, seed)`` under the protocol key ``key``
    (default: :func:`protocol_key`); needs no :class:`GradingRun`."""
    key = protocol_key() if key is None else int(key)
    blob = json.dumps([assignment_id, int(seed), key, PROTOCOL_VERSION, cells], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# ---- reading what the sandbox wrote --------------------------------------

def _try(fn, args, kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception:  # a variant that cannot run on a case simply never matches
        return None


def _read_json(path, limit=RECORD_JSON_BYTES):
    """Parsed JSON of a file the sandbox wrote; ``None`` if it is missing or
    not JSON; a failed record saying so if it is larger than ``limit``."""
    path = Path(path)  # never follows a link the sandbox planted
    try:
        size = os.stat(path, follow_symlinks=False).st_size
    except OSError:
        return None
    if size > limit:
        return {"ok": False, "error": f"the result record {path.name} ({size} bytes) is larger "
                                      f"than the grader reads back ({limit} bytes); return "
                                      "plain values"}
    return boundary.read_json(path.parent, path.name, limit)


def _str_dict(value):
    if not isinstance(value, dict):
        return {}
    return {str(k)[:200]: str(v)[:4000] for k, v in list(value.items())[:MAX_NOTES]}


def _nbytes(value):
    """Bytes of the arrays and numbers in a (nested) value; placeholders'
    arrays as the runner will see them."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, Pixels):
        images = value.images
        return len(images) * (int(np.prod(images.shape[1:])) + 1) * 8
    if isinstance(value, StudentCall):
        return sum(_nbytes(v) for v in (*value.args, *(value.kwargs or {}).values()))
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 8 if isinstance(value, (int, float, np.generic)) else 0


def result_budget(run, task):
    """What the parent reads back for the call ``task`` (of ``run.tasks``): a
    multiple of the expected result's size (of its inputs' size for a
    measured item, which has no reference), plus a floor."""
    key = (task["item"], task["case"])
    if key in run.expected:
        size = _nbytes(run.expected[key])
    else:
        call = run.calls[key]
        size = _nbytes(list(call.args)) + _nbytes(dict(call.kwargs))
    return boundary.Budget(RESULT_FACTOR * size + RESULT_FLOOR, expected=size)


def _normalize_origins(origins):
    return {k: ("cell" if isinstance(v, str) and v.startswith("<cell ") else v)
            for k, v in origins.items()}


_SIGNAL_REASONS = {
    11: "crashed in C code (segmentation fault: ctypes, or memory written out of bounds?)",
    6: "aborted (a crash in C code)",
    7: "crashed in C code (bus error)",
    9: "was killed (out of memory, too many processes, or the CPU time limit)",
    24: "used up its CPU time limit",
    25: "wrote a file larger than the limit",
}


def _crash_reason(result, where):
    if getattr(result, "disk_exceeded", False):
        return (f"stopped: it wrote more files or bytes than the sandbox allows {where} "
                "(your code should not write files)")
    if getattr(result, "reason", ""):  # the parent stopped it, and says why
        return f"stopped {where}: {result.reason}"
    if result.timed_out:
        return f"stopped: it did not finish within {result.seconds:.0f} s {where}"
    if result.signal:
        what = _SIGNAL_REASONS.get(result.signal, "was killed")
        return f"the Python process {what} {where} (signal {result.signal})"
    return f"the Python process exited with code {result.returncode} {where} " \
           "(sys.exit or os._exit in your code?)"


def _outcome(record, workdir, budget=None):
    """The :class:`CaseOutcome` of a result record; its arrays are read
    within ``budget`` (a :class:`boundary.Budget`, see :func:`result_budget`):
    an over-budget result is that call's failure, with the reason."""
    if not isinstance(record, dict):
        return CaseOutcome(ok=False, error="the runner wrote an unreadable result")
    if not record.get("ok"):
        return CaseOutcome(ok=False, error=str(record.get("error", "failed"))[:4000],
                           timeout=bool(record.get("timeout")))
    budget = budget or boundary.Budget(MAX_RESULT_BYTES)

    def load(rel):  # strict: no links, no pickles, no archives, no lies in the header
        return boundary.read_array(workdir, str(rel), MAX_RESULT_BYTES, budget)

    try:
        return CaseOutcome(ok=True, value=_decode(record.get("value"), load, budget=budget))
    except (ValueError, OSError, KeyError, TypeError, RecursionError) as exc:
        return CaseOutcome(ok=False, error=f"the result could not be read back ({exc})")
    except MemoryError:
        return CaseOutcome(ok=False, error="the result could not be read back (too large)")


def _decode(tree, load, depth=0, budget=None):
    """Python value of a result tree (see :mod:`runner`); strict about types.
    Each node is charged to ``budget`` (if given) before it is decoded."""
    from .compare import Unsupported
    if depth > 20 or not isinstance(tree, dict):
        raise ValueError("malformed result")
    if budget is not None:
        budget.charge(NODE_BYTES, "the result's structure")
    t = tree.get("t")
    if t == "ndarray":
        array = load(tree["file"])
        if type(array) is not np.ndarray or array.dtype.hasobject:
            raise ValueError("not a plain array")
        return array
    if t == "float":
        v = tree["v"]
        return float(v) if isinstance(v, (int, float, str)) and not isinstance(v, bool) else _bad()
    if t == "int":
        return int(tree["v"])
    if t == "bool":
        return bool(tree["v"])
    if t == "none":
        return None
    if t in ("tuple", "list"):
        items = [_decode(v, load, depth + 1, budget) for v in tree["items"]]
        return tuple(items) if t == "tuple" else items
    if t == "dict":
        return {str(k)[:200]: _decode(v, load, depth + 1, budget)
                for k, v in tree["items"].items()}
    if t == "other":
        return Unsupported(str(tree.get("type", "?"))[:200])
    raise ValueError(f"unknown result type {t!r}")


def _bad():
    raise ValueError("malformed number")


# ---- one run per process and seed ----------------------------------------

_RUNS = {}
_RUNS_LOCK = threading.Lock()


def get_run(assignment_id, seed, data_root=None):
    """The :class:`GradingRun` for ``(assignment, seed)`` and the course's
    protocol key, made once per process."""
    assignment = get_assignment(assignment_id)
    key = (assignment.id, int(seed), str(data_root), protocol_key())
    with _RUNS_LOCK:
        if key not in _RUNS:
            _RUNS[key] = GradingRun(assignment, seed, data_root, key=key[-1])
        return _RUNS[key]
