"""Sphinx extension: the link from every page to the same page of the other
edition (English book at ``_build/html/book/``, Chinese at ``_build/html/zh/``).

Each edition is its own Sphinx project (own ``language``, own search index).
This extension gives each page's template the other edition's URL for the
same page (``edition_switch`` in the context, shown by
``book/_templates/edition-switch.html`` in the article header);
``book/_static/edition-switch.js`` then adds the section the reader is in,
by position, since headings are the same in number, order and level in both
editions (tests/test_book_zh.py checks that).

Configuration (``edition_switch`` in the Sphinx config)::

    {"label": "中文", "lang": "zh-CN", "root": "zh/",        # the other site,
     "strip": "book/", "add": ""}                           # relative to ours

A page named ``strip + name`` links to ``root + add + name + .html``; the
search and index pages link to their counterparts; other pages get no link.

"""

from __future__ import annotations

import logging

SPECIAL_PAGES = ("search", "genindex")


def _quiet_jieba(app):
    # Sphinx's Chinese search splits words with jieba, which logs its set-up
    # (dictionary loading) on stderr at DEBUG level: keep the build log clean.
    if app.config.language.startswith("zh"):
        try:
            import jieba
        except ImportError:
            return
        jieba.setLogLevel(logging.WARNING)


def other_page(pagename: str, switch: dict) -> str | None:
    """The other edition's page for ``pagename``, relative to its root."""
    if pagename in SPECIAL_PAGES:
        return pagename
    if pagename.startswith(switch["strip"]):
        return switch["add"] + pagename[len(switch["strip"]):]
    return None


def _add_switch(app, pagename, templatename, context, doctree):
    switch = app.config.edition_switch
    if not switch:
        return
    other = other_page(pagename, switch)
    if other is None:
        return
    to_root = "../" * pagename.count("/")
    context["edition_switch"] = {
        "href": f"{to_root}{switch['root']}{other}.html",
        "label": switch["label"],
        "lang": switch["lang"],
        "title": switch.get("title", switch["label"]),
    }


def setup(app):
    app.add_config_value("edition_switch", {}, "html", dict)
    app.connect("builder-inited", _quiet_jieba)
    app.connect("html-page-context", _add_switch)
    app.add_js_file("edition-switch.js", loading_method="defer")
    return {"version": "1.0", "parallel_read_safe": True,
            "parallel_write_safe": True}
