"""MNIST and Fashion-MNIST: 70,000 greyscale 28 x 28 images in 10 classes.

Both ship as the same four IDX files (60,000 training and 10,000 test
images, gzipped). :func:`load_mnist` looks for them, in order, in

1. ``<data root>/fashion-mnist/`` or ``<data root>/mnist/``;
2. for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist/``
   (``apt-get install dataset-fashion-mnist``);
3. otherwise downloads them (MD5-checked) into the first folder.

A folder counts only when it holds all four files, each either gzipped
(``.gz``) or plain.
"""
import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ._fetch import download
from ._paths import ENV_VAR, DatasetError, resolve_root

__all__ = ["FASHION_MNIST_CLASSES", "MNIST_CLASSES", "load_mnist", "fetch_mnist",
           "read_idx", "write_idx"]

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
MNIST_CLASSES = tuple(str(d) for d in range(10))
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Official locations and the MD5s of the .gz files (as in torchvision).
SOURCES = {
    "fashion": {
        "dirname": "fashion-mnist",
        "name": "Fashion-MNIST",
        "url": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "md5": {"train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310"},
        "classes": FASHION_MNIST_CLASSES,
    },
    "mnist": {
        "dirname": "mnist",
        "name": "MNIST",
        "url": "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "md5": {"train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c"},
        "classes": MNIST_CLASSES,
    },
}
# Debian's dataset-fashion-mnist package (recompressed: other MD5s, same data).
SYSTEM_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

# IDX type byte -> big-endian numpy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4",
              0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def _parse_header(head, path):
    """(dtype, shape, header_size) from the first bytes of an IDX file."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
        raise DatasetError(
            f"{path} is not an IDX file: bad magic number "
            f"0x{head[:4].hex() or 'empty'} (expected 0x0000 then a type byte such "
            f"as 08 and the number of dimensions).")
    ndim = head[3]
    size = 4 + 4 * ndim
    if ndim == 0 or len(head) < size:
        raise DatasetError(f"{path}: IDX header is truncated or has {ndim} dimensions.")
    shape = struct.unpack(f">{ndim}I", head[4:size])
    return np.dtype(_IDX_TYPES[head[2]]), shape, size


def read_idx(path):
    """Read an IDX file (the format of MNIST), gzipped or plain.

    Parameters
    ----------
    path : path-like
        Compression is detected from the content, not the name.

    Returns
    -------
    ndarray
        In native byte order; e.g. uint8 of shape (60000, 28, 28) for
        ``train-images-idx3-ubyte``, (60000,) for the labels.

    Raises
    ------
    DatasetError
        Bad magic number, truncated file or trailing bytes.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path} is a damaged or truncated gzip file ({exc}); "
                           f"delete it and download it again.") from exc
    dtype, shape, offset = _parse_header(raw[:64], path)
    count = int(np.prod(shape, dtype=np.int64))
    expected, found = count * dtype.itemsize, len(raw) - offset
    if found != expected:
        problem = "is truncated" if found < expected else "has trailing bytes"
        raise DatasetError(
            f"{path} {problem}: its header says shape {shape} ({expected} bytes of "
            f"data) but it holds {found}. Delete it and download it again.")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in .gz)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim == 0:
        raise ValueError(f"IDX cannot store a {array.ndim}-d {array.dtype} array.")
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = head + array.astype(_IDX_TYPES[code]).tobytes()
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


def _source(kind):
    if kind not in SOURCES:
        raise ValueError(f"kind must be 'fashion' or 'mnist', got {kind!r}.")
    return SOURCES[kind]


def _file_in(folder, name):
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _candidates(kind, root):
    dirs = [root / SOURCES[kind]["dirname"]]
    if kind == "fashion":
        dirs.append(SYSTEM_FASHION_MNIST_DIR)
    return dirs


def _locate(kind, root):
    """The first candidate folder holding all four files, else None."""
    for folder in _candidates(kind, root):
        if all(_file_in(folder, name) for name in MNIST_FILES):
            return folder
    return None


