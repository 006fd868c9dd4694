"""Assignment into a tensor, as a differentiable op: what ``x[index] = v`` records.

``Tensor.__setitem__`` and the other in-place methods write into the tensor's memory;
when gradients flow, the write is also recorded as the out-of-place op below, and the
tensor takes its result's place in the graph (PyTorch's "rebase of history").
"""
import numpy as np

from ..function import Function
from .shape import GetItem


def _target(arr, steps):
    """The view of ``arr`` that the last index step assigns into (earlier steps are
    basic indices -- ints, slices, None -- so they give views, never copies)."""
    for step in steps[:-1]:
        arr = arr[step]
    return arr


class IndexPut(Function):
    """y = x with y[index] = v (v broadcast to the indexed shape);
    dL/dx = dL/dy with the indexed places zeroed,  dL/dv = dL/dy[index] (summed to v's shape)"""
    backward_rule = "dL/dx = dL/dy with dL/dx[index] = 0,  dL/dv = dL/dy[index]"

    @staticmethod
    def forward(ctx, x, v, steps):
        out = np.array(x)  # x's dtype: the tensor written into keeps its dtype
        _target(out, steps)[steps[-1]] = v
        return out

    @staticmethod
    def backward(ctx, grad):
        steps = ctx.attrs["steps"]
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = IndexPut.apply(grad, grad._wrap(0), steps=steps)
        if ctx.needs_input_grad[1]:
            gv = grad
            for step in steps:
                gv = GetItem.apply(gv, index=step)
        return gx, gv
