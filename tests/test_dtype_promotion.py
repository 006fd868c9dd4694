"""Binary operators across every pair of dtypes (and Python numbers): PyTorch's result.

Where NumPy and PyTorch differ (``bool & int`` is bitwise in the promoted dtype, ``uint8 //
3`` stays uint8, integer ``**`` with negative exponents, subtraction of bools, integer
division by zero), PyTorch wins. The table runs against torch when it is installed; a few
exact cases run without it.
"""
import operator as op

import numpy as np
import pytest

import autograd as A

DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]
VALUES = {"bool": [True, False, True], "uint8": [1, 2, 3], "int32": [-3, 2, 5],
          "int64": [4, -2, 7], "float32": [0.5, -1.5, 2.0], "float64": [1.25, 3.0, -0.5]}
NUMBERS = {"pyint": 3, "pyfloat": 2.5, "pybool": True}
OPS = {"add": op.add, "sub": op.sub, "mul": op.mul, "truediv": op.truediv,
       "floordiv": op.floordiv, "mod": op.mod, "pow": op.pow, "lt": op.lt, "eq": op.eq,
       "and": op.and_, "or": op.or_, "xor": op.xor,
       "maximum": lambda a, b: a.maximum(b),
       "rsub": lambda a, b: b - a, "rdiv": lambda a, b: b / a, "rpow": lambda a, b: b ** a,
       "rfloordiv": lambda a, b: b // a, "rmod": lambda a, b: b % a}
# Where ndgrad computes and torch has no kernel: boolean powers (NumPy's rule, kept bool).
KNOWN = {("pow", "bool", "bool"), ("rpow", "bool", "pybool")}


def _cases():
    for name in OPS:
        others = list(NUMBERS) if name.startswith("r") else DTYPES + list(NUMBERS)
        for a in DTYPES:
            for b in others:
                if (name, a, b) not in KNOWN:
                    yield name, a, b


def _outcome(lib, name, a, b):
    x = lib.tensor(np.array(VALUES[a], dtype=a))
    y = NUMBERS[b] if b in NUMBERS else lib.tensor(np.array(VALUES[b], dtype=b))
    try:
        r = OPS[name](x, y)
    except Exception as e:  # noqa: BLE001 -- compared with torch's
        return type(e).__name__
    return str(r.dtype).replace("torch.", ""), np.asarray(r.tolist(), dtype=float)


@pytest.mark.parametrize("name,a,b", list(_cases()))
def test_binary_op_matches_torch(name, a, b):
    torch = pytest.importorskip("torch")
    ours, theirs = _outcome(A, name, a, b), _outcome(torch, name, a, b)
    if isinstance(theirs, str):
        assert ours == theirs
    else:
        assert not isinstance(ours, str), ours
        assert ours[0] == theirs[0]
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, equal_nan=True)


def test_exact_cases_without_torch():
    t = A.tensor
    assert (t([True, False, True]) & t([4, -2, 7])).tolist() == [0, 0, 1]
    r = t(np.array([1, 2, 3], np.uint8)) // 3
    assert r.dtype == np.uint8 and r.tolist() == [0, 0, 1]
    assert (t([4, -2, 7]) ** t([-1, 2, -2])).tolist() == [0, 4, 0]
    assert (t([1, -1, -1]) ** t([-3, -3, -2])).tolist() == [1, -1, 1]
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        t([True]) - 1
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        t([1, 2]) - True
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        t([1, 2]) // t([1, 0])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        t([1, 2]) % t([True, False])
    with pytest.raises(NotImplementedError, match="bitwise_and_cpu.*Float"):
        t([1.5]) & 1
    with pytest.raises(TypeError, match=r"maximum\(\): argument 'other' \(position 1\) must be Tensor, not int"):
        t([1.5]).maximum(1)


@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_signed_zero_constants_keep_their_sign(zero):
    """Python constants are cached per value, and -0.0 == 0.0: the cache must not hand
    +0.0 for -0.0 (x / -0.0 is -inf, as in torch and NumPy)."""
    x = A.Tensor(np.array([1.0, -2.0], dtype=np.float32))
    for other in (0.0, -0.0, zero):  # whichever was cached first
        with np.errstate(divide="ignore"):
            got = (x / other).numpy()
            want = np.array([1.0, -2.0], dtype=np.float32) / np.float32(other)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit((x * other).numpy()),
                                      np.signbit(x.numpy() * np.float32(other)))
