"""Build the nbgrader source notebook of A2 (fully connected networks).

    .venv/bin/python solutions/build_a2.py      # writes solutions/a2_fc_nets/a2_fc_nets.ipynb

The notebook is the committed source; this script is how it is edited:
text, solution code and visible tests live here, and the numbers the
visible tests expect are computed now with course_lib's reference on small
fixed inputs (the hidden tests use fresh ones). This file sits outside the
assignment folder on purpose: nbgrader copies every non-notebook file of
that folder into the release, and no solution may ship in a .py file.
"""
from pathlib import Path

import numpy as np

from course_lib import layers, optim
from course_lib.grading.specs.a2 import (ACCURACY_RAMP, NUM_MEASURED_TRAIN, NUM_MEASURED_VAL,
                                   fc_net_reference)
from course_lib.grading.specs.a2_layers import batchnorm_forward_reference
from course_lib.grading.authoring import (answer, array_lit, code, lit, md, solution, tests, toy,
                                          write_notebook)

OUT = Path(__file__).resolve().parent / "a2_fc_nets" / "a2_fc_nets.ipynb"


# ---- toy inputs shared by visible tests and the builder -----------------------
AFF_TOY, A = toy("rng = np.random.default_rng(1)\n"
                 "x_aff = rng.normal(0, 1, (3, 2, 4))\n"
                 "w_aff = rng.normal(0, 0.5, (8, 5))\n"
                 "b_aff = rng.normal(0, 0.5, 5)\n"
                 "dout_aff = rng.normal(0, 1, (3, 5))")
AFF_OUT = layers.affine_forward(A["x_aff"], A["w_aff"], A["b_aff"])[0]
RELU_TOY, R = toy("x_relu = np.array([[-1.0, 0.0, 2.0], [0.5, -0.25, 0.0]])")
NET_TOY, N = toy("rng = np.random.default_rng(11)\n"
                 "params_toy = {'W1': rng.normal(0, 0.5, (4, 6)), 'b1': rng.normal(0, 0.5, 6),\n"
                 "              'W2': rng.normal(0, 0.5, (6, 5)), 'b2': rng.normal(0, 0.5, 5),\n"
                 "              'W3': rng.normal(0, 0.5, (5, 3)), 'b3': rng.normal(0, 0.5, 3)}\n"
                 "X_net = rng.normal(0, 1, (5, 4))\n"
                 "y_net = np.array([0, 1, 2, 2, 1])")
NET_SCORES = fc_net_reference(N["params_toy"], N["X_net"])
NET_LOSS, _ = fc_net_reference(N["params_toy"], N["X_net"], N["y_net"], 0.1)
OPT_TOY, O = toy("w_opt = np.linspace(-0.4, 0.6, 12).reshape(3, 4)\n"
                 "dw_opt = np.linspace(-0.6, 0.4, 12).reshape(3, 4)\n"
                 "v_opt = np.linspace(0.6, 0.9, 12).reshape(3, 4)")
MOM_W, MOM_S = optim.sgd_momentum(O["w_opt"], O["dw_opt"],
                                  {"lr": 1e-3, "momentum": 0.9, "velocity": O["v_opt"]})
RMS_W, RMS_S = optim.rmsprop(O["w_opt"], O["dw_opt"], {"lr": 1e-2, "cache": O["v_opt"]})
ADAM_W, ADAM_S = optim.adam(O["w_opt"], O["dw_opt"], {"lr": 1e-2, "m": O["dw_opt"] / 2,
                                                     "v": O["v_opt"], "t": 5})
ADAM_W1, _ = optim.adam(O["w_opt"], O["dw_opt"], {"lr": 1e-2})
BN_TOY, B = toy("rng = np.random.default_rng(3)\n"
                "x_bn = rng.normal(5.0, 3.0, (20, 4))\n"
                "gamma_bn = np.array([1.0, 2.0, 0.5, 1.5])\n"
                "beta_bn = np.array([0.0, -1.0, 0.5, 2.0])\n"
                "stats_bn = {'running_mean': np.zeros(4), 'running_var': np.ones(4)}\n"
                "dout_bn = rng.normal(0, 1, (20, 4))")
BN_OUT, _, BN_STATS = batchnorm_forward_reference(B["x_bn"], B["gamma_bn"], B["beta_bn"],
                                                  B["stats_bn"], train=True, momentum=0.9)
BN_TEST = batchnorm_forward_reference(B["x_bn"][:3], B["gamma_bn"], B["beta_bn"], BN_STATS,
                                      train=False)[0]
DROP_TOY, DR = toy("x_drop = np.arange(1.0, 13.0).reshape(3, 4)")
DROP_OUT = layers.dropout_forward(DR["x_drop"], 0.5, train=True, seed=42)[0]


# ---- solution code ----------------------------------------------------------

SOL_AFFINE_FWD = '''
def affine_forward(x, w, b):
    """Fully connected (affine) layer: out = x_rows @ w + b.

    x : (N, d1, ..., dk) inputs; each example is flattened to a row of D = d1 * ... * dk values.
    w : (D, M) weights;  b : (M,) biases.
    Returns (out, cache): out (N, M), and cache = whatever affine_backward needs
    (for example the tuple (x, w, b)).
    """
    ### BEGIN SOLUTION
    x_rows = x.reshape(x.shape[0], -1)   # (N, D)
    out = x_rows @ w + b
    cache = (x, w, b)
    ### END SOLUTION
    return out, cache
'''

