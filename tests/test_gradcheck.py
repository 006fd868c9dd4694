"""autograd.gradcheck / gradgradcheck: they pass correct gradients and catch wrong ones,
with an error that says where and by how much."""
import re
import warnings

import numpy as np
import pytest
from hypothesis import given

import autograd as A
from autograd import Function, Tensor
from autograd.testing import GradcheckError, gradcheck, gradgradcheck, tensors


def leaf(a):
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


class WrongAt(Function):
    """y = a · b, but the gradient of b is off by 0.5 at element (1, 2)."""
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        bump = np.zeros(b.shape)
        bump[1, 2] = 0.5
        return grad * b, grad * a + Tensor(bump)


def test_catches_wrong_gradient_and_names_input_and_worst_element():
    a = leaf(np.arange(12.0).reshape(3, 4) / 7)
    b = leaf(np.ones((3, 4)))
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongAt.apply, (a, b))
    msg = str(info.value)
    assert "input 1" in msg and "shape (3, 4)" in msg
    assert "worst element (1, 2)" in msg
    m = re.search(r"analytic (\S+) vs numerical (\S+) \(error (\S+);", msg)
    analytic, numeric, error = (float(v) for v in m.groups())
    assert error == pytest.approx(0.5, rel=1e-4)
    assert analytic - numeric == pytest.approx(0.5, rel=1e-4)
    v = np.random.default_rng(0).standard_normal((3, 4))  # gradcheck's upstream (seed=0)
    assert numeric == pytest.approx(v[1, 2] * a._data[1, 2], abs=1e-4)  # true dL/db = v·a
    assert "1 of 12 elements" in msg
    assert isinstance(info.value, AssertionError)  # pytest shows it as a failed assertion


def test_raise_exception_false_returns_false():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((2, 3)))
    assert gradcheck(WrongAt.apply, (a, b), raise_exception=False) is False


class IgnoresUpstream(Function):
    """Identity whose backward wrongly returns ones: right only for an all-ones upstream."""
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return Tensor(np.ones(grad.shape))


def test_random_upstream_gradient_catches_a_backward_that_ignores_it():
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(IgnoresUpstream.apply, (leaf([1.0, 2.0, 3.0]),))


def test_tolerances():
    class SlightlyOff(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return grad * (2.0 * (1 + 1e-4))

    x = leaf([1.0, -2.0, 0.5])
    assert gradcheck(SlightlyOff.apply, (x,), rtol=1e-3)
    with pytest.raises(GradcheckError):
        gradcheck(SlightlyOff.apply, (x,), rtol=1e-6, atol=1e-9)


def test_float32_input_warns():
    x = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match=r"input 0 has dtype float32.*float64"):
        gradcheck(lambda t: t * 2.0, (x,), atol=1e-2, rtol=1e-2)


def test_float64_input_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda t: t.tanh(), (leaf([0.3]),))


def test_no_input_requiring_grad_raises():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, (Tensor(np.ones(2)),))


def test_several_outputs_constants_and_non_tensor_arguments():
    x, y = leaf([1.0, 2.0]), leaf([[0.5], [-1.0]])
    const = Tensor(np.array([3.0, 4.0]))
    assert gradcheck(lambda a, b, c, k: (a * b * c, (a + k).exp(), c * 2), (x, y, const, 2))


def test_inputs_restored_after_check():
    x = leaf([1.0, 2.0, 3.0])
    before = x._data.copy()
    gradcheck(lambda t: (t * t).sum(), (x,))
    np.testing.assert_array_equal(x._data, before)
    assert x._data.flags.writeable and x.grad is None


class FirstOrderOnly(Function):
    """y = x³ with a correct first derivative computed from raw data (a constant), so the
    graph of the backward pass is wrong: second derivatives come out as 0."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Tensor(3.0 * x._data ** 2)


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = leaf([0.5, -1.5, 2.0])
    assert gradcheck(FirstOrderOnly.apply, (x,))
    with pytest.raises(GradcheckError, match="input 0"):
        gradgradcheck(FirstOrderOnly.apply, (x,))


@given(x=tensors(max_dims=2, max_side=3, min_value=-2, max_value=2))
def test_gradgradcheck_passes_correct_second_derivatives(x):
    assert gradgradcheck(lambda t: (t.sigmoid() * t).logsumexp(dim=0), (x,))


def test_exported_from_autograd_and_testing():
    assert A.gradcheck is gradcheck and A.gradgradcheck is gradgradcheck
    assert A.testing.gradcheck is gradcheck


def test_non_contiguous_input():
    x = Tensor(np.arange(6.0).reshape(3, 2).T, requires_grad=True)  # a transposed view
    assert not x._data.flags.c_contiguous
    assert gradcheck(lambda t: t * t, (x,))
    y = Tensor(np.arange(12.0).reshape(3, 4)[:, ::2], requires_grad=True)
    assert gradcheck(lambda t: (t * 0.1).exp(), (y,))
