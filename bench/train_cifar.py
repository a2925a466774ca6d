"""Train the course's models on CIFAR-10 and report wall time and accuracy.

    python bench/train_cifar.py                      # all four models (hours: run it alone)
    python bench/train_cifar.py --only convnet       # one model (repeat --only for more)
    python bench/train_cifar.py --quick              # 2,000 images, 1 epoch each (~1 min)
    python bench/train_cifar.py --timing-only        # only the per-step timing table
    python bench/train_cifar.py --save ckpt/         # checkpoint every epoch + the best params
    python bench/train_cifar.py --threads 1          # one BLAS thread (machine shared with others)
    python bench/train_cifar.py --only convnet --export bench/results/convnet_cifar10
                                                     # store the run for the book (chapter 9)

First a timing table: one training step (forward + backward, then forward +
backward + Adam update) of each model on a batch of 64, median of
interleaved repeats, with the projected time of one epoch of 49,000 images
and of the configured run. Then each selected model is trained with the
Solver and a table shows epochs, wall time, best validation accuracy and
test accuracy (all 10,000 test images) against the course's targets:

    two_layer         TwoLayerNet                       val  >= 52%
    fc_bn_dropout     FullyConnectedNet, BN + dropout   test >= 56%
    three_layer_conv  ThreeLayerConvNet                 val  >= 60%
    convnet           ConvNet (3 conv blocks, BN, dropout) test >= 70%, in under an hour

``--export NAME`` stores the trained model's run with course_lib.runs
(NAME.npz + NAME.json with its SHA-256, the command, commit and CPU): the
loss and accuracy histories, the first layer's learned weights and the
confusion matrix on the test images. Chapter 9 loads it instead of training
for minutes at every build.

Preprocessing: the training mean image is subtracted (get_cifar10_data) and
every split is divided by the training set's standard deviation. The conv
nets train on randomly flipped and shifted images (pad with zeros = the
mean, crop back to 32x32), the BN/dropout MLP on randomly flipped ones.
"""
import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course_lib import optim
from course_lib.data import CIFAR10_CLASSES, get_cifar10_data
from course_lib.models import ConvNet, FullyConnectedNet, ThreeLayerConvNet, TwoLayerNet
from course_lib.runs import save_run
from course_lib.solver import Solver
from machine import describe  # bench/machine.py: the CPU beside every figure

NUM_TRAIN_FULL = 49000
IMAGE_SHAPE = (3, 32, 32)


# ---- augmentation -------------------------------------------------------------------

def flip_and_shift(X, rng, max_shift=4):
    """Random horizontal flips and translations of a batch of CIFAR images.

    ``X`` is (N, 3, 32, 32), or (N, 3072) rows in the (H, W, C) order of
    ``get_cifar10_data(flatten=True)``; the result has the same shape. Each
    image is flipped with probability 1/2 and shifted by up to ``max_shift``
    pixels in each direction, the uncovered border filled with 0 (the mean
    image, since the data are mean-subtracted).
    """
    flat = X.ndim == 2
    images = X.reshape(len(X), 32, 32, 3).transpose(0, 3, 1, 2) if flat else X  # (N, C, H, W)
    N = len(images)
    flip = rng.random(N) < 0.5
    out = np.where(flip[:, None, None, None], images[..., ::-1], images)
    if max_shift:
        s = max_shift
        padded = np.pad(out, ((0, 0), (0, 0), (s, s), (s, s)))
        dy, dx = rng.integers(0, 2 * s + 1, size=(2, N))
        out = np.stack([padded[n, :, dy[n]:dy[n] + 32, dx[n]:dx[n] + 32] for n in range(N)])
    return out.transpose(0, 2, 3, 1).reshape(N, -1) if flat else out


def flips_only(X, rng):
    return flip_and_shift(X, rng, max_shift=0)


def flips_and_small_shifts(X, rng):
    return flip_and_shift(X, rng, max_shift=2)


# ---- configurations -----------------------------------------------------------------

@dataclass
class Config:
    """One model to train: how to build it, which data layout, Solver settings, target."""
    name: str
    make_model: object  # make_model(seed, dtype=np.float32) -> model
    layout: str  # "flat" (N, 3072) or "images" (N, 3, 32, 32)
    solver: dict
    target_split: str
    target: float
    augment: object = None
    note: str = ""
    quick_solver: dict = field(default_factory=dict)


