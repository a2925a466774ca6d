"""Cut a package out of ``course_lib`` that holds only some of it.

Both the grading sandbox (the ``course_lib`` a submission may import) and the
student environment (what a JupyterHub installs for students) need
``course_lib`` *without the answers*: some modules whole (``course_lib.data``),
some modules with only a few functions (A3 hands out the fast convolution, not
the naive one students write), the rest absent. Copying a module and deleting
names afterwards leaves the reference's source in the file; so here a partial
module is generated from the source: the module's top-level statements are
parsed with :mod:`ast`, and only those that define an asked-for name, or a
name such a statement uses (transitively, also across ``course_lib``
modules), are written out. A generated file never contains a function nobody
asked for::

    plan = subset_plan(["course_lib.data",
                        "course_lib.conv:conv_forward_fast,conv_backward_fast"])
    write_subset(dest, plan)  # dest/course_lib/{__init__,conv}.py, dest/course_lib/data/

``plan`` maps a module name to ``None`` (the whole module or package) or the
set of top-level names it keeps; :func:`write_subset` can also write call-time
stubs for functions that are deliberately missing (see ``stubs``).
"""
import ast
import shutil
from pathlib import Path

__all__ = ["SubsetError", "parse_allowed", "subset_plan", "write_subset", "module_names"]

PACKAGE = "course_lib"


class SubsetError(ValueError):
    """An allowed-module entry that cannot be honoured (unknown module or
    name, or a kept function that needs a name that must stay out)."""


def _package_root():
    import course_lib
    return Path(course_lib.__file__).resolve().parent


def _module_path(module, root=None):
    """The ``.py`` file (or package folder) of ``course_lib.<...>``."""
    root = root or _package_root()
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        raise SubsetError(f"{module!r} is not a module of {PACKAGE}")
    path = root.joinpath(*parts[1:])
    if path.is_dir() and (path / "__init__.py").exists():
        return path
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    raise SubsetError(f"{module!r}: no such module in {root}")


def parse_allowed(entries):
    """``{module: None | set(names)}`` from entries such as
    ``"course_lib.data"`` or ``"course_lib.conv:conv_forward_fast, conv_backward_fast"``."""
    allowed = {}
    for entry in entries:
        module, _, names = entry.partition(":")
        module = module.strip()
        wanted = {n.strip() for n in names.split(",") if n.strip()} if names else None
        if module in allowed and (allowed[module] is None or wanted is None):
            allowed[module] = None
        elif module in allowed:
            allowed[module] |= wanted
        else:
            allowed[module] = wanted
    return allowed


# ---- what a top-level statement defines and uses ---------------------------

def _defines(stmt):
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    targets = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    names = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
    return names


def _uses(stmt):
    """Names a statement reads, and ``{name: attributes}`` read from them
    (``conv._batch_chunks`` -> ``{"conv": {"_batch_chunks"}}``)."""
    names, attrs = set(), {}
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            attrs.setdefault(node.value.id, set()).add(node.attr)
    if isinstance(stmt, (ast.AugAssign,)):
        names |= _defines(stmt)
    return names, attrs


def _course_import(stmt, module):
    """For an import of course_lib code: ``{local name: (module, attr or None)}``.
    ``attr`` None means the local name is a module object."""
    out = {}
    if isinstance(stmt, ast.ImportFrom):
        base = stmt.module or ""
        if stmt.level:  # relative: from the module's package, up level - 1 more
            package = module.split(".") if _is_package(module) else module.split(".")[:-1]
            package = package[:len(package) - (stmt.level - 1)]
            base = ".".join(package + ([base] if base else []))
        if base.split(".")[0] != PACKAGE:
            return out
        for alias in stmt.names:
            local = alias.asname or alias.name
            try:
                _module_path(f"{base}.{alias.name}")
                out[local] = (f"{base}.{alias.name}", None)  # a submodule
            except SubsetError:
                out[local] = (base, alias.name)
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.name.split(".")[0] == PACKAGE and alias.name != PACKAGE:
                out[alias.asname or alias.name.split(".")[0]] = (alias.name, None)
    return out


def _is_package(module):
    return _module_path(module).is_dir()


class _Module:
    """A parsed module: its statements, what each defines and uses."""

    def __init__(self, module, path):
        self.name, self.path = module, path
        self.source = path.read_text(encoding="utf-8")
        self.tree = ast.parse(self.source, filename=str(path))
        self.stmts = list(self.tree.body)
        self.by_name = {}
        for index, stmt in enumerate(self.stmts):
            for name in _defines(stmt):
                self.by_name.setdefault(name, []).append(index)
        self.imports = {}
        for stmt in self.stmts:
            self.imports.update(_course_import(stmt, module))


