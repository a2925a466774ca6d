"""Build the nbgrader source notebook of A1 (kNN and linear classifiers).

    .venv/bin/python solutions/build_a1.py      # writes solutions/a1_knn_linear/a1_knn_linear.ipynb

The notebook is the committed source; this script is how it is edited:
text, solution code and visible tests live here, and the numbers the
visible tests expect are computed now with course_lib's reference on small
fixed inputs (the hidden tests use fresh ones). This file sits outside the
assignment folder on purpose: nbgrader copies every non-notebook file of
that folder into the release, and no solution may ship in a .py file.
"""
from pathlib import Path

import numpy as np

from course_lib.classifiers import (KNearestNeighbor, cross_validate_knn,
                                    softmax_loss_vectorized, svm_loss_vectorized)
from course_lib.grading.specs.a1 import (ACCURACY_RAMP, NUM_MEASURED_TRAIN, NUM_MEASURED_VAL,
                                   _two_layer_reference, _train_reference)
from course_lib.grading.authoring import answer, array_lit, code, lit, md, solution, tests, toy, write_notebook

OUT = Path(__file__).resolve().parent / "a1_knn_linear" / "a1_knn_linear.ipynb"


# ---- toy inputs shared by visible tests and the builder -----------------------
KNN_TOY, K = toy("X_toy = np.array([[0.0, 0.0], [3.0, 4.0]])\n"
                 "X_train_toy = np.array([[0.0, 0.0], [6.0, 8.0], [3.0, 0.0]])")
LIN_TOY, L = toy("rng = np.random.default_rng(2024)\n"
                 "W_toy = rng.normal(0, 0.5, (5, 3))\n"
                 "X_toy = rng.normal(0, 1, (4, 5))\n"
                 "y_toy = np.array([0, 2, 1, 2])")
SVM_LOSS, SVM_DW = svm_loss_vectorized(L["W_toy"], L["X_toy"], L["y_toy"], 0.1)
SOFT_LOSS, SOFT_DW = softmax_loss_vectorized(L["W_toy"], L["X_toy"], L["y_toy"], 0.1)
CV_TOY, CV = toy("rng = np.random.default_rng(7)\n"
                 "y_cv = np.arange(20) % 2\n"
                 "X_cv = y_cv[:, None] * 2.0 + rng.normal(0, 1.0, (20, 3))")
CV_EXPECTED = np.array([a for a in cross_validate_knn(CV["X_cv"], CV["y_cv"], [1, 3], 4).values()])
TRAIN_TOY, T = toy("def toy_loss(W, X, y, reg):\n"
                   "    # a simple quadratic loss, so this test checks only your loop\n"
                   "    diff = X @ W\n"
                   "    diff[np.arange(len(X)), y] -= 1.0\n"
                   "    loss = 0.5 * np.sum(diff * diff) / len(X) + reg * np.sum(W * W)\n"
                   "    return loss, X.T @ diff / len(X) + 2 * reg * W\n"
                   "\n"
                   "rng = np.random.default_rng(5)\n"
                   "X_lin = rng.normal(0, 1, (30, 4))\n"
                   "y_lin = np.arange(30) % 3")
W_TRAIN, HIST_TRAIN = _train_reference(T["toy_loss"], T["X_lin"], T["y_lin"], lr=0.1, reg=0.01,
                                       num_iters=15, batch_size=8, seed=3)
NET_TOY, N = toy("rng = np.random.default_rng(11)\n"
                 "params_toy = {'W1': rng.normal(0, 0.5, (4, 6)), 'b1': rng.normal(0, 0.5, 6),\n"
                 "              'W2': rng.normal(0, 0.5, (6, 3)), 'b2': rng.normal(0, 0.5, 3)}\n"
                 "X_net = rng.normal(0, 1, (5, 4))\n"
                 "y_net = np.array([0, 1, 2, 2, 1])")
NET_SCORES = _two_layer_reference(N["params_toy"], N["X_net"])
NET_LOSS, _ = _two_layer_reference(N["params_toy"], N["X_net"], N["y_net"], 0.05)
D_TOY = KNearestNeighbor().fit(K["X_train_toy"], np.zeros(3, int)).compute_distances_no_loops(
    K["X_toy"])


