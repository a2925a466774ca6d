"""Instant checks: a JupyterHub service that grades a student's notebook now.

A student clicks "Check my notebook" (or runs ``course-check``, see
:mod:`course_lib.checkclient`); their server forwards the saved notebook
here with its hub token. The service takes the solution cells, grades them
with :class:`~course_lib.grading.engine.GradingRun` in the sandbox, and
answers the predicted score and each item's feedback: the same verdict the
autograder would write, since a verdict depends only on the code.

What it never sends back: the seed or the hidden inputs (each check's
inputs come from a seed of this process, renewed every
``checks_per_seed`` checks, never the autograder's), the reference or
its outputs (the feedback is the students' feedback), anything of another
student's (the service keeps no submission; it grades only what the
caller sent). Each student may run ``burst`` checks at once-ish and then
one every ``refill_seconds`` (a token bucket), and one at a time; every
check is logged as a JSON line (user, assignment, hash of the cells, score,
waiting and grading time), never with the code or the feedback.

Run by the hub (``deploy/jupyterhub_config.py``)::

    python -m course_lib.grading.check_service --course-dir DIR --log FILE
"""
import argparse
import hashlib
import json
import logging
import os
import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["CheckService", "CheckRefused", "RateLimiter", "make_app", "main"]

MAX_NOTEBOOK_BYTES = 16 * 1024 ** 2
NOTE = ("Predicted from the automatically graded items on hidden inputs made for this "
        "check; written answers are graded by hand. Your grade comes from the submitted "
        "notebook.")


class CheckRefused(Exception):
    """A check not done, with the HTTP status and a message for the student."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class RateLimiter:
    """Per-student token bucket (``burst`` checks, one more every
    ``refill_seconds``) and at most one check in flight per student."""

    def __init__(self, burst=3, refill_seconds=20.0, clock=time.monotonic):
        self.burst, self.refill, self.clock = burst, float(refill_seconds), clock
        self._tokens, self._busy = {}, set()
        self._lock = threading.Lock()

    def acquire(self, user):
        with self._lock:
            now = self.clock()
            tokens, last = self._tokens.get(user, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) / self.refill)
            if user in self._busy:
                raise CheckRefused(429, "a check of yours is still running: wait for its "
                                        "result before starting another")
            if tokens < 1:
                wait = (1 - tokens) * self.refill
                self._tokens[user] = (tokens, now)
                raise CheckRefused(429, f"too many checks: try again in {wait:.0f} s "
                                        f"({self.burst} checks, then one every "
                                        f"{self.refill:g} s)")
            self._tokens[user] = (tokens - 1, now)
            self._busy.add(user)

    def release(self, user):
        with self._lock:
            self._busy.discard(user)


class CheckService:
    """Grades posted notebooks of the course in ``course_dir`` (the folder
    with ``solutions/``: the solution cell ids come from the source notebooks)."""

    def __init__(self, course_dir, log_path=None, limiter=None, checks_per_seed=20,
                 data_root=None, assignments=None):
        from .registry import assignment_ids
        self.course_dir = Path(course_dir)
        self.limiter = limiter or RateLimiter()
        self.checks_per_seed = checks_per_seed
        self.data_root = data_root
        self.assignments = list(assignments or assignment_ids())
        self._solution_ids = {a: self._read_solution_ids(a) for a in self.assignments}
        self._runs, self._uses = {}, {}
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()
        self.log_path = Path(log_path) if log_path else None
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.close(fd)

    def _read_solution_ids(self, assignment_id):
        import nbformat

        from .notebooks import code_solution_ids
        from .registry import get_assignment
        assignment = get_assignment(assignment_id)
        path = self.course_dir / "solutions" / assignment.id / f"{assignment.notebook}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"the check service needs the source notebook {path}: "
                                    "pass the course folder with --course-dir")
        return code_solution_ids(nbformat.read(path, as_version=4))

    # ---- one check ------------------------------------------------------------

    def _assignment_of(self, nb):
        ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
               for c in nb.get("cells", []) if isinstance(c, dict)}
        best = max(self.assignments, key=lambda a: len(self._solution_ids[a] & ids))
        if not self._solution_ids[best] & ids:
            raise CheckRefused(400, "this notebook has none of the assignments' solution "
                                    "cells: check the assignment notebook you fetched")
        return best

    def _run(self, assignment_id):
        """The grading run for this check: a new seed every
        ``checks_per_seed`` checks (its inputs and references are made once)."""
        from .engine import GradingRun
        with self._lock:
            run = self._runs.get(assignment_id)
            if run is None or self._uses[assignment_id] >= self.checks_per_seed:
                run = GradingRun(assignment_id, secrets.randbits(31), self.data_root)
                self._runs[assignment_id], self._uses[assignment_id] = run, 0
            self._uses[assignment_id] += 1
            return run

    def check(self, user, notebook, received=None):
        """The answer to ``user``'s check of ``notebook`` (parsed JSON)."""
        received = received or time.monotonic()
        self.limiter.acquire(user)
        entry = {"user": user, "status": "error"}
        try:
            nb = _read(notebook)
            assignment_id = self._assignment_of(nb)
            from .notebooks import solution_cells
            cells = solution_cells(nb, self._solution_ids[assignment_id])
            entry.update(assignment=assignment_id, cells_sha256=hashlib.sha256(
                json.dumps(cells, sort_keys=True).encode()).hexdigest()[:16])
            started = time.monotonic()
            verdict = self._run(assignment_id).grade(cells)
            entry.update(status="ok", score=verdict.score, max_score=verdict.max_score,
                         wait_s=round(started - received, 3),
                         grade_s=round(time.monotonic() - started, 3))
            return _answer(assignment_id, verdict, entry["grade_s"])
        except CheckRefused as exc:
            entry.update(status=f"refused {exc.status}", reason=str(exc))
            raise
        finally:
            self.limiter.release(user)
            self._log(entry)

    def _log(self, entry):
        if not self.log_path:
            return
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **entry}
        with self._log_lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def _read(notebook):
    import nbformat
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise CheckRefused(400, "that is not a notebook (no list of cells)")
    try:
        nb = nbformat.from_dict(notebook)
        if nb.get("nbformat") != 4:
            raise ValueError(f"nbformat {nb.get('nbformat')!r}")
    except Exception as exc:
        raise CheckRefused(400, f"the notebook cannot be read ({exc})") from None
    return nb


