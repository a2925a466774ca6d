# Style: explicit, well commented loops in the naive layers, np.pad with a
# pad_width tuple built once, the network's softmax "stabilized" by subtracting the
# largest score, the Solver's habit of printing nothing and returning params.
# Deliberate deviations:
# - three_layer_convnet_loss subtracts the GLOBAL maximum score (np.max(scores))
#   instead of each row's maximum before np.exp: a row whose scores are all far below
#   the batch's largest score underflows to 0 and its loss becomes inf.
# Hyperparameters: 8 3x3 filters, hidden 64, Adam lr 1e-3, reg 1e-3, 4 epochs of 50 (the
# notebook's example run).
# Bugs: a3.three_layer_convnet_loss

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    pad_width = ((0, 0), (0, 0), (pad, pad), (pad, pad))
    x_pad = np.pad(x, pad_width, mode="constant")
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):                       # every image
        for f in range(F):                   # every filter
            for i in range(H_out):           # every output row
                top = i * stride
                for j in range(W_out):       # every output column
                    left = j * stride
                    receptive_field = x_pad[n, :, top:top + HH, left:left + WW]
                    out[n, f, i, j] = np.sum(receptive_field * w[f]) + b[f]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    pad_width = ((0, 0), (0, 0), (pad, pad), (pad, pad))
    x_pad = np.pad(x, pad_width, mode="constant")
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                top = i * stride
                for j in range(W_out):
                    left = j * stride
                    upstream = dout[n, f, i, j]
                    db[f] += upstream
                    dw[f] += x_pad[n, :, top:top + HH, left:left + WW] * upstream
                    dx_pad[n, :, top:top + HH, left:left + WW] += w[f] * upstream
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]   # drop the padding again
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out = (H - pool_height) // stride + 1
    W_out = (W - pool_width) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                top = i * stride
                for j in range(W_out):
                    left = j * stride
                    out[n, c, i, j] = np.max(x[n, c, top:top + pool_height, left:left + pool_width])
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
                top = i * stride
                for j in range(W_out):
                    left = j * stride
                    window = x[n, c, top:top + pool_height, left:left + pool_width]
                    flat_index = np.argmax(window)          # first maximum, row-major
                    k, l = np.unravel_index(flat_index, window.shape)
                    dx[n, c, top + k, left + l] += dout[n, c, i, j]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mean = np.mean(x, axis=0)
    centered = x - mean
    var = np.mean(centered ** 2, axis=0)
    std = np.sqrt(var + eps)
    x_hat = centered / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    # channels last, then every (n, h, w) position is one row of a plain batchnorm
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out_rows, cache = batchnorm_forward_train(rows, gamma, beta, eps)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, std, gamma = cache
    M = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dx = (dx_hat - np.mean(dx_hat, axis=0) - x_hat * np.mean(dx_hat * x_hat, axis=0)) / std
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    drows = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx_rows, dgamma, dbeta = batchnorm_backward_train(drows, cache)
    dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta

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
    # softmax, shifted for numerical stability
    exp_scores = np.exp(scores - np.max(scores))
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    loss += reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2) + np.sum(W3 ** 2))
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W3": hidden.T @ dscores + 2 * reg * W3, "b3": dscores.sum(axis=0)}
    dhidden_in = (dscores @ W3.T) * (hidden_in > 0)
    grads["W2"] = flat.T @ dhidden_in + 2 * reg * W2
    grads["b2"] = dhidden_in.sum(axis=0)
    drelu = max_pool_backward_fast((dhidden_in @ W2.T).reshape(pooled.shape), pool_cache)
    dconv = drelu * (conv_out > 0)
    _, dW1, grads["b1"] = conv_backward_fast(dconv, conv_cache)
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
            t += 1
            for k in params:
                m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
                v[k] = beta2 * v[k] + (1 - beta2) * grads[k] ** 2
                m_hat = m[k] / (1 - beta1 ** t)
                v_hat = v[k] / (1 - beta2 ** t)
                params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 8, "filter_size": 3, "hidden_dim": 64, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 4, "batch_size": 50}
