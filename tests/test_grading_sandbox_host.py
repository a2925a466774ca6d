"""Issue 21: nothing a submission does reaches another submission or the run.

Scenarios on small toy assignments: other packages are not in the sandbox;
memory of every kind is charged to the sandbox; a disk fill with unlinked
files stays in the sandbox's own scratch; time limits are CPU seconds (a
busy machine or a busy neighbour does not fail a correct call); the kernel
keyrings carry nothing from one sandbox to the next; oversized results do
not take the grading process down; a killed grader leaves no hidden inputs
behind. Most need root (cgroups, mounts, a leased uid): they are skipped,
with the reason, elsewhere.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from course_lib.grading import cgroups, isolation, sandbox, view, workspace
from course_lib.grading.distributed import grade_batch
from course_lib.grading.engine import GradingRun
from course_lib.grading.spec import Assignment, Call, Case, Check, Item

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not isolation.self_test()[0],
                                reason="bubblewrap unavailable: " + isolation.self_test()[1])
as_root = pytest.mark.skipif(os.geteuid() != 0 or cgroups.backend() is None,
                             reason="needs root and a memory cgroup: " + cgroups.status())


def _double(x):
    return 2 * x


def _item(name, time_limit=2.0, **kwargs):
    case = Case("only", "a vector", lambda rng, ctx: Call([rng.normal(size=4)]))
    return Item(f"toy.{name}", name, name, (case,), (Check("out", 1),), reference=_double,
                time_limit=time_limit, **kwargs)


TOY = Assignment(id="toy_host", title="toy", notebook="toy",
                 items=(_item("a"), _item("b")), startup_seconds=10)
LIMITS = sandbox.Limits(cpu_seconds=60, wall_seconds=120, memory_bytes=1024 ** 3,
                        disk_bytes=64 * 1024 ** 2)
HONEST = "def a(x):\n    return 2 * x\n\ndef b(x):\n    return x + x\n"


def _grade(run, source):
    return run.grade([{"grade_id": "cell", "source": source}])


def _run_script(tmp_path, source, limits=LIMITS):
    (tmp_path / "script.py").write_text(source)
    return sandbox.launch(["script.py"], tmp_path, limits)


# ---- a minimal site --------------------------------------------------------------

def test_other_packages_are_not_on_the_sandbox_file_system(tmp_path):
    """Does `import torch`, `scipy`, `sklearn` fail in the sandbox, even after
    appending every site folder the student can name or find, while numpy
    and the standard library work?"""
    guesses = sorted({*sandbox.site_paths(), *view.site_dirs(),
                      sys.prefix + "/lib/python3.11/site-packages",
                      sys.base_prefix + f"/lib/python{sys.version_info.major}."
                      f"{sys.version_info.minor}/site-packages",
                      "/usr/lib/python3/dist-packages", "/usr/local/lib/python3/dist-packages"})
    script = ("import importlib, json, os, sys\n"
              f"sys.path += {guesses!r}\n"
              "for top in sorted(set(os.listdir('/')) - {'proc', 'dev', 'sys'}):\n"
              "    for folder, dirs, _ in os.walk('/' + top):\n"
              "        sys.path += [os.path.join(folder, d) for d in dirs\n"
              "                     if d in ('site-packages', 'dist-packages')]\n"
              "found = {}\n"
              "for name in ('torch', 'scipy', 'sklearn', 'numpy', 'json', 'decimal', 'ctypes'):\n"
              "    try:\n        importlib.import_module(name)\n        found[name] = True\n"
              "    except ImportError:\n        found[name] = False\n"
              "print(json.dumps(found))\n")
    result = _run_script(tmp_path, script)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"torch": False, "scipy": False, "sklearn": False, "numpy": True,
                     "json": True, "decimal": True, "ctypes": True}


# ---- memory ----------------------------------------------------------------------

MEMFD_HOG = ("import os\nchunk = b'x' * 2 ** 26\nfds = []\n"
             "for _ in range(16):  # 16 files of 128 MB (each under the file-size rlimit)\n"
             "    fds.append(os.memfd_create('hog'))\n"
             "    for _ in range(2):\n        os.write(fds[-1], chunk)\n"
             "print('wrote 2 GB')\n")
SHM_HOG = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
           "libc.shmat.restype = ctypes.c_void_p\n"
           "for _ in range(8):  # 8 segments of 256 MB, touched, detached: they stay\n"
           "    sid = libc.shmget(0, 2 ** 28, 0o1600)\n"
           "    addr = libc.shmat(sid, None, 0)\n"
           "    ctypes.memset(addr, 1, 2 ** 28)\n    libc.shmdt(ctypes.c_void_p(addr))\n"
           "print('wrote 2 GB')\n")


@as_root
@pytest.mark.parametrize("hog", ["memfd", "shm"])
def test_memory_outside_the_address_space_is_charged_to_the_sandbox(tmp_path, hog):
    """memfd and System V shared memory are in no process's address space:
    is a sandbox that fills 2 GB of them stopped at its cgroup's limit
    (here 512 MB), with the reason?"""
    limits = sandbox.Limits(wall_seconds=60, memory_bytes=448 * 1024 ** 2,
                            disk_bytes=64 * 1024 ** 2)
    result = _run_script(tmp_path, MEMFD_HOG if hog == "memfd" else SHM_HOG, limits)
    assert "wrote 2 GB" not in result.stdout
    assert result.memory_exceeded and "memory limit" in result.reason, result


@as_root
def test_memfd_hog_costs_its_item_with_the_reason():
    """Through the grader: does a call that fills memfd memory score 0 with
    the memory limit named, and the next item still score?"""
    run = GradingRun(TOY, seed=1, limits=sandbox.Limits(
        cpu_seconds=60, wall_seconds=120, memory_bytes=448 * 1024 ** 2,
        disk_bytes=64 * 1024 ** 2))
    source = "def a(x):\n" + "".join("    " + line + "\n" for line in MEMFD_HOG.splitlines()) \
        + "    return 2 * x\n\ndef b(x):\n    return 2 * x\n"
    verdict = _grade(run, source)
    assert verdict.scores() == {"toy.a": 0, "toy.b": 1}
    assert "memory limit" in verdict.items["toy.a"].feedback


# ---- disk ------------------------------------------------------------------------

FILL = """
def a(x):
    import os, time
    held = []
    for step in (8 * 2 ** 20, 2 ** 20, 2 ** 16):  # unlinked, fallocated files, held open,
        while len(held) < 200:                    # until nothing more fits
            name = f'out/fill{len(held)}'
            try:
                fd = os.open(name, os.O_CREAT | os.O_RDWR, 0o600)
            except OSError:
                break
            os.unlink(name)
            try:
                os.posix_fallocate(fd, 0, step)
            except OSError:
                os.close(fd)
                break
            held.append(fd)
    time.sleep(4)  # hold the space while the others are graded
    return 2 * x

