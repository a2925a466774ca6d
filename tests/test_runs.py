"""course_lib.runs: stored training runs with a checksum."""
import json

import numpy as np
import pytest

from course_lib.runs import RUN_FORMAT, load_run, save_run


def test_a_saved_run_loads_with_its_arrays_and_record(tmp_path):
    loss = np.array([2.3, 1.7, 1.2], dtype=np.float32)
    saved = save_run(tmp_path / "r", {"command": "python train.py", "epochs": 3},
                     loss_history=loss, names=np.array(["cat", "dog"]))
    run = load_run(tmp_path / "r.npz")
    np.testing.assert_array_equal(run["loss_history"], loss)
    assert run["loss_history"].dtype == np.float32
    assert list(run["names"]) == ["cat", "dog"]
    assert run.meta["epochs"] == 3 and run.meta["format"] == RUN_FORMAT
    assert run.meta["sha256"] == saved.meta["sha256"]
    assert run.meta["arrays"]["loss_history"] == ["float32", [3]]


def test_a_changed_file_is_refused_with_the_command_that_recreates_it(tmp_path):
    save_run(tmp_path / "r", {"command": "python train.py --export r"}, a=np.arange(1000))
    npz = tmp_path / "r.npz"
    npz.write_bytes(npz.read_bytes()[:-10])           # a half-copied file
    with pytest.raises(ValueError, match=r"partly copied; re-create it with: python train.py --export r"):
        load_run(tmp_path / "r")


def test_missing_files_and_foreign_records_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no record of a stored run"):
        load_run(tmp_path / "none")
    save_run(tmp_path / "r", {"command": "c"}, a=np.zeros(2))
    (tmp_path / "r.npz").unlink()
    with pytest.raises(FileNotFoundError, match="r.npz is missing; re-create it with: c"):
        load_run(tmp_path / "r")
    (tmp_path / "x.json").write_text(json.dumps({"sha256": "0"}))
    with pytest.raises(ValueError, match="is not a course_lib.runs/1 record"):
        load_run(tmp_path / "x")


def test_object_arrays_and_empty_runs_are_refused(tmp_path):
    with pytest.raises(TypeError, match="dtype object"):
        save_run(tmp_path / "r", {}, a=np.array([{}, 1], dtype=object))
    with pytest.raises(ValueError, match="at least one array"):
        save_run(tmp_path / "r", {})


def test_an_interrupted_save_leaves_the_previous_run(tmp_path, monkeypatch):
    save_run(tmp_path / "r", {"command": "c"}, a=np.zeros(3))
    from course_lib import _atomic

    def fail(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(_atomic.os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        save_run(tmp_path / "r", {"command": "c"}, a=np.ones(5))
    np.testing.assert_array_equal(load_run(tmp_path / "r")["a"], np.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.npz"]


def test_stored_files_get_the_usual_permissions(tmp_path):
    import os
    old = os.umask(0o022)
    try:
        save_run(tmp_path / "r", {"command": "c"}, a=np.zeros(2))
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {"0o644"}


def test_a_caller_can_pin_the_run_it_was_written_about(tmp_path):
    saved = save_run(tmp_path / "r", {"command": "c"}, a=np.zeros(2))
    digest = saved.meta["sha256"]
    assert load_run(tmp_path / "r", sha256=digest[:12].upper()).meta["sha256"] == digest
    with pytest.raises(ValueError, match="exported again"):
        load_run(tmp_path / "r", sha256="0" * 16)
    with pytest.raises(ValueError, match="at least the first 12"):
        load_run(tmp_path / "r", sha256=digest[:6])
