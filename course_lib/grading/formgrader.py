"""``python -m course_lib.grading formgrader``: nbgrader's formgrader, where
written answers are graded by hand and autograded ones can be overridden.

nbgrader 0.9 has no ``nbgrader formgrader`` command: its formgrader is a
Jupyter server extension (enabled when nbgrader is installed), served at
``/formgrader`` by any Jupyter server started in the course folder. This
starts JupyterLab there, on 127.0.0.1 only, with a fresh token, and prints
the address to open.
"""
import os
import secrets
import socket
import subprocess
import sys

__all__ = ["command", "free_port", "run"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(course, port, token, browser=False):
    """The JupyterLab command line that serves the formgrader of ``course``."""
    argv = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={course.root}", f"--IdentityProvider.token={token}",
            f"--ServerApp.open_browser={browser}",
            "--ServerApp.default_url=/formgrader"]
    if os.geteuid() == 0:  # Jupyter refuses root without it (a container, a test machine)
        argv.append("--allow-root")
    return argv


def run(course, port=None, browser=True):
    port = port or free_port()
    token = secrets.token_hex(24)
    url = f"http://127.0.0.1:{port}/formgrader?token={token}"
    print(f"formgrader of {course.root}: {url}\n(stop with Ctrl-C)", flush=True)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.Popen(command(course, port, token, browser), cwd=course.root, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()
