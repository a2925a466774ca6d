"""Settings a JupyterHub (or a machine's administrator) gives every course.

nbgrader reads ``nbgrader_config.py`` from Jupyter's config path (e.g.
``/etc/jupyter``, ``$PREFIX/etc/jupyter``, ``~/.jupyter``) and then from the
course folder, and the course folder's file wins. A hub sets the exchange and
the course id once for every user (``deploy/nbgrader_config.py``), so the
course's own file must not override them: :func:`configure
<course_lib.grading.preprocessors.configure>` asks :func:`site_settings` for
what the config path sets and keeps it. ``python -m course_lib.grading``
reads only the course's file, so the hub's values are copied in here rather
than merely left alone.
"""
from pathlib import Path

__all__ = ["site_settings", "HUB_KEYS"]

#: (section, key) pairs where a site-wide value beats the course's default
HUB_KEYS = (("Exchange", "root"), ("Exchange", "path_includes_course"),
            ("Exchange", "assignment_dir"), ("CourseDirectory", "course_id"))


def _config_files(exclude):
    from jupyter_core.paths import jupyter_config_path
    exclude = Path(exclude).resolve() if exclude else None
    seen = []
    # jupyter_config_path() lists the highest priority first; nbgrader loads
    # them lowest first, so a later file overrides an earlier one
    for folder in reversed(jupyter_config_path()):
        folder = Path(folder)
        if exclude is not None and folder.resolve() == exclude:
            continue
        for name in ("nbgrader_config.json", "nbgrader_config.py"):
            path = folder / name
            if path.is_file() and path.resolve() not in seen:
                seen.append(path.resolve())
    return seen


def _load(path):
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader
    loader = PyFileConfigLoader if path.suffix == ".py" else JSONFileConfigLoader
    return loader(path.name, path=str(path.parent)).load_config()


def site_settings(course_root=None):
    """``{(section, key): value}`` that the site's nbgrader config files set
    for :data:`HUB_KEYS`, ignoring the course folder's own file.

    A file that cannot be read is an error that names it: grading with a
    different exchange than the hub's would silently lose submissions.
    """
    found = {}
    for path in _config_files(course_root):
        try:
            config = _load(path)
        except Exception as exc:  # traitlets raises many types
            raise RuntimeError(f"cannot read the site's nbgrader config {path}: {exc}; "
                               "fix or remove it") from exc
        for section, key in HUB_KEYS:
            if section in config and key in config[section]:
                found[(section, key)] = config[section][key]
    return found

