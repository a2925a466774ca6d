# Style: CS231n 2019 layers.py moved over: np.pad(..., 'constant'), four loops with a
# window slice times w[f], dx_pad cropped with pad:pad + H, np.unravel_index of the
# window's argmax, spatial batchnorm by transposing to (N*H*W, C) and reusing the A2
# batchnorm; the network with the fast layers and the assignment's reg * sum(W**2).
# Deliberate deviations: none (a fully correct author).
# Hyperparameters: 8 3x3 filters, hidden 64, Adam lr 1e-3, reg 1e-3, 3 epochs of 50.
# Bugs: none

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
                for j in range(W_out):
                    h0, w0 = i * stride, j * stride
                    out[n, f, i, j] = np.sum(x_pad[n, :, h0:h0 + HH, w0:w0 + WW] * w[f]) + b[f]
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
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    h0, w0 = i * stride, j * stride
                    dw[f] += x_pad[n, :, h0:h0 + HH, w0:w0 + WW] * dout[n, f, i, j]
                    dx_pad[n, :, h0:h0 + HH, w0:w0 + WW] += w[f] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out = 1 + (H - pool_height) // stride
    W_out = 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    h0, w0 = i * stride, j * stride
                    out[n, c, i, j] = np.max(x[n, c, h0:h0 + pool_height, w0:w0 + pool_width])
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
                for j in range(W_out):
                    h0, w0 = i * stride, j * stride
                    window = x[n, c, h0:h0 + pool_height, w0:w0 + pool_width]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, h0 + a, w0 + b] += dout[n, c, i, j]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    sample_mean = np.mean(x, axis=0)
    sample_var = np.var(x, axis=0)
    x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
    out = gamma * x_hat + beta
    cache = (x_hat, gamma, np.sqrt(sample_var + eps))
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    x_flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out_flat, cache = batchnorm_forward_train(x_flat, gamma, beta, eps)
    out = out_flat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, gamma, std = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dx = (1.0 / N) / std * (N * dx_hat - np.sum(dx_hat, axis=0)
                            - x_hat * np.sum(dx_hat * x_hat, axis=0))
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dout_flat = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx_flat, dgamma, dbeta = batchnorm_backward_train(dout_flat, cache)
    dx = dx_flat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    conv, conv_cache = conv_forward_fast(X, W1, b1, 1, pad)
    relu1 = np.maximum(0, conv)
    pool, pool_cache = max_pool_forward_fast(relu1, 2, 2, 2)
    pool_flat = pool.reshape(N, -1)
    hidden_in = pool_flat.dot(W2) + b2
    hidden = np.maximum(0, hidden_in)
    scores = hidden.dot(W3) + b3
    if y is None:
        return scores

    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))

    grads = {}
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads["W3"] = hidden.T.dot(dscores) + 2 * reg * W3
    grads["b3"] = np.sum(dscores, axis=0)
    dhidden = dscores.dot(W3.T) * (hidden_in > 0)
    grads["W2"] = pool_flat.T.dot(dhidden) + 2 * reg * W2
    grads["b2"] = np.sum(dhidden, axis=0)
    dpool = dhidden.dot(W2.T).reshape(pool.shape)
    drelu1 = max_pool_backward_fast(dpool, pool_cache)
    dconv = drelu1 * (conv > 0)
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
    configs = {k: {"m": np.zeros_like(v), "v": np.zeros_like(v), "t": 0} for k, v in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for epoch in range(num_epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[idx], y[idx], reg)
            for k in params:
                cfg = configs[k]
                cfg["t"] += 1
                cfg["m"] = beta1 * cfg["m"] + (1 - beta1) * grads[k]
                cfg["v"] = beta2 * cfg["v"] + (1 - beta2) * grads[k] ** 2
                mt = cfg["m"] / (1 - beta1 ** cfg["t"])
                vt = cfg["v"] / (1 - beta2 ** cfg["t"])
                params[k] = params[k] - lr * mt / (np.sqrt(vt) + eps)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 8, "filter_size": 3, "hidden_dim": 64, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 3, "batch_size": 50}
