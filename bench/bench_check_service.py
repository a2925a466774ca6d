"""Latency of the instant check service with many students checking at once.

    python bench/bench_check_service.py [--students 20] [--workers 2] [--rounds 1]

Starts the service's HTTP application (course_lib.grading.check_service,
the same handler, rate limiter, grading pool and log as on the hub; only the
hub's token check is replaced by a stand-in that takes ``token t-<name>``)
on 127.0.0.1, checks one notebook alone (the first check of a seed also
makes that seed's hidden inputs and reference outputs), then has
``--students`` students post their notebook at the same moment, each from
its own thread, and reports the time from sending to the answer (median,
p95, max), the service's own split into waiting for a sandbox and grading
(from its log), the CPU and the load average before and after. Every
student posts A1's full solution, the slowest notebook to grade (every
item runs to the end).
"""
import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from machine import blas_core, cpu_model  # noqa: E402

A1 = ROOT / "solutions" / "a1_knn_linear" / "a1_knn_linear.ipynb"


class TokenAuth:
    """The hub's HubAuth stand-in: ``Authorization: token t-<name>`` is <name>."""

    def get_user(self, handler):
        header = handler.request.headers.get("Authorization", "")
        return {"name": header[len("token t-"):]} if header.startswith("token t-") else None


def solution_notebook():
    import nbformat
    nb = nbformat.read(A1, as_version=4)
    for cell in nb.cells:
        cell.source = "\n".join(line for line in cell.source.splitlines()
                                if not any(m in line for m in ("BEGIN SOLUTION", "END SOLUTION",
                                                               "HIDDEN TESTS")))
    return json.loads(nbformat.writes(nb))


def serve(service, workers):
    """The app on a free port of 127.0.0.1 in a thread; returns (url, stop)."""
    from tornado.httpserver import HTTPServer
    from tornado.ioloop import IOLoop
    from tornado.netutil import bind_sockets

    from course_lib.grading.check_service import make_app
    started, holder = threading.Event(), {}

    def run():
        asyncio.set_event_loop(asyncio.new_event_loop())
        sockets = bind_sockets(0, "127.0.0.1")
        HTTPServer(make_app(service, "/services/check/", workers, TokenAuth())).add_sockets(
            sockets)
        holder["url"] = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/services/check/"
        holder["loop"] = IOLoop.current()
        started.set()
        holder["loop"].start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(30)

    def stop():
        holder["loop"].add_callback(holder["loop"].stop)
        thread.join(10)
    return holder["url"], stop


def post(url, user, body):
    request = urllib.request.Request(url + "api/check", data=body, method="POST", headers={
        "Authorization": f"token t-{user}", "Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=1800) as response:
        answer = json.loads(response.read())
    return time.perf_counter() - start, answer


def percentile(values, q):
    values = sorted(values)
    k = (len(values) - 1) * q
    low, high = int(k), min(int(k) + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (k - low)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="the service's sandboxes at a time (default: cores)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times every student checks (all at once each round)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy  # noqa: F401  (loaded, so its BLAS is named below)

    from course_lib.grading.check_service import CheckService, RateLimiter

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, {blas_core()}")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "check.log"
        service = CheckService(ROOT, log, RateLimiter(burst=args.rounds + 1, refill_seconds=1),
                               assignments=["a1_knn_linear"])
        url, stop = serve(service, args.workers)
        body = json.dumps({"name": A1.name, "notebook": solution_notebook()}).encode()
        try:
            alone, answer = post(url, "warmup", body)
            assert answer["score"] == answer["max_score"], answer["score"]
            alone2, _ = post(url, "warmup", body)
            print(f"one check alone: {alone:.1f} s (first of a seed), {alone2:.1f} s (next)")
            load_before = os.getloadavg()
            latencies, errors = [], []
            for _ in range(args.rounds):
                barrier = threading.Barrier(args.students)

                def student(i):
                    barrier.wait()
                    try:
                        seconds, answer = post(url, f"student{i:02d}", body)
                        assert answer["score"] == answer["max_score"]
                        latencies.append(seconds)
                    except Exception as exc:  # reported, not hidden
                        errors.append(f"student{i:02d}: {exc}")

                threads = [threading.Thread(target=student, args=(i,))
                           for i in range(args.students)]
                start = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wall = time.perf_counter() - start
            load_after = os.getloadavg()
        finally:
            stop()
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        entries = [e for e in entries if e["user"] != "warmup"]
    grade = [e["grade_s"] for e in entries if e.get("status") == "ok"]
    wait = [e["wait_s"] for e in entries if e.get("status") == "ok"]
    print(f"{args.students} students at once x {args.rounds} round(s), {args.workers} "
          f"sandboxes at a time; last round's wall time {wall:.1f} s")
    if errors:
        print(f"errors: {len(errors)}: {errors[:3]}")
    if latencies:
        print(f"latency (send to answer): median {statistics.median(latencies):.1f} s, "
              f"p95 {percentile(latencies, 0.95):.1f} s, max {max(latencies):.1f} s, "
              f"min {min(latencies):.1f} s")
        print(f"service split: grading median {statistics.median(grade):.1f} s "
              f"(p95 {percentile(grade, 0.95):.1f} s), waiting for a sandbox median "
              f"{statistics.median(wait):.1f} s (p95 {percentile(wait, 0.95):.1f} s)")
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}, after: "
          "{:.2f} {:.2f} {:.2f}".format(*load_before, *load_after))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
