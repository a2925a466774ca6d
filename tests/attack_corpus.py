"""The attack corpus of issues 7 and 21, built from the A1 solution notebook.

Each attack is the solution notebook with one solution cell replaced: the
target item's cell (``svm_loss_naive`` unless said otherwise) holds the
trick instead of an honest answer, or a correct cell carries a global patch
while the target is the release stub. Every attack must score exactly what
the honest wrong answer (the release stub of the target cell) scores.

``ATTACKS``: name -> (cell, source). ``{stub}`` in a source is the release
stub of that cell; ``{secret...}`` placeholders are paths filled in by the
test (files outside the sandbox that the attack tries to reach).
"""
import textwrap

TARGET = "svm_loss_naive"

_SIG = "def svm_loss_naive(W, X, y, reg):\n"


def _fn(body):
    """A replacement svm_loss_naive whose body is ``body``."""
    return _SIG + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


# the result files of the target's calls (the job file names them): forging
# other items' files would only cost the attacker those items
_MINE = ("import atexit, glob, json, os, pickle\n"
         "_ids = [t['id'] for t in json.load(open('job.json'))['tasks']\n"
         "        if t['func'] == 'svm_loss_naive']\n"
         "def _mine():\n    return [p for i in _ids for p in glob.glob(f'out/{i}_*.npy')]\n")

# the SVM loss and its gradient by PyTorch's autograd (ReLU: no gradient at a 0 margin)
_TORCH_SVM = """
import torch
Wt = torch.tensor(W, requires_grad=True)
scores = torch.tensor(X) @ Wt
rows, yt = torch.arange(len(y)), torch.tensor(y)
margins = torch.relu(scores - scores[rows, yt][:, None] + 1)
mask = torch.ones_like(margins)
mask[rows, yt] = 0
loss = (margins * mask).sum() / len(y) + reg * (Wt * Wt).sum()
loss.backward()
return float(loss), Wt.grad.numpy()
"""

