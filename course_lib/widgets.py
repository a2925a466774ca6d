"""Interactive explorers: live sliders in Jupyter, pre-drawn frames in the book.

A chapter calls :func:`explore` with a plotting function and the ranges of its
parameters. A reader running the notebook gets sliders and drop-downs
(ipywidgets) that redraw the figure. The HTML book has no kernel behind it, so
there :func:`explore` draws the figure ahead of time over a grid of the
controls' values (at most :data:`MAX_FRAMES` frames) and returns an
:class:`Explorer`: its HTML holds every frame as an embedded PNG and one
native control per parameter (a range slider, a drop-down, a check box), and
``book/_static/explore.js`` shows the frame that matches the controls. It
works offline and from a page opened from disk; nothing is loaded from
another host. Where HTML is not shown, the explorer shows its starting frame
as a PNG.

Example
-------
>>> import numpy as np
>>> def plot_sigmoid(ax, scale=1.0, shift=0.0):
...     "The sigmoid of scale * (z - shift)."
...     z = np.linspace(-6, 6, 200)
...     ax.plot(z, 1 / (1 + np.exp(-scale * (z - shift))))
...     ax.set(xlabel="z", ylabel="sigmoid(z)")
>>> ex = explore(plot_sigmoid, scale=(0.5, 4.0, 0.5), shift=(-2.0, 2.0, 0.5))
>>> len(ex.frames) <= MAX_FRAMES
True

When is the page static?
------------------------
When the environment variable ``COURSE_BOOK_BUILD`` is set to anything but
``""``/``0`` (``make book`` sets it, and the kernels that execute the chapters
inherit it), or when the code runs outside a Jupyter kernel (a script, pytest),
or when ipywidgets is not installed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import inspect
import io
import json
import math
import numbers
import os
from typing import Any, Callable

__all__ = ["explore", "static_mode", "Explorer", "Frame", "MAX_FRAMES"]

#: At most this many frames per explorer in the book: a frame is a PNG of
#: about 15-60 kB, embedded in the page.
MAX_FRAMES = 40
#: Frames are drawn at this many times the figure's dpi and shown at
#: 1 / FRAME_DENSITY of their pixel size, like the book's other (retina) figures.
FRAME_DENSITY = 2
#: ... but no frame is drawn wider than this many pixels: twice the book's
#: 688-px column, which is all a high-density screen can show of it.
MAX_FRAME_PIXELS = 1376
#: An explorer whose frames would weigh more than this many bytes (the
#: starting frame's PNG times the number of frames) draws them at a lower
#: density, down to 1 pixel per CSS px: a page stays a few MB at most.
MAX_EXPLORER_BYTES = 1_500_000
#: Fewest values a control keeps when the grid must shrink, before it drops to
#: its starting value alone: a slider needs its two ends and a middle.
_FLOOR = {"range": 3, "options": 2, "bool": 2, "widget": 1}

_ENV_VAR = "COURSE_BOOK_BUILD"


# ---------------------------------------------------------------------------
# Mode detection
# ---------------------------------------------------------------------------
def _has_frontend() -> bool:
    """True inside a Jupyter kernel (a frontend may be attached to show widgets)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _ipywidgets_available() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def static_mode() -> bool:
    """Return True when :func:`explore` should pre-draw frames (an :class:`Explorer`).

    Static when ``$COURSE_BOOK_BUILD`` is set (not ``""`` or ``"0"``), when no
    Jupyter kernel is running, or when ipywidgets cannot be imported.
    """
    if os.environ.get(_ENV_VAR, "") not in ("", "0"):
        return True
    return not (_has_frontend() and _ipywidgets_available())


