# Style: CS231n-like layers with the window arithmetic in helper variables (hs, ws),
# np.pad(..., 'constant'), a training loop that keeps Adam's moments in two dicts
# and counts steps from zero.
# Deliberate deviations:
# - train_convnet's Adam divides by 1 - beta1**t and 1 - beta2**t BEFORE incrementing
#   t (t starts at 0): the first step divides by zero, and every weight becomes NaN
#   (the cause is this division, not the learning rate).
# Hyperparameters: 8 3x3 filters, hidden 64, Adam lr 1e-3, reg 1e-3, 3 epochs of 50.
# Bugs: a3.convnet_accuracy

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), "constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                hs = i * stride
                for j in range(W_out):
                    ws = j * stride
                    out[n, f, i, j] = (x_pad[n, :, hs:hs + HH, ws:ws + WW] * w[f]).sum() + b[f]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), "constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                hs = i * stride
                for j in range(W_out):
                    ws = j * stride
                    dw[f] += x_pad[n, :, hs:hs + HH, ws:ws + WW] * dout[n, f, i, j]
                    dx_pad[n, :, hs:hs + HH, ws:ws + WW] += w[f] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out = 1 + (H - pool_height) // stride
    W_out = 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        hs = i * stride
        for j in range(W_out):
            ws = j * stride
            out[:, :, i, j] = x[:, :, hs:hs + pool_height, ws:ws + pool_width].max(axis=(2, 3))
    cache = (x, pool_height, pool_width, stride)
    return out, cache

# %% max_pool_backward_naive
def max_pool_backward_naive(dout, cache):
    x, pool_height, pool_width, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                hs = i * stride
                for j in range(W_out):
                    ws = j * stride
                    window = x[n, c, hs:hs + pool_height, ws:ws + pool_width]
                    r, q = np.unravel_index(window.argmax(), window.shape)
                    dx[n, c, hs + r, ws + q] += dout[n, c, i, j]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out, cache = batchnorm_forward_train(flat, gamma, beta, eps)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    flat = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx, dgamma, dbeta = batchnorm_backward_train(flat, cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    conv_out, conv_cache = conv_forward_fast(X, W1, b1, stride=1, pad=pad)
    relu_out = np.maximum(conv_out, 0)
    pooled, pool_cache = max_pool_forward_fast(relu_out, 2, 2, 2)
    flat = pooled.reshape(N, -1)
    hidden_in = flat @ W2 + b2
    hidden = np.maximum(hidden_in, 0)
    scores = hidden @ W3 + b3
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W3": hidden.T @ dscores + 2 * reg * W3, "b3": dscores.sum(axis=0)}
    dhidden_in = (dscores @ W3.T) * (hidden_in > 0)
    grads["W2"] = flat.T @ dhidden_in + 2 * reg * W2
    grads["b2"] = dhidden_in.sum(axis=0)
    drelu = max_pool_backward_fast((dhidden_in @ W2.T).reshape(pooled.shape), pool_cache)
    _, dW1, grads["b1"] = conv_backward_fast(drelu * (conv_out > 0), conv_cache)
    grads["W1"] = dW1 + 2 * reg * W1
    return loss, grads

# %% train_convnet
def train_convnet(loss_fn, X, y, num_filters=8, filter_size=3, hidden_dim=64, lr=1e-3,
                  reg=1e-3, num_epochs=3, batch_size=50, seed=0):
    rng = np.random.default_rng(seed)
    N, C, H, W = X.shape
    num_classes = 10

    def he(shape, fan_in):
        return (np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)).astype(X.dtype)

    flat_dim = num_filters * (H // 2) * (W // 2)
    params = {"W1": he((num_filters, C, filter_size, filter_size), C * filter_size ** 2),
              "b1": np.zeros(num_filters, X.dtype),
              "W2": he((flat_dim, hidden_dim), flat_dim), "b2": np.zeros(hidden_dim, X.dtype),
              "W3": he((hidden_dim, num_classes), hidden_dim),
              "b3": np.zeros(num_classes, X.dtype)}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    t = 0
    for epoch in range(num_epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[batch], y[batch], reg)
            for k in params:
                m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
                v[k] = beta2 * v[k] + (1 - beta2) * grads[k] ** 2
                m_hat = m[k] / (1 - beta1 ** t)
                v_hat = v[k] / (1 - beta2 ** t)
                params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
            t += 1
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 8, "filter_size": 3, "hidden_dim": 64, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 3, "batch_size": 50}
