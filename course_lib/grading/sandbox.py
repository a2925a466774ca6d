"""Start the runner in a separate, limited, sandboxed process, and prepare
what it may import.

Everything that starts student code goes through :func:`launch`: bubblewrap
(:mod:`~course_lib.grading.isolation`: new namespaces, no network, a root
file system holding only the interpreter, its standard library and numpy
(:mod:`~course_lib.grading.view`), the work folder read-only except
``out/``, an unprivileged uid of its own, a system-call filter
(:mod:`~course_lib.grading.seccomp`) and a new session keyring),
``python -I -S`` (no user site, no ``PYTHON*`` variables, no ``.pth``
files, so the editable install of ``course_lib`` is not on the path), a
minimal environment, resource limits per process (CPU time, address space,
processes, file size, open files) set by ``prlimit`` inside the sandbox
and, as root, per sandbox: a cgroup (:mod:`~course_lib.grading.cgroups`:
memory including shared memory and scratch, processes, a CPU share, CPU
time) and a private tmpfs scratch for ``out/`` and ``/tmp``
(:mod:`~course_lib.grading.workspace`). The parent ends a run that uses up
its CPU time (measured on the cgroup: every process of the sandbox), a
call that outlives its limit in CPU seconds (:class:`TaskWatchdog`), or a
run past its wall-clock backstop (for code that sleeps): SIGTERM, then
SIGKILL after a grace period. Output is read through pipes of which only
the first :data:`OUTPUT_LIMIT` bytes are kept.

:mod:`.shim` writes the ``course_lib`` the runner sees (per import group:
allowed modules generated from source, call-blocked stand-ins, import
stubs for the rest).
"""
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups, isolation, workspace
from .runner import WALL_EXTRA, WALL_FACTOR

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
    """Resource limits of one sandboxed run.

    ``cpu_seconds`` bounds the CPU time of each process (rlimit) and, with a
    cgroup, of the whole sandbox; ``wall_seconds`` is only a backstop for
    code that sleeps (time limits are CPU seconds, so a busy machine does not
    fail a correct solution). ``memory_bytes`` bounds each process's address
    space; with a cgroup the sandbox as a whole may use ``memory_bytes +
    disk_bytes`` of memory (its processes, shared memory, ``memfd`` files and
    its scratch). ``disk_bytes`` and ``max_files`` bound the sandbox's
    scratch (``out/`` and ``/tmp``)."""
    cpu_seconds: int = 120
    wall_seconds: float = 180.0
    memory_bytes: int = 3 * 1024 ** 3
    max_processes: int = 16
    file_bytes: int = 256 * 1024 ** 2
    open_files: int = 256
    disk_bytes: int = 512 * 1024 ** 2
    max_files: int = 5000

    @property
    def sandbox_memory_bytes(self):
        return self.memory_bytes + self.disk_bytes


# bwrap, its PID-namespace init and setpriv/prlimit before the exec: tasks of
# the sandbox that are not the student's
EXTRA_TASKS = 8


@dataclass
class LaunchResult:
    """What the trusted side learns about a finished (or killed) run.
    ``reason`` says why the parent ended it (if it did), in words for the
    feedback; ``cpu_seconds`` is the CPU time of all its processes (None if
    unknown); ``confinement`` says how it was confined (the run summary)."""
    returncode: int
    timed_out: bool
    seconds: float
    stdout: str = ""
    stderr: str = ""
    signal: int | None = field(default=None)
    disk_exceeded: bool = False
    sandboxed: bool = True
    output_bytes: int = 0
    memory_exceeded: bool = False
    cpu_seconds: float | None = None
    reason: str = ""
    confinement: str = ""

    @property
    def crashed(self):
        return self.timed_out or self.disk_exceeded or self.memory_exceeded \
            or self.returncode != 0


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


def wall_backstop(cpu_limit):
    """Wall-clock seconds after which a call with ``cpu_limit`` CPU seconds
    is ended anyway (it sleeps or waits): several times its limit, so that
    a busy machine never fails a call that is within its CPU time."""
    return WALL_FACTOR * float(cpu_limit) + WALL_EXTRA


