"""The course folder: its nbgrader config, an nbgrader API and the gradebook on it.

(Shared by the commands in :mod:`.cli` and the autograding lanes in
:mod:`.lanes`, which therefore need not import each other.)
"""
import copy
from pathlib import Path

__all__ = ["Course", "CourseError"]


class CourseError(RuntimeError):
    """A problem the instructor can fix; printed without a traceback."""


class Course:
    """The course folder, its nbgrader config and an nbgrader API on it."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise CourseError(f"no nbgrader_config.py in {self.root}: run this command in the "
                              "course folder or pass --course-dir")
        from traitlets.config.loader import PyFileConfigLoader
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        cd = self.config.CourseDirectory
        self.db_url = cd.db_url
        self.submitted = self.root / cd.submitted_directory
        self.feedback_dir = self.root / cd.feedback_directory
        self.source = self.root / cd.source_directory
        self.autograded = self.root / cd.autograded_directory
        self.grading = self.root / "grading"
        exchange = Path(self.config.Exchange.root)
        if exchange.parent == self.root / "grading":  # the default: ours to create
            exchange.mkdir(parents=True, exist_ok=True)

    def api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        config = copy.deepcopy(self.config)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def reports(self, assignment_id):
        """Where autograde keeps its run reports and per-student records."""
        return self.grading / "reports" / assignment_id

    def gradebook(self):
        from nbgrader.api import Gradebook
        return Gradebook(self.db_url)
