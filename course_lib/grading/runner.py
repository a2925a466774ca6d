"""The grading runner: executes a student's solution cells and calls the
graded functions on hidden inputs. Nothing else.

This file runs *inside the sandbox*, in the student's process, as a script
(``python -I -S runner.py job.json``). It imports only the standard library
and numpy, never ``course_lib``, and decides nothing: it writes what the
student's functions returned (arrays as ``.npy``, scalars and structure as
JSON) and the trusted process judges those files. Whatever the student's
code does to this process can only change the student's own results.

The same call logic also serves the in-kernel mode (:func:`call_task` with
arrays from memory), which stock ``nbgrader autograde`` uses when it runs
the hidden test cells in the student's kernel.

Job file (JSON), written by the trusted process::

    {"site": [...sys.path entries to append...],
     "prelude": "import numpy as np",
     "cells": [{"grade_id": ..., "source": ...}, ...],
     "tasks": [{"id": "t0", "func": "svm_loss_naive", "args": [ARG...],
                "kwargs": {name: ARG}, "kwargs_from": null | {...},
                "time_limit": 20}, ...],
     "start": 0}

``ARG`` is ``{"npy": "in/t0_0.npy"}``, ``{"json": value}``,
``{"student": "name"}`` (a function or value the solution cells define),
``{"probe": "quadratic_loss"}`` (a function of this module),
``{"call": {"func": name, "args": [ARG...], "kwargs": {...}, "pick": "1"}}``
(what the student's function returns, or the part ``pick`` selects: the
cache of their forward pass for grading their backward pass),
``{"dict": {key: ARG}}``, ``{"list": [ARG, ...]}`` or
``{"pixels": "in/X.npy", "mean": "in/mean.npy"}`` (uint8 images made
float64, mean-subtracted, with a column of ones appended: the preprocessing
of the notebook, done here so that only 1/8 of the bytes are copied).

Output: ``out/<id>.json`` per finished task with ``{"ok": true, "value":
TREE, "seconds": s}`` or ``{"ok": false, "error": "...", "where": ...}``,
and ``out/<id>.started`` written just before the call, so the trusted
process knows which task a crash or a timeout interrupted.
"""
import builtins
import json
import math
import os
import signal
import sys
import time
import traceback

# Keep error texts and tracebacks short: they end up in the feedback.
MAX_TEXT = 2000
MAX_LIST = 100_000
# a call's limit is in CPU seconds; this backstop (for code that sleeps or
# waits) is in wall-clock seconds: WALL_FACTOR * limit + WALL_EXTRA
WALL_FACTOR, WALL_EXTRA = 3, 10.0


class TaskTimeout(BaseException):
    """Raised (by SIGPROF or SIGALRM) when one call uses more CPU time than
    its limit, or sleeps past the wall-clock backstop; a BaseException, so
    the usual ``except Exception`` does not swallow it."""


# ---- probes: functions the grader passes to a student's function -------

def quadratic_loss(W, X, y, reg):
    """A smooth stand-in loss for checking a training loop on its own.

    ``L = 1/(2N) sum_i |x_i W - onehot(y_i)|^2 + reg * sum(W * W)`` with
    ``dW = X^T (X W - Y) / N + 2 reg W``. Deterministic and cheap, so the
    trusted process can replay the same loop exactly.
    """
    import numpy as np
    N = X.shape[0]
    diff = X @ W  # (N, C)
    diff[np.arange(N), y] -= 1.0
    loss = 0.5 * float(np.sum(diff * diff)) / N + reg * float(np.sum(W * W))
    dW = X.T @ diff / N + 2 * reg * W
    return loss, dW


PROBES = {"quadratic_loss": quadratic_loss}


# ---- encoding results -------------------------------------------------

