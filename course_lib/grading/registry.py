"""Where the assignments' check specs are: one module per assignment.

To add an assignment, write ``course_lib/grading/specs/aN.py`` defining
``ASSIGNMENT`` (a :class:`~course_lib.grading.spec.Assignment`) and add
one line to :data:`MODULES`. Item names start with an alias of their
assignment (``"a1.svm_loss_naive"``), so a hidden test cell's
``grade_item("a1.svm_loss_naive")`` finds its spec.
"""
import importlib

__all__ = ["MODULES", "get_assignment", "find_item", "assignment_ids"]

#: assignment id (the folder name under solutions/) -> module with ASSIGNMENT
MODULES = {
    "a1_knn_linear": "course_lib.grading.specs.a1",
    "a2_fc_nets": "course_lib.grading.specs.a2",
    "a3_convnets": "course_lib.grading.specs.a3",
}


def assignment_ids():
    return list(MODULES)


def get_assignment(name):
    """The :class:`Assignment` called ``name`` (its id or an alias such as "a1")."""
    for assignment_id, module in MODULES.items():
        if name == assignment_id or name == assignment_id.split("_")[0]:
            return importlib.import_module(module).ASSIGNMENT
    raise KeyError(f"unknown assignment {name!r}; known: {', '.join(MODULES)} "
                   "(or their short names " + ", ".join(a.split('_')[0] for a in MODULES) + ")")


def find_item(name):
    """``(assignment, item)`` for an item name such as ``"a1.svm_loss_naive"``."""
    prefix = name.split(".", 1)[0]
    assignment = get_assignment(prefix)
    return assignment, assignment.item(name)
