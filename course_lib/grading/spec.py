"""What a graded item is: the data model of the check specs.

An :class:`Assignment` is a list of :class:`Item` s. An item names the
student function it calls, the :class:`Case` s it calls it on (each case
makes fresh inputs from a random generator the grading run seeds), the
reference that computes the expected result from the same inputs, and the
:class:`Check` s that turn results into points (e.g. ``loss`` 2 points,
``dW`` 2 points). :class:`Variant` s are wrong-but-common versions of the
reference; when a result fails a check but matches a variant, the feedback
names the bug ("the loss ignores regularization").

Argument placeholders, for values that are not plain data:

- :class:`Student` ``("softmax_loss_vectorized")``: pass the student's own
  function (the reference side gets ``reference_for[name]``);
- :class:`StudentCall` ``("affine_forward", (x, w, b), pick="1")``: the
  student's own function's result (the cache their forward pass returns);
- :class:`Probe` ``("quadratic_loss")``: a helper function of the runner;
- :class:`Pixels` ``(images_u8, mean)``: CIFAR images the runner turns into
  mean-subtracted float64 rows with a bias column;
- :class:`StudentKwargs`: keyword arguments read from a dict the student
  defines (hyperparameters), with allowed names and ranges.
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Assignment", "ImportGroup", "Item", "Case", "Call", "Check", "Variant",
           "Student", "StudentCall", "Probe", "Pixels", "StudentKwargs"]


@dataclass(frozen=True)
class Student:
    """Placeholder argument: the student's object called ``name``."""
    name: str


@dataclass(frozen=True)
class StudentCall(Student):
    """Placeholder argument: what the student's function ``name`` returns
    for ``args``/``kwargs`` (placeholders allowed inside), or the part of it
    that ``pick`` selects (a path like :attr:`Check.output`, e.g. ``"1"``).
    Grades a backward pass on the cache of the student's own forward pass;
    the reference side calls ``reference_for[name]`` on the same inputs."""
    args: tuple = ()
    kwargs: dict | None = None
    pick: str = ""


@dataclass(frozen=True)
class Probe:
    """Placeholder argument: ``course_lib.grading.runner.PROBES[name]``."""
    name: str


@dataclass(frozen=True)
class Pixels:
    """Placeholder argument: uint8 images (N, ...) turned by the runner into
    ``float64(images) - mean`` with a column of ones appended, (N, D + 1)."""
    images: np.ndarray
    mean: np.ndarray

    def value(self):
        X = self.images.reshape(len(self.images), -1).astype(np.float64) - self.mean
        return np.hstack([X, np.ones((len(X), 1))])


@dataclass(frozen=True)
class StudentKwargs:
    """Keyword arguments taken from the student's dict ``name``;
    ``allowed`` maps each accepted key to its ``(low, high)`` range."""
    name: str
    allowed: dict
    required: tuple = ()


