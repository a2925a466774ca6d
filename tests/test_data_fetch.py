"""Does fetching CIFAR-10 stay safe: atomic, checksummed, never half done?

Downloads come from file:// URLs or a local http.server on 127.0.0.1 serving
a fake archive built in tmp_path; nothing touches the real network or cache.
"""
import http.server
import io
import os
import socket
import tarfile
import threading
import urllib.request
from pathlib import Path

import pytest

from course_lib.data import ChecksumError, DatasetError, data_dir, fetch_cifar10, load_cifar10
from course_lib.data import _fetch, cifar10
from course_lib.data._fetch import md5sum
from course_lib.data.fakes import pack_fake_cifar10

FILES = ["batches.meta", "data_batch_1", "data_batch_2", "data_batch_3",
         "data_batch_4", "data_batch_5", "test_batch"]


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty data root in $COURSE_DATA_DIR; downloads go nowhere by default."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))
    monkeypatch.setattr(cifar10, "CIFAR10_URL", _closed_port_url())
    return data


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """A fake cifar-10-python.tar.gz; the URL and MD5 constants point at it."""
    (tmp_path / "server").mkdir()
    path = pack_fake_cifar10(tmp_path / "server" / "cifar-10-python.tar.gz",
                             num_per_batch=3)
    monkeypatch.setattr(cifar10, "CIFAR10_URL", path.as_uri())
    monkeypatch.setattr(cifar10, "CIFAR10_MD5", md5sum(path))
    return path


def _contents(folder):
    return sorted(p.name for p in Path(folder).iterdir())


# ---- data_dir ---------------------------------------------------------------

def test_data_dir_uses_env_var_then_xdg_then_home(tmp_path, monkeypatch):
    """Is the root $COURSE_DATA_DIR, else $XDG_CACHE_HOME/course_lib, else ~/.cache?"""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("COURSE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "course_lib"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home" / ".cache" / "course_lib"


def test_env_var_pointing_nowhere_is_an_error(tmp_path, monkeypatch):
    """Does a $COURSE_DATA_DIR that does not exist say so and how to fix it?"""
    missing = tmp_path / "typo"
    monkeypatch.setenv("COURSE_DATA_DIR", str(missing))
    with pytest.raises(DatasetError) as info:
        load_cifar10()
    assert "does not exist" in str(info.value) and str(missing) in str(info.value)
    assert "mkdir -p" in str(info.value) and "unset COURSE_DATA_DIR" in str(info.value)
    assert not missing.exists()


def test_env_var_pointing_at_a_file_is_an_error(tmp_path, monkeypatch):
    """Does a $COURSE_DATA_DIR that is a file give a clear error?"""
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "f"))
    with pytest.raises(DatasetError, match="is a file, not a directory"):
        data_dir()


# ---- downloading --------------------------------------------------------------

