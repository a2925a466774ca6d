"""Reading what a sandbox left behind: only plain data crosses the boundary.

Everything in a sandbox's ``out/`` folder was written by student code (the
runner runs in the student's process), so the trusted side reads it as
hostile input:

- a path must stay inside the work folder and name a regular file, opened
  with ``O_NOFOLLOW`` (no symbolic links to the gradebook or the solutions);
- JSON is size-limited and must parse as JSON;
- an array file must be a ``.npy`` (not a pickle, not an ``.npz`` archive
  that :func:`numpy.load` would open lazily), version 1-3, whose header
  names a plain numeric dtype (no objects, no fields), whose size matches
  the file exactly and stays under a limit; it is read with
  ``allow_pickle=False`` into an exact :class:`numpy.ndarray`.

Reading is also bounded in memory: a :class:`Budget` (derived by the caller
from the size of the expected result) is charged with every array's size as
its header states it, *before* the array is read, so a sparse file, a huge
array or many references to one file cost the student that result, never
the grading process its memory.

Each rejection raises :class:`ResultRejected` with a reason the feedback shows.
"""
import json
import os
import stat
from pathlib import Path

import numpy as np

__all__ = ["ResultRejected", "Budget", "open_inside", "read_json", "read_array",
           "MAX_ARRAY_BYTES", "MAX_JSON_BYTES"]

MAX_ARRAY_BYTES = 256 * 1024 ** 2
MAX_JSON_BYTES = 16 * 1024 ** 2
_KINDS = "biufc"  # bool, int, unsigned, float, complex

try:  # numpy 2: the private reader that also knows format 3.0
    from numpy.lib._format_impl import _read_array_header as _read_header
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.lib.format import _read_array_header as _read_header


class ResultRejected(ValueError):
    """A result file the trusted side refuses to read, and why."""


class Budget:
    """Bytes the trusted side may spend on reading back one result; every
    array (and every node of the result's tree) is charged before it is
    read, and going over raises :class:`ResultRejected`."""

    def __init__(self, limit, expected=None):
        self.limit, self.used, self.expected = int(limit), 0, expected

    def charge(self, nbytes, what="the result"):
        self.used += int(nbytes)
        if self.used > self.limit:
            about = f" (the expected result has about {self.expected} bytes)" \
                if self.expected is not None else ""
            raise ResultRejected(f"{what}: the returned value is larger than the grader reads "
                                 f"back for this call ({self.limit} bytes){about}; return "
                                 "exactly what the function should return")


def open_inside(workdir, rel, max_bytes):
    """A binary file object for ``workdir/rel``: inside ``workdir``, no
    symbolic link anywhere on the way, a regular file of at most
    ``max_bytes``."""
    workdir = Path(workdir).resolve()
    rel = str(rel)
    if rel.startswith("/") or "\0" in rel:
        raise ResultRejected(f"result path {rel[:80]!r} is not inside the work folder")
    parts = Path(rel).parts
    if not parts or any(p in ("..", "") for p in parts):
        raise ResultRejected(f"result path {rel[:80]!r} is not inside the work folder")
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:  # walk down without following links
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:
                raise ResultRejected(f"result path {rel[:80]!r}: {part!r} is not a folder "
                                     "(a symbolic link?)") from None
            os.close(fd)
            fd = nxt
        try:
            leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
        except FileNotFoundError:
            raise ResultRejected(f"result file {rel[:80]} is missing") from None
        except OSError as exc:
            raise ResultRejected(f"result file {rel[:80]} cannot be opened safely "
                                 f"(a symbolic link?): {exc.strerror}") from None
    finally:
        os.close(fd)
    info = os.fstat(leaf)
    if not stat.S_ISREG(info.st_mode):
        os.close(leaf)
        raise ResultRejected(f"result file {rel[:80]} is not a regular file")
    if info.st_size > max_bytes:
        os.close(leaf)
        raise ResultRejected(f"result file {rel[:80]} is {info.st_size} bytes, more than the "
                             f"limit of {max_bytes}")
    return os.fdopen(leaf, "rb")


def read_json(workdir, rel, max_bytes=MAX_JSON_BYTES):
    """Parsed JSON of ``workdir/rel``; ``None`` if missing or not JSON."""
    try:
        with open_inside(workdir, rel, max_bytes) as f:
            return json.loads(f.read().decode("utf-8"))
    except (ResultRejected, OSError, ValueError, RecursionError):
        return None


def read_array(workdir, rel, max_bytes=MAX_ARRAY_BYTES, budget=None):
    """The plain ``ndarray`` stored in the ``.npy`` file ``workdir/rel``;
    its size (from the header) is charged to ``budget`` before it is read."""
    with open_inside(workdir, rel, max_bytes) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            version = np.lib.format.read_magic(f)
        except ValueError:
            raise ResultRejected(f"{rel}: not a .npy array file (a pickle or an archive?)") \
                from None
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ResultRejected(f"{rel}: unknown .npy format version {version}")
        try:
            shape, fortran, dtype = _read_header(f, version, max_header_size=10000)
        except (ValueError, SyntaxError, TypeError) as exc:
            raise ResultRejected(f"{rel}: malformed .npy header ({exc})") from None
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None \
                or dtype.kind not in _KINDS:
            raise ResultRejected(f"{rel}: arrays of dtype {dtype} are not accepted "
                                 "(only numbers and booleans)")
        count = 1
        for n in shape:
            count *= int(n)
        if count * dtype.itemsize != size - f.tell():
            raise ResultRejected(f"{rel}: the header promises {count} values of {dtype}, but "
                                 f"the file holds {size - f.tell()} bytes")
        if budget is not None:
            budget.charge(count * dtype.itemsize, f"{rel} (shape {tuple(shape)}, {dtype})")
        f.seek(0)
        array = np.load(f, allow_pickle=False)
    if type(array) is not np.ndarray:
        raise ResultRejected(f"{rel}: not a plain array")
    return array
