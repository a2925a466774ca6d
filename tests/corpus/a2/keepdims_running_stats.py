# Style: keepdims=True on every reduction ("so the shapes broadcast"), np.dot,
# a list of (affine, relu) caches in the network, Adam written with the names of
# the paper (mt, vt).
# Deliberate deviations:
# - batchnorm_forward computes the batch mean and variance with keepdims=True, so the
#   new running_mean and running_var come back with shape (1, D) instead of (D,);
# - batchnorm_backward and batchnorm_backward_alt return dgamma and dbeta with shape
#   (1, D) (np.sum(..., axis=0, keepdims=True)). The values are all right.
# Hyperparameters: one hidden layer of 100, Adam lr 1e-3, reg 0.01, 500 steps of 100.
# Bugs: a2.batchnorm_forward, a2.batchnorm_backward, a2.batchnorm_backward_alt

# %% affine_forward
def affine_forward(x, w, b):
    N = x.shape[0]
    out = np.dot(x.reshape(N, -1), w) + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    dx = np.dot(dout, w.T).reshape(x.shape)
    dw = np.dot(x.reshape(N, -1).T, dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db

# %% relu_forward
def relu_forward(x):
    out = x * (x > 0)
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
    caches = []
    h = X
    for i in range(1, num_layers):
        a, fc_cache = affine_forward(h, params["W" + str(i)], params["b" + str(i)])
        h, relu_cache = relu_forward(a)
        caches.append((fc_cache, relu_cache))
    scores, last = affine_forward(h, params["W" + str(num_layers)], params["b" + str(num_layers)])
    if y is None:
        return scores
    data_loss, dscores = softmax_loss(scores, y)
    reg_loss = 0.0
    for i in range(1, num_layers + 1):
        W = params["W" + str(i)]
        reg_loss += reg * np.sum(W * W)
    loss = data_loss + reg_loss
    grads = {}
    dh, dW, db = affine_backward(dscores, last)
    grads["W" + str(num_layers)] = dW + 2 * reg * params["W" + str(num_layers)]
    grads["b" + str(num_layers)] = db
    for i in reversed(range(1, num_layers)):
        fc_cache, relu_cache = caches[i - 1]
        da = relu_backward(dh, relu_cache)
        dh, dW, db = affine_backward(da, fc_cache)
        grads["W" + str(i)] = dW + 2 * reg * params["W" + str(i)]
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
    mt = m / (1 - beta1 ** t)
    vt = v / (1 - beta2 ** t)
    next_w = w - lr * mt / (np.sqrt(vt) + eps)
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        mean = np.mean(x, axis=0, keepdims=True)
        var = np.var(x, axis=0, keepdims=True)
        x_norm = (x - mean) / np.sqrt(var + eps)
        out = gamma * x_norm + beta
        cache = (x, x_norm, mean, var, gamma, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        x_norm = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_norm + beta
        cache = (x, x_norm, running_mean, running_var, gamma, eps)
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x, x_norm, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0, keepdims=True)
    dgamma = np.sum(dout * x_norm, axis=0, keepdims=True)
    dx_norm = dout * gamma
    dvar = np.sum(dx_norm * (x - mean), axis=0, keepdims=True) * -0.5 * (var + eps) ** -1.5
    dmean = (np.sum(-dx_norm / np.sqrt(var + eps), axis=0, keepdims=True)
             + dvar * np.mean(-2 * (x - mean), axis=0, keepdims=True))
    dx = dx_norm / np.sqrt(var + eps) + dvar * 2 * (x - mean) / N + dmean / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x, x_norm, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0, keepdims=True)
    dgamma = np.sum(dout * x_norm, axis=0, keepdims=True)
    dx_norm = dout * gamma
    dx = (N * dx_norm - np.sum(dx_norm, axis=0, keepdims=True)
          - x_norm * np.sum(dx_norm * x_norm, axis=0, keepdims=True)) / (N * np.sqrt(var + eps))
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    mask = None
    if train:
        rng = np.random.default_rng(seed)
        mask = (rng.random(x.shape) < p) / p
        out = x * mask
    else:
        out = x.copy()
    return out, (train, mask)

# %% dropout_backward
def dropout_backward(dout, cache):
    train, mask = cache
    return dout * mask if train else dout

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
    return {"hidden_size": 100, "lr": 1e-3, "reg": 0.01, "num_iters": 500, "batch_size": 100}
