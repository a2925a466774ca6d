"""Submissions for testing copy detection on A1: two solutions written
independently of the instructor's (only the solution regions differ; the
starter code around them is the release's), and the copies a student might
make of any solution: renamed, reformatted, reordered, all three.

``honest()`` gives ``{name: {grade_id: source}}`` for the instructor's
solution and the two independent ones; ``copies(cells, rng)`` the four
disguised copies of one of them.
"""
import ast
import random
import re

# The independent solutions: the body of each solution region, written from
# the docstrings alone (not from the instructor's solution or course_lib).
VARIANT_B = {
    "compute_distances_two_loops": """
            total = 0.0
            for d in range(X.shape[1]):
                delta = X[i, d] - X_train[j, d]
                total += delta ** 2
            dists[i, j] = total ** 0.5
""",
    "compute_distances_one_loop": """
        dists[i, :] = np.linalg.norm(X_train - X[i, :], axis=1)
""",
    "compute_distances_no_loops": """
    cross = X.dot(X_train.T)
    a2 = (X ** 2).sum(axis=1).reshape(-1, 1)
    b2 = (X_train ** 2).sum(axis=1).reshape(1, -1)
    d2 = a2 - 2.0 * cross + b2
    d2[d2 < 0] = 0.0
    return np.sqrt(d2)
""",
    "predict_labels": """
        order = np.argsort(dists[i], kind="stable")
        closest = y_train[order[:k]]
        counts = np.bincount(closest)
        y_pred[i] = counts.argmax()
""",
    "cross_validate_k": """
    for fold in range(num_folds):
        val = folds[fold]
        train = np.hstack([folds[g] for g in range(num_folds) if g != fold])
        d = compute_distances_no_loops(X[val], X[train])
        for ki in range(len(k_choices)):
            pred = predict_labels(d, y[train], k=k_choices[ki])
            accuracies[ki, fold] = (pred == y[val]).mean()
""",
    "svm_loss_naive": """
    for n in range(num_train):
        s = W.T.dot(X[n])
        for c in range(num_classes):
            if c != y[n]:
                m = s[c] - s[y[n]] + 1.0
                if m > 0:
                    loss = loss + m
                    dW[:, c] = dW[:, c] + X[n]
                    dW[:, y[n]] = dW[:, y[n]] - X[n]
    loss = loss / num_train + reg * (W ** 2).sum()
    dW = dW / num_train + reg * 2.0 * W
""",
    "svm_loss_vectorized": """
    n = len(y)
    s = X.dot(W)
    true_scores = np.take_along_axis(s, y.reshape(-1, 1), axis=1)
    m = s - true_scores + 1.0
    m[np.arange(n), y] = 0.0
    m = np.clip(m, 0.0, None)
    loss = np.sum(m) / n + reg * np.sum(W ** 2)
    mask = np.where(m > 0, 1.0, 0.0)
    mask[np.arange(n), y] = -np.sum(mask, axis=1)
    dW = X.T.dot(mask) / n + 2.0 * reg * W
    return loss, dW
""",
    "softmax_loss_naive": """
    for n in range(num_train):
        f = X[n].dot(W)
        f -= f.max()
        e = np.exp(f)
        p = e / e.sum()
        loss += -np.log(p[y[n]])
        p[y[n]] -= 1.0
        dW += np.outer(X[n], p)
    loss /= num_train
    loss += reg * (W ** 2).sum()
    dW /= num_train
    dW += 2.0 * reg * W
""",
    "softmax_loss_vectorized": """
    n = X.shape[0]
    f = X.dot(W)
    f -= np.max(f, axis=1).reshape(-1, 1)
    e = np.exp(f)
    p = e / np.sum(e, axis=1).reshape(-1, 1)
    loss = np.sum(-np.log(p[np.arange(n), y])) / n + reg * (W ** 2).sum()
    p[np.arange(n), y] -= 1.0
    dW = X.T.dot(p) / n + 2.0 * reg * W
    return loss, dW
""",
    "train_linear_classifier": """
        idx = rng.choice(num_train, batch_size)
        value, grad = loss_fn(W, X[idx], y[idx], reg)
        loss_history[it] = value
        W = W - lr * grad
""",
    "softmax_hyperparameters": """
    return dict(lr=5e-7, reg=1e4, num_iters=400, batch_size=256)
""",
    "two_layer_loss": """
    z1 = X.dot(W1) + b1
    a1 = z1 * (z1 > 0)
    z2 = a1.dot(W2) + b2
    if y is None:
        return z2
    n = len(X)
    z2 = z2 - np.max(z2, axis=1).reshape(-1, 1)
    ez = np.exp(z2)
    p = ez / ez.sum(axis=1).reshape(-1, 1)
    loss = np.sum(-np.log(p[np.arange(n), y])) / n
    loss += reg * ((W1 ** 2).sum() + (W2 ** 2).sum())
    d2 = p.copy()
    d2[np.arange(n), y] -= 1.0
    d2 = d2 / n
    grads = {}
    grads["b2"] = np.sum(d2, axis=0)
    grads["W2"] = a1.T.dot(d2) + reg * 2.0 * W2
    d1 = d2.dot(W2.T)
    d1[z1 <= 0] = 0.0
    grads["b1"] = np.sum(d1, axis=0)
    grads["W1"] = X.T.dot(d1) + reg * 2.0 * W1
    return loss, grads
""",
}

