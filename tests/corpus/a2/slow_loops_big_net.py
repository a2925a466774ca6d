# Style: a loop-minded author: db summed one example at a time, batchnorm looping over
# the features, dropout building its mask element by element from the same random
# numbers; and a big network (the affine products themselves are matrix products: a
# per-example loop there made the graded training take over five minutes).
# Deliberate deviations: none in the values (every function is correct); slow: the
# Python loops and a wide two-hidden-layer network make the graded training one of the
# slowest of the corpus.
# Hyperparameters: two hidden layers of 300, Adam lr 5e-4, reg 0.1, 800 steps of 200.
# Bugs: none

# %% affine_forward
def affine_forward(x, w, b):
    N = x.shape[0]
    rows = x.reshape(N, -1)
    out = rows.dot(w) + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    rows = x.reshape(N, -1)
    dx = dout.dot(w.T).reshape(x.shape)
    dw = rows.T.dot(dout)
    db = np.zeros(b.shape)
    for n in range(N):
        db += dout[n]
    return dx, dw, db

# %% relu_forward
def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache

# %% relu_backward
def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x <= 0] = 0
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
    affine_caches = []
    relu_caches = []
    h = X
    for i in range(1, num_layers + 1):
        h, cache = affine_forward(h, params["W" + str(i)], params["b" + str(i)])
        affine_caches.append(cache)
        if i < num_layers:
            h, cache = relu_forward(h)
            relu_caches.append(cache)
    if y is None:
        return h
    loss, dh = softmax_loss(h, y)
    grads = {}
    for i in range(num_layers, 0, -1):
        if i < num_layers:
            dh = relu_backward(dh, relu_caches[i - 1])
        dh, dw, db = affine_backward(dh, affine_caches[i - 1])
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
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    N, D = x.shape
    out = np.zeros((N, D))
    x_hat = np.zeros((N, D))
    std = np.zeros(D)
    new_mean = np.array(running_mean, dtype=float)
    new_var = np.array(running_var, dtype=float)
    for d in range(D):
        column = x[:, d]
        if train:
            mean = column.mean()
            var = ((column - mean) ** 2).mean()
            new_mean[d] = momentum * running_mean[d] + (1 - momentum) * mean
            new_var[d] = momentum * running_var[d] + (1 - momentum) * var
        else:
            mean, var = running_mean[d], running_var[d]
        std[d] = np.sqrt(var + eps)
        x_hat[:, d] = (column - mean) / std[d]
        out[:, d] = gamma[d] * x_hat[:, d] + beta[d]
    cache = (x_hat, std, gamma)
    return out, cache, {"running_mean": new_mean, "running_var": new_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x_hat, std, gamma = cache
    N, D = dout.shape
    dx = np.zeros((N, D))
    dgamma = np.zeros(D)
    dbeta = np.zeros(D)
    for d in range(D):
        g = dout[:, d] * gamma[d]
        dbeta[d] = dout[:, d].sum()
        dgamma[d] = (dout[:, d] * x_hat[:, d]).sum()
        xc = x_hat[:, d] * std[d]
        dvar = -0.5 * (g * xc).sum() / std[d] ** 3
        dmean = -g.sum() / std[d]
        dx[:, d] = g / std[d] + dvar * 2 * xc / N + dmean / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x_hat, std, gamma = cache
    N, D = dout.shape
    dx = np.zeros((N, D))
    for d in range(D):
        g = dout[:, d] * gamma[d]
        dx[:, d] = (g - g.mean() - x_hat[:, d] * (g * x_hat[:, d]).mean()) / std[d]
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    if not train:
        return x.copy(), None
    rng = np.random.default_rng(seed)
    u = rng.random(x.shape)
    mask = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        if u[idx] < p:
            mask[idx] = 1.0 / p
    return x * mask, mask

# %% dropout_backward
def dropout_backward(dout, cache):
    if cache is None:
        return dout.copy()
    return dout * cache

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
    return {"hidden_size": 300, "num_hidden_layers": 2, "lr": 5e-4, "reg": 0.1,
            "num_iters": 800, "batch_size": 200, "weight_scale": 1e-3}
