"""Student content made safe to render as HTML (feedback pages, formgrader).

nbconvert's templates paste a notebook's Markdown (rendered, raw HTML
included), HTML and SVG outputs, cell ids, tags and image data into the
page as they are: a Markdown cell with ``<script>`` or ``<img onerror=...>``
runs in the browser of whoever opens the page (the student's classmates
never, but the instructor in formgrader and the student's own feedback).
:class:`SanitizeStudentContent`, installed as an ``HTMLExporter``
preprocessor (so it runs for feedback and in formgrader), rewrites the
notebook before any template sees it:

- each Markdown (and raw) cell is rendered here, with nbconvert's own
  renderer, and its HTML is cleaned by an allowlist (:func:`clean`): no
  scripts, no event-handler attributes, no ``style``/``iframe``/``form``/
  ``svg``, links only to ``http(s)``/``mailto``/``#``, images only as
  ``data:`` URIs (an embedded attachment; a remote image would tell
  someone when the page is opened); the cell then holds that HTML as one
  line, which the template's Markdown step passes through unchanged;
- a missing or unusable attachment becomes a note in the text instead
  of an error that stops the whole feedback run;
- outputs keep only plain text, PNG/JPEG checked to be base64, and HTML
  or Markdown cleaned the same way; scripts, SVG, widgets and other types
  are dropped;
- cell ids, tags, grade ids and execution counts that templates paste into
  attributes are checked and replaced when they are not plain names.
"""
import re

import bleach
from bleach.css_sanitizer import CSSSanitizer
from nbconvert.preprocessors import Preprocessor

__all__ = ["SanitizeStudentContent", "clean", "markdown_to_safe_html", "local_css"]

TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl",
        "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
        "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
        "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
        "var"}
ATTRIBUTES = {"*": ["class", "title", "id"], "a": ["href", "title", "class", "id"],
              "img": ["src", "alt", "title", "width", "height", "class"],
              "td": ["colspan", "rowspan", "align", "class"],
              "th": ["colspan", "rowspan", "align", "class"], "ol": ["start", "class"]}
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
_SAFE_LINK = re.compile(r"(https?:|mailto:|#)", re.IGNORECASE)


