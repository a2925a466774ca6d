"""What one sandbox costs the grading process: a launch of a trivial script,
and (with this code) each confinement step on its own.

    .venv/bin/python bench/bench_sandbox_launch.py [--launches 30]

Prints, for ``sandbox.launch`` of a script that imports numpy: the median
wall-clock time per launch and the grading process's own CPU time per
launch (user + system, children excluded: what the lanes compete for), and
the sandbox's CPU time. Then, when the modules exist (issue 21), the median
cost of making and removing a sandbox cgroup, mounting and unmounting a
scratch, and building the file-system view (once per process). Run it with
``PYTHONPATH=<an older checkout>`` to measure that code's launch.
"""
import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from machine import describe  # bench/machine.py: the CPU beside every figure


def timed(fn, repeats):
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=30)
    args = parser.parse_args()
    print(describe(), flush=True)
    from course_lib.grading import isolation, sandbox
    ok, detail = isolation.self_test()
    if not ok:
        raise SystemExit(f"the sandbox does not work here ({detail})")
    print(f"sandbox: {detail}")
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "s.py").write_text("import sys\nsys.path += %r\nimport numpy\n"
                                   % (sandbox.site_paths(),))
        limits = sandbox.Limits(wall_seconds=60)
        sandbox.launch(["s.py"], work, limits)  # warm-up
        walls, own, inner = [], [], []
        for _ in range(args.launches):
            before = os.times()
            start = time.perf_counter()
            result = sandbox.launch(["s.py"], work, limits)
            walls.append(time.perf_counter() - start)
            after = os.times()
            own.append(after.user + after.system - before.user - before.system)
            inner.append(getattr(result, "cpu_seconds", None))
            assert result.returncode == 0, result.stderr
            try:
                from course_lib.grading import workspace
                workspace.release(work)
            except ImportError:
                pass
    print(f"\nsandbox.launch of a script that imports numpy ({args.launches} launches):")
    print(f"  wall-clock per launch      {1000 * statistics.median(walls):7.1f} ms (median)")
    print(f"  grading process CPU        {1000 * statistics.median(own):7.1f} ms (median)")
    if all(x is not None for x in inner):
        print(f"  sandbox CPU (its cgroup)   {1000 * statistics.median(inner):7.1f} ms (median)")
    try:
        from course_lib.grading import cgroups, view, workspace
    except ImportError:
        print("(no per-step figures: this code has no cgroups/workspace/view modules)")
        return
    print("\nset-up steps (median of 30):")
    found = cgroups.backend()
    print(f"  confinement here: {sandbox.confinement()}")
    if found is not None:
        def cgroup():
            cgroups.SandboxCgroup.create(found, 2 ** 30, 24).remove()
        print(f"  cgroup made and removed    {1000 * timed(cgroup, 30):7.2f} ms")
    if os.geteuid() == 0:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"

            def scratch():
                workspace.mount_scratch(out, 64 * 2 ** 20, 100, os.getuid())
                workspace.unmount(out)
            print(f"  scratch mounted, unmounted {1000 * timed(scratch, 30):7.2f} ms")
    start = time.perf_counter()
    built = view.build(view.probe())
    print(f"  view probed and built      {1000 * (time.perf_counter() - start):7.1f} ms "
          f"(once per process; {len(built.binds)} binds, {len(built.symlinks)} links)")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
