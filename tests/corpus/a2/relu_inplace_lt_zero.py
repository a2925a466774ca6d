# Style: CS231n 2017 habits: dx = dout then dx[x < 0] = 0 (in place, on the caller's
# array), caches kept in a dict keyed by layer number, np.dot, a small network.
# Deliberate deviations:
# - relu_backward zeroes the gradient only where x < 0, so it passes the gradient at
#   x == 0 exactly (the convention here: no gradient at the kink); it also writes into
#   dout. fc_net_loss uses it, so its gradients are off at exact zeros too.
# Hyperparameters: one hidden layer of 50, Adam lr 1e-3, reg 0, 300 steps of 100 (a
# small, quickly trained network).
# Bugs: a2.relu_backward

# %% affine_forward
def affine_forward(x, w, b):
    N = x.shape[0]
    out = x.reshape(N, -1).dot(w) + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T.dot(dout)
    db = dout.sum(axis=0)
    return dx, dw, db

# %% relu_forward
def relu_forward(x):
    out = x.copy()
    out[out < 0] = 0
    cache = x
    return out, cache

# %% relu_backward
def relu_backward(dout, cache):
    x = cache
    dx = dout
    dx[x < 0] = 0
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
    fc_cache, relu_cache = {}, {}
    out = X
    for i in range(1, num_layers):
        out, fc_cache[i] = affine_forward(out, params["W" + str(i)], params["b" + str(i)])
        out, relu_cache[i] = relu_forward(out)
    scores, fc_cache[num_layers] = affine_forward(out, params["W" + str(num_layers)],
                                                  params["b" + str(num_layers)])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dout = dscores
    for i in range(num_layers, 0, -1):
        if i != num_layers:
            dout = relu_backward(dout, relu_cache[i])
        dout, dw, db = affine_backward(dout, fc_cache[i])
        W = params["W" + str(i)]
        loss += reg * np.sum(W * W)
        grads["W" + str(i)] = dw + 2 * reg * W
        grads["b" + str(i)] = db
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
    next_w = w + -lr * dw / (np.sqrt(cache) + eps)
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
    v = beta2 * v + (1 - beta2) * (dw ** 2)
    mb = m / (1 - beta1 ** t)
    vb = v / (1 - beta2 ** t)
    next_w = w + -lr * mb / (np.sqrt(vb) + eps)
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        sample_mean = x.mean(axis=0)
        sample_var = x.var(axis=0)
        x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
        out = gamma * x_hat + beta
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
        cache = (x, sample_mean, sample_var, x_hat, gamma, eps)
    else:
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
        cache = (x, running_mean, running_var, x_hat, gamma, eps)
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x, mean, var, x_hat, gamma, eps = cache
    N = x.shape[0]
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx_hat = dout * gamma
    dvar = (dx_hat * (x - mean)).sum(axis=0) * -0.5 * (var + eps) ** (-1.5)
    dmean = (dx_hat * -1 / np.sqrt(var + eps)).sum(axis=0) + dvar * (-2 * (x - mean)).mean(axis=0)
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mean) / N + dmean / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x, mean, var, x_hat, gamma, eps = cache
    N = x.shape[0]
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx = gamma / (N * np.sqrt(var + eps)) * (N * dout - dbeta - x_hat * dgamma)
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
    cache = (train, mask)
    return out, cache

# %% dropout_backward
def dropout_backward(dout, cache):
    train, mask = cache
    dx = dout * mask if train else dout
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
        batch = rng.choice(num_train, int(batch_size))
        loss, grads = fc_net_loss(params, X[batch], y[batch], reg)
        for name in params:
            params[name], states[name] = adam(params[name], grads[name], states[name])
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 50, "num_hidden_layers": 1, "lr": 1e-3, "reg": 0.0,
            "num_iters": 300, "batch_size": 100}
