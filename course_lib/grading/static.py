"""What the grader learns from the source of the solution cells, without running them.

- Use of the reference: imports of ``course_lib`` modules the assignment
  does not allow, attribute access such as ``course_lib.layers`` or
  ``course_lib.__file__``, and strings that name those modules (for
  ``importlib`` or reading the files). A graded function is *tainted* when
  its definition contains such a use, refers to a name bound by one, or
  calls (directly or not) a student function that is tainted; a top-level
  use that binds no name taints every item.
- Python loops (``for``, ``while``, comprehensions, ``np.vectorize``, ...)
  inside a function and the student functions it calls, for the
  "no loops" checks.

IPython magics (``%time``, ``!ls``) are not Python: :func:`clean_source`
turns them into ``pass`` before parsing (the runner executes the cleaned
text too).
"""
import ast
import re
import threading
from dataclasses import dataclass, field

__all__ = ["clean_source", "analyze", "parse", "Analysis", "Violation"]

# CPython 3.11 keeps the AST converter's recursion depth in one global: two
# threads in ast.parse at once (a thread switch can happen when garbage
# collection runs a finalizer mid-conversion) raise "SystemError: AST
# constructor recursion depth mismatch" (CPython gh-106905). Grading threads
# parse concurrently, so every parse of ours goes through this lock.
_AST_LOCK = threading.Lock()


def parse(source):
    """``ast.parse`` serialized across threads (see ``_AST_LOCK``)."""
    with _AST_LOCK:
        return ast.parse(source)

_MAGIC = re.compile(r"^(\s*)[%!]")
_LOOP_CALLS = {"vectorize", "apply_along_axis", "map", "frompyfunc", "fromiter"}
_DUNDERS = {"__file__", "__path__", "__loader__", "__spec__", "__dict__"}


def clean_source(source):
    """The cell's text with IPython magic lines replaced by ``pass``; a
    cell magic (``%%time``) is dropped as a whole."""
    if source.lstrip().startswith("%%"):
        return "\n".join("# " + line for line in source.splitlines())
    return "\n".join(_MAGIC.sub(r"\1pass  # ", line) if _MAGIC.match(line) else line
                     for line in source.splitlines())


@dataclass
class Violation:
    cell: str
    line: int
    text: str

    def __str__(self):
        return f"{self.text} (cell '{self.cell}', line {self.line})"


@dataclass
class _Statement:
    cell: str
    node: ast.AST
    defines: set
    uses: set
    violations: list
    forbidden_binding: bool = False


@dataclass
class Analysis:
    """Result of :func:`analyze`."""
    syntax_errors: dict = field(default_factory=dict)
    statements: list = field(default_factory=list)
    global_violations: list = field(default_factory=list)

    def definitions(self, name):
        return [s for s in self.statements if name in s.defines]

    def defined(self, name):
        return bool(self.definitions(name))

    def taint(self, name, _seen=None):
        """The first :class:`Violation` behind ``name``, or None."""
        if self.global_violations:
            return self.global_violations[0]
        seen = set() if _seen is None else _seen
        if name in seen:
            return None
        seen.add(name)
        for stmt in self.definitions(name):
            if stmt.violations:
                return stmt.violations[0]
            for used in sorted(stmt.uses):
                if used != name and self.defined(used):
                    found = self.taint(used, seen)
                    if found is not None:
                        return found
        return None

    def loops(self, name, _seen=None):
        """``[(cell, line, what)]`` of the loops in ``name`` and in the
        student functions it calls."""
        seen = set() if _seen is None else _seen
        if name in seen:
            return []
        seen.add(name)
        found = []
        for stmt in self.definitions(name):
            found += [(stmt.cell, line, what) for line, what in _loops_in(stmt.node)]
            for used in sorted(stmt.uses):
                if used != name and self.defined(used):
                    found += self.loops(used, seen)
        return found


