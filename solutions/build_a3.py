"""Build the nbgrader source notebook of A3 (convolutional networks).

    .venv/bin/python solutions/build_a3.py      # writes solutions/a3_convnets/a3_convnets.ipynb

The notebook is the committed source; this script is how it is edited:
text, solution code and visible tests live here, and the numbers the
visible tests expect are computed now with course_lib's reference on small
fixed inputs (the hidden tests use fresh ones). This file sits outside the
assignment folder on purpose: nbgrader copies every non-notebook file of
that folder into the release, and no solution may ship in a .py file.
"""
from pathlib import Path

import numpy as np

from course_lib.conv import conv_forward_naive
from course_lib.grading.specs.a3 import (ACCURACY_RAMP, ALLOWED_HYPERPARAMETERS,
                                   NUM_MEASURED_TRAIN, NUM_MEASURED_VAL, convnet_reference)
from course_lib.grading.authoring import (answer, array_lit, code, lit, md, solution, tests, toy,
                                          write_notebook)
from course_lib.pooling import max_pool_forward_naive

OUT = Path(__file__).resolve().parent / "a3_convnets" / "a3_convnets.ipynb"


# ---- toy inputs shared by visible tests and the builder -----------------------
CONV_TOY, CV = toy("x_toy = np.linspace(-0.3, 0.4, num=2 * 3 * 5 * 5).reshape(2, 3, 5, 5)\n"
                   "w_toy = np.linspace(-0.2, 0.3, num=3 * 3 * 3 * 3).reshape(3, 3, 3, 3)\n"
                   "b_toy = np.array([-0.1, 0.0, 0.1])")
CONV_OUT = conv_forward_naive(CV["x_toy"], CV["w_toy"], CV["b_toy"], stride=2, pad=1)[0]
POOL_TOY, PV = toy("x_pool = np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)")
POOL_OUT = max_pool_forward_naive(PV["x_pool"], 2, 2, 2)[0]
NET_TOY, NV = toy("rng = np.random.default_rng(3)\n"
                  "params_toy = {'W1': rng.normal(0, 0.4, (3, 3, 3, 3)), 'b1': rng.normal(0, 0.4, 3),\n"
                  "              'W2': rng.normal(0, 0.2, (3 * 3 * 3, 5)), 'b2': rng.normal(0, 0.4, 5),\n"
                  "              'W3': rng.normal(0, 0.4, (5, 4)), 'b3': rng.normal(0, 0.4, 4)}\n"
                  "X_net = rng.normal(0, 1, (2, 3, 6, 6))\n"
                  "y_net = np.array([1, 3])")
NET_SCORES = convnet_reference(NV["params_toy"], NV["X_net"])
NET_LOSS, _ = convnet_reference(NV["params_toy"], NV["X_net"], NV["y_net"], 0.05)


# ---- solution code ----------------------------------------------------------

SOL_CONV_FORWARD = '''
def conv_forward_naive(x, w, b, stride=1, pad=0):
    """Convolution forward pass, with loops.

    x : (N, C, H, W) inputs;  w : (F, C, HH, WW) filters;  b : (F,) biases.
    stride : step between neighbouring windows;  pad : zeros added on each side of H and W.
    out[n, f, i, j] = b[f] + sum over c, k, l of w[f, c, k, l] * xp[n, c, i*stride + k, j*stride + l]
    where xp is x padded with zeros. Returns (out, cache), out of shape (N, F, H_out, W_out) with
    H_out = (H + 2*pad - HH) // stride + 1 (and W_out alike).
    """
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    ### BEGIN SOLUTION
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    ### END SOLUTION
    cache = (x, w, b, stride, pad)
    return out, cache
'''

SOL_CONV_BACKWARD = '''
def conv_backward_naive(dout, cache):
    """Convolution backward pass, with loops.

    dout : (N, F, H_out, W_out) upstream gradient;  cache : what your conv_forward_naive returned.
    Returns (dx, dw, db) with the shapes of x, w and b.
    """
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    ### BEGIN SOLUTION
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                rows = slice(i * stride, i * stride + HH)
                cols = slice(j * stride, j * stride + WW)
                for f in range(F):
                    dxp[n, :, rows, cols] += w[f] * dout[n, f, i, j]
                    dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    ### END SOLUTION
    return dx, dw, db
'''

