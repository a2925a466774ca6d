"""What the sandbox's file system holds: the interpreter, its standard
library, numpy and the shared libraries these load. Nothing else.

Binding the whole interpreter installation, the virtual environment and
``/usr`` would put every installed package within ``sys.path.append`` of
student code (PyTorch, SciPy, scikit-learn: each answers some item). So the
view is derived, once per process, from what this interpreter actually
loads: :func:`probe` starts it (``-I -S``, the sandbox's environment),
imports numpy and its submodules and every extension module of the standard
library, and reports the files mapped into its memory (``/proc/self/maps``)
and the modules it imported. From that, :func:`current` builds a
:class:`View`:

- the interpreter's executable (and ``pyvenv.cfg`` next to it, if any);
- its standard-library folders (the entries of ``sys.path`` under ``-I -S``,
  ``lib-dynload`` included), with any ``site-packages``/``dist-packages``
  inside them and ``ensurepip``'s bundled wheels hidden by an empty tmpfs;
- from the site folders numpy is imported from: only the top-level entries
  that hold a loaded module or a mapped library (``numpy/`` and, for the
  wheels, ``numpy.libs/``), at their real paths, so the site folder appended
  to ``sys.path`` contains nothing else;
- each shared library (and locale file) the probe mapped, one file at a
  time, with the symbolic links that name it in its folder (``libffi.so.8 ->
  libffi.so.8.1.2``) and along its path (``/lib -> usr/lib``), the dynamic
  loader named in the executable, and ``setpriv``/``prlimit`` with their
  libraries (asked of the loader with ``LD_TRACE_LOADED_OBJECTS``);
- ``/etc/ld.so.cache`` and ``/etc/localtime``.

:func:`describe` lists it (the README and ``autograde``'s summary use it).
If numpy cannot be imported by this interpreter, :func:`current` raises
:class:`ViewError` saying what is missing.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["View", "ViewError", "current", "probe", "site_dirs", "interpreter", "describe",
           "PROBE_ENV"]

#: the environment the probe runs in (the sandbox's locale, one BLAS thread)
PROBE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
             "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: numpy modules a solution may use (the probe imports them, so their libraries are seen)
NUMPY_MODULES = ("numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.lib.stride_tricks")
#: standard-library extensions for terminals, GUIs, databases and system accounts:
#: their libraries (Tk, X11, ncurses, readline, gdbm, ...) stay out of the sandbox
SKIPPED_EXTENSIONS = ["_tkinter", "readline", "_curses", "_curses_panel", "nis", "ossaudiodev",
                      "_dbm", "_gdbm", "_crypt", "spwd", "_sqlite3"]
_MASKED_CHILDREN = ("site-packages", "dist-packages", "ensurepip/_bundled")
TOP_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

_PROBE = r"""
import importlib, json, os, sys
sites = json.loads(sys.argv[1])
path = [p for p in sys.path]
sys.path += sites
report = {"sys_path": path, "error": None}
try:
    for name in json.loads(sys.argv[2]):
        importlib.import_module(name)
except Exception as exc:
    report["error"] = "%s: %s" % (type(exc).__name__, exc)
# every extension module of the standard library, for the libraries they load
suffixes = tuple(__import__("importlib.machinery").machinery.EXTENSION_SUFFIXES)
skip = set(json.loads(sys.argv[3]))
for folder in path:
    if os.path.basename(folder) == "lib-dynload" and os.path.isdir(folder):
        for entry in sorted(os.listdir(folder)):
            if entry.endswith(suffixes) and entry.split(".")[0] not in skip:
                try:
                    importlib.import_module(entry.split(".")[0])
                except BaseException:
                    pass
report["modules"] = sorted({m.__file__ for m in list(sys.modules.values())
                            if isinstance(getattr(m, "__file__", None), str)})
maps = set()
with open("/proc/self/maps") as f:
    for line in f:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            maps.add(parts[5].rstrip("\n"))
report["maps"] = sorted(maps)
print(json.dumps(report))
"""


class ViewError(RuntimeError):
    """The sandbox's view cannot be built (numpy missing, probe failed)."""


