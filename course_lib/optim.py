"""First-order parameter updates and learning-rate schedules.

Every optimizer is a plain function::

    w, state = update(w, dw, state=None)

``state`` is a dict with the hyperparameters (``lr``, ``momentum``, ...)
and the optimizer's slots (``velocity``, ``cache``, ``m``, ``v``, ``t``).
Missing hyperparameters get the defaults listed in each docstring; slots
are created on the first call. The function returns a *new* ``w`` and a
*new* state dict: ``w``, ``dw`` and the state passed in are never modified,
so keep the returned state for the next step::

    state = {"lr": 1e-3}
    for _ in range(num_iters):
        w, state = adam(w, grad(w), state)

Unknown keys raise an error (a typo such as ``learning_rate`` would
otherwise silently train with the default).

Schedules (``step_decay``, ``exponential_decay``, ``inverse_time_decay``)
compute the learning rate for an epoch or iteration; set ``state["lr"]``
from them between steps.
"""
import numpy as np

from course_lib import parallel

__all__ = ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam",
           "step_decay", "exponential_decay", "inverse_time_decay"]


def sgd(w, dw, state=None):
    """Vanilla gradient descent: ``w <- w - lr * dw``.

    Hyperparameters: ``lr`` (default 1e-2).
    """
    state = _prepare("sgd", w, dw, state, {"lr": 1e-2}, ())
    return _like(w - state["lr"] * dw, w), state


def sgd_momentum(w, dw, state=None):
    """Momentum: the gradient changes a velocity, the velocity changes ``w``::

        v <- momentum * v - lr * dw
        w <- w + v

    Like a ball rolling on the loss surface, with ``momentum`` acting as
    friction (typical values 0.5, 0.9, 0.95, 0.99).

    Hyperparameters: ``lr`` (1e-2), ``momentum`` (0.9). Slot: ``velocity``.
    """
    state = _prepare("sgd_momentum", w, dw, state, {"lr": 1e-2, "momentum": 0.9}, ("velocity",))
    v = state.get("velocity")
    v = np.zeros_like(w) if v is None else v
    v = _like(state["momentum"] * v - state["lr"] * dw, w)
    state["velocity"] = v
    return _like(w + v, w), state


def nesterov_momentum(w, dw, state=None):
    """Nesterov momentum in the form that stores the look-ahead point::

        v_prev = v
        v <- momentum * v - lr * dw
        w <- w - momentum * v_prev + (1 + momentum) * v

    Equivalent to evaluating the gradient at ``w + momentum * v`` (where
    momentum is about to carry the parameters) and then taking a momentum
    step, after the change of variables ``w_ahead = w + momentum * v``.

    Hyperparameters: ``lr`` (1e-2), ``momentum`` (0.9). Slot: ``velocity``.
    """
    state = _prepare("nesterov_momentum", w, dw, state, {"lr": 1e-2, "momentum": 0.9},
                     ("velocity",))
    mu = state["momentum"]
    v_prev = state.get("velocity")
    v_prev = np.zeros_like(w) if v_prev is None else v_prev
    v = _like(mu * v_prev - state["lr"] * dw, w)
    state["velocity"] = v
    return _like(w - mu * v_prev + (1 + mu) * v, w), state


def adagrad(w, dw, state=None):
    """Adagrad: per-parameter step sizes from the sum of squared gradients::

        cache <- cache + dw^2
        w <- w - lr * dw / (sqrt(cache) + eps)

    Parameters with large past gradients get smaller steps. The cache only
    grows, so the steps decay monotonically (often too early for deep nets).

    Hyperparameters: ``lr`` (1e-2), ``eps`` (1e-8). Slot: ``cache``.
    """
    state = _prepare("adagrad", w, dw, state, {"lr": 1e-2, "eps": 1e-8}, ("cache",))
    cache = state.get("cache")
    cache = np.zeros_like(w) if cache is None else cache
    cache = _like(cache + dw * dw, w)
    state["cache"] = cache
    return _like(w - state["lr"] * dw / (np.sqrt(cache) + state["eps"]), w), state


