"""Bubblewrap around the runner: what the sandbox can see and who it runs as.

:func:`sandbox.launch <course_lib.grading.sandbox.launch>` asks this module
for the command line of one sandboxed run. The sandbox (``bwrap``):

- new PID, network, IPC and UTS namespaces (no network at all: not even
  ``127.0.0.1`` of the host), ``--die-with-parent``, ``--new-session``,
  a cleared environment;
- a root file system built from scratch: read-only binds of ``/usr`` (and
  the ``/bin``, ``/lib*`` links into it), the interpreter's installation
  and the virtual environment's folder (never the course folder, which
  holds ``solutions/``, ``grading/`` and the gradebook), a minimal ``/dev``
  and a ``/proc`` of the sandbox's own processes, a size-limited ``/tmp``;
- the work folder read-only (the student's cells, the hidden *inputs*, the
  runner), with only ``out/`` writable;
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
import os
import shutil
import signal
import subprocess
import sys
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


def _run_self_test():
    if _bwrap() is None:
        return False, "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="course-sbx-test-") as tmp:
        work = Path(tmp) / "work"
        (work / "out").mkdir(parents=True)
        secret = Path(tmp) / "outside.txt"  # next to the work folder, never bound
        secret.write_text("x")
        with UidLease() as uid:
            code = ("import os, socket\ns = socket.socket()\ns.settimeout(2)\n"
                    "try:\n    s.connect(('1.1.1.1', 53)); net = 'net'\n"
                    "except OSError:\n    net = 'nonet'\n"
                    "print(os.getuid(), net, os.path.exists(" + repr(str(secret)) + "))")
            inner = [sandbox_python(), "-I", "-S", "-c", code]
            cmd = bwrap_command(inner, work, ["out"], 64 * 1024 ** 2, uid, {"PATH": "/usr/bin"})
            if uid is not None:
                os.chown(work / "out", uid, uid)
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                      stdin=subprocess.DEVNULL)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return False, f"bwrap did not run: {exc}"
            finally:
                kill_uid(uid)
    want = f"{uid if uid is not None else NOBODY} nonet"
    if proc.returncode != 0 or proc.stdout.strip() != f"{want} False":
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        cause = ""
        if proc.returncode == 127 or "failed to execute" in detail[0]:
            cause = (f" (the sandbox could not start the interpreter {sandbox_python()}: "
                     f"it binds only {', '.join(map(str, _interpreter_roots()))}; is the "
                     "interpreter or its virtual environment outside them?)")
        return False, f"bwrap self-test failed (exit {proc.returncode}): {detail[0]}{cause}"
    return True, f"bwrap works (student code runs as uid {want.split()[0]}, no network)"


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


class UidLease:
    """An unprivileged uid for one run, exclusive across processes on this
    host (a lock file per uid); ``None`` when we are not root."""

    def __init__(self):
        self.uid, self._fd = None, None

    def __enter__(self):
        if os.geteuid() != 0:
            return None
        folder = Path(tempfile.gettempdir()) / "course-grading-uids"
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
            os.close(self._fd)
        return False


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
    """The path of this interpreter that also works inside the sandbox.

    A virtual environment is found from the *unresolved* path of its
    ``bin/python`` link (``pyvenv.cfg`` one folder up), so the link itself
    must stay; but the folders above it may be symbolic links (a ``.venv``
    that links to a shared environment), which do not exist in the sandbox.
    So: the real path of ``bin/``, plus the link's own name.
    """
    exe = Path(sys.executable)
    return str(exe.parent.resolve() / exe.name)


def _interpreter_roots():
    """Folders holding this interpreter and its packages (read-only binds)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(os.path.realpath(sys.executable)).parent.parent}
    out = []
    for root in sorted(roots, key=lambda p: len(p.parts)):
        if str(root) in ("/", "/usr") or any(root.is_relative_to(o) for o in out):
            continue
        out.append(root)
    return out


def bwrap_command(inner, workdir, writable, tmp_bytes, uid, env):
    """The ``bwrap`` command line that runs ``inner`` in ``workdir``."""
    workdir = Path(workdir).resolve()
    cmd = [_bwrap(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if uid is None:
        cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    # privileged bwrap creates missing parents of bind targets as 0700
    # (owned by root): make them traversable for the sandbox's uid
    targets = [*_interpreter_roots(), workdir]
    parents = sorted({str(q) for t in targets for q in Path(t).parents if str(q) != "/"},
                     key=lambda q: q.count("/"))
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(int(tmp_bytes)),
            "--tmpfs", "/tmp"]
    for parent in parents:
        cmd += ["--perms", "0755", "--dir", parent]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
            "--ro-bind-try", "/etc/localtime", "/etc/localtime"]
    for root in _interpreter_roots():
        cmd += ["--ro-bind", str(root), str(root)]
    cmd += ["--ro-bind", str(workdir), str(workdir)]
    for sub in writable:
        cmd += ["--bind", str(workdir / sub), str(workdir / sub)]
    cmd += ["--chdir", str(workdir), "--remount-ro", "/"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if uid is not None:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return cmd + ["--"] + list(inner)
