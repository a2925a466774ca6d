"""Plots for the course: images, filters, training curves, histograms, boundaries.

matplotlib is imported inside each function, so ``import course_lib.vis``
stays cheap and works without a display. Every function returns the matplotlib
Figure or Axes it drew on and never calls ``plt.show()``; functions that draw a
single panel take an optional ``ax`` to draw into.

Image arrays may be uint8 (shown as is) or float (rescaled to [0, 1], e.g.
after mean subtraction), channels-last (N, H, W, 3) like ``load_cifar10`` or
channels-first (N, 3, H, W) like the convnets' input, or grayscale (N, H, W).
"""
import numpy as np

__all__ = ["to_image", "plot_class_examples", "visualize_grid", "plot_conv_filters",
           "plot_templates", "plot_loss", "plot_accuracy", "plot_training",
           "plot_update_ratios", "plot_layer_histograms", "plot_decision_boundary",
           "plot_confusion_matrix"]


def _pyplot():
    import matplotlib.pyplot as plt
    return plt


def _channels_last(img):
    """(3, H, W) or (1, H, W) -> (H, W, C); anything else unchanged."""
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    return img


def to_image(img):
    """One image ready for ``imshow``: channels last, uint8 kept, floats scaled to [0, 1]."""
    img = _channels_last(np.asarray(img))
    if img.ndim not in (2, 3):
        raise ValueError(f"an image must be (H, W), (H, W, C) or (C, H, W); got shape {img.shape}")
    if img.dtype == np.uint8:
        return img
    img = img.astype(np.float64)
    low, high = img.min(), img.max()
    return (img - low) / (high - low) if high > low else np.zeros_like(img)


def plot_class_examples(X, y, class_names, samples_per_class=7, seed=0):
    """A grid with one column per class and ``samples_per_class`` random examples in each.

    Parameters
    ----------
    X : ndarray, shape (N, H, W, 3), (N, 3, H, W) or (N, H, W)
    y : ndarray of int, shape (N,)
    class_names : sequence of str, length C
    samples_per_class : int
    seed : int or None
        Which examples are drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
    rng = np.random.default_rng(seed)
    num_classes = len(class_names)
    fig, axes = plt.subplots(samples_per_class, num_classes, squeeze=False,
                             figsize=(1.1 * num_classes, 1.1 * samples_per_class))
    for c, name in enumerate(class_names):
        idx = np.flatnonzero(y == c)
        chosen = rng.choice(idx, size=min(samples_per_class, len(idx)), replace=False)
        for row in range(samples_per_class):
            ax = axes[row, c]
            ax.axis("off")
            if row < len(chosen):
                ax.imshow(to_image(X[chosen[row]]), cmap="gray")
        axes[0, c].set_title(name, fontsize=9)
    return fig


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Tile N images into one square-ish grid, each rescaled to [0, ubound] on its own.

    Rescaling per image (per filter) is what makes learned filters and class
    templates visible: their raw values are tiny and centred on zero.

    Parameters
    ----------
    Xs : ndarray, shape (N, H, W, C)
    ubound : float
        The brightest value in the grid.
    padding : int
        Pixels of black between images.

    Returns
    -------
    grid : ndarray, shape (G*(H+padding)-padding, G*(W+padding)-padding, C), G = ceil(sqrt(N))
    """
    Xs = np.asarray(Xs, dtype=np.float64)
    if Xs.ndim != 4:
        raise ValueError(f"visualize_grid expects (N, H, W, C) images, got shape {Xs.shape}")
    N, H, W, C = Xs.shape
    grid_size = int(np.ceil(np.sqrt(N)))
    grid = np.zeros((grid_size * (H + padding) - padding,
                     grid_size * (W + padding) - padding, C))
    for i in range(N):
        row, col = divmod(i, grid_size)
        img = Xs[i]
        low, high = img.min(), img.max()
        scaled = ubound * (img - low) / (high - low) if high > low else np.zeros_like(img)
        y0, x0 = row * (H + padding), col * (W + padding)
        grid[y0:y0 + H, x0:x0 + W] = scaled
    return grid


