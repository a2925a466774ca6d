"""Collecting submissions (course_lib.grading.collect, .exchange, .lms, .ids):
LMS names, real timestamps, nothing overwritten silently, no link followed,
one bad submission never stopping the others."""
import os
import zipfile

import pytest

from course_lib.grading.collect import (CollectError, CollectReport, import_submissions,
                                        place, read_timestamps)
from course_lib.grading.exchange import read_inbound
from course_lib.grading.ids import csv_cell, is_student_id
from course_lib.grading.lms import parse_name, parse_timestamp

AID = "a1_x"


def _collect(source, tmp_path, timestamps=None):
    incoming, report = import_submissions(source, AID, AID, timestamps)
    place(incoming, tmp_path / "submitted", tmp_path / "superseded", AID, report)
    return report


def test_student_ids_fullmatch_a_strict_pattern():
    """Are glob characters, path separators, a trailing newline, leading
    formula characters and the exchange's '+' all refused?"""
    for good in ("alice", "bob.smith", "j_doe-2", "x@uni.edu", "A1"):
        assert is_student_id(good), good
    for bad in ("*", "a*", "alice\n", "alice/..", "../x", "-rf", "=HYPERLINK(1)", "+1",
                "@x", ".hidden", "a+b", "a b", "", "x" * 65, "alice\x00", "[ab]", "a?"):
        assert not is_student_id(bad), repr(bad)


