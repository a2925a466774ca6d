"""Submissions into nbgrader's ``submitted/`` folder: from a folder or zip of
notebooks (named by student, or as Canvas and Moodle name their downloads)
and from nbgrader's exchange (:mod:`.exchange`).

Layouts of a folder or zip (at its root, or inside the one folder a zip
wraps them in)::

    alice.ipynb                                    student "alice"
    bob/a1_knn_linear.ipynb [bob/timestamp.txt]    student "bob"
    doejudy_12345_678901_a1_knn_linear.ipynb       Canvas: "doejudy_12345"
    Judy Doe_12345_assignsubmission_file_/a1.ipynb Moodle: "judydoe_12345"

Nothing is read through a symbolic link or outside the source (files are
opened relative to their folder with ``O_NOFOLLOW``; zip entries that are
links or climb out are refused). A submission's time comes from its
``timestamp.txt``, from ``--timestamps FILE`` (CSV: ``student,timestamp``),
or is unknown (then no late penalty can apply, and the summary says so):
a zip entry's date is not a submission time.

**Never overwritten silently** (:func:`place`): a student with a submission
already in ``submitted/`` keeps the newer of the two; the other is moved
to ``grading/superseded/<assignment>/<student>/`` and the summary says
which won and why. Two notebooks for one student in one source (say
``alice.ipynb`` and ``alice/``) are a conflict: neither is taken, both
are reported. A bad name, time or file is that student's problem,
reported; the others are collected.
"""
import csv
import datetime as dt
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .ids import id_problem
from .lms import format_timestamp, parse_name, parse_timestamp

__all__ = ["Incoming", "CollectReport", "import_submissions", "place", "read_tree",
           "read_timestamps", "MAX_NOTEBOOK_BYTES"]

MAX_NOTEBOOK_BYTES = 50 * 1024 ** 2
MAX_FILES = 200                       # per submission folder (the exchange)
MAX_FOLDER_BYTES = 100 * 1024 ** 2    # per submission folder (the exchange)


class CollectError(ValueError):
    """A source that cannot be collected at all (printed without a traceback)."""


@dataclass
class Incoming:
    """One student's submission, read into memory, before it is placed."""
    student: str
    files: dict                       # relative POSIX path -> bytes
    timestamp: object = None          # naive UTC datetime, or None when unknown
    origin: str = ""                  # where it came from, for the report
    notes: list = field(default_factory=list)
    lms: object = None                # lms.LmsName when the name came from an LMS


@dataclass
class CollectReport:
    placed: list = field(default_factory=list)   # (student, action, detail)
    skipped: list = field(default_factory=list)  # (name, reason)
    untimed: list = field(default_factory=list)  # students with no submission time
    notes: list = field(default_factory=list)    # (student, note)

    def count(self, *actions):
        return sum(1 for _, action, _ in self.placed if action in actions)


# ---- reading a folder without following links ----------------------------------

def read_tree(path, want, max_depth=3, max_files=MAX_FILES, max_bytes=MAX_FOLDER_BYTES,
              single_links_only=False):
    """Read the regular files under folder ``path`` for which
    ``want(parts)`` is true, never through a symbolic link (every step is
    opened relative to its folder with ``O_NOFOLLOW``, so a link swapped in
    meanwhile is refused too). Returns ``(files, problems)``: ``{parts:
    (bytes, mtime)}`` and ``[(relative name, reason)]``.
    ``single_links_only`` refuses hard-linked files (another name for a
    file elsewhere)."""
    files, problems, total = {}, [], [0]
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise CollectError(f"{path}: cannot open the folder ({exc.strerror}; a symbolic "
                           "link is never followed)") from None

    def walk(fd, prefix):
        with os.scandir(fd) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            parts = prefix + (entry.name,)
            name = "/".join(parts)
            if entry.is_symlink():
                problems.append((name, "a symbolic link (never followed)"))
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name in ("__MACOSX", ".ipynb_checkpoints"):
                    continue
                if len(parts) >= max_depth:
                    problems.append((name, "too deeply nested"))
                    continue
                try:
                    sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                  dir_fd=fd)
                except OSError as exc:
                    problems.append((name, f"cannot open ({exc.strerror})"))
                    continue
                try:
                    walk(sub, parts)
                finally:
                    os.close(sub)
                continue
            if not want(parts):
                continue
            if len(files) >= max_files:
                problems.append((name, f"more than {max_files} files"))
                continue
            try:
                f = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
            except OSError as exc:
                problems.append((name, f"cannot open ({exc.strerror})"))
                continue
            try:
                info = os.fstat(f)
                if not stat.S_ISREG(info.st_mode):
                    problems.append((name, "not a regular file"))
                    continue
                if single_links_only and info.st_nlink > 1:
                    problems.append((name, "a hard link to a file elsewhere (not collected)"))
                    continue
                limit = min(MAX_NOTEBOOK_BYTES, max_bytes - total[0])
                if info.st_size > limit:
                    problems.append((name, f"larger than {limit // 1024 ** 2} MB"))
                    continue
                with os.fdopen(os.dup(f), "rb") as stream:
                    data = stream.read(limit + 1)
                if len(data) > limit:
                    problems.append((name, f"larger than {limit // 1024 ** 2} MB"))
                    continue
                total[0] += len(data)
                files[parts] = (data, info.st_mtime)
            finally:
                os.close(f)

    try:
        walk(top, ())
    finally:
        os.close(top)
    return files, problems


