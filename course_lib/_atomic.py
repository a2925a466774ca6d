"""Write a file whole or not at all.

Everything course_lib saves (checkpoints, stored runs, grading reports and
grade exports) goes through :func:`replacing`: the data is written to a
temporary file in the target's folder, flushed to disk, given the
permissions a plain ``open()`` would have given it, and renamed over the
target in one step (``os.replace``). A reader sees the old file or the new
one, never half of the new one; a write that fails or is interrupted
removes its temporary file and leaves the old file as it was. Temporary
names are unique (``tempfile.mkstemp``), so two processes writing the same
target do not write into each other's temporary file.
"""
import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["replacing", "write_bytes", "write_text"]


def _umask():
    """The process's umask. Read from /proc where it can be (Linux): setting
    it to read it back, the portable way, changes it for every thread of
    the process for a moment."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replacing(path, mode="wb", encoding=None, newline=None):
    """Context giving a file object whose contents replace ``path`` on success.

    ``mode`` is ``"wb"`` or ``"w"`` (text, with ``encoding`` and
    ``newline`` as for ``open``). The folder is made if missing. On an
    exception inside the block, the temporary file is removed, ``path`` is
    left untouched and the exception propagates.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"replacing() writes with mode 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())   # as open() would, not mkstemp's 0600
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` whole or not at all; returns ``path``."""
    with replacing(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path, text, encoding="utf-8", newline=None):
    """Write ``text`` to ``path`` whole or not at all; returns ``path``."""
    with replacing(path, "w", encoding=encoding, newline=newline) as f:
        f.write(text)
    return Path(path)
