"""The Solver: minibatch training of a model, with histories and checkpoints.

::

    solver = Solver(model, data, update_rule=optim.adam, optim_config={"lr": 1e-3},
                    lr_decay=0.95, batch_size=100, num_epochs=10, seed=0)
    solver.train()
    solver.best_val_acc, solver.loss_history, solver.val_acc_history

``data`` is a dict with ``X_train``, ``y_train``, ``X_val``, ``y_val`` (as made by
``course_lib.data.get_cifar10_data``). The model follows the protocol of
:mod:`course_lib.models.base`: ``params``, ``loss(X, y=None)`` and, when it has
them, ``bn_stats`` and ``rng``.

Every epoch visits the training set once in a fresh random order, in
``len(X_train) // batch_size`` minibatches (the few examples left over change
from epoch to epoch). After each epoch the learning rate is multiplied by
``lr_decay`` and the accuracy is measured on ``num_train_samples`` random
training examples and ``num_val_samples`` validation examples (all when None);
the parameters with the best validation accuracy are kept and copied into the
model when training ends (``keep_best=False`` leaves the final parameters in
the model instead; ``restore_best()`` copies the best ones in later). The
accuracies are also measured once before training, so ``val_acc_history[e]``
is the accuracy after ``e`` epochs.

Reproducibility: the ``seed`` fixes the order of the minibatches and the
subsets used to measure accuracy; the model's own seed fixes its initial
weights and dropout masks. Same seeds, same data: bitwise-identical histories.

Checkpoints are ``.npz`` files (no pickle) holding the parameters, batchnorm
statistics, optimizer states, histories, the epoch and the random states:
:meth:`Solver.resume` continues a run exactly as if it had never stopped.
"""
import json
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from course_lib import optim
from course_lib.diagnostics import update_ratio
from course_lib.models.io import bn_stats, qualname, read_npz, write_npz_atomic

