# Style: a 2018 solution written under numpy 1.x: np.reshape(x, newshape=...) with the
# keyword, dtype=np.float, np.prod(x.shape[1:]) for the flattened size, caches as
# tuples, the step-by-step batchnorm backward.
# Deliberate deviations (each raises under numpy 2.4, on every input):
# - affine_forward and affine_backward call np.reshape(..., newshape=...) (TypeError:
#   the keyword no longer exists; pass the shape positionally);
# - dropout_forward builds its mask with .astype(np.float) (AttributeError: np.float
#   was removed; use float).
# Everything that calls the affine layers (fc_net_loss, the training) fails with them.
# Hyperparameters: one hidden layer of 100, Adam lr 1e-3, 1000 steps of 200.
# Bugs: a2.affine_forward, a2.affine_backward, a2.dropout_forward

# %% affine_forward
def affine_forward(x, w, b):
    D = np.prod(x.shape[1:])
    x_rows = np.reshape(x, newshape=(x.shape[0], D))
    out = np.dot(x_rows, w) + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    D = np.prod(x.shape[1:])
    x_rows = np.reshape(x, newshape=(x.shape[0], D))
    dx = np.reshape(np.dot(dout, w.T), newshape=x.shape)
    dw = np.dot(x_rows.T, dout)
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
    dx = np.array(dout, copy=True)
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
    cache = {}
    hidden = X
    for i in range(1, num_layers):
        hidden, cache["fc%d" % i] = affine_forward(hidden, params["W%d" % i], params["b%d" % i])
        hidden, cache["relu%d" % i] = relu_forward(hidden)
    scores, cache["fc%d" % num_layers] = affine_forward(hidden, params["W%d" % num_layers],
                                                        params["b%d" % num_layers])
    if y is None:
        return scores
    loss, dout = softmax_loss(scores, y)
    grads = {}
    for i in range(num_layers, 0, -1):
        if i < num_layers:
            dout = relu_backward(dout, cache["relu%d" % i])
        dout, grads["W%d" % i], grads["b%d" % i] = affine_backward(dout, cache["fc%d" % i])
        loss += reg * np.sum(np.square(params["W%d" % i]))
        grads["W%d" % i] += 2 * reg * params["W%d" % i]
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
    cache = rho * cache + (1 - rho) * np.square(dw)
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
    v = beta2 * v + (1 - beta2) * np.square(dw)
    mb = m / (1 - beta1 ** t)
    vb = v / (1 - beta2 ** t)
    next_w = w - lr * mb / (np.sqrt(vb) + eps)
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        sample_mean = np.mean(x, axis=0)
        x_minus_mean = x - sample_mean
        sample_var = np.mean(np.square(x_minus_mean), axis=0)
        sqrt_var = np.sqrt(sample_var + eps)
        x_norm = x_minus_mean / sqrt_var
        out = gamma * x_norm + beta
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
        cache = (x_minus_mean, sqrt_var, x_norm, gamma)
    else:
        x_norm = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_norm + beta
        cache = None
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x_minus_mean, sqrt_var, x_norm, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dx_norm = dout * gamma
    dinv = np.sum(dx_norm * x_minus_mean, axis=0)
    dx_minus_mean = dx_norm / sqrt_var
    dsqrt_var = -dinv / sqrt_var ** 2
    dvar = 0.5 * dsqrt_var / sqrt_var
    dsq = np.ones_like(dout) * dvar / N
    dx_minus_mean += 2 * x_minus_mean * dsq
    dmean = -np.sum(dx_minus_mean, axis=0)
    dx = dx_minus_mean + np.ones_like(dout) * dmean / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x_minus_mean, sqrt_var, x_norm, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dx_norm = dout * gamma
    dx = (N * dx_norm - np.sum(dx_norm, axis=0) - x_norm * np.sum(dx_norm * x_norm, axis=0))
    dx = dx / (N * sqrt_var)
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    mask = None
    if train:
        rng = np.random.default_rng(seed)
        mask = (rng.random(x.shape) < p).astype(np.float) / p
        out = x * mask
    else:
        out = x.copy()
    cache = (train, mask)
    return out, cache

# %% dropout_backward
def dropout_backward(dout, cache):
    train, mask = cache
    if train:
        dx = dout * mask
    else:
        dx = dout.copy()
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
        loss, grads = fc_net_loss(params, X[batch_mask], y[batch_mask], reg)
        for name in params:
            params[name], states[name] = adam(params[name], grads[name], states[name])
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 100, "num_hidden_layers": 1, "lr": 1e-3, "num_iters": 1000,
            "batch_size": 200}
