# Style: compact modern numpy (@, np.maximum, dict comprehensions), a network written
# as one forward loop and one backward loop over a list of layer caches; the L2
# penalty as CS231n's fc_net.py writes it (0.5 * reg * sum(W**2), gradient reg * W).
# Deliberate deviations:
# - fc_net_loss uses 0.5 * reg * sum(W**2) and reg * W (this assignment asks for
#   reg * sum(W**2) and 2 * reg * W).
# Hyperparameters: one hidden layer of 200, Adam lr 5e-4, reg 0.2 (with the 1/2, the
# same penalty as 0.1), 800 steps of 100.
# Bugs: a2.fc_net_loss

# %% affine_forward
def affine_forward(x, w, b):
    out = x.reshape(len(x), -1) @ w + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(len(x), -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db

# %% relu_forward
def relu_forward(x):
    out = np.maximum(x, 0)
    cache = x
    return out, cache

# %% relu_backward
def relu_backward(dout, cache):
    dx = np.where(cache > 0, dout, 0.0)
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
    h, stack = X, []
    for l in range(1, num_layers + 1):
        h, c_aff = affine_forward(h, params[f"W{l}"], params[f"b{l}"])
        c_relu = None
        if l < num_layers:
            h, c_relu = relu_forward(h)
        stack.append((c_aff, c_relu))
    if y is None:
        return h
    loss, dh = softmax_loss(h, y)
    loss += 0.5 * reg * sum(np.sum(params[f"W{l}"] ** 2) for l in range(1, num_layers + 1))
    grads = {}
    for l in range(num_layers, 0, -1):
        c_aff, c_relu = stack[l - 1]
        if c_relu is not None:
            dh = relu_backward(dh, c_relu)
        dh, dW, db = affine_backward(dh, c_aff)
        grads[f"W{l}"] = dW + reg * params[f"W{l}"]
        grads[f"b{l}"] = db
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
    cache = rho * cache + (1 - rho) * dw * dw
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
    next_w = w - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x_hat, std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    xc = x_hat * std
    dvar = (dx_hat * xc).sum(axis=0) * -0.5 / std ** 3
    dmu = -(dx_hat / std).sum(axis=0) - 2 * dvar * xc.mean(axis=0)
    dx = dx_hat / std + dvar * 2 * xc / N + dmu / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x_hat, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    if not train:
        return x.copy(), None
    rng = np.random.default_rng(seed)
    mask = (rng.random(x.shape) < p) / p
    return x * mask, mask

# %% dropout_backward
def dropout_backward(dout, cache):
    mask = cache
    if mask is None:
        return dout.copy()
    return dout * mask

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
        idx = rng.choice(num_train, int(batch_size))
        _, grads = fc_net_loss(params, X[idx], y[idx], reg)
        for k in params:
            params[k], states[k] = adam(params[k], grads[k], states[k])
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 200, "num_hidden_layers": 1, "lr": 5e-4, "reg": 0.2,
            "num_iters": 800, "batch_size": 100, "weight_scale": 1e-3}
