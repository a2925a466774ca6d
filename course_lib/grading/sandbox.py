"""Start the runner in a separate, limited, sandboxed process, and prepare
what it may import.

Everything that starts student code goes through :func:`launch`: bubblewrap
(:mod:`~course_lib.grading.isolation`: new namespaces, no network, a root
file system of read-only binds, the work folder read-only except ``out/``,
an unprivileged uid of its own), ``python -I -S`` (no user site, no
``PYTHON*`` variables, no ``.pth`` files, so the editable install of
``course_lib`` is not on the path), a minimal environment, resource limits
(CPU time, address space, processes, file size, open files) set by
``prlimit`` inside the sandbox, a wall-clock timeout after which the whole
tree is killed (SIGTERM, then SIGKILL after a grace period), a quota on
what ``out/`` may hold, and output read through pipes of which only the
first :data:`OUTPUT_LIMIT` bytes are kept.

:mod:`.shim` writes the ``course_lib`` the runner sees (per import group:
allowed modules generated from source, call-blocked stand-ins, import
stubs for the rest).
"""
import os
import shutil
import signal
import subprocess
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import isolation

__all__ = ["Limits", "LaunchResult", "launch", "build_shim", "site_paths", "TaskWatchdog",
           "BLOCKED_MARKER", "SandboxUnavailable", "allow_unsandboxed"]

SandboxUnavailable = isolation.SandboxUnavailable
allow_unsandboxed = isolation.allow_unsandboxed

# The stubs' message starts with this, so the trusted side recognises it.
from .shim import BLOCKED_MARKER, build_shim  # noqa: E402,F401  (re-exported)
OUTPUT_LIMIT = 64 * 1024  # bytes of stdout/stderr kept
GRACE_SECONDS = 1.0       # between SIGTERM and SIGKILL
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run. ``disk_bytes`` bounds both the
    sandbox's ``/tmp`` (a tmpfs) and what its ``out/`` folder may hold."""
    cpu_seconds: int = 120
    wall_seconds: float = 180.0
    memory_bytes: int = 3 * 1024 ** 3
    max_processes: int = 16
    file_bytes: int = 256 * 1024 ** 2
    open_files: int = 256
    disk_bytes: int = 512 * 1024 ** 2
    max_files: int = 5000


@dataclass
class LaunchResult:
    """What the trusted side learns about a finished (or killed) run."""
    returncode: int
    timed_out: bool
    seconds: float
    stdout: str = ""
    stderr: str = ""
    signal: int | None = field(default=None)
    disk_exceeded: bool = False
    sandboxed: bool = True
    output_bytes: int = 0

    @property
    def crashed(self):
        return self.timed_out or self.disk_exceeded or self.returncode != 0


def _prlimit_prefix(limits, nproc=True):
    """The limits as a ``prlimit`` command prefix (util-linux), which sets
    them just before exec without Python code in between."""
    prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
    if not os.path.exists(prlimit):  # pragma: no cover - prlimit is part of util-linux
        raise isolation.SandboxUnavailable("prlimit (util-linux) is not installed")
    cmd = [prlimit, f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_bytes}",
           f"--fsize={limits.file_bytes}", f"--nofile={limits.open_files}", "--core=0"]
    if nproc:
        cmd.append(f"--nproc={limits.max_processes}")
    return cmd + ["--"]


