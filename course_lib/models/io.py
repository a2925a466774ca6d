"""Save a trained model's parameters to a file and load them into a model later.

::

    save_params(model, "fc_net.npz")           # after solver.train()
    ...
    model = FullyConnectedNet([100, 100], init="he", seed=0)   # same architecture
    load_params(model, "fc_net.npz")
    model.predict(X_test)

The file is an ordinary ``.npz`` archive without pickled objects (so loading
it cannot run code): one array per parameter (``param/fc1.W``, ...), the
running statistics of the batchnorm layers (``bn/fc1/running_mean``, ...,
needed for test-mode predictions) and a little metadata: the model's class and
the hyperparameters that change what the parameters compute (``activation``,
``normalization``). Only the numbers are stored, not the architecture: build
the model with the same arguments, then load. A file that does not fit the
model is refused with a message naming each missing, extra or mis-shaped
parameter, and the model is left unchanged.

``load_params`` also reads a :class:`~course_lib.solver.Solver` checkpoint
(the model's parameters at the end of that epoch), which has the same layout.

For resuming training (optimizer state, histories, random streams) use
``Solver.save_checkpoint`` / ``Solver.resume`` instead.
"""
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from course_lib import _atomic

__all__ = ["save_params", "load_params", "PARAMS_FORMAT"]

PARAMS_FORMAT = "course_lib.models.params"
PARAMS_VERSION = 1
# A Solver checkpoint stores the model the same way; load_params accepts it too.
_CHECKPOINT_FORMAT = "course_lib.solver.checkpoint"
# Hyperparameters that change the function the parameters compute: loading
# tanh weights into a ReLU network would run, and silently give nonsense.
_INFO_ATTRS = ("activation", "normalization")


def save_params(model, path):
    """Write ``model.params`` (and batchnorm statistics) to ``path``, atomically.

    Parameters
    ----------
    model : object
        Has ``params`` (dict of arrays) and, optionally, ``bn_stats`` (dict
        of :class:`~course_lib.normalization.BatchNormStats`).
    path : str or Path
        The ``.npz`` file to write; missing parent directories are created.
        The data go to a temporary file in the same directory that is then
        renamed over ``path``, so an interrupted save never leaves a
        half-written file (an existing file stays as it was).

    Returns
    -------
    Path
    """
    path = Path(path)
    params = getattr(model, "params", None)
    if not isinstance(params, dict):
        raise TypeError(f"save_params needs a model with a params dict, got {type(model).__name__}")
    arrays = {
        "format": np.array(PARAMS_FORMAT),
        "format_version": np.array(PARAMS_VERSION),
        "model_class": np.array(qualname(type(model))),
        "model_info": np.array(json.dumps(_model_info(model))),
    }
    for name, value in params.items():
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"parameter {name!r} has dtype {value.dtype}; only numeric arrays "
                            "can be saved")
        arrays["param/" + name] = value
    for layer, stats in bn_stats(model).items():
        arrays[f"bn/{layer}/running_mean"] = np.asarray(stats.running_mean)
        arrays[f"bn/{layer}/running_var"] = np.asarray(stats.running_var)

    return write_npz_atomic(path, arrays)


