"""The lecture's worked backprop examples, as exact tests."""
import numpy as np
import pytest

from autograd import Scalar, Tensor


def test_sigmoid_circuit_with_scalars():
    """f(w, x) = 1 / (1 + exp(-(w0·x0 + w1·x1 + w2))) at w = (2, -3, -3), x = (-1, -2)."""
    w0, x0, w1, x1, w2 = map(Scalar, (2.0, -1.0, -3.0, -2.0, -3.0))
    f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    f.backward()
    assert f"{f._data:.2f}" == "0.73"
    grads = {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2}
    assert {k: f"{v.grad._data:.2f}" for k, v in grads.items()} == {
        "w0": "-0.20", "x0": "0.39", "w1": "-0.39", "x1": "-0.59", "w2": "0.20"}


def test_sigmoid_circuit_with_tensors_and_the_sigmoid_gate():
    """The same circuit on Tensors, once expanded and once with the sigmoid gate
    (whose local gradient is σ(1 - σ)): identical gradients."""
    w = Tensor(np.array([2.0, -3.0, -3.0]), requires_grad=True)
    x = Tensor(np.array([-1.0, -2.0]), requires_grad=True)
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1.0 / (1.0 + (-dot).exp())
    f.backward()
    np.testing.assert_array_equal(np.round(w.grad._data, 2), [-0.20, -0.39, 0.20])
    np.testing.assert_array_equal(np.round(x.grad._data, 2), [0.39, -0.59])
    assert round(f.item(), 2) == 0.73

    w2 = Tensor(w._data.copy(), requires_grad=True)
    x2 = Tensor(x._data.copy(), requires_grad=True)
    g = (w2[0] * x2[0] + w2[1] * x2[1] + w2[2]).sigmoid()
    g.backward()
    assert g.item() == pytest.approx(f.item(), rel=1e-15)
    np.testing.assert_allclose(w2.grad._data, w.grad._data, rtol=1e-12)
    np.testing.assert_allclose(x2.grad._data, x.grad._data, rtol=1e-12)


def test_matrix_multiply():
    """y = x·w; dL/dx = dL/dy·wᵀ, dL/dw = xᵀ·dL/dy."""
    x = Tensor(np.array([[2.0, 1, -3], [-3, 4, 2]]), requires_grad=True)
    w = Tensor(np.array([[3.0, 2, 1, -1], [2, 1, 3, 2], [3, 2, 1, -2]]), requires_grad=True)
    y = x @ w
    np.testing.assert_array_equal(y._data, [[-1, -1, 2, 6], [5, 2, 11, 7]])
    dy = np.array([[2.0, 3, -3, 9], [-8, 1, 4, 6]])
    y.backward(Tensor(dy))
    np.testing.assert_array_equal(x.grad._data, [[0, 16, -9], [-24, 9, -30]])
    np.testing.assert_array_equal(w.grad._data, [[28, 3, -18, 0], [-30, 7, 13, 33],
                                                [-22, -7, 17, -15]])
    np.testing.assert_array_equal(x.grad._data, dy @ w._data.T)
    np.testing.assert_array_equal(w.grad._data, x._data.T @ dy)


def test_relu():
    """z = max(0, x): the gradient passes where x > 0 and is blocked elsewhere."""
    x = Tensor(np.array([1.0, -2.0, 3.0, -1.0]), requires_grad=True)
    z = x.relu()
    np.testing.assert_array_equal(z._data, [1.0, 0.0, 3.0, 0.0])
    z.backward(Tensor(np.array([4.0, -1.0, 5.0, 9.0])))
    np.testing.assert_array_equal(x.grad._data, [4.0, 0.0, 5.0, 0.0])


def test_relu_with_scalars():
    xs = [Scalar(v) for v in (1.0, -2.0, 3.0, -1.0)]
    for x, up in zip(xs, (4.0, -1.0, 5.0, 9.0)):
        x.relu().backward(up)
    assert [x.grad._data for x in xs] == [4.0, 0.0, 5.0, 0.0]
