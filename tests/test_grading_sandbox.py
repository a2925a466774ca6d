"""The untrusted side: the runner, the process launch and its limits, the
stand-in course_lib, and how the trusted side survives crashes and hangs."""
import json
import sys

import numpy as np
import pytest

from course_lib.grading import runner, sandbox
from course_lib.grading.engine import GradingRun
from course_lib.grading.spec import Assignment, Call, Case, Check, Item


def _run_script(tmp_path, source, limits=sandbox.Limits(wall_seconds=30)):
    (tmp_path / "script.py").write_text(source)
    return sandbox.launch(["script.py"], tmp_path, limits)


# ---- encoding ------------------------------------------------------------------

def test_encode_accepts_only_plain_data():
    """Are ndarray subclasses, object arrays and odd keys recorded as 'other',
    and NaN kept as text?"""
    saved = {}

    def save(path, value):
        saved[path] = value
        return path

    class Lying(np.ndarray):
        pass

    assert runner.encode(np.zeros(2).view(Lying), save)["t"] == "other"
    assert runner.encode(np.array([None]), save)["t"] == "other"
    assert runner.encode({1: 2}, save)["t"] == "other"
    assert runner.encode(float("nan"), save) == {"t": "float", "v": "nan"}
    tree = runner.encode((np.float64(1.5), {"W": np.ones(2)}), save)
    assert tree["items"][0] == {"t": "float", "v": 1.5}
    assert tree["items"][1]["items"]["W"]["t"] == "ndarray" and len(saved) == 1


# ---- launch --------------------------------------------------------------------

