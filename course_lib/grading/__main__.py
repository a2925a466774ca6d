"""``python -m course_lib.grading``: the instructor's commands (see :mod:`.cli`)."""
import sys

from .cli import main

sys.exit(main())