SOL_AFFINE_BWD = '''
def affine_backward(dout, cache):
    """Backward pass of affine_forward.

    dout : (N, M) upstream gradient;  cache : what your affine_forward returned.
    Returns (dx, dw, db) shaped like x (N, d1, ..., dk), w (D, M) and b (M,).
    """
    ### BEGIN SOLUTION
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_rows.T @ dout
    db = dout.sum(axis=0)
    ### END SOLUTION
    return dx, dw, db
'''

SOL_RELU_FWD = '''
def relu_forward(x):
    """ReLU layer out = max(0, x), elementwise, any shape. Returns (out, cache)."""
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    cache = x
    ### END SOLUTION
    return out, cache
'''

SOL_RELU_BWD = '''
def relu_backward(dout, cache):
    """Backward pass of relu_forward: the gradient passes where x > 0 (strictly;
    at x = 0 exactly it is taken as 0). Returns dx shaped like x."""
    ### BEGIN SOLUTION
    x = cache
    dx = dout * (x > 0)
    ### END SOLUTION
    return dx
'''

SOL_NET = '''
def softmax_loss(scores, y):
    """Given: mean softmax (cross-entropy) loss of scores (N, C) for labels y (N,),
    and its gradient with respect to the scores."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    num = scores.shape[0]
    dscores = np.exp(log_probs)
    dscores[np.arange(num), y] -= 1
    return -log_probs[np.arange(num), y].mean(), dscores / num


def fc_net_loss(params, X, y=None, reg=0.0):
    """A fully connected network of any depth:
    {affine - ReLU} x (L - 1) - affine - softmax.

    params : dict with W1 (D, H1), b1 (H1,), ..., WL (H_{L-1}, C), bL (C,); L is the
             number of weight matrices in params (L >= 1).
    X : (N, D);  y : (N,) labels or None;  reg : L2 strength.
    If y is None, return the scores (N, C). Otherwise return (loss, grads) with
    loss = mean softmax loss + reg * (sum(W1**2) + ... + sum(WL**2)) (the biases are
    not regularized; the gradient of reg * sum(W**2) is 2 * reg * W) and grads a dict
    with the same keys and shapes as params.
    Use your affine and ReLU layers.
    """
    num_layers = len([name for name in params if name.startswith("W")])
    ### BEGIN SOLUTION
    caches = []
    out = X
    for i in range(1, num_layers):
        out, affine_cache = affine_forward(out, params[f"W{i}"], params[f"b{i}"])
        out, relu_cache = relu_forward(out)
        caches.append((affine_cache, relu_cache))
    scores, last_cache = affine_forward(out, params[f"W{num_layers}"], params[f"b{num_layers}"])
    if y is None:
        return scores
    loss, dout = softmax_loss(scores, y)
    grads = {}
    dout, grads[f"W{num_layers}"], grads[f"b{num_layers}"] = affine_backward(dout, last_cache)
    for i in range(num_layers - 1, 0, -1):
        affine_cache, relu_cache = caches[i - 1]
        dout = relu_backward(dout, relu_cache)
        dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, affine_cache)
    for i in range(1, num_layers + 1):
        W = params[f"W{i}"]
        loss += reg * np.sum(W * W)
        grads[f"W{i}"] = grads[f"W{i}"] + 2 * reg * W
    return float(loss), grads
    ### END SOLUTION
'''

SOL_MOMENTUM = '''
def sgd_momentum(w, dw, state=None):
    """SGD with momentum. state: dict with "lr" (default 1e-2), "momentum" (0.9) and,
    after the first step, "velocity" (shaped like w; starts at zero).
        v <- momentum * v - lr * dw
        w <- w + v
    Returns (next_w, state) with the new velocity in state["velocity"]. Do not modify
    w, dw or the dict passed in.
    """
    state = dict(state or {})
    lr, momentum = state.get("lr", 1e-2), state.get("momentum", 0.9)
    v = state.get("velocity", np.zeros_like(w))
    ### BEGIN SOLUTION
    v = momentum * v - lr * dw
    next_w = w + v
    ### END SOLUTION
    state["velocity"] = v
    return next_w, state
'''

SOL_RMSPROP = '''
def rmsprop(w, dw, state=None):
    """RMSprop. state: "lr" (1e-2), "decay_rate" (0.99), "eps" (1e-8) and "cache"
    (shaped like w; starts at zero).
        cache <- decay_rate * cache + (1 - decay_rate) * dw**2
        w <- w - lr * dw / (sqrt(cache) + eps)
    Returns (next_w, state) with the new cache in state["cache"].
    """
    state = dict(state or {})
    lr, rho, eps = state.get("lr", 1e-2), state.get("decay_rate", 0.99), state.get("eps", 1e-8)
    cache = state.get("cache", np.zeros_like(w))
    ### BEGIN SOLUTION
    cache = rho * cache + (1 - rho) * dw * dw
    next_w = w - lr * dw / (np.sqrt(cache) + eps)
    ### END SOLUTION
    state["cache"] = cache
    return next_w, state
'''