def _answer(assignment_id, verdict, seconds):
    from .registry import get_assignment
    order = [item.name for item in get_assignment(assignment_id).items]
    items = [verdict.items[name] for name in order if name in verdict.items]
    return {"assignment": assignment_id, "score": verdict.score,
            "max_score": verdict.max_score, "seconds": seconds, "note": NOTE,
            "items": [{"name": v.name, "title": v.title, "score": v.score,
                       "max_score": v.max_score, "feedback": v.feedback} for v in items]}


# ---- the HTTP side (a JupyterHub service) ------------------------------------

def make_app(service, prefix="/", workers=2, hub_auth=None):
    """A tornado application: ``POST <prefix>api/check`` with
    ``{"name", "notebook"}`` and the student's hub token."""
    import asyncio

    from tornado import web

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check")
    if hub_auth is None:
        from jupyterhub.services.auth import HubAuth
        hub_auth = HubAuth(cache_max_age=60)

    class CheckHandler(web.RequestHandler):
        def check_xsrf_cookie(self):  # token-authenticated API, no cookies
            pass

        def get_current_user(self):
            return hub_auth.get_user(self)

        async def post(self):
            received = time.monotonic()
            user = self.current_user
            if not user:
                return self._fail(403, "not authenticated: send your hub token "
                                       "(Authorization: token ...)")
            if len(self.request.body) > MAX_NOTEBOOK_BYTES:
                return self._fail(413, "the notebook is too large: clear its outputs and "
                                       "check again")
            try:
                body = json.loads(self.request.body)
            except ValueError:
                return self._fail(400, "the request is not JSON")
            loop = asyncio.get_running_loop()
            try:
                answer = await loop.run_in_executor(pool, service.check, user["name"],
                                                    body.get("notebook"), received)
            except CheckRefused as exc:
                return self._fail(exc.status, str(exc))
            except Exception:
                logging.getLogger("check").exception("check of %s failed", user["name"])
                return self._fail(500, "the check failed on the server; tell your instructor")
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(answer))

        def _fail(self, status, message):
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": message}))

    class Index(web.RequestHandler):
        def get(self):
            self.write("course check service: POST api/check with your hub token\n")

    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    return web.Application([(prefix + "api/check", CheckHandler), (prefix, Index)])


def use_course_key(course_dir):
    """Grade measured items with the course's key, as the autograder does:
    ``$COURSE_GRADING_KEY`` if set, else ``<course>/grading/grading_key.txt``
    when the course keeps one (else the engine's public default), so a
    predicted score is the one the submission will get."""
    key_file = Path(course_dir) / "grading" / "grading_key.txt"
    if not os.environ.get("COURSE_GRADING_KEY", "").strip() and key_file.is_file():
        os.environ["COURSE_GRADING_KEY"] = key_file.read_text(encoding="utf-8").strip()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading.check_service",
                                     description="The course's instant-check hub service.")
    parser.add_argument("--course-dir", required=True, help="course folder (with solutions/)")
    parser.add_argument("--log", help="JSON-lines log of every check")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="sandboxes at a time (default: number of cores)")
    parser.add_argument("--burst", type=int, default=3, help="checks a student may start at once")
    parser.add_argument("--refill", type=float, default=20.0,
                        help="seconds until a student may check once more")
    parser.add_argument("--checks-per-seed", type=int, default=20)
    args = parser.parse_args(argv)
    use_course_key(args.course_dir)
    from urllib.parse import urlparse

    from tornado.ioloop import IOLoop
    logging.basicConfig(level=logging.INFO, format="[check %(asctime)s] %(message)s")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/check/")
    service = CheckService(args.course_dir, args.log, RateLimiter(args.burst, args.refill),
                           args.checks_per_seed)
    app = make_app(service, prefix, args.workers)
    app.listen(url.port, url.hostname)
    logging.info("listening on %s:%s%s (%d workers)", url.hostname, url.port, prefix,
                 args.workers)
    IOLoop.current().start()


if __name__ == "__main__":
    sys.exit(main())