# ---------------------------------------------------------------------------
# Controls: (min, max[, step]) tuples, lists of options, bools or widgets
# ---------------------------------------------------------------------------
class _Control:
    """One parsed control: its kind, its default value and every value it can take."""

    def __init__(self, name, kind, default, *, low=None, high=None, step=None,
                 options=None, widget=None, log_base=None):
        self.name, self.kind, self.default = name, kind, default
        self.low, self.high, self.step = low, high, step
        self.options, self.widget = options, widget
        # A FloatLogSlider's min/max/step are exponents of this base.
        self.log_base = log_base

    def all_values(self) -> list:
        """Every value the live control can take (ranges: every step)."""
        if self.kind == "range":
            count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            values = [_snap(self.low + i * self.step, self.low, self.high, self.step)
                      for i in range(count)]
            if self.log_base is not None:
                values = [float(self.log_base ** v) for v in values]
            return values
        if self.kind == "bool":
            return [False, True]
        if self.kind == "options":
            return list(self.options)
        return [self.default]  # a widget we know nothing about: its value only

    def index_of(self, value, values) -> int:
        """Index of the entry of ``values`` nearest to ``value`` (numbers) or
        equal to it (options); ValueError if there is none."""
        if self.kind == "range":
            if not _is_number(value):
                raise ValueError(f"control {self.name!r}: expected a number, got {value!r}.")
            if self.log_base is not None and value > 0:
                return min(range(len(values)),
                           key=lambda i: abs(math.log(values[i]) - math.log(value)))
            return min(range(len(values)), key=lambda i: abs(values[i] - value))
        for i, v in enumerate(values):
            if v is value or _equal(v, value):
                return i
        raise ValueError(f"control {self.name!r}: {value!r} is not one of {values!r}.")


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays compare elementwise
        return False


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _snap(value, low, high, step):
    """Round `value` onto the grid low, low + step, ... and clip it to [low, high]."""
    snapped = low + round((value - low) / step) * step
    snapped = min(max(snapped, low), high)
    if all(isinstance(v, numbers.Integral) for v in (low, high, step)):
        return int(snapped)
    # Keep 0.30000000000000004 out of titles and slider labels.
    return float(round(snapped, 12))


def _parse_control(name: str, spec: Any, fn_default: Any) -> _Control:
    has_default = fn_default is not inspect.Parameter.empty
    if isinstance(spec, tuple):
        if len(spec) not in (2, 3) or not all(_is_number(v) for v in spec):
            raise ValueError(
                f"control {name!r}: a range is a tuple (min, max) or (min, max, step) "
                f"of numbers, got {spec!r}. Use a list for a set of options.")
        low, high = spec[0], spec[1]
        step = spec[2] if len(spec) == 3 else (
            1 if all(isinstance(v, numbers.Integral) for v in spec) else (high - low) / 20)
        if not low < high:
            raise ValueError(f"control {name!r}: min must be below max, got {spec!r}.")
        if not step > 0:
            raise ValueError(f"control {name!r}: step must be positive, got {spec!r}.")
        if has_default and _is_number(fn_default) and low <= fn_default <= high:
            default = _snap(fn_default, low, high, step)
        else:
            # Same rule as ipywidgets.interact: the middle of the range.
            default = _snap((low + high) / 2, low, high, step)
        return _Control(name, "range", default, low=low, high=high, step=step)
    if isinstance(spec, bool):
        return _Control(name, "bool", spec, options=[spec, not spec])
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"control {name!r}: the list of options is empty.")
        default = fn_default if has_default and fn_default in spec else spec[0]
        return _Control(name, "options", default, options=list(spec))
    if hasattr(spec, "value") and hasattr(spec, "observe"):  # an ipywidgets widget
        kind, extra = "widget", {}
        if all(hasattr(spec, a) for a in ("min", "max", "step")):
            kind = "range"
            extra = dict(low=spec.min, high=spec.max, step=spec.step,
                         log_base=getattr(spec, "base", None))
        elif hasattr(spec, "options"):
            kind = "options"
            extra = dict(options=[o[1] if isinstance(o, tuple) else o for o in spec.options])
        return _Control(name, kind, spec.value, widget=spec, **extra)
    raise TypeError(
        f"control {name!r}: expected a (min, max, step) tuple, a list of options, "
        f"True/False or an ipywidgets widget, got {type(spec).__name__} {spec!r}.")


