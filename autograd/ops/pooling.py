"""Max and average pooling on (N, C, H, W) arrays (see ``autograd/ops/spatial.py``'s
docstring, "Pooling", for the method: separable window reductions over strided slices,
never materialising the windows; the first maximum wins, as in PyTorch). Forward and
backward run in slabs of the batch or channels on ``autograd._parallel``'s threads where
that was measured to be faster, each slab exactly as the whole array would be computed.
"""
import numpy as np

from .. import _parallel as _par
from ..function import Function
from .spatial import (_alloc, _check_geometry, _copy_block, _memory_order, _offset, _pad,
                      _scatter_axis)


def _masked_block(g, idx, k, finite):
    """write(i, dest, add): g where offset i won (per ``idx``), 0 elsewhere. ``finite``:
    g has no inf or nan (the caller decides once for the whole array, so that slabs agree)."""
    # g·mask is exact for finite g (and branch-free, unlike np.where: ~10x faster), but
    # would turn inf into nan where the mask is 0.

    def write(i, dest, add):
        mask = _pick(idx, i, k)
        if add:
            dest += g * mask if finite else np.where(mask, g, 0)
        elif finite:
            np.multiply(g, mask, out=dest)
        else:
            dest[...] = np.where(mask, g, 0)
    return write


# ============================================================================ max pooling
class Argmax:
    """Which element won each window, kept separable: ``cols`` (N, C, Hp, OW) is the
    winning kernel column of each row segment, ``rows`` (N, C, OH, OW) the winning
    kernel row. None along an axis of kernel size 1. ``MaxPool2d`` fills in the one it
    is given (so the caller can read the indices too)."""
    __slots__ = ("cols", "rows")

    def __init__(self, cols=None, rows=None):
        self.cols, self.rows = cols, rows

    def __repr__(self):
        return "<argmax>"


def _first_max(slices, nan_aware=False, out=None, idx_out=None):
    """Elementwise max over a list of equally shaped arrays and the index of the first
    maximum (a bool array for two offsets, else uint8). With ``nan_aware`` a NaN wins
    and keeps winning, as in PyTorch. Branch-free: np.maximum for the values and
    arithmetic for the index (selects like np.where/copyto(where=) are ~20x slower).
    ``out``/``idx_out``: arrays to write the max / the index into (else new ones)."""
    if len(slices) == 1:
        if out is None:
            return slices[0], None
        out[...] = slices[0]
        return out, None
    best, idx = slices[0], None
    for k, s in enumerate(slices[1:], 1):
        take = np.greater(s, best, out=idx_out if len(slices) == 2 else None)
        if nan_aware:
            take |= np.isnan(s)
        best = np.maximum(best, s, out=out)
        if len(slices) == 2:
            return best, take
        if idx is None:
            if idx_out is None:
                idx = take.astype(np.uint8)
            else:
                idx = idx_out
                idx[...] = take
        else:  # idx = k where take, else unchanged (idx < k)
            idx += take.view(np.uint8) * (np.uint8(k) - idx)
    return best, idx


def _max_stages(xp, kernel, stride, dilation, grid, nan_aware, out=(None, None, None)):
    """Window max as a max over kernel columns, then over kernel rows (each keeping the
    first maximum: together the first one in row-major window order). ``out``: arrays
    for (max, column index, row index) to write into (else new ones)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, grid
    cm, cidx = _first_max([xp[:, :, :, _offset(j, kw, sw, dw, ow)] for j in range(kw)],
                          nan_aware, idx_out=out[1])
    out, ridx = _first_max([cm[:, :, _offset(i, kh, sh, dh, oh)] for i in range(kh)],
                           nan_aware, out=out[0], idx_out=out[2])
    return out, cidx, ridx


def _index_array(shape, order, k):
    """An uninitialised array for ``_first_max``'s index over k offsets (None for one)."""
    return None if k == 1 else _alloc(shape, order, bool if k == 2 else np.uint8)


def _max_pool(xp, kernel, stride, dilation, grid):
    """(max, column index, row index) of every window, computed in slabs of the batch
    or channels (``autograd._parallel``), each exactly as the whole would be."""
    n, c, hp, _ = xp.shape
    order = _memory_order(xp)
    out = _alloc((n, c) + tuple(grid), order, xp.dtype)
    cidx = _index_array((n, c, hp, grid[1]), order, kernel[1])
    ridx = _index_array((n, c) + tuple(grid), order, kernel[0])
    axis = _par.split_axis(xp)

    def slab(sl):
        i = _par.index(axis, sl)
        dest = tuple(None if a is None else a[i] for a in (out, cidx, ridx))
        _max_stages(xp[i], kernel, stride, dilation, grid, False, dest)
        if np.isnan(np.sum(dest[0])):  # NaN in the input: redo, letting NaN win (rare)
            _max_stages(xp[i], kernel, stride, dilation, grid, True, dest)
    _par.run(slab, xp.shape[axis], xp.nbytes + 2 * out.nbytes, "max_pool2d")
    return out, cidx, ridx