SOL_ADAM = '''
def adam(w, dw, state=None):
    """Adam. state: "lr" (1e-3), "beta1" (0.9), "beta2" (0.999), "eps" (1e-8), and the
    slots "m", "v" (shaped like w; start at zero) and "t" (steps taken; starts at 0).
        t <- t + 1
        m <- beta1 * m + (1 - beta1) * dw
        v <- beta2 * v + (1 - beta2) * dw**2
        m_hat = m / (1 - beta1**t),   v_hat = v / (1 - beta2**t)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)
    Returns (next_w, state) with the new m, v and t in state.
    """
    state = dict(state or {})
    lr, beta1, beta2 = state.get("lr", 1e-3), state.get("beta1", 0.9), state.get("beta2", 0.999)
    eps = state.get("eps", 1e-8)
    m, v, t = state.get("m", np.zeros_like(w)), state.get("v", np.zeros_like(w)), state.get("t", 0)
    ### BEGIN SOLUTION
    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    ### END SOLUTION
    state.update(m=m, v=v, t=t)
    return next_w, state
'''

SOL_BN_FWD = '''
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    """Batch normalization of x (N, D), per feature.

    stats : dict with "running_mean" and "running_var", each (D,).
    Training mode: normalize with the batch mean and (biased, divide by N) variance,
        x_hat = (x - mean) / sqrt(var + eps),   out = gamma * x_hat + beta,
    and compute new running statistics
        running_mean = momentum * running_mean + (1 - momentum) * mean   (same for var).
    Test mode (train=False): normalize with the running statistics; they stay as they are.
    Returns (out, cache, new_stats): new_stats is a NEW dict with the two running arrays;
    do not modify x, gamma, beta or stats.
    """
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    ### BEGIN SOLUTION
    if train:
        mean = x.mean(axis=0)
        xc = x - mean
        var = (xc * xc).mean(axis=0)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        xc = x - running_mean
        var = running_var
    std = np.sqrt(var + eps)
    x_hat = xc / std
    out = gamma * x_hat + beta
    cache = (train, x_hat, std, gamma)
    ### END SOLUTION
    return out, cache, {"running_mean": running_mean, "running_var": running_var}
'''

SOL_BN_BWD = '''
def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward (training mode), step by step through the
    graph: out = gamma * x_hat + beta, x_hat = (x - mean) / std, std = sqrt(var + eps),
    var = mean((x - mean)**2), mean = mean(x).
    Returns (dx, dgamma, dbeta) shaped (N, D), (D,), (D,).
    """
    ### BEGIN SOLUTION
    train, x_hat, std, gamma = cache
    num = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if not train:
        return dx_hat / std, dgamma, dbeta
    xc = x_hat * std
    dxc = dx_hat / std                                  # x_hat = xc / std
    dstd = -(dx_hat * xc).sum(axis=0) / (std * std)
    dvar = dstd * 0.5 / std                             # std = sqrt(var + eps)
    dxc = dxc + (2.0 / num) * xc * dvar                 # var = mean(xc**2)
    dmean = -dxc.sum(axis=0)                            # xc = x - mean
    dx = dxc + dmean / num                              # mean = mean(x)
    ### END SOLUTION
    return dx, dgamma, dbeta
'''

SOL_BN_ALT = '''
def batchnorm_backward_alt(dout, cache):
    """The same gradients in closed form. With g = dout * gamma, per feature:
        dx = (g - mean_n(g) - x_hat * mean_n(g * x_hat)) / std
    Returns (dx, dgamma, dbeta).
    """
    ### BEGIN SOLUTION
    train, x_hat, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    if not train:
        return g / std, dgamma, dbeta
    dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std
    ### END SOLUTION
    return dx, dgamma, dbeta
'''

SOL_DROP_FWD = '''
def dropout_forward(x, p, train=True, seed=None):
    """Inverted dropout; p is the probability of KEEPING a unit.

    Training: draw the mask exactly like this (the grader replays it with the same seed):
        rng = np.random.default_rng(seed)
        mask = (rng.random(x.shape) < p) / p
        out = x * mask
    Test mode (train=False): out is x unchanged (a copy).
    Returns (out, cache).
    """
    ### BEGIN SOLUTION
    if not train:
        return x.copy(), (None, False)
    rng = np.random.default_rng(seed)
    mask = (rng.random(x.shape) < p) / p
    out = x * mask
    cache = (mask, True)
    ### END SOLUTION
    return out, cache
'''

SOL_DROP_BWD = '''
def dropout_backward(dout, cache):
    """Backward pass of dropout_forward: dx shaped like dout."""
    ### BEGIN SOLUTION
    mask, train = cache
    if not train:
        return dout.copy()
    dx = dout * mask
    ### END SOLUTION
    return dx
'''

