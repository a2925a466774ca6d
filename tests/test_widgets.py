"""Tests for course_lib.widgets.explore: pre-drawn explorers for the book, widgets live."""

import base64
import io
import json
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import widgets  # noqa: E402
from course_lib.widgets import Explorer, explore, static_mode  # noqa: E402


@pytest.fixture
def book_build(monkeypatch):
    monkeypatch.setenv("COURSE_BOOK_BUILD", "1")


@pytest.fixture
def small_frames(monkeypatch):
    """Frames drawn at a tenth of the density: the same grid, quicker tests."""
    monkeypatch.setattr(widgets, "FRAME_DENSITY", 0.1)


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


def test_static_returns_explorer_at_defaults(book_build, small_frames):
    """During a book build, does explore return an Explorer whose figure is
    drawn at plot_fn's own defaults (or mid-range), with every figure closed?"""
    plot_line, calls = recorder()
    ex = explore(plot_line, slope=(-2.0, 2.0, 0.5), offset=(0.0, 1.0, 0.1),
                 kind=["dashed", "solid", "dotted"])
    assert isinstance(ex, Explorer)
    # slope has no default: middle of the range; offset and kind: the function's defaults.
    assert ex.start == dict(slope=0.0, offset=0.5, kind="solid")
    assert calls[0] == ex.start  # drawn first: its size sets the frames' density
    assert len(calls) == len(ex.frames) <= widgets.MAX_FRAMES
    assert isinstance(ex.figure, Figure)
    assert list(ex.figure.axes[0].lines[0].get_ydata()) == [0.5, 0.5]
    # Closed, so the inline backend does not show them a second time.
    assert plt.get_fignums() == []


def test_static_default_outside_range_uses_middle(book_build, small_frames):
    """Is a function default outside the slider's range replaced by the middle value?"""
    plot_line, calls = recorder()
    ex = explore(plot_line, slope=(1, 9, 2), offset=(2.0, 4.0))
    assert ex.start == dict(slope=5, offset=3.0)
    assert isinstance(ex.start["slope"], int)


def test_small_grid_has_every_combination(book_build, small_frames):
    """Below MAX_FRAMES, is there one frame per combination of every value,
    the last control varying fastest, each frame drawn once?"""
    seen = []

    def plot_curve(ax, power, scale=1.0, flip=False):
        seen.append((power, scale, flip))
        ax.plot([0, 1, 2], [scale * t ** power for t in (0, 1, 2)])

    ex = explore(plot_curve, power=(1, 3, 1), scale=(0.5, 2.0, 0.5), flip=False)
    assert ex.values == {"power": [1, 2, 3], "scale": [0.5, 1.0, 1.5, 2.0],
                         "flip": [False, True]}
    expected = [(p, s, f) for p in (1, 2, 3) for s in (0.5, 1.0, 1.5, 2.0)
                for f in (False, True)]
    assert seen == [(2, 1.0, False)] + [e for e in expected if e != (2, 1.0, False)]
    assert [tuple(f.values.values()) for f in ex.frames] == expected
    assert ex.start == {"power": 2, "scale": 1.0, "flip": False}


def test_float_values_are_exact_and_snap(book_build):
    """Are slider values on the step grid (0.3, not 0.30000000000000004), and
    does a value between two frames snap to the nearest one?"""
    def plot_reg(ax, reg=0.3):
        ax.plot([0, 1], [0, reg])

    ex = explore(plot_reg, reg=(0.1, 0.5, 0.1))
    assert ex.values["reg"] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert ex.snap(reg=0.33) == {"reg": 0.3}
    assert ex.snap(reg=7.0) == {"reg": 0.5}
    assert ex.snap() == {"reg": 0.3}
    assert ex.frame(reg=0.26).values == {"reg": 0.3}
    assert ex.frame(reg=0.1) is ex.frames[0]
    assert list(ex.frame(reg=0.5).png[:8]) == list(b"\x89PNG\r\n\x1a\n")


