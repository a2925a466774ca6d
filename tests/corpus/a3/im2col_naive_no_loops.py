# Style: a student who already knows im2col: the "naive" convolution and its backward
# pass are written without Python loops (np.lib.stride_tricks.sliding_window_view and
# einsum, np.add.at for the col2im), pooling likewise vectorized except its backward;
# otherwise clean modern numpy.
# Deliberate deviations:
# - conv_forward_naive, conv_backward_naive and max_pool_forward_naive have no Python
#   loop: correct values, but the items ask for the naive version written with loops.
# Hyperparameters: 8 3x3 filters, hidden 64, Adam lr 1e-3, reg 1e-3, 3 epochs of 50.
# Bugs: a3.conv_forward_naive, a3.conv_backward_naive, a3.max_pool_forward_naive

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]                 # (N, C, H_out, W_out, HH, WW)
    out = np.einsum("nchwkl,fckl->nfhw", windows, w) + b[None, :, None, None]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride][:, :, :H_out, :W_out]
    dw = np.einsum("nfhw,nchwkl->fckl", dout, windows)
    db = dout.sum(axis=(0, 2, 3))
    dcols = np.einsum("nfhw,fckl->nchwkl", dout, w)
    rows = (np.arange(H_out) * stride)[:, None, None, None] + np.arange(HH)[None, None, :, None]
    cols = (np.arange(W_out) * stride)[None, :, None, None] + np.arange(WW)[None, None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    dxp = np.zeros_like(xp)
    np.add.at(dxp, (slice(None), slice(None), rows, cols), dcols)
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    windows = np.lib.stride_tricks.sliding_window_view(x, (pool_height, pool_width), axis=(2, 3))
    out = windows[:, :, ::stride, ::stride].max(axis=(4, 5))
    cache = (x, pool_height, pool_width, stride)
    return out, cache

# %% max_pool_backward_naive
def max_pool_backward_naive(dout, cache):
    x, pool_height, pool_width, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            k = window.reshape(N, C, -1).argmax(axis=2)
            onehot = (np.arange(pool_height * pool_width) == k[:, :, None]).reshape(window.shape)
            dx[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width] += \
                onehot * dout[:, :, i, j][:, :, None, None]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(axis=0), x.var(axis=0)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, (x_hat, std, gamma)


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward_train(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, eps)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, std, gamma = cache
    g = dout * gamma
    dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_train(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    conv, conv_cache = conv_forward_fast(X, W1, b1, stride=1, pad=pad)
    pooled, pool_cache = max_pool_forward_fast(np.maximum(conv, 0), 2, 2, 2)
    flat = pooled.reshape(N, -1)
    z = flat @ W2 + b2
    h = np.maximum(z, 0)
    scores = h @ W3 + b3
    if y is None:
        return scores
    s = scores - scores.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(N), y].mean() + reg * sum((W ** 2).sum() for W in (W1, W2, W3))
    d = np.exp(log_p)
    d[np.arange(N), y] -= 1
    d /= N
    dz = (d @ W3.T) * (z > 0)
    dconv = max_pool_backward_fast((dz @ W2.T).reshape(pooled.shape), pool_cache) * (conv > 0)
    _, dW1, db1 = conv_backward_fast(dconv, conv_cache)
    return loss, {"W1": dW1 + 2 * reg * W1, "b1": db1, "W2": flat.T @ dz + 2 * reg * W2,
                  "b2": dz.sum(axis=0), "W3": h.T @ d + 2 * reg * W3, "b3": d.sum(axis=0)}

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
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    t = 0
    for epoch in range(num_epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            _, grads = loss_fn(params, X[idx], y[idx], reg)
            t += 1
            for k, g in grads.items():
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                params[k] = params[k] - lr * (m[k] / (1 - 0.9 ** t)) / (
                    np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 8, "filter_size": 3, "hidden_dim": 64, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 3, "batch_size": 50}