SOL_POOL_FORWARD = '''
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    """Max pooling forward pass, with loops.

    x : (N, C, H, W). Each channel is pooled on its own: out[n, c, i, j] is the largest value of
    the pool_height x pool_width window of x[n, c] that starts at (i*stride, j*stride).
    Returns (out, cache), out of shape (N, C, H_out, W_out), H_out = (H - pool_height) // stride + 1.
    """
    N, C, H, W = x.shape
    ### BEGIN SOLUTION
    H_out = (H - pool_height) // stride + 1
    W_out = (W - pool_width) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + pool_height,
                               j * stride:j * stride + pool_width]
                    out[n, c, i, j] = window.max()
    ### END SOLUTION
    cache = (x, pool_height, pool_width, stride)
    return out, cache
'''

SOL_POOL_BACKWARD = '''
def max_pool_backward_naive(dout, cache):
    """Max pooling backward pass, with loops.

    dout : (N, C, H_out, W_out);  cache : what your max_pool_forward_naive returned.
    Each dout[n, c, i, j] goes to the input that was the maximum of window (i, j); on a tie, to
    the first maximum in row-major order (what np.argmax returns). Returns dx, shaped like x.
    """
    x, pool_height, pool_width, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    ### BEGIN SOLUTION
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top:top + pool_height, left:left + pool_width]
                    k, l = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, top + k, left + l] += dout[n, c, i, j]
    ### END SOLUTION
    return dx
'''

SOL_SBN_FORWARD = '''
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    """Batch normalization of x (M, D) in training mode, per feature (your code from A2).

    out = gamma * (x - mean) / sqrt(var + eps) + beta, with the mean and the (biased) variance
    of each column. Returns (out, cache).
    """
    ### BEGIN SOLUTION
    mu = x.mean(axis=0)
    xc = x - mu
    var = np.mean(xc * xc, axis=0)
    std = np.sqrt(var + eps)
    x_hat = xc / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    ### END SOLUTION
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Spatial batch normalization, training mode.

    x : (N, C, H, W);  gamma, beta : (C,). Every channel is normalized with the mean and variance
    of all its N*H*W values. Returns (out, cache), out shaped like x.
    """
    N, C, H, W = x.shape
    ### BEGIN SOLUTION
    rows = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)        # one row per (n, h, w)
    out_rows, cache = batchnorm_forward_train(rows, gamma, beta, eps)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return out, cache
'''

SOL_SBN_BACKWARD = '''
def batchnorm_backward_train(dout, cache):
    """Backward pass of batchnorm_forward_train (your code from A2). Returns (dx, dgamma, dbeta)."""
    ### BEGIN SOLUTION
    x_hat, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    g = dout * gamma                                              # gradient w.r.t. x_hat
    dx = (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0)) / std
    ### END SOLUTION
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial_batchnorm_forward.

    dout : (N, C, H, W);  cache : what your spatial_batchnorm_forward returned.
    Returns (dx, dgamma, dbeta) with dx shaped like dout and dgamma, dbeta of shape (C,).
    """
    N, C, H, W = dout.shape
    ### BEGIN SOLUTION
    drows = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx_rows, dgamma, dbeta = batchnorm_backward_train(drows, cache)
    dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return dx, dgamma, dbeta
'''

SOL_NET = '''
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    params : W1 (F, C, HH, HH), b1 (F,), W2 (F * H/2 * W/2, D), b2 (D,), W3 (D, K), b3 (K,).
    X : (N, C, H, W). The convolution has stride 1 and pad (HH - 1) // 2 (same size out), the
    pool 2x2 windows with stride 2; the pooled maps are flattened with pooled.reshape(N, -1).
    If y is None return the scores (N, K); otherwise (loss, grads) with
    loss = mean softmax loss + reg * (sum(W1**2) + sum(W2**2) + sum(W3**2)) and grads a dict
    with the keys and shapes of params. Use the fast layers imported above.
    """
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    ### BEGIN SOLUTION
    conv_out, conv_cache = conv_forward_fast(X, W1, b1, stride=1, pad=pad)
    relu_out = np.maximum(conv_out, 0)
    pooled, pool_cache = max_pool_forward_fast(relu_out, 2, 2, 2)
    flat = pooled.reshape(N, -1)                                  # (N, F * H/2 * W/2)
    hidden_in = flat @ W2 + b2
    hidden = np.maximum(hidden_in, 0)
    scores = hidden @ W3 + b3
    if y is None:
        return scores
    rows = np.arange(N)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dscores /= N
    grads = {"W3": hidden.T @ dscores + 2 * reg * W3, "b3": dscores.sum(axis=0)}
    dhidden_in = (dscores @ W3.T) * (hidden_in > 0)
    grads["W2"] = flat.T @ dhidden_in + 2 * reg * W2
    grads["b2"] = dhidden_in.sum(axis=0)
    drelu = max_pool_backward_fast((dhidden_in @ W2.T).reshape(pooled.shape), pool_cache)
    dconv = drelu * (conv_out > 0)
    _, dW1, grads["b1"] = conv_backward_fast(dconv, conv_cache)
    grads["W1"] = dW1 + 2 * reg * W1
    return loss, grads
    ### END SOLUTION
'''

