# Style: a solution tuned on the notebook's own example (3x3 filters, pad 1): loops
# over windows with a pre-built list of corner positions, the padding removed with
# fixed indices, pooling via np.where on the window's maximum.
# Deliberate deviations:
# - conv_backward_naive crops dx_pad[:, :, 1:-1, 1:-1], i.e. assumes pad = 1 (wrong
#   shape for any other pad).
# Hyperparameters: 8 3x3 filters, hidden 64, Adam lr 1e-3, reg 1e-3, 3 epochs of 50.
# Bugs: a3.conv_backward_naive

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    corners = [(i, j, i * stride, j * stride) for i in range(H_out) for j in range(W_out)]
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i, j, top, left in corners:
                out[n, f, i, j] = np.sum(x_pad[n, :, top:top + HH, left:left + WW] * w[f]) + b[f]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    corners = [(i, j, i * stride, j * stride) for i in range(H_out) for j in range(W_out)]
    for n in range(N):
        for f in range(F):
            for i, j, top, left in corners:
                g = dout[n, f, i, j]
                db[f] += g
                dw[f] += g * x_pad[n, :, top:top + HH, left:left + WW]
                dx_pad[n, :, top:top + HH, left:left + WW] += g * w[f]
    dx = dx_pad[:, :, 1:-1, 1:-1]
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
                for j in range(W_out):
                    out[n, c, i, j] = x[n, c, i * stride:i * stride + pool_height,
                                        j * stride:j * stride + pool_width].max()
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
                    rows, cols = np.where(window == window.max())
                    dx[n, c, i * stride + rows[0], j * stride + cols[0]] += dout[n, c, i, j]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    out = gamma * x_hat + beta
    cache = (x_hat, np.sqrt(var + eps), gamma)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    x_rows = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    out_rows, cache = batchnorm_forward_train(x_rows, gamma, beta, eps)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, std, gamma = cache
    M = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (M * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (M * std)
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    drows = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
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
    relu1 = np.maximum(conv_out, 0)
    pooled, pool_cache = max_pool_forward_fast(relu1, 2, 2, 2)
    flat = pooled.reshape(N, -1)
    z2 = flat @ W2 + b2
    h2 = np.maximum(z2, 0)
    scores = h2 @ W3 + b3
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dz2 = (dscores @ W3.T) * (z2 > 0)
    dpooled = (dz2 @ W2.T).reshape(pooled.shape)
    dconv = max_pool_backward_fast(dpooled, pool_cache) * (conv_out > 0)
    _, dW1, db1 = conv_backward_fast(dconv, conv_cache)
    grads = {"W1": dW1 + 2 * reg * W1, "b1": db1, "W2": flat.T @ dz2 + 2 * reg * W2,
             "b2": dz2.sum(axis=0), "W3": h2.T @ dscores + 2 * reg * W3,
             "b3": dscores.sum(axis=0)}
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
    v = {k: np.zeros_like(p) for k, p in params.items()}
    t = 0
    for epoch in range(num_epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            _, grads = loss_fn(params, X[idx], y[idx], reg)
            t += 1
            for k in params:
                m[k] = 0.9 * m[k] + 0.1 * grads[k]
                v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
                params[k] = params[k] - lr * m[k] / (1 - 0.9 ** t) / (
                    np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 8, "filter_size": 3, "hidden_dim": 64, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 3, "batch_size": 50}