def _loops_in(node):
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, (ast.For, ast.AsyncFor)):
            out.append((sub.lineno, "a for loop"))
        elif isinstance(sub, ast.While):
            out.append((sub.lineno, "a while loop"))
        elif isinstance(sub, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            out.append((sub.lineno, "a comprehension (a loop in one line)"))
        elif isinstance(sub, ast.Call):
            f = sub.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in _LOOP_CALLS:
                out.append((sub.lineno, f"{name}(), which loops in Python"))
    return out


class _Allowed:
    """Which course_lib modules and names a solution may use."""

    def __init__(self, allowed_modules):
        self.whole, self.partial = set(), {}
        for entry in allowed_modules:
            module, _, names = entry.partition(":")
            if names:
                self.partial[module] = {n.strip() for n in names.split(",")}
            else:
                self.whole.add(module)

    def module_ok(self, module):
        if module == "course_lib" or module in self.partial:
            return True
        parts = module.split(".")
        return any(".".join(parts[:i]) in self.whole for i in range(2, len(parts) + 1))

    def name_ok(self, module, name):
        """May ``module.name`` be used (``name`` a function or submodule)?"""
        if name in _DUNDERS:
            return False
        if module in self.partial:
            return name in self.partial[module]
        return self.module_ok(f"{module}.{name}") or (module != "course_lib"
                                                      and self.module_ok(module))


def _refers_to_forbidden(text, allowed):
    for match in re.finditer(r"course_lib[./\\]+([A-Za-z_]\w*)", text):
        if not allowed.module_ok(f"course_lib.{match.group(1)}"):
            return match.group(0)
    if "__editable__" in text:
        return "__editable__"
    return None


class _Visitor(ast.NodeVisitor):
    """Collects violations, names bound to course_lib modules, and uses."""

    def __init__(self, cell, allowed, module_names):
        self.cell, self.allowed = cell, allowed
        self.module_names = module_names  # name -> course_lib module, shared
        self.violations, self.uses, self.bound_forbidden = [], set(), {}

    def _flag(self, node, text):
        self.violations.append(Violation(self.cell, getattr(node, "lineno", 0), text))

    def visit_Import(self, node):
        for alias in node.names:
            if alias.name.split(".")[0] != "course_lib":
                continue
            if not self.allowed.module_ok(alias.name):
                self._flag(node, f"imports {alias.name}")
                self.bound_forbidden[alias.asname or alias.name.split(".")[0]] = alias.name
            if alias.asname:
                self.module_names[alias.asname] = alias.name
            else:
                self.module_names["course_lib"] = "course_lib"

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level or module.split(".")[0] != "course_lib":
            return
        if not self.allowed.module_ok(module):
            self._flag(node, f"imports from {module}")
            self.bound_forbidden.update({a.asname or a.name: module for a in node.names})
            return
        for alias in node.names:
            if alias.name == "*" and module in self.allowed.partial:
                self._flag(node, f"imports * from {module}")
            elif alias.name != "*" and not self.allowed.name_ok(module, alias.name):
                self._flag(node, f"imports {alias.name} from {module}")
                self.bound_forbidden[alias.asname or alias.name] = module
            elif alias.name != "*" and self.allowed.module_ok(f"{module}.{alias.name}"):
                self.module_names[alias.asname or alias.name] = f"{module}.{alias.name}"

    def visit_Attribute(self, node):
        chain, base = [], node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in self.module_names:
            module = self.module_names[base.id]
            for attr in reversed(chain):
                if not self.allowed.name_ok(module, attr):
                    self._flag(node, f"uses {module}.{attr}")
                    return
                if not self.allowed.module_ok(f"{module}.{attr}"):
                    break
                module = f"{module}.{attr}"
            return
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            found = _refers_to_forbidden(node.value, self.allowed)
            if found:
                self._flag(node, f"names {found!r} in a string")

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.uses.add(node.id)


def _defined_names(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    names = set()
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return names


def analyze(cells, allowed_modules=("course_lib.data", "course_lib.gradcheck")):
    """Analyse solution cells ``[{"grade_id", "source"}]`` (cleaned sources).

    Returns an :class:`Analysis`.
    """
    allowed = _Allowed(allowed_modules)
    analysis = Analysis()
    module_names = {}
    forbidden_names = {}
    for cell in cells:
        try:
            tree = parse(cell["source"])
        except SyntaxError as exc:
            analysis.syntax_errors[cell["grade_id"]] = f"SyntaxError: {exc.msg} (line {exc.lineno})"
            continue
        for node in tree.body:
            visitor = _Visitor(cell["grade_id"], allowed, module_names)
            visitor.visit(node)
            defines = _defined_names(node)
            stmt = _Statement(cell["grade_id"], node, defines, visitor.uses,
                              visitor.violations, bool(visitor.bound_forbidden))
            forbidden_names.update(visitor.bound_forbidden)
            if visitor.violations and not defines:
                analysis.global_violations += visitor.violations
            analysis.statements.append(stmt)
    # A name bound to a forbidden module or function taints what uses it.
    for stmt in analysis.statements:
        hits = sorted(stmt.uses & set(forbidden_names))
        if hits and not stmt.violations:
            line = getattr(stmt.node, "lineno", 0)
            stmt.violations.append(Violation(stmt.cell, line, f"uses {hits[0]}, imported from "
                                             f"{forbidden_names[hits[0]]}"))
    return analysis
