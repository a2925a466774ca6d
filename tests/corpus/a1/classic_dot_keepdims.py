# Style: the classic CS231n 2019 solution moved into our functions: X.dot(W),
# keepdims=True, np.argsort + np.bincount, a boolean "binary" mask for the SVM,
# "probs"/"dscores" names from the course notes; clips squared distances at 0.
# Deliberate deviations: none (a fully correct author).
# Hyperparameters: lr 1e-7, reg 2.5e4, 1500 iterations, batch 200 (CS231n's first
# suggested pair).
# Bugs: none

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.sum(np.square(X[i, :] - X_train[j, :])))
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        dists[i, :] = np.sqrt(np.sum(np.square(X_train - X[i, :]), axis=1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    # (x - y)^2 = x^2 + y^2 - 2xy
    test_sq = np.sum(np.square(X), axis=1, keepdims=True)   # (M, 1)
    train_sq = np.sum(np.square(X_train), axis=1)           # (N,)
    cross = X.dot(X_train.T)                                # (M, N)
    dists = np.sqrt(np.maximum(test_sq + train_sq - 2 * cross, 0))
    return dists

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        closest_y = y_train[np.argsort(dists[i])[:k]]
        y_pred[i] = np.argmax(np.bincount(closest_y))
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    X_train_folds = np.array_split(X, num_folds)
    y_train_folds = np.array_split(y, num_folds)
    for fold in range(num_folds):
        X_tr = np.concatenate(X_train_folds[:fold] + X_train_folds[fold + 1:])
        y_tr = np.concatenate(y_train_folds[:fold] + y_train_folds[fold + 1:])
        X_val, y_val = X_train_folds[fold], y_train_folds[fold]
        dists = compute_distances_no_loops(X_val, X_tr)
        for ki, k in enumerate(k_choices):
            y_val_pred = predict_labels(dists, y_tr, k=k)
            accuracies[ki, fold] = np.mean(y_val_pred == y_val)
    return accuracies

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # note delta = 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_class_scores = scores[np.arange(num_train), y].reshape(-1, 1)
    margins = np.maximum(0, scores - correct_class_scores + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)

    binary = margins
    binary[margins > 0] = 1
    row_sum = np.sum(binary, axis=1)
    binary[np.arange(num_train), y] = -row_sum
    dW = X.T.dot(binary) / num_train + 2 * reg * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)  # numeric stability
        p = np.exp(scores) / np.sum(np.exp(scores))
        loss += -np.log(p[y[i]])
        for j in range(num_classes):
            dW[:, j] += (p[j] - (j == y[i])) * X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = np.sum(-np.log(probs[np.arange(num_train), y])) / num_train
    loss += reg * np.sum(W * W)

    dscores = probs.copy()
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train + 2 * reg * W
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
        batch_idx = rng.choice(num_train, batch_size)
        X_batch = X[batch_idx]
        y_batch = y[batch_idx]
        loss, grad = loss_fn(W, X_batch, y_batch, reg)
        loss_history[it] = loss
        W += -lr * grad
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 1e-7, "reg": 2.5e4, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    N, D = X.shape
    h1 = np.maximum(0, X.dot(W1) + b1)
    scores = h1.dot(W2) + b2
    if y is None:
        return scores

    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = np.sum(-np.log(probs[np.arange(N), y])) / N
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

    grads = {}
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads["W2"] = h1.T.dot(dscores) + 2 * reg * W2
    grads["b2"] = np.sum(dscores, axis=0)
    dhidden = dscores.dot(W2.T)
    dhidden[h1 <= 0] = 0
    grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1
    grads["b1"] = np.sum(dhidden, axis=0)
    return loss, grads
