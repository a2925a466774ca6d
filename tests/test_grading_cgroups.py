"""A cgroup per sandbox (course_lib.grading.cgroups): which hierarchy is
used, what is written there, and that cgroups do not outlive their grader.

The selection logic runs on fake cgroup trees (text of /proc/self/mountinfo
and /proc/self/cgroup, folders in tmp_path), so both versions are tested on
any machine; the real-cgroup tests need root and a memory controller."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.grading import cgroups

ROOT = Path(__file__).resolve().parents[1]


def _mountinfo(lines):
    return "\n".join(f"{i} 1 0:{i} {root} {point} rw - {fstype} cgroup {opts}"
                     for i, (root, point, fstype, opts) in enumerate(lines, 30))


def _v2_tree(tmp_path, root_controllers, own_subtree):
    unified = tmp_path / "unified"
    own = unified / "user.slice" / "session-1.scope"
    own.mkdir(parents=True)
    (unified / "cgroup.controllers").write_text(root_controllers)
    (unified / "cgroup.subtree_control").write_text("")
    (own / "cgroup.subtree_control").write_text(own_subtree)
    info = _mountinfo([("/", str(unified), "cgroup2", "rw")])
    return unified, own, info, "0::/user.slice/session-1.scope\n"


def test_v2_with_controllers_for_children_uses_the_own_cgroup(tmp_path):
    """A v2 host whose grader cgroup passes memory, pids and cpu to its
    children: are sandbox cgroups made there, with memory.max, swap off,
    pids.max and cpu.weight written?"""
    unified, own, info, cgroup = _v2_tree(tmp_path, "cpu memory pids io", "cpu memory pids")
    found, text = cgroups.detect(info, cgroup, euid=0)
    assert found.version == 2 and found.dirs == {"unified": own}
    assert "v2" in text
    group = cgroups.SandboxCgroup.create(found, 3 * 2 ** 30, 24, name="course-sbx-1-2-3")
    path = own / "course-sbx-1-2-3"
    written = {f.name: f.read_text().strip() for f in path.iterdir()}
    assert written == {"memory.max": str(3 * 2 ** 30), "pids.max": "24", "cpu.weight": "100"}
    assert group.procs_files() == [str(path / "cgroup.procs")]
    (path / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    assert group.cpu_seconds() == 2.5 and group.oom_kills() == 1
    for f in path.iterdir():
        f.unlink()
    group.remove()
    assert not path.exists()


def test_v2_without_delegation_uses_a_cgroup_under_the_root(tmp_path):
    """If the grader's own cgroup does not pass the controllers on (it holds
    processes, so it cannot), are sandboxes put under <root>/course-grading
    with the controllers enabled on the way?"""
    unified, own, info, cgroup = _v2_tree(tmp_path, "cpu memory pids", "")
    (unified / "course-grading").mkdir()
    (unified / "course-grading" / "cgroup.subtree_control").write_text("")
    found, text = cgroups.detect(info, cgroup, euid=0)
    assert found.version == 2 and found.dirs == {"unified": unified / "course-grading"}
    for folder in (unified, unified / "course-grading"):
        assert (folder / "cgroup.subtree_control").read_text().split() == \
            ["+cpu", "+memory", "+pids"]
    assert "outside the grader's own cgroup" in text


def test_v1_hierarchies_are_used_when_v2_has_no_controllers(tmp_path):
    """A hybrid host like this course's CI (v1 memory, pids, cpu, cpuacct; a
    v2 hierarchy without controllers): is v1 chosen, each controller's
    folder found under the grader's own path, and the v1 limits written
    (memsw only where swap accounting exists)?"""
    unified = tmp_path / "unified"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("")
    (unified / "cgroup.subtree_control").write_text("")
    lines = [("/", str(unified), "cgroup2", "rw")]
    for c in ("memory", "pids", "cpu", "cpuacct"):
        (tmp_path / c / "grader").mkdir(parents=True)
        lines.append(("/", str(tmp_path / c), "cgroup", f"rw,{c}"))
    cgroup = "4:memory:/grader\n3:pids:/grader\n2:cpu:/grader\n1:cpuacct:/grader\n0::/\n"
    found, text = cgroups.detect(_mountinfo(lines), cgroup, euid=0)
    assert found.version == 1
    assert found.dirs == {c: tmp_path / c / "grader" for c in ("memory", "pids", "cpu", "cpuacct")}
    assert "v1" in text and "CPU time" in text
    (tmp_path / "memory" / "grader" / "g").mkdir()
    (tmp_path / "memory" / "grader" / "g" / "memory.memsw.limit_in_bytes").write_text("")
    group = cgroups.SandboxCgroup(found, "g")
    group.paths = {c: tmp_path / c / "grader" / "g" for c in found.dirs}
    for c in ("pids", "cpu", "cpuacct"):
        group.paths[c].mkdir()
    group._configure(2 ** 30, 24)
    memory = tmp_path / "memory" / "grader" / "g"
    assert (memory / "memory.limit_in_bytes").read_text().strip() == str(2 ** 30)
    assert (memory / "memory.memsw.limit_in_bytes").read_text().strip() == str(2 ** 30)
    assert (tmp_path / "cpu" / "grader" / "g" / "cpu.shares").read_text().strip() == "1024"
    (tmp_path / "cpuacct" / "grader" / "g" / "cpuacct.usage").write_text("1500000000\n")
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.cpu_seconds() == 1.5 and group.oom_kills() == 2


def test_without_root_or_memory_controller_there_is_a_clear_fallback(tmp_path):
    """Not root, or no memory controller: no backend, and one line that says
    why and what that means?"""
    found, text = cgroups.detect("", "", euid=1000)
    assert found is None and "not root" in text and "per process only" in text
    found, text = cgroups.detect(_mountinfo([("/", str(tmp_path), "cgroup", "rw,cpu")]),
                                 "1:cpu:/\n", euid=0)
    assert found is None and "no memory controller" in text and "\n" not in text


needs_cgroups = pytest.mark.skipif(cgroups.backend() is None,
                                   reason=f"no cgroups here: {cgroups.status()}")


@needs_cgroups
def test_cgroups_of_a_killed_grader_are_removed_at_the_next_start(tmp_path):
    """A grading process that makes a sandbox cgroup and is SIGKILLed: is its
    cgroup gone once another process has started (cleanup_stale)?"""
    code = ("import os, sys, time\nfrom course_lib.grading import cgroups\n"
            "g = cgroups.SandboxCgroup.create(cgroups.backend(), 2 ** 28, 8)\n"
            "print(g.name, flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)
    name = proc.stdout.readline().strip()
    proc.kill()
    proc.wait()
    parents = cgroups.backend().parents()
    assert name and any((Path(p) / name).exists() for p in parents)
    cleaner = subprocess.run([sys.executable, "-c", "from course_lib.grading import cgroups\n"
                              "cgroups.backend()"], cwd=ROOT, timeout=60)
    assert cleaner.returncode == 0
    assert not any((Path(p) / name).exists() for p in parents)
    proc.stdout.close()


@needs_cgroups
def test_a_sandbox_cgroup_is_gone_after_its_run(tmp_path):
    """After a launch (here one that leaves a child behind), is no cgroup of
    this process left?"""
    from course_lib.grading import isolation, sandbox
    if not isolation.self_test()[0]:
        pytest.skip("bubblewrap unavailable")
    (tmp_path / "s.py").write_text("import subprocess, sys\n"
                                   "subprocess.Popen([sys.executable, '-c', "
                                   "'import time; time.sleep(30)'])\n")
    result = sandbox.launch(["s.py"], tmp_path, sandbox.Limits(wall_seconds=30))
    assert result.returncode == 0 and result.cpu_seconds is not None
    mine = f"{cgroups.PREFIX}{os.getpid()}-"
    for parent in cgroups.backend().parents():
        assert not [e for e in os.listdir(parent) if e.startswith(mine)]