def test_csv_cells_never_start_a_formula():
    """Does text that a spreadsheet would evaluate get a leading apostrophe,
    while numbers stay numbers?"""
    assert csv_cell('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert csv_cell("+1+1") == "'+1+1" and csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("-2+3") == "'-2+3" and csv_cell("\t=1") == "'\t=1"
    assert csv_cell(-1.5) == -1.5 and csv_cell(3) == 3 and csv_cell("alice") == "alice"


def test_canvas_and_moodle_names_become_student_ids():
    """Does a Canvas or Moodle download name give the student (name and LMS
    number), not the whole file name?"""
    canvas = parse_name("doejudy_12345_678901_a1_knn_linear.ipynb", False)
    assert (canvas.student, canvas.lms, canvas.lms_id, canvas.late) == \
        ("doejudy_12345", "canvas", "12345", False)
    late = parse_name("doejudy_LATE_12345_678901_a1_knn_linear-2.ipynb", False)
    assert late.student == "doejudy_12345" and late.late
    moodle = parse_name("Judy Núñez_4242_assignsubmission_file_", True)
    assert (moodle.student, moodle.lms, moodle.name) == ("judynunez_4242", "moodle", "Judy Núñez")
    assert parse_name("Judy Doe_4242_assignsubmission_file_a1.ipynb", False).student == \
        "judydoe_4242"
    assert parse_name("alice.ipynb", False).student == "alice"
    assert parse_name("alice\n.ipynb", False).problem


def test_timestamps_are_parsed_strictly_into_utc():
    """Are nbgrader's format and ISO 8601 read (offsets to UTC), and
    anything else refused with a message?"""
    assert str(parse_timestamp("2026-03-01 23:59:07.123456 UTC")) == "2026-03-01 23:59:07.123456"
    assert str(parse_timestamp("2026-03-01T23:59:07+01:00")) == "2026-03-01 22:59:07"
    assert str(parse_timestamp("2026-03-01 23:59:07")) == "2026-03-01 23:59:07"
    for bad in ("yesterday", "2026-13-01 00:00:00", "1e400", "2026-03-01", ""):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_folder_import_conflicts_links_and_canvas_names(tmp_path):
    """From a folder: are alice.ipynb and alice/ both present a reported
    conflict (neither taken), links refused, `alice\\n.ipynb` refused, a
    Canvas name turned into its student, and nothing read outside?"""
    src = tmp_path / "in"
    (src / "alice").mkdir(parents=True)
    (src / "alice.ipynb").write_text('{"a": 1}')
    (src / "alice" / "work.ipynb").write_text('{"a": 2}')
    (src / "alice\n.ipynb").write_text('{"evil": 1}')
    (src / "bob.ipynb").write_text('{"b": 1}')
    secret = tmp_path / "solution.ipynb"
    secret.write_text('{"SOLUTION": 1}')
    os.symlink(secret, src / "mallory.ipynb")
    (src / "eve").mkdir()
    os.symlink(secret, src / "eve" / "a1_x.ipynb")
    os.symlink(tmp_path, src / "trent")
    (src / "doejudy_12345_678901_a1_x.ipynb").write_text('{"j": 1}')
    (src / "*.ipynb").write_text("{}")
    report = _collect(src, tmp_path)
    placed = {s: a for s, a, _ in report.placed}
    assert placed == {"bob": "new", "doejudy_12345": "new"}
    skipped = dict(report.skipped)
    assert "none was taken" in skipped["alice, alice.ipynb"]
    assert "symbolic link" in skipped["mallory.ipynb"] and "symbolic link" in skipped["trent"]
    assert "symbolic link" in skipped["eve/a1_x.ipynb"]
    assert "not a usable student id" in skipped["alice\n.ipynb"]
    assert "not a usable student id" in skipped["*.ipynb"]
    found = {p.relative_to(tmp_path / "submitted").as_posix()
             for p in (tmp_path / "submitted").rglob("*") if p.is_file()}
    assert found == {"bob/a1_x/a1_x.ipynb", "doejudy_12345/a1_x/a1_x.ipynb"}
    assert report.untimed == ["bob", "doejudy_12345"]


def test_newest_wins_and_both_are_kept(tmp_path):
    """A second import: does a newer submission replace the collected one
    (which is kept aside), an older or untimed one leave it in place (kept
    aside too), the same one change nothing — each reported?"""
    src = tmp_path / "in"
    (src / "bob").mkdir(parents=True)
    (src / "bob" / "a1_x.ipynb").write_text("v1")
    (src / "bob" / "timestamp.txt").write_text("2026-03-01 10:00:00 UTC")
    assert _collect(src, tmp_path).placed[0][1] == "new"
    assert _collect(src, tmp_path).placed[0][1] == "unchanged"
    (src / "bob" / "a1_x.ipynb").write_text("v2")
    (src / "bob" / "timestamp.txt").write_text("2026-03-02 10:00:00 UTC")
    _, action, detail = _collect(src, tmp_path).placed[0]
    assert action == "replaced" and "kept in" in detail
    dest = tmp_path / "submitted" / "bob" / AID
    assert (dest / "a1_x.ipynb").read_text() == "v2"
    assert (dest / "timestamp.txt").read_text() == "2026-03-02 10:00:00.000000 UTC"
    (src / "bob" / "a1_x.ipynb").write_text("v0")
    (src / "bob" / "timestamp.txt").write_text("2026-02-01 10:00:00 UTC")
    assert _collect(src, tmp_path).placed[0][1] == "kept"
    (src / "bob" / "timestamp.txt").unlink()
    assert _collect(src, tmp_path).placed[0][1] == "kept"  # no time: never replaces
    assert (dest / "a1_x.ipynb").read_text() == "v2"
    kept = sorted(p.read_text() for p in (tmp_path / "superseded").rglob("a1_x.ipynb"))
    assert kept == ["v0", "v0", "v1"]


def test_zip_times_come_from_a_timestamps_file_not_from_entries(tmp_path):
    """From a zip: is the entry's date ignored (no time unless given), a
    --timestamps file used, a bad timestamp.txt that student's problem,
    and a link or climbing entry refused?"""
    archive = tmp_path / "subs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/carol.ipynb", "{}")
        zf.writestr("export/dave/a1_x.ipynb", "{}")
        zf.writestr("export/dave/timestamp.txt", "next tuesday")
        zf.writestr("export/erin/a1_x.ipynb", "{}")
        zf.writestr("export/../../escape.ipynb", "{}")
        link = zipfile.ZipInfo("export/frank.ipynb")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    stamps = tmp_path / "times.csv"
    stamps.write_text("student,timestamp\ncarol,2026-03-01 09:00:00 UTC\n")
    report = _collect(archive, tmp_path, read_timestamps(stamps))
    assert {s for s, a, _ in report.placed} == {"carol", "erin"}
    assert (tmp_path / "submitted" / "carol" / AID / "timestamp.txt").read_text().startswith(
        "2026-03-01 09:00:00")
    assert not (tmp_path / "submitted" / "erin" / AID / "timestamp.txt").exists()
    skipped = dict(report.skipped)
    assert "not a time" in skipped["dave/timestamp.txt"]
    assert "unsafe" in skipped["export/../../escape.ipynb"]
    assert "symbolic link" in skipped["export/frank.ipynb"]
    assert not (tmp_path / "escape.ipynb").exists()


def test_bad_paths_fail_cleanly(tmp_path):
    """Does a missing source, a non-zip file or a bad timestamps file give
    a CollectError naming the path, not a traceback?"""
    with pytest.raises(CollectError, match="does not exist"):
        import_submissions(tmp_path / "nonexistent.zip", AID, AID)
    (tmp_path / "notzip.zip").write_text("hello")
    with pytest.raises(CollectError, match="not a readable zip"):
        import_submissions(tmp_path / "notzip.zip", AID, AID)
    (tmp_path / "t.csv").write_text("student,timestamp\nx,soon\n")
    with pytest.raises(CollectError, match="line 2"):
        read_timestamps(tmp_path / "t.csv")


def _inbound(root, name, files, uid=None):
    folder = root / "course" / "inbound" / name
    folder.mkdir(parents=True)
    for rel, text in files.items():
        (folder / rel).write_text(text)
        if uid is not None:
            os.chown(folder / rel, uid, uid)
    if uid is not None:
        os.chown(folder, uid, uid)
    return folder


