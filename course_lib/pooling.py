"""Pooling layers: max pooling (naive and fast) and average pooling.

Dimensions: ``N`` batch, ``C`` channels, ``H, W`` input height and width,
``H_out, W_out`` output height and width. ``x`` is (N, C, H, W); each channel
is pooled independently, so the output is (N, C, H_out, W_out) with

    H_out = conv_output_size(H, pool_height, stride)
          = (H - pool_height) // stride + 1

(the same helper as convolution, without padding). Pooling has no
parameters. The usual settings are 2x2 windows with stride 2 (keeps one
value in four) and 3x3 with stride 2 ("overlapping pooling").

Max pooling's gradient goes only to the input that was the maximum of its
window; when several inputs tie for the maximum (common after a ReLU, which
outputs many zeros), the first one in row-major order within the window
gets it, in both the naive and the fast version.

Example
-------
>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> out, cache = max_pool_forward_fast(x)
>>> out[0, 0]
array([[ 5.,  7.],
       [13., 15.]])
"""
import numpy as np

from course_lib import conv, parallel
from course_lib.conv import conv_output_size

__all__ = ["max_pool_forward_naive", "max_pool_backward_naive",
           "max_pool_forward_fast", "max_pool_backward_fast",
           "avg_pool_forward", "avg_pool_backward"]


