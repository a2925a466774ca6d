"""course_lib.grading.student_package: the students' wheel holds what the
assignments allow and nothing that answers an item."""
import inspect
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from course_lib.grading.registry import assignment_ids, get_assignment
from course_lib.grading.student_package import build_wheel, contents


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory):
    """The wheel unpacked as a site folder (what pip installs, minus the data files)."""
    dest = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)
    return dest


def _python(site, code):
    """Run ``code`` where ``course_lib`` can only come from ``site``
    (numpy, matplotlib and the rest of this environment stay importable)."""
    paths = [p for p in sys.path if p and os.path.isdir(p)
             and not os.path.isdir(os.path.join(p, "course_lib"))]
    prelude = ("import sys\nsys.path[:] = " + repr([str(site)] + paths) + "\n"
               "sys.meta_path[:] = [f for f in sys.meta_path "
               "if 'editable' not in type(f).__module__.lower() "
               "and 'editable' not in repr(f).lower()]\n")
    run = subprocess.run([sys.executable, "-I", "-c", prelude + code], capture_output=True,
                         text=True, timeout=180, cwd=site)
    return run


def _graded_names():
    """Every function a student writes (item funcs) and every reference
    function the grader compares with, over all assignments."""
    student, references = set(), []
    for assignment_id in assignment_ids():
        assignment = get_assignment(assignment_id)
        for item in assignment.items:
            student.add(item.func)
            if inspect.isfunction(item.reference):
                references.append(item.reference)
        references += [f for f in assignment.reference_for.values() if inspect.isfunction(f)]
    return student, references


def test_no_reference_and_no_grading_specs_in_the_wheel(wheel):
    """Does the wheel hold no grading spec, no engine, no reference module,
    and no definition of any function a student writes or the grader compares with?"""
    names = contents(wheel)
    files = [n for n in names if n.startswith("course_lib/")]
    for forbidden in ("course_lib/grading/specs/a1.py", "course_lib/grading/specs/a2.py",
                      "course_lib/grading/specs/a3.py", "course_lib/grading/engine.py",
                      "course_lib/grading/spec.py", "course_lib/grading/registry.py",
                      "course_lib/grading/runner.py", "course_lib/layers.py",
                      "course_lib/losses.py", "course_lib/optim.py", "course_lib/solver.py",
                      "course_lib/normalization.py", "course_lib/layer_utils.py"):
        assert forbidden not in names
    assert not any(n.startswith(("course_lib/classifiers/", "course_lib/models/"))
                   for n in names)
    with zipfile.ZipFile(wheel) as zf:
        text = "\n".join(zf.read(n).decode() for n in files if n.endswith(".py"))
    student, references = _graded_names()
    assert len(student) > 30 and len(references) > 10
    for name in sorted(student | {f.__name__ for f in references}):
        assert f"def {name}(" not in text, name
    for fn in references:
        body = inspect.getsource(fn).splitlines()[1:]
        lines = [l.strip() for l in body if len(l.strip()) > 40]
        assert not any(line in text for line in lines[:5]), fn.__qualname__


def test_the_wheel_has_what_the_notebooks_import(wheel, site):
    """Do the imports of the released notebooks and the visible tests work
    from the wheel alone, and the fast layers compute what course_lib's do?"""
    code = """
import numpy as np
from course_lib.data import CIFAR10_CLASSES, get_cifar10_data, load_cifar10
from course_lib.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array
from course_lib.grading.visible import check_close, check_shape, check_gradient
from course_lib.conv import conv_forward_fast, conv_backward_fast
from course_lib.pooling import max_pool_forward_fast, max_pool_backward_fast
from course_lib.vis import plot_confusion_matrix
from course_lib.widgets import explore
from course_lib.checkclient import check_notebook
import course_lib.conv as c
assert not hasattr(c, "conv_forward_naive")
rng = np.random.default_rng(0)
x, w, b = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
out, _ = conv_forward_fast(x, w, b, stride=1, pad=1)
np.save("conv.npy", out)
"""
    run = _python(site, code)
    assert run.returncode == 0, run.stderr
    from course_lib.conv import conv_forward_naive
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    expected, _ = conv_forward_naive(x, w, b, stride=1, pad=1)
    got = np.load(site / "conv.npy")
    assert np.max(np.abs(got - expected)) <= 1e-10 * np.max(np.abs(expected))


