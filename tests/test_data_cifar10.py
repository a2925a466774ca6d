"""Does course_lib.data load and split CIFAR-10 correctly? (fake files only)"""
import pickle

import numpy as np
import pytest

from course_lib.data import (CIFAR10_CLASSES, DatasetError, get_cifar10_data,
                             load_cifar10)
from course_lib.data import cifar10
from course_lib.data.fakes import write_fake_cifar10

PER_BATCH = 20  # 100 fake training images, 20 test images


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty data root; any accidental download goes to a closed local port."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cifar10, "CIFAR10_URL", "http://127.0.0.1:9/none.tar.gz")
    return tmp_path


@pytest.fixture
def fake(root):
    write_fake_cifar10(root, num_per_batch=PER_BATCH)
    return root


def test_loader_returns_official_shapes_and_dtypes(fake):
    """Are images (N, 32, 32, 3) uint8 and labels int64, in file order?"""
    X_train, y_train, X_test, y_test = load_cifar10(download=False)
    assert X_train.shape == (5 * PER_BATCH, 32, 32, 3) and X_train.dtype == np.uint8
    assert X_test.shape == (PER_BATCH, 32, 32, 3) and X_test.dtype == np.uint8
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(y_train, np.arange(5 * PER_BATCH) % 10)
    np.testing.assert_array_equal(y_test, (5 * PER_BATCH + np.arange(PER_BATCH)) % 10)
    assert X_train.flags.c_contiguous and X_test.flags.c_contiguous
    assert len(CIFAR10_CLASSES) == 10 and CIFAR10_CLASSES[0] == "airplane"


def test_channel_planar_rows_become_height_width_channel(fake):
    """Does the value at plane c, row h, column w land at X[n, h, w, c]?"""
    data = np.zeros((PER_BATCH, 3072), dtype=np.uint8)
    data[1, 2 * 1024 + 5 * 32 + 7] = 200  # blue plane, row 5, column 7
    data[1, 0 * 1024 + 0 * 32 + 1] = 17   # red plane, row 0, column 1
    batch = {"data": data, "labels": [3] * PER_BATCH}
    (fake / "cifar-10-batches-py" / "data_batch_1").write_bytes(
        pickle.dumps(batch, protocol=2))
    X_train, y_train, _, _ = load_cifar10(download=False)
    assert X_train[1, 5, 7, 2] == 200
    assert X_train[1, 0, 1, 0] == 17
    assert int(X_train[:PER_BATCH].sum()) == 217
    assert (y_train[:PER_BATCH] == 3).all()


def test_views_hold_the_same_images_without_reordering(fake):
    """Does contiguous=False give the same values as views of planar memory,
    and do picked images come out equal to the contiguous load's?"""
    full = load_cifar10(download=False)
    views = load_cifar10(download=False, contiguous=False)
    for a, b in zip(full, views):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    X_view = views[0]
    assert not X_view.flags.c_contiguous  # no (N, 32, 32, 3) copy was made
    assert X_view.base is not None and X_view.base.flags.c_contiguous
    assert X_view.strides[-1] == 32 * 32  # channel planes, as in the files
    picked = np.array([7, 0, 93, 41])
    np.testing.assert_array_equal(X_view[picked], full[0][picked])


def test_reads_numpy1_pickles_and_bytes_keys(fake):
    """Are the official numpy.core global name and bytes keys both accepted?"""
    folder = fake / "cifar-10-batches-py"
    assert b"cnumpy.core.multiarray\n" in (folder / "test_batch").read_bytes()
    data = np.full((4, 3072), 9, dtype=np.uint8)
    (folder / "test_batch").write_bytes(
        pickle.dumps({b"data": data, b"labels": [1, 2, 3, 4]}, protocol=2))
    _, _, X_test, y_test = load_cifar10(download=False)
    assert X_test.shape == (4, 32, 32, 3) and (X_test == 9).all()
    np.testing.assert_array_equal(y_test, [1, 2, 3, 4])


class _RunsCode:
    def __reduce__(self):
        return (print, ("this pickle runs code",))


def test_refuses_pickles_that_would_call_functions(fake, capsys):
    """Is a batch that would call an arbitrary function rejected unread?"""
    (fake / "cifar-10-batches-py" / "test_batch").write_bytes(
        pickle.dumps({"data": _RunsCode(), "labels": []}, protocol=2))
    with pytest.raises(DatasetError, match="test_batch.*damaged or not a CIFAR-10"):
        load_cifar10(download=False)
    assert "runs code" not in capsys.readouterr().out


def test_missing_file_is_named_with_how_to_fetch(fake):
    """Does an incomplete layout name the missing file and the fix?"""
    (fake / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetError) as info:
        load_cifar10(download=False)
    message = str(info.value)
    assert "no data_batch_3" in message
    assert "python -m course_lib.data fetch cifar10" in message
    assert "cifar-10-python.tar.gz" in message and "COURSE_DATA_DIR" in message


