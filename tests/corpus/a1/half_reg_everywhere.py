# Style: CS231n 2016 conventions throughout: the L2 penalty is 0.5 * reg * sum(W * W)
# "so that its gradient is reg * W"; X.dot(W); counts of positive margins with
# np.sum(..., axis=1); in-place updates (W += -lr * dW).
# Deliberate deviations:
# - svm_loss_naive/_vectorized, softmax_loss_naive/_vectorized and two_layer_loss
#   use 0.5 * reg * sum(W**2) in the loss and reg * W in the gradient (this
#   assignment asks for reg * sum(W**2) and 2 * reg * W).
# - compute_distances_no_loops does not clip at 0 before np.sqrt.
# Hyperparameters: lr 1e-7, reg 5e4, 1500 iterations, batch 200 (with the 1/2, the
# same effective penalty as CS231n's 2.5e4).
# Bugs: a1.compute_distances_no_loops, a1.svm_loss_naive, a1.svm_loss_vectorized,
#       a1.softmax_loss_naive, a1.softmax_loss_vectorized, a1.two_layer_loss

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.sum((X[i, :] - X_train[j, :]) ** 2))
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        dists[i, :] = np.sqrt(np.sum((X_train - X[i, :]) ** 2, axis=1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    dists = -2 * X.dot(X_train.T)
    dists += np.sum(X ** 2, axis=1, keepdims=True)
    dists += np.sum(X_train ** 2, axis=1)
    dists = np.sqrt(dists)
    return dists

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        closest_y = list(y_train[np.argsort(dists[i, :])[:k]])
        y_pred[i] = np.argmax(np.bincount(closest_y))
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    X_train_folds = np.array_split(X, num_folds)
    y_train_folds = np.array_split(y, num_folds)
    for n in range(num_folds):
        X_tr = np.concatenate(X_train_folds[:n] + X_train_folds[n + 1:], axis=0)
        y_tr = np.concatenate(y_train_folds[:n] + y_train_folds[n + 1:], axis=0)
        dists = compute_distances_no_loops(X_train_folds[n], X_tr)
        for i in range(len(k_choices)):
            y_pred = predict_labels(dists, y_tr, k=k_choices[i])
            accuracies[i, n] = np.mean(y_pred == y_train_folds[n])
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
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += 0.5 * reg * np.sum(W * W)
    dW += reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_class_scores = scores[np.arange(num_train), y]
    margins = np.maximum(0, scores - correct_class_scores[:, np.newaxis] + 1.0)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train
    loss += 0.5 * reg * np.sum(W * W)

    X_mask = np.zeros(margins.shape)
    X_mask[margins > 0] = 1
    incorrect_counts = np.sum(X_mask, axis=1)
    X_mask[np.arange(num_train), y] = -incorrect_counts
    dW = X.T.dot(X_mask) / num_train
    dW += reg * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        f_i = X[i].dot(W)
        f_i -= np.max(f_i)
        sum_j = np.sum(np.exp(f_i))
        p = lambda k: np.exp(f_i[k]) / sum_j
        loss += -np.log(p(y[i]))
        for k in range(num_classes):
            p_k = p(k)
            dW[:, k] += (p_k - (k == y[i])) * X[i]
    loss /= num_train
    loss += 0.5 * reg * np.sum(W * W)
    dW /= num_train
    dW += reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    f = X.dot(W)
    f -= np.max(f, axis=1, keepdims=True)
    sum_f = np.sum(np.exp(f), axis=1, keepdims=True)
    p = np.exp(f) / sum_f
    loss = np.sum(-np.log(p[np.arange(num_train), y]))
    ind = np.zeros_like(p)
    ind[np.arange(num_train), y] = 1
    dW = X.T.dot(p - ind)
    loss /= num_train
    loss += 0.5 * reg * np.sum(W * W)
    dW /= num_train
    dW += reg * W
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
        indices = rng.choice(num_train, batch_size)
        X_batch = X[indices]
        y_batch = y[indices]
        loss, grad = loss_fn(W, X_batch, y_batch, reg)
        loss_history[it] = loss
        W += -lr * grad
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 1e-7, "reg": 5e4, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    N, D = X.shape
    hidden_layer = np.maximum(0, X.dot(W1) + b1)
    scores = hidden_layer.dot(W2) + b2
    if y is None:
        return scores

    exp_scores = np.exp(scores - np.max(scores, axis=1, keepdims=True))
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    correct_logprobs = -np.log(probs[range(N), y])
    data_loss = np.sum(correct_logprobs) / N
    reg_loss = 0.5 * reg * np.sum(W1 * W1) + 0.5 * reg * np.sum(W2 * W2)
    loss = data_loss + reg_loss

    grads = {}
    dscores = probs
    dscores[range(N), y] -= 1
    dscores /= N
    grads["W2"] = np.dot(hidden_layer.T, dscores) + reg * W2
    grads["b2"] = np.sum(dscores, axis=0)
    dhidden = np.dot(dscores, W2.T)
    dhidden[hidden_layer <= 0] = 0
    grads["W1"] = np.dot(X.T, dhidden) + reg * W1
    grads["b1"] = np.sum(dhidden, axis=0)
    return loss, grads