def test_launch_kills_a_hang_and_its_children(tmp_path):
    """Does the wall-clock limit stop a process that ignores SIGINT, and its children?"""
    result = _run_script(tmp_path, "import signal, subprocess, sys, time\n"
                         "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                         "subprocess.Popen([sys.executable, '-c', 'import time; "
                         "open(\"child.txt\", \"w\").write(\"x\"); time.sleep(60)'])\n"
                         "time.sleep(60)\n", sandbox.Limits(wall_seconds=3))
    assert result.timed_out and result.crashed
    assert result.seconds < 20


def test_launch_environment_is_minimal_and_output_truncated(tmp_path, monkeypatch):
    """Does student code see none of our environment, and is huge output cut?"""
    monkeypatch.setenv("SECRET_TOKEN", "xyz")
    result = _run_script(tmp_path, "import os, sys\nprint(sorted(os.environ))\n"
                         "print(sys.flags.isolated, sys.flags.no_site)\n"
                         "sys.stderr.write('e' * 200000)\n")
    assert "SECRET_TOKEN" not in result.stdout
    assert "1 1" in result.stdout
    assert result.stderr.endswith("[... output truncated]")
    assert len(result.stderr) < sandbox.OUTPUT_LIMIT + 100


def test_memory_limit_stops_a_huge_allocation(tmp_path):
    """Does the 3 GB address-space limit turn a 4 GB allocation into a MemoryError?"""
    result = _run_script(tmp_path, "try:\n    x = bytearray(4 * 1024 ** 3)\n"
                         "except MemoryError:\n    print('limited')\n")
    assert "limited" in result.stdout


# ---- the stand-in course_lib ----------------------------------------------------

def test_shim_blocks_the_reference_and_keeps_data(tmp_path):
    """In the sandbox, is course_lib.data importable, the reference blocked with
    a clear message, and the real package out of reach?"""
    sandbox.build_shim(tmp_path / "site")
    script = (f"import sys\nsys.path[:0] = [{str(tmp_path / 'site')!r}]\n"
              f"sys.path += {sandbox.site_paths()!r}\n"
              "import course_lib, course_lib.data, course_lib.gradcheck\n"
              "print('file', course_lib.__file__)\n"
              "for name in ('classifiers', 'layers', 'grading', 'conv'):\n"
              "    try:\n        __import__('course_lib.' + name)\n"
              "    except ImportError as exc:\n        print('blocked', name, exc)\n")
    result = _run_script(tmp_path, script)
    assert f"file {tmp_path}" in result.stdout, result.stderr
    for name in ("classifiers", "layers", "grading", "conv"):
        assert f"blocked {name} {sandbox.BLOCKED_MARKER}" in result.stdout


def test_shim_can_allow_some_functions_of_a_module(tmp_path):
    """With "course_lib.conv:conv_forward_fast", is the fast layer there, and
    the naive one in no module and no file of the stand-in package?"""
    sandbox.build_shim(tmp_path / "site", ("course_lib.data", "course_lib.conv:conv_forward_fast"))
    script = (f"import sys\nsys.path[:0] = [{str(tmp_path / 'site')!r}]\n"
              f"sys.path += {sandbox.site_paths()!r}\n"
              "import course_lib.conv as conv\n"
              "print(hasattr(conv, 'conv_forward_fast'), hasattr(conv, 'conv_forward_naive'))\n")
    result = _run_script(tmp_path, script)
    assert "True False" in result.stdout, result.stderr
    text = "".join(p.read_text() for p in (tmp_path / "site").rglob("*.py"))
    assert "def conv_forward_fast" in text and "def conv_forward_naive" not in text


def test_shim_call_blocked_modules_import_but_do_not_run(tmp_path):
    """A module the group may import but not call (gradcheck; another group's
    fast layers): do the imports work, and does every call raise with the
    marker, while no file holds the real code?"""
    blocked = {"course_lib.gradcheck": (None, "not an answer"),
               "course_lib.conv": (["conv_forward_fast"], "write it yourself")}
    sandbox.build_shim(tmp_path / "site", ("course_lib.data",), blocked)
    script = (f"import sys\nsys.path[:0] = [{str(tmp_path / 'site')!r}]\n"
              f"sys.path += {sandbox.site_paths()!r}\n"
              "import numpy as np\n"
              "from course_lib.gradcheck import eval_numerical_gradient, grad_check_sparse\n"
              "from course_lib.conv import conv_forward_fast\n"
              "for f, args in ((eval_numerical_gradient, (lambda x: 0.0, np.zeros(2))),\n"
              "                (conv_forward_fast, (np.zeros((1, 1, 3, 3)),) * 2 + (np.zeros(1),))):\n"
              "    try:\n        f(*args)\n        print('ran', f.__name__)\n"
              "    except RuntimeError as exc:\n        print('blocked', f.__name__, exc)\n")
    result = _run_script(tmp_path, script)
    for name, why in (("eval_numerical_gradient", "not an answer"),
                      ("conv_forward_fast", "write it yourself")):
        assert f"blocked {name} {sandbox.BLOCKED_MARKER}" in result.stdout, result.stderr
        assert why in result.stdout
    text = "".join(p.read_text() for p in (tmp_path / "site").rglob("*.py"))
    assert "def _gatherer" not in text and "h=1e-5" not in text  # no real code


# ---- the trusted side survives the untrusted one --------------------------------

def _double(x):
    return 2 * x


def _case(name):
    return Case(name, f"case {name}", lambda rng, ctx: Call([rng.normal(size=3)]))


TOY = Assignment(
    id="toy", title="toy", notebook="toy",
    items=(Item("toy.a", "a", "a", (_case("first"), _case("second")), (Check("out", 1),),
                reference=_double, time_limit=2),
           Item("toy.b", "b", "b", (_case("only"),), (Check("out", 1),), reference=_double,
                time_limit=2)),
    startup_seconds=10)


@pytest.fixture(scope="module")
def toy_run():
    return GradingRun(TOY, seed=0)


def _grade(run, source):
    return run.grade([{"grade_id": "cell", "source": source}])


def test_correct_toy_submission(toy_run):
    """Does a correct submission get every point?"""
    verdict = _grade(toy_run, "def a(x):\n    return 2 * x\n\ndef b(x):\n    return x + x\n")
    assert verdict.scores() == {"toy.a": 1, "toy.b": 1}


def test_exit_in_one_call_costs_only_that_item(toy_run):
    """Does os._exit in one call fail that item with a reason while the
    remaining calls still run?"""
    source = ("import os\n\ndef a(x):\n    if x[0] > -100:\n        os._exit(3)\n\n"
              "def b(x):\n    return 2 * x\n")
    verdict = _grade(toy_run, source)
    assert verdict.scores() == {"toy.a": 0, "toy.b": 1}
    assert "exited with code 3" in verdict.items["toy.a"].feedback


def test_hang_in_one_call_times_out_alone(toy_run):
    """Does an endless loop in one call time out without costing other items?"""
    source = "def a(x):\n    while True:\n        pass\n\ndef b(x):\n    return 2 * x\n"
    verdict = _grade(toy_run, source)
    assert verdict.scores() == {"toy.a": 0, "toy.b": 1}
    assert "took too long" in verdict.items["toy.a"].feedback


def test_crash_while_loading_the_cells(toy_run):
    """Does a cell that kills the process at load time give 0 with a reason?"""
    verdict = _grade(toy_run, "import os\nos._exit(1)\n")
    assert verdict.score == 0
    assert "while running your solution cells" in verdict.items["toy.b"].feedback


def _tree_digest(folder):
    """{relative path: (bytes, mode)} of every file under ``folder``."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mode)
            for p in sorted(folder.rglob("*")) if p.is_file()}


TAMPER = ("import os, glob\n"
          "for path in glob.glob('in/*') + glob.glob('site/**/*.py', recursive=True) "
          "+ ['runner.py']:\n"
          "    for how in (lambda: os.chmod(path, 0o666), lambda: open(path, 'r+b').write(b'x'),\n"
          "                lambda: os.unlink(path)):\n"
          "        try:\n            how()\n        except OSError:\n            pass\n"
          "def a(x):\n    return 2 * x\n\ndef b(x):\n    return 2 * x\n")


def test_work_folders_link_the_run_template_read_only(tmp_path):
    """In the sandbox, work folders hard-link the run's inputs, stand-in
    package and runner (written once per run). Does a submission that tries
    to change, chmod or delete every one of them leave the template, and
    the next submission's verdict, exactly as they were?"""
    run = GradingRun(TOY, seed=3)
    template = run.template_dir()
    before = _tree_digest(template)
    assert any(name.startswith("in/") for name in before)
    honest = "def a(x):\n    return 2 * x\n\ndef b(x):\n    return x + x\n"
    first = _grade(run, honest)
    keep = tmp_path / "kept"
    run.grade([{"grade_id": "cell", "source": TAMPER}], keep_dir=keep)
    for rel in before:                                   # linked, not copied
        linked = keep / "work" / rel.replace("site-all/", "site/", 1)
        assert linked.stat().st_ino == (template / rel).stat().st_ino
    assert _tree_digest(template) == before
    assert _grade(run, honest).scores() == first.scores() == {"toy.a": 1, "toy.b": 1}


def test_without_the_sandbox_work_folders_get_copies(tmp_path, monkeypatch):
    """Without bubblewrap the student's code can write into its work folder
    (here it deletes the inputs): are its files copies, so that the
    template, and every later submission, stays as it was?"""
    monkeypatch.setenv("COURSE_GRADING_NO_SANDBOX", "1")
    run = GradingRun(TOY, seed=4)
    template = run.template_dir()
    before = _tree_digest(template)
    keep = tmp_path / "kept"
    run.grade([{"grade_id": "cell", "source": TAMPER}], keep_dir=keep)
    assert not list((keep / "work" / "in").iterdir())   # it did delete its copies
    assert _tree_digest(template) == before


def test_forged_result_files_are_not_trusted(toy_run):
    """Does a result file the student writes with pickled objects fail to load
    instead of being trusted?"""
    source = ("import numpy as np, json, os\n"
              "def a(x):\n    return 2 * x\n\n"
              "def b(x):\n"
              "    os.makedirs('out', exist_ok=True)\n"
              "    np.save('out/evil.npy', np.array([object()]), allow_pickle=True)\n"
              "    return np.array([object()], dtype=object)\n")
    verdict = _grade(toy_run, source)
    assert verdict.scores() == {"toy.a": 1, "toy.b": 0}


def test_runner_job_file_round_trip(tmp_path):
    """Does the runner write results the trusted side can read back exactly?"""
    np.save(tmp_path / "x.npy", np.arange(3.0))
    job = {"site": sandbox.site_paths(), "prelude": "import numpy as np",
           "cells": [{"grade_id": "c", "source": "def f(x, k):\n    return x * k, {'k': k}\n"}],
           "tasks": [{"id": "t0", "func": "f", "args": [{"npy": "x.npy"}, {"json": 2}],
                      "time_limit": 5}]}
    (tmp_path / "job.json").write_text(json.dumps(job))
    (tmp_path / "runner.py").write_text(open(runner.__file__).read())
    result = sandbox.launch(["runner.py", "job.json"], tmp_path, sandbox.Limits(wall_seconds=30))
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "out" / "t0.json").read_text())
    assert record["ok"] and record["value"]["items"][1]["items"]["k"] == {"t": "int", "v": 2}
    array = np.load(tmp_path / record["value"]["items"][0]["file"], allow_pickle=False)
    assert array.tolist() == [0.0, 2.0, 4.0] and sys.executable


