"""Set up, start and remove the course's demo JupyterHub (run as root).

    python deploy/hubctl.py setup    # folders, demo Unix users, course folder, student env
    python deploy/hubctl.py start    # JupyterHub in the foreground (Ctrl-C stops it)
    python deploy/hubctl.py clean    # stop it, remove the demo users and all hub state

``make hub`` runs setup and start; ``make hub-clean`` runs clean. Everything
lives under ``$COURSE_HUB_ROOT`` (default ``/srv/nn-course-hub``):

    hub/        JupyterHub's database, cookie secret, check.log, demo-users.json (0600)
    etc/jupyter/nbgrader_config.py   the hub-level nbgrader config (exchange, course list)
    exchange/   nbgrader's shared exchange
    courses/nn-numpy/   the course folder (instructor and TA only: mode 2770)
    student-venv/       the students' environment (course_student wheel, no reference)
    staff-venv/         instructors' and TAs' environment (the full course_lib)
    data/       the datasets, readable by every user

The demo users are made by ``setup`` and listed in ``hub/created-users``:
``clean`` removes exactly those (never a user it did not create).
"""
import argparse
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
FULL_VENV = Path(os.environ.get("COURSE_HUB_FULL_VENV", REPO / ".venv")).absolute()
ROOT = Path(os.environ.get("COURSE_HUB_ROOT", "/srv/nn-course-hub"))
COURSE = "nn-numpy"
STAFF_GROUP = f"{COURSE}-staff"
USERS = {
    "demo-instructor": {"role": "instructor", "courses": [COURSE]},
    "demo-ta": {"role": "ta", "courses": [COURSE]},
    "demo-alice": {"role": "student", "courses": [COURSE]},
    "demo-bob": {"role": "student", "courses": [COURSE]},
}
PORT = int(os.environ.get("COURSE_HUB_PORT", "8000"))

# nbgrader's instructor-only parts, hidden from students
STUDENT_PAGE_CONFIG = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
    "@jupyter/nbgrader:course-list": True}}
STUDENT_SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False}}}


class HubError(RuntimeError):
    """Something the person running the demo can fix; printed without a traceback."""


def run(cmd, **kwargs):
    kwargs.setdefault("check", True)
    return subprocess.run([str(c) for c in cmd], **kwargs)


def paths():
    return {"root": ROOT, "hub": ROOT / "hub", "etc": ROOT / "etc" / "jupyter",
            "exchange": ROOT / "exchange", "course": ROOT / "courses" / COURSE,
            "student_venv": ROOT / "student-venv", "staff_venv": ROOT / "staff-venv",
            "data": ROOT / "data"}


def _need_root():
    if os.geteuid() != 0:
        raise HubError("the demo hub makes Unix users and starts servers as them: run as root")


# ---- setup -----------------------------------------------------------------------

def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def make_users(p):
    """Create the demo users (random passwords, saved 0600); return them."""
    created_file = p["hub"] / "created-users"
    created = created_file.read_text().split() if created_file.exists() else []
    secrets_file = p["hub"] / "demo-users.json"
    known = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}
    if run(["getent", "group", STAFF_GROUP], check=False, capture_output=True).returncode:
        run(["groupadd", STAFF_GROUP])
        created.append(f"group:{STAFF_GROUP}")
    for name, info in USERS.items():
        if _user_exists(name) and name not in created:
            raise HubError(f"a user {name} exists that this demo did not create; remove it or "
                           "change the demo's user names in deploy/hubctl.py")
        if not _user_exists(name):
            groups = [STAFF_GROUP] if info["role"] in ("instructor", "ta") else []
            run(["useradd", "--create-home", "--shell", "/bin/bash"]
                + (["--groups", ",".join(groups)] if groups else []) + [name])
            created.append(name)
        # Debian's useradd makes homes 0755: students must not read each other's work
        os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
        if name not in known:
            known[name] = secrets.token_urlsafe(12)
            run(["chpasswd"], input=f"{name}:{known[name]}\n", text=True)
        created_file.write_text("\n".join(dict.fromkeys(created)) + "\n")
    fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(known, f, indent=1)
    return known