# ---- folder and zip sources ---------------------------------------------------

def _wanted(parts):
    return parts[-1].endswith(".ipynb") or parts[-1] == "timestamp.txt"


def _zip_entries(archive):
    """``({parts: bytes}, problems)`` of a zip's notebooks and timestamp files."""
    files, problems = {}, []
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise CollectError(f"{archive}: not a readable zip file ({exc})") from None
    with zf:
        for info in zf.infolist():
            path = PurePosixPath(info.filename)
            if info.is_dir() or not path.parts or "__MACOSX" in path.parts \
                    or ".ipynb_checkpoints" in path.parts or not _wanted(path.parts):
                continue
            if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
                problems.append((info.filename, "an unsafe path in the zip"))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                problems.append((info.filename, "a symbolic link (never followed)"))
                continue
            if info.file_size > MAX_NOTEBOOK_BYTES:
                problems.append((info.filename, f"larger than {MAX_NOTEBOOK_BYTES // 1024 ** 2} MB"))
                continue
            with zf.open(info) as stream:
                data = stream.read(MAX_NOTEBOOK_BYTES + 1)
            if len(data) > MAX_NOTEBOOK_BYTES:
                problems.append((info.filename, "larger than its header says"))
                continue
            files[path.parts] = data
    return files, problems


def _strip_wrapper(files, notebook):
    """Drop a zip's single top-level folder when it only wraps the
    submissions (``top/<student>/...`` or several ``top/<x>.ipynb``; a lone
    ``alice/<notebook>.ipynb`` is alice's own folder)."""
    paths = [p for p in files if p[-1].endswith(".ipynb")]
    if not paths or len({p[0] for p in paths}) != 1 or any(len(p) < 2 for p in paths):
        return files
    if not any(len(p) == 3 for p in paths) and (
            len(paths) == 1 or any(p[-1] == f"{notebook}.ipynb" for p in paths)):
        return files
    return {p[1:]: data for p, data in files.items() if len(p) > 1}


