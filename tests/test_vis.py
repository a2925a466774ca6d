"""Tests for course_lib.vis, drawn with the non-interactive Agg backend."""
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course_lib import vis  # noqa: E402

CLASSES = ("plane", "car", "bird")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_importing_vis_does_not_import_pyplot():
    """Is matplotlib.pyplot imported only when a plot is drawn (cheap import, no display)?"""
    import subprocess
    import sys
    code = "import sys, course_lib.vis; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("layout", ["uint8_last", "float_first", "gray"])
def test_plot_class_examples(layout):
    """Does the class grid have samples_per_class rows x C columns, titled with the class names?"""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 5)
    X = {"uint8_last": rng.integers(0, 256, (15, 8, 8, 3), dtype=np.uint8),
         "float_first": rng.standard_normal((15, 3, 8, 8)),
         "gray": rng.standard_normal((15, 8, 8))}[layout]
    fig = vis.plot_class_examples(X, y, CLASSES, samples_per_class=4)
    assert len(fig.axes) == 12
    assert [ax.get_title() for ax in fig.axes[:3]] == list(CLASSES)
    assert sum(len(ax.images) for ax in fig.axes) == 12


def test_to_image_rescales_floats_and_keeps_uint8():
    """Are float images min-max scaled to [0, 1] and channels moved last, uint8 left alone?"""
    img = vis.to_image(np.arange(12, dtype=np.float64).reshape(3, 2, 2) - 5)
    assert img.shape == (2, 2, 3) and img.min() == 0.0 and img.max() == 1.0
    raw = np.full((4, 4, 3), 7, dtype=np.uint8)
    assert vis.to_image(raw) is raw


def test_visualize_grid_layout_and_scaling():
    """Does visualize_grid tile N images in a ceil(sqrt(N)) square, each scaled to [0, ubound]?"""
    Xs = np.stack([np.full((2, 2, 3), v) + np.arange(4).reshape(2, 2, 1) for v in (0.0, 100.0)]
                  + [np.zeros((2, 2, 3))] * 3)  # 5 images -> 3x3 grid
    grid = vis.visualize_grid(Xs, ubound=255.0, padding=1)
    assert grid.shape == (3 * 3 - 1, 3 * 3 - 1, 3)
    np.testing.assert_allclose(grid[0:2, 0:2, 0], [[0, 85], [170, 255]])
    np.testing.assert_allclose(grid[0:2, 3:5, 0], [[0, 85], [170, 255]])  # offset 100 removed
    assert np.all(grid[2, :] == 0)  # padding


def test_plot_conv_filters():
    """Does plot_conv_filters draw one image holding every filter?"""
    w = np.random.default_rng(0).standard_normal((10, 3, 5, 5))
    ax = vis.plot_conv_filters(w)
    assert len(ax.images) == 1
    assert ax.images[0].get_array().shape == (4 * 6 - 1, 4 * 6 - 1, 3)
    with pytest.raises(ValueError, match="w\\[:, :1\\]"):
        vis.plot_conv_filters(np.ones((4, 8, 3, 3)))


def test_plot_templates_drops_bias_row():
    """Does plot_templates draw one template per class, accepting a bias row (bias trick)?"""
    W = np.random.default_rng(0).standard_normal((4 * 4 * 3 + 1, 3))
    fig = vis.plot_templates(W, CLASSES, image_shape=(4, 4, 3))
    assert [ax.get_title() for ax in fig.axes] == list(CLASSES)
    assert fig.axes[0].images[0].get_array().shape == (4, 4, 3)
    with pytest.raises(ValueError, match="bias"):
        vis.plot_templates(np.ones((10, 3)), image_shape=(4, 4, 3))


def test_plot_loss_raw_and_smoothed():
    """Does plot_loss draw the raw loss and a moving average of window length fewer points?"""
    ax = vis.plot_loss(np.linspace(3, 1, 100), window=10)
    raw, smooth = ax.get_lines()
    assert len(raw.get_ydata()) == 100 and len(smooth.get_ydata()) == 91
    assert smooth.get_ydata()[0] == pytest.approx(np.linspace(3, 1, 100)[:10].mean())