def test_wrong_array_shape_in_batch_is_reported(fake):
    """Is a batch whose rows are not 3072 values rejected with the shape?"""
    batch = {"data": np.zeros((2, 100), dtype=np.uint8), "labels": [0, 1]}
    (fake / "cifar-10-batches-py" / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(DatasetError, match=r"data_batch_2.*\(2, 100\)"):
        load_cifar10(download=False)


def test_splits_follow_the_course_convention(fake):
    """Are train/val/test taken from the documented positions?"""
    X_all, y_all, X_te, y_te = load_cifar10(download=False)
    d = get_cifar10_data(num_training=70, num_validation=30, num_test=8, num_dev=5,
                         subtract_mean=False)
    assert d["X_train"].shape == (70, 3072) and d["X_val"].shape == (30, 3072)
    assert d["X_test"].shape == (8, 3072) and d["X_dev"].shape == (5, 3072)
    np.testing.assert_array_equal(d["X_val"], X_all[70:100].reshape(30, -1))
    np.testing.assert_array_equal(d["y_val"], y_all[70:100])
    np.testing.assert_array_equal(d["X_test"], X_te[:8].reshape(8, -1))
    np.testing.assert_array_equal(d["y_test"], y_te[:8])
    assert d["X_train"].dtype == np.float64 and d["y_train"].dtype == np.int64
    assert d["class_names"] == CIFAR10_CLASSES


def test_mean_comes_from_the_training_split_only(fake):
    """Is the training mean ~0 after subtraction, and val/test shifted by it?"""
    X_all, _, X_te, _ = load_cifar10(download=False)
    d = get_cifar10_data(num_training=60, num_validation=40, num_test=10, num_dev=4)
    expected_mean = X_all[:60].reshape(60, -1).mean(axis=0)
    np.testing.assert_allclose(d["mean_image"], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(d["X_train"].mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(d["X_val"] + expected_mean, X_all[60:].reshape(40, -1))
    np.testing.assert_allclose(d["X_test"] + expected_mean, X_te[:10].reshape(10, -1))
    assert abs(d["X_val"].mean()) > 1e-6  # the val set was not centred on itself


def test_bias_trick_appends_a_column_of_ones(fake):
    """Does bias_trick add exactly one constant feature after the pixels?"""
    plain = get_cifar10_data(num_training=50, num_validation=10, num_test=5, num_dev=3)
    biased = get_cifar10_data(num_training=50, num_validation=10, num_test=5,
                              num_dev=3, bias_trick=True)
    for split in ("X_train", "X_val", "X_test", "X_dev"):
        assert biased[split].shape[1] == 3073
        assert (biased[split][:, -1] == 1).all()
        np.testing.assert_array_equal(biased[split][:, :-1], plain[split])
    assert biased["mean_image"].shape == (3072,)


def test_image_layouts_and_dtype(fake):
    """Do flatten=False and channels_first give (N,32,32,3) and (N,3,32,32)?"""
    X_all, _, _, _ = load_cifar10(download=False)
    hwc = get_cifar10_data(num_training=40, num_validation=10, num_test=4,
                           num_dev=2, flatten=False, dtype=np.float32)
    chw = get_cifar10_data(num_training=40, num_validation=10, num_test=4,
                           num_dev=2, flatten=False, channels_first=True)
    assert hwc["X_train"].shape == (40, 32, 32, 3) and hwc["X_train"].dtype == np.float32
    assert hwc["mean_image"].shape == (32, 32, 3)
    assert chw["X_val"].shape == (10, 3, 32, 32) and chw["mean_image"].shape == (3, 32, 32)
    assert chw["X_val"].flags.c_contiguous
    n, c, h, w = 3, 2, 4, 5
    assert chw["X_val"][n, c, h, w] == pytest.approx(
        X_all[40 + n, h, w, c] - chw["mean_image"][c, h, w])
    np.testing.assert_allclose(hwc["X_train"].transpose(0, 3, 1, 2), chw["X_train"],
                               atol=1e-4)


def test_dev_subset_is_seeded_and_drawn_from_training(fake):
    """Is the dev set reproducible, duplicate-free and taken from train?"""
    a = get_cifar10_data(num_training=80, num_validation=20, num_test=5, num_dev=10, seed=1)
    b = get_cifar10_data(num_training=80, num_validation=20, num_test=5, num_dev=10, seed=1)
    c = get_cifar10_data(num_training=80, num_validation=20, num_test=5, num_dev=10, seed=2)
    np.testing.assert_array_equal(a["X_dev"], b["X_dev"])
    assert not np.array_equal(a["X_dev"], c["X_dev"])
    rows = {r.tobytes(): i for i, r in enumerate(a["X_train"])}
    picked = [rows[r.tobytes()] for r in a["X_dev"]]
    np.testing.assert_array_equal(a["y_dev"], a["y_train"][picked])
    # drawing all 80 must give each training image exactly once
    full = get_cifar10_data(num_training=80, num_validation=20, num_test=5, num_dev=80)
    picked = sorted(rows[r.tobytes()] for r in full["X_dev"])
    assert picked == list(range(80))


@pytest.mark.parametrize("kwargs, message", [
    ({"num_training": 49500, "num_validation": 1000}, "only 50000 training"),
    ({"num_test": 10001}, "only 10000 test"),
    ({"num_training": 10, "num_dev": 11}, "must not exceed num_training"),
    ({"num_training": 0}, "num_training must be an integer >= 1"),
    ({"num_dev": 2.5}, "num_dev must be an integer"),
    ({"bias_trick": True, "flatten": False}, "needs flatten=True"),
    ({"channels_first": True}, "flatten=False"),
    ({"dtype": np.int32}, "floating type"),
])
def test_bad_arguments_get_clear_errors(root, kwargs, message):
    """Are impossible split sizes and option combinations rejected up front?"""
    with pytest.raises(ValueError, match=message):
        get_cifar10_data(**kwargs)


def test_official_archive_location_and_checksum():
    """Are the URL and MD5 the ones published on the CIFAR-10 page?"""
    assert cifar10.CIFAR10_URL == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar10.CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"
