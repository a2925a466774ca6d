"""The ``course_lib`` that students get: what the assignments allow, no answers.

A JupyterHub installs this wheel in the students' environment instead of the
full reference (``course_lib`` there would let a kernel print the reference's
source, or call ``grade_item`` to read hidden feedback). It is cut from
``course_lib`` by :mod:`.subset`, so no file holds a function that was not
asked for::

    python -m course_lib.grading.student_package --out dist/
    # dist/course_student-0.1.0-py3-none-any.whl

What it holds (:data:`STUDENT_MODULES`): every assignment's ``allowed_modules``
(data loaders, gradient checking, A3's fast convolution and pooling without
the naive layers), the helpers the released notebooks' visible tests use
(``course_lib.grading.visible``), plotting and the interactive explorers
(``course_lib.vis``, ``course_lib.widgets``, and the confusion matrix
``vis`` draws), and the student side of the instant check
(``course_lib.checkclient``: the ``course-check`` command, a Jupyter server
extension and the JupyterLab button). ``course_lib.grading`` itself is a
stand-in whose ``grade_item`` refuses to run. Which book chapters run with
it is in ``deploy/README.md``.

The wheel is written with :mod:`zipfile` (a wheel is a zip with a
``.dist-info`` folder), so building it needs nothing from a package index.
"""
import argparse
import base64
import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from .subset import module_names, subset_plan, write_subset

__all__ = ["STUDENT_MODULES", "FORBIDDEN", "student_plan", "write_student_tree",
           "build_wheel", "DIST_NAME"]

DIST_NAME = "course_student"

#: besides every assignment's allowed_modules
STUDENT_MODULES = ("course_lib.grading.visible", "course_lib.vis", "course_lib.widgets",
                   "course_lib.diagnostics:confusion_matrix", "course_lib.checkclient")

#: functions students write in some assignment; a kept function needing one is an error
FORBIDDEN = ("course_lib.conv:conv_forward_naive", "course_lib.conv:conv_backward_naive",
             "course_lib.pooling:max_pool_forward_naive",
             "course_lib.pooling:max_pool_backward_naive")

GRADING_STUB = '''"""Grading runs on the course's server, not in your kernel.

This is the students' ``course_lib``: the hidden tests, the grading specs and
the reference implementations are not installed here. To see a predicted
score and feedback, use "Check my notebook" in JupyterLab (the toolbar button
or the command palette), or run ``course-check NOTEBOOK.ipynb`` in a terminal.
"""

__all__ = ["grade_item"]


def grade_item(name):
    """Refuse: hidden tests are graded on the course's server."""
    raise RuntimeError(
        f"grade_item({name!r}) cannot run in the students' environment: hidden tests "
        "are graded on the course's server. Use 'Check my notebook' (JupyterLab "
        "toolbar) or run 'course-check NOTEBOOK.ipynb' in a terminal for a predicted "
        "score and feedback.")
'''

INIT = '''"""The students' part of the course library *Neural networks for image
classification, from first principles in numpy*.

You write the classifiers, layers and networks yourself in the assignments;
this package gives you what they build on:

- ``course_lib.data``         datasets: CIFAR-10, (Fashion-)MNIST, Iris, toy 2-D sets
- ``course_lib.gradcheck``    numerical gradients and relative errors
- ``course_lib.conv``, ``course_lib.pooling``  the fast layers A3 provides
- ``course_lib.vis``, ``course_lib.widgets``   plots and interactive explorers
- ``course_lib.grading.visible``  the helpers of the notebooks' visible tests
- ``course_lib.checkclient``  "Check my notebook" (``course-check NOTEBOOK.ipynb``)
"""

__version__ = "{version}"

# Freed arrays are kept for reuse instead of being page-faulted back at every
# training step (glibc only; COURSE_LIB_MALLOC=system opts out).
from course_lib import _memory

_memory.keep_freed_memory()
'''

SERVER_EXTENSION_CONFIG = '{"ServerApp": {"jpserver_extensions": {"course_lib.checkclient": true}}}\n'


