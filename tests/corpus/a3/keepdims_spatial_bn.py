# Style: spatial batchnorm written directly on (N, C, H, W) with reductions over axes
# (0, 2, 3) and keepdims=True everywhere (no transposes); conv with np.tensordot over a
# window; Adam kept in one dict of (m, v) pairs.
# Deliberate deviations:
# - spatial_batchnorm_backward returns dgamma and dbeta with keepdims shape (1, C, 1, 1)
#   instead of (C,) (the values are right). The forward pass is right.
# Hyperparameters: 8 3x3 filters, hidden 64, Adam lr 2e-3, reg 1e-4, 3 epochs of 100.
# Bugs: a3.spatial_batchnorm_backward

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((N, F, H_out, W_out))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                out[n, :, i, j] = np.tensordot(w, window, axes=([1, 2, 3], [0, 1, 2])) + b
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                g = dout[n, :, i, j]
                dw += np.tensordot(g, window, axes=0)
                dxp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += \
                    np.tensordot(g, w, axes=([0], [0]))
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out = (H - pool_height) // stride + 1
    W_out = (W - pool_width) // stride + 1
    out = np.empty((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + pool_height,
                                j * stride:j * stride + pool_width].max(axis=(2, 3))
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
                    window = x[n, c, i * stride:i * stride + pool_height,
                               j * stride:j * stride + pool_width]
                    r, s = divmod(int(np.argmax(window)), pool_width)
                    dx[n, c, i * stride + r, j * stride + s] += dout[n, c, i, j]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x_hat, np.sqrt(var + eps), gamma)


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = (x - mean) / std
    g = gamma.reshape(1, -1, 1, 1)
    out = g * x_hat + beta.reshape(1, -1, 1, 1)
    cache = (x_hat, std, g)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, std, gamma = cache
    g = dout * gamma
    dx = (g - g.mean(axis=0, keepdims=True)
          - x_hat * (g * x_hat).mean(axis=0, keepdims=True)) / std
    return dx, (dout * x_hat).sum(axis=0, keepdims=True), dout.sum(axis=0, keepdims=True)


def spatial_batchnorm_backward(dout, cache):
    x_hat, std, g = cache
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dx_hat = dout * g
    dx = (dx_hat - dx_hat.mean(axis=(0, 2, 3), keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(axis=(0, 2, 3), keepdims=True)) / std
    return dx, dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    conv, conv_cache = conv_forward_fast(X, W1, b1, stride=1, pad=pad)
    relu = np.maximum(conv, 0)
    pooled, pool_cache = max_pool_forward_fast(relu, 2, 2, 2)
    flat = pooled.reshape(N, -1)
    hidden_in = flat @ W2 + b2
    hidden = np.maximum(hidden_in, 0)
    scores = hidden @ W3 + b3
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    loss += reg * ((W1 ** 2).sum() + (W2 ** 2).sum() + (W3 ** 2).sum())
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dhidden_in = (dscores @ W3.T) * (hidden_in > 0)
    dconv = max_pool_backward_fast((dhidden_in @ W2.T).reshape(pooled.shape), pool_cache)
    dconv *= conv > 0
    _, dW1, db1 = conv_backward_fast(dconv, conv_cache)
    grads = {"W1": dW1 + 2 * reg * W1, "b1": db1,
             "W2": flat.T @ dhidden_in + 2 * reg * W2, "b2": dhidden_in.sum(axis=0),
             "W3": hidden.T @ dscores + 2 * reg * W3, "b3": dscores.sum(axis=0)}
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
    moments = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in params.items()}
    step = 0
    for epoch in range(num_epochs):
        for batch in np.array_split(rng.permutation(N), int(np.ceil(N / batch_size))):
            _, grads = loss_fn(params, X[batch], y[batch], reg)
            step += 1
            for k in params:
                m, v = moments[k]
                m = 0.9 * m + 0.1 * grads[k]
                v = 0.999 * v + 0.001 * grads[k] ** 2
                moments[k] = (m, v)
                m_hat = m / (1 - 0.9 ** step)
                v_hat = v / (1 - 0.999 ** step)
                params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 8, "filter_size": 3, "hidden_dim": 64, "lr": 2e-3, "reg": 1e-4,
            "num_epochs": 3, "batch_size": 100}