SOL_TRAIN = '''
def train_convnet(loss_fn, X, y, num_filters=8, filter_size=3, hidden_dim=64, lr=1e-3,
                  reg=1e-3, num_epochs=3, batch_size=50, seed=0):
    """Train the three-layer convnet on images X (N, C, H, W) with labels y; return its params.

    loss_fn(params, X_batch, y_batch, reg) -> (loss, grads), e.g. three_layer_convnet_loss.
    The weights start as below (He initialization, suited to ReLU). Each epoch, visit the
    training images once in a random order (rng.permutation) in minibatches of batch_size, and
    update every parameter with its gradient: plain SGD, SGD with momentum or Adam (A2), your
    choice. Return the params dict.
    """
    rng = np.random.default_rng(seed)
    N, C, H, W = X.shape
    num_classes = 10

    def he(shape, fan_in):
        return (np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)).astype(X.dtype)

    flat_dim = num_filters * (H // 2) * (W // 2)
    params = {"W1": he((num_filters, C, filter_size, filter_size), C * filter_size ** 2),
              "b1": np.zeros(num_filters, X.dtype),
              "W2": he((flat_dim, hidden_dim), flat_dim), "b2": np.zeros(hidden_dim, X.dtype),
              "W3": he((hidden_dim, num_classes), hidden_dim),
              "b3": np.zeros(num_classes, X.dtype)}
    ### BEGIN SOLUTION
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    t = 0
    for epoch in range(num_epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[batch], y[batch], reg)
            t += 1
            for k in params:
                m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
                v[k] = beta2 * v[k] + (1 - beta2) * grads[k] ** 2
                m_hat = m[k] / (1 - beta1 ** t)
                v_hat = v[k] / (1 - beta2 ** t)
                params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    ### END SOLUTION
    return params
'''

SOL_HYPER = '''
def convnet_hyperparameters():
    """Your choice for the graded training run: a dict with any of the keys num_filters (at most
    16), filter_size (odd, at most 7), hidden_dim (at most 128), lr, reg, num_epochs (at most 6)
    and batch_size (10 to 500). Keys you leave out keep train_convnet's defaults."""
    ### BEGIN SOLUTION
    return {"num_filters": 8, "filter_size": 3, "hidden_dim": 64, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 4, "batch_size": 50}
    ### END SOLUTION
'''


# ---- the notebook -------------------------------------------------------------

