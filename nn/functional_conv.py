"""nn.functional's convolutions, windows and pooling (re-exported by ``nn.functional``).

Convolution is im2col + one GEMM (see ``nn.functional``'s docstring for the math), with
Winograd F(4x4, 3x3) for 3x3 layers (``nn/winograd.py``) and the im2col done a block of
output rows at a time, in cache, for layers with narrow outputs (``nn/conv_blocked.py``);
pooling reduces the windows of ``autograd/ops/spatial.py`` without materialising them.
"""
import numbers
import warnings

import numpy as np

import autograd
from autograd import _blas
from autograd import ops as O
from autograd.function import Function
from autograd.ops import spatial as S
from autograd.ops.dtypes import torch_name
from autograd.tensor import Tensor, _as_tensor, _rng, matmul, where
from nn import conv_blocked as _conv_blocked
from nn import winograd as _winograd
from nn import winograd_blocked as _winograd_blocked
from nn.winograd import conv_algorithm  # noqa: F401  (F.conv_algorithm("winograd"))

from .functional import _batched, _is_int, _non_negative, _positive, _tensor, _tuple

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold",
           "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d",
           "conv_algorithm"]


# ---------------------------------------------------------------------------- convolution
def _conv_padding(padding, kernel, dilation, stride, op):
    """padding (int, tuple or 'same'/'valid') -> (top, bottom, left, right)."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0) * 2
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride[-n:]})")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)  # PyTorch puts the odd extra element at the end
                pads += [total // 2, total - total // 2]
            return tuple(pads)
        raise RuntimeError(f"{op}: padding must be 'valid', 'same', an int or a tuple of "
                           f"ints, got {padding!r}")
    p = _non_negative(_tuple(padding, n, "padding", op), "padding", op)
    return tuple(v for q in p for v in (q, q))


def _check_conv_args(op, x, weight, bias, groups, transposed=False, user_shape=None):
    """Channel and group checks (x is batched; errors show the shape the user passed)."""
    shown = tuple(x.shape if user_shape is None else user_shape)
    if not _is_int(groups):
        raise TypeError(f"{op}(): argument 'groups' must be int, not {type(groups).__name__}")
    if groups < 1:
        raise RuntimeError(f"{op}: groups must be a positive int, got groups={groups!r}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:  # no silent promotion, as in torch
            raise RuntimeError(f"{op}: Input type ({x.dtype}) and {name} type ({t.dtype}) "
                               f"should be the same (input {shown}, {name} "
                               f"{tuple(t.shape)})")
    nd = x.ndim - 2
    if weight.ndim != nd + 2:
        layout = "(in_channels, out_channels/groups" if transposed else \
            "(out_channels, in_channels/groups"
        raise RuntimeError(f"{op}: weight must be {nd + 2}-D {layout}, *kernel_size), got weight "
                           f"of shape {tuple(weight.shape)}")
    c = x.shape[1]
    if c % groups:
        raise RuntimeError(f"{op}: input {shown} has {c} channels, which is not "
                           f"divisible by groups={groups}")
    if transposed:
        if weight.shape[0] != c:
            raise RuntimeError(f"{op}: weight {tuple(weight.shape)} with groups={groups} expects "
                               f"{weight.shape[0]} input channels, got input {shown}")
        out_channels = weight.shape[1] * groups
    else:
        if weight.shape[0] % groups:
            raise RuntimeError(f"{op}: weight {tuple(weight.shape)} has {weight.shape[0]} output "
                               f"channels, which is not divisible by groups={groups}")
        if weight.shape[1] * groups != c:
            raise RuntimeError(f"{op}: weight {tuple(weight.shape)} with groups={groups} expects "
                               f"{weight.shape[1] * groups} input channels, got input "
                               f"{shown}")
        out_channels = weight.shape[0]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(f"{op}: bias of shape {tuple(bias.shape)} does not match the "
                           f"{out_channels} output channels of weight {tuple(weight.shape)}")


def _check_fits(op, x_shape, kernel, dilation, pads, user_shape):
    padded = (x_shape[2] + pads[0] + pads[1], x_shape[3] + pads[2] + pads[3])
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if span[0] > padded[0] or span[1] > padded[1]:
        raise RuntimeError(f"{op}: kernel size {tuple(kernel)} with dilation {tuple(dilation)} "
                           f"spans {span}, larger than the padded input {padded} (input "
                           f"{tuple(user_shape)}, padding {pads})")


class MatMulAdd(Function):
    """y = a @ b + c, with c (optional) broadcast over the product (added into it in place):

        dL/da = dL/dy @ bᵀ      dL/db = aᵀ @ dL/dy      dL/dc = dL/dy summed to c's shape

    A convolution's product plus its bias in one op: no second output-sized array.
    dL/da (the weight gradient, a short and wide times a long and thin matrix) is computed
    as (b @ dL/dyᵀ)ᵀ: the same GEMM with the roles swapped, which OpenBLAS runs 10-22%
    faster for conv shapes (e.g. 64x36864 @ 36864x288: 19.7 -> 16.4 ms on one thread).
    """
    backward_rule = "dL/da = dL/dy @ bᵀ,  dL/db = aᵀ @ dL/dy,  dL/dc = dL/dy summed to c's shape"

    @staticmethod
    def forward(ctx, a, b, c=None):
        ctx.save_for_backward(a, b)
        y = _blas.matmul(a, b)
        if c is None:
            return y
        if np.result_type(y, c) != y.dtype:
            return y + c
        y += c
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = (b @ grad.transpose(-1, -2)).transpose(-1, -2) if needs[0] else None
        gb = a.transpose(-1, -2) @ grad if needs[1] else None
        if len(needs) == 2:
            return ga, gb
        return ga, gb, (grad if needs[2] else None)  # the engine sums it to c's shape


def _conv2d(x, weight, bias, stride, pads, dilation, groups, op, user_shape, algorithm=None):
    """The convolution itself, on a batched 4-D input with (top, bottom, left, right) pads:
    im2col + GEMM, whole (engine ops) or a block of output rows at a time (nn/conv_blocked.py)."""
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    _check_fits(op, x.shape, (kh, kw), dilation, pads, user_shape)
    grid = S.grid_of(x.shape, (kh, kw), stride, pads, dilation)
    if grid[0] < 1 or grid[1] < 1:
        raise RuntimeError(f"{op}: output size {grid} is too small (input {tuple(user_shape)}, "
                           f"kernel {(kh, kw)}, stride {stride}, padding {pads}, "
                           f"dilation {dilation})")
    if _conv_blocked.use(algorithm, x.shape, weight.shape, stride, groups, grid, x.dtype):
        rows = _conv_blocked.rows_per_block(x.shape, weight.shape, grid, x.dtype.itemsize)
        args = (x, weight) if bias is None else (x, weight, bias)
        return _conv_blocked.Conv2dBlocked.apply(*args, stride=stride, padding=pads,
                                                 dilation=dilation, grid=grid, rows=rows)
    layout = _conv_layout(x.shape, weight.shape, stride, grid)
    # cols: every window, (C·kh·kw) rows by (N·OH·OW) columns (see autograd/ops/spatial.py)
    cols = O.Unfold.apply(x, kernel=(kh, kw), stride=stride, padding=pads, dilation=dilation,
                          grid=grid, layout=layout)
    length = n * grid[0] * grid[1]
    if groups == 1:
        w2, cols2 = weight.reshape(o, cg * kh * kw), cols.reshape(cg * kh * kw, length)
        b2 = None if bias is None else bias.reshape(o, 1)
    else:  # one product per group: (G, O/G, C/G·kh·kw) @ (G, C/G·kh·kw, N·OH·OW)
        w2 = weight.reshape(groups, o // groups, cg * kh * kw)
        cols2 = cols.reshape(groups, cg * kh * kw, length)
        b2 = None if bias is None else bias.reshape(groups, o // groups, 1)
    out = MatMulAdd.apply(w2, cols2) if b2 is None else MatMulAdd.apply(w2, cols2, b2)
    if cols.grad_fn is None and out.grad_fn is not None:
        # x needs no gradient, so unfold recorded no node: tell drawings what the product's
        # input 1 was (autograd/viz/dot.py draws x -> Unfold); backward never reads it.
        out.grad_fn.unfolded = (1, x.name, x._meta(), dict(
            kernel=(kh, kw), stride=stride, padding=pads, dilation=dilation))
    # (O, N, OH, OW) or (O, OH, OW, N) -> (N, O, OH, OW): a view, no copy
    if layout == "ckn":
        return out.reshape(o, n, grid[0], grid[1]).transpose(0, 1)
    return out.reshape(o, grid[0], grid[1], n).permute(3, 0, 1, 2)


def _strided_winograd(op, x, weight, bias, stride, pads, dilation, groups, algorithm,
                      user_shape):
    """A 3x3 convolution with stride = dilation as Winograd on every s-th input pixel
    (see ``nn.winograd.as_stride1``), or None."""
    if tuple(weight.shape[2:]) != (3, 3) or tuple(stride) != tuple(dilation):
        return None
    _check_fits(op, x.shape, (3, 3), dilation, pads, user_shape)
    grid = S.grid_of(x.shape, (3, 3), stride, pads, dilation)
    if grid[0] < 1 or grid[1] < 1:
        return None  # _conv2d raises
    sub = _winograd.as_stride1(algorithm, x.shape, weight.shape, stride, dilation, groups,
                               pads, grid, x.dtype)
    if sub is None:
        return None
    (rows, cols), sub_pads = sub
    return _winograd_conv(x[:, :, rows, cols], weight, bias, sub_pads, algorithm)


def _winograd_conv(x, weight, bias, pads, algorithm):
    """Winograd F(4x4, 3x3): as a composite of engine ops (``nn/winograd.py``, the readable
    one, forced by "winograd") or the same algorithm a few images at a time, in cache
    (``nn/winograd_blocked.py``: "auto" and "winograd_blocked")."""
    algorithm = _winograd._DEFAULT[0] if algorithm is None else algorithm
    if algorithm == "winograd":
        return _winograd.conv2d_winograd(x, weight, bias, pads)
    args = (x, weight) if bias is None else (x, weight, bias)
    return _winograd_blocked.WinogradConv.apply(*args, pads=tuple(pads))


def _conv_layout(x_shape, w_shape, stride, grid):
    """Column order for the convolution's im2col.

    "ckn" (C·kh·kw, N·OH·OW): the copies into and out of the window matrix (unfold, fold)
    run along rows of OW elements, and the product comes out as (O, N, OH, OW), which
    is NCHW after a free axis swap. "ckl" (C·kh·kw, OH·OW·N) puts the batch innermost,
    so with stride 1 those copies run along N·OW contiguous elements, at the price of
    putting the input (and the output, as a view) in batch-last memory order. Measured
    on LeNet-sized layers (OW = 14, 5x5 kernels) "ckl" is ~15% faster; for wide images
    (OW >= 16), strided windows or tiny batches "ckn" wins or ties.
    """
    return "ckl" if stride[1] == 1 and grid[1] < 16 and x_shape[0] >= 8 else "ckn"


def _conv_inputs(op, input, weight, bias, groups, stride, dilation, dims, transposed=False):
    """Shared argument handling of the conv functions: batch the input, check shapes, and
    turn stride and dilation into positive ``dims``-tuples."""
    x, unbatched = _batched(_tensor(input), dims, op)
    weight = _tensor(weight)
    bias = None if bias is None else _tensor(bias)
    _check_conv_args(op, x, weight, bias, groups, transposed=transposed,
                     user_shape=_tensor(input).shape)
    stride = _positive(_tuple(stride, dims, "stride", op), "stride", op)
    dilation = _positive(_tuple(dilation, dims, "dilation", op), "dilation", op)
    return x, unbatched, weight, bias, stride, dilation


def _transpose_pads(op, padding, output_padding, dims):
    padding = _non_negative(_tuple(padding, dims, "padding", op), "padding", op)
    output_padding = _non_negative(_tuple(output_padding, dims, "output_padding", op),
                                   "output_padding", op)
    return padding, output_padding


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm=None):
    """2-D cross-correlation (PyTorch's convolution) of input (N, C, H, W) (or (C, H, W))
    with weight (O, C/groups, kh, kw), plus bias (O,).

    ``padding``: an int, a pair, 'valid' (none) or 'same' (output size = input size;
    stride 1 only; an odd total padding puts the extra row/column at the end).

        out[n, o, oh, ow] = bias[o]
                + Σ_c Σ_ij weight[o, c, i, j] · xpad[n, c, oh·S + i·D, ow·S + j·D]

    computed as one matrix product with the unfolded input. Backward (from the engine):
    dL/dweight = dL/dout · colsᵀ (the correlation of the input with dL/dout), dL/dx =
    fold(weightᵀ · dL/dout) (the full convolution of dL/dout with the flipped kernel).
    The output is an NCHW view of the product (its memory may be channel- or batch-major).

    ``algorithm`` (keyword-only, not in PyTorch): "im2col" (the above), "winograd"
    (F(4x4, 3x3), 3x3 stride-1 only: 4x fewer multiplications, as a composite of engine
    ops, see nn/winograd.py), "winograd_blocked" (the same a few images at a time, in
    cache; nn/winograd_blocked.py), "blocked" (im2col + GEMM a block of output rows at a
    time, in cache; see nn/conv_blocked.py) or "auto" (blocked Winograd or blocked im2col
    where each was measured to win); None = the ``conv_algorithm`` in force ("auto" by
    default).
    """
    op = "conv2d"
    x, unbatched, weight, bias, stride, dilation = _conv_inputs(
        op, input, weight, bias, groups, stride, dilation, 2)
    pads = _conv_padding(padding, weight.shape[2:], dilation, stride, op)
    if _winograd.choose(algorithm, x.shape, weight.shape, stride, dilation, groups, pads,
                        x.dtype):
        _check_fits(op, x.shape, (3, 3), dilation, pads, _tensor(input).shape)
        out = _winograd_conv(x, weight, bias, pads, algorithm)
    else:
        out = _strided_winograd(op, x, weight, bias, stride, pads, dilation, groups, algorithm,
                                _tensor(input).shape)
        if out is None:
            out = _conv2d(x, weight, bias, stride, pads, dilation, groups, op,
                          _tensor(input).shape, algorithm)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of input (N, C, L) (or (C, L)) with weight (O, C/groups, k):
    conv2d on a height-1 image."""
    op = "conv1d"
    x, unbatched, weight, bias, stride, dilation = _conv_inputs(
        op, input, weight, bias, groups, stride, dilation, 1)
    pads = (0, 0) + _conv_padding(padding, weight.shape[2:], dilation, stride, op)
    out = _conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + stride, pads,
                  (1,) + dilation, groups, op, _tensor(input).shape).squeeze(2)
    return out.squeeze(0) if unbatched else out


