# Style: einsum for every product and sum of squares, log-sum-exp written out,
# np.argpartition for the k nearest, np.clip(..., 0, None) before the square root.
# Deliberate deviations: none (a fully correct author).
# Hyperparameters: lr 1e-6, reg 1e4, 1000 iterations, batch 256.
# Bugs: none

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test, num_train = X.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            d = X[i] - X_train[j]
            dists[i, j] = np.sqrt(np.einsum("i,i->", d, d))
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    dists = np.zeros((num_test, X_train.shape[0]))
    for i in range(num_test):
        diff = X_train - X[i]
        dists[i] = np.sqrt(np.einsum("nd,nd->n", diff, diff))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    sq_test = np.einsum("md,md->m", X, X)
    sq_train = np.einsum("nd,nd->n", X_train, X_train)
    cross = np.einsum("md,nd->mn", X, X_train)
    d2 = sq_test[:, None] + sq_train[None, :] - 2 * cross
    return np.sqrt(np.clip(d2, 0, None))

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        nearest = np.argpartition(dists[i], k - 1)[:k]
        y_pred[i] = np.bincount(y_train[nearest]).argmax()
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    folds = np.array_split(np.arange(len(X)), num_folds)
    for f in range(num_folds):
        val = folds[f]
        train = np.concatenate([folds[g] for g in range(num_folds) if g != f])
        dists = compute_distances_no_loops(X[val], X[train])
        for i, k in enumerate(k_choices):
            accuracies[i, f] = np.mean(predict_labels(dists, y[train], k) == y[val])
    return accuracies

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(num_train):
        s = np.einsum("d,dc->c", X[i], W)
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = s[j] - s[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / num_train + reg * np.einsum("ij,ij->", W, W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    s = np.einsum("nd,dc->nc", X, W)
    margins = np.maximum(0.0, s - s[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / N + reg * np.einsum("ij,ij->", W, W)
    coeff = (margins > 0).astype(np.float64)
    coeff[rows, y] = -coeff.sum(axis=1)
    dW = np.einsum("nd,nc->dc", X, coeff) / N + 2 * reg * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(num_train):
        s = np.einsum("d,dc->c", X[i], W)
        s = s - s.max()
        log_z = np.log(np.sum(np.exp(s)))
        loss += log_z - s[y[i]]
        for j in range(num_classes):
            dW[:, j] += (np.exp(s[j] - log_z) - (j == y[i])) * X[i]
    loss = loss / num_train + reg * np.einsum("ij,ij->", W, W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    s = np.einsum("nd,dc->nc", X, W)
    s = s - s.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -log_p[rows, y].mean() + reg * np.einsum("ij,ij->", W, W)
    g = np.exp(log_p)
    g[rows, y] -= 1.0
    dW = np.einsum("nd,nc->dc", X, g) / N + 2 * reg * W
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
        b = rng.choice(num_train, batch_size)
        loss_history[it], dW = loss_fn(W, X[b], y[b], reg)
        W -= lr * dW
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 1e-6, "reg": 1e4, "num_iters": 1000, "batch_size": 256}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z = np.einsum("nd,dh->nh", X, W1) + b1
    h = np.maximum(z, 0)
    scores = np.einsum("nh,hc->nc", h, W2) + b2
    if y is None:
        return scores
    N = X.shape[0]
    rows = np.arange(N)
    s = scores - scores.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -log_p[rows, y].mean()
    loss += reg * (np.einsum("ij,ij->", W1, W1) + np.einsum("ij,ij->", W2, W2))
    ds = np.exp(log_p)
    ds[rows, y] -= 1.0
    ds /= N
    dh = np.einsum("nc,hc->nh", ds, W2) * (z > 0)
    grads = {"W1": np.einsum("nd,nh->dh", X, dh) + 2 * reg * W1, "b1": dh.sum(axis=0),
             "W2": np.einsum("nh,nc->hc", h, ds) + 2 * reg * W2, "b2": ds.sum(axis=0)}
    return loss, grads