@dataclass
class View:
    """Mount operations for bubblewrap, in an order it can apply."""
    binds: list = field(default_factory=list)     # read-only binds (real path on both sides)
    symlinks: list = field(default_factory=list)  # (target text, link path)
    masks: list = field(default_factory=list)     # folders hidden by an empty tmpfs
    optional: list = field(default_factory=list)  # binds that may be missing
    sites: list = field(default_factory=list)     # site folders (sys.path entries for numpy)
    python: str = ""                              # the interpreter to run
    tools: dict = field(default_factory=dict)     # name -> path (setpriv, prlimit)

    def bwrap_args(self, extra_dirs=()):
        """``bwrap`` arguments that build this view (parents first), plus
        traversable folders for ``extra_dirs`` (bind targets of the caller)."""
        args = []
        covered = [Path(b) for b in self.binds if os.path.isdir(b)]

        def inside_bound(path):
            return any(path != c and path.is_relative_to(c) for c in covered)

        parents = set()
        for target in [*self.binds, *(link for _, link in self.symlinks), *self.masks,
                       *self.optional, *extra_dirs]:
            for parent in Path(target).parents:
                if str(parent) != "/" and not inside_bound(parent) and parent not in covered:
                    parents.add(parent)
        links = {Path(link) for _, link in self.symlinks}
        for parent in sorted(parents - links, key=lambda p: len(p.parts)):
            # privileged bwrap would create them 0700: the sandbox's uid must pass
            args += ["--perms", "0755", "--dir", str(parent)]
        ops = [(len(Path(p).parts), 0, ["--ro-bind", p, p]) for p in self.binds]
        ops += [(len(Path(p).parts), 1, ["--perms", "0555", "--size", "4096", "--tmpfs", p])
                for p in self.masks]
        ops += [(len(Path(link).parts), 2, ["--symlink", target, link])
                for target, link in self.symlinks]
        for _, _, op in sorted(ops, key=lambda o: (o[0], o[1])):
            args += op
        for path in self.optional:
            args += ["--ro-bind-try", path, path]
        return args

    def describe(self):
        """What the sandbox can see, one line each (for people)."""
        lines = [f"interpreter: {self.python}"]
        lines += [f"read-only: {p}" for p in self.binds if p != self.python]
        lines += [f"hidden (empty): {p}" for p in self.masks]
        lines += [f"link: {link} -> {target}" for target, link in self.symlinks]
        lines += [f"read-only if present: {p}" for p in self.optional]
        return lines


_STATE = {"view": None}
_LOCK = threading.Lock()


def interpreter():
    """The real path of this interpreter's executable: the sandbox runs it
    directly (a virtual environment's ``bin/python`` is a link to it, and
    under ``-I -S`` the environment's packages are not used anyway)."""
    return os.path.realpath(sys.executable)


def site_dirs():
    """Real paths of this interpreter's site folders (where numpy is found)."""
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return sorted({os.path.realpath(p) for p in paths if os.path.isdir(p)})


