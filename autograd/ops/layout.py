"""Copy and layout ops: clone, flip, roll, tril/triu, diagonal/diag_embed, repeat.

Each moves (or copies, or masks) elements without doing arithmetic on them; the
backward moves the gradient back to where each element came from. Ops that are a
view plus indexing (narrow, select, unfold, repeat_interleave, rot90, movedim) are
composites in ``autograd/tensor_ops.py`` and take their gradient from GetItem/Permute.
"""
import numpy as np

from ..function import Function


class Clone(Function):
    """y = a copy of x (its own memory)"""
    backward_rule = "dL/dx = dL/dy"

    @staticmethod
    def forward(ctx, x):
        return np.array(x, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Flip(Function):
    """y = x reversed along ``dims``"""
    backward_rule = "dL/dx = flip(dL/dy, dims)"

    @staticmethod
    def forward(ctx, x, dims):
        return np.flip(x, dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, dims=ctx.attrs["dims"])


class Roll(Function):
    """y = x shifted cyclically by ``shifts`` along ``dims`` (flattened when dims is None)"""
    backward_rule = "dL/dx = roll(dL/dy, -shifts, dims)"

    @staticmethod
    def forward(ctx, x, shifts, dims):
        if dims is None:
            return np.roll(x.reshape(-1), shifts).reshape(x.shape)
        return np.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        shifts = ctx.attrs["shifts"]
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return Roll.apply(grad, shifts=neg, dims=ctx.attrs["dims"])


class Tril(Function):
    """y = x with the elements above the ``diagonal``-th diagonal zeroed (``upper``: below)"""
    backward_rule = "dL/dx = tril(dL/dy, diagonal)"

    @staticmethod
    def forward(ctx, x, diagonal=0, upper=False):
        return np.triu(x, diagonal) if upper else np.tril(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return Tril.apply(grad, **ctx.attrs)


def _diag_index(n1, n2, offset):
    """Row and column indices of the ``offset`` diagonal of an n1 x n2 matrix."""
    length = max(0, min(n1 + min(offset, 0), n2 - max(offset, 0)))
    k = np.arange(length)
    return k - min(offset, 0), k + max(offset, 0)


def _diagonal_view(x, offset, dim1, dim2):
    """The diagonal as a view of x that can be written, as torch's (``np.diagonal``'s view
    is read-only): the other dims keep their strides, the last steps both dims at once."""
    start = [slice(None)] * x.ndim
    start[dim2 if offset >= 0 else dim1] = slice(abs(offset), None)
    y = x[tuple(start)]
    n = max(0, min(y.shape[dim1], y.shape[dim2]))
    keep = [d for d in range(x.ndim) if d not in (dim1, dim2)]
    shape = tuple(y.shape[d] for d in keep) + (n,)
    strides = tuple(y.strides[d] for d in keep) + (y.strides[dim1] + y.strides[dim2],)
    return np.lib.stride_tricks.as_strided(y, shape, strides, writeable=y.flags.writeable)


class Diagonal(Function):
    """y = the ``offset`` diagonal of the (dim1, dim2) matrices of x, as the last dim"""
    backward_rule = "dL/dx = diag_embed(dL/dy, offset, dim1, dim2) (zeros off the diagonal)"

    @staticmethod
    def forward(ctx, x, offset=0, dim1=0, dim2=1):
        return _diagonal_view(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        return DiagonalScatter.apply(grad, shape=ctx.input_meta[0][0], **ctx.attrs)


class DiagonalScatter(Function):
    """y = zeros(shape) with x written on the ``offset`` diagonal of the (dim1, dim2)
    matrices (the adjoint of Diagonal; diag_embed when dim1/dim2 are new dims)"""
    backward_rule = "dL/dx = diagonal(dL/dy, offset, dim1, dim2)"

    @staticmethod
    def forward(ctx, x, shape, offset=0, dim1=0, dim2=1):
        out = np.zeros(shape, dtype=x.dtype)
        moved = np.moveaxis(out, (dim1, dim2), (-2, -1))  # a view: writes land in out
        rows, cols = _diag_index(moved.shape[-2], moved.shape[-1], offset)
        moved[..., rows, cols] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return Diagonal.apply(grad, offset=a["offset"], dim1=a["dim1"], dim2=a["dim2"])


class Repeat(Function):
    """y = x tiled ``reps`` times along each dim (``Tensor.repeat``; leading dims added)"""
    backward_rule = "dL/dx = Σ over the copies of dL/dy"

    @staticmethod
    def forward(ctx, x, reps):
        return np.tile(x.reshape((1,) * (len(reps) - x.ndim) + x.shape), reps)

    @staticmethod
    def backward(ctx, grad):
        reps = ctx.attrs["reps"]
        shape = ctx.input_meta[0][0]
        full = (1,) * (len(reps) - len(shape)) + tuple(shape)
        split = []
        for r, s in zip(reps, full):
            split += [r, s]
        summed = grad.reshape(split).sum(dim=tuple(range(0, 2 * len(reps), 2)))
        return summed.reshape(shape)
