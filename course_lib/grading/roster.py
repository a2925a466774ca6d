"""``grading/roster.csv``: who a student id is in the LMS (name, LMS and its
number for the student), written by ``collect`` when ids come from Canvas
or Moodle file names and read by the Canvas export."""
import csv
import os
from pathlib import Path

from .ids import csv_row

__all__ = ["read_roster", "update_roster", "FIELDS"]

FIELDS = ["student_id", "lms", "lms_id", "name"]


def read_roster(path):
    """``{student id: row dict}`` (empty when there is no roster)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return {row["student_id"]: row for row in csv.DictReader(f)}
    except (OSError, KeyError):
        return {}


def update_roster(path, entries):
    """Add or update ``(student id, lms, lms id, name)`` rows (written to a
    temporary file, then renamed: never half-written)."""
    if not entries:
        return
    path = Path(path)
    rows = read_roster(path)
    for student, lms, lms_id, name in entries:
        rows[student] = {"student_id": student, "lms": lms, "lms_id": lms_id, "name": name}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        for student in sorted(rows):
            writer.writerow(csv_row({k: rows[student].get(k, "") for k in FIELDS}))
    os.replace(tmp, path)
