# Style: the most literal reading of the formula: seven nested loops down to single
# numbers in the naive convolution and its backward pass, scalar comparisons in the
# pooling, a hand-written zero padding; slow but correct.
# Deliberate deviations: none in the values (every function is correct); the naive
# layers are very slow (one Python multiply per weight and output position).
# Hyperparameters: 6 3x3 filters, hidden 50, Adam lr 1e-3, reg 1e-3, 2 epochs of 32.
# Bugs: none

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    padded[:, :, pad:pad + H, pad:pad + W] = x
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = b[f]
                    for c in range(C):
                        for k in range(HH):
                            for l in range(WW):
                                total += w[f, c, k, l] * padded[n, c, i * stride + k, j * stride + l]
                    out[n, f, i, j] = total
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    padded[:, :, pad:pad + H, pad:pad + W] = x
    dpadded = np.zeros_like(padded)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        for k in range(HH):
                            for l in range(WW):
                                dw[f, c, k, l] += g * padded[n, c, i * stride + k, j * stride + l]
                                dpadded[n, c, i * stride + k, j * stride + l] += g * w[f, c, k, l]
    dx = dpadded[:, :, pad:pad + H, pad:pad + W]
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
                    best = x[n, c, i * stride, j * stride]
                    for k in range(pool_height):
                        for l in range(pool_width):
                            value = x[n, c, i * stride + k, j * stride + l]
                            if value > best:
                                best = value
                    out[n, c, i, j] = best
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
                    best_k, best_l = 0, 0
                    best = x[n, c, i * stride, j * stride]
                    for k in range(pool_height):
                        for l in range(pool_width):
                            value = x[n, c, i * stride + k, j * stride + l]
                            if value > best:
                                best, best_k, best_l = value, k, l
                    dx[n, c, i * stride + best_k, j * stride + best_l] += dout[n, c, i, j]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    M, D = x.shape
    mean = np.zeros(D)
    var = np.zeros(D)
    for d in range(D):
        mean[d] = x[:, d].sum() / M
        var[d] = ((x[:, d] - mean[d]) ** 2).sum() / M
    std = np.sqrt(var + eps)
    x_hat = (x - mean) / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    out_rows, cache = batchnorm_forward_train(rows, gamma, beta, eps)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_hat, std, gamma = cache
    M, D = dout.shape
    dx = np.zeros((M, D))
    dgamma = np.zeros(D)
    dbeta = np.zeros(D)
    for d in range(D):
        dbeta[d] = dout[:, d].sum()
        dgamma[d] = (dout[:, d] * x_hat[:, d]).sum()
        g = dout[:, d] * gamma[d]
        dx[:, d] = (g - g.mean() - x_hat[:, d] * (g * x_hat[:, d]).mean()) / std[d]
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
    relu_out = np.maximum(conv_out, 0)
    pooled, pool_cache = max_pool_forward_fast(relu_out, 2, 2, 2)
    flat = pooled.reshape(N, -1)
    hidden_in = flat.dot(W2) + b2
    hidden = np.maximum(hidden_in, 0)
    scores = hidden.dot(W3) + b3
    if y is None:
        return scores
    loss = 0.0
    dscores = np.zeros_like(scores)
    for n in range(N):
        s = scores[n] - scores[n].max()
        p = np.exp(s) / np.exp(s).sum()
        loss -= np.log(p[y[n]])
        p[y[n]] -= 1
        dscores[n] = p / N
    loss /= N
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
    grads = {"W3": hidden.T.dot(dscores) + 2 * reg * W3, "b3": dscores.sum(axis=0)}
    dhidden_in = dscores.dot(W3.T) * (hidden_in > 0)
    grads["W2"] = flat.T.dot(dhidden_in) + 2 * reg * W2
    grads["b2"] = dhidden_in.sum(axis=0)
    drelu = max_pool_backward_fast(dhidden_in.dot(W2.T).reshape(pooled.shape), pool_cache)
    dconv = drelu * (conv_out > 0)
    _, dW1, db1 = conv_backward_fast(dconv, conv_cache)
    grads["W1"] = dW1 + 2 * reg * W1
    grads["b1"] = db1
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
            batch = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[batch], y[batch], reg)
            t += 1
            for k in params:
                m[k] = 0.9 * m[k] + 0.1 * grads[k]
                v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
                params[k] = params[k] - lr * (m[k] / (1 - 0.9 ** t)) / (
                    np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 6, "filter_size": 3, "hidden_dim": 50, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 2, "batch_size": 32}
