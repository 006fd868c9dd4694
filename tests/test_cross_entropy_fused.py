"""The fused CrossEntropy op keeps softmax(x) from its forward for the ordinary (raw)
backward: against the Tensor path (``create_graph``), the composite log_softmax + nll
path (class weights of ones take it), and PyTorch, in float32 and float64, for odd
sizes, batch 1, non-contiguous and extreme logits, repeated backward (retain_graph) and
an input overwritten in place after forward."""
import numpy as np
import pytest

import autograd as A
from autograd import Tensor
import nn.functional as F

CASES = [(1, 2), (1, 7), (3, 1), (13, 10), (128, 10), (5, 1001)]


def _logits(shape, dtype, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def _targets(n, c, seed=1):
    return np.random.default_rng(seed).integers(0, c, size=n)


def _weights(reduction, n, dtype):
    # a non-uniform upstream gradient for reduction='none'
    return Tensor(np.linspace(-1.0, 2.0, n).astype(dtype)) if reduction == "none" else None


def _loss(x, t, reduction, up, **kw):
    out = F.cross_entropy(x, t, reduction=reduction, **kw)
    return (out * up).sum() if up is not None else out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", CASES)
def test_raw_backward_equals_tensor_path_and_composite(shape, reduction, dtype):
    n, c = shape
    t = Tensor(_targets(n, c))
    up = _weights(reduction, n, dtype)
    x = Tensor(_logits(shape, dtype), requires_grad=True)
    (wrapped,) = A.grad(_loss(x, t, reduction, up), [x], create_graph=True)
    _loss(x, t, reduction, up).backward()
    assert x.grad.dtype == dtype and x.grad.shape == shape
    assert np.array_equal(x.grad.numpy(), wrapped.detach().numpy())
    # weight=ones takes the composite log_softmax + nll_loss path
    x2 = Tensor(x.detach().numpy().copy(), requires_grad=True)
    _loss(x2, t, reduction, up, weight=Tensor(np.ones(c, dtype))).backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", CASES)
def test_matches_torch(shape, reduction, dtype):
    torch = pytest.importorskip("torch")
    n, c = shape
    xv, tv = _logits(shape, dtype, seed=5), _targets(n, c, seed=6)
    up = _weights(reduction, n, dtype)
    x = Tensor(xv, requires_grad=True)
    loss = _loss(x, Tensor(tv), reduction, up)
    loss.backward()
    tx = torch.tensor(xv, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(tx, torch.tensor(tv), reduction=reduction)
    tloss = (tout * torch.tensor(up.numpy())).sum() if up is not None else tout
    tloss.backward()
    tol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(float(loss.item()), float(tloss.item()), rtol=tol)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)


def test_non_contiguous_and_extreme_logits():
    torch = pytest.importorskip("torch")
    base = _logits((10, 9), np.float32, seed=7)
    base[0, 3] = 80.0  # exp would overflow without the max shift
    base[4] = -1e4
    view = base.T[::2]  # (5, 10), non-contiguous
    tv = _targets(5, 10, seed=8)
    x = Tensor(view, requires_grad=True)
    assert not x._data.flags.c_contiguous
    F.cross_entropy(x, Tensor(tv)).backward()
    tx = torch.tensor(np.ascontiguousarray(view), requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(tv)).backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_retain_graph_backward_twice_gives_the_same_gradient():
    x = Tensor(_logits((6, 4), np.float32), requires_grad=True)
    loss = F.cross_entropy(x, Tensor(_targets(6, 4)))
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    loss.backward()
    assert np.array_equal(x.grad.numpy(), first)


def test_input_overwritten_after_forward_makes_backward_raise():
    x = Tensor(_logits((4, 3), np.float64), requires_grad=True)
    h = x * 1.0
    loss = F.cross_entropy(h, Tensor(_targets(4, 3)))
    with A.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


@pytest.mark.parametrize("ignore_index", [-100, 2, 7])
@pytest.mark.parametrize("present", [True, False])
def test_ignore_index_inside_and_outside_the_classes(ignore_index, present):
    """An ignore_index among the targets takes the composite path (those rows count for
    nothing); one outside [0, C) or absent leaves the fused op; both match PyTorch."""
    torch = pytest.importorskip("torch")
    xv = _logits((9, 5), np.float64, seed=9)
    tv = np.array([0, 1, 2, 3, 4, 1, 2, 0, 3])
    if present and 0 <= ignore_index < 5:
        tv[[2, 6]] = ignore_index
    elif not present:
        tv[tv == ignore_index] = 0
    x = Tensor(xv, requires_grad=True)
    loss = F.cross_entropy(x, Tensor(tv), ignore_index=ignore_index)
    loss.backward()
    tx = torch.tensor(xv, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(tv), ignore_index=ignore_index)
    tloss.backward()
    np.testing.assert_allclose(float(loss.item()), float(tloss.item()), rtol=1e-13)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