VARIANT_C = {
    "compute_distances_two_loops": """
            dists[i, j] = np.linalg.norm(X[i] - X_train[j])
""",
    "compute_distances_one_loop": """
        gap = np.subtract(X_train, X[i])
        dists[i] = np.sqrt(np.einsum("nd,nd->n", gap, gap))
""",
    "compute_distances_no_loops": """
    test_norms = np.einsum("md,md->m", X, X)
    train_norms = np.einsum("nd,nd->n", X_train, X_train)
    sq = np.add.outer(test_norms, train_norms) - 2 * np.matmul(X, X_train.T)
    return np.sqrt(np.clip(sq, 0, None))
""",
    "predict_labels": """
        votes = {}
        for j in np.argsort(dists[i], kind="stable")[:k]:
            votes[int(y_train[j])] = votes.get(int(y_train[j]), 0) + 1
        best = max(votes.values())
        y_pred[i] = min(label for label, v in votes.items() if v == best)
""",
    "cross_validate_k": """
    for v in range(num_folds):
        keep = [idx for g, idx in enumerate(folds) if g != v]
        tr = np.concatenate(keep)
        va = folds[v]
        distance = compute_distances_no_loops(X[va], X[tr])
        row = 0
        for kk in k_choices:
            guess = predict_labels(distance, y[tr], kk)
            accuracies[row, v] = np.count_nonzero(guess == y[va]) / len(va)
            row += 1
""",
    "svm_loss_naive": """
    for idx in range(num_train):
        row = X[idx]
        sc = np.matmul(row, W)
        yi = y[idx]
        hits = 0
        for cls in range(num_classes):
            if cls == yi:
                continue
            gap = sc[cls] - sc[yi] + 1
            if gap <= 0:
                continue
            hits += 1
            loss += gap
            dW[:, cls] += row
        dW[:, yi] -= hits * row
    loss = loss / num_train + reg * np.vdot(W, W)
    dW = dW / num_train + 2 * reg * W
""",
    "svm_loss_vectorized": """
    N = X.shape[0]
    sc = np.matmul(X, W)
    correct = sc[np.arange(N), y]
    gaps = sc - correct[:, np.newaxis] + 1
    gaps[np.arange(N), y] = 0
    pos = gaps > 0
    loss = np.sum(gaps[pos]) / N + reg * np.vdot(W, W)
    G = pos.astype(W.dtype)
    G[np.arange(N), y] -= pos.sum(axis=1)
    dW = np.matmul(X.T, G) / N + 2 * reg * W
    return loss, dW
""",
    "softmax_loss_naive": """
    for idx in range(num_train):
        logits = np.matmul(X[idx], W)
        top = logits.max()
        norm = 0.0
        for cls in range(num_classes):
            norm += np.exp(logits[cls] - top)
        loss += np.log(norm) - (logits[y[idx]] - top)
        for cls in range(num_classes):
            share = np.exp(logits[cls] - top) / norm
            if cls == y[idx]:
                share -= 1
            dW[:, cls] += share * X[idx]
    loss = loss / num_train + reg * np.vdot(W, W)
    dW = dW / num_train + 2 * reg * W
""",
    "softmax_loss_vectorized": """
    N = len(X)
    logits = np.matmul(X, W)
    logits = logits - logits.max(axis=1)[:, np.newaxis]
    lse = np.log(np.exp(logits).sum(axis=1))
    loss = np.mean(lse - logits[np.arange(N), y]) + reg * np.vdot(W, W)
    soft = np.exp(logits - lse[:, np.newaxis])
    onehot = np.zeros_like(soft)
    onehot[np.arange(N), y] = 1
    dW = np.matmul(X.T, soft - onehot) / N + 2 * reg * W
    return loss, dW
""",
    "train_linear_classifier": """
        picks = rng.choice(num_train, batch_size)
        current, step = loss_fn(W, X[picks], y[picks], reg)
        W -= lr * step
        loss_history[it] = current
""",
    "softmax_hyperparameters": """
    settings = {}
    settings["lr"] = 1e-6
    settings["reg"] = 2.5e3
    settings["num_iters"] = 500
    settings["batch_size"] = 128
    return settings
""",
    "two_layer_loss": """
    pre = np.matmul(X, W1) + b1
    act = np.where(pre > 0, pre, 0.0)
    out = np.matmul(act, W2) + b2
    if y is None:
        return out
    N = X.shape[0]
    out = out - out.max(axis=1)[:, np.newaxis]
    lse = np.log(np.exp(out).sum(axis=1))
    loss = np.mean(lse - out[np.arange(N), y])
    loss = loss + reg * (np.vdot(W1, W1) + np.vdot(W2, W2))
    g_out = np.exp(out - lse[:, np.newaxis])
    g_out[np.arange(N), y] -= 1
    g_out /= N
    g_act = np.matmul(g_out, W2.T)
    g_pre = np.where(pre > 0, g_act, 0.0)
    grads = {"W1": np.matmul(X.T, g_pre) + 2 * reg * W1, "b1": g_pre.sum(axis=0),
             "W2": np.matmul(act.T, g_out) + 2 * reg * W2, "b2": g_out.sum(axis=0)}
    return loss, grads
""",
}

