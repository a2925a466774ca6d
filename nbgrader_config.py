# nbgrader configuration of the course (read by `nbgrader ...` run in this folder
# and by `python -m course_lib.grading ...`). Paths are relative to this file:
#   solutions/   nbgrader's source (instructor notebooks with solutions and hidden tests)
#   assignments/ the generated release (never edit by hand)
#   grading/     submissions, autograded copies, feedback, exports, gradebook.db (git-ignored)
# Environment: COURSE_GRADEBOOK_URL (e.g. postgresql://user@host/db; default SQLite in
# grading/), COURSE_EXCHANGE (exchange folder; default grading/exchange), COURSE_ID.
# Autograding runs students' solution cells in a sandbox instead of executing the notebook:
# see course_lib/grading/README.md.
import os

from course_lib.grading.preprocessors import configure

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
configure(c, os.path.dirname(os.path.abspath(__file__)))
