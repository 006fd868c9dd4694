"""Sliding-window ops on (N, C, H, W) arrays: the primitives of convolution and pooling.

Geometry (per spatial axis, PyTorch's conventions): an input of size H, padded
with ``top`` rows above and ``bottom`` rows below (Hp = top + H + bottom), a
kernel of size K with dilation D (it spans D·(K-1) + 1 rows) and stride S gives

    OH = floor((Hp - D·(K-1) - 1) / S) + 1

window positions; window ``oh`` covers padded rows ``oh·S + i·D`` for i in 0..K-1.
Padding is given as ``(top, bottom, left, right)`` so that asymmetric padding
('same' with an even kernel, pooling's ``ceil_mode``) needs nothing special.

Unfold and Fold
---------------
``Unfold`` (im2col) lists every window: ``cols[n, c, i, j, oh, ow] =
xpad[n, c, oh·S + i·D, ow·S + j·D]``. The window tensor is one ``as_strided``
view of the padded input (no copying, whatever K); the only copy is the one that
lays it out contiguously for BLAS. ``Fold`` (col2im) is its adjoint: it adds
every window back where it came from,

    x[n, c, oh·S + i·D, ow·S + j·D] += cols[n, c, i, j, oh, ow],

as one strided add of a whole (N, C, OH, OW) block per kernel offset (i, j):
K·K vectorized adds, never a Python loop over output positions and never
``np.add.at``. Both maps are linear and each is the other's transpose
(<unfold(x), y> = <x, fold(y)>), so each one's backward is the other one and
second derivatives through convolution come for free.

The ``layout`` attribute picks the axis order of ``cols``:

  "nck"  (N, C, kh, kw, OH, OW)  torch's ``F.unfold`` order ((N, C·kh·kw, L) after a reshape)
  "ckn"  (C, kh, kw, N, OH, OW)  GEMM order: a (C·kh·kw, N·OH·OW) matrix, so a convolution is
                                 one matrix product W (O, C·kh·kw) @ cols, whose (O, N, OH, OW)
                                 result is NCHW after a free axis swap (no copy)
  "ckl"  (C, kh, kw, OH, OW, N)  batch-last GEMM order (long contiguous runs for the copies)
  "kcn"  (kh, kw, C, N, OH, OW)  kernel offset outermost: a (kh·kw, C·N·OH·OW) matrix, so one
                                 small matrix acting on the offsets transforms every window
                                 (Winograd's input transform, nn/winograd.py)

Pooling
-------
Max and average pooling are "unfold, then reduce over the window axes", but
reducing a K×K window factorises into a reduction over the K columns followed
by one over the K rows, so the pools never materialise the windows: they take
K strided slices per axis. ``MaxPool2d`` picks the *first* maximum in row-major
window order (max over columns keeping the first, then over rows keeping the
first, is exactly the lexicographically first maximum), like PyTorch; its
gradient goes to that element only (accumulating where windows overlap).
``MaxPoolScatter``/``MaxPoolGather`` (routing a gradient to the chosen elements,
and reading them back) are adjoint linear maps, so max pooling is twice
differentiable too; likewise ``AvgPool2d``/``AvgPoolScatter``.

Memory order: results are laid out like their inputs (a batch-last input gives a
batch-last output, as NumPy's elementwise ops do), so no op pays for a transposing
copy that the next op would undo.

The pooling ops live in ``pooling.py`` (importable from here too).

Threads: unfold's copy, fold, and the pools (forward and backward) work in slabs of the
batch or channels (whichever is outermost in memory) on ``autograd._parallel``'s threads
where that was measured to be faster; each slab runs the same NumPy calls as the whole
array would, so the results are bit-for-bit those of one thread.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import _parallel as _par
from ..function import Function

# cols axis orders, as permutations of the canonical (n, c, i, j, oh, ow)
_LAYOUTS = {
    "nck": (0, 1, 2, 3, 4, 5),
    "ckn": (1, 2, 3, 0, 4, 5),
    "ckl": (1, 2, 3, 4, 5, 0),
    "kcn": (2, 3, 1, 0, 4, 5),
}
# memory order (as a permutation of NCHW) of the padded buffer that matches each layout,
# so that copies and adds run along long contiguous stretches
_BUFFER_ORDER = {"nck": (0, 1, 2, 3), "ckn": (1, 0, 2, 3), "ckl": (1, 2, 3, 0),
                 "kcn": (1, 0, 2, 3)}


def out_size(size, kernel, stride, pad_lo, pad_hi, dilation):
    """Number of window positions along one axis (floor division, as PyTorch)."""
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1


def grid_of(shape, kernel, stride, padding, dilation):
    """(OH, OW) for an (N, C, H, W) shape."""
    return (out_size(shape[2], kernel[0], stride[0], padding[0], padding[1], dilation[0]),
            out_size(shape[3], kernel[1], stride[1], padding[2], padding[3], dilation[1]))


def _check_geometry(op, shape, kernel, stride, padding, dilation, grid):
    """Every window must lie inside the padded plane."""
    if len(shape) != 4:
        raise ValueError(f"{op}: expected a 4-D (N, C, H, W) array, got shape {tuple(shape)}")
    for axis, (size, k, s, lo, hi, d, o) in enumerate(zip(
            shape[2:], kernel, stride, padding[0::2], padding[1::2], dilation, grid)):
        if k < 1 or s < 1 or d < 1 or lo < 0 or hi < 0:
            raise ValueError(f"{op}: kernel {tuple(kernel)}, stride {tuple(stride)} and dilation "
                             f"{tuple(dilation)} must be positive and padding {tuple(padding)} "
                             f"non-negative")
        if o < 1 or s * (o - 1) + d * (k - 1) + 1 > size + lo + hi:
            raise ValueError(f"{op}: {o} windows of size {k} (stride {s}, dilation {d}) do not fit "
                             f"in padded size {size + lo + hi} of axis {axis + 2} of input "
                             f"{tuple(shape)}")


def _memory_order(a):
    """a's axes from outermost to innermost in memory (a permutation of range(a.ndim))."""
    return tuple(sorted(range(a.ndim), key=lambda k: -abs(a.strides[k])))


