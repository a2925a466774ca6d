"""Tiny stand-ins for the real datasets, in their official file formats.

For tests (here and in other packages) that must exercise the loaders
without the 170 MB download: a fake ``cifar-10-batches-py`` with a few
random images per batch, its ``.tar.gz``, and fake (Fashion-)MNIST IDX
files. The pixel values are random; labels cycle through 0..9.
"""
import io
import pickle
import struct
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from .cifar10 import CIFAR10_CLASSES, CIFAR10_DIRNAME, TRAIN_BATCHES
from .mnist import MNIST_FILES, write_idx

__all__ = ["write_fake_cifar10", "pack_fake_cifar10", "write_fake_mnist"]


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING), as the official batches do.

    Python 3's protocol 2 would instead store bytes as a call to
    ``_codecs.encode``; the official files never contain that.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _py2_pickle(obj):
    """Pickle like the official batches: protocol 2, numpy 1.x global names."""
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    # numpy >= 2 writes numpy._core; the official files (numpy 1.x) say numpy.core
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n",
                                     b"cnumpy.core.multiarray\n")


def write_fake_cifar10(root, num_per_batch=10, seed=0):
    """Write ``root/cifar-10-batches-py`` with ``num_per_batch`` images per batch.

    Each batch dict has ``data`` (num_per_batch, 3072) uint8 in the official
    channel-planar row order, ``labels`` (a list; image i of batch b has
    label ``(b * num_per_batch + i) % 10``), ``filenames`` and
    ``batch_label``. Returns the folder.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / CIFAR10_DIRNAME
    folder.mkdir(parents=True, exist_ok=True)
    for b, name in enumerate(TRAIN_BATCHES + ("test_batch",)):
        labels = [(b * num_per_batch + i) % 10 for i in range(num_per_batch)]
        batch = {"batch_label": f"fake {name}",
                 "labels": labels,
                 "data": rng.integers(0, 256, (num_per_batch, 3072), dtype=np.uint8),
                 "filenames": [f"fake_{b}_{i}.png" for i in range(num_per_batch)]}
        (folder / name).write_bytes(_py2_pickle(batch))
    meta = {"label_names": list(CIFAR10_CLASSES), "num_cases_per_batch": num_per_batch,
            "num_vis": 3072}
    (folder / "batches.meta").write_bytes(_py2_pickle(meta))
    return folder


def pack_fake_cifar10(archive, num_per_batch=10, seed=0, extra_members=()):
    """Write a ``cifar-10-python.tar.gz`` look-alike; return its path.

    ``extra_members`` is a sequence of ``(tarfile.TarInfo, bytes or None)``
    appended after the dataset (to build malicious archives in tests).
    """
    archive = Path(archive)
    with tempfile.TemporaryDirectory() as staging:
        folder = write_fake_cifar10(staging, num_per_batch, seed)
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder, arcname=CIFAR10_DIRNAME)
            for info, payload in extra_members:
                tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return archive


def write_fake_mnist(folder, num_train=12, num_test=6, gz=True, seed=0):
    """Write the four (Fashion-)MNIST IDX files with tiny 28 x 28 images.

    Returns the folder. Labels are ``arange(n) % 10`` as uint8.
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = (rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8),
              (np.arange(num_train) % 10).astype(np.uint8),
              rng.integers(0, 256, (num_test, 28, 28), dtype=np.uint8),
              (np.arange(num_test) % 10).astype(np.uint8))
    for name, array in zip(MNIST_FILES, arrays):
        write_idx(folder / f"{name}{suffix}", array)
    return folder
