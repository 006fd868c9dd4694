"""Unary methods on bool/int tensors, and argument-less calls, as PyTorch answers them.

NumPy computes many things PyTorch refuses (``abs`` of bools, ``frac`` of integers,
``svd`` of an integer matrix in float64); ndgrad follows PyTorch. Each case states the
exception type and a message fragment, and is compared with torch when importable.
"""
import numpy as np
import pytest

import autograd as A
from autograd.dtype_rules import RULES

BOOL = [[True, False], [False, True]]
INT = [[2, 1], [1, 3]]

CASES = [  # (label, program(lib), expected exception type or None, message fragment)
    *[(f"{name}-bool", (lambda n: lambda L: getattr(L.tensor(BOOL), n)())(name), err,
       msg.split("{")[0][:25]) for name, (kinds, err, msg) in RULES.items() if "b" in kinds],
    ("frac-int", lambda L: L.tensor(INT).frac(), NotImplementedError, '"frac_cpu" not implemented'),
    ("nanmean-int", lambda L: L.tensor(INT).nanmean(), RuntimeError, "nanmean(): expected input"),
    ("histc-int", lambda L: L.tensor(INT).histc(), NotImplementedError, '"histogram_cpu"'),
    ("square-bool", lambda L: str(L.tensor(BOOL).square().dtype).replace("torch.", ""), None, "int64"),
    ("sign-bool", lambda L: L.tensor(BOOL).sign().tolist(), None, None),
    ("sgn-bool", lambda L: L.tensor(BOOL).sgn().tolist(), None, None),
    ("fliplr-1d", lambda L: L.tensor([1, 2]).fliplr(), RuntimeError, "2-d"),
    ("rot90-1d", lambda L: L.tensor([1, 2]).rot90(), RuntimeError, "expected total dims >= 2"),
    ("flip-no-dims", lambda L: L.tensor([1, 2]).flip(), TypeError, 'missing 1 required positional arguments: "dims"'),
    ("tile-no-dims", lambda L: L.tensor([1, 2]).tile(), TypeError, 'missing 1 required positional arguments: "dims"'),
    ("new-ones-no-size", lambda L: L.tensor([1, 2]).new_ones(), TypeError, 'missing 1 required positional arguments: "size"'),
    ("clamp-no-bounds", lambda L: L.tensor([1, 2]).clamp(), RuntimeError, "At least one of 'min' or 'max'"),
    ("clip-no-bounds", lambda L: L.tensor([1.0]).clip(), RuntimeError, "At least one of 'min' or 'max'"),
    *[(f"linalg-{fn}-int", (lambda f: lambda L: getattr(L.linalg, f)(L.tensor(INT)))(fn),
       RuntimeError, "floating point") for fn in ("svd", "svdvals", "qr", "pinv", "cholesky", "det", "inv")],
    *[(f"linalg-{fn}-vector", (lambda f: lambda L: getattr(L.linalg, f)(L.tensor([1.0, 2.0])))(fn),
       RuntimeError, "dimensions") for fn in ("svd", "svdvals", "qr", "pinv")],
]


def _outcome(lib, program):
    try:
        return program(lib)
    except Exception as e:  # noqa: BLE001 -- compared below
        return e


@pytest.mark.parametrize("label,program,error,fragment", CASES, ids=[c[0] for c in CASES])
def test_ndgrad(label, program, error, fragment):
    out = _outcome(A, program)
    if error is None:
        assert not isinstance(out, Exception), repr(out)
        if fragment is not None:
            assert out == fragment
    else:
        assert isinstance(out, error), repr(out)
        assert fragment in str(out), (fragment, str(out))


@pytest.mark.parametrize("label,program,error,fragment", CASES, ids=[c[0] for c in CASES])
def test_same_as_torch(label, program, error, fragment):
    torch = pytest.importorskip("torch")
    ours, theirs = _outcome(A, program), _outcome(torch, program)
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception) and type(ours).__name__ == type(theirs).__name__, \
            (ours, theirs)
    else:
        assert not isinstance(ours, Exception), repr(ours)
        assert np.array_equal(np.asarray(ours, dtype=object), np.asarray(theirs, dtype=object))


REDUCTIONS = [
    ("sum-uint8", lambda L: L.tensor(np.array([[1, 2], [3, 250]], np.uint8)).sum()),
    ("sum-dim-uint8", lambda L: L.tensor(np.array([[1, 2], [3, 250]], np.uint8)).sum(0)),
    ("cumsum-bool", lambda L: L.tensor([True, False, True]).cumsum(0)),
    ("cumprod-uint8", lambda L: L.tensor(np.array([2, 3, 50], np.uint8)).cumprod(0)),
    ("sum-dtype", lambda L: L.tensor([1, 2, 3]).sum(dtype=getattr(L, "float64"))),
    ("mean-dtype", lambda L: L.tensor([1, 2]).mean(dtype=getattr(L, "float32"))),
]


@pytest.mark.parametrize("label,program", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_integer_reductions_as_torch(label, program):
    ours = program(A)
    assert ours.dtype in (np.int64, np.float64, np.float32)
    torch = pytest.importorskip("torch")
    theirs = program(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(np.asarray(ours.tolist()), np.asarray(theirs.tolist()))