def test_large_grid_is_subsampled_evenly_through_the_start(book_build, small_frames):
    """With more combinations than MAX_FRAMES, do the sliders keep equally
    spaced values through their starting value (ends and start when only
    three are left), and the product stay under MAX_FRAMES?"""
    def plot_rotated(ax, angle_deg=0, bias_shift=0.0):
        ax.plot([0, 1], [bias_shift, angle_deg])

    ex = explore(plot_rotated, angle_deg=(-90, 90, 15), bias_shift=(-4.0, 4.0, 0.5))
    assert ex.values == {"angle_deg": [-90, -60, -30, 0, 30, 60, 90],
                         "bias_shift": [-4.0, -2.0, 0.0, 2.0, 4.0]}
    assert len(ex.frames) == 35 <= widgets.MAX_FRAMES

    def plot_path(ax, momentum=0.9, lr=0.02, surface="bowl", num_steps=100):
        pass

    ex = explore(plot_path, momentum=(0.0, 0.98, 0.02), lr=(0.002, 0.1, 0.002),
                 surface=["bowl", "valley", "saddle"], num_steps=(10, 300, 10))
    assert ex.values == {"momentum": [0.0, 0.9, 0.98], "lr": [0.002, 0.02, 0.1],
                         "surface": ["bowl", "saddle"], "num_steps": [100, 300]}
    assert len(ex.frames) == 36
    # A value between frames snaps; an option without a frame is refused.
    assert ex.snap(momentum=0.4, num_steps=10) == dict(
        momentum=0.0, lr=0.02, surface="bowl", num_steps=100)
    with pytest.raises(ValueError, match="'valley' is not one of"):
        ex.frame(surface="valley")
    with pytest.raises(TypeError, match="no control named 'speed'"):
        ex.snap(speed=1)


def test_options_are_subsampled_keeping_the_start(book_build, small_frames):
    """Do two 10-option drop-downs keep 6 options each, the starting ones among them?"""
    names = [f"class {i}" for i in range(10)]

    def show(true_class="class 3", predicted_class="class 5"):
        return Figure()

    ex = explore(show, true_class=names, predicted_class=names)
    assert len(ex.frames) == 36
    assert "class 3" in ex.values["true_class"] and "class 5" in ex.values["predicted_class"]
    assert ex.values["true_class"][0] == "class 0" and ex.values["true_class"][-1] == "class 9"


def test_max_frames_per_call(book_build, small_frames):
    """Can a chapter give one explorer more (or fewer) frames than MAX_FRAMES?"""
    def plot_kernel(ax, kernel="edges", centre=0.0, stride=1):
        ax.plot([0, 1], [centre, stride])

    kernels = ["edges", "blur", "sharpen", "identity", "emboss"]
    ex = explore(plot_kernel, max_frames=45, kernel=kernels, centre=(-4.0, 4.0, 0.5),
                 stride=(1, 3, 1))
    assert ex.values == {"kernel": kernels, "centre": [-4.0, 0.0, 4.0], "stride": [1, 2, 3]}
    assert len(explore(plot_kernel, max_frames=3, kernel=kernels).frames) == 3
    with pytest.raises(ValueError, match="max_frames must be"):
        explore(plot_kernel, max_frames=0, kernel=kernels)


@pytest.mark.parametrize("sizes, kinds, budget, expected", [
    ([13, 2], ["range", "options"], 40, [13, 2]),               # fits: all of them
    ([21, 2], ["range", "options"], 40, [20, 2]),
    ([13, 17], ["range", "range"], 40, [6, 6]),                  # later one first on a tie
    ([6, 17, 3, 3], ["options", "range", "range", "options"], 40, [2, 3, 3, 2]),
    ([50, 50, 3, 30], ["range", "range", "options", "range"], 40, [3, 3, 2, 2]),
    ([5, 5, 5], ["range", "range", "range"], 8, [2, 2, 2]),     # under the floors
    ([5, 17, 3], ["options", "range", "range"], 45, [5, 3, 3]),  # 4 x 3 x 3, then 5 fits
    ([9, 2], ["range", "bool"], 1, [1, 1]),                       # the start alone
])
def test_frame_counts(sizes, kinds, budget, expected):
    """Does the control with the most values give values up first, down to its
    floor, and the first controls take back what fits?"""
    assert widgets._frame_counts(sizes, kinds, budget) == expected


