# Style: a tidy 2018 solution with the @ operator and np.clip; cross-validation
# through CS231n's k_to_accuracies dict; the two-layer network moved over from
# CS231n 2016's neural_net.py (named layers "fc1"/"fc2", 0.5 * reg).
# Deliberate deviations:
# - two_layer_loss regularizes with 0.5 * reg * (sum(W1**2) + sum(W2**2)) and adds
#   reg * W to the gradients (this assignment: reg * sum and 2 * reg * W). The
#   linear losses use the assignment's convention.
# Hyperparameters: lr 2e-7, reg 1e4, 1500 iterations, batch 200.
# Bugs: a1.two_layer_loss

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test, num_train = X.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.sum((X[i] - X_train[j]) ** 2))
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    dists = np.zeros((num_test, X_train.shape[0]))
    for i in range(num_test):
        dists[i] = np.sqrt(np.sum((X[i] - X_train) ** 2, axis=1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    sq = (X ** 2).sum(axis=1)[:, None] + (X_train ** 2).sum(axis=1)[None, :]
    return np.sqrt(np.clip(sq - 2 * X @ X_train.T, 0, None))

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        k_nearest = y_train[np.argsort(dists[i])[:k]]
        y_pred[i] = np.bincount(k_nearest).argmax()
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    X_train_folds = np.array_split(X, num_folds)
    y_train_folds = np.array_split(y, num_folds)
    k_to_accuracies = {}
    for k in k_choices:
        k_to_accuracies[k] = []
        for i in range(num_folds):
            X_tr = np.concatenate(X_train_folds[:i] + X_train_folds[i + 1:])
            y_tr = np.concatenate(y_train_folds[:i] + y_train_folds[i + 1:])
            dists = compute_distances_no_loops(X_train_folds[i], X_tr)
            y_pred = predict_labels(dists, y_tr, k=k)
            k_to_accuracies[k].append(np.mean(y_pred == y_train_folds[i]))
    return np.array([k_to_accuracies[k] for k in k_choices])

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(num_train):
        scores = X[i] @ W
        correct = scores[y[i]]
        for j in range(num_classes):
            if j != y[i]:
                margin = scores[j] - correct + 1
                if margin > 0:
                    loss += margin
                    dW[:, j] += X[i]
                    dW[:, y[i]] -= X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    margins = scores - scores[np.arange(N), y][:, None] + 1
    margins[np.arange(N), y] = 0
    pos = margins > 0
    loss = np.sum(margins[pos]) / N + reg * np.sum(W * W)
    coef = pos.astype(float)
    coef[np.arange(N), y] = -pos.sum(axis=1)
    dW = X.T @ coef / N + 2 * reg * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(num_train):
        scores = X[i] @ W
        scores = scores - scores.max()
        probs = np.exp(scores) / np.exp(scores).sum()
        loss -= np.log(probs[y[i]])
        dprobs = probs.copy()
        dprobs[y[i]] -= 1
        dW += np.outer(X[i], dprobs)
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean() + reg * np.sum(W * W)
    probs[np.arange(N), y] -= 1
    dW = X.T @ probs / N + 2 * reg * W
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
    return {"lr": 2e-7, "reg": 1e4, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    N, D = X.shape
    fc1 = X @ W1 + b1
    X2 = np.maximum(0, fc1)
    scores = X2 @ W2 + b2
    if y is None:
        return scores
    scores = scores - np.max(scores, axis=1, keepdims=True)
    softmax = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = np.sum(-np.log(softmax[np.arange(N), y])) / N
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

    grads = {}
    dscores = softmax.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads["W2"] = X2.T @ dscores + reg * W2
    grads["b2"] = np.sum(dscores, axis=0)
    dX2 = dscores @ W2.T
    dfc1 = dX2 * (fc1 > 0)
    grads["W1"] = X.T @ dfc1 + reg * W1
    grads["b1"] = np.sum(dfc1, axis=0)
    return loss, grads
