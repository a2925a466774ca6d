"""Tests for course_lib.solver: training, reproducibility, best params, checkpoints."""
import json
import os
import warnings

import numpy as np
import pytest

from course_lib import optim
from course_lib.models import FullyConnectedNet, TwoLayerNet
from course_lib.normalization import BatchNormStats
from course_lib.solver import Solver


class CountingModel:
    """A stand-in model whose only parameter counts the updates (one per epoch below).

    Test-mode predictions are right exactly when the count is in ``good``, so a
    test decides which epochs have the best validation accuracy. Training mode
    copies the count into a batchnorm running mean, to follow the statistics.
    """

    def __init__(self, good=(), nan_at=None):
        self.params = {"fc1.W": np.zeros(4)}
        self.bn_stats = {"fc1": BatchNormStats.create(4)}
        self.good, self.nan_at = set(good), nan_at

    def loss(self, X, y=None):
        count = int(self.params["fc1.W"][0])
        if y is None:
            scores = np.zeros((len(X), 2))
            scores[:, 0] = 1.0 if count in self.good else -1.0  # every label is 0
            return scores
        self.bn_stats["fc1"].running_mean = self.params["fc1.W"].copy()
        loss = np.nan if count == self.nan_at else float(count)
        return loss, {"fc1.W": np.zeros(4)}


def count_up(w, dw, state):
    """An update rule that adds 1 to every entry, whatever the gradient."""
    return w + 1.0, state


def tiny_data(num_train=10, num_val=6):
    return {"X_train": np.zeros((num_train, 3)), "y_train": np.zeros(num_train, dtype=np.int64),
            "X_val": np.zeros((num_val, 3)), "y_val": np.zeros(num_val, dtype=np.int64)}


def random_images(num=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num, 3, 32, 32))
    y = rng.integers(0, 10, num)
    return {"X_train": X, "y_train": y, "X_val": X[:20], "y_val": y[:20]}


def quiet(**kwargs):
    return dict(verbose=False, progress=False, **kwargs)


# ---- training ---------------------------------------------------------------------------

def test_overfits_fifty_random_images():
    """Can a small net reach 100% training accuracy on 50 CIFAR-sized images with random labels?"""
    data = random_images()
    model = TwoLayerNet(hidden_dim=50, weight_scale=1e-2, seed=0)
    solver = Solver(model, data, update_rule=optim.adam, optim_config={"lr": 1e-3},
                    batch_size=25, num_epochs=20, num_train_samples=None, seed=0, **quiet())
    solver.train()
    assert solver.train_acc_history[0] < 0.3
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.5 * solver.loss_history[0]


def test_iterations_epochs_and_histories():
    """Does each epoch run N // batch_size steps and record one accuracy per epoch plus epoch 0?"""
    model = CountingModel()
    solver = Solver(model, tiny_data(num_train=10), update_rule=count_up, batch_size=3,
                    num_epochs=4, **quiet())
    solver.train()
    assert len(solver.loss_history) == 4 * 3
    assert solver.loss_history == [float(k) for k in range(12)]
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 5
    assert solver.epoch == 4


def test_each_epoch_visits_distinct_examples():
    """Is every epoch a permutation: no example twice within an epoch?"""
    seen = []

    class Recorder(CountingModel):
        def loss(self, X, y=None):
            if y is not None:
                seen.append(X[:, 0].copy())
            return super().loss(X, y)

    data = tiny_data(num_train=12)
    data["X_train"][:, 0] = np.arange(12)
    Solver(Recorder(), data, update_rule=count_up, batch_size=4, num_epochs=2, seed=0,
           **quiet()).train()
    first, second = np.concatenate(seen[:3]), np.concatenate(seen[3:])
    assert sorted(first) == list(range(12)) and sorted(second) == list(range(12))
    assert not np.array_equal(first, second)


def test_best_params_and_stats_restored():
    """Are the params (and BN statistics) of the best validation epoch put back at the end?"""
    model = CountingModel(good={2})
    solver = Solver(model, tiny_data(num_train=5), update_rule=count_up, batch_size=5,
                    num_epochs=4, **quiet())
    solver.train()
    assert solver.val_acc_history == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert solver.best_val_acc == 1.0
    np.testing.assert_array_equal(model.params["fc1.W"], np.full(4, 2.0))
    # the running mean seen by the epoch-2 check was written by the second step (count 1)
    np.testing.assert_array_equal(model.bn_stats["fc1"].running_mean, np.full(4, 1.0))