def test_every_import_group_is_in_the_wheel():
    """Is what each assignment's import groups may use (the stand-in package
    of each grading sandbox, course_lib.grading.shim) in the student package,
    so code that passes the check imports the same in the student's kernel?"""
    from course_lib.grading.student_package import student_plan
    from course_lib.grading.subset import parse_allowed
    plan = student_plan()
    for assignment_id in assignment_ids():
        assignment = get_assignment(assignment_id)
        for group, _ in assignment.import_groups():
            for module, names in parse_allowed(group.allowed_modules).items():
                assert module in plan, (assignment_id, group.name, module)
                if plan[module] is not None:
                    assert names is not None and names <= set(plan[module]), (
                        assignment_id, group.name, module)


@pytest.mark.parametrize("code, message", [
    ("from course_lib.grading import grade_item\ngrade_item('a1.svm_loss_naive')",
     "cannot run in the students' environment"),
    ("import course_lib.grading.engine", "No module named 'course_lib.grading.engine'"),
    ("import course_lib.grading.specs.a1", "No module named 'course_lib.grading.specs'"),
    ("from course_lib.classifiers.linear_loss import softmax_loss_vectorized",
     "No module named 'course_lib.classifiers'"),
    ("from course_lib.conv import conv_forward_naive", "cannot import name 'conv_forward_naive'"),
    ("import course_lib.layers", "No module named 'course_lib.layers'"),
])
def test_answers_cannot_be_reached(site, code, message):
    """Does grade_item refuse to run, and does importing the reference or
    the specs fail, naming what is missing?"""
    run = _python(site, code)
    assert run.returncode != 0
    assert message in run.stderr


def test_wheel_metadata_and_extension_files(wheel):
    """Does the wheel install the course-check command, the server
    extension's config and the JupyterLab extension?"""
    names = contents(wheel)
    data = "course_student-0.1.0.data/data/"
    assert data + "etc/jupyter/jupyter_server_config.d/course_lib.checkclient.json" in names
    assert data + "share/jupyter/labextensions/course-check/package.json" in names
    assert data + "share/jupyter/labextensions/course-check/static/remoteEntry.js" in names
    with zipfile.ZipFile(wheel) as zf:
        assert b"course-check = course_lib.checkclient.__main__:main" in zf.read(
            "course_student-0.1.0.dist-info/entry_points.txt")
        record = zf.read("course_student-0.1.0.dist-info/RECORD").decode().splitlines()
    assert len(record) == len(names)


def _chapter_imports(path):
    """``{module: set(names) | None}`` a book chapter's code cells import from course_lib."""
    import ast
    import re
    text = path.read_text(encoding="utf-8")
    found = {}
    for block in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S):
        code = "\n".join(l for l in block.splitlines()
                         if not l.lstrip().startswith(("%", "!", ":")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_lib"):
                if node.module == "course_lib":
                    for alias in node.names:
                        found.setdefault(f"course_lib.{alias.name}", None)
                else:
                    names = found.setdefault(node.module, set())
                    if names is not None:
                        names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("course_lib."):
                        found[alias.name] = None
    return found


def test_which_book_chapters_run_with_the_student_package():
    """Do exactly the chapters deploy/README.md names run on the student
    package (every course_lib import they make is in it), while the others
    import reference implementations (they demonstrate them: students read
    them in the built book, staff run them on the hub)?"""
    from pathlib import Path

    from course_lib.grading.student_package import student_plan
    plan = student_plan()
    book = Path(__file__).resolve().parent.parent / "book"
    readme = (book.parent / "deploy" / "README.md").read_text(encoding="utf-8")
    for edition in (book, book / "zh"):  # English and Chinese: the same code
        if not edition.is_dir():
            continue
        runs, missing = [], {}
        for chapter in sorted(edition.glob("*.md")):
            imports = _chapter_imports(chapter)
            absent = sorted(m for m, names in imports.items() if m not in plan or (
                plan[m] is not None and (names is None or not names <= set(plan[m]))))
            if absent:
                missing[chapter.stem] = absent
            elif imports:
                runs.append(chapter.stem)
        assert runs == ["intro"], (edition, runs)
        assert {"01_knn", "02_linear", "03_optimization", "04_backprop", "05_neural_networks",
                "06_data_and_init", "07_training", "08_mlp_mnist", "09_cnn"} <= set(missing)
        assert "course_lib.classifiers" in missing["01_knn"]
        for chapter in missing:
            assert chapter in readme, (edition, chapter)