def _conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation, op,
                      user_shape):
    n, cin, h, w = x.shape
    _, cout_g, kh, kw = weight.shape
    cout = cout_g * groups
    for name, vals in (("output_padding", output_padding),):
        for v, s, d in zip(vals, stride, dilation):
            if not (v < s or v < d):
                raise ValueError(f"{op}: {name} {output_padding} must be smaller than either "
                                 f"stride {stride} or dilation {dilation}")
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + op_ + 1 for size, s, p, d, k, op_ in
                   zip((h, w), stride, padding, dilation, (kh, kw), output_padding))
    if out_hw[0] < 1 or out_hw[1] < 1:
        raise RuntimeError(f"{op}: output size {out_hw} is too small (input {tuple(user_shape)}, "
                           f"kernel {(kh, kw)}, stride {stride}, padding {padding}, dilation "
                           f"{dilation}, output_padding {output_padding})")
    # cols = Wᵀ @ x: every input pixel spreads a kh×kw patch; fold adds the patches up.
    xg = x.transpose(0, 1)
    if groups == 1:
        cols = matmul(weight.reshape(cin, cout * kh * kw).t(), xg.reshape(cin, n * h * w))
    else:
        cols = matmul(weight.reshape(groups, cin // groups, cout_g * kh * kw).transpose(1, 2),
                      xg.reshape(groups, cin // groups, n * h * w))
    cols = cols.reshape(cout, kh, kw, n, h, w)
    pads = (padding[0], padding[0], padding[1], padding[1])
    out = O.Fold.apply(cols, output_size=out_hw, kernel=(kh, kw), stride=stride, padding=pads,
                       dilation=dilation, grid=(h, w), layout="ckn")
    if bias is not None:
        out = out + bias.reshape(1, cout, 1, 1)
    return out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed convolution: the gradient of conv2d with respect to its input, used as a
    layer. input (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw); output size
    (H - 1)·S - 2P + D·(kh - 1) + output_padding + 1."""
    op = "conv_transpose2d"
    x, unbatched, weight, bias, stride, dilation = _conv_inputs(
        op, input, weight, bias, groups, stride, dilation, 2, transposed=True)
    padding, output_padding = _transpose_pads(op, padding, output_padding, 2)
    out = _conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation,
                            op, _tensor(input).shape)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution: input (N, C_in, L), weight (C_in, C_out/groups, k)."""
    op = "conv_transpose1d"
    x, unbatched, weight, bias, stride, dilation = _conv_inputs(
        op, input, weight, bias, groups, stride, dilation, 1, transposed=True)
    padding, output_padding = _transpose_pads(op, padding, output_padding, 1)
    out = _conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + stride,
                            (0,) + padding, (0,) + output_padding, groups, (1,) + dilation, op,
                            _tensor(input).shape).squeeze(2)
    return out.squeeze(0) if unbatched else out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding windows as columns, like ``torch.nn.functional.unfold``: input (N, C, H, W)
    -> (N, C·kh·kw, L) with L = OH·OW windows (channel-major, then kernel row, column)."""
    op = "unfold"
    x, unbatched = _batched(_tensor(input), 2, op)
    kernel = _positive(_tuple(kernel_size, 2, "kernel_size", op), "kernel_size", op)
    dilation = _positive(_tuple(dilation, 2, "dilation", op), "dilation", op)
    stride = _positive(_tuple(stride, 2, "stride", op), "stride", op)
    p = _non_negative(_tuple(padding, 2, "padding", op), "padding", op)
    pads = (p[0], p[0], p[1], p[1])
    _check_fits(op, x.shape, kernel, dilation, pads, _tensor(input).shape)
    grid = S.grid_of(x.shape, kernel, stride, pads, dilation)
    cols = O.Unfold.apply(x, kernel=kernel, stride=stride, padding=pads, dilation=dilation,
                          grid=grid, layout="nck")
    n, c = x.shape[:2]
    out = cols.reshape(n, c * kernel[0] * kernel[1], grid[0] * grid[1])
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Adds columns back into an image, like ``torch.nn.functional.fold`` (the adjoint of
    ``unfold``): input (N, C·kh·kw, L) -> (N, C, H, W), overlapping windows summed."""
    op = "fold"
    cols = _tensor(input)
    if cols.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input "
                           f"(N, C·kh·kw, L), got input of shape {tuple(cols.shape)}")
    unbatched = cols.ndim == 2
    if unbatched:
        cols = cols.unsqueeze(0)
    out_hw = _positive(_tuple(output_size, 2, "output_size", op), "output_size", op)
    kernel = _positive(_tuple(kernel_size, 2, "kernel_size", op), "kernel_size", op)
    dilation = _positive(_tuple(dilation, 2, "dilation", op), "dilation", op)
    stride = _positive(_tuple(stride, 2, "stride", op), "stride", op)
    p = _non_negative(_tuple(padding, 2, "padding", op), "padding", op)
    pads = (p[0], p[0], p[1], p[1])
    n, ckk, length = cols.shape
    kk = kernel[0] * kernel[1]
    if ckk % kk:
        raise RuntimeError(f"{op}: input {tuple(_tensor(input).shape)}: dimension 1 ({ckk}) must "
                           f"be divisible by the kernel area {kk} (kernel_size {kernel})")
    _check_fits(op, (n, ckk // kk) + out_hw, kernel, dilation, pads, out_hw)
    grid = S.grid_of((n, 1) + out_hw, kernel, stride, pads, dilation)
    if grid[0] * grid[1] != length:
        raise RuntimeError(f"{op}: input {tuple(_tensor(input).shape)} has {length} columns, but "
                           f"output_size {out_hw} with kernel_size {kernel}, dilation {dilation}, "
                           f"padding {p} and stride {stride} gives {grid[0]}x{grid[1]} = "
                           f"{grid[0] * grid[1]} windows")
    c6 = cols.reshape(n, ckk // kk, kernel[0], kernel[1], grid[0], grid[1])
    out = O.Fold.apply(c6, output_size=out_hw, kernel=kernel, stride=stride, padding=pads,
                       dilation=dilation, grid=grid, layout="nck")
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------- pooling
def _pool_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size (ceil_mode: the last window must start inside the
    input or the left padding)."""
    span = d * (k - 1) + 1
    if ceil_mode:
        o = -(-(size + 2 * p - span) // s) + 1
        if (o - 1) * s >= size + p:
            o -= 1
    else:
        o = (size + 2 * p - span) // s + 1
    return o


def _pool_geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _positive(_tuple(kernel_size, 2, "kernel_size", op), "kernel_size", op)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else _positive(_tuple(stride, 2, "stride", op), "stride", op)
    p = _non_negative(_tuple(padding, 2, "padding", op), "padding", op)
    dilation = _positive(_tuple(dilation, 2, "dilation", op), "dilation", op)
    if any(pp > k // 2 for pp, k in zip(p, kernel)):
        raise RuntimeError(f"{op}: padding {p} should be at most half of kernel_size {kernel}")
    h, w = x.shape[2:]
    grid = tuple(_pool_size(size, k, s, pp, d, ceil_mode)
                 for size, k, s, pp, d in zip((h, w), kernel, stride, p, dilation))
    if grid[0] < 1 or grid[1] < 1:
        raise RuntimeError(f"{op}: output size {grid} is too small: input {tuple(x.shape)} with "
                           f"kernel_size {kernel}, stride {stride}, padding {p} and dilation "
                           f"{dilation}")
    # ceil_mode: the last windows may run past the padded input; pad a bit more at the end
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * pp))
                  for o, s, d, k, size, pp in zip(grid, stride, dilation, kernel, (h, w), p))
    pads = (p[0], p[0] + extra[0], p[1], p[1] + extra[1])
    return kernel, stride, p, dilation, grid, pads


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over each window (stride defaults to kernel_size; padding counts as -inf).

    The gradient goes to the first maximum of each window in row-major order (as in
    PyTorch) and accumulates where windows overlap. With ``return_indices`` also returns
    the flat index (into each input H·W plane) of every chosen maximum.
    """
    op = "max_pool2d"
    x, unbatched = _batched(_tensor(input), 2, op)
    kernel, stride, _, dilation, grid, pads = _pool_geometry(op, x, kernel_size, stride, padding,
                                                             dilation, ceil_mode)
    argmax = S.Argmax()
    out = O.MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=pads, dilation=dilation,
                            grid=grid, argmax=argmax)
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    idx = S.max_pool_indices(argmax, x.shape, kernel, stride, pads, dilation, grid)
    return out, Tensor(idx[0] if unbatched else idx)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling of (N, C, L) (or (C, L)) input."""
    op = "max_pool1d"
    x, unbatched = _batched(_tensor(input), 1, op)
    one = lambda v: (1,) + _tuple(v, 1, "argument", op)  # noqa: E731
    res = max_pool2d(x.unsqueeze(2), one(kernel_size), None if stride is None else one(stride),
                     (0,) + _tuple(padding, 1, "padding", op), one(dilation), ceil_mode,
                     return_indices)
    if return_indices:
        out, idx = res
        out, idx = out.squeeze(2), Tensor(idx._data[:, :, 0])
        return (out.squeeze(0), Tensor(idx._data[0])) if unbatched else (out, idx)
    out = res.squeeze(2)
    return out.squeeze(0) if unbatched else out


def _avg_scale(h, w, kernel, stride, p, grid, ceil_mode, count_include_pad, divisor_override,
               dtype):
    """1/divisor: a number, or an (OH, OW) array where windows hold different counts."""
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"avg_pool2d: divisor_override must be an int, got "
                            f"{divisor_override!r}")
        if divisor_override == 0:  # RuntimeError, as in torch ("divisor must be not zero")
            raise RuntimeError("avg_pool2d: divisor must be not zero (divisor_override=0)")
        return 1.0 / divisor_override
    counts = []
    for size, k, s, pp, o in zip((h, w), kernel, stride, p, grid):
        start = np.arange(o) * s - pp
        end = np.minimum(start + k, size + pp)  # the window, clipped to the padded input
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, size) - np.maximum(start, 0))
    div = np.outer(counts[0], counts[1])
    if np.all(div == kernel[0] * kernel[1]):
        return 1.0 / (kernel[0] * kernel[1])
    return (1.0 / div).astype(dtype)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each window (stride defaults to kernel_size); the gradient is spread
    evenly over the window (1/K² each). ``count_include_pad``: zero padding counts in the
    divisor (windows that ``ceil_mode`` lets run past the padding count only what they
    cover, as in PyTorch)."""
    op = "avg_pool2d"
    x, unbatched = _batched(_tensor(input), 2, op)
    kernel, stride, p, dilation, grid, pads = _pool_geometry(op, x, kernel_size, stride, padding,
                                                             1, ceil_mode)
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    scale = _avg_scale(x.shape[2], x.shape[3], kernel, stride, p, grid, ceil_mode,
                       count_include_pad, divisor_override, dtype)
    out = O.AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=pads, dilation=dilation,
                            grid=grid, scale=scale)
    return out.squeeze(0) if unbatched else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Average pooling of (N, C, L) (or (C, L)) input."""
    op = "avg_pool1d"
    x, unbatched = _batched(_tensor(input), 1, op)
    one = lambda v: (1,) + _tuple(v, 1, "argument", op)  # noqa: E731
    out = avg_pool2d(x.unsqueeze(2), one(kernel_size), None if stride is None else one(stride),
                     (0,) + _tuple(padding, 1, "padding", op), ceil_mode,
                     count_include_pad).squeeze(2)
    return out.squeeze(0) if unbatched else out


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix of PyTorch's adaptive bins
    [floor(i·size/out), ceil((i+1)·size/out))."""
    m = np.zeros((out, size), dtype)
    for i in range(out):
        lo, hi = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (an int, or (OH, OW) with None = keep):
    bin i covers [floor(i·H/OH), ceil((i+1)·H/OH)) as in PyTorch."""
    op = "adaptive_avg_pool2d"
    x, unbatched = _batched(_tensor(input), 2, op)
    h, w = x.shape[2:]
    if _is_int(output_size) or output_size is None:
        output_size = (output_size, output_size)
    if not isinstance(output_size, (tuple, list)) or len(output_size) != 2:
        if isinstance(output_size, (float, np.floating)):
            raise TypeError(f"{op}(): argument 'output_size' must be an int or a pair of ints, "
                            f"not float ({output_size!r})")
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    if any(isinstance(v, (float, np.floating)) for v in output_size):
        raise TypeError(f"{op}(): argument 'output_size' must be a pair of ints (or None), got "
                        f"{tuple(output_size)!r}")
    oh, ow = (h if output_size[0] is None else output_size[0],
              w if output_size[1] is None else output_size[1])
    if not (_is_int(oh) and _is_int(ow)) or oh < 1 or ow < 1:
        raise ValueError(f"{op}: output_size must be positive, got {tuple(output_size)}")
    if h < 1 or w < 1:
        raise RuntimeError(f"{op}: input {tuple(x.shape)} has an empty spatial dimension")
    if (oh, ow) == (1, 1):
        out = x.mean(dim=(2, 3), keepdim=True)
    elif h % oh == 0 and w % ow == 0:
        out = avg_pool2d(x, (h // oh, w // ow))
    else:  # uneven bins: out = Mh @ x @ Mwᵀ with averaging matrices
        dtype = x.dtype if x.dtype.kind == "f" else np.float32
        mh = Tensor(_adaptive_matrix(h, oh, dtype))
        mwt = Tensor(np.ascontiguousarray(_adaptive_matrix(w, ow, dtype).T))
        out = matmul(matmul(mh, x), mwt)
    return out.squeeze(0) if unbatched else out
