"""course_lib.grading.check_service and course_lib.checkclient: a posted
notebook is graded in the sandbox and answered with the predicted score and
feedback; checks are rate-limited per student and logged without code;
nothing hidden comes back; the client and the HTTP side agree."""
import asyncio
import json
import threading
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_lib.checkclient import CheckError, check_notebook, format_result
from course_lib.grading.check_service import CheckRefused, CheckService, RateLimiter, make_app
from course_lib.grading.testing import strip_solutions, write_learnable_cifar10

ROOT = Path(__file__).resolve().parent.parent
A1 = ROOT / "solutions" / "a1_knn_linear" / "a1_knn_linear.ipynb"


def _solution():
    nb = nbformat.read(A1, as_version=4)
    for cell in nb.cells:
        cell.source = "\n".join(l for l in cell.source.splitlines()
                                if "BEGIN SOLUTION" not in l and "END SOLUTION" not in l
                                and "HIDDEN TESTS" not in l)
    return json.loads(nbformat.writes(nb))


def _release():
    return json.loads(nbformat.writes(strip_solutions(nbformat.read(A1, as_version=4))))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    """A learnable stand-in for CIFAR-10 (unit tests never need the real one)."""
    return write_learnable_cifar10(tmp_path_factory.mktemp("cifar"), num_per_batch=500)


@pytest.fixture(scope="module")
def service(tmp_path_factory, cifar_root):
    log = tmp_path_factory.mktemp("log") / "check.log"
    return CheckService(ROOT, log, RateLimiter(burst=100, refill_seconds=1),
                        data_root=cifar_root, assignments=["a1_knn_linear"])


def test_solution_and_release_get_their_scores(service):
    """Does the solution get full marks and the untouched release 0, each
    with per-item feedback, the assignment named, and no seed in the answer?"""
    full = service.check("alice", _solution())
    assert full["assignment"] == "a1_knn_linear"
    assert full["score"] == full["max_score"] == 43
    assert len(full["items"]) >= 10 and all(i["feedback"] for i in full["items"])
    empty = service.check("bob", _release())
    assert empty["score"] == 0 and empty["max_score"] == 43
    assert "NotImplementedError" in json.dumps(empty)
    for answer in (full, empty):
        assert set(answer) == {"assignment", "score", "max_score", "seconds", "note", "items"}
        assert "seed" not in json.dumps(answer)


def test_log_has_no_code_and_no_feedback(service):
    """Does every check leave one JSON line with user, assignment and score,
    and never the student's code or the feedback?"""
    service.check("carol", _solution())
    lines = [json.loads(l) for l in service.log_path.read_text().splitlines()]
    mine = [l for l in lines if l["user"] == "carol"]
    assert mine and mine[-1]["status"] == "ok" and mine[-1]["score"] == 43
    assert {"cells_sha256", "wait_s", "grade_s", "time"} <= set(mine[-1])
    text = service.log_path.read_text()
    assert "def svm_loss_naive" not in text and "np.maximum" not in text
    assert "feedback" not in text


def test_not_an_assignment_is_refused(service):
    """Is a notebook without the assignment's cells, or not a notebook at
    all, refused with a reason?"""
    with pytest.raises(CheckRefused, match="none of the assignments' solution cells"):
        service.check("dave", {"cells": [], "metadata": {}, "nbformat": 4,
                               "nbformat_minor": 5})
    with pytest.raises(CheckRefused, match="not a notebook"):
        service.check("dave", {"hello": 1})


def test_rate_limit_per_student():
    """After its burst, is a student refused with the wait, while another
    student is not; does one more check come back after the refill; and is
    a second check while one runs refused?"""
    clock = Clock()
    limiter = RateLimiter(burst=2, refill_seconds=30, clock=clock)
    for _ in range(2):
        limiter.acquire("alice")
        limiter.release("alice")
    with pytest.raises(CheckRefused, match="try again in 30 s") as refused:
        limiter.acquire("alice")
    assert refused.value.status == 429
    limiter.acquire("bob")
    with pytest.raises(CheckRefused, match="still running"):
        limiter.acquire("bob")
    limiter.release("bob")
    clock.now = 31
    limiter.acquire("alice")
    limiter.release("alice")