def _check_signature(plot_fn: Callable, controls: dict) -> tuple[inspect.Signature, bool]:
    """Check that the controls match plot_fn's parameters; return (signature, takes_ax)."""
    if not callable(plot_fn):
        raise TypeError(f"plot_fn must be a function, got {type(plot_fn).__name__}.")
    sig = inspect.signature(plot_fn)
    params = sig.parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    takes_ax = "ax" in params
    if "ax" in controls:
        raise ValueError("'ax' is reserved for the axes explore() passes to plot_fn; "
                         "rename that control.")
    unknown = [n for n in controls if n not in params and not takes_kwargs]
    if unknown:
        raise TypeError(
            f"plot_fn {getattr(plot_fn, '__name__', plot_fn)!r} has no parameter "
            f"{unknown[0]!r}; its parameters are {list(params)}.")
    missing = [n for n, p in params.items()
               if n != "ax" and n not in controls and p.default is p.empty
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if missing:
        raise TypeError(
            f"plot_fn needs a value for {missing!r}: give it a control "
            f"(e.g. {missing[0]}=(0.0, 1.0, 0.1)) or a default in its signature.")
    return sig, takes_ax


# ---------------------------------------------------------------------------
# The grid of frames: which values of each control get drawn
# ---------------------------------------------------------------------------
def _frame_counts(sizes: list[int], kinds: list[str], max_frames: int,
                  count_for: Callable[[int, int], int] | None = None) -> list[int]:
    """How many values each control keeps so that their product is at most
    ``max_frames``.

    The control with the most values gives some up (the later control on a
    tie: the first controls are usually the main ones), down to its floor
    (:data:`_FLOOR`: a slider keeps three values), then, if that is still too
    many, down to its starting value alone; then the first controls take
    back what still fits. ``count_for(i, n)`` is how many values control
    ``i`` really keeps when it may keep ``n`` (default ``n``).
    """
    count_for = count_for or (lambda i, n: min(n, sizes[i]))

    def fewer(i):
        return count_for(i, counts[i] - 1)

    def more(i):
        return next((m for n in range(counts[i] + 1, sizes[i] + 1)
                     if (m := count_for(i, n)) > counts[i]), counts[i])

    counts = list(sizes)
    for floors in ([min(s, _FLOOR[k]) for s, k in zip(sizes, kinds)], [1] * len(sizes)):
        while math.prod(counts) > max_frames:
            free = [i for i, c in enumerate(counts) if c > 1 and fewer(i) >= floors[i]]
            if not free:
                break
            i = max(free, key=lambda i: (counts[i], i))
            counts[i] = fewer(i)
    for i in range(len(counts)):
        while (grown := more(i)) > counts[i] and \
                math.prod(counts) // counts[i] * grown <= max_frames:
            counts[i] = grown
    return counts


def _even_steps(size: int, count: int, keep: int) -> list[int]:
    """At most ``count`` indices of ``range(size)`` that include ``keep`` and
    are evenly spaced (a slider's steps stay equal): as many as fit, and of
    those the ones that span most of the range."""
    if count >= size:
        return list(range(size))
    best = [keep]
    for stride in range(1, size):
        picks = list(range(keep % stride, size, stride))
        if len(picks) <= count and (len(picks), picks[-1] - picks[0]) > (
                len(best), best[-1] - best[0]):
            best = picks
    return best


def _spread(size: int, count: int, keep: int) -> list[int]:
    """``count`` indices out of ``range(size)``, evenly spread, both ends
    included when count >= 2, and always ``keep`` (the starting value)."""
    if count >= size:
        return list(range(size))
    if count <= 1:
        return [keep]
    picks = sorted({round(i * (size - 1) / (count - 1)) for i in range(count)})
    if keep not in picks:
        inner = [p for p in picks if p not in (0, size - 1)] or picks
        picks[picks.index(min(inner, key=lambda p: (abs(p - keep), p)))] = keep
    return sorted(picks)


def _label(value) -> str:
    """How a value is written on a control and in alt text."""
    if _is_number(value):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------
def _figure_of(result, fallback):
    """The figure plot_fn drew: the Figure or Axes it returned, else `fallback()`."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(result, Figure):
        return result
    if isinstance(result, Axes):
        return result.figure
    return fallback()


def _draw_once(plot_fn, takes_ax, values):
    import matplotlib.pyplot as plt

    if takes_ax:
        fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
        return _figure_of(plot_fn(ax=ax, **values), lambda: fig)
    return _figure_of(plot_fn(**values), plt.gcf)


def _png_of(fig, density: float | None = None) -> tuple[bytes, float]:
    """The figure as a PNG at ``density`` (default FRAME_DENSITY) times its
    dpi (like the inline backend's retina PNGs; less for a figure wider than
    MAX_FRAME_PIXELS), in 256 colours when that is smaller, with the text
    record course_lib.bookfigures writes kept; and its pixels per CSS px."""
    density = FRAME_DENSITY if density is None else density
    density = min(density, MAX_FRAME_PIXELS / (fig.get_figwidth() * fig.dpi))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=density * fig.dpi, bbox_inches="tight")
    return _smaller_png(buffer.getvalue()), density


def _smaller_png(data: bytes) -> bytes:
    """A palette PNG (at most 256 colours, no dithering) when it is smaller:
    plots are mostly flat colours, and anti-aliased edges barely change."""
    try:
        from PIL import Image, PngImagePlugin
    except ImportError:
        return data
    with Image.open(io.BytesIO(data)) as im:
        text = dict(getattr(im, "text", {}) or {})
        # Over white, as the page shows it (a transparent figure background
        # would turn black without an alpha channel).
        rgba = im.convert("RGBA")
        rgb = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    small = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                         dither=Image.Dither.NONE)
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    out = io.BytesIO()
    small.save(out, format="png", optimize=True, pnginfo=info)
    return out.getvalue() if out.tell() < len(data) else data


def _summary_of(plot_fn) -> str:
    """What the plot shows, for alt text: the first paragraph of plot_fn's
    docstring, else its name."""
    doc = inspect.getdoc(plot_fn) or ""
    first = " ".join(doc.strip().split("\n\n")[0].split())
    return first or getattr(plot_fn, "__name__", "plot").replace("_", " ").strip()


class Frame:
    """One pre-drawn frame: its control values, PNG, size in CSS px and alt text."""

    def __init__(self, values: dict, png: bytes, alt: str, density: float = FRAME_DENSITY):
        self.values, self.png, self.alt = values, png, alt
        from PIL import Image

        with Image.open(io.BytesIO(png)) as im:
            pixels = im.size
        self.width = round(pixels[0] / density)
        self.height = round(pixels[1] / density)

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def __repr__(self):
        return f"<Frame {self.values} {self.width}x{self.height} px, {len(self.png)} bytes>"


class Explorer:
    """What :func:`explore` returns outside a kernel: frames over a grid of values.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The plot at the starting values (closed, so pyplot does not show it
        again).
    values : dict[str, list]
        For each control, the values that have frames, in order.
    start : dict[str, Any]
        The starting value of each control (always one with frames).
    frames : list[Frame]
        One per combination of ``values``, the last control varying fastest.

    In a notebook the explorer shows as HTML (``_repr_html_``: the frames,
    native controls and ``book/_static/explore.js``, which switches frames)
    or, where HTML is not shown, as the starting frame (``_repr_png_``).
    """

    def __init__(self, plot_fn, takes_ax, parsed, max_frames=None):
        import itertools

        import matplotlib.pyplot as plt

        max_frames = MAX_FRAMES if max_frames is None else max_frames
        self.plot_fn, self._takes_ax, self._controls = plot_fn, takes_ax, parsed
        self.summary = _summary_of(plot_fn)
        full = [c.all_values() for c in parsed]
        starts = [c.index_of(c.default, vals) for c, vals in zip(parsed, full)]
        kinds = [c.kind for c in parsed]

        def picks(i, count):
            size, keep = len(full[i]), starts[i]
            if kinds[i] == "range" and count >= 4:
                # Equal steps; with three values or fewer, the two ends and
                # the start say more.
                return _even_steps(size, count, keep)
            return _spread(size, count, keep)

        counts = _frame_counts([len(v) for v in full], kinds, max_frames,
                               lambda i, count: len(picks(i, count)))
        self.values = {c.name: [full[i][j] for j in picks(i, counts[i])]
                       for i, c in enumerate(parsed)}
        self.start = {c.name: vals[s] for c, vals, s in zip(parsed, full, starts)}
        start = self._key(self.start)
        names = list(self.values)
        combos = list(itertools.product(*(range(len(self.values[n])) for n in names)))
        # The starting frame first: its size sets the density of all frames,
        # so that the explorer's PNGs stay within MAX_EXPLORER_BYTES.
        self.figure = _draw_once(plot_fn, takes_ax, self.start)
        # Closed, so the inline backend does not show it a second time when
        # the cell ends (and likewise every frame below).
        plt.close(self.figure)
        png, density = _png_of(self.figure)
        expected = len(png) * len(combos)
        if expected > MAX_EXPLORER_BYTES:
            # A PNG's size goes roughly with its number of pixels.
            density = max(1.0, density * math.sqrt(MAX_EXPLORER_BYTES / expected))
            png, density = _png_of(self.figure, density)
        self.frames = []
        self._index = {}
        for combo in combos:
            values = {n: self.values[n][i] for n, i in zip(names, combo)}
            if combo != start:
                fig = _draw_once(plot_fn, takes_ax, values)
                plt.close(fig)
                png, _ = _png_of(fig, density)
            else:
                png, _ = _png_of(self.figure, density)
            self._index[combo] = len(self.frames)
            self.frames.append(Frame(values, png, self.alt_text(values), density))

    def _key(self, values: dict) -> tuple:
        """The frame's index in each control's list of values."""
        return tuple(c.index_of(values[c.name], self.values[c.name])
                     for c in self._controls)

    # -- looking frames up -------------------------------------------------
    def snap(self, **values) -> dict:
        """The frame values nearest to ``values`` (the others at their start)."""
        unknown = [n for n in values if n not in self.values]
        if unknown:
            raise TypeError(f"no control named {unknown[0]!r}; "
                            f"the controls are {list(self.values)}.")
        snapped = {}
        for c in self._controls:
            vals = self.values[c.name]
            value = values.get(c.name, self.start[c.name])
            snapped[c.name] = vals[c.index_of(value, vals)]
        return snapped

    def frame(self, **values) -> Frame:
        """The frame a reader sees with the controls at (or nearest to) ``values``."""
        return self.frames[self._index[self._key(self.snap(**values))]]

    def draw(self, **values):
        """A new matplotlib Figure at ``values`` (any values, not only the
        frames'; the others at their start)."""
        import matplotlib.pyplot as plt

        fig = _draw_once(self.plot_fn, self._takes_ax, {**self.start, **values})
        plt.close(fig)
        return fig

    def alt_text(self, values: dict) -> str:
        settings = ", ".join(f"{n} = {_label(v)}" for n, v in values.items())
        return f"{self.summary.rstrip('.')} ({settings})." if settings else self.summary

    # -- display ------------------------------------------------------------
    def __repr__(self):
        sizes = ", ".join(f"{n} ({len(v)})" for n, v in self.values.items())
        name = getattr(self.plot_fn, "__name__", "plot")
        return f"<Explorer of {name}: {len(self.frames)} frames over {sizes or 'nothing'}>"

    def _repr_png_(self):
        first = self.frame()
        return first.png, {"width": first.width, "height": first.height}

    def _repr_html_(self):
        return self.html()

    def html(self) -> str:
        """The explorer as HTML: the frames (only the starting one shown) and
        the controls (hidden until book/_static/explore.js wires them up)."""
        esc = html.escape
        moving = [n for n in self.values if len(self.values[n]) > 1]
        start = self.frame()
        digest = hashlib.sha1(b"".join(hashlib.sha1(f.png).digest()
                                       for f in self.frames)).hexdigest()[:10]
        imgs = []
        for f in self.frames:
            key = ",".join(str(i) for c, i in zip(self._controls, self._key(f.values))
                           if c.name in moving)
            hidden = "" if f is start else " hidden"
            imgs.append(f'<img class="course-explorer-frame" src="{f.data_uri()}" '
                        f'width="{f.width}" height="{f.height}" alt="{esc(f.alt)}" '
                        f'lang="en" data-frame="{key}"{hidden}>')
        controls = []
        for c in self._controls:
            vals = self.values[c.name]
            at = start.values[c.name]
            i = c.index_of(at, vals)
            name = f'<span class="course-explorer-name">{esc(c.name)}</span>'
            if len(vals) == 1:
                controls.append(f'<span class="course-explorer-control course-explorer-fixed">'
                                f'{name} <span>= {esc(_label(at))}</span></span>')
            elif c.kind == "bool":
                on, off = c.index_of(True, vals), c.index_of(False, vals)
                checked = " checked" if at else ""
                controls.append(
                    f'<span class="course-explorer-control"><label><input type="checkbox" '
                    f'data-control="{esc(c.name)}" data-on="{on}" data-off="{off}"{checked}> '
                    f'{name}</label></span>')
            elif c.kind == "range":
                labels = esc(json.dumps([_label(v) for v in vals]))
                controls.append(
                    f'<span class="course-explorer-control"><label>{name} '
                    f'<input type="range" min="0" max="{len(vals) - 1}" step="1" '
                    f'value="{i}" data-control="{esc(c.name)}" data-labels="{labels}" '
                    f'aria-valuetext="{esc(_label(at))}"></label> '
                    f'<output aria-hidden="true">{esc(_label(at))}</output></span>')
            else:
                options = "".join(
                    f'<option value="{j}"{" selected" if j == i else ""}>'
                    f'{esc(_label(v))}</option>' for j, v in enumerate(vals))
                controls.append(
                    f'<span class="course-explorer-control"><label>{name} '
                    f'<select data-control="{esc(c.name)}">{options}</select></label></span>')
        return (f'<div class="course-explorer" id="course-explorer-{digest}">'
                f'<div class="course-explorer-frames">{"".join(imgs)}</div>'
                f'<div class="course-explorer-controls" hidden>{"".join(controls)}</div>'
                f'</div>')


# ---------------------------------------------------------------------------
# Live widgets (a Jupyter kernel)
# ---------------------------------------------------------------------------
def _make_widget(control: _Control):
    import ipywidgets as widgets

    if control.widget is not None:
        return control.widget
    # continuous_update=False: redraw when the slider is released, since a
    # plot that trains a small model can take a second to draw.
    if control.kind == "range":
        integral = all(isinstance(v, numbers.Integral)
                       for v in (control.low, control.high, control.step))
        cls = widgets.IntSlider if integral else widgets.FloatSlider
        return cls(value=control.default, min=control.low, max=control.high,
                   step=control.step, description=control.name,
                   continuous_update=False)
    if control.kind == "bool":
        return widgets.Checkbox(value=control.default, description=control.name)
    return widgets.Dropdown(options=control.options, value=control.default,
                            description=control.name)


def _live(plot_fn, takes_ax, parsed):
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    def redraw(**values):
        fig = _draw_once(plot_fn, takes_ax, values)
        display(fig)
        plt.close(fig)

    return widgets.interactive(redraw, **{c.name: _make_widget(c) for c in parsed})


def explore(plot_fn: Callable, *, max_frames: int | None = None, **controls):
    """Show ``plot_fn`` with a slider or drop-down for each of its parameters.

    Parameters
    ----------
    plot_fn : callable
        Draws one figure with matplotlib. It either takes an ``ax`` argument
        (an Axes to draw into, which :func:`explore` creates) or draws on the
        current figure / returns a ``Figure``. Every parameter without a default
        must be given a control. The first paragraph of its docstring, with
        the control values, is the alt text of the book's frames.
    **controls
        One per parameter of ``plot_fn`` to explore:

        - ``(min, max)`` or ``(min, max, step)``: a slider (integer when all
          three are ints);
        - a list: a drop-down of these options;
        - ``True`` / ``False``: a check box;
        - an ipywidgets widget: used as it is.

        The starting value is ``plot_fn``'s own default when it has one (and it
        lies in the range), else the middle of the range or the first option.
    max_frames : int, optional
        The most frames the book's explorer may have (default
        :data:`MAX_FRAMES`); ignored by the live widgets. Each frame adds its
        PNG (typically 15-60 kB) to the page.

    Returns
    -------
    ipywidgets.interactive or Explorer
        Live (a Jupyter kernel, ``$COURSE_BOOK_BUILD`` unset): the widget box,
        which shows itself when it is the last value of a cell and redraws on
        every change. Static (the book build, scripts, tests): an
        :class:`Explorer` with ``plot_fn`` already drawn over a grid of the
        controls' values: every value of each control while the grid has at
        most ``max_frames`` frames, else evenly spread values (always the
        ends and the starting value) of the controls with the most values.
        It shows as HTML frames with native controls (switched by
        ``book/_static/explore.js``), else as its starting frame (PNG);
        ``.figure`` is the matplotlib Figure at the starting values,
        ``.frames`` the PNG frames, ``.draw(**values)`` draws a new Figure.

    Raises
    ------
    TypeError
        A control names no parameter of ``plot_fn``, a required parameter has
        no control, or a control is of an unsupported type.
    ValueError
        A range is empty or has a non-positive step, an option list is empty,
        or ``max_frames`` is below 1.
    """
    if max_frames is not None and not (isinstance(max_frames, numbers.Integral)
                                       and max_frames >= 1):
        raise ValueError(f"max_frames must be a whole number of at least 1, got {max_frames!r}.")
    sig, takes_ax = _check_signature(plot_fn, controls)
    parsed = [
        _parse_control(name, spec,
                       sig.parameters[name].default if name in sig.parameters
                       else inspect.Parameter.empty)
        for name, spec in controls.items()
    ]
    if static_mode():
        return Explorer(plot_fn, takes_ax, parsed, max_frames)
    return _live(plot_fn, takes_ax, parsed)
