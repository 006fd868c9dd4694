"""Matrix multiplication: 1-D, 2-D, batched and broadcast operands (NumPy semantics),
forward against ``np.matmul``, first and second derivatives, error messages."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import broadcastable_shapes, gradcheck, gradgradcheck, tensors


@st.composite
def matmul_shapes(draw, max_batch_dims=2):
    """Shapes (a, b) valid for a @ b: vectors, matrices, and broadcast batches of matrices."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    a_vec, b_vec = draw(st.booleans()), draw(st.booleans())
    batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=max_batch_dims, max_side=3))
    a = (k,) if a_vec else batch_a + (n, k)
    b = (k,) if b_vec else batch_b + (k, m)
    return a, b


@given(data=st.data())
def test_matmul_matches_numpy(data):
    sa, sb = data.draw(matmul_shapes(), label="shapes")
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    a = data.draw(tensors(shape=sa, dtype=dtype), label="a")
    b = data.draw(tensors(shape=sb, dtype=dtype), label="b")
    y = a @ b
    expected = np.matmul(a._data, b._data)
    assert y.shape == expected.shape and y.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y._data, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(A.matmul(a, b)._data, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.matmul(b)._data, expected, rtol=tol, atol=tol)


@given(data=st.data())
def test_matmul_gradient(data):
    sa, sb = data.draw(matmul_shapes(), label="shapes")
    a = data.draw(tensors(shape=sa), label="a")
    b = data.draw(tensors(shape=sb, requires_grad=data.draw(st.booleans())), label="b")
    assert gradcheck(lambda x, y: x @ y, (a, b))


@given(data=st.data())
def test_matmul_second_derivative(data):
    sa, sb = data.draw(matmul_shapes(max_batch_dims=1), label="shapes")
    a = data.draw(tensors(shape=sa, max_value=3, min_value=-3), label="a")
    b = data.draw(tensors(shape=sb, max_value=3, min_value=-3), label="b")
    assert gradgradcheck(lambda x, y: (x @ y).tanh(), (a, b))


@given(data=st.data())
def test_matmul_gradient_formulas(data):
    """dL/dX = dL/dY · Wᵀ and dL/dW = Xᵀ · dL/dY for a random upstream gradient."""
    n, k, m = (data.draw(st.integers(1, 5)) for _ in range(3))
    x = data.draw(tensors(shape=(n, k)))
    w = data.draw(tensors(shape=(k, m)))
    g = data.draw(tensors(shape=(n, m), requires_grad=False))
    (x @ w).backward(g)
    np.testing.assert_allclose(x.grad._data, g._data @ w._data.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.grad._data, x._data.T @ g._data, rtol=1e-12, atol=1e-12)


def test_lecture_matmul_example():
    x = Tensor(np.array([[2.0, 1, -3], [-3, 4, 2]]), requires_grad=True)
    w = Tensor(np.array([[3.0, 2, 1, -1], [2, 1, 3, 2], [3, 2, 1, -2]]), requires_grad=True)
    y = x @ w
    np.testing.assert_array_equal(y._data, [[-1, -1, 2, 6], [5, 2, 11, 7]])
    y.backward(Tensor(np.array([[2.0, 3, -3, 9], [-8, 1, 4, 6]])))
    np.testing.assert_array_equal(x.grad._data, [[0, 16, -9], [-24, 9, -30]])
    np.testing.assert_array_equal(w.grad._data, [[28, 3, -18, 0], [-30, 7, 13, 33],
                                                [-22, -7, 17, -15]])


def test_matmul_with_numpy_and_lists_on_either_side():
    a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    m = np.ones((3, 2))
    np.testing.assert_array_equal((a @ m)._data, a._data @ m)
    left = np.ones((4, 2))
    np.testing.assert_array_equal((left @ a)._data, left @ a._data)
    np.testing.assert_array_equal((a @ [1.0, 0.0, 2.0])._data, a._data @ [1.0, 0.0, 2.0])
    (left @ a).sum().backward()
    np.testing.assert_array_equal(a.grad._data, np.full((2, 3), 4.0))


def test_matmul_errors():
    with pytest.raises(RuntimeError, match=r"^matmul: \(4, 3\) @ \(5, 2\): inner dimensions 3 "
                                           r"and 5 differ$"):
        Tensor(np.ones((4, 3))) @ Tensor(np.ones((5, 2)))
    with pytest.raises(RuntimeError, match=r"matmul: \(3,\) @ \(4,\): inner dimensions 3 and 4"):
        Tensor(np.ones(3)) @ Tensor(np.ones(4))
    with pytest.raises(RuntimeError, match=r"batch dimensions \(2,\) and \(3,\) do not broadcast"):
        Tensor(np.ones((2, 4, 3))) @ Tensor(np.ones((3, 3, 2)))
    with pytest.raises(RuntimeError, match=r"at least 1 dimension"):
        Tensor(np.array(2.0)) @ Tensor(np.ones(3))