class FakeHubAuth:
    """Stands in for JupyterHub's HubAuth: token ``t-<name>`` is user <name>."""

    def get_user(self, handler):
        header = handler.request.headers.get("Authorization", "")
        if header.startswith("token t-"):
            return {"name": header[len("token t-"):]}
        return None


@pytest.fixture(scope="module")
def server(service, cifar_root):
    """The service's tornado app on 127.0.0.1 (a free port), in a thread."""
    from tornado.httpserver import HTTPServer
    from tornado.ioloop import IOLoop
    from tornado.netutil import bind_sockets
    started, holder = threading.Event(), {}
    limited = CheckService(ROOT, None, RateLimiter(burst=1, refill_seconds=600),
                           data_root=cifar_root, assignments=["a1_knn_linear"])

    def serve():
        asyncio.set_event_loop(asyncio.new_event_loop())
        sockets = bind_sockets(0, "127.0.0.1")
        for name, svc in (("open", service), ("limited", limited)):
            socks = sockets if name == "open" else bind_sockets(0, "127.0.0.1")
            http = HTTPServer(make_app(svc, "/services/check/", 2, FakeHubAuth()))
            http.add_sockets(socks)
            holder[name] = f"http://127.0.0.1:{socks[0].getsockname()[1]}/services/check/"
        holder["loop"] = IOLoop.current()
        started.set()
        holder["loop"].start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(30)
    yield holder
    holder["loop"].add_callback(holder["loop"].stop)
    thread.join(10)


def test_http_check_with_the_client(server, tmp_path):
    """Does course-check's client get the answer over HTTP with a token,
    and a clear error without one?"""
    path = tmp_path / "a1_knn_linear.ipynb"
    path.write_text(json.dumps(_solution()))
    answer = check_notebook(path, url=server["open"], token="t-erin")
    assert answer["score"] == 43
    assert "predicted score 43 / 43" in format_result(answer)
    with pytest.raises(CheckError, match="not authenticated"):
        check_notebook(path, url=server["open"], token="wrong")


def test_http_rate_limit_reaches_the_student(server, tmp_path):
    """Does a student who checks too often read the service's reason?"""
    path = tmp_path / "a1_knn_linear.ipynb"
    path.write_text(json.dumps(_release()))
    check_notebook(path, url=server["limited"], token="t-frank")
    with pytest.raises(CheckError, match="too many checks"):
        check_notebook(path, url=server["limited"], token="t-frank")


def test_http_refuses_what_is_not_json(server):
    """Is a body that is not JSON answered 400 with a reason?"""
    request = urllib.request.Request(server["open"] + "api/check", data=b"{no",
                                     headers={"Authorization": "token t-gina"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 400
    assert json.loads(err.value.read())["message"] == "the request is not JSON"


def test_client_without_hub_says_where_it_works(tmp_path, monkeypatch):
    """Outside the hub (no token, no service URL), does course-check say so?"""
    monkeypatch.delenv("COURSE_CHECK_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(_release()))
    with pytest.raises(CheckError, match="no hub token"):
        check_notebook(path)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
    with pytest.raises(CheckError, match="COURSE_CHECK_URL is not set"):
        check_notebook(path)


def test_the_service_uses_the_course_key(tmp_path, monkeypatch):
    """Does the service grade measured items with the course's key (so the
    prediction is the autograder's): $COURSE_GRADING_KEY first, else the
    course's grading/grading_key.txt, else the engine's default?"""
    import os

    from course_lib.grading.check_service import use_course_key
    from course_lib.grading.engine import DEFAULT_PROTOCOL_KEY, protocol_key
    monkeypatch.delenv("COURSE_GRADING_KEY", raising=False)
    use_course_key(tmp_path)
    assert protocol_key() == DEFAULT_PROTOCOL_KEY
    (tmp_path / "grading").mkdir()
    (tmp_path / "grading" / "grading_key.txt").write_text("12345\n")
    use_course_key(tmp_path)
    assert protocol_key() == 12345
    monkeypatch.setenv("COURSE_GRADING_KEY", "77")
    use_course_key(tmp_path)
    assert os.environ["COURSE_GRADING_KEY"] == "77" and protocol_key() == 77
