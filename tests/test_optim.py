"""Tests for course_lib.optim: update rules against hand-computed steps, and schedules."""
import copy
import math

import numpy as np
import pytest

from course_lib import optim

W0 = np.array([1.0, 2.0])
DW1 = np.array([0.5, -1.0])
DW2 = np.array([1.0, 1.0])


def two_steps(update, state):
    w1, state = update(W0, DW1, state)
    w2, state = update(w1, DW2, state)
    return w1, w2, state


def test_sgd_two_steps():
    """Does SGD take w - lr * dw twice?"""
    w1, w2, _ = two_steps(optim.sgd, {"lr": 0.1})
    np.testing.assert_allclose(w1, [0.95, 2.1])
    np.testing.assert_allclose(w2, [0.85, 2.0])


def test_sgd_momentum_two_steps():
    """Does momentum carry the velocity v = mu v - lr dw from one step to the next?"""
    w1, w2, state = two_steps(optim.sgd_momentum, {"lr": 0.1, "momentum": 0.9})
    np.testing.assert_allclose(w1, [0.95, 2.1])            # v1 = (-0.05, 0.1)
    np.testing.assert_allclose(w2, [0.805, 2.09])          # v2 = (-0.145, -0.01)
    np.testing.assert_allclose(state["velocity"], [-0.145, -0.01])


def test_nesterov_two_steps():
    """Does Nesterov update w by -mu v_prev + (1 + mu) v, in the notes' form?"""
    w1, w2, state = two_steps(optim.nesterov_momentum, {"lr": 0.1, "momentum": 0.9})
    np.testing.assert_allclose(w1, [1 + 1.9 * -0.05, 2 + 1.9 * 0.1])
    np.testing.assert_allclose(w2, [0.905 + 0.045 + 1.9 * -0.145, 2.19 - 0.09 + 1.9 * -0.01])
    np.testing.assert_allclose(state["velocity"], [-0.145, -0.01])


def test_adagrad_two_steps():
    """Does Adagrad divide by the root of the running sum of squared gradients?"""
    w1, w2, state = two_steps(optim.adagrad, {"lr": 0.1, "eps": 0.0})
    np.testing.assert_allclose(w1, [0.9, 2.1])             # cache (0.25, 1)
    np.testing.assert_allclose(w2, [0.9 - 0.1 / math.sqrt(1.25), 2.1 - 0.1 / math.sqrt(2)])
    np.testing.assert_allclose(state["cache"], [1.25, 2.0])


def test_rmsprop_two_steps():
    """Does RMSprop divide by the root of a moving average of squared gradients?"""
    w1, w2, state = two_steps(optim.rmsprop, {"lr": 0.1, "decay_rate": 0.9, "eps": 0.0})
    np.testing.assert_allclose(w1, [1 - 0.05 / math.sqrt(0.025), 2 + 0.1 / math.sqrt(0.1)])
    np.testing.assert_allclose(state["cache"], [0.1225, 0.19])
    np.testing.assert_allclose(w2, w1 - 0.1 / np.sqrt([0.1225, 0.19]))


def test_adam_two_steps():
    """Does Adam keep m, v and t and apply the bias correction 1 / (1 - beta^t)?"""
    w1, w2, state = two_steps(optim.adam, {"lr": 0.1, "eps": 0.0})
    np.testing.assert_allclose(w1, [0.9, 2.1])
    m = np.array([0.9 * 0.05 + 0.1, 0.9 * -0.1 + 0.1])
    v = np.array([0.999 * 0.001 * 0.25 + 0.001, 0.999 * 0.001 + 0.001])
    assert state["t"] == 2
    np.testing.assert_allclose(state["m"], m)
    np.testing.assert_allclose(state["v"], v)
    m_hat, v_hat = m / (1 - 0.9 ** 2), v / (1 - 0.999 ** 2)
    np.testing.assert_allclose(w2, w1 - 0.1 * m_hat / np.sqrt(v_hat))


def test_adam_first_step_is_lr_times_sign():
    """Thanks to the bias correction, is Adam's first step about lr * sign(dw) whatever |dw|?"""
    rng = np.random.default_rng(0)
    dw = rng.choice([-1, 1], size=50) * 10.0 ** rng.uniform(-3, 3, size=50)
    w = rng.standard_normal(50)
    w_new, _ = optim.adam(w, dw, {"lr": 1e-3})
    np.testing.assert_allclose(w - w_new, 1e-3 * np.sign(dw), rtol=1e-4)


