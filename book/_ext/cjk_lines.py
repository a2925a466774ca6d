"""Sphinx extension: a line break between two Chinese characters is no space.

The Chinese pages wrap their prose like the English ones, and HTML turns
every line break into a space, which Chromium draws between Chinese
characters too ("学完之后，\n你会" shows as "学完之后， 你会"). Jieba, which
splits the Chinese search index into words, also sees two words where a term
was wrapped ("梯度\n消失"). This transform removes such breaks from the prose
of an edition whose ``language`` is Chinese, at read time, so pages and search
index both get the joined text. Code, literals and maths are left alone; a
break next to a Latin letter or digit stays a space.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms import SphinxTransform

# CJK punctuation, kana, ideographs (with extension A and compatibility), and
# the full-width forms (，：（） ...)
CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
BREAK = re.compile(f"(?<=[{CJK}])[ \\t]*\\n[ \\t]*(?=[{CJK}])")
KEEP = (nodes.FixedTextElement, nodes.literal, nodes.math, nodes.raw, nodes.comment)


def join_cjk_lines(text: str) -> str:
    """``text`` without the line breaks (and their indentation) between CJK characters."""
    return BREAK.sub("", text)


class JoinCJKLines(SphinxTransform):
    default_priority = 500

    def apply(self, **kwargs) -> None:
        if (self.config.language or "").startswith("zh"):
            join_cjk_breaks(self.document)


def join_cjk_breaks(document: nodes.Node) -> None:
    """Apply :func:`join_cjk_lines` to the prose (not code, literals or maths) of a doctree."""
    for text in list(document.findall(nodes.Text)):
        parent = text.parent
        if parent is None or any(isinstance(a, KEEP) for a in _ancestors(parent)):
            continue
        # MyST makes a line break its own Text node ("\n") between the
        # lines' nodes: look at the characters just outside this node.
        # by identity: Text is a str, and list.index would find an equal one
        index = next(i for i, child in enumerate(parent.children) if child is text)
        before = parent[index - 1].astext()[-1:] if index > 0 else ""
        after = parent[index + 1].astext()[:1] if index + 1 < len(parent) else ""
        joined = join_cjk_lines(before + str(text) + after)
        joined = joined[len(before):len(joined) - len(after)]
        if joined != str(text):
            parent.children[index] = nodes.Text(joined)
            parent.children[index].parent = parent


def _ancestors(node):
    while node is not None:
        yield node
        node = node.parent


def setup(app):
    app.add_transform(JoinCJKLines)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