def test_keep_best_false_leaves_the_final_params():
    """With keep_best=False, does train() leave the last epoch's params and BN stats in place?"""
    model = CountingModel(good={2})
    solver = Solver(model, tiny_data(num_train=5), update_rule=count_up, batch_size=5,
                    num_epochs=4, keep_best=False, **quiet())
    solver.train()
    assert solver.best_val_acc == 1.0
    np.testing.assert_array_equal(model.params["fc1.W"], np.full(4, 4.0))
    np.testing.assert_array_equal(model.bn_stats["fc1"].running_mean, np.full(4, 3.0))
    # the best epoch is still recorded, and restore_best() applies it on request
    np.testing.assert_array_equal(solver.best_params["fc1.W"], np.full(4, 2.0))
    assert solver.restore_best() is solver
    np.testing.assert_array_equal(model.params["fc1.W"], np.full(4, 2.0))
    np.testing.assert_array_equal(model.bn_stats["fc1"].running_mean, np.full(4, 1.0))


def test_restore_best_before_training_is_explained():
    """Does restore_best() before any training say that train() must come first?"""
    solver = Solver(CountingModel(), tiny_data(), update_rule=count_up, **quiet())
    with pytest.raises(RuntimeError, match="train"):
        solver.restore_best()


def test_lr_decay_applied_every_epoch():
    """Is every parameter's learning rate multiplied by lr_decay once per epoch?"""
    data = random_images(num=20)
    model = TwoLayerNet(hidden_dim=5, seed=0)
    solver = Solver(model, data, update_rule=optim.sgd, optim_config={"lr": 1e-2}, lr_decay=0.5,
                    batch_size=10, num_epochs=3, **quiet())
    solver.train()
    assert {state["lr"] for state in solver.optim_states.values()} == {1e-2 * 0.5 ** 3}


def test_update_ratios_recorded():
    """With track_diagnostics, is ||update|| / ||w|| recorded per parameter and iteration?"""
    model = CountingModel()
    model.params["fc1.W"] = np.ones(4)
    solver = Solver(model, tiny_data(num_train=4), update_rule=count_up, batch_size=2,
                    num_epochs=2, track_diagnostics=True, **quiet())
    solver.train()
    # w = k * ones(4) before step k, the update is ones(4): ratio 1 / k
    np.testing.assert_allclose(solver.update_ratio_history["fc1.W"], [1, 1 / 2, 1 / 3, 1 / 4])


def test_update_ratios_of_a_real_model():
    """For SGD, is the recorded ratio lr * ||dw|| / ||w||, one value per iteration?"""
    data = random_images(num=20)
    model = TwoLayerNet(hidden_dim=5, weight_scale=1e-2, seed=0)
    w0 = model.params["fc2.W"].copy()
    solver = Solver(model, data, update_rule=optim.sgd, optim_config={"lr": 0.1}, batch_size=20,
                    num_epochs=2, track_diagnostics=True, seed=0, **quiet())
    order = np.random.default_rng(0).permutation(20)
    _, grads = TwoLayerNet(hidden_dim=5, weight_scale=1e-2, seed=0).loss(
        data["X_train"][order], data["y_train"][order])
    solver.train()
    assert len(solver.update_ratio_history["fc2.W"]) == 2
    expected = 0.1 * np.linalg.norm(grads["fc2.W"]) / np.linalg.norm(w0)
    assert solver.update_ratio_history["fc2.W"][0] == pytest.approx(expected, rel=1e-6)


def test_divergence_stops_training_with_a_warning():
    """Does a nan loss stop training with a warning instead of training on garbage?"""
    model = CountingModel(good={1}, nan_at=3)
    solver = Solver(model, tiny_data(num_train=2), update_rule=count_up, batch_size=2,
                    num_epochs=10, **quiet())
    with pytest.warns(RuntimeWarning, match="learning rate"):
        solver.train()
    assert solver.diverged and len(solver.loss_history) == 4
    assert model.params["fc1.W"][0] == 1.0  # best params restored all the same


def test_check_accuracy_on_a_subset():
    """Does check_accuracy count correct argmaxes, on exactly num_samples examples when asked?"""
    model = CountingModel(good={0})
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    solver = Solver(model, tiny_data(), update_rule=count_up, **quiet())
    assert solver.check_accuracy(np.zeros((8, 3)), y, batch_size=3) == 3 / 8
    assert solver.check_accuracy(np.zeros((8, 3)), y, num_samples=4) in {0, 0.25, 0.5, 0.75}


