"""Work folders that do not outlive their grading process, and each
sandbox's private, size-limited scratch.

Work folders hold the hidden inputs. Each grading process keeps all of its
folders under one folder of its own, ``$TMPDIR/course-grading-<pid>-<random>``
(mode 0700), which holds a lock file locked for as long as the process (or a
lane forked from it) lives. The first grading work of every process
(:func:`root`) removes the folders of processes whose lock is free: a grader
that was killed (even by SIGKILL) loses its folders at the next start.

Scratch (:func:`mount_scratch`): as root, a sandbox's ``out/`` is a tmpfs of
its own (``Limits.disk_bytes``, ``Limits.max_files`` inodes, ``nosuid``,
``nodev``, ``noexec``), which also holds the sandbox's ``/tmp`` (``out/.tmp``).
Everything the sandbox writes, including files it unlinked but keeps open
(an ``fallocate``\\ d file), counts against that size and no other sandbox's
or the host's disk; its pages are charged to the sandbox's memory cgroup.
Each launch gets a fresh one; it stays mounted until the work folder is
released (the trusted side reads the results first). Mount sources are
named ``course-scratch-<pid>-<start time>``, so :func:`cleanup_stale`
unmounts those of dead graders. Without root :func:`mount_scratch` returns
``None`` and the caller falls back to measuring ``out/`` by its names.
"""
import atexit
import ctypes
import errno
import fcntl
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path

from .cgroups import process_start

__all__ = ["root", "folder", "TemporaryFolder", "mount_scratch", "unmount", "release",
           "cleanup_stale", "is_scratch", "PREFIX"]

PREFIX = "course-grading-"
SCRATCH = "course-scratch-"
TMP_NAME = ".tmp"
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MNT_DETACH = 2, 4, 8, 2