# ---- solution code ----------------------------------------------------------

SOL_TWO_LOOPS = '''
def compute_distances_two_loops(X, X_train):
    """L2 distances between test rows and training rows, with two loops.

    X : (M, D) test rows;  X_train : (N, D) training rows.
    Returns dists (M, N) with dists[i, j] = sqrt(sum_d (X[i, d] - X_train[j, d])**2).
    """
    num_test, num_train = X.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            ### BEGIN SOLUTION
            diff = X[i] - X_train[j]
            dists[i, j] = np.sqrt(np.sum(diff * diff))
            ### END SOLUTION
    return dists
'''

SOL_ONE_LOOP = '''
def compute_distances_one_loop(X, X_train):
    """Same result as compute_distances_two_loops, with one loop over test rows:
    each test row is compared with all training rows at once (broadcasting)."""
    num_test = X.shape[0]
    dists = np.zeros((num_test, X_train.shape[0]))
    for i in range(num_test):
        ### BEGIN SOLUTION
        diff = X_train - X[i]  # (N, D)
        dists[i] = np.sqrt(np.sum(diff * diff, axis=1))
        ### END SOLUTION
    return dists
'''

SOL_NO_LOOPS = '''
def compute_distances_no_loops(X, X_train):
    """Same result again, without any Python loop (no for, while or comprehension).

    Hint: |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, and all the dot products a.b form one
    matrix product. Rounding can make a squared distance slightly negative for
    identical rows: clip at 0 before the square root.
    """
    ### BEGIN SOLUTION
    sq_test = np.sum(X * X, axis=1)[:, None]               # (M, 1)
    sq_train = np.sum(X_train * X_train, axis=1)[None, :]  # (1, N)
    squared = sq_test + sq_train - 2 * (X @ X_train.T)     # (M, N)
    return np.sqrt(np.maximum(squared, 0))
    ### END SOLUTION
'''

SOL_PREDICT = '''
def predict_labels(dists, y_train, k=1):
    """Label of each test row by a vote among its k nearest training rows.

    dists : (M, N) distances;  y_train : (N,) integer labels;  k : int.
    Returns y_pred (M,) integers. A tied vote goes to the smallest label.
    """
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        ### BEGIN SOLUTION
        nearest = np.argsort(dists[i], kind="stable")[:k]
        y_pred[i] = np.argmax(np.bincount(y_train[nearest]))
        ### END SOLUTION
    return y_pred
'''

SOL_CV = '''
def cross_validate_k(X, y, k_choices, num_folds=5):
    """Accuracy of k-NN for each k in k_choices on each of num_folds folds.

    The folds are consecutive blocks of rows: np.array_split(np.arange(N), num_folds).
    Fold f is the validation set, the other folds together the training set.
    Returns accuracies (len(k_choices), num_folds).
    """
    accuracies = np.zeros((len(k_choices), num_folds))
    folds = np.array_split(np.arange(len(X)), num_folds)
    ### BEGIN SOLUTION
    for f, val_idx in enumerate(folds):
        train_idx = np.concatenate(folds[:f] + folds[f + 1:])
        dists = compute_distances_no_loops(X[val_idx], X[train_idx])
        for i, k in enumerate(k_choices):
            y_pred = predict_labels(dists, y[train_idx], k)
            accuracies[i, f] = np.mean(y_pred == y[val_idx])
    ### END SOLUTION
    return accuracies
'''

SOL_SVM_NAIVE = '''
def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss and its gradient, with loops.

    W : (D, C) weights;  X : (N, D) samples;  y : (N,) labels in [0, C);  reg : float.
    L = 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * sum(W * W),  s = x_i W.
    Returns (loss, dW) with loss a float and dW shaped like W.
    """
    dW = np.zeros_like(W)
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    ### BEGIN SOLUTION
    for i in range(num_train):
        scores = X[i] @ W
        correct = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    ### END SOLUTION
    return loss, dW
'''

SOL_SVM_VEC = '''
def svm_loss_vectorized(W, X, y, reg):
    """Same as svm_loss_naive, without Python loops."""
    ### BEGIN SOLUTION
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W                                            # (N, C)
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / num_train + reg * np.sum(W * W)
    coeff = (margins > 0).astype(float)                       # (N, C)
    coeff[rows, y] = -coeff.sum(axis=1)
    dW = X.T @ coeff / num_train + 2 * reg * W
    return loss, dW
    ### END SOLUTION
'''

