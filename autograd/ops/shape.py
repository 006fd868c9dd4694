"""Ops that move elements around without changing them: reshape, transpose,
permute, indexing, concatenation, padding. Their backward moves the gradient
back to where each element came from.
"""
import numpy as np

from ..function import Function
from .dtypes import result_type


class Reshape(Function):
    """y = x viewed with a new shape;  dL/dx = dL/dy reshaped back"""
    backward_rule = "dL/dx = dL/dy reshaped to x's shape"

    @staticmethod
    def forward(ctx, x, shape):
        try:
            return x.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"reshape: shape {tuple(shape)} is invalid for input of shape {x.shape} "
                f"({x.size} elements)") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_meta[0][0])


class Permute(Function):
    """y = x with axes reordered;  dL/dx = dL/dy with the inverse permutation"""
    backward_rule = "dL/dx = dL/dy permuted back (inverse permutation)"

    @staticmethod
    def forward(ctx, x, dims):
        if sorted(dims) != list(range(x.ndim)):
            raise RuntimeError(f"permute: dims {tuple(dims)} are not a permutation of the "
                               f"{x.ndim} dimensions of input {x.shape}")
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(tuple(np.argsort(ctx.attrs["dims"])))


class Transpose(Function):
    """y = x with two axes swapped;  dL/dx = dL/dy with them swapped back"""
    backward_rule = "dL/dx = dL/dy with the two axes swapped back"

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        return np.swapaxes(x, dim0, dim1)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.attrs["dim0"], ctx.attrs["dim1"])


def _has_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (list, np.ndarray)) for i in items)


class GetItem(Function):
    """y = x[index];  dL/dx = zeros with dL/dy added at the indexed places
    (repeated indices accumulate)"""
    backward_rule = "dL/dx = zeros,  dL/dx[index] += dL/dy"

    @staticmethod
    def forward(ctx, x, index):
        out = x[index]
        if not isinstance(out, np.ndarray):  # ints only: NumPy gives a scalar, torch a
            out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]  # 0-d view
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, dtype = ctx.input_meta[0]
        return IndexAdd.apply(grad, shape=shape, index=ctx.attrs["index"])


class IndexAdd(Function):
    """y = zeros(shape) with x added at ``index`` (the adjoint of x[index])."""
    backward_rule = "dL/dx = dL/dy[index]"

    @staticmethod
    def forward(ctx, x, shape, index):
        out = np.zeros(shape, dtype=x.dtype)
        if _has_advanced(index):
            np.add.at(out, index, x)  # accumulates repeated indices
        else:
            out[index] = x  # basic indexing never repeats an element
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, index=ctx.attrs["index"])


class Cat(Function):
    """y = [x₀, x₁, ...] joined along ``dim``;  dL/dxᵢ = the matching slice of dL/dy"""
    backward_rule = "dL/dxᵢ = the slice of dL/dy where xᵢ was placed"

    @staticmethod
    def forward(ctx, *xs, dim=0):
        return np.concatenate(xs, axis=dim, dtype=result_type(*xs))  # torch's promotion

    @staticmethod
    def backward(ctx, grad):
        dim = ctx.attrs["dim"]
        grads, start = [], 0
        for (shape, _), needed in zip(ctx.input_meta, ctx.needs_input_grad):
            size = shape[dim]
            if needed:
                index = (slice(None),) * (dim % len(shape)) + (slice(start, start + size),)
                grads.append(grad[index])
            else:
                grads.append(None)
            start += size
        return tuple(grads)


class Pad(Function):
    """Constant padding like ``torch.nn.functional.pad``; dL/dx = the un-padded slice of dL/dy"""
    backward_rule = "dL/dx = dL/dy with the padding cut off (reflected/replicated/wrapped parts added back)"

    @staticmethod
    def forward(ctx, x, pad, value=0.0):
        if len(pad) % 2 or len(pad) // 2 > x.ndim:
            raise RuntimeError(f"pad: padding {tuple(pad)} must have an even length of at most "
                             f"2 * {x.ndim} for input of shape {x.shape}")
        widths = [(0, 0)] * x.ndim
        for i in range(len(pad) // 2):  # pad lists the last dimension first
            lo, hi = pad[2 * i], pad[2 * i + 1]
            if lo < 0 or hi < 0:
                raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
            widths[x.ndim - 1 - i] = (lo, hi)
        ctx.widths = widths
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        index = tuple(slice(lo, grad.shape[i] - hi) for i, (lo, hi) in enumerate(ctx.widths))
        return grad[index]
