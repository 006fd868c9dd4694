"""The Tensor class: construction and dtypes, properties, repr, NumPy and Python numbers
on either side of every operator, comparisons, factories, errors."""
import operator

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import broadcastable_shapes, tensors


# ------------------------------------------------------------------ construction and dtypes
@pytest.mark.parametrize("data, dtype", [
    (1.0, np.float32), ([1.0, 2.0], np.float32), ([[1, 2]], np.int64), (3, np.int64),
    ([True, False], np.bool_), (np.array([1.0]), np.float64), (np.array([1.0], np.float32),
                                                               np.float32),
    (np.array([1, 2], np.int32), np.int32), (np.float64(2.0), np.float64),
])
def test_default_dtypes_follow_torch(data, dtype):
    t = Tensor(data)
    assert t.dtype == dtype
    assert A.tensor(data).dtype == dtype


def test_explicit_dtype_and_conversions():
    t = Tensor([1, 2, 3], dtype=np.float64)
    assert t.dtype == np.float64
    assert t.float().dtype == np.float32 and t.double().dtype == np.float64
    assert t.long().dtype == np.int64 and t.int().dtype == np.int32 and t.bool().dtype == bool
    assert t.to(np.float64) is t
    assert A.zeros(2, 3).dtype == np.float32 and A.zeros(2, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("data", [[1, 2], [True], np.arange(3), np.array([1], np.uint8)])
def test_integer_and_bool_tensors_cannot_require_grad(data):
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require "
                                          "gradients"):
        Tensor(data, requires_grad=True)
    t = Tensor(data)
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        A.tensor(data, requires_grad=True)


def test_tensor_copies_but_Tensor_wraps():
    arr = np.array([1.0, 2.0])
    wrapped, copied = Tensor(arr), A.tensor(arr)
    arr[0] = 5.0
    assert wrapped._data[0] == 5.0 and copied._data[0] == 1.0


def test_construct_from_list_of_tensors():
    t = Tensor([Tensor(1.0), Tensor(2.0)])
    np.testing.assert_array_equal(t._data, [1.0, 2.0])


def test_object_data_is_rejected():
    with pytest.raises((TypeError, ValueError)):
        Tensor([{"a": 1}])


def test_factories():
    np.testing.assert_array_equal(A.ones(2, 2)._data, np.ones((2, 2)))
    np.testing.assert_array_equal(A.zeros((3,))._data, np.zeros(3))
    np.testing.assert_array_equal(A.full((2,), 7.0)._data, [7.0, 7.0])
    np.testing.assert_array_equal(A.eye(2)._data, np.eye(2))
    assert A.arange(5).dtype == np.int64 and A.arange(0.0, 1.0, 0.5).dtype == np.float32
    np.testing.assert_array_equal(A.arange(1, 7, 2)._data, [1, 3, 5])
    t = A.zeros(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    like = A.ones_like(Tensor(np.zeros((2, 1))))
    assert like.shape == (2, 1) and like.dtype == np.float64
    assert A.zeros_like(t).shape == (2,)
    A.manual_seed(0)
    a = A.randn(3, 2)
    A.manual_seed(0)
    b = A.randn(3, 2)
    np.testing.assert_array_equal(a._data, b._data)
    assert a.dtype == np.float32 and A.rand(4)._data.min() >= 0


# ------------------------------------------------------------------ properties
def test_properties():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x * 2
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2 and x.size() == (2, 3)
    assert x.size(1) == 3 and x.size(-1) == 3 and x.numel() == 6 and len(x) == 2
    assert x.is_leaf and not y.is_leaf and y.requires_grad and y.grad_fn.name == "Mul"
    assert x.grad is None and x.grad_fn is None
    assert y.detach().numpy() is y._data
    assert y.tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]
    assert Tensor([[2.5]]).item() == 2.5 and float(Tensor([2.5])) == 2.5
    assert int(Tensor([3])) == 3 and bool(Tensor([1.0])) and not bool(Tensor(0.0))
    assert [1, 2, 3][Tensor(1)] == 2  # __index__


def test_numpy_of_tensor_requiring_grad_raises():
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\)"):
        Tensor([1.0], requires_grad=True).numpy()


def test_item_bool_len_errors():
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted"):
        Tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(Tensor(1.0))


def test_np_asarray_of_tensor():
    t = Tensor([1.0, 2.0])
    assert np.asarray(t) is t._data
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


