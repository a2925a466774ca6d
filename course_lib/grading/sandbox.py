"""Start the runner in a separate, limited process, and prepare what it may import.

Everything that starts student code goes through :func:`launch`: a process
of its own (own session, so the whole tree can be killed), ``python -I -S``
(no user site, no ``PYTHON*`` variables, no ``.pth`` files, so the
editable install of ``course_lib`` is not on the path), a minimal
environment, resource limits (CPU time, address space, processes, file
size, open files), a wall-clock timeout and captured, truncated output.
Issue 7 wraps this one function in bubblewrap.

:func:`build_shim` writes the ``course_lib`` the runner sees: ``data``,
``gradcheck`` and the modules an assignment allows are real copies; every
other module (the reference solution) is a stub whose import raises
``ImportError`` with a message that says why.
"""
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Limits", "LaunchResult", "launch", "build_shim", "site_paths",
           "BLOCKED_MARKER"]

# The stubs' message starts with this, so the trusted side recognises it.
BLOCKED_MARKER = "[reference blocked]"
OUTPUT_LIMIT = 64 * 1024  # bytes of stdout/stderr kept


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run."""
    cpu_seconds: int = 120
    wall_seconds: float = 180.0
    memory_bytes: int = 3 * 1024 ** 3
    max_processes: int = 64
    file_bytes: int = 256 * 1024 ** 2
    open_files: int = 256


@dataclass
class LaunchResult:
    """What the trusted side learns about a finished (or killed) run."""
    returncode: int
    timed_out: bool
    seconds: float
    stdout: str = ""
    stderr: str = ""
    signal: int | None = field(default=None)

    @property
    def crashed(self):
        return self.timed_out or self.returncode != 0


def _set_limits(limits):
    import resource
    pairs = [(resource.RLIMIT_CPU, limits.cpu_seconds),
             (resource.RLIMIT_AS, limits.memory_bytes),
             (resource.RLIMIT_NPROC, limits.max_processes),
             (resource.RLIMIT_FSIZE, limits.file_bytes),
             (resource.RLIMIT_NOFILE, limits.open_files),
             (resource.RLIMIT_CORE, 0)]
    for which, value in pairs:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):  # e.g. above an existing hard limit
            pass


def _prlimit_prefix(limits):
    """The limits as a ``prlimit`` command prefix (util-linux), which sets
    them between fork and exec without Python code in the child: safe when
    several grading threads start processes at once."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return None
    return [prlimit, f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_bytes}",
            f"--nproc={limits.max_processes}", f"--fsize={limits.file_bytes}",
            f"--nofile={limits.open_files}", "--core=0", "--"]


