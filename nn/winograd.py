"""Winograd's F(4x4, 3x3): a 3x3 convolution with 4x fewer multiplications.

The idea (Lavin & Gray, 2015). Cut the output into 4x4 tiles. Each tile depends on a
6x6 tile d of the (padded) input, and the direct method spends 4·4·3·3 = 144
multiplications per tile and channel pair. Winograd's minimal filtering algorithm
computes the same 4x4 result with 36:

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A

with small constant matrices (the Toom-Cook interpolation at the points 0, ±1, ±2, ∞)

    Bᵀ = [[4,  0, -5,  0, 1, 0],      G = [[ 1/4,     0,    0],
          [0, -4, -4,  1, 1, 0],           [-1/6,  -1/6, -1/6],
          [0,  4, -4, -1, 1, 0],           [-1/6,   1/6, -1/6],
          [0, -2, -1,  2, 1, 0],           [1/24,  1/12,  1/6],
          [0,  2, -1, -2, 1, 0],           [1/24, -1/12,  1/6],
          [0,  4,  0, -5, 0, 1]]           [   0,     0,    1]]

    Aᵀ = [[1, 1,  1, 1,  1, 0],
          [0, 1, -1, 2, -2, 0],
          [0, 1,  1, 4,  4, 0],
          [0, 1, -1, 8, -8, 1]]

(F(2x2, 3x3), the smallest member of the family, uses 4x4 input tiles and saves 2.25x.)
Summed over input channels, the elementwise product ⊙ at each of the 36 positions
(a, b) of the transformed tile becomes a matrix product over channels, so a whole
convolution is

    V = (Bᵀ⊗Bᵀ) · unfold₆ₓ₆,stride 4(x)      every input tile, transformed  (36, C, T)
    U = (G⊗G) · weight                         every filter, transformed      (36, O, C)
    M = U @ V                                  36 batched GEMMs               (36, O, T)
    Y = (Aᵀ⊗Aᵀ) · M                            back to 4x4 output tiles       (16, O, T)

(T = number of tiles; ⊗ is the Kronecker product, so each transform is one small
matrix applied to all tiles at once). The GEMM work drops from 9 to 36/16 = 2.25
multiply-adds per output and channel pair. Every step is an ordinary engine op
(``Unfold``, ``matmul``, ``reshape``/``permute``), so the backward pass comes from the
engine: dL/dweight = (G⊗G)ᵀ · (dL/dM @ Vᵀ), dL/dx = fold((Bᵀ⊗Bᵀ)ᵀ · (Uᵀ @ dL/dM)), and
second derivatives work as for the im2col path.

Accuracy: the transforms multiply by up to 8 and divide by 24, so float32 results agree
with the direct convolution to ~1e-5 relative (max error / max value; measured 4e-6 to
1.3e-5 for outputs and gradients at 3 to 256 channels; tests require 1e-4), about 20x the
error of F(2x2, 3x3) or im2col; float64 to ~1e-14.

``conv2d`` picks Winograd automatically (see ``choose``) for 3x3, stride 1, dilation 1,
ungrouped convolutions with at least ``MIN_CHANNELS`` input and output channels whose
output fills the 4x4 tiles well, and for 3x3 layers whose stride equals their dilation
on the every-s-th-pixel input they read (``as_stride1``). "auto" then runs the same
algorithm a few images at a time, in cache (``nn/winograd_blocked.py``: the same
transforms, 0.5-0.8x this composite's time on the benchmark layers); this composite,
whose backward the engine derives, is what ``conv_algorithm("winograd")`` (or
``conv2d(..., algorithm="winograd")``) forces, and "im2col" forces the plain path.

Measured (conv2d fwd+bwd, float32, one thread, CPU time, best of 5, vs the im2col path):
N32 C64 32x32 O64 0.60x (F(2x2, 3x3), the path before this one: 0.85x), the MNIST
example's conv2 C32->O64 26x26 0.79x (F(2x2, 3x3): 1.13x), C128 14x14 0.75x, C16 28x28
O16 0.83x, batch 1 0.68x; but 1.1-2.5x slower where the tiles stick out far past the
output (outputs 5x5 to 10x10, 14x14 with few channels), hence ``MIN_FILL``. Where the
time goes (N32 C64 32x32): the 36x36 and 16x36 transform products ~35%, the batched
GEMMs ~40%, the 6x6 stride-4 unfold/fold and the output's tile-to-image copy ~25%.
(Tried and removed: the transforms done separably, as two products with the 6x6 and
4x6 matrices instead of one with their Kronecker product: 10-25% slower, since OpenBLAS
handles the inner dimension 6 poorly; for F(2x2, 3x3) 20 strided adds instead of unfold
+ a 16x16 product: only 3-4% faster; the tiles unfolded batch-innermost, (6, 6, C, th, tw, N),
for longer contiguous runs in the unfold/fold: those got 2x faster but the whole conv
0.9-1.5x, 1.03x on the benchmark layer.) The output's tile-to-image copy is its own op
(``TilesToImage``) so that it runs in slabs on all cores (``autograd._parallel``): 2.5 ->
1.3 ms for N32 O64 32x32 on two threads, 2-4% of the conv's time.
"""
import contextlib

