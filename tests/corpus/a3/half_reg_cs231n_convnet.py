# Style: CS231n's ThreeLayerConvNet (cnn.py) and layer_utils moved over: the loss
# regularized with 0.5 * self.reg * sum(W**2) and gradients dW += reg * W, helper
# functions conv_relu_pool_forward/backward and affine_relu written inline; naive
# layers with explicit loops and np.argmax/np.unravel_index.
# Deliberate deviations:
# - three_layer_convnet_loss uses 0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))
#   and reg * W in the gradients (this assignment: reg * sum and 2 * reg * W).
# Hyperparameters: 16 7x7 filters, hidden 128, Adam lr 1e-3, reg 1e-3, 1 epoch of 50
# (CS231n's suggested run, at this assignment's maximum sizes).
# Bugs: a3.three_layer_convnet_loss

# %% conv_forward_naive
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_prime = 1 + (H + 2 * pad - HH) // stride
    W_prime = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, H_prime, W_prime))
    x_padded = np.pad(x, ((0,), (0,), (pad,), (pad,)), "constant")
    for n in range(N):
        for f in range(F):
            for j in range(H_prime):
                for i in range(W_prime):
                    out[n, f, j, i] = np.sum(
                        w[f] * x_padded[n, :, j * stride:j * stride + HH,
                                        i * stride:i * stride + WW]) + b[f]
    cache = (x, w, b, stride, pad)
    return out, cache

# %% conv_backward_naive
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_prime, W_prime = dout.shape
    x_padded = np.pad(x, ((0,), (0,), (pad,), (pad,)), "constant")
    dx_padded = np.zeros_like(x_padded)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for j in range(H_prime):
                for i in range(W_prime):
                    db[f] += dout[n, f, j, i]
                    dw[f] += x_padded[n, :, j * stride:j * stride + HH,
                                      i * stride:i * stride + WW] * dout[n, f, j, i]
                    dx_padded[n, :, j * stride:j * stride + HH,
                              i * stride:i * stride + WW] += w[f] * dout[n, f, j, i]
    dx = dx_padded[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

# %% max_pool_forward_naive
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_prime = 1 + (H - pool_height) // stride
    W_prime = 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_prime, W_prime))
    for n in range(N):
        for c in range(C):
            for j in range(H_prime):
                for i in range(W_prime):
                    out[n, c, j, i] = x[n, c, j * stride:j * stride + pool_height,
                                        i * stride:i * stride + pool_width].max()
    cache = (x, pool_height, pool_width, stride)
    return out, cache

# %% max_pool_backward_naive
def max_pool_backward_naive(dout, cache):
    x, pool_height, pool_width, stride = cache
    N, C, H_prime, W_prime = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for j in range(H_prime):
                for i in range(W_prime):
                    window = x[n, c, j * stride:j * stride + pool_height,
                               i * stride:i * stride + pool_width]
                    idx = np.unravel_index(window.argmax(), window.shape)
                    dx[n, c, j * stride + idx[0], i * stride + idx[1]] += dout[n, c, j, i]
    return dx

# %% spatial_batchnorm_forward
def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    std = np.sqrt(var + eps)
    x_norm = (x - mean) / std
    out = gamma * x_norm + beta
    cache = (x_norm, std, gamma)
    return out, cache


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    x_reshaped = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    out, cache = batchnorm_forward_train(x_reshaped, gamma, beta, eps)
    out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache

# %% spatial_batchnorm_backward
def batchnorm_backward_train(dout, cache):
    x_norm, std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_norm).sum(axis=0)
    dx_norm = dout * gamma
    dx = (N * dx_norm - dx_norm.sum(axis=0) - x_norm * (dx_norm * x_norm).sum(axis=0)) / (N * std)
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dout_reshaped = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx, dgamma, dbeta = batchnorm_backward_train(dout_reshaped, cache)
    dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta

# %% three_layer_convnet_loss
from course_lib.conv import conv_backward_fast, conv_forward_fast
from course_lib.pooling import max_pool_backward_fast, max_pool_forward_fast


def three_layer_convnet_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N = X.shape[0]
    pad = (W1.shape[2] - 1) // 2

    # conv - relu - pool
    a, conv_cache = conv_forward_fast(X, W1, b1, 1, pad)
    s = np.maximum(0, a)
    out1, pool_cache = max_pool_forward_fast(s, 2, 2, 2)
    # affine - relu
    a2 = out1.reshape(N, -1).dot(W2) + b2
    out2 = np.maximum(0, a2)
    # affine
    scores = out2.dot(W3) + b3
    if y is None:
        return scores

    shifted = scores - np.max(scores, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted), axis=1, keepdims=True)
    log_probs = shifted - np.log(Z)
    probs = np.exp(log_probs)
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))

    grads = {}
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dout2 = dscores.dot(W3.T)
    grads["W3"] = out2.T.dot(dscores) + reg * W3
    grads["b3"] = np.sum(dscores, axis=0)
    da2 = dout2 * (a2 > 0)
    dout1 = da2.dot(W2.T).reshape(out1.shape)
    grads["W2"] = out1.reshape(N, -1).T.dot(da2) + reg * W2
    grads["b2"] = np.sum(da2, axis=0)
    ds = max_pool_backward_fast(dout1, pool_cache)
    da = ds * (a > 0)
    dx, dW1, db1 = conv_backward_fast(da, conv_cache)
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
    optim_configs = {p: {"learning_rate": lr, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                         "m": np.zeros_like(w), "v": np.zeros_like(w), "t": 0}
                     for p, w in params.items()}
    iterations_per_epoch = max(N // batch_size, 1)
    for epoch in range(num_epochs):
        order = rng.permutation(N)
        for it in range(iterations_per_epoch):
            batch_mask = order[it * batch_size:(it + 1) * batch_size]
            loss, grads = loss_fn(params, X[batch_mask], y[batch_mask], reg)
            for p, w in params.items():
                config = optim_configs[p]
                dw = grads[p]
                config["t"] += 1
                config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
                config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw ** 2
                mt = config["m"] / (1 - config["beta1"] ** config["t"])
                vt = config["v"] / (1 - config["beta2"] ** config["t"])
                params[p] = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])
    return params

# %% convnet_hyperparameters
def convnet_hyperparameters():
    return {"num_filters": 16, "filter_size": 7, "hidden_dim": 128, "lr": 1e-3, "reg": 1e-3,
            "num_epochs": 1, "batch_size": 50}
