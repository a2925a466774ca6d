"""Where datasets live, and the errors every loader raises.

The data root is, in order:

1. ``$COURSE_DATA_DIR`` when it is set and not empty. It must be an existing
   directory: a typo there should stop you, not silently start a 170 MB
   download into a new folder.
2. ``$XDG_CACHE_HOME/course_lib`` when ``$XDG_CACHE_HOME`` is set.
3. ``~/.cache/course_lib``.

The per-user default (2, 3) is created on demand by the ``fetch_*``
functions. Each dataset has its own folder below the root:
``cifar-10-batches-py/``, ``fashion-mnist/``, ``mnist/``.
"""
import os
from pathlib import Path

__all__ = ["DatasetError", "ChecksumError", "data_dir", "ENV_VAR"]

ENV_VAR = "COURSE_DATA_DIR"


class DatasetError(RuntimeError):
    """A dataset is missing, incomplete or unreadable; the message says how
    to fix it."""


class ChecksumError(DatasetError):
    """A downloaded or local archive does not have the published checksum."""


def _default_dir():
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "course_lib"


def data_dir():
    """Return the data root as an absolute :class:`~pathlib.Path`.

    Raises
    ------
    DatasetError
        If ``$COURSE_DATA_DIR`` is set but is not an existing directory, or
        the default location exists but is a file.
    """
    value = os.environ.get(ENV_VAR, "")
    if value.strip():
        path = Path(value).expanduser().absolute()
        if path.is_dir():
            return path
        problem = "is a file, not a directory" if path.exists() else "does not exist"
        raise DatasetError(
            f"${ENV_VAR} is set to {str(path)!r}, which {problem}.\n"
            f"Fix it in one of these ways:\n"
            f"  - create the directory:      mkdir -p '{path}'\n"
            f"  - or point it elsewhere:      export {ENV_VAR}=/path/to/data\n"
            f"  - or unset it to use the default {_default_dir()}:  unset {ENV_VAR}\n"
            f"(`python -m course_lib.data fetch cifar10` creates the directory for you.)")
    path = _default_dir().absolute()
    if path.exists() and not path.is_dir():
        raise DatasetError(
            f"The default data directory {path} exists but is a file. Move the file "
            f"away, or set ${ENV_VAR} to a directory for the datasets.")
    return path


def resolve_root(root):
    """``root`` as an absolute Path (``data_dir()`` when None); reject files."""
    if root is None:
        return data_dir()
    path = Path(root).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise DatasetError(f"The data root {path} is a file; pass a directory.")
    return path


def root_origin():
    """A few words saying where the data root came from (for messages)."""
    if os.environ.get(ENV_VAR, "").strip():
        return f"from ${ENV_VAR}"
    if os.environ.get("XDG_CACHE_HOME"):
        return f"default: $XDG_CACHE_HOME/course_lib; set ${ENV_VAR} to change it"
    return f"default; set ${ENV_VAR} to change it"