@dataclass
class Call:
    """The arguments of one call: ``func(*args, **kwargs)``."""
    args: list
    kwargs: dict = field(default_factory=dict)
    kwargs_from: StudentKwargs | None = None
    #: values only the trusted side sees (e.g. a held-out validation set)
    private: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One call of the student's function.

    ``make(rng, ctx) -> Call`` builds fresh inputs; ``ctx`` is the
    :class:`~course_lib.grading.engine.RunContext` (datasets, seed).
    ``description`` says in words what the case exercises; it is shown in
    the feedback, the inputs are not.
    """
    name: str
    description: str
    make: Callable


@dataclass(frozen=True)
class Check:
    """Points for one output, on some or all cases.

    Parameters
    ----------
    name : str
        What the student sees, e.g. ``"dW"``.
    points : float
    output : str
        Path into the returned value: ``""`` the whole value, ``"1"`` the
        second element of a tuple, ``"1.W1"`` key ``W1`` of the second
        element.
    kind : {"array", "scalar", "labels", "custom", "static"}
        ``array``: an ``np.ndarray`` of the reference's shape and dtype kind,
        finite, within ``rtol`` relative to the largest reference entry;
        ``scalar``: a real number within ``rtol``; ``labels``: an integer
        array equal to the reference; ``custom``: ``judge(actual, call, ctx)
        -> (ok, message)``; ``static``: ``judge(source_info) -> (ok, message)``
        on the student's source (e.g. "no Python loops").
    cases : tuple of str or None
        The cases this check looks at (default: all).
    requires : tuple of str
        Other checks of the item that must pass for this one to count (a
        "no loops" point is not earned by an empty stub).
    nonfinite_hint : str
        Said when the output holds NaN or infinity (their usual cause in
        this item: a square root of a tiny negative number, an overflowing
        ``np.exp``, ...).
    """
    name: str
    points: float
    output: str = ""
    kind: str = "array"
    cases: tuple | None = None
    rtol: float = 1e-6
    judge: Callable | None = None
    requires: tuple = ()
    nonfinite_hint: str = ""


@dataclass(frozen=True)
class Variant:
    """A common bug, written as a wrong reference. ``hint`` is what the
    feedback says when a failing result matches it; ``checks`` limits it to
    some checks (default: all)."""
    hint: str
    fn: Callable
    checks: tuple | None = None


@dataclass(frozen=True)
class Item:
    """One graded unit (one test cell may grade one or more items)."""
    name: str
    func: str
    title: str
    cases: tuple
    checks: tuple
    reference: Callable | None = None
    variants: tuple = ()
    depends: tuple = ()
    time_limit: float = 20.0

    @property
    def points(self):
        return float(sum(c.points for c in self.checks))

    def cases_for(self, check):
        names = [c.name for c in self.cases]
        return names if check.cases is None else [n for n in names if n in check.cases]


@dataclass(frozen=True)
class ImportGroup:
    """Items graded together in one sandbox, with what their code may import.

    ``allowed_modules`` as in :class:`Assignment`; ``items`` names the items
    (empty: every item no other group names). An assignment whose items may
    not all see the same modules (A3: the naive layers must be written where
    the fast ones cannot be called) has several groups; the functions another
    group may use are importable here but raise when called (see
    :mod:`course_lib.grading.shim`).
    """
    name: str
    allowed_modules: tuple
    items: tuple = ()


@dataclass(frozen=True)
class Assignment:
    """An assignment: its items, the notebook they live in and what the
    sandbox may import.

    ``prelude`` runs before the student's cells in the sandbox (the imports
    the notebook's own first cell makes). ``reference_for`` maps names
    that :class:`Student` placeholders use to reference callables.
    ``allowed_modules`` is what the notebook's solution cells may import
    (``course_lib.gradcheck`` among them: importable, but its functions raise
    when graded code calls them); ``groups`` splits the items into import
    groups (default: one group that may use ``allowed_modules``).
    """
    id: str
    title: str
    notebook: str
    items: tuple
    prelude: str = "import numpy as np\n"
    allowed_modules: tuple = ("course_lib.data", "course_lib.gradcheck")
    reference_for: dict = field(default_factory=dict)
    #: wall-clock budget of one sandbox start on top of the tasks' limits
    startup_seconds: float = 20.0
    groups: tuple = ()

    def import_groups(self):
        """``[(ImportGroup, [item names])]``: every item in exactly one group."""
        groups = self.groups or (ImportGroup("all", self.allowed_modules),)
        # names of items this assignment lacks are ignored (a test may grade a
        # few items of an assignment with its groups); the registry's own
        # assignments are checked in tests/test_grading_subset.py
        named = {name for g in groups for name in g.items}
        rest = [g for g in groups if not g.items]
        if len(rest) > 1:
            raise ValueError(f"{self.id}: only one import group may take the remaining items")
        out = []
        for group in groups:
            names = [i.name for i in self.items
                     if (i.name in group.items) or (not group.items and i.name not in named)]
            out.append((group, names))
        return out

    def item(self, name):
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(f"{self.id} has no item {name!r}; items: "
                       + ", ".join(i.name for i in self.items))

    @property
    def points(self):
        return sum(i.points for i in self.items)