CONFIGS = {
    "two_layer": Config(
        name="two_layer",
        make_model=lambda seed, dtype=np.float32: TwoLayerNet(
            hidden_dim=500, weight_scale=np.sqrt(2 / 3072), reg=2.5e-3, dtype=dtype, seed=seed),
        layout="flat",
        solver=dict(update_rule=optim.adam, optim_config={"lr": 5e-4}, lr_decay=0.95,
                    batch_size=200, num_epochs=20),
        target_split="val", target=0.52,
        note="3072-500-10, He-scaled init, Adam 5e-4, L2 5e-3"),
    "fc_bn_dropout": Config(
        name="fc_bn_dropout",
        # Flips only and light dropout: an MLP cannot use shifted copies well
        # (no weight sharing), so shifts mostly add noise. With flips + 2px
        # shifts and keep 0.7 validation accuracy was 0.503 after 6 epochs,
        # against 0.517 here; 15 epochs of ~0.45 CPU-min each (one thread).
        make_model=lambda seed, dtype=np.float32: FullyConnectedNet(
            [1024, 512, 256], normalization="batchnorm", dropout_keep_ratio=0.8, reg=5e-5,
            init="he", dtype=dtype, seed=seed),
        layout="flat",
        solver=dict(update_rule=optim.adam, optim_config={"lr": 1e-3}, lr_decay=0.85,
                    batch_size=200, num_epochs=15),
        augment=flips_only,
        target_split="test", target=0.56,
        note="3072-1024-512-256-10, BN, keep 0.8, flips only"),
    "three_layer_conv": Config(
        name="three_layer_conv",
        make_model=lambda seed, dtype=np.float32: ThreeLayerConvNet(
            num_filters=32, filter_size=7, hidden_dim=500, weight_scale=1e-2, reg=5e-4,
            dtype=dtype, seed=seed),
        layout="images",
        solver=dict(update_rule=optim.adam, optim_config={"lr": 1e-3}, lr_decay=0.9,
                    batch_size=100, num_epochs=10),
        augment=flips_and_small_shifts,
        target_split="val", target=0.60,
        note="conv7x7x32-pool-fc500, Adam 1e-3, flips + 2px shifts"),
    "convnet": Config(
        name="convnet",
        # One conv per block: two per block (VGG) costs 2-3x more per epoch, and
        # within the hour more epochs of the smaller net are worth more.
        make_model=lambda seed, dtype=np.float32: ConvNet(
            conv_blocks=[(32,), (64,), (128,)], pool_every_block=True,
            hidden_dims=(256,), normalization="batchnorm", dropout_keep_ratio=0.7, reg=2.5e-4,
            init="he", dtype=dtype, seed=seed),
        layout="images",
        # 8 epochs of ~3 CPU-min (one BLAS thread): light augmentation and
        # dropout, and a fast decay, since so few epochs hardly overfit.
        solver=dict(update_rule=optim.adam, optim_config={"lr": 1e-3}, lr_decay=0.75,
                    batch_size=128, num_epochs=8),
        augment=flips_and_small_shifts,
        target_split="test", target=0.70,
        note="[conv3-BN-relu-pool] x3 (32/64/128) - fc256 (keep 0.7), flips + 2px shifts"),
}


# ---- data ---------------------------------------------------------------------------

def load_data(layout, num_training, num_validation, num_test):
    """Mean-subtracted CIFAR-10 in float32, divided by the training standard deviation."""
    data = get_cifar10_data(num_training=num_training, num_validation=num_validation,
                            num_test=num_test, num_dev=0, flatten=(layout == "flat"),
                            channels_first=(layout == "images"), dtype=np.float32)
    scale = np.float32(1.0 / data["X_train"].std(dtype=np.float64))
    for split in ("X_train", "X_val", "X_test"):
        data[split] *= scale
    return data


# ---- timing -------------------------------------------------------------------------

def forward_macs(model):
    """Multiply-adds of one example's forward pass through the conv and affine layers."""
    macs = 0
    if isinstance(model, ConvNet):
        height, width = model.input_dim[1:]
        for layer, pool in model.conv_layers:
            F, C, HH, WW = model.params[layer + ".W"].shape
            macs += F * C * HH * WW * height * width  # same-size convolutions
            if pool:
                height, width = height // 2, width // 2
    for name, value in model.params.items():
        if name.startswith("fc") and name.endswith(".W"):
            macs += value.shape[0] * value.shape[1]
    return macs


