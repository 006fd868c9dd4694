"""Elementwise ops: forward values against NumPy, gradients by central differences
(random shapes with size-1 sides and broadcasting, random upstream gradients), second
derivatives, and PyTorch's rules at ties and kinks."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import (broadcastable_shapes, gradcheck, gradgradcheck, tensors,
                              float_dtypes)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# name -> (op, numpy reference, tensors() options, smooth enough for gradgradcheck)
UNARY = {
    "neg": (lambda t: -t, np.negative, {}, True),
    "exp": (lambda t: t.exp(), np.exp, dict(min_value=-5, max_value=5), True),
    "log": (lambda t: t.log(), np.log, dict(min_value=0.1, max_value=10), True),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, dict(min_value=0.1, max_value=10), True),
    "tanh": (lambda t: t.tanh(), np.tanh, dict(min_value=-4, max_value=4), True),
    "sigmoid": (lambda t: t.sigmoid(), _sigmoid, {}, True),
    "relu": (lambda t: t.relu(), lambda x: np.maximum(x, 0), dict(away_from=(0,)), True),
    "abs": (lambda t: t.abs(), np.abs, dict(away_from=(0,)), True),
    "sign": (lambda t: t.sign(), np.sign, dict(away_from=(0,)), True),
    "clamp": (lambda t: t.clamp(-1.0, 2.0), lambda x: np.clip(x, -1.0, 2.0),
              dict(min_value=-3, max_value=3, away_from=(-1.0, 2.0)), True),
    "clamp_min": (lambda t: t.clamp(min=0.5), lambda x: np.maximum(x, 0.5),
                  dict(min_value=-3, max_value=3, away_from=(0.5,)), True),
    "clamp_max": (lambda t: t.clamp(max=0.5), lambda x: np.minimum(x, 0.5),
                  dict(min_value=-3, max_value=3, away_from=(0.5,)), True),
    "square": (lambda t: t ** 2, np.square, {}, True),
    "cube": (lambda t: t ** 3, lambda x: x ** 3, dict(min_value=-3, max_value=3), True),
    "pow0": (lambda t: t ** 0, lambda x: x ** 0, {}, True),
    "pow1": (lambda t: t ** 1, lambda x: x ** 1, {}, True),
    "pow_half": (lambda t: t ** 0.5, np.sqrt, dict(min_value=0.1, max_value=10), True),
    "pow_neg": (lambda t: t ** -2, lambda x: x ** -2.0, dict(min_value=0.5, max_value=5), True),
    "rpow": (lambda t: 2.0 ** t, lambda x: 2.0 ** x, dict(min_value=-3, max_value=3), True),
    "rsub": (lambda t: 1.0 - t, lambda x: 1.0 - x, {}, True),
    "rdiv": (lambda t: 2.0 / t, lambda x: 2.0 / x, dict(min_value=0.5, max_value=5), True),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_forward_matches_numpy(name, data):
    op, ref, opts, _ = UNARY[name]
    x = data.draw(tensors(dtype=float_dtypes(), **opts), label="x")
    y = op(x)
    expected = ref(x._data)
    assert y.shape == x.shape and y.dtype == x.dtype
    tol = 1e-6 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y._data, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_gradient(name, data):
    op, _, opts, _ = UNARY[name]
    x = data.draw(tensors(**opts), label="x")
    assert gradcheck(op, (x,))


@pytest.mark.parametrize("name", sorted(n for n, v in UNARY.items() if v[3]))
@given(data=st.data())
def test_unary_second_derivative(name, data):
    op, _, opts, _ = UNARY[name]
    x = data.draw(tensors(max_dims=2, max_side=3, **opts), label="x")
    assert gradgradcheck(op, (x,))


def _pair(a_opts=None, b_opts=None, n=2):
    return broadcastable_shapes(n).flatmap(lambda s: st.tuples(
        tensors(shape=s[0], **(a_opts or {})), tensors(shape=s[1], **(b_opts or {}))))


# values on two interleaved grids: a and b never tie (|a - b| >= 0.01) for maximum/minimum
_GRID_A = st.integers(-500, 500).map(lambda k: k * 0.02)
_GRID_B = st.integers(-500, 500).map(lambda k: k * 0.02 + 0.01)

BINARY = {
    "add": (lambda a, b: a + b, np.add, {}, {}),
    "sub": (lambda a, b: a - b, np.subtract, {}, {}),
    "mul": (lambda a, b: a * b, np.multiply, {}, {}),
    "div": (lambda a, b: a / b, np.divide, {}, dict(away_from=(0,), min_value=-5, max_value=5)),
    "pow": (lambda a, b: a ** b, np.power, dict(min_value=0.2, max_value=3),
            dict(min_value=-2, max_value=2)),
    "maximum": (lambda a, b: a.maximum(b), np.maximum, dict(elements=_GRID_A),
                dict(elements=_GRID_B)),
    "minimum": (lambda a, b: a.minimum(b), np.minimum, dict(elements=_GRID_A),
                dict(elements=_GRID_B)),
    "max_other": (lambda a, b: a.max(b), np.maximum, dict(elements=_GRID_A),
                  dict(elements=_GRID_B)),
    "min_other": (lambda a, b: a.min(b), np.minimum, dict(elements=_GRID_A),
                  dict(elements=_GRID_B)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_forward_matches_numpy(name, data):
    op, ref, a_opts, b_opts = BINARY[name]
    a, b = data.draw(_pair(a_opts, b_opts), label="a, b")
    y = op(a, b)
    expected = ref(a._data, b._data)
    assert y.shape == expected.shape
    assert y.dtype == np.float64
    np.testing.assert_allclose(y._data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_gradient_with_broadcasting(name, data):
    op, _, a_opts, b_opts = BINARY[name]
    a, b = data.draw(_pair(a_opts, b_opts), label="a, b")
    assert gradcheck(op, (a, b))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@given(data=st.data())
def test_binary_second_derivative(name, data):
    op, _, a_opts, b_opts = BINARY[name]
    shapes = broadcastable_shapes(2, max_dims=2, max_side=3)
    a, b = data.draw(shapes.flatmap(lambda s: st.tuples(tensors(shape=s[0], **a_opts),
                                                        tensors(shape=s[1], **b_opts))))
    assert gradgradcheck(op, (a, b))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@given(data=st.data())
def test_binary_gradient_one_side_constant(name, data):
    """Only one operand requires grad: the other gets no gradient and no error."""
    op, _, a_opts, b_opts = BINARY[name]
    a, b = data.draw(_pair(a_opts, dict(b_opts, requires_grad=False)))
    assert gradcheck(op, (a, b))
    a2, b2 = data.draw(_pair(dict(a_opts, requires_grad=False), b_opts))
    assert gradcheck(op, (a2, b2))
    y = op(a2, b2)
    y.backward(Tensor(np.ones(y.shape)))
    assert a2.grad is None and b2.grad is not None and b2.grad.shape == b2.shape


@given(x=tensors(dtype=np.float32))
def test_cast_gradient_converts_back(x):
    y = x.double()
    assert y.dtype == np.float64 and y.grad_fn is not None
    np.testing.assert_array_equal(y._data, x._data.astype(np.float64))
    g = np.random.default_rng(0).standard_normal(x.shape)
    (y * 2.0).backward(Tensor(g))
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad._data, (2 * g).astype(np.float32), rtol=1e-6)
    assert x.to(np.float32) is x  # same dtype: no node


@given(data=st.data())
def test_where_gradient_three_way_broadcast(data):
    shapes = data.draw(broadcastable_shapes(3))
    cond = data.draw(tensors(shape=shapes[0], dtype=np.bool_))
    a = data.draw(tensors(shape=shapes[1]))
    b = data.draw(tensors(shape=shapes[2]))
    y = A.where(cond, a, b)
    np.testing.assert_array_equal(y._data, np.where(cond._data, a._data, b._data))
    assert gradcheck(lambda a, b: A.where(cond, a, b), (a, b))
    assert gradgradcheck(lambda a, b: A.where(cond, a, b), (a, b))


@given(data=st.data())
def test_float32_gradients_have_float32_dtype(data):
    a, b = data.draw(_pair(dict(dtype=np.float32), dict(dtype=np.float32)))
    y = (a * b + a.exp().tanh()).sum()
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


@given(x=tensors())
def test_chain_of_ops_gradient(x):
    assert gradcheck(lambda t: ((t * 0.3).sigmoid() * t.tanh() + (t ** 2 + 1).log()) / 3.0,
                     (x,))


def test_mixed_float32_float64_promotes_like_numpy():
    a = Tensor(np.ones(3, np.float32), requires_grad=True)
    b = Tensor(np.ones(3, np.float64), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


# ------------------------------------------------------------------ ties and kinks (PyTorch's rules)
def _grad_of(fn, *values, upstream=None):
    ts = [Tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    y = fn(*ts)
    y.backward(Tensor(np.ones(y.shape) if upstream is None else np.asarray(upstream, float)))
    return [t.grad._data for t in ts]


def test_relu_derivative_at_zero_is_zero():
    (g,) = _grad_of(lambda x: x.relu(), [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


# relu's backward is PyTorch's threshold_backward: 0 where y <= 0, else dL/dy bit for bit
RELU_X = [-1.0, 0.0, -0.0, 2.0, np.nan, 3.0, -2.0, 4.0]
RELU_G = [np.inf, np.nan, -1.0, -0.0, 5.0, np.inf, -3.0, -np.inf]


def _threshold_backward(g, y):
    return np.where(y <= 0, g.dtype.type(0), g)


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_backward_at_inf_nan_and_signed_zeros(dtype):
    x = Tensor(np.array(RELU_X, dtype), requires_grad=True)
    g = np.array(RELU_G, dtype)
    x.relu().backward(Tensor(g))
    got = x.grad.numpy()
    # an inf or nan gradient where y <= 0 gives +0.0 (not inf·0 = nan, not -0.0); a nan y
    # passes the gradient
    assert _same_bits(got, _threshold_backward(g, np.maximum(np.array(RELU_X, dtype), 0)))
    np.testing.assert_array_equal(got[[0, 1, 2, 6]], 0.0)
    assert not np.signbit(got[[0, 1, 2, 6]]).any() and got[4] == 5.0 and np.isinf(got[5])


def test_relu_backward_on_strided_and_broadcast_gradients():
    rng = np.random.default_rng(0)
    y = np.maximum(rng.standard_normal((6, 5)).astype(np.float32), 0)
    g = rng.standard_normal((5, 6)).astype(np.float32).T  # not contiguous
    got = A.ops.ReluBackward.apply(Tensor(g), Tensor(y)).numpy()
    assert _same_bits(got, _threshold_backward(g, y))
    row = rng.standard_normal((1, 5)).astype(np.float32)  # broadcast against y
    got = A.ops.ReluBackward.apply(Tensor(row), Tensor(y)).numpy()
    assert _same_bits(got, _threshold_backward(row, y))


def test_relu_backward_of_a_nan_scalar_passes_the_gradient():
    a = A.Scalar(float("nan"))
    a.relu().backward()
    assert a.grad.data == 1.0
    b = A.Scalar(0.0)
    b.relu().backward()
    assert b.grad.data == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_matches_torch_bit_for_bit(dtype):
    torch = pytest.importorskip("torch")
    x = np.array(RELU_X, dtype)
    g = np.array(RELU_G, dtype)
    t = Tensor(x, requires_grad=True)
    t.relu().backward(Tensor(g))
    tt = torch.tensor(x, requires_grad=True)
    tt.relu().backward(torch.tensor(g))
    assert _same_bits(t.grad.numpy(), tt.grad.numpy())


def test_abs_derivative_at_zero_is_zero():
    (g,) = _grad_of(lambda x: x.abs(), [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])


def test_sign_has_zero_gradient():
    (g,) = _grad_of(lambda x: x.sign(), [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])


def test_clamp_passes_gradient_at_the_bounds():
    (g,) = _grad_of(lambda x: x.clamp(-1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("method", ["maximum", "minimum"])
def test_maximum_minimum_tie_gives_half_to_each_side(method):
    ga, gb = _grad_of(lambda a, b: getattr(a, method)(b), [1.0, 2.0, 3.0], [1.0, 5.0, 0.0],
                      upstream=[4.0, 4.0, 4.0])
    if method == "maximum":
        np.testing.assert_array_equal(ga, [2.0, 0.0, 4.0])
        np.testing.assert_array_equal(gb, [2.0, 4.0, 0.0])
    else:
        np.testing.assert_array_equal(ga, [2.0, 4.0, 0.0])
        np.testing.assert_array_equal(gb, [2.0, 0.0, 4.0])


def test_maximum_tie_with_broadcast_scalar_side():
    x = Tensor(np.array([0.0, 1.0, 0.0]), requires_grad=True)
    z = Tensor(np.array(0.0), requires_grad=True)
    x.maximum(z).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [0.5, 1.0, 0.5])
    assert z.grad.shape == () and z.grad.item() == 1.0


def test_pow_exponent_gradient_at_zero_base_is_zero():
    a = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    (a ** b).sum().backward()
    np.testing.assert_allclose(b.grad._data, [0.0, 8.0 * np.log(2.0)])
    np.testing.assert_allclose(a.grad._data, [0.0, 12.0])


def test_pow_scalar_zero_exponent_gradient_is_zero_even_at_zero():
    (g,) = _grad_of(lambda x: x ** 0, [0.0, 3.0])
    np.testing.assert_array_equal(g, [0.0, 0.0])


@given(data=st.data())
def test_maximum_ties_property(data):
    """On integer-valued inputs ties are common: the two gradients always add up to the
    upstream gradient, and each side gets exactly half where a == b."""
    shapes = data.draw(broadcastable_shapes(2))
    a = data.draw(tensors(shape=shapes[0], elements=st.integers(-1, 1).map(float)))
    b = data.draw(tensors(shape=shapes[1], elements=st.integers(-1, 1).map(float)))
    y = a.maximum(b)
    g = data.draw(tensors(shape=y.shape, requires_grad=False))
    y.backward(g)
    a_b, b_b = np.broadcast_arrays(a._data, b._data)
    share = (a_b > b_b) + 0.5 * (a_b == b_b)
    np.testing.assert_allclose(a.grad._data, _sum_to(g._data * share, a.shape), atol=1e-12)
    np.testing.assert_allclose(b.grad._data, _sum_to(g._data * (1 - share), b.shape), atol=1e-12)


def _sum_to(arr, shape):
    """NumPy reference for un-broadcasting: sum arr down to shape."""
    lead = arr.ndim - len(shape)
    arr = arr.sum(axis=tuple(range(lead))) if lead else arr
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and arr.shape[i] != 1)
    return arr.sum(axis=axes, keepdims=True) if axes else arr


# ------------------------------------------------------------------ errors
def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))
    with pytest.raises(RuntimeError, match=r"mul: shapes \(2, 3\) and \(2,\)"):
        Tensor(np.ones((2, 3)), requires_grad=True) * np.ones(2)


def test_clamp_needs_a_bound():
    with pytest.raises(RuntimeError, match="clamp: At least one of 'min' or 'max' must not be None"):
        Tensor([1.0]).clamp()  # a RuntimeError, as in torch


@pytest.mark.parametrize("dtype,rtol", [(np.float16, 1e-3), (np.float32, 1e-6),
                                        (np.float64, 1e-15)])
def test_sigmoid_is_stable_at_extremes_in_every_float_dtype(dtype, rtol):
    x = np.array([-1000, -80, -20, -1, -0.0, 0, 1e-8, 1, 20, 80, 1000, np.inf, -np.inf, np.nan],
                 dtype)
    got = Tensor(x).sigmoid().numpy()
    # the reference in extended precision from the form that never overflows
    xl = x.astype(np.longdouble)
    want = np.where(xl >= 0, 1 / (1 + np.exp(-np.abs(xl))),
                    np.exp(-np.abs(xl)) / (1 + np.exp(-np.abs(xl)))).astype(dtype)
    assert got.dtype == dtype and np.isnan(got[-1]) and (got[:-1] >= 0).all()
    np.testing.assert_allclose(got[:-1], want[:-1], rtol=rtol, atol=0)
    assert got[-3] == 1 and got[-2] == 0  # sigmoid(inf), sigmoid(-inf)
    zero_d = Tensor(np.array(-1.5, dtype)).sigmoid()  # a 0-d tensor stays 0-d, in its dtype
    assert zero_d.shape == () and zero_d.dtype == dtype
    np.testing.assert_allclose(zero_d.numpy(), 1 / (1 + np.exp(1.5)), rtol=rtol * 10)


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_fused_backward_ops_are_twice_differentiable(name):
    x = Tensor(np.random.default_rng(3).standard_normal((3, 4)), requires_grad=True)
    assert gradgradcheck(lambda t: getattr(t, name)() * t, (x,))
    y = getattr(x, name)()
    assert y.grad_fn.name == name.capitalize()
    (g,) = A.grad(y.sum(), x, create_graph=True)
    assert g.grad_fn.name == f"{name.capitalize()}Backward"


@pytest.mark.parametrize("name,second", [
    ("tanh", lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    ("sigmoid", lambda v: (lambda s: s * (1 - s) * (1 - 2 * s))(1 / (1 + np.exp(-v)))),
])
def test_fused_backward_ops_on_scalars(name, second):
    s = A.Scalar(0.7)
    y = getattr(s, name)()
    (g,) = A.grad(y, s, create_graph=True)
    (g2,) = A.grad(g, s)
    assert g2.data == pytest.approx(second(0.7), rel=1e-12)
