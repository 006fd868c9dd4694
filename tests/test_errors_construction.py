"""Bad input at construction, shapes given as arguments, and dtypes (issue 9, sections 3-4).

Every case runs on ndgrad (exception type + message fragment, or the exact value and
dtype) and, when torch is importable, on PyTorch (same exception type / same value).
"""
import numpy as np
import pytest

from errcases import Case, check_ndgrad, check_torch, params

F32, F64, I64, I32, B = "float32", "float64", "int64", "int32", "bool"

CONSTRUCTION = [
    # complex numbers, strings and bytes are refused (ndgrad has no complex dtype)
    Case("str", lambda L: L.t("abc"), raises=(TypeError, r"strings \(dtype <U3\)")),
    Case("bytes", lambda L: L.t(b"ab"), raises=(TypeError, "bytes")),
    Case("ndarray-of-str", lambda L: L.t(np.array(["a", "b"])),
         raises=(TypeError, "strings")),
    Case("object", lambda L: L.t([object()]), raises=(TypeError, "object elements"),
         torch_raises=RuntimeError),
    Case("add-str", lambda L: L.A.ones(2) + "a", raises=(TypeError, "strings")),
    # sizes must be ints (never truncated) and non-negative
    Case("zeros-float-size", lambda L: L.A.zeros(2.0),
         raises=(TypeError, r"zeros: sizes must be ints, but got float 2.0")),
    Case("ones-tuple-float", lambda L: L.A.ones((2, 2.5)),
         raises=(TypeError, r"ones: sizes must be ints.*2.5 at position 1")),
    Case("full-float-size", lambda L: L.A.full((2.5,), 1.0),
         raises=(TypeError, r"size: sizes must be ints, but got float 2.5")),
    Case("randn-float-size", lambda L: L.A.randn(3, 1.5),
         raises=(TypeError, r"sizes must be ints, but got float 1.5 at position 1")),
    Case("reshape-float", lambda L: L.A.ones(4).reshape((2.0, 2)),
         raises=(TypeError, "sizes must be ints")),
    Case("view-float", lambda L: L.A.ones(4).view((2, 2.0)),
         raises=(TypeError, "sizes must be ints")),
    Case("expand-float", lambda L: L.A.ones(1).expand((2.0,)),
         raises=(TypeError, "expand: sizes must be ints")),
    Case("zeros-negative", lambda L: L.A.zeros(-1),
         raises=(RuntimeError, r"zeros: Trying to create tensor with negative dimension -1")),
    Case("randn-negative", lambda L: L.A.randn(2, -2),
         raises=(RuntimeError, r"negative dimension -2: \[2, -2\]")),
    Case("full-negative", lambda L: L.A.full((-3,), 0.0),
         raises=(RuntimeError, "negative dimension -3")),
    Case("requires-grad-int", lambda L: L.t([1, 2], requires_grad=True),
         raises=(RuntimeError, "only Tensors of floating point dtype can require gradients")),
    Case("requires-grad-bool", lambda L: L.t([True]).requires_grad_(),
         raises=(RuntimeError, "floating point dtype")),
]

COMPLEX = [  # PyTorch has complex tensors; ndgrad refuses them with a clear TypeError
    Case("complex", lambda L: L.t([1 + 2j]), raises=(TypeError, "does not support complex")),
    Case("complex-ndarray", lambda L: L.t(np.array([1j])),
         raises=(TypeError, r"dtype complex128 .*does not support complex")),
    Case("complex-scalar-operand", lambda L: L.A.ones(2) * 1j,
         raises=(TypeError, "complex number 1j")),
    Case("complex-ndarray-operand", lambda L: L.A.ones(2) + np.ones(2, np.complex64),
         raises=(TypeError, "complex")),
    Case("to-complex", lambda L: L.A.ones(2).to(np.complex64),
         raises=(TypeError, "to: dtype complex64 is not supported")),
    Case("zeros-complex-dtype", lambda L: L.A.zeros(2, dtype=np.complex64),
         raises=(TypeError, "does not support complex")),
]