@pytest.mark.parametrize("size, count, keep, expected", [
    (13, 7, 6, [0, 2, 4, 6, 8, 10, 12]),
    (17, 6, 8, [0, 4, 8, 12, 16]),        # [2, 5, ..., 14] is as many, but narrower
    (50, 4, 3, [3, 18, 33, 48]),
    (5, 9, 2, [0, 1, 2, 3, 4]),
    (5, 1, 2, [2]),
])
def test_even_steps(size, count, keep, expected):
    picks = widgets._even_steps(size, count, keep)
    assert picks == expected and keep in picks and len(picks) <= count
    assert len({b - a for a, b in zip(picks, picks[1:])}) <= 1


def test_log_slider_values(book_build):
    """Does a FloatLogSlider give frames at its values (10**-3 ... 10), not its exponents?"""
    ipywidgets = pytest.importorskip("ipywidgets")
    seen = []

    def plot_lr(ax, lr):
        seen.append(lr)

    ex = explore(plot_lr, lr=ipywidgets.FloatLogSlider(value=0.01, base=10, min=-3, max=1,
                                                       step=1))
    assert sorted(seen) == pytest.approx([1e-3, 1e-2, 0.1, 1.0, 10.0])
    assert ex.start == {"lr": pytest.approx(0.01)}
    assert ex.snap(lr=0.04)["lr"] == pytest.approx(0.1)  # nearer on a log scale


def test_static_accepts_unmanaged_figure(book_build):
    """Is a Figure built without pyplot (not on pyplot's list) the explorer's figure?"""
    made = []

    def plot_raw(n=3):
        fig = Figure()
        fig.add_subplot().plot(range(n))
        made.append(fig)
        return fig

    ex = explore(plot_raw, n=(1, 5))
    assert len(made) == 5 and ex.figure is made[0]  # the start, n = 3, comes first
    assert ex.draw(n=4) is made[5]


def test_draw_gives_a_new_figure_at_any_value(book_build):
    """Can a script still get a matplotlib Figure, at values without a frame too?"""
    def plot_reg(ax, reg=0.3):
        ax.plot([0, 1], [0, reg])

    ex = explore(plot_reg, reg=(0.1, 0.5, 0.1))
    fig = ex.draw(reg=0.37)
    assert isinstance(fig, Figure) and list(fig.axes[0].lines[0].get_ydata()) == [0, 0.37]
    assert plt.get_fignums() == []


def test_alt_text_from_docstring_and_values(book_build, small_frames):
    """Is a frame's alt text the docstring's first paragraph plus the control
    values (the function's name without a docstring)?"""
    def plot_neuron(ax, b=-0.8, style="step"):
        """Shade where the step neuron
        fires.

        More details that are not alt text.
        """

    ex = explore(plot_neuron, b=(-1.1, -0.1, 0.1), style=["step", "smooth"])
    assert ex.frame(b=-0.5, style="smooth").alt == (
        "Shade where the step neuron fires (b = -0.5, style = smooth).")

    def plot_descent(ax, lr=0.02):
        pass

    assert explore(plot_descent, lr=(0.01, 0.03, 0.01)).frames[0].alt == \
        "plot descent (lr = 0.01)."


class _Tree(HTMLParser):
    """Elements of an HTML fragment with their parents; fails on a tag closed
    out of order (which a browser would repair by moving things around)."""

    VOID = {"img", "input", "br", "hr", "meta", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.elements, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "parents": [e["tag"] for e in self.stack],
                   "text": ""}
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1]["tag"] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1]['tag'] if self.stack else None}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack:
            self.stack[-1]["text"] += data

    def find(self, tag, **attrs):
        return [e for e in self.elements if e["tag"] == tag
                and all(e["attrs"].get(k) == v for k, v in attrs.items())]


def parse(fragment):
    tree = _Tree()
    tree.feed(fragment)
    tree.close()
    assert tree.errors == [] and tree.stack == [], tree.errors
    return tree


