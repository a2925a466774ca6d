"""Convolutional layers: a naive version that teaches, a fast one that trains.

Dimensions (one letter each): ``N`` batch, ``C`` input channels, ``H, W``
input height and width, ``F`` filters, ``HH, WW`` filter height and width,
``H_out, W_out`` output height and width. Inputs are channels-first:
``x`` is (N, C, H, W), ``w`` is (F, C, HH, WW), ``b`` is (F,).

The layer computes, for every example n, filter f and output position (i, j),

    out[n, f, i, j] = b[f] + sum_{c, k, l} w[f, c, k, l]
                      * xp[n, c, i*S + k*Dl, j*S + l*Dl]

where ``xp`` is ``x`` zero-padded by ``P`` on each side, ``S`` the stride and
``Dl`` the dilation. Dilation follows PyTorch: 1 is an ordinary filter, 2
leaves one-pixel gaps between the taps (the course notes call this
"dilation 1"). Both versions share the signature
``conv_forward_*(x, w, b, stride=1, pad=0, dilation=1) -> (out, cache)`` and
``conv_backward_*(dout, cache) -> (dx, dw, db)`` and return the same numbers;
either backward accepts either forward's cache.

Example
-------
>>> import numpy as np
>>> x = np.ones((1, 1, 7, 7)); w = np.ones((1, 1, 3, 3)); b = np.zeros(1)
>>> out, cache = conv_forward_fast(x, w, b, stride=2)
>>> out.shape, float(out[0, 0, 0, 0])
((1, 1, 3, 3), 9.0)
"""
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from course_lib import parallel

__all__ = ["conv_output_size", "conv_forward_naive", "conv_backward_naive",
           "conv_forward_fast", "conv_backward_fast", "conv_param_grads_fast",
           "set_num_threads", "get_num_threads", "network_pass"]


def conv_output_size(size, filter_size, stride=1, pad=0, dilation=1):
    """Number of positions a filter fits along one axis.

    ``(size + 2*pad - dilation*(filter_size - 1) - 1) // stride + 1``; with
    ``dilation=1`` this is the notes' ``(W - F + 2P) / S + 1``. Examples: a
    7-wide input and a 3-wide filter give 5 positions at stride 1 and 3 at
    stride 2; AlexNet's 227 input with F=11, S=4, P=0 gives 55.

    When the stride does not divide ``size + 2*pad - F_eff`` evenly the last
    few rows/columns are never covered and are ignored (floor division, as
    PyTorch does), rather than rejected as CS231n's assignments do: a
    network is still well defined, and rejecting would forbid common shapes
    such as a 3x3 stride-2 pooling of a 32-wide image. It is an error only
    when the (dilated) filter does not fit at all, i.e. the result is < 1.

    Parameters
    ----------
    size : int  input height or width (before padding), >= 1
    filter_size : int  filter (or pooling window) height or width, >= 1
    stride : int, >= 1
    pad : int  zero padding added on each side, >= 0
    dilation : int  spacing between filter taps, >= 1 (1 = no gaps)

    Returns
    -------
    int, >= 1

    Raises
    ------
    ValueError  if an argument is not an integer in range, or the filter
        (extent ``dilation*(filter_size-1) + 1``) is larger than the
        padded input.
    """
    for name, value, low in (("size", size, 1), ("filter_size", filter_size, 1),
                             ("stride", stride, 1), ("pad", pad, 0),
                             ("dilation", dilation, 1)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    extent = dilation * (filter_size - 1) + 1
    padded = size + 2 * pad
    if extent > padded:
        raise ValueError(
            f"a filter of size {filter_size} (dilation {dilation}, so it spans "
            f"{extent}) does not fit in an input of size {size} padded by {pad} "
            f"on each side ({padded}); use a smaller filter or dilation, or "
            f"more padding")
    return (padded - extent) // stride + 1


def _check_conv_args(x, w, b):
    """Validate shapes; return the arrays and the float dtype to compute in."""
    x, w, b = (np.asarray(a) for a in (x, w, b))
    if x.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"w must be (F, C, HH, WW), got shape {w.shape}")
    if x.shape[1] != w.shape[1]:
        hint = ("; it looks channels-last: use x.transpose(0, 3, 1, 2) to get "
                "(N, C, H, W)" if x.shape[3] == w.shape[1] else "")
        raise ValueError(
            f"x has {x.shape[1]} channels (axis 1) but w expects {w.shape[1]} "
            f"(x is {x.shape}, w is {w.shape}){hint}")
    if b.shape != (w.shape[0],):
        raise ValueError(f"b must have shape ({w.shape[0]},) to match the "
                         f"{w.shape[0]} filters in w, got {b.shape}")
    dtype = np.result_type(x, w, b)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    return x, w, b, dtype


