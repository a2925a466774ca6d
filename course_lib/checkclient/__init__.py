"""The student side of "Check my notebook": send a notebook to the course's
check service and get back the predicted score and the feedback.

The service (``course_lib.grading.check_service``, a JupyterHub service)
grades the notebook's solution cells in the sandbox on fresh hidden inputs;
nothing of the grader is here. Three ways in, all ending in
:func:`check_notebook`:

- ``course-check NOTEBOOK.ipynb`` in a terminal (:mod:`.__main__`);
- the JupyterLab toolbar button / command "Check my notebook", which asks
  this package's Jupyter server extension (``POST <base>/course-check/api/check``)
  to read the saved notebook and forward it;
- ``check_notebook(path)`` from Python.

The student is identified by the hub token of their own server
(``$JUPYTERHUB_API_TOKEN``); the service answers only to it.
"""
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["check_notebook", "CheckError", "service_url", "format_result"]

MAX_BYTES = 16 * 1024 ** 2


class CheckError(RuntimeError):
    """The check could not be done; the message says why and what to do."""


def service_url():
    """The check service's URL: ``$COURSE_CHECK_URL`` (the hub sets it)."""
    url = os.environ.get("COURSE_CHECK_URL")
    if not url:
        raise CheckError("COURSE_CHECK_URL is not set: 'Check my notebook' works on the "
                         "course's JupyterHub, where it is set for you")
    return url.rstrip("/") + "/"


def check_notebook(notebook, name=None, url=None, token=None, timeout=300):
    """Check a notebook (a path, or its JSON as a dict); return the service's
    answer: ``{"assignment", "score", "max_score", "items": [...], ...}``."""
    if isinstance(notebook, (str, os.PathLike)):
        path = Path(notebook)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CheckError(f"cannot read {path}: {exc.strerror}") from None
        name = name or path.name
    else:
        data = json.dumps(notebook).encode()
    if len(data) > MAX_BYTES:
        raise CheckError(f"the notebook is larger than {MAX_BYTES // 1024 ** 2} MB: clear its "
                         "outputs (Edit > Clear Outputs of All Cells), save, and check again")
    token = token or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise CheckError("no hub token ($JUPYTERHUB_API_TOKEN): run this on the course's "
                         "JupyterHub, in a terminal of your own server")
    body = json.dumps({"name": name or "notebook.ipynb",
                       "notebook": json.loads(data)}).encode()
    request = urllib.request.Request(
        (url or service_url()) + "api/check", data=body, method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", "")
        except ValueError:
            message = ""
        raise CheckError(message or f"the check service answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise CheckError(f"the check service cannot be reached ({exc}); try again in a "
                         "minute, or tell your instructor") from None


def format_result(result):
    """Plain text of a check's answer, as the terminal command prints it."""
    lines = [f"{result['assignment']}: predicted score {result['score']:g} / "
             f"{result['max_score']:g} (automatically graded items only)", ""]
    for item in result["items"]:
        lines.append(f"[{item['score']:g} / {item['max_score']:g}] {item['name']}")
        lines.extend("    " + line for line in item["feedback"].splitlines())
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines)


def _jupyter_server_extension_points():
    return [{"module": "course_lib.checkclient"}]


def _load_jupyter_server_extension(serverapp):
    from .serverext import setup_handlers
    setup_handlers(serverapp.web_app)
    serverapp.log.info("course_lib.checkclient: 'Check my notebook' at course-check/api/check")
