# Style: CS231n 2019 layers.py / fc_net.py / optim.py moved into our functions:
# x.reshape(x.shape[0], -1).dot(w), caches as tuples, a caches dict per layer in the
# network, the closed-form batchnorm backward from the paper's equations, the
# optimizers reading their hyperparameters from the state dict.
# Deliberate deviations: none (a fully correct author).
# Hyperparameters: one hidden layer of 100, Adam lr 1e-3, reg 0, 1000 steps of 200.
# Bugs: none

# %% affine_forward
def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db

# %% relu_forward
def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache

# %% relu_backward
def relu_backward(dout, cache):
    x = cache
    dx = dout * (x > 0)
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
    caches = {}
    out = X
    for i in range(1, num_layers):
        out, caches["affine%d" % i] = affine_forward(out, params["W%d" % i], params["b%d" % i])
        out, caches["relu%d" % i] = relu_forward(out)
    scores, caches["affine%d" % num_layers] = affine_forward(
        out, params["W%d" % num_layers], params["b%d" % num_layers])
    if y is None:
        return scores

    loss, dscores = softmax_loss(scores, y)
    grads = {}
    for i in range(1, num_layers + 1):
        loss += reg * np.sum(params["W%d" % i] ** 2)
    dout, dw, db = affine_backward(dscores, caches["affine%d" % num_layers])
    grads["W%d" % num_layers] = dw + 2 * reg * params["W%d" % num_layers]
    grads["b%d" % num_layers] = db
    for i in range(num_layers - 1, 0, -1):
        dout = relu_backward(dout, caches["relu%d" % i])
        dout, dw, db = affine_backward(dout, caches["affine%d" % i])
        grads["W%d" % i] = dw + 2 * reg * params["W%d" % i]
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
    mt = m / (1 - beta1 ** t)
    v = beta2 * v + (1 - beta2) * (dw ** 2)
    vt = v / (1 - beta2 ** t)
    next_w = w - lr * mt / (np.sqrt(vt) + eps)
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
        out = gamma * x_hat + beta
        cache = (x, x_hat, sample_mean, sample_var, gamma, eps)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    else:
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
        cache = (x, x_hat, running_mean, running_var, gamma, eps)
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x, x_hat, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * (x - mean) * -0.5 * (var + eps) ** -1.5, axis=0)
    dmean = (np.sum(dx_hat * -1 / np.sqrt(var + eps), axis=0)
             + dvar * np.sum(-2 * (x - mean), axis=0) / N)
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mean) / N + dmean / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x, x_hat, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dx = (1.0 / N) / np.sqrt(var + eps) * (N * dx_hat - np.sum(dx_hat, axis=0)
                                           - x_hat * np.sum(dx_hat * x_hat, axis=0))
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    mask = None
    if train:
        rng = np.random.default_rng(seed)
        mask = (rng.random(x.shape) < p) / p
        out = x * mask
    else:
        out = x
    cache = (p, train, mask)
    return out, cache

# %% dropout_backward
def dropout_backward(dout, cache):
    p, train, mask = cache
    if train:
        dx = dout * mask
    else:
        dx = dout
    return dx

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
        batch_mask = rng.choice(num_train, int(batch_size))
        X_batch, y_batch = X[batch_mask], y[batch_mask]
        loss, grads = fc_net_loss(params, X_batch, y_batch, reg)
        for p, w in params.items():
            params[p], states[p] = adam(w, grads[p], states[p])
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 100, "num_hidden_layers": 1, "lr": 1e-3, "reg": 0.0,
            "num_iters": 1000, "batch_size": 200, "weight_scale": 1e-3}
