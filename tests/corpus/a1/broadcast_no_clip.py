# Style: the most common public solution: np.dot everywhere, reshape(-1, 1) for
# broadcasting, range(num_train) fancy indexing, np.linalg.norm in the loops,
# lists + np.vstack/np.hstack for the folds.
# Deliberate deviations:
# - compute_distances_no_loops takes np.sqrt of |a|^2 + |b|^2 - 2ab without clipping
#   at 0 (rounding makes identical rows slightly negative: NaN on some inputs).
# Hyperparameters: lr 5e-7, reg 2.5e4, 1500 iterations, batch 200 (CS231n's grid).
# Bugs: a1.compute_distances_no_loops

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i][j] = np.linalg.norm(X[i] - X_train[j])
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        dists[i] = np.sqrt(np.sum((X_train - X[i]) ** 2, axis=1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    dists = np.sqrt(np.sum(X ** 2, axis=1).reshape(-1, 1) + np.sum(X_train ** 2, axis=1)
                    - 2 * np.dot(X, X_train.T))
    return dists

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        closest_y = y_train[np.argsort(dists[i])][:k]
        y_pred[i] = np.argmax(np.bincount(closest_y))
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    X_train_folds = np.array_split(X, num_folds)
    y_train_folds = np.array_split(y, num_folds)
    for i, k in enumerate(k_choices):
        for j in range(num_folds):
            X_tr = np.vstack(X_train_folds[:j] + X_train_folds[j + 1:])
            y_tr = np.hstack(y_train_folds[:j] + y_train_folds[j + 1:])
            dists = compute_distances_no_loops(X_train_folds[j], X_tr)
            y_pred = predict_labels(dists, y_tr, k)
            accuracies[i, j] = np.sum(y_pred == y_train_folds[j]) / len(y_train_folds[j])
    return accuracies

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = np.dot(X[i], W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i].T
                dW[:, y[i]] += -X[i].T
    loss /= num_train
    loss += reg * np.sum(W ** 2)
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = np.dot(X, W)
    correct = scores[range(num_train), y]
    margins = np.maximum(0, scores - correct.reshape(-1, 1) + 1)
    margins[range(num_train), y] = 0
    loss = margins.sum() / num_train + reg * np.sum(W ** 2)

    mask = (margins > 0).astype(int)
    mask[range(num_train), y] = -mask.sum(axis=1)
    dW = np.dot(X.T, mask) / num_train + 2 * reg * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        f = np.dot(X[i], W)
        f -= np.max(f)
        sum_exp = np.sum(np.exp(f))
        loss += -f[y[i]] + np.log(sum_exp)
        for j in range(num_classes):
            p = np.exp(f[j]) / sum_exp
            dW[:, j] += (p - (j == y[i])) * X[i]
    loss /= num_train
    loss += reg * np.sum(W ** 2)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    f = np.dot(X, W)
    f -= f.max(axis=1).reshape(-1, 1)
    exp_f = np.exp(f)
    p = exp_f / exp_f.sum(axis=1).reshape(-1, 1)
    loss = -np.sum(np.log(p[range(num_train), y])) / num_train + reg * np.sum(W ** 2)
    p[range(num_train), y] -= 1
    dW = np.dot(X.T, p) / num_train + 2 * reg * W
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
        idx = rng.choice(num_train, batch_size)
        loss, grad = loss_fn(W, X[idx, :], y[idx], reg)
        loss_history[it] = loss
        W = W - lr * grad
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 5e-7, "reg": 2.5e4, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    N, D = X.shape
    z1 = np.dot(X, W1) + b1
    a1 = np.maximum(0, z1)
    scores = np.dot(a1, W2) + b2
    if y is None:
        return scores

    f = scores - scores.max(axis=1).reshape(-1, 1)
    p = np.exp(f) / np.exp(f).sum(axis=1).reshape(-1, 1)
    loss = -np.sum(np.log(p[range(N), y])) / N
    loss += reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))

    grads = {}
    dscores = p.copy()
    dscores[range(N), y] -= 1
    dscores /= N
    grads["W2"] = np.dot(a1.T, dscores) + 2 * reg * W2
    grads["b2"] = np.sum(dscores, axis=0)
    da1 = np.dot(dscores, W2.T)
    dz1 = da1 * (z1 > 0)
    grads["W1"] = np.dot(X.T, dz1) + 2 * reg * W1
    grads["b1"] = np.sum(dz1, axis=0)
    return loss, grads
