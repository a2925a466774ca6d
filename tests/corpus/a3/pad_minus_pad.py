# Style: the common public conv solution: loops over n, f, then output positions,
# np.pad with mode="constant", the gradient of the padded input cropped with
# negative indices; pooling with a boolean mask of the maximum.
# Deliberate deviations:
# - conv_backward_naive crops dx_pad[:, :, pad:-pad, pad:-pad]: with pad = 0 the
#   slice 0:-0 is empty and dx has shape (N, C, 0, W) (right for every pad >= 1);
# - max_pool_backward_naive routes the gradient with the mask window == max, which
#   gives it to every tied maximum (the rule here: only the first).
# Hyperparameters: 16 3x3 filters, hidden 100, Adam lr 1e-3, reg 1e-3, 2 epochs of 64.
# Bugs: a3.conv_backward_naive, a3.max_pool_backward_naive

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = int(1 + (H + 2 * pad - HH) / stride)
    W_out = int(1 + (W + 2 * pad - WW) / stride)
    out = np.zeros((N, F, H_out, W_out))
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant", constant_values=0)
    for n in range(N):
        for f in range(F):
            for h_out in range(H_out):
                for w_out in range(W_out):
                    out[n, f, h_out, w_out] = np.sum(
                        x_pad[n, :, h_out * stride:h_out * stride + HH,
                              w_out * stride:w_out * stride + WW] * w[f, :]) + b[f]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant", constant_values=0)
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            db[f] += np.sum(dout[n, f])
            for h_out in range(H_out):
                for w_out in range(W_out):
                    window = x_pad[n, :, h_out * stride:h_out * stride + HH,
                                   w_out * stride:w_out * stride + WW]
                    dw[f] += window * dout[n, f, h_out, w_out]
                    dx_pad[n, :, h_out * stride:h_out * stride + HH,
                           w_out * stride:w_out * stride + WW] += w[f] * dout[n, f, h_out, w_out]
    dx = dx_pad[:, :, pad:-pad, pad:-pad]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out = int(1 + (H - pool_height) / stride)
    W_out = int(1 + (W - pool_width) / stride)
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for h in range(H_out):
                for w in range(W_out):
                    out[n, c, h, w] = np.max(x[n, c, h * stride:h * stride + pool_height,
                                               w * stride:w * stride + pool_width])
    cache = (x, pool_height, pool_width, stride)
    return out, cache

# %% max_pool_backward_naive
def max_pool_backward_naive(dout, cache):
    x, pool_height, pool_width, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for h in range(H_out):
                for w in range(W_out):
                    window = x[n, c, h * stride:h * stride + pool_height,
                               w * stride:w * stride + pool_width]
                    mask = window == np.max(window)
                    dx[n, c, h * stride:h * stride + pool_height,
                       w * stride:w * stride + pool_width] += mask * dout[n, c, h, w]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mu = np.mean(x, axis=0)
    xmu = x - mu
    var = np.mean(xmu ** 2, axis=0)
    sqrtvar = np.sqrt(var + eps)
    xhat = xmu / sqrtvar
    out = gamma * xhat + beta
    cache = (xhat, gamma, xmu, sqrtvar)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    x_t = np.transpose(x, (0, 2, 3, 1)).reshape((N * H * W, C))
    out_t, cache = batchnorm_forward_train(x_t, gamma, beta, eps)
    out = np.transpose(out_t.reshape((N, H, W, C)), (0, 3, 1, 2))
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    xhat, gamma, xmu, sqrtvar = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xmu, axis=0) * -0.5 / sqrtvar ** 3
    dmu = -np.sum(dxhat, axis=0) / sqrtvar
    dx = dxhat / sqrtvar + dvar * 2 * xmu / N + dmu / N
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dout_t = np.transpose(dout, (0, 2, 3, 1)).reshape((N * H * W, C))
    dx_t, dgamma, dbeta = batchnorm_backward_train(dout_t, cache)
    dx = np.transpose(dx_t.reshape((N, H, W, C)), (0, 3, 1, 2))
    return dx, dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    a1, cache_conv = conv_forward_fast(X, W1, b1, stride=1, pad=pad)
    r1 = np.maximum(a1, 0)
    p1, cache_pool = max_pool_forward_fast(r1, pool_height=2, pool_width=2, stride=2)
    a2 = p1.reshape(N, -1) @ W2 + b2
    r2 = np.maximum(a2, 0)
    scores = r2 @ W3 + b3
    if y is None:
        return scores
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    loss += reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2) + np.sum(W3 ** 2))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W3": r2.T @ dscores + 2 * reg * W3, "b3": dscores.sum(axis=0)}
    da2 = (dscores @ W3.T) * (a2 > 0)
    grads["W2"] = p1.reshape(N, -1).T @ da2 + 2 * reg * W2
    grads["b2"] = da2.sum(axis=0)
    dp1 = (da2 @ W2.T).reshape(p1.shape)
    dr1 = max_pool_backward_fast(dp1, cache_pool)
    da1 = dr1 * (a1 > 0)
    _, dW1, db1 = conv_backward_fast(da1, cache_conv)
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
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    t = 0
    for epoch in range(num_epochs):
        perm = rng.permutation(N)
        for i in range(0, N, batch_size):
            batch = perm[i:i + batch_size]
            _, grads = loss_fn(params, X[batch], y[batch], reg)
            t += 1
            for k in params:
                m[k] = 0.9 * m[k] + 0.1 * grads[k]
                v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
                params[k] -= lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 16, "filter_size": 3, "hidden_dim": 100, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 2, "batch_size": 64}