def probe(python=None, sites=None, modules=NUMPY_MODULES):
    """Run the probe (see the module docstring) and return its report."""
    python = python or interpreter()
    sites = site_dirs() if sites is None else sites
    try:
        proc = subprocess.run([python, "-I", "-S", "-c", _PROBE, json.dumps(sites),
                               json.dumps(list(modules)), json.dumps(SKIPPED_EXTENSIONS)],
                              capture_output=True, text=True,
                              env=PROBE_ENV, timeout=120, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ViewError(f"could not run {python} to find what the sandbox needs: {exc}") from None
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ViewError(f"the probe of {python} failed (exit {proc.returncode}): "
                        f"{detail[0]}") from None
    if report.get("error"):
        raise ViewError(f"numpy cannot be imported by {python} from {', '.join(sites)} "
                        f"({report['error']}); the sandbox needs it: install the course's "
                        "packages (make venv, or pip install -r requirements.txt)")
    return report


def current():
    """The :class:`View` of this process's interpreter (built once)."""
    with _LOCK:
        if _STATE["view"] is None:
            _STATE["view"] = build(probe())
        return _STATE["view"]


def build(report, python=None, sites=None, tools=None):
    """A :class:`View` from a :func:`probe` report."""
    python = python or interpreter()
    sites = [Path(s) for s in (site_dirs() if sites is None else sites)]
    stdlib = sorted({Path(os.path.realpath(p)) for p in report["sys_path"] if os.path.isdir(p)}
                    - set(sites), key=lambda p: len(p.parts))
    stdlib = [p for p in stdlib if not any(p != q and p.is_relative_to(q) for q in stdlib)]
    folders, files, links = set(stdlib), set(), set()
    packages = set()
    for path in [*report["modules"], *report["maps"]]:
        real = Path(os.path.realpath(path))
        site = next((s for s in sites if real.is_relative_to(s)), None)
        if site is not None:  # numpy/, numpy.libs/: the top-level entry it lives in
            packages.add(site / real.relative_to(site).parts[0])
        elif not any(real.is_relative_to(f) for f in stdlib) and real.is_file():
            files.add(real)
    exe = Path(python)
    files.add(Path(os.path.realpath(exe)))
    for cfg in (exe.parent / "pyvenv.cfg", exe.parent.parent / "pyvenv.cfg"):
        if cfg.is_file():  # a copied (not linked) venv interpreter reads it at start
            files.add(cfg)
    tools = _tools() if tools is None else tools
    for tool in tools.values():
        files.add(Path(os.path.realpath(tool)))
        for needed in [_elf_interpreter(tool), *_loader_trace(tool)]:
            if needed:
                links |= _path_links(needed)
                files.add(Path(os.path.realpath(needed)))
    interp = _elf_interpreter(python)
    if interp:
        links |= _path_links(interp)
        files.add(Path(os.path.realpath(interp)))
    links |= _aliases(files)
    for name in TOP_LINKS:  # merged /usr: the loader's cache names /lib/... paths
        top = Path("/") / name
        if top.is_symlink():
            links.add((os.readlink(top), str(top)))
    masks = set()
    for folder in stdlib:
        for child in _MASKED_CHILDREN:
            if (folder / child).is_dir():
                masks.add(folder / child)
    for site in sites:  # a site folder inside the standard library's folder
        if any(site.is_relative_to(f) for f in stdlib):
            masks.add(site)
    folders |= packages
    binds = sorted({str(p) for p in folders | files})
    link_paths = {Path(link) for _, link in links}
    binds = [b for b in binds if Path(b) not in link_paths]
    covered = [Path(b) for b in binds if os.path.isdir(b)]
    links = sorted((t, l) for t, l in links
                   if not any(Path(l).is_relative_to(c) for c in covered))
    return View(binds=binds, symlinks=links, masks=sorted(str(m) for m in masks),
                optional=["/etc/ld.so.cache", "/etc/localtime"],
                sites=[str(s) for s in sites], python=str(Path(os.path.realpath(exe))),
                tools={name: os.path.realpath(path) for name, path in tools.items()})


def _tools():
    found = {}
    for name in ("setpriv", "prlimit"):
        path = shutil.which(name) or f"/usr/bin/{name}"
        if os.path.exists(path):
            found[name] = path
    return found


def _path_links(path):
    """``(target, link)`` for every symbolic link met while resolving ``path``
    component by component (``/lib64 -> usr/lib64``, then the file's own)."""
    links, current, parts = set(), Path("/"), list(Path(path).parts[1:])
    hops = 0
    while parts and hops < 40:
        candidate = current / parts.pop(0)
        if candidate.is_symlink():
            hops += 1
            target = os.readlink(candidate)
            links.add((target, str(candidate)))
            resolved = Path(target) if target.startswith("/") else current / target
            parts = list(resolved.parts[1:]) + parts
            current = Path("/")
        else:
            current = candidate
    return links


def _aliases(files):
    """Links in each file's folder that point to it (the names the dynamic
    loader asks for: ``libffi.so.8`` for ``libffi.so.8.1.2``)."""
    wanted = {}
    for real in files:
        wanted.setdefault(real.parent, set()).add(str(real))
    out = set()
    for folder, names in wanted.items():
        try:
            entries = [e for e in os.scandir(folder) if e.is_symlink()]
        except OSError:
            continue
        for entry in entries:
            if os.path.realpath(entry.path) in names:
                out.add((os.readlink(entry.path), entry.path))
    return out


def _elf_interpreter(path):
    """The program interpreter (``PT_INTERP``) an ELF executable names, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF":
                return None
            wide, order = head[4] == 2, "<" if head[5] == 1 else ">"
            if wide:
                phoff, = struct.unpack(order + "Q", head[32:40])
                phentsize, phnum = struct.unpack(order + "HH", head[54:58])
            else:
                phoff, = struct.unpack(order + "I", head[28:32])
                phentsize, phnum = struct.unpack(order + "HH", head[42:46])
            for i in range(min(phnum, 256)):
                f.seek(phoff + i * phentsize)
                entry = f.read(phentsize)
                if struct.unpack(order + "I", entry[:4])[0] != 3:  # PT_INTERP
                    continue
                if wide:
                    offset, = struct.unpack(order + "Q", entry[8:16])
                    size, = struct.unpack(order + "Q", entry[32:40])
                else:
                    offset, = struct.unpack(order + "I", entry[4:8])
                    size, = struct.unpack(order + "I", entry[16:20])
                f.seek(offset)
                return f.read(min(size, 4096)).split(b"\0")[0].decode() or None
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    return None


def _loader_trace(path):
    """Libraries the dynamic loader would load for ``path`` (glibc's
    ``LD_TRACE_LOADED_OBJECTS``, what ``ldd`` prints), as paths."""
    try:
        proc = subprocess.run([path], capture_output=True, text=True, timeout=30,
                              env={"LD_TRACE_LOADED_OBJECTS": "1"}, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if "=>" in line:
            line = line.split("=>", 1)[1].strip()
        candidate = line.split(" (")[0].strip()
        if candidate.startswith("/") and os.path.exists(candidate):
            found.append(candidate)
    return found


def describe():
    """What the sandbox sees, for the README and the run summary."""
    return current().describe()
