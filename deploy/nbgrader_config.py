# Hub-level nbgrader config: deploy/hubctl.py copies it to
# $COURSE_HUB_ROOT/etc/jupyter/ (JUPYTER_CONFIG_PATH of every user's server)
# with the exchange folder filled in. The course folder's own
# nbgrader_config.py leaves these settings to it (see
# course_lib/grading/siteconfig.py).
from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821
c.Exchange.root = "@EXCHANGE@"
# students' fetched folders are <course>/<assignment>, so several courses can share a hub
c.Exchange.path_includes_course = True
# which courses a user sees comes from their hub groups (nbgrader-<course>, formgrade-<course>)
c.Authenticator.plugin_class = JupyterHubAuthPlugin