def cells():
    return [
        md(r"""
        # Assignment 3: convolutional networks

        A fully connected layer looks at a whole image at once and learns one weight per pixel and
        unit. A **convolutional layer** (卷积层) instead slides a small **filter** (滤波器, also called a
        kernel, 卷积核) over the image and computes the same weighted sum at every position. In this
        assignment you write, with plain loops, the forward and backward passes of a convolution, of
        **max pooling** (最大池化) and of **spatial batch normalization** (空间批量归一化); then you
        assemble a small convolutional network from the course library's fast layers, check its
        gradients, and train it on CIFAR-10.

        **How this notebook is graded.** Write code only where a solution cell says `# YOUR CODE HERE` (replace that line and the
        `raise NotImplementedError()` below it), and do not rename the functions or change their
        arguments. Each function is graded by hidden tests that call it on fresh inputs you have not
        seen (stride 2 with padding, non-square inputs and filters, a batch of one image, ties in
        pooling, ...) and compare every output with a reference: each output earns its own points
        (for a backward pass, dx, dw and db separately), and the feedback says which output is
        wrong, on which kind of input, and by how much.

        - The grader runs **only your solution cells**, in order, in a fresh Python where `numpy`
          is imported as `np`. Define functions there; experiment in other cells.
        - What each forward pass returns as its `cache` is fixed by its template (the lines after your
          region), and the backward pass receives the cache that **your** forward pass returned: a
          wrong forward pass usually makes its backward pass wrong too.
        - `course_lib.data`, `course_lib.gradcheck`, and the fast layers `conv_forward_fast`,
          `conv_backward_fast`, `max_pool_forward_fast`, `max_pool_backward_fast` (from
          `course_lib.conv` and `course_lib.pooling`) are allowed. Anything else from the course
          library (its naive layers, `course_lib.layers`, `course_lib.normalization`, ...) scores 0
          for the item that uses it. Your naive layers are graded where the fast layers and
          `course_lib.gradcheck` cannot be called, so they must compute everything themselves.
        - The cells below each function are visible tests. They print what they check and the value
          to expect, and mark each test `[passed]`, `[FAILED]`, `[ERROR]` or `[not done]`; passing
          them is a good sign, not the grade.
        - **Validate** (`nbgrader validate <notebook>`, or the Validate button) runs the whole notebook in a
          fresh kernel and lists every visible test that does not pass and every function still
          unwritten. It does not run the hidden tests, so "Success" means the visible checks pass, not a
          score.
        - Three short written questions are graded by hand.
        """),
        code("""
        import time

        import matplotlib.pyplot as plt
        import numpy as np

        from course_lib.conv import conv_backward_fast, conv_forward_fast
        from course_lib.data import CIFAR10_CLASSES, load_cifar10
        from course_lib.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array
        from course_lib.grading.visible import (check_accuracy, check_close, check_equal, check_shape,
                                                check_true, timed, visible_test)
        from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast

        plt.rcParams["figure.dpi"] = 90


        def check_grads(name, analytic, numeric, tol=1e-7):
            # relative error max|a - n| / max|n|: about 1e-8 or less when the gradient is right
            check_close(f"{name} vs numerical gradient", analytic, numeric, tol=tol)
        """),
        md(r"""
        ## Part 1: convolution

        A filter of size $HH \times WW$ spans all $C$ channels of its input, so it holds
        $C \cdot HH \cdot WW$ weights and a bias. Placed on one window of the input, it outputs one
        number: the sum of the products of its weights with the window's values, plus the bias.
        Sliding it over the image gives one **feature map** (特征图) per filter. Two settings control
        the sliding:

        - the **stride** (步长) $S$: how many pixels the window moves at each step;
        - the **zero padding** (零填充) $P$: rows and columns of zeros added on each side first, so
          that the filter can also be centred on border pixels.

        Counting the positions where the window fits gives the output size

        $$H_{out} = \frac{H + 2P - HH}{S} + 1$$

        (rounded down if the division is not exact; the same formula for the width). The window of
        output $(i, j)$ starts at row $iS$ and column $jS$ of the padded input: it is the output's
        **receptive field** (感受野). Note that CNNs do not flip the filter: strictly speaking
        this is a cross-correlation (互相关), called convolution by everyone in the field.

        Write `conv_forward_naive` with loops over the images, the filters and the output
        positions. `np.pad` adds the zeros.
        """),
        solution("conv_forward_naive", SOL_CONV_FORWARD),
        tests("a3.conv_forward_naive", setup=CONV_TOY, visible=f"""
        with visible_test("conv_forward_naive"):
            out, _ = conv_forward_naive(x_toy, w_toy, b_toy, stride=2, pad=1)
            check_shape("out (5x5 inputs, 3x3 filters, stride 2, pad 1)", out, (2, 3, 3, 3))
            check_close("out", out, {array_lit(CONV_OUT)})
            x_odd = np.random.default_rng(0).normal(size=(1, 2, 6, 9))
            w_odd = np.random.default_rng(1).normal(size=(4, 2, 3, 5))
            out, _ = conv_forward_naive(x_odd, w_odd, np.zeros(4), stride=2, pad=2)
            check_shape("out (6x9 inputs, 3x5 filters, stride 2, pad 2)", out, (1, 4, 4, 5))
            check_close("out vs the course library's fast layer", out,
                        conv_forward_fast(x_odd, w_odd, np.zeros(4), stride=2, pad=2)[0])
        """),
        md(r"""
        A convolution with hand-made filters already does image processing. Below, the first filter
        turns an image to grey levels (equal weights on the three channels, in the middle tap only)
        and the second responds to horizontal edges (bright above, dark below).
        """),
        code("""
        X_all, y_all, _, _ = load_cifar10()                             # uint8 (N, 32, 32, 3)
        images = X_all[:2].transpose(0, 3, 1, 2).astype(np.float64)    # (2, 3, 32, 32)
        w_demo = np.zeros((2, 3, 3, 3))
        w_demo[0, :, 1, 1] = 1 / 3                                      # grey level
        w_demo[1, :, 0, :] = 1 / 9                                      # bright above ...
        w_demo[1, :, 2, :] = -1 / 9                                     # ... minus dark below
        with visible_test("filters on two CIFAR-10 images"):
            maps, _ = conv_forward_naive(images, w_demo, np.array([0.0, 128.0]), stride=1, pad=1)
            fig, axes = plt.subplots(2, 3, figsize=(6, 4))
            for row in range(2):
                axes[row, 0].imshow(X_all[row])
                axes[row, 0].set_title(CIFAR10_CLASSES[y_all[row]], fontsize=9)
                axes[row, 1].imshow(maps[row, 0], cmap="gray")
                axes[row, 1].set_title("grey filter", fontsize=9)
                axes[row, 2].imshow(maps[row, 1], cmap="gray")
                axes[row, 2].set_title("horizontal edges", fontsize=9)
            for ax in axes.ravel():
                ax.axis("off")
            fig.suptitle("Two hand-made 3x3 filters")
            plt.show()
        """),
        md(r"""
        **Inline question 1** (2 points). An input volume is $32 \times 32 \times 3$. A convolutional
        layer has 10 filters of size $5 \times 5$, stride 1 and padding 2. What is the size of its
        output, and how many parameters does it have? The first layer of AlexNet took
        $227 \times 227 \times 3$ images with 96 filters of size $11 \times 11$, stride 4 and no
        padding: what was its output size? Show the formula you used.
        """),
        answer("inline_q1", 2, """
        Output height = (32 + 2*2 - 5)/1 + 1 = 32, the same for the width, and one map per filter:
        32 x 32 x 10. Each filter has 5*5*3 = 75 weights and 1 bias, so 76 * 10 = 760 parameters.
        AlexNet: (227 + 0 - 11)/4 + 1 = 55, so 55 x 55 x 96.
        """),
        md(r"""
        ### Backward pass

        Each output $out[n, f, i, j]$ came from one window of the padded input and from filter $f$.
        With $g = \partial L / \partial out[n, f, i, j]$ (the upstream gradient `dout`), the chain
        rule sends

        - $g \cdot w[f]$ back into that window of the padded input (windows overlap when the stride
          is smaller than the filter, so **add**, do not assign);
        - $g \cdot$ window into $dw[f]$, summed over every image and every position (the same filter
          was used everywhere);
        - $g$ into $db[f]$: $db$ is `dout` summed over the batch and both spatial axes.

        Finally drop the padding from the input's gradient. The checks compare your gradients with
        centred differences of your forward pass.
        """),
        solution("conv_backward_naive", SOL_CONV_BACKWARD),
        tests("a3.conv_backward_naive", visible="""
        rng = np.random.default_rng(5)
        x_g, w_g, b_g = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(3, 3, 3, 3)), rng.normal(size=3)
        dout_g = rng.normal(size=(2, 3, 3, 3))
        with visible_test("conv_backward_naive (stride 2, pad 1)"):
            _, cache = conv_forward_naive(x_g, w_g, b_g, stride=2, pad=1)
            dx, dw, db = conv_backward_naive(dout_g, cache)
            check_shape("dx", dx, x_g.shape)
            fx = lambda v: conv_forward_naive(v, w_g, b_g, stride=2, pad=1)[0]
            fw = lambda v: conv_forward_naive(x_g, v, b_g, stride=2, pad=1)[0]
            fb = lambda v: conv_forward_naive(x_g, w_g, v, stride=2, pad=1)[0]
            check_grads("dx", dx, eval_numerical_gradient_array(fx, x_g.copy(), dout_g))
            check_grads("dw", dw, eval_numerical_gradient_array(fw, w_g.copy(), dout_g))
            check_grads("db", db, eval_numerical_gradient_array(fb, b_g.copy(), dout_g))
        """),
        md(r"""
        **Inline question 2** (2 points). A convolutional layer uses the same filter weights at every
        position of the image (**parameter sharing**, 参数共享). Why is this a sensible assumption
        for images, and what does it buy compared with a fully connected layer on the same input?
        Give a number for the $32 \times 32 \times 3$ input of question 1.
        """),
        answer("inline_q2", 2, """
        A pattern such as an edge or a texture means the same thing wherever it appears, so a
        detector that is useful at one position is useful at all of them (translation equivariance).
        Sharing cuts the number of parameters enormously and lets every position of every image
        train the same weights. A fully connected layer producing the same 32 x 32 x 10 output from
        the 3072 inputs would need 3072 * 10240 (about 31 million) weights, against 760.
        """),
        md(r"""
        ## Part 2: max pooling

        A **pooling layer** (池化层) shrinks each feature map: it replaces every window by one
        number, here its maximum, channel by channel. The usual setting is $2 \times 2$ windows with
        stride 2, which keeps one value in four (**downsampling**, 下采样); pooling has no parameters.
        The output size is $(H - \text{pool\_height}) / S + 1$.

        Backward, the maximum routes its gradient to the input that won and sends nothing to the
        others. Two details matter:

        - when several inputs of a window tie for the maximum (frequent after a ReLU, which outputs
          many zeros), the gradient goes to the **first** of them in row-major order (what
          `np.argmax` returns), as the course library does;
        - with overlapping windows (for example $3 \times 3$ with stride 2) one input can win
          several windows: it receives the sum of their gradients.
        """),
        solution("max_pool_forward_naive", SOL_POOL_FORWARD),
        tests("a3.max_pool_forward_naive", setup=POOL_TOY, visible=f"""
        with visible_test("max_pool_forward_naive"):
            out, _ = max_pool_forward_naive(x_pool, pool_height=2, pool_width=2, stride=2)
            check_shape("out (2x2 windows, stride 2)", out, (2, 3, 2, 2))
            check_close("out", out, {array_lit(POOL_OUT)})
            x_odd = np.random.default_rng(2).normal(size=(1, 2, 7, 9))
            out, _ = max_pool_forward_naive(x_odd, pool_height=3, pool_width=3, stride=2)
            check_close("out (3x3 windows, stride 2) vs the fast layer", out,
                        max_pool_forward_fast(x_odd, 3, 3, 2)[0])
        """),
        solution("max_pool_backward_naive", SOL_POOL_BACKWARD),
        tests("a3.max_pool_backward_naive", visible="""
        rng = np.random.default_rng(6)
        x_p = rng.normal(size=(2, 2, 7, 7))
        dout_p = rng.normal(size=(2, 2, 3, 3))
        with visible_test("max_pool_backward_naive"):
            _, cache = max_pool_forward_naive(x_p, 3, 3, 2)
            dx = max_pool_backward_naive(dout_p, cache)
            f = lambda v: max_pool_forward_naive(v, 3, 3, 2)[0]
            check_grads("dx (overlapping 3x3 windows)", dx, eval_numerical_gradient_array(f, x_p.copy(), dout_p))
            x_tie = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
            _, cache = max_pool_forward_naive(x_tie, 2, 2, 2)
            dx = max_pool_backward_naive(np.array([[[[5.0]]]]), cache)
            check_equal("dx of a window [[1, 1], [0, 1]] (tie: the first maximum gets it)", dx[0, 0],
                        [[5.0, 0.0], [0.0, 0.0]])
        """),
        md(r"""
        ## Fast layers

        Your loops are correct but slow. The course library's `conv_forward_fast` turns the
        convolution into one matrix product (im2col: every window becomes a column), and its fast
        pooling takes the maximum of a few strided views. They take the same arguments and return
        the same numbers; the rest of this assignment uses them.
        """),
        code("""
        rng = np.random.default_rng(0)
        x_big, w_big, b_big = rng.normal(size=(20, 3, 16, 16)), rng.normal(size=(8, 3, 3, 3)), np.zeros(8)
        with visible_test("naive vs fast"):
            with timed("conv_forward_naive"):
                out_naive, _ = conv_forward_naive(x_big, w_big, b_big, stride=1, pad=1)
            with timed("conv_forward_fast"):
                out_fast, _ = conv_forward_fast(x_big, w_big, b_big, stride=1, pad=1)
            check_close("naive vs fast convolution", out_naive, out_fast)
            with timed("max_pool_forward_naive"):
                pooled_naive, _ = max_pool_forward_naive(out_fast)
            with timed("max_pool_forward_fast"):
                pooled_fast, _ = max_pool_forward_fast(out_fast)
            check_close("naive vs fast pooling", pooled_naive, pooled_fast)
        """),
        md(r"""
        ## Part 3: spatial batch normalization

        Batch normalization (批量归一化, A2) normalizes each feature of a fully connected layer with
        the mean and variance of the minibatch. In a convolutional layer, a channel is one feature
        seen at every position, and we want it normalized the same way everywhere: so each channel
        gets **one** mean and variance, computed over the batch and all positions (axes 0, 2 and 3),
        and one $\gamma$ and $\beta$.

        The easy way: move the channel axis last, flatten to a matrix of $N \cdot H \cdot W$ rows
        and $C$ columns, apply ordinary batch normalization, and undo the reshape. First paste your
        training-mode batch normalization from A2 into `batchnorm_forward_train` (and its backward
        pass into `batchnorm_backward_train` further down). Compute the variance as the mean of
        $(x - \mu)^2$: with channels whose values are around a million, $E[x^2] - E[x]^2$ loses
        every significant digit.
        """),
        solution("spatial_batchnorm_forward", SOL_SBN_FORWARD),
        tests("a3.spatial_batchnorm_forward", visible="""
        rng = np.random.default_rng(7)
        x_bn = 5 + 3 * rng.normal(size=(4, 3, 5, 6))
        gamma_bn, beta_bn = np.array([1.0, 2.0, 3.0]), np.array([0.0, -1.0, 4.0])
        with visible_test("spatial_batchnorm_forward"):
            out, _ = spatial_batchnorm_forward(x_bn, gamma_bn, beta_bn)
            check_shape("out", out, x_bn.shape)
            check_close("mean of each channel (should be beta)", out.mean(axis=(0, 2, 3)), beta_bn, tol=1e-8)
            check_close("std of each channel (should be gamma)", out.std(axis=(0, 2, 3)), gamma_bn, tol=1e-5)
        """),
        solution("spatial_batchnorm_backward", SOL_SBN_BACKWARD),
        tests("a3.spatial_batchnorm_backward", visible="""
        rng = np.random.default_rng(8)
        x_bn = 2 + rng.normal(size=(2, 3, 4, 5))
        gamma_bn, beta_bn = rng.uniform(0.5, 2, 3), rng.normal(size=3)
        dout_bn = rng.normal(size=x_bn.shape)
        with visible_test("spatial_batchnorm_backward"):
            _, cache = spatial_batchnorm_forward(x_bn, gamma_bn, beta_bn)
            dx, dgamma, dbeta = spatial_batchnorm_backward(dout_bn, cache)
            fx = lambda v: spatial_batchnorm_forward(v, gamma_bn, beta_bn)[0]
            fg = lambda v: spatial_batchnorm_forward(x_bn, v, beta_bn)[0]
            fb = lambda v: spatial_batchnorm_forward(x_bn, gamma_bn, v)[0]
            check_grads("dx", dx, eval_numerical_gradient_array(fx, x_bn.copy(), dout_bn), tol=1e-6)
            check_grads("dgamma", dgamma, eval_numerical_gradient_array(fg, gamma_bn.copy(), dout_bn))
            check_grads("dbeta", dbeta, eval_numerical_gradient_array(fb, beta_bn.copy(), dout_bn))
        """),
        md(r"""
        ## Part 4: a three-layer convolutional network

        Now assemble, with the fast layers, the network

        $$\text{conv} - \text{ReLU} - 2{\times}2 \text{ max pool} - \text{affine} - \text{ReLU} -
          \text{affine} - \text{softmax}.$$

        The convolution keeps the image size (stride 1, padding $(HH - 1)/2$ for an odd filter
        size), the pooling halves it, and the pooled maps are flattened into rows of
        $F \cdot \frac{H}{2} \cdot \frac{W}{2}$ numbers for the first affine layer. The loss is the
        mean softmax loss plus $\lambda(\sum W_1^2 + \sum W_2^2 + \sum W_3^2)$ (the biases are not
        regularized). Backward, go through the layers in reverse order: each fast layer's backward
        takes the cache its forward returned, and each ReLU passes the gradient only where its
        input was positive.
        """),
        solution("three_layer_convnet_loss", SOL_NET),
        tests("a3.three_layer_convnet_loss", setup=NET_TOY, visible=f"""
        with visible_test("three_layer_convnet_loss"):
            check_close("scores", three_layer_convnet_loss(params_toy, X_net), {array_lit(NET_SCORES)})
            loss, grads = three_layer_convnet_loss(params_toy, X_net, y_net, reg=0.05)
            check_close("loss", loss, {lit(NET_LOSS)})
            small = {{k: (0.001 * v if k.startswith("W") else 0 * v) for k, v in params_toy.items()}}
            loss_small, _ = three_layer_convnet_loss(small, X_net, y_net)
            check_close("loss with tiny weights (about log 4: 4 classes)", loss_small, np.log(4), tol=1e-3)
            for name in ("W1", "b1", "W2", "b2", "W3", "b3"):
                f = lambda _: three_layer_convnet_loss(params_toy, X_net, y_net, reg=0.05)[0]
                check_grads(f"d{{name}}", grads[name], eval_numerical_gradient(f, params_toy[name]), tol=1e-6)
        """),
        md(r"""
        **Inline question 3** (2 points). VGG networks replace large filters by stacks of
        $3 \times 3$ convolutions. Compare three stacked $3 \times 3$ convolutional layers (stride 1,
        $C$ channels in and out, a ReLU after each) with one $7 \times 7$ layer ($C$ channels in and
        out): what region of the input does one output see in each case, how many weights does each
        have (ignore biases), and which would you choose, and why?
        """),
        answer("inline_q3", 2, """
        Both see a 7 x 7 region of the input: each 3 x 3 layer widens the receptive field by 2
        (3, 5, 7). The stack has 3 * (3*3*C*C) = 27 C^2 weights, the single layer 7*7*C*C = 49 C^2.
        The stack is cheaper, and its three ReLUs make it more non-linear, so it can express more
        complex features with fewer parameters; prefer the stack (its cost is more activations to
        keep in memory for the backward pass).
        """),
        md(rf"""
        ## Part 5: training on CIFAR-10

        The data: CIFAR-10 images in channels-first layout $(N, 3, 32, 32)$ as float32, minus the
        mean training image, divided by the standard deviation of the training pixels. We train on
        {NUM_MEASURED_TRAIN:,} images and validate on 500 others, so that training takes seconds.
        (On your own machine the first call downloads CIFAR-10, 163 MB, once.)
        """),
        code(f"""
        # X_all, y_all: the CIFAR-10 training set loaded in Part 1
        X_train = X_all[:{NUM_MEASURED_TRAIN}].transpose(0, 3, 1, 2).astype(np.float32)  # (N, 3, 32, 32)
        X_val = X_all[-500:].transpose(0, 3, 1, 2).astype(np.float32)
        y_train, y_val = y_all[:{NUM_MEASURED_TRAIN}], y_all[-500:]
        mean_image = X_train.mean(axis=0)
        pixel_std = (X_train - mean_image).std()
        X_train = (X_train - mean_image) / pixel_std
        X_val = (X_val - mean_image) / pixel_std
        print("X_train", X_train.shape, X_train.dtype, " X_val", X_val.shape)
        """),
        md(r"""
        Write the training loop: shuffle, cut minibatches, compute the loss and gradients with your
        network, update. Any update rule from A2 works; Adam is the least sensitive to the learning
        rate. Before a long run, check that a few hundred images can be overfitted (the training
        accuracy should climb towards 1).
        """),
        solution("train_convnet", SOL_TRAIN),
        code("""
        # Overfit 100 images: the training accuracy should go well above 0.5.
        with visible_test("overfit a small set"):
            params_small = train_convnet(three_layer_convnet_loss, X_train[:100], y_train[:100],
                                         num_epochs=10, batch_size=25, lr=2e-3, reg=0.0, seed=0)
            train_acc = np.mean(np.argmax(three_layer_convnet_loss(params_small, X_train[:100]), axis=1)
                                == y_train[:100])
            print(f"  training accuracy on 100 images after 10 epochs: {train_acc:.2f}")
        """),
        md(rf"""
        ### The graded training run

        Return your chosen hyperparameters from `convnet_hyperparameters()`. The grader calls
        `train_convnet(three_layer_convnet_loss, X, y, seed=..., **convnet_hyperparameters())` with
        **your** two functions on {NUM_MEASURED_TRAIN:,} CIFAR-10 training images it picks
        (preprocessed as above), then measures the accuracy of the returned network on
        {NUM_MEASURED_VAL:,} held-out images you never see (the same images in every grading run of
        your course, so a regrade gives the same accuracy). From {ACCURACY_RAMP.full:.2f} you earn the
        3 points; between {ACCURACY_RAMP.floor:.2f} and {ACCURACY_RAMP.full:.2f}, a share in
        proportion (chance is 0.10). The run may use 60 seconds of CPU time (one core): the settings
        below take a few seconds here.
        """),
        solution("convnet_hyperparameters", SOL_HYPER),
        tests("a3.convnet_accuracy", visible=f"""
        with visible_test("convnet_hyperparameters"):
            hyper = convnet_hyperparameters()
            allowed = {ALLOWED_HYPERPARAMETERS!r}
            check_true(isinstance(hyper, dict), "convnet_hyperparameters() must return a dict")
            for key, value in hyper.items():
                check_true(key in allowed, f"unknown key {{key!r}}; allowed: {{sorted(allowed)}}")
                low, high = allowed[key]
                check_true(low <= value <= high, f"{{key}} = {{value}} must be in [{{low}}, {{high}}]")
            with timed("training"):
                params_best = train_convnet(three_layer_convnet_loss, X_train, y_train, seed=0, **hyper)
            val_acc = np.mean(np.argmax(three_layer_convnet_loss(params_best, X_val), axis=1) == y_val)
            check_accuracy("validation accuracy", val_acc, {ACCURACY_RAMP.floor!r}, {ACCURACY_RAMP.full!r})
        """),
        code("""
        # The first layer's filters, each shown as a small colour image.
        with visible_test("first-layer filters"):
            filters = params_best["W1"].transpose(0, 2, 3, 1)            # (F, HH, WW, 3)
            lo, hi = filters.min(), filters.max()
            fig, axes = plt.subplots(1, len(filters), figsize=(1.2 * len(filters), 1.6))
            for ax, f in zip(np.atleast_1d(axes), filters):
                ax.imshow((f - lo) / (hi - lo), interpolation="nearest")
                ax.axis("off")
            fig.suptitle("Learned first-layer filters")
            plt.show()
        """),
        md(r"""
        ## Submitting

        Restart the kernel and run all cells (Kernel, Restart & Run All), check that every visible
        test prints `[passed]`, save, and submit the notebook.
        """),
    ]


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    nb = write_notebook(cells(), OUT)
    print(f"wrote {OUT} ({len(nb.cells)} cells)")
