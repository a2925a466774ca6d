"""Stored training runs: the small results of a long run, checked by a checksum.

Some results the book shows come from a run too long to repeat at every
build (chapter 9's ConvNet trains for minutes on CIFAR-10). Such a run is
stored as two files beside each other:

- ``NAME.npz``: the arrays (loss and accuracy histories, learned filters, a
  confusion matrix, ...);
- ``NAME.json``: what produced them (``command``, ``commit``, ``cpu``, the
  figures the run printed) and the SHA-256 of ``NAME.npz``.

:func:`save_run` writes both atomically (a temporary file renamed into
place, the .npz before the record that vouches for it), so an interrupted
save never leaves a file that :func:`load_run` would accept. :func:`load_run`
checks the checksum and says how to re-create the run when it does not match.

    >>> run = save_run("results/demo", {"command": "python demo.py"},
    ...                loss_history=np.array([2.3, 1.9]))      # doctest: +SKIP
    >>> run = load_run("results/demo")                          # doctest: +SKIP
    >>> run["loss_history"], run.meta["command"]                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course_lib import _atomic

__all__ = ["StoredRun", "save_run", "load_run", "RUN_FORMAT"]

#: Written into every record; load_run refuses records of another format.
RUN_FORMAT = "course_lib.runs/1"


@dataclass
class StoredRun:
    """A stored run: ``arrays`` by name (also ``run[name]``) and the ``meta`` record."""
    arrays: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.arrays[name]

    def __contains__(self, name):
        return name in self.arrays


def _paths(path):
    base = Path(path)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_suffix(".npz"), base.with_suffix(".json")


def save_run(path, meta: dict, **arrays) -> StoredRun:
    """Write ``arrays`` to ``path``.npz and ``meta`` plus its checksum to ``path``.json.

    ``meta`` must be JSON-serialisable and should name the ``command`` that
    re-creates the run. Object arrays are refused (``load_run`` reads
    without pickle). Returns the stored run as :func:`load_run` would.
    """
    if not arrays:
        raise ValueError("save_run needs at least one array")
    clean = {}
    for name, value in arrays.items():
        value = np.asarray(value)
        if value.dtype == object:
            raise TypeError(f"array {name!r} has dtype object; store numbers or strings")
        clean[name] = value
    npz_path, json_path = _paths(path)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **clean)
    data = buffer.getvalue()
    record = {"format": RUN_FORMAT, **meta, "sha256": hashlib.sha256(data).hexdigest(),
              "arrays": {k: [str(v.dtype), list(v.shape)] for k, v in clean.items()}}
    text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    _atomic.write_bytes(npz_path, data)
    _atomic.write_bytes(json_path, text.encode("utf-8"))
    return StoredRun(clean, record)


def load_run(path, sha256: str | None = None) -> StoredRun:
    """Read a run written by :func:`save_run`, after checking its SHA-256.

    ``sha256``, when given (the whole digest or its first 12+ hex digits), is
    the run the caller was written about: a run exported again since (a new
    checksum) is refused, so a page whose outputs are cached by its code
    never shows figures of one run beside prose written about another.

    Raises
    ------
    FileNotFoundError
        The .npz or its .json record is missing.
    ValueError
        The record is not a stored run, or the .npz does not match its
        checksum (changed, truncated or half-copied); the message gives the
        command that re-creates it.
    """
    npz_path, json_path = _paths(path)
    if not json_path.is_file():
        raise FileNotFoundError(f"{json_path}: no record of a stored run here (expected beside "
                                f"{npz_path.name}; save_run writes both)")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{json_path} is not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != RUN_FORMAT:
        raise ValueError(f"{json_path} is not a {RUN_FORMAT} record")
    redo = f"; re-create it with: {meta['command']}" if meta.get("command") else ""
    if not npz_path.is_file():
        raise FileNotFoundError(f"{npz_path} is missing{redo}")
    data = npz_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        raise ValueError(f"{npz_path} has SHA-256 {digest[:12]}..., its record {json_path.name} "
                         f"says {str(meta.get('sha256'))[:12]}...: the file was changed or only "
                         f"partly copied{redo}")
    if sha256 is not None:
        expected = sha256.strip().lower()
        if len(expected) < 12:
            raise ValueError("sha256= needs at least the first 12 hex digits of the digest")
        if not digest.startswith(expected):
            raise ValueError(f"{npz_path} is the run {digest[:12]}..., the caller expects "
                             f"{expected[:12]}...: the run was exported again; check what "
                             f"loads it against the new run and update the expected sha256")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    return StoredRun(arrays, meta)