__all__ = ["Solver", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "course_lib.solver.checkpoint"
CHECKPOINT_VERSION = 1


class Solver:
    """Train a model with minibatch gradient descent.

    Parameters
    ----------
    model : object
        Has ``params`` (dict of arrays) and ``loss(X, y=None)``.
    data : dict
        ``X_train`` (N_train, ...), ``y_train`` (N_train,), ``X_val``, ``y_val``.
    update_rule : callable
        ``update(w, dw, state) -> (w, state)``, e.g. ``optim.sgd`` or
        ``optim.adam`` (the function itself, not its name).
    optim_config : dict or None
        Initial optimizer state (hyperparameters), copied for every
        parameter, e.g. ``{"lr": 1e-3}``.
    lr_decay : float
        Factor applied to ``state["lr"]`` after every epoch.
    batch_size : int
    num_epochs : int
        Epochs to train in all (a resumed run continues up to this number).
    num_train_samples : int or None
        Training examples used to measure the training accuracy (None: all).
    num_val_samples : int or None
        Validation examples used to measure the validation accuracy (None: all).
    checkpoint_name : str or Path or None
        When given, ``{checkpoint_name}_epoch_{e}.npz`` is written after every epoch.
    print_every : int
        Print the loss every this many iterations (when ``verbose``).
    verbose : bool
        Print the loss and the accuracies as training proceeds.
    progress : bool
        Show a tqdm progress bar with the loss and accuracies.
    seed : int or None
        Seeds the minibatch order and the accuracy subsets.
    track_diagnostics : bool
        Record ``update_ratio_history``: ``||update|| / ||w||`` per parameter and
        iteration (about 1e-3 is healthy).
    augment : callable or None, keyword-only
        ``augment(X_batch, rng) -> X_batch`` applied to every training minibatch
        (e.g. random flips and crops), drawing from the solver's ``rng``.
    keep_best : bool, keyword-only
        True (the default): when ``train()`` ends, the model gets back the
        parameters (and batchnorm statistics) of the epoch with the best
        validation accuracy, an early-stopping choice made after the fact.
        False: the model keeps the parameters of the last epoch, e.g. to
        continue training it or to study the end of the run. ``best_params``
        is recorded either way, and ``restore_best()`` applies it.

    Attributes
    ----------
    loss_history : list of float, one per iteration
    train_acc_history, val_acc_history : list of float, one per epoch (plus epoch 0)
    update_ratio_history : dict of list of float (when ``track_diagnostics``)
    best_val_acc : float
    best_params : dict of ndarray
    epoch : int
        Epochs completed.
    rng : numpy.random.Generator
    """

    def __init__(self, model, data, update_rule=optim.sgd, optim_config=None, lr_decay=1.0,
                 batch_size=100, num_epochs=10, num_train_samples=1000, num_val_samples=None,
                 checkpoint_name=None, print_every=100, verbose=True, progress=True, seed=None,
                 track_diagnostics=False, *, augment=None, keep_best=True):
        if not hasattr(model, "params") or not callable(getattr(model, "loss", None)):
            raise TypeError("model must have a params dict and a loss(X, y=None) method, "
                            f"got {type(model).__name__}")
        if isinstance(update_rule, str) or not callable(update_rule):
            raise TypeError("update_rule must be the optimizer function itself, e.g. "
                            f"update_rule=optim.adam, not {update_rule!r}")
        if optim_config is not None and not isinstance(optim_config, dict):
            raise TypeError(f"optim_config must be a dict such as {{'lr': 1e-3}}, "
                            f"got {type(optim_config).__name__}")
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise KeyError(f"data is missing {missing}; it needs X_train, y_train, X_val, y_val")
        for split in ("train", "val"):
            if len(data["X_" + split]) != len(data["y_" + split]):
                raise ValueError(f"X_{split} has {len(data['X_' + split])} examples but "
                                 f"y_{split} has {len(data['y_' + split])} labels")
        if len(data["X_train"]) == 0:
            raise ValueError("X_train is empty")
        if int(batch_size) < 1 or int(num_epochs) < 0:
            raise ValueError(f"batch_size must be >= 1 and num_epochs >= 0, got "
                             f"{batch_size} and {num_epochs}")
        if augment is not None and not callable(augment):
            raise TypeError("augment must be a function augment(X_batch, rng) -> X_batch")
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = update_rule
        self.optim_config = dict(optim_config or {})
        self.lr_decay = float(lr_decay)
        self.batch_size = int(batch_size)
        self.num_epochs = int(num_epochs)
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.checkpoint_name = checkpoint_name
        self.print_every = int(print_every)
        self.verbose = verbose
        self.progress = progress
        self.seed = seed
        self.track_diagnostics = track_diagnostics
        self.augment = augment
        self.keep_best = bool(keep_best)
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.best_bn_stats = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.update_ratio_history = {name: [] for name in self.model.params}
        self.optim_states = {name: dict(self.optim_config) for name in self.model.params}
        self.rng = np.random.default_rng(self.seed)
        self.diverged = False

    @property
    def iterations_per_epoch(self):
        return max(len(self.X_train) // self.batch_size, 1)

    # ---- training ------------------------------------------------------------
    def train(self):
        """Train up to ``num_epochs`` epochs, then copy the best parameters into the model.

        With ``keep_best=False`` the model keeps the parameters of the last
        epoch instead (also after a divergence). Returns ``self``. Stops
        early (with a warning, ``diverged = True``) when the loss becomes inf
        or nan, usually a learning rate too high.
        """
        per_epoch = self.iterations_per_epoch
        bar = tqdm(total=self.num_epochs * per_epoch, initial=self.epoch * per_epoch,
                   disable=not self.progress, unit="it", leave=True)
        self._bar = bar
        try:
            if not self.val_acc_history:
                self._record_accuracies()
            for epoch in range(self.epoch + 1, self.num_epochs + 1):
                bar.set_description(f"epoch {epoch}/{self.num_epochs}")
                order = self.rng.permutation(len(self.X_train))
                for it in range(per_epoch):
                    loss = self._step(order[it * self.batch_size:(it + 1) * self.batch_size])
                    bar.update(1)
                    if not np.isfinite(loss):
                        self.diverged = True
                        warnings.warn(f"the loss became {loss} at iteration "
                                      f"{len(self.loss_history)}; stopping. The learning rate "
                                      "is probably too high.", RuntimeWarning, stacklevel=2)
                        break
                    t = len(self.loss_history)
                    if self.verbose and (t == 1 or t % self.print_every == 0):
                        self._print(f"(Iteration {t} / {self.num_epochs * per_epoch}) "
                                    f"loss: {loss:.6f}")
                    if it % 10 == 0:
                        bar.set_postfix(self._postfix(), refresh=False)
                if self.diverged:
                    break
                self.epoch = epoch
                for state in self.optim_states.values():
                    self._decay_lr(state)
                self._record_accuracies()
                bar.set_postfix(self._postfix(), refresh=False)
                if self.checkpoint_name is not None:
                    self.save_checkpoint(f"{self.checkpoint_name}_epoch_{epoch}.npz")
        finally:
            bar.close()
            self._bar = None
        if self.keep_best:
            self._restore_best()
        return self

    def _step(self, idx):
        """One minibatch: loss, gradients, one update per parameter. Returns the loss."""
        X_batch, y_batch = self.X_train[idx], self.y_train[idx]
        if self.augment is not None:
            X_batch = self.augment(X_batch, self.rng)
        loss, grads = self.model.loss(X_batch, y_batch)
        loss = float(loss)
        self.loss_history.append(loss)
        params = self.model.params
        if grads.keys() != params.keys():
            raise KeyError(f"model.loss returned gradients for {sorted(grads)} but the "
                           f"parameters are {sorted(params)}; key grads like params")
        for name in params:
            w = params[name]
            # Optimizers in course_lib.optim return a new array; a user's rule
            # might update in place, so keep a copy to measure the update.
            w_old = w.copy() if self.track_diagnostics else None
            params[name], self.optim_states[name] = self.update_rule(w, grads[name],
                                                                     self.optim_states[name])
            if self.track_diagnostics:
                self.update_ratio_history[name].append(update_ratio(w_old, params[name]))
        return loss

    def _decay_lr(self, state):
        if self.lr_decay == 1.0:
            return
        if "lr" not in state:
            raise KeyError("lr_decay needs the optimizer state to hold the learning rate "
                           f"under 'lr'; found keys {sorted(state)}")
        state["lr"] *= self.lr_decay

    def _record_accuracies(self):
        train_acc = self.check_accuracy(self.X_train, self.y_train,
                                        num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if not self.best_params or val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
            self.best_bn_stats = {k: s.copy() for k, s in bn_stats(self.model).items()}
        if self.verbose:
            self._print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:.4f}; "
                        f"val acc: {val_acc:.4f}")

    def restore_best(self):
        """Copy the parameters and batchnorm statistics of the best epoch into the model.

        The best epoch is the one with the highest validation accuracy.
        ``train()`` does this itself unless ``keep_best=False``. Returns ``self``.
        """
        if not self.best_params:
            raise RuntimeError("no best parameters yet: call train() first")
        self._restore_best()
        return self

    def _restore_best(self):
        for name, value in self.best_params.items():
            self.model.params[name] = value.copy()
        stats = bn_stats(self.model)
        for layer, saved in self.best_bn_stats.items():
            stats[layer].running_mean = saved.running_mean.copy()
            stats[layer].running_var = saved.running_var.copy()

    def _postfix(self):
        postfix = {}
        if self.loss_history:
            postfix["loss"] = f"{np.mean(self.loss_history[-10:]):.3f}"
        if self.train_acc_history:
            postfix["train"] = f"{self.train_acc_history[-1]:.3f}"
            postfix["val"] = f"{self.val_acc_history[-1]:.3f}"
        return postfix

    def _print(self, message):
        if getattr(self, "_bar", None) is not None and not self._bar.disable:
            tqdm.write(message)
        else:
            print(message)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of examples whose highest score is the true class.

        With ``num_samples`` a random subset of that size (drawn from the
        solver's ``rng``) is used. Runs the model in test mode, ``batch_size``
        examples at a time to bound memory.
        """
        N = len(X)
        if N == 0:
            raise ValueError("check_accuracy: X is empty")
        if num_samples is not None and N > num_samples:
            idx = self.rng.choice(N, num_samples, replace=False)
            X, y = X[idx], y[idx]
            N = num_samples
        correct = 0
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            correct += int(np.sum(np.argmax(scores, axis=1) == y[start:start + batch_size]))
        return correct / N

    # ---- checkpoints ---------------------------------------------------------
    def save_checkpoint(self, path):
        """Write the training state to ``path`` (an .npz file), atomically.

        The file is written to a temporary name in the same directory and
        renamed, so an interrupted save never leaves a half-written checkpoint.
        Returns the path.
        """
        path = Path(path)
        arrays = {
            "format": np.array(CHECKPOINT_FORMAT),
            "format_version": np.array(CHECKPOINT_VERSION),
            "model_class": np.array(qualname(type(self.model))),
            "settings": np.array(json.dumps(self._settings())),
            "epoch": np.array(self.epoch),
            "best_val_acc": np.array(self.best_val_acc),
            "diverged": np.array(self.diverged),
            "rng_state": np.array(json.dumps(self.rng.bit_generator.state)),
            "history/loss": np.array(self.loss_history, dtype=np.float64),
            "history/train_acc": np.array(self.train_acc_history, dtype=np.float64),
            "history/val_acc": np.array(self.val_acc_history, dtype=np.float64),
        }
        if isinstance(getattr(self.model, "rng", None), np.random.Generator):
            arrays["model_rng_state"] = np.array(json.dumps(self.model.rng.bit_generator.state))
        for name, value in self.model.params.items():
            arrays["param/" + name] = value
        for name, value in self.best_params.items():
            arrays["best_param/" + name] = value
        for prefix, stats in (("bn/", bn_stats(self.model)), ("best_bn/", self.best_bn_stats)):
            for layer, s in stats.items():
                arrays[f"{prefix}{layer}/running_mean"] = s.running_mean
                arrays[f"{prefix}{layer}/running_var"] = s.running_var
        for name, state in self.optim_states.items():
            for key, value in state.items():
                value = np.asarray(value)
                if value.dtype.kind not in "biuf":
                    raise TypeError(f"cannot store optimizer state {name!r}[{key!r}] of type "
                                    f"{type(state[key]).__name__}: only numbers and arrays")
                arrays[f"optim/{name}/{key}"] = value
        for name, ratios in self.update_ratio_history.items():
            arrays["history/update_ratio/" + name] = np.array(ratios, dtype=np.float64)

        return write_npz_atomic(path, arrays)

    def load_checkpoint(self, path):
        """Restore the model and the training state saved by :meth:`save_checkpoint`.

        Raises ``ValueError`` naming the file when it is truncated or corrupt,
        is not a Solver checkpoint, or holds a different model (class,
        parameter names or shapes). Warns when the solver's settings (batch
        size, update rule, ...) differ from the saved run's, since the
        continued run then differs from an uninterrupted one. Returns ``self``.
        """
        path = Path(path)
        arrays = read_npz(path, what="checkpoint")
        if "format" not in arrays or str(arrays["format"]) != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: not a course_lib Solver checkpoint (no "
                             f"'format' = {CHECKPOINT_FORMAT!r} entry; it holds "
                             f"{sorted(arrays)[:8]}...)")
        version = int(arrays.get("format_version", -1))
        if version != CHECKPOINT_VERSION:
            raise ValueError(f"{path}: checkpoint format version {version}, this course_lib "
                             f"reads version {CHECKPOINT_VERSION}")
        saved_class = str(arrays["model_class"])
        if saved_class != qualname(type(self.model)):
            raise ValueError(f"{path}: the checkpoint holds a {saved_class} but the solver's "
                             f"model is a {qualname(type(self.model))}")
        try:
            self._restore(path, arrays)
        except KeyError as e:
            raise ValueError(f"{path}: incomplete checkpoint, entry {e} is missing") from None
        return self

    @classmethod
    def resume(cls, path, model, data, **kwargs):
        """A Solver for ``model`` and ``data`` (other arguments as in the
        constructor) that continues the run saved in ``path``."""
        return cls(model, data, **kwargs).load_checkpoint(path)

    def _settings(self):
        return {"batch_size": self.batch_size, "lr_decay": self.lr_decay,
                "num_train_samples": self.num_train_samples,
                "num_val_samples": self.num_val_samples,
                "update_rule": qualname(self.update_rule),
                "augment": None if self.augment is None else qualname(self.augment),
                "keep_best": self.keep_best,
                "num_train": len(self.X_train), "num_val": len(self.X_val)}

    def _restore(self, path, arrays):
        params = self.model.params
        saved_names = {k[len("param/"):] for k in arrays if k.startswith("param/")}
        if saved_names != set(params):
            raise ValueError(f"{path}: the checkpoint's parameters {sorted(saved_names)} do not "
                             f"match the model's {sorted(params)}; build the model with the "
                             "same architecture")
        for name in params:
            value = arrays["param/" + name]
            if value.shape != params[name].shape or value.dtype != params[name].dtype:
                raise ValueError(f"{path}: parameter {name} is {value.dtype} {value.shape} in the "
                                 f"checkpoint but {params[name].dtype} {params[name].shape} in "
                                 "the model")
        stats = bn_stats(self.model)
        saved_layers = {k.split("/")[1] for k in arrays if k.startswith("bn/")}
        if saved_layers != set(stats):
            raise ValueError(f"{path}: the checkpoint has batchnorm statistics for "
                             f"{sorted(saved_layers)} but the model for {sorted(stats)}")

        differences = {k: (v, self._settings()[k])
                       for k, v in json.loads(str(arrays["settings"])).items()
                       if self._settings().get(k) != v}
        if differences:
            listed = ", ".join(f"{k}: saved {a!r}, now {b!r}" for k, (a, b) in differences.items())
            warnings.warn(f"{path}: settings differ from the saved run ({listed}); the "
                          "continued run will not match an uninterrupted one", stacklevel=3)

        for name in params:
            params[name] = arrays["param/" + name].copy()
        for layer, s in stats.items():
            s.running_mean = arrays[f"bn/{layer}/running_mean"].copy()
            s.running_var = arrays[f"bn/{layer}/running_var"].copy()
        self.best_params = {k[len("best_param/"):]: v.copy() for k, v in arrays.items()
                            if k.startswith("best_param/")}
        self.best_bn_stats = {}
        for layer in stats:
            if f"best_bn/{layer}/running_mean" in arrays:
                best = stats[layer].copy()
                best.running_mean = arrays[f"best_bn/{layer}/running_mean"].copy()
                best.running_var = arrays[f"best_bn/{layer}/running_var"].copy()
                self.best_bn_stats[layer] = best
        self.optim_states = {name: {} for name in params}
        for key, value in arrays.items():
            if key.startswith("optim/"):
                _, name, slot = key.split("/", 2)
                if name not in self.optim_states:
                    raise ValueError(f"{path}: optimizer state for unknown parameter {name!r}")
                # 0-d entries were Python numbers: give them back as such so that
                # float32 parameters are not promoted by a float64 scalar.
                self.optim_states[name][slot] = value.item() if value.ndim == 0 else value.copy()
        self.loss_history = arrays["history/loss"].tolist()
        self.train_acc_history = arrays["history/train_acc"].tolist()
        self.val_acc_history = arrays["history/val_acc"].tolist()
        self.update_ratio_history = {name: [] for name in params}
        for key, value in arrays.items():
            if key.startswith("history/update_ratio/"):
                self.update_ratio_history[key[len("history/update_ratio/"):]] = value.tolist()
        self.epoch = int(arrays["epoch"])
        self.best_val_acc = float(arrays["best_val_acc"])
        self.diverged = bool(arrays["diverged"])
        self.rng.bit_generator.state = json.loads(str(arrays["rng_state"]))
        if "model_rng_state" in arrays:
            self.model.rng.bit_generator.state = json.loads(str(arrays["model_rng_state"]))