# ------------------------------------------------------------------ repr (torch style)
@pytest.mark.parametrize("make, expected", [
    (lambda: A.tensor([1.0, 2.0, 3.0]), "tensor([1., 2., 3.])"),
    (lambda: A.tensor([0.1, 0.25, 3.0]), "tensor([0.1000, 0.2500, 3.0000])"),
    (lambda: A.tensor(3.5), "tensor(3.5000)"),
    (lambda: A.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: A.tensor([True, False]), "tensor([ True, False])"),
    (lambda: A.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (lambda: A.tensor([1.0, 2.0], requires_grad=True) * 2, "tensor([2., 4.], grad_fn=<MulBackward>)"),
    (lambda: Tensor(np.array([1.0, 2.0])), "tensor([1., 2.], dtype=float64)"),
    (lambda: Tensor(np.array([1, 2], np.int32)), "tensor([1, 2], dtype=int32)"),
    (lambda: A.tensor([[1.5, -2.0], [3.0, 4.0]]),
     "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])"),
])
def test_repr_like_torch(make, expected):
    assert repr(make()) == expected


# ------------------------------------------------------------------ operators with numbers / arrays
BINARY_OPS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]


@pytest.mark.parametrize("op", BINARY_OPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("other_kind", ["python", "numpy_scalar", "ndarray", "list"])
def test_numbers_and_arrays_on_either_side(op, other_kind):
    x = Tensor(np.array([1.5, 2.0, 3.0]), requires_grad=True)
    other = {"python": 2.0, "numpy_scalar": np.float64(2.0), "ndarray": np.array([2.0, 0.5, 3.0]),
             "list": [2.0, 0.5, 3.0]}[other_kind]
    o = np.asarray(other)
    for left, right, expected in ((x, other, op(x._data, o)), (other, x, op(o, x._data))):
        y = op(left, right)
        assert isinstance(y, Tensor), (type(left), type(right))
        np.testing.assert_allclose(y._data, expected, rtol=1e-12)
        x.grad = None
        y.sum().backward()
        assert x.grad is not None and x.grad.shape == x.shape


def test_matmul_with_arrays_on_either_side():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    np.testing.assert_array_equal((x @ np.ones(3))._data, x._data @ np.ones(3))
    np.testing.assert_array_equal((np.ones((1, 2)) @ x)._data, np.ones((1, 2)) @ x._data)
    np.testing.assert_array_equal(([1.0, 1.0] @ x)._data, np.ones(2) @ x._data)


def test_python_scalar_keeps_tensor_dtype():
    x32 = Tensor(np.ones(2, np.float32))
    for y in (x32 + 1.5, 1.5 * x32, x32 / 3, 2 ** x32, x32 ** 2.0, x32 - np.float64(1)):
        assert y.dtype == np.float32
    assert (Tensor([1, 2]) * 2).dtype == np.int64


def test_bool_tensor_plus_int_promotes_like_torch():
    np.testing.assert_array_equal((Tensor([True, False]) + 1)._data, [2, 1])
    np.testing.assert_array_equal((Tensor([True, False]) + True)._data, [True, True])


@given(data=st.data())
def test_comparisons_return_bool_tensors_without_grad(data):
    sa, sb = data.draw(broadcastable_shapes(2))
    a = data.draw(tensors(shape=sa, elements=st.integers(-2, 2).map(float)))
    b = data.draw(tensors(shape=sb, elements=st.integers(-2, 2).map(float)))
    for op in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge):
        for left, right in ((a, b), (a, b._data), (a._data, b), (a, 0.0), (0.0, b)):
            r = op(left, right)
            assert isinstance(r, Tensor) and r.dtype == bool and not r.requires_grad
            np.testing.assert_array_equal(r._data, op(np.asarray(left), np.asarray(right)))


def test_logical_operators_on_bool_tensors():
    a, b = Tensor([True, False, True]), Tensor([True, True, False])
    np.testing.assert_array_equal((a & b)._data, [True, False, False])
    np.testing.assert_array_equal((a | b)._data, [True, True, True])
    np.testing.assert_array_equal((a ^ b)._data, [False, True, True])
    np.testing.assert_array_equal((~a)._data, [False, True, False])
    np.testing.assert_array_equal((Tensor([1, 2]) & 3)._data, [1, 2])


def test_abs_neg_pos():
    x = Tensor(np.array([-1.5, 2.0]), requires_grad=True)
    np.testing.assert_array_equal(abs(x)._data, [1.5, 2.0])
    np.testing.assert_array_equal((-x)._data, [1.5, -2.0])
    assert +x is x


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_incompatible_operand_raises():
    with pytest.raises(TypeError):
        Tensor([1.0]) + "text"
