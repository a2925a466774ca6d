"""A control group per sandbox: memory (with shared memory, ``memfd`` and
tmpfs pages), processes, a CPU share, and the sandbox's exact CPU time.

Rlimits are per process: 16 processes could each take the 3 GB address
space, and pages of ``memfd_create``, System V shared memory or a tmpfs
are not in any address space at all. A memory cgroup charges all of them
to the sandbox that touched them. So, as root, each sandbox gets a cgroup
of its own, a child of the grader's own cgroup (the host's limits on the
grader still hold):

- cgroup v2, when the unified hierarchy offers ``memory``, ``pids`` and
  ``cpu``: ``memory.max`` and ``memory.swap.max`` (0), ``pids.max``,
  ``cpu.weight``; CPU time from ``cpu.stat`` (``usage_usec``), out-of-memory
  kills from ``memory.events``;
- cgroup v1 otherwise (this course's CI machines): ``memory.limit_in_bytes``
  and ``memory.memsw.limit_in_bytes`` (when swap accounting exists),
  ``pids.max``, ``cpu.shares``; CPU time from ``cpuacct.usage``, kills from
  ``memory.oom_control``.

Each sandbox's cgroup has the same CPU weight, so a submission that starts
many busy processes gets one sandbox's share, not one share per process.
The sandbox joins its cgroup before bubblewrap starts (a ``sh`` that writes
its own pid into ``cgroup.procs`` and then ``exec``\\ s the command), so
nothing it does escapes the accounting. Cgroups are named
``course-sbx-<pid>-<start time>-<n>`` after the grading process; they are
removed after each run, at exit, and, for a grader that died (even by
SIGKILL), by :func:`cleanup_stale` in the next grading process.

Without root, or where the hierarchy cannot be written, :func:`backend`
returns ``None`` and :func:`status` says why in one line (the run summary
prints it); limits are then per process only.
"""
import atexit
import itertools
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Backend", "SandboxCgroup", "backend", "status", "detect", "cleanup_stale",
           "process_start", "CPU_WEIGHT"]

PREFIX = "course-sbx-"
CPU_WEIGHT = 100        # v2 default weight; v1 gets the equivalent 1024 shares
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
_NAME = re.compile(rf"^{PREFIX}(\d+)-(\d+)-\d+$")


@dataclass
class Backend:
    """Where sandbox cgroups are made: ``version`` 1 (``dirs`` maps each
    controller to its parent folder) or 2 (``dirs["unified"]``)."""
    version: int
    dirs: dict
    missing: tuple = ()
    note: str = ""

    def parents(self):
        return sorted(set(self.dirs.values()))


