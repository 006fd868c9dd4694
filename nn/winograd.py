"""Winograd's F(2x2, 3x3): a 3x3 convolution with 2.25x fewer multiplications.

The idea (Lavin & Gray, 2015). Cut the output into 2x2 tiles. Each tile depends on a
4x4 tile d of the (padded) input, and the direct method spends 2·2·3·3 = 36
multiplications per tile and channel pair. Winograd's minimal filtering algorithm
computes the same 2x2 result with 16:

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A

with small constant matrices (entries 0, ±1, ±½)

    Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G  = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]]
    Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].

Summed over input channels, the elementwise product ⊙ at each of the 16 positions
(a, b) of the transformed tile becomes a matrix product over channels, so a whole
convolution is

    V = (Bᵀ⊗Bᵀ) · unfold₄ₓ₄,stride 2(x)      every input tile, transformed  (16, C, T)
    U = (G⊗G) · weight                         every filter, transformed      (16, O, C)
    M = U @ V                                  16 batched GEMMs               (16, O, T)
    Y = (Aᵀ⊗Aᵀ) · M                            back to 2x2 output tiles       (4, O, T)

(T = number of tiles; ⊗ is the Kronecker product, so each transform is one small
matrix applied to all tiles at once). The GEMM work drops from 9 to 16/4 = 4 multiply-
adds per output and channel pair. Every step is an ordinary engine op (``Unfold``,
``matmul``, ``reshape``/``permute``), so the backward pass comes from the engine:
dL/dweight = (G⊗G)ᵀ · (dL/dM @ Vᵀ), dL/dx = fold((Bᵀ⊗Bᵀ)ᵀ · (Uᵀ @ dL/dM)), and
second derivatives work as for the im2col path.

Accuracy: the transforms add and halve a few numbers, so float32 results agree with the
direct convolution to ~1e-6 relative (tests require 1e-4); float64 to ~1e-15.

``conv2d`` picks this path automatically for 3x3, stride 1, dilation 1, ungrouped
convolutions with at least ``MIN_CHANNELS`` input and output channels (where it was
measured to win, see ``benchmarks/bench_nn.py``); ``conv_algorithm("winograd")`` /
``conv_algorithm("im2col")`` (or ``conv2d(..., algorithm=...)``) force either path.

Measured gain (conv2d fwd+bwd, N32 C64 32x32 O64, float32, one thread, CPU time, median
of paired ratios): 0.70-0.80x the time of the im2col path. Where the rest goes: the
16x16 and 4x16 transform products are memory-bound (~35% of the time), the stride-2
4x4 unfold/fold ~25%, the three batched GEMMs ~45%. (Tried and removed: the input
transform done separably by 20 strided adds instead of unfold + a 16x16 product, with
its adjoint for backward: only 3-4% faster, under the 10% bar.)
"""
import contextlib

import numpy as np

from autograd import ops as O
from autograd.tensor import Tensor, matmul

_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
_G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], dtype=np.float64)
_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
# The transforms of a whole (flattened, row-major) tile: kron(X, X) maps vec(t) to vec(X t Xᵀ)
_KRON = {"B": np.kron(_BT, _BT), "G": np.kron(_G, _G), "A": np.kron(_AT, _AT)}
_CONST = {}

ALGORITHMS = ("auto", "im2col", "winograd")
MIN_CHANNELS = 64  # measured (fwd+bwd, float32, 1 thread, CPU time, paired, vs im2col):
# C=O=64 32x32 N32 0.70-0.80, C=O=128 16x16 0.66, C=O=64 8x8 N64 0.88, batch 1 0.79;
# C=O=48 0.89, C=32->64 26x26 (the MNIST example's conv2) 1.02-1.06: no gain below 64
_DEFAULT = ["auto"]


def _const(name, dtype):
    key = (name, np.dtype(dtype))
    if key not in _CONST:
        _CONST[key] = Tensor(_KRON[name].astype(dtype))
    return _CONST[key]


def applicable(x_shape, w_shape, stride, dilation, groups):
    """Winograd F(2x2, 3x3) computes this convolution (3x3, stride 1, dilation 1, groups 1)."""
    return (tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and groups == 1)


def choose(algorithm, x_shape, w_shape, stride, dilation, groups):
    """True to run Winograd: ``algorithm`` (None = the current default) is "winograd", or
    "auto" and the convolution is applicable with enough channels to win."""
    algorithm = _DEFAULT[0] if algorithm is None else algorithm
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv2d: algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    ok = applicable(x_shape, w_shape, stride, dilation, groups)
    if algorithm == "winograd":
        if not ok:
            raise ValueError(f"conv2d: algorithm='winograd' needs a 3x3 kernel, stride 1, "
                             f"dilation 1 and groups=1; got weight {tuple(w_shape)}, stride "
                             f"{tuple(stride)}, dilation {tuple(dilation)}, groups={groups}")
        return True
    return (algorithm == "auto" and ok and x_shape[1] >= MIN_CHANNELS
            and w_shape[0] >= MIN_CHANNELS)


@contextlib.contextmanager
def conv_algorithm(algorithm):
    """Within the block, ``conv2d`` uses ``algorithm`` ("auto", "im2col" or "winograd")
    unless a call passes its own."""
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
    (top, bottom, left, right) zero padding, as F(2x2, 3x3) from engine ops."""
    n, c, h, w = x.shape
    o = weight.shape[0]
    t, b, l, r = pads
    oh, ow = h + t + b - 2, w + l + r - 2
    th, tw = -(-oh // 2), -(-ow // 2)          # tiles per axis (the last may stick out)
    tiles = n * th * tw
    # input tiles: 4x4 windows at stride 2, padded at the bottom/right up to whole tiles
    pads4 = (t, 2 * th + 2 - h - t, l, 2 * tw + 2 - w - l)
    d = O.Unfold.apply(x, kernel=(4, 4), stride=(2, 2), padding=pads4, dilation=(1, 1),
                       grid=(th, tw), layout="kcn")            # (4, 4, C, N, th, tw)
    v = matmul(_const("B", x.dtype), d.reshape(16, c * tiles)).reshape(16, c, tiles)
    u = matmul(_const("G", x.dtype), weight.permute(2, 3, 0, 1).reshape(9, o * c))
    m = matmul(u.reshape(16, o, c), v)                          # 16 GEMMs (O, C) @ (C, T)
    y = matmul(_const("A", x.dtype), m.reshape(16, o * tiles))  # (2·2, O·T) output tiles
    # out[n, o, 2·i + a, 2·j + b] = y[a, b, o, n, i, j]
    out = y.reshape(2, 2, o, n, th, tw).permute(3, 2, 4, 0, 5, 1).reshape(n, o, 2 * th, 2 * tw)
    if (2 * th, 2 * tw) != (oh, ow):
        out = out[:, :, :oh, :ow]
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1)
    return out