def test_fetch_downloads_verifies_extracts_and_cleans_up(root, archive):
    """Does a fetch leave exactly the dataset folder, and a second do nothing?"""
    folder = fetch_cifar10(progress=False)
    assert folder == root / "cifar-10-batches-py"
    assert _contents(root) == ["cifar-10-batches-py"]  # no archive, no temp files
    assert _contents(folder) == FILES
    stamp = (folder / "test_batch").stat().st_mtime_ns
    archive.unlink()  # a second call must not even look for the archive
    assert fetch_cifar10(progress=False) == folder
    assert (folder / "test_batch").stat().st_mtime_ns == stamp
    X_train, y_train, X_test, y_test = load_cifar10(download=False)
    assert X_train.shape == (15, 32, 32, 3) and X_test.shape == (3, 32, 32, 3)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def http_url(archive):
    """The fake archive served over HTTP by a local server thread."""
    handler = lambda *a, **k: _Handler(*a, directory=str(archive.parent), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_load_fetches_over_http_when_missing(root, http_url, monkeypatch):
    """Does load_cifar10() download over HTTP (with a progress bar) when needed?"""
    monkeypatch.setattr(cifar10, "CIFAR10_URL", http_url + "cifar-10-python.tar.gz")
    X_train, y_train, X_test, y_test = load_cifar10()
    assert X_train.shape == (15, 32, 32, 3) and y_test.shape == (3,)
    assert _contents(root) == ["cifar-10-batches-py"]


def test_http_404_is_a_dataset_error(root, http_url, monkeypatch):
    """Is a missing file on the server reported with its URL?"""
    monkeypatch.setattr(cifar10, "CIFAR10_URL", http_url + "nothing-here.tar.gz")
    with pytest.raises(DatasetError, match="nothing-here.tar.gz: the server answered HTTP 404"):
        fetch_cifar10(progress=False)
    assert _contents(root) == []


def test_checksum_mismatch_deletes_the_download(root, archive, monkeypatch):
    """Does a bad MD5 raise ChecksumError, say to retry, and leave nothing?"""
    monkeypatch.setattr(cifar10, "CIFAR10_MD5", "0" * 32)
    with pytest.raises(ChecksumError, match="run the same command again"):
        fetch_cifar10(progress=False)
    assert _contents(root) == []


class _Response:
    """A urlopen() result whose body stops with ``error`` after one chunk."""

    def __init__(self, body, error):
        self.headers = {"Content-Length": str(len(body))}
        self._chunks = [body[:len(body) // 2]]
        self._error = error

    def read(self, size):
        if self._chunks:
            return self._chunks.pop()
        raise self._error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("error, expected", [
    (KeyboardInterrupt(), KeyboardInterrupt),
    (ConnectionResetError("reset by peer"), DatasetError),
    (socket.timeout("timed out"), DatasetError),
])
def test_interrupted_download_leaves_nothing_and_retry_works(root, archive, monkeypatch,
                                                            error, expected):
    """After a download dies midway, is no file taken as complete later?"""
    body = archive.read_bytes()
    real_urlopen = urllib.request.urlopen
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout: _Response(body, error))
    with pytest.raises(expected):
        fetch_cifar10(progress=False)
    assert _contents(root) == []
    monkeypatch.setattr(urllib.request, "urlopen", real_urlopen)
    assert _contents(fetch_cifar10(progress=False)) == FILES


def test_transfer_cut_short_is_detected(root, tmp_path, monkeypatch):
    """Is a body shorter than its Content-Length refused even without an MD5?"""

    class Short(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 10)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Short)
    threading.Thread(target=server.serve_forever, args=(0.05,),
                              daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/f"
        with pytest.raises(DatasetError, match="stopped after 10 of 100000 bytes"):
            _fetch.download(url, root / "f.bin", None, progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert _contents(root) == []


def test_no_network_says_how_to_get_the_file(root):
    """Without network, does the error give the URL, the destination and the env var?"""
    with pytest.raises(DatasetError) as info:
        load_cifar10()
    message = str(info.value)
    assert "CIFAR-10 is not in" in message and "Could not download" in message
    assert f"download {cifar10.CIFAR10_URL}" in message
    assert str(root / "cifar-10-python.tar.gz") in message
    assert "$COURSE_DATA_DIR" in message
    assert _contents(root) == []


def test_stale_partial_downloads_are_removed(root, archive):
    """Are .part files of a crashed run removed (old ones only) by the next fetch?"""
    old = root / ".cifar-10-python.tar.gz.abc.part"
    fresh = root / ".cifar-10-python.tar.gz.def.part"
    old.write_bytes(b"half")
    fresh.write_bytes(b"in progress elsewhere")
    os.utime(old, (0, 0))
    fetch_cifar10(progress=False)
    assert not old.exists() and fresh.exists()


# ---- a local archive, extraction --------------------------------------------------

def test_archive_placed_by_hand_is_used_without_network(root, archive, monkeypatch):
    """Is a correct archive dropped into the root unpacked without downloading?"""
    (root / "cifar-10-python.tar.gz").write_bytes(archive.read_bytes())
    monkeypatch.setattr(cifar10, "CIFAR10_URL", _closed_port_url())
    assert _contents(fetch_cifar10(progress=False)) == FILES
    assert _contents(root) == ["cifar-10-batches-py"]


def test_corrupt_archive_placed_by_hand_is_rejected_and_removed(root, archive):
    """Is a truncated local archive refused with a retry hint, and deleted?"""
    (root / "cifar-10-python.tar.gz").write_bytes(archive.read_bytes()[:500])
    with pytest.raises(ChecksumError, match="corrupt or incomplete.*again"):
        fetch_cifar10(progress=False)
    assert _contents(root) == []


def test_incomplete_folder_is_replaced_by_a_fresh_copy(root, archive):
    """Does fetch replace a half-copied dataset folder atomically?"""
    (root / "cifar-10-batches-py").mkdir()
    (root / "cifar-10-batches-py" / "batches.meta").write_bytes(b"junk")
    assert _contents(fetch_cifar10(progress=False)) == FILES
    assert _contents(root) == ["cifar-10-batches-py"]


def _member(name, kind=tarfile.REGTYPE, payload=b"x", linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(payload) if kind == tarfile.REGTYPE else 0
    return info, payload if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize("member, message", [
    (_member("cifar-10-batches-py/../../evil.txt"), "leaves the target"),
    (_member("/tmp/evil.txt"), "leaves the target"),
    (_member("elsewhere/evil.txt"), "Unexpected member"),
    (_member("cifar-10-batches-py/link", tarfile.SYMTYPE, linkname="/etc/passwd"),
     "link or device"),
])
def test_unsafe_archives_are_refused(root, tmp_path, monkeypatch, member, message):
    """Are path-escaping or link members refused before anything is written?"""
    bad = pack_fake_cifar10(tmp_path / "bad.tar.gz", num_per_batch=2,
                            extra_members=[member])
    monkeypatch.setattr(cifar10, "CIFAR10_URL", bad.as_uri())
    monkeypatch.setattr(cifar10, "CIFAR10_MD5", md5sum(bad))
    with pytest.raises(DatasetError, match=message):
        fetch_cifar10(progress=False)
    assert not (tmp_path / "evil.txt").exists()
    assert "cifar-10-batches-py" not in _contents(root)
    assert not [p for p in _contents(root) if p.endswith(".extract")]


def test_archive_without_a_batch_names_it(root, tmp_path, monkeypatch):
    """Does an archive missing test_batch say so and install nothing?"""
    bad = tmp_path / "partial.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    monkeypatch.setattr(cifar10, "CIFAR10_URL", bad.as_uri())
    monkeypatch.setattr(cifar10, "CIFAR10_MD5", md5sum(bad))
    with pytest.raises(DatasetError, match="has no cifar-10-batches-py/data_batch_1"):
        fetch_cifar10(progress=False)
    # the verified archive stays for the next attempt; no folder, no temp dirs
    assert _contents(root) == ["cifar-10-python.tar.gz"]


def test_damaged_gzip_with_matching_checksum_fails_cleanly(root, archive, monkeypatch):
    """If the bytes are bad but the MD5 matches (wrong constant), is nothing installed?"""
    truncated = archive.parent / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:-200])
    monkeypatch.setattr(cifar10, "CIFAR10_URL", truncated.as_uri())
    monkeypatch.setattr(cifar10, "CIFAR10_MD5", md5sum(truncated))
    with pytest.raises(DatasetError, match="Could not extract"):
        fetch_cifar10(progress=False)
    assert _contents(root) == ["cifar-10-python.tar.gz"]
