"""Tests for course_lib.models.io: saving a trained model's parameters and loading them back."""
import os
import re

import numpy as np
import pytest

from course_lib import optim
from course_lib.models import ConvNet, FullyConnectedNet, TwoLayerNet, load_params, save_params
from course_lib.models import io as models_io
from course_lib.solver import Solver


def trained_fc(seed=0, **kwargs):
    """A small batchnorm tanh net after a few Adam steps: params and BN stats away from init."""
    config = dict(input_dim=6, num_classes=3, normalization="batchnorm", activation="tanh",
                  dtype=np.float64)
    config.update(kwargs)
    model = FullyConnectedNet([5, 4], seed=seed, **config)
    rng = np.random.default_rng(seed)
    X, y = 2.0 + rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    states = {name: {"lr": 1e-2} for name in model.params}
    for _ in range(5):
        _, grads = model.loss(X, y)
        for name in model.params:
            model.params[name], states[name] = optim.adam(model.params[name], grads[name],
                                                         states[name])
    return model, X


def snapshot(model):
    return ({k: v.copy() for k, v in model.params.items()},
            {k: (s.running_mean.copy(), s.running_var.copy()) for k, s in model.bn_stats.items()})


def test_round_trip_restores_params_stats_and_predictions(tmp_path):
    """Does a model loaded from save_params predict exactly like the one that was saved?"""
    model, X = trained_fc()
    path = save_params(model, tmp_path / "sub" / "fc.npz")
    assert path == tmp_path / "sub" / "fc.npz" and os.listdir(tmp_path / "sub") == ["fc.npz"]
    fresh = FullyConnectedNet([5, 4], input_dim=6, num_classes=3, normalization="batchnorm",
                              activation="tanh", dtype=np.float64, seed=7)
    assert not np.allclose(fresh.loss(X), model.loss(X))
    assert load_params(fresh, path) is fresh
    np.testing.assert_array_equal(fresh.loss(X), model.loss(X))
    for name, value in model.params.items():
        np.testing.assert_array_equal(fresh.params[name], value, err_msg=name)
        assert fresh.params[name].dtype == np.float64
        assert fresh.params[name] is not value
    for layer, stats in model.bn_stats.items():
        np.testing.assert_array_equal(fresh.bn_stats[layer].running_mean, stats.running_mean)
        np.testing.assert_array_equal(fresh.bn_stats[layer].running_var, stats.running_var)


def test_round_trip_conv_net_with_str_path(tmp_path):
    """Does a ConvNet with spatial batchnorm round-trip through a str path?"""
    model = ConvNet(input_dim=(2, 6, 6), conv_blocks=[(3,)], hidden_dims=(4,), num_classes=3,
                    normalization="batchnorm", seed=0)
    X = np.random.default_rng(0).standard_normal((4, 2, 6, 6))
    model.loss(X, np.array([0, 1, 2, 0]))  # moves the running statistics
    save_params(model, str(tmp_path / "conv.npz"))
    fresh = ConvNet(input_dim=(2, 6, 6), conv_blocks=[(3,)], hidden_dims=(4,), num_classes=3,
                    normalization="batchnorm", seed=1)
    load_params(fresh, str(tmp_path / "conv.npz"))
    np.testing.assert_array_equal(fresh.loss(X), model.loss(X))


