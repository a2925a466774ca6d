"""CIFAR-10: 60,000 colour images of 32 x 32 pixels in 10 classes.

The official python release (``cifar-10-python.tar.gz``) unpacks to
``cifar-10-batches-py/`` with five training batches ``data_batch_1..5`` and
one ``test_batch`` of 10,000 images each, plus ``batches.meta`` (class
names). Each batch is a Python 2 pickle of a dict whose ``data`` is a
(10000, 3072) uint8 array: one image per row, stored as three 1024-value
channel planes (all red values row by row, then green, then blue), and whose
``labels`` is a list of 10,000 ints in 0..9.

Shapes: N images, H = W = 32, three channels, D = 3072 = 32 * 32 * 3.
"""
import codecs
import pickle

import numpy as np

from ._fetch import download, extract_dir, manual_help, md5sum
from ._paths import ChecksumError, DatasetError, resolve_root

__all__ = ["CIFAR10_CLASSES", "load_cifar10", "fetch_cifar10", "get_cifar10_data"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the dataset page
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIRNAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_FILES = TRAIN_BATCHES + ("test_batch", "batches.meta")
_SIDE, _CHANNELS = 32, 3
_D = _SIDE * _SIDE * _CHANNELS


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickle plain containers and numpy arrays, nothing else.

    A pickle can run arbitrary code; a dataset file needs only these few
    numpy globals, so anything else is refused.
    """

    def find_class(self, module, name):
        if name == "_reconstruct" and module in ("numpy.core.multiarray",
                                                 "numpy._core.multiarray"):
            return _reconstruct
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module == "_codecs" and name == "encode":
            # how Python 3's protocol 2 stores bytes; a pure function
            return codecs.encode
        raise pickle.UnpicklingError(f"unexpected object {module}.{name}")


try:
    from numpy._core.multiarray import _reconstruct  # numpy >= 2
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct


def _missing(folder):
    return [name for name in CIFAR10_FILES if not (folder / name).is_file()]


def _how_to_get(folder):
    archive = folder.parent / CIFAR10_ARCHIVE
    return ("Get it with:  python -m course_lib.data fetch cifar10\n"
            + manual_help(CIFAR10_URL, archive, "the archive (163 MB)")
            + f"\nThen run the fetch command above (it checks the MD5 and unpacks "
              f"it), or unpack it yourself so that {folder}/data_batch_1 exists.")


def _load_pickle(path):
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
            AttributeError, IndexError) as exc:
        raise DatasetError(
            f"{path} is damaged or not a CIFAR-10 batch ({exc}). Delete the folder "
            f"{path.parent} and run `python -m course_lib.data fetch cifar10`.") from exc
    if not isinstance(obj, dict):
        raise DatasetError(f"{path} does not hold a dict; it is not a CIFAR-10 batch.")
    # Python 2 pickles may give bytes keys depending on how they were written
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _read_batch(path):
    """One batch file -> X (N, 32, 32, 3) uint8, y (N,) int64."""
    batch = _load_pickle(path)
    for key in ("data", "labels"):
        if key not in batch:
            raise DatasetError(f"{path} has no {key!r} entry; it is not a CIFAR-10 batch.")
    data = np.asarray(batch["data"])
    y = np.asarray(batch["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _D:
        raise DatasetError(f"{path}: 'data' is {data.dtype} {data.shape}, "
                           f"expected uint8 (N, {_D}).")
    if y.shape != (data.shape[0],) or (y.size and (y.min() < 0 or y.max() > 9)):
        raise DatasetError(f"{path}: 'labels' must be {data.shape[0]} ints in 0..9.")
    # rows are channel planes: (N, 3, 32, 32) -> (N, 32, 32, 3)
    X = data.reshape(-1, _CHANNELS, _SIDE, _SIDE).transpose(0, 2, 3, 1)
    return X, y


def fetch_cifar10(root=None, progress=True):
    """Download and unpack CIFAR-10 unless it is already there.

    Downloads the official archive into ``root`` (a hidden temporary file),
    checks its MD5, unpacks it into a temporary folder and renames that to
    ``root/cifar-10-batches-py``, then deletes the archive. A complete copy
    makes this a no-op. An archive already at ``root/cifar-10-python.tar.gz``
    (put there by hand) is used instead of downloading.

    Parameters
    ----------
    root : path-like, optional
        Data root; default :func:`data_dir`.
    progress : bool
        Show a download progress bar.

    Returns
    -------
    Path
        The ``cifar-10-batches-py`` folder.

    Raises
    ------
    DatasetError
        No network (the message says how to get the file by hand).
    ChecksumError
        The archive is corrupt; it is deleted, so the next call starts over.
    """
    root = resolve_root(root)
    folder = root / CIFAR10_DIRNAME
    if not _missing(folder):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    archive = root / CIFAR10_ARCHIVE
    if archive.is_file():
        digest = md5sum(archive)
        if digest != CIFAR10_MD5:
            archive.unlink()
            raise ChecksumError(
                f"{archive} is corrupt or incomplete (MD5 {digest}, expected "
                f"{CIFAR10_MD5}); it was deleted. Run the same command again to "
                f"download a fresh copy.")
    else:
        download(CIFAR10_URL, archive, CIFAR10_MD5, progress=progress,
                 manual_help=_how_to_get(folder))
    extract_dir(archive, root, CIFAR10_DIRNAME, CIFAR10_FILES)
    archive.unlink()
    return folder


def load_cifar10(root=None, download=True, contiguous=True):
    """Load all of CIFAR-10 as uint8 images.

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``cifar-10-batches-py/``; default :func:`data_dir`.
    download : bool
        Fetch the dataset (:func:`fetch_cifar10`) when it is missing.
    contiguous : bool
        ``True`` (default): C-ordered image arrays. ``False``: the same
        values as transposed views of the files' channel-planar rows, with
        no reordering copy (0.4 s less); for code that only picks a few
        images (``X[idx]`` returns a C-ordered copy of those).

    Returns
    -------
    X_train : ndarray of uint8, shape (50000, 32, 32, 3)
    y_train : ndarray of int64, shape (50000,)
    X_test : ndarray of uint8, shape (10000, 32, 32, 3)
    y_test : ndarray of int64, shape (10000,)

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_cifar10()   # doctest: +SKIP
    >>> X_train.shape, X_test.shape, CIFAR10_CLASSES[3]      # doctest: +SKIP
    ((50000, 32, 32, 3), (10000, 32, 32, 3), 'cat')
    """
    root = resolve_root(root)
    folder = root / CIFAR10_DIRNAME
    missing = _missing(folder)
    if missing:
        where = (f"CIFAR-10 is incomplete: {folder} has no {missing[0]}"
                 if folder.is_dir() else f"CIFAR-10 is not in {root} (no {folder.name}/)")
        if not download:
            raise DatasetError(f"{where}.\n{_how_to_get(folder)}")
        try:
            fetch_cifar10(root)
        except DatasetError as exc:
            raise type(exc)(f"{where}, and fetching it failed:\n{exc}") from exc
    train = [_read_batch(folder / name) for name in TRAIN_BATCHES]
    X_test, y_test = _read_batch(folder / "test_batch")
    y_train = np.concatenate([y for _, y in train])
    if not contiguous:  # base: one planar block, (N, 3, 32, 32) -> (N, 32, 32, 3)
        planar = np.concatenate([X.transpose(0, 3, 1, 2) for X, _ in train])
        return planar.transpose(0, 2, 3, 1), y_train, X_test, y_test
    # copy the transposed views into one C-ordered block (concatenate would
    # keep their channel-planar memory layout, making every later op slower)
    X_train = np.empty((sum(len(y) for _, y in train), _SIDE, _SIDE, _CHANNELS),
                       dtype=np.uint8)
    start = 0
    for X, y in train:
        X_train[start:start + len(y)] = X
        start += len(y)
    return X_train, y_train, np.ascontiguousarray(X_test), y_test


def _check_count(name, value, low=0):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")


def _prepare(images, mean, flatten, channels_first, bias_trick, dtype):
    """uint8 images (N, 32, 32, 3) -> one freshly allocated float array."""
    n = images.shape[0]
    if flatten:
        out = np.empty((n, _D + bias_trick), dtype=dtype)
        x = out[:, :_D]
        x[...] = images.reshape(n, _D)  # (N, D), row order H, W, channel
        if bias_trick:
            out[:, _D] = 1
    else:
        src = images.transpose(0, 3, 1, 2) if channels_first else images
        out = x = src.astype(dtype, order="C")
    if mean is not None:
        x -= mean
    return out


def get_cifar10_data(num_training=49000, num_validation=1000, num_test=1000,
                     num_dev=500, subtract_mean=True, bias_trick=False,
                     flatten=True, channels_first=False, dtype=np.float64,
                     root=None, seed=0):
    """CIFAR-10 split and preprocessed the way the course uses it.

    - train: training images ``0 .. num_training-1``;
    - val: training images ``num_training .. num_training+num_validation-1``
      (by default 49000..49999);
    - test: the first ``num_test`` test images;
    - dev: ``num_dev`` training images drawn without replacement with
      ``numpy.random.default_rng(seed)``, for quick experiments.

    With ``subtract_mean`` the mean image of the *training split only* is
    subtracted from every split (the validation and test sets must not leak
    into preprocessing). The bias trick appends a constant 1 feature so that
    ``x @ W`` with ``W`` of shape (D + 1, C) includes the bias.

    Parameters
    ----------
    num_training, num_validation, num_test, num_dev : int
        Split sizes; ``num_training + num_validation <= 50000``,
        ``num_test <= 10000``, ``num_dev <= num_training``.
    subtract_mean : bool
    bias_trick : bool
        Append a column of ones; needs ``flatten=True``.
    flatten : bool
        Images as rows of D = 3072 values (order: row, column, channel).
    channels_first : bool
        Unflattened images as (N, 3, 32, 32) instead of (N, 32, 32, 3).
    dtype : floating dtype
    root : path-like, optional
        Data root; fetched there when missing.
    seed : int
        Seed of the dev subset.

    Returns
    -------
    dict
        ``X_train y_train X_val y_val X_test y_test X_dev y_dev`` (X as
        (N, 3072) or (N, 3073) with the bias trick, or (N, 32, 32, 3) /
        (N, 3, 32, 32); y int64), ``mean_image`` (the training mean, in the
        per-image layout of X without the bias column, float64) and
        ``class_names``.
    """
    for name, value, low in (("num_training", num_training, 1),
                             ("num_validation", num_validation, 0),
                             ("num_test", num_test, 0), ("num_dev", num_dev, 0)):
        _check_count(name, value, low)
    if num_training + num_validation > 50000:
        raise ValueError(
            f"num_training + num_validation = {num_training + num_validation} but "
            f"CIFAR-10 has only 50000 training images (validation images are taken "
            f"from the training set); lower one of them.")
    if num_test > 10000:
        raise ValueError(f"num_test = {num_test} but CIFAR-10 has only 10000 test images.")
    if num_dev > num_training:
        raise ValueError(f"num_dev = {num_dev} must not exceed num_training = "
                         f"{num_training} (dev images are drawn from the training split).")
    if bias_trick and not flatten:
        raise ValueError("bias_trick=True appends a feature column, which needs "
                         "flatten=True.")
    if channels_first and flatten:
        raise ValueError("channels_first=True applies to image arrays; pass "
                         "flatten=False with it.")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating type (np.float32 or np.float64), "
                         f"got {dtype}.")

    X_all, y_all, X_test_all, y_test_all = load_cifar10(root)
    train = slice(0, num_training)
    val = slice(num_training, num_training + num_validation)
    dev = np.random.default_rng(seed).choice(num_training, num_dev, replace=False)

    # accumulate in float64 over the uint8 pixels: no float copy of the train set
    mean_hwc = X_all[train].mean(axis=0, dtype=np.float64)  # (32, 32, 3)
    if flatten:
        mean_image = mean_hwc.reshape(_D)
    else:
        mean_image = mean_hwc.transpose(2, 0, 1) if channels_first else mean_hwc
    mean = mean_image.astype(dtype) if subtract_mean else None

    def prep(images):
        return _prepare(images, mean, flatten, channels_first, bias_trick, dtype)

    return {
        "X_train": prep(X_all[train]), "y_train": y_all[train].copy(),
        "X_val": prep(X_all[val]), "y_val": y_all[val].copy(),
        "X_test": prep(X_test_all[:num_test]), "y_test": y_test_all[:num_test].copy(),
        "X_dev": prep(X_all[dev]), "y_dev": y_all[dev],
        "mean_image": np.ascontiguousarray(mean_image),
        "class_names": CIFAR10_CLASSES,
    }


def _check(root):
    """Fast status for the CLI: (ok, folder, detail); reads only batches.meta."""
    folder = root / CIFAR10_DIRNAME
    missing = _missing(folder)
    if missing:
        what = f"no {missing[0]}" if folder.is_dir() else "not downloaded"
        return False, folder, f"{what}\n{_how_to_get(folder)}"
    meta = _load_pickle(folder / "batches.meta")
    per_batch = int(meta.get("num_cases_per_batch", 10000))
    need = per_batch * _D
    for name in TRAIN_BATCHES + ("test_batch",):
        size = (folder / name).stat().st_size
        if size < need:
            return False, folder, (f"{name} is only {size} bytes (expected more than "
                                   f"{need}); delete {folder} and fetch it again")
    names = meta.get("label_names", [])
    return True, folder, (f"train ({5 * per_batch}, 32, 32, 3) uint8, test "
                          f"({per_batch}, 32, 32, 3) uint8, {len(names)} classes")