def test_html_structure(book_build):
    """Does the HTML hold one <img> per frame (only the start shown, each with
    alt text and a data: URI), a range slider, a <select> and a check box on
    the frames' values, a fixed label for a one-value control, no script, no
    block that would break the <figure> MyST-NB wraps it in?"""
    def plot_knn(ax, k=5, metric="l2", shade=True, grid=None):
        """Colour the plane by the k-NN prediction."""
        ax.plot([0, k], [0, 1])

    ex = explore(plot_knn, k=(1, 9, 2), metric=["l2", "l1"], shade=True,
                 grid=ipywidgets_free_widget())
    tree = parse("<figure>" + ex._repr_html_() + "<figcaption>x</figcaption></figure>")
    assert [e["parents"] for e in tree.find("figcaption")] == [["figure"]]
    tags = {e["tag"] for e in tree.elements}
    assert tags <= {"figure", "figcaption", "div", "span", "img", "label", "input",
                    "output", "select", "option"}, tags
    imgs = tree.find("img")
    assert len(imgs) == len(ex.frames) == 5 * 2 * 2
    shown = [i for i in imgs if "hidden" not in i["attrs"]]
    assert len(shown) == 1 and shown[0]["attrs"]["data-frame"] == "2,0,1"
    assert shown[0]["attrs"]["alt"] == ("Colour the plane by the k-NN prediction "
                                        "(k = 5, metric = l2, shade = True, grid = 7).")
    assert len({i["attrs"]["data-frame"] for i in imgs}) == len(imgs)
    for img, frame in zip(imgs, ex.frames):
        assert img["attrs"]["src"] == frame.data_uri()
        assert img["attrs"]["src"].startswith("data:image/png;base64,")
        assert img["attrs"]["alt"] == frame.alt and img["attrs"]["lang"] == "en"
        assert (img["attrs"]["width"], img["attrs"]["height"]) == (str(frame.width),
                                                                   str(frame.height))
    # The controls are hidden until explore.js shows them.
    box = tree.find("div", **{"class": "course-explorer-controls"})
    assert len(box) == 1 and "hidden" in box[0]["attrs"]
    (slider,) = tree.find("input", type="range")
    assert slider["attrs"] | {} == slider["attrs"]
    assert (slider["attrs"]["min"], slider["attrs"]["max"], slider["attrs"]["step"],
            slider["attrs"]["value"]) == ("0", "4", "1", "2")
    assert json.loads(slider["attrs"]["data-labels"]) == ["1", "3", "5", "7", "9"]
    assert slider["attrs"]["aria-valuetext"] == "5" and "label" in slider["parents"]
    (output,) = tree.find("output")
    assert output["text"] == "5"
    (select,) = tree.find("select")
    assert select["attrs"]["data-control"] == "metric" and "label" in select["parents"]
    options = tree.find("option")
    assert [o["text"] for o in options] == ["l2", "l1"]
    assert [o["attrs"]["value"] for o in options] == ["0", "1"]
    assert "selected" in options[0]["attrs"]
    (box,) = tree.find("input", type="checkbox")
    assert box["attrs"]["data-on"] == "1" and box["attrs"]["data-off"] == "0"
    assert "checked" in box["attrs"]
    fixed = [e for e in tree.elements if "course-explorer-fixed" in e["attrs"].get("class", "")]
    assert len(fixed) == 1
    assert "grid" in ex._repr_html_() and len(tree.find("input")) == 2


def ipywidgets_free_widget():
    """A stand-in widget explore knows nothing about: it keeps its one value."""
    class Box:
        value = 7

        def observe(self, *args, **kwargs):
            pass

    return Box()