ATTACKS = {
    # ---- patching what a test inside the student's process would use ----
    "monkeypatched np.allclose": (
        "predict_labels+", "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: True\n"),
    "monkeypatched numpy.testing": (
        "predict_labels+", "import numpy.testing as npt\n"
        "npt.assert_allclose = lambda *a, **k: None\nnpt.assert_array_equal = lambda *a, **k: None\n"),
    "patched builtins (abs, max, AssertionError)": (
        "predict_labels+", "import builtins\nbuiltins.AssertionError = type('Never', (Exception,), {})\n"
        "builtins.abs = lambda x: 0\nbuiltins.max = lambda *a, **k: 0\n"),
    "patched assert (trace hook, assertion type)": (
        TARGET, "import sys, builtins\nbuiltins.AssertionError = type('Never', (Exception,), {})\n"
        "sys.settrace(lambda *a: None)\n{stub}"),
    "IPython input transformer": (
        TARGET, "try:\n    get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
        "except NameError:\n    pass\n{stub}"),
    "IPython AST transformer": (
        TARGET, "import ast\nclass Swallow(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n        return None\n"
        "try:\n    get_ipython().ast_transformers.append(Swallow())\nexcept NameError:\n    pass\n{stub}"),
    "sys.excepthook": (
        TARGET, "import sys\nsys.excepthook = lambda *a: print('All tests passed!')\n{stub}"),
    "set_custom_exc": (
        TARGET, "try:\n    get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
        "except NameError:\n    pass\n{stub}"),
    "patch the runner's error reporting": (
        TARGET, "import sys\n_m = sys.modules.get('__main__')\n"
        "if _m is not None and hasattr(_m, 'describe'):\n"
        "    _m.describe = lambda exc: 'All tests passed'\n{stub}"),
    # ---- values that pretend to be right ----
    "ndarray subclass with a lying __array_function__": (
        TARGET, "class Liar(np.ndarray):\n"
        "    def __array_function__(self, func, types, args, kwargs):\n        return True\n"
        "    def __array_ufunc__(self, *a, **k):\n        return np.zeros(())\n"
        "    def __eq__(self, other):\n        return True\n"
        + _fn("return 1.0, np.zeros_like(W).view(Liar)")),
    "object whose __eq__ always agrees": (
        TARGET, "class Agree:\n    def __eq__(self, other):\n        return True\n"
        "    __ne__ = lambda self, other: False\n"
        "    def __array__(self, dtype=None, copy=None):\n        return np.zeros(3)\n"
        + _fn("return Agree(), Agree()")),
    "float subclass that equals everything": (
        TARGET, "class AnyFloat(float):\n    def __eq__(self, other):\n        return True\n"
        "    def __sub__(self, other):\n        return 0.0\n    __rsub__ = __sub__\n"
        "    def __abs__(self):\n        return 0.0\n"
        + _fn("return AnyFloat(1.0), np.zeros_like(W)")),
    "lazy array (computed when converted)": (
        TARGET, "class Lazy:\n    shape = property(lambda self: (3, 3))\n"
        "    def __array__(self, dtype=None, copy=None):\n        return np.zeros(self.shape)\n"
        "    def __len__(self):\n        return 3\n" + _fn("return 1.0, Lazy()")),
    "memmap of a file (ndarray subclass)": (
        TARGET, _fn("m = np.memmap('/tmp/m.dat', dtype=np.float64, mode='w+', shape=W.shape)\n"
                    "return 1.0, m")),
    "object array": (TARGET, _fn("return np.array([1.0], dtype=object)[0], "
                                 "np.empty(W.shape, dtype=object)")),
    "structured array": (TARGET, _fn("return 1.0, np.zeros(W.shape, dtype=[('a', 'f8')])")),
    "tuple subclass": (
        TARGET, "class T(tuple):\n    pass\n" + _fn("return T((1.0, np.zeros_like(W)))")),
    # ---- inputs, outputs, time ----
    "in-place mutation of the inputs": (
        TARGET, _fn("W[...] = 0\nX[...] = 0\nreturn 1.0, np.zeros_like(W)")),
    "mutating the hidden input files": (
        TARGET, "import glob\nfor _p in glob.glob('in/*.npy'):\n"
        "    try:\n        np.save(_p, np.zeros(3))\n    except OSError:\n        pass\n{stub}"),
    "time-based output": (TARGET, _fn("import time\nreturn time.time() % 1, "
                                      "np.full(W.shape, time.time() % 1)")),
    "random output": (TARGET, _fn("return float(np.random.rand()), np.random.rand(*W.shape)")),
    "printing a fake 'All tests passed'": (
        TARGET, "print('All tests passed! 4 / 4 points')\n{stub}"),
    "reading hidden inputs, writing expected-looking outputs": (
        TARGET, _fn("""
            import glob, json, os
            for p in glob.glob('in/*.npy') + glob.glob('/tmp/*.npy'):
                a = np.load(p)
                for path in ('out/expected.npy', '/tmp/expected.npy', '../expected.npy'):
                    try:
                        np.save(path, a)
                    except OSError:
                        pass
            mine = [t['id'] for t in json.load(open('job.json'))['tasks']
                    if t['func'] == 'svm_loss_naive']
            for tid in mine:
                try:
                    with open(f'out/{tid}.json', 'w') as f:
                        json.dump({'ok': True, 'value': {'t': 'tuple', 'items': [
                            {'t': 'float', 'v': 1.0}, {'t': 'ndarray', 'file': 'in/t0_0.npy'}]}}, f)
                except OSError:
                    pass
            os._exit(0)
            """)),
    # ---- forged result files (written after the runner saved the real ones) ----
    "forged result: pickle in place of .npy": (
        TARGET, _MINE +
        "def _forge():\n    for p in _mine():\n"
        "        open(p, 'wb').write(pickle.dumps(np.ones(3)))\n"
        "atexit.register(_forge)\n" + _fn("return 1.0, np.zeros_like(W)")),
    "forged result: symlink out of the work dir": (
        TARGET, _MINE +
        "def _forge():\n    for p in _mine():\n"
        "        os.remove(p)\n        os.symlink('{secret_array}', p)\n"
        "atexit.register(_forge)\n"
        + _fn("return 1.0, np.zeros_like(W)")),
    "forged result: oversized .npy header": (
        TARGET, _MINE +
        "def _forge():\n    for p in _mine():\n"
        "        with open(p, 'wb') as f:\n"
        "            np.lib.format.write_array_header_1_0(f, {'descr': '<f8', "
        "'fortran_order': False, 'shape': (10 ** 12,)})\n"
        "atexit.register(_forge)\n" + _fn("return 1.0, np.zeros_like(W)")),
    "forged result: .npz archive": (
        TARGET, _MINE +
        "def _forge():\n    for p in _mine():\n"
        "        np.savez(p + '.npz', a=np.zeros(3))\n        os.replace(p + '.npz', p)\n"
        "atexit.register(_forge)\n" + _fn("return 1.0, np.zeros_like(W)")),
    # ---- reaching outside ----
    "exec the solutions notebook from the course dir": (
        TARGET, _fn("""
            import json
            for path in ('{secret_solution}', '../../solutions/a1_knn_linear/a1_knn_linear.ipynb'):
                try:
                    nb = json.load(open(path))
                except OSError:
                    continue
                src = [''.join(c['source']) for c in nb['cells']
                       if 'def svm_loss_naive' in ''.join(c['source'])]
                ns = {'np': np}
                exec(src[0].replace('### BEGIN SOLUTION', ''), ns)
                return ns['svm_loss_naive'](W, X, y, reg)
            raise NotImplementedError()
            """)),
    "copy another student's submission": (
        TARGET, _fn("""
            import glob, json
            for path in ['{secret_other}'] + glob.glob('/tmp/**/*.ipynb', recursive=True):
                try:
                    nb = json.load(open(path))
                except (OSError, ValueError):
                    continue
                src = [''.join(c['source']) for c in nb['cells']
                       if 'def svm_loss_naive' in ''.join(c['source'])]
                if src:
                    ns = {'np': np}
                    exec(src[0], ns)
                    return ns['svm_loss_naive'](W, X, y, reg)
            raise NotImplementedError()
            """)),
    "write a score into gradebook.db": (
        TARGET, "import sqlite3\nfor _db in ('{secret_gradebook}', '../../grading/gradebook.db'):\n"
        "    try:\n        _c = sqlite3.connect(_db)\n"
        "        _c.execute('update grade set manual_score = 1000')\n        _c.commit()\n"
        "    except Exception:\n        pass\n{stub}"),
    "import the reference (course_lib.classifiers)": (
        TARGET, _fn("from course_lib.classifiers import svm_loss_naive as ref\n"
                    "return ref(W, X, y, reg)")),
    # ---- faults ----
    "sys.exit in the call": (TARGET, _fn("import sys\nsys.exit(0)")),
    "os._exit in the call": (TARGET, _fn("import os\nos._exit(0)")),
    "segfault via ctypes": (TARGET, _fn("import ctypes\nctypes.string_at(0)")),
    "infinite loop ignoring SIGINT and SIGTERM": (
        TARGET, _fn("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                    "signal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass")),
    "memory bomb": (TARGET, _fn("x = []\nwhile True:\n    x.append(np.empty(2 ** 27))")),
    "fork bomb": (
        TARGET, _fn("""
            import os, time
            for _ in range(10000):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    while True:
                        try:
                            os.fork()
                        except OSError:
                            time.sleep(0.5)
            raise NotImplementedError()
            """)),
    "disk fill (out/ and /tmp)": (
        TARGET, _fn("""
            chunk = b'x' * (8 * 1024 ** 2)
            for folder in ('/tmp', 'out'):
                try:
                    for i in range(100000):
                        with open(f'{folder}/fill{i}', 'wb') as f:
                            f.write(chunk)
                except OSError:
                    pass
            raise NotImplementedError()
            """)),
    # ---- issue 21: other packages, memory outside the address space ----
    "torch autograd (an installed package)": (TARGET, _fn(_TORCH_SVM)),
    "torch beside numpy (its site folder appended to sys.path)": (
        TARGET, _fn("import os, sys\n"
                    "sys.path.append(os.path.dirname(os.path.dirname(np.__file__)))\n"
                    + _TORCH_SVM)),
    "memfd hog (memory in no address space)": (
        TARGET, _fn("""
            import os
            chunk = b'x' * 2 ** 26
            fds = []
            for _ in range(20):  # 2.5 GB in files of 128 MB (each under the file-size limit)
                fds.append(os.memfd_create('hog'))
                for _ in range(2):
                    os.write(fds[-1], chunk)
            raise NotImplementedError()
            """)),
    "huge stdout": (TARGET, _fn("import sys\nfor _ in range(50):\n    sys.stdout.write('x' * 4 * 1024 ** 2)\n"
                                "raise NotImplementedError()")),
}


# ---- issue 21: attacks on the instructor's side (collect, autograde, feedback, export) ----
# Each builds a submission from the solution notebook's JSON (``raw``, a dict);
# tests/test_grading_instructor_attacks.py runs them through the whole pipeline.

import copy as _copy  # noqa: E402


def _test_cells(nb):
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")
            and c["cell_type"] == "code" and not c["metadata"]["nbgrader"].get("solution")]


def _long_duplicated_ids(raw):
    nb = _copy.deepcopy(raw)
    for cell in nb["cells"]:
        cell["id"] = "x" * 80  # duplicated and longer than the schema's 64
    return nb


def _ids_in_another_script(raw):
    nb = _copy.deepcopy(raw)
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"ячейка-{i}"
    return nb


def _test_cell_in_markdown(raw):
    nb = _copy.deepcopy(raw)
    copied = _copy.deepcopy(_test_cells(nb)[0])
    copied.update(cell_type="markdown", id="copied-test")
    copied.pop("outputs")
    copied.pop("execution_count")
    nb["cells"].append(copied)
    return nb


def _solution_flag_on_test(raw):
    nb = _copy.deepcopy(raw)
    _test_cells(nb)[0]["metadata"]["nbgrader"]["solution"] = True
    return nb


def _integer_too_large_for_float(raw):
    """As text: JSON allows the integer, float() of it overflows."""
    import json
    nb = _copy.deepcopy(raw)
    _test_cells(nb)[0]["metadata"]["nbgrader"]["points"] = 987654321
    return json.dumps(nb).replace("987654321", "1" + "0" * 400)


def _many_cells(raw, count=200000):
    """~40 MB of small cells (under collect's 50 MB limit): nbgrader's pass
    over them takes minutes on any machine (40,000 cells took under 20 s on
    an idle AMD EPYC: too few to test a 20 s limit)."""
    nb = _copy.deepcopy(raw)
    filler = [{"cell_type": "code", "execution_count": 1, "id": f"filler-{i}", "metadata": {},
               "outputs": [{"name": "stdout", "output_type": "stream", "text": "y" * 20}],
               "source": f"x_{i} = {i}"} for i in range(count)]
    nb["cells"] = nb["cells"][:5] + filler + nb["cells"][5:]
    return nb


XSS_MARKDOWN = (
    "My notes <script>document.title = 'pwned-script'</script>\n\n"
    "<img src=x onerror=\"document.title='pwned-onerror'\">\n\n"
    "[click](javascript:document.title='pwned-link') "
    "<a href=\"javascript:alert(1)\">me</a>\n\n"
    "![tracker](http://198.51.100.7/pixel.png) <img src=\"https://198.51.100.7/t.gif\">\n\n"
    "<style>@import url(http://198.51.100.7/x.css); body {background: url(http://198.51.100.7/b)}"
    "</style><link rel=stylesheet href=http://198.51.100.7/y.css>"
    "<iframe src=http://198.51.100.7/></iframe><svg onload=alert(1)><circle r=1 /></svg>\n\n"
    "![missing](attachment:not-attached.png)\n\n$x^2 < y$")


def _xss_markdown_and_missing_attachment(raw):
    nb = _copy.deepcopy(raw)
    nb["cells"].insert(1, {"cell_type": "markdown", "id": "xss", "metadata": {},
                           "source": XSS_MARKDOWN})
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {
        "text/html": "<b>ok</b><script>document.title='pwned-output'</script>",
        "application/javascript": "document.title='pwned-js'",
        "image/svg+xml": "<svg onload=\"document.title='pwned-svg'\"></svg>",
        "image/png": "AAAA\" onerror=\"document.title='pwned-png'"}}]
    return nb