def test_plot_accuracy_and_training():
    """Do the accuracy and training plots draw train and validation curves on labelled axes?"""
    ax = vis.plot_accuracy([0.1, 0.5, 0.7], [0.1, 0.4, 0.5])
    assert [line.get_label() for line in ax.get_lines()] == ["train", "validation"]
    assert ax.get_xlabel() == "epoch"

    class FakeSolver:
        loss_history = [2.3, 2.0, 1.8]
        train_acc_history = [0.1, 0.3]
        val_acc_history = [0.1, 0.2]

    fig = vis.plot_training(FakeSolver())
    assert len(fig.axes) == 2
    np.testing.assert_array_equal(fig.axes[1].get_lines()[1].get_ydata(), [0.1, 0.2])


def test_plot_update_ratios():
    """Does plot_update_ratios draw one line per parameter plus the 1e-3 guide, on a log axis?"""
    ax = vis.plot_update_ratios({"fc1.W": [1e-3, 2e-3], "fc1.b": [1e-2, 1e-2]})
    assert len(ax.get_lines()) == 3
    assert ax.get_yscale() == "log"
    assert ax.get_lines()[-1].get_ydata()[0] == 1e-3


def test_plot_layer_histograms():
    """Does plot_layer_histograms make one panel per layer titled with its name and statistics?"""
    rng = np.random.default_rng(0)
    fig = vis.plot_layer_histograms({"fc1": rng.standard_normal(100), "fc2": np.zeros(50)})
    assert len(fig.axes) == 2
    assert fig.axes[1].get_title().startswith("fc2\nmean +0 std 0")
    with pytest.raises(ValueError, match="empty"):
        vis.plot_layer_histograms({})


@pytest.mark.parametrize("sharey", [True, False])
def test_plot_layer_histograms_sharey(sharey):
    """Do the panels share one y axis by default and when asked, and not with sharey=False?"""
    rng = np.random.default_rng(0)
    values = {"fc1": rng.standard_normal(1000), "fc2": rng.standard_normal(10)}
    fig = (vis.plot_layer_histograms(values) if sharey
           else vis.plot_layer_histograms(values, sharey=False))
    first, second = fig.axes
    assert first.get_shared_y_axes().joined(first, second) is sharey
    assert (first.get_ylim() == second.get_ylim()) is sharey
    assert first.get_ylabel() == "count"


def test_plot_layer_histograms_density():
    """With density=True, does every histogram have area 1 whatever its number of values?"""
    rng = np.random.default_rng(0)
    values = {"fc1": rng.standard_normal(1000), "fc2": 5 + 3 * rng.standard_normal(40)}
    fig = vis.plot_layer_histograms(values, bins=20, density=True)
    for ax in fig.axes:
        area = sum(bar.get_height() * bar.get_width() for bar in ax.patches)
        assert area == pytest.approx(1.0)
    assert fig.axes[0].get_ylabel() == "density"
    counts = vis.plot_layer_histograms(values, bins=20)
    assert sum(bar.get_height() for bar in counts.axes[1].patches) == 40


def test_plot_decision_boundary():
    """Does plot_decision_boundary colour the plane by predict and scatter every point?"""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    y = (X[:, 0] > 0).astype(int)
    calls = []

    def predict(P):
        calls.append(P.shape)
        return (P[:, 0] > 0).astype(int)

    ax = vis.plot_decision_boundary(predict, X, y, resolution=50)
    assert calls == [(2500, 2)]
    assert len(ax.collections[-1].get_offsets()) == 30
    with pytest.raises(ValueError, match="2-D"):
        vis.plot_decision_boundary(predict, np.ones((5, 3)), np.zeros(5))


def test_plot_confusion_matrix():
    """Does the confusion-matrix plot show row-normalized rates with class-name ticks?"""
    ax = vis.plot_confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]),
                                   class_names=CLASSES)
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASSES)
