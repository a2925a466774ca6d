"""``python -m course_lib.grading``: the instructor's commands (see :mod:`.cli`).

``python -m course_lib.grading _lane ROOT SEED`` is an autograding lane's
process (started by :class:`.lanes.Lanes`, not by hand).
"""
import sys

# nbformat imports jsonschema, which imports the optional rfc3987_syntax when
# it is installed (jupyter-events brings it in) and builds 38 parsers with it
# at import time: 3 s of CPU in the grading process and again in every lane.
# It serves only jsonschema's "iri" format checks, which neither nbformat nor
# nbgrader asks for, so these processes do without it.
sys.modules.setdefault("rfc3987_syntax", None)

if sys.argv[1:2] == ["_lane"]:
    from .lanes import _serve
    _serve(sys.argv[2], int(sys.argv[3]))
    sys.exit(0)

from .cli import main  # noqa: E402  (after the line above, on purpose)

sys.exit(main())