def encode(value, save_array, path="r"):
    """JSON tree describing ``value``; arrays go through ``save_array``.

    Only exact ``numpy.ndarray`` objects are saved as arrays (no subclasses,
    no lazy objects); anything unusual is recorded by type name so the
    trusted side can say what was returned instead.
    """
    import numpy as np
    if type(value) is np.ndarray:
        if value.dtype.hasobject or value.dtype.fields is not None:
            return {"t": "other", "type": f"ndarray of dtype {value.dtype}"}
        return {"t": "ndarray", "file": save_array(path, value)}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)) and type(value).__module__ in ("builtins", "numpy"):
        return {"t": "int", "v": _safe_int(value)}
    if isinstance(value, (float, np.floating)) and type(value).__module__ in ("builtins", "numpy"):
        return {"t": "float", "v": _float_text(float(value))}
    if value is None:
        return {"t": "none"}
    if type(value) in (tuple, list):
        if len(value) > MAX_LIST:
            return {"t": "other", "type": f"{type(value).__name__} of {len(value)} items"}
        return {"t": type(value).__name__,
                "items": [encode(v, save_array, f"{path}_{i}") for i, v in enumerate(value)]}
    if type(value) is dict:
        if not all(type(k) is str for k in value):
            return {"t": "other", "type": "dict with non-string keys"}
        return {"t": "dict", "items": {k: encode(v, save_array, f"{path}_{_safe_key(k)}")
                                       for k, v in value.items()}}
    return {"t": "other", "type": _type_name(value)}


def _safe_int(value):
    value = int(value)
    return value if abs(value) < 2 ** 62 else str(value)


def _float_text(x):
    # JSON has no NaN or infinity; keep them as strings the trusted side knows
    return x if math.isfinite(x) else repr(x)


def _safe_key(key):
    return "".join(c if c.isalnum() else "_" for c in key)[:40]


def _type_name(value):
    cls = type(value)
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"[:200]


# ---- decoding arguments -----------------------------------------------

def build_arg(spec, namespace, load_array):
    """The Python value an ``ARG`` spec stands for."""
    if "npy" in spec:
        return load_array(spec["npy"])
    if "json" in spec:
        return spec["json"]
    if "student" in spec:
        name = spec["student"]
        if name not in namespace:
            raise NameError(f"{name} is not defined by your solution cells")
        return namespace[name]
    if "call" in spec:  # the student's own function's result, e.g. their forward's cache
        call = spec["call"]
        func = namespace.get(call["func"])
        if not callable(func):
            raise NameError(f"{call['func']} is not defined by your solution cells")
        value = func(*[build_arg(a, namespace, load_array) for a in call.get("args", [])],
                     **{k: build_arg(a, namespace, load_array)
                        for k, a in call.get("kwargs", {}).items()})
        for step in filter(None, call.get("pick", "").split(".")):
            value = value[int(step)] if isinstance(value, (tuple, list)) else value[step]
        return value
    if "probe" in spec:
        return PROBES[spec["probe"]]
    if "dict" in spec:
        return {k: build_arg(v, namespace, load_array) for k, v in spec["dict"].items()}
    if "list" in spec:
        return [build_arg(v, namespace, load_array) for v in spec["list"]]
    if "pixels" in spec:
        import numpy as np
        pixels = load_array(spec["pixels"])
        mean = load_array(spec["mean"])
        X = pixels.reshape(len(pixels), -1).astype(np.float64) - mean
        return np.hstack([X, np.ones((len(X), 1))])
    raise ValueError(f"unknown argument spec {sorted(spec)}")


