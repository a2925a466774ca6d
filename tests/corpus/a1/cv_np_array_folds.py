# Style: CS231n's cross-validation recipe with the folds kept as one numpy array
# (np.array of np.array_split, np.delete of the validation fold, np.vstack), a
# k_to_accuracies dict, np.dot and X[i, :] indexing.
# Deliberate deviations:
# - cross_validate_k builds np.array(np.array_split(X, num_folds)): with folds of
#   unequal size (43 rows in 4 folds) numpy 2 raises "inhomogeneous shape"; equal
#   folds work. The crash is in cross_validate_k itself.
# - compute_distances_no_loops does not clip at 0 before np.sqrt (so on some seeds
#   it fails too, and cross_validate_k calls it).
# Hyperparameters: lr 3e-7, reg 3e4, 1000 iterations, batch 200.
# Bugs: a1.compute_distances_no_loops, a1.cross_validate_k

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.dot(X[i, :] - X_train[j, :], X[i, :] - X_train[j, :]))
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        dists[i, :] = np.sqrt(np.sum((X_train - X[i, :]) ** 2, 1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    M = np.dot(X, X_train.T)
    te = np.square(X).sum(axis=1)
    tr = np.square(X_train).sum(axis=1)
    dists = np.sqrt(-2 * M + tr + np.matrix(te).T)
    return np.asarray(dists)

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        closest_y = y_train[np.argsort(dists[i, :])[:k]]
        y_pred[i] = np.bincount(closest_y).argmax()
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    X_train_folds = np.array(np.array_split(X, num_folds))
    y_train_folds = np.array(np.array_split(y, num_folds))
    k_to_accuracies = {}
    for k in k_choices:
        k_to_accuracies[k] = []
        for i in range(num_folds):
            X_tr = np.vstack(np.delete(X_train_folds, i, axis=0))
            y_tr = np.hstack(np.delete(y_train_folds, i, axis=0))
            dists = compute_distances_no_loops(X_train_folds[i], X_tr)
            y_val_pred = predict_labels(dists, y_tr, k=k)
            k_to_accuracies[k].append(np.mean(y_val_pred == y_train_folds[i]))
    accuracies = np.zeros((len(k_choices), num_folds))
    for idx, k in enumerate(k_choices):
        accuracies[idx] = k_to_accuracies[k]
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
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, y[i]] -= X[i, :]
                dW[:, j] += X[i, :]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += reg * 2 * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_class_scores = scores[np.arange(num_train), y]
    margins = scores - correct_class_scores[:, np.newaxis] + 1
    margins[np.arange(num_train), y] = 0
    margins[margins < 0] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)
    margins[margins > 0] = 1
    margins[np.arange(num_train), y] = -np.sum(margins, axis=1)
    dW = X.T.dot(margins) / num_train + reg * 2 * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= scores.max()
        scores_expsum = np.sum(np.exp(scores))
        cor_ex = np.exp(scores[y[i]])
        loss += -np.log(cor_ex / scores_expsum)
        dW[:, y[i]] += (-1) * (scores_expsum - cor_ex) / scores_expsum * X[i]
        for j in range(num_classes):
            if j == y[i]:
                continue
            dW[:, j] += np.exp(scores[j]) / scores_expsum * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    scores_expsum = np.sum(np.exp(scores), axis=1)
    cor_ex = np.exp(scores[np.arange(num_train), y])
    loss = -np.sum(np.log(cor_ex / scores_expsum)) / num_train + reg * np.sum(W * W)
    s = np.exp(scores) / scores_expsum.reshape(num_train, 1)
    s[np.arange(num_train), y] = -(scores_expsum - cor_ex) / scores_expsum
    dW = X.T.dot(s) / num_train + 2 * reg * W
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
        mask = rng.choice(num_train, batch_size)
        X_batch = X[mask]
        y_batch = y[mask]
        loss, grad = loss_fn(W, X_batch, y_batch, reg)
        loss_history[it] = loss
        W -= lr * grad
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 3e-7, "reg": 3e4, "num_iters": 1000, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    N, D = X.shape
    h1 = np.maximum(0, X.dot(W1) + b1)
    scores = h1.dot(W2) + b2
    if y is None:
        return scores
    scores = scores - scores.max(axis=1, keepdims=True)
    scores_expsum = np.sum(np.exp(scores), axis=1)
    cor_ex = np.exp(scores[np.arange(N), y])
    loss = -np.sum(np.log(cor_ex / scores_expsum)) / N
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    grads = {}
    s = np.exp(scores) / scores_expsum.reshape(N, 1)
    s[np.arange(N), y] -= 1
    s /= N
    grads["W2"] = h1.T.dot(s) + 2 * reg * W2
    grads["b2"] = np.sum(s, axis=0)
    dh1 = s.dot(W2.T) * (h1 > 0)
    grads["W1"] = X.T.dot(dh1) + 2 * reg * W1
    grads["b1"] = np.sum(dh1, axis=0)
    return loss, grads
