"""The Jupyter server side of the JupyterLab button: ``POST
<base_url>course-check/api/check`` with ``{"path": "a1/a1.ipynb"}`` reads the
saved notebook from the student's own server and forwards it to the check
service with the server's hub token (the browser never holds that token)."""
import asyncio
import json

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web

from . import CheckError, check_notebook


class CheckHandler(APIHandler):
    @web.authenticated
    async def post(self):
        body = self.get_json_body() or {}
        path = body.get("path")
        if not isinstance(path, str) or not path.endswith(".ipynb"):
            raise web.HTTPError(400, "send {\"path\": \"<notebook>.ipynb\"}")
        try:
            model = await ensure_async(self.contents_manager.get(path, content=True,
                                                                 type="notebook"))
        except web.HTTPError:
            raise
        except Exception as exc:
            raise web.HTTPError(404, f"cannot read {path}: {exc}") from None
        notebook = json.loads(json.dumps(model["content"]))
        name = path.rsplit("/", 1)[-1]
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(None, check_notebook, notebook, name)
        except CheckError as exc:
            self.set_status(502)
            self.finish(json.dumps({"message": str(exc)}))
            return
        self.finish(json.dumps(result))


def setup_handlers(web_app):
    base = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base, "course-check/api/check"), CheckHandler)])