def test_shows_as_html_and_as_png(book_build):
    """Does IPython display the explorer as HTML, with the starting frame as a
    PNG (at its CSS size) for front ends that do not show HTML?"""
    from IPython.core.formatters import DisplayFormatter

    def plot_reg(ax, reg=0.3):
        """A line of slope reg."""
        ax.plot([0, 1], [0, reg])

    ex = explore(plot_reg, reg=(0.1, 0.5, 0.1))
    data, metadata = DisplayFormatter().format(ex)
    assert {"text/html", "image/png", "text/plain"} <= set(data)
    assert data["text/html"].startswith('<div class="course-explorer"')
    start = ex.frame()
    png = data["image/png"]
    assert (base64.b64decode(png) if isinstance(png, str) else png) == start.png
    assert metadata["image/png"] == {"width": start.width, "height": start.height}
    assert data["text/plain"] == "<Explorer of plot_reg: 5 frames over reg (5)>"


def test_frames_are_small_retina_pngs_with_a_text_record(book_build, monkeypatch):
    """With the book's figure hook (book/matplotlibrc), is each frame a PNG at
    twice the CSS size, in a palette, that still records its text size for
    tests/test_book_browser.py?"""
    from PIL import Image

    monkeypatch.setitem(matplotlib.rcParams, "figure.hooks",
                        ["course_lib.bookfigures:prepare"])

    def plot_sine(ax, freq=1.0):
        """A sine wave."""
        ax.plot(range(50), [((i * freq) % 7) for i in range(50)])
        ax.set(title="sine", xlabel="x", ylabel="y")

    ex = explore(plot_sine, freq=(1.0, 3.0, 1.0))
    for frame in ex.frames:
        with Image.open(io.BytesIO(frame.png)) as im:
            assert im.format == "PNG" and im.size[0] == pytest.approx(2 * frame.width, abs=1)
            assert float(im.text["course:text-median-px"]) > 20  # 10 pt at 200 dpi
            mode = im.mode
        assert mode == "P" and len(frame.png) < 100_000


def test_wide_figure_frames_are_capped(book_build):
    """Is a frame of a figure wider than the column drawn at most
    MAX_FRAME_PIXELS wide, and shown at its CSS size all the same?"""
    def wide(n=1):
        fig = Figure(figsize=(12, 3))
        fig.add_subplot().plot(range(n + 1))
        return fig

    ex = explore(wide, n=(1, 2))
    frame = ex.frames[0]
    from PIL import Image

    with Image.open(io.BytesIO(frame.png)) as im:
        assert im.size[0] <= widgets.MAX_FRAME_PIXELS
    # 12 in at 100 dpi, less the margins bbox_inches="tight" trims
    assert 900 < frame.width < 1200
    assert im.size[0] / frame.width == pytest.approx(widgets.MAX_FRAME_PIXELS / 1200,
                                                     rel=0.01)


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


def test_transparent_background_stays_white():
    """Does the palette PNG put a transparent figure on white, not black?"""
    from PIL import Image

    fig = Figure(figsize=(1, 1))
    fig.patch.set_alpha(0)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", transparent=True)
    with Image.open(io.BytesIO(widgets._smaller_png(buffer.getvalue()))) as im:
        assert im.convert("RGB").getpixel((5, 5)) == (255, 255, 255)


def test_heavy_frames_are_drawn_at_a_lower_density(book_build, monkeypatch):
    """When the frames would weigh more than MAX_EXPLORER_BYTES, are they
    drawn with fewer pixels (down to 1 per CSS px) at the same CSS size?"""
    from PIL import Image

    def plot_sine(ax, freq=1.0):
        ax.plot(range(50), [((i * freq) % 7) for i in range(50)])

    full = explore(plot_sine, freq=(1.0, 3.0, 1.0))
    monkeypatch.setattr(widgets, "MAX_EXPLORER_BYTES",
                        sum(len(f.png) for f in full.frames) // 2)
    light = explore(plot_sine, freq=(1.0, 3.0, 1.0))
    for a, b in zip(full.frames, light.frames):
        assert (b.width, b.height) == pytest.approx((a.width, a.height), abs=2)
        with Image.open(io.BytesIO(a.png)) as big, Image.open(io.BytesIO(b.png)) as small:
            assert 1.0 * b.width - 2 <= small.size[0] < big.size[0]
    assert sum(len(f.png) for f in light.frames) < sum(len(f.png) for f in full.frames)
