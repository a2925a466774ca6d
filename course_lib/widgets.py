"""Interactive explorers that degrade to static figures in the built book.

A chapter calls :func:`explore` with a plotting function and the ranges of its
parameters. A reader running the notebook gets sliders and drop-downs
(ipywidgets); the HTML book, which has no kernel behind it, gets an ordinary
figure instead (drawn at the default values, or a strip of panels across the
first control), so nothing on the page depends on JavaScript from another host.

Example
-------
>>> import numpy as np
>>> def plot_sigmoid(ax, scale=1.0, shift=0.0):
...     z = np.linspace(-6, 6, 200)
...     ax.plot(z, 1 / (1 + np.exp(-scale * (z - shift))))
...     ax.set(xlabel="z", ylabel="sigmoid(z)")
>>> fig = explore(plot_sigmoid, scale=(0.5, 4.0, 0.5), shift=(-2.0, 2.0, 0.5))

When is the page static?
------------------------
When the environment variable ``COURSE_BOOK_BUILD`` is set to anything but
``""``/``0`` (``make book`` sets it, and the kernels that execute the chapters
inherit it), or when the code runs outside a Jupyter kernel (a script, pytest),
or when ipywidgets is not installed.
"""

from __future__ import annotations

import inspect
import numbers
import os
from typing import Any, Callable

__all__ = ["explore", "static_mode", "STATIC_PANELS"]

#: How many panels the static strip shows when ``plot_fn`` draws into ``ax``.
STATIC_PANELS = 3

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
    """Return True when :func:`explore` should draw a static figure.

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
    """One parsed control: its kind, its default value and the values a strip shows."""

    def __init__(self, name, kind, default, *, low=None, high=None, step=None,
                 options=None, widget=None, log_base=None):
        self.name, self.kind, self.default = name, kind, default
        self.low, self.high, self.step = low, high, step
        self.options, self.widget = options, widget
        # A FloatLogSlider's min/max/step are exponents of this base.
        self.log_base = log_base

    def strip_values(self, num_panels: int) -> list:
        """A few representative values, for the static strip of panels."""
        if self.kind == "range":
            values = [self.low + (self.high - self.low) * i / (num_panels - 1)
                      for i in range(num_panels)] if num_panels > 1 else [self.default]
            values = [_snap(v, self.low, self.high, self.step) for v in values]
            if self.log_base is not None:
                values = [float(self.log_base ** v) for v in values]
        elif self.kind in ("options", "bool"):
            values = list(self.options)[:num_panels]
        else:  # a widget we know nothing about: show its current value only
            values = [self.default]
        unique = []
        for v in values:
            if not any(v == u for u in unique):
                unique.append(v)
        return unique


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _snap(value, low, high, step):
    """Round `value` onto the grid low, low + step, ... and clip it to [low, high]."""
    snapped = low + round((value - low) / step) * step
    snapped = min(max(snapped, low), high)
    if all(isinstance(v, numbers.Integral) for v in (low, high, step)):
        return int(snapped)
    # Keep 0.30000000000000004 out of panel titles and slider labels.
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


def _draw_strip(plot_fn, control, defaults, num_panels):
    import matplotlib.pyplot as plt

    values = control.strip_values(num_panels)
    # Small panels: the strip is shrunk to the page's width, and 3.2 inches
    # a panel keeps tick labels readable after that.
    fig, axes = plt.subplots(1, len(values), figsize=(3.2 * len(values), 3.0),
                             layout="constrained", squeeze=False)
    for ax, value in zip(axes[0], values):
        plot_fn(ax=ax, **{**defaults, control.name: value})
        label = f"{control.name} = {value:g}" if _is_number(value) else f"{control.name} = {value}"
        title = ax.get_title()
        ax.set_title(f"{title}\n({label})" if title else label)
    return fig


def _static(plot_fn, takes_ax, parsed, defaults):
    import matplotlib.pyplot as plt

    if takes_ax and parsed and STATIC_PANELS > 1:
        fig = _draw_strip(plot_fn, parsed[0], defaults, STATIC_PANELS)
    else:
        fig = _draw_once(plot_fn, takes_ax, defaults)
    # The cell shows the returned figure; closing it stops the inline backend
    # from showing it a second time when the cell ends.
    plt.close(fig)
    return fig


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


def explore(plot_fn: Callable, **controls):
    """Show ``plot_fn`` with a slider or drop-down for each of its parameters.

    Parameters
    ----------
    plot_fn : callable
        Draws one figure with matplotlib. It either takes an ``ax`` argument
        (an Axes to draw into, which :func:`explore` creates) or draws on the
        current figure / returns a ``Figure``. Every parameter without a default
        must be given a control.
    **controls
        One per parameter of ``plot_fn`` to explore:

        - ``(min, max)`` or ``(min, max, step)``: a slider (integer when all
          three are ints);
        - a list: a drop-down of these options;
        - ``True`` / ``False``: a check box;
        - an ipywidgets widget: used as it is.

        The starting value is ``plot_fn``'s own default when it has one (and it
        lies in the range), else the middle of the range or the first option.

    Returns
    -------
    ipywidgets.interactive or matplotlib.figure.Figure
        Live (a Jupyter kernel, ``$COURSE_BOOK_BUILD`` unset): the widget box,
        which shows itself when it is the last value of a cell. Static (the
        book build, scripts, tests): the figure, drawn at the starting values;
        if ``plot_fn`` takes ``ax``, a strip of ``STATIC_PANELS`` panels over
        the first control's range instead, the other controls at their
        starting values.

    Raises
    ------
    TypeError
        A control names no parameter of ``plot_fn``, a required parameter has
        no control, or a control is of an unsupported type.
    ValueError
        A range is empty or has a non-positive step, an option list is empty.
    """
    sig, takes_ax = _check_signature(plot_fn, controls)
    parsed = [
        _parse_control(name, spec,
                       sig.parameters[name].default if name in sig.parameters
                       else inspect.Parameter.empty)
        for name, spec in controls.items()
    ]
    if static_mode():
        defaults = {c.name: c.default for c in parsed}
        return _static(plot_fn, takes_ax, parsed, defaults)
    return _live(plot_fn, takes_ax, parsed)
