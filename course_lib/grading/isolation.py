"""Bubblewrap around the runner: what the sandbox can see and who it runs as.

:func:`sandbox.launch <course_lib.grading.sandbox.launch>` asks this module
for the command line of one sandboxed run. The sandbox (``bwrap``):

- new PID, network, IPC and UTS namespaces (no network at all: not even
  ``127.0.0.1`` of the host), ``--die-with-parent``, ``--new-session``,
  a cleared environment;
- a root file system built from scratch: the interpreter, its standard
  library, numpy and the shared libraries they load, nothing else
  (:mod:`~course_lib.grading.view`: no other installed package, never the
  course folder, which holds ``solutions/``, ``grading/`` and the
  gradebook), a minimal ``/dev`` and a ``/proc`` of the sandbox's own
  processes, a ``/tmp`` (the sandbox's scratch, or a size-limited tmpfs);
- the work folder read-only (the student's cells, the hidden *inputs*, the
  runner), with only ``out/`` writable;
- a system-call filter (:mod:`~course_lib.grading.seccomp`), and a new
  session keyring for each sandbox (:func:`new_session_keyring`);
- as root (the usual grading host, and this container), the student's
  process runs under ``setpriv`` as an unprivileged uid of its own, leased
  from a pool with a lock file per uid, so ``RLIMIT_NPROC`` counts only
  that run's processes and every one of them can be found and killed.
  Without root, bwrap maps the caller to ``nobody`` in a user namespace.

If ``bwrap`` is missing or fails :func:`self_test`, grading stops with
:class:`SandboxUnavailable` unless the instructor allowed unsandboxed
grading (:func:`allow_unsandboxed`, the CLI's ``--no-sandbox-i-trust-these``
or ``COURSE_GRADING_NO_SANDBOX=1``); then every summary says so.
"""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

__all__ = ["SandboxUnavailable", "allow_unsandboxed", "mode", "self_test", "require",
           "UidLease", "bwrap_command", "kill_uid", "UNSAFE_WARNING"]

UID_BASE, UID_COUNT = 61000, 512
NOBODY = 65534
UNSAFE_WARNING = ("WARNING: GRADED WITHOUT A SANDBOX (--no-sandbox-i-trust-these): student code "
                  "ran as this user with only resource limits; it could read solutions/, the "
                  "gradebook and other submissions. Use this only for code you trust.")

_STATE = {"unsafe": False, "test": None}
_LOCK = threading.Lock()


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or does not work here, and unsandboxed grading
    was not allowed explicitly."""


def allow_unsandboxed(flag=True):
    """Let :func:`sandbox.launch` run student code without bubblewrap."""
    _STATE["unsafe"] = bool(flag)


def mode():
    """``"bwrap"`` (the default) or ``"none"`` (explicitly allowed)."""
    if _STATE["unsafe"] or os.environ.get("COURSE_GRADING_NO_SANDBOX") == "1":
        return "none"
    return "bwrap"


def _bwrap():
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)


def self_test():
    """``(ok, detail)``: can bwrap start this interpreter in the sandbox
    (as the expected uid, without network)? Run once per process."""
    with _LOCK:
        if _STATE["test"] is None:
            _STATE["test"] = _run_self_test()
        return _STATE["test"]


_SELF_TEST = """
import ctypes, json, os, socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.connect(('1.1.1.1', 53)); net = 'net'
except OSError:
    net = 'nonet'
try:
    import numpy
    numpy_ok = float(numpy.linalg.inv(numpy.eye(2)).sum()) == 2.0
except Exception as exc:
    numpy_ok = repr(exc)
blocked = None
if KEYCTL:
    libc = ctypes.CDLL(None, use_errno=True)
    blocked = libc.syscall(KEYCTL, 0, ctypes.c_long(-3), 0) == -1 and ctypes.get_errno() == 1
print(json.dumps({"uid": os.getuid(), "net": net, "secret": os.path.exists(SECRET),
                  "numpy": numpy_ok, "keyctl_blocked": blocked}))
