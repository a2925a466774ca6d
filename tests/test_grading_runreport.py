"""The run report's anomaly classification, on verdicts shaped as
report.judge_item writes them (reference use, a case out of time) and a
late submission's record; the whole report is exercised end to end in
test_grading_instructor_attacks.py."""
from course_lib.grading import report, runreport
from course_lib.grading.report import CheckResult, ItemVerdict, Verdict


def _verdict():
    reference = ItemVerdict("a1.svm_loss_naive", "svm_loss_naive", 0.0, 4.0,
                            [CheckResult("loss", 0.0, 2, "not graded")], "",
                            "uses the reference solution (course_lib.classifiers.svm_loss_naive). "
                            "The course_lib functions ...")
    slow = ItemVerdict("a1.predict_labels", "predict_labels", 1.0, 3.0,
                       [CheckResult("k = 1", 1.0, 1, ""),
                        CheckResult("majority vote", 0.0, 1, "took too long on k = 5")])
    clean = ItemVerdict("a1.cross_validate_k", "cross_validate_k", 2.0, 2.0,
                        [CheckResult("accuracies", 2.0, 2, "")])
    return Verdict("a1_knn_linear", 7, {v.name: v for v in (reference, slow, clean)})


def test_report_texts_are_the_ones_judge_item_writes():
    """Do the phrases the report looks for still appear in report.py's
    messages (a reworded message would silently hide the anomaly)?"""
    source = open(report.__file__).read()
    assert "uses the reference solution" in source and '"took too long "' in source


def test_anomalies_name_reference_use_timeouts_tampering_and_lateness():
    """Is each kind listed once, with the item and check it concerns, and
    lateness in hours with its penalty?"""
    info = {"tampered": ["test cell test_svm restored"], "repairs": ["cell ids renumbered"]}
    late = {"timestamp": "2026-03-01 10:00:00", "seconds_late": 5400.0, "penalty": 43.0}
    found = runreport.anomalies(_verdict(), info, late)
    kinds = [k for k, _ in found]
    assert sorted(kinds) == ["late", "reference", "repaired", "tampered", "timeout"]
    text = dict(found)
    assert text["reference"].startswith("a1.svm_loss_naive: uses the reference solution")
    assert text["timeout"] == "a1.predict_labels (majority vote)"
    assert text["late"] == "1.50 h late, penalty 43 points"
    assert runreport.anomalies(_verdict(), {}, {"seconds_late": 0.0, "penalty": 0}) == [
        ("reference", text["reference"]), ("timeout", text["timeout"])]


def test_a_failed_student_has_a_record_without_a_verdict():
    """Does a submission that could not be graded keep its seed and reason?"""
    record = runreport.student_record("kate", 7, None, {}, {}, "timestamp.txt is not a time")
    assert record["seed"] == 7 and record["verdict"] is None and record["score"] is None
    assert record["anomalies"] == [("failed", "timestamp.txt is not a time")]
