"""Figures in the built book: text scaled to the column, retina PNGs, a record of text size.

The book's text column is about 688 CSS px wide at 1280 px. A figure saved
``W`` inches wide at 100 dpi is ``100 W`` px wide and is shrunk into the
column, so a label of ``s`` points ends up ``s / 72 * 688 / W`` px high: the
default 10 pt is 13.9 px in a 6.9-inch figure but 6 px in a 16-inch strip.
Chapters choose their own ``figsize``; this module, installed as a pyplot
figure hook by ``book/matplotlibrc`` (``figure.hooks``), compensates while the
book is built (``COURSE_BOOK_BUILD`` set, as ``make book`` does):

- when a figure wider than :data:`COLUMN_INCHES` is created, the font sizes in
  ``rcParams`` are multiplied by ``W / COLUMN_INCHES`` (at most
  :data:`MAX_SCALE`), so text drawn at the rc sizes (ticks, labels, titles,
  legends) shows at least ``MIN_TEXT_PX`` high; sizes a chapter passes
  explicitly (``fontsize=8``) are left alone;
- figures are shown as retina PNGs (twice the pixels, same CSS size), so the
  text stays sharp on high-density screens and when zoomed;
- every PNG records, in its text chunks, the smallest and the median height
  of the text drawn (``course:text-min-px`` and ``course:text-median-px``, in
  the PNG's own pixels), which ``tests/test_book_browser.py`` turns into the
  size a reader sees.

Outside the book build (a student's notebook, a script, the tests) the hook
does nothing, so figures look the same as everywhere else.
"""

from __future__ import annotations

import os
import statistics

__all__ = ["prepare", "font_scale", "COLUMN_INCHES", "MAX_SCALE", "MIN_TEXT_PX"]

#: Text height, in CSS px, that rc-sized text should reach in the column (the
#: theme's small text is about 11 px).
MIN_TEXT_PX = 11.0
#: Width of the text column in CSS px at a 1280-px window.
COLUMN_PX = 688.0
#: The widest figure (inches) whose 10-pt text already shows at MIN_TEXT_PX.
COLUMN_INCHES = 10.0 / 72.0 * COLUMN_PX / MIN_TEXT_PX
#: Larger factors crowd the panels of wide strips; those need a new layout.
MAX_SCALE = 2.0

# rc keys that hold a font size (a number of points, or a name such as
# "large" that is relative to font.size and so follows it).
_FONT_KEYS = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
              "ytick.labelsize", "legend.fontsize", "legend.title_fontsize",
              "figure.titlesize", "figure.labelsize")
_ENV_VAR = "COURSE_BOOK_BUILD"

# What this module last wrote into rcParams, and the value a chapter had set
# before it: the next figure scales the chapter's value, not ours again.
_written: dict[str, float] = {}
_base: dict[str, object] = {}
_state = {"retina": False, "text_draw_patched": False, "print_patched": False}


def _book_build() -> bool:
    return os.environ.get(_ENV_VAR, "") not in ("", "0")


def font_scale(width_inches: float) -> float:
    """Factor for the rc font sizes of a figure ``width_inches`` wide.

    1 up to :data:`COLUMN_INCHES`, then proportional to the width, capped at
    :data:`MAX_SCALE`.
    """
    if width_inches <= COLUMN_INCHES:
        return 1.0
    return min(MAX_SCALE, width_inches / COLUMN_INCHES)


def _scale_rc_fonts(scale: float) -> None:
    import matplotlib as mpl

    for key in _FONT_KEYS:
        current = mpl.rcParams[key]
        if key in _written and current == _written[key]:
            base = _base[key]            # ours, from the previous figure
        else:
            base = _base[key] = current  # the chapter's (or matplotlib's) value
        if isinstance(base, (int, float)):
            value = round(float(base) * scale, 2)
            mpl.rcParams[key] = value
            _written[key] = value
        else:                            # "large", "medium": relative to font.size
            _written.pop(key, None)


def _use_retina() -> None:
    """Ask the inline backend for pixel-doubled PNGs (once per kernel)."""
    if _state["retina"]:
        return
    _state["retina"] = True
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def _patch_text_draw() -> None:
    """Record the size of every text artist a figure actually draws."""
    if _state["text_draw_patched"]:
        return
    from matplotlib.text import Text

    original = Text.draw

    def draw(self, renderer):
        fig = self.get_figure(root=True)
        sizes = getattr(fig, "_course_text_px", None)
        if sizes is not None and self.get_visible() and self.get_text().strip():
            sizes.append(renderer.points_to_pixels(self.get_fontsize()))
        return original(self, renderer)

    Text.draw = draw
    _state["text_draw_patched"] = True


def _patch_print_figure() -> None:
    """Make every PNG of a hooked figure carry the sizes of the text it drew.

    Patched on the class, not on the figure's canvas: ``plt.close(fig)``
    (which ``explore()`` calls before returning its figure) gives the figure
    a new canvas.
    """
    if _state["print_patched"]:
        return
    from matplotlib.backend_bases import FigureCanvasBase

    original = FigureCanvasBase.print_figure

    def print_figure(self, *args, **kwargs):
        fig = self.figure
        fmt = str(kwargs.get("format") or "").lower()
        if getattr(fig, "_course_width_in", None) is None or fmt != "png":
            return original(self, *args, **kwargs)
        fig._course_text_px = []
        # A PNG's metadata is written after the figure is drawn into it, so
        # filling this same dict from the draw_event reaches the file.
        metadata = dict(kwargs.pop("metadata", None) or {})
        cid = fig.canvas.mpl_connect("draw_event", lambda _e: metadata.update(_summary(fig)))
        try:
            return original(self, *args, metadata=metadata, **kwargs)
        finally:
            fig.canvas.mpl_disconnect(cid)
            fig._course_text_px = None

    FigureCanvasBase.print_figure = print_figure
    _state["print_patched"] = True


def _summary(fig) -> dict[str, str]:
    sizes = getattr(fig, "_course_text_px", None) or []
    if not sizes:
        return {"course:text-count": "0"}
    return {"course:text-count": str(len(sizes)),
            "course:text-min-px": f"{min(sizes):.2f}",
            "course:text-median-px": f"{statistics.median(sizes):.2f}",
            # as created: bbox_inches="tight" resizes the figure while printing
            "course:figure-width-in": f"{getattr(fig, '_course_width_in', 0.0):.2f}",
            "course:font-scale": f"{getattr(fig, '_course_font_scale', 1.0):.2f}"}


def prepare(fig) -> None:
    """pyplot figure hook (``figure.hooks: course_lib.bookfigures:prepare``).

    Does nothing unless the book is being built.
    """
    if not _book_build():
        return
    fig._course_width_in = fig.get_figwidth()
    scale = font_scale(fig._course_width_in)
    fig._course_font_scale = scale
    _scale_rc_fonts(scale)
    _use_retina()
    _patch_text_draw()
    _patch_print_figure()