SOL_SOFT_NAIVE = '''
def softmax_loss_naive(W, X, y, reg):
    """Softmax (cross-entropy) loss and its gradient, with loops.

    L = 1/N sum_i -log(exp(s_{y_i}) / sum_j exp(s_j)) + reg * sum(W * W).
    Subtract the largest score of each sample before exp: the probabilities
    do not change, and exp no longer overflows.
    """
    dW = np.zeros_like(W)
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    ### BEGIN SOLUTION
    for i in range(num_train):
        scores = X[i] @ W
        scores = scores - np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(probs[y[i]])
        for j in range(num_classes):
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    ### END SOLUTION
    return loss, dW
'''

SOL_SOFT_VEC = '''
def softmax_loss_vectorized(W, X, y, reg):
    """Same as softmax_loss_naive, without Python loops."""
    ### BEGIN SOLUTION
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean() + reg * np.sum(W * W)
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dW = X.T @ dscores / num_train + 2 * reg * W
    return loss, dW
    ### END SOLUTION
'''

SOL_TRAIN = '''
def train_linear_classifier(loss_fn, X, y, lr=1e-7, reg=2.5e4, num_iters=1500,
                            batch_size=200, seed=0):
    """Minibatch stochastic gradient descent for a linear classifier.

    loss_fn(W, X_batch, y_batch, reg) -> (loss, dW), e.g. softmax_loss_vectorized.
    Follow this recipe exactly (the grader replays it):
      rng = np.random.default_rng(seed)
      W = 0.001 * rng.standard_normal((D, C))       (done for you below)
      each step: batch = rng.choice(N, batch_size)  (with replacement)
                 loss, dW = loss_fn(W, X[batch], y[batch], reg)
                 record loss, then W -= lr * dW
    Returns (W, loss_history) with loss_history of shape (num_iters,).
    """
    rng = np.random.default_rng(seed)
    num_train, dim = X.shape
    num_classes = int(np.max(y)) + 1
    W = 0.001 * rng.standard_normal((dim, num_classes))
    loss_history = np.zeros(num_iters)
    for it in range(num_iters):
        ### BEGIN SOLUTION
        batch = rng.choice(num_train, batch_size)
        loss, dW = loss_fn(W, X[batch], y[batch], reg)
        loss_history[it] = loss
        W -= lr * dW
        ### END SOLUTION
    return W, loss_history
'''

SOL_HYPER = '''
def softmax_hyperparameters():
    """Your choice for the graded softmax training run: a dict with keys
    "lr", "reg", "num_iters" (at most 1500) and "batch_size"."""
    ### BEGIN SOLUTION
    return {"lr": 1e-6, "reg": 5e3, "num_iters": 300, "batch_size": 200}
    ### END SOLUTION
'''

SOL_NET = '''
def two_layer_loss(params, X, y=None, reg=0.0):
    """A two-layer network: affine - ReLU - affine - softmax.

    params : dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,);  X : (N, D).
    If y is None, return the scores (N, C). Otherwise return (loss, grads):
    loss = mean softmax loss + reg * (sum(W1**2) + sum(W2**2)) (biases are not
    regularized) and grads a dict with the same keys and shapes as params.
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    ### BEGIN SOLUTION
    hidden_in = X @ W1 + b1              # (N, H)
    hidden = np.maximum(hidden_in, 0)    # ReLU
    scores = hidden @ W2 + b2            # (N, C)
    if y is None:
        return scores
    num_train = X.shape[0]
    rows = np.arange(num_train)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dscores /= num_train
    grads = {"W2": hidden.T @ dscores + 2 * reg * W2, "b2": dscores.sum(axis=0)}
    dhidden_in = (dscores @ W2.T) * (hidden_in > 0)
    grads["W1"] = X.T @ dhidden_in + 2 * reg * W1
    grads["b1"] = dhidden_in.sum(axis=0)
    return loss, grads
    ### END SOLUTION
'''


# ---- the notebook -------------------------------------------------------------