def plot_conv_filters(w, padding=1, ax=None, title="First-layer filters"):
    """Show conv filters ``w`` of shape (F, C, HH, WW), C = 3 (colour) or 1, as one grid."""
    plt = _pyplot()
    w = np.asarray(w)
    if w.ndim != 4 or w.shape[1] not in (1, 3):
        raise ValueError(f"expected filters of shape (F, 3, HH, WW) or (F, 1, HH, WW), got "
                         f"{w.shape}; for deeper layers pass a slice such as w[:, :1]")
    grid = visualize_grid(w.transpose(0, 2, 3, 1), ubound=1.0, padding=padding)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(grid if grid.shape[-1] == 3 else grid[..., 0], cmap="gray",
              interpolation="nearest")
    ax.axis("off")
    ax.set_title(title)
    return ax


def plot_templates(W, class_names=None, image_shape=(32, 32, 3)):
    """Show each column of a linear classifier's W (D, C) as an image "template".

    A last row of biases (the bias trick, D = H*W*3 + 1) is dropped. Each
    template is rescaled to [0, 1] on its own. Returns the Figure, one Axes per class.
    """
    plt = _pyplot()
    W = np.asarray(W)
    size = int(np.prod(image_shape))
    if W.ndim != 2 or W.shape[0] not in (size, size + 1):
        raise ValueError(f"W must be (D, C) with D = {size} (or {size + 1} with the bias "
                         f"row) for images of shape {image_shape}; got {W.shape}")
    templates = W[:size].T.reshape(-1, *image_shape)  # (C, H, W, 3)
    num_classes = len(templates)
    names = class_names if class_names is not None else [str(c) for c in range(num_classes)]
    fig, axes = plt.subplots(1, num_classes, figsize=(1.3 * num_classes, 1.6), squeeze=False)
    for c, ax in enumerate(axes[0]):
        ax.imshow(to_image(templates[c]), cmap="gray")
        ax.set_title(names[c], fontsize=9)
        ax.axis("off")
    return fig


