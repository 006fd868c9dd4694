"""More reductions: prod and vector norms.

Medians, quantiles, sort, topk, kthvalue, mode, cummax are composites (indices from
NumPy, values gathered at them) in ``autograd/tensor_reduce.py``; matrix norms are
composites of these and of singular values.
"""
import numpy as np

from ..function import Function
from .elementwise import Where
from .reduce import keepdim_shape, normalize_dims


def _back(grad, ctx):
    """The reduced gradient broadcast back to the input's shape."""
    shape = ctx.input_meta[0][0]
    if not ctx.attrs.get("keepdim", False):
        grad = grad.reshape(keepdim_shape(shape, ctx.dims))
    return grad.expand(shape)


class Prod(Function):
    """y = Π x over dims"""
    backward_rule = "dL/dx = dL/dy · Π of the other elements (y / x when there is no zero)"

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim, "prod")
        ctx.save_for_backward(x)
        dtype = x.dtype if x.dtype.kind in "fc" else np.int64
        return np.prod(x, axis=ctx.dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        dims = ctx.dims
        zero = x._data == 0
        g = _back(grad, ctx)
        if not zero.any():
            y = Prod.apply(x, dim=dims, keepdim=True)
            return g * y / x
        # With zeros, y / x is undefined: the product of the others is the product of an
        # exclusive cumprod from the left and one from the right (PyTorch's
        # prod_safe_zeros_backward), over the reduced dims flattened into one.
        shape = x.shape
        keep = [d for d in range(x.ndim) if d not in dims]
        flat = x.permute(keep + list(dims)).reshape([shape[d] for d in keep] + [-1])
        return (g.permute(keep + list(dims)).reshape(flat.shape) * _prod_of_others(flat)) \
            .reshape([shape[d] for d in keep] + [shape[d] for d in dims]) \
            .permute(list(np.argsort(keep + list(dims))))


def _prod_of_others(x):
    """out_i = Π_{j != i} x_j along the last dim (exact with zeros, differentiable)."""
    from ..tensor import cat
    ones = x[..., :1] * 0.0 + 1.0
    left = cat([ones, x[..., :-1]], -1).cumprod(-1)
    right = cat([ones, x.flip(-1)[..., :-1]], -1).cumprod(-1).flip(-1)
    return left * right


class VectorNorm(Function):
    """y = (Σ |x|^ord)^(1/ord) over dims (ord 0: count of nonzeros, ±inf: max/min |x|)"""
    backward_rule = ("dL/dx = dL/dy · sign(x) · |x|^(ord-1) / y^(ord-1) (ord 2: x / y, "
                     "±inf: sign(x) · [|x| == y] / #ties; 0 where y == 0)")

    @staticmethod
    def forward(ctx, x, ord=2, dim=None, keepdim=False):
        ctx.dims = dims = normalize_dims(dim, x.ndim, "vector_norm")
        a = np.abs(x)
        if ord == 2:
            y = np.sqrt(np.sum(a * a, axis=dims, keepdims=keepdim))
        elif ord == np.inf:
            y = np.max(a, axis=dims, keepdims=keepdim)
        elif ord == -np.inf:
            y = np.min(a, axis=dims, keepdims=keepdim)
        elif ord == 0:
            y = np.sum(a != 0, axis=dims, keepdims=keepdim).astype(x.dtype)
        elif ord == 1:
            y = np.sum(a, axis=dims, keepdims=keepdim)
        else:
            with np.errstate(divide="ignore"):
                y = np.sum(a ** ord, axis=dims, keepdims=keepdim) ** (1.0 / ord)
        y = np.asarray(y, dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        ord = ctx.attrs.get("ord", 2)
        g = _back(grad, ctx)
        yk = _back(y, ctx)
        if ord == 0:
            return g * 0.0
        if ord == 1:
            return g * x.sign()
        if ord in (np.inf, -np.inf):
            tie = (np.abs(x._data) == yk._data)
            count = tie.sum(axis=ctx.dims, keepdims=True)
            return g * x.sign() * (tie / count)
        zero = yk._data == 0
        safe_y = Where.apply(zero, yk * 0.0 + 1.0, yk)
        if ord == 2:
            out = g * x / safe_y
        else:
            out = g * x.sign() * x.abs() ** (ord - 1) / safe_y ** (ord - 1)
        return Where.apply(zero, out * 0.0, out)