SOL_TRAIN = '''
def train_fc_net(X, y, hidden_size=100, num_hidden_layers=1, lr=1e-3, reg=0.0, num_iters=500,
                 batch_size=100, weight_scale=1e-3, seed=0, num_classes=10):
    """Train a network with your fc_net_loss and adam on minibatches; return its params.

    Initial weights weight_scale * N(0, 1) (from rng below), biases zero, one adam state
    dict per parameter; each step draws batch_size rows with rng.choice(N, batch_size).
    """
    rng = np.random.default_rng(seed)
    num_train, dim = X.shape
    dims = [dim] + [int(hidden_size)] * int(num_hidden_layers) + [num_classes]
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = weight_scale * rng.standard_normal((dims[i - 1], dims[i]))
        params[f"b{i}"] = np.zeros(dims[i])
    states = {name: {"lr": lr} for name in params}
    for it in range(int(num_iters)):
        ### BEGIN SOLUTION
        batch = rng.choice(num_train, int(batch_size))
        loss, grads = fc_net_loss(params, X[batch], y[batch], reg)
        for name in params:
            params[name], states[name] = adam(params[name], grads[name], states[name])
        ### END SOLUTION
    return params
'''

SOL_HYPER = '''
def fc_hyperparameters():
    """Your choice for the graded training run: a dict with some of the keys
    "hidden_size" (at most 500), "num_hidden_layers" (1 to 3), "lr", "reg",
    "num_iters" (at most 1000), "batch_size" (at most 500), "weight_scale"."""
    ### BEGIN SOLUTION
    return {"hidden_size": 100, "num_hidden_layers": 1, "lr": 1e-4, "reg": 0.25,
            "num_iters": 400, "batch_size": 100, "weight_scale": 1e-3}
    ### END SOLUTION
'''


# ---- the notebook -------------------------------------------------------------

