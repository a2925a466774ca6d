"""What the sandbox's file system holds (course_lib.grading.view), and its
system-call filter (course_lib.grading.seccomp)."""
import json
import os
import struct
import sys
from pathlib import Path

import pytest

from course_lib.grading import isolation, sandbox, seccomp, view

needs_bwrap = pytest.mark.skipif(not isolation.self_test()[0],
                                 reason="bubblewrap unavailable: " + isolation.self_test()[1])


def _fake_tree(tmp_path):
    """A fake installation: a standard library (with its own site-packages
    and ensurepip wheels), a site folder with numpy, numpy.libs and three
    other packages, and a system library with two names."""
    stdlib = tmp_path / "prefix" / "lib" / "python3.x"
    for sub in ("encodings", "lib-dynload", "site-packages/scipy", "ensurepip/_bundled"):
        (stdlib / sub).mkdir(parents=True)
    (stdlib / "os.py").write_text("")
    site = tmp_path / "venv" / "site-packages"
    for package in ("numpy/linalg", "numpy.libs", "torch", "scipy", "sklearn"):
        (site / package).mkdir(parents=True)
    (site / "numpy" / "__init__.py").write_text("")
    (site / "numpy" / "linalg" / "_umath.so").write_text("")
    (site / "numpy.libs" / "libopenblas.so").write_text("")
    libs = tmp_path / "usr" / "lib"
    libs.mkdir(parents=True)
    (libs / "libffi.so.8.1.2").write_text("")
    (libs / "libffi.so.8").symlink_to("libffi.so.8.1.2")
    (libs / "libunused.so.1").write_text("")
    exe = tmp_path / "prefix" / "bin" / "python3.x"
    exe.parent.mkdir()
    exe.write_text("")
    report = {"sys_path": [str(stdlib), str(stdlib / "lib-dynload"), str(tmp_path / "nozip")],
              "modules": [str(stdlib / "os.py"), str(site / "numpy" / "__init__.py")],
              "maps": [str(exe), str(site / "numpy" / "linalg" / "_umath.so"),
                       str(site / "numpy.libs" / "libopenblas.so"), str(libs / "libffi.so.8.1.2")]}
    return report, exe, site, stdlib, libs


def test_view_holds_what_numpy_loaded_and_hides_other_packages(tmp_path):
    """From a probe report: are numpy and numpy.libs bound (and no other
    package of their site folder), the standard library bound with its own
    site-packages and bundled wheels hidden, and each mapped library bound
    with the link that names it, but not the libraries nobody loaded?"""
    report, exe, site, stdlib, libs = _fake_tree(tmp_path)
    v = view.build(report, python=str(exe), sites=[str(site)], tools={})
    binds = set(v.binds)
    assert {str(site / "numpy"), str(site / "numpy.libs"), str(stdlib), str(exe),
            str(libs / "libffi.so.8.1.2")} <= binds
    for other in ("torch", "scipy", "sklearn"):
        assert str(site / other) not in binds
    assert str(site) not in binds and str(libs / "libunused.so.1") not in binds
    assert not any(b.startswith(str(stdlib) + "/") for b in binds)  # covered by the folder
    assert set(v.masks) == {str(stdlib / "site-packages"), str(stdlib / "ensurepip/_bundled")}
    assert ("libffi.so.8.1.2", str(libs / "libffi.so.8")) in v.symlinks
    assert v.sites == [str(site)]
    args = v.bwrap_args()
    # the standard library is bound before its site-packages is hidden
    assert args.index(str(stdlib)) < args.index(str(stdlib / "site-packages"))


def test_site_inside_the_standard_library_is_masked_then_numpy_bound(tmp_path):
    """A layout where the site folder lies inside a bound folder (conda, a
    system Python): is it hidden, with numpy bound into the empty folder?"""
    report, exe, _, stdlib, _ = _fake_tree(tmp_path)
    inner = stdlib / "site-packages"
    (inner / "numpy").mkdir()
    (inner / "numpy" / "__init__.py").write_text("")
    report["modules"] = [str(inner / "numpy" / "__init__.py")]
    report["maps"] = []
    v = view.build(report, python=str(exe), sites=[str(inner)], tools={})
    assert str(inner) in v.masks and str(inner / "numpy") in v.binds
    args = v.bwrap_args()
    assert args.index("--tmpfs") < args.index(str(inner / "numpy"))


def test_probe_without_numpy_fails_with_a_clear_message(tmp_path):
    """If numpy cannot be imported from the site folders, does the probe say
    so, and what to do?"""
    with pytest.raises(view.ViewError, match="numpy cannot be imported.*install"):
        view.probe(sites=[str(tmp_path)])


def test_probe_of_this_interpreter_finds_numpy_and_its_libraries():
    """On this machine: does the real probe see numpy's extension modules
    and at least one shared library outside the site folder (libc)?"""
    report = view.probe()
    sites = view.site_dirs()
    assert any("numpy" in m and any(m.startswith(s) for s in sites) for m in report["maps"])
    assert any("libc" in Path(m).name for m in report["maps"])


