"""A3 check specs, part 1: the naive convolution and max pooling.

Shapes: N batch, C channels, H x W inputs, F filters, HH x WW filters or
pooling windows. Each backward item calls the student's backward on the
cache of the student's *own* forward pass (:class:`StudentCall`), so the
two may share any cache layout. ``LAYER_ITEMS`` are the items;
:mod:`course_lib.grading.specs.a3` assembles the assignment.
"""
import numpy as np

from course_lib.conv import conv_backward_naive, conv_forward_naive, conv_output_size
from course_lib.pooling import max_pool_backward_naive, max_pool_forward_naive

from ..spec import Call, Case, Check, Item, StudentCall, Variant

__all__ = ["LAYER_ITEMS", "LAYER_REFERENCES", "FAST_LAYERS", "own_code_check"]

#: course_lib functions the notebook may use elsewhere but not in a naive layer
FAST_LAYERS = ("conv_forward_fast", "conv_backward_fast", "max_pool_forward_fast",
               "max_pool_backward_fast")


# ---- "written by you": no provided fast layer inside a naive one ----------

def _fast_layer_use(analysis, func, seen=None):
    """``(cell, line, name)`` of the first fast layer ``func`` (or a student
    function it calls) refers to, or None."""
    import ast
    seen = set() if seen is None else seen
    if func in seen:
        return None
    seen.add(func)
    for stmt in analysis.definitions(func):
        for node in ast.walk(stmt.node):
            name = node.id if isinstance(node, ast.Name) else \
                node.attr if isinstance(node, ast.Attribute) else None
            if name in FAST_LAYERS:
                return stmt.cell, getattr(node, "lineno", 0), name
        for used in sorted(stmt.uses):
            if used != func and analysis.defined(used):
                found = _fast_layer_use(analysis, used, seen)
                if found:
                    return found
    return None


def _own_code(analysis, item):
    if not analysis.defined(item.func):
        # no source to read: the in-kernel mode (stock nbgrader), or a cell
        # that failed to parse, whose value checks fail on their own
        return True, ""
    found = _fast_layer_use(analysis, item.func)
    if found is not None:
        cell, line, name = found
        return False, (f"{item.func} calls the provided {name} (cell '{cell}', line {line}); "
                       "this item asks for your own loops, so none of its points count")
    if not analysis.loops(item.func):
        return False, (f"{item.func} has no loop yet: this item asks for the naive version, "
                       "written with loops")
    return True, ""


def own_code_check(requires=()):
    """1 point for a naive layer written with loops and without the provided
    fast layers; the item's value checks require it, so calling a fast layer
    in its place scores 0 for the item. It requires the item's first value
    check in turn: loops that compute a wrong answer earn nothing."""
    return Check("written with your own loops", 1, kind="static", judge=_own_code,
                 requires=requires)


def _checks(*value_checks):
    """Value checks that each need the own-code check, then that check
    (which needs the first value check: static checks are judged after the
    value checks, on their results before this gating)."""
    gated = tuple(Check(c.name, c.points, c.output, c.kind, c.cases, c.rtol, c.judge,
                        ("written with your own loops",)) for c in value_checks)
    return gated + (own_code_check(requires=(value_checks[0].name,)),)


# ---- convolution ------------------------------------------------------------

def _conv_forward_ref(x, w, b, stride=1, pad=0):
    return conv_forward_naive(x, w, b, stride=stride, pad=pad)


def _conv_geometries():
    """(description, N, C, H, W, F, HH, WW, stride, pad) of the hidden conv cases."""
    return (
        ("basic", "5x5 filters, stride 1, pad 2 (N=2, C=3, 7x7 inputs, F=4)",
         2, 3, 7, 7, 4, 5, 5, 1, 2),
        ("stride2_pad", "stride 2 with pad 1 on non-square 7x9 inputs", 2, 2, 7, 9, 3, 3, 3, 2, 1),
        ("nonsquare_filter", "non-square 3x5 filters on 6x8 inputs, pad 1", 3, 2, 6, 8, 4, 3, 5, 1, 1),
        ("batch_1", "a single input (N=1), stride 2, pad 2, 5x5 inputs", 1, 3, 5, 5, 2, 3, 3, 2, 2),
        ("pad_0", "no padding (pad 0), 3x3 filters on 6x7 inputs", 2, 3, 6, 7, 3, 3, 3, 1, 0),
        # centred differences would need 2 * (3,072 + 216) naive forward passes
        ("size", "a larger batch (N=4, C=3, 16x16 inputs, 8 3x3 filters, pad 1)",
         4, 3, 16, 16, 8, 3, 3, 1, 1),
    )