def minimal_env(workdir):
    """The only environment variables student code sees."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir),
            "LANG": "C.UTF-8", "TMPDIR": str(workdir), "MPLBACKEND": "Agg",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            # one BLAS thread per run: parallelism comes from grading
            # several submissions at once, and threads would oversubscribe
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class _Drain(threading.Thread):
    """Read a pipe to its end, keeping only the first ``limit`` bytes, so a
    flood of output neither blocks the child nor fills memory or disk."""

    def __init__(self, pipe, limit=OUTPUT_LIMIT):
        super().__init__(daemon=True)
        self.pipe, self.limit, self.head, self.total = pipe, limit, bytearray(), 0

    def run(self):
        try:
            while True:
                chunk = self.pipe.read1(65536) if hasattr(self.pipe, "read1") \
                    else self.pipe.read(65536)
                if not chunk:
                    break
                self.total += len(chunk)
                if len(self.head) <= self.limit:
                    self.head += chunk[:self.limit + 1 - len(self.head)]
        except (OSError, ValueError):
            pass

    def text(self):
        text = bytes(self.head[:self.limit]).decode("utf-8", "replace")
        if self.total > self.limit:
            text += "\n[... output truncated]"
        return text


def _usage(folder, max_files):
    """``(bytes, files)`` under ``folder``, stopping early past ``max_files``."""
    total, count, stack = 0, 0, [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            count += 1
            if count > max_files:
                return total, count
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
    return total, count


@dataclass
class TaskWatchdog:
    """Per-call time limits enforced from outside: the runner touches
    ``out/<id>.started`` before each call; a call whose result
    ``out/<id>.json`` has not appeared ``limit + grace`` seconds after this
    watchdog first saw it started ends the run (the runner's own
    ``SIGALRM`` limit can be ignored by student code). Picklable, so it
    travels with a remote launch."""
    limits: dict               # task id -> seconds
    grace: float = 2.0
    seen: dict = field(default_factory=dict)

    def __call__(self, workdir):
        now = time.monotonic()
        try:  # one listing instead of a stat per file (it runs a few times a second)
            with os.scandir(Path(workdir) / "out") as entries:
                names = {entry.name for entry in entries}
        except OSError:
            return None
        for tid, limit in self.limits.items():
            if f"{tid}.json" in names:
                continue
            if tid in self.seen:
                if now - self.seen[tid] > limit + self.grace:
                    return f"task {tid} ran over its limit of {limit:g} s"
            elif f"{tid}.started" in names:
                self.seen[tid] = now
        return None


def launch(argv, workdir, limits=Limits(), log_dir=None, writable=("out",), watchdog=None):
    """Run ``argv`` (a Python script and its arguments) in ``workdir`` with
    the sandbox's interpreter flags, environment and limits.

    ``workdir`` is read-only inside the sandbox except its ``writable``
    subfolders (created here). ``log_dir`` (default: ``workdir``) receives
    ``stdout.txt`` and ``stderr.txt`` (the kept heads of the output).
    ``watchdog(workdir)`` (e.g. a :class:`TaskWatchdog`), called a few times
    a second, ends the run as timed out when it returns a reason.
    Raises :class:`SandboxUnavailable` when bubblewrap does not work and
    unsandboxed grading was not allowed.
    """
    isolation.require()
    workdir = Path(workdir).resolve()
    log_dir = Path(log_dir or workdir)
    for sub in writable:
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    sandboxed = isolation.mode() == "bwrap"
    python = [isolation.sandbox_python(), "-I", "-S", "-B", *map(str, argv)]
    start = time.perf_counter()
    with isolation.UidLease() if sandboxed else _NoLease() as uid:
        if sandboxed:
            env = dict(minimal_env("/tmp"))
            if uid is not None:
                _share_read_only(workdir)
                for sub in writable:
                    os.chown(workdir / sub, uid, uid)
            inner = _prlimit_prefix(limits, nproc=uid is not None) + python
            cmd = isolation.bwrap_command(inner, workdir, writable, limits.disk_bytes, uid, env)
        else:
            env = minimal_env(workdir)
            cmd = _prlimit_prefix(limits) + python
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, close_fds=True)
        drains = [_Drain(proc.stdout), _Drain(proc.stderr)]
        for d in drains:
            d.start()
        timed_out = disk_exceeded = False
        deadline = start + limits.wall_seconds
        next_check = 0.0
        base_bytes, base_files = _writable_usage(workdir, writable, limits.max_files)
        while proc.poll() is None:
            now = time.perf_counter()
            if now >= deadline:
                timed_out = True
                break
            if now >= next_check:  # scanning costs; a few times a second is enough
                used, files = _writable_usage(workdir, writable, base_files + limits.max_files)
                if used - base_bytes > limits.disk_bytes or files - base_files > limits.max_files:
                    disk_exceeded = True
                    break
                if watchdog is not None and watchdog(workdir):
                    timed_out = True
                    break
                next_check = now + 0.25
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - now)))
        _kill_tree(proc, uid, polite=timed_out or disk_exceeded)
        for d in drains:
            d.join(timeout=5)
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
    seconds = time.perf_counter() - start
    rc = proc.returncode
    sig = -rc if rc is not None and rc < 0 else None
    if sandboxed and rc is not None and rc > 128:  # bwrap reports a signal as 128 + n
        sig = rc - 128
    out, err = drains[0].text(), drains[1].text()
    for name, text in (("stdout.txt", out), ("stderr.txt", err)):
        try:
            (log_dir / name).write_text(text, encoding="utf-8")
        except OSError:
            pass
    return LaunchResult(returncode=rc, timed_out=timed_out, seconds=seconds,
                        stdout=out, stderr=err,
                        signal=sig,
                        disk_exceeded=disk_exceeded, sandboxed=sandboxed,
                        output_bytes=drains[0].total + drains[1].total)


def _share_read_only(workdir):
    """Let the sandbox's uid read the work folder (bound read-only). Its
    host parents stay as they are (a private temporary folder)."""
    for folder, dirs, files in os.walk(workdir):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)


class _NoLease:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _writable_usage(workdir, writable, max_files):
    used = files = 0
    for sub in writable:
        b, f = _usage(workdir / sub, max_files)
        used, files = used + b, files + f
    return used, files


def _kill_tree(proc, uid, polite):
    """End the run and everything it started: SIGTERM, a grace period, then
    SIGKILL to the process group, to every process of the run's uid, and
    (through ``--die-with-parent`` and the PID namespace) to the sandbox."""
    if polite and proc.poll() is None:
        for target in (lambda s: os.killpg(proc.pid, s), lambda s: isolation.kill_uid(uid, s)):
            try:
                target(signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    isolation.kill_uid(uid)
    proc.wait()


def site_paths():
    """Directories the runner appends to ``sys.path``: this interpreter's
    site-packages (for numpy), without processing any ``.pth`` file."""
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return sorted(p for p in paths if os.path.isdir(p))
