"""Reductions and normalizations: sum, mean, amax/amin, var, logsumexp, softmax.

A reduction's backward broadcasts the upstream gradient back over the reduced
axes: reshape it to the ``keepdim`` shape, then ``expand`` to the input shape.

Tie rule: the value-only ``amax``/``amin`` (and full ``max()``/``min()``) share the
gradient evenly among tied maxima, as PyTorch does.
"""
import numpy as np

from ..function import Function
from .dtypes import as_float


def normalize_dims(dim, ndim, op="reduction"):
    """``dim`` (None, int or tuple, negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    if not isinstance(dim, (int, np.integer, tuple, list)):
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not isinstance(d, (int, np.integer)):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
        if not lo <= d <= hi:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dimensions "
                             f"(expected to be in range of [{lo}, {hi}])")
        d = d % ndim if ndim else 0
        if d in out:
            raise ValueError(f"{op}: dim {d} appears multiple times in {dim!r}")
        out.append(d)
    return tuple(sorted(out)) if ndim else ()  # a 0-d tensor accepts dim 0/-1: nothing to reduce


def check_nonempty_dims(shape, dims, op):
    """max/min/argmax have no identity: reducing over an empty dim is an IndexError, as in
    torch (reducing other dims of an empty tensor gives an empty result)."""
    for d in dims:
        if shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size "
                             f"(input of shape {tuple(shape)})")


def keepdim_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand_back(grad, ctx):
    """Broadcast a reduced gradient back to the input shape."""
    shape = ctx.input_meta[0][0]
    if not ctx.attrs.get("keepdim", False):
        grad = grad.reshape(keepdim_shape(shape, ctx.dims))
    return grad.expand(shape)


class Sum(Function):
    """y = Σ x over dims;  dL/dx = dL/dy broadcast back over the summed dims"""
    backward_rule = "dL/dx = dL/dy broadcast back over the summed dims"

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim, "sum")
        # integers and bools sum to int64, as in torch (NumPy gives uint64 for unsigned)
        return np.sum(x, axis=ctx.dims, keepdims=keepdim,
                      dtype=np.int64 if x.dtype.kind in "bu" else None)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx)


class Mean(Function):
    """y = mean of x over dims;  dL/dx = dL/dy / n broadcast back"""
    backward_rule = "dL/dx = dL/dy / n broadcast back over the reduced dims"

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim, "mean")
        ctx.count = int(np.prod([x.shape[d] for d in ctx.dims]))
        return np.mean(x, axis=ctx.dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad / float(ctx.count), ctx)


class SumToShape(Function):
    """Sum over broadcast axes so the result has ``shape`` (the adjoint of expand)."""
    backward_rule = "dL/dx = dL/dy expanded back to x's shape"

    @staticmethod
    def forward(ctx, x, shape):
        lead = x.ndim - len(shape)
        if lead < 0:
            raise ValueError(f"sum_to_shape: cannot reduce {x.shape} to {shape}")
        axes = list(range(lead))
        for i, s in enumerate(shape):
            if s == 1 and x.shape[lead + i] != 1:
                axes.append(lead + i)
            elif s != x.shape[lead + i]:
                raise ValueError(f"sum_to_shape: cannot reduce {x.shape} to {shape}")
        out = np.sum(x, axis=tuple(axes), keepdims=True) if axes else x
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.input_meta[0][0])


class Expand(Function):
    """y = x broadcast to ``shape`` (a read-only view);  dL/dx = dL/dy summed back"""
    backward_rule = "dL/dx = Σ dL/dy over the expanded dims"

    @staticmethod
    def forward(ctx, x, shape):
        try:
            return np.broadcast_to(x, shape)
        except ValueError:  # a RuntimeError, as in torch
            raise RuntimeError(f"expand: the shape {x.shape} cannot be expanded to "
                               f"{tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.sum_to_shape(ctx.input_meta[0][0])


class AMax(Function):
    """y = max of x over dims; ties share the gradient evenly:
    dL/dx = dL/dy · [x == y] / (number of maxima)"""
    backward_rule = "dL/dx = dL/dy · [x = y] / (number of maxima)"
    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, dim=None, keepdim=False):
        name = cls.__name__.lower()
        ctx.dims = normalize_dims(dim, x.ndim, name)
        if dim is None and x.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0 (input of shape {x.shape})")
        check_nonempty_dims(x.shape, ctx.dims, name)  # no identity: empty dims raise
        y = cls.reduce(x, axis=ctx.dims, keepdims=True)
        ctx.save_for_backward(x, y)
        return y if keepdim else y.reshape(np.delete(x.shape, ctx.dims) if ctx.dims else x.shape)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        mask = x == y
        count = mask.sum(dim=ctx.dims, keepdim=True)
        return _expand_back(grad, ctx) * mask / count


class AMin(AMax):
    """y = min of x over dims; ties share the gradient evenly (as AMax)."""
    backward_rule = "dL/dx = dL/dy · [x = y] / (number of minima)"
    reduce = staticmethod(np.min)


class Var(Function):
    """y = Σ (x - mean)² / (n - correction);  dL/dx = dL/dy · 2 (x - mean) / (n - correction)"""
    backward_rule = "dL/dx = dL/dy · 2(x - mean) / (n - correction)"

    @staticmethod
    def forward(ctx, x, dim=None, correction=1, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim, "var")
        n = int(np.prod([x.shape[d] for d in ctx.dims]))
        ctx.denom = max(n - correction, 0)
        centered = x - np.mean(x, axis=ctx.dims, keepdims=True)
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.sum(centered * centered, axis=ctx.dims, keepdims=keepdim)
                    / np.asarray(ctx.denom, dtype=x.dtype))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # Recomputed with Tensor ops (not saved) so that double backward sees that
        # (x - mean) depends on x. The mean's own term sums to zero.
        centered = x - x.mean(dim=ctx.dims, keepdim=True)
        return _expand_back(grad, ctx) * centered * (2.0 / ctx.denom if ctx.denom else float("nan"))


class LogSumExp(Function):
    """y = log Σ exp(x) (stable: shift by the max);  dL/dx = dL/dy · softmax(x)"""
    backward_rule = "dL/dx = dL/dy · softmax(x)"

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim, "logsumexp")
        x = as_float(x)  # an int tensor gives float32, as in torch
        if x.size == 0:  # log of an empty sum: -inf (as in torch), or an empty result
            y = np.full(keepdim_shape(x.shape, ctx.dims), -np.inf, dtype=x.dtype)
            ctx.save_for_backward(x)
            return y if keepdim else y.reshape(np.delete(x.shape, ctx.dims) if ctx.dims else x.shape)
        m = np.max(x, axis=ctx.dims, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # all -inf: log(0) = -inf is the answer
            y = np.log(np.sum(np.exp(x - m), axis=ctx.dims, keepdims=True)) + m
        ctx.save_for_backward(x)
        return y if keepdim else y.reshape(np.delete(x.shape, ctx.dims) if ctx.dims else x.shape)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # softmax(x) recomputed with Tensor ops so that double backward sees its
        # dependence on x (a saved keepdim copy of y would be a constant).
        softmax = (x - x.logsumexp(dim=ctx.dims, keepdim=True)).exp()
        return _expand_back(grad, ctx) * softmax


class Softmax(Function):
    """y = exp(x - max) / Σ exp(x - max);  dL/dx = y · (dL/dy - Σ dL/dy · y)"""
    backward_rule = "dL/dx = y · (dL/dy - Σ dL/dy · y)"

    @staticmethod
    def forward(ctx, x, dim):
        if x.size == 0:
            y = x.copy()
            ctx.save_for_backward(y)
            return y
        e = np.exp(x - np.max(x, axis=dim, keepdims=True))
        y = e / np.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        dim = ctx.attrs["dim"]
        return y * (grad - (grad * y).sum(dim=dim, keepdim=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x);  dL/dx = dL/dy - softmax(x) · Σ dL/dy"""
    backward_rule = "dL/dx = dL/dy - softmax(x) · Σ dL/dy"

    @staticmethod
    def forward(ctx, x, dim):
        if x.size == 0:
            y = x.copy()
            ctx.save_for_backward(y)
            return y
        shifted = x - np.max(x, axis=dim, keepdims=True)
        y = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        dim = ctx.attrs["dim"]
        return grad - y.exp() * grad.sum(dim=dim, keepdim=True)
