"""Autograding of the course's nbgrader assignments.

The verdict is computed outside the student's process, from plain data:
nbgrader restores the instructor's cells and keeps the gradebook; our
:class:`~course_lib.grading.preprocessors.SandboxGrade` replaces nbgrader's
``Execute`` step, runs only the student's solution cells in a limited
separate process that calls the graded functions on fresh hidden inputs,
and judges the returned arrays here (see ``README.md`` in this folder).

- :mod:`.spec`, :mod:`.a1`, :mod:`.registry`: what is graded (check specs)
- :mod:`.engine`, :mod:`.report`, :mod:`.compare`, :mod:`.static`: the trusted side
- :mod:`.runner`, :mod:`.sandbox`: the untrusted side and how it is started
- :mod:`.preprocessors`, :mod:`.notebooks`: nbgrader integration
- :mod:`.cli`: ``python -m course_lib.grading release|collect|autograde|feedback|export``
- :mod:`.visible`: helpers the notebooks' visible tests use
- :mod:`.authoring`: building an assignment's source notebook

A hidden test cell names what it grades::

    ### BEGIN HIDDEN TESTS
    from course_lib.grading import grade_item
    grade_item("a1.svm_loss_naive")
    ### END HIDDEN TESTS
"""

__all__ = ["grade_item"]


def grade_item(name):
    """Grade item ``name`` in *this* process and return the points.

    The sandboxed autograder never runs this: it reads the item names from
    the hidden test cells and grades outside the student's kernel. This
    function is what a hidden cell does when stock ``nbgrader autograde``
    (its ``Execute`` preprocessor) runs the cell in the student's kernel:
    it grades the functions defined in the notebook's namespace the same
    way, prints the feedback and returns the score (the cell's result, so
    nbgrader records it as partial credit). It trusts the student's
    process, so it is for comparison and debugging, not for grading.
    """
    import __main__
    import os

    from .engine import get_run
    from .registry import find_item

    assignment, item = find_item(name)
    seed = int(os.environ.get("COURSE_GRADING_SEED", "0"))
    run = get_run(assignment.id, seed)
    verdict = run.grade_in_process(vars(__main__), items=[item.name])
    result = verdict.items[item.name]
    print(result.feedback)
    return result.score
