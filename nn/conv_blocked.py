"""Convolution as im2col + GEMM, a block of output rows at a time (cache blocking).

Why. The plain path (``Unfold`` + ``MatMulAdd`` + ``Fold``, ``nn/functional_conv.py``)
builds the whole window matrix cols (C·kh·kw, N·OH·OW) in memory, the GEMM reads it back,
the weight gradient's GEMM reads it again, and backward writes dL/dcols, as large, only
for ``Fold`` to read it back. For LeNet's conv2 (N64 C20 14x14 O50 K5 P2) each of those
matrices is 25 MB, far past the 1 MB L2 cache: the copies run at memory speed, and so
do the GEMMs' passes over them.

What. Cut the output into blocks of output rows (``rows`` of them, chosen so that a
block's window matrix is about ``BLOCK_BYTES``) and do every step of a block while its
window matrix is still in cache, in one reused buffer:

    forward   for each block b: cols_b = windows of block b (one copy); out_b = W @ cols_b + bias
    dL/dW     for each block b: cols_b again; dL/dW += dL/dout_b @ cols_bᵀ
    dL/dx     for each block b: dcols_b = Wᵀ @ dL/dout_b, added into the padded dL/dx at once

Nothing as large as cols is ever stored: rebuilding a block's windows from the input
costs less than writing and reading back the whole matrix (and saves its 25 MB). The
three maps are ``Conv2dBlocked`` (y = conv(x, W)), ``ConvInputGrad`` (dx = convᵀ(g, W),
col2im of Wᵀ·g) and ``ConvWeightGrad`` (dW = g · unfold(x)ᵀ). Each is linear in each
argument and their adjoints are each other, so backward is built from them and second
derivatives work as on the plain path:

    y  = conv(x, W):        dL/dx = convᵀ(dL/dy, W),   dL/dW = convW(dL/dy, x)
    dx = convᵀ(g, W):       dL/dg = conv(dL/ddx, W),   dL/dW = convW(g, dL/ddx)
    dW = convW(g, x):       dL/dg = conv(x, dL/ddW),   dL/dx = convᵀ(g, dL/ddW)

Memory layout: batch last, as the plain path's "ckl" layout (``autograd/ops/spatial.py``):
the padded input (C, Hp, Wp, N), a block's windows (C, kh, kw, rows, OW, N) (with stride
1 the copies run along OW·N contiguous elements), the output (O, OH, OW, N), returned as
an NCHW view.

Measured (``benchmarks/bench_nn.py``, float32, fwd+bwd, one thread, CPU time, the code
before and after in the same session): LeNet's conv2 (N64 C20 14x14 O50 K5 P2) 31-35 ->
25.5-26.2 ms (min), 73-79% -> 98% of the GEMM-only bound (the three GEMMs alone on
prebuilt matrices, 25-26 ms), 0.82-0.84x PyTorch (was 1.0-1.08x); at two threads 22.1 ->
16.7 ms (both paths' min of 9, wall clock, interleaved); the LeNet-5 step 50.8 -> 42.9
ms (0.93x -> 0.81x PyTorch), its peak memory 65 -> 23 MiB. Of the gain, the col2im in
long runs (``_fold_rows``) is 1.6-2 ms (A/B against ``_fold_blocks``, one row per block:
28.5-28.9 -> 26.9-27.1 ms min, 2 x 25 interleaved calls), the blocking itself (copies
and GEMMs in cache) the rest: the blocks' GEMMs run at or below the bound's (7.3 vs 8.3
ms forward). Elsewhere it ties the plain path (3x3 layers on 7x7 to 14x14 outputs,
0.98-1.0x; wide outputs with 3x3 kernels 0.9-1.1x, noisy), while 5x5 kernels gain at any
width (0.57-0.95x, see ``choose``), hence ``choose``. (Tried: blocks of 2 rows
instead of 1: a tie, of 4 rows: 3-8% slower; dL/dx as a convolution of the padded dL/dy
with the flipped kernel, an im2col of dL/dy instead of a col2im: 9.4 vs 9.9 ms, but the
col2im in long runs beat both at 8.7 ms.)
"""
import numpy as np

from autograd import _blas
from autograd import _parallel as _par
from autograd.function import Function
from autograd.ops import spatial as S
from nn import winograd as _winograd