def test_reproducible_with_seed():
    """Do the same seeds give bitwise-identical histories and parameters, and another seed not?"""
    def run(solver_seed):
        model = FullyConnectedNet([10], input_dim=3 * 32 * 32, dropout_keep_ratio=0.8,
                                  normalization="batchnorm", seed=1)
        solver = Solver(model, random_images(num=40), update_rule=optim.adam,
                        optim_config={"lr": 1e-3}, batch_size=10, num_epochs=2,
                        num_train_samples=15, num_val_samples=10, seed=solver_seed, **quiet())
        solver.train()
        return solver, model

    (a, model_a), (b, model_b), (c, _) = run(7), run(7), run(8)
    assert a.loss_history == b.loss_history
    assert a.train_acc_history == b.train_acc_history and a.val_acc_history == b.val_acc_history
    for name in model_a.params:
        np.testing.assert_array_equal(model_a.params[name], model_b.params[name])
    assert a.loss_history != c.loss_history


def test_update_rule_must_be_a_function():
    """Is an optimizer given by name refused with a hint to pass the function?"""
    with pytest.raises(TypeError, match="optim.adam"):
        Solver(CountingModel(), tiny_data(), update_rule="adam")


def test_missing_data_is_named():
    """Does a data dict without y_val raise an error that names it?"""
    data = tiny_data()
    del data["y_val"]
    with pytest.raises(KeyError, match="y_val"):
        Solver(CountingModel(), data)


def test_verbose_prints_epochs(capsys):
    """Does verbose mode print the loss and each epoch's accuracies?"""
    Solver(CountingModel(), tiny_data(num_train=4), update_rule=count_up, batch_size=2,
           num_epochs=2, print_every=1, verbose=True, progress=False).train()
    out = capsys.readouterr().out
    assert "(Iteration 1 / 4) loss" in out and "(Epoch 2 / 2) train acc" in out


# ---- checkpoints ------------------------------------------------------------------------

def _fc_run(tmp_path, num_epochs, checkpoint=True):
    model = FullyConnectedNet([12, 8], input_dim=3 * 32 * 32, dropout_keep_ratio=0.7,
                              normalization="batchnorm", seed=3)
    solver = Solver(model, random_images(num=40), **_fc_settings(num_epochs),
                    checkpoint_name=str(tmp_path / "run") if checkpoint else None)
    return model, solver


def _fc_settings(num_epochs):
    return dict(update_rule=optim.adam, optim_config={"lr": 2e-3}, lr_decay=0.9, batch_size=8,
                num_epochs=num_epochs, num_train_samples=20, num_val_samples=12, seed=11,
                track_diagnostics=True, verbose=False, progress=False)


def test_resume_gives_the_uninterrupted_result(tmp_path):
    """Does resuming from the epoch-2 checkpoint end with exactly the uninterrupted run's state?"""
    model, solver = _fc_run(tmp_path, num_epochs=4)
    solver.train()
    assert sorted(os.listdir(tmp_path)) == [f"run_epoch_{e}.npz" for e in range(1, 5)]

    fresh = FullyConnectedNet([12, 8], input_dim=3 * 32 * 32, dropout_keep_ratio=0.7,
                              normalization="batchnorm", seed=99)
    resumed = Solver.resume(tmp_path / "run_epoch_2.npz", fresh, random_images(num=40),
                            **_fc_settings(4))
    assert resumed.epoch == 2 and len(resumed.val_acc_history) == 3
    resumed.train()
    for name in model.params:
        np.testing.assert_array_equal(fresh.params[name], model.params[name], err_msg=name)
    for layer in model.bn_stats:
        np.testing.assert_array_equal(fresh.bn_stats[layer].running_var,
                                      model.bn_stats[layer].running_var)
    assert resumed.loss_history == solver.loss_history
    assert resumed.val_acc_history == solver.val_acc_history
    assert resumed.update_ratio_history == solver.update_ratio_history
    assert resumed.best_val_acc == solver.best_val_acc


def test_checkpoint_round_trip_restores_everything(tmp_path):
    """Does load_checkpoint restore params, BN stats, random states, optimizer state, epoch?"""
    model, solver = _fc_run(tmp_path, num_epochs=1, checkpoint=False)
    solver.train()
    model.bn_stats["fc2"].running_var = np.linspace(1, 2, 8, dtype=np.float32)
    path = solver.save_checkpoint(tmp_path / "one.npz")
    other = FullyConnectedNet([12, 8], input_dim=3 * 32 * 32, dropout_keep_ratio=0.7,
                              normalization="batchnorm", seed=5)
    loaded = Solver(other, random_images(num=40), **_fc_settings(1)).load_checkpoint(path)
    assert loaded.epoch == 1
    state, saved = loaded.optim_states["fc1.W"], solver.optim_states["fc1.W"]
    assert state["t"] == saved["t"] and type(state["t"]) is int
    assert type(state["lr"]) is float and state["lr"] == saved["lr"]
    np.testing.assert_array_equal(state["m"], saved["m"])
    assert state["m"].dtype == np.float32
    np.testing.assert_array_equal(other.params["fc2.W"], model.params["fc2.W"])
    np.testing.assert_array_equal(other.bn_stats["fc2"].running_var,
                                  np.linspace(1, 2, 8, dtype=np.float32))
    assert other.rng.bit_generator.state == model.rng.bit_generator.state


