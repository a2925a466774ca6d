"""course_lib.grading.subset: packages cut from course_lib keep what was asked
for (and what it needs), work like the real modules, and contain no other
function's source."""
import subprocess
import sys

import numpy as np
import pytest

from course_lib.grading.subset import SubsetError, module_names, subset_plan, write_subset

FAST = ["course_lib.conv:conv_forward_fast,conv_backward_fast",
        "course_lib.pooling:max_pool_forward_fast,max_pool_backward_fast"]
NAIVE = ["course_lib.conv:conv_forward_naive", "course_lib.conv:conv_backward_naive",
         "course_lib.pooling:max_pool_forward_naive", "course_lib.pooling:max_pool_backward_naive"]


def _run(site, code):
    """Run ``code`` with only ``site`` (and the standard library, numpy) importable."""
    import os
    numpy_site = os.path.dirname(os.path.dirname(np.__file__))
    prelude = f"import sys\nsys.path[:0] = [{str(site)!r}, {numpy_site!r}]\n"
    run = subprocess.run([sys.executable, "-I", "-S", "-c", prelude + code],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_fast_layers_without_the_naive_ones(tmp_path):
    """Does a subset with A3's fast layers keep them and their helpers, work
    like the real ones, and hold no line of the naive layers?"""
    plan = subset_plan(["course_lib.data"] + FAST, forbidden=NAIVE)
    names = module_names(plan)
    assert names["course_lib.data"] == ["*"]
    assert {"conv_forward_fast", "conv_backward_fast", "conv_output_size"} <= set(
        names["course_lib.conv"])
    assert not set(names["course_lib.conv"]) & {"conv_forward_naive", "conv_backward_naive"}
    package = write_subset(tmp_path, plan)
    text = "".join(p.read_text() for p in package.rglob("*.py"))
    for name in ("conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
                 "max_pool_backward_naive", "avg_pool_forward", "softmax_loss"):
        assert f"def {name}" not in text
    assert not (package / "layers.py").exists() and not (package / "classifiers").exists()
    code = ("import numpy as np\n"
            "from course_lib.conv import conv_forward_fast, conv_backward_fast\n"
            "from course_lib.pooling import max_pool_forward_fast, max_pool_backward_fast\n"
            "import course_lib.conv as c\nprint(hasattr(c, 'conv_forward_naive'))\n")
    out = _run(tmp_path, code + _LAYERS.format(out=tmp_path / "subset.npy"))
    assert out.strip() == "False"
    exec(compile("from course_lib.conv import conv_forward_fast, conv_backward_fast\n"
                 "from course_lib.pooling import max_pool_forward_fast, max_pool_backward_fast\n"
                 + _LAYERS.format(out=tmp_path / "real.npy"), "<real>", "exec"), {"np": np})
    got, real = np.load(tmp_path / "subset.npy"), np.load(tmp_path / "real.npy")
    assert got.shape == real.shape and np.allclose(got, real, rtol=1e-12, atol=1e-12)


_LAYERS = """
rng = np.random.default_rng(0)
x, w, b = rng.normal(size=(2, 3, 8, 8)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
out, cache = conv_forward_fast(x, w, b, stride=1, pad=1)
grads = conv_backward_fast(rng.normal(size=out.shape), cache)
pooled, pcache = max_pool_forward_fast(out)
dx = max_pool_backward_fast(rng.normal(size=pooled.shape), pcache)
np.save("{out}", np.concatenate([out.ravel(), pooled.ravel(), dx.ravel()]
                                + [g.ravel() for g in grads]))
"""


def test_a_needed_forbidden_name_is_an_error():
    """If an allowed function needs a forbidden one, is that refused with both names?"""
    with pytest.raises(SubsetError, match="conv_output_size"):
        subset_plan(FAST, forbidden=["course_lib.conv:conv_output_size"])


@pytest.mark.parametrize("entry, message", [
    ("course_lib.conv:no_such_function", "no top-level name 'no_such_function'"),
    ("course_lib.nothing", "no such module"),
    ("numpy", "not a module of course_lib")])
def test_unknown_entries_are_named(entry, message):
    """Does an entry naming nothing say what it named?"""
    with pytest.raises(SubsetError, match=message):
        subset_plan([entry])


def test_stubs_replace_missing_modules_and_functions(tmp_path):
    """Are stub modules and stub functions written where asked, and nothing else?"""
    plan = subset_plan(["course_lib.gradcheck"])
    stubs = {"course_lib.layers": "raise ImportError('blocked: layers')\n",
             "course_lib.gradcheck": {"extra": "def extra():\n    raise RuntimeError('no')\n"}}
    package = write_subset(tmp_path, plan, stubs=stubs)
    assert (package / "layers.py").read_text().startswith("raise ImportError")
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "_memory.py",
                                                         "gradcheck.py", "layers.py"]
    assert "def extra" not in (package / "gradcheck.py").read_text()  # whole modules stay as they are
    out = _run(tmp_path, "try:\n    import course_lib.layers\nexcept ImportError as e:\n    print(e)\n")
    assert "blocked: layers" in out


def test_import_groups_of_the_assignments_name_real_items():
    """Does every import group of A1-A3 name items of its assignment, and
    is every item in exactly one group?"""
    from course_lib.grading.registry import get_assignment
    for alias in ("a1", "a2", "a3"):
        assignment = get_assignment(alias)
        items = {item.name for item in assignment.items}
        for group in assignment.groups:
            assert set(group.items) <= items, (alias, group.name)
        placed = [name for _, names in assignment.import_groups() for name in names]
        assert sorted(placed) == sorted(items), alias