_REGION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION\n?", re.S)


def with_region(source, body):
    """``source`` (an instructor's cell) with its solution region replaced by ``body``."""
    match = _REGION.search(source)
    assert match, "no solution region"
    return source[:match.start()] + body.strip("\n") + "\n" + source[match.end():]


def strip_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line) + "\n"


def honest(instructor_cells):
    """``{name: {grade_id: source}}``: the instructor's solution and two
    independent ones, from the instructor's cells ``{grade_id: source}``."""
    return {
        "solution": {g: strip_markers(s) for g, s in instructor_cells.items()},
        "indep_b": {g: with_region(s, VARIANT_B[g]) for g, s in instructor_cells.items()},
        "indep_c": {g: with_region(s, VARIANT_C[g]) for g, s in instructor_cells.items()},
    }


# ---- disguises -------------------------------------------------------------------

class _Renamer(ast.NodeTransformer):
    """Renames every local variable and argument (not attributes, not
    globals such as np or the graded functions' names)."""

    def __init__(self, keep, rng):
        self.keep, self.rng, self.names = keep, rng, {}

    def _new(self, name):
        if name in self.keep:
            return name
        if name not in self.names:
            self.names[name] = f"{self.rng.choice(['tmp', 'val', 'my', 'q', 'z'])}_" \
                               f"{len(self.names)}_{name[::-1]}"
        return self.names[name]

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        return node


def renamed(cells, rng):
    keep = {"np", "range", "len", "dict", "int", "float", "max", "min", "sum", "abs",
            "enumerate", "zip", "True", "False", "None", "print", "sorted", "list"}
    keep |= set(cells)  # the graded functions keep their names
    out = {}
    for grade_id, source in cells.items():
        tree = ast.parse(source)
        tree = _Renamer(keep, rng).visit(tree)
        out[grade_id] = ast.unparse(tree) + "\n"
    return out


def reformatted(cells, rng):
    """Same code in another layout: unparsed (quotes, spacing, line breaks
    change), docstrings dropped, comments and blank lines added."""
    out = {}
    for grade_id, source in cells.items():
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.body and \
                    isinstance(node.body[0], ast.Expr) and \
                    isinstance(node.body[0].value, ast.Constant):
                node.body = node.body[1:] or [ast.Pass()]
        lines = []
        for line in ast.unparse(tree).splitlines():
            lines.append(line.replace(", ", ",").replace(" = ", "=")
                         if rng.random() < 0.5 else line)
            if rng.random() < 0.3:
                indent = len(line) - len(line.lstrip())
                lines.append(" " * indent + f"# step {rng.randrange(100)}: see lecture")
            if rng.random() < 0.2:
                lines.append("")
        out[grade_id] = "\n".join(lines) + "\n"
    return out


def reordered(cells, rng):
    """Cells in another order; where a cell's body has independent leading
    assignments, they are not moved (that could change the result), but each
    graded function moves to another cell than its own."""
    ids = list(cells)
    rng.shuffle(ids)
    shifted = ids[1:] + ids[:1]
    return {a: cells[b] for a, b in zip(ids, shifted)}


def copies(cells, rng=None):
    """The four disguises of one submission ``{grade_id: source}``."""
    rng = rng or random.Random(0)
    return {"renamed": renamed(cells, rng), "reformatted": reformatted(cells, rng),
            "reordered": reordered(cells, rng),
            "all_three": reordered(reformatted(renamed(cells, rng), rng), rng)}
