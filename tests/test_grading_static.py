"""Static analysis of solution cells: use of the reference, and loops."""
import pytest

from course_lib.grading.static import analyze, clean_source

A3_ALLOWED = ("course_lib.data", "course_lib.gradcheck",
              "course_lib.conv:conv_forward_fast,conv_backward_fast")


def _analysis(*sources, allowed=("course_lib.data", "course_lib.gradcheck")):
    return analyze([{"grade_id": f"c{i}", "source": s} for i, s in enumerate(sources)], allowed)


@pytest.mark.parametrize("source", [
    "from course_lib.classifiers import svm_loss_naive as f\ndef g(W):\n    return f(W)\n",
    "import course_lib.layers as L\ndef g(W):\n    return L.affine_forward(W)\n",
    "from course_lib import losses\ndef g(W):\n    return losses.softmax_loss(W)\n",
    "import course_lib\ndef g(W):\n    return course_lib.classifiers.svm_loss_naive(W)\n",
    "import importlib\ndef g(W):\n    return importlib.import_module('course_lib.layers')\n",
    "def g(W):\n    exec(open('/work/course_lib/losses.py').read())\n",
    "import course_lib\ndef g(W):\n    return course_lib.__file__\n",
])
def test_reference_use_taints_the_function(source):
    """Is each way of reaching the reference found and blamed on g?"""
    analysis = _analysis(source)
    assert analysis.taint("g") is not None


def test_allowed_modules_do_not_taint():
    """Do course_lib.data and course_lib.gradcheck stay allowed?"""
    analysis = _analysis("import course_lib\nfrom course_lib.gradcheck import rel_error\n"
                         "from course_lib.data import load_cifar10\n"
                         "def g(X):\n    return course_lib.data.make_xor(), rel_error(X, X)\n")
    assert analysis.taint("g") is None


def test_taint_follows_calls_but_spares_other_functions():
    """Is a function tainted through a helper it calls, while unrelated functions stay clean?"""
    analysis = _analysis("from course_lib.layers import relu_forward\n"
                         "def helper(x):\n    return relu_forward(x)\n",
                         "def g(x):\n    return helper(x)\n\ndef clean(x):\n    return x\n")
    violation = analysis.taint("g")
    assert violation is not None and "course_lib.layers" in str(violation)
    assert analysis.taint("clean") is None


def test_top_level_use_without_a_name_taints_everything():
    """Does a top-level statement that binds nothing (e.g. globals().update) taint all items?"""
    analysis = _analysis("import importlib\n"
                         "globals().update(vars(importlib.import_module('course_lib.classifiers')))\n"
                         "def clean(x):\n    return x\n")
    assert analysis.taint("clean") is not None


def test_partially_allowed_module():
    """With A3's allowance, are the fast layers usable but the naive ones not?"""
    ok = _analysis("from course_lib.conv import conv_forward_fast\n"
                   "def g(x, w, b):\n    return conv_forward_fast(x, w, b)\n", allowed=A3_ALLOWED)
    assert ok.taint("g") is None
    bad = _analysis("import course_lib.conv as conv\n"
                    "def g(x, w, b):\n    return conv.conv_forward_naive(x, w, b)\n",
                    allowed=A3_ALLOWED)
    assert bad.taint("g") is not None


def test_loops_are_found_through_helpers():
    """Are for loops, comprehensions and np.vectorize found, also in called helpers?"""
    analysis = _analysis("def helper(X):\n    return [x for x in X]\n",
                         "def g(X):\n    return helper(X)\n",
                         "def h(X):\n    while X:\n        X = X[1:]\n",
                         "import numpy as np\ndef v(X):\n    return np.vectorize(abs)(X)\n",
                         "def flat(X):\n    return X @ X.T\n")
    assert "comprehension" in analysis.loops("g")[0][2]
    assert analysis.loops("h")[0][2] == "a while loop"
    assert "vectorize" in analysis.loops("v")[0][2]
    assert analysis.loops("flat") == []


def test_magics_become_pass_and_syntax_errors_are_reported():
    """Do IPython magics parse, and is a syntax error reported per cell?"""
    source = clean_source("%time x = 1\ndef g():\n    !ls\n    return 1\n")
    assert "def g" in source and "%" not in source.split("#")[0]
    analysis = _analysis(source, "def broken(:\n")
    assert analysis.defined("g")
    assert "SyntaxError" in analysis.syntax_errors["c1"]


def test_parsing_in_several_threads_never_raises_systemerror():
    """Is our parse safe while grading threads parse at once and the garbage
    collector runs finalizers (CPython 3.11 raises 'AST constructor recursion
    depth mismatch' for bare ast.parse here)?"""
    import gc
    import threading

    from course_lib.grading.static import parse

    source = open(__file__).read()
    errors = []

    class Finalized:
        def __del__(self):
            [type(self).__name__ for _ in range(10)]

    def work():
        try:
            for _ in range(150):
                junk = [Finalized() for _ in range(50)]
                for item in junk:
                    item.cycle = item  # freed by the collector, mid-parse
                del junk
                parse(source)
        except SystemError as exc:
            errors.append(exc)

    thresholds = gc.get_threshold()
    gc.set_threshold(50, 2, 2)
    try:
        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.set_threshold(*thresholds)
    assert not errors, errors[0]