import numpy as np

from autograd import _parallel as _par
from autograd import ops as O
from autograd.function import Function
from autograd.tensor import Tensor, matmul

_BT = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=np.float64)
_G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=np.float64)
_AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], dtype=np.float64)
TILE, WINDOW = _AT.shape  # 4x4 output tiles from 6x6 input windows (at stride TILE)
# The transforms of a whole (flattened, row-major) tile: kron(X, X) maps vec(t) to vec(X t Xᵀ)
_KRON = {"B": np.kron(_BT, _BT), "G": np.kron(_G, _G), "A": np.kron(_AT, _AT)}
_CONST = {}

# blocked: nn/conv_blocked.py; winograd_blocked: nn/winograd_blocked.py ("auto"'s Winograd)
ALGORITHMS = ("auto", "im2col", "winograd", "blocked", "winograd_blocked")
# What "auto" picks, measured for the path it runs (the blocked one, nn/winograd_blocked.py;
# fwd+bwd, float32, batch 64 unless said, time vs im2col at 1 thread / 2 threads):
MIN_CHANNELS = 5   # min(C, O): C6->O6 28x28 0.58/0.53, C5->O16 0.77/0.64, C8->O8 0.65/0.67,
# C12->O12 16x16 0.71/0.45; C4->O16 32x32 1.02/0.89, C3->O16 1.71/0.93, C1->O32 3.9/3.9
# (the composite alone needed 16: C8 0.74-0.89, C3->16 1.54, C1 4.6)
MIN_FILL = 0.9     # output pixels / tile pixels: 1.0 (12x12, 24x24, 32x32) 0.6-0.8; 0.86
# (26x26) 0.98; 0.77 (14x14: C32->O64 1.00/0.92, C16->O32 1.17/0.97; 7x7 1.13/1.08);
# 0.69 (10x10) 1.46-1.53; 0.39 (5x5) 1.57-1.60
MIN_FLOPS = 3e6    # forward FLOPs of the direct method, 2·N·O·C·9·OH·OW: N1 C16 28x28 (3.6e6)
# 0.83/0.84, N16 C8 16x16 (4.7e6) 0.81/0.85, N4 C8 28x28 (3.6e6) 1.00/1.00, N1 C64 16x16
# (1.9e7) 0.89/1.08 (the composite, nine engine ops, needed 30e6)
_DEFAULT = ["auto"]


def _const(name, dtype):
    key = (name, np.dtype(dtype))
    if key not in _CONST:
        _CONST[key] = Tensor(_KRON[name].astype(dtype))
    return _CONST[key]


def applicable(x_shape, w_shape, stride, dilation, groups):
    """Winograd F(4x4, 3x3) computes this convolution (3x3, stride 1, dilation 1, groups 1)."""
    return (tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and groups == 1)


