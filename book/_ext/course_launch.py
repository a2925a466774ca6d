"""Sphinx extension: the Colab launch link opens the chapter's executed notebook.

sphinx-book-theme builds its Colab link from the page's source in the
repository (``.../blob/<branch>/book/01_knn.md``), which Colab cannot open: it
reads only ``.ipynb`` files. The build writes every chapter's executed
notebook, outputs included, to ``_build/html/_sources/<page>.ipynb`` (the
page's ".ipynb" download). Where the built site is published (the branch
``course_site_branch`` of the same repository, ``gh-pages`` by default, as
GitHub Pages serves it), that notebook is ``<site branch>/_sources/<page>.ipynb``,
and the link points there instead.

The repository itself is named once, by ``repository.url`` in _config.yml,
for the Binder, Colab, repository and issue links alike.

The role ``{assignment}`Assignment 1 <a1_knn_linear>``` links a chapter to
the graded notebook that practises it (``assignments/<name>/<name>.ipynb`` in
the same repository and branch); the build fails when that notebook does not
exist, so a renamed assignment cannot leave a dead link.

It also puts back the outputs that myst-nb leaves out of that notebook when
the chapter's execution came from the cache (see restore_cached_outputs).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import quote

from docutils import nodes

COLAB_TEXT = "Colab"


def colab_notebook_url(colab_url: str, org: str, repo: str, branch: str, pagename: str,
                       site_path: str = "") -> str:
    """Colab's address for ``<site_path>_sources/<pagename>.ipynb`` on ``branch`` of github.com/org/repo.

    ``site_path`` is where this Sphinx project's pages sit in the published
    site ("" for the English edition, "zh/" for the Chinese one).
    """
    prefix = site_path.strip("/") + "/" if site_path.strip("/") else ""
    path = quote(f"{prefix}_sources/{pagename}.ipynb")
    return f"{colab_url.rstrip('/')}/github/{org}/{repo}/blob/{quote(branch, safe='')}/{path}"


def point_colab_at_executed_notebook(app, pagename, templatename, context, doctree):
    """Rewrite the theme's Colab button (added at priority 501) on notebook pages."""
    if "ipynb_source" not in context or "github_user" not in context:
        return
    options = app.config.html_theme_options.get("launch_buttons", {})
    colab_url = options.get("colab_url", "")
    if not colab_url:
        return
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if button.get("text") == COLAB_TEXT:
                button["url"] = colab_notebook_url(
                    colab_url, context["github_user"], context["github_repo"],
                    app.config.course_site_branch, pagename, app.config.course_site_path)
                button["tooltip"] = "Open the executed notebook in Colab"


def restore_cached_outputs(app, pagename, templatename, context, doctree):
    """Give ``_sources/<page>.ipynb`` the outputs of the chapter's cached run.

    myst-nb 1.4 writes a chapter whose execution came from the cache without
    its outputs (it saves the notebook it read, not the one merged with the
    cache), so after any incremental build the ".ipynb" download and the
    Colab link would open a notebook with no outputs. The theme copies that
    file into _sources at priority 501; this puts the cached outputs back.
    """
    if "ipynb_source" not in context:
        return
    path = Path(app.outdir, "_sources", f"{pagename}.ipynb")
    if not path.is_file():
        return
    import nbformat
    from jupyter_cache import get_cache

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or any(c.get("outputs") for c in code):
        return
    cache_dir = getattr(app.config, "nb_execution_cache_path", "") or \
        Path(app.outdir).parent / ".jupyter_cache"
    if not Path(cache_dir).is_dir():
        return
    try:
        _, merged = get_cache(cache_dir).merge_match_into_notebook(nb)
    except KeyError:            # not in the cache: the page was not executed
        return
    # Written next to the target and renamed, so an interrupted build never
    # leaves half a notebook where the download link points.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".ipynb.part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(merged, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


ROOT = Path(__file__).resolve().parents[2]


def assignment_url(repository_url: str, branch: str, name: str) -> str:
    """The released notebook ``assignments/<name>/<name>.ipynb`` on GitHub."""
    path = quote(f"assignments/{name}/{name}.ipynb")
    return f"{repository_url.rstrip('/')}/blob/{quote(branch, safe='')}/{path}"


def assignment_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{assignment}`Title <folder>``` (or just ``folder``): a link to that assignment."""
    m = re.fullmatch(r"\s*(.*?)\s*<([\w-]+)>\s*", text, re.S)
    title, folder = (m.group(1), m.group(2)) if m else (text.strip(), text.strip())
    notebook = ROOT / "assignments" / folder / f"{folder}.ipynb"
    if not notebook.is_file():
        msg = inliner.reporter.error(
            f"assignment {folder!r}: {notebook.relative_to(ROOT)} does not exist "
            f"(folders: {', '.join(sorted(p.name for p in (ROOT / 'assignments').glob('*/')))})",
            line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    config = inliner.document.settings.env.config
    theme = config.html_theme_options
    url = assignment_url(theme.get("repository_url", ""), theme.get("repository_branch", "main"),
                         folder)
    node = nodes.reference(rawtext, title or folder, refuri=url, classes=["course-assignment"])
    return [node], []


def setup(app):
    app.add_role("assignment", assignment_role)
    app.add_config_value("course_site_branch", "gh-pages", "html", types=[str])
    app.add_config_value("course_site_path", "", "html", types=[str])
    app.connect("html-page-context", point_colab_at_executed_notebook, priority=502)
    app.connect("html-page-context", restore_cached_outputs, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