def _moving_average(values, window):
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_loss(loss_history, window=None, ax=None, log=False):
    """Per-iteration loss (faint points) and its moving average over ``window`` iterations.

    ``window`` defaults to about 1/25 of the run. ``log=True`` uses a log
    scale, where the usual exponential decay looks like a line.
    """
    plt = _pyplot()
    loss_history = np.asarray(loss_history, dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    iters = np.arange(len(loss_history))
    ax.plot(iters, loss_history, ".", alpha=0.3, markersize=3, label="minibatch loss")
    if window is None:
        window = max(1, len(loss_history) // 25)
    if 1 < window <= len(loss_history):
        smooth = _moving_average(loss_history, window)
        ax.plot(iters[window - 1:], smooth, "-", linewidth=2,
                label=f"moving average ({window} iterations)")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    ax.legend()
    return ax


def plot_accuracy(train_acc_history, val_acc_history, ax=None):
    """Train and validation accuracy per epoch; their gap measures overfitting."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(len(train_acc_history)), train_acc_history, "o-", label="train")
    ax.plot(np.arange(len(val_acc_history)), val_acc_history, "o-", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("Classification accuracy")
    ax.legend()
    return ax


def plot_training(solver):
    """Loss and accuracy curves of a trained ``Solver`` side by side; returns the Figure."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
    plot_loss(solver.loss_history, ax=ax_loss)
    plot_accuracy(solver.train_acc_history, solver.val_acc_history, ax=ax_acc)
    fig.tight_layout()
    return fig


def plot_update_ratios(update_ratio_history, ax=None, target=1e-3):
    """log10 of the update/weight ratio per parameter over iterations, with the ~1e-3 guide line.

    ``update_ratio_history`` maps parameter names to per-iteration ratios, as
    ``Solver.update_ratio_history`` does when ``track_diagnostics=True``.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for name, ratios in update_ratio_history.items():
        ax.plot(np.arange(len(ratios)), ratios, label=name, linewidth=1)
    ax.set_yscale("log")
    if target:
        ax.axhline(target, color="black", linestyle="--", linewidth=1,
                   label=f"healthy ~{target:g}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("||update|| / ||weights||")
    ax.set_title("Update / weight ratio")
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_layer_histograms(values, bins=50, title="Activations per layer", value_range=None,
                          *, sharey=True, density=False):
    """One histogram per layer of ``values`` (a dict ``{layer: array}``), with mean and std.

    Use it for activations (``run_fc_stack(...)["activations"]`` or
    ``FullyConnectedNet.hidden_activations``) and for gradients. Returns the
    Figure, one Axes per layer.

    Parameters
    ----------
    values : dict of array_like
        Any shapes; each array is flattened.
    bins : int
    title : str
    value_range : (float, float) or None
        Range of the bins, the same for every layer (None: each layer's min to max).
    sharey : bool, keyword-only
        One y axis for all panels (the default), so the bar heights compare
        across layers. False gives each panel its own scale, which shows the
        shape of a layer whose counts are much smaller than the others'.
    density : bool, keyword-only
        Bar heights as a probability density (each histogram has area 1)
        instead of counts, for layers with different numbers of values.
    """
    plt = _pyplot()
    if not values:
        raise ValueError("values is empty: pass a dict {layer name: array}")
    fig, axes = plt.subplots(1, len(values), figsize=(2.2 * len(values), 2.4),
                             sharey=bool(sharey), squeeze=False)
    for ax, (name, value) in zip(axes[0], values.items()):
        value = np.asarray(value, dtype=np.float64).ravel()
        ax.hist(value, bins=bins, range=value_range, density=density)
        ax.set_title(f"{name}\nmean {value.mean():+.2g} std {value.std():.2g}", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("density" if density else "count", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_decision_boundary(predict, X, y, ax=None, resolution=200, margin=0.5):
    """Colour the plane by ``predict`` and scatter the 2-D data on top.

    Parameters
    ----------
    predict : callable
        Maps points of shape (M, 2) to integer labels of shape (M,), e.g. a
        classifier's ``predict`` or ``lambda P: model.loss(P).argmax(1)``.
    X : ndarray, shape (N, 2)
    y : ndarray of int, shape (N,)
    resolution : int
        Grid points along each axis.
    margin : float
        How far beyond the data the plane extends.
    """
    plt = _pyplot()
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision boundaries are drawn for 2-D data; X has shape {X.shape}")
    x_min, x_max = X[:, 0].min() - margin, X[:, 0].max() + margin
    y_min, y_max = X[:, 1].min() - margin, X[:, 1].max() + margin
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, resolution),
                         np.linspace(y_min, y_max, resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(X.dtype)  # (M, 2)
    labels = np.asarray(predict(grid)).reshape(xx.shape)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    levels = np.arange(min(labels.min(), np.min(y)), max(labels.max(), np.max(y)) + 2) - 0.5
    ax.contourf(xx, yy, labels, levels=levels, cmap="Spectral", alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Spectral", vmin=levels[0], vmax=levels[-1],
               s=15, edgecolors="k", linewidths=0.3)
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("Decision boundary")
    return ax


def plot_confusion_matrix(y_true, y_pred, class_names=None, normalize=True, ax=None):
    """Heat map of the confusion matrix: rows are true classes, columns predictions.

    With ``normalize`` each row is divided by its count, so the diagonal holds
    the per-class recall.
    """
    from course_lib.diagnostics import confusion_matrix
    plt = _pyplot()
    num_classes = len(class_names) if class_names is not None else None
    counts = confusion_matrix(y_true, y_pred, num_classes)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    names = class_names if class_names is not None else [str(c) for c in range(len(counts))]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * len(counts) + 2, 0.55 * len(counts) + 1.5))
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(len(counts)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(counts)), names)
    for i in range(len(counts)):
        for j in range(len(counts)):
            text = f"{shown[i, j]:.2f}" if normalize else str(counts[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > 0.6 * shown.max() else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion matrix" + (" (row-normalized)" if normalize else ""))
    return ax
