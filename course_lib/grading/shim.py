"""The ``course_lib`` a submission sees in the sandbox, per group of items.

An assignment grades its items in one or more *import groups*
(:class:`~course_lib.grading.spec.ImportGroup`): each group runs in its own
sandbox with its own stand-in ``course_lib``, written here:

- modules the group may use, generated from ``course_lib``'s source by
  :mod:`.subset` (a partial module holds the allowed functions and the
  helpers they use, nothing else: no file contains the code of a graded
  item);
- modules the assignment lets the *notebook* import but whose functions must
  not answer a graded item (``course_lib.gradcheck``: a numerical gradient is
  not an analytic one; in A3, the fast layers while the naive ones are
  graded): importable, with every function a stub that raises when called,
  so an honest ``import`` at the top of a cell costs nothing and a call is
  reported as use of the reference;
- every other module of the package: a module whose import raises
  ``ImportError``, with a message that says why.

Stub messages start with :data:`BLOCKED_MARKER`, which the trusted side
recognises in an error text.
"""
import ast

from .subset import PACKAGE, _module_path, parse_allowed, subset_plan, write_subset

__all__ = ["BLOCKED_MARKER", "build_shim", "public_functions"]

BLOCKED_MARKER = "[reference blocked]"


def _package_modules():
    """Top-level modules and subpackages of course_lib (``course_lib.x``)."""
    from .subset import _package_root
    root = _package_root()
    names = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            names.append(f"{PACKAGE}.{path.name}")
        elif path.suffix == ".py":
            names.append(f"{PACKAGE}.{path.stem}")
    return names


def public_functions(module):
    """Names of the public top-level functions defined in ``module``'s source."""
    path = _module_path(module)
    if path.is_dir():
        path = path / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]


def _import_stub(module, title):
    message = (f"{BLOCKED_MARKER} {module} is part of the reference solution, so it cannot be "
               f"imported while {title} is graded. Write this part yourself with numpy.")
    return f"raise ImportError({message!r})\n"


def _call_stub(module, name, why):
    message = f"{BLOCKED_MARKER} {module}.{name} cannot be called by graded code: {why}"
    return (f"def {name}(*args, **kwargs):\n"
            f"    \"\"\"Not available while this item is graded.\"\"\"\n"
            f"    raise RuntimeError({message!r})\n")


#: what graded code may import but never call, in every group
ALWAYS_CALL_BLOCKED = {"course_lib.gradcheck": (
    None, "numerical gradients and other checking tools do not answer a graded item")}


def build_shim(dest, allowed=("course_lib.data",), call_blocked=None, title="this assignment"):
    """Write the stand-in ``course_lib`` of one import group under ``dest``.

    ``allowed``: modules (or ``"module:f,g"`` functions) the group's code may
    import and call. ``call_blocked``: ``{module: (names, why)}``, modules
    importable with those names as stubs that raise when called (``names``
    None: every public function); default :data:`ALWAYS_CALL_BLOCKED`.
    Everything else raises ``ImportError`` on import. Returns ``dest``.
    """
    call_blocked = ALWAYS_CALL_BLOCKED if call_blocked is None else call_blocked
    plan = subset_plan([a for a in allowed if a.split(":")[0] not in call_blocked])
    stubs = {}
    for module, (names, why) in call_blocked.items():
        names = public_functions(module) if names is None else names
        defs = {name: _call_stub(module, name, why) for name in names}
        if module in plan and plan[module] is not None:
            stubs[module] = {n: src for n, src in defs.items() if n not in plan[module]}
        elif module not in plan:
            header = (f'"""Stand-in for {module}: its functions cannot be called by graded '
                      'code."""\n\n')
            stubs[module] = header + "\n\n".join(defs.values())
    for module in _package_modules():
        if module not in plan and module not in stubs:
            stubs[module] = _import_stub(module, title)
    return write_subset(dest, plan, stubs=stubs).parent


def call_blocked_for(group, groups, always=tuple(ALWAYS_CALL_BLOCKED)):
    """The ``call_blocked`` argument of :func:`build_shim` for ``group``:
    the modules in ``always``, and what other groups may use but this one
    may not (importable here, but not callable)."""
    mine = parse_allowed(group.allowed_modules)
    blocked = {module: ALWAYS_CALL_BLOCKED[module] for module in always}
    for other in groups:
        if other is group:
            continue
        for module, names in parse_allowed(other.allowed_modules).items():
            if module in blocked or module in always:
                continue
            if module in mine and (mine[module] is None or (names and names <= mine[module])):
                continue
            theirs = set(names or public_functions(module))
            if module in mine:
                theirs -= mine[module]
            if theirs:
                why = ("it is not available to the items graded here, which grade code you "
                       "write yourself with numpy")
                blocked[module] = (sorted(theirs), why)
    return blocked