def _copy_data(p):
    """The datasets where every user can read them (hard links when possible)."""
    source = Path(os.environ.get("COURSE_DATA_DIR") or Path.home() / ".cache" / "course_lib")
    if not (source / "cifar-10-batches-py").is_dir():
        raise HubError(f"no CIFAR-10 in {source}: run 'make data' first")
    p["data"].mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        dest = p["data"] / entry.name
        if dest.exists() or entry.name.startswith("."):
            continue
        tmp = p["data"] / f".{entry.name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        if run(["cp", "-al", entry, tmp], check=False, capture_output=True).returncode:
            shutil.rmtree(tmp, ignore_errors=True)
            run(["cp", "-a", entry, tmp])
        os.replace(tmp, dest)
    run(["chmod", "-R", "a+rX", p["data"]])


def make_course(p):
    """The course folder: nbgrader config and sources, owned by the
    instructor, shared with the TA through the staff group."""
    course = p["course"]
    if not (course / "nbgrader_config.py").exists():
        course.mkdir(parents=True)
        shutil.copy(REPO / "nbgrader_config.py", course)
    # the source notebooks follow this checkout (a changed one is replaced)
    for source in sorted((REPO / "solutions").glob("*/*.ipynb")):
        dest = course / "solutions" / source.parent.name / source.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists() or dest.read_bytes() != source.read_bytes():
            shutil.copy(source, dest)
    run(["chown", "-R", f"demo-instructor:{STAFF_GROUP}", course])
    run(["chmod", "-R", "u+rwX,g+rwX,o-rwx", course])
    run(["find", course, "-type", "d", "-exec", "chmod", "g+s", "{}", "+"])
    course.parent.chmod(0o755)


def _stamp(files):
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _world_executable(path):
    """Whether a user other than root can run ``path`` (every folder on the
    way searchable, the file executable by others)."""
    path = Path(os.path.realpath(path))
    if not path.is_file() or not path.stat().st_mode & 0o001:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.parents)


def public_python():
    """An interpreter the demo users may run, of the project venv's version.

    The project venv's own base interpreter when everyone may run it; else
    (a pyenv build under a private /root, as on the course's build machines)
    a copy of that interpreter under ``$COURSE_HUB_ROOT/python``: the
    standard library hard-linked, the executable copied and its library path
    made relative with ``patchelf`` (Debian's python3 is older than the
    pinned packages allow)."""
    base = Path(os.path.realpath(FULL_VENV / "bin" / "python"))
    if _world_executable(base):
        return base
    prefix = base.parent.parent
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    copy = ROOT / "python"
    target = copy / "bin" / base.name
    if target.exists():
        return target
    if not shutil.which("patchelf"):
        raise HubError(f"{base} cannot be run by other users and patchelf is missing to "
                       "copy it: apt-get install patchelf (make hub does)")
    tmp = ROOT / ".python.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "bin").mkdir(parents=True)
    (tmp / "lib").mkdir()
    run(["cp", "-al", prefix / "lib" / version, tmp / "lib" / version])
    shutil.rmtree(tmp / "lib" / version / "site-packages")
    (tmp / "lib" / version / "site-packages").mkdir()
    for lib in (prefix / "lib").glob("libpython*.so*"):
        shutil.copy2(lib, tmp / "lib" / lib.name, follow_symlinks=False)
    shutil.copy2(base, tmp / "bin" / base.name)
    run(["patchelf", "--set-rpath", "$ORIGIN/../lib", tmp / "bin" / base.name])
    (tmp / "bin" / "python3").symlink_to(base.name)
    run(["chmod", "-R", "a+rX", tmp])
    os.replace(tmp, copy)
    return target


