# Style: never keepdims: np.newaxis (and [:, None]) to broadcast row statistics;
# the @ operator; short variable names (N, C, s, p); sums over classes by hand.
# Deliberate deviations:
# - compute_distances_no_loops does not clip the squared distances at 0 before
#   np.sqrt (NaN where rounding makes an identical row's value negative).
# Hyperparameters: lr 1e-7, reg 5e4, 1500 iterations, batch 200 (CS231n's grid).
# Bugs: a1.compute_distances_no_loops

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(((X[i] - X_train[j]) ** 2).sum())
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    dists = np.zeros((num_test, X_train.shape[0]))
    for i in range(num_test):
        dists[i, :] = np.sqrt(((X[i][np.newaxis, :] - X_train) ** 2).sum(axis=1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    test_sq = np.sum(X ** 2, axis=1)
    train_sq = np.sum(X_train ** 2, axis=1)
    dists = np.sqrt(test_sq[:, np.newaxis] + train_sq[np.newaxis, :] - 2 * X @ X_train.T)
    return dists

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        idx = np.argsort(dists[i, :])
        votes = np.bincount(y_train[idx[:k]])
        y_pred[i] = np.argmax(votes)
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    folds = np.array_split(np.arange(len(X)), num_folds)
    for f, val_idx in enumerate(folds):
        train_idx = np.setdiff1d(np.arange(len(X)), val_idx)
        d = compute_distances_no_loops(X[val_idx], X[train_idx])
        for i, k in enumerate(k_choices):
            pred = predict_labels(d, y[train_idx], k=k)
            accuracies[i, f] = (pred == y[val_idx]).mean()
    return accuracies

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(N):
        s = X[i] @ W
        for j in range(C):
            if j == y[i]:
                continue
            m = s[j] - s[y[i]] + 1
            if m > 0:
                loss += m
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * (W ** 2).sum()
    dW = dW / N + 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    s = X @ W
    m = s - s[np.arange(N), y][:, np.newaxis] + 1
    m[np.arange(N), y] = 0
    m = np.maximum(m, 0)
    loss = m.sum() / N + reg * (W ** 2).sum()
    g = (m > 0) * 1.0
    g[np.arange(N), y] = -g.sum(axis=1)
    dW = X.T @ g / N + 2 * reg * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(N):
        s = X[i] @ W
        s = s - s.max()
        e = np.exp(s)
        p = e / e.sum()
        loss -= np.log(p[y[i]])
        p[y[i]] -= 1
        dW += X[i][:, np.newaxis] * p[np.newaxis, :]
    loss = loss / N + reg * (W ** 2).sum()
    dW = dW / N + 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    s = X @ W
    s = s - np.max(s, axis=1)[:, np.newaxis]
    e = np.exp(s)
    p = e / np.sum(e, axis=1)[:, np.newaxis]
    loss = -np.log(p[np.arange(N), y]).sum() / N + reg * (W ** 2).sum()
    p[np.arange(N), y] -= 1
    dW = X.T @ p / N + 2 * reg * W
    return loss, dW

# %% train_linear_classifier
def train_linear_classifier(loss_fn, X, y, lr=1e-7, reg=2.5e4, num_iters=1500,
                            batch_size=200, seed=0):
    rng = np.random.default_rng(seed)
    num_train, dim = X.shape
    num_classes = int(np.max(y)) + 1
    W = 0.001 * rng.standard_normal((dim, num_classes))
    loss_history = np.zeros(num_iters)
    for it in range(num_iters):
        batch = rng.choice(num_train, batch_size)
        loss, dW = loss_fn(W, X[batch], y[batch], reg)
        loss_history[it] = loss
        W -= lr * dW
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 1e-7, "reg": 5e4, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h_in = X @ W1 + b1[np.newaxis, :]
    h = np.maximum(h_in, 0)
    scores = h @ W2 + b2[np.newaxis, :]
    if y is None:
        return scores
    N = X.shape[0]
    s = scores - np.max(scores, axis=1)[:, np.newaxis]
    e = np.exp(s)
    p = e / np.sum(e, axis=1)[:, np.newaxis]
    loss = -np.log(p[np.arange(N), y]).mean() + reg * ((W1 ** 2).sum() + (W2 ** 2).sum())
    p[np.arange(N), y] -= 1
    p /= N
    dh = (p @ W2.T) * (h_in > 0)
    grads = {"W1": X.T @ dh + 2 * reg * W1, "b1": dh.sum(axis=0),
             "W2": h.T @ p + 2 * reg * W2, "b2": p.sum(axis=0)}
    return loss, grads