def cells():
    return [
        md(r"""
        # Assignment 2: fully connected networks

        In this assignment you build, in numpy, everything a fully connected network (全连接网络) needs to
        train well: the **affine** (仿射) and **ReLU** layers as forward/backward pairs, a network of any depth
        with its **backpropagation** (反向传播), three **update rules** (更新规则: momentum, RMSprop, Adam),
        **batch normalization** (批量归一化) and **inverted dropout** (反向随机失活), and finally a network
        trained on CIFAR-10.

        **How this notebook is graded.** Write code only where a solution cell says `# YOUR CODE HERE` (replace that line and the
        `raise NotImplementedError()` below it), and do not rename the functions or change their
        arguments. Hidden
        tests call each function on fresh inputs you have not seen (edge cases included) and compare every
        output with a reference implementation: each output earns its own points (for example, for a
        backward pass: `dx`, `dw` and `db` separately), and the feedback says which output is wrong, on which
        kind of input, by how much, and often which common mistake it matches.

        - The grader runs **only your solution cells**, in order, in a fresh Python where `numpy` is
          imported as `np`. A solution cell must not use variables other cells create; your later
          functions may call your earlier ones (the network calls your layers).
        - A **backward pass is graded on the cache your own forward pass returns**, so the cache may hold
          whatever you like; a wrong forward pass usually makes its backward pass wrong too.
        - Using the course library's reference implementation (`course_lib.layers`, `course_lib.optim`,
          `course_lib.normalization`, `course_lib.models`, ...) in your answers scores 0 for that item.
          `course_lib.data` is available to your functions; `course_lib.gradcheck` is for your own checks
          in other cells (graded functions cannot call it: a numerical gradient is not an answer where
          the analytic one is asked for).
        - The cells below each function are visible tests: they print what they check and the value to
          expect, and mark each test `[passed]`, `[FAILED]`, `[ERROR]` or `[not done]`. Passing them is a
          good sign, not the grade.
        - **Validate** (`nbgrader validate <notebook>`, or the Validate button) runs the whole notebook in a
          fresh kernel and lists every visible test that does not pass and every function still
          unwritten. It does not run the hidden tests, so "Success" means the visible checks pass, not a
          score.
        - Three short written questions are graded by hand.
        """),
        code("""
        import matplotlib.pyplot as plt
        import numpy as np

        from course_lib.data import load_cifar10
        from course_lib.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array
        from course_lib.grading.visible import (check_accuracy, check_close, check_equal, check_shape,
                                                check_true, timed, visible_test)

        plt.rcParams["figure.dpi"] = 90
        """),
        md(r"""
        ## Part 1: layers as forward/backward pairs

        A network is a chain of simple layers. Each layer is a pair of functions: `layer_forward(x, ...)`
        returns its output and a **cache** (缓存) of what the backward pass will need; `layer_backward(dout,
        cache)` receives the gradient of the loss with respect to the layer's output, `dout`, and returns the
        gradients with respect to each input, in the order of the forward's arguments. The chain rule
        (链式法则) then needs nothing else: each layer only knows its own local derivative.

        ### Affine layer

        An **affine layer** (仿射层, also called fully connected) flattens each example to a row of $D$ values
        and computes $\text{out} = x W + b$. With the inputs flattened to $X$ $(N, D)$:

        $$dX = \text{dout}\, W^T, \qquad dW = X^T \text{dout}, \qquad db = \textstyle\sum_n \text{dout}_n .$$

        Each gradient has the shape of its variable: `dx` must be reshaped back to `x`'s shape
        $(N, d_1, \dots, d_k)$.
        """),
        solution("affine_forward", SOL_AFFINE_FWD),
        tests("a2.affine_forward", setup=AFF_TOY, visible=f"""
        with visible_test("affine_forward"):
            out, _ = affine_forward(x_aff, w_aff, b_aff)
            check_shape("out", out, (3, 5))
            check_close("out", out, {array_lit(AFF_OUT)})
        """),
        solution("affine_backward", SOL_AFFINE_BWD),
        tests("a2.affine_backward", visible="""
        with visible_test("affine_backward"):
            out, cache = affine_forward(x_aff, w_aff, b_aff)
            dx, dw, db = affine_backward(dout_aff, cache)
            check_shape("dx", dx, x_aff.shape)
            check_shape("dw", dw, w_aff.shape)
            # numerical gradients: centred differences of the forward pass
            check_close("dx vs numerical", dx, eval_numerical_gradient_array(
                lambda x: affine_forward(x, w_aff, b_aff)[0], x_aff.copy(), dout_aff), tol=1e-7)
            check_close("dw vs numerical", dw, eval_numerical_gradient_array(
                lambda w: affine_forward(x_aff, w, b_aff)[0], w_aff.copy(), dout_aff), tol=1e-7)
            check_close("db vs numerical", db, eval_numerical_gradient_array(
                lambda b: affine_forward(x_aff, w_aff, b)[0], b_aff.copy(), dout_aff), tol=1e-7)
        """),
        md(r"""
        ### ReLU

        The **ReLU** (修正线性单元) $\max(0, x)$ passes positive inputs and zeroes the rest, so its backward
        pass lets the gradient through where $x > 0$ and blocks it elsewhere. At exactly $x = 0$ the function
        has a kink and no derivative; we take the gradient there as 0 (a subgradient), as the reference does.
        With inputs that are whole numbers, exact zeros are common, so this choice is tested.
        """),
        solution("relu_forward", SOL_RELU_FWD),
        tests("a2.relu_forward", setup=RELU_TOY, visible="""
        with visible_test("relu_forward"):
            out, _ = relu_forward(x_relu)
            check_close("out", out, np.array([[0.0, 0.0, 2.0], [0.5, 0.0, 0.0]]))
        """),
        solution("relu_backward", SOL_RELU_BWD),
        tests("a2.relu_backward", visible="""
        with visible_test("relu_backward"):
            _, cache = relu_forward(x_relu)
            dx = relu_backward(np.ones_like(x_relu), cache)
            print("  the gradient is blocked at x = 0 exactly (the kink):")
            check_close("dx for dout = 1", dx, np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
        """),
        md(r"""
        ## Part 2: a network of any depth

        Stack $L - 1$ blocks of affine then ReLU and a last affine layer that gives the class scores, then
        the softmax loss. The forward pass keeps each layer's cache; the backward pass visits the layers in
        reverse order, handing each one the gradient the layer above returned.

        **L2 regularization** (L2 正则化) adds $\lambda \sum_l \sum W_l^2$ to the loss (`reg` is
        $\lambda$), so each weight gradient gets $2\lambda W_l$: the same convention as A1's losses and
        `course_lib` (CS231n writes $\frac{1}{2}\lambda \sum W^2$ with gradient $\lambda W$, which is our
        penalty with half the `reg`). Biases are not regularized. The softmax loss is given in the cell; it already divides by $N$.

        With small random weights every class gets about the same score, so the loss starts near
        $\log C$.
        """),
        solution("fc_net_loss", SOL_NET),
        tests("a2.fc_net_loss", setup=NET_TOY, visible=f"""
        with visible_test("fc_net_loss"):
            check_close("scores (two hidden layers)", fc_net_loss(params_toy, X_net), {array_lit(NET_SCORES)})
            loss, grads = fc_net_loss(params_toy, X_net, y_net, reg=0.1)
            check_close("loss with reg = 0.1", loss, {lit(NET_LOSS)})
            for name in sorted(params_toy):
                numeric = eval_numerical_gradient(
                    lambda _: fc_net_loss(params_toy, X_net, y_net, reg=0.1)[0], params_toy[name],
                    verbose=False)
                check_close(f"d{{name}} vs numerical gradient", grads[name], numeric, tol=1e-6)
            tiny = {{k: 1e-3 * v for k, v in params_toy.items()}}
            loss0, _ = fc_net_loss(tiny, X_net, y_net)
            check_close("initial loss with tiny weights (about log 3)", loss0, np.log(3), tol=1e-2)
        """),
        md(r"""
        ## Part 3: update rules

        Plain gradient descent $w \leftarrow w - \eta\, dw$ ($\eta$ is the **learning rate** (学习率) `lr`)
        crawls along shallow directions and zigzags across steep ones. Each rule below is a function
        `update(w, dw, state) -> (next_w, state)`, like `course_lib.optim`: `state` is a dict holding the
        hyperparameters and the rule's memory between steps; return a new state instead of changing the one
        you got.

        - **Momentum** (动量) keeps a velocity $v$ that accumulates past gradients:
          $v \leftarrow \mu v - \eta\, dw$, then $w \leftarrow w + v$.
        - **RMSprop** divides each parameter's step by a running average of its squared gradients, so steep
          and shallow directions move at similar speed:
          $c \leftarrow \rho c + (1 - \rho)\, dw^2$, $w \leftarrow w - \eta\, dw / (\sqrt{c} + \epsilon)$.
          $\epsilon$ keeps the division finite where the cache is 0.
        - **Adam** (自适应矩估计) combines both: a running mean $m$ of the gradients and a running mean $v$ of
          their squares. Both start at 0, so early on they are too small; **bias correction** (偏差修正)
          divides them by $1 - \beta^t$, where $t$ counts the steps including this one.
        """),
        solution("sgd_momentum", SOL_MOMENTUM),
        tests("a2.sgd_momentum", setup=OPT_TOY, visible=f"""
        with visible_test("sgd_momentum"):
            next_w, state = sgd_momentum(w_opt, dw_opt, {{"lr": 1e-3, "momentum": 0.9, "velocity": v_opt}})
            check_close("next_w", next_w, {array_lit(MOM_W)})
            check_close("velocity", state["velocity"], {array_lit(MOM_S["velocity"])})
        """),
        solution("rmsprop", SOL_RMSPROP),
        tests("a2.rmsprop", visible=f"""
        with visible_test("rmsprop"):
            next_w, state = rmsprop(w_opt, dw_opt, {{"lr": 1e-2, "cache": v_opt}})
            check_close("next_w", next_w, {array_lit(RMS_W)})
            check_close("cache", state["cache"], {array_lit(RMS_S["cache"])})
            next_w, _ = rmsprop(w_opt, np.zeros_like(w_opt), {{"lr": 1e-2}})
            check_true(np.all(np.isfinite(next_w)), "a zero gradient with a zero cache gives NaN: add eps")
        """),
        solution("adam", SOL_ADAM),
        tests("a2.adam", visible=f"""
        with visible_test("adam"):
            next_w, state = adam(w_opt, dw_opt, {{"lr": 1e-2, "m": dw_opt / 2, "v": v_opt, "t": 5}})
            check_close("next_w (step 6)", next_w, {array_lit(ADAM_W)})
            check_close("m", state["m"], {array_lit(ADAM_S["m"])})
            check_close("v", state["v"], {array_lit(ADAM_S["v"])})
            check_equal("t", state["t"], 6)
            next_w, _ = adam(w_opt, dw_opt, {{"lr": 1e-2}})
            print("  the first step moves each weight by about lr (bias correction at work):")
            check_close("next_w (step 1)", next_w, {array_lit(ADAM_W1)})
        """),
        md(r"""
        **Inline question 1** (2 points). Without bias correction, what does Adam's first step look like
        with the default $\beta_1 = 0.9$, $\beta_2 = 0.999$, compared with the corrected one? Explain with
        the values of $m$ and $v$ after one step.
        """),
        answer("inline_q1", 2, """
        After one step m = 0.1 dw and v = 0.001 dw^2, so m / sqrt(v) = 0.1 / sqrt(0.001) * sign(dw), about
        3.16 sign(dw): the uncorrected first step is about three times larger than lr in every coordinate (and
        later the ratio drifts as m and v warm up at different speeds). The corrected m_hat = dw and v_hat =
        dw^2 give a step of lr * sign(dw), the intended size, from the first step on.
        """),
        md(r"""
        ## Part 4: batch normalization

        Deep networks train faster when each layer's inputs keep a steady distribution. **Batch
        normalization** (批量归一化) standardizes each feature over the minibatch, then lets the network
        rescale it with learned $\gamma$ and $\beta$:

        $$\mu = \frac1N \sum_n x_n, \quad \sigma^2 = \frac1N \sum_n (x_n - \mu)^2, \quad
          \hat{x} = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad \text{out} = \gamma \hat{x} + \beta .$$

        At test time there may be a single example, and its prediction should not depend on the others in
        the batch, so the layer uses **running averages** (滑动平均) of $\mu$ and $\sigma^2$ collected during
        training: $\text{running} \leftarrow m \cdot \text{running} + (1 - m) \cdot \text{batch value}$ with
        momentum $m = 0.9$. Here the running statistics travel in a dict `stats`; the forward pass returns a
        new one (no hidden changes to its inputs). Compute the variance from $x - \mu$: when a feature's mean
        is large compared with its spread, $E[x^2] - E[x]^2$ subtracts two huge, nearly equal numbers and
        loses all precision.
        """),
        solution("batchnorm_forward", SOL_BN_FWD),
        tests("a2.batchnorm_forward", setup=BN_TOY, visible=f"""
        with visible_test("batchnorm_forward"):
            out, cache, new_stats = batchnorm_forward(x_bn, gamma_bn, beta_bn, stats_bn, train=True)
            print("  training mode: each feature of out has mean beta and standard deviation gamma")
            check_close("mean of out", out.mean(axis=0), beta_bn, tol=1e-8)
            check_close("std of out", out.std(axis=0), gamma_bn, tol=1e-5)
            check_close("out", out, {array_lit(BN_OUT)})
            check_close("running_mean", new_stats["running_mean"], {array_lit(BN_STATS["running_mean"])})
            check_close("running_var", new_stats["running_var"], {array_lit(BN_STATS["running_var"])})
            check_close("stats passed in are unchanged", stats_bn["running_var"], np.ones(4))
            out_test, _, _ = batchnorm_forward(x_bn[:3], gamma_bn, beta_bn, new_stats, train=False)
            check_close("out in test mode (3 examples, running statistics)", out_test, {array_lit(BN_TEST)})
        """),
        md(r"""
        ### Backward pass, two ways

        First backpropagate through the graph one node at a time (mean, centring, variance, square root,
        division, scale and shift): this is mechanical and easy to check. Then simplify on paper: with
        $g = \text{dout} \cdot \gamma$ (the gradient with respect to $\hat{x}$), every path collapses to

        $$dx = \frac{1}{\sqrt{\sigma^2 + \epsilon}} \Big( g - \operatorname{mean}_n(g)
               - \hat{x} \operatorname{mean}_n(g\, \hat{x}) \Big),$$

        where the middle term comes from the mean depending on every $x_n$ and the last one from the
        variance. Both functions receive the cache of your forward pass.
        """),
        solution("batchnorm_backward", SOL_BN_BWD),
        tests("a2.batchnorm_backward", visible="""
        def bn_out(x=x_bn, gamma=gamma_bn, beta=beta_bn):
            return batchnorm_forward(x, gamma, beta, stats_bn, train=True)[0]

        with visible_test("batchnorm_backward"):
            _, cache, _ = batchnorm_forward(x_bn, gamma_bn, beta_bn, stats_bn, train=True)
            dx, dgamma, dbeta = batchnorm_backward(dout_bn, cache)
            check_close("dx vs numerical", dx, eval_numerical_gradient_array(
                lambda x: bn_out(x=x), x_bn.copy(), dout_bn), tol=1e-6)
            check_close("dgamma vs numerical", dgamma, eval_numerical_gradient_array(
                lambda g: bn_out(gamma=g), gamma_bn.copy(), dout_bn), tol=1e-6)
            check_close("dbeta vs numerical", dbeta, eval_numerical_gradient_array(
                lambda b: bn_out(beta=b), beta_bn.copy(), dout_bn), tol=1e-6)
        """),
        solution("batchnorm_backward_alt", SOL_BN_ALT),
        tests("a2.batchnorm_backward_alt", visible="""
        with visible_test("batchnorm_backward_alt"):
            _, cache, _ = batchnorm_forward(x_bn, gamma_bn, beta_bn, stats_bn, train=True)
            expected = batchnorm_backward(dout_bn, cache)
            got = batchnorm_backward_alt(dout_bn, cache)
            for name, a, e in zip(("dx", "dgamma", "dbeta"), got, expected):
                check_close(f"{name}: closed form vs step by step", a, e, tol=1e-8)
            x_big = np.random.default_rng(0).normal(0, 1, (2000, 500))
            dout_big = np.random.default_rng(1).normal(0, 1, (2000, 500))
            _, cache_big, _ = batchnorm_forward(x_big, np.ones(500), np.zeros(500),
                                                {"running_mean": np.zeros(500), "running_var": np.ones(500)})
            with timed("step by step (2000 x 500)"):
                batchnorm_backward(dout_big, cache_big)
            with timed("closed form (2000 x 500)"):
                batchnorm_backward_alt(dout_big, cache_big)
        """),
        md(r"""
        **Inline question 2** (2 points). Why is the closed-form backward pass faster than the step-by-step
        one, although both compute the same numbers? Answer in terms of the work done per element and the
        temporary arrays.
        """),
        answer("inline_q2", 2, """
        The step-by-step version walks every node of the graph: it creates an (N, D) temporary for each
        intermediate gradient (dx_hat, dxc twice, ...) and makes several passes over memory, with reductions
        for the mean and the variance paths computed separately. The closed form folds those paths into two
        per-feature means (mean of g and mean of g * x_hat) and one elementwise expression, so it reads and
        writes the (N, D) arrays fewer times; on large arrays the work is limited by memory traffic, so
        fewer temporaries and passes mean less time.
        """),
        md(r"""
        ## Part 5: inverted dropout

        **Dropout** (随机失活) zeroes each hidden unit at random during training, so the network cannot rely on
        any single unit and learns redundant features, a strong regularizer. Here `p` is the probability of
        **keeping** a unit. Kept units are divided by $p$ during training, so each unit's expected output
        equals its input; that is **inverted** dropout, and it makes the test-time layer the identity: nothing
        to rescale at prediction time. Draw the mask exactly as the docstring says: with the same seed, the
        grader expects the same mask.
        """),
        solution("dropout_forward", SOL_DROP_FWD),
        tests("a2.dropout_forward", setup=DROP_TOY, visible=f"""
        with visible_test("dropout_forward"):
            out, _ = dropout_forward(x_drop, 0.5, train=True, seed=42)
            check_close("out with p = 0.5, seed = 42", out, {array_lit(DROP_OUT)})
            again, _ = dropout_forward(x_drop, 0.5, train=True, seed=42)
            check_equal("same seed, same mask", again != 0, out != 0)
            big = np.ones((500, 400))
            for p in (0.3, 0.8):
                kept, _ = dropout_forward(big, p, train=True, seed=0)
                print(f"  p = {{p}}: fraction kept {{np.mean(kept != 0):.3f}} (about {{p}}), "
                      f"mean output {{kept.mean():.3f}} (about 1: inverted dropout keeps the mean)")
                check_close(f"mean output with p = {{p}}", kept.mean(), 1.0, tol=2e-2)
            test_out, _ = dropout_forward(x_drop, 0.5, train=False)
            check_close("test mode: the identity", test_out, x_drop)
        """),
        solution("dropout_backward", SOL_DROP_BWD),
        tests("a2.dropout_backward", visible="""
        with visible_test("dropout_backward"):
            dout_drop = np.linspace(-1, 1, 12).reshape(3, 4)
            _, cache = dropout_forward(x_drop, 0.6, train=True, seed=7)
            check_close("dx vs numerical", dropout_backward(dout_drop, cache), eval_numerical_gradient_array(
                lambda x: dropout_forward(x, 0.6, train=True, seed=7)[0], x_drop.copy(), dout_drop), tol=1e-7)
            _, cache = dropout_forward(x_drop, 0.6, train=False)
            check_close("dx in test mode", dropout_backward(dout_drop, cache), dout_drop)
        """),
        md(r"""
        **Inline question 3** (2 points). A classmate implements dropout without the division by $p$ in
        training and forgets to multiply by $p$ at test time. What happens to the test accuracy, and why?
        What is the advantage of inverted dropout for the code that makes predictions?
        """),
        answer("inline_q3", 2, """
        During training each unit's output has expected value p * x, so the next layer learns weights for
        inputs that small. At test time every unit is kept and the inputs are 1/p times larger than anything
        the network saw: activations grow layer after layer and the scores (and accuracy) are distorted. With
        inverted dropout the training-time expectation is already x, so prediction runs the plain network
        with no dropout-specific code and no risk of forgetting the rescaling.
        """),
        md(rf"""
        ## Part 6: training on CIFAR-10

        To keep the graded run to seconds, the images are reduced to $16 \times 16$ pixels (each pixel the
        mean of a $2 \times 2$ block), flattened, with the mean training image subtracted and a constant 1
        appended: $D = 16 \cdot 16 \cdot 3 + 1 = 769$. Below, {NUM_MEASURED_TRAIN:,} training images and
        1,000 validation images.

        `train_fc_net` runs minibatch training with your `fc_net_loss` and `adam`. Choose hyperparameters
        (超参数) in `fc_hyperparameters()`: the grader trains `train_fc_net` with them on
        {NUM_MEASURED_TRAIN:,} CIFAR-10 training images it picks and measures the accuracy on
        {NUM_MEASURED_VAL:,} held-out images you never see (the same images in every grading run of your
        course, so a regrade gives the same accuracy). From **{ACCURACY_RAMP.full:.2f}** you earn the 3
        points; between {ACCURACY_RAMP.floor:.2f} and {ACCURACY_RAMP.full:.2f}, a share in proportion
        (chance is 0.10). The graded run may use 2 minutes of CPU time, so keep the network and the number
        of steps modest. Raw pixels are
        about 60 on average in absolute value: start with small weights and a small learning rate.
        """),
        code("""
        def downsample(images):
            # (N, 32, 32, 3) uint8 -> (N, 16, 16, 3) uint8: the mean of each 2x2 block
            blocks = images.reshape(len(images), 16, 2, 16, 2, 3).mean(axis=(2, 4))
            return np.rint(blocks).astype(np.uint8)

        def as_rows(images, mean):
            X = images.reshape(len(images), -1).astype(np.float64) - mean
            return np.hstack([X, np.ones((len(X), 1))])

        X_all, y_all, _, _ = load_cifar10()
        train_images, val_images = downsample(X_all[:4000]), downsample(X_all[-1000:])
        mean_image = train_images.reshape(len(train_images), -1).mean(axis=0)
        X_train, y_train = as_rows(train_images, mean_image), y_all[:4000]
        X_val, y_val = as_rows(val_images, mean_image), y_all[-1000:]
        print("X_train", X_train.shape, " X_val", X_val.shape)
        """),
        solution("train_fc_net", SOL_TRAIN),
        solution("fc_hyperparameters", SOL_HYPER),
        tests("a2.fc_accuracy", visible=f"""
        with visible_test("fc_hyperparameters"):
            hyper = fc_hyperparameters()
            check_true(isinstance(hyper, dict), "fc_hyperparameters() must return a dict")
            with timed("training"):
                params = train_fc_net(X_train, y_train, seed=0, **hyper)
            scores = fc_net_loss(params, X_val)
            val_acc = np.mean(np.argmax(scores, axis=1) == y_val)
            check_accuracy("validation accuracy", val_acc, {ACCURACY_RAMP.floor!r}, {ACCURACY_RAMP.full!r})
            W1 = params["W1"][:-1].T.reshape(-1, 16, 16, 3)[:10]
            fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
            for ax, w in zip(axes, W1):
                ax.imshow((w - w.min()) / (np.ptp(w) + 1e-12))
                ax.axis("off")
            fig.suptitle("First-layer weights of ten hidden units")
            plt.show()
        """),
        md(r"""
        ## Submitting

        Restart the kernel and run all cells (Kernel, Restart & Run All), check that every visible test
        prints `[passed]`, save, and submit the notebook.
        """),
    ]


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    nb = write_notebook(cells(), OUT)
    print(f"wrote {OUT} ({len(nb.cells)} cells)")
