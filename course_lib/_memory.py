"""Keep freed memory for reuse: how course_lib sets the C allocator (glibc).

numpy allocates its arrays with the C library's ``malloc``. By default glibc
maps a large block (128 KB or more, a limit it raises up to 32 MB as such
blocks are freed) straight from the operating system and unmaps it when it
is freed, and it gives back the free memory at the top of its heap once
that exceeds a second limit (twice the first). The next array of that size
then starts as fresh pages, which the kernel maps and zeroes one fault at a
time on first touch. A training step makes and drops the same large arrays
(activations, their gradients, scratch buffers) at every iteration, so it
pays those faults again and again. The ConvNet of ``bench/train_cifar.py`` (batch 128, float32, AMD
EPYC, 2 cores) took 6,000-11,000 page faults per training step; with the
settings below it takes none, and a step went from 203-223 ms to 188 ms on
one thread, from 125-149 ms to 110 ms on two (fresh processes, alternated).
The MLPs of that script fault little either way and did not change, nor
did PyTorch in the same process (it faulted next to nothing either way).

:func:`keep_freed_memory` (run once when ``course_lib`` is imported) asks
glibc to serve blocks up to 32 MB (its maximum) from its heap and to keep up
to 1 GB of free memory there instead of returning it. Freed arrays are then
reused by the next step: the process keeps the memory of its largest step
until it exits, which is what a training loop needs anyway. Nothing changes
on other C libraries (macOS, Windows, musl), and setting the environment
variable ``COURSE_LIB_MALLOC=system`` before the import leaves glibc's
defaults alone.
"""
import ctypes
import os

# mallopt(3) parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20       # the largest value glibc accepts on 64-bit systems
TRIM_THRESHOLD = 1 << 30

tuned = False                   # True once glibc has accepted both settings


def keep_freed_memory():
    """Set glibc's mmap and trim thresholds (see the module docstring).

    Returns True when both settings were accepted, False when the C library
    is not glibc, the environment says ``COURSE_LIB_MALLOC=system``, or
    glibc refused. Safe to call more than once.
    """
    global tuned
    if os.environ.get("COURSE_LIB_MALLOC", "").strip().lower() == "system":
        return False
    try:
        # the symbols already loaded into this process (Python links the C
        # library): no search for libc's file, no subprocess (ctypes.util's
        # find_library runs ldconfig, 10+ ms at every import)
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version       # glibc only: musl has mallopt but ignores it
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return tuned