def choose(algorithm, x_shape, w_shape, stride, dilation, groups, pads=(0, 0, 0, 0),
           dtype=np.float32):
    """True to run Winograd: ``algorithm`` (None = the current default) is "winograd", or
    "auto" and the convolution is applicable, with enough channels and work, and an output
    that fills its 4x4 tiles well enough to win, in float32 or float64 (in float16 the
    transforms' error, ~5x the direct method's, is too large: im2col)."""
    algorithm = _DEFAULT[0] if algorithm is None else algorithm
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv2d: algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    ok = applicable(x_shape, w_shape, stride, dilation, groups)
    if algorithm in ("winograd", "winograd_blocked"):
        if not ok:
            raise ValueError(f"conv2d: algorithm={algorithm!r} needs a 3x3 kernel, stride 1, "
                             f"dilation 1 and groups=1; got weight {tuple(w_shape)}, stride "
                             f"{tuple(stride)}, dilation {tuple(dilation)}, groups={groups}")
        return True
    if (algorithm != "auto" or not ok or min(x_shape[1], w_shape[0]) < MIN_CHANNELS
            or np.dtype(dtype) not in (np.float32, np.float64)):
        return False
    oh, ow = x_shape[2] + pads[0] + pads[1] - 2, x_shape[3] + pads[2] + pads[3] - 2
    if oh < 1 or ow < 1:
        return False
    fill = oh * ow / (TILE * TILE * -(-oh // TILE) * -(-ow // TILE))  # output px / tile px
    flops = 2 * x_shape[0] * w_shape[0] * x_shape[1] * 9 * oh * ow
    return fill >= MIN_FILL and flops >= MIN_FLOPS


def _phase(size, s, pad_lo, out):
    """One axis of a 3x3 convolution with stride = dilation = s, which reads only the padded
    positions s·q (q = 0 .. out + 1): the input rows among them, as a slice, and the zero
    rows to put before and after them so that they are a stride-1 convolution's padded input
    of out + 2 rows. None if none of those positions is an input row."""
    phase = (-pad_lo) % s                     # the first input row at a multiple of s
    before = (phase + pad_lo) // s
    rows = min(-(-(size - phase) // s), out + 2 - before)
    if rows <= 0:
        return None
    return slice(phase, phase + s * (rows - 1) + 1, s), before, out + 2 - before - rows


def as_stride1(algorithm, x_shape, w_shape, stride, dilation, groups, pads, grid, dtype):
    """Winograd for a 3x3 convolution whose stride equals its dilation (s > 1 on some axis).

    Its windows read only every s-th padded position, so it is exactly the stride-1,
    dilation-1 convolution of the subsampled input x[:, :, φh::sh, φw::sw] (padded anew):
    returns ((row slice, column slice), pads) for that, or None where "auto" would not run
    Winograd on it (or the algorithm is not "auto", so a forced path stays the plain one).
    Measured (fwd+bwd, float32, one thread): the benchmark's N32 C32 31x31 O64 stride 2
    dilation 2 layer 18.2 -> 12.4 ms; subsampling alone, with im2col, only 5%.
    """
    algorithm = _DEFAULT[0] if algorithm is None else algorithm
    if (algorithm != "auto" or groups != 1 or tuple(w_shape[2:]) != (3, 3)
            or tuple(stride) != tuple(dilation) or tuple(stride) == (1, 1)):
        return None
    axes = [_phase(x_shape[2 + a], stride[a], pads[2 * a], grid[a]) for a in (0, 1)]
    if None in axes:
        return None
    (rows, top, bottom), (cols, left, right) = axes
    sub_pads = (top, bottom, left, right)
    sub_shape = tuple(x_shape[:2]) + (len(range(x_shape[2])[rows]), len(range(x_shape[3])[cols]))
    if not choose("auto", sub_shape, w_shape, (1, 1), (1, 1), 1, sub_pads, dtype):
        return None
    return (rows, cols), sub_pads


class TilesToImage(Function):
    """out[n, o, 4·i + a, 4·j + b] = y[a, b, o, n, i, j] (+ bias[o]): the 4x4 output tiles,
    y (16, O·N·th·tw), as an (N, O, 4·th, 4·tw) image. One transposing copy, in slabs on
    all cores (``autograd._parallel``); the bias, if given, is added to each slab right
    after its copy, on all cores too, where a separate ``+ bias`` ran on one (the tile copy
    with its bias, (32, 64, 32, 32) float32: 3.3 -> 2.3 ms at two threads, 3.4 -> 3.2 ms at
    one). Its adjoint is the inverse copy,
    dL/dy[a, b, o, n, i, j] = dL/dout[n, o, 4·i + a, 4·j + b] (``ImageToTiles``), and
    dL/dbias[o] = Σ dL/dout[:, o]."""
    backward_rule = "dL/dy = ImageToTiles(dL/dout),  dL/dbias = Σ_n,h,w dL/dout"

    @staticmethod
    def forward(ctx, y, bias=None, *, n, o, th, tw):
        out = np.empty((n, o, TILE * th, TILE * tw), y.dtype)
        src = y.reshape(TILE, TILE, o, n, th, tw).transpose(3, 2, 4, 0, 5, 1)
        dst = out.reshape(n, o, th, TILE, tw, TILE)
        _par.copy_to(dst, src, "winograd_tiles",
                     plus=None if bias is None else bias.reshape(1, o, 1, 1, 1, 1))
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        gy = ImageToTiles.apply(grad, **ctx.attrs) if needs[0] else None
        if len(needs) == 1:
            return gy
        return gy, (grad.sum((0, 2, 3)) if needs[1] else None)


class ImageToTiles(Function):
    """y[a, b, o, n, i, j] = img[n, o, 4·i + a, 4·j + b], as (16, O·N·th·tw): the adjoint
    (and inverse) of ``TilesToImage``."""
    backward_rule = "dL/dimg = TilesToImage(dL/dy)"

    @staticmethod
    def forward(ctx, img, n, o, th, tw):
        y = np.empty((TILE, TILE, o, n, th, tw), img.dtype)
        src = img.reshape(n, o, th, TILE, tw, TILE).transpose(3, 5, 1, 0, 2, 4)
        _par.copy_to(y, src, "winograd_tiles")
        return y.reshape(TILE * TILE, o * n * th * tw)

    @staticmethod
    def backward(ctx, grad):
        return TilesToImage.apply(grad, **ctx.attrs)


@contextlib.contextmanager
def conv_algorithm(algorithm):
    """Within the block, ``conv2d`` uses ``algorithm`` ("auto", "im2col", "winograd" or
    "blocked") unless a call passes its own."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv_algorithm: expected one of {ALGORITHMS}, got {algorithm!r}")
    saved = _DEFAULT[0]
    _DEFAULT[0] = algorithm
    try:
        yield
    finally:
        _DEFAULT[0] = saved


def conv2d_winograd(x, weight, bias, pads):
    """3x3, stride-1 convolution of x (N, C, H, W) with weight (O, C, 3, 3) and
    (top, bottom, left, right) zero padding, as F(4x4, 3x3) from engine ops."""
    n, c, h, w = x.shape
    o = weight.shape[0]
    t, b, l, r = pads
    m_, a_ = TILE, WINDOW
    oh, ow = h + t + b - 2, w + l + r - 2
    th, tw = -(-oh // m_), -(-ow // m_)        # tiles per axis (the last may stick out)
    tiles = n * th * tw
    # input tiles: 6x6 windows at stride 4, padded at the bottom/right up to whole tiles
    pads6 = (t, m_ * th + 2 - h - t, l, m_ * tw + 2 - w - l)
    d = O.Unfold.apply(x, kernel=(a_, a_), stride=(m_, m_), padding=pads6, dilation=(1, 1),
                       grid=(th, tw), layout="kcn")            # (6, 6, C, N, th, tw)
    v = matmul(_const("B", x.dtype), d.reshape(a_ * a_, c * tiles)).reshape(a_ * a_, c, tiles)
    u = matmul(_const("G", x.dtype), weight.permute(2, 3, 0, 1).reshape(9, o * c))
    m = matmul(u.reshape(a_ * a_, o, c), v)                     # 36 GEMMs (O, C) @ (C, T)
    y = matmul(_const("A", x.dtype), m.reshape(a_ * a_, o * tiles))  # (4·4, O·T) out tiles
    # out[n, o, 4·i + a, 4·j + b] = y[a, b, o, n, i, j]
    # (+ bias[o], slab by slab with the copy; conv2d has checked that bias has x's dtype)
    args = (y,) if bias is None else (y, bias)
    out = TilesToImage.apply(*args, n=n, o=o, th=th, tw=tw)
    if (m_ * th, m_ * tw) != (oh, ow):
        out = out[:, :, :oh, :ow]
    return out
