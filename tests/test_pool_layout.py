"""max_pool2d's backward writes dL/dx in the input's memory layout, whatever the
gradient's (spatial._in_layout_of): same values as with matching layouts and as
PyTorch, for batch-last and channel-major inputs, odd sizes, padding, batch 1."""
import numpy as np
import pytest

import nn.functional as F
from autograd import Tensor
from autograd.ops.spatial import _memory_order

# (N, C, H, W), kernel, stride, padding
CASES = [((4, 3, 8, 8), 2, 2, 0), ((1, 2, 7, 9), 3, 2, 1), ((3, 2, 5, 6), (2, 3), 1, 0)]
# memory orders of the input, as permutations of NCHW: batch-last, channel-major
ORDERS = [(1, 2, 3, 0), (1, 0, 2, 3)]


def _laid_out(a, order):
    """a (NCHW values) in a buffer whose memory order is ``order``."""
    return np.ascontiguousarray(a.transpose(order)).transpose(np.argsort(order))


@pytest.mark.parametrize("shape,k,s,p", CASES)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_grad_in_input_layout(shape, k, s, p, order, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    plain = Tensor(x, requires_grad=True)
    out = F.max_pool2d(plain, k, s, p)
    g = rng.standard_normal(out.shape).astype(dtype)      # C-contiguous, NCHW
    out.backward(Tensor(g))
    strided = Tensor(_laid_out(x, order), requires_grad=True)
    F.max_pool2d(strided, k, s, p).backward(Tensor(g))
    assert _memory_order(strided.grad.numpy()) == _memory_order(strided.detach().numpy())
    assert strided.grad.dtype == dtype
    np.testing.assert_array_equal(strided.grad.numpy(), plain.grad.numpy())


def test_max_pool_grad_layout_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = _laid_out(rng.standard_normal((2, 3, 9, 8)), ORDERS[0])
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    tout = torch.nn.functional.max_pool2d(tx, 3, 2, 1)
    g = rng.standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(g))
    ax = Tensor(x, requires_grad=True)
    F.max_pool2d(ax, 3, 2, 1).backward(Tensor(g))
    np.testing.assert_allclose(ax.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
