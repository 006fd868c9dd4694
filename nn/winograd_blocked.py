"""Winograd F(4x4, 3x3) a few images at a time, in cache (cache blocking).

Why. The composite Winograd convolution (``nn/winograd.py``) runs each step on the whole
batch: the tiles V = (Bᵀ⊗Bᵀ)·d of the MNIST example's conv2 (N64 C32 26x26 -> O64) are a
10.6 MB array, the products M = U @ V and the gradients dL/dM are as large or larger,
and every one of them is written to memory by one step and read back by the next. The
transform products (36x36 or 16x36 matrices against those arrays) then run at memory
speed, 14-40 GFLOP/s where the same products on data in cache run at 60-80.

What. Cut the batch into blocks of a few images, each block's tiles about
``BLOCK_BYTES`` (the 1 MB L2 cache here), and do every step of a block while its tiles
are still in cache, with the same transforms and the same algebra as the composite:

    forward   for each block: d = 6x6 windows of the zero-padded images (one copy)
                              V = (Bᵀ⊗Bᵀ)·d;  M = U @ V (36 GEMMs);  Y = (Aᵀ⊗Aᵀ)·M
                              out[block] = the 4x4 tiles of Y as an image (+ bias)
    backward  for each block: dL/dY = the 4x4 tiles of dL/dout;  dL/dM = (Aᵀ⊗Aᵀ)ᵀ·dL/dY
                              dL/dU += dL/dM @ Vᵀ           (V saved by forward)
                              dL/dd = (Bᵀ⊗Bᵀ)ᵀ·(Uᵀ @ dL/dM), added into dL/dx (fold)
              dL/dweight = (G⊗G)ᵀ·dL/dU;  dL/dbias = Σ dL/dout

with U = (G⊗G)·weight as in ``nn/winograd.py`` (whose docstring derives the algorithm).
The blocks' tiles V are kept for backward (2.25x the input's size, about what the
composite keeps), so backward does not transform the input again.

On several threads the blocks are shared among ``autograd._parallel``'s threads, BLAS on
one thread inside each (as ``nn/conv_blocked.py``); dL/dU is summed per fixed group of
blocks, so the result does not depend on how many threads ran.

Second derivatives: with ``create_graph`` backward builds the gradients from the
blocked im2col maps ``ConvInputGrad`` and ``ConvWeightGrad`` (``nn/conv_blocked.py``),
which are differentiable, instead of the raw loop above.

Measured (float32, ``benchmarks/bench_nn.py``, ratio to PyTorch 2.13; before: the
composite, in the previous full benchmark run; after: four runs): one thread, CPU time:
the 3x3 layer (N32 C64 32x32 O64 P1) 1.08 -> 0.84-0.91x, the stride-2 dilation-2 layer
(which runs as Winograd on every other pixel) 0.85 -> 0.68-0.75x, the MNIST example's
training step 1.10 -> 0.88-0.92x; two threads, wall clock: 1.42 -> 0.94-1.01x, 1.35 ->
0.99-1.16x, 1.40 -> 0.97-1.09x. Against the composite alone (fwd+bwd, best of 5):
the MNIST example's conv2 (N64 C32 26x26 O64) 54.7 -> 38.9 ms at one thread; with batch
128 221.6 -> 110.1 ms; a 112x112 image (N2 C64, one image per block, past the cache) 58.9
-> 54.8 ms; small layers (N1 C32 64x64, N16 C16 28x28) within 10% either way, so "auto"
always takes this path for Winograd. Blocks of 256 KB to 4 MB: 1 MB was best or within
5% of it on the three benchmark layers, at one and two threads.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from autograd import _blas
from autograd import grad_mode
from autograd.function import Function
from nn import conv_blocked as _conv_blocked
from nn import winograd as _winograd

BLOCK_BYTES = 1 << 20   # a block's tiles (36 · max(C, O) per tile): about the L2 cache
TILE, WINDOW = _winograd.TILE, _winograd.WINDOW   # 4x4 output tiles from 6x6 windows
_KRON = {}              # (name, dtype) -> the raw transform matrix (see nn/winograd.py)


def _kron(name, dtype):
    key = (name, np.dtype(dtype))
    if key not in _KRON:
        m = _winograd._KRON[name[0]]
        _KRON[key] = np.ascontiguousarray(m.T if name.endswith("T") else m, dtype)
    return _KRON[key]


class _Geometry:
    """Sizes of a 3x3 stride-1 convolution cut into 4x4 output tiles, and its blocks."""

    def __init__(self, x_shape, o, pads, itemsize):
        self.n, self.c, self.h, self.w = x_shape
        self.o = o
        self.pads = pads
        t, b, l, r = pads
        self.oh, self.ow = self.h + t + b - 2, self.w + l + r - 2
        self.th, self.tw = -(-self.oh // TILE), -(-self.ow // TILE)
        # the padded input every tile reads (whole tiles, so bottom/right may get more)
        self.hp, self.wp = TILE * self.th + 2, TILE * self.tw + 2
        per_image = WINDOW * WINDOW * max(self.c, o) * self.th * self.tw * itemsize
        k = max(1, min(self.n, BLOCK_BYTES // per_image))   # images per block, at most
        # The blocks: as many as that needs, rounded up to a multiple of the number of
        # thread groups (conv_blocked._groups gives each thread one), the images shared out
        # evenly: every thread gets the same work (blocks of 7, ..., 7, 1 images left one of
        # two threads 20% idle).
        groups = len(_conv_blocked._groups(max(2, _blas.max_threads())))
        needed = max(1, -(-self.n // k))
        count = min(max(1, self.n), -(-needed // groups) * groups)
        bounds = [self.n * i // count for i in range(count + 1)]
        self.blocks = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        self.index = {a: i for i, (a, _) in enumerate(self.blocks)}   # first image -> block
        self.per_block = max([b - a for a, b in self.blocks], default=1)

    def tiles(self, k):
        return k * self.th * self.tw

    def padded_block(self, buf, x, s, e):
        """Images s..e of x zero-padded into the reused buffer ``buf`` (only the inside is
        written: the border stays the zeros it was made with)."""
        t, _, l, _ = self.pads
        xp = buf[:e - s]
        xp[:, :, t:t + self.h, l:l + self.w] = x[s:e]
        return xp

    def windows(self, xp):
        """The (6, 6, C, k, th, tw) view of every tile's 6x6 window of padded images xp."""
        sn, sc, sh, sw = xp.strides
        return as_strided(xp, shape=(WINDOW, WINDOW, self.c, xp.shape[0], self.th, self.tw),
                          strides=(sh, sw, sc, sn, TILE * sh, TILE * sw), writeable=False)

    def image_tiles(self, img):
        """An (k, ·, th·4, tw·4) image as its 4x4 tiles, the (4, 4, ·, k, th, tw) view."""
        k, ch = img.shape[:2]
        return img.reshape(k, ch, self.th, TILE, self.tw, TILE).transpose(3, 5, 1, 0, 2, 4)