def test_exchange_collect_refuses_links_bad_names_and_times(tmp_path):
    """From the exchange: is a symbolic link to the solution never
    collected, a glob id or a bad time in a name that entry's problem, the
    newest entry taken, and a bad timestamp.txt replaced by the name's time?"""
    solution = tmp_path / "solution.ipynb"
    solution.write_text("THE SOLUTION")
    ex = tmp_path / "exchange"
    nb = f"{AID}.ipynb"
    _inbound(ex, f"alice+{AID}+2026-03-01 10:00:00.000000 UTC+r1", {nb: "alice v1"})
    _inbound(ex, f"alice+{AID}+2026-03-02 10:00:00.000000 UTC+r2",
             {nb: "alice v2", "timestamp.txt": "garbage", "submission_secret.txt": "s"})
    link = _inbound(ex, f"mallory+{AID}+2026-03-01 10:00:00.000000 UTC+r3", {})
    os.symlink(solution, link / nb)
    _inbound(ex, f"*+{AID}+2026-03-01 10:00:00.000000 UTC+r4", {nb: "x"})
    _inbound(ex, f"bob+{AID}+not-a-time+r5", {nb: "bob"})
    _inbound(ex, f"carol+other_assignment+2026-03-01 10:00:00 UTC+r6", {nb: "c"})
    os.symlink(tmp_path, ex / "course" / "inbound" / f"dave+{AID}+2026-03-01 10:00:00 UTC+r7")
    report = CollectReport()
    incoming = read_inbound(ex, "course", AID, AID, report)
    place(incoming, tmp_path / "submitted", tmp_path / "superseded", AID, report)
    assert [s for s, _, _ in report.placed] == ["alice"]
    dest = tmp_path / "submitted" / "alice" / AID
    assert (dest / nb).read_text() == "alice v2"
    assert (dest / "submission_secret.txt").read_text() == "s"
    assert (dest / "timestamp.txt").read_text().startswith("2026-03-02 10:00:00")
    assert any("timestamp.txt is unreadable" in note for _, note in report.notes)
    skipped = " | ".join(f"{n}: {r}" for n, r in report.skipped)
    assert "not a usable student id" in skipped and "not-a-time" in skipped
    assert "symbolic link" in skipped and "no a1_x.ipynb" in skipped
    assert not list((tmp_path / "submitted").rglob("*")) or \
        "THE SOLUTION" not in "".join(p.read_text() for p in
                                      (tmp_path / "submitted").rglob("*") if p.is_file())
    with pytest.raises(CollectError, match="no inbound folder"):
        read_inbound(tmp_path / "empty", "course", AID, AID, CollectReport())


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files other owners")
def test_exchange_entry_named_after_a_classmate_is_not_collected(tmp_path):
    """Does a folder that mallory (who also submits as herself) names after
    alice stay uncollected, alice's own work being collected?"""
    ex = tmp_path / "exchange"
    nb = f"{AID}.ipynb"
    _inbound(ex, f"alice+{AID}+2026-03-01 10:00:00 UTC+r1", {nb: "alice's work"}, uid=61901)
    _inbound(ex, f"mallory+{AID}+2026-03-01 10:00:00 UTC+r2", {nb: "mallory"}, uid=61902)
    _inbound(ex, f"alice+{AID}+2026-03-05 10:00:00 UTC+r3", {nb: "stub"}, uid=61902)
    report = CollectReport()
    incoming = read_inbound(ex, "course", AID, AID, report)
    assert {s.student: s.files[nb] for s in incoming} == {"alice": b"alice's work",
                                                          "mallory": b"mallory"}
    assert any("also submits as mallory" in reason for _, reason in report.skipped)


def test_collect_command_reports_instead_of_tracebacks(tmp_path, capsys, monkeypatch):
    """Through the command: does a missing zip give one error line (exit 1),
    and an exchange with nothing for the assignment say so instead of
    counting the submitted/ folder?"""
    import shutil
    from pathlib import Path

    from course_lib.grading import cli
    root = Path(__file__).resolve().parents[1]
    shutil.copy(root / "nbgrader_config.py", tmp_path)
    monkeypatch.setenv("COURSE_EXCHANGE", str(tmp_path / "exchange"))
    (tmp_path / "exchange" / "nn-numpy" / "inbound").mkdir(parents=True)
    (tmp_path / "grading" / "submitted" / "old" / "a1_knn_linear").mkdir(parents=True)
    run = ["--course-dir", str(tmp_path), "collect", "a1"]
    assert cli.main(run + ["--from", str(tmp_path / "nonexistent.zip")]) == 1
    captured = capsys.readouterr()
    assert "nonexistent.zip does not exist" in captured.err and "Traceback" not in captured.err
    assert cli.main(run) == 0
    assert "no submissions found in the exchange" in capsys.readouterr().out