def time_steps(names, batch_size=64, repeats=5, seed=0):
    """Median seconds of one training step per model, in interleaved rounds."""
    rng = np.random.default_rng(seed)
    setups = {}
    for name in names:
        model = CONFIGS[name].make_model(seed)
        shape = (batch_size, *IMAGE_SHAPE) if CONFIGS[name].layout == "images" else (
            batch_size, int(np.prod(IMAGE_SHAPE)))
        X = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 10, batch_size)
        states = {k: {"lr": 1e-3} for k in model.params}
        setups[name] = (model, X, y, states)

    def loss_only(model, X, y, states):
        model.loss(X, y)

    def full_step(model, X, y, states):
        _, grads = model.loss(X, y)
        for k in model.params:
            model.params[k], states[k] = optim.adam(model.params[k], grads[k], states[k])

    times = {(name, kind): [] for name in names for kind in ("fb", "step", "cpu")}
    for name in names:  # warm-up: first calls allocate and fault in memory
        full_step(*setups[name])
    for _ in range(repeats):
        for name in names:
            for kind, fn in (("fb", loss_only), ("step", full_step)):
                start, start_cpu = time.perf_counter(), time.process_time()
                fn(*setups[name])
                times[name, kind].append(time.perf_counter() - start)
                if kind == "step":
                    times[name, "cpu"].append(time.process_time() - start_cpu)
    return {key: statistics.median(t) for key, t in times.items()}, {
        name: setups[name][0] for name in names}


def print_timing(names, batch_size, repeats):
    medians, models = time_steps(names, batch_size=batch_size, repeats=repeats)
    steps_per_epoch = NUM_TRAIN_FULL / batch_size
    print(f"\nOne training step, batch {batch_size}, median of {repeats} interleaved repeats "
          f"(projected epoch = {NUM_TRAIN_FULL} images = {steps_per_epoch:.0f} steps; "
          "GFLOP/s counts 3x the forward multiply-adds of conv and affine layers)")
    header = (f"{'model':<17}{'params':>10}{'fwd+bwd ms':>12}{'+adam ms':>10}{'cpu ms':>9}"
              f"{'GFLOP/s':>9}{'epoch min':>11}{'epochs':>8}{'run min':>9}")
    print(header)
    print("-" * len(header))
    for name in names:
        model = models[name]
        fb, step = medians[name, "fb"], medians[name, "step"]
        gflops = 3 * 2 * forward_macs(model) * batch_size / fb / 1e9
        epoch_min = step * steps_per_epoch / 60
        epochs = CONFIGS[name].solver["num_epochs"]
        print(f"{name:<17}{model.num_params:>10,}{1e3 * fb:>12.1f}{1e3 * step:>10.1f}"
              f"{1e3 * medians[name, 'cpu']:>9.1f}{gflops:>9.1f}{epoch_min:>11.1f}{epochs:>8}"
              f"{epoch_min * epochs:>9.0f}")
    print("(epoch and run minutes come from the wall time of a full step and exclude the "
          "accuracy checks, a few % more. cpu ms is the process CPU time of that step: with "
          "--threads 1 on a busy machine it estimates the wall time on an idle core)")


# ---- training -----------------------------------------------------------------------

def train_one(config, data, quick, save_dir, seed, progress, verbose=False, num_epochs=None):
    model = config.make_model(seed)
    settings = dict(config.solver)
    if num_epochs is not None:
        settings["num_epochs"] = num_epochs
    if quick:
        settings["num_epochs"] = 1
    checkpoint = None
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = str(save_dir / config.name)
    solver = Solver(model, data, augment=config.augment, num_train_samples=1000,
                    num_val_samples=None, checkpoint_name=checkpoint, verbose=verbose,
                    print_every=10**9, progress=progress, seed=seed, **settings)
    start, start_cpu = time.perf_counter(), time.process_time()
    solver.train()
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    # one pass over the test set gives both the accuracy and (for --export) the confusion matrix
    confusion = confusion_matrix(model, data["X_test"], data["y_test"])
    test_acc = float(np.trace(confusion) / confusion.sum())
    if save_dir is not None:
        solver.save_checkpoint(save_dir / f"{config.name}_best.npz")
    return {"epochs": solver.epoch, "wall": wall, "cpu": cpu, "val": solver.best_val_acc,
            "test": test_acc, "confusion": confusion, "diverged": solver.diverged,
            "solver": solver}


def confusion_matrix(model, X, y, batch_size=500):
    """counts[i, j]: test images of class i that the model (test mode) calls j."""
    counts = np.zeros((10, 10), dtype=np.int64)
    for start in range(0, len(X), batch_size):
        predicted = np.argmax(model.loss(X[start:start + batch_size]), axis=1)
        np.add.at(counts, (y[start:start + batch_size], predicted), 1)
    return counts