def _venv(venv, wheel, label):
    """A virtual environment made by :func:`public_python` with the pinned
    hub packages, then ``wheel`` (if given) without its dependencies."""
    if not (venv / "bin" / "python").exists():
        run([public_python(), "-m", "venv", venv])
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    print(f"installing the {label} environment into {venv} (pip, from its cache when it can)")
    run(pip + ["-r", DEPLOY / "requirements-hub.txt"])
    if wheel:
        run(pip + ["--no-deps", "--force-reinstall", wheel])
    return venv


def _finish_venv(venv, stamp_files):
    run(["chmod", "-R", "a+rX", venv])
    (venv / ".stamp").write_text(_stamp(stamp_files))


def make_student_venv(p):
    """The students' environment: the pinned packages, JupyterHub, and the
    course_student wheel (built now), never the reference course_lib."""
    sys.path.insert(0, str(REPO))
    from course_lib.grading.student_package import build_wheel
    wheel = build_wheel(p["hub"] / "dist")
    venv = p["student_venv"]
    files = [REPO / "requirements.txt", DEPLOY / "requirements-hub.txt", wheel]
    if (venv / ".stamp").exists() and (venv / ".stamp").read_text() == _stamp(files):
        return venv
    _venv(venv, wheel, "student")
    probe = run([venv / "bin" / "python", "-I", "-c",
                 "import importlib.util as u;"
                 "print(u.find_spec('course_lib.grading.engine') is None and "
                 "u.find_spec('course_lib.classifiers') is None)"],
                capture_output=True, text=True, cwd="/")
    if probe.stdout.strip() != "True":
        raise HubError(f"the student environment can import the reference: {probe.stdout}"
                       f"{probe.stderr}")
    labconfig = venv / "etc" / "jupyter" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(STUDENT_PAGE_CONFIG, indent=1))
    server = venv / "etc" / "jupyter" / "jupyter_server_config.d"
    server.mkdir(parents=True, exist_ok=True)
    (server / "zz-course-student.json").write_text(json.dumps(STUDENT_SERVER_CONFIG, indent=1))
    _finish_venv(venv, files)
    return venv


