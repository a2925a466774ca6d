# Style: statistics from textbook formulas: the variance as E[x^2] - E[x]^2 in one
# pass, np.mean everywhere, a network loop that stores z and a per layer.
# Deliberate deviations:
# - batchnorm_forward computes the variance as mean(x**2) - mean(x)**2, which loses all
#   precision when a feature's mean is large compared with its spread (the backward
#   passes then get this forward's wrong normalization in their cache).
# Hyperparameters: one hidden layer of 300, Adam lr 3e-4, reg 0.5, 1000 steps of 200.
# Bugs: a2.batchnorm_forward

# %% affine_forward
def affine_forward(x, w, b):
    out = np.matmul(x.reshape(x.shape[0], -1), w) + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    dx = np.matmul(dout, w.T).reshape(x.shape)
    dw = np.matmul(x.reshape(x.shape[0], -1).T, dout)
    db = np.mean(dout, axis=0) * dout.shape[0]
    return dx, dw, db

# %% relu_forward
def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache

# %% relu_backward
def relu_backward(dout, cache):
    x = cache
    dx = np.where(x > 0, dout, 0)
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
    stored = []
    a = X
    for i in range(1, num_layers + 1):
        z, c = affine_forward(a, params["W%d" % i], params["b%d" % i])
        if i < num_layers:
            a, rc = relu_forward(z)
        else:
            rc = None
        stored.append((c, rc))
    if y is None:
        return z
    loss, dz = softmax_loss(z, y)
    loss += reg * np.sum([np.sum(params["W%d" % i] ** 2) for i in range(1, num_layers + 1)])
    grads = {}
    for i in range(num_layers, 0, -1):
        c, rc = stored[i - 1]
        if rc is not None:
            dz = relu_backward(da, rc)
        da, dW, db = affine_backward(dz, c)
        grads["W%d" % i] = dW + 2 * reg * params["W%d" % i]
        grads["b%d" % i] = db
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
    cache = rho * cache + (1 - rho) * dw ** 2
    next_w = w - lr * dw / (np.sqrt(cache) + eps)
    state["cache"] = cache
    return next_w, state

# %% adam
def adam(w, dw, state=None):
    state = dict(state or {})
    lr, beta1, beta2 = state.get("lr", 1e-3), state.get("beta1", 0.9), state.get("beta2", 0.999)
    eps = state.get("eps", 1e-8)
    m, v, t = state.get("m", np.zeros_like(w)), state.get("v", np.zeros_like(w)), state.get("t", 0)
    t += 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    next_w = w - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        mean = np.mean(x, axis=0)
        var = np.mean(x ** 2, axis=0) - mean ** 2
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean) / np.sqrt(var + eps)
    out = gamma * x_hat + beta
    cache = (x_hat, var, eps, gamma)
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x_hat, var, eps, gamma = cache
    N = dout.shape[0]
    std = np.sqrt(var + eps)
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * x_hat, axis=0) * (-0.5) / (var + eps)
    dmean = -np.sum(dx_hat, axis=0) / std
    dx = dx_hat / std + dvar * 2.0 * x_hat * std / N + dmean / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x_hat, var, eps, gamma = cache
    std = np.sqrt(var + eps)
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    g = dout * gamma
    dx = (g - np.mean(g, axis=0) - x_hat * np.mean(g * x_hat, axis=0)) / std
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    if train:
        mask = (np.random.default_rng(seed).random(x.shape) < p) / p
        return x * mask, ("train", mask)
    return x.copy(), ("test", None)

# %% dropout_backward
def dropout_backward(dout, cache):
    mode, mask = cache
    if mode == "train":
        return dout * mask
    return dout.copy()

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
        rows = rng.choice(num_train, int(batch_size))
        loss, grads = fc_net_loss(params, X[rows], y[rows], reg)
        for name in params:
            params[name], states[name] = adam(params[name], grads[name], states[name])
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 300, "num_hidden_layers": 1, "lr": 3e-4, "reg": 0.5,
            "num_iters": 1000, "batch_size": 200, "weight_scale": 1e-3}