def _pick(idx, k, n):
    """Boolean mask 'offset k won' from an index array (bool for two offsets)."""
    if idx.dtype == bool:
        return idx if k == 1 else ~idx
    return idx == k


def _pool_attrs(a):
    return {key: a[key] for key in ("kernel", "stride", "padding", "dilation", "grid")}


class MaxPool2d(Function):
    """y[n, c, oh, ow] = max of the window of x (padding counts as -inf).
    forward(x, kernel, stride, padding, dilation, grid, argmax=None: an empty ``Argmax``
    that forward fills in, so that the caller can read the winners too)

    The gradient goes to the first maximum of each window (row-major order), and
    accumulates where windows overlap:  dL/dx = MaxPoolScatter(dL/dy).
    """
    backward_rule = "dL/dx[window argmax] += dL/dy"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, grid, argmax=None):
        _check_geometry("max_pool2d", x.shape, kernel, stride, padding, dilation, grid)
        xp = _pad(x, padding, value=-np.inf)
        out, cidx, ridx = _max_pool(xp, kernel, stride, dilation, grid)
        if argmax is None:
            argmax = Argmax()
        argmax.cols, argmax.rows = cidx, ridx
        ctx.argmax = argmax
        return out

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolScatter.apply(grad, argmax=ctx.argmax, input_hw=ctx.input_meta[0][0][2:],
                                    **_pool_attrs(ctx.attrs))


def _in_layout_of(g, ref):
    """g laid out in memory like ``ref`` (copied if it is not). ``ref`` is the forward's
    argmax, laid out like the pooled input, so the scatter writes dL/dx in the input's
    layout: the ops before the pool (relu's backward, a batch-last convolution's product)
    then read gradient and saved values in matching order instead of striding across
    each other. (The gradient from a flatten arrives NCHW; LeNet-5's step 54.5 -> 46.3 ms,
    one thread, CPU time.)"""
    if ref is None or g.ndim != ref.ndim:
        return g
    order = _memory_order(ref)
    if order == _memory_order(g):
        return g
    out = _alloc(g.shape, order, g.dtype)
    out[...] = g
    return out


def _route(g, idx, axis, size, kernel, stride, dilation, grid, finite, out=None):
    """Send g back along one axis to the winning kernel offset of each window."""
    a = axis - 2
    write = _copy_block(g) if idx is None else _masked_block(g, idx, kernel[a], finite)
    return _scatter_axis(write, axis, size, kernel[a], stride[a], dilation[a], grid[a], g, out)


def _pool_scatter(g, input_hw, padding, order, scatter, name):
    """dx (N, C, H, W) laid out in ``order``, in slabs of the batch or channels
    (``autograd._parallel``): ``scatter(g slab, index, out)`` returns the slab's padded
    dx, written into ``out`` (the slab of dx, or None when there is padding to crop)."""
    t, b, l, r = padding
    h, w = input_hw
    dx = _alloc(tuple(g.shape[:2]) + (h, w), order, g.dtype)
    axis = _par.split_axis(dx)
    padded = bool(t or b or l or r)

    def slab(sl):
        i = _par.index(axis, sl)
        gx = scatter(g[i], i, None if padded else dx[i])
        if padded:
            dx[i] = gx[:, :, t:t + h, l:l + w]
    _par.run(slab, dx.shape[axis], g.nbytes + 2 * dx.nbytes, name)
    return dx


class MaxPoolScatter(Function):
    """dx = each window's value sent to that window's (first) maximum, accumulated.

    forward(g (N, C, OH, OW), argmax, input_hw, kernel, stride, padding, dilation, grid)
    -> (N, C, H, W). Linear in g; its adjoint is ``MaxPoolGather``.
    """
    backward_rule = "dL/dg = dL/dy read at each window's argmax"

    @staticmethod
    def forward(ctx, g, argmax, input_hw, kernel, stride, padding, dilation, grid):
        t, b, l, r = padding
        h, w = input_hw
        rows, cols = argmax.rows, argmax.cols
        ref = rows if rows is not None else cols
        order = _memory_order(ref if ref is not None and ref.ndim == g.ndim else g)
        finite = bool(np.isfinite(np.sum(g)))  # (a finite sum means finite elements)

        def scatter(gs, i, out):
            gs = _in_layout_of(gs, None if ref is None else ref[i])
            gr = _route(gs, None if rows is None else rows[i], 2, h + t + b, kernel, stride,
                        dilation, grid, finite)
            return _route(gr, None if cols is None else cols[i], 3, w + l + r, kernel, stride,
                          dilation, grid, finite, out)
        return _pool_scatter(g, input_hw, padding, order, scatter, "max_pool2d_backward")

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return MaxPoolGather.apply(grad, argmax=a["argmax"], **_pool_attrs(a))