@dataclass
class TaskWatchdog:
    """Per-call time limits enforced from outside: the runner touches
    ``out/<id>.started`` before each call; a call whose result
    ``out/<id>.json`` has not appeared once the sandbox has used ``limit +
    grace`` CPU seconds since this watchdog first saw it started (or
    :func:`wall_backstop` seconds have passed) ends the run. The runner's
    own CPU-time signal can be ignored by student code, and the sandbox's
    CPU time counts every process the call started. Picklable, so it
    travels with a remote launch."""
    limits: dict               # task id -> CPU seconds
    grace: float = 2.0
    seen: dict = field(default_factory=dict)

    def __call__(self, workdir, cpu=None):
        """A reason to end the run, or None; ``cpu``: the sandbox's CPU
        seconds so far (None: unknown, only the wall-clock backstop holds)."""
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
                began, cpu_began = self.seen[tid]
                if cpu is not None and cpu_began is not None \
                        and cpu - cpu_began > limit + self.grace:
                    return f"it used more than its limit of {limit:g} s of CPU time"
                if now - began > wall_backstop(limit) + self.grace:
                    return (f"it did not finish within {wall_backstop(limit):g} s of wall-clock "
                            f"time (its limit is {limit:g} s of CPU time: does it sleep or wait?)")
            elif f"{tid}.started" in names:
                self.seen[tid] = (now, cpu)
        return None


