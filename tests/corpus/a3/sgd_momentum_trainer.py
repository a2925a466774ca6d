# Style: layers from a 2018 repository (loops over n and f outside, window slices
# inside), the network in CS231n's 0.5 * reg convention, trained with SGD + momentum
# (the notebook allows plain SGD, momentum or Adam).
# Deliberate deviations:
# - three_layer_convnet_loss uses 0.5 * reg * sum(W**2) and reg * W;
# - train_convnet uses SGD with momentum 0.9 and lr 1e-2 for 2 epochs: a reasonable
#   choice that trains more slowly than Adam (the measured accuracy lands nearer the
#   threshold).
# Hyperparameters: 8 3x3 filters, hidden 64, SGD+momentum lr 1e-2, reg 1e-3, 2 epochs of
# 100.
# Bugs: a3.three_layer_convnet_loss

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    xx = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), "constant")
    for n in range(N):
        for f in range(F):
            for hh in range(H_out):
                for ww in range(W_out):
                    region = xx[n, :, hh * stride:hh * stride + HH, ww * stride:ww * stride + WW]
                    out[n, f, hh, ww] = np.sum(region * w[f]) + b[f]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xx = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), "constant")
    dxx = np.zeros_like(xx)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for hh in range(H_out):
                for ww in range(W_out):
                    region = xx[n, :, hh * stride:hh * stride + HH, ww * stride:ww * stride + WW]
                    dw[f] += region * dout[n, f, hh, ww]
                    dxx[n, :, hh * stride:hh * stride + HH, ww * stride:ww * stride + WW] += \
                        w[f] * dout[n, f, hh, ww]
    dx = dxx[:, :, pad:H + pad, pad:W + pad]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out = (H - pool_height) // stride + 1
    W_out = (W - pool_width) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for hh in range(H_out):
            for ww in range(W_out):
                region = x[n, :, hh * stride:hh * stride + pool_height,
                           ww * stride:ww * stride + pool_width]
                out[n, :, hh, ww] = np.max(region.reshape(C, -1), axis=1)
    cache = (x, pool_height, pool_width, stride)
    return out, cache

# %% max_pool_backward_naive
def max_pool_backward_naive(dout, cache):
    x, pool_height, pool_width, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for hh in range(H_out):
                for ww in range(W_out):
                    region = x[n, c, hh * stride:hh * stride + pool_height,
                               ww * stride:ww * stride + pool_width]
                    a = np.argmax(region)
                    dx[n, c, hh * stride + a // pool_width, ww * stride + a % pool_width] += \
                        dout[n, c, hh, ww]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mean = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    x_norm = (x - mean) / np.sqrt(var + eps)
    out = gamma * x_norm + beta
    cache = (x, mean, var, x_norm, gamma, eps)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    x2 = np.transpose(x, (0, 2, 3, 1)).reshape(-1, C)
    out2, cache = batchnorm_forward_train(x2, gamma, beta, eps)
    out = np.transpose(out2.reshape(N, H, W, C), (0, 3, 1, 2))
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x, mean, var, x_norm, gamma, eps = cache
    N = x.shape[0]
    dgamma = np.sum(dout * x_norm, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx = gamma / (N * np.sqrt(var + eps)) * (N * dout - dbeta - x_norm * dgamma)
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dout2 = np.transpose(dout, (0, 2, 3, 1)).reshape(-1, C)
    dx2, dgamma, dbeta = batchnorm_backward_train(dout2, cache)
    dx = np.transpose(dx2.reshape(N, H, W, C), (0, 3, 1, 2))
    return dx, dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    c1, conv_cache = conv_forward_fast(X, W1, b1, 1, pad)
    r1 = np.maximum(0, c1)
    p1, pool_cache = max_pool_forward_fast(r1, 2, 2, 2)
    a2 = np.dot(p1.reshape(N, -1), W2) + b2
    r2 = np.maximum(0, a2)
    scores = np.dot(r2, W3) + b3
    if y is None:
        return scores
    f = scores - np.max(scores, axis=1, keepdims=True)
    p = np.exp(f) / np.sum(np.exp(f), axis=1, keepdims=True)
    loss = np.sum(-np.log(p[np.arange(N), y])) / N
    loss += 0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2) + np.sum(W3 ** 2))
    grads = {}
    dscores = p
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads["W3"] = np.dot(r2.T, dscores) + reg * W3
    grads["b3"] = np.sum(dscores, axis=0)
    da2 = np.dot(dscores, W3.T) * (a2 > 0)
    grads["W2"] = np.dot(p1.reshape(N, -1).T, da2) + reg * W2
    grads["b2"] = np.sum(da2, axis=0)
    dp1 = np.dot(da2, W2.T).reshape(p1.shape)
    dc1 = max_pool_backward_fast(dp1, pool_cache) * (c1 > 0)
    _, dW1, db1 = conv_backward_fast(dc1, conv_cache)
    grads["W1"] = dW1 + reg * W1
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
    velocity = {k: np.zeros_like(p) for k, p in params.items()}
    momentum = 0.9
    for epoch in range(num_epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[batch], y[batch], reg)
            for k in params:
                velocity[k] = momentum * velocity[k] - lr * grads[k]
                params[k] = params[k] + velocity[k]
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 8, "filter_size": 3, "hidden_dim": 64, "lr": 1e-2, "reg": 1e-3,
            "num_epochs": 2, "batch_size": 100}