class MaxPoolGather(Function):
    """y = x read at each window's recorded maximum (the adjoint of MaxPoolScatter).

    forward(x (N, C, H, W), argmax, kernel, stride, padding, dilation, grid) -> (N, C, OH, OW)
    """
    backward_rule = "dL/dx[window argmax] += dL/dy"

    @staticmethod
    def forward(ctx, x, argmax, kernel, stride, padding, dilation, grid):
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, grid
        xp = _pad(x, padding)
        xr = xp
        cm = _select([xr[:, :, :, _offset(j, kw, sw, dw, ow)] for j in range(kw)], argmax.cols)
        return _select([cm[:, :, _offset(i, kh, sh, dh, oh)] for i in range(kh)], argmax.rows)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return MaxPoolScatter.apply(grad, argmax=a["argmax"], input_hw=ctx.input_meta[0][0][2:],
                                    **_pool_attrs(a))


def _select(slices, idx):
    if idx is None:
        return np.array(slices[0])
    if idx.dtype == bool:
        return np.where(idx, slices[1], slices[0])
    out = np.array(slices[0])
    for k, s in enumerate(slices[1:], 1):
        np.copyto(out, s, where=idx == k)
    return out


def max_pool_indices(argmax, input_shape, kernel, stride, padding, dilation, grid):
    """Flat indices (into each H·W plane of the unpadded (N, C, H, W) input) of the chosen
    maxima, as PyTorch's ``return_indices``: an (N, C, OH, OW) int64 array."""
    (sh, sw), (dh, dw), (oh, ow) = stride, dilation, grid
    t, _, l, _ = padding
    shape = tuple(input_shape[:2]) + (oh, ow)
    ri = 0 if argmax.rows is None else argmax.rows.astype(np.int64)
    rows = np.broadcast_to(np.arange(oh).reshape(oh, 1) * sh + ri * dh, shape)  # padded rows
    if argmax.cols is None:
        cj = 0
    else:  # the winning column of the row segment that won
        cj = np.take_along_axis(argmax.cols, rows, axis=2).astype(np.int64)
    cols = np.arange(ow) * sw + cj * dw
    return ((rows - t) * input_shape[3] + (cols - l)).astype(np.int64)


# ============================================================================ average pooling
class AvgPool2d(Function):
    """y = (sum of each zero-padded window of x) · scale, where ``scale`` is 1/divisor:
    a number, or an (OH, OW) array when windows count different numbers of elements
    (``count_include_pad=False``, ``ceil_mode``).

    dL/dx = AvgPoolScatter(dL/dy): dL/dy · scale spread evenly over each window.
    """
    backward_rule = "dL/dx[window] += dL/dy · scale (spread evenly over the window)"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, grid, scale):
        _check_geometry("avg_pool2d", x.shape, kernel, stride, padding, dilation, grid)
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, grid
        xp = _pad(x, padding)
        dtype = xp.dtype if xp.dtype.kind == "f" else np.float64
        out = _alloc(xp.shape[:2] + (oh, ow), _memory_order(xp), dtype)
        axis = _par.split_axis(xp)

        def slab(sl):  # a separable window sum of a slab of the batch or channels
            i = _par.index(axis, sl)
            xs, o = xp[i], out[i]
            cs = _sum([xs[:, :, :, _offset(j, kw, sw, dw, ow)] for j in range(kw)])
            _sum([cs[:, :, _offset(k, kh, sh, dh, oh)] for k in range(kh)], o)
            o *= np.asarray(scale, dtype=dtype)
        _par.run(slab, xp.shape[axis], xp.nbytes + out.nbytes, "avg_pool2d")
        return out

    @staticmethod
    def backward(ctx, grad):
        return AvgPoolScatter.apply(grad, input_hw=ctx.input_meta[0][0][2:],
                                    **_pool_attrs(ctx.attrs), scale=ctx.attrs["scale"])


def _sum(slices, out=None):
    if out is None:
        out = np.array(slices[0])
        if out.dtype.kind != "f":
            out = out.astype(np.float64)
    else:
        out[...] = slices[0]
    for s in slices[1:]:
        out += s
    return out


class AvgPoolScatter(Function):
    """dx = g · scale added evenly to every element of its window (the adjoint of AvgPool2d).

    forward(g (N, C, OH, OW), input_hw, kernel, stride, padding, dilation, grid, scale)
    """
    backward_rule = "dL/dg = Σ over each window of dL/dy · scale"

    @staticmethod
    def forward(ctx, g, input_hw, kernel, stride, padding, dilation, grid, scale):
        t, b, l, r = padding
        h, w = input_hw
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, grid
        sc = np.asarray(scale, dtype=g.dtype)

        def scatter(gs, i, out):
            gr = _scatter_axis(_copy_block(gs, sc), 2, h + t + b, kh, sh, dh, oh, gs)
            return _scatter_axis(_copy_block(gr), 3, w + l + r, kw, sw, dw, ow, gr, out)
        return _pool_scatter(g, input_hw, padding, _memory_order(g), scatter,
                             "avg_pool2d_backward")

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return AvgPool2d.apply(grad, **_pool_attrs(a), scale=a["scale"])
