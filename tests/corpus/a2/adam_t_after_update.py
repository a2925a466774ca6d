# Style: a beginner's straight transcription of the formulas, one statement per line,
# explicit "for key in params" loops, a Python list of caches, np.sum(..., axis=0).
# Deliberate deviations:
# - adam applies the bias correction with the step count from BEFORE this step
#   (t is incremented at the end): on the first step 1 - beta1**0 = 0, so m_hat and
#   v_hat are divisions by zero and w becomes NaN. The graded training therefore
#   returns NaN weights (the cause is this division, not the learning rate).
# Hyperparameters: one hidden layer of 100, Adam lr 1e-3, 500 steps of 100 (defaults
# otherwise).
# Bugs: a2.adam, a2.fc_accuracy

# %% affine_forward
def affine_forward(x, w, b):
    N = x.shape[0]
    x_flat = x.reshape(N, -1)
    out = np.dot(x_flat, w) + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    x_flat = x.reshape(N, -1)
    dx_flat = np.dot(dout, w.T)
    dx = dx_flat.reshape(x.shape)
    dw = np.dot(x_flat.T, dout)
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
    mask = x > 0
    dx = dout * mask
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
    layer_input = X
    affine_caches = []
    relu_caches = []
    for i in range(1, num_layers):
        W = params["W" + str(i)]
        b = params["b" + str(i)]
        a, affine_cache = affine_forward(layer_input, W, b)
        r, relu_cache = relu_forward(a)
        affine_caches.append(affine_cache)
        relu_caches.append(relu_cache)
        layer_input = r
    W_last = params["W" + str(num_layers)]
    b_last = params["b" + str(num_layers)]
    scores, last_cache = affine_forward(layer_input, W_last, b_last)
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    for i in range(1, num_layers + 1):
        W = params["W" + str(i)]
        loss = loss + reg * np.sum(W * W)
    grads = {}
    dx, dw, db = affine_backward(dscores, last_cache)
    grads["W" + str(num_layers)] = dw + 2 * reg * W_last
    grads["b" + str(num_layers)] = db
    for i in range(num_layers - 1, 0, -1):
        dr = relu_backward(dx, relu_caches[i - 1])
        dx, dw, db = affine_backward(dr, affine_caches[i - 1])
        grads["W" + str(i)] = dw + 2 * reg * params["W" + str(i)]
        grads["b" + str(i)] = db
    return loss, grads

# %% sgd_momentum
def sgd_momentum(w, dw, state=None):
    state = dict(state or {})
    lr, momentum = state.get("lr", 1e-2), state.get("momentum", 0.9)
    v = state.get("velocity", np.zeros_like(w))
    v = momentum * v
    v = v - lr * dw
    next_w = w + v
    state["velocity"] = v
    return next_w, state

# %% rmsprop
def rmsprop(w, dw, state=None):
    state = dict(state or {})
    lr, rho, eps = state.get("lr", 1e-2), state.get("decay_rate", 0.99), state.get("eps", 1e-8)
    cache = state.get("cache", np.zeros_like(w))
    cache = rho * cache
    cache = cache + (1 - rho) * dw * dw
    next_w = w - lr * dw / (np.sqrt(cache) + eps)
    state["cache"] = cache
    return next_w, state

# %% adam
def adam(w, dw, state=None):
    state = dict(state or {})
    lr, beta1, beta2 = state.get("lr", 1e-3), state.get("beta1", 0.9), state.get("beta2", 0.999)
    eps = state.get("eps", 1e-8)
    m, v, t = state.get("m", np.zeros_like(w)), state.get("v", np.zeros_like(w)), state.get("t", 0)
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * (dw * dw)
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    t = t + 1
    state.update(m=m, v=v, t=t)
    return next_w, state

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        batch_mean = np.sum(x, axis=0) / x.shape[0]
        centered = x - batch_mean
        batch_var = np.sum(centered ** 2, axis=0) / x.shape[0]
        std = np.sqrt(batch_var + eps)
        x_hat = centered / std
        out = gamma * x_hat + beta
        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var = momentum * running_var + (1 - momentum) * batch_var
        cache = (x_hat, std, gamma)
    else:
        std = np.sqrt(running_var + eps)
        x_hat = (x - running_mean) / std
        out = gamma * x_hat + beta
        cache = (x_hat, std, gamma)
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x_hat, std, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dstd = np.sum(dx_hat * x_hat * -1 / std, axis=0)
    dvar = dstd / (2 * std)
    dcentered = dx_hat / std + dvar * 2 * (x_hat * std) / N
    dmean = -np.sum(dcentered, axis=0)
    dx = dcentered + dmean / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x_hat, std, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dx = (dx_hat - np.sum(dx_hat, axis=0) / N - x_hat * np.sum(dx_hat * x_hat, axis=0) / N) / std
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    if train:
        rng = np.random.default_rng(seed)
        random_numbers = rng.random(x.shape)
        keep = random_numbers < p
        mask = keep / p
        out = x * mask
        cache = (mask, train)
    else:
        out = x.copy()
        cache = (None, train)
    return out, cache

# %% dropout_backward
def dropout_backward(dout, cache):
    mask, train = cache
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
        batch = rng.choice(num_train, int(batch_size))
        X_batch = X[batch]
        y_batch = y[batch]
        loss, grads = fc_net_loss(params, X_batch, y_batch, reg)
        for key in params:
            new_value, new_state = adam(params[key], grads[key], states[key])
            params[key] = new_value
            states[key] = new_state
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 100, "lr": 1e-3, "num_iters": 500, "batch_size": 100}