def b(x):
    return 2 * x
"""
SLOW_WRITER = """
def a(x):
    import time
    time.sleep(1.5)  # while the fill holds its space
    return 2 * x

def b(x):
    return 2 * x
"""


def _free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@as_root
def test_unlinked_fallocate_fill_stays_in_the_sandbox_scratch(tmp_path, monkeypatch):
    """The work folders here live on a small file system of their own (256 MB,
    so this test cannot fill the machine's). One submission fallocates up to
    512 MB in files it unlinks but keeps open, in out/, while two others are
    graded beside and after it: does it fill only its own scratch (64 MB),
    leaving the work folders' file system free all along, and do the others
    score as when graded alone?"""
    fs = tmp_path / "fs"
    fs.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "course-test-fs", str(fs)],
                   check=True)
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(fs))
        monkeypatch.setitem(workspace._STATE, "root", None)
        run = GradingRun(TOY, seed=2, limits=LIMITS)
        alone = _grade(run, SLOW_WRITER).scores()
        assert alone == {"toy.a": 1, "toy.b": 1}
        lowest, done = [_free(fs)], threading.Event()

        def watch():  # the work folders' free space while the batch runs
            while not done.wait(0.05):
                lowest[0] = min(lowest[0], _free(fs))

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            verdicts = grade_batch(run, [[{"grade_id": "cell", "source": s}]
                                         for s in (FILL, SLOW_WRITER, SLOW_WRITER)], workers=2)
        finally:
            done.set()
            watcher.join()
        assert verdicts[1].scores() == alone and verdicts[2].scores() == alone
        assert verdicts[0].scores()["toy.b"] == 1  # the filler's own run went on
        assert lowest[0] > 160 * 2 ** 20  # at most its 64 MB scratch, never this file system
        assert _free(fs) > 200 * 2 ** 20
    finally:
        workspace.release(fs)
        subprocess.run(["umount", "-l", str(fs)], check=False)


# ---- CPU -------------------------------------------------------------------------

SLOW_CORRECT = """
def a(x):
    import time
    start = time.process_time()
    while time.process_time() - start < 1.2:  # 1.2 s of CPU: within a's 2 s
        pass
    return 2 * x

def b(x):
    return 2 * x
"""
BUSY = """
def a(x):
    import os, signal
    for sig in (signal.SIGPROF, signal.SIGALRM, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    for _ in range(6):
        if os.fork() == 0:
            break
    while True:
        pass

def b(x):
    return 2 * x
"""


def _loaders(count):
    return [subprocess.Popen([sys.executable, "-c", "while True:\n    pass"])
            for _ in range(count)]


@as_root
def test_a_slow_correct_call_passes_on_a_loaded_machine():
    """A call that needs 1.2 s of CPU with a 2 s limit, while four other
    processes keep both cores busy: does it pass (the limit counts its CPU
    time, not the wall-clock time the load adds)?"""
    run = GradingRun(TOY, seed=3, limits=LIMITS)
    loaders = _loaders(4)
    try:
        time.sleep(0.5)
        verdict = _grade(run, SLOW_CORRECT)
    finally:
        for p in loaders:
            p.kill()
            p.wait()
    assert verdict.scores() == {"toy.a": 1, "toy.b": 1}, verdict.items["toy.a"].feedback


@as_root
def test_a_busy_neighbour_does_not_change_another_students_result():
    """Graded beside a submission that busy-loops in seven processes and
    ignores its signals, does a slow but correct one score as alone, and the
    busy one lose only its own item, with a CPU-time reason?"""
    run = GradingRun(TOY, seed=4, limits=LIMITS)
    alone = _grade(run, SLOW_CORRECT).scores()
    assert alone == {"toy.a": 1, "toy.b": 1}
    verdicts = grade_batch(run, [[{"grade_id": "cell", "source": s}]
                                 for s in (BUSY, SLOW_CORRECT, SLOW_CORRECT)], workers=2)
    assert verdicts[1].scores() == alone and verdicts[2].scores() == alone
    assert verdicts[0].scores() == {"toy.a": 0, "toy.b": 1}
    assert "CPU time" in verdicts[0].items["toy.a"].feedback


def test_a_call_that_sleeps_is_ended_by_the_wall_clock_backstop(tmp_path, monkeypatch):
    """A call that sleeps uses no CPU: does the watchdog's wall-clock backstop
    (several times the CPU limit, plus a constant) end it, and say why?"""
    monkeypatch.setattr(sandbox, "WALL_EXTRA", 1.0)
    script = ("import os, signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
              "os.makedirs('out', exist_ok=True)\nopen('out/t0.started', 'w').close()\n"
              "time.sleep(60)\n")
    (tmp_path / "s.py").write_text(script)
    result = sandbox.launch(["s.py"], tmp_path, sandbox.Limits(wall_seconds=60),
                            watchdog=sandbox.TaskWatchdog({"t0": 1.0}, grace=0.5))
    assert result.timed_out and result.seconds < 15
    assert "wall-clock" in result.reason


def test_watchdog_counts_cpu_seconds_since_the_call_began(tmp_path):
    """Does the watchdog end a call once the sandbox has used its limit plus
    grace in CPU seconds since the call began (not counting CPU used before),
    and leave a call alone that used less?"""
    (tmp_path / "out").mkdir()
    dog = sandbox.TaskWatchdog({"t0": 2.0}, grace=0.5)
    assert dog(tmp_path, cpu=10.0) is None
    (tmp_path / "out" / "t0.started").touch()
    assert dog(tmp_path, cpu=10.0) is None          # first seen at 10 s of CPU
    assert dog(tmp_path, cpu=12.4) is None          # 2.4 s: within 2 + 0.5
    assert "2 s of CPU time" in dog(tmp_path, cpu=12.6)
    (tmp_path / "out" / "t0.json").touch()
    assert dog(tmp_path, cpu=99.0) is None          # finished


# ---- keyrings --------------------------------------------------------------------

KEY_WRITE = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
out = {}
for ring in (-4, -3, -5):  # user, session, user-session keyrings
    rc = libc.syscall(NR_ADD_KEY, b"user", b"course-channel", b"secret-bytes", 12,
                      ctypes.c_long(ring))
    out[ring] = rc if rc >= 0 else os.strerror(ctypes.get_errno())
print(json.dumps(out))
"""
KEY_READ = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
got = []
for ring in (-4, -3, -5):
    key = libc.syscall(NR_KEYCTL, 10, ctypes.c_long(ring), b"user", b"course-channel", 0)
    if key >= 0:
        buf = ctypes.create_string_buffer(64)
        n = libc.syscall(NR_KEYCTL, 11, ctypes.c_long(key), buf, 64)
        got.append(buf.raw[:max(n, 0)].decode(errors="replace"))
print(json.dumps(got))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a leased uid per sandbox)")
@pytest.mark.parametrize("with_filter", [True, False])
def test_keyrings_carry_nothing_between_sandboxes(tmp_path, monkeypatch, with_filter):
    """Two sandboxes leasing the same uid one after the other: can the second
    read bytes the first stored in the user, session or user-session
    keyring? (Not with the system-call filter, which refuses keyrings; and
    not without it either: each sandbox gets a new session keyring and the
    uid's own keyrings are emptied after each run.)"""
    numbers = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine)
    if numbers is None:
        pytest.skip("keyring system-call numbers unknown here")
    monkeypatch.setattr(isolation, "UID_BASE", 61600 + (0 if with_filter else 1))
    monkeypatch.setattr(isolation, "UID_COUNT", 1)
    if not with_filter:
        monkeypatch.setitem(isolation._STATE, "seccomp", None)
    writer = KEY_WRITE.replace("NR_ADD_KEY", str(numbers[0]))
    reader = KEY_READ.replace("NR_KEYCTL", str(numbers[1]))
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    first = _run_script(tmp_path / "one", writer)
    assert first.returncode == 0, first.stderr
    second = _run_script(tmp_path / "two", reader)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.strip().splitlines()[-1]) == []
    if with_filter:
        assert set(json.loads(first.stdout.strip().splitlines()[-1]).values()) == \
            {os.strerror(1)}