# ---- the bubblewrap layer ----------------------------------------------------------

def _processes_with(marker):
    found = []
    for entry in __import__("os").scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_children_die_with_the_run(tmp_path):
    """When the student's process ends (normally or killed), are the
    processes it started gone too, even ones ignoring SIGTERM?"""
    marker = f"sbx-marker-{tmp_path.name}"
    script = ("import subprocess, sys\n"
              "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
              "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)', "
              f"'{marker}'])\n")
    result = _run_script(tmp_path, script)
    assert result.returncode == 0, result.stderr
    assert _processes_with(marker) == []


def test_task_watchdog_stops_a_call_that_ignores_alarms(tmp_path):
    """Does the per-call watchdog end a run whose current call outlives its
    limit in CPU seconds, from outside the sandbox, even if it ignores the
    runner's signals (and counting the CPU of the processes it started)?"""
    script = ("import os, signal\nos.makedirs('out', exist_ok=True)\n"
              "for sig in (signal.SIGPROF, signal.SIGALRM, signal.SIGTERM):\n"
              "    signal.signal(sig, signal.SIG_IGN)\n"
              "open('out/t0.started', 'w').close()\nos.fork()\nwhile True:\n    pass\n")
    (tmp_path / "script.py").write_text(script)
    result = sandbox.launch(["script.py"], tmp_path, sandbox.Limits(wall_seconds=60),
                            watchdog=sandbox.TaskWatchdog({"t0": 1.0}, grace=0.5))
    assert result.timed_out and result.seconds < 30
    assert "CPU time" in result.reason


