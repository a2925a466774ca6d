"""Import submissions from a folder or a zip of notebooks named by student.

Accepted layouts (in a folder, or at the root of a zip, or inside the one
top-level folder a zip holds)::

    alice.ipynb                  student "alice"
    bob/a1_knn_linear.ipynb      student "bob" (one notebook per folder)

Each notebook is copied byte for byte (the autograder, not the import,
deals with damaged notebooks) to nbgrader's submitted folder,
``<submitted>/<student>/<assignment>/<notebook>.ipynb``, with a
``timestamp.txt`` from the file's modification time. Names that are not
safe student ids, symlinks, and files over the size limit are skipped with
a reason.
"""
import datetime as dt
import re
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["import_submissions", "MAX_NOTEBOOK_BYTES"]

MAX_NOTEBOOK_BYTES = 50 * 1024 ** 2
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def _student_of(parts):
    """Student id for a notebook at relative path ``parts``, or (None, reason)."""
    if len(parts) == 1:
        student = parts[0][:-len(".ipynb")]
    elif len(parts) == 2:
        student = parts[0]
    else:
        return None, "too deeply nested (use <student>.ipynb or <student>/<notebook>.ipynb)"
    if not _STUDENT_ID.match(student) or ".." in student:
        return None, (f"'{student}' is not a usable student id (letters, digits, _ . @ -; "
                      "at most 64 characters)")
    return student, ""


def _entries_from_folder(folder):
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder).parts
        if ".ipynb_checkpoints" in rel:
            continue
        if path.is_symlink():
            yield rel, None, None, "a symbolic link"
            continue
        yield rel, path.stat().st_size, (path.read_bytes, path.stat().st_mtime), ""


def _strip_top(paths, notebook):
    """Whether a zip's single top-level folder only wraps the submissions:
    ``top/<student>/<nb>.ipynb``, or ``top/<student>.ipynb`` for several
    students (a lone ``alice/<notebook>.ipynb`` is alice's folder)."""
    if len({p.parts[0] for p in paths}) != 1 or any(len(p.parts) < 2 for p in paths):
        return False
    if any(len(p.parts) == 3 for p in paths):
        return True
    return len(paths) > 1 and all(p.name != f"{notebook}.ipynb" for p in paths)


def _entries_from_zip(archive, notebook):
    with zipfile.ZipFile(archive) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()
                 and i.filename.endswith(".ipynb") and "__MACOSX" not in i.filename
                 and ".ipynb_checkpoints" not in i.filename]
        paths = [PurePosixPath(i.filename) for i in infos]
        strip = _strip_top(paths, notebook)
        for info, path in zip(infos, paths):
            if path.is_absolute() or ".." in path.parts:
                yield path.parts, None, None, "an unsafe path in the zip"
                continue
            parts = path.parts[1:] if strip else path.parts
            mtime = dt.datetime(*info.date_time).timestamp()
            yield parts, info.file_size, ((lambda info=info: zf.read(info)), mtime), ""


def import_submissions(source, submitted, assignment_id, notebook):
    """Copy notebooks from ``source`` (folder or .zip) into ``submitted``.

    Returns ``(imported, skipped)``: the student ids imported and a list of
    ``(name, reason)``.
    """
    source = Path(source)
    if source.is_dir():
        entries = _entries_from_folder(source)
    elif zipfile.is_zipfile(source):
        entries = _entries_from_zip(source, notebook)
    else:
        raise FileNotFoundError(f"{source} is neither a folder nor a zip file")
    by_student, skipped = {}, []
    for parts, size, payload, problem in entries:
        name = "/".join(parts)
        if problem:
            skipped.append((name, problem))
            continue
        student, reason = _student_of(parts)
        if student is None:
            skipped.append((name, reason))
            continue
        if size > MAX_NOTEBOOK_BYTES:
            skipped.append((name, f"larger than {MAX_NOTEBOOK_BYTES // 1024 ** 2} MB"))
            continue
        if student in by_student:
            previous = by_student[student][0]
            # a folder with several notebooks: prefer the assignment's own name
            if parts[-1] == f"{notebook}.ipynb":
                skipped.append((previous, f"another notebook of {student} is named {notebook}.ipynb"))
            else:
                skipped.append((name, f"{student} already has a notebook ({previous})"))
                continue
        read, mtime = payload
        by_student[student] = (name, (read(), mtime))  # read now: a zip closes after the loop
    for student, (name, (data, mtime)) in sorted(by_student.items()):
        dest = Path(submitted) / student / assignment_id
        dest.mkdir(parents=True, exist_ok=True)
        (dest / f"{notebook}.ipynb").write_bytes(data)
        stamp = dt.datetime.fromtimestamp(mtime, dt.timezone.utc)
        (dest / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    return sorted(by_student), skipped