def _conv_inputs(rng, N, C, H, W, F, HH, WW):
    return rng.normal(0, 1, (N, C, H, W)), rng.normal(0, 0.5, (F, C, HH, WW)), rng.normal(0, 0.5, F)


def _conv_forward_cases():
    def maker(N, C, H, W, F, HH, WW, stride, pad):
        def make(rng, ctx):
            return Call(list(_conv_inputs(rng, N, C, H, W, F, HH, WW)),
                        {"stride": stride, "pad": pad})
        return make
    return tuple(Case(name, text, maker(*geometry))
                 for name, text, *geometry in _conv_geometries())


def _conv_backward_cases():
    def maker(N, C, H, W, F, HH, WW, stride, pad):
        def make(rng, ctx):
            x, w, b = _conv_inputs(rng, N, C, H, W, F, HH, WW)
            shape = (N, F, conv_output_size(H, HH, stride, pad), conv_output_size(W, WW, stride, pad))
            cache = StudentCall("conv_forward_naive", (x, w, b), {"stride": stride, "pad": pad},
                                pick="1")
            return Call([rng.normal(0, 1, shape), cache])
        return make
    return tuple(Case(name, text, maker(*geometry))
                 for name, text, *geometry in _conv_geometries())


def _crop_forward(rows, cols):
    """The reference output missing ``rows``/``cols`` positions at the end."""
    def variant(x, w, b, stride=1, pad=0):
        out = _conv_forward_ref(x, w, b, stride, pad)[0]
        return out[:, :, :out.shape[2] - rows(x, w, stride, pad),
                   :out.shape[3] - cols(x, w, stride, pad)], None
    return variant


