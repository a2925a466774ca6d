"""Tests for course_lib.widgets.explore: static figures for the book, widgets live."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import widgets  # noqa: E402
from course_lib.widgets import explore, static_mode  # noqa: E402


@pytest.fixture
def book_build(monkeypatch):
    monkeypatch.setenv("COURSE_BOOK_BUILD", "1")


@pytest.fixture
def live(monkeypatch):
    """Pretend a Jupyter frontend is attached (pytest runs without a kernel)."""
    pytest.importorskip("ipywidgets")
    monkeypatch.delenv("COURSE_BOOK_BUILD", raising=False)
    monkeypatch.setattr(widgets, "_has_frontend", lambda: True)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def recorder():
    """A plot function (no `ax`) that records the values it was drawn with."""
    calls = []

    def plot_line(slope, offset=0.5, kind="solid"):
        calls.append(dict(slope=slope, offset=offset, kind=kind))
        fig, ax = plt.subplots()
        ax.plot([0, 1], [offset, offset + slope], linestyle=kind)
        return fig

    return plot_line, calls


def test_static_mode_follows_env_var(monkeypatch):
    """Does COURSE_BOOK_BUILD=1 force static mode even when a frontend is attached?"""
    monkeypatch.setattr(widgets, "_has_frontend", lambda: True)
    monkeypatch.setenv("COURSE_BOOK_BUILD", "1")
    assert static_mode() is True
    monkeypatch.setenv("COURSE_BOOK_BUILD", "0")
    assert static_mode() is False
    monkeypatch.delenv("COURSE_BOOK_BUILD")
    assert static_mode() is False


def test_static_mode_without_kernel(monkeypatch):
    """Is a plain Python process (no Jupyter kernel) treated as static?"""
    monkeypatch.delenv("COURSE_BOOK_BUILD", raising=False)
    assert widgets._has_frontend() is False
    assert static_mode() is True


def test_static_returns_figure_at_defaults(book_build):
    """During a book build, is plot_fn drawn once, at its own defaults or mid-range?"""
    plot_line, calls = recorder()
    fig = explore(plot_line, slope=(-2.0, 2.0, 0.5), offset=(0.0, 1.0, 0.1),
                  kind=["dashed", "solid", "dotted"])
    assert isinstance(fig, Figure)
    # slope has no default: middle of the range; offset and kind: the function's defaults.
    assert calls == [dict(slope=0.0, offset=0.5, kind="solid")]
    line = fig.axes[0].lines[0]
    assert list(line.get_ydata()) == [0.5, 0.5]
    # Closed, so the inline backend does not show it a second time.
    assert fig.number not in plt.get_fignums()


def test_static_default_outside_range_uses_middle(book_build):
    """Is a function default outside the slider's range replaced by the middle value?"""
    plot_line, calls = recorder()
    explore(plot_line, slope=(1, 9, 2), offset=(2.0, 4.0))
    assert calls[0]["slope"] == 5 and isinstance(calls[0]["slope"], int)
    assert calls[0]["offset"] == 3.0


def test_static_strip_over_first_control(book_build):
    """With an `ax` parameter, does the static figure show min, middle and max of the first control?"""
    seen = []

    def plot_curve(ax, power, scale=1.0):
        seen.append((power, scale))
        ax.plot([0, 1, 2], [scale * t ** power for t in (0, 1, 2)])
        ax.set_title("curve")

    fig = explore(plot_curve, power=(1, 3, 1), scale=(0.5, 2.0, 0.5))
    assert len(fig.axes) == widgets.STATIC_PANELS == 3
    assert seen == [(1, 1.0), (2, 1.0), (3, 1.0)]
    assert [ax.get_title() for ax in fig.axes] == [
        "curve\n(power = 1)", "curve\n(power = 2)", "curve\n(power = 3)"]
    assert list(fig.axes[2].lines[0].get_ydata()) == [0.0, 1.0, 8.0]


def test_static_strip_snaps_float_values(book_build):
    """Are strip values rounded onto the slider's grid (0.3, not 0.30000000000000004)?"""
    seen = []

    def plot_reg(ax, reg):
        seen.append(reg)
        ax.plot([0, 1], [0, reg])

    fig = explore(plot_reg, reg=(0.1, 0.5, 0.1))
    assert seen == [0.1, 0.3, 0.5]  # exact: the values a reader would type
    assert [ax.get_title() for ax in fig.axes] == ["reg = 0.1", "reg = 0.3", "reg = 0.5"]


