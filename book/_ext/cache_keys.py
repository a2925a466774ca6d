"""Sphinx extension: a figure's caption and alt text are not part of a chapter's cache key.

jupyter-cache (which myst-nb uses with ``execute_notebooks: cache``) hashes a
notebook's code cells with all their metadata, so a chapter re-ran when only
the words under one of its figures changed, and the Chinese edition, whose
code cells carry the translated ``mystnb.figure`` and ``mystnb.image``
options, matched none of the English edition's executions and ran every
chapter a second time. This extension leaves those two options, which only
change how an output is presented, out of the hash. Outputs are the same
with or without them; the options that are rendered come from the page's
source, not from the cache.
"""

from __future__ import annotations

import copy

#: Options under a cell's ``mystnb`` metadata that only shape how outputs look.
PRESENTATION_KEYS = ("figure", "image")


def without_presentation(nb):
    """A copy of ``nb`` whose code cells lack the ``mystnb`` figure and image options."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        options = cell.get("metadata", {}).get("mystnb")
        if not isinstance(options, dict):
            continue
        rest = {k: v for k, v in options.items() if k not in PRESENTATION_KEYS}
        if rest:
            cell.metadata["mystnb"] = rest
        else:
            del cell.metadata["mystnb"]
    return nb


def install():
    """Wrap JupyterCacheBase.create_hashed_notebook (idempotent)."""
    from jupyter_cache.cache.main import JupyterCacheBase

    original = JupyterCacheBase.create_hashed_notebook
    if getattr(original, "_course_presentation_free", False):
        return

    def create_hashed_notebook(self, nb, *args, **kwargs):
        return original(self, without_presentation(nb), *args, **kwargs)

    create_hashed_notebook._course_presentation_free = True
    create_hashed_notebook.__doc__ = original.__doc__
    JupyterCacheBase.create_hashed_notebook = create_hashed_notebook


def setup(app):
    install()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