def rmsprop(w, dw, state=None):
    """RMSprop: Adagrad with a leaky (moving-average) cache::

        cache <- decay_rate * cache + (1 - decay_rate) * dw^2
        w <- w - lr * dw / (sqrt(cache) + eps)

    The steps adapt per parameter but no longer shrink monotonically.

    Hyperparameters: ``lr`` (1e-2), ``decay_rate`` (0.99; typical 0.9,
    0.99, 0.999), ``eps`` (1e-8). Slot: ``cache``.
    """
    state = _prepare("rmsprop", w, dw, state, {"lr": 1e-2, "decay_rate": 0.99, "eps": 1e-8},
                     ("cache",))
    rho = state["decay_rate"]
    cache = state.get("cache")
    cache = np.zeros_like(w) if cache is None else cache
    cache = _like(rho * cache + (1 - rho) * (dw * dw), w)
    state["cache"] = cache
    return _like(w - state["lr"] * dw / (np.sqrt(cache) + state["eps"]), w), state


def adam(w, dw, state=None):
    """Adam: RMSprop on a momentum-smoothed gradient, with bias correction::

        t <- t + 1
        m <- beta1 * m + (1 - beta1) * dw
        v <- beta2 * v + (1 - beta2) * dw^2
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)

    ``m`` and ``v`` start at zero and would be biased towards zero for the
    first steps; dividing by ``1 - beta^t`` removes that bias, so the first
    step is ``lr * dw / (|dw| + eps)``, about ``lr * sign(dw)``.

    Hyperparameters: ``lr`` (1e-3, the paper's value), ``beta1`` (0.9),
    ``beta2`` (0.999), ``eps`` (1e-8). Slots: ``m``, ``v``, ``t`` (steps taken).
    """
    state = _prepare("adam", w, dw, state,
                     {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, ("m", "v", "t"))
    # Python floats, so that a float32 w is updated in float32 (see _like)
    lr, beta1, beta2, eps = (float(state[k]) for k in ("lr", "beta1", "beta2", "eps"))
    t = state.get("t", 0) + 1
    m, v = state.get("m"), state.get("v")
    dtype = w.dtype if np.issubdtype(w.dtype, np.floating) else np.result_type(w, dw, 1.0)
    m_new, v_new, w_new = (np.empty(w.shape, dtype=dtype) for _ in range(3))
    correct1, correct2 = 1 - beta1 ** t, 1 - beta2 ** t
    # lr * m_hat / (sqrt(v_hat) + eps) with the corrections taken out of the
    # arrays: (lr * sqrt(c2) / c1) * m / (sqrt(v) + eps * sqrt(c2)), the
    # same number (up to rounding) in two fewer passes, as PyTorch does.
    root2 = correct2 ** 0.5
    step_size, eps_hat = lr * root2 / correct1, eps * root2
    # Block by block, 256 KB of each array at a time: the dozen elementwise
    # operations of a block then run in the CPU cache, and only w, dw, m, v
    # and the three results pass through main memory (the same arithmetic
    # on whole arrays made about five times that traffic, and allocated
    # eight temporaries as large as w).
    flat = [a.reshape(-1) for a in (w, dw, m_new, v_new, w_new)]
    old_m, old_v = (None if a is None else a.reshape(-1) for a in (m, v))

    def work(tasks):
        scratch = np.empty(min(w.size, parallel.block_length(dtype.itemsize)), dtype=dtype)
        for _, block in tasks:
            w_b, dw_b, m_b, v_b, out_b = (a[block] for a in flat)
            tmp = scratch[:len(w_b)]
            np.multiply(dw_b, 1 - beta1, out=m_b)           # m = beta1*m + (1 - beta1)*dw
            if old_m is not None:
                m_b += np.multiply(old_m[block], beta1, out=tmp)
            np.multiply(dw_b, dw_b, out=v_b)                # v = beta2*v + (1 - beta2)*dw^2
            v_b *= 1 - beta2
            if old_v is not None:
                v_b += np.multiply(old_v[block], beta2, out=tmp)
            np.sqrt(v_b, out=tmp)                           # sqrt(v) + eps * sqrt(c2)
            tmp += eps_hat
            np.divide(m_b, tmp, out=out_b)                  # w - step * m / that
            out_b *= -step_size
            out_b += w_b
    # The blocks are independent: with several threads (course_lib.parallel.
    # set_num_threads) they share them, each block's results written where
    # they belong whichever thread did it, so the numbers do not depend on
    # the thread count. Measured on 2 threads after a network pass that kept
    # BLAS on one thread: 8.4 -> 5.9 ms on a 3072 x 500 float64 weight.
    parallel.blockwise(work, w.size, dtype.itemsize)
    state.update(m=m_new, v=v_new, t=t)
    return w_new, state


# ---- learning-rate schedules ------------------------------------------------

def step_decay(lr0, epoch, drop=0.5, every=10):
    """Step decay: multiply the rate by ``drop`` every ``every`` epochs.

    ``lr = lr0 * drop ** floor(epoch / every)``; e.g. halve every 5 epochs
    (``drop=0.5, every=5``) or divide by 10 every 20 (``drop=0.1, every=20``).
    """
    if every <= 0:
        raise ValueError(f"step_decay: every must be a positive number of epochs, got {every}")
    return lr0 * drop ** (epoch // every)


def exponential_decay(lr0, t, k):
    """Exponential decay ``lr = lr0 * exp(-k t)`` for iteration (or epoch) ``t``."""
    return lr0 * float(np.exp(-k * t))


def inverse_time_decay(lr0, t, k):
    """1/t decay ``lr = lr0 / (1 + k t)`` for iteration (or epoch) ``t``."""
    return lr0 / (1.0 + k * t)


# ---- shared checks ----------------------------------------------------------

def _like(a, w):
    """``a`` in the float dtype of ``w``.

    A hyperparameter held as a numpy float64 scalar (``np.float64(1e-3)``,
    or a rate computed with numpy) promotes float32 arrays to float64 under
    NumPy 2's rules; without this cast a float32 model would silently turn
    into float64 after its first update (twice the memory, slower steps).
    """
    if np.issubdtype(w.dtype, np.floating) and a.dtype != w.dtype:
        return a.astype(w.dtype)
    return a


def _prepare(name, w, dw, state, defaults, slots):
    """Validate the arguments and return a new state dict with defaults filled in."""
    if not isinstance(w, np.ndarray) or not isinstance(dw, np.ndarray):
        raise TypeError(f"{name}: w and dw must be numpy arrays, got {type(w).__name__} "
                        f"and {type(dw).__name__}")
    if w.shape != dw.shape:
        raise ValueError(f"{name}: dw has shape {dw.shape} but w has shape {w.shape}; "
                         "a gradient must have the shape of its parameter")
    if state is None:
        state = {}
    elif not isinstance(state, dict):
        raise TypeError(f"{name}: state must be a dict or None, got {type(state).__name__}")
    unknown = set(state) - set(defaults) - set(slots)
    if unknown:
        hint = " (the learning rate is called 'lr')" if "learning_rate" in unknown else ""
        raise ValueError(f"{name}: unknown state key(s) {sorted(unknown)}{hint}; "
                         f"hyperparameters are {sorted(defaults)}, slots are {sorted(slots)}")
    for slot in slots:
        value = state.get(slot)
        if isinstance(value, np.ndarray) and value.shape != w.shape:
            raise ValueError(f"{name}: state[{slot!r}] has shape {value.shape} but w has shape "
                             f"{w.shape}; keep one state dict per parameter")
    new_state = dict(defaults)
    new_state.update(state)
    return new_state
