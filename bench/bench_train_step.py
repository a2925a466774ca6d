"""Time a whole training step (forward, backward, Adam update) against PyTorch.

    python bench/bench_train_step.py                  # 3 models, float32 and float64, 1 and 2 threads
    python bench/bench_train_step.py --models convnet --threads 1 --dtypes float32

The models are those of bench/train_cifar.py, at their training batch size:

    convnet        ConvNet [conv3-BN-ReLU-pool] x 3 (32/64/128 filters),
                   fc256 with BN and dropout (keep 0.7), reg 2.5e-4; batch 128
    fc_bn_dropout  FullyConnectedNet 3072-1024-512-256-10, BN, dropout (keep
                   0.8), reg 5e-5; batch 200
    two_layer      TwoLayerNet 3072-500-10, reg 2.5e-3; batch 200

Ours: ``model.loss(X, y)``, then ``course_lib.optim.adam`` on every
parameter (what the Solver does). The peer: the same network in ``torch.nn``
(built from our model's layers, starting from our initial parameters; the
test-mode scores of the two are compared before timing) with
``torch.optim.Adam`` and the same L2 on the weights (``weight_decay``, which
adds ``2 * reg * W`` to the gradient, as our models' ``reg * sum(W**2)``
does), cross-entropy loss.

Threads: BLAS (threadpoolctl), torch.set_num_threads and
course_lib.parallel.set_num_threads all get the same count. The two are timed
in interleaved rounds with the scheme of bench/bench_conv.py (see its
docstring: a warm-up span, a timed span, a rest so that torch's spinning
OpenMP threads go to sleep); the table shows medians of all timed steps and
the load average after each row: a row taken at a load above the number of
CPUs says little, repeat it. The column "rounds" gives the lowest and
highest of the per-round ratios (our median step in a round over torch's in
the same round): a ratio whose rounds straddle the target is at parity
within this machine's noise, not clearly above or below it.

Targets (ratio = our time / PyTorch's): the ConvNet step <= 1.3x in float32
(1 and 2 threads; the goal after that is 1.0x), the MLP steps <= 1.0x. The
ConvNet in float64 has no target (shown for reference).
"""
import argparse
import os
import sys

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from bench_conv import CLOCKS, interleaved  # bench/: the steady-state timing scheme
from course_lib import _memory, optim, parallel
from course_lib.models import ConvNet, FullyConnectedNet
from machine import describe
from train_cifar import CONFIGS, IMAGE_SHAPE

MODELS = {  # name: (batch size, target ratio for float32, for float64)
    "convnet": (128, 1.3, None),
    "fc_bn_dropout": (200, 1.0, 1.0),
    "two_layer": (200, 1.0, 1.0),
}
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def torch_peer(model):
    """The same network as ``model`` in torch.nn, with our model's parameters."""
    nn = torch.nn
    modules, weights = [], []           # weights: (our W, its torch tensor, transpose?)
    if isinstance(model, ConvNet):
        for layer, pool in model.conv_layers:
            W = model.params[layer + ".W"]
            conv2d = nn.Conv2d(W.shape[1], W.shape[0], W.shape[2], padding=model.pad)
            modules.append(conv2d)
            weights += [(W, conv2d.weight, False), (model.params[layer + ".b"], conv2d.bias, False)]
            if model.normalization == "batchnorm":
                bn = nn.BatchNorm2d(W.shape[0])
                modules.append(bn)
                weights += [(model.params[layer + ".gamma"], bn.weight, False),
                            (model.params[layer + ".beta"], bn.bias, False)]
            modules.append(nn.ReLU())
            if pool:
                modules.append(nn.MaxPool2d(2))
        modules.append(nn.Flatten())
        num_fc, normalization = model.num_fc_layers, model.normalization
        keep = model.dropout_keep_ratio
    elif isinstance(model, FullyConnectedNet):
        assert model.activation == "relu", "only ReLU networks have a peer here"
        num_fc, normalization = model.num_layers, model.normalization
        keep = model.dropout_keep_ratio
    else:
        raise TypeError(f"no torch peer for {type(model).__name__}")
    for i in range(1, num_fc + 1):
        W = model.params[f"fc{i}.W"]
        linear = nn.Linear(*W.shape)
        modules.append(linear)
        weights += [(W, linear.weight, True), (model.params[f"fc{i}.b"], linear.bias, False)]
        if i < num_fc:
            if normalization == "batchnorm":
                bn = nn.BatchNorm1d(W.shape[1])
                modules.append(bn)
                weights += [(model.params[f"fc{i}.gamma"], bn.weight, False),
                            (model.params[f"fc{i}.beta"], bn.bias, False)]
            modules.append(nn.ReLU())
            if keep != 1:
                modules.append(nn.Dropout(1 - keep))
    net = nn.Sequential(*modules).to(TORCH_DTYPES[model.dtype.type])
    with torch.no_grad():
        for ours, theirs, transpose in weights:
            theirs.copy_(torch.from_numpy(ours.T if transpose else ours))
    assert sum(p.numel() for p in net.parameters()) == model.num_params
    decayed = [t for _, t, transpose in weights if t.dim() > 1]      # conv and fc weights
    others = [t for _, t, _ in weights if t.dim() == 1]
    return net, decayed, others


