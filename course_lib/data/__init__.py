"""Datasets of the course: CIFAR-10, Fashion-MNIST / MNIST, Iris and 2-D toys.

Real datasets are cached under :func:`data_dir` (``$COURSE_DATA_DIR``, else
``~/.cache/course_lib``) and fetched on first use: downloads are
MD5-checked and written atomically, so an interrupted run never leaves a
file that later passes for complete. From a shell::

    python -m course_lib.data check            # what is there, what is missing
    python -m course_lib.data fetch cifar10    # or fashion-mnist, mnist

Every loader raises :class:`DatasetError` (or its subclass
:class:`ChecksumError`) with a message that says what to do.
"""
from ._paths import ChecksumError, DatasetError, data_dir
from .cifar10 import CIFAR10_CLASSES, fetch_cifar10, get_cifar10_data, load_cifar10
from .mnist import (FASHION_MNIST_CLASSES, MNIST_CLASSES, fetch_mnist, load_mnist,
                    read_idx, write_idx)
from .toy import load_iris, load_iris_2d, make_blobs, make_spiral, make_xor

__all__ = [
    "data_dir", "DatasetError", "ChecksumError",
    "CIFAR10_CLASSES", "load_cifar10", "fetch_cifar10", "get_cifar10_data",
    "FASHION_MNIST_CLASSES", "MNIST_CLASSES", "load_mnist", "fetch_mnist",
    "read_idx", "write_idx",
    "make_spiral", "make_xor", "make_blobs", "load_iris_2d", "load_iris",
]