def _in_groups(geo, work, nbytes, name):
    """``work(group, blocks)`` for fixed groups of blocks, on the pool's threads where
    faster (see ``conv_blocked._in_slabs``)."""
    groups = _conv_blocked._groups(len(geo.blocks))

    def slab(sl):
        for k in range(sl.start, sl.stop):
            work(k, geo.blocks[groups[k][0]:groups[k][1]])
    _conv_blocked._in_slabs(slab, len(groups), nbytes, name)
    return len(groups)


def _transformed_weight(weight):
    """U = (G⊗G)·weight: (36, O, C)."""
    o, c = weight.shape[:2]
    w9 = weight.transpose(2, 3, 0, 1).reshape(9, o * c)
    return _blas.matmul(_kron("G", weight.dtype), w9).reshape(WINDOW * WINDOW, o, c)


def forward_blocks(x, weight, bias, pads, keep_tiles):
    """The convolution (N, O, OH, OW) and, if ``keep_tiles``, every block's V for backward."""
    geo = _Geometry(x.shape, weight.shape[0], pads, x.itemsize)
    c, o, dtype = geo.c, geo.o, x.dtype
    u = _transformed_weight(weight)
    bt, at = _kron("B", dtype), _kron("A", dtype)
    out = np.empty((geo.n, o, TILE * geo.th, TILE * geo.tw), dtype)
    kept = [None] * len(geo.blocks) if keep_tiles else []
    plus = None if bias is None else bias.reshape(1, o, 1, 1)

    def work(group, blocks):
        xbuf = np.zeros((geo.per_block, c, geo.hp, geo.wp), dtype)
        dbuf = np.empty(WINDOW * WINDOW * c * geo.tiles(geo.per_block), dtype)
        for s, e in blocks:
            k = e - s
            d = dbuf[:WINDOW * WINDOW * c * geo.tiles(k)].reshape(36, c * geo.tiles(k))
            d.reshape(WINDOW, WINDOW, c, k, geo.th, geo.tw)[...] = \
                geo.windows(geo.padded_block(xbuf, x, s, e))
            v = np.matmul(bt, d).reshape(36, c, geo.tiles(k))
            if keep_tiles:
                kept[geo.index[s]] = v
            y = np.matmul(at, np.matmul(u, v).reshape(36, o * geo.tiles(k)))
            ob = out[s:e]
            geo.image_tiles(ob)[...] = y.reshape(TILE, TILE, o, k, geo.th, geo.tw)
            if plus is not None:
                ob += plus
    _in_groups(geo, work, 3 * 36 * max(c, o) * geo.tiles(geo.n) * x.itemsize, "winograd_y")
    if (TILE * geo.th, TILE * geo.tw) != (geo.oh, geo.ow):
        out = out[:, :, :geo.oh, :geo.ow]
    return out, kept


