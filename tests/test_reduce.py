"""Reductions and normalizations: sum, mean, amax/amin, max/min, var/std, logsumexp,
softmax, log_softmax, expand/sum_to_shape. Forward values against NumPy for every
``dim`` spelling (None, int, tuple, negative) and ``keepdim``; gradients by central
differences; PyTorch's tie rules."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import gradcheck, gradgradcheck, tensors, valid_axes, float_dtypes


def _logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axis) if axis is not None else y.reshape(())


REDUCTIONS = {
    # name -> (op(t, dim, keepdim), numpy reference, tensors() options)
    "sum": (lambda t, d, k: t.sum(dim=d, keepdim=k), np.sum, {}),
    "mean": (lambda t, d, k: t.mean(dim=d, keepdim=k), np.mean, {}),
    "amax": (lambda t, d, k: t.amax(dim=d, keepdim=k), np.max, dict(distinct=True)),
    "amin": (lambda t, d, k: t.amin(dim=d, keepdim=k), np.min, dict(distinct=True)),
    "logsumexp": (lambda t, d, k: t.logsumexp(dim=d, keepdim=k), _logsumexp, {}),
    "var0": (lambda t, d, k: t.var(dim=d, keepdim=k, correction=0),
             lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims), {}),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data())
def test_reduction_forward_matches_numpy(name, data):
    op, ref, opts = REDUCTIONS[name]
    x = data.draw(tensors(dtype=float_dtypes(), **opts), label="x")
    dim = data.draw(valid_axes(x.shape), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    y = op(x, dim, keepdim)
    expected = ref(x._data, axis=dim, keepdims=keepdim)
    assert y.shape == np.shape(expected)
    assert y.dtype == x.dtype
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y._data, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data())
def test_reduction_gradient(name, data):
    op, _, opts = REDUCTIONS[name]
    x = data.draw(tensors(**opts), label="x")
    dim = data.draw(valid_axes(x.shape), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    assert gradcheck(lambda t: op(t, dim, keepdim), (x,))


@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp", "var0"])
@given(data=st.data())
def test_reduction_second_derivative(name, data):
    op, _, opts = REDUCTIONS[name]
    x = data.draw(tensors(max_dims=2, max_side=3, **opts), label="x")
    dim = data.draw(valid_axes(x.shape), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    assert gradgradcheck(lambda t: op(t, dim, keepdim), (x,))


@given(data=st.data())
def test_var_std_with_correction(data):
    x = data.draw(tensors(distinct=True), label="x")
    dim = data.draw(valid_axes(x.shape), label="dim")
    keepdim = data.draw(st.booleans())
    axes = tuple(range(x.ndim)) if dim is None else (dim,) if isinstance(dim, int) else dim
    n = int(np.prod([x.shape[a] for a in axes]))
    assume(n >= 2)
    for unbiased, ddof in ((True, 1), (False, 0)):
        v = x.var(dim=dim, unbiased=unbiased, keepdim=keepdim)
        s = x.std(dim=dim, unbiased=unbiased, keepdim=keepdim)
        np.testing.assert_allclose(v._data, np.var(x._data, axis=dim, ddof=ddof, keepdims=keepdim),
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(s._data, np.std(x._data, axis=dim, ddof=ddof, keepdims=keepdim),
                                   rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda t: t.var(dim=dim, keepdim=keepdim), (x,))
    assert gradcheck(lambda t: t.std(dim=dim, keepdim=keepdim), (x,))
    assert gradgradcheck(lambda t: t.var(dim=dim, keepdim=keepdim), (x,))


def test_std_of_equal_values_has_zero_gradient_like_torch():
    x = Tensor(np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]]), requires_grad=True)
    s = x.std(dim=1)
    np.testing.assert_allclose(s._data, [0.0, 1.0])
    s.backward(Tensor(np.array([5.0, 1.0])))
    np.testing.assert_allclose(x.grad._data, [[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]])


def test_var_of_one_element_with_correction_is_nan_like_torch():
    x = Tensor(np.array([3.0]), requires_grad=True)
    assert np.isnan(x.var().item())


@pytest.mark.parametrize("method", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_family(method, data):
    x = data.draw(tensors(min_dims=1), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    y = getattr(x, method)(dim)
    logp = x._data - _logsumexp(x._data, axis=dim, keepdims=True)
    expected = np.exp(logp) if method == "softmax" else logp
    np.testing.assert_allclose(y._data, expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda t: getattr(t, method)(dim), (x,))
    assert gradgradcheck(lambda t: getattr(t, method)(dim), (x,))


@pytest.mark.parametrize("method", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_is_stable_for_large_inputs(method):
    x = Tensor(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]]),
               requires_grad=True)
    y = getattr(x, method)(1)
    assert np.all(np.isfinite(y._data))
    y.backward(Tensor(np.ones(y.shape)))
    assert np.all(np.isfinite(x.grad._data))
    if method == "softmax":
        np.testing.assert_allclose(y._data.sum(axis=1), [1.0, 1.0])


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    x = Tensor(np.array([-np.inf, -np.inf]))
    assert x.logsumexp(0).item() == -np.inf


@given(data=st.data())
def test_expand_and_sum_to_shape_are_adjoint(data):
    x = data.draw(tensors(max_dims=2), label="x")
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2), label="lead")
    target = tuple(lead) + tuple(data.draw(st.integers(1, 3)) if s == 1 else s for s in x.shape)
    y = x.expand(target)
    np.testing.assert_array_equal(y._data, np.broadcast_to(x._data, target))
    assert gradcheck(lambda t: t.expand(target), (x,))
    big = data.draw(tensors(shape=target), label="big")
    s = big.sum_to_shape(x.shape)
    assert s.shape == x.shape
    assert gradcheck(lambda t: t.sum_to_shape(x.shape), (big,))
    # <expand(x), g> == <x, sum_to_shape(g)>
    np.testing.assert_allclose(np.sum(y._data * big._data), np.sum(x._data * s._data), rtol=1e-10)


def test_expand_with_minus_one_keeps_size():
    x = Tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    assert x.expand(2, -1, 4).shape == (2, 3, 4)


# ------------------------------------------------------------------ max/min and ties
@given(data=st.data())
def test_max_min_over_dim_return_values_and_indices(data):
    x = data.draw(tensors(min_dims=1), label="x")  # ties allowed: the first index wins
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    for method, npfn, nparg in (("max", np.max, np.argmax), ("min", np.min, np.argmin)):
        values, indices = getattr(x, method)(dim, keepdim=keepdim)
        r = getattr(x, method)(dim=dim, keepdim=keepdim)
        assert r.values is r[0] and r.indices is r[1]
        np.testing.assert_array_equal(values._data, npfn(x._data, axis=dim, keepdims=keepdim))
        np.testing.assert_array_equal(indices._data, nparg(x._data, axis=dim, keepdims=keepdim))
        assert indices.dtype == np.int64 and not indices.requires_grad
        if _no_ties(x._data, dim):
            assert gradcheck(lambda t: getattr(t, method)(dim, keepdim=keepdim)[0], (x,))


def _no_ties(arr, dim):
    s = np.sort(arr, axis=dim)
    return np.all(np.abs(np.diff(s, axis=dim)) > 1e-3)


@given(data=st.data())
def test_max_dim_gradient_goes_to_the_first_extremum(data):
    x = data.draw(tensors(min_dims=1, elements=st.integers(-1, 1).map(float)), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    values, idx = x.max(dim)
    g = data.draw(tensors(shape=values.shape, requires_grad=False), label="g")
    values.backward(g)
    expected = np.zeros(x.shape)
    np.put_along_axis(expected, np.expand_dims(idx._data, dim), np.expand_dims(g._data, dim),
                      axis=dim)
    np.testing.assert_array_equal(x.grad._data, expected)


@pytest.mark.parametrize("method", ["amax", "amin", "max", "min"])
@given(data=st.data())
def test_value_only_max_min_share_gradient_among_ties(method, data):
    """amax/amin and the full max()/min(): tied extrema share the gradient evenly."""
    x = data.draw(tensors(elements=st.integers(-1, 1).map(float)), label="x")
    if method in ("amax", "amin"):
        dim = data.draw(valid_axes(x.shape), label="dim")
        keepdim = data.draw(st.booleans(), label="keepdim")
        y = getattr(x, method)(dim=dim, keepdim=keepdim)
    else:
        dim, keepdim = None, False
        y = getattr(x, method)()
    g = data.draw(tensors(shape=y.shape, requires_grad=False), label="g")
    y.backward(g)
    red = np.max if method in ("amax", "max") else np.min
    ext = red(x._data, axis=dim, keepdims=True)
    mask = x._data == ext
    count = mask.sum(axis=dim, keepdims=True)
    g_keep = g._data if keepdim or dim is None else np.expand_dims(g._data, dim)
    g_keep = np.reshape(g_keep, np.shape(ext))
    np.testing.assert_allclose(x.grad._data, mask * g_keep / count, atol=1e-12)


def test_full_max_ties_example():
    x = Tensor(np.array([1.0, 3.0, 3.0, 0.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad._data, [0.0, 0.5, 0.5, 0.0])
    x.grad = None
    x.amax(0).backward()
    np.testing.assert_array_equal(x.grad._data, [0.0, 0.5, 0.5, 0.0])
    x.grad = None
    x.max(0).values.backward()
    np.testing.assert_array_equal(x.grad._data, [0.0, 1.0, 0.0, 0.0])


def test_argmax_argmin():
    x = Tensor(np.array([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]]), requires_grad=True)
    assert x.argmax().item() == 3
    np.testing.assert_array_equal(x.argmax(dim=1)._data, [1, 0])
    np.testing.assert_array_equal(x.argmin(dim=0, keepdim=True)._data, [[0, 1, 0]])
    assert not x.argmax(1).requires_grad


@pytest.mark.parametrize("method", ["sum", "mean", "amax", "amin", "logsumexp", "softmax",
                                    "log_softmax"])
@pytest.mark.parametrize("dim", [0, -1])
def test_0d_tensor_accepts_dim_0_and_minus_1_like_torch(method, dim):
    x = Tensor(np.array(1.5), requires_grad=True)
    y = getattr(x, method)(dim)
    assert y.shape == ()
    expected = {"softmax": 1.0, "log_softmax": 0.0}.get(method, 1.5)
    assert y.item() == pytest.approx(expected)
    assert gradcheck(lambda t: getattr(t, method)(dim), (x,))


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("method", ["sum", "mean", "amax", "amin", "logsumexp", "var"])
def test_reduction_dim_out_of_range_names_op(method):
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match=rf"{method}: dim 2 is out of range .* \[-2, 1\]"):
        getattr(x, method)(dim=2)


def test_reduction_repeated_dim():
    with pytest.raises(ValueError, match=r"sum: dim 1 appears multiple times"):
        Tensor(np.ones((2, 3))).sum(dim=(1, -1))


def test_reduction_dim_of_wrong_type_names_the_argument():
    with pytest.raises(TypeError, match=r"sum: dim must be an int or a tuple of ints, got 1.5"):
        Tensor(np.ones((2, 3))).sum(dim=1.5)


def test_amax_of_empty_tensor_raises():
    with pytest.raises(RuntimeError, match="amax"):
        Tensor(np.ones((0, 3))).amax()


def test_mean_of_integers_raises_like_torch():
    with pytest.raises(RuntimeError, match="mean"):
        Tensor(np.arange(3)).mean()


def test_softmax_dim_out_of_range():
    with pytest.raises(IndexError, match=r"softmax: dim 3"):
        Tensor(np.ones((2, 3))).softmax(3)


def test_functional_forms():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(A.sum(x, 1)._data, [3.0, 12.0])
    np.testing.assert_array_equal(A.amax(x, dim=0)._data, [3.0, 4.0, 5.0])
    np.testing.assert_allclose(A.softmax(x, 1)._data.sum(1), [1.0, 1.0])
