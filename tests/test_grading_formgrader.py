"""`python -m course_lib.grading formgrader` (nbgrader has no `nbgrader
formgrader` command): does it serve nbgrader's formgrader on 127.0.0.1?"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from course_lib.grading import cli
from course_lib.grading.formgrader import command, free_port

ROOT = Path(__file__).resolve().parents[1]
AID = "a1_knn_linear"


def test_formgrader_command_binds_loopback_with_a_token(tmp_path):
    """Is the server told to listen on 127.0.0.1 only, with a token, in the course folder?"""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    argv = command(cli.Course(tmp_path), 8123, "tok")
    assert "--ServerApp.ip=127.0.0.1" in argv and "--IdentityProvider.token=tok" in argv
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in argv


@pytest.mark.slow
def test_formgrader_page_answers(tmp_path):
    """Started as an instructor would, does /formgrader answer with nbgrader's
    formgrader listing the assignment, and only with the token?"""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / AID, course / "solutions" / AID)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               COURSE_EXCHANGE=str(tmp_path / "exchange"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    env.pop("COURSE_GRADEBOOK_URL", None)
    subprocess.run([sys.executable, "-m", "course_lib.grading", "--course-dir", str(course),
                    "generate", "a1"], env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "course_lib.grading", "--course-dir",
                             str(course), "formgrader", "--port", str(port), "--no-browser"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        url = proc.stdout.readline().split(": ", 1)[1].strip()
        assert url.startswith(f"http://127.0.0.1:{port}/formgrader?token=")
        deadline, page = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            try:
                page = requests.get(url, timeout=5)
                if page.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(1)
        assert page is not None and page.status_code == 200
        assert "Manage Assignments" in page.text and "formgrader" in page.text.lower()
        listing = requests.get(f"http://127.0.0.1:{port}/formgrader/api/assignments",
                               params={"token": url.split("token=")[1]}, timeout=10)
        assert AID in listing.text
        anonymous = requests.get(f"http://127.0.0.1:{port}/formgrader", timeout=10,
                                 allow_redirects=False)
        assert anonymous.status_code in (302, 403)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