PROMOTION = [
    # int/bool tensors with Python floats -> float32
    Case("int+0.5", lambda L: L.t([1, 2]) + 0.5, value=([1.5, 2.5], F32)),
    Case("int*0.5", lambda L: L.t([1, 2]) * 0.5, value=([0.5, 1.0], F32)),
    Case("0.5-int", lambda L: 0.5 - L.t([1, 2]), value=([-0.5, -1.5], F32)),
    Case("bool+1.5", lambda L: L.t([True, False]) + 1.5, value=([2.5, 1.5], F32)),
    Case("int+np.float32", lambda L: L.t([1, 2]) + np.float32(0.5), value=([1.5, 2.5], F32)),
    Case("int0d*2.5", lambda L: L.t(2) * 2.5, value=(5.0, F32)),
    # true division of integers -> float32
    Case("int/int-scalar", lambda L: L.t([1, 2]) / 2, value=([0.5, 1.0], F32)),
    Case("int/int", lambda L: L.t([1, 3]) / L.t([2, 2]), value=([0.5, 1.5], F32)),
    Case("int-scalar/int", lambda L: 2 / L.t([1, 4]), value=([2.0, 0.5], F32)),
    Case("bool/int", lambda L: L.t([True, False]) / 2, value=([0.5, 0.0], F32)),
    # float-valued unary ops on int/bool -> float32
    Case("exp-int", lambda L: L.t([0, 0]).exp(), value=([1.0, 1.0], F32)),
    Case("log-int", lambda L: L.t([1, 1]).log(), value=([0.0, 0.0], F32)),
    Case("sqrt-int", lambda L: L.t([1, 4]).sqrt(), value=([1.0, 2.0], F32)),
    Case("sigmoid-int", lambda L: L.t([0]).sigmoid(), value=([0.5], F32)),
    Case("tanh-bool", lambda L: L.t([False]).tanh(), value=([0.0], F32)),
    Case("int**0.5", lambda L: L.t([1, 4]) ** 0.5, value=([1.0, 2.0], F32)),
    Case("int**2.0", lambda L: L.t([1, 4]) ** 2.0, value=([1.0, 16.0], F32)),
    Case("2.0**int", lambda L: 2.0 ** L.t([1, 3]), value=([2.0, 8.0], F32)),
    # integer results stay integer
    Case("int**2", lambda L: L.t([1, 4]) ** 2, value=([1, 16], I64)),
    Case("bool+1", lambda L: L.t([True, False]) + 1, value=([2, 1], I64)),
    Case("int32+1", lambda L: L.t([1, 2], dtype=L.int32) + 1, value=([2, 3], I32)),
    Case("int32+int64", lambda L: L.t([1, 2], dtype=L.int32) + L.t([1, 1]), value=([2, 3], I64)),
    Case("int**-1", lambda L: L.t([1, 4]) ** -1,
         raises=(RuntimeError, "Integers to negative integer powers are not allowed")),
    # float32 with int64 tensors -> float32 (NumPy would give float64)
    Case("f32+i64", lambda L: L.A.ones(2) + L.t([1, 2]), value=([2.0, 3.0], F32)),
    Case("i64*f32", lambda L: L.t([1, 2]) * L.A.ones(2), value=([1.0, 2.0], F32)),
    Case("f32-i64", lambda L: L.A.ones(2) - L.t([1, 2]), value=([0.0, -1.0], F32)),
    Case("f32/i64", lambda L: L.A.ones(2) / L.t([1, 2]), value=([1.0, 0.5], F32)),
    Case("f32**i64", lambda L: L.t([2.0, 3.0]) ** L.t([2, 2]), value=([4.0, 9.0], F32)),
    Case("maximum-f32-i64", lambda L: L.A.maximum(L.A.ones(2), L.t([0, 3])),
         value=([1.0, 3.0], F32)),
    Case("where-f32-i64", lambda L: L.A.where(L.t([True, False]), L.A.ones(2), L.t([0, 3])),
         value=([1.0, 3.0], F32)),
    Case("where-int-0.5", lambda L: L.A.where(L.t([True, False]), L.t([1, 2]), 0.5),
         value=([1.0, 0.5], F32)),
    Case("cat-f32-i64", lambda L: L.A.cat([L.A.ones(1), L.t([3])]), value=([1.0, 3.0], F32)),
    Case("stack-i64-f32", lambda L: L.A.stack([L.t([3]), L.A.ones(1)]),
         value=([[3.0], [1.0]], F32)),
    # a 0-d tensor of a higher category wins, of the same category does not
    Case("f32+f64-0d", lambda L: L.A.ones(2) + L.t(1.0, dtype=L.float64), value=([2, 2], F32)),
    Case("i64+f64-0d", lambda L: L.t([1, 2]) + L.t(1.0, dtype=L.float64), value=([2, 3], F64)),
    Case("f32+f64", lambda L: L.A.ones(1) + L.A.ones(1, dtype=L.float64), value=([2.0], F64)),
    Case("f32+np.float64", lambda L: L.A.ones(1) + np.float64(1.5), value=([2.5], F32)),
    Case("atan2-i64-f32", lambda L: L.A.atan2(L.t([0, 0]), L.A.ones(2)), value=([0, 0], F32)),
    Case("fmod-i64-f32", lambda L: L.A.fmod(L.t([3, 4]), L.t([2.0, 3.0])), value=([1, 1], F32)),
    Case("remainder-i64-f32", lambda L: L.t([3, 4]) % L.t([2.0, 3.0]), value=([1, 1], F32)),
    Case("hypot-f32-i64", lambda L: L.A.hypot(L.t([3.0]), L.t([4])), value=([5.0], F32)),
    Case("clamp-int-float-bounds", lambda L: L.t([1, 2]).clamp(0.5, 1.5), value=([1, 1.5], F32)),
    Case("clamp-int-int-bounds", lambda L: L.t([1, 5]).clamp(0, 3), value=([1, 3], I64)),
    Case("logsumexp-int", lambda L: L.t([0, 0]).logsumexp(0), value=(np.log(2.0), F32)),
    # ops that have no integer/bool version refuse instead of guessing a dtype
    Case("var-int", lambda L: L.t([1, 2]).var(),
         raises=(RuntimeError, "std and var only support floating point dtypes")),
    Case("std-int", lambda L: L.t([1, 2]).std(), raises=(RuntimeError, "std and var")),
    Case("mean-int", lambda L: L.t([1, 2]).mean(), raises=(RuntimeError, "mean")),
    Case("softmax-int", lambda L: L.t([1, 2]).softmax(0),
         raises=(NotImplementedError, "softmax: not implemented for int64")),
    Case("log-softmax-int", lambda L: L.t([1, 2]).log_softmax(0),
         raises=(NotImplementedError, "log_softmax: not implemented")),
    Case("neg-bool", lambda L: -L.t([True]),
         raises=(RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported")),
    Case("bool-minus-bool", lambda L: L.t([True]) - L.t([False]),
         raises=(RuntimeError, "Subtraction, the `-` operator, with two bool tensors")),
]

EMPTY = [
    Case("amax-empty-kept-dim", lambda L: L.A.zeros(0, 3).amax(dim=1), value=(np.zeros(0), F32)),
    Case("amin-empty-kept-dim", lambda L: L.A.zeros(0, 3).amin(dim=1), value=(np.zeros(0), F32)),
    Case("amax-over-empty-dim", lambda L: L.A.zeros(0, 3).amax(dim=0),
         raises=(IndexError, r"amax\(\): Expected reduction dim 0 to have non-zero size")),
    Case("amax-all-empty", lambda L: L.A.zeros(0, 3).amax(),
         raises=(RuntimeError, r"amax\(\): Expected reduction dim to be specified for "
                               r"input.numel\(\) == 0")),
    Case("max-empty", lambda L: L.A.zeros(0, 3).max(),
         raises=(RuntimeError, r"max\(\): Expected reduction dim to be specified")),
    Case("max-dim-over-empty", lambda L: L.A.zeros(0, 3).max(dim=0),
         raises=(IndexError, r"max\(\): Expected reduction dim 0 to have non-zero size")),
    Case("max-dim-kept", lambda L: L.A.zeros(0, 3).max(dim=1)[0], value=(np.zeros(0), F32)),
    Case("argmax-empty", lambda L: L.A.zeros(0, 3).argmax(),
         raises=(IndexError, "argmax.*numel.*== 0")),
    Case("argmax-over-empty-dim", lambda L: L.A.zeros(0, 3).argmax(dim=0),
         raises=(IndexError, r"argmax\(\): Expected reduction dim 0 to have non-zero size")),
    Case("argmax-kept-dim", lambda L: L.A.zeros(0, 3).argmax(dim=1), value=(np.zeros(0), I64)),
    Case("logsumexp-empty-dim", lambda L: L.A.zeros(0, 3).logsumexp(dim=0),
         value=([-np.inf] * 3, F32)),
    Case("logsumexp-kept-dim", lambda L: L.A.zeros(0, 3).logsumexp(dim=1),
         value=(np.zeros(0), F32)),
    Case("sum-empty-dim", lambda L: L.A.zeros(0, 3).sum(0), value=([0.0] * 3, F32)),
    Case("mean-empty-dim", lambda L: L.A.zeros(0, 3).mean(0), value=([np.nan] * 3, F32)),
    Case("softmax-empty", lambda L: L.A.zeros(0, 3).softmax(0), value=(np.zeros((0, 3)), F32)),
    Case("log-softmax-empty", lambda L: L.A.zeros(3, 0).log_softmax(1),
         value=(np.zeros((3, 0)), F32)),
]

ALL = CONSTRUCTION + PROMOTION + EMPTY


@pytest.mark.parametrize("case", params(ALL + COMPLEX))
def test_ndgrad(case):
    check_ndgrad(case)


@pytest.mark.parametrize("case", params(ALL))
def test_same_as_torch(case):
    check_torch(case)


def test_python_float_promotion_keeps_gradient_dtype():
    """An int tensor promoted by a float operand needs no gradient; a float32 leaf combined
    with an int64 tensor gets a float32 gradient."""
    import autograd as A
    x = A.tensor([1.0, 2.0], requires_grad=True)
    y = x * A.tensor([3, 4])
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad._data, [3.0, 4.0])
