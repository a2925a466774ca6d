"""Command line: ``python -m course_lib.data check`` / ``fetch NAME``.

``check`` only looks at files and headers (it runs in well under a second)
and exits with status 1 when CIFAR-10, which every chapter needs, is missing.
"""
import argparse
import os
import sys
from pathlib import Path

from . import cifar10, mnist
from ._paths import ENV_VAR, DatasetError, data_dir, root_origin

DATASETS = ("cifar10", "fashion-mnist", "mnist")
_KIND = {"fashion-mnist": "fashion", "mnist": "mnist"}


def _indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.splitlines())


def check():
    """Print where each dataset is (or how to get it); 0 if CIFAR-10 is there."""
    try:
        root = data_dir()
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"data root: {root} ({root_origin()})")
    cifar_ok = False
    rows = [("CIFAR-10", lambda: cifar10._check(root), True),
            ("Fashion-MNIST", lambda: mnist._check("fashion", root), False),
            ("MNIST", lambda: mnist._check("mnist", root), False)]
    for name, probe, required in rows:
        try:
            ok, where, detail = probe()
        except DatasetError as exc:
            ok, where, detail = False, None, str(exc)
        if ok:
            print(f"{name:<14} ok       {where}\n{_indent(detail)}")
        else:
            label = "MISSING " if required else "missing  (optional)"
            print(f"{name:<14} {label}\n{_indent(detail)}")
        if required:
            cifar_ok = ok
    return 0 if cifar_ok else 1


def fetch(name, progress=True):
    """Download one dataset unless present; print where it is."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value and not Path(value).expanduser().exists():
        # asking to fetch is consent to create the folder the variable names
        Path(value).expanduser().mkdir(parents=True)
        print(f"created ${ENV_VAR} directory {Path(value).expanduser()}")
    try:
        if name == "cifar10":
            folder = cifar10.fetch_cifar10(progress=progress)
        else:
            folder = mnist.fetch_mnist(_KIND[name], progress=progress)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{name}: ready in {folder}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.data",
        description="Fetch and check the course datasets (data root: "
                    f"${ENV_VAR}, else ~/.cache/course_lib).")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="show which datasets are present (exit 1 "
                                 "if CIFAR-10 is missing)")
    p_fetch = sub.add_parser("fetch", help="download a dataset (MD5-checked)")
    p_fetch.add_argument("name", choices=DATASETS)
    p_fetch.add_argument("--no-progress", action="store_true",
                         help="no progress bar (for logs)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check()
    return fetch(args.name, progress=not args.no_progress)


if __name__ == "__main__":
    sys.exit(main())
