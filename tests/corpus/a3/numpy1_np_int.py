# Style: a 2017 solution from the numpy 1.x days: output sizes as np.int(1 + (...) / stride),
# np.pad with mode='constant', loops over n, f, i, j; spatial batchnorm through the A2
# batchnorm; the network's loss in CS231n's 0.5 * reg convention.
# Deliberate deviations:
# - conv_forward_naive and max_pool_forward_naive call np.int (AttributeError under
#   numpy >= 1.24: np.int was an alias of int; write int(...) or use //), so they
#   fail on every input, and the backward passes, graded on their caches, with them;
# - three_layer_convnet_loss uses 0.5 * reg * sum(W**2) and reg * W.
# Hyperparameters: 8 5x5 filters, hidden 100, Adam lr 1e-3, reg 1e-3, 2 epochs of 50.
# Bugs: a3.conv_forward_naive, a3.max_pool_forward_naive, a3.three_layer_convnet_loss

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = np.int(1 + (H + 2 * pad - HH) / stride)
    W_out = np.int(1 + (W + 2 * pad - WW) / stride)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, f, i, j] = np.sum(
                        x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                        * w[f, :, :, :]) + b[f]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(b.shape)
    for n in range(N):
        for f in range(F):
            db[f] += np.sum(dout[n, f, :, :])
            for i in range(H_out):
                for j in range(W_out):
                    dw[f, :, :, :] += x_pad[n, :, i * stride:i * stride + HH,
                                            j * stride:j * stride + WW] * dout[n, f, i, j]
                    dx_pad[n, :, i * stride:i * stride + HH,
                           j * stride:j * stride + WW] += w[f, :, :, :] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out = np.int(1 + (H - pool_height) / stride)
    W_out = np.int(1 + (W - pool_width) / stride)
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = np.max(x[n, c, i * stride:i * stride + pool_height,
                                               j * stride:j * stride + pool_width])
    cache = (x, pool_height, pool_width, stride)
    return out, cache

# %% max_pool_backward_naive
def max_pool_backward_naive(dout, cache):
    x, pool_height, pool_width, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + pool_height,
                               j * stride:j * stride + pool_width]
                    max_idx = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + max_idx[0], j * stride + max_idx[1]] += dout[n, c, i, j]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    sample_mean = np.mean(x, axis=0)
    sample_var = np.var(x, axis=0)
    x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
    out = gamma * x_hat + beta
    cache = (x, x_hat, sample_mean, sample_var, gamma, eps)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    x_new = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    out, cache = batchnorm_forward_train(x_new, gamma, beta, eps)
    out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x, x_hat, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(x_hat * dout, axis=0)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * (x - mean) * -0.5 * np.power(var + eps, -1.5), axis=0)
    dmean = np.sum(dx_hat * -1 / np.sqrt(var + eps), axis=0) + dvar * np.mean(-2 * (x - mean), axis=0)
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mean) / N + dmean / N
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dout_new = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx, dgamma, dbeta = batchnorm_backward_train(dout_new, cache)
    dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2
    conv_out, conv_cache = conv_forward_fast(X, W1, b1, stride=1, pad=pad)
    relu_out = np.maximum(0, conv_out)
    pool_out, pool_cache = max_pool_forward_fast(relu_out, 2, 2, 2)
    fc_in = pool_out.reshape(N, -1)
    fc_out = fc_in.dot(W2) + b2
    hidden = np.maximum(0, fc_out)
    scores = hidden.dot(W3) + b3
    if y is None:
        return scores
    shift_scores = scores - np.max(scores, axis=1).reshape(-1, 1)
    softmax_output = np.exp(shift_scores) / np.sum(np.exp(shift_scores), axis=1).reshape(-1, 1)
    loss = -np.sum(np.log(softmax_output[range(N), list(y)])) / N
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
    grads = {}
    dscores = softmax_output.copy()
    dscores[range(N), list(y)] -= 1
    dscores /= N
    grads["W3"] = hidden.T.dot(dscores) + reg * W3
    grads["b3"] = np.sum(dscores, axis=0)
    dhidden = dscores.dot(W3.T)
    dfc = dhidden * (fc_out > 0)
    grads["W2"] = fc_in.T.dot(dfc) + reg * W2
    grads["b2"] = np.sum(dfc, axis=0)
    dpool = dfc.dot(W2.T).reshape(pool_out.shape)
    drelu = max_pool_backward_fast(dpool, pool_cache)
    dconv = drelu * (conv_out > 0)
    _, dW1, db1 = conv_backward_fast(dconv, conv_cache)
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
    m = {}
    v = {}
    for k in params:
        m[k] = np.zeros(params[k].shape)
        v[k] = np.zeros(params[k].shape)
    t = 0
    for epoch in range(num_epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[batch], y[batch], reg)
            t = t + 1
            for k in params:
                m[k] = 0.9 * m[k] + (1 - 0.9) * grads[k]
                v[k] = 0.999 * v[k] + (1 - 0.999) * (grads[k] ** 2)
                mb = m[k] / (1 - 0.9 ** t)
                vb = v[k] / (1 - 0.999 ** t)
                params[k] = params[k] - lr * mb / (np.sqrt(vb) + 1e-8)
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 8, "filter_size": 5, "hidden_dim": 100, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 2, "batch_size": 50}
