# Style: a 2017 solution that ran under numpy 1.x: np.reshape with the newshape=
# keyword, np.float for dtypes, np.argwhere to find the winning label; verbose
# names (num_test, num_train, correct_class_score) and explicit intermediate steps.
# Deliberate deviations (each raises under numpy 2.4, on every input):
# - compute_distances_no_loops: np.reshape(..., newshape=(-1, 1)) (TypeError:
#   the keyword is gone; np.reshape(a, (-1, 1)) or a.reshape(-1, 1) works);
# - predict_labels: int(np.argwhere(...)[0]) of a 1-element array (TypeError:
#   only 0-dimensional arrays convert; np.argmax of np.bincount does it);
# - svm_loss_vectorized: .astype(np.float) (AttributeError: use float).
# - cross_validate_k is correct but calls the two crashing functions above.
# Hyperparameters: lr 1e-7, reg 2.5e4, 1500 iterations, batch 200 (CS231n's grid).
# Bugs: a1.compute_distances_no_loops, a1.predict_labels, a1.svm_loss_vectorized

# %% compute_distances_two_loops
def compute_distances_two_loops(X, X_train):
    num_test = X.shape[0]
    num_train = X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.sum(np.square(X_train[j, :] - X[i, :])))
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
    test_squared = np.reshape(np.sum(np.square(X), axis=1), newshape=(-1, 1))
    train_squared = np.sum(np.square(X_train), axis=1)
    inner_product = np.dot(X, X_train.T)
    dists = np.sqrt(np.maximum(test_squared + train_squared - 2 * inner_product, 0))
    return dists

# %% predict_labels
def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        closest_y = y_train[np.argsort(dists[i, :])[:k]]
        counts = np.bincount(closest_y)
        y_pred[i] = int(np.argwhere(counts == np.max(counts))[0])
    return y_pred

# %% cross_validate_k
def cross_validate_k(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    X_train_folds = np.array_split(X, num_folds)
    y_train_folds = np.array_split(y, num_folds)
    for k_index in range(len(k_choices)):
        k = k_choices[k_index]
        for fold in range(num_folds):
            X_validation = X_train_folds[fold]
            y_validation = y_train_folds[fold]
            X_training = np.concatenate(X_train_folds[:fold] + X_train_folds[fold + 1:])
            y_training = np.concatenate(y_train_folds[:fold] + y_train_folds[fold + 1:])
            dists = compute_distances_no_loops(X_validation, X_training)
            y_validation_pred = predict_labels(dists, y_training, k=k)
            num_correct = np.sum(y_validation_pred == y_validation)
            accuracies[k_index, fold] = float(num_correct) / len(y_validation)
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
                dW[:, j] += X[i, :]
                dW[:, y[i]] -= X[i, :]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_class_score = scores[np.arange(num_train), y]
    margins = np.maximum(0, scores - np.reshape(correct_class_score, (-1, 1)) + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)

    binary = (margins > 0).astype(np.float)
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
        shift_scores = scores - np.max(scores)
        exp_scores = np.exp(shift_scores)
        softmax_output = exp_scores / np.sum(exp_scores)
        loss += -np.log(softmax_output[y[i]])
        for j in range(num_classes):
            if j == y[i]:
                dW[:, j] += (softmax_output[j] - 1) * X[i]
            else:
                dW[:, j] += softmax_output[j] * X[i]
    loss /= num_train
    loss += reg * np.sum(W * W)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    shift_scores = scores - np.max(scores, axis=1).reshape(-1, 1)
    softmax_output = np.exp(shift_scores) / np.sum(np.exp(shift_scores), axis=1).reshape(-1, 1)
    loss = -np.sum(np.log(softmax_output[range(num_train), list(y)]))
    loss /= num_train
    loss += reg * np.sum(W * W)

    dS = softmax_output.copy()
    dS[range(num_train), list(y)] += -1
    dW = (X.T).dot(dS)
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
        sample_index = rng.choice(num_train, batch_size)
        X_batch = X[sample_index, :]
        y_batch = y[sample_index]
        loss, grad = loss_fn(W, X_batch, y_batch, reg)
        loss_history[it] = loss
        W += -lr * grad
    return W, loss_history

# %% softmax_hyperparameters
def softmax_hyperparameters():
    return {"lr": 1e-7, "reg": 2.5e4, "num_iters": 1500, "batch_size": 200}

# %% two_layer_loss
def two_layer_loss(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    N, D = X.shape
    hidden_layer = np.maximum(0, np.dot(X, W1) + b1)
    scores = np.dot(hidden_layer, W2) + b2
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
    grads["W2"] = hidden_layer.T.dot(dscores) + 2 * reg * W2
    grads["b2"] = np.sum(dscores, axis=0)
    dhidden = dscores.dot(W2.T)
    dhidden[hidden_layer <= 0] = 0
    grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1
    grads["b1"] = np.sum(dhidden, axis=0)
    return loss, grads