def git_commit():
    """The repository's commit, with "+changes" when the work tree differs from it."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty.strip() else "")


def export_run(path, config, result, data, argv, threads):
    """Store ``result`` (train_one's) with course_lib.runs for the book."""
    import datetime

    solver = result["solver"]
    model = solver.model                      # the best epoch's parameters (train() restores them)
    first = next(name for name, value in model.params.items() if value.ndim >= 2)
    meta = {
        "command": "python bench/train_cifar.py " + " ".join(argv),
        "commit": git_commit(), "cpu": describe(), "blas_threads": threads,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "model": config.name, "note": config.note, "epochs": int(result["epochs"]),
        "num_train": int(len(data["X_train"])), "num_val": int(len(data["X_val"])),
        "num_test": int(len(data["X_test"])), "batch_size": int(solver.batch_size),
        "iterations_per_epoch": max(len(data["X_train"]) // solver.batch_size, 1),
        "train_seconds": round(result["wall"], 1), "train_cpu_seconds": round(result["cpu"], 1),
        "best_val_accuracy": float(result["val"]), "test_accuracy": float(result["test"]),
        "first_layer": first,
    }
    run = save_run(path, meta,
                   loss_history=np.asarray(solver.loss_history, dtype=np.float32),
                   train_acc_history=np.asarray(solver.train_acc_history, dtype=np.float32),
                   val_acc_history=np.asarray(solver.val_acc_history, dtype=np.float32),
                   first_layer_W=np.asarray(model.params[first], dtype=np.float32),
                   test_confusion=result["confusion"],
                   class_names=np.array(CIFAR10_CLASSES))
    print(f"stored the run in {Path(path).with_suffix('.npz')} and .json "
          f"(sha256 {run.meta['sha256'][:12]}...)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(CONFIGS),
                        help="train only this model (repeatable)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 training images, 1 epoch each, 3 timing repeats (~1 min)")
    parser.add_argument("--save", type=Path, metavar="DIR",
                        help="write checkpoints (every epoch and the best) into DIR")
    parser.add_argument("--timing-only", action="store_true", help="skip training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--verbose", action="store_true",
                        help="print train/val accuracy after every epoch")
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="override the configured number of epochs")
    parser.add_argument("--export", type=Path, metavar="NAME",
                        help="store the trained model's run in NAME.npz + NAME.json for the "
                             "book (needs exactly one --only)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="limit BLAS to N threads (1 when other jobs share the cores: "
                             "OpenBLAS threads spin badly on a busy machine)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=args.threads, user_api="blas")
    names = args.only or list(CONFIGS)
    if args.export is not None and (len(names) != 1 or args.quick or args.timing_only):
        parser.error("--export stores one full run: give exactly one --only MODEL, "
                     "without --quick or --timing-only")
    print(describe(), flush=True)

    print_timing(names, batch_size=64, repeats=3 if args.quick else 7)
    if args.timing_only:
        return 0

    if args.quick:
        sizes = dict(num_training=2000, num_validation=500, num_test=1000)
    else:
        sizes = dict(num_training=NUM_TRAIN_FULL, num_validation=1000, num_test=10000)
    results = {}
    cache = {}
    for name in names:
        config = CONFIGS[name]
        if config.layout not in cache:
            cache.clear()  # keep one layout in memory at a time
            cache[config.layout] = load_data(config.layout, **sizes)
        print(f"\n== {name}: {config.note}", flush=True)
        results[name] = train_one(config, cache[config.layout], args.quick, args.save,
                                  args.seed, progress=not args.no_progress,
                                  verbose=args.verbose, num_epochs=args.epochs)
        if args.export is not None:
            export_run(args.export, config, results[name], cache[config.layout],
                       argv if argv is not None else sys.argv[1:], args.threads)

    print(f"\nTraining on {sizes['num_training']} images "
          f"({'quick: 1 epoch, targets not expected' if args.quick else 'full run'}); "
          f"test accuracy on {sizes['num_test']} test images")
    header = (f"{'model':<17}{'epochs':>7}{'wall min':>10}{'cpu min':>9}{'best val':>10}"
              f"{'test':>8}{'target':>14}{'met':>6}")
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        config = CONFIGS[name]
        achieved = r["val"] if config.target_split == "val" else r["test"]
        met = "yes" if achieved >= config.target else "no"
        flag = " (diverged)" if r["diverged"] else ""
        target = f"{config.target_split} >= {config.target:.2f}"
        print(f"{name:<17}{r['epochs']:>7}{r['wall'] / 60:>10.1f}{r['cpu'] / 60:>9.1f}"
              f"{r['val']:>10.3f}{r['test']:>8.3f}{target:>14}{met:>6}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