def test_truncated_checkpoint_rejected(tmp_path):
    """Is a truncated checkpoint refused with a ValueError naming the file?"""
    _, solver = _fc_run(tmp_path, num_epochs=1, checkpoint=False)
    path = solver.save_checkpoint(tmp_path / "full.npz")
    data = path.read_bytes()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="broken.npz.*truncated"):
        solver.load_checkpoint(broken)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="garbage.npz"):
        solver.load_checkpoint(garbage)


def test_foreign_npz_rejected(tmp_path):
    """Is an .npz that is not a Solver checkpoint (or needs pickle) refused with a clear message?"""
    _, solver = _fc_run(tmp_path, num_epochs=1, checkpoint=False)
    foreign = tmp_path / "weights.npz"
    np.savez(foreign, W=np.ones(3))
    with pytest.raises(ValueError, match="weights.npz: not a course_lib Solver checkpoint"):
        solver.load_checkpoint(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, format=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz: cannot read"):
        solver.load_checkpoint(pickled)


def test_checkpoint_of_another_model_rejected(tmp_path):
    """Is a checkpoint of a different architecture or class refused, naming the mismatch?"""
    _, solver = _fc_run(tmp_path, num_epochs=1, checkpoint=False)
    path = solver.save_checkpoint(tmp_path / "fc.npz")
    wider = FullyConnectedNet([13, 8], input_dim=3 * 32 * 32, dropout_keep_ratio=0.7,
                              normalization="batchnorm")
    with pytest.raises(ValueError, match="fc1.W"):
        Solver(wider, random_images(num=40), **_fc_settings(1)).load_checkpoint(path)
    with pytest.raises(ValueError, match="TwoLayerNet"):
        Solver(TwoLayerNet(), random_images(num=40), **_fc_settings(1)).load_checkpoint(path)


def test_changed_settings_warn_on_resume(tmp_path):
    """Does resuming with another batch size warn that the run will differ?"""
    _, solver = _fc_run(tmp_path, num_epochs=1, checkpoint=False)
    path = solver.save_checkpoint(tmp_path / "fc.npz")
    model = FullyConnectedNet([12, 8], input_dim=3 * 32 * 32, dropout_keep_ratio=0.7,
                              normalization="batchnorm")
    settings = dict(_fc_settings(2), batch_size=4)
    with pytest.warns(UserWarning, match="batch_size"):
        Solver.resume(path, model, random_images(num=40), **settings)


def test_checkpoint_records_keep_best(tmp_path):
    """Does a checkpoint record keep_best, so resuming with the other choice warns?"""
    solver = Solver(CountingModel(), tiny_data(), update_rule=count_up, keep_best=False,
                    **quiet())
    path = solver.save_checkpoint(tmp_path / "ckpt.npz")
    with np.load(path) as f:
        assert json.loads(str(f["settings"]))["keep_best"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Solver.resume(path, CountingModel(), tiny_data(), update_rule=count_up,
                      keep_best=False, **quiet())
    with pytest.warns(UserWarning, match="keep_best: saved False, now True"):
        Solver.resume(path, CountingModel(), tiny_data(), update_rule=count_up, **quiet())


def test_save_is_atomic(tmp_path):
    """Does a failed save leave the previous checkpoint intact and no temporary file behind?"""
    model = CountingModel()
    solver = Solver(model, tiny_data(), update_rule=count_up, **quiet())
    path = solver.save_checkpoint(tmp_path / "ckpt.npz")
    before = path.read_bytes()
    solver.optim_states["fc1.W"]["note"] = "a string cannot be stored"
    with pytest.raises(TypeError, match="note"):
        solver.save_checkpoint(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_gradients_must_match_params():
    """Does a model that forgets a gradient get an error naming the keys, not a bare KeyError?"""
    class Forgetful(CountingModel):
        def loss(self, X, y=None):
            out = super().loss(X, y)
            return out if y is None else (out[0], {})

    solver = Solver(Forgetful(), tiny_data(), update_rule=count_up, **quiet())
    with pytest.raises(KeyError, match="key grads like params"):
        solver.train()