def test_static_strip_over_options(book_build):
    """Does a drop-down as first control give one panel per option (up to STATIC_PANELS)?"""
    seen = []

    def plot_act(ax, activation):
        seen.append(activation)
        ax.plot([0, 1], [0, 1])

    fig = explore(plot_act, activation=["relu", "tanh", "sigmoid", "leaky"])
    assert seen == ["relu", "tanh", "sigmoid"]
    assert [ax.get_title() for ax in fig.axes] == [
        "activation = relu", "activation = tanh", "activation = sigmoid"]


def test_static_strip_over_log_slider(book_build):
    """Does a FloatLogSlider's strip show values (10**-3 ... 1), not its exponents?"""
    ipywidgets = pytest.importorskip("ipywidgets")
    seen = []

    def plot_lr(ax, lr):
        seen.append(lr)

    explore(plot_lr, lr=ipywidgets.FloatLogSlider(value=0.01, base=10, min=-3, max=1, step=1))
    assert seen == pytest.approx([1e-3, 0.1, 10.0])


def test_static_accepts_unmanaged_figure(book_build):
    """Is a Figure built without pyplot (not on pyplot's list) returned as it is?"""
    made = []

    def plot_raw(n=3):
        fig = Figure()
        fig.add_subplot().plot(range(n))
        made.append(fig)
        return fig

    assert explore(plot_raw, n=(1, 5)) is made[0]


@pytest.mark.parametrize("controls, error, message", [
    (dict(slop=(0.0, 1.0)), TypeError, "no parameter 'slop'"),
    (dict(offset=(0.0, 1.0)), TypeError, "needs a value for ['slope']"),
    (dict(slope=(1.0, 0.0)), ValueError, "min must be below max"),
    (dict(slope=(0.0, 1.0, 0.0)), ValueError, "step must be positive"),
    (dict(slope=(0.0, 1.0, 0.1, 2.0)), ValueError, "(min, max) or (min, max, step)"),
    (dict(slope=("a", "b")), ValueError, "Use a list for a set of options"),
    (dict(slope=[]), ValueError, "list of options is empty"),
    (dict(slope="steep"), TypeError, "expected a (min, max, step) tuple"),
])
def test_bad_controls_raise_clear_errors(book_build, controls, error, message):
    """Do mistakes in the controls raise an error that names the problem?"""
    plot_line, calls = recorder()
    with pytest.raises(error) as info:
        explore(plot_line, **controls)
    assert message in str(info.value)
    assert calls == []


def test_ax_is_reserved(book_build):
    """Is a control named 'ax' refused (explore passes the axes itself)?"""
    with pytest.raises(ValueError, match="'ax' is reserved"):
        explore(lambda ax: None, ax=(0, 1))


def test_live_builds_widgets(live):
    """In a kernel, does explore build the right slider, drop-down and check box?"""
    import ipywidgets

    plot_line, calls = recorder()
    box = explore(plot_line, slope=(-2.0, 2.0, 0.5), offset=(0, 10, 2),
                  kind=["dashed", "solid"])
    assert isinstance(box, ipywidgets.interactive)
    by_name = {w.description: w for w in box.kwargs_widgets}
    slope, offset, kind = by_name["slope"], by_name["offset"], by_name["kind"]
    assert isinstance(slope, ipywidgets.FloatSlider)
    assert (slope.min, slope.max, slope.step, slope.value) == (-2.0, 2.0, 0.5, 0.0)
    assert isinstance(offset, ipywidgets.IntSlider)
    assert (offset.min, offset.max, offset.step, offset.value) == (0, 10, 2, 0)
    assert isinstance(kind, ipywidgets.Dropdown)
    assert kind.options == ("dashed", "solid") and kind.value == "solid"
    assert slope.continuous_update is False
    # interactive draws once on construction, then again on every change.
    assert calls == [dict(slope=0.0, offset=0, kind="solid")]
    slope.value = 1.5
    assert calls[-1] == dict(slope=1.5, offset=0, kind="solid")
    assert plt.get_fignums() == []  # each redraw closes its figure


def test_live_passes_axes_and_widgets_through(live):
    """Are a user's own widget and a bool check box used, and does an `ax` plot get its axes?"""
    import ipywidgets

    seen = []

    def plot_flag(ax, show, width):
        seen.append((type(ax).__name__, show, width))

    mine = ipywidgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0)
    box = explore(plot_flag, show=True, width=mine)
    widgets_ = box.kwargs_widgets
    assert isinstance(widgets_[0], ipywidgets.Checkbox) and widgets_[0].value is True
    assert widgets_[1] is mine
    assert seen == [("Axes", True, pytest.approx(0.1))]