@dataclass
class SandboxCgroup:
    """One sandbox's cgroup (a folder per v1 hierarchy, one folder in v2)."""
    backend: Backend
    name: str
    paths: dict = field(default_factory=dict)  # controller (or "unified") -> folder

    @classmethod
    def create(cls, backend, memory_bytes, max_tasks, name=None):
        name = name or _next_name()
        group = cls(backend, name)
        try:
            for key, parent in backend.dirs.items():
                path = Path(parent) / name
                if path not in group.paths.values():
                    path.mkdir()
                group.paths[key] = path
            group._configure(int(memory_bytes), int(max_tasks))
        except OSError:
            group.remove()
            raise
        with _LOCK:
            _LIVE.add(group)
        return group

    def _configure(self, memory_bytes, max_tasks):
        if self.backend.version == 2:
            path = self.paths["unified"]
            _write(path / "memory.max", memory_bytes)
            _write(path / "memory.swap.max", 0, missing_ok=True)
            _write(path / "memory.oom.group", 1, missing_ok=True)
            _write(path / "pids.max", max_tasks)
            _write(path / "cpu.weight", CPU_WEIGHT)
            return
        mem = self.paths["memory"]
        _write(mem / "memory.limit_in_bytes", memory_bytes)
        _write(mem / "memory.memsw.limit_in_bytes", memory_bytes, missing_ok=True)
        if "pids" in self.paths:
            _write(self.paths["pids"] / "pids.max", max_tasks)
        if "cpu" in self.paths:
            _write(self.paths["cpu"] / "cpu.shares", CPU_WEIGHT * 1024 // 100)

    def procs_files(self):
        """The ``cgroup.procs`` files a process writes its pid into to join."""
        return [str(p / "cgroup.procs") for p in sorted(set(self.paths.values()))]

    def cpu_seconds(self):
        """CPU time (user + system) of every process that ran in the cgroup."""
        try:
            if self.backend.version == 2:
                for line in (self.paths["unified"] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
                return None
            if "cpuacct" in self.paths:
                return int((self.paths["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            pass
        return None

    def oom_kills(self):
        """How many processes the kernel killed for this cgroup's memory limit."""
        try:
            if self.backend.version == 2:
                text = (self.paths["unified"] / "memory.events").read_text()
            else:
                text = (self.paths["memory"] / "memory.oom_control").read_text()
        except OSError:
            return 0
        counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return int(counts.get("oom_kill", 0))

    def limit_hits(self):
        """How often the cgroup's memory reached its limit (v1 ``memory.failcnt``,
        v2 ``max`` in ``memory.events``): a write into memfd or tmpfs then
        fails with ENOMEM instead of a process being killed."""
        try:
            if self.backend.version == 2:
                text = (self.paths["unified"] / "memory.events").read_text()
                counts = dict(line.split() for line in text.splitlines()
                              if len(line.split()) == 2)
                return int(counts.get("max", 0))
            return int((self.paths["memory"] / "memory.failcnt").read_text())
        except (OSError, ValueError):
            return 0

    def memory_peak(self):
        """Bytes at the cgroup's highest (v1 ``max_usage_in_bytes``, v2 ``memory.peak``)."""
        name = "memory.peak" if self.backend.version == 2 else "memory.max_usage_in_bytes"
        key = "unified" if self.backend.version == 2 else "memory"
        try:
            return int((self.paths[key] / name).read_text())
        except (OSError, ValueError, KeyError):
            return None

    def pids(self):
        found = set()
        for path in set(self.paths.values()):
            try:
                found |= {int(x) for x in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def kill(self):
        """SIGKILL every process in the cgroup until none is left (a fork
        bomb may spawn while we kill). Returns whether it is empty."""
        if self.backend.version == 2 and (self.paths["unified"] / "cgroup.kill").exists():
            try:
                _write(self.paths["unified"] / "cgroup.kill", 1)
            except OSError:
                pass
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return True
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.005)
        return not self.pids()

    def remove(self):
        """Kill what is left and remove the cgroup's folders."""
        self.kill()
        for path in sorted(set(self.paths.values()), key=lambda p: -len(p.parts)):
            for _ in range(100):  # exiting processes leave the cgroup a moment later
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        with _LOCK:
            _LIVE.discard(self)

    def __hash__(self):
        return id(self)


_STATE = {"backend": None, "status": None, "cleaned": False}
_LOCK = threading.RLock()
_LIVE = set()
_COUNTER = itertools.count()


def _write(path, value, missing_ok=False):
    """Write a cgroup file; ``missing_ok``: skip a file this kernel does not
    have (e.g. ``memory.memsw.*`` without swap accounting)."""
    if missing_ok and not os.path.exists(path):
        return
    with open(path, "w") as f:
        f.write(f"{value}\n")


def process_start(pid):
    """The start time (clock ticks after boot) of process ``pid``, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _next_name():
    pid = os.getpid()
    return f"{PREFIX}{pid}-{process_start(pid)}-{next(_COUNTER)}"


def _mounts(mountinfo):
    """``{controller: (mount root, mount point)}`` of v1 hierarchies and
    ``"unified"`` for v2, from ``/proc/self/mountinfo`` text."""
    found = {}
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        root, point = _unescape(fields[3]), _unescape(fields[4])
        if rest[0] == "cgroup2":
            found.setdefault("unified", (root, point))
        elif rest[0] == "cgroup":
            for option in rest[2].split(","):
                if option in V1_CONTROLLERS:
                    found.setdefault(option, (root, point))
    return found


def _unescape(text):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _own_paths(cgroup_text):
    """``{controller: path}`` of this process (``"unified"`` for v2)."""
    own = {}
    for line in cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            own["unified"] = path
        for name in controllers.split(","):
            own[name] = path
    return own


def _folder(mount, own_path):
    root, point = mount
    rel = own_path
    if root != "/" and own_path.startswith(root):
        rel = own_path[len(root):]
    return Path(point) / rel.lstrip("/")


def detect(mountinfo=None, cgroup=None, euid=None):
    """``(Backend or None, one-line status)``: the hierarchy sandbox cgroups
    go into, chosen from this process's mounts and cgroups (arguments are
    for tests: the text of ``/proc/self/mountinfo`` and
    ``/proc/self/cgroup``)."""
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        return None, ("no cgroup per sandbox (the grader is not root): memory, processes and "
                      "CPU time are limited per process only")
    try:
        mountinfo = mountinfo if mountinfo is not None else Path(
            "/proc/self/mountinfo").read_text()
        cgroup = cgroup if cgroup is not None else Path("/proc/self/cgroup").read_text()
    except OSError as exc:
        return None, f"no cgroup per sandbox: cannot read this process's cgroups ({exc})"
    mounts, own = _mounts(mountinfo), _own_paths(cgroup)
    reasons = []
    if "unified" in mounts and "unified" in own:
        found, why = _v2(_folder(mounts["unified"], own["unified"]),
                         Path(mounts["unified"][1]))
        if found is not None:
            return found, _describe(found)
        reasons.append(why)
    if "memory" in mounts and "memory" in own:
        dirs = {c: _folder(mounts[c], own[c]) for c in V1_CONTROLLERS
                if c in mounts and c in own}
        broken = [c for c, d in dirs.items() if not os.access(d, os.W_OK)]
        if "memory" not in broken:
            for c in broken:
                del dirs[c]
            found = Backend(1, dirs, missing=tuple(c for c in V1_CONTROLLERS if c not in dirs))
            return found, _describe(found)
        reasons.append(f"the v1 memory hierarchy {dirs['memory']} is not writable")
    elif not reasons:
        reasons.append("no memory controller is mounted")
    return None, "no cgroup per sandbox (" + "; ".join(reasons) + \
        "): memory, processes and CPU time are limited per process only"


def _v2(own, root):
    """A v2 parent with memory, pids and cpu for its children: the grader's
    own cgroup if they are enabled for its children, else
    ``<root>/course-grading`` (a process-free cgroup under the root, whose
    own processes do not block enabling controllers)."""
    wanted = set(V2_CONTROLLERS)
    try:
        if wanted <= set((own / "cgroup.subtree_control").read_text().split()):
            return Backend(2, {"unified": own}), ""
        if not wanted <= set((root / "cgroup.controllers").read_text().split()):
            return None, "the v2 hierarchy offers no memory, pids and cpu controllers"
        _enable(root, wanted)
        parent = root / "course-grading"
        parent.mkdir(exist_ok=True)
        _enable(parent, wanted)
        return Backend(2, {"unified": parent},
                       note="outside the grader's own cgroup, which has processes"), ""
    except OSError as exc:
        return None, f"cannot enable the v2 memory, pids and cpu controllers ({exc.strerror})"


def _enable(folder, wanted):
    have = set((folder / "cgroup.subtree_control").read_text().split())
    if not wanted <= have:
        _write(folder / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted)))


def _describe(found):
    where = ", ".join(f"{k} {v}" for k, v in sorted(found.dirs.items()))
    if found.version == 2:
        text = f"a cgroup v2 per sandbox under {found.dirs['unified']} (memory incl. shared " \
               "memory and scratch, processes, CPU weight, CPU time)"
    else:
        text = f"a cgroup v1 per sandbox ({where}: memory incl. shared memory and scratch" \
               + (", processes" if "pids" in found.dirs else "") \
               + (", CPU shares" if "cpu" in found.dirs else "") \
               + (", CPU time" if "cpuacct" in found.dirs else "") + ")"
        if found.missing:
            text += f"; missing: {', '.join(found.missing)}"
    return text + (f"; {found.note}" if found.note else "")


def backend():
    """This process's :class:`Backend`, or ``None`` (see :func:`status`);
    detected once, after removing the cgroups of dead graders."""
    with _LOCK:
        if _STATE["status"] is None:
            found, text = detect()
            if found is not None:
                try:  # can we really make one? (a read-only cgroupfs says no only now)
                    probe = SandboxCgroup(found, f"{PREFIX}{os.getpid()}-probe-0")
                    for key, parent in found.dirs.items():
                        path = Path(parent) / probe.name
                        if path not in probe.paths.values():
                            path.mkdir(exist_ok=True)
                        probe.paths[key] = path
                    probe.remove()
                except OSError as exc:
                    found, text = None, (f"no cgroup per sandbox (cannot create one: "
                                         f"{exc.strerror}): memory, processes and CPU time "
                                         "are limited per process only")
            _STATE["backend"], _STATE["status"] = found, text
        found = _STATE["backend"]
    if found is not None:
        cleanup_stale(found)
    return found


def status():
    """One line: how sandboxes are confined here (for the run summary)."""
    backend()
    return _STATE["status"]


def cleanup_stale(found=None):
    """Remove sandbox cgroups whose grading process is gone (killed before
    it could clean up); runs once per process. Returns how many."""
    with _LOCK:
        if _STATE["cleaned"]:
            return 0
        _STATE["cleaned"] = True
    found = found or _STATE["backend"]
    if found is None:
        return 0
    removed = 0
    stale = {}
    for parent in found.parents():
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            match = _NAME.match(entry.name)
            if match is None or not entry.is_dir(follow_symlinks=False):
                continue
            pid, start = int(match.group(1)), int(match.group(2))
            if process_start(pid) != start:
                stale.setdefault(entry.name, {})[parent] = Path(entry.path)
    for name, paths in stale.items():
        group = SandboxCgroup(found, name)
        for key, parent in found.dirs.items():
            if parent in paths:
                group.paths[key] = paths[parent]
        group.remove()
        removed += 1
    return removed


def remove_all():
    """Remove every cgroup this process made (at exit)."""
    with _LOCK:
        live = list(_LIVE)
    for group in live:
        group.remove()


atexit.register(remove_all)
