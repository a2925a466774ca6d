"""course_lib.grading.siteconfig: a hub-wide nbgrader config (exchange,
course id) wins over the course folder's defaults, for nbgrader run in the
course folder and for ``python -m course_lib.grading``; without one, the
single-user defaults stay."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.grading.cli import Course
from course_lib.grading.siteconfig import site_settings

ROOT = Path(__file__).resolve().parent.parent

NBGRADER_APP = """
from nbgrader.apps.listapp import ListApp
app = ListApp()
app.initialize([])
print(app.config.Exchange.root, app.coursedir.course_id)
"""


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder, and a site config folder that is Jupyter's whole config path."""
    folder = tmp_path / "course"
    folder.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(site))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))
    monkeypatch.delenv("COURSE_EXCHANGE", raising=False)
    monkeypatch.delenv("COURSE_ID", raising=False)
    return folder, site


def _hub_config(site, exchange):
    (site / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.CourseDirectory.course_id = 'hub-course'\n")


def _nbgrader_sees(folder):
    run = subprocess.run([sys.executable, "-c", NBGRADER_APP], cwd=folder, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_the_hub_config_wins(course, tmp_path):
    """With a hub-level nbgrader config, do nbgrader in the course folder and
    the course's CLI both use the hub's exchange and course id?"""
    folder, site = course
    exchange = tmp_path / "srv-exchange"
    _hub_config(site, exchange)
    assert _nbgrader_sees(folder) == [str(exchange), "hub-course"]
    config = Course(folder).config
    assert config.Exchange.root == str(exchange)
    assert config.CourseDirectory.course_id == "hub-course"
    assert site_settings(folder)[("Exchange", "root")] == str(exchange)


def test_without_a_hub_the_course_defaults_stay(course):
    """Without a site config, is the exchange the course's own grading/exchange
    and the course id nn-numpy (the single-user workflow)?"""
    folder, _ = course
    assert _nbgrader_sees(folder) == [str(folder / "grading" / "exchange"), "nn-numpy"]
    assert Course(folder).config.Exchange.root == str(folder / "grading" / "exchange")


def test_environment_overrides_win_over_the_hub(course, tmp_path, monkeypatch):
    """Do COURSE_EXCHANGE and COURSE_ID, set for one command, still win?"""
    folder, site = course
    _hub_config(site, tmp_path / "srv-exchange")
    monkeypatch.setenv("COURSE_EXCHANGE", str(tmp_path / "mine"))
    monkeypatch.setenv("COURSE_ID", "mine")
    config = Course(folder).config
    assert (config.Exchange.root, config.CourseDirectory.course_id) == (
        str(tmp_path / "mine"), "mine")


def test_a_broken_site_config_is_named(course):
    """Does an unreadable hub config stop the course's CLI with its path,
    instead of grading against another exchange?"""
    folder, site = course
    (site / "nbgrader_config.py").write_text("c = get_config(\n")
    with pytest.raises(RuntimeError, match="cannot read the site's nbgrader config .*site"):
        Course(folder)
