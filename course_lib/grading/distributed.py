"""Grading many submissions at once: local workers, or a Dask cluster.

The split is the same everywhere: a *worker* only runs sandboxes (the
CPU-heavy part: the student's code on the hidden inputs); the *trusted
parent* made the inputs, keeps the references, judges what comes back and
alone writes the gradebook. A verdict depends only on the solution cells
and the run's seed, so any number of workers gives the same scores.

- :func:`grade_batch` grades a list of submissions on ``workers`` threads
  of this process, each waiting on one sandbox process (the default of
  ``python -m course_lib.grading autograde``);
- :class:`DaskLauncher` replaces :func:`sandbox.launch
  <course_lib.grading.sandbox.launch>` for a :class:`~course_lib.grading.
  engine.GradingRun`: it packs the prepared work folder (runner, job,
  hidden inputs, stand-in ``course_lib``; never the references), runs
  :func:`remote_launch` on a Dask worker (which sandboxes it with
  bubblewrap there) and unpacks the worker's ``out/`` folder back into the
  local work folder, where the usual strict reading
  (:mod:`~course_lib.grading.boundary`) applies. CLI:
  ``autograde a1 --dask local`` (a ``LocalCluster`` of worker processes on
  this machine) or ``--scheduler tcp://host:8786`` (an existing cluster,
  whose workers need this repository's environment and bubblewrap).
"""
import io
import os
import shutil
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from . import isolation, sandbox, workspace

__all__ = ["grade_batch", "DaskLauncher", "remote_launch", "pack_folder", "unpack_results",
           "dask_client", "MAX_RESULT_ARCHIVE"]

MAX_RESULT_ARCHIVE = 512 * 1024 ** 2   # bytes of out/ a worker may send back
MAX_RESULT_MEMBERS = 5000


def grade_batch(run, submissions, workers=None, progress=None):
    """Verdicts of ``submissions`` (each a list of solution cells), in order,
    graded on ``workers`` threads (default ``os.cpu_count()``)."""
    workers = max(1, workers or os.cpu_count() or 1)
    verdicts = [None] * len(submissions)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run.grade, cells): i for i, cells in enumerate(submissions)}
        for future in futures:
            verdicts[futures[future]] = future.result()
            if progress is not None:
                progress(futures[future])
    return verdicts


# ---- shipping a work folder to another machine ------------------------------

def pack_folder(folder, skip=()):
    """A tar archive (bytes) of ``folder``'s regular files and folders."""
    buffer = io.BytesIO()
    folder = Path(folder)
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if rel.parts[0] in skip or path.is_symlink():
                continue
            if path.is_dir() or path.is_file():
                tar.add(path, arcname=str(rel), recursive=False)
    return buffer.getvalue()


def unpack_results(data, dest, limit=MAX_RESULT_ARCHIVE):
    """Unpack an archive of untrusted files into ``dest``: regular files and
    folders only, names without ``..`` or absolute paths, bounded size."""
    dest = Path(dest)
    if len(data) > limit:
        raise ValueError(f"the worker sent {len(data)} bytes of results (limit {limit})")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        members = tar.getmembers()
        if len(members) > MAX_RESULT_MEMBERS:
            raise ValueError(f"the worker sent {len(members)} result files")
        for member in members:
            parts = Path(member.name).parts
            if not parts or member.name.startswith("/") or ".." in parts:
                continue
            target = dest.joinpath(*parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)  # in chunks: never a whole file in memory


def remote_launch(archive, argv, limits, allow_unsandboxed=False, watchdog=None):
    """Run on a worker: unpack the work folder, sandbox it, return
    ``(LaunchResult fields, archive of out/)``. The job's paths are
    rewritten for this machine (its work folder and site-packages)."""
    import json
    if allow_unsandboxed:
        isolation.allow_unsandboxed(True)
    with workspace.folder("remote-") as tmp:  # 0700, removed even if this worker dies
        work = Path(tmp) / "work"
        work.mkdir()
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
            tar.extractall(work, filter="data")
        job_path = work / "job.json"
        job = json.loads(job_path.read_text())
        job["site"] = [str(work / "site")] + sandbox.site_paths()
        job_path.write_text(json.dumps(job))
        logs = Path(tmp) / "logs"
        logs.mkdir()
        result = sandbox.launch(argv, work, limits, logs, watchdog=watchdog)
        return asdict(result), pack_folder(work / "out", skip=(workspace.TMP_NAME,))


class DaskLauncher:
    """A ``GradingRun.launcher`` that runs each sandbox on a Dask worker."""

    def __init__(self, client):
        self.client = client
        self._lock = threading.Lock()

    def __call__(self, argv, workdir, limits=sandbox.Limits(), log_dir=None, watchdog=None):
        workdir = Path(workdir)
        archive = pack_folder(workdir, skip=("out",))
        out = workdir / "out"
        previous = pack_folder(out) if out.is_dir() else b""
        future = self.client.submit(_remote_with_out, archive, previous, list(map(str, argv)),
                                    limits, isolation.mode() == "none", watchdog, pure=False)
        fields, results = future.result()
        out.mkdir(exist_ok=True)
        unpack_results(results, out)
        result = sandbox.LaunchResult(**fields)
        log_dir = Path(log_dir or workdir)
        for name, text in (("stdout.txt", result.stdout), ("stderr.txt", result.stderr)):
            (log_dir / name).write_text(text, encoding="utf-8")
        return result


def _remote_with_out(archive, previous_out, argv, limits, allow_unsandboxed, watchdog=None):
    """:func:`remote_launch` after restoring the results of earlier launches
    (the runner restarts after the call that crashed)."""
    if previous_out:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as src:
                for member in src.getmembers():
                    tar.addfile(member, src.extractfile(member) if member.isfile() else None)
            with tarfile.open(fileobj=io.BytesIO(previous_out), mode="r") as src:
                for member in src.getmembers():
                    member.name = f"out/{member.name}"
                    tar.addfile(member, src.extractfile(member) if member.isfile() else None)
        archive = buffer.getvalue()
    return remote_launch(archive, argv, limits, allow_unsandboxed, watchdog)


def dask_client(address):
    """A ``distributed.Client``: ``"local"`` starts a ``LocalCluster`` of
    worker processes (one thread each) on this machine; anything else is a
    scheduler address such as ``tcp://host:8786``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - in requirements.txt
        raise RuntimeError("distributed grading needs dask and distributed "
                           "(pip install -r requirements.txt)") from exc
    if address == "local":
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
        client._course_cluster = cluster
        return client
    return Client(address)
