"""The assignments' check specs, one module per assignment (``a1``, ``a2``,
``a3``; the larger ones split into ``aN_<topic>`` parts): the items, their
hidden cases, checks, known-bug variants and measured items. The engine
that runs them is the rest of :mod:`course_lib.grading`; see its README.
"""
