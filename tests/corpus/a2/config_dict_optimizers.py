# Style: CS231n optim.py's config idiom (config.setdefault(...), config["velocity"] =
# ...) kept on a copy of the state dict; batchnorm with np.newaxis-free broadcasting
# and the alternative backward written from Kratzert's closed form; a deep, wide
# network with a large weight_scale (the FullyConnectedNets notebook's habit).
# Deliberate deviations: none (a fully correct author).
# Hyperparameters: three hidden layers of 100, Adam lr 1e-3, reg 1e-3, 1000 steps of
# 100, weight_scale 5e-2.
# Bugs: none

# %% affine_forward
def affine_forward(x, w, b):
    out = np.dot(x.reshape(x.shape[0], np.prod(x.shape[1:])), w) + b
    cache = (x, w, b)
    return out, cache

# %% affine_backward
def affine_backward(dout, cache):
    x, w, b = cache
    dx = np.dot(dout, w.T).reshape(x.shape)
    dw = np.dot(x.reshape(x.shape[0], np.prod(x.shape[1:])).T, dout)
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
    cache = {}
    x = X
    for layer in range(1, num_layers):
        x, cache["affine", layer] = affine_forward(x, params["W%d" % layer], params["b%d" % layer])
        x, cache["relu", layer] = relu_forward(x)
    scores, cache["affine", num_layers] = affine_forward(x, params["W%d" % num_layers],
                                                         params["b%d" % num_layers])
    if y is None:
        return scores
    loss, dx = softmax_loss(scores, y)
    grads = {}
    for layer in range(num_layers, 0, -1):
        if layer != num_layers:
            dx = relu_backward(dx, cache["relu", layer])
        dx, dw, db = affine_backward(dx, cache["affine", layer])
        w = params["W%d" % layer]
        loss += reg * np.sum(w * w)
        grads["W%d" % layer] = dw + 2 * reg * w
        grads["b%d" % layer] = db
    return loss, grads

# %% sgd_momentum
def sgd_momentum(w, dw, state=None):
    config = dict(state or {})
    config.setdefault("lr", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["lr"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config

# %% rmsprop
def rmsprop(w, dw, state=None):
    config = dict(state or {})
    config.setdefault("lr", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("eps", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw ** 2
    next_w = w - config["lr"] * dw / (np.sqrt(config["cache"]) + config["eps"])
    return next_w, config

# %% adam
def adam(w, dw, state=None):
    config = dict(state or {})
    config.setdefault("lr", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("eps", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    mt = config["m"] / (1 - config["beta1"] ** config["t"])
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * (dw ** 2)
    vt = config["v"] / (1 - config["beta2"] ** config["t"])
    next_w = w - config["lr"] * mt / (np.sqrt(vt) + config["eps"])
    return next_w, config

# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, stats, train=True, momentum=0.9, eps=1e-5):
    running_mean, running_var = stats["running_mean"], stats["running_var"]
    if train:
        sample_mean = x.mean(axis=0)
        sample_var = x.var(axis=0)
        std = np.sqrt(sample_var + eps)
        x_hat = (x - sample_mean) / std
        out = gamma * x_hat + beta
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
        cache = {"x_hat": x_hat, "std": std, "gamma": gamma, "x_minus_mean": x - sample_mean}
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = {}
    return out, cache, {"running_mean": running_mean, "running_var": running_var}

# %% batchnorm_backward
def batchnorm_backward(dout, cache):
    x_hat, std, gamma, xmu = cache["x_hat"], cache["std"], cache["gamma"], cache["x_minus_mean"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (x_hat * dout).sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat / std
    dsqrtvar = -divar / std ** 2
    dvar = 0.5 * dsqrtvar / std
    dsq = dvar * np.ones(dout.shape) / N
    dxmu2 = 2 * xmu * dsq
    dmu = -(dxmu1 + dxmu2).sum(axis=0)
    dx = dxmu1 + dxmu2 + dmu * np.ones(dout.shape) / N
    return dx, dgamma, dbeta

# %% batchnorm_backward_alt
def batchnorm_backward_alt(dout, cache):
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (x_hat * dout).sum(axis=0)
    dxhat = dout * gamma
    dx = (1.0 / N) / std * (N * dxhat - dxhat.sum(axis=0) - x_hat * (dxhat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta

# %% dropout_forward
def dropout_forward(x, p, train=True, seed=None):
    mask = None
    out = None
    if train:
        rng = np.random.default_rng(seed)
        mask = (rng.random(x.shape) < p) / p
        out = x * mask
    else:
        out = x.copy()
    cache = {"p": p, "train": train, "mask": mask}
    return out, cache

# %% dropout_backward
def dropout_backward(dout, cache):
    if cache["train"]:
        return dout * cache["mask"]
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
        batch_mask = rng.choice(num_train, int(batch_size))
        loss, grads = fc_net_loss(params, X[batch_mask], y[batch_mask], reg)
        for p in params:
            next_w, next_config = adam(params[p], grads[p], states[p])
            params[p] = next_w
            states[p] = next_config
    return params

# %% fc_hyperparameters
def fc_hyperparameters():
    return {"hidden_size": 100, "num_hidden_layers": 3, "lr": 1e-3, "reg": 1e-3,
            "num_iters": 1000, "batch_size": 100, "weight_scale": 5e-2}