# ---- what the parent reads -------------------------------------------------------

def _product_judge(W, call, ctx):
    X_val = call.private["X_val"]
    if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[0] != X_val.shape[1]:
        return False, "W has the wrong shape"
    return bool(np.isfinite(X_val @ W).all()), ""


def _w_case(rng, ctx):
    return Call([rng.normal(size=(200, 50))], private={"X_val": rng.normal(size=(2000, 50))})


PARENT_TOY = Assignment(
    id="toy_parent", title="toy", notebook="toy",
    items=(_item("a", time_limit=5.0), _item("b", time_limit=5.0),
           Item("toy.w", "w", "w", (Case("only", "a matrix", _w_case),),
                (Check("W", 1, kind="custom", judge=_product_judge),), time_limit=5.0)),
    startup_seconds=10)

# each forges its call's result after the runner wrote it (at exit)
_FORGE = """
import atexit, json, os
def _forge(func, make):
    ids = [t['id'] for t in json.load(open('job.json'))['tasks'] if t['func'] == func]
    def forge():
        for tid in ids:
            make(tid)
    atexit.register(forge)

def _sparse(path, shape):
    with open(path, 'wb') as f:
        np.lib.format.write_array_header_1_0(f, {'descr': '<f8', 'fortran_order': False,
                                                 'shape': shape})
        f.truncate(f.tell() + 8 * int(np.prod(shape)))

def _record(tid, items):
    with open(f'out/{tid}.json', 'w') as f:
        json.dump({'ok': True, 'value': {'t': 'list', 'items': items}}, f)
"""
PARENT_ATTACKS = {
    # 20 references to one sparse 250 MB array (5 GB if each were read)
    "sparse .npy": _FORGE + """
def _make(tid):
    _sparse(f'out/{tid}_big.npy', (31250, 1000))
    _record(tid, [{'t': 'ndarray', 'file': f'out/{tid}_big.npy'}] * 20)
_forge('a', _make)
""",
    # a W the judge would multiply: (50, 600000) float64 is 240 MB, X_val @ W 9.6 GB
    "huge array for the judge": _FORGE + """
def _make(tid):
    _sparse(f'out/{tid}_0.npy', (50, 600000))
    with open(f'out/{tid}.json', 'w') as f:
        json.dump({'ok': True, 'value': {'t': 'ndarray', 'file': f'out/{tid}_0.npy'}}, f)
_forge('w', _make)
""",
    # a 15 MB record: 380,000 references to a 100 KB array
    "huge JSON record": _FORGE + """
def _make(tid):
    np.save(f'out/{tid}_s.npy', np.zeros(12800))
    _record(tid, [{'t': 'ndarray', 'file': f'out/{tid}_s.npy'}] * 380000)
_forge('a', _make)
""",
}
PARENT_SCRIPT = """
import json, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (AS_BYTES, hard))
from course_lib.grading import sandbox
from course_lib.grading.engine import GradingRun
from tests.test_grading_sandbox_host import PARENT_TOY, PARENT_ATTACKS
run = GradingRun(PARENT_TOY, seed=5, limits=sandbox.Limits(cpu_seconds=60, wall_seconds=120,
                 memory_bytes=1024 ** 3, disk_bytes=64 * 1024 ** 2))
honest = ("def a(x):\\n    return 2 * x\\n\\ndef b(x):\\n    return 2 * x\\n\\n"
          "def w(X):\\n    return np.zeros((50, 10))\\n")
out = {}
for name, attack in [("honest", "")] + sorted(PARENT_ATTACKS.items()):
    verdict = run.grade([{"grade_id": "cell", "source": honest + attack}])
    out[name] = {"scores": verdict.scores(),
                 "feedback": "\\n".join(i.feedback for i in verdict.items.values())}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_oversized_results_do_not_take_the_grader_down():
    """A grading process limited to 1.5 GB of address space grades a sparse
    .npy referenced 20 times (5 GB), a 240 MB W that its judge would multiply
    into 9.6 GB, and a 15 MB record of 380,000 array references: does it
    survive, score each attacked item 0 with the reason, and the others as
    for the honest submission?"""
    script = PARENT_SCRIPT.replace("AS_BYTES", str(1536 * 1024 ** 2))
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["honest"]["scores"] == {"toy.a": 1, "toy.b": 1, "toy.w": 1}
    attacked = {"sparse .npy": "toy.a", "huge array for the judge": "toy.w",
                "huge JSON record": "toy.a"}
    for name, item in attacked.items():
        expected = dict(out["honest"]["scores"], **{item: 0})
        assert out[name]["scores"] == expected, (name, out[name])
        assert "larger than the grader reads" in out[name]["feedback"], out[name]["feedback"]


# ---- work folders ----------------------------------------------------------------

KILLED_GRADER = """
from course_lib.grading.engine import GradingRun
from tests.test_grading_sandbox_host import TOY
run = GradingRun(TOY, seed=6)
run.grade([{"grade_id": "cell", "source": "import time\\ndef a(x):\\n    time.sleep(60)\\n"}])
"""
NEXT_GRADER = """
from course_lib.grading.engine import GradingRun
from tests.test_grading_sandbox_host import TOY, HONEST
print(GradingRun(TOY, seed=6).grade([{"grade_id": "cell", "source": HONEST}]).score)
"""


def _hidden_inputs(folder):
    return sorted(str(p) for p in Path(folder).rglob("*.npy"))


def test_a_killed_grader_leaves_no_work_folder_after_the_next_start(tmp_path):
    """A grader SIGKILLed while a sandbox runs leaves its work folder (with
    the hidden inputs): is it gone, with its scratch mount, once the next
    grading process has started? (Both use their own TMPDIR here.)"""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    grader = subprocess.Popen([sys.executable, "-c", KILLED_GRADER], cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while not [p for p in _hidden_inputs(tmp) if "/work/in/" in p] \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # the sandbox is running now
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    left = _hidden_inputs(tmp)
    assert left, "the grader never made a work folder"
    for folder in Path(tmp).iterdir():
        if folder.name != "course-grading-uids":
            assert folder.stat().st_mode & 0o077 == 0, folder  # private while it lives
    nxt = subprocess.run([sys.executable, "-c", NEXT_GRADER], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert nxt.returncode == 0 and float(nxt.stdout) == 2, nxt.stderr
    assert _hidden_inputs(tmp) == []
    assert sorted(p.name for p in tmp.iterdir()) in ([], ["course-grading-uids"])
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(tmp) not in mounts
