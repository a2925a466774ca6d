"""Does course_lib.data read IDX files and find or fetch (Fashion-)MNIST?

Only fake IDX files built in tmp_path are used; Debian's system folder is
pointed at an empty directory so the real data is never read.
"""
import gzip
import struct

import numpy as np
import pytest

from course_lib.data import (FASHION_MNIST_CLASSES, ChecksumError, DatasetError,
                             fetch_mnist, load_mnist, read_idx, write_idx)
from course_lib.data import mnist
from course_lib.data._fetch import md5sum
from course_lib.data.fakes import write_fake_mnist

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture
def root(tmp_path, monkeypatch):
    """Empty data root, no system copy, downloads to a closed port."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))
    monkeypatch.setattr(mnist, "SYSTEM_FASHION_MNIST_DIR", tmp_path / "no-system-copy")
    for kind in ("fashion", "mnist"):
        monkeypatch.setitem(mnist.SOURCES[kind], "url", "http://127.0.0.1:9/")
    return data


# ---- read_idx -------------------------------------------------------------------

def test_read_idx_parses_a_hand_built_file(tmp_path):
    """Are the big-endian header and values decoded as the format says?"""
    raw = bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 2, 3) + struct.pack(
        ">6h", 1, -2, 258, 0, 32767, -32768)
    (tmp_path / "a.idx").write_bytes(raw)
    x = read_idx(tmp_path / "a.idx")
    assert x.dtype == np.int16 and x.dtype.isnative
    np.testing.assert_array_equal(x, [[1, -2, 258], [0, 32767, -32768]])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32,
                                   np.float32, np.float64])
@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_write_then_read_idx_round_trips(tmp_path, dtype, name):
    """Does every IDX type survive write_idx/read_idx, gzipped or not?"""
    x = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = write_idx(tmp_path / name, x)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    y = read_idx(path)
    assert y.dtype == x.dtype and y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y, x)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    """Is a gzipped file read even when its name has no .gz?"""
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8), compress=True)
    np.testing.assert_array_equal(read_idx(path), np.arange(5))


def test_bad_magic_number_is_reported(tmp_path):
    """Is a file that does not start 00 00 <type> <ndim> rejected?"""
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(DatasetError, match="bad magic number 0x12340801"):
        read_idx(tmp_path / "bad")


@pytest.mark.parametrize("cut, message", [(3, "is truncated"), (-1, "has trailing bytes")])
def test_size_must_match_the_header(tmp_path, cut, message):
    """Are truncated files and files with extra bytes both refused?"""
    path = write_idx(tmp_path / "x", np.zeros((4, 5), np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[:-cut] if cut > 0 else data + b"\x00")
    with pytest.raises(DatasetError, match=rf"{message}.*shape \(4, 5\) \(20 bytes"):
        read_idx(path)


def test_truncated_gzip_is_reported(tmp_path):
    """Is a gzip stream cut short reported as damaged, with what to do?"""
    path = write_idx(tmp_path / "x.gz", np.arange(1000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DatasetError, match="damaged or truncated gzip.*download it again"):
        read_idx(path)


def test_write_idx_refuses_unsupported_types(tmp_path):
    """Does write_idx refuse dtypes the format cannot store?"""
    with pytest.raises(ValueError, match="IDX cannot store"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# ---- load_mnist -------------------------------------------------------------------

def test_loads_fashion_mnist_from_the_data_root(root):
    """Are images (N, 28, 28) uint8 and labels int64 from <root>/fashion-mnist?"""
    write_fake_mnist(root / "fashion-mnist", num_train=12, num_test=6)
    X_train, y_train, X_test, y_test = load_mnist(download=False)
    assert X_train.shape == (12, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (6, 28, 28)
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(y_train, np.arange(12) % 10)
    assert len(FASHION_MNIST_CLASSES) == 10 and FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_loads_plain_mnist_files_from_mnist_folder(root):
    """Are uncompressed files in <root>/mnist used for kind='mnist'?"""
    write_fake_mnist(root / "mnist", num_train=8, num_test=4, gz=False, seed=3)
    X_train, y_train, X_test, y_test = load_mnist("mnist", download=False)
    expected = read_idx(root / "mnist" / "train-images-idx3-ubyte")
    np.testing.assert_array_equal(X_train, expected)
    assert y_test.shape == (4,)


def test_falls_back_to_the_system_copy_for_fashion(root, tmp_path, monkeypatch):
    """Is Debian's folder used for Fashion-MNIST when the root has none?"""
    system = write_fake_mnist(tmp_path / "system", num_train=10, num_test=5)
    monkeypatch.setattr(mnist, "SYSTEM_FASHION_MNIST_DIR", system)
    X_train, _, X_test, _ = load_mnist("fashion", download=False)
    assert X_train.shape == (10, 28, 28) and X_test.shape == (5, 28, 28)
    with pytest.raises(DatasetError, match="MNIST was not found"):
        load_mnist("mnist", download=False)  # the Fashion copy is not MNIST


