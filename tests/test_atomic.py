"""course_lib._atomic: files written whole or not at all."""
import os
import stat

import pytest

from course_lib import _atomic


def _leftovers(folder, name):
    return [p.name for p in folder.iterdir() if p.name != name]


def test_write_bytes_and_text_replace_the_file(tmp_path):
    """Does each write replace the file's contents, make a missing folder,
    and leave no temporary file behind?"""
    path = tmp_path / "sub" / "out.bin"
    assert _atomic.write_bytes(path, b"first") == path
    _atomic.write_bytes(path, b"second")
    assert path.read_bytes() == b"second"
    text = tmp_path / "notes.txt"
    _atomic.write_text(text, "é\n中文\n")
    assert text.read_text(encoding="utf-8") == "é\n中文\n"
    assert _leftovers(path.parent, "out.bin") == []
    assert _leftovers(tmp_path, "notes.txt") == ["sub"]


@pytest.mark.parametrize("mode", ["wb", "w"])
def test_an_error_while_writing_keeps_the_old_file(tmp_path, mode):
    """An exception (or an interrupt) in the middle of the write: is the old
    file intact, the exception passed on, and the temporary file removed?"""
    path = tmp_path / "grades.csv"
    path.write_bytes(b"old contents\n")
    for error in (RuntimeError("disk on fire"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            with _atomic.replacing(path, mode) as f:
                f.write(b"half of the new" if mode == "wb" else "half of the new")
                raise error
        assert path.read_bytes() == b"old contents\n"
        assert _leftovers(tmp_path, "grades.csv") == []


@pytest.mark.parametrize("proc", [True, False], ids=["umask from /proc", "umask set and restored"])
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_permissions_follow_the_umask_like_open(tmp_path, monkeypatch, umask, proc):
    """Is the file's mode what open() would give it (0666 less the umask),
    not 0600 like a bare temporary file, whether the umask is read from
    /proc or (elsewhere) set and restored, and is the umask left as it was?"""
    if not proc:
        def no_proc(*args, **kwargs):
            raise OSError("no /proc here")
        monkeypatch.setattr(_atomic, "open", no_proc, raising=False)
    old = os.umask(umask)
    try:
        path = _atomic.write_text(tmp_path / "report.html", "<p>ok</p>")
        plain = tmp_path / "plain.html"
        plain.write_text("x")
        assert os.umask(umask) == umask
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask


def test_concurrent_writers_use_their_own_temporary_files(tmp_path):
    """Two writes to one target open at once: do they write to different
    temporary files, and does the last to finish win whole?"""
    path = tmp_path / "run.json"
    with _atomic.replacing(path, "w") as first:
        with _atomic.replacing(path, "w") as second:
            assert first.name != second.name
            first.write("A" * 1000)
            second.write("B" * 10)
        assert path.read_text() == "B" * 10
    assert path.read_text() == "A" * 1000
    assert _leftovers(tmp_path, "run.json") == []


def test_replacing_refuses_other_modes(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with _atomic.replacing(tmp_path / "x", "a"):
            pass