_STATE = {"root": None, "pid": None, "lock": None, "cleaned": False}
_LOCK = threading.RLock()
_MOUNTS = {}  # mount point (str) -> True, mounted by this process


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def root():
    """This process's folder for work folders (made on first use, after
    removing the folders of dead graders)."""
    with _LOCK:
        if _STATE["root"] is None or _STATE["pid"] != os.getpid():
            cleanup_stale()
            base = Path(tempfile.gettempdir())
            path = base / f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
            path.mkdir(mode=0o700)
            fd = os.open(path / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            _STATE.update(root=path, pid=os.getpid(), lock=fd)
        return _STATE["root"]


@contextmanager
def folder(prefix="grade-"):
    """A fresh folder under :func:`root`, released (scratch unmounted) and
    removed on exit."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root()))
    try:
        yield path
    finally:
        _remove(path)


class TemporaryFolder:
    """:class:`tempfile.TemporaryDirectory` under :func:`root` (``.name``,
    ``cleanup()``; removed when collected and at exit)."""

    def __init__(self, prefix="run-"):
        self.name = tempfile.mkdtemp(prefix=prefix, dir=root())
        self._finalizer = weakref.finalize(self, _remove, Path(self.name))

    def cleanup(self):
        self._finalizer()


def _remove(path):
    release(path)
    shutil.rmtree(path, ignore_errors=True)


# ---- scratch --------------------------------------------------------------------

def _source():
    pid = os.getpid()
    return f"{SCRATCH}{pid}-{process_start(pid)}"


def mount_scratch(out_dir, size_bytes, max_files, uid):
    """Mount a fresh tmpfs scratch on ``out_dir`` for a sandbox running as
    ``uid``; return the folder to bind as its ``/tmp``, or ``None`` when
    this process cannot mount (not root). A scratch this process mounted
    there before is unmounted first."""
    out_dir = Path(out_dir)
    if os.geteuid() != 0:
        return None
    unmount(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = (f"size={int(size_bytes)},nr_inodes={int(max_files) + 64},mode=0755,"
               f"uid={uid},gid={uid}")
    libc = _libc()
    rc = libc.mount(_source().encode(), str(out_dir).encode(), b"tmpfs",
                    ctypes.c_ulong(_MS_NOSUID | _MS_NODEV | _MS_NOEXEC), options.encode())
    if rc != 0:
        err = ctypes.get_errno()
        if err in (errno.EPERM, errno.EACCES):
            return None
        raise OSError(err, f"cannot mount the sandbox's scratch on {out_dir}: "
                           f"{os.strerror(err)}")
    with _LOCK:
        _MOUNTS[str(out_dir)] = True
    tmp = out_dir / TMP_NAME
    tmp.mkdir(mode=0o700)
    os.chown(tmp, uid, uid)
    return tmp


def is_scratch(path):
    with _LOCK:
        return str(path) in _MOUNTS


def unmount(out_dir, keep_files=False):
    """Unmount the scratch this process mounted on ``out_dir`` (if any).
    ``keep_files``: copy its regular files (not ``.tmp``) into the folder
    underneath first, e.g. for a work folder kept for inspection."""
    out_dir = str(out_dir)
    with _LOCK:
        if out_dir not in _MOUNTS:
            return False
        del _MOUNTS[out_dir]
    kept = None
    if keep_files:  # copied beside it (streamed), then back once unmounted
        kept = tempfile.mkdtemp(prefix=".kept-", dir=os.path.dirname(out_dir))
        for entry in os.scandir(out_dir):
            if entry.name != TMP_NAME and entry.is_file(follow_symlinks=False):
                try:
                    shutil.copyfile(entry.path, os.path.join(kept, entry.name),
                                    follow_symlinks=False)
                except OSError:
                    pass
    _umount(out_dir)
    if kept is not None:
        for name in os.listdir(kept):
            os.replace(os.path.join(kept, name), os.path.join(out_dir, name))
        shutil.rmtree(kept, ignore_errors=True)
    return True


def _umount(path):
    libc = _libc()
    for _ in range(50):
        if libc.umount2(str(path).encode(), _MNT_DETACH) == 0:
            return True
        if ctypes.get_errno() in (errno.EINVAL, errno.ENOENT):  # not (or no longer) mounted
            return False
        time.sleep(0.01)
    return False


def release(under, keep_files=False):
    """Unmount every scratch this process mounted at or below ``under``."""
    under = Path(under)
    with _LOCK:
        points = [p for p in _MOUNTS if Path(p) == under or Path(p).is_relative_to(under)]
    for point in points:
        unmount(point, keep_files)


def _release_all():
    with _LOCK:
        points = list(_MOUNTS)
    for point in points:
        unmount(point)
    with _LOCK:
        if _STATE["root"] is not None and _STATE["pid"] == os.getpid():
            shutil.rmtree(_STATE["root"], ignore_errors=True)


atexit.register(_release_all)


# ---- what dead graders left -----------------------------------------------------

def _mount_points():
    """``(source, mount point)`` of this mount namespace."""
    found = []
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if sep and len(fields) >= 5 and len(rest) >= 2:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            found.append((rest[1], point))
    return found


def cleanup_stale(base=None):
    """Remove what graders that are gone left behind: their folders under
    ``base`` (default: the temporary folder) and their scratch mounts.
    Runs once per process unless ``base`` is given. Returns the folders removed."""
    with _LOCK:
        if base is None and _STATE["cleaned"]:
            return []
        if base is None:
            _STATE["cleaned"] = True
    for source, point in _mount_points():
        match = re.fullmatch(rf"{SCRATCH}(\d+)-(\d+)", source)
        if match and process_start(int(match.group(1))) != int(match.group(2)):
            _umount(point)
    base = Path(base or tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        if entry.name == "course-grading-uids" or _alive(Path(entry.path)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _alive(path):
    """Whether the grader owning ``path`` still holds its lock (a folder
    without a lock file yet is being made right now, if it is young)."""
    lock = path / ".lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        try:
            return time.time() - path.stat().st_mtime < 60
        except OSError:
            return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
