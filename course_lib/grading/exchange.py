"""Collecting from nbgrader's exchange without trusting what students put there.

``nbgrader submit`` writes ``<exchange>/<course>/inbound/<student>+<assignment>+<time>+<random>/``
(a folder anyone in the course can create, named as they like). nbgrader's
own collect globs on those names (``*`` in an id is a pattern), copies with
``shutil.copytree`` (a symbolic link to the instructor's solution notebook
is copied as the student's file) and stops everyone's collect on one bad
time. This reads each entry itself:

- the name must be ``<id>+<assignment>+<time>[+<random>]`` with a valid
  student id (:mod:`.ids`) and a time (:func:`.lms.parse_timestamp`);
- the entry must be a real folder, read by :func:`.collect.read_tree`
  (no links followed, no hard links, size and file-count limits);
- who owns it must fit the name: an entry named after a local user must be
  owned by that user; otherwise, when one student id has entries from
  several owners, only an owner who submits under no other id is believed
  (someone who also submits as themselves and names a folder after a
  classmate is not), and if that leaves none, nothing is collected for the
  id and the conflict is reported;
- the newest valid entry of each student wins; every refusal names the
  entry and the reason, and the others are collected.
"""
import os
import pwd
import stat
from pathlib import Path

from .collect import CollectError, Incoming, read_tree
from .ids import id_problem
from .lms import parse_timestamp

__all__ = ["read_inbound"]


def _owner_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _local_uid(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _entries(inbound, assignment_id, report):
    """``[(student, time, name, uid)]`` of the well-formed entries for the assignment."""
    out = []
    with os.scandir(inbound) as it:
        names = sorted(e.name for e in it)
    for name in names:
        parts = name.split("+")
        if len(parts) not in (3, 4) or parts[1] != assignment_id:
            if len(parts) >= 2 and parts[1] == assignment_id:
                report.skipped.append((name, "not <student>+<assignment>+<time>+<random>"))
            continue
        student, _, when = parts[:3]
        problem = id_problem(student)
        if problem:
            report.skipped.append((name, problem))
            continue
        try:
            when = parse_timestamp(when)
        except ValueError as exc:
            report.skipped.append((name, f"the time in the folder's name: {exc}"))
            continue
        try:
            info = os.lstat(inbound / name)
        except OSError as exc:
            report.skipped.append((name, f"cannot be read ({exc.strerror})"))
            continue
        if stat.S_ISLNK(info.st_mode):
            report.skipped.append((name, "a symbolic link (never followed)"))
            continue
        if not stat.S_ISDIR(info.st_mode):
            report.skipped.append((name, "not a folder"))
            continue
        out.append((student, when, name, info.st_uid))
    return out


def _believed(entries, report):
    """The entries whose owner fits their student id (see the module doc)."""
    ids_of = {}
    for student, _, _, uid in entries:
        ids_of.setdefault(uid, set()).add(student)
    owners = {}
    for student, _, _, uid in entries:
        owners.setdefault(student, set()).add(uid)
    kept = []
    for entry in entries:
        student, _, name, uid = entry
        local = _local_uid(student)
        if local is not None and uid != local:
            report.skipped.append((name, f"named after {student} but owned by "
                                   f"{_owner_name(uid)}: not collected"))
            continue
        if local is None and len(owners[student]) > 1:
            honest = {u for u in owners[student] if ids_of[u] == {student}}
            if uid not in honest:
                why = (f"owned by {_owner_name(uid)}, who also submits as "
                       + ", ".join(sorted(ids_of[uid] - {student}))) if honest else (
                       f"{student} has submissions owned by "
                       + ", ".join(sorted(_owner_name(u) for u in owners[student])))
                report.skipped.append((name, f"conflict: {why}; not collected"))
                continue
        kept.append(entry)
    return kept


def read_inbound(exchange_root, course_id, assignment_id, notebook, report):
    """``[Incoming]``: the newest believable submission of each student in
    the exchange's inbound folder; refusals go to ``report.skipped``."""
    inbound = Path(exchange_root) / course_id / "inbound"
    if not inbound.is_dir() or inbound.is_symlink():
        raise CollectError(f"the exchange has no inbound folder {inbound}: was {assignment_id} "
                           "released (python -m course_lib.grading release ...) and has anyone "
                           "submitted?")
    newest = {}
    for student, when, name, uid in _believed(_entries(inbound, assignment_id, report), report):
        if student not in newest or when > newest[student][0]:
            newest[student] = (when, name)
    incoming = []
    for student, (when, name) in sorted(newest.items()):
        try:
            found, problems = read_tree(inbound / name, lambda parts: True,
                                        single_links_only=True)
        except CollectError as exc:
            report.skipped.append((name, str(exc)))
            continue
        for path, reason in problems:
            report.notes.append((student, f"{name}/{path}: {reason}"))
        files = {"/".join(parts): data for parts, (data, _) in found.items()}
        if f"{notebook}.ipynb" not in files:
            report.skipped.append((name, f"no {notebook}.ipynb in the submission"))
            continue
        notes = []
        stamp = files.pop("timestamp.txt", None)
        if stamp is not None:
            try:
                inside = parse_timestamp(stamp.decode("utf-8", "replace"))
                if inside != when:
                    notes.append(f"timestamp.txt says {inside}, the folder's name {when}: "
                                 "the name (the exchange's record) is used")
            except ValueError as exc:
                notes.append(f"timestamp.txt is unreadable ({exc}); the time in the folder's "
                             "name is used")
        incoming.append(Incoming(student, files, when, f"exchange:{name}", notes))
    return incoming