def _pad(x, pad, dtype):
    """Zero-pad the two spatial axes of (N, C, H, W) by ``pad`` (a new array)."""
    N, C, H, W = x.shape
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dtype)
    xp[:, :, pad:pad + H, pad:pad + W] = x
    return xp


# ---------------------------------------------------------------- naive ----

def conv_forward_naive(x, w, b, stride=1, pad=0, dilation=1):
    """Convolution forward pass with explicit loops (slow; for teaching).

    Parameters
    ----------
    x : (N, C, H, W) array  input
    w : (F, C, HH, WW) array  filters
    b : (F,) array  biases
    stride, pad, dilation : int  see :func:`conv_output_size`

    Returns
    -------
    out : (N, F, H_out, W_out) array, ``H_out = conv_output_size(H, HH,
        stride, pad, dilation)`` and likewise ``W_out``
    cache : tuple ``(x, w, b, stride, pad, dilation)``, the inputs as given
    """
    x, w, b, dtype = _check_conv_args(x, w, b)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = conv_output_size(H, HH, stride, pad, dilation)
    W_out = conv_output_size(W, WW, stride, pad, dilation)
    xp = _pad(x, pad, dtype)
    # the receptive field of output (i, j) starts at (i*S, j*S) and takes
    # every Dl-th pixel; its extent along each axis is Dl*(HH-1) + 1
    span_h, span_w = dilation * (HH - 1) + 1, dilation * (WW - 1) + 1

    out = np.zeros((N, F, H_out, W_out), dtype=dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    field = xp[n, :, top:top + span_h:dilation,
                               left:left + span_w:dilation]      # (C, HH, WW)
                    out[n, f, i, j] = np.sum(field * w[f]) + b[f]
    return out, (x, w, b, stride, pad, dilation)


def conv_backward_naive(dout, cache):
    """Convolution backward pass with explicit loops.

    Each output ``out[n, f, i, j]`` used one receptive field of ``xp`` and
    the filter ``w[f]``, so its upstream gradient flows back to both:

        dxp[n, :, field(i, j)] += w[f] * dout[n, f, i, j]
        dw[f]                  += xp[n, :, field(i, j)] * dout[n, f, i, j]
        db[f]                  += dout[n, f, i, j]

    and ``dx`` is ``dxp`` without its padding.

    Parameters
    ----------
    dout : (N, F, H_out, W_out) array  upstream gradient
    cache : tuple from :func:`conv_forward_naive` (or ``conv_forward_fast``)

    Returns
    -------
    dx : (N, C, H, W), dw : (F, C, HH, WW), db : (F,)
    """
    x, w, b, stride, pad, dilation = cache[:6]
    x, w, b, dtype = _check_conv_args(x, w, b)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _check_dout(dout, x, w, stride, pad, dilation)
    xp = _pad(x, pad, dtype)
    span_h, span_w = dilation * (HH - 1) + 1, dilation * (WW - 1) + 1

    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape, dtype=dtype)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    top, left = i * stride, j * stride
                    rows = slice(top, top + span_h, dilation)
                    cols = slice(left, left + span_w, dilation)
                    g = dout[n, f, i, j]
                    dxp[n, :, rows, cols] += w[f] * g
                    dw[f] += xp[n, :, rows, cols] * g
    db = dout.sum(axis=(0, 2, 3)).astype(dtype, copy=False)
    dx = dxp[:, :, pad:pad + H, pad:pad + W].copy()
    return dx, dw, db


def _check_dout(dout, x, w, stride, pad, dilation):
    expected = (x.shape[0], w.shape[0],
                conv_output_size(x.shape[2], w.shape[2], stride, pad, dilation),
                conv_output_size(x.shape[3], w.shape[3], stride, pad, dilation))
    if np.shape(dout) != expected:
        raise ValueError(f"dout has shape {np.shape(dout)} but the forward "
                         f"pass produced {expected}")


# ----------------------------------------------------------------- fast ----

