"""autograd.functional (jacobian, hessian, vjp, jvp, vhp, hvp) against PyTorch's
torch.autograd.functional on the same float64 functions, plus checks without torch."""
import numpy as np
import pytest
from hypothesis import given, settings

import autograd as A
import autograd.functional as AF
from autograd import Tensor
from autograd.testing import tensors

R = np.random.default_rng(0)
X, Y = R.standard_normal((3,)), R.standard_normal((2, 3))
V1, V2 = R.standard_normal((2,)), R.standard_normal((2, 3))


def f_single(x):
    return (x * x).sum() * x[:2] + x[1:].tanh()


def f_pair(x, y):
    return (y @ x).tanh(), (x.exp() * y).sum(0)


def f_scalar(x, y):
    return ((y @ x).tanh() ** 2).sum() + (x * x * x).sum()


def _nd(*arrays):
    return tuple(Tensor(a.copy()) for a in arrays)


def _th(*arrays):
    import torch
    return tuple(torch.tensor(a) for a in arrays)


def _same(a, b):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
        return
    np.testing.assert_allclose(a._data, b.detach().numpy(), rtol=1e-10, atol=1e-12)


CASES = [
    ("jacobian", f_single, (X,), {}),
    ("jacobian", f_pair, (X, Y), {}),
    ("hessian", lambda x: (x.tanh() * x.sum()).sum(), (X,), {}),
    ("hessian", f_scalar, (X, Y), {}),
    ("vjp", f_single, (X,), dict(v=V1)),
    ("vjp", f_pair, (X, Y), dict(v=(V1, X))),
    ("jvp", f_single, (X,), dict(v=X * 0.5)),
    ("jvp", f_pair, (X, Y), dict(v=(X, V2))),
    ("vhp", f_scalar, (X, Y), dict(v=(X, V2))),
    ("hvp", f_scalar, (X, Y), dict(v=(X, V2))),
    ("hvp", lambda x: (x ** 4).sum(), (X,), dict(v=X)),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_against_torch(case):
    torch = pytest.importorskip("torch")
    name, fn, arrays, kw = case
    nd_in, th_in = _nd(*arrays), _th(*arrays)
    nd_kw = {k: (_nd(*v) if isinstance(v, tuple) else Tensor(v)) for k, v in kw.items()}
    th_kw = {k: (_th(*v) if isinstance(v, tuple) else torch.tensor(v)) for k, v in kw.items()}
    ours = getattr(AF, name)(fn, nd_in if len(nd_in) > 1 else nd_in[0], **nd_kw)
    theirs = getattr(torch.autograd.functional, name)(fn, th_in if len(th_in) > 1
                                                      else th_in[0], **th_kw)
    _same(ours, theirs)


def test_create_graph_allows_differentiating_the_result():
    x = Tensor(X.copy(), requires_grad=True)
    _, g = AF.vjp(lambda t: (t ** 3).sum(), x, create_graph=True)
    assert g.requires_grad
    g.sum().backward()                          # d/dx Σ 3x² = 6x
    np.testing.assert_allclose(x.grad._data, 6 * X)
    h = AF.hessian(lambda t: (t ** 3).sum(), Tensor(X))
    np.testing.assert_allclose(h._data, np.diag(6 * X))
    assert not h.requires_grad


@settings(max_examples=10)
@given(x=tensors(shape=(3,), min_value=-2, max_value=2))
def test_jacobian_matches_finite_differences(x):
    f = lambda t: (t * t).sum() * t.sigmoid()  # noqa: E731
    jac = AF.jacobian(f, x)._data
    eps = 1e-6
    num = np.stack([(f(Tensor(x._data + eps * e))._data - f(Tensor(x._data - eps * e))._data)
                    / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(jac, num, rtol=1e-5, atol=1e-7)


def test_strict_and_argument_errors():
    x = Tensor(X.copy())
    zero = AF.jacobian(lambda a, b: a * 2, (x, Tensor(X.copy())))
    assert np.all(zero[1]._data == 0)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, (x, Tensor(X.copy())), strict=True)
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        AF.jvp(lambda a: a * 2, x, Tensor(np.zeros(2)))
    with pytest.raises(RuntimeError, match="should return a single Tensor with a single"):
        AF.hessian(lambda a: a * 2, x)
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda a: a, [1.0, 2.0])
    assert not x.requires_grad  # the caller's tensor is untouched
