"""Autograding lanes (course_lib.grading.lanes): processes that run nbgrader's
notebook pass. That they write what nbgrader writes is checked end to end in
test_grading_nbgrader.py; here: a lane that dies is reported and replaced."""
import shutil
from pathlib import Path

from course_lib.grading.lanes import Lanes

ROOT = Path(__file__).resolve().parents[1]


def test_a_dead_lane_is_reported_and_replaced(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    lanes = Lanes(tmp_path, seed=1, count=1)
    try:
        first = lanes.all[0]
        first.proc.kill()
        first.proc.wait()
        reply = lanes.convert("a1_knn_linear", "nobody", "key", None)
        assert "notebook pass died" in reply["error"]
        assert len(lanes.all) == 2 and lanes.all[1].proc.poll() is None
        # the replacement answers (here: nbgrader's own error, no such submission)
        reply = lanes.convert("a1_knn_linear", "nobody", "key", None)
        assert reply["error"] and "died" not in reply["error"]
    finally:
        lanes.close()
    assert all(lane.proc.poll() is not None for lane in lanes.all)