_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(?![\"']?data:)[^)]*\)", re.IGNORECASE)


def local_css(css):
    """A template filter for the course's own style sheets (bootstrap's):
    no @font-face and no ``url()`` but ``data:``, so an opened page asks
    for no file beside it (bootstrap's glyph fonts are ``../fonts/``)."""
    from markupsafe import Markup
    return Markup(_CSS_URL.sub("none", _FONT_FACE.sub("", str(css))))


def _attribute_ok(tag, name, value):
    if name not in ATTRIBUTES.get(tag, ATTRIBUTES["*"]) and name not in ATTRIBUTES["*"]:
        return False
    if name == "href":
        return bool(_SAFE_LINK.match(value.strip()))
    if name == "src":  # only embedded images: a remote one would be fetched on opening
        head, _, data = value.partition(",")
        return any(head.strip().lower() == f"data:{t};base64" for t in _IMAGE_TYPES) and \
            bool(_BASE64.fullmatch(data))
    if name in ("width", "height", "colspan", "rowspan", "start"):
        return value.strip().isdigit()
    if name == "id":
        return bool(_ID.fullmatch(value))
    return True


_CLEANER = bleach.sanitizer.Cleaner(
    tags=TAGS, attributes=lambda tag, name, value: _attribute_ok(tag, name, value),
    protocols={"http", "https", "mailto", "data"}, strip=True, strip_comments=True,
    css_sanitizer=CSSSanitizer(allowed_css_properties=()))


def clean(html):
    """``html`` with only the allowlisted tags and attributes (text of
    removed tags is kept, as text; ``<script>``/``<style>`` content is
    dropped with the tag)."""
    html = re.sub(r"(?is)<(script|style|template|textarea|title|noscript|xmp|iframe|object)"
                  r"\b.*?(</\1\s*>|$)", "", str(html))
    return _CLEANER.clean(html)


def _embedded(attachments):
    """``{name: data URI}`` of the usable image attachments."""
    out = {}
    for name, bundle in (attachments or {}).items():
        if not isinstance(bundle, dict):
            continue
        for mime in _IMAGE_TYPES:
            data = bundle.get(mime)
            if isinstance(data, list):
                data = "".join(data)
            if isinstance(data, str) and _BASE64.fullmatch(data):
                out[str(name)] = f"data:{mime};base64,{''.join(data.split())}"
                break
    return out


def markdown_to_safe_html(source, attachments=None):
    """Markdown rendered by nbconvert's renderer (maths left for MathJax),
    attachments embedded, then cleaned; as one line of HTML."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
    embedded = _embedded(attachments)

    def replace(match):
        name = match.group(1)
        return embedded.get(name, f"#missing-attachment-{re.sub(r'[^A-Za-z0-9_-]', '', name)}")

    source = re.sub(r"attachment:([^\s)\"'>]+)", replace, str(source))
    renderer = IPythonRenderer(escape=False, attachments={}, embed_images=False,
                               exclude_anchor_links=True)
    html = MarkdownWithMath(renderer=renderer).render(source)
    # one line: the template renders it as Markdown again, and a single
    # HTML block passes through unchanged (a blank line would end it)
    return clean(html).replace("\r", "").replace("\n", "&#10;")


class SanitizeStudentContent(Preprocessor):
    """Make a notebook's student-controlled content safe for HTML templates."""

    def preprocess(self, nb, resources):
        for index, cell in enumerate(nb.cells):
            self._cell(cell, index)
        nb.metadata.pop("widgets", None)
        return nb, resources

    def _cell(self, cell, index):
        if not (isinstance(cell.get("id"), str) and _ID.fullmatch(cell["id"])):
            cell["id"] = f"cell-{index}"
        meta = cell.setdefault("metadata", {})
        tags = meta.get("tags")
        if tags is not None:
            meta["tags"] = [t for t in tags if isinstance(t, str) and _ID.fullmatch(t)] \
                if isinstance(tags, list) else []
        grading = meta.get("nbgrader")
        if isinstance(grading, dict) and "grade_id" in grading \
                and not (isinstance(grading["grade_id"], str) and _ID.fullmatch(grading["grade_id"])):
            grading["grade_id"] = f"cell-{index}"
        if cell.get("cell_type") in ("markdown", "raw"):
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            try:
                html = markdown_to_safe_html(source, cell.get("attachments"))
            except Exception as exc:  # noqa: BLE001 - odd Markdown shows as text
                html = clean(f"<pre>[this cell could not be rendered: {type(exc).__name__}]"
                             f"\n{source[:20000]}</pre>").replace("\n", "&#10;")
            cell["cell_type"] = "markdown"
            cell["source"] = f'<div class="student-markdown">{html}</div>'
            cell.pop("attachments", None)
            return
        if cell.get("cell_type") != "code":
            return
        if not isinstance(cell.get("execution_count"), (int, type(None))) \
                or isinstance(cell.get("execution_count"), bool):
            cell["execution_count"] = None
        cell["outputs"] = [o for o in (self._output(o) for o in cell.get("outputs", []))
                           if o is not None]

    def _output(self, output):
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
            output["text"] = "".join(text) if isinstance(text, list) else str(text)
            output["name"] = "stderr" if output.get("name") == "stderr" else "stdout"
            return output
        if kind == "error":
            output["ename"], output["evalue"] = str(output.get("ename", "")), \
                str(output.get("evalue", ""))
            output["traceback"] = [str(line) for line in output.get("traceback", [])]
            return output
        if kind not in ("display_data", "execute_result"):
            return None
        data, kept = output.get("data", {}), {}
        if not isinstance(data, dict):
            return None
        for mime, value in data.items():
            value = "".join(value) if isinstance(value, list) else value
            if not isinstance(value, str):
                continue
            if mime == "text/plain":
                kept[mime] = value
            elif mime in ("image/png", "image/jpeg") and _BASE64.fullmatch(value):
                kept[mime] = value
            elif mime == "text/html":
                kept[mime] = clean(value)
            elif mime == "text/markdown":
                kept["text/html"] = markdown_to_safe_html(value).replace("&#10;", "\n")
        output["data"] = kept
        output["metadata"] = {}
        if kind == "execute_result" and not isinstance(output.get("execution_count"), int):
            output["execution_count"] = None
        return output if kept else None
