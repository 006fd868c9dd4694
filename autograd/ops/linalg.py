"""Matrix multiplication.

For Y = X · W (batched and broadcast over leading dims):
    dL/dX = dL/dY · Wᵀ      dL/dW = Xᵀ · dL/dY
The engine sums the gradient over any broadcast batch dimensions. 1-D operands
are promoted to matrices by ``Tensor.matmul`` before this op sees them.
"""
from .. import _blas
from ..function import Function


class MatMul(Function):
    backward_rule = "dL/da = dL/dy @ bᵀ,  dL/db = aᵀ @ dL/dy"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _blas.matmul(a, b)  # np.matmul on the thread count measured faster

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        ga = grad @ b.transpose(-1, -2) if da else None
        gb = a.transpose(-1, -2) @ grad if db else None
        return ga, gb