def make_staff_venv(p):
    """Instructors' and TAs' environment: the pinned packages, JupyterHub and
    the full course_lib (a copy of this checkout's, made now)."""
    venv = p["staff_venv"]
    package = sorted(str(f.relative_to(REPO)) for f in (REPO / "course_lib").rglob("*.py"))
    files = [REPO / "requirements.txt", DEPLOY / "requirements-hub.txt"] + [
        REPO / f for f in package]
    if (venv / ".stamp").exists() and (venv / ".stamp").read_text() == _stamp(files):
        return venv
    _venv(venv, None, "staff")
    site = Path(run([venv / "bin" / "python", "-I", "-c",
                     "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    capture_output=True, text=True, cwd="/").stdout.strip())
    shutil.rmtree(site / "course_lib", ignore_errors=True)
    shutil.copytree(REPO / "course_lib", site / "course_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _finish_venv(venv, files)
    return venv


def setup():
    _need_root()
    p = paths()
    for key in ("root", "etc", "data"):
        p[key].mkdir(parents=True, exist_ok=True)
        p[key].chmod(0o755)
    p["hub"].mkdir(parents=True, exist_ok=True)
    p["hub"].chmod(0o700)
    p["exchange"].mkdir(parents=True, exist_ok=True)
    p["exchange"].chmod(0o777)  # nbgrader: everyone may create their course/inbound entries
    (p["etc"] / "nbgrader_config.py").write_text(
        (DEPLOY / "nbgrader_config.py").read_text().replace("@EXCHANGE@", str(p["exchange"])))
    _copy_data(p)
    users = make_users(p)
    make_course(p)
    make_student_venv(p)
    make_staff_venv(p)
    print(f"set up {ROOT}: users {', '.join(users)} (passwords in {p['hub']}/demo-users.json)")
    return users


# ---- start / stop ----------------------------------------------------------------

def hub_environment():
    p = paths()
    env = dict(os.environ)
    env.update({
        "COURSE_HUB_ROOT": str(ROOT), "COURSE_HUB_FULL_VENV": str(FULL_VENV),
        "COURSE_HUB_STUDENT_VENV": str(p["student_venv"]),
        "COURSE_HUB_STAFF_VENV": str(p["staff_venv"]),
        "COURSE_HUB_COURSES": json.dumps({COURSE: str(p["course"])}),
        "COURSE_HUB_USERS": json.dumps(USERS), "COURSE_HUB_PORT": str(PORT),
        "PATH": f"{FULL_VENV}/bin:{env.get('PATH', '/usr/bin:/bin')}",
    })
    return env


def start(background=False, log=None):
    """Start JupyterHub; with ``background`` return the process once it
    answers on 127.0.0.1."""
    _need_root()
    p = paths()
    if not (p["student_venv"] / ".stamp").exists():
        raise HubError(f"{ROOT} is not set up: run 'python deploy/hubctl.py setup' (make hub)")
    cmd = [FULL_VENV / "bin" / "jupyterhub", "-f", DEPLOY / "jupyterhub_config.py"]
    if not background:
        print(f"JupyterHub on http://127.0.0.1:{PORT}/ (Ctrl-C stops it); demo users and "
              f"passwords: {p['hub']}/demo-users.json")
        return run(cmd, cwd=p["hub"], env=hub_environment(), check=False).returncode
    out = open(log or p["hub"] / "jupyterhub.log", "ab")
    proc = subprocess.Popen([str(c) for c in cmd], cwd=p["hub"], env=hub_environment(),
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HubError(f"JupyterHub exited ({proc.returncode}): see {out.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/hub/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise HubError(f"JupyterHub did not answer within 120 s: see {out.name}")


def stop(proc, timeout=30):
    """Stop a hub started with ``start(background=True)`` (its process group:
    the proxy and the check service go with it; users' servers are stopped
    by the hub itself, cleanup_servers)."""
    children = _children_of(proc.pid)  # the proxy and the check service (own sessions)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # a hub killed, or slow to shut down, leaves them holding the ports
    for pid, started in children.items():
        if _start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def _start_time(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _children_of(parent):
    """``{pid: start time}`` of ``parent``'s child processes."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == parent:
                found[int(entry.name)] = fields[19]
    return found


# ---- clean -----------------------------------------------------------------------

def _pids_of(uid):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def clean():
    """Stop the hub (its pid file), end the demo users' processes (by id),
    delete the users this demo created, and remove ``$COURSE_HUB_ROOT``."""
    _need_root()
    p = paths()
    pid_file = p["hub"] / "jupyterhub.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            time.sleep(3)
        except (ValueError, ProcessLookupError):
            pass
    created_file = p["hub"] / "created-users"
    created = created_file.read_text().split() if created_file.exists() else []
    failed = []
    for name in created:
        if name.startswith("group:"):
            continue
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        for pid in _pids_of(uid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # userdel refuses while the user has a process: wait for the killed ones
        deadline = time.monotonic() + 15
        while _pids_of(uid) and time.monotonic() < deadline:
            time.sleep(0.2)
        done = run(["userdel", "--remove", name], check=False, capture_output=True, text=True)
        if done.returncode not in (0, 12):  # 12: home folder not removed (mail spool)
            failed.append(f"{name}: {done.stderr.strip()}")
            continue
        print(f"removed user {name}")
    for name in created:
        if name.startswith("group:"):
            run(["groupdel", name.split(":", 1)[1]], check=False, capture_output=True)
    if failed:  # keep hub/created-users, so that clean can be run again
        raise HubError("could not remove " + "; ".join(failed) + f" (kept {ROOT}: run "
                       "'make hub-clean' again)")
    if ROOT.exists():
        shutil.rmtree(ROOT)
        print(f"removed {ROOT}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python deploy/hubctl.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "start", "clean"])
    args = parser.parse_args(argv)
    try:
        if args.command == "setup":
            setup()
        elif args.command == "start":
            return start()
        else:
            clean()
    except HubError as exc:
        print(f"hubctl: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