def test_disk_quota_stops_a_disk_fill(tmp_path):
    """Does writing more than the quota into out/ end the run, flagged as such?"""
    script = ("chunk = b'x' * 2 ** 20\nfor i in range(10 ** 6):\n"
              "    open(f'out/f{i}', 'wb').write(chunk)\n")
    result = _run_script(tmp_path, script,
                         sandbox.Limits(wall_seconds=60, disk_bytes=16 * 2 ** 20))
    assert result.disk_exceeded and result.crashed


def test_sandbox_sees_no_course_folder_and_no_network(tmp_path):
    """Inside the sandbox, is the repository (beyond the venv) invisible, the
    work folder read-only, /tmp writable, the uid unprivileged and the network
    unreachable?"""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    script = ("import os, socket\n"
              f"print('solutions', os.path.exists({str(root / 'solutions')!r}))\n"
              f"print('course_lib', os.path.exists({str(root / 'course_lib')!r}))\n"
              "print('uid', os.getuid())\n"
              "try:\n    open('new.txt', 'w')\n    print('write yes')\n"
              "except OSError:\n    print('write no')\n"
              "open('/tmp/scratch.txt', 'w').write('ok')\nprint('tmp yes')\n"
              "s = socket.socket()\ns.settimeout(2)\n"
              "try:\n    s.connect(('1.1.1.1', 53))\n    print('net yes')\n"
              "except OSError:\n    print('net no')\n")
    result = _run_script(tmp_path, script)
    assert result.sandboxed
    lines = result.stdout.split("\n")
    assert "solutions False" in lines and "course_lib False" in lines
    assert "write no" in lines and "net no" in lines and "tmp yes" in lines
    assert "uid 0" not in lines


def test_a_venv_behind_a_symbolic_link_works_in_the_sandbox(tmp_path):
    """A ``.venv`` that is a link to a shared environment: does the sandbox
    self-test pass when grading runs from the link's path? (The link itself
    does not exist in the sandbox; the environment's real folder does.)"""
    import subprocess
    from pathlib import Path
    link = tmp_path / "venv-link"
    link.symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    python = link / "bin" / Path(sys.executable).name
    code = ("from course_lib.grading import isolation\n"
            "ok, detail = isolation.self_test()\nprint(ok, detail)\n"
            "print(isolation.sandbox_python())")
    run = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    first, second = run.stdout.strip().splitlines()
    assert first.startswith("True"), first
    assert not second.startswith(str(link)), second