def subset_plan(entries, forbidden=()):
    """The closure of ``entries`` (see :func:`parse_allowed`):
    ``{module: None | {top-level names to keep}}``.

    A partial module keeps the asked-for names and every top-level name
    their statements use, following imports of other ``course_lib`` modules
    (which then appear in the plan with the names they must provide).
    ``forbidden`` lists ``"module:name"`` entries that must never be kept:
    needing one raises :class:`SubsetError` (a fast layer that falls back to
    the naive one would otherwise smuggle it in).
    """
    plan = parse_allowed(entries)
    forbidden = {tuple(f.split(":", 1)) for f in forbidden}
    parsed, pending = {}, [(m, n) for m, names in plan.items() if names for n in names]
    for module, names in plan.items():
        _module_path(module)  # unknown modules fail early
    while pending:
        module, name = pending.pop()
        if plan.get(module, ()) is None and module in plan:
            continue  # whole module: everything is there
        if module not in parsed:
            parsed[module] = _Module(module, _module_path(module))
        mod = parsed[module]
        if name not in mod.by_name:
            raise SubsetError(f"{module} has no top-level name {name!r}")
        if (module, name) in forbidden:
            raise SubsetError(f"{module}:{name} is needed by an allowed function but must "
                              "stay out of this subset")
        kept = plan.setdefault(module, set())
        kept.add(name)
        for index in mod.by_name[name]:
            used, attrs = _uses(mod.stmts[index])
            for other in used:
                if other in mod.by_name and other not in kept:
                    pending.append((module, other))
                if other in mod.imports:
                    target, attr = mod.imports[other]
                    if attr is not None:
                        pending.append((target, attr))
            for local, names in attrs.items():
                if local in mod.imports and mod.imports[local][1] is None:
                    target = mod.imports[local][0]
                    for attr in names:
                        target_mod = parsed.get(target) or _Module(target, _module_path(target))
                        parsed[target] = target_mod
                        if attr in target_mod.by_name:
                            pending.append((target, attr))
    return plan


def module_names(plan):
    """``{module: sorted names}`` for reports (``["*"]`` for whole modules)."""
    return {m: ["*"] if names is None else sorted(names) for m, names in sorted(plan.items())}


# ---- writing -----------------------------------------------------------------

def _header(module, names):
    kept = ", ".join(sorted(n for n in names if not n.startswith("_"))) or "helpers only"
    return (f'"""Part of {module} ({kept}), generated by course_lib.grading.subset:\n'
            "the rest of the module is not part of this package."
            '"""\n')


def _partial_source(mod, names, stubs=()):
    lines = mod.source.splitlines(keepends=True)
    chunks = [_header(mod.name, names)]
    for stmt in mod.stmts:
        defined = _defines(stmt)
        if not defined or not (defined & names):
            continue
        if isinstance(stmt, ast.Assign) and defined == {"__all__"}:
            public = sorted(n for n in names if not n.startswith("_")) + sorted(stubs)
            chunks.append(f"__all__ = {public!r}\n")
            continue
        start = stmt.lineno - 1
        if getattr(stmt, "decorator_list", None):
            start = min(d.lineno for d in stmt.decorator_list) - 1
        chunks.append("".join(lines[start:stmt.end_lineno]))
    return "\n\n".join(c.rstrip("\n") + "\n" for c in chunks)


# Modules that course_lib/__init__.py imports (the allocator settings, which
# answer no assignment item): every subset has them beside __init__.py.
INIT_IMPORTS = ("_memory.py",)


def write_subset(dest, plan, stubs=None, root=None):
    """Write ``dest/course_lib`` holding what ``plan`` keeps; return the
    package folder.

    ``stubs`` maps ``"module"`` to ``{name: stub source}`` (a function
    definition, e.g. one that raises when called) added to that module, and
    ``"module"`` to a full module source for modules that are not in the plan
    (e.g. one whose import raises ``ImportError`` with a reason). Modules of
    the package that are in neither are not written at all.
    """
    root = root or _package_root()
    stubs = stubs or {}
    target = Path(dest) / PACKAGE
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "__init__.py", target / "__init__.py")
    for name in INIT_IMPORTS:           # the package's __init__ needs them
        shutil.copy2(root / name, target / name)
    written = set()
    for module, names in sorted(plan.items()):
        path = _module_path(module, root)
        rel = Path(*module.split(".")[1:])
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        _package_inits(target, rel)
        extra = stubs.get(module, {})
        if names is None and path.is_dir():
            shutil.copytree(path, out, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif names is None:
            shutil.copy2(path, out.with_suffix(".py"))
        else:
            if path.is_dir():
                raise SubsetError(f"{module} is a package: allow it whole or name a module in it")
            text = _partial_source(_Module(module, path), names, extra)
            if extra:
                text += "\n\n" + "\n\n".join(src.rstrip("\n") + "\n" for src in extra.values())
            out.with_suffix(".py").write_text(text, encoding="utf-8")
        written.add(module)
    for module, source in stubs.items():
        if module in written or not isinstance(source, str):
            continue
        rel = Path(*module.split(".")[1:])
        _package_inits(target, rel)
        path = _module_path(module, root)
        out = target / rel
        if path.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            (out / "__init__.py").write_text(source, encoding="utf-8")
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.with_suffix(".py").write_text(source, encoding="utf-8")
    return target


def _package_inits(target, rel):
    """Empty ``__init__.py`` for the folders between the package and ``rel``."""
    for parent in list(rel.parents)[:-1]:
        init = target / parent / "__init__.py"
        if not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text("")