def _allowed_entries():
    """Every assignment's ``allowed_modules`` and every import group's (a
    group grades some items in a sandbox of its own, see
    ``Assignment.import_groups()``; its modules are the notebook's too)."""
    from .registry import assignment_ids, get_assignment
    entries = []
    for assignment_id in assignment_ids():
        assignment = get_assignment(assignment_id)
        groups = [group.allowed_modules for group, _ in assignment.import_groups()]
        for entry in [e for allowed in (assignment.allowed_modules, *groups) for e in allowed]:
            if entry not in entries:
                entries.append(entry)
    return entries + [e for e in STUDENT_MODULES if e not in entries]


def student_plan():
    """``{module: None | names}`` of the student package (see :mod:`.subset`)."""
    return subset_plan(_allowed_entries(), forbidden=FORBIDDEN)


def write_student_tree(dest):
    """Write ``dest/course_lib`` (the student package); return its folder."""
    import course_lib
    package = write_subset(dest, student_plan(), stubs={"course_lib.grading": GRADING_STUB})
    (package / "__init__.py").write_text(INIT.format(version=course_lib.__version__),
                                         encoding="utf-8")
    return package


def _labextension_files():
    """``{path in share/jupyter: file}`` of the JupyterLab button."""
    root = Path(__file__).resolve().parent.parent / "checkclient" / "labextension"
    return {f"labextensions/course-check/{p.relative_to(root).as_posix()}": p
            for p in sorted(root.rglob("*")) if p.is_file()}


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out_dir):
    """Build the student wheel into ``out_dir``; return its path.

    Written to a temporary name and renamed at the end, so an interrupted
    build never leaves a wheel that looks complete.
    """
    import course_lib
    version = course_lib.__version__
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{DIST_NAME}-{version}-py3-none-any.whl"
    dist_info = f"{DIST_NAME}-{version}.dist-info"
    data_dir = f"{DIST_NAME}-{version}.data/data"
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        package = write_student_tree(tmp)
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(tmp).as_posix()] = path.read_bytes()
    for rel, path in _labextension_files().items():
        files[f"{data_dir}/share/jupyter/{rel}"] = path.read_bytes()
    files[f"{data_dir}/etc/jupyter/jupyter_server_config.d/course_lib.checkclient.json"] = (
        SERVER_EXTENSION_CONFIG.encode())
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {DIST_NAME}\nVersion: {version}\n"
        "Summary: The students' part of course_lib (no reference implementations, "
        "no grading specs)\nRequires-Python: >=3.10\nRequires-Dist: numpy>=1.24\n"
        "Requires-Dist: tqdm>=4.60\n").encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: course_lib.grading."
                                   b"student_package\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{dist_info}/entry_points.txt"] = (
        b"[console_scripts]\ncourse-check = course_lib.checkclient.__main__:main\n")
    files[f"{dist_info}/top_level.txt"] = b"course_lib\n"
    record = f"{dist_info}/RECORD"
    lines = [_record_line(name, data) for name, data in files.items()] + [f"{record},,"]
    files[record] = ("\n".join(lines) + "\n").encode()
    partial = wheel.with_name(wheel.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    os.replace(partial, wheel)
    return wheel


def contents(wheel):
    """Sorted file names of a wheel (for reports and tests)."""
    with zipfile.ZipFile(wheel) as zf:
        return sorted(zf.namelist())


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.grading.student_package",
        description="Build the students' course_lib wheel (no reference, no grading specs).")
    parser.add_argument("--out", default="dist", help="folder for the wheel (default: dist)")
    parser.add_argument("--list", action="store_true", help="print what the wheel holds")
    args = parser.parse_args(argv)
    wheel = build_wheel(args.out)
    print(f"wrote {wheel}")
    for module, names in module_names(student_plan()).items():
        print(f"  {module}: {', '.join(names)}")
    if args.list:
        for name in contents(wheel):
            print("   ", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
