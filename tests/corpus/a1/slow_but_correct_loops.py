# Style: a careful beginner who trusts loops: scalar loops over features in the
# two-loop distances, a Python dict for the votes, loops over samples even in
# the "vectorized" losses (correct values, slow), math module for scalars.
# Deliberate deviations:
# - svm_loss_vectorized and softmax_loss_vectorized loop over the samples (they
#   lose the "no Python loops" point; their values are right);
# - the graded softmax training therefore runs a Python loop over 200 samples in
#   each of 1500 steps: slow but correct.
# Hyperparameters: lr 1e-7, reg 2.5e4, 1500 iterations, batch 200 (CS231n's grid).
# Bugs: a1.svm_loss_vectorized, a1.softmax_loss_vectorized

# %% compute_distances_two_loops
import math


def compute_distances_two_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            total = 0.0
            for d in range(X.shape[1]):
                total += (X[i, d] - X_train[j, d]) ** 2
            dists[i, j] = math.sqrt(total)
    return dists

# %% compute_distances_one_loop
def compute_distances_one_loop(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        differences = X_train - X[i]
        squares = differences * differences
        dists[i] = np.sqrt(squares.sum(axis=1))
    return dists

# %% compute_distances_no_loops
def compute_distances_no_loops(X, X_train):
    test_norms = (X * X).sum(axis=1).reshape(-1, 1)
    train_norms = (X_train * X_train).sum(axis=1).reshape(1, -1)
    squared = test_norms + train_norms - 2.0 * np.matmul(X, X_train.T)
    squared[squared < 0] = 0.0
    return np.sqrt(squared)

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        order = np.argsort(dists[i])
        votes = {}
        for n in range(k):
            label = int(y_train[order[n]])
            votes[label] = votes.get(label, 0) + 1
        best_count = max(votes.values())
        y_pred[i] = min(label for label, count in votes.items() if count == best_count)
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    folds = np.array_split(np.arange(len(X)), num_folds)
    for f in range(num_folds):
        train_rows = []
        for g in range(num_folds):
            if g != f:
                train_rows.extend(folds[g].tolist())
        X_tr, y_tr = X[train_rows], y[train_rows]
        X_va, y_va = X[folds[f]], y[folds[f]]
        dists = compute_distances_no_loops(X_va, X_tr)
        for i in range(len(k_choices)):
            y_pred = predict_labels(dists, y_tr, k_choices[i])
            correct = 0
            for n in range(len(y_va)):
                if y_pred[n] == y_va[n]:
                    correct += 1
            accuracies[i, f] = correct / len(y_va)
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
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    loss = 0.0
    dW = np.zeros(W.shape)
    for i in range(num_train):
        scores = X[i].dot(W)
        margins = np.maximum(0, scores - scores[y[i]] + 1)
        margins[y[i]] = 0
        loss += margins.sum()
        positive = (margins > 0).astype(float)
        positive[y[i]] = -positive.sum()
        dW += np.outer(X[i], positive)
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW

# %% softmax_loss_naive
def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        biggest = max(scores)
        exps = []
        for j in range(num_classes):
            exps.append(math.exp(scores[j] - biggest))
        total = sum(exps)
        loss += -math.log(exps[y[i]] / total)
        for j in range(num_classes):
            p = exps[j] / total
            if j == y[i]:
                p -= 1
            dW[:, j] += p * X[i]
    loss /= num_train
    loss += reg * np.sum(W * W)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(num_train):
        scores = X[i].dot(W)
        scores = scores - scores.max()
        probs = np.exp(scores) / np.exp(scores).sum()
        loss -= np.log(probs[y[i]])
        probs[y[i]] -= 1
        dW += np.outer(X[i], probs)
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
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
        X_batch = X[batch]
        y_batch = y[batch]
        loss, grad = loss_fn(W, X_batch, y_batch, reg)
        loss_history[it] = loss
        W = W - lr * grad
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 1e-7, "reg": 2.5e4, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    N = X.shape[0]
    hidden_input = X.dot(W1) + b1
    hidden = np.maximum(0, hidden_input)
    scores = hidden.dot(W2) + b2
    if y is None:
        return scores
    loss = 0.0
    dscores = np.zeros_like(scores)
    for i in range(N):
        s = scores[i] - scores[i].max()
        p = np.exp(s) / np.exp(s).sum()
        loss -= np.log(p[y[i]])
        p[y[i]] -= 1
        dscores[i] = p / N
    loss = loss / N + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    grads = {}
    grads["W2"] = hidden.T.dot(dscores) + 2 * reg * W2
    grads["b2"] = dscores.sum(axis=0)
    dhidden = dscores.dot(W2.T)
    dhidden = dhidden * (hidden_input > 0)
    grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1
    grads["b1"] = dhidden.sum(axis=0)
    return loss, grads
