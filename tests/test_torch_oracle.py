"""Differential tests against PyTorch (skipped when torch is not installed): values and
gradients of every op on random float64 inputs with random upstream gradients,
including tie cases (integer-valued inputs) where the tie rules must agree."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import (broadcastable_shapes, index_expressions, shapes, tensors,
                              valid_axes)

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-9, 1e-11


def _arrays(data, *specs):
    return [data.draw(tensors(requires_grad=False, **spec))._data for spec in specs]


def compare(data, nd_fn, th_fn, arrays, grad_mask=None, rtol=RTOL, atol=ATOL):
    """Run nd_fn on Tensors and th_fn on torch tensors made from ``arrays``; compare the
    outputs, then the input gradients for a random upstream gradient per output."""
    grad_mask = grad_mask or [a.dtype.kind == "f" for a in arrays]
    nd_in = [Tensor(a.copy(), requires_grad=g) for a, g in zip(arrays, grad_mask)]
    th_in = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_mask)]
    nd_out, th_out = nd_fn(*nd_in), th_fn(*th_in)
    nd_out = list(nd_out) if isinstance(nd_out, (tuple, list)) else [nd_out]
    th_out = list(th_out) if isinstance(th_out, (tuple, list)) else [th_out]
    assert len(nd_out) == len(th_out)
    for n, t in zip(nd_out, th_out):
        t = t.detach().numpy()
        assert n.shape == t.shape, (n.shape, t.shape)
        np.testing.assert_allclose(n._data, t, rtol=rtol, atol=atol)
    pairs = [(n, t) for n, t in zip(nd_out, th_out) if t.requires_grad]
    wrt = [i for i, g in enumerate(grad_mask) if g]
    if not pairs or not wrt:
        return
    ups = [data.draw(tensors(shape=t.shape, requires_grad=False), label="upstream")._data
           for _, t in pairs]
    nd_grads = A.grad([n for n, _ in pairs], [nd_in[i] for i in wrt],
                      [Tensor(u) for u in ups], allow_unused=True)
    th_grads = torch.autograd.grad([t for _, t in pairs], [th_in[i] for i in wrt],
                                   [torch.tensor(u) for u in ups], allow_unused=True)
    for i, gn, gt in zip(wrt, nd_grads, th_grads):
        gn = np.zeros(arrays[i].shape) if gn is None else gn._data
        gt = np.zeros(arrays[i].shape) if gt is None else gt.numpy()
        np.testing.assert_allclose(gn, gt, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")


TIES = dict(elements=st.integers(-2, 2).map(float))  # small integers: ties everywhere
POS = dict(min_value=0.1, max_value=5)

# --------------------------------------------------------------------------- elementwise
UNARY = {
    "neg": (lambda t: -t, {}), "exp": (lambda t: t.exp(), dict(min_value=-5, max_value=5)),
    "log": (lambda t: t.log(), POS), "sqrt": (lambda t: t.sqrt(), POS),
    "tanh": (lambda t: t.tanh(), {}), "sigmoid": (lambda t: t.sigmoid(), {}),
    "relu": (lambda t: t.relu(), TIES), "abs": (lambda t: t.abs(), TIES),
    "sign": (lambda t: t.sign(), TIES), "clamp": (lambda t: t.clamp(-1.0, 1.0), TIES),
    "clamp_min": (lambda t: t.clamp(min=0.0), TIES),
    "clamp_max": (lambda t: t.clamp(max=1.0), TIES),
    "pow2": (lambda t: t ** 2, TIES), "pow3": (lambda t: t ** 3, {}),
    "pow0": (lambda t: t ** 0, TIES), "pow_half": (lambda t: t ** 0.5, POS),
    "pow_neg": (lambda t: t ** -1.5, POS), "rpow": (lambda t: 1.5 ** t, {}),
    "rdiv": (lambda t: 2.0 / t, POS), "rsub": (lambda t: 3.0 - t, {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary(name, data):
    fn, spec = UNARY[name]
    compare(data, fn, fn, _arrays(data, spec))


BINARY = {
    "add": (lambda a, b: a + b, {}, {}), "sub": (lambda a, b: a - b, {}, {}),
    "mul": (lambda a, b: a * b, {}, {}),
    "div": (lambda a, b: a / b, {}, dict(min_value=0.5, max_value=4)),
    "pow": (lambda a, b: a ** b, POS, dict(min_value=-2, max_value=2)),
    "pow_ties": (lambda a, b: a ** b, dict(elements=st.integers(0, 2).map(float)),
                 dict(elements=st.integers(0, 2).map(float))),
    "maximum": (lambda a, b: a.maximum(b), TIES, TIES),
    "minimum": (lambda a, b: a.minimum(b), TIES, TIES),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_broadcasting(name, data):
    fn, sa, sb = BINARY[name]
    shape_a, shape_b = data.draw(broadcastable_shapes(2))
    arrays = _arrays(data, dict(sa, shape=shape_a), dict(sb, shape=shape_b))
    grads = data.draw(st.sampled_from([[True, True], [True, False], [False, True]]))
    compare(data, fn, fn, arrays, grads)


@given(data=st.data())
def test_where(data):
    s = data.draw(broadcastable_shapes(3))
    cond = data.draw(tensors(shape=s[0], dtype=np.bool_))._data
    a, b = _arrays(data, dict(shape=s[1]), dict(shape=s[2]))
    compare(data, lambda x, y: A.where(Tensor(cond), x, y),
            lambda x, y: torch.where(torch.tensor(cond), x, y), [a, b])


# --------------------------------------------------------------------------- reductions
def _torch_dim(dim, ndim):
    return (tuple(range(ndim)) or 0) if dim is None else dim


REDUCE = {
    "sum": ({}, lambda t, d, k: t.sum(dim=d, keepdim=k),
            lambda t, d, k: t.sum(dim=_torch_dim(d, t.ndim), keepdim=k)),
    "mean": ({}, lambda t, d, k: t.mean(dim=d, keepdim=k),
             lambda t, d, k: t.mean(dim=_torch_dim(d, t.ndim), keepdim=k)),
    "amax": (TIES, lambda t, d, k: t.amax(dim=d, keepdim=k),
             lambda t, d, k: t.amax(dim=_torch_dim(d, t.ndim), keepdim=k)),
    "amin": (TIES, lambda t, d, k: t.amin(dim=d, keepdim=k),
             lambda t, d, k: t.amin(dim=_torch_dim(d, t.ndim), keepdim=k)),
    "logsumexp": ({}, lambda t, d, k: t.logsumexp(dim=d, keepdim=k),
                  lambda t, d, k: t.logsumexp(dim=_torch_dim(d, t.ndim), keepdim=k)),
    "var": ({}, lambda t, d, k: t.var(dim=d, keepdim=k, correction=0),
            lambda t, d, k: t.var(dim=_torch_dim(d, t.ndim), keepdim=k, correction=0)),
    # distinct: equal non-integer values have a rounding-noise std (1e-16) in torch
    "std": (dict(distinct=True), lambda t, d, k: t.std(dim=d, keepdim=k, correction=0),
            lambda t, d, k: t.std(dim=_torch_dim(d, t.ndim), keepdim=k, correction=0)),
}


@pytest.mark.parametrize("name", sorted(REDUCE))
@given(data=st.data())
def test_reductions_with_ties(name, data):
    """Integer-valued inputs: ties for amax/amin, zero spread for var/std (gradient 0)."""
    spec, nd, th = REDUCE[name]
    (x,) = _arrays(data, TIES)
    dim = data.draw(valid_axes(x.shape), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    compare(data, lambda t: nd(t, dim, keepdim), lambda t: th(t, dim, keepdim), [x])


@pytest.mark.parametrize("name", sorted(REDUCE))
@given(data=st.data())
def test_reductions(name, data):
    spec, nd, th = REDUCE[name]
    (x,) = _arrays(data, spec)
    dim = data.draw(valid_axes(x.shape), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    compare(data, lambda t: nd(t, dim, keepdim), lambda t: th(t, dim, keepdim), [x])


@given(data=st.data())
def test_var_std_unbiased(data):
    (x,) = _arrays(data, dict(distinct=True, min_dims=1))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    if x.shape[dim] < 2:
        return
    for method in ("var", "std"):
        compare(data, lambda t: getattr(t, method)(dim), lambda t: getattr(t, method)(dim), [x])


@pytest.mark.parametrize("method", ["max", "min"])
@given(data=st.data())
def test_full_max_min_with_ties(method, data):
    (x,) = _arrays(data, TIES)
    compare(data, lambda t: getattr(t, method)(), lambda t: getattr(t, method)(), [x])


@pytest.mark.parametrize("method", ["max", "min"])
@given(data=st.data())
def test_max_min_dim_with_ties(method, data):
    (x,) = _arrays(data, dict(TIES, min_dims=1))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    keepdim = data.draw(st.booleans())
    nd = getattr(Tensor(x), method)(dim, keepdim=keepdim)
    th = getattr(torch.tensor(x), method)(dim, keepdim=keepdim)
    np.testing.assert_array_equal(nd.indices._data, th.indices.numpy())
    compare(data, lambda t: getattr(t, method)(dim, keepdim=keepdim)[0],
            lambda t: getattr(t, method)(dim, keepdim=keepdim)[0], [x])


@given(data=st.data())
def test_argmax_argmin_with_ties(data):
    (x,) = _arrays(data, dict(TIES, min_dims=1))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    for m in ("argmax", "argmin"):
        np.testing.assert_array_equal(getattr(Tensor(x), m)(dim)._data,
                                      getattr(torch.tensor(x), m)(dim).numpy())
        assert getattr(Tensor(x), m)().item() == getattr(torch.tensor(x), m)().item()


@pytest.mark.parametrize("method", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_family(method, data):
    (x,) = _arrays(data, dict(min_dims=1))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    compare(data, lambda t: getattr(t, method)(dim), lambda t: getattr(t, method)(dim), [x])


# --------------------------------------------------------------------------- shape ops
@given(data=st.data())
def test_getitem(data):
    (x,) = _arrays(data, {})
    idx = data.draw(index_expressions(x.shape, negative_steps=False), label="index")
    items = idx if isinstance(idx, tuple) else (idx,)
    th_items = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in items)
    th_idx = th_items if isinstance(idx, tuple) else th_items[0]
    compare(data, lambda t: t[idx], lambda t: t[th_idx], [x])


@given(data=st.data())
def test_reshape_family(data):
    (x,) = _arrays(data, dict(min_dims=1))
    nd = x.ndim
    perm = data.draw(st.permutations(range(nd)))
    d0, d1 = (data.draw(st.integers(-nd, nd - 1)) for _ in range(2))
    u = data.draw(st.integers(-nd - 1, nd))
    s = data.draw(st.integers(-nd, nd - 1))
    e = data.draw(st.integers(s % nd, nd - 1))
    cases = [
        (lambda t: t.reshape(-1), lambda t: t.reshape(-1)),
        (lambda t: t.reshape(x.shape[::-1]), lambda t: t.reshape(x.shape[::-1])),
        (lambda t: t.permute(*perm), lambda t: t.permute(*perm)),
        (lambda t: t.transpose(d0, d1), lambda t: t.transpose(d0, d1)),
        (lambda t: t.unsqueeze(u), lambda t: t.unsqueeze(u)),
        (lambda t: t.squeeze(), lambda t: t.squeeze()),
        (lambda t: t.squeeze(d0), lambda t: t.squeeze(d0)),
        (lambda t: t.flatten(s, e), lambda t: t.flatten(s, e)),
        (lambda t: t.expand((2,) + x.shape), lambda t: t.expand((2,) + x.shape)),
        (lambda t: t.T, lambda t: t.permute(*reversed(range(t.ndim)))),
    ]
    if nd >= 2:
        cases.append((lambda t: t.mT, lambda t: t.mT))
    for nd_fn, th_fn in cases:
        compare(data, nd_fn, th_fn, [x])


@given(data=st.data())
def test_cat_stack(data):
    base = data.draw(shapes(min_dims=1), label="base")
    dim = data.draw(st.integers(-len(base), len(base) - 1))
    d = dim % len(base)
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    arrays = _arrays(data, *[dict(shape=base[:d] + (n,) + base[d + 1:]) for n in sizes])
    compare(data, lambda *ts: A.cat(ts, dim), lambda *ts: torch.cat(ts, dim), arrays)
    same = _arrays(data, *[dict(shape=base)] * len(sizes))
    sd = data.draw(st.integers(-len(base) - 1, len(base)))
    compare(data, lambda *ts: A.stack(ts, sd), lambda *ts: torch.stack(ts, sd), same)


@given(data=st.data())
def test_split_chunk_pad(data):
    (x,) = _arrays(data, dict(min_dims=1, max_side=5))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[dim]
    size = data.draw(st.integers(1, n + 1))
    compare(data, lambda t: t.split(size, dim), lambda t: t.split(size, dim), [x])
    chunks = data.draw(st.integers(1, n))
    compare(data, lambda t: t.chunk(chunks, dim), lambda t: t.chunk(chunks, dim), [x])
    k = data.draw(st.integers(1, x.ndim))
    pad = data.draw(st.lists(st.integers(0, 2), min_size=2 * k, max_size=2 * k))
    compare(data, lambda t: A.pad(t, pad, value=0.5),
            lambda t: torch.nn.functional.pad(t, pad, value=0.5), [x])


# --------------------------------------------------------------------------- matmul
@given(data=st.data())
def test_matmul(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    ba, bb = data.draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    sa = (k,) if data.draw(st.booleans()) else ba + (n, k)
    sb = (k,) if data.draw(st.booleans()) else bb + (k, m)
    compare(data, lambda a, b: a @ b, lambda a, b: a @ b, _arrays(data, dict(shape=sa),
                                                                  dict(shape=sb)))


# --------------------------------------------------------------------------- second order
@given(data=st.data())
def test_double_backward_matches_torch(data):
    (x,) = _arrays(data, dict(max_dims=2, max_side=3, min_value=-2, max_value=2))
    w = data.draw(tensors(shape=x.shape, requires_grad=False))._data

    def f(t, lib):
        y = (t.tanh() * t).sum() + (t.sigmoid() * t * t).sum() + t.exp().sum() ** 0.5
        (g,) = lib.autograd.grad(y, t, create_graph=True) if lib is torch else A.grad(
            y, t, create_graph=True)
        return (g * (Tensor(w) if lib is A else torch.tensor(w))).sum()

    tn = Tensor(x.copy(), requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    (hn,) = A.grad(f(tn, A), tn)
    (ht,) = torch.autograd.grad(f(tt, torch), tt)
    np.testing.assert_allclose(hn._data, ht.numpy(), rtol=1e-9, atol=1e-11)


# --------------------------------------------------------------------------- repr
@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0], [0.1, 0.25, 3.0], [[1.5, -2.0], [3.0, 4.0]],
                                    3.5, [1, 2, 3], [True, False], [1e-8, 1.0], []])
def test_repr_matches_torch(values):
    assert repr(A.tensor(values)) == repr(torch.tensor(values))
    g = A.tensor([0.5, 1.0], requires_grad=True)
    tg = torch.tensor([0.5, 1.0], requires_grad=True)
    assert repr(g) == repr(tg)
    assert repr(g * 2).replace("MulBackward", "MulBackward0") == repr(tg * 2)
