"""Scans (running reductions along one dim): cumsum, cumprod, logcumsumexp.

cummax/cummin are composites (indices from NumPy, values gathered at them, so the
gradient goes to the index), in ``autograd/tensor_reduce.py``.
"""
import numpy as np

from ..function import Function


def _reverse_cumsum(t, dim):
    """Σ_{j >= i} t_j along ``dim`` (with Tensor ops)."""
    return t.flip(dim).cumsum(dim).flip(dim)


class Cumsum(Function):
    """y_i = Σ_{j <= i} x_j along ``dim``"""
    backward_rule = "dL/dx_i = Σ_{j >= i} dL/dy_j (a reversed cumsum)"

    @staticmethod
    def forward(ctx, x, dim):
        return np.cumsum(x, axis=dim, dtype=x.dtype if x.dtype.kind in "fc" else np.int64)

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.attrs["dim"])


class Cumprod(Function):
    """y_i = Π_{j <= i} x_j along ``dim``"""
    backward_rule = "dL/dx_i = Σ_{j >= i} dL/dy_j · Π_{k <= j, k != i} x_k"

    @staticmethod
    def forward(ctx, x, dim):
        y = np.cumprod(x, axis=dim)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dim = ctx.attrs["dim"]
        if not np.any(x._data == 0):
            return _reverse_cumsum(grad * y, dim) / x
        # With zeros, y / x is undefined: build, for each i, the running product with x_i
        # replaced by 1 (an n x n matrix per line; exact, but O(n²)).
        xm = x.movedim(dim, -1)
        gm = grad.movedim(dim, -1)
        n = xm.shape[-1]
        eye = np.eye(n, dtype=bool)
        rows = xm.unsqueeze(-2).expand(xm.shape[:-1] + (n, n))   # rows[..., i, k] = x_k
        excl = rows.masked_fill(eye, 1.0).cumprod(-1)              # Π_{k <= j, k != i}
        upper = np.triu(np.ones((n, n), dtype=bool))               # j >= i
        gx = (excl * gm.unsqueeze(-2)).masked_fill(~upper, 0.0).sum(-1)
        return gx.movedim(-1, dim)


class LogCumSumExp(Function):
    """y_i = log Σ_{j <= i} exp(x_j) along ``dim`` (stable)"""
    backward_rule = "dL/dx_i = Σ_{j >= i} dL/dy_j · exp(x_i - y_j)"

    @staticmethod
    def forward(ctx, x, dim):
        y = np.logaddexp.accumulate(x, axis=dim)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dim = ctx.attrs["dim"]
        xm, ym, gm = x.movedim(dim, -1), y.movedim(dim, -1), grad.movedim(dim, -1)
        n = xm.shape[-1]
        # exp(x_i - y_j) <= 1 for j >= i (y_j >= x_i): no overflow. O(n²) per line.
        diff = xm.unsqueeze(-1) - ym.unsqueeze(-2)                  # [..., i, j]
        lower = np.tril(np.ones((n, n), dtype=bool), -1)            # j < i: not summed
        weights = diff.masked_fill(lower, -np.inf).exp()
        gx = (weights * gm.unsqueeze(-2)).sum(-1)
        return gx.movedim(-1, dim)
