"""Does `python -m course_lib.data check|fetch` report and exit correctly?"""
import os
import subprocess
import sys

import pytest

from course_lib.data import cifar10, mnist
from course_lib.data.__main__ import main
from course_lib.data._fetch import md5sum
from course_lib.data.fakes import pack_fake_cifar10, write_fake_cifar10, write_fake_mnist


@pytest.fixture
def root(tmp_path, monkeypatch):
    """Empty data root; no system Fashion-MNIST; downloads to a closed port."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))
    monkeypatch.setattr(mnist, "SYSTEM_FASHION_MNIST_DIR", tmp_path / "none")
    monkeypatch.setattr(cifar10, "CIFAR10_URL", "http://127.0.0.1:9/c.tar.gz")
    for kind in ("fashion", "mnist"):
        monkeypatch.setitem(mnist.SOURCES[kind], "url", "http://127.0.0.1:9/")
    return data


def test_check_on_an_empty_root_exits_1_and_says_how(root, capsys):
    """On an empty root, does check list each dataset as missing with its fix?"""
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert f"data root: {root} (from $COURSE_DATA_DIR)" in out
    assert "CIFAR-10       MISSING" in out
    assert "python -m course_lib.data fetch cifar10" in out
    assert "Fashion-MNIST  missing  (optional)" in out
    assert "apt-get install dataset-fashion-mnist" in out
    assert "MNIST          missing  (optional)" in out


def test_check_reports_shapes_when_everything_is_there(root, capsys):
    """With all datasets present, does check exit 0 and print their shapes?"""
    write_fake_cifar10(root, num_per_batch=7)
    write_fake_mnist(root / "fashion-mnist", num_train=9, num_test=3)
    write_fake_mnist(root / "mnist", num_train=4, num_test=2, gz=False)
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert f"CIFAR-10       ok       {root / 'cifar-10-batches-py'}" in out
    assert "train (35, 32, 32, 3) uint8, test (7, 32, 32, 3) uint8, 10 classes" in out
    assert "train (9, 28, 28), test (3, 28, 28)" in out
    assert "train (4, 28, 28), test (2, 28, 28)" in out
    assert "missing" not in out.lower()


def test_check_flags_a_truncated_batch(root, capsys):
    """Is a batch file shorter than its images reported (exit 1)?"""
    folder = write_fake_cifar10(root, num_per_batch=7)
    (folder / "data_batch_4").write_bytes(b"short")
    assert main(["check"]) == 1
    assert "data_batch_4 is only 5 bytes" in capsys.readouterr().out


def test_check_flags_a_damaged_optional_dataset_but_passes(root, capsys):
    """Does a truncated MNIST file show up without failing the check?"""
    write_fake_cifar10(root, num_per_batch=2)
    folder = write_fake_mnist(root / "mnist", num_train=4, num_test=2)
    data = (folder / "train-images-idx3-ubyte.gz").read_bytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(data[:-4] + b"\0\0\0\0")
    assert main(["check"]) == 0
    assert "train-images-idx3-ubyte.gz is truncated or damaged" in capsys.readouterr().out


def test_check_with_a_bad_env_var_exits_1(tmp_path, monkeypatch, capsys):
    """Does a $COURSE_DATA_DIR typo make check fail with the explanation?"""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "nope"))
    assert main(["check"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_fetch_creates_the_env_dir_and_downloads(tmp_path, monkeypatch, capsys):
    """Does `fetch cifar10` create $COURSE_DATA_DIR and install the data?"""
    archive = pack_fake_cifar10(tmp_path / "cifar-10-python.tar.gz", num_per_batch=2)
    monkeypatch.setattr(cifar10, "CIFAR10_URL", archive.as_uri())
    monkeypatch.setattr(cifar10, "CIFAR10_MD5", md5sum(archive))
    target = tmp_path / "new" / "data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(target))
    assert main(["fetch", "cifar10", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"created $COURSE_DATA_DIR directory {target}" in out
    assert f"cifar10: ready in {target / 'cifar-10-batches-py'}" in out
    assert main(["check"]) == 0


def test_fetch_without_network_exits_1_with_the_reason(root, capsys):
    """Does a failed fetch print the error to stderr and return 1?"""
    assert main(["fetch", "mnist", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Could not download http://127.0.0.1:9/")


def test_fetch_rejects_unknown_names(capsys):
    """Is an unknown dataset name a usage error listing the choices?"""
    with pytest.raises(SystemExit) as info:
        main(["fetch", "imagenet"])
    assert info.value.code == 2
    assert "cifar10" in capsys.readouterr().err


def test_module_runs_as_a_script(tmp_path):
    """Does `python -m course_lib.data check` run standalone and exit 1 when empty?"""
    env = dict(os.environ, COURSE_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "course_lib.data", "check"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "CIFAR-10       MISSING" in result.stdout
