# Style: einsum for every product (the affine layers with optimize=True, so that the
# products go to BLAS; the batchnorm sums), np.newaxis instead of keepdims, a network
# that keeps its activations in lists, the whole batchnorm backward derived once in
# closed form and reused by both backward functions.
# Deliberate deviations: none (a fully correct author).
# Hyperparameters: two hidden layers of 150, Adam lr 1e-3, reg 0.05, 1000 steps of 200,
# weight_scale 1e-2.
# Bugs: none

# %% affine_forward
def affine_forward(x, w, b):
    rows = x.reshape(x.shape[0], -1)
    out = np.einsum("nd,dm->nm", rows, w, optimize=True) + b[np.newaxis, :]
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    rows = x.reshape(x.shape[0], -1)
    dx = np.einsum("nm,dm->nd", dout, w, optimize=True).reshape(x.shape)
    dw = np.einsum("nd,nm->dm", rows, dout, optimize=True)
    db = np.einsum("nm->m", dout)
    return dx, dw, db

# %% relu_forward
def relu_forward(x):
    out = np.clip(x, 0, None)
    cache = x
    return out, cache

# %% relu_backward
def relu_backward(dout, cache):
    x = cache
    dx = dout * (x > 0).astype(dout.dtype)
    return dx

# %% fc_net_loss
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
    num_layers = len([name for name in params if name.startswith("W")])
    affine_caches, relu_caches = [], []
    h = X
    for i in range(1, num_layers + 1):
        h, c = affine_forward(h, params[f"W{i}"], params[f"b{i}"])
        affine_caches.append(c)
        if i < num_layers:
            h, c = relu_forward(h)
            relu_caches.append(c)
    if y is None:
        return h
    loss, d = softmax_loss(h, y)
    grads = {}
    for i in range(num_layers, 0, -1):
        if i < num_layers:
            d = relu_backward(d, relu_caches[i - 1])
        d, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(d, affine_caches[i - 1])
        W = params[f"W{i}"]
        loss += reg * np.einsum("ij,ij->", W, W)
        grads[f"W{i}"] += 2 * reg * W
    return loss, grads

# %% sgd_momentum
def sgd_momentum(w, dw, state=None):
    state = dict(state or {})
    lr, momentum = state.get("lr", 1e-2), state.get("momentum", 0.9)
    v = state.get("velocity", np.zeros_like(w))
    v = momentum * v - lr * dw
    next_w = w + v
    state["velocity"] = v
    return next_w, state

# %% rmsprop
def rmsprop(w, dw, state=None):
    state = dict(state or {})
    lr, rho, eps = state.get("lr", 1e-2), state.get("decay_rate", 0.99), state.get("eps", 1e-8)
    cache = state.get("cache", np.zeros_like(w))
    cache = rho * cache + (1 - rho) * np.einsum("...,...->...", dw, dw)
    next_w = w - lr * dw / (np.sqrt(cache) + eps)
    state["cache"] = cache
    return next_w, state

# %% adam
def adam(w, dw, state=None):
    state = dict(state or {})
    lr, beta1, beta2 = state.get("lr", 1e-3), state.get("beta1", 0.9), state.get("beta2", 0.999)
    eps = state.get("eps", 1e-8)
    m, v, t = state.get("m", np.zeros_like(w)), state.get("v", np.zeros_like(w)), state.get("t", 0)
    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    step = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    next_w = w - step * m / (np.sqrt(v) + eps * np.sqrt(1 - beta2 ** t))
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        N = x.shape[0]
        mu = np.einsum("nd->d", x) / N
        xc = x - mu[np.newaxis, :]
        var = np.einsum("nd,nd->d", xc, xc) / N
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        xc = x - running_mean[np.newaxis, :]
        var = running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = xc * inv_std[np.newaxis, :]
    out = gamma[np.newaxis, :] * x_hat + beta[np.newaxis, :]
    cache = (x_hat, inv_std, gamma)
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x_hat, inv_std, gamma = cache
    N = dout.shape[0]
    dbeta = np.einsum("nd->d", dout)
    dgamma = np.einsum("nd,nd->d", dout, x_hat)
    g = dout * gamma[np.newaxis, :]
    dx = inv_std[np.newaxis, :] / N * (N * g - np.einsum("nd->d", g)[np.newaxis, :]
                                       - x_hat * np.einsum("nd,nd->d", g, x_hat)[np.newaxis, :])
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    return batchnorm_backward(dout, cache)

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    if train:
        rng = np.random.default_rng(seed)
        mask = (rng.random(x.shape) < p) / p
        return x * mask, mask
    return np.array(x, copy=True), None

# %% dropout_backward
def dropout_backward(dout, cache):
    return dout * cache if cache is not None else np.array(dout, copy=True)

# %% train_fc_net
def train_fc_net(X, y, hidden_size=100, num_hidden_layers=1, lr=1e-3, reg=0.0, num_iters=500,
                 batch_size=100, weight_scale=1e-3, seed=0, num_classes=10):
    rng = np.random.default_rng(seed)
    num_train, dim = X.shape
    dims = [dim] + [int(hidden_size)] * int(num_hidden_layers) + [num_classes]
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = weight_scale * rng.standard_normal((dims[i - 1], dims[i]))
        params[f"b{i}"] = np.zeros(dims[i])
    states = {name: {"lr": lr} for name in params}
    for it in range(int(num_iters)):
        batch = rng.choice(num_train, int(batch_size))
        _, grads = fc_net_loss(params, X[batch], y[batch], reg)
        for name, value in list(params.items()):
            params[name], states[name] = adam(value, grads[name], states[name])
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 150, "num_hidden_layers": 2, "lr": 1e-3, "reg": 0.05,
            "num_iters": 1000, "batch_size": 200, "weight_scale": 1e-2}
