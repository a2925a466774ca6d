"""Each assignment as an nbgrader notebook: the source notebook agrees with its
grader and its builder, the release in assignments/ is up to date, the solution
passes `nbgrader validate`, and the release runs top to bottom.

The notebooks' data cells run on a small learnable stand-in for CIFAR-10.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import cli
from course_lib.grading.notebooks import item_names
from course_lib.grading.registry import get_assignment
from course_lib.grading.testing import read_notebook, write_learnable_cifar10

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# alias: (builder script, CIFAR-10 stand-in images per batch the notebook needs,
#         how many visible tests of the release say "[not done]" at the least)
ASSIGNMENTS = {"a1": ("build_a1.py", 1100, 11),
               "a2": ("build_a2.py", 1000, 14),
               "a3": ("build_a3.py", 500, 8)}
POINTS_BY_HAND = 6  # three written answers in each assignment


def _paths(alias):
    aid = get_assignment(alias).id
    return (aid, ROOT / "solutions" / aid / f"{aid}.ipynb",
            ROOT / "assignments" / aid / f"{aid}.ipynb")


@pytest.fixture(scope="module")
def cifar_dirs(tmp_path_factory):
    made = {}

    def get(per_batch):
        if per_batch not in made:
            made[per_batch] = write_learnable_cifar10(
                tmp_path_factory.mktemp(f"cifar{per_batch}"), num_per_batch=per_batch)
        return made[per_batch]
    return get


@pytest.fixture(params=list(ASSIGNMENTS))
def assignment(request, cifar_dirs, monkeypatch):
    """``(alias, env)`` with the environment a notebook run needs."""
    alias = request.param
    monkeypatch.setenv("COURSE_DATA_DIR", str(cifar_dirs(ASSIGNMENTS[alias][1])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for name in ("COURSE_GRADEBOOK_URL", "COURSE_EXCHANGE", "COURSE_GRADING_SEED"):
        monkeypatch.delenv(name, raising=False)
    return alias, dict(os.environ)


def _comparable(path):
    """Notebook JSON without fields that may differ between two generations."""
    nb = json.loads(Path(path).read_text())
    nb["metadata"].pop("language_info", None)
    return nb


@pytest.mark.parametrize("alias", list(ASSIGNMENTS))
def test_every_item_is_graded_once_with_matching_points(alias):
    """Does each hidden test cell name known items, with the points their checks
    add up to, is every item graded exactly once and defined in a solution cell,
    and are the written answers worth the points by hand?"""
    spec = get_assignment(alias)
    nb = read_notebook(_paths(alias)[1])
    seen = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            names = item_names(cell.source)
            assert names, f"test cell {meta['grade_id']} names no item"
            assert meta["points"] == sum(spec.item(n).points for n in names)
            seen += names
    assert sorted(seen) == sorted(item.name for item in spec.items)
    defined = "\n".join(c.source for c in nb.cells
                        if c.metadata.get("nbgrader", {}).get("solution"))
    for item in spec.items:
        assert f"def {item.func}(" in defined
    written = [c for c in nb.cells if c.cell_type == "markdown"
               and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(written) == 3
    assert sum(c.metadata["nbgrader"]["points"] for c in written) == POINTS_BY_HAND


@pytest.mark.parametrize("alias", list(ASSIGNMENTS))
def test_committed_source_matches_its_builder(alias):
    """Is the notebook in solutions/ exactly what its solutions/build_aN.py writes?"""
    script = ASSIGNMENTS[alias][0]
    loader = importlib.util.spec_from_file_location(script[:-3], ROOT / "solutions" / script)
    builder = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(builder)
    built = nbformat.v4.new_notebook(cells=builder.cells())
    committed = read_notebook(_paths(alias)[1])
    assert [c.source for c in built.cells] == [c.source for c in committed.cells]
    assert [c.get("metadata") for c in built.cells] == [c.get("metadata") for c in committed.cells]


# Another machine, emulated on this one: other OpenBLAS kernels, numpy's
# ufunc loops without AVX-512 (and without AVX2 in the second), two BLAS
# threads. Each changes the last bits of matrix products, exp and log.
OTHER_MACHINES = {
    "haswell-kernels-no-avx512": {
        "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "2",
        "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512VL AVX512BW AVX512DQ "
                                    "AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL X86_V4"},
    "sandybridge-kernels-no-avx2": {
        "OPENBLAS_CORETYPE": "Sandybridge", "OPENBLAS_NUM_THREADS": "1",
        "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512VL AVX512BW AVX512DQ "
                                    "AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL X86_V4 "
                                    "AVX2 FMA3 X86_V3"},
}
_DUMP_CELLS = """
import importlib.util, json, sys
loader = importlib.util.spec_from_file_location("builder", sys.argv[1])
builder = importlib.util.module_from_spec(loader)
loader.loader.exec_module(builder)
json.dump([[c.source, c.get("metadata")] for c in builder.cells()], sys.stdout)
"""


@pytest.mark.slow
@pytest.mark.parametrize("machine", list(OTHER_MACHINES))
@pytest.mark.parametrize("alias", list(ASSIGNMENTS))
def test_builder_writes_the_same_source_on_another_machine(alias, machine):
    """Does the builder, run where BLAS and numpy's SIMD loops round
    differently, still write the committed source byte for byte? (The
    expected values are rounded to 10 significant digits.)"""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
    env.update(OTHER_MACHINES[machine])
    run = subprocess.run([sys.executable, "-c", _DUMP_CELLS,
                          str(ROOT / "solutions" / ASSIGNMENTS[alias][0])],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    committed = read_notebook(_paths(alias)[1])
    built = json.loads(run.stdout)
    assert [source for source, _ in built] == [c.source for c in committed.cells]
    assert [meta for _, meta in built] == [c.get("metadata") for c in committed.cells]


@pytest.mark.slow
def test_assignments_folder_is_up_to_date(tmp_path, assignment):
    """Does regenerating the release from solutions/ reproduce assignments/ exactly?"""
    alias, _ = assignment
    aid, _, release = _paths(alias)
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / aid, course / "solutions" / aid)
    assert cli.main(["--course-dir", str(course), "generate", alias]) == 0
    generated = course / "assignments" / aid
    assert sorted(p.name for p in generated.iterdir()) == [f"{aid}.ipynb"]
    assert _comparable(generated / f"{aid}.ipynb") == _comparable(release), \
        "assignments/ is stale: run `make assignments`"
    text = release.read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "grade_item" not in text


@pytest.mark.slow
def test_nbgrader_validate_passes_on_the_solution(tmp_path, assignment):
    """Does `nbgrader validate` run the solution notebook (hidden tests included) and pass?"""
    alias, env = assignment
    aid, solution, _ = _paths(alias)
    nb_path = tmp_path / f"{aid}.ipynb"
    shutil.copy(solution, nb_path)
    proc = subprocess.run([str(BIN / "nbgrader"), "validate", str(nb_path),
                           "--Execute.timeout=1200", "--KernelManager.transport=ipc",
                           f"--KernelManager.ip={tmp_path / 'kernel-ipc'}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.slow
def test_release_runs_top_to_bottom_without_errors(tmp_path, assignment):
    """Does the released notebook run to the end, its visible tests saying 'not done'?"""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    alias, _ = assignment
    nb = read_notebook(_paths(alias)[2])
    # ipc transport (see PERF-NOTES); its socket paths must be absolute
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel-ipc"))
    NotebookClient(nb, km=km, timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors[:1]
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert text.count("[not done]") >= ASSIGNMENTS[alias][2]