def minimal_env(workdir):
    """The only environment variables student code sees."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir),
            "LANG": "C.UTF-8", "TMPDIR": str(workdir), "MPLBACKEND": "Agg",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            # one BLAS thread per run: parallelism comes from grading
            # several submissions at once, and threads would oversubscribe
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def launch(argv, workdir, limits=Limits(), log_dir=None):
    """Run ``argv`` (a Python script and its arguments) in ``workdir`` with
    the sandbox's interpreter flags, environment and limits.

    ``log_dir`` (default: ``workdir``) receives ``stdout.txt`` and
    ``stderr.txt``; at most :data:`OUTPUT_LIMIT` bytes of each are returned.
    """
    workdir = Path(workdir)
    log_dir = Path(log_dir or workdir)
    cmd = [sys.executable, "-I", "-S", "-B", *map(str, argv)]
    prefix = _prlimit_prefix(limits)
    preexec = None
    if prefix is not None:
        cmd = prefix + cmd
    else:  # pragma: no cover - prlimit is part of util-linux
        preexec = lambda: _set_limits(limits)  # noqa: E731
    out_path, err_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
    start = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=workdir, env=minimal_env(workdir),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True, preexec_fn=preexec, close_fds=True)
        timed_out = False
        try:
            proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        # Kill the whole session: children the student started must not
        # outlive the run (they would hold the output files open).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    seconds = time.perf_counter() - start
    rc = proc.returncode
    return LaunchResult(returncode=rc, timed_out=timed_out, seconds=seconds,
                        stdout=_head(out_path), stderr=_head(err_path),
                        signal=-rc if rc is not None and rc < 0 else None)


def _head(path):
    try:
        with open(path, "rb") as f:
            data = f.read(OUTPUT_LIMIT + 1)
    except OSError:
        return ""
    text = data[:OUTPUT_LIMIT].decode("utf-8", "replace")
    return text + ("\n[... output truncated]" if len(data) > OUTPUT_LIMIT else "")


def site_paths():
    """Directories the runner appends to ``sys.path``: this interpreter's
    site-packages (for numpy), without processing any ``.pth`` file."""
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return sorted(p for p in paths if os.path.isdir(p))


# ---- the course_lib the sandbox sees ------------------------------------

def _stub_source(module, assignment_title):
    message = (f"{BLOCKED_MARKER} {module} is part of the reference solution, so it cannot "
               f"be imported while {assignment_title} is graded. Write this part yourself "
               "with numpy; only course_lib.data and course_lib.gradcheck are available.")
    return f"raise ImportError({message!r})\n"


def build_shim(dest, allowed=("course_lib.data", "course_lib.gradcheck"),
               assignment_title="this assignment"):
    """Write a stand-in ``course_lib`` package under ``dest``; return ``dest``.

    ``allowed`` lists importable modules (a package name allows all of it);
    ``"course_lib.conv:conv_forward_fast,conv_backward_fast"`` allows only
    those names of a module (A3 gives students the fast layers, not the
    naive ones they write). Every other module of the real package becomes a stub that raises
    ``ImportError`` with a message naming it.
    """
    import course_lib
    real = Path(course_lib.__file__).resolve().parent
    dest = Path(dest)
    target = dest / "course_lib"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(real / "__init__.py", target / "__init__.py")
    whole, partial = set(), {}
    for entry in allowed:
        module, _, names = entry.partition(":")
        stem = module.split(".")[1]
        if names:
            partial[stem] = [n.strip() for n in names.split(",") if n.strip()]
        else:
            whole.add(stem)
    for path in sorted(real.iterdir()):
        name = path.name
        if name.startswith(("_", ".")) or (path.is_file() and path.suffix != ".py"):
            continue
        stem = path.stem if path.is_file() else name
        module = f"course_lib.{stem}"
        if stem in partial and path.is_file():
            _write_partial(path, target, stem, partial[stem])
        elif stem in whole:
            if path.is_dir():
                shutil.copytree(path, target / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(path, target / name)
        elif path.is_dir():
            (target / name).mkdir(exist_ok=True)
            (target / name / "__init__.py").write_text(_stub_source(module, assignment_title))
        else:
            (target / name).write_text(_stub_source(module, assignment_title))
    return dest


def _write_partial(path, target, stem, names):
    """``course_lib.<stem>`` exposing only ``names``. The real module is
    copied as a private implementation; after the allowed functions are
    bound, every public function they do not (transitively) use is deleted
    from it, so e.g. the naive layers a student must write are gone."""
    impl = f"_{stem}_impl"
    shutil.copy2(path, target / f"{impl}.py")
    source = f"""from course_lib import {impl} as _impl

__all__ = {names!r}
for _n in __all__:
    globals()[_n] = getattr(_impl, _n)


def _used_names(code, seen):
    for name in code.co_names:
        if name not in seen:
            seen.add(name)
            obj = vars(_impl).get(name)
            if getattr(obj, "__code__", None) is not None:
                _used_names(obj.__code__, seen)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            _used_names(const, seen)


_keep = set(__all__)
for _n in __all__:
    _used_names(getattr(_impl, _n).__code__, _keep)
for _n in [n for n, v in vars(_impl).items() if not n.startswith("_") and callable(v)
           and getattr(v, "__module__", None) == _impl.__name__ and n not in _keep]:
    delattr(_impl, _n)
# helpers the allowed functions use stay importable too (other modules may need them)
for _n in sorted(_keep):
    if not _n.startswith("_") and _n in vars(_impl):
        globals().setdefault(_n, getattr(_impl, _n))
del _impl, _n, _keep, _used_names
"""
    (target / f"{stem}.py").write_text(source)
