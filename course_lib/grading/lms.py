"""Student ids out of the file names an LMS gives its downloads, and
submission times out of text.

Canvas ("Download Submissions") names each file
``<lastfirst>[_LATE]_<user id>_<attachment id>_<original name>``, e.g.
``doejudy_12345_678901_a1_knn_linear.ipynb`` (a resubmission may end in
``-1``, ``-2`` before the extension). Moodle ("Download all submissions")
names each file ``<Full Name>_<participant id>_assignsubmission_file_<name>``
or, in folders, ``<Full Name>_<participant id>_assignsubmission_file_/<name>``.
The student id is the name, folded to ASCII letters and digits, and the
LMS's number: ``doejudy_12345`` (Canvas), ``judydoe_12345`` (Moodle); the
number keeps two students of the same name apart, and the Canvas export
puts it in the ``ID`` column Canvas matches students by.
"""
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from .ids import id_problem

__all__ = ["LmsName", "parse_name", "parse_timestamp", "format_timestamp"]

_CANVAS = re.compile(r"(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<sub>\d+)_(?P<file>.+)")
_MOODLE = re.compile(r"(?P<name>.+?)_(?P<uid>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.*)")


@dataclass
class LmsName:
    """What a top-level name in a download says: the student id, or why there is none."""
    student: str
    lms: str = ""         # "canvas", "moodle" or "" (a plain <student>.ipynb / <student>/)
    lms_id: str = ""      # the LMS's number for the student
    name: str = ""        # the name as the LMS wrote it
    late: bool = False    # Canvas marks late submissions in the name
    problem: str = ""


def _fold(text):
    """``text`` as lowercase ASCII letters and digits ("Núñez" -> "nunez")."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def parse_name(top, is_folder):
    """The student named by a download's top-level entry ``top`` (a file
    name, or a folder name when ``is_folder``)."""
    stem = top
    if not is_folder:
        if not top.endswith(".ipynb"):
            return LmsName("", problem="not a notebook (.ipynb)")
        stem = top[:-len(".ipynb")]
    moodle = _MOODLE.fullmatch(top)
    if moodle:
        folded = _fold(moodle["name"])
        student = f"{folded}_{moodle['uid']}" if folded else f"moodle_{moodle['uid']}"
        return LmsName(student, "moodle", moodle["uid"], moodle["name"])
    canvas = None if is_folder else _CANVAS.fullmatch(top)
    if canvas:
        folded = _fold(canvas["name"])
        student = f"{folded}_{canvas['uid']}" if folded else f"canvas_{canvas['uid']}"
        return LmsName(student, "canvas", canvas["uid"], canvas["name"], bool(canvas["late"]))
    problem = id_problem(stem)
    return LmsName(stem if not problem else "", problem=problem)


_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)"
                    r"\s*(UTC|GMT|Z|[+-]\d{2}:?\d{2})?")


def parse_timestamp(text):
    """A submission time (``2026-03-01 23:59:07.123456 UTC``, ISO 8601 with
    ``Z`` or an offset; no zone means UTC) as a naive UTC datetime, which is
    how nbgrader compares them; ``ValueError`` for anything else."""
    match = _STAMP.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"{str(text)[:60]!r} is not a time such as 2026-03-01 23:59:07 UTC")
    day, clock, zone = match.groups()
    try:
        when = dt.datetime.fromisoformat(f"{day}T{clock}")
    except ValueError as exc:
        raise ValueError(f"{str(text)[:60]!r} is not a valid time ({exc})") from None
    if zone and zone not in ("UTC", "GMT", "Z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        when -= sign * offset
    return when


def format_timestamp(when):
    """How nbgrader writes a submission time (UTC)."""
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
