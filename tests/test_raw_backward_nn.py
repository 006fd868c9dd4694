"""nn ops whose backward also runs on raw arrays (``raw_backward``: Linear, the fused
CrossEntropy): an ordinary backward (raw replay) gives exactly the bits of the same
formulas on Tensors (``create_graph=True``), and PyTorch's gradients."""
import numpy as np
import pytest

import autograd as A
from autograd import Tensor, gradgradcheck
import nn.functional as F


def _both_paths(loss_fn, leaves):
    wrapped = A.grad(loss_fn(*leaves), leaves, create_graph=True)
    for leaf in leaves:
        leaf.grad = None
    loss_fn(*leaves).backward()
    return [leaf.grad.numpy() for leaf in leaves], [g.detach().numpy() for g in wrapped]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,bias", [((5, 7), True), ((1, 7), False), ((2, 3, 7), True)])
def test_linear_raw_equals_wrapped(x_shape, bias, dtype):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal(x_shape).astype(dtype), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 7)).astype(dtype), requires_grad=True)
    leaves = [x, w] + ([Tensor(rng.standard_normal(4).astype(dtype), requires_grad=True)]
                       if bias else [])
    g = rng.standard_normal(x_shape[:-1] + (4,)).astype(dtype)

    def loss(x, w, *b):
        return (F.linear(x, w, *b) * Tensor(g)).sum()
    raw, wrapped = _both_paths(loss, leaves)
    for r, t, leaf in zip(raw, wrapped, leaves):
        assert r.dtype == dtype and r.shape == leaf.shape
        assert np.array_equal(r, t)


def test_linear_input_without_grad_and_non_contiguous():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((7, 5))).t()           # (5, 7), a transposed view
    w = Tensor(rng.standard_normal((3, 7)), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)
    raw, wrapped = _both_paths(lambda w, b: F.linear(x, w, b).tanh().sum(), [w, b])
    for r, t in zip(raw, wrapped):
        assert np.array_equal(r, t)
    np.testing.assert_allclose(raw[1], (1 - np.tanh(x.numpy() @ w.detach().numpy().T
                                                    + b.detach().numpy()) ** 2).sum(0))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_raw_equals_wrapped(reduction, dtype):
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((6, 5)).astype(dtype), requires_grad=True)
    t = Tensor(rng.integers(0, 5, size=6))

    def loss(x):
        out = F.cross_entropy(x, t, reduction=reduction)
        return out if reduction != "none" else (out * Tensor(np.arange(6.0, dtype=dtype))).sum()
    (raw,), (wrapped,) = _both_paths(loss, [x])
    assert raw.dtype == dtype and np.array_equal(raw, wrapped)


def test_second_derivatives_still_recorded():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    t = Tensor(np.array([0, 1, 1]))
    assert gradgradcheck(lambda x, w, b: F.cross_entropy(F.linear(x, w, b), t), (x, w, b))


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, w, b = (rng.standard_normal(s) for s in ((8, 6), (5, 6), (5,)))
    t = rng.integers(0, 5, size=8)
    leaves = [Tensor(v, requires_grad=True) for v in (x, w, b)]
    F.cross_entropy(F.linear(*leaves).relu(), Tensor(t)).backward()
    tl = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    torch.nn.functional.cross_entropy(torch.nn.functional.linear(*tl).relu(),
                                      torch.tensor(t)).backward()
    for mine, theirs in zip(leaves, tl):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-12,
                                   atol=1e-14)