def student_kwargs(spec, namespace):
    """Keyword arguments taken from a dict the student defines, or returns
    from a function (e.g. chosen hyperparameters), checked against the
    allowed names and ranges."""
    name = spec["name"]
    if name not in namespace:
        raise NameError(f"{name} is not defined by your solution cells")
    value = namespace[name]
    if callable(value):  # a function that returns the dict
        value = value()
    if type(value) is not dict:
        raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
    kwargs = {}
    for key, (low, high) in spec["allowed"].items():
        if key not in value:
            if key in spec.get("required", ()):
                raise KeyError(f"{name} has no entry {key!r}")
            continue
        v = value[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
            raise ValueError(f"{name}[{key!r}] = {v!r} must be a number in [{low}, {high}]")
        kwargs[key] = v
    extra = sorted(set(value) - set(spec["allowed"]))
    if extra:
        raise KeyError(f"{name} has unexpected keys {extra}; allowed: {sorted(spec['allowed'])}")
    return kwargs


def call_task(task, namespace, load_array):
    """Call the student's function for one task; return its raw result."""
    func = namespace.get(task["func"])
    if func is None:
        raise NameError(f"{task['func']} is not defined by your solution cells "
                        "(was the function renamed, or did its cell fail to run?)")
    if not callable(func):
        raise TypeError(f"{task['func']} is a {type(func).__name__}, not a function")
    args = [build_arg(a, namespace, load_array) for a in task.get("args", [])]
    kwargs = {k: build_arg(a, namespace, load_array) for k, a in task.get("kwargs", {}).items()}
    if task.get("kwargs_from"):
        kwargs.update(student_kwargs(task["kwargs_from"], namespace))
    return func(*args, **kwargs)


# ---- running solution cells -------------------------------------------

def run_cells(cells, prelude):
    """Execute the prelude and then each solution cell in one fresh
    namespace, like a notebook run top to bottom. Returns the namespace and
    ``{grade_id: error text}`` for cells that raised."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(prelude, "<prelude>", "exec"), namespace)
    errors = {}
    for cell in cells:
        try:
            code = compile(cell["source"], f"<cell {cell['grade_id']}>", "exec")
            exec(code, namespace)
        except BaseException as exc:  # SystemExit too: a cell must not end the run
            if isinstance(exc, KeyboardInterrupt):
                raise
            errors[cell["grade_id"]] = describe(exc)
    return namespace, errors


# what an ENOMEM or ENOSPC from a write means in the sandbox (its cgroup, its scratch)
_LIMIT_NOTES = {12: " (the sandbox's memory limit: its processes, shared memory, memfd files "
                    "and /tmp count together)",
                28: " (the sandbox's scratch is full: out/ and /tmp share one small quota)"}


def describe(exc):
    """``Type: message`` and the student's own frames of the traceback."""
    text = str(exc)
    if isinstance(exc, NotImplementedError) and not text:
        lines = ["NotImplementedError (not written yet)"]
    else:
        lines = [f"{type(exc).__name__}: {text}"[:MAX_TEXT]]
    if isinstance(exc, OSError) and exc.errno in _LIMIT_NOTES:
        lines[0] += _LIMIT_NOTES[exc.errno]
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith("<cell ")]
    for frame in frames[-3:]:
        lines.append(f"  in {frame.filename[1:-1]}, line {frame.lineno}, in {frame.name}")
    return "\n".join(lines)


def function_origin(namespace, name):
    """Where the object the student calls ``name`` was defined: a solution
    cell ("<cell ...>"), or a module (which the grader treats as use of a
    library function in place of the student's own)."""
    obj = namespace.get(name)
    code = getattr(obj, "__code__", None)
    if code is not None:
        return code.co_filename
    return getattr(obj, "__module__", None) or type(obj).__name__


# ---- main -------------------------------------------------------------

def _alarm(signum, frame):
    raise TaskTimeout(signum)


def main(job_path):
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    for entry in job.get("site", []):
        sys.path.append(entry)
    import numpy as np

    def load_array(rel):
        return np.load(rel, allow_pickle=False)

    os.makedirs("out", exist_ok=True)
    namespace, errors = run_cells(job["cells"], job.get("prelude", ""))
    origins = {t["func"]: function_origin(namespace, t["func"]) for t in job["tasks"]}
    _write_json("out/cells.json", {"errors": errors, "origins": origins})

    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGPROF, _alarm)
    for task in job["tasks"][job.get("start", 0):]:
        tid = task["id"]
        with open(f"out/{tid}.started", "w"):
            pass
        arrays = []

        def save_array(path, value, tid=tid, arrays=arrays):
            name = f"out/{tid}_{len(arrays)}.npy"
            np.save(name, value, allow_pickle=False)
            arrays.append(name)
            return name

        start = time.perf_counter()
        limit = float(task.get("time_limit", 30))
        try:
            # the limit counts this process's CPU time (a busy machine slows
            # the call, not its CPU time); the backstop counts wall time
            signal.setitimer(signal.ITIMER_PROF, limit)
            signal.setitimer(signal.ITIMER_REAL, WALL_FACTOR * limit + WALL_EXTRA)
            try:
                value = call_task(task, namespace, load_array)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.setitimer(signal.ITIMER_REAL, 0)
            record = {"ok": True, "value": encode(value, save_array),
                      "seconds": time.perf_counter() - start}
        except TaskTimeout as exc:
            if exc.args and exc.args[0] == signal.SIGPROF:
                error = f"used more than its limit of {limit:g} s of CPU time"
            else:
                error = (f"did not finish within {WALL_FACTOR * limit + WALL_EXTRA:g} s of "
                         f"wall-clock time (its limit is {limit:g} s of CPU time: does it sleep "
                         "or wait?)")
            record = {"ok": False, "timeout": True, "error": error}
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            record = {"ok": False, "error": describe(exc)}
        _write_json(f"out/{tid}.json", record)
    return 0


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
