"""Download, verify and unpack dataset files without ever leaving half a file.

Only the standard library talks to the network (``urllib``). Three rules
make an interrupted run harmless:

- a download is written to a hidden ``.<name>.<random>.part`` file beside
  its destination and renamed into place only after its MD5 matched, so a
  file with the final name is always complete;
- an archive is extracted into a hidden temporary directory, checked, and
  then renamed into place in one step;
- on any failure (network, checksum, Ctrl-C) the temporary file or directory
  is deleted before the error propagates.
"""
import hashlib
import os
import shutil
import socket
import tarfile
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath

from ._paths import ENV_VAR, ChecksumError, DatasetError

TIMEOUT = 30  # seconds without data before a download is given up
_CHUNK = 1 << 20
_STALE_PART_AGE = 3600  # a .part file untouched this long belongs to a dead run


def md5sum(path):
    """Hex MD5 of a file, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_stale_parts(dest):
    now = time.time()
    for part in dest.parent.glob(f".{dest.name}.*.part"):
        try:
            if now - part.stat().st_mtime > _STALE_PART_AGE:
                part.unlink()
        except OSError:
            pass  # another process may be cleaning up too


def download(url, dest, md5, *, progress=True, manual_help=""):
    """Download ``url`` to ``dest`` atomically and check its MD5.

    Parameters
    ----------
    url : str
        ``http(s)://`` or ``file://`` URL.
    dest : path-like
        Final file name; its directory is created if needed. Nothing is
        written under this name unless the download completed and matched.
    md5 : str or None
        Expected hex digest (None skips the check).
    progress : bool
        Show a tqdm progress bar on stderr.
    manual_help : str
        Appended to network error messages: how to get the file by hand.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DatasetError
        Network failure, timeout or a transfer cut short.
    ChecksumError
        The bytes received do not have the expected MD5.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part",
                                    dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            received, expected, digest = _stream(url, out, dest.name, progress,
                                                 manual_help)
        if expected is not None and received != expected:
            raise DatasetError(
                f"The download of {url} stopped after {received} of {expected} "
                f"bytes; the partial file was deleted. Run the same command "
                f"again to retry.")
        if md5 is not None and digest != md5:
            raise ChecksumError(
                f"The file downloaded from {url} is corrupt: its MD5 is {digest}, "
                f"the published one is {md5}. The bad file was deleted; run the "
                f"same command again to retry. If it keeps failing, something "
                f"between you and the server (a proxy, a captive portal) changes "
                f"the download.\n{manual_help}".rstrip())
        os.replace(tmp, dest)
    except BaseException:
        # also on KeyboardInterrupt: never leave a file that looks finished
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _stream(url, out, label, progress, manual_help):
    """Copy ``url`` into the open file ``out``; return (bytes, expected, md5)."""
    # imported here: only downloads need them (keeps `import course_lib` light)
    import urllib.error
    import urllib.request
    from http.client import HTTPException

    from tqdm.auto import tqdm

    digest = hashlib.md5()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            with tqdm(total=expected, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=label, disable=not progress, leave=False) as bar:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise DatasetError(
            f"Could not download {url}: the server answered HTTP {exc.code} "
            f"{exc.reason}. The file may have moved; try again later or get it "
            f"by hand.\n{manual_help}".rstrip()) from exc
    except (urllib.error.URLError, HTTPException, socket.timeout,
            ConnectionError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DatasetError(
            f"Could not download {url}: {reason}.\n"
            f"Check your internet connection (or proxy) and run the same command "
            f"again.\n{manual_help}".rstrip()) from exc
    return received, expected, digest.hexdigest()


def _check_member(member, top):
    """Refuse anything but plain files and folders below ``top``."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise DatasetError(f"Refusing to extract {member.name!r}: the path leaves "
                           f"the target directory.")
    if path.parts[0] != top:
        raise DatasetError(f"Unexpected member {member.name!r} in the archive "
                           f"(everything should be under {top}/).")
    if not (member.isfile() or member.isdir()):
        raise DatasetError(f"Refusing to extract {member.name!r}: it is a link "
                           f"or device, which a dataset archive never contains.")


def extract_dir(archive, root, top, required):
    """Extract the folder ``top`` of a tar(.gz) ``archive`` into ``root``.

    The archive is unpacked into a hidden temporary folder of ``root``,
    every name in ``required`` is checked there, and only then is
    ``root/top`` renamed into place (replacing an incomplete old copy).

    Returns
    -------
    Path
        ``root / top``.
    """
    root = Path(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".{top}.", suffix=".extract", dir=root))
    try:
        try:
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                for member in members:
                    _check_member(member, top)
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4, 3.10.12
                    tar.extractall(tmp, members=members, filter="data")
                else:
                    tar.extractall(tmp, members=members)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise DatasetError(
                f"Could not extract {archive}: {exc}. The archive is damaged; "
                f"delete it and download it again.") from exc
        missing = [name for name in required if not (tmp / top / name).is_file()]
        if missing:
            raise DatasetError(f"The archive {archive} has no {top}/{missing[0]}; "
                               f"it is not the expected dataset.")
        target = root / top
        old = None
        if target.exists():
            # an incomplete earlier copy: move it aside, swap, then delete it
            old = Path(tempfile.mkdtemp(prefix=f".{top}.", suffix=".old", dir=root))
            os.replace(target, old / top)
        os.replace(tmp / top, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def manual_help(url, where, what="the file"):
    """Standard instructions for getting a file by hand (for error messages)."""
    return (f"To get {what} by hand: download {url} (in a browser, or with\n"
            f"  curl -LO {url}) and put it at {where}.\n"
            f"The data root is ${ENV_VAR} when set, else ~/.cache/course_lib; "
            f"point ${ENV_VAR} at a folder that already holds the data to use it.")
