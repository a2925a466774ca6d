# Style: terse, "mathematical" names (mu, sigma2, z, a), optimizers that leave eps out
# of the formulas where the author thinks it cannot matter, np.maximum everywhere.
# Deliberate deviations:
# - adam divides by np.sqrt(v_hat) with no eps: a gradient entry that is exactly 0
#   from the first step on (v = 0) gives 0/0 = NaN. No hidden adam case has such an
#   entry, so the item passes while the code is wrong; in training an input feature
#   or hidden unit with zero gradient on the whole first batch would turn the
#   weights to NaN.
# Hyperparameters: one hidden layer of 200, Adam lr 1e-3, reg 0, 600 steps of 100.
# Bugs: a2.adam

# %% affine_forward
def affine_forward(x, w, b):
    a = x.reshape(x.shape[0], -1)
    out = a @ w + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    a = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(*x.shape)
    dw = a.T @ dout
    db = dout.sum(0)
    return dx, dw, db

# %% relu_forward
def relu_forward(x):
    out = np.maximum(x, 0.0)
    cache = x
    return out, cache

# %% relu_backward
def relu_backward(dout, cache):
    z = cache
    dx = dout * (z > 0)
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
    L = len([name for name in params if name.startswith("W")])
    a, cache = X, {}
    for l in range(1, L + 1):
        z, cache[("fc", l)] = affine_forward(a, params[f"W{l}"], params[f"b{l}"])
        if l == L:
            break
        a, cache[("relu", l)] = relu_forward(z)
    if y is None:
        return z
    loss, dz = softmax_loss(z, y)
    grads = {}
    for l in range(L, 0, -1):
        if l < L:
            dz = relu_backward(da, cache[("relu", l)])
        da, dW, grads[f"b{l}"] = affine_backward(dz, cache[("fc", l)])
        grads[f"W{l}"] = dW + 2 * reg * params[f"W{l}"]
        loss += reg * (params[f"W{l}"] ** 2).sum()
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
    next_w = w - lr * dw / (cache ** 0.5 + eps)
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
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - lr * m_hat / np.sqrt(v_hat)
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        mu = x.mean(0)
        sigma2 = ((x - mu) ** 2).mean(0)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * sigma2
    else:
        mu, sigma2 = running_mean, running_var
    sigma = np.sqrt(sigma2 + eps)
    x_hat = (x - mu) / sigma
    out = gamma * x_hat + beta
    cache = (x_hat, sigma, gamma)
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x_hat, sigma, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(0)
    dgamma = (dout * x_hat).sum(0)
    dx_hat = dout * gamma
    dsigma2 = -0.5 * (dx_hat * x_hat).sum(0) / sigma ** 2
    dmu = -dx_hat.sum(0) / sigma
    dx = dx_hat / sigma + dsigma2 * 2 * x_hat * sigma / N + dmu / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x_hat, sigma, gamma = cache
    dbeta = dout.sum(0)
    dgamma = (dout * x_hat).sum(0)
    g = dout * gamma
    dx = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) / sigma
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    if not train:
        return x.copy(), None
    mask = (np.random.default_rng(seed).random(x.shape) < p) / p
    return x * mask, mask

# %% dropout_backward
def dropout_backward(dout, cache):
    return dout.copy() if cache is None else dout * cache

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
        i = rng.choice(num_train, int(batch_size))
        _, g = fc_net_loss(params, X[i], y[i], reg)
        for k in params:
            params[k], states[k] = adam(params[k], g[k], states[k])
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 200, "num_hidden_layers": 1, "lr": 1e-3, "reg": 0.0,
            "num_iters": 600, "batch_size": 100, "weight_scale": 1e-3}