def test_elf_interpreter_is_read_from_the_program_header(tmp_path):
    """Is PT_INTERP found in a minimal 64-bit ELF header (and None elsewhere)?"""
    interp = b"/lib64/ld-test.so.2\0"
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 32, 64)          # e_phoff
    struct.pack_into("<HH", header, 54, 56, 1)      # e_phentsize, e_phnum
    phdr = struct.pack("<IIQQQQQQ", 3, 0, 120, 0, 0, len(interp), len(interp), 1)
    path = tmp_path / "prog"
    path.write_bytes(bytes(header) + phdr + interp)
    assert view._elf_interpreter(path) == "/lib64/ld-test.so.2"
    (tmp_path / "text").write_text("#!/bin/sh\n")
    assert view._elf_interpreter(tmp_path / "text") is None


# ---- the system-call filter ----------------------------------------------------

def _decode(program):
    return [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_filter_program_is_well_formed(machine):
    """Does the program check the architecture first, refuse every listed
    call, jump only forward and inside the program, and end with returns?"""
    code = _decode(seccomp.program(machine))
    assert code[0] == (0x20, 0, 0, 4) and code[1][0] == 0x15  # load arch, compare
    arch, _, numbers = seccomp._TABLES[machine]
    assert code[1][3] == arch
    compared = {k for op, jt, jf, k in code if op == 0x15}
    for name in seccomp.BLOCKED:
        if name in numbers:
            assert numbers[name] in compared, name
    for index, (op, jt, jf, k) in enumerate(code):
        if op & 0x07 == 0x05:  # a jump
            assert index + 1 + max(jt, jf) < len(code)
    assert code[-1][0] == 0x06
    assert seccomp.program("sparc64") is None


@needs_bwrap
def test_sandbox_refuses_keyrings_ptrace_and_namespaces_but_runs_numpy(tmp_path):
    """Inside the sandbox, do keyctl, add_key, ptrace, unshare and a clone
    with CLONE_NEWUSER fail with EPERM, while threads, fork, a child process
    and numpy work?"""
    if not seccomp.supported():
        pytest.skip("no filter for this architecture")
    nr = {"x86_64": {"keyctl": 250, "add_key": 248, "ptrace": 101, "unshare": 272, "clone": 56},
          "aarch64": {"keyctl": 219, "add_key": 217, "ptrace": 117, "unshare": 97,
                      "clone": 220}}[os.uname().machine]
    script = (f"import ctypes, json, os, subprocess, sys, threading\nnr = {nr!r}\n"
              "libc = ctypes.CDLL(None, use_errno=True)\n"
              "def call(name, *args):\n"
              "    rc = libc.syscall(nr[name], *args)\n"
              "    return os.strerror(ctypes.get_errno()) if rc == -1 else 'allowed'\n"
              "out = {'keyctl': call('keyctl', 0, ctypes.c_long(-4), 1),\n"
              "       'add_key': call('add_key', b'user', b'x', b'y', 1, ctypes.c_long(-3)),\n"
              "       'ptrace': call('ptrace', 0, 0, 0, 0),\n"
              "       'unshare': call('unshare', 0x10000000),\n"
              "       'clone_newuser': call('clone', 0x10000000 | 17, 0, 0, 0, 0)}\n"
              "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
              "pid = os.fork()\nif pid == 0:\n    os._exit(3)\n"
              "out['fork'] = os.waitpid(pid, 0)[1] >> 8\n"
              "out['child'] = subprocess.run([sys.executable, '-c', 'print(7)'], "
              "capture_output=True, text=True).stdout.strip()\n"
              f"sys.path += {sandbox.site_paths()!r}\nimport numpy as np\n"
              "out['numpy'] = float(np.linalg.solve(np.eye(3) * 2, np.ones(3)).sum())\n"
              "print(json.dumps(out))\n")
    (tmp_path / "s.py").write_text(script)
    result = sandbox.launch(["s.py"], tmp_path, sandbox.Limits(wall_seconds=60))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    refused = os.strerror(1)
    assert found == {"keyctl": refused, "add_key": refused, "ptrace": refused,
                     "unshare": refused, "clone_newuser": refused, "fork": 3, "child": "7",
                     "numpy": 1.5}


@needs_bwrap
def test_sandbox_file_system_is_the_view(tmp_path):
    """Does the sandbox's root hold only what the view lists (plus /proc,
    /dev, /tmp and the work folder), and does sys.executable work there?"""
    v = view.current()
    script = ("import os, sys\n"
              "print(sorted(os.listdir('/')))\n"
              f"print(sorted(os.listdir({v.sites[0]!r})))\n")
    (tmp_path / "s.py").write_text(script)
    result = sandbox.launch(["s.py"], tmp_path, sandbox.Limits(wall_seconds=60))
    assert result.returncode == 0, result.stderr
    top, site = (eval(line) for line in result.stdout.strip().splitlines())  # noqa: S307
    allowed = {"proc", "dev", "tmp", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}
    allowed |= {Path(p).parts[1] for p in [*v.binds, *v.masks, str(tmp_path)]}
    assert set(top) <= allowed, set(top) - allowed
    assert set(site) <= {Path(p).name for p in v.binds if Path(p).parent == Path(v.sites[0])}
    assert "numpy" in site and sys.executable