BLOCK_BYTES = 1 << 20   # target size of a block's window matrix: the L2 cache (1 MB here;
# L3 32 MB). LeNet's conv2 runs one output row (1.8 MB) per block either way (blocks of 2
# rows tie, of 4 are slower); smaller layers gain from blocks that fit: PyTorch's CIFAR
# tutorial conv 3->6 (64, 3, 32, 32) fwd+bwd 4.95 -> 3.36 ms at 1 thread (1 row per block,
# was 3), 5.35 -> 3.90 ms at 2; its whole step 8.95-9.23 -> 7.42-7.55 ms (1 thread) and
# 9.03-9.55 -> 8.07-8.14 ms (2); 5x5 layers with 8-64 channels tie (0.98-1.02), LeNet-5's
# step ties (1.00), a few small layers gain 4-8% (measured against 2 MB, interleaved)
_ORDER = (1, 2, 3, 0)   # batch-last memory order of NCHW arrays: (C, H, W, N)


def rows_per_block(x_shape, w_shape, grid, itemsize):
    """Output rows per block: a window matrix of about ``BLOCK_BYTES``."""
    ckk = x_shape[1] * w_shape[2] * w_shape[3]
    return int(max(1, min(grid[0], BLOCK_BYTES // (ckk * grid[1] * x_shape[0] * itemsize))))


def choose(x_shape, w_shape, stride, groups, grid, itemsize):
    """True to run the blocked path: ungrouped, stride 1 along the width (long contiguous
    runs in the batch-last copies), a batch of at least 8, and either a kernel of 5x5 or
    more, or narrow outputs (OW < 16) with a whole window matrix past the caches' share it
    would get (> 8 MB); elsewhere the plain path was as fast or faster.

    Measured (fwd+bwd, float32, time vs the plain path at 1 / 2 threads): 5x5 kernels at
    any width, batch 64 unless said: C1->O20 28x28 (LeNet's conv1) 0.88/0.80, C3->O6 32x32
    (PyTorch's CIFAR tutorial) 0.88/0.91, C6->O16 14x14 0.95/1.00, C8->O16 28x28 0.69/0.57,
    C16->O32 32x32 0.77/0.77, C32->O32 0.72/0.83, N32 C64->O64 28x28 0.91/0.94, N16 C3
    64x64 0.85/0.73, N8 C3 32x32 0.85/0.88, but C3->O16 32x32 1.04/1.10; 3x3 kernels with
    few channels (those with 5 or more run Winograd) lose: C3->O32 32x32 1.67/1.05, C1->O32
    28x28 1.16/1.18, C4->O16 1.51/1.10."""
    ckk = x_shape[1] * w_shape[2] * w_shape[3]
    big = ckk * x_shape[0] * grid[0] * grid[1] * itemsize > 8 << 20
    wide_kernel = w_shape[2] * w_shape[3] >= 25
    return (groups == 1 and stride[1] == 1 and x_shape[0] >= 8 and grid[0] > 1
            and (wide_kernel or (grid[1] < 16 and big)))


def use(algorithm, x_shape, w_shape, stride, groups, grid, dtype):
    """Run the blocked path? ``algorithm`` (None = the ``conv_algorithm`` in force):
    "blocked" forces it (ungrouped convolutions only), "auto" asks ``choose`` (float32 and
    float64), anything else is another path."""
    algorithm = _winograd._DEFAULT[0] if algorithm is None else algorithm
    if algorithm == "blocked":
        if groups != 1:
            raise ValueError(f"conv2d: algorithm='blocked' needs groups=1, got groups={groups}")
        return True
    return (algorithm == "auto" and np.dtype(dtype) in (np.float32, np.float64)
            and choose(x_shape, w_shape, stride, groups, grid, np.dtype(dtype).itemsize))


def _blocks(oh, rows):
    return [(s, min(oh, s + rows)) for s in range(0, oh, rows)]


def _groups(n):
    """The items 0..n-1 cut into consecutive groups, one thread's work each (see
    ``_in_slabs``); the cut depends only on n and the configured thread count, so results
    are the same whether the groups ran on one thread or on several."""
    g = max(1, min(n, max(2, _blas.max_threads())))
    return [(n * k // g, n * (k + 1) // g) for k in range(g)]


def _in_slabs(fn, n, nbytes, name):
    """``fn(slice)`` over slices covering range(n): on ``autograd._parallel``'s threads
    where that was measured to be faster, with BLAS on one thread inside each slab (the
    slabs are the threads; see ``_blas._split_matmul`` for why not OpenBLAS's own), and
    BLAS's thread count put back afterwards."""
    many = _par.threads()
    if many <= 1 and not _par.is_forced():
        fn(slice(0, n))
        return

    def slab(sl):
        _blas.set_threads(1)
        fn(sl)
    try:
        _par.run(slab, n, nbytes, name)
    finally:
        _blas.set_threads(many)


def _windows(x, kernel, stride, padding, dilation, grid):
    """The (C, kh, kw, OH, OW, N) window view of x zero-padded into batch-last memory."""
    xp = S._pad(x, padding, order=_ORDER, force=True)   # NCHW view of (C, Hp, Wp, N) memory
    return S.windows(xp, kernel, stride, dilation, grid).transpose(1, 2, 3, 4, 5, 0)


def _block_buffer(ckk, rows, ow, n, dtype):
    """A reusable (C·kh·kw, rows·OW·N) buffer and, for a block of r rows, its view."""
    buf = np.empty((ckk, rows * ow * n), dtype)
    return lambda r: buf[:, :r * ow * n]


def _grad_rows(g):
    """dL/dout (N, O, OH, OW) as (O, OH, OW, N) (a view) and, per block, its (O, r·OW·N)
    matrix (a view when g is batch-last in memory, else a copy of that block only; one
    transposing copy of the whole g up front instead measured no faster)."""
    g4 = g.transpose(1, 2, 3, 0)
    o = g4.shape[0]
    return lambda s, e: g4[:, s:e].reshape(o, -1)


def _geometry(ctx):
    """The geometry attributes a node of these three ops passes on to the others."""
    a = ctx.attrs
    return dict(stride=a["stride"], padding=a["padding"], dilation=a["dilation"],
                grid=a["grid"], rows=a["rows"])


class Conv2dBlocked(Function):
    """y = conv2d(x, weight) + bias, im2col + GEMM one block of output rows at a time.

    forward(x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or absent; stride, padding
    (top, bottom, left, right), dilation, grid (OH, OW), rows (output rows per block))
    """
    backward_rule = ("dL/dx = ConvInputGrad(dL/dy, W),  dL/dW = ConvWeightGrad(dL/dy, x),  "
                     "dL/dbias = Σ_{n,h,w} dL/dy")

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding, dilation, grid, rows):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(x if needs[1] else None, weight if needs[0] else None)
        n = x.shape[0]
        o, c, kh, kw = weight.shape
        oh, ow = grid
        ckk = c * kh * kw
        win = _windows(x, (kh, kw), stride, padding, dilation, grid)
        w2 = weight.reshape(o, ckk)
        dtype = np.result_type(x, weight)
        out = np.empty((o, oh * ow * n), dtype)   # (O, OH, OW, N) in memory
        b2 = None if bias is None else bias.reshape(o, 1)
        blocks = _blocks(oh, rows)

        def slab(sl):
            block = _block_buffer(ckk, rows, ow, n, x.dtype)
            for s, e in blocks[sl]:
                cols = block(e - s)
                cols.reshape(c, kh, kw, e - s, ow, n)[...] = win[:, :, :, s:e]
                ob = out[:, s * ow * n:e * ow * n]
                np.matmul(w2, cols, out=ob)
                if b2 is not None:
                    ob += b2
        _in_slabs(slab, len(blocks), ckk * oh * ow * n * x.itemsize, "conv_blocked_y")
        return out.reshape(o, oh, ow, n).transpose(3, 0, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        geo = _geometry(ctx)
        gx = gw = gb = None
        if needs[0]:
            gx = ConvInputGrad.apply(grad, weight, size=tuple(ctx.input_meta[0][0][2:]), **geo)
        if needs[1]:
            gw = ConvWeightGrad.apply(grad, x, kernel=tuple(ctx.input_meta[1][0][2:]), **geo)
        if len(needs) == 2:
            return gx, gw
        if needs[2]:
            gb = grad.sum((0, 2, 3))
        return gx, gw, gb


def _fold_block(gp, dcols, s, stride, dilation):
    """Add a block's dcols (C, kh, kw, r, OW, N) (output rows s..s+r) into the padded
    gradient gp (C, Hp, Wp, N): one strided add per kernel column and output row when the
    block has fewer rows than the kernel (each covers all kernel rows), else per offset."""
    _, kh, kw, r, ow, _ = dcols.shape
    sh, sw = stride
    dh, dw = dilation
    cols = [slice(j * dw, j * dw + sw * (ow - 1) + 1, sw) for j in range(kw)]
    if r < kh:
        for q in range(r):
            top = (s + q) * sh
            rows = slice(top, top + dh * (kh - 1) + 1, dh)
            for j in range(kw):
                gp[:, rows, cols[j]] += dcols[:, :, j, q]
    else:
        for i in range(kh):
            rows = slice(s * sh + i * dh, s * sh + i * dh + sh * (r - 1) + 1, sh)
            for j in range(kw):
                gp[:, rows, cols[j]] += dcols[:, i, j]


def _fold_rows(gp, weight, grows, blocks, shape, stride, dilation):
    """col2im of Wᵀ @ g for the output rows of ``blocks`` (one row each), added into gp
    (C, rows·Wp·N + slack): padded rows of dx (batch last, each channel's rows flat) from
    the first one the blocks touch; stride 1 along the width, no dilation along the height.

    A row's dcols is written with its rows in (c, j, i) order (weight columns permuted)
    and each row padded with zeros to the padded width Wp·N. Then the kh rows of one
    (c, j) are one contiguous run of kh·Wp·N numbers that lands on one contiguous run of
    the padded plane (rows s·sh .. s·sh+kh-1, shifted j·dw·N): kw adds of (C, kh·Wp·N)
    per output row instead of kh·kw adds of (C, OW·N). The zeros land in the padding
    columns (or, past a row's end, at the start of the next row or in the slack of
    (kw-1)·dw·N at the end of each channel's plane), where they change nothing."""
    o, c, kh, kw = weight.shape
    n, wp, ow = shape
    sh, dw = stride[0], dilation[1]
    run = wp * n
    wt = weight.transpose(1, 3, 2, 0).reshape(c * kw * kh, o)   # rows in (c, j, i) order
    dcols = np.zeros((c * kw * kh, run), gp.dtype)               # zero-padded rows
    d3 = dcols.reshape(c, kw, kh * run)
    for s, _ in blocks:
        np.matmul(wt, grows(s, s + 1), out=dcols[:, :ow * n])
        top = (s - blocks[0][0]) * sh * run
        for j in range(kw):
            gp[:, top + j * dw * n:top + j * dw * n + kh * run] += d3[:, j]


def _fold_blocks(gp, weight, grows, blocks, shape, stride, dilation):
    """col2im of Wᵀ @ g for ``blocks`` of output rows, added into gp (as ``_fold_rows``),
    for any stride and dilation: one GEMM per block, then ``_fold_block``."""
    o, c, kh, kw = weight.shape
    n, wp, ow = shape
    g4 = gp[:, :gp.shape[1] // (wp * n) * wp * n].reshape(c, -1, wp, n)   # (slack unused)
    wt = weight.reshape(o, c * kh * kw).T
    rows = max(e - s for s, e in blocks)
    block = _block_buffer(c * kh * kw, rows, ow, n, gp.dtype)
    for s, e in blocks:
        dcols = block(e - s)
        np.matmul(wt, grows(s, e), out=dcols)
        _fold_block(g4, dcols.reshape(c, kh, kw, e - s, ow, n), s - blocks[0][0], stride,
                    dilation)


class ConvInputGrad(Function):
    """dx = convᵀ(g, W): the gradient of a convolution with respect to its input, col2im of
    Wᵀ @ g, one output row at a time (a row's dcols is added into the padded result while
    still in cache). Linear in g and in W:

        dL/dg = conv(dL/ddx, W)      dL/dW = ConvWeightGrad(g, dL/ddx)

    forward(g (N, O, OH, OW), weight (O, C, kh, kw); size (H, W) of x, stride, padding,
    dilation, grid, rows)

    The col2im adds (see ``_fold_rows``) are few and long: NumPy spends ~0.2 µs per
    contiguous run of a strided add, and done one kernel offset at a time the runs are
    only OW·N long (LeNet conv2: 7,000 runs of 896 floats, ~3.3 ms of the 3.5).
    """
    backward_rule = "dL/dg = conv(dL/ddx, W),  dL/dW = ConvWeightGrad(g, dL/ddx)"

    @staticmethod
    def forward(ctx, g, weight, *, size, stride, padding, dilation, grid, rows):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(g if needs[1] else None, weight if needs[0] else None)
        n = g.shape[0]
        o, c, kh, kw = weight.shape
        oh, ow = grid
        h, w = size
        t, b, l, r = padding
        hp, wp = h + t + b, w + l + r
        ckk = c * kh * kw
        dtype = np.result_type(g, weight)
        grows = _grad_rows(g)
        flat = stride[1] == 1 and dilation[0] == 1
        fold = _fold_rows if flat else _fold_blocks
        blocks = [(s, s + 1) for s in range(oh)] if flat else _blocks(oh, rows)
        run = wp * n
        slack = (kw - 1) * dilation[1] * n if flat else 0
        # Each group of blocks adds into its own padded rows of dx (neighbouring rows'
        # windows overlap): the first group into the result, the others into buffers of
        # the rows they touch, summed in at the end.
        groups = _groups(len(blocks))
        spans = []   # per group: its blocks, and the padded rows they touch
        for a, b in groups:
            lo = blocks[a][0] * stride[0]
            hi = min(hp, (blocks[b - 1][1] - 1) * stride[0] + (kh - 1) * dilation[0] + 1)
            spans.append((blocks[a:b], lo, hi))
        sums = [np.zeros((c, hp * run + slack), dtype)] + [None] * (len(groups) - 1)

        def slab(sl):
            for k in range(sl.start, sl.stop):
                part, lo, hi = spans[k]
                if sums[k] is None:
                    sums[k] = np.zeros((c, (hi - lo) * run + slack), dtype)
                fold(sums[k], weight, grows, part, (n, wp, ow), stride, dilation)
        _in_slabs(slab, len(groups), ckk * oh * ow * n * g.itemsize, "conv_blocked_dx")
        gp = sums[0]
        for k in range(1, len(groups)):
            _, lo, hi = spans[k]
            gp[:, lo * run:hi * run] += sums[k][:, :(hi - lo) * run]
        dx = S._alloc((n, c, h, w), _ORDER, dtype)
        dx.transpose(_ORDER)[...] = gp[:, :hp * run].reshape(c, hp, wp, n)[:, t:t + h, l:l + w]
        return dx

    @staticmethod
    def backward(ctx, grad):
        g, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        geo = _geometry(ctx)
        gg = Conv2dBlocked.apply(grad, weight, **geo) if needs[0] else None
        gw = (ConvWeightGrad.apply(g, grad, kernel=tuple(ctx.input_meta[1][0][2:]), **geo)
              if needs[1] else None)
        return gg, gw


class ConvWeightGrad(Function):
    """dW = convW(g, x) = g @ unfold(x)ᵀ: the gradient of a convolution with respect to its
    weight, one block of output rows at a time (the block's windows are rebuilt from x and
    used while in cache). Linear in g and in x:

        dL/dg = conv(x, dL/ddW)      dL/dx = ConvInputGrad(g, dL/ddW)

    forward(g (N, O, OH, OW), x (N, C, H, W); kernel (kh, kw), stride, padding, dilation,
    grid, rows)
    """
    backward_rule = "dL/dg = conv(x, dL/ddW),  dL/dx = ConvInputGrad(g, dL/ddW)"

    @staticmethod
    def forward(ctx, g, x, *, kernel, stride, padding, dilation, grid, rows):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(g if needs[1] else None, x if needs[0] else None)
        n, c = x.shape[:2]
        o = g.shape[1]
        kh, kw = kernel
        oh, ow = grid
        ckk = c * kh * kw
        dtype = np.result_type(g, x)
        win = _windows(x, kernel, stride, padding, dilation, grid)
        grows = _grad_rows(g)
        blocks = _blocks(oh, rows)
        groups = _groups(len(blocks))
        sums = [None] * len(groups)   # dL/dWᵀ (C·kh·kw, O) over each group's blocks

        def slab(sl):
            block = _block_buffer(ckk, rows, ow, n, x.dtype)
            for k in range(sl.start, sl.stop):
                part = None
                for s, e in blocks[groups[k][0]:groups[k][1]]:
                    cols = block(e - s)
                    cols.reshape(c, kh, kw, e - s, ow, n)[...] = win[:, :, :, s:e]
                    if sums[k] is None:
                        sums[k] = np.matmul(cols, grows(s, e).T)
                        part = np.empty_like(sums[k])
                    else:
                        np.matmul(cols, grows(s, e).T, out=part)
                        sums[k] += part
        _in_slabs(slab, len(groups), ckk * oh * ow * n * x.itemsize, "conv_blocked_dw")
        dwt = sums[0]
        for more in sums[1:]:
            dwt += more
        return np.ascontiguousarray(dwt.T, dtype).reshape(o, c, kh, kw)

    @staticmethod
    def backward(ctx, grad):
        g, x = ctx.saved_tensors
        needs = ctx.needs_input_grad
        geo = _geometry(ctx)
        gg = Conv2dBlocked.apply(x, grad, **geo) if needs[0] else None
        gx = (ConvInputGrad.apply(g, grad, size=tuple(ctx.input_meta[1][0][2:]), **geo)
              if needs[1] else None)
        return gg, gx