def test_float64_file_loads_into_float32_model(tmp_path):
    """Are saved arrays cast to the dtype of the model they are loaded into?"""
    model, X = trained_fc()
    save_params(model, tmp_path / "fc.npz")
    small = FullyConnectedNet([5, 4], input_dim=6, num_classes=3, normalization="batchnorm",
                              activation="tanh", dtype=np.float32, seed=3)
    load_params(small, tmp_path / "fc.npz")
    assert {p.dtype for p in small.params.values()} == {np.dtype(np.float32)}
    assert small.bn_stats["fc1"].running_var.dtype == np.float32
    np.testing.assert_allclose(small.loss(X), model.loss(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("other, messages", [
    (lambda: FullyConnectedNet([5], input_dim=6, num_classes=3, normalization="batchnorm",
                               activation="tanh"),
     [r"parameter in the file but not in the model: fc2\.beta, fc2\.gamma, fc3\.W, fc3\.b",
      r"parameter fc2\.W has shape \(5, 4\) in the file but \(5, 3\) in the model",
      r"batchnorm statistic in the file but not in the model: fc2/running_mean"]),
    (lambda: FullyConnectedNet([5, 4, 2], input_dim=6, num_classes=3, normalization="batchnorm",
                               activation="tanh"),
     [r"parameter missing from the file: fc3\.gamma, fc3\.beta, fc4\.W, fc4\.b",
      r"parameter fc3\.W has shape \(4, 3\) in the file but \(4, 2\) in the model"]),
    (lambda: FullyConnectedNet([5, 4], input_dim=8, num_classes=3, normalization="batchnorm",
                               activation="tanh"),
     [r"parameter fc1\.W has shape \(6, 5\) in the file but \(8, 5\) in the model"]),
    (lambda: FullyConnectedNet([5, 4], input_dim=6, num_classes=3, normalization="batchnorm"),
     [r"activation is 'tanh' in the file but 'relu' in the model"]),
    (lambda: TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3),
     [r"normalization is 'batchnorm' in the file but None in the model",
      r"saved from a course_lib\.models\.fc_net\.FullyConnectedNet"]),
], ids=["fewer-layers", "more-layers", "input-dim", "activation", "two-layer-net"])
def test_mismatch_names_each_problem_and_leaves_model_unchanged(tmp_path, other, messages):
    """Does loading into a different architecture name every mismatch and change nothing?"""
    model, _ = trained_fc()
    path = save_params(model, tmp_path / "fc.npz")
    target = other()
    before_params, before_stats = snapshot(target)
    with pytest.raises(ValueError, match="fc.npz does not match") as info:
        load_params(target, path)
    for message in messages:
        assert any(re.search(message, line)
                   for line in str(info.value).splitlines()), (message, str(info.value))
    for name, value in before_params.items():
        np.testing.assert_array_equal(target.params[name], value)
    for layer, (mean, var) in before_stats.items():
        np.testing.assert_array_equal(target.bn_stats[layer].running_mean, mean)


def test_truncated_or_foreign_file_is_refused(tmp_path):
    """Are truncated, non-zip, foreign and pickle-needing files refused with the file's name?"""
    model, _ = trained_fc()
    data = save_params(model, tmp_path / "full.npz").read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        broken = tmp_path / f"cut{cut}.npz"
        broken.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"cut{cut}.npz: cannot read.*truncated"):
            load_params(model, broken)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="garbage.npz: cannot read"):
        load_params(model, garbage)
    foreign = tmp_path / "weights.npz"
    np.savez(foreign, W=np.ones(3))
    with pytest.raises(ValueError, match="weights.npz: not a parameter file written by"):
        load_params(model, foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, format=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz: cannot read"):
        load_params(model, pickled)
    with pytest.raises(FileNotFoundError):
        load_params(model, tmp_path / "nowhere.npz")


def test_save_is_atomic(tmp_path, monkeypatch):
    """Does a save that fails half-way keep the previous file intact and leave no temp file?"""
    model, _ = trained_fc()
    path = save_params(model, tmp_path / "fc.npz")
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(models_io.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        save_params(model, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["fc.npz"]


def test_non_numeric_parameter_is_refused(tmp_path):
    """Is a parameter that would need pickle refused at save time, naming it?"""
    model, _ = trained_fc()
    model.params["fc1.b"] = np.array(["a", "b"], dtype=object)
    with pytest.raises(TypeError, match="fc1.b"):
        save_params(model, tmp_path / "fc.npz")
    assert os.listdir(tmp_path) == []


def test_loads_a_solver_checkpoint(tmp_path):
    """Can load_params take the model out of a Solver checkpoint?"""
    rng = np.random.default_rng(0)
    data = {"X_train": rng.standard_normal((20, 6)), "y_train": rng.integers(0, 3, 20),
            "X_val": rng.standard_normal((8, 6)), "y_val": rng.integers(0, 3, 8)}
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, normalization="batchnorm", seed=0)
    solver = Solver(model, data, update_rule=optim.adam, optim_config={"lr": 1e-2},
                    batch_size=10, num_epochs=1, seed=0, verbose=False, progress=False)
    path = solver.train().save_checkpoint(tmp_path / "ckpt.npz")
    fresh = FullyConnectedNet([5], input_dim=6, num_classes=3, normalization="batchnorm", seed=1)
    load_params(fresh, path)
    np.testing.assert_array_equal(fresh.loss(data["X_val"]), model.loss(data["X_val"]))
