# Style: compact numpy with the @ operator and keepdims for the SVM; the softmax
# functions are written from the "numeric stability" remark of the course notes,
# read as "subtract the largest score".
# Deliberate deviations:
# - softmax_loss_vectorized and two_layer_loss subtract the GLOBAL maximum score
#   (np.max(scores)) instead of each row's maximum: exp underflows to 0 and the
#   loss becomes inf when two rows' scores are far apart (the naive version takes
#   each sample's own maximum and is correct).
# Hyperparameters: lr 5e-7, reg 5e4, 1500 iterations, batch 200 (CS231n's grid).
# Bugs: a1.softmax_loss_vectorized, a1.two_layer_loss

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test, num_train = X.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            diff = X[i] - X_train[j]
            dists[i, j] = np.sqrt(diff @ diff)
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    dists = np.zeros((num_test, X_train.shape[0]))
    for i in range(num_test):
        dists[i] = np.sqrt(np.sum((X_train - X[i]) ** 2, axis=1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    d2 = (np.sum(X ** 2, axis=1, keepdims=True) + np.sum(X_train ** 2, axis=1)
          - 2 * X @ X_train.T)
    return np.sqrt(np.maximum(0, d2))

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        labels = y_train[np.argsort(dists[i])[:k]]
        y_pred[i] = np.bincount(labels).argmax()
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    folds = np.array_split(np.arange(len(X)), num_folds)
    for f in range(num_folds):
        tr = np.hstack(folds[:f] + folds[f + 1:])
        va = folds[f]
        dists = compute_distances_no_loops(X[va], X[tr])
        for i, k in enumerate(k_choices):
            accuracies[i, f] = np.mean(predict_labels(dists, y[tr], k) == y[va])
    return accuracies

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(num_train):
        scores = X[i] @ W
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
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
    correct = scores[np.arange(N), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N + reg * np.sum(W * W)
    counts = (margins > 0).astype(float)
    counts[np.arange(N), y] -= counts.sum(axis=1)
    dW = X.T @ counts / N + 2 * reg * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(num_train):
        scores = X[i] @ W
        scores -= np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss += -np.log(probs[y[i]])
        for j in range(num_classes):
            dW[:, j] += X[i] * (probs[j] - (j == y[i]))
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    scores -= np.max(scores)  # numeric stability
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y])) + reg * np.sum(W * W)
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
        loss, grad = loss_fn(W, X[batch], y[batch], reg)
        loss_history[it] = loss
        W -= lr * grad
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 5e-7, "reg": 5e4, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden = np.maximum(0, X @ W1 + b1)
    scores = hidden @ W2 + b2
    if y is None:
        return scores
    N = X.shape[0]
    scores = scores - np.max(scores)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dhidden = dscores @ W2.T
    dhidden[hidden <= 0] = 0
    grads = {"W2": hidden.T @ dscores + 2 * reg * W2, "b2": dscores.sum(axis=0),
             "W1": X.T @ dhidden + 2 * reg * W1, "b1": dhidden.sum(axis=0)}
    return loss, grads