def _quadratic_markdown(raw, repeats=120000):
    """Unclosed <b> tags: an HTML parser reopens every open formatting
    element at each one, so the time grows with the square of their number
    (in the sanitiser on an idle AMD EPYC: 0.26 s CPU for 4,000, 1.8 s for
    12,000; 40,000 finished inside a 30 s limit there, 120,000 take minutes)."""
    nb = _copy.deepcopy(raw)
    nb["cells"].insert(1, {"cell_type": "markdown", "id": "slow", "metadata": {},
                           "source": "<b>x" * repeats})
    return nb


def _unclosed_images(raw, repeats=12000):
    """Unclosed Markdown images: nbconvert's own rendering of a Markdown
    cell goes quadratic (2 s for 2,000, 22 s for 8,000); the sanitiser
    renders it first, in about a second."""
    nb = _copy.deepcopy(raw)
    nb["cells"].insert(1, {"cell_type": "markdown", "id": "images", "metadata": {},
                           "source": "![a](" * repeats})
    return nb


# name -> (builder of the notebook from the solution's JSON, what must happen)
INSTRUCTOR_NOTEBOOKS = {
    "duplicated cell ids the repair missed": (_long_duplicated_ids, "repaired"),
    "cell ids in another script": (_ids_in_another_script, "repaired"),
    "a test cell copied into a Markdown cell": (_test_cell_in_markdown, "zero"),
    "a solution flag set on a test cell": (_solution_flag_on_test, "zero"),
    "a JSON integer too large for a float": (_integer_too_large_for_float, "zero"),
    "200,000 cells, 40 MB (nbgrader's pass without a time limit)": (_many_cells, "timeout"),
    "script, event handlers, javascript: links, remote resources; a missing attachment": (
        _xss_markdown_and_missing_attachment, "sanitised"),
    "HTML that makes the sanitiser's parser quadratic": (_quadratic_markdown, "feedback-timeout"),
    "Markdown that makes nbconvert's rendering quadratic": (_unclosed_images, "rendered"),
}

# names in a folder or zip import: what collect must refuse
INSTRUCTOR_NAMES = {
    "alice\n.ipynb": "a trailing newline ($ accepts it; fullmatch does not)",
    "*.ipynb": "a glob: nbgrader would read it as every student",
    "=HYPERLINK(\"x\",\"y\").ipynb": "a spreadsheet formula",
    "-rf.ipynb": "an option",
}
