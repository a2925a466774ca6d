# Style: compact loops over output positions only, vectorized over the batch and the
# channels inside each window (np.max over axes (2, 3), argmax on flattened windows),
# sizes computed once at the top; CS231n-style pool_param names.
# Deliberate deviations:
# - max_pool_forward_naive computes the output width with pool_height:
#   W_out = 1 + (W - pool_height) // stride (the windows themselves use pool_width).
#   Wrong whenever the windows are not square and the two sizes give different
#   widths.
# Hyperparameters: 12 5x5 filters, hidden 96, Adam lr 5e-4, reg 5e-4, 3 epochs of 50.
# Bugs: a3.max_pool_forward_naive

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo))
    w_row = w.reshape(F, -1)
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = patch.reshape(N, -1) @ w_row.T + b
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    w_row = w.reshape(F, -1)
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            g = dout[:, :, i, j]                                     # (N, F)
            dw += (g.T @ patch.reshape(N, -1)).reshape(w.shape)
            dxp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += \
                (g @ w_row).reshape(N, C, HH, WW)
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    Ho = 1 + (H - pool_height) // stride
    Wo = 1 + (W - pool_height) // stride
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            out[:, :, i, j] = np.max(window, axis=(2, 3))
    cache = (x, pool_height, pool_width, stride)
    return out, cache

# %% max_pool_backward_naive
def max_pool_backward_naive(dout, cache):
    x, pool_height, pool_width, stride = cache
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            flat = window.reshape(N, C, -1)
            arg = np.argmax(flat, axis=2)                            # (N, C)
            local = np.zeros_like(flat)
            np.put_along_axis(local, arg[:, :, None], dout[:, :, i, j][:, :, None], axis=2)
            dx[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width] += \
                local.reshape(window.shape)
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv
    out = gamma * x_hat + beta
    cache = (x_hat, inv, gamma)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward_train(np.moveaxis(x, 1, -1).reshape(-1, C), gamma, beta, eps)
    out = np.moveaxis(out.reshape(N, H, W, C), -1, 1)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, inv, gamma = cache
    M = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    dx = inv / M * (M * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_train(np.moveaxis(dout, 1, -1).reshape(-1, C), cache)
    dx = np.moveaxis(dx.reshape(N, H, W, C), -1, 1)
    return dx, dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    c, c_cache = conv_forward_fast(X, W1, b1, 1, pad)
    r = np.maximum(c, 0)
    p, p_cache = max_pool_forward_fast(r, 2, 2, 2)
    f = p.reshape(N, -1)
    z = f @ W2 + b2
    h = np.maximum(z, 0)
    scores = h @ W3 + b3
    if y is None:
        return scores
    s = scores - scores.max(axis=1, keepdims=True)
    lp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -lp[np.arange(N), y].mean() + reg * sum(np.sum(W * W) for W in (W1, W2, W3))
    ds = np.exp(lp)
    ds[np.arange(N), y] -= 1
    ds /= N
    dz = (ds @ W3.T) * (z > 0)
    dc = max_pool_backward_fast((dz @ W2.T).reshape(p.shape), p_cache) * (c > 0)
    _, dW1, db1 = conv_backward_fast(dc, c_cache)
    grads = {"W1": dW1 + 2 * reg * W1, "b1": db1, "W2": f.T @ dz + 2 * reg * W2,
             "b2": dz.sum(axis=0), "W3": h.T @ ds + 2 * reg * W3, "b3": ds.sum(axis=0)}
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
    m = {k: np.zeros_like(p) for k, p in params.items()}
    s = {k: np.zeros_like(p) for k, p in params.items()}
    t = 0
    for _ in range(num_epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            batch = order[start:start + batch_size]
            _, grads = loss_fn(params, X[batch], y[batch], reg)
            t += 1
            for k, g in grads.items():
                m[k] = 0.9 * m[k] + 0.1 * g
                s[k] = 0.999 * s[k] + 0.001 * g * g
                params[k] = params[k] - lr * (m[k] / (1 - 0.9 ** t)) / (
                    np.sqrt(s[k] / (1 - 0.999 ** t)) + 1e-8)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 12, "filter_size": 5, "hidden_dim": 96, "lr": 5e-4, "reg": 5e-4,
            "num_epochs": 3, "batch_size": 50}