def _pad_once(axis):
    def lost(x, w, stride, pad):  # (H + P - HH)//S + 1 positions instead of (H + 2P - HH)//S + 1
        size, k = x.shape[axis], w.shape[axis]
        return conv_output_size(size, k, stride, pad) - ((size + pad - k) // stride + 1)
    return lost


def _conv_forward_stride_ignored(x, w, b, stride=1, pad=0):
    out = _conv_forward_ref(x, w, b, 1, pad)[0]
    H_out = conv_output_size(x.shape[2], w.shape[2], stride, pad)
    W_out = conv_output_size(x.shape[3], w.shape[3], stride, pad)
    return out[:, :, :H_out, :W_out], None


_CONV_FORWARD_VARIANTS = (
    Variant("The output is one row and one column short: the number of positions is "
            "(H + 2*pad - HH) // stride + 1 (do not forget the + 1).",
            _crop_forward(lambda *a: 1, lambda *a: 1)),
    Variant("The output size counts the padding once: pad adds pad rows on each side, so "
            "the padded height is H + 2*pad, and H_out = (H + 2*pad - HH) // stride + 1.",
            _crop_forward(_pad_once(2), _pad_once(3))),
    Variant("The window of output (i, j) must start at row i*stride and column j*stride; "
            "yours starts at (i, j), as if the stride were 1.", _conv_forward_stride_ignored),
    Variant("You flipped the filter (true convolution). CNN layers compute a cross-correlation: "
            "out[n, f, i, j] = sum of w[f] * window, no flipping.",
            lambda x, w, b, stride=1, pad=0: _conv_forward_ref(
                x, w[:, :, ::-1, ::-1], b, stride, pad)),
    Variant("The bias b[f] is missing from the output.",
            lambda x, w, b, stride=1, pad=0: _conv_forward_ref(x, w, 0 * b, stride, pad)),
)


def _conv_backward_variant(stride_used=True, dw_mode="sum", db_axes=(0, 2, 3), crop=True):
    """conv backward with one known bug (loops in the order of the notebook)."""
    def variant(dout, cache):
        x, w, b, stride, pad = cache[:5]
        N, C, H, W = x.shape
        F, _, HH, WW = w.shape
        step = stride if stride_used else 1
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for n in range(N):
            if dw_mode == "last":
                dw = np.zeros_like(w)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows = slice(i * step, i * step + HH)
                    cols = slice(j * step, j * step + WW)
                    g = dout[n, :, i, j]                                 # (F,)
                    dxp[n, :, rows, cols] += np.tensordot(g, w, axes=(0, 0))
                    dw += g[:, None, None, None] * xp[n, :, rows, cols]
        if dw_mode == "mean":
            dw = dw / N
        dx = dxp[:, :, pad:pad + H, pad:pad + W] if crop else dxp
        return dx, dw, dout.sum(axis=db_axes)
    return variant


_DB_HINT = ("db must add dout over the batch and both spatial axes, one value per filter: "
            "dout.sum(axis=(0, 2, 3)); ")
_CONV_BACKWARD_VARIANTS = (
    Variant("The stride is ignored in your backward pass: the window of output (i, j) starts "
            "at (i*stride, j*stride), in the backward pass as in the forward pass.",
            _conv_backward_variant(stride_used=False), checks=("dx", "dw")),
    Variant("dw holds only the last sample's contribution: it is reset inside the loop over "
            "the batch. Create it once and add the contribution of every sample.",
            _conv_backward_variant(dw_mode="last"), checks=("dw",)),
    Variant("dw is averaged over the batch: the 1/N of the mean loss is already in dout, so "
            "sum the contributions of the samples.", _conv_backward_variant(dw_mode="mean"),
            checks=("dw",)),
    Variant(_DB_HINT + "yours sums over axes (1, 2, 3).",
            _conv_backward_variant(db_axes=(1, 2, 3)), checks=("db",)),
    Variant(_DB_HINT + "yours sums over the spatial axes only.",
            _conv_backward_variant(db_axes=(2, 3)), checks=("db",)),
    Variant(_DB_HINT + "yours sums over the batch only.",
            _conv_backward_variant(db_axes=0), checks=("db",)),
    Variant("dx still includes the padding: return the gradient of the unpadded x, "
            "dxp[:, :, pad:pad + H, pad:pad + W] (pad:-pad fails when pad is 0).",
            _conv_backward_variant(crop=False), checks=("dx",)),
)


# ---- max pooling ------------------------------------------------------------

def _pool_forward_ref(x, pool_height=2, pool_width=2, stride=2):
    return max_pool_forward_naive(x, pool_height, pool_width, stride)


def _pool_geometries():
    """(name, description, shape of x, pool_height, pool_width, stride, kind)."""
    return (
        ("2x2", "2x2 windows, stride 2, on 8x6 inputs (N=2, C=3)", (2, 3, 8, 6), 2, 2, 2, "normal"),
        ("overlap", "overlapping 3x3 windows with stride 2 (one input can be the maximum of "
         "several windows)", (2, 2, 7, 9), 3, 3, 2, "shared_max"),
        ("ties", "windows where several inputs tie for the maximum (ReLU outputs, many "
         "zeros): the first maximum in row-major order gets the gradient", (2, 3, 6, 6), 2, 2, 2,
         "ties"),
        # the window's height and width give different output sizes here, so
        # using pool_height for both dimensions cannot pass by chance
        ("nonsquare", "a single input (N=1) with non-square 2x3 windows and stride 1 on 7x8 "
         "inputs", (1, 3, 7, 8), 2, 3, 1, "normal"),
        ("tall", "non-square 3x2 windows with stride 2 on 7x6 inputs", (2, 2, 7, 6), 3, 2, 2,
         "normal"),
    )


def _pool_input(rng, shape, kind, stride):
    if kind == "ties":
        return np.maximum(rng.integers(-3, 3, shape), 0).astype(float)
    x = rng.normal(0, 1, shape)
    if kind == "shared_max":  # inputs on the shared rows/columns win all their windows
        x[:, :, stride:-1:stride, stride:-1:stride] += 10.0
    return x


def _pool_forward_cases():
    def maker(shape, ph, pw, stride, kind):
        return lambda rng, ctx: Call([_pool_input(rng, shape, kind, stride)],
                                     {"pool_height": ph, "pool_width": pw, "stride": stride})
    return tuple(Case(name, text, maker(*rest)) for name, text, *rest in _pool_geometries())


def _pool_backward_cases():
    def maker(shape, ph, pw, stride, kind):
        def make(rng, ctx):
            x = _pool_input(rng, shape, kind, stride)
            hyper = {"pool_height": ph, "pool_width": pw, "stride": stride}
            out_shape = shape[:2] + (conv_output_size(shape[2], ph, stride),
                                     conv_output_size(shape[3], pw, stride))
            return Call([rng.normal(0, 1, out_shape),
                         StudentCall("max_pool_forward_naive", (x,), hyper, pick="1")])
        return make
    return tuple(Case(name, text, maker(*rest)) for name, text, *rest in _pool_geometries())


def _pool_backward_variant(route="first", accumulate=True):
    """max-pool backward with one known bug."""
    def variant(dout, cache):
        x, ph, pw, stride = cache[:4]
        dx = np.zeros_like(x)
        N, C, H_out, W_out = dout.shape
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        top, left = i * stride, j * stride
                        window = x[n, c, top:top + ph, left:left + pw]
                        g = dout[n, c, i, j]
                        if route == "all":
                            share = np.full(window.shape, g)
                        elif route == "mean":
                            share = np.full(window.shape, g / window.size)
                        elif route == "ties":
                            share = (window == window.max()) * g
                        else:
                            flat = window.ravel()
                            k = np.argmax(flat) if route == "first" else \
                                len(flat) - 1 - np.argmax(flat[::-1])
                            share = np.zeros(window.size)
                            share[k] = g
                            share = share.reshape(window.shape)
                        target = dx[n, c, top:top + ph, left:left + pw]
                        if accumulate:
                            target += share
                        else:
                            target[share != 0] = share[share != 0]
        return dx
    return variant


_POOL_FORWARD_VARIANTS = (
    Variant("pool_height and pool_width are swapped: windows are pool_height rows by "
            "pool_width columns.",
            lambda x, pool_height=2, pool_width=2, stride=2: _pool_forward_ref(
                x, pool_width, pool_height, stride)),
    Variant("These are averages: max pooling keeps the largest value of each window.",
            lambda x, pool_height=2, pool_width=2, stride=2: (
                _avg_pool(x, pool_height, pool_width, stride), None)),
)


def _avg_pool(x, ph, pw, stride):
    from course_lib.pooling import avg_pool_forward
    return avg_pool_forward(x, ph, pw, stride)[0]


_POOL_BACKWARD_VARIANTS = (
    Variant("The gradient goes to every input of the window; max pooling passes it only to "
            "the input that was the maximum.", _pool_backward_variant("all")),
    Variant("The gradient is spread evenly over the window (that is average pooling's "
            "gradient); max pooling passes all of it to the maximum.",
            _pool_backward_variant("mean")),
    Variant("On overlapping windows an input can be the maximum of several windows and must "
            "receive the sum of their gradients: use dx[...] += ..., not =.",
            _pool_backward_variant(accumulate=False)),
    Variant("When several inputs tie for the maximum, your gradient goes to all of them; give "
            "it only to the first one in row-major order (np.argmax does).",
            _pool_backward_variant("ties")),
    Variant("When several inputs tie for the maximum, your gradient goes to the last one; the "
            "rule is the first one in row-major order (np.argmax).",
            _pool_backward_variant("last")),
)


# ---- the items ----------------------------------------------------------------

LAYER_REFERENCES = {
    "conv_forward_naive": _conv_forward_ref,
    "max_pool_forward_naive": _pool_forward_ref,
}

LAYER_ITEMS = (
    Item("a3.conv_forward_naive", "conv_forward_naive", "conv_forward_naive",
         _conv_forward_cases(), _checks(Check("out", 3, "0")),
         reference=_conv_forward_ref, variants=_CONV_FORWARD_VARIANTS),
    Item("a3.conv_backward_naive", "conv_backward_naive", "conv_backward_naive",
         _conv_backward_cases(),
         _checks(Check("dx", 2, "0"), Check("dw", 2, "1"), Check("db", 1, "2")),
         reference=conv_backward_naive, variants=_CONV_BACKWARD_VARIANTS,
         depends=("a3.conv_forward_naive",)),
    Item("a3.max_pool_forward_naive", "max_pool_forward_naive", "max_pool_forward_naive",
         _pool_forward_cases(), _checks(Check("out", 2, "0")),
         reference=_pool_forward_ref, variants=_POOL_FORWARD_VARIANTS),
    Item("a3.max_pool_backward_naive", "max_pool_backward_naive", "max_pool_backward_naive",
         _pool_backward_cases(), _checks(Check("dx", 2, "")),
         reference=max_pool_backward_naive, variants=_POOL_BACKWARD_VARIANTS,
         depends=("a3.max_pool_forward_naive",)),
)