def _alloc(shape, order, dtype, fill=None):
    """A new array of ``shape`` laid out in memory in axis ``order``; fill None = uninitialised."""
    mem = tuple(shape[a] for a in order)
    if fill is None:
        buf = np.empty(mem, dtype)
    else:
        buf = np.zeros(mem, dtype) if fill == 0 else np.full(mem, fill, dtype)
    return buf.transpose(np.argsort(order))


def _pad(x, padding, value=0.0, order=None, force=False):
    """x (N, C, H, W) padded by (top, bottom, left, right), as an NCHW view of a new buffer
    laid out in memory in ``order`` (default: x's own memory order). Without padding x itself
    is returned (unless ``force``: then the copy is made anyway, to get the memory order)."""
    t, b, l, r = padding
    padded = bool(t or b or l or r)
    if not (padded or force):
        return x
    n, c, h, w = x.shape
    order = _memory_order(x) if order is None else order
    xp = _alloc((n, c, h + t + b, w + l + r), order, x.dtype, value if padded else None)
    _copy_images(xp[:, :, t:t + h, l:l + w], x)
    return xp


_ALIAS_BYTES = 4096   # addresses this far apart share a set of the L1 cache (here 32 KB, 8-way)
_WAYS = 8


def _copy_images(dst, src):
    """``dst[...] = src`` for (N, ...) arrays, a few images at a time where that is faster:
    when dst is batch-last in memory (the copy reads src along N in its inner loop) and
    src's images lie a multiple of 4 KB apart, e.g. 32x32 float32 planes (CIFAR).

    Why. Then the N values the inner loop reads all fall into one set of the L1 cache, which
    holds 8 lines: with N > 8 each read evicts a line the next columns would have used, and
    every float costs a cache miss. Copying 8 images at a time keeps their lines in the
    set. Measured (float32, one thread, whole copy -> 8 at a time): (64, 3, 32, 32) into
    (C, H, W, N) memory 541 -> 118 µs, (64, 32, 32, 32) 5.9 -> 1.6 ms, (64, 1, 32, 32) 183
    -> 40 µs; unaligned planes stay one copy ((64, 20, 14, 14): 82 µs whole, 150 in 8s)."""
    n = dst.shape[0]
    batch_last = n > 1 and abs(dst.strides[0]) == min(abs(st) for st in dst.strides)
    rows = _WAYS * _ALIAS_BYTES // np.gcd(abs(src.strides[0]), _ALIAS_BYTES) if batch_last \
        else n
    if rows >= n:
        dst[...] = src
        return
    for i in range(0, n, rows):
        dst[i:i + rows] = src[i:i + rows]