def step_methods(name, dtype, seed=0):
    """(ours, theirs): one training step each, on the same random batch."""
    batch, *_ = MODELS[name]
    config = CONFIGS[name]
    model = config.make_model(seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    shape = (batch, *IMAGE_SHAPE) if config.layout == "images" else (
        batch, int(np.prod(IMAGE_SHAPE)))
    X = rng.standard_normal(shape).astype(dtype)
    y = rng.integers(0, 10, batch)
    net, decayed, others = torch_peer(model)
    lr = config.solver["optim_config"]["lr"]
    opt = torch.optim.Adam([{"params": decayed, "weight_decay": 2 * model.reg},
                            {"params": others, "weight_decay": 0.0}], lr=lr)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    net.eval()                                # same parameters: same test-mode scores
    with torch.no_grad():
        theirs_scores = net(tX).numpy()
    ours_scores = model.loss(X)
    scale = np.abs(theirs_scores).max()
    difference = np.abs(ours_scores - theirs_scores).max() / scale
    if difference > (1e-4 if dtype == np.float32 else 1e-10):
        raise AssertionError(f"{name}: our scores and torch's differ by {difference:.1e} "
                             f"(relative to their largest)")
    net.train()

    states = {k: {"lr": lr} for k in model.params}

    def ours():
        _, grads = model.loss(X, y)
        for k in model.params:
            model.params[k], states[k] = optim.adam(model.params[k], grads[k], states[k])

    def theirs():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(tX), ty).backward()
        opt.step()
    return ours, theirs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--block", type=int, default=3,
                        help="at least this many timed steps per turn (default 3)")
    parser.add_argument("--warmup", type=float, default=0.3,
                        help="seconds of untimed steps at the start of a turn (default 0.3)")
    parser.add_argument("--window", type=float, default=0.6,
                        help="seconds of timed steps per turn, at least (default 0.6)")
    parser.add_argument("--rest", type=float, default=0.3,
                        help="seconds of sleep after each turn (default 0.3)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: elapsed time (default). cpu: CPU time of this process, "
                             "which other programs on a busy machine disturb less; "
                             "meaningful with --threads 1 only")
    args = parser.parse_args()
    names = args.models.split(",")
    for name in names:
        if name not in MODELS:
            parser.error(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    thread_counts = [int(t) for t in args.threads.split(",")]
    dtypes = [np.dtype(d).type for d in args.dtypes.split(",")]

    print(describe(), flush=True)
    print(f"numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start; medians of {args.repeats} "
          f"interleaved rounds; a turn: {args.warmup:g} s warm-up, >= {args.window:g} s and "
          f">= {args.block} timed steps, {args.rest:g} s rest; {args.clock}-clock ms per step")
    print("course_lib's allocator settings (course_lib/_memory.py): "
          + ("on" if _memory.tuned else "off (COURSE_LIB_MALLOC=system, or not glibc)"))
    header = (f"{'dtype':8s} {'thr':>3s}  {'model':14s} {'batch':>5s} {'ours':>9s} "
              f"{'torch':>9s}  {'ratio':>6s}  {'rounds':>11s}  {'target':>7s}  {'result':6s} "
              f"{'load':>5s}")
    print(header)
    print("-" * len(header))
    misses = 0
    for dtype in dtypes:
        for threads in thread_counts:
            torch.set_num_threads(threads)
            parallel.set_num_threads(threads)
            with threadpool_limits(limits=threads, user_api="blas"):
                for name in names:
                    batch, target32, target64 = MODELS[name]
                    target = target32 if dtype == np.float32 else target64
                    ours, theirs = step_methods(name, dtype)
                    t, rounds = interleaved(
                        {"ours": ours, "torch": theirs}, args.repeats, CLOCKS[args.clock],
                        block=args.block, rest=args.rest, warmup=args.warmup,
                        window=args.window, by_round=True)
                    ratio = t["ours"] / t["torch"]
                    per_round = [o / p for o, p in zip(rounds["ours"], rounds["torch"])]
                    result = "-" if target is None else "PASS" if ratio <= target else "MISS"
                    misses += result == "MISS"
                    print(f"{np.dtype(dtype).name:8s} {threads:3d}  {name:14s} {batch:5d} "
                          f"{t['ours'] * 1e3:9.1f} {t['torch'] * 1e3:9.1f}  {ratio:6.2f}  "
                          f"{min(per_round):5.2f}-{max(per_round):5.2f}  "
                          f"{'-' if target is None else f'<={target}x':>7s}  {result:6s} "
                          f"{os.getloadavg()[0]:5.1f}", flush=True)
    print("-" * len(header))
    print(f"load average {os.getloadavg()[0]:.1f} at end; {misses} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