def cells():
    return [
        md(r"""
        # Assignment 1: k-nearest neighbours and linear classifiers

        In this assignment you build, in numpy and from first principles, the image classifiers of the first
        chapters: a **k-nearest-neighbour** classifier (k 近邻), the multiclass **SVM** (支持向量机) and
        **softmax** (softmax 分类器) losses with their gradients, **minibatch stochastic gradient descent**
        (小批量随机梯度下降), and the forward and backward pass of a **two-layer network** (两层神经网络).

        **How this notebook is graded.** Write code only where a solution cell says `# YOUR CODE HERE` (replace that line and the
        `raise NotImplementedError()` below it), and do not rename the functions or change their
        arguments. Each function is graded by hidden tests that call it on fresh inputs
        you have not seen (including edge cases) and compare every output with a reference implementation:
        each output earns its own points (for example, the loss 2 points and the gradient 2 points), and the
        feedback says which output is wrong, on which kind of input, and by how much.

        - The grader runs **only your solution cells**, in order, in a fresh Python where `numpy` is
          imported as `np`. It does not run the other cells, so a solution cell must not use variables that
          other cells create (such as `X_train`). Define functions there; experiment in other cells.
        - Using the course library's reference implementation in your answers (`course_lib.classifiers`,
          `course_lib.layers`, `course_lib.losses`, ...) scores 0 for that item. `course_lib.data` is
          available to your functions; `course_lib.gradcheck` is for your own checks in other cells (a
          numerical gradient is not an answer where the analytic gradient is asked for, so graded
          functions cannot call it).
        - The cells below each function are visible tests. They print what they check and the value to
          expect, and mark each test `[passed]`, `[FAILED]`, `[ERROR]` or `[not done]`; passing them is a
          good sign, not the grade.
        - **Validate** (`nbgrader validate <notebook>`, or the Validate button) runs the whole notebook in a
          fresh kernel and lists every visible test that does not pass and every function still
          unwritten. It does not run the hidden tests, so "Success" means the visible checks pass, not a
          score.
        - Three short written questions are graded by hand.
        - Keep the notebook fast: the whole notebook should run in about a minute.
        """),
        code("""
        import time

        import matplotlib.pyplot as plt
        import numpy as np

        from course_lib.data import CIFAR10_CLASSES, get_cifar10_data
        from course_lib.grading.visible import (check_accuracy, check_close, check_equal, check_gradient,
                                                check_shape, check_true, timed, visible_test)

        plt.rcParams["figure.dpi"] = 90
        """),
        md(r"""
        ## Data

        We use 5,000 CIFAR-10 training images, 500 validation and 500 test images, each flattened to a row of
        $D = 32 \times 32 \times 3 = 3072$ values with the mean training image subtracted. (On your own
        machine the first call downloads CIFAR-10, 163 MB, once.)
        """),
        code("""
        data = get_cifar10_data(num_training=5000, num_validation=500, num_test=500, num_dev=500)
        X_train, y_train = data["X_train"], data["y_train"]
        X_val, y_val = data["X_val"], data["y_val"]
        X_test, y_test = data["X_test"], data["y_test"]
        X_dev, y_dev = data["X_dev"], data["y_dev"]
        for name in ("X_train", "X_val", "X_test", "X_dev"):
            print(f"{name}: {data[name].shape}")
        """),
        md(r"""
        ## Part 1: k-nearest neighbours

        A nearest-neighbour classifier memorises the training set and labels a test image like the training
        images closest to it. With the L2 (Euclidean) distance between a test row $a$ and a training row $b$,

        $$d(a, b) = \sqrt{\sum_{d} (a_d - b_d)^2},$$

        the first step is the $(M, N)$ matrix of distances between $M$ test rows and $N$ training rows. You
        write it three times: with two loops (the definition), one loop (broadcasting over the training
        set), and no loop (one matrix product), and measure the difference.
        """),
        solution("compute_distances_two_loops", SOL_TWO_LOOPS),
        tests("a1.compute_distances_two_loops", setup=KNN_TOY, visible=f"""
        with visible_test("compute_distances_two_loops"):
            dists = compute_distances_two_loops(X_toy, X_train_toy)
            check_shape("dists", dists, (2, 3))
            check_close("dists", dists, {array_lit(D_TOY)})
        """),
        solution("compute_distances_one_loop", SOL_ONE_LOOP),
        tests("a1.compute_distances_one_loop", visible="""
        with visible_test("compute_distances_one_loop"):
            check_close("dists (toy example)", compute_distances_one_loop(X_toy, X_train_toy),
                        compute_distances_two_loops(X_toy, X_train_toy))
            check_close("dists (20 test x 200 training images)",
                        compute_distances_one_loop(X_test[:20], X_train[:200]),
                        compute_distances_two_loops(X_test[:20], X_train[:200]))
        """),
        solution("compute_distances_no_loops", SOL_NO_LOOPS),
        tests("a1.compute_distances_no_loops", visible="""
        with visible_test("compute_distances_no_loops"):
            check_close("dists (20 test x 200 training images)",
                        compute_distances_no_loops(X_test[:20], X_train[:200]),
                        compute_distances_two_loops(X_test[:20], X_train[:200]), tol=1e-7)
            check_true(np.all(np.isfinite(compute_distances_no_loops(X_train[:5], X_train[:5]))),
                       "distances of rows to themselves contain NaN: clip at 0 before np.sqrt")
            for f in (compute_distances_two_loops, compute_distances_one_loop, compute_distances_no_loops):
                with timed(f"{f.__name__} on 50 x 500 images"):
                    f(X_test[:50], X_train[:500])
        """),
        md(r"""
        ### Predicting labels

        For each test row take the $k$ nearest training rows and let their labels vote. **A tied vote goes
        to the smallest label** (for example, with $k = 4$ and neighbours labelled 3, 1, 3, 1, predict 1).
        `np.bincount` counts votes; `np.argmax` returns the first maximum.
        """),
        solution("predict_labels", SOL_PREDICT),
        tests("a1.predict_labels", visible="""
        dists_toy = np.array([[1.0, 4.0, 2.0, 3.0, 9.0],
                              [5.0, 1.0, 2.0, 8.0, 0.5]])
        y_toy_knn = np.array([3, 1, 1, 3, 0])
        with visible_test("predict_labels"):
            check_equal("k=1", predict_labels(dists_toy, y_toy_knn, k=1), [3, 0])
            check_equal("k=3", predict_labels(dists_toy, y_toy_knn, k=3), [3, 1])
            check_equal("k=4 (2-2 tie: smallest label)", predict_labels(dists_toy, y_toy_knn, k=4), [1, 1])
        """),
        code("""
        # Accuracy on 500 test images with the 5,000 training images (about 27% for k = 1).
        with visible_test("kNN on CIFAR-10"):
            dists_test = compute_distances_no_loops(X_test, X_train)
            for k in (1, 5):
                accuracy = np.mean(predict_labels(dists_test, y_train, k) == y_test)
                print(f"  k = {k}: test accuracy {accuracy:.3f}")
        """),
        md(r"""
        ### Cross-validation

        Choosing $k$ on the test set would make the test accuracy an optimistic estimate. Split the training
        data into folds instead; each fold in turn is the validation set and the others train.
        """),
        solution("cross_validate_k", SOL_CV),
        tests("a1.cross_validate_k", setup=CV_TOY, visible=f"""
        with visible_test("cross_validate_k"):
            acc = cross_validate_k(X_cv, y_cv, [1, 3], num_folds=4)
            check_shape("accuracies", acc, (2, 4))
            check_close("accuracies", acc, {array_lit(CV_EXPECTED)})
        """),
        code("""
        # Cross-validate on the first 2,000 training images (5 folds) to keep the notebook fast.
        k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50]
        best_k = 1
        with visible_test("cross-validation on 2,000 images"):
            acc = cross_validate_k(X_train[:2000], y_train[:2000], k_choices, num_folds=5)
            means = acc.mean(axis=1)
            best_k = k_choices[int(np.argmax(means))]
            plt.errorbar(k_choices, means, yerr=acc.std(axis=1), marker="o")
            plt.xlabel("k")
            plt.ylabel("validation accuracy (5 folds)")
            plt.title("Cross-validating k on 2,000 CIFAR-10 images")
            plt.show()
            test_acc = np.mean(predict_labels(compute_distances_no_loops(X_test, X_train), y_train, best_k) == y_test)
            print(f"  best k = {best_k}: test accuracy {test_acc:.3f}")
        """),
        md(r"""
        **Inline question 1** (2 points). The training accuracy of a 1-nearest-neighbour classifier is
        always 100% (when no two identical images have different labels). Explain why, and why this number
        says nothing about how well the classifier works. Which of the numbers above does?
        """),
        answer("inline_q1", 2, """
        The nearest training image of a training image is itself, at distance 0, so it gets its own label
        back. The classifier is evaluated on data it has memorised, so the number measures memory, not
        generalisation. The cross-validated accuracy (and, once, the test accuracy) measures performance on
        images the classifier has not seen.
        """),
        md(r"""
        ## Part 2: linear classifiers

        A linear classifier scores the classes with $s = xW$ for a row $x$ (with a constant 1 appended, the
        bias trick, so the last row of $W$ is the bias). The **multiclass SVM loss** of a sample with correct
        class $y_i$ wants the correct score to exceed every other score by a margin of 1:

        $$L_i = \sum_{j \neq y_i} \max(0,\; s_j - s_{y_i} + 1), \qquad
          L = \frac{1}{N}\sum_i L_i + \lambda \sum_{k,l} W_{k,l}^2 .$$

        A margin that is exactly 0 does not count (it adds nothing to the loss and nothing to the gradient).
        Check analytic gradients against numerical ones (`check_gradient` prints the relative errors; around
        1e-7 or smaller is right, 1e-2 or more is a bug; SVM kinks can give an occasional larger value).
        """),
        code("""
        def add_bias(X):
            return np.hstack([X, np.ones((len(X), 1))])

        X_train_b, X_val_b, X_test_b, X_dev_b = (add_bias(X) for X in (X_train, X_val, X_test, X_dev))
        W_small = 0.0001 * np.random.default_rng(0).standard_normal((X_dev_b.shape[1], 10))
        """),
        solution("svm_loss_naive", SOL_SVM_NAIVE),
        tests("a1.svm_loss_naive", setup=LIN_TOY, visible=f"""
        with visible_test("svm_loss_naive"):
            loss, dW = svm_loss_naive(W_toy, X_toy, y_toy, 0.1)
            check_shape("dW", dW, W_toy.shape)
            check_close("loss (toy example)", loss, {lit(SVM_LOSS)})
            loss, dW = svm_loss_naive(W_small, X_dev_b, y_dev, 0.0)
            print(f"  loss with tiny W: {{loss:.3f}} (expected close to 9 = C - 1: every margin is about 1)")
            check_gradient(lambda w: svm_loss_naive(w, X_dev_b[:50], y_dev[:50], 1e2)[0], W_small,
                           svm_loss_naive(W_small, X_dev_b[:50], y_dev[:50], 1e2)[1], tol=1e-6,
                           kinks=True)
        """),
        solution("svm_loss_vectorized", SOL_SVM_VEC),
        tests("a1.svm_loss_vectorized", visible=f"""
        with visible_test("svm_loss_vectorized"):
            loss, dW = svm_loss_vectorized(W_toy, X_toy, y_toy, 0.1)
            check_close("loss (toy example)", loss, {lit(SVM_LOSS)})
            check_close("dW (toy example)", dW, {array_lit(SVM_DW)})
            with timed("naive"):
                loss_naive, dW_naive = svm_loss_naive(W_small, X_dev_b, y_dev, 1e3)
            with timed("vectorized"):
                loss_vec, dW_vec = svm_loss_vectorized(W_small, X_dev_b, y_dev, 1e3)
            check_close("loss: vectorized vs naive", loss_vec, loss_naive)
            check_close("dW: vectorized vs naive", dW_vec, dW_naive)
        """),
        md(r"""
        **Inline question 2** (2 points). A numerical gradient check of the SVM loss sometimes reports one
        entry with a large relative error even when the analytic gradient is right. Explain how, and why it
        cannot happen for the softmax loss.
        """),
        answer("inline_q2", 2, """
        The SVM loss is not differentiable where a margin crosses 0 (the max(0, .) hinge has a kink). If the
        point W is within h of a kink, the centred difference straddles it and mixes the two slopes, so it
        differs from the one-sided analytic derivative. The softmax loss is smooth everywhere, so there are
        no kinks.
        """),
        md(r"""
        ### Softmax

        The softmax classifier reads the scores as unnormalised log-probabilities:

        $$L_i = -\log \frac{e^{s_{y_i}}}{\sum_j e^{s_j}}, \qquad
          \frac{\partial L_i}{\partial W_{:, j}} = (p_j - [j = y_i])\, x_i .$$

        `np.exp(1000)` is `inf`: subtract each sample's largest score first (the probabilities do not
        change). With tiny weights every class gets probability about 1/10, so the initial loss is about
        $\log 10 \approx 2.303$.
        """),
        solution("softmax_loss_naive", SOL_SOFT_NAIVE),
        tests("a1.softmax_loss_naive", visible=f"""
        with visible_test("softmax_loss_naive"):
            loss, dW = softmax_loss_naive(W_toy, X_toy, y_toy, 0.1)
            check_shape("dW", dW, W_toy.shape)
            check_close("loss (toy example)", loss, {lit(SOFT_LOSS)})
            loss, _ = softmax_loss_naive(W_small, X_dev_b, y_dev, 0.0)
            check_close("loss with tiny W (about log 10)", loss, np.log(10), tol=1e-2)
            check_gradient(lambda w: softmax_loss_naive(w, X_dev_b[:50], y_dev[:50], 1e2)[0], W_small,
                           softmax_loss_naive(W_small, X_dev_b[:50], y_dev[:50], 1e2)[1])
        """),
        solution("softmax_loss_vectorized", SOL_SOFT_VEC),
        tests("a1.softmax_loss_vectorized", visible=f"""
        with visible_test("softmax_loss_vectorized"):
            loss, dW = softmax_loss_vectorized(W_toy, X_toy, y_toy, 0.1)
            check_close("loss (toy example)", loss, {lit(SOFT_LOSS)})
            check_close("dW (toy example)", dW, {array_lit(SOFT_DW)})
            loss, _ = softmax_loss_vectorized(W_toy * 1000, X_toy, y_toy, 0.0)
            check_true(np.isfinite(loss), "the loss overflows for large scores: subtract the max score")
            with timed("naive"):
                softmax_loss_naive(W_small, X_dev_b, y_dev, 1e3)
            with timed("vectorized"):
                softmax_loss_vectorized(W_small, X_dev_b, y_dev, 1e3)
        """),
        md(r"""
        ### Minibatch stochastic gradient descent

        Training repeats one step many times: draw a minibatch of `batch_size` samples **with replacement**,
        compute the loss and gradient on it, and move $W$ a little against the gradient:
        $W \leftarrow W - \eta\, \nabla_W L$ ($\eta$ is the learning rate `lr`). Follow the recipe in the
        docstring exactly: the grader replays it with the same random generator.
        """),
        solution("train_linear_classifier", SOL_TRAIN),
        tests("a1.train_linear_classifier", setup=TRAIN_TOY, visible=f"""
        with visible_test("train_linear_classifier"):
            W_lin, history = train_linear_classifier(toy_loss, X_lin, y_lin, lr=0.1, reg=0.01,
                                                     num_iters=15, batch_size=8, seed=3)
            check_shape("W", W_lin, (4, 3))
            check_shape("loss_history", np.asarray(history), (15,))
            check_close("W after 15 steps", W_lin, {array_lit(W_TRAIN)})
            check_close("loss_history", history, {array_lit(HIST_TRAIN)})
        """),
        code("""
        # Tune the softmax classifier on the validation set. Try a few learning rates and
        # regularization strengths (keep num_iters small while exploring).
        results = {}
        with visible_test("softmax tuning"):
            for lr in (1e-7, 1e-6):
                for reg in (1e3, 5e3):
                    W, history = train_linear_classifier(softmax_loss_vectorized, X_train_b, y_train,
                                                         lr=lr, reg=reg, num_iters=200, seed=0)
                    val_acc = np.mean(np.argmax(X_val_b @ W, axis=1) == y_val)
                    results[(lr, reg)] = val_acc
                    print(f"  lr {lr:.0e}  reg {reg:.0e}: final loss {history[-1]:.3f}, "
                          f"validation accuracy {val_acc:.3f}")
        """),
        md(rf"""
        ### The graded training run

        Return your chosen hyperparameters from `softmax_hyperparameters()` (`num_iters` at most 1500).
        The grader trains `train_linear_classifier(softmax_loss_vectorized, ...)`, with **your** two
        functions and these settings, on {NUM_MEASURED_TRAIN:,} CIFAR-10 training images it picks, and
        measures the accuracy on {NUM_MEASURED_VAL:,} held-out images you never see (the same images in
        every grading run of your course, so a regrade gives the same accuracy). From
        {ACCURACY_RAMP.full:.2f} you earn the 3 points; between {ACCURACY_RAMP.floor:.2f} and
        {ACCURACY_RAMP.full:.2f}, a share in proportion. The cell after yours does the same on your data.
        """),
        solution("softmax_hyperparameters", SOL_HYPER),
        tests("a1.softmax_accuracy", visible=f"""
        with visible_test("softmax_hyperparameters"):
            hyper = softmax_hyperparameters()
            check_true(isinstance(hyper, dict), "softmax_hyperparameters() must return a dict")
            check_true(hyper.get("num_iters", 1500) <= 1500, "num_iters must be at most 1500")
            W_best, history = train_linear_classifier(softmax_loss_vectorized, X_train_b, y_train, seed=0,
                                                      **hyper)
            val_acc = np.mean(np.argmax(X_val_b @ W_best, axis=1) == y_val)
            check_accuracy("validation accuracy", val_acc, {ACCURACY_RAMP.floor!r}, {ACCURACY_RAMP.full!r})
        """),
        code("""
        # Each column of W is a template of its class (the bias row removed).
        with visible_test("templates"):
            templates = W_best[:-1].T.reshape(10, 32, 32, 3)
            lo, hi = templates.min(), templates.max()
            fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
            for ax, template, name in zip(axes, templates, CIFAR10_CLASSES):
                ax.imshow((template - lo) / (hi - lo))
                ax.set_title(name, fontsize=9)
                ax.axis("off")
            fig.suptitle("Learned softmax weights as images")
            plt.show()
        """),
        md(r"""
        **Inline question 3** (2 points). The learned weights above look like blurry average images of their
        class. Why does a linear classifier learn templates, and what does that tell you about its limits?
        """),
        answer("inline_q3", 2, """
        The score of class j is the dot product of the image with column j of W, a match between the image
        and a template; training makes each template resemble what images of the class have in common. One
        template per class cannot represent a class whose images look different (a horse facing left or
        right, cars of different colours): it averages them, which caps the accuracy.
        """),
        md(r"""
        ## Part 3: a two-layer network

        Put a hidden layer of $H$ ReLU units between the input and the class scores:

        $$h = \max(0,\, X W_1 + b_1), \qquad s = h W_2 + b_2,$$

        with the softmax loss on $s$ plus $\lambda(\sum W_1^2 + \sum W_2^2)$. Backpropagate: the gradient of
        the scores is $(P - Y)/N$; the affine layer $s = hW_2 + b_2$ gives $dW_2 = h^T ds$, $db_2 = \sum_n ds$,
        $dh = ds\, W_2^T$; the ReLU passes the gradient only where its input was **strictly** positive.
        """),
        solution("two_layer_loss", SOL_NET),
        tests("a1.two_layer_loss", setup=NET_TOY, visible=f"""
        from course_lib.gradcheck import eval_numerical_gradient
        with visible_test("two_layer_loss"):
            check_close("scores", two_layer_loss(params_toy, X_net), {array_lit(NET_SCORES)})
            loss, grads = two_layer_loss(params_toy, X_net, y_net, reg=0.05)
            check_close("loss", loss, {lit(NET_LOSS)})
            for name in ("W1", "b1", "W2", "b2"):
                def f(_):
                    return two_layer_loss(params_toy, X_net, y_net, reg=0.05)[0]
                numeric = eval_numerical_gradient(f, params_toy[name])
                check_close(f"d{{name}} vs numerical gradient", grads[name], numeric, tol=1e-6)
        """),
        md(r"""
        ## Submitting

        Restart the kernel and run all cells (Kernel, Restart & Run All), check that every visible test
        prints `[passed]`, save, and submit the notebook.
        """),
    ]


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    nb = write_notebook(cells(), OUT)
    print(f"wrote {OUT} ({len(nb.cells)} cells)")
