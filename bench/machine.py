"""One line that says which machine a benchmark ran on.

Timings and ratios differ between CPU families (AMD EPYC with AVX2, Intel
Xeon with AVX-512, ...), and so do the BLAS kernels numpy picks: every bench
script prints this line first, so a figure is never quoted without its CPU.
"""
import os
import platform


def cpu_model():
    """The CPU's model name and its widest vector extension."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("unknown CPU", platform.machine()):
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    vector = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags
              else "no AVX2" if flags else "")
    return f"{model} ({vector})" if vector else model


def blas_core():
    """The OpenBLAS kernel family numpy uses (e.g. SkylakeX, Haswell, Zen)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    for pool in threadpool_info():
        if pool.get("internal_api") == "openblas":
            return f"OpenBLAS {pool.get('version')} {pool.get('architecture')}"
    return "no OpenBLAS"


def describe():
    """``CPU: ..., N cores, numpy X, OpenBLAS ...``."""
    import numpy as np
    return (f"CPU: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}, "
            f"{blas_core()}")


if __name__ == "__main__":
    print(describe())