def windows(xp, kernel, stride, dilation, grid):
    """The read-only (N, C, kh, kw, OH, OW) window view of a padded (N, C, Hp, Wp) array."""
    sn, sc, sh, sw = xp.strides
    n, c = xp.shape[:2]
    return as_strided(xp, shape=(n, c, kernel[0], kernel[1], grid[0], grid[1]),
                      strides=(sn, sc, sh * dilation[0], sw * dilation[1],
                               sh * stride[0], sw * stride[1]), writeable=False)


def _offset(i, k, s, d, o):
    """Slice of the padded axis touched by kernel offset i of o windows."""
    start = i * d
    return slice(start, start + s * (o - 1) + 1, s)


def _non_overlapping(k, s, d):
    """Different kernel offsets never touch the same position (so writes need no add)."""
    return d * (k - 1) < s if k > 1 else True


def _covers(size, k, s, d, o):
    """The offsets' slices together touch every position 0..size-1."""
    return d == 1 and s <= k and s * (o - 1) + k == size


def _scatter_axis(write, axis, size, k, s, d, o, like, out=None):
    """The sum over kernel offsets i of block i placed at offset slice i along ``axis``
    (the result is ``like``'s shape with ``size`` along ``axis``, and its memory order).

    ``write(i, dest, add)`` puts block i into ``dest`` (a strided view of the result),
    adding to it when ``add``. One strided write or add per offset; when the offsets'
    slices are disjoint the blocks are simply written, and the result needs no zeroing
    when they also cover it. ``out``: the result's array, if the caller has one."""
    full = list(like.shape)
    full[axis] = size
    disjoint = _non_overlapping(k, s, d)
    covered = disjoint and _covers(size, k, s, d, o)
    if out is None:
        out = _alloc(full, _memory_order(like), like.dtype, None if covered else 0)
    elif not covered:
        out[...] = 0
    index = [slice(None)] * len(full)
    for i in range(k):
        index[axis] = _offset(i, k, s, d, o)
        write(i, out[tuple(index)], not disjoint)
    return out


def _copy_block(block, scale=None):
    """write(i, dest, add): the same block (times ``scale``) for every offset."""
    def write(i, dest, add):
        if add:
            dest += block if scale is None else block * scale
        elif scale is None:
            dest[...] = block
        else:
            np.multiply(block, scale, out=dest)
    return write


# ============================================================================ unfold / fold
def _attrs(kernel, stride, padding, dilation, grid, layout):
    return dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation, grid=grid,
                layout=layout)


class Unfold(Function):
    """cols = unfold(x) (im2col): the windows of the zero-padded x, laid out as ``layout``.

    forward(x (N, C, H, W), kernel, stride, padding (top, bottom, left, right), dilation,
    grid=None (OH, OW; by default as many windows as fit), layout="nck")

    Linear in x; its adjoint is ``Fold``:  dL/dx = fold(dL/dcols).
    """
    backward_rule = "dL/dx = fold(dL/dcols)"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, grid=None, layout="nck"):
        if grid is None:
            grid = grid_of(x.shape, kernel, stride, padding, dilation)
        ctx.grid = grid
        _check_geometry("unfold", x.shape, kernel, stride, padding, dilation, grid)
        xp = _pad(x, padding, order=_BUFFER_ORDER[layout], force=layout == "ckl")
        win = windows(xp, kernel, stride, dilation, grid).transpose(_LAYOUTS[layout])
        cols = np.empty(win.shape, win.dtype)
        _par.copy_to(cols, win, "unfold")
        return cols

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        h, w = ctx.input_meta[0][0][2:]
        return Fold.apply(grad, output_size=(h, w), **_attrs(a["kernel"], a["stride"], a["padding"],
                                                             a["dilation"], ctx.grid, a["layout"]))


