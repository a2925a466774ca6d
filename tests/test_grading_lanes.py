"""Autograding lanes (course_lib.grading.lanes): processes that run nbgrader's
notebook pass. That they write what nbgrader writes is checked end to end in
test_grading_nbgrader.py; here: a lane that dies is reported and replaced."""
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from course_lib.grading.lanes import Lanes, _ForkedLane, _LaneProcess

ROOT = Path(__file__).resolve().parents[1]


def test_a_dead_lane_is_reported_and_replaced(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    lanes = Lanes(tmp_path, seed=1, count=1, fork=True)
    try:
        first = lanes.all[0]
        assert isinstance(first, _ForkedLane)
        first.proc.kill()
        first.proc.wait()
        reply = lanes.convert("a1_knn_linear", "nobody", "key", None)
        assert "notebook pass died" in reply["error"]
        assert len(lanes.all) == 2 and lanes.all[1].proc.poll() is None
        assert type(lanes.all[1]) is _LaneProcess  # threads may run by then: no fork
        # the replacement answers (here: nbgrader's own error, no such submission)
        reply = lanes.convert("a1_knn_linear", "nobody", "key", None)
        assert reply["error"] and "died" not in reply["error"]
    finally:
        lanes.close()
    assert all(lane.proc.poll() is not None for lane in lanes.all)


def test_forked_lanes_answer_side_by_side_and_end_at_close(tmp_path):
    """Do two lanes forked from this process each answer, and does each end
    by itself when its input closes (a sibling holding a copy of its pipe
    would keep it waiting)?"""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    lanes = Lanes(tmp_path, seed=1, count=2, fork=True)
    try:
        pids = {lane.proc.pid for lane in lanes.all}
        assert len(pids) == 2 and os.getpid() not in pids
        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(lambda _: lanes.convert("a1_knn_linear", "nobody", "key",
                                                            None), range(4)))
        # nbgrader's own error (no such submission), not a dead lane
        assert all(r["error"] and "died" not in r["error"] for r in replies)
    finally:
        lanes.close()
    assert [lane.proc.returncode for lane in lanes.all] == [0, 0]


def test_lanes_are_not_forked_while_another_thread_runs(tmp_path, monkeypatch):
    """With another thread alive (it could hold a lock at the fork), are the
    lanes new interpreters, and forked when this thread is the only one?"""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        lanes = Lanes(tmp_path, seed=1, count=1)
        lanes.close()
    finally:
        stop.set()
        other.join()
    assert type(lanes.all[0]) is _LaneProcess
    # earlier tests in this worker may have left threads behind: count only ours
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    lanes = Lanes(tmp_path, seed=1, count=1)
    lanes.close()
    assert isinstance(lanes.all[0], _ForkedLane)


def _metadata_error(nb):
    """The message of nbgrader's metadata check on ``nb``, or None."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as exc:
        return exc.message
    return None


def test_lanes_check_metadata_as_nbgrader_does(monkeypatch):
    """A lane checks the metadata schema once instead of once per cell
    (lanes._check_schemas_once). Does the check still accept what nbgrader
    accepts and reject, with the same message, what it rejects?"""
    import nbformat
    from nbgrader.nbgraderformat import common

    from course_lib.grading.lanes import _check_schemas_once

    def notebook(**changes):
        meta = {"grade": True, "grade_id": "t1", "locked": True, "points": 2,
                "schema_version": 3, "solution": False, "task": False, **changes}
        cell = nbformat.v4.new_code_cell("pass")
        cell.metadata["nbgrader"] = meta
        return nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("x = 1")])

    cases = [notebook(), notebook(points="two"), notebook(grade="yes"),
             notebook(schema_version=3, locked=None)]
    plain = [_metadata_error(nb) for nb in cases]
    assert plain[0] is None and all(plain[1:])
    monkeypatch.setattr(common, "jsonschema", common.jsonschema)  # undone after the test
    _check_schemas_once()
    assert common.jsonschema.validate is not None and not hasattr(common.jsonschema, "Draft4Validator")
    assert [_metadata_error(nb) for nb in cases] == plain
    assert [_metadata_error(nb) for nb in cases] == plain      # and from the kept validator