"""
_KEYCTL = {"x86_64": 250, "aarch64": 219}


def _run_self_test():
    if _bwrap() is None:
        return False, "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    from . import seccomp, view
    try:
        sandbox_view = view.current()
    except view.ViewError as exc:
        return False, str(exc)
    with tempfile.TemporaryDirectory(prefix="course-sbx-test-") as tmp:
        work = Path(tmp) / "work"
        (work / "out").mkdir(parents=True)
        secret = Path(tmp) / "outside.txt"  # next to the work folder, never bound
        secret.write_text("x")
        machine = os.uname().machine
        keyctl = _KEYCTL.get(machine, 0) if seccomp.supported(machine) else 0
        code = (f"import sys\nsys.path += {sandbox_view.sites!r}\n"
                + _SELF_TEST.replace("KEYCTL", str(keyctl)).replace("SECRET", repr(str(secret))))
        with UidLease() as uid:
            inner = [sandbox_python(), "-I", "-S", "-c", code]
            filter_fd = seccomp_fd()
            cmd = bwrap_command(inner, work, ["out"], 64 * 1024 ** 2, uid, {"PATH": "/usr/bin"},
                                seccomp_fd=filter_fd)
            if uid is not None:
                os.chown(work / "out", uid, uid)
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                      stdin=subprocess.DEVNULL,
                                      pass_fds=() if filter_fd is None else (filter_fd,))
            except (OSError, subprocess.TimeoutExpired) as exc:
                return False, f"bwrap did not run: {exc}"
            finally:
                if filter_fd is not None:
                    os.close(filter_fd)
                kill_uid(uid)
    want_uid = uid if uid is not None else NOBODY
    try:
        found = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        found = None
    want = {"uid": want_uid, "net": "nonet", "secret": False, "numpy": True,
            "keyctl_blocked": True if keyctl else None}
    if proc.returncode != 0 or found != want:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        cause = ""
        if proc.returncode == 127 or "failed to execute" in detail[0]:
            cause = (f" (the sandbox could not start the interpreter {sandbox_python()}; "
                     "what it binds: " + "; ".join(sandbox_view.describe()[:6]) + " ...)")
        elif found is not None and found.get("numpy") is not True:
            cause = (f" (numpy does not work in the sandbox: {found.get('numpy')}; the sandbox "
                     f"sees numpy only in {', '.join(sandbox_view.sites)})")
        elif found is not None:
            wrong = {k: v for k, v in found.items() if want.get(k) != v}
            cause = f" (unexpected: {wrong})"
        return False, f"bwrap self-test failed (exit {proc.returncode}): {detail[0]}{cause}"
    return True, (f"bwrap works (student code runs as uid {want_uid}, no network, "
                  f"sees only the interpreter, its standard library and numpy"
                  + (", system-call filter" if keyctl else ", no system-call filter here")
                  + ")")


def seccomp_fd():
    """A pipe's read end holding the sandbox's system-call filter (for
    ``bwrap --seccomp``; the caller passes it on and closes it), or ``None``
    on an architecture without a filter table."""
    from . import seccomp
    program = _STATE.setdefault("seccomp", seccomp.program())
    if program is None:  # no table for this architecture: see clear_keyrings
        return None
    read, write = os.pipe()
    try:
        os.write(write, program)  # a few hundred bytes: fits the pipe's buffer
    finally:
        os.close(write)
    return read


def require():
    """Raise :class:`SandboxUnavailable` unless grading may proceed."""
    if mode() == "none":
        return
    ok, detail = self_test()
    if not ok:
        raise SandboxUnavailable(
            f"cannot grade untrusted code: {detail}. "
            + ("Install bubblewrap: `sudo apt-get install bubblewrap` (as root in the course "
               "folder, `make system-deps` installs it with the course's other Debian "
               "packages). " if _bwrap() is None else "")
            + "Only for code you trust: pass --no-sandbox-i-trust-these "
            "(or set COURSE_GRADING_NO_SANDBOX=1).")


def new_session_keyring():
    """Give the calling thread a new, empty session keyring, which the
    processes it starts next inherit (credentials are per thread): a
    sandbox never shares one with the grader or another sandbox. The
    system-call filter keeps student code from using keyrings at all; this
    also holds where there is no filter. Returns whether it worked."""
    number = _KEYCTL.get(os.uname().machine)
    if number is None:
        return False
    import ctypes
    libc = _STATE.get("libc") or _STATE.setdefault("libc", ctypes.CDLL(None, use_errno=True))
    # keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring
    return libc.syscall(number, 1, None) >= 0


def uid_lock_folder():
    """Where the uid locks live: one folder per host, whatever ``$TMPDIR``
    each grader has (graders with different ones must still see each
    other's leases)."""
    return Path("/tmp") / "course-grading-uids"


class UidLease:
    """An unprivileged uid for one run, exclusive across processes on this
    host (a lock file per uid); ``None`` when we are not root."""

    def __init__(self):
        self.uid, self._fd = None, None

    def __enter__(self):
        if os.geteuid() != 0:
            return None
        folder = uid_lock_folder()
        folder.mkdir(mode=0o700, exist_ok=True)
        start = (os.getpid() * 7) % UID_COUNT
        for k in range(UID_COUNT):
            uid = UID_BASE + (start + k) % UID_COUNT
            fd = os.open(folder / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            kill_uid(uid)  # leftovers of a crashed grader, if any
            return uid
        raise SandboxUnavailable(f"all {UID_COUNT} sandbox uids are in use")

    def __exit__(self, *exc):
        if self._fd is not None:
            kill_uid(self.uid)
            if seccomp_fd_missing():
                clear_keyrings(self.uid)
            os.close(self._fd)
        return False


def seccomp_fd_missing():
    """True where the sandbox runs without a system-call filter (an
    architecture without a table), so keyrings must be cleared by hand."""
    from . import seccomp
    return _STATE.setdefault("seccomp", seccomp.program()) is None


def clear_keyrings(uid):
    """Empty the user and user-session keyrings of ``uid`` (they outlive its
    processes): run as that uid, ``keyctl(KEYCTL_CLEAR, ...)`` on both.
    Only needed without the system-call filter, which refuses keyrings."""
    number = _KEYCTL.get(os.uname().machine)
    if number is None or uid is None:
        return False
    from . import view
    code = ("import ctypes\nlibc = ctypes.CDLL(None)\n"
            f"for ring in (-4, -5):\n    libc.syscall({number}, 7, ctypes.c_long(ring))\n")
    setpriv = view.current().tools.get("setpriv", "/usr/bin/setpriv")
    try:
        subprocess.run([setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                        view.interpreter(), "-I", "-S", "-c", code], timeout=30,
                       stdin=subprocess.DEVNULL, capture_output=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return True


def kill_uid(uid, sig=signal.SIGKILL):
    """Send ``sig`` to every process whose real uid is ``uid`` (a leased
    sandbox uid: nothing else runs as it); return how many there were."""
    if uid is None:
        return 0
    count = 0
    for _ in range(20):  # a fork bomb may spawn while we kill
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/status") as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == uid:
                                found.append(int(entry.name))
                            break
            except (OSError, ValueError):
                continue
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        count += len(found)
        if sig != signal.SIGKILL:
            break
    return count


def sandbox_python():
    """The interpreter the sandbox runs: the real path of this one's
    executable (see :func:`view.interpreter <course_lib.grading.view.interpreter>`).
    A virtual environment's ``bin/python`` is a link to it, possibly through
    linked folders (a ``.venv`` that links to a shared environment) that do
    not exist in the sandbox; under ``-I -S`` the environment adds nothing,
    and numpy is bound by its real path."""
    from . import view
    return view.interpreter()


def bwrap_command(inner, workdir, writable, tmp_bytes, uid, env, tmp_dir=None, seccomp_fd=None):
    """The ``bwrap`` command line that runs ``inner`` in ``workdir``.

    The root file system is :func:`view.current <course_lib.grading.view.current>`
    (the interpreter, its standard library, numpy, the shared libraries
    they load), the work folder read-only with its ``writable`` subfolders,
    and ``/tmp``: ``tmp_dir`` (the sandbox's scratch, see
    :mod:`~course_lib.grading.workspace`) or a tmpfs of ``tmp_bytes``.
    ``seccomp_fd``: a file descriptor holding the system-call filter."""
    from . import view
    workdir = Path(workdir).resolve()
    cmd = [_bwrap(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if uid is None:
        cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    # /tmp first: the work folder's parents (usually in /tmp) are made inside it
    if tmp_dir is not None:
        cmd += ["--bind", str(tmp_dir), "/tmp"]
    else:
        cmd += ["--perms", "1777", "--size", str(int(tmp_bytes)), "--tmpfs", "/tmp"]
    cmd += view.current().bwrap_args(extra_dirs=[workdir / "x"])
    cmd += ["--ro-bind", str(workdir), str(workdir)]
    for sub in writable:
        cmd += ["--bind", str(workdir / sub), str(workdir / sub)]
    cmd += ["--chdir", str(workdir), "--remount-ro", "/"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    if uid is not None:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                view.current().tools.get("setpriv", "/usr/bin/setpriv"), f"--reuid={uid}",
                f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                "--no-new-privs"]
    return cmd + ["--"] + list(inner)