# The fast versions work through the batch a few examples at a time, so that
# each chunk's im2col matrix (HH*WW times larger than its input) is
# multiplied while it is still in the CPU cache, and the backward pass's
# per-tap gradients are added back while they are. The forward pass keeps
# the full im2col matrix for the backward pass (below _KEEP_COLS_BYTES; for
# 7x7 filters it is 49x the input: 30 MB for a 50-image CIFAR batch in
# float32), which saves the backward pass one gather. With several threads
# it does not: writing and re-reading that matrix goes through main memory,
# whose bandwidth the cores share (on the 2-core course machine, 2 threads
# fill memory no faster than 1), while regathering a chunk's columns into a
# per-thread buffer stays in that core's cache (measured on the 7x7 case:
# 2 threads then take about 0.65x the serial time, keeping it 0.85-0.9x).
# For the same reason each thread pads its own chunks into a small buffer
# (_gatherer) and sums their input gradient in another before copying out
# the interior: the padded batch and its gradient are never made whole,
# which was a serial pass through main memory before and after the threads'
# work (measured on the 3x3 stride-2 case of 100 small images: forward +
# backward 0.75-0.9x the time at 2 threads, 0.9-0.95x serially).
_CHUNK_BYTES = 1 << 21


def _batch_chunks(num, bytes_per_item, chunk_bytes=None, threads=1):
    """Slices covering range(num) in pieces of about chunk_bytes (>= 1 item);
    the default is this module's _CHUNK_BYTES. With threads > 1 and more
    than one piece, the pieces are made equal (within one item) and their
    number a multiple of threads, at least two per thread, where there are
    enough items: the threads share the work evenly, and one slowed down
    (by another program on its core, say) can leave chunks to the others."""
    if chunk_bytes is None:
        chunk_bytes = _CHUNK_BYTES
    step = max(1, chunk_bytes // max(1, bytes_per_item))
    if threads > 1 and num > step:
        count = -(-num // step)                          # ceil(num / step)
        count = min(num, max(-(-count // threads), 2) * threads)  # see above
        return [slice(num * i // count, num * (i + 1) // count) for i in range(count)]
    return [slice(i, min(i + step, num)) for i in range(0, num, step)]


def _windows(xp, HH, WW, H_out, W_out, stride, dilation):
    """Read-only view (N, C, HH, WW, H_out, W_out) of every receptive field.

    ``view[n, c, k, l, i, j] = xp[n, c, i*S + k*Dl, j*S + l*Dl]``: only the
    strides change, so no data is copied. Copied into a contiguous array
    and reshaped to (N, C*HH*WW, H_out*W_out), it is the im2col matrix:
    row (c, k, l) holds tap (k, l) of channel c for every output position.
    """
    N, C = xp.shape[:2]
    sN, sC, sH, sW = xp.strides
    return as_strided(xp, shape=(N, C, HH, WW, H_out, W_out),
                      strides=(sN, sC, sH * dilation, sW * dilation,
                               sH * stride, sW * stride),
                      writeable=False)


def _fast_setup(x, w, b, stride, pad, dilation):
    """Shared preparation: checked arrays, output size, w as rows, chunks."""
    x, w, b, dtype = _check_conv_args(x, w, b)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = conv_output_size(H, HH, stride, pad, dilation)
    W_out = conv_output_size(W, WW, stride, pad, dilation)
    w_row = w.reshape(F, C * HH * WW).astype(dtype, copy=False)   # (F, C*HH*WW)
    threads = parallel.get_num_threads()
    chunks = _batch_chunks(N, C * HH * WW * H_out * W_out * dtype.itemsize,
                           threads=threads)
    if len(chunks) == 1:                # nothing to share: the serial path
        threads = 1
    return x, w, b, dtype, (H_out, W_out), w_row, chunks, threads


def _gatherer(x, dtype, n0, HH, WW, H_out, W_out, stride, pad, dilation):
    """A function ``gather(chunk, cols)`` copying the receptive fields of
    ``x[chunk]`` into ``cols`` (m, C, HH, WW, H_out, W_out), m = chunk length.

    Each thread makes its own: the chunk is first copied into the interior
    of a padded buffer of n0 examples whose border is zeroed once, here, so
    the padded batch is never made as a whole (which would be one more
    serial pass through main memory before the threads start); the columns
    are then gathered from that buffer while it is still in the cache.
    """
    if pad == 0 and x.dtype == dtype:   # nothing to pad or convert
        windows = _windows(x, HH, WW, H_out, W_out, stride, dilation)

        def gather(chunk, cols):
            np.copyto(cols, windows[chunk])
        return gather
    N, C, H, W = x.shape
    xp = np.zeros((n0, C, H + 2 * pad, W + 2 * pad), dtype=dtype)
    interior = xp[:, :, pad:pad + H, pad:pad + W]
    windows = _windows(xp, HH, WW, H_out, W_out, stride, dilation)

    def gather(chunk, cols):
        m = len(cols)
        np.copyto(interior[:m], x[chunk])
        np.copyto(cols, windows[:m])
    return gather


# The forward pass keeps the im2col matrix for the backward pass (which then
# skips one copy of HH*WW times the input) unless it is larger than this.
_KEEP_COLS_BYTES = 1 << 28


def conv_forward_fast(x, w, b, stride=1, pad=0, dilation=1):
    """Convolution forward pass as a matrix product per example (im2col).

    Trick: stack every receptive field of example n as a column of
    ``cols[n]`` (C*HH*WW, H_out*W_out); the convolution is then
    ``w.reshape(F, C*HH*WW) @ cols[n]``, a matrix product that BLAS runs
    near peak speed (``np.matmul`` does a chunk of examples per call), and
    the result is already in (N, F, H_out, W_out) order. The columns are
    gathered with a strided *view* of the padded input (no Python loop over
    positions) and copied once into a contiguous buffer.
    (``np.einsum("ncklhw,fckl->nfhw", view, w, optimize=True)`` is as fast:
    it makes the same copy internally.)

    Same parameters and output as :func:`conv_forward_naive`; float32
    inputs give a float32 output. The cache starts with the same six
    items, ``(x, w, b, stride, pad, dilation)``, followed by ``cols``
    (N, C, HH, WW, H_out, W_out) so that the backward pass need not gather
    it again (``None`` when it would exceed 256 MB, or when several threads
    share the work, see :func:`course_lib.parallel.set_num_threads`: the
    backward pass then rebuilds it chunk by chunk).
    """
    x, w, b, dtype, (H_out, W_out), w_row, chunks, threads = _fast_setup(
        x, w, b, stride, pad, dilation)
    N, C = x.shape[:2]
    F, _, HH, WW = w.shape
    shape = (C, HH, WW, H_out, W_out)       # one example's columns
    keep = threads == 1 and N * np.prod(shape) * dtype.itemsize <= _KEEP_COLS_BYTES
    kept = np.empty((N,) + shape, dtype=dtype) if keep else None
    out = np.empty((N, F, H_out * W_out), dtype=dtype)
    n0 = max(c.stop - c.start for c in chunks)

    def work(tasks):                    # the chunks one thread takes
        gather = _gatherer(x, dtype, n0, HH, WW, H_out, W_out, stride, pad, dilation)
        cols = kept if keep else np.empty((n0,) + shape, dtype=dtype)
        cols_2d = cols.reshape(len(cols), -1, H_out * W_out)  # (n, C*HH*WW, H_out*W_out)
        for _, chunk in tasks:
            rows = chunk if keep else slice(0, chunk.stop - chunk.start)
            gather(chunk, cols[rows])
            np.matmul(w_row, cols_2d[rows], out=out[chunk])
            out[chunk] += bias                 # while the chunk is in the cache

    bias = b.astype(dtype, copy=False)[:, None]
    parallel._in_threads(work, chunks, threads)
    return out.reshape(N, F, H_out, W_out), (x, w, b, stride, pad, dilation, kept)


def conv_backward_fast(dout, cache):
    """Convolution backward pass with matrix products and a strided col2im.

    With ``cols`` and ``w_row`` as in :func:`conv_forward_fast` and
    ``g = dout.reshape(N, F, H_out*W_out)``:

        dw       = sum_n g[n] @ cols[n].T       (F, C*HH*WW)
        dcols[n] = w_row.T @ g[n]               (C*HH*WW, H_out*W_out)
        db       = dout summed over N, H_out, W_out

    (``dw`` is computed transposed, ``sum_n cols[n] @ g[n].T``: OpenBLAS
    runs the products of that shape 1.05-1.2x faster in float32 on the
    ConvNet's 3x3 layers.)

    ``dcols`` holds one gradient per (tap, output position); col2im adds
    them back into the padded input. Inputs under several overlapping
    fields receive several contributions, which rules out a plain
    fancy-index assignment (repeated indices keep only the last write) and
    makes ``np.add.at`` slow. Instead we loop over the HH*WW filter taps:
    for a fixed tap (k, l) the positions ``(i*S + k*Dl, j*S + l*Dl)`` are
    all distinct, so each tap's gradients are added with one strided-slice
    ``+=``: HH*WW Python iterations, each a vectorised pass.

    With stride 1 the rows of ``g`` are first padded with zeros to the
    padded width ``W + 2P``: output (i, j) then sits at ``i*(W+2P) + j``,
    tap (k, l) lands at that index plus ``k*Dl*(W+2P) + l*Dl`` in the
    flattened padded input, and each tap's contribution is one contiguous
    run instead of H_out short rows (the zero columns add nothing). That
    makes the dcols product ``(W+2P)/W_out`` times larger but col2im
    several times faster; all the runs are then summed in one numpy call
    (:func:`_col2im_sum_wide`) instead of HH*WW additions.

    The batch is done a chunk at a time (see ``_CHUNK_BYTES``): each chunk's
    padded input gradient is summed in a scratch buffer of the thread's own
    and its interior copied to ``dx``, so no padded gradient of the whole
    batch is ever made. Each chunk's shares of ``dw`` and ``db`` are kept
    apart and added in chunk order at the end, so a given thread count
    always gives the same numbers, whichever thread did which chunk.

    Same arguments and results as :func:`conv_backward_naive` (and either
    forward's cache works).
    """
    return _conv_backward(dout, cache, need_dx=True)


def conv_param_grads_fast(dout, cache):
    """The parameter gradients of :func:`conv_backward_fast` alone: ``(dw, db)``.

    A network's first convolution needs no gradient for its input (the
    images), and there ``dx`` (a product as large as the forward pass, and
    col2im) is a third of the backward pass's work: the models skip it, as
    autograd frameworks do for inputs that need no gradient.
    """
    return _conv_backward(dout, cache, need_dx=False)[1:]


def _conv_backward(dout, cache, need_dx):
    """:func:`conv_backward_fast`; with ``need_dx=False`` dx is None."""
    x, w, b, stride, pad, dilation = cache[:6]
    kept_cols = cache[6] if len(cache) > 6 else None
    _check_dout(dout, x, w, stride, pad, dilation)
    x, w, b, dtype, (H_out, W_out), w_row, chunks, threads = _fast_setup(
        x, w, b, stride, pad, dilation)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    K = C * HH * WW
    Hp, Wp = H + 2 * pad, W + 2 * pad
    g = np.asarray(dout, dtype=dtype).reshape(N, F, H_out * W_out)
    wide = stride == 1
    L = H_out * Wp if wide else H_out * W_out  # output positions (on the padded width)
    front = (HH - 1) * dilation * Wp + (WW - 1) * dilation    # the largest tap offset
    # without padding, the strided col2im adds straight into dx
    direct = not wide and pad == 0
    if not need_dx:
        dx = None
    else:
        dx = np.zeros((N, C, H, W), dtype=dtype) if direct else np.empty((N, C, H, W), dtype=dtype)
    n0 = max(c.stop - c.start for c in chunks)
    dw_chunks = np.empty((len(chunks), K, F), dtype=dtype)   # each chunk's share, transposed
    db_chunks = np.empty((len(chunks), F), dtype=dtype)

    def work(tasks):
        """dx[chunk] (if needed), dw_chunks[i] and db_chunks[i] for the
        chunks one thread takes; its scratch buffers are its own."""
        if kept_cols is None:
            gather = _gatherer(x, dtype, n0, HH, WW, H_out, W_out, stride, pad, dilation)
            cols = np.empty((n0, C, HH, WW, H_out, W_out), dtype=dtype)
        cols_2d = (kept_cols if kept_cols is not None else cols).reshape(
            -1, K, H_out * W_out)
        dw_parts = np.empty((n0, K, F), dtype=dtype)
        if need_dx and wide:
            g_wide = np.zeros((n0, F, H_out, Wp), dtype=dtype)
            # one spare row: the last taps' runs end (WW-1)*Dl elements past Hp*Wp
            dxp = np.empty((n0, C, (Hp + 1) * Wp), dtype=dtype)
            interior = dxp.reshape(n0, C, Hp + 1, Wp)[:, :, pad:pad + H, pad:pad + W]
            # tap rows with `front` zeros either side
            rows = np.zeros((n0, K, front + L + front), dtype=dtype)
        elif need_dx:
            dcols = np.empty((n0, C, HH, WW, L), dtype=dtype)
            if not direct:
                dxp = np.empty((n0, C, Hp, Wp), dtype=dtype)
                interior = dxp[:, :, pad:pad + H, pad:pad + W]
        for i, chunk in tasks:
            m = chunk.stop - chunk.start
            if kept_cols is None:
                gather(chunk, cols[:m])
                cols_m = cols_2d[:m]
            else:
                cols_m = cols_2d[chunk]
            np.matmul(cols_m, g[chunk].transpose(0, 2, 1), out=dw_parts[:m])
            dw_parts[:m].sum(axis=0, out=dw_chunks[i])
            g[chunk].sum(axis=(0, 2), out=db_chunks[i])
            if not need_dx:
                continue
            if wide:
                g_wide[:m, :, :, :W_out] = g[chunk].reshape(m, F, H_out, W_out)
                np.matmul(w_row.T, g_wide[:m].reshape(m, F, L),
                          out=rows[:m, :, front:front + L])
                # writes every element of dxp that the interior copy reads
                _col2im_sum_wide(rows[:m], dxp[:m], HH, WW, Wp, dilation, front)
            else:
                np.matmul(w_row.T, g[chunk], out=dcols[:m].reshape(m, K, L))
                if not direct:
                    dxp[:m] = 0
                _col2im_add(dcols[:m].reshape(m, C, HH, WW, H_out, W_out),
                            dx[chunk] if direct else dxp[:m], stride, dilation)
            if not direct:
                dx[chunk] = interior[:m]

    parallel._in_threads(work, chunks, threads)
    dw = dw_chunks.sum(axis=0).T        # in chunk order, whichever thread did which
    db = db_chunks.sum(axis=0)
    return dx, dw.reshape(w.shape), db


def _col2im_sum_wide(rows, dxp_flat, HH, WW, Wp, dilation, front):
    """Stride-1 col2im in one numpy call: the padded input gradient
    (n, C, (Hp+1)*Wp), flattened, one spare row, from every tap's run.

    ``rows`` is (n, C*HH*WW, front + L + front): the gradients of tap
    (k, l) at positions [front, front + L) of its row, zeros around them,
    ``front`` being the largest tap offset ``(HH-1)*Dl*Wp + (WW-1)*Dl``. The
    contribution of tap (k, l) to flat input position p then sits at
    ``front + p - k*Dl*Wp - l*Dl`` of its row, for every p < front + L,
    which is a strided view (n, C, HH, WW, front + L); summed over (HH, WW)
    by ``np.add.reduce``, tap by tap in row-major order (the same sums as
    HH*WW strided ``+=``, bitwise). One large call instead of HH*WW small
    ones is 1.2x faster for the whole backward pass of a 7x7 conv on one
    thread, and matters more with threads: between numpy calls a thread
    needs the GIL, and many short calls make the threads queue for it
    (measured 2x slower than serial for one example per chunk).
    """
    n, K, width = rows.shape
    sn, sr, s = rows.strides
    taps = as_strided(rows[:, :, front:], shape=(n, K // (HH * WW), HH, WW, width - front),
                      strides=(sn, HH * WW * sr, WW * sr - dilation * Wp * s,
                               sr - dilation * s, s), writeable=False)
    np.add.reduce(taps, axis=(2, 3), out=dxp_flat[:, :, :width - front])


def _col2im_add(dcols, dxp, stride, dilation):
    """Add (n, C, HH, WW, H_out, W_out) tap gradients into padded dxp."""
    HH, WW, H_out, W_out = dcols.shape[2:]
    for k in range(HH):
        top = k * dilation
        rows = slice(top, top + stride * (H_out - 1) + 1, stride)
        for l in range(WW):
            left = l * dilation
            cols = slice(left, left + stride * (W_out - 1) + 1, stride)
            dxp[:, :, rows, cols] += dcols[:, :, k, l]


# The thread settings lived here first (conv.set_num_threads(2) still works);
# they are course_lib.parallel's now.
set_num_threads = parallel.set_num_threads
get_num_threads = parallel.get_num_threads
network_pass = parallel.network_pass