def load_params(model, path):
    """Copy the parameters (and batchnorm statistics) saved in ``path`` into ``model``.

    Every array is checked before any is copied: on error the model is left
    unchanged. Arrays are cast to the dtype of the model's own parameters, so
    float64 weights load into a float32 model.

    Parameters
    ----------
    model : object
        Built with the same architecture as the saved one.
    path : str or Path
        A file written by :func:`save_params` (or a Solver checkpoint).

    Returns
    -------
    model

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the file is truncated or corrupt, is not a parameter file, or does
        not match the model: the message names the missing, extra and
        mis-shaped parameters and the hyperparameters that differ.
    """
    path = Path(path)
    arrays = read_npz(path, advice=". Save it again with save_params.")
    fmt = str(arrays["format"]) if "format" in arrays else None
    if fmt not in (PARAMS_FORMAT, _CHECKPOINT_FORMAT):
        raise ValueError(f"{path}: not a parameter file written by save_params (no 'format' = "
                         f"{PARAMS_FORMAT!r} entry; it holds {sorted(arrays)[:8]})")
    saved_class = str(arrays.get("model_class", "an unknown model"))
    hint = (f"the file was saved from a {saved_class}; build the model with the same "
            "architecture (layer sizes, normalization, activation) before loading")

    problems = []
    if "model_info" in arrays:
        saved_info = json.loads(str(arrays["model_info"]))
        info = _model_info(model)
        problems += [f"{key} is {saved_info[key]!r} in the file but {info[key]!r} in the model"
                     for key in _INFO_ATTRS
                     if key in saved_info and key in info and saved_info[key] != info[key]]
    params = model.params
    saved = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    problems += _compare("parameter", saved, params)
    stats = bn_stats(model)
    saved_stats = {k[len("bn/"):]: v for k, v in arrays.items() if k.startswith("bn/")}
    model_stats = {f"{layer}/{field}": getattr(s, field) for layer, s in stats.items()
                   for field in ("running_mean", "running_var")}
    problems += _compare("batchnorm statistic", saved_stats, model_stats)
    if problems:
        raise ValueError(f"{path} does not match the {type(model).__name__}:\n  - "
                         + "\n  - ".join(problems) + f"\n{hint}")

    for name, value in saved.items():
        params[name] = value.astype(params[name].dtype, copy=True)
    for layer, s in stats.items():
        for field in ("running_mean", "running_var"):
            value = saved_stats[f"{layer}/{field}"]
            setattr(s, field, value.astype(np.asarray(getattr(s, field)).dtype, copy=True))
    return model


def _compare(what, saved, current):
    """What ``saved`` lacks, has in excess, or shapes otherwise than ``current``, as messages."""
    problems = []
    missing = [name for name in current if name not in saved]
    extra = sorted(name for name in saved if name not in current)
    if missing:
        problems.append(f"{what} missing from the file: {', '.join(missing)}")
    if extra:
        problems.append(f"{what} in the file but not in the model: {', '.join(extra)}")
    for name, value in current.items():
        if name in saved and saved[name].shape != np.shape(value):
            problems.append(f"{what} {name} has shape {saved[name].shape} in the file but "
                            f"{np.shape(value)} in the model")
    return problems


def write_npz_atomic(path, arrays):
    """Write ``arrays`` (a dict name -> array) as an .npz archive at ``path``.

    Whole or not at all (see :mod:`course_lib._atomic`): an interrupted
    write never leaves a half-written file under ``path``. Returns ``path``.
    """
    with _atomic.replacing(path, "wb") as f:
        np.savez(f, **arrays)
    return Path(path)


def read_npz(path, what="parameters", advice=""):
    """Every array of an .npz file, read eagerly so that a damaged file fails here.

    Never unpickles. A truncated or corrupt file raises ``ValueError`` saying
    that the ``what`` (e.g. "checkpoint") cannot be read, followed by
    ``advice``; a missing file raises ``FileNotFoundError``.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise ValueError("it holds a single .npy array, not an .npz archive")
            return {key: f[key] for key in f.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: cannot read the {what}; the file is truncated, corrupt "
                         f"or not an .npz archive ({type(e).__name__}: {e}){advice}") from e


def _model_info(model):
    """The hyperparameters of ``_INFO_ATTRS`` that the model has, when JSON can hold them."""
    info = {key: getattr(model, key) for key in _INFO_ATTRS if hasattr(model, key)}
    return {key: value for key, value in info.items()
            if value is None or isinstance(value, (str, int, float, bool))}


def bn_stats(model):
    """The model's batchnorm running statistics, ``{layer: BatchNormStats}`` (empty without BN)."""
    return getattr(model, "bn_stats", None) or {}


def qualname(obj):
    """``module.name`` of a class or function (of the type, for other callables)."""
    if not hasattr(obj, "__qualname__"):
        obj = type(obj)
    return f"{obj.__module__}.{obj.__qualname__}"