class Fold(Function):
    """x = fold(cols) (col2im): every window added back to its place in an
    (N, C, H, W) array (overlaps accumulate), then the padding cropped off.

    forward(cols (laid out as ``layout``), output_size (H, W), kernel, stride, padding,
    dilation, grid=None, layout="nck")

    The adjoint of ``Unfold``:  dL/dcols = unfold(dL/dx). In a convolution this is the
    input gradient: dL/dX = fold(Wᵀ · dL/dout), i.e. a full convolution of dL/dout with
    the flipped kernel.
    """
    backward_rule = "dL/dcols = unfold(dL/dx)"

    @staticmethod
    def forward(ctx, cols, output_size, kernel, stride, padding, dilation, grid=None,
                layout="nck"):
        perm = _LAYOUTS[layout]
        if cols.ndim != 6:
            raise ValueError(f"fold: expected 6-D cols in layout {layout!r}, got shape "
                             f"{cols.shape}")
        canon = cols.transpose(np.argsort(perm))  # (N, C, kh, kw, OH, OW) view
        n, c, kh, kw, oh, ow = canon.shape
        if (kh, kw) != tuple(kernel) or (grid is not None and (oh, ow) != tuple(grid)):
            raise ValueError(f"fold: cols of shape {cols.shape} (layout {layout!r}) do not match "
                             f"kernel {tuple(kernel)} and grid {grid}")
        h, w = output_size
        t, b, l, r = padding
        shape = (n, c, h, w)
        _check_geometry("fold", shape, kernel, stride, padding, dilation, (oh, ow))
        ctx.grid = (oh, ow)
        hp, wp = h + t + b, w + l + r
        sh, sw = stride
        dh, dw = dilation
        disjoint = _non_overlapping(kh, sh, dh) and _non_overlapping(kw, sw, dw)
        covered = _covers(hp, kh, sh, dh, oh) and _covers(wp, kw, sw, dw, ow)
        order = _BUFFER_ORDER[layout]
        x = _alloc(shape, order, cols.dtype)  # an NCHW view
        axis = order[0]    # N or C, whichever is outermost in memory: slabs of it

        padded, zero = bool(t or b or l or r), not (disjoint and covered)

        def slab(sl):
            c6 = canon[_par.index(axis, sl)]
            if padded:   # a padded buffer for the slab, whose inside is copied out below
                xp = _alloc(c6.shape[:2] + (hp, wp), order, cols.dtype, 0 if zero else None)
            else:
                xp = x[_par.index(axis, sl)]
                if zero:
                    xp[...] = 0
            for i in range(kh):
                rows = _offset(i, kh, sh, dh, oh)
                for j in range(kw):
                    block = xp[:, :, rows, _offset(j, kw, sw, dw, ow)]
                    if disjoint:
                        block[...] = c6[:, :, i, j]
                    else:
                        block += c6[:, :, i, j]
            if padded:
                x[_par.index(axis, sl)] = xp[:, :, t:t + h, l:l + w]
        _par.run(slab, shape[axis], cols.nbytes + 2 * x.nbytes, "fold")
        return x

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return Unfold.apply(grad, **_attrs(a["kernel"], a["stride"], a["padding"], a["dilation"],
                                           ctx.grid, a["layout"]))


# pooling lives in pooling.py (its names stay importable from here)
from .pooling import (Argmax, AvgPool2d, AvgPoolScatter, MaxPool2d,  # noqa: E402,F401
                      MaxPoolGather, MaxPoolScatter, max_pool_indices)