def backward_blocks(grad, weight, kept, pads, x_shape, need_x, need_w):
    """(dL/dx, dL/dweight) of ``forward_blocks`` (each None where not needed); ``weight``
    is needed for dL/dx, ``kept`` (forward's tiles V) for dL/dweight."""
    geo = _Geometry(x_shape, grad.shape[1], pads, grad.itemsize)
    c, o, dtype = geo.c, geo.o, grad.dtype
    t, _, l, _ = pads
    ut = _transformed_weight(weight).transpose(0, 2, 1) if need_x else None
    a_t, b_t = _kron("AT", dtype), _kron("BT", dtype)
    dx = np.empty(x_shape, dtype) if need_x else None
    sums = {}   # group -> its blocks' Σ dL/dM @ Vᵀ (36, O, C)

    def work(group, blocks):
        gbuf = np.zeros((geo.per_block, o, TILE * geo.th, TILE * geo.tw), dtype)
        xbuf = np.empty((geo.per_block, c, geo.hp, geo.wp), dtype) if need_x else None
        for s, e in blocks:
            k = e - s
            gpad = gbuf[:k]
            gpad[:, :, :geo.oh, :geo.ow] = grad[s:e]
            gy = np.empty((TILE, TILE, o, k, geo.th, geo.tw), dtype)
            gy[...] = geo.image_tiles(gpad)
            gm = np.matmul(a_t, gy.reshape(TILE * TILE, -1)).reshape(36, o, geo.tiles(k))
            if need_w:
                p = np.matmul(gm, kept[geo.index[s]].transpose(0, 2, 1))
                if group in sums:
                    sums[group] += p
                else:
                    sums[group] = p
            if need_x:
                gd = np.matmul(b_t, np.matmul(ut, gm).reshape(36, c * geo.tiles(k)))
                _fold(geo, gd.reshape(WINDOW, WINDOW, c, k, geo.th, geo.tw), xbuf[:k])
                dx[s:e] = xbuf[:k, :, t:t + geo.h, l:l + geo.w]
    n_groups = _in_groups(geo, work, 4 * 36 * max(c, o) * geo.tiles(geo.n) * grad.itemsize,
                          "winograd_dx")
    dw = None
    if need_w:
        gu = sums[0] if sums else np.zeros((36, o, c), dtype)   # (no blocks: an empty batch)
        for g in range(1, n_groups):
            gu += sums[g]
        dw9 = _blas.matmul(_kron("GT", dtype), gu.reshape(36, o * c))
        dw = np.ascontiguousarray(dw9.reshape(3, 3, o, c).transpose(2, 3, 0, 1))
    return dx, dw