@pytest.mark.parametrize("update, defaults", [
    (optim.sgd, {"lr": 1e-2}),
    (optim.sgd_momentum, {"lr": 1e-2, "momentum": 0.9}),
    (optim.nesterov_momentum, {"lr": 1e-2, "momentum": 0.9}),
    (optim.adagrad, {"lr": 1e-2, "eps": 1e-8}),
    (optim.rmsprop, {"lr": 1e-2, "decay_rate": 0.99, "eps": 1e-8}),
    (optim.adam, {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
])
def test_defaults_are_filled_in(update, defaults):
    """With no state, does each optimizer fill in its documented defaults?"""
    _, state = update(W0, DW1)
    assert {k: state[k] for k in defaults} == defaults
    _, state = update(W0, DW1, {"lr": 0.5})
    assert state["lr"] == 0.5


ALL = [optim.sgd, optim.sgd_momentum, optim.nesterov_momentum, optim.adagrad, optim.rmsprop,
       optim.adam]


@pytest.mark.parametrize("update", ALL)
def test_no_optimizer_mutates_its_inputs(update):
    """Do w, dw and the state passed in (slots included) stay untouched over two steps?"""
    rng = np.random.default_rng(0)
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _, state = update(w, dw, {"lr": 0.1})
    saved = w.copy(), dw.copy(), copy.deepcopy(state)
    w_new, new_state = update(w, dw, state)
    np.testing.assert_array_equal(w, saved[0])
    np.testing.assert_array_equal(dw, saved[1])
    assert state.keys() == saved[2].keys()
    for key, value in state.items():
        np.testing.assert_array_equal(value, saved[2][key])
    assert w_new is not w and new_state is not state
    assert not np.array_equal(w_new, w)


@pytest.mark.parametrize("update, lr", [(optim.sgd, 0.1), (optim.sgd_momentum, 0.05),
                                        (optim.nesterov_momentum, 0.05), (optim.adagrad, 0.5),
                                        (optim.rmsprop, 0.01), (optim.adam, 0.05)])
def test_optimizers_minimize_a_quadratic(update, lr):
    """Does each optimizer bring an ill-conditioned quadratic from 1 to below 1e-3?"""
    curvature = np.array([1.0, 10.0])
    w, state = np.array([1.0, 1.0]), {"lr": lr}
    loss0 = 0.5 * np.sum(curvature * w ** 2)
    for _ in range(300):
        w, state = update(w, curvature * w, state)
    assert 0.5 * np.sum(curvature * w ** 2) < 1e-3 * loss0


def test_float32_parameters_stay_float32():
    """Does a float32 parameter keep its dtype through every optimizer?"""
    w = np.ones(3, dtype=np.float32)
    for update in ALL:
        w_new, state = update(w, np.ones(3, dtype=np.float32))
        w_new, _ = update(w_new, np.ones(3, dtype=np.float32), state)
        assert w_new.dtype == np.float32, update.__name__


@pytest.mark.parametrize("update", ALL)
def test_numpy_float64_hyperparameters_keep_float32(update):
    """Do numpy float64 hyperparameters (np.float64(lr), momentum, betas)
    leave a float32 parameter and its slots in float32, with the same step
    as in float64?"""
    w = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    dw = np.array([0.5, 1.0, -0.25], dtype=np.float32)
    _, defaults = update(w, dw)
    hyper = {k: np.float64(v) for k, v in defaults.items() if not isinstance(v, np.ndarray)
             and k != "t"}
    w1, state = update(w, dw, dict(hyper))
    w2, state = update(w1, dw, state)
    assert w1.dtype == w2.dtype == np.float32
    for value in state.values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32
    w64, state64 = update(w.astype(np.float64), dw.astype(np.float64), dict(hyper))
    w64, _ = update(w64, dw.astype(np.float64), state64)
    np.testing.assert_allclose(w2, w64, rtol=1e-5)


def test_clear_errors():
    """Are misspelt keys, shape mismatches and foreign slots refused with an explanation?"""
    with pytest.raises(ValueError, match="'lr'"):
        optim.sgd(W0, DW1, {"learning_rate": 0.1})
    with pytest.raises(ValueError, match="shape"):
        optim.adam(W0, np.ones(3))
    with pytest.raises(ValueError, match="one state dict per parameter"):
        optim.sgd_momentum(W0, DW1, {"velocity": np.zeros(5)})
    with pytest.raises(TypeError):
        optim.sgd([1.0, 2.0], DW1)


def test_schedules():
    """Do the step, exponential and 1/t schedules give their formulas' values?"""
    assert optim.step_decay(0.1, 9) == 0.1
    assert optim.step_decay(0.1, 25, drop=0.5, every=10) == pytest.approx(0.025)
    assert optim.step_decay(1.0, 40, drop=0.1, every=20) == pytest.approx(0.01)
    assert optim.exponential_decay(1.0, 2, 0.5) == pytest.approx(math.exp(-1))
    assert optim.inverse_time_decay(1.0, 3, 0.5) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        optim.step_decay(0.1, 3, every=0)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_in_blocks_equals_the_whole_array_formula(monkeypatch, dtype, threads):
    """Adam works through its arrays a block at a time: over several blocks
    (the last one partial), on a (7, 13) parameter, does it give bitwise the
    numbers of its formulas applied to whole arrays, step after step, slots
    included (m and v: the docstring's; w: the same update with the bias
    corrections folded into two numbers), and within rounding the
    docstring's w? With 3 threads sharing the blocks too?"""
    from course_lib import parallel
    monkeypatch.setattr(parallel, "_num_threads", threads)
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 10 * np.dtype(dtype).itemsize)
    monkeypatch.setattr(parallel, "MIN_THREADED_BLOCKS", 2)     # 10 blocks: shared
    rng = np.random.default_rng(0)
    w = rng.standard_normal((7, 13)).astype(dtype)
    m, v, state, ours = np.zeros_like(w), np.zeros_like(w), {"lr": 1e-2}, w
    for t in range(1, 4):
        dw = rng.standard_normal(w.shape).astype(dtype)
        ours, state = optim.adam(ours, dw, state)
        m = 0.9 * m + (1 - 0.9) * dw
        v = 0.999 * v + (1 - 0.999) * (dw * dw)
        m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
        docstring_w = w - 1e-2 * m_hat / (np.sqrt(v_hat) + 1e-8)
        root2 = (1 - 0.999 ** t) ** 0.5
        w = w + m / (np.sqrt(v) + 1e-8 * root2) * -(1e-2 * root2 / (1 - 0.9 ** t))
        assert ours.dtype == state["m"].dtype == state["v"].dtype == dtype
        np.testing.assert_array_equal(state["m"], m)
        np.testing.assert_array_equal(state["v"], v)
        np.testing.assert_array_equal(ours, w)
        np.testing.assert_allclose(ours, docstring_w, rtol=4 * np.finfo(dtype).eps)