def test_incomplete_folder_is_not_used(root):
    """Does a folder missing one file count as absent, with the fix listed?"""
    folder = write_fake_mnist(root / "fashion-mnist")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError) as info:
        load_mnist(download=False)
    message = str(info.value)
    assert "Fashion-MNIST was not found" in message
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "fetch fashion-mnist" in message and "COURSE_DATA_DIR" in message


def test_mismatched_images_and_labels_are_reported(root):
    """Is a label file of the wrong length caught?"""
    folder = write_fake_mnist(root / "mnist", num_train=8, num_test=4)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(DatasetError, match=r"train images \(8, 28, 28\) and labels \(7,\)"):
        load_mnist("mnist", download=False)


def test_unknown_kind_is_rejected(root):
    """Is a misspelt kind a ValueError naming the choices?"""
    with pytest.raises(ValueError, match="'fashion' or 'mnist'"):
        load_mnist("fashion-mnist")


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Fake gz files in a folder served as the official base URL, with MD5s."""
    src = write_fake_mnist(tmp_path / "server", num_train=10, num_test=4, seed=7)
    monkeypatch.setitem(mnist.SOURCES["mnist"], "url", src.as_uri() + "/")
    monkeypatch.setitem(mnist.SOURCES["mnist"], "md5",
                        {n: md5sum(src / f"{n}.gz") for n in NAMES})
    return src


def test_download_fetches_the_four_files(root, served):
    """Does load_mnist download every file, verified, into <root>/mnist?"""
    X_train, y_train, X_test, y_test = load_mnist("mnist")
    assert X_train.shape == (10, 28, 28) and y_test.shape == (4,)
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(
        f"{n}.gz" for n in NAMES)


def test_download_only_fetches_missing_files(root, served):
    """Are files already present kept, and only the missing ones downloaded?"""
    folder = root / "mnist"
    folder.mkdir()
    kept = folder / "train-images-idx3-ubyte.gz"
    kept.write_bytes((served / "train-images-idx3-ubyte.gz").read_bytes())
    stamp = kept.stat().st_mtime_ns
    assert fetch_mnist("mnist", progress=False) == folder
    assert kept.stat().st_mtime_ns == stamp
    assert len(list(folder.iterdir())) == 4


def test_checksum_mismatch_keeps_no_file(root, served, monkeypatch):
    """Does a bad MD5 raise ChecksumError and leave no file under a final name?"""
    md5 = dict(mnist.SOURCES["mnist"]["md5"], **{"t10k-images-idx3-ubyte": "0" * 32})
    monkeypatch.setitem(mnist.SOURCES["mnist"], "md5", md5)
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte.gz is corrupt"):
        fetch_mnist("mnist", progress=False)
    names = sorted(p.name for p in (root / "mnist").iterdir())
    assert names == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_no_network_message_lists_urls_and_destination(root):
    """Without network, does the error name the base URL, files and folder?"""
    with pytest.raises(DatasetError) as info:
        load_mnist("mnist")
    message = str(info.value)
    assert "Could not download http://127.0.0.1:9/train-images-idx3-ubyte.gz" in message
    assert f"into {root / 'mnist'}/" in message


def test_official_sources_are_the_published_ones():
    """Are the download locations and MD5s the published ones (as torchvision)?"""
    assert mnist.SOURCES["fashion"]["url"] == \
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    assert mnist.SOURCES["mnist"]["url"] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert mnist.SOURCES["mnist"]["md5"]["train-images-idx3-ubyte"] == \
        "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert mnist.SOURCES["fashion"]["md5"]["t10k-labels-idx1-ubyte"] == \
        "bb300cfdad3c16e7a12a480ee83cd310"
    assert all(len(m) == 32 for s in mnist.SOURCES.values() for m in s["md5"].values())


def test_header_check_spots_a_truncated_gzip_without_decoding(tmp_path):
    """Does the fast header check catch a .gz whose trailer size is wrong?"""
    path = write_idx(tmp_path / "x.gz", np.zeros((3, 28, 28), np.uint8))
    assert mnist._idx_header(path) == (3, 28, 28)
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-5]))
    with pytest.raises(DatasetError, match="truncated or damaged"):
        mnist._idx_header(path)