def _check_pool_args(x, pool_height, pool_width, stride):
    """Validate; return x as a float array and the output (H_out, W_out)."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    H_out = conv_output_size(x.shape[2], pool_height, stride)
    W_out = conv_output_size(x.shape[3], pool_width, stride)
    return x, H_out, W_out


def _check_dout(dout, x, H_out, W_out):
    expected = x.shape[:2] + (H_out, W_out)
    if np.shape(dout) != expected:
        raise ValueError(f"dout has shape {np.shape(dout)} but the forward "
                         f"pass produced {expected}")
    return np.asarray(dout, dtype=x.dtype)


def _tap(k, l, H_out, W_out, stride):
    """Index selecting, for window offset (k, l), one input per window.

    ``x[_tap(k, l, ...)]`` is (N, C, H_out, W_out) with entry (i, j) equal
    to ``x[..., i*stride + k, j*stride + l]``: a strided view, no copy.
    """
    return (Ellipsis, slice(k, k + stride * (H_out - 1) + 1, stride),
            slice(l, l + stride * (W_out - 1) + 1, stride))


# ---------------------------------------------------------------- naive ----

def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    """Max pooling with explicit loops (slow; for teaching).

    ``out[n, c, i, j] = max_{k, l} x[n, c, i*S + k, j*S + l]`` over the
    ``pool_height x pool_width`` window.

    Returns
    -------
    out : (N, C, H_out, W_out) array
    cache : tuple ``(x, pool_height, pool_width, stride)``
    """
    x, H_out, W_out = _check_pool_args(x, pool_height, pool_width, stride)
    N, C = x.shape[:2]
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    out[n, c, i, j] = x[n, c, top:top + pool_height,
                                        left:left + pool_width].max()
    return out, (x, pool_height, pool_width, stride)


def max_pool_backward_naive(dout, cache):
    """Max pooling backward with explicit loops.

    ``max`` routes its gradient to the winning input only, so each
    ``dout[n, c, i, j]`` is added to the position of its window's maximum
    (the first one in row-major order when several tie; ``np.argmax`` does
    exactly that). Overlapping windows may add to the same input.

    Parameters
    ----------
    dout : (N, C, H_out, W_out) array
    cache : tuple from :func:`max_pool_forward_naive` (or ``_fast``)

    Returns
    -------
    dx : (N, C, H, W) array
    """
    x, pool_height, pool_width, stride = cache[:4]
    N, C = x.shape[:2]
    H_out, W_out = conv_output_size(x.shape[2], pool_height, stride), \
        conv_output_size(x.shape[3], pool_width, stride)
    dout = _check_dout(dout, x, H_out, W_out)
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top:top + pool_height, left:left + pool_width]
                    k, l = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, top + k, left + l] += dout[n, c, i, j]
    return dx


# ----------------------------------------------------------------- fast ----

# The fast versions make several passes over x (one per window offset). They
# work on a few examples at a time so that those passes hit the CPU cache
# (about 512 KB per core here) instead of main memory: about 1.5x faster on
# a (50, 32, 32, 32) float32 batch, and no slower on small inputs. The chunks
# are independent, so with several threads (course_lib.parallel.set_num_threads)
# the threads take them in turn; the results are bitwise the same. Then
# chunks twice as large measured a little faster (1.05-1.1x): between numpy
# calls a thread must hold the GIL, so fewer, larger calls wait less.
_CHUNK_BYTES = 1 << 19
_THREAD_CHUNK_BYTES = 1 << 20


def _batch_chunks(x, threads=1):
    """Slices along N covering x in pieces of about _CHUNK_BYTES (with
    threads, _THREAD_CHUNK_BYTES)."""
    size = _CHUNK_BYTES if threads == 1 else _THREAD_CHUNK_BYTES
    return conv._batch_chunks(x.shape[0], x[:1].nbytes, size, threads)


def max_pool_forward_fast(x, pool_height=2, pool_width=2, stride=2):
    """Max pooling as a running ``np.maximum`` over the window offsets.

    Trick: instead of looping over the H_out*W_out windows, loop over the
    pool_height*pool_width offsets (k, l) inside a window. For a fixed
    offset, ``x[..., k::S, l::S]`` (cropped to H_out x W_out) is a strided
    view holding one candidate of *every* window at once, so the maximum is
    a handful of vectorised ``np.maximum`` calls (for 2x2 stride 2: four
    views, three calls). This beats reshaping to (..., 2, 2) and calling
    ``.max(axis)`` because numpy reduces slowly over short axes. The same
    code serves every geometry (overlapping 3x3 stride 2, gaps, odd sizes).
    Alongside the maximum we record which offset won, comparing with a
    strict ``>`` so that on a tie the first offset in row-major order keeps
    it, so that the backward pass routes gradients without searching again.
    2x2 windows (the usual case) take a shortcut: the larger of each pair
    of horizontal neighbours first, then the larger of two such row maxima
    (see :func:`_max_2x2`); six numpy calls per chunk instead of ten,
    0.7-0.8x the time.

    Parameters and output as :func:`max_pool_forward_naive`.

    Returns
    -------
    out : (N, C, H_out, W_out) array, same dtype as x
    cache : tuple ``(x, pool_height, pool_width, stride, argmax)`` where the
        uint8 array ``argmax[n, c, i, j] = k * pool_width + l`` is the
        offset of the winner inside window (i, j)
    """
    x, H_out, W_out = _check_pool_args(x, pool_height, pool_width, stride)
    num_offsets = pool_height * pool_width
    if num_offsets > 256:
        raise ValueError(f"max_pool_forward_fast supports windows of at most "
                         f"256 elements, got {pool_height}x{pool_width}; use "
                         f"max_pool_forward_naive or a smaller window")
    out = np.empty(x.shape[:2] + (H_out, W_out), dtype=x.dtype)
    argmax = np.zeros(out.shape, dtype=np.uint8)
    threads = parallel.get_num_threads()
    chunks = _batch_chunks(x, threads)
    n0 = max(c.stop - c.start for c in chunks)
    work = _max_2x2 if pool_height == pool_width == 2 else _max_any
    parallel._in_threads(lambda tasks: work(tasks, x, out, argmax, pool_height, pool_width,
                                        stride, n0), chunks, threads)
    return out, (x, pool_height, pool_width, stride, argmax)


def _max_any(tasks, x, out, argmax, pool_height, pool_width, stride, n0):
    """max_pool_forward_fast for the chunks one thread takes: a running
    maximum over the window offsets, any window."""
    H_out, W_out = out.shape[2:]
    better = np.empty((n0,) + out.shape[1:], dtype=bool)    # this thread's scratch
    for _, chunk in tasks:
        xc, best, winner = x[chunk], out[chunk], argmax[chunk]
        mask = better[:len(best)]
        best[...] = xc[_tap(0, 0, H_out, W_out, stride)]
        for t in range(1, pool_height * pool_width):
            candidate = xc[_tap(t // pool_width, t % pool_width, H_out, W_out, stride)]
            np.greater(candidate, best, out=mask)
            np.copyto(winner, t, where=mask)
            np.maximum(best, candidate, out=best)


def _max_2x2(tasks, x, out, argmax, pool_height, pool_width, stride, n0):
    """:func:`_max_any` for 2x2 windows (the usual pooling) in six numpy
    calls per chunk instead of ten: the maximum of each row's pair first, on
    every input row used, then the larger of a window's two row maxima.
    Comparing with a strict ``>`` at both steps keeps the first winner in
    row-major order on ties: within a row the left one, between rows the
    top one (every top-row offset comes before every bottom-row one)."""
    H_out, W_out = out.shape[2:]
    rows = stride * (H_out - 1) + 2                  # input rows any window uses
    pair_max = np.empty((n0, out.shape[1], rows, W_out), dtype=x.dtype)
    pair_right = np.empty(pair_max.shape, dtype=bool)   # the right one won its row
    bottom_won = np.empty((n0,) + out.shape[1:], dtype=bool)
    for _, chunk in tasks:
        xc, best, winner = x[chunk], out[chunk], argmax[chunk]
        m = len(best)
        h, h_right, v = pair_max[:m], pair_right[:m], bottom_won[:m]
        a = xc[..., :rows, 0:stride * (W_out - 1) + 1:stride]
        b = xc[..., :rows, 1:stride * (W_out - 1) + 2:stride]
        np.maximum(a, b, out=h)
        np.greater(b, a, out=h_right)
        top, bottom = h[..., 0:rows - 1:stride, :], h[..., 1:rows:stride, :]
        np.maximum(top, bottom, out=best)
        np.greater(bottom, top, out=v)
        # winner = top + v * (2 + bottom - top), with top, bottom the column
        # (0 or 1) that won in each row and v = 1 where the bottom row won:
        # offset 0 or 1, else 2 or 3. Arithmetic on the 0/1 bytes rather
        # than np.add(..., where=v), whose masked loop was 5x slower.
        top = h_right.view(np.uint8)[..., 0:rows - 1:stride, :]
        np.subtract(h_right.view(np.uint8)[..., 1:rows:stride, :], top, out=winner)
        winner += 2                     # 2 + bottom - top: 1, 2 or 3 (uint8 wraps in between)
        winner *= v
        winner += top


def max_pool_backward_fast(dout, cache):
    """Max pooling backward: one masked strided write per window offset.

    For each offset t = (k, l), the windows whose maximum sat at t pass
    ``dout`` to ``dx[..., k::S, l::S]`` and the others pass 0. When the
    windows do not overlap (stride >= pool size, e.g. 2x2 stride 2) these
    strided slices are disjoint and are written directly; otherwise they
    overlap and are accumulated with ``+=``.

    Parameters
    ----------
    dout : (N, C, H_out, W_out) array
    cache : tuple from :func:`max_pool_forward_fast` (a naive cache also works)

    Returns
    -------
    dx : (N, C, H, W) array
    """
    if len(cache) == 4:                  # a naive cache: find the winners
        cache = max_pool_forward_fast(*cache)[1]
    x, pool_height, pool_width, stride, argmax = cache
    H_out, W_out = argmax.shape[2:]
    dout = _check_dout(dout, x, H_out, W_out)
    disjoint = stride >= pool_height and stride >= pool_width
    covered = (disjoint and stride == pool_height == pool_width
               and x.shape[2:] == (stride * H_out, stride * W_out))
    # every input is written exactly once when the tiles cover x
    dx = np.empty_like(x) if covered else np.zeros_like(x)
    threads = parallel.get_num_threads()
    chunks = _batch_chunks(x, threads)
    n0 = max(c.stop - c.start for c in chunks)

    def work(tasks):                    # the chunks one thread takes
        won = np.empty((n0,) + argmax.shape[1:], dtype=bool)   # its scratch
        for _, chunk in tasks:
            dxc, g, winner = dx[chunk], dout[chunk], argmax[chunk]
            mask = won[:len(g)]
            for t in range(pool_height * pool_width):
                view = dxc[_tap(t // pool_width, t % pool_width, H_out, W_out,
                                stride)]
                np.equal(winner, t, out=mask)
                if disjoint:
                    np.multiply(g, mask, out=view)
                else:
                    view += g * mask

    parallel._in_threads(work, chunks, threads)
    return dx


# -------------------------------------------------------------- average ----

def avg_pool_forward(x, pool_height=2, pool_width=2, stride=2):
    """Average pooling: the mean of each window.

    ``out[n, c, i, j] = 1/(pool_height*pool_width) * sum_{k, l}
    x[n, c, i*S + k, j*S + l]``, computed as a sum of strided views (one per
    window offset, as in :func:`max_pool_forward_fast`).

    Returns
    -------
    out : (N, C, H_out, W_out) array, same dtype as x
    cache : tuple ``(x.shape, x.dtype, pool_height, pool_width, stride)``;
        the backward pass needs no input values, the mean being linear
    """
    x, H_out, W_out = _check_pool_args(x, pool_height, pool_width, stride)
    out = x[_tap(0, 0, H_out, W_out, stride)].copy()
    for t in range(1, pool_height * pool_width):
        out += x[_tap(t // pool_width, t % pool_width, H_out, W_out, stride)]
    out *= 1.0 / (pool_height * pool_width)
    return out, (x.shape, x.dtype, pool_height, pool_width, stride)


def avg_pool_backward(dout, cache):
    """Average pooling backward: each window spreads ``dout / (ph*pw)`` evenly.

    Parameters
    ----------
    dout : (N, C, H_out, W_out) array
    cache : tuple from :func:`avg_pool_forward`

    Returns
    -------
    dx : (N, C, H, W) array; inputs in several (overlapping) windows get
        the sum of their shares, inputs in none get 0
    """
    shape, dtype, pool_height, pool_width, stride = cache
    H_out = conv_output_size(shape[2], pool_height, stride)
    W_out = conv_output_size(shape[3], pool_width, stride)
    expected = tuple(shape[:2]) + (H_out, W_out)
    if np.shape(dout) != expected:
        raise ValueError(f"dout has shape {np.shape(dout)} but the forward "
                         f"pass produced {expected}")
    share = np.asarray(dout, dtype=dtype) * (1.0 / (pool_height * pool_width))
    dx = np.zeros(shape, dtype=dtype)
    for t in range(pool_height * pool_width):
        dx[_tap(t // pool_width, t % pool_width, H_out, W_out, stride)] += share
    return dx