def _how_to_get(kind, root):
    src = SOURCES[kind]
    folder = root / src["dirname"]
    lines = [f"Get it with:  python -m course_lib.data fetch "
             f"{'fashion-mnist' if kind == 'fashion' else 'mnist'}"]
    if kind == "fashion":
        lines.append(f"or on Debian/Ubuntu:  sudo apt-get install dataset-fashion-mnist "
                     f"(puts the files in {SYSTEM_FASHION_MNIST_DIR})")
    lines.append(f"or by hand: download these four files from {src['url']}")
    lines.append("  " + "  ".join(f"{name}.gz" for name in MNIST_FILES))
    lines.append(f"into {folder}/ (the data root is ${ENV_VAR} when set, "
                 f"else ~/.cache/course_lib).")
    return "\n".join(lines)


def fetch_mnist(kind="fashion", root=None, progress=True):
    """Make the four files of (Fashion-)MNIST available; return their folder.

    Does nothing when a complete copy is found (see the module docstring);
    otherwise downloads the missing ``.gz`` files into
    ``<root>/fashion-mnist`` or ``<root>/mnist``, each to a temporary file
    renamed into place after its MD5 matched.
    """
    src = _source(kind)
    root = resolve_root(root)
    found = _locate(kind, root)
    if found is not None:
        return found
    folder = root / src["dirname"]
    for name in MNIST_FILES:
        if _file_in(folder, name) is None:
            download(src["url"] + name + ".gz", folder / f"{name}.gz", src["md5"][name],
                     progress=progress, manual_help=_how_to_get(kind, root))
    return folder


def load_mnist(kind="fashion", root=None, download=True):
    """Load Fashion-MNIST (``kind="fashion"``) or MNIST (``kind="mnist"``).

    Returns
    -------
    X_train : ndarray of uint8, shape (60000, 28, 28)
    y_train : ndarray of int64, shape (60000,)
    X_test : ndarray of uint8, shape (10000, 28, 28)
    y_test : ndarray of int64, shape (10000,)

    Class names: :data:`FASHION_MNIST_CLASSES`, or the digits for MNIST.
    """
    src = _source(kind)
    root = resolve_root(root)
    folder = _locate(kind, root)
    if folder is None:
        looked = " and ".join(str(d) for d in _candidates(kind, root))
        where = f"{src['name']} was not found (looked in {looked})"
        if not download:
            raise DatasetError(f"{where}.\n{_how_to_get(kind, root)}")
        try:
            folder = fetch_mnist(kind, root)
        except DatasetError as exc:
            raise type(exc)(f"{where}, and fetching it failed:\n{exc}") from exc
    arrays = [read_idx(_file_in(folder, name)) for name in MNIST_FILES]
    X_train, y_train, X_test, y_test = arrays
    for X, y, split in ((X_train, y_train, "train"), (X_test, y_test, "t10k")):
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
            raise DatasetError(
                f"{folder}: {split} images {X.shape} and labels {y.shape} do not "
                f"match; the files are mixed up or damaged.")
    return X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64)


def _idx_header(path):
    """Shape of an IDX file from its header; checks the size without decoding."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == _GZIP_MAGIC
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as f:
            head = f.read(64)
    except (EOFError, OSError, zlib.error) as exc:
        raise DatasetError(f"{path} is damaged ({exc}).") from exc
    dtype, shape, offset = _parse_header(head, path)
    size = offset + int(np.prod(shape)) * dtype.itemsize
    if gzipped:
        # the gzip trailer's last 4 bytes hold the uncompressed size mod 2**32
        with open(path, "rb") as f:
            f.seek(-4, 2)
            stored = struct.unpack("<I", f.read(4))[0]
        ok = stored == size % 2**32
    else:
        ok = path.stat().st_size == size
    if not ok:
        raise DatasetError(f"{path} is truncated or damaged (its size does not "
                           f"match its header); delete it and fetch it again.")
    return shape


def _check(kind, root):
    """Fast status for the CLI: (ok, folder or None, detail)."""
    folder = _locate(kind, root)
    if folder is None:
        return False, None, _how_to_get(kind, root)
    shapes = [_idx_header(_file_in(folder, name)) for name in MNIST_FILES]
    note = " (Debian package dataset-fashion-mnist)" \
        if folder == SYSTEM_FASHION_MNIST_DIR else ""
    return True, folder, (f"train {shapes[0]}, test {shapes[2]} uint8{note}")
