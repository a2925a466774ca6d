"""A throwaway PostgreSQL server for tests: Debian's ``postgresql``
binaries, a cluster in a temporary folder, listening only on a Unix socket
there, run by an unprivileged user when the tests run as root (``initdb``
refuses root). Started and stopped by the test that uses it."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_bindir"]


def find_bindir():
    """The newest ``/usr/lib/postgresql/<version>/bin`` with initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """``with PostgresServer() as pg: pg.url("course")``."""

    def __init__(self, user="nobody"):
        self.bindir = find_bindir()
        if self.bindir is None:
            raise FileNotFoundError("no PostgreSQL server binaries (Debian: apt-get install "
                                    "postgresql)")
        self.folder = Path(tempfile.mkdtemp(prefix="course-pg-"))
        self.data, self.socket = self.folder / "data", self.folder / "socket"
        self.socket.mkdir()
        self.as_user = None
        if os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            self.as_user = (entry.pw_uid, entry.pw_gid)
            for path in (self.folder, self.socket):
                os.chown(path, *self.as_user)

    def _run(self, *args, **kwargs):
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user is not None:
            uid, gid = self.as_user
            command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                       "--"] + command
        return subprocess.run(command, check=True, capture_output=True, text=True,
                              timeout=120, **kwargs)

    def __enter__(self):
        self._run("initdb", "-D", str(self.data), "-U", "grader", "--auth=trust",
                  "--no-sync", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l",
                  str(self.folder / "server.log"), "-o",
                  f"-c listen_addresses='' -k {self.socket} -c fsync=off", "start")
        self._run("createdb", "-h", str(self.socket), "-U", "grader", "course")
        return self

    def url(self, database="course"):
        return f"postgresql://grader@/{database}?host={self.socket}"

    def __exit__(self, *exc):
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