def _tree_cpu(pid):
    """CPU seconds of process ``pid`` and its descendants (live ones, and
    the reaped ones through their parents' counters): the fallback when
    there is no cgroup to ask."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    stack += [int(x) for x in f.read().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total / ticks


def confinement():
    """One line: how each sandbox is confined on this host (run summaries)."""
    if isolation.mode() != "bwrap":
        return "no sandbox"
    scratch = ("a private tmpfs scratch per sandbox" if os.geteuid() == 0 else
               "no private scratch (not root): out/ is measured by its files, so space held by "
               "unlinked files escapes the quota")
    filtered = ("a system-call filter" if not isolation.seccomp_fd_missing() else
                "no system-call filter (no table for this architecture)")
    return f"{cgroups.status()}; {scratch}; {filtered}"


def launch(argv, workdir, limits=Limits(), log_dir=None, writable=("out",), watchdog=None):
    """Run ``argv`` (a Python script and its arguments) in ``workdir`` with
    the sandbox's interpreter flags, environment and limits.

    ``workdir`` is read-only inside the sandbox except its ``writable``
    subfolders (created here; as root ``out/`` is a fresh private scratch,
    which stays mounted until :func:`workspace.release
    <course_lib.grading.workspace.release>` of the folder, so that the
    caller can read the results). ``log_dir`` (default: ``workdir``)
    receives ``stdout.txt`` and ``stderr.txt`` (the kept heads of the
    output). ``watchdog(workdir, cpu_seconds)`` (e.g. a
    :class:`TaskWatchdog`), called a few times a second, ends the run as
    timed out when it returns a reason. Raises :class:`SandboxUnavailable`
    when bubblewrap does not work and unsandboxed grading was not allowed.
    """
    isolation.require()
    workdir = Path(workdir).resolve()
    log_dir = Path(log_dir or workdir)
    sandboxed = isolation.mode() == "bwrap"
    python = [isolation.sandbox_python(), "-I", "-S", "-B", *map(str, argv)]
    start = time.perf_counter()
    group = filter_fd = None
    with isolation.UidLease() if sandboxed else _NoLease() as uid:
        try:
            scratch = None
            if sandboxed and uid is not None:
                for sub in writable:
                    workspace.unmount(workdir / sub)  # the last launch's scratch: read by now
            for sub in writable:
                (workdir / sub).mkdir(parents=True, exist_ok=True)
            if sandboxed:
                env = dict(minimal_env("/tmp"))
                if uid is not None:
                    _share_read_only(workdir)
                    if "out" in writable:
                        scratch = workspace.mount_scratch(workdir / "out", limits.disk_bytes,
                                                          limits.max_files, uid)
                    for sub in writable:
                        os.chown(workdir / sub, uid, uid)
                found = cgroups.backend()
                if found is not None:
                    group = cgroups.SandboxCgroup.create(
                        found, limits.sandbox_memory_bytes, limits.max_processes + EXTRA_TASKS)
                inner = _prlimit_prefix(limits, nproc=uid is not None) + python
                filter_fd = isolation.seccomp_fd()
                cmd = isolation.bwrap_command(inner, workdir, writable, limits.disk_bytes, uid,
                                              env, tmp_dir=scratch, seccomp_fd=filter_fd)
                if group is not None:
                    cmd = _join_cgroup(group) + cmd
            else:
                env = minimal_env(workdir)
                cmd = _prlimit_prefix(limits) + python
            if sandboxed:
                isolation.new_session_keyring()
            proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True, close_fds=True,
                                    pass_fds=() if filter_fd is None else (filter_fd,))
            if filter_fd is not None:
                os.close(filter_fd)
                filter_fd = None
            result = _supervise(proc, workdir, writable, limits, watchdog, uid, group,
                                scratch, start)
        finally:
            if filter_fd is not None:
                os.close(filter_fd)
            if group is not None:
                group.remove()
    result.sandboxed = sandboxed
    result.confinement = confinement() if sandboxed else "no sandbox"
    for name, text in (("stdout.txt", result.stdout), ("stderr.txt", result.stderr)):
        try:
            (log_dir / name).write_text(text, encoding="utf-8")
        except OSError:
            pass
    return result


def _join_cgroup(group):
    """A prefix that moves the command's first process into ``group`` before
    it starts anything (``sh`` writes its pid, then runs the command in its place)."""
    files = group.procs_files()
    script = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; '
              'n=$((n - 1)); done; exec "$@"')
    return ["/bin/sh", "-c", script, "sh", str(len(files)), *files]


def _supervise(proc, workdir, writable, limits, watchdog, uid, group, scratch, start):
    """Wait for the run while checking its limits; end it when one is hit."""
    drains = [_Drain(proc.stdout), _Drain(proc.stderr)]
    for d in drains:
        d.start()
    timed_out = disk_exceeded = False
    reason = ""
    deadline = start + limits.wall_seconds
    next_check = 0.0

    def cpu_now():
        value = group.cpu_seconds() if group is not None else None
        return _tree_cpu(proc.pid) if value is None else value

    if scratch is None:
        base_bytes, base_files = _writable_usage(workdir, writable, limits.max_files)
    cpu = None
    while proc.poll() is None:
        now = time.perf_counter()
        if now >= deadline:
            timed_out = True
            reason = (f"it did not finish within the sandbox's {limits.wall_seconds:g} s of "
                      "wall-clock time (does it sleep or wait?)")
            break
        if now >= next_check:  # a few times a second is enough
            if scratch is not None:
                if _scratch_full(workdir / "out"):
                    disk_exceeded = True
                    break
            else:
                used, files = _writable_usage(workdir, writable, base_files + limits.max_files)
                if used - base_bytes > limits.disk_bytes or files - base_files > limits.max_files:
                    disk_exceeded = True
                    break
            cpu = cpu_now()
            if cpu is not None and cpu > limits.cpu_seconds + 1:
                timed_out = True
                reason = (f"the sandbox used more than its limit of {limits.cpu_seconds:g} s of "
                          "CPU time (all its processes together)")
                break
            why = watchdog(workdir, cpu) if watchdog is not None else None
            if why:
                timed_out, reason = True, why
                break
            next_check = now + 0.25
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - now)))
    _kill_tree(proc, uid, polite=timed_out or disk_exceeded, group=group)
    if scratch is not None and not disk_exceeded:  # filled, and ended by its own ENOSPC?
        disk_exceeded = _scratch_full(workdir / "out")
    for d in drains:
        d.join(timeout=5)
    for pipe in (proc.stdout, proc.stderr):
        pipe.close()
    seconds = time.perf_counter() - start
    rc = proc.returncode
    sig = -rc if rc is not None and rc < 0 else None
    if rc is not None and rc > 128 and rc != 255:  # bwrap reports a signal as 128 + n
        sig = rc - 128
    # an OOM kill, or a write into memfd, shared memory or /tmp refused at the
    # limit (that call then saw ENOMEM; the run went on: the limit contains it)
    memory_exceeded = group is not None and (group.oom_kills() > 0 or group.limit_hits() > 0)
    if memory_exceeded and not reason:
        reason = (f"it ran out of the sandbox's memory limit of "
                  f"{limits.sandbox_memory_bytes / 1024 ** 3:.1f} GB (all its processes, "
                  "shared memory, memfd files and /tmp count together)")
    final_cpu = group.cpu_seconds() if group is not None else cpu
    return LaunchResult(returncode=rc, timed_out=timed_out, seconds=seconds,
                        stdout=drains[0].text(), stderr=drains[1].text(), signal=sig,
                        disk_exceeded=disk_exceeded,
                        output_bytes=drains[0].total + drains[1].total,
                        memory_exceeded=memory_exceeded, cpu_seconds=final_cpu, reason=reason)


def _scratch_full(out_dir):
    """Whether the sandbox's scratch has (almost) no space or inodes left."""
    try:
        st = os.statvfs(out_dir)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024 or st.f_favail < 2


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


def _kill_tree(proc, uid, polite, group=None):
    """End the run and everything it started: SIGTERM, a grace period, then
    SIGKILL to the process group, to every process of the run's cgroup or
    uid, and (through ``--die-with-parent`` and the PID namespace) to the
    sandbox."""
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
    if group is not None:
        group.kill()
    isolation.kill_uid(uid)
    proc.wait()


def site_paths():
    """Directories the runner appends to ``sys.path``: this interpreter's
    site folders (for numpy), by their real paths, without processing any
    ``.pth`` file. In the sandbox they hold numpy and nothing else (see
    :mod:`~course_lib.grading.view`)."""
    from .view import site_dirs
    return site_dirs()

