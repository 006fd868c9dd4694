"""Tables of bad-input cases, run twice: against ndgrad (always) and against PyTorch (the
oracle, when ``torch`` is importable).

A case is a function of a library namespace ``L`` written once for both libraries
(``L.t`` is ``tensor``, ``L.A`` the tensor module, ``L.F`` the functional module, ``L.nn``
the layers, ``L.grad`` ``autograd.grad``, ``L.Function`` the custom-function base class,
dtypes as ``L.float32`` ...), plus what must happen: an exception type and a fragment of
ndgrad's message (PyTorch must raise the same type), or an exact value with its dtype
(PyTorch must give the same).
"""
import types

import numpy as np
import pytest


class Case:
    """``raises=(ExcType, "ndgrad message regex")`` or ``value=(array-like, "dtype")``
    (``value=(python_object, None)`` compares plain Python results)."""

    def __init__(self, id, fn, raises=None, value=None, torch_raises=None):
        self.id, self.fn, self.raises, self.value = id, fn, raises, value
        self.torch_raises = torch_raises  # when PyTorch's type is a subclass/other (rare)


def ndgrad_lib():
    import autograd
    import nn
    import nn.functional as F
    return types.SimpleNamespace(
        name="ndgrad", A=autograd, t=autograd.tensor, F=F, nn=nn, grad=autograd.grad,
        Function=autograd.Function, detect_anomaly=autograd.detect_anomaly,
        no_grad=autograd.no_grad, float32=np.float32, float64=np.float64, int64=np.int64,
        int32=np.int32, bool=np.bool_)


def torch_lib():
    torch = pytest.importorskip("torch")
    return types.SimpleNamespace(
        name="torch", A=torch, t=torch.tensor, F=torch.nn.functional, nn=torch.nn,
        grad=torch.autograd.grad, Function=torch.autograd.Function,
        detect_anomaly=torch.autograd.detect_anomaly, no_grad=torch.no_grad,
        float32=torch.float32, float64=torch.float64, int64=torch.int64, int32=torch.int32,
        bool=torch.bool)


def _as_result(r):
    """A result as (numpy array, dtype name), or the plain Python value."""
    if hasattr(r, "detach") and hasattr(r, "shape"):
        r = r.detach()
        arr = np.asarray(r.numpy() if hasattr(r, "numpy") and not hasattr(r, "_data")
                         else r._data)
        return arr, str(r.dtype).replace("torch.", "")
    if isinstance(r, (tuple, list)) and r and all(hasattr(x, "shape") for x in r):
        return [_as_result(x) for x in r]
    return r


def _compare(result, expected):
    want, dtype = expected
    got = _as_result(result)
    if dtype is None:
        assert got == want, f"got {got!r}, expected {want!r}"
        return
    if isinstance(got, list):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _compare_array(g, (w, dtype))
        return
    _compare_array(got, expected)


def _compare_array(got, expected):
    arr, dtype = got
    want, want_dtype = expected
    assert dtype == want_dtype, f"dtype {dtype}, expected {want_dtype}"
    want = np.asarray(want)
    assert arr.shape == want.shape, f"shape {arr.shape}, expected {want.shape}"
    np.testing.assert_allclose(arr.astype(np.float64), want.astype(np.float64), rtol=1e-6,
                               atol=0)


def check_ndgrad(case):
    L = ndgrad_lib()
    if case.raises is not None:
        exc, match = case.raises
        with pytest.raises(exc, match=match):
            case.fn(L)
    else:
        import warnings
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "Mean of empty slice"
            _compare(case.fn(L), case.value)


def check_torch(case):
    L = torch_lib()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case.raises is not None:
            exc = case.torch_raises or case.raises[0]
            with pytest.raises(exc):
                case.fn(L)
        else:
            _compare(case.fn(L), case.value)


def params(cases):
    return [pytest.param(c, id=c.id) for c in cases]