def _fold(geo, gd, xp):
    """xp (k, C, Hp, Wp) = every tile's 6x6 window gradient gd (6, 6, C, k, th, tw) added
    back where the window came from: 36 strided adds (windows overlap by 2 rows/columns)."""
    xp[...] = 0
    dst = xp.transpose(1, 0, 2, 3)
    rows, cols = TILE * (geo.th - 1) + 1, TILE * (geo.tw - 1) + 1
    for a in range(WINDOW):
        for b in range(WINDOW):
            dst[:, :, a:a + rows:TILE, b:b + cols:TILE] += gd[a, b]


class WinogradConv(Function):
    """y = conv2d(x, weight) + bias for 3x3 stride-1 kernels, Winograd F(4x4, 3x3) a block of
    images at a time (see the module docstring).

    forward(x (N, C, H, W), weight (O, C, 3, 3), bias (O,) or absent; pads (top, bottom,
    left, right))
    """
    backward_rule = ("dL/dx = ConvInputGrad(dL/dy, W),  dL/dW = ConvWeightGrad(dL/dy, x),  "
                     "dL/dbias = Σ_{n,h,w} dL/dy  (computed in Winograd blocks)")

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, pads):
        needs = ctx.needs_input_grad
        out, kept = forward_blocks(x, weight, bias, pads, keep_tiles=needs[1])
        # x and weight for second derivatives (create_graph); the tiles V for dL/dweight
        ctx.save_for_backward(x if needs[1] else None, weight if needs[0] else None, *kept)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, *tiles = ctx.saved_tensors
        needs = ctx.needs_input_grad
        pads = ctx.attrs["pads"]
        x_shape, w_shape = ctx.input_meta[0][0], ctx.input_meta[1][0]
        if grad_mode.is_grad_enabled():   # create_graph: differentiable maps
            gx, gw = _differentiable_grads(grad, x, weight, pads, x_shape, w_shape, needs)
        else:
            gx, gw = backward_blocks(grad._data, None if weight is None else weight._data,
                                     [t._data for t in tiles], pads, x_shape, needs[0], needs[1])
            gx = None if gx is None else grad._make(gx, None)
            gw = None if gw is None else grad._make(gw, None)
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (grad.sum((0, 2, 3)) if needs[2] else None)


def _differentiable_grads(grad, x, weight, pads, x_shape, w_shape, needs):
    """dL/dx and dL/dW as recorded ops (the blocked im2col maps), for higher derivatives.
    (x is saved only for dL/dW and weight only for dL/dx: the shapes come from the node.)"""
    grid = (x_shape[2] + pads[0] + pads[1] - 2, x_shape[3] + pads[2] + pads[3] - 2)
    rows = _conv_blocked.rows_per_block(x_shape, w_shape, grid, grad.dtype.itemsize)
    geo = dict(stride=(1, 1), padding=pads, dilation=(1, 1), grid=grid, rows=rows)
    gx = (_conv_blocked.ConvInputGrad.apply(grad, weight, size=tuple(x_shape[2:]), **geo)
          if needs[0] else None)
    gw = _conv_blocked.ConvWeightGrad.apply(grad, x, kernel=(3, 3), **geo) if needs[1] else None
    return gx, gw
