# JupyterHub configuration of the course (started by `make hub` through
# deploy/hubctl.py, which sets the COURSE_HUB_* variables read here).
#
# - Local Unix users log in with their passwords (PAM) and get their own
#   JupyterLab server, started as that user (LocalProcessSpawner).
# - Roles come from groups, as nbgrader's JupyterHub integration expects:
#   formgrade-<course> (instructors and TAs) and nbgrader-<course> (students).
#   Instructors and TAs get the staff environment (the reference
#   course_lib, nbgrader's formgrader) and the course folder;
#   students get the student environment (the course_student wheel: no
#   reference, no grading specs) and their home folder.
# - nbgrader's exchange, the course id and the course list come from the
#   hub-level nbgrader config (deploy/nbgrader_config.py, on
#   JUPYTER_CONFIG_PATH of every server), which wins over the course's own.
# - The "check" service grades a notebook on demand in the sandbox
#   (course_lib.grading.check_service).
# Everything listens on 127.0.0.1 only.
import json
import os
import sys

env = os.environ
ROOT = env["COURSE_HUB_ROOT"]               # state: /srv/nn-course-hub by default
STAFF_VENV = env["COURSE_HUB_STAFF_VENV"]   # instructors and TAs: the full course_lib
STUDENT_VENV = env["COURSE_HUB_STUDENT_VENV"]
COURSES = json.loads(env["COURSE_HUB_COURSES"])  # {course id: course folder}
USERS = json.loads(env["COURSE_HUB_USERS"])      # {user: {"role": ..., "courses": [...]}}
CONFIG_DIR = os.path.dirname(os.path.abspath(__file__))
PORT = int(env.get("COURSE_HUB_PORT", "8000"))
CHECK_PORT = int(env.get("COURSE_HUB_CHECK_PORT", "10101"))

c = get_config()  # noqa: F821

# ---- network: loopback only ----------------------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env.get("COURSE_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env.get('COURSE_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [os.path.join(CONFIG_DIR, "node_modules", ".bin",
                                                "configurable-http-proxy")]
c.Spawner.ip = "127.0.0.1"

# ---- state ---------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{ROOT}/hub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{ROOT}/hub/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{ROOT}/hub/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True

# ---- users, groups, roles ------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(USERS)
c.Authenticator.admin_users = {u for u, info in USERS.items() if info["role"] == "admin"}
groups = {}
for course in COURSES:
    groups[f"formgrade-{course}"] = {"users": sorted(
        u for u, i in USERS.items() if i["role"] in ("instructor", "ta") and course in i["courses"])}
    groups[f"nbgrader-{course}"] = {"users": sorted(
        u for u, i in USERS.items() if i["role"] == "student" and course in i["courses"])}
c.JupyterHub.load_groups = groups
c.JupyterHub.load_roles = [
    # every user may use the check service; nbgrader's course list reads the
    # user's groups with the server's token
    {"name": "user", "scopes": ["self", "access:services!service=check"]},
]
c.Spawner.server_token_scopes = ["users:activity!user", "read:users:groups!user",
                                 "read:users:name!user", "access:services!service=check"]

# ---- single-user servers -------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.args = ["--ServerApp.terminals_enabled=True"]


def _role(user):
    return USERS.get(user.name, {}).get("role", "student")


def pre_spawn_hook(spawner):
    """Instructors and TAs: full environment, their course folder. Students:
    the student environment, their home folder."""
    role = _role(spawner.user)
    courses = USERS.get(spawner.user.name, {}).get("courses", [])
    venv = STAFF_VENV if role in ("instructor", "ta", "admin") else STUDENT_VENV
    spawner.cmd = [os.path.join(venv, "bin", "jupyterhub-singleuser")]
    spawner.environment.update({
        "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": os.path.join(ROOT, "etc", "jupyter"),
        "COURSE_DATA_DIR": os.path.join(ROOT, "data"),
        "COURSE_CHECK_URL": f"http://127.0.0.1:{CHECK_PORT}/services/check/",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "OPENBLAS_NUM_THREADS": "1",
    })
    if role in ("instructor", "ta") and courses:
        spawner.notebook_dir = COURSES[courses[0]]
        spawner.environment["COURSE_ID"] = courses[0]
        if env.get("COURSE_GRADING_KEY"):  # staff only: the key of measured items
            spawner.environment["COURSE_GRADING_KEY"] = env["COURSE_GRADING_KEY"]


c.Spawner.pre_spawn_hook = pre_spawn_hook

# ---- the check service ---------------------------------------------------------
course_id, course_dir = next(iter(COURSES.items()))
c.JupyterHub.services = [{
    "name": "check",
    "url": f"http://127.0.0.1:{CHECK_PORT}",
    "command": [sys.executable, "-m", "course_lib.grading.check_service",
                "--course-dir", course_dir, "--log", f"{ROOT}/hub/check.log",
                "--burst", env.get("COURSE_CHECK_BURST", "3"),
                "--refill", env.get("COURSE_CHECK_REFILL", "20")],
    "environment": {"COURSE_DATA_DIR": os.path.join(ROOT, "data"),
                    "OPENBLAS_NUM_THREADS": "1", "PATH": env.get("PATH", "/usr/bin:/bin"),
                    # the course's measured-item key, as the autograder's (if set)
                    **({"COURSE_GRADING_KEY": env["COURSE_GRADING_KEY"]}
                       if env.get("COURSE_GRADING_KEY") else {})},
    "oauth_no_confirm": True,
}]