def read_timestamps(path):
    """``{student: time}`` from a CSV with columns ``student`` (or
    ``student_id``) and ``timestamp``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise CollectError(f"{path}: cannot read the timestamps file ({exc.strerror})") from None
    out = {}
    for number, row in enumerate(rows, start=2):
        student = (row.get("student") or row.get("student_id") or "").strip()
        try:
            out[student] = parse_timestamp(row.get("timestamp") or "")
        except ValueError as exc:
            raise CollectError(f"{path}, line {number}: {exc}") from None
    return out


def _group(files, notebook, report):
    """``{student: (top name, lms, {parts: bytes})}`` from the top-level
    entries; conflicts and bad names go to ``report.skipped``."""
    claims = {}
    for parts, data in files.items():
        is_folder = len(parts) > 1
        if len(parts) > 2:
            report.skipped.append(("/".join(parts), "too deeply nested (use <student>.ipynb "
                                   "or <student>/<notebook>.ipynb)"))
            continue
        if not is_folder and not parts[0].endswith(".ipynb"):
            continue
        who = parse_name(parts[0], is_folder)
        if not who.student:
            report.skipped.append(("/".join(parts), who.problem))
            continue
        claims.setdefault(who.student, {}).setdefault(parts[0], (who, {}))[1][parts] = data
    out = {}
    for student, tops in sorted(claims.items()):
        if len(tops) > 1:
            names = ", ".join(sorted(tops))
            report.skipped.append((names, f"{len(tops)} submissions claim student {student} "
                                   "(keep one and collect again): none was taken"))
            continue
        (top, (who, entries)), = tops.items()
        notebooks = [p for p in entries if p[-1].endswith(".ipynb")]
        if len(notebooks) > 1:
            own = [p for p in notebooks if p[-1] == f"{notebook}.ipynb"]
            if len(own) != 1:
                report.skipped.append((top, f"{len(notebooks)} notebooks and none (or more than "
                                       f"one) named {notebook}.ipynb: none was taken"))
                continue
            report.notes.append((student, f"took {'/'.join(own[0])}; ignored "
                                 + ", ".join("/".join(p) for p in notebooks if p != own[0])))
            notebooks = own
        if not notebooks:
            continue
        out[student] = (top, who, entries[notebooks[0]], entries.get((top, "timestamp.txt")))
    return out


def import_submissions(source, assignment_id, notebook, timestamps=None):
    """Read notebooks from ``source`` (folder or .zip): ``([Incoming],
    CollectReport)``. ``timestamps``: ``{student: time}`` that win over a
    ``timestamp.txt``."""
    source = Path(source)
    report = CollectReport()
    if source.is_symlink():
        raise CollectError(f"{source} is a symbolic link: give the real path")
    if source.is_dir():
        found, problems = read_tree(source, _wanted, max_files=100_000,
                                    max_bytes=2 ** 62)
        files = {parts: data for parts, (data, _) in found.items()}
    elif source.is_file():
        files, problems = _zip_entries(source)
        files = _strip_wrapper(files, notebook)
    else:
        raise CollectError(f"{source} does not exist (give a folder or a .zip of notebooks)")
    report.skipped += problems
    incoming = []
    for student, (top, who, data, stamp) in _group(files, notebook, report).items():
        when = (timestamps or {}).get(student)
        notes = []
        if when is None and stamp is not None:
            try:
                when = parse_timestamp(stamp.decode("utf-8", "replace"))
            except ValueError as exc:
                report.skipped.append((f"{top}/timestamp.txt", f"{exc}: fix or delete it"))
                continue
        if who.late:
            notes.append("Canvas marks this submission late")
        incoming.append(Incoming(student, {f"{notebook}.ipynb": data}, when,
                                 f"{source.name}:{top}", notes, who if who.lms else None))
    return incoming, report


# ---- placing into submitted/ ---------------------------------------------------

def _existing_time(folder):
    try:
        text = (folder / "timestamp.txt").read_text(errors="replace")
    except OSError:
        return None, ""
    try:
        return parse_timestamp(text), ""
    except ValueError as exc:
        return None, str(exc)


def _same_files(folder, files):
    for name, data in files.items():
        try:
            if (folder / name).read_bytes() != data:
                return False
        except OSError:
            return False
    return True


def _write_folder(staging, sub):
    folder = Path(tempfile.mkdtemp(prefix=f"{sub.student}.", dir=staging))
    for name, data in sub.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if sub.timestamp is not None:
        (folder / "timestamp.txt").write_text(format_timestamp(sub.timestamp))
    else:
        (folder / "timestamp.txt").unlink(missing_ok=True)
    return folder


def _keep_aside(folder, superseded, assignment_id, student, when):
    label = when.strftime("%Y-%m-%dT%H%M%S.%fZ") if when else "no-time"
    target = superseded / assignment_id / student / label
    n = 1
    while target.exists():
        n += 1
        target = target.with_name(f"{label}-{n}")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(folder, target)
    return target


def place(incoming, submitted, superseded, assignment_id, report):
    """Put each :class:`Incoming` into ``submitted/<student>/<assignment>``
    (written in a staging folder, then renamed into place). A student who
    has a submission there keeps the newer one; the other goes to
    ``superseded``; an incoming one without a time never replaces a
    collected one (it is kept aside instead). Everything is reported."""
    submitted, superseded = Path(submitted), Path(superseded)
    staging = submitted.parent / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    for sub in sorted(incoming, key=lambda s: s.student):
        problem = id_problem(sub.student)
        if problem:  # every source checks this; placing never trusts it
            report.skipped.append((sub.origin, problem))
            continue
        for note in sub.notes:
            report.notes.append((sub.student, note))
        dest = submitted / sub.student / assignment_id
        try:
            if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
                report.skipped.append((sub.origin, f"{dest} is not a folder: remove it"))
                continue
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(_write_folder(staging, sub), dest)
                report.placed.append((sub.student, "new", sub.origin))
                if sub.timestamp is None:
                    report.untimed.append(sub.student)
                continue
            old_time, old_problem = _existing_time(dest)
            if old_time == sub.timestamp and _same_files(dest, sub.files):
                report.placed.append((sub.student, "unchanged", sub.origin))
                continue
            newer = sub.timestamp is not None and (old_time is None or sub.timestamp > old_time)
            if newer:
                fresh = _write_folder(staging, sub)
                kept = _keep_aside(dest, superseded, assignment_id, sub.student, old_time)
                os.replace(fresh, dest)
                why = f"newer ({format_timestamp(sub.timestamp)})"
                if old_problem:
                    why += f"; the previous timestamp.txt was unreadable: {old_problem}"
                report.placed.append((sub.student, "replaced",
                                      f"{sub.origin} is {why}; the previous one is kept in {kept}"))
            else:
                kept = _keep_aside(_write_folder(staging, sub), superseded, assignment_id,
                                   sub.student, sub.timestamp)
                when = format_timestamp(sub.timestamp) if sub.timestamp else "no time"
                was = format_timestamp(old_time) if old_time else "no time"
                report.placed.append((sub.student, "kept",
                                      f"the collected submission ({was}) is not older than "
                                      f"{sub.origin} ({when}), which is kept in {kept}"))
        except OSError as exc:
            report.skipped.append((sub.origin, f"could not be written ({exc})"))
    shutil.rmtree(staging, ignore_errors=True)
    return report


def now_utc():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
