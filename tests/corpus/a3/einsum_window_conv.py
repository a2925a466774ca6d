# Style: einsum over each window, vectorized across the batch and the filters (loops
# over output positions only), np.newaxis to broadcast, spatial batchnorm via
# np.moveaxis, Adam bookkeeping in a small dict per parameter.
# Deliberate deviations: none (a fully correct author).
# Hyperparameters: 10 3x3 filters, hidden 80, Adam lr 1e-3, reg 5e-4, 4 epochs of 40.
# Bugs: none

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", window, w) + b[np.newaxis, :]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = dout.shape[2], dout.shape[3]
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="constant")
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            rows = slice(i * stride, i * stride + HH)
            cols = slice(j * stride, j * stride + WW)
            g = dout[:, :, i, j]
            dw += np.einsum("nf,nckl->fckl", g, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nf,fckl->nckl", g, w)
    db = np.einsum("nfhw->f", dout)
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out = (H - pool_height) // stride + 1
    W_out = (W - pool_width) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            out[:, :, i, j] = window.reshape(N, C, -1).max(axis=2)
    cache = (x, pool_height, pool_width, stride)
    return out, cache

# %% max_pool_backward_naive
def max_pool_backward_naive(dout, cache):
    x, pool_height, pool_width, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            k = window.reshape(N, C, -1).argmax(axis=2)
            r, s = k // pool_width, k % pool_width
            np.add.at(dx, (n_idx, c_idx, i * stride + r, j * stride + s), dout[:, :, i, j])
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    xc = x - mu[np.newaxis, :]
    var = np.einsum("md,md->d", xc, xc) / x.shape[0]
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = xc * inv_std[np.newaxis, :]
    out = gamma[np.newaxis, :] * x_hat + beta[np.newaxis, :]
    return out, (x_hat, inv_std, gamma)


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    rows = np.moveaxis(x, 1, 3).reshape(-1, C)
    out_rows, cache = batchnorm_forward_train(rows, gamma, beta, eps)
    out = np.moveaxis(out_rows.reshape(N, H, W, C), 3, 1)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, inv_std, gamma = cache
    M = dout.shape[0]
    dbeta = np.einsum("md->d", dout)
    dgamma = np.einsum("md,md->d", dout, x_hat)
    g = dout * gamma[np.newaxis, :]
    dx = inv_std[np.newaxis, :] * (g - np.einsum("md->d", g)[np.newaxis, :] / M
                                   - x_hat * np.einsum("md,md->d", g, x_hat)[np.newaxis, :] / M)
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    drows = np.moveaxis(dout, 1, 3).reshape(-1, C)
    dx_rows, dgamma, dbeta = batchnorm_backward_train(drows, cache)
    dx = np.moveaxis(dx_rows.reshape(N, H, W, C), 3, 1)
    return dx, dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    conv, cc = conv_forward_fast(X, W1, b1, 1, pad)
    act = np.maximum(conv, 0)
    pooled, pc = max_pool_forward_fast(act, 2, 2, 2)
    flat = pooled.reshape(N, -1)
    z = np.einsum("nd,dh->nh", flat, W2) + b2
    h = np.maximum(z, 0)
    scores = np.einsum("nh,hk->nk", h, W3) + b3
    if y is None:
        return scores
    s = scores - scores.max(axis=1)[:, np.newaxis]
    log_p = s - np.log(np.exp(s).sum(axis=1))[:, np.newaxis]
    loss = -log_p[np.arange(N), y].mean()
    loss += reg * sum(np.einsum("i,i->", W.ravel(), W.ravel()) for W in (W1, W2, W3))
    d = np.exp(log_p)
    d[np.arange(N), y] -= 1
    d /= N
    dz = np.einsum("nk,hk->nh", d, W3) * (z > 0)
    dpooled = np.einsum("nh,dh->nd", dz, W2).reshape(pooled.shape)
    dconv = max_pool_backward_fast(dpooled, pc) * (conv > 0)
    _, dW1, db1 = conv_backward_fast(dconv, cc)
    grads = {"W1": dW1 + 2 * reg * W1, "b1": db1,
             "W2": np.einsum("nd,nh->dh", flat, dz) + 2 * reg * W2, "b2": dz.sum(axis=0),
             "W3": np.einsum("nh,nk->hk", h, d) + 2 * reg * W3, "b3": d.sum(axis=0)}
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
    state = {k: {"m": 0.0, "v": 0.0, "t": 0} for k in params}
    for epoch in range(num_epochs):
        idx = rng.permutation(N)
        for start in range(0, N, batch_size):
            b = idx[start:start + batch_size]
            _, grads = loss_fn(params, X[b], y[b], reg)
            for k in params:
                st = state[k]
                st["t"] += 1
                st["m"] = 0.9 * st["m"] + 0.1 * grads[k]
                st["v"] = 0.999 * st["v"] + 0.001 * grads[k] * grads[k]
                m_hat = st["m"] / (1 - 0.9 ** st["t"])
                v_hat = st["v"] / (1 - 0.999 ** st["t"])
                params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 10, "filter_size": 3, "hidden_dim": 80, "lr": 1e-3, "reg": 5e-4,
            "num_epochs": 4, "batch_size": 40}
