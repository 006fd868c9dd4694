"""Ops that move elements: indexing (basic, integer arrays with repeats, boolean masks),
cat/stack/split/chunk/pad, and the reshape family. Forward against NumPy; backward puts
each gradient back where its element came from (repeated indices accumulate)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import (gradcheck, gradgradcheck, index_expressions, shapes, tensors,
                              float_dtypes)


# ------------------------------------------------------------------ indexing
@given(data=st.data())
def test_getitem_matches_numpy_and_gradchecks(data):
    x = data.draw(tensors(dtype=float_dtypes()), label="x")
    idx = data.draw(index_expressions(x.shape), label="index")
    y = x[idx]
    expected = x._data[idx]
    assert y.shape == expected.shape and y.dtype == x.dtype
    np.testing.assert_array_equal(y._data, expected)
    x64 = Tensor(x._data.astype(np.float64), requires_grad=True)
    assert gradcheck(lambda t: t[idx], (x64,))


@given(data=st.data())
def test_getitem_backward_accumulates_repeated_indices(data):
    x = data.draw(tensors(min_dims=1), label="x")
    idx = data.draw(index_expressions(x.shape, kinds=("integer",)), label="index")
    y = x[idx]
    g = data.draw(tensors(shape=y.shape, requires_grad=False), label="g")
    y.backward(g)
    expected = np.zeros(x.shape)
    np.add.at(expected, idx, g._data)
    np.testing.assert_allclose(x.grad._data, expected, atol=1e-12)


@given(data=st.data())
def test_getitem_second_derivative(data):
    x = data.draw(tensors(max_dims=2, max_side=3), label="x")
    idx = data.draw(index_expressions(x.shape), label="index")
    assert gradgradcheck(lambda t: t[idx] * t[idx], (x,))


def test_getitem_accepts_tensor_list_and_bool_tensor_indices():
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    np.testing.assert_array_equal(x[Tensor(np.array([2, 0, 2]))]._data, x._data[[2, 0, 2]])
    np.testing.assert_array_equal(x[[1, 1]]._data, x._data[[1, 1]])
    mask = x > 5
    np.testing.assert_array_equal(x[mask]._data, x._data[x._data > 5])
    x[[0, 0, 2], 1:3].sum().backward()
    expected = np.zeros((3, 4))
    expected[0, 1:3] = 2
    expected[2, 1:3] = 1
    np.testing.assert_array_equal(x.grad._data, expected)


def test_getitem_scalar_index_and_iteration():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows = list(x)
    assert len(rows) == 2 and rows[1].shape == (3,)
    (rows[0] * 2 + rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[2.0] * 3, [1.0] * 3])
    assert x[1, 2].item() == 5.0


def test_getitem_out_of_range_raises_index_error():
    with pytest.raises(IndexError):
        Tensor(np.ones(3))[5]


# ------------------------------------------------------------------ reshape family
@st.composite
def _reshape_targets(draw, shape):
    """A shape with the same number of elements: prime factors regrouped, 1s inserted,
    maybe one side spelled -1."""
    n = int(np.prod(shape))
    primes, m, p = [], n, 2
    while m > 1:
        while m % p == 0:
            primes.append(p)
            m //= p
        p += 1
    primes = draw(st.permutations(primes))
    cuts = sorted(draw(st.sets(st.integers(1, max(len(primes) - 1, 1)), max_size=3)))
    groups, start = [], 0
    for c in cuts + [len(primes)]:
        if c > start:
            groups.append(int(np.prod(primes[start:c])))
            start = c
    for _ in range(draw(st.integers(0, 2))):
        groups.insert(draw(st.integers(0, len(groups))), 1)
    target = tuple(groups)
    if target and draw(st.booleans()):
        i = draw(st.integers(0, len(target) - 1))
        return target, target[:i] + (-1,) + target[i + 1:]
    return target, target


@given(data=st.data())
def test_reshape_and_view(data):
    x = data.draw(tensors(), label="x")
    target, spelled = data.draw(_reshape_targets(x.shape), label="target")
    y = x.reshape(spelled)
    assert y.shape == target
    np.testing.assert_array_equal(y._data, x._data.reshape(target))
    assert x.view(*target).shape == target
    assert gradcheck(lambda t: t.reshape(spelled), (x,))


@given(data=st.data())
def test_permute_transpose_T(data):
    x = data.draw(tensors(min_dims=1), label="x")
    perm = data.draw(st.permutations(range(x.ndim)), label="perm")
    spelled = [p - x.ndim if data.draw(st.booleans()) else p for p in perm]
    np.testing.assert_array_equal(x.permute(*spelled)._data, np.transpose(x._data, perm))
    assert gradcheck(lambda t: t.permute(spelled), (x,))
    d0 = data.draw(st.integers(-x.ndim, x.ndim - 1))
    d1 = data.draw(st.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_array_equal(x.transpose(d0, d1)._data, np.swapaxes(x._data, d0, d1))
    assert gradcheck(lambda t: t.transpose(d0, d1), (x,))
    np.testing.assert_array_equal(x.T._data, x._data.T)
    assert gradcheck(lambda t: t.T, (x,))
    if x.ndim >= 2:
        np.testing.assert_array_equal(x.mT._data, np.swapaxes(x._data, -1, -2))


@given(data=st.data())
def test_flatten_squeeze_unsqueeze(data):
    x = data.draw(tensors(min_dims=1), label="x")
    s = data.draw(st.integers(-x.ndim, x.ndim - 1))
    e = data.draw(st.integers(-x.ndim, x.ndim - 1))
    if s % x.ndim <= e % x.ndim:
        y = x.flatten(s, e)
        s_, e_ = s % x.ndim, e % x.ndim
        expected = x.shape[:s_] + (int(np.prod(x.shape[s_:e_ + 1])),) + x.shape[e_ + 1:]
        assert y.shape == expected
        assert gradcheck(lambda t: t.flatten(s, e), (x,))
    else:
        with pytest.raises(RuntimeError, match="flatten"):
            x.flatten(s, e)
    assert x.squeeze().shape == tuple(n for n in x.shape if n != 1)
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert x.squeeze(d).shape == (np.squeeze(x._data, d).shape if x.shape[d] == 1 else x.shape)
    u = data.draw(st.integers(-x.ndim - 1, x.ndim))
    assert x.unsqueeze(u).shape == np.expand_dims(x._data, u).shape
    assert gradcheck(lambda t: t.unsqueeze(u).squeeze(), (x,))


def test_flatten_of_0d_gives_1d():
    assert Tensor(np.array(3.0)).flatten().shape == (1,)


# ------------------------------------------------------------------ cat / stack / split / pad
@given(data=st.data())
def test_cat(data):
    base = data.draw(shapes(min_dims=1), label="base")
    dim = data.draw(st.integers(-len(base), len(base) - 1), label="dim")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="sizes")
    d = dim % len(base)
    xs = [data.draw(tensors(shape=base[:d] + (n,) + base[d + 1:],
                            requires_grad=data.draw(st.booleans()) or i == 0))
          for i, n in enumerate(sizes)]
    y = A.cat(xs, dim=dim)
    np.testing.assert_array_equal(y._data, np.concatenate([x._data for x in xs], axis=dim))
    assert gradcheck(lambda *ts: A.cat(ts, dim=dim), xs)


@given(data=st.data())
def test_stack(data):
    shape = data.draw(shapes(), label="shape")
    k = data.draw(st.integers(1, 3))
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)), label="dim")
    xs = [data.draw(tensors(shape=shape)) for _ in range(k)]
    y = A.stack(xs, dim=dim)
    np.testing.assert_array_equal(y._data, np.stack([x._data for x in xs], axis=dim))
    assert gradcheck(lambda *ts: A.stack(ts, dim=dim), xs)


@given(data=st.data())
def test_split_and_chunk(data):
    x = data.draw(tensors(min_dims=1, max_side=5), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    n = x.shape[dim]
    size = data.draw(st.integers(1, n + 1), label="size")
    parts = x.split(size, dim=dim)
    expected = np.split(x._data, list(range(size, n, size)), axis=dim)
    assert len(parts) == len(expected)
    for p, e in zip(parts, expected):
        np.testing.assert_array_equal(p._data, e)
    assert gradcheck(lambda t: t.split(size, dim=dim), (x,))  # several outputs
    sections = data.draw(st.lists(st.integers(0, n), min_size=1, max_size=3).map(
        lambda cuts: np.diff([0] + sorted(cuts) + [n]).tolist()), label="sections")
    pieces = A.split(x, sections, dim=dim)
    assert [p.shape[dim] for p in pieces] == sections
    assert gradcheck(lambda t: A.split(t, sections, dim=dim), (x,))
    chunks = data.draw(st.integers(1, n))
    cs = x.chunk(chunks, dim)
    np.testing.assert_array_equal(A.cat(cs, dim)._data, x._data)


@given(data=st.data())
def test_pad(data):
    x = data.draw(tensors(min_dims=1), label="x")
    k = data.draw(st.integers(1, x.ndim), label="padded dims")
    pad = data.draw(st.lists(st.integers(0, 2), min_size=2 * k, max_size=2 * k), label="pad")
    value = data.draw(st.sampled_from([0.0, -1.5]))
    y = A.pad(x, pad, value=value)
    widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in range(k)][::-1]
    np.testing.assert_array_equal(y._data, np.pad(x._data, widths, constant_values=value))
    assert gradcheck(lambda t: A.pad(t, pad, value=value), (x,))
    assert gradgradcheck(lambda t: A.pad(t * t, pad, value=value), (x,))


# ------------------------------------------------------------------ errors
def test_shape_errors_name_op_and_shapes():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"reshape: shape \(4, 2\) is invalid for input of "
                                           r"shape \(2, 3\)"):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError, match=r"cat: .*tensor 0 has shape \(2, 3\) but tensor 1 "
                                           r"has shape \(2, 4\)"):
        A.cat([x, Tensor(np.ones((2, 4)))], dim=0)
    with pytest.raises(RuntimeError, match=r"stack: .*\(2, 3\) at entry 0 and \(3, 2\) at "
                                           r"entry 1"):
        A.stack([x, Tensor(np.ones((3, 2)))])
    with pytest.raises(RuntimeError, match=r"split: sizes \[1, 1\] must sum to the size 3"):
        A.split(x, [1, 1], dim=1)
    with pytest.raises(RuntimeError, match=r"permute: dims \(0, 0\)"):
        x.permute(0, 0)
    with pytest.raises(IndexError, match=r"transpose: dim 2 is out of range"):
        x.transpose(0, 2)
    with pytest.raises(ValueError, match=r"pad: negative padding"):
        A.pad(x, (1, -1))
    with pytest.raises(RuntimeError, match=r"pad: padding \(1, 1, 1\) must have an even length"):
        A.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"mode='mirror'"):
        A.pad(x, (1, 1), mode="mirror")
    with pytest.raises(RuntimeError, match=r"split_size must be positive .*got split_size=0"):
        A.split(x, 0)
    with pytest.raises(RuntimeError, match=r"expand: the shape \(2, 3\) cannot be expanded to "
                                         r"\(4, 3\)"):
        x.expand(4, 3)
    with pytest.raises(RuntimeError, match="expand: the number of sizes provided"):
        x.expand(3)
    with pytest.raises(RuntimeError, match=r"chunk: chunks must be greater than 0, got chunks=0"):
        x.chunk(0)
    with pytest.raises(IndexError, match=r"chunk: dim 2 is out of range"):
        x.chunk(2, dim=2)
    with pytest.raises(IndexError, match=r"unsqueeze: dim 4 is out of range"):
        x.unsqueeze(4)
    with pytest.raises(IndexError, match=r"squeeze: dim -3 is out of range"):
        x.squeeze(-3)


# ------------------------------------------------------------------ pad modes
@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                          ("circular", "wrap")])
@pytest.mark.parametrize("pads", [(1, 2), (2, 0, 1, 1)])
def test_pad_modes_match_numpy_and_gradcheck(mode, np_mode, pads):
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    t = Tensor(x, requires_grad=True)
    widths = [(0, 0)] * x.ndim
    for k in range(len(pads) // 2):
        widths[x.ndim - 1 - k] = (pads[2 * k], pads[2 * k + 1])
    np.testing.assert_array_equal(A.pad(t, pads, mode=mode)._data, np.pad(x, widths, mode=np_mode))
    assert A.gradcheck(lambda z: A.pad(z, pads, mode=mode), (t,))


def test_pad_mode_errors_name_the_problem():
    t = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="mode"):
        A.pad(t, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match="at most 2 for mode='reflect'"):
        A.pad(t, (3, 0), mode="reflect")


def test_pad_modes_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    for mode in ("reflect", "replicate", "circular"):
        a = Tensor(x, requires_grad=True)
        b = torch.tensor(x, requires_grad=True)
        y, yt = A.pad(a, (2, 1, 1, 3), mode=mode), torch.nn.functional.pad(b, (2, 1, 1, 3), mode=mode)
        g = np.random.default_rng(2).standard_normal(yt.shape)
        y.backward(Tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(y._data, yt.detach().numpy())
        np.testing.assert_allclose(a.grad._data, b.grad.numpy())
