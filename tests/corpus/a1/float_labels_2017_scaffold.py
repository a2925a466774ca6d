# Style: the CS231n 2017 k_nearest_neighbor.py pasted in whole, including its
# scaffold line y_pred = np.zeros(num_test) (a float array); np.sum(np.square(...))
# everywhere; the SVM gradient counted with np.sum(margins > 0).
# Deliberate deviations:
# - predict_labels returns float labels (y_pred = np.zeros(num_test)): every value
#   is right but the dtype is not an integer one;
# - compute_distances_no_loops does not clip at 0 before np.sqrt.
# Hyperparameters: lr 1e-6, reg 1e3, 1500 iterations, batch 200 (what a student's
# own grid search picked).
# Bugs: a1.compute_distances_no_loops, a1.predict_labels

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.sum(np.square(X[i] - X_train[j])))
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        dists[i] = np.sqrt(np.sum(np.square(X_train - X[i]), axis=1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    dists = np.sqrt(-2 * np.dot(X, X_train.T) + np.sum(np.square(X_train), axis=1)
                    + np.transpose([np.sum(np.square(X), axis=1)]))
    return dists

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test)
    for i in range(num_test):
        closest_y = []
        closest_y = y_train[np.argsort(dists[i])[:k]]
        y_pred[i] = np.argmax(np.bincount(closest_y))
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    X_train_folds = np.array_split(X, num_folds)
    y_train_folds = np.array_split(y, num_folds)
    for i in range(num_folds):
        X_tr = np.vstack(X_train_folds[0:i] + X_train_folds[i + 1:])
        y_tr = np.hstack(y_train_folds[0:i] + y_train_folds[i + 1:])
        dists = compute_distances_no_loops(X_train_folds[i], X_tr)
        for j, k in enumerate(k_choices):
            y_val_pred = predict_labels(dists, y_tr, k=k)
            num_correct = np.sum(y_val_pred == y_train_folds[i])
            accuracies[j, i] = float(num_correct) / y_train_folds[i].shape[0]
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
        num_positive = 0
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                num_positive += 1
                dW[:, j] += X[i]
        dW[:, y[i]] -= num_positive * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(np.square(W))
    dW += 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_class_scores = scores[np.arange(num_train), y]
    margins = np.maximum(0, scores - np.matrix(correct_class_scores).T + 1)
    margins = np.asarray(margins)
    margins[np.arange(num_train), y] = 0
    loss = np.mean(np.sum(margins, axis=1)) + reg * np.sum(np.square(W))
    binary = margins
    binary[margins > 0] = 1
    binary[np.arange(num_train), y] = -np.sum(binary, axis=1)
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
        scores -= np.max(scores)
        correct_class_score = scores[y[i]]
        exp_sum = np.sum(np.exp(scores))
        loss += np.log(exp_sum) - correct_class_score
        dW[:, y[i]] -= X[i]
        for j in range(num_classes):
            dW[:, j] += np.exp(scores[j]) / exp_sum * X[i]
    loss = loss / num_train + reg * np.sum(np.square(W))
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    correct_class_score = scores[np.arange(num_train), y]
    exp_sum = np.sum(np.exp(scores), axis=1)
    loss = np.mean(np.log(exp_sum) - correct_class_score) + reg * np.sum(np.square(W))
    margin = np.exp(scores) / exp_sum.reshape(num_train, 1)
    margin[np.arange(num_train), y] += -1
    dW = X.T.dot(margin) / num_train + 2 * reg * W
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
        batch_inx = rng.choice(num_train, batch_size)
        X_batch = X[batch_inx, :]
        y_batch = y[batch_inx]
        loss, grad = loss_fn(W, X_batch, y_batch, reg)
        loss_history[it] = loss
        W = W - lr * grad
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 1e-6, "reg": 1e3, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    N, D = X.shape
    h_output = np.maximum(0, X.dot(W1) + b1)
    scores = h_output.dot(W2) + b2
    if y is None:
        return scores
    shift_scores = scores - np.max(scores, axis=1).reshape(-1, 1)
    softmax_output = np.exp(shift_scores) / np.sum(np.exp(shift_scores), axis=1).reshape(-1, 1)
    loss = -np.sum(np.log(softmax_output[range(N), list(y)])) / N
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    grads = {}
    dscores = softmax_output.copy()
    dscores[range(N), list(y)] -= 1
    dscores /= N
    grads["W2"] = h_output.T.dot(dscores) + 2 * reg * W2
    grads["b2"] = np.sum(dscores, axis=0)
    dh = dscores.dot(W2.T)
    dh_ReLu = (h_output > 0) * dh
    grads["W1"] = X.T.dot(dh_ReLu) + 2 * reg * W1
    grads["b1"] = np.sum(dh_ReLu, axis=0)
    return loss, grads
