"""From Python data and arguments to what NumPy needs, with PyTorch's defaults and checks.

``tensor([1.5, 2])`` is float32 and ``tensor([1, 2])`` int64 (PyTorch's defaults, not
NumPy's float64); complex numbers, strings and bytes are refused; sizes and dims must be
ints (a float is a TypeError, never truncated), as in PyTorch. Used by ``tensor.py`` and
the factories; re-exported there.
"""
import numbers
import operator

import numpy as np

from .variable import Variable

_FLOAT_KINDS = "f"
default_dtype = np.dtype(np.float32)


def _infer_array(data, dtype=None):
    """Python data -> ndarray with PyTorch's defaults (float32 for floats, int64 for ints)."""
    if isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, Variable) and isinstance(data._data, np.ndarray):  # a Tensor
        arr = data._data
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Variable) for x in data):
            data = [x._data if isinstance(x, Variable) else x for x in data]
        arr = np.asarray(data)
        if dtype is None:
            if arr.dtype == np.float64 and not isinstance(data, np.generic):
                arr = arr.astype(default_dtype)  # a NumPy scalar keeps its dtype, as in torch
            elif arr.dtype.kind in "iu" and arr.dtype != np.int64 and not isinstance(data, np.generic):
                arr = arr.astype(np.int64)
    if arr.dtype.kind not in _SUPPORTED_KINDS:
        raise TypeError(_unsupported_message(data, arr.dtype))
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt.kind not in _SUPPORTED_KINDS:
            raise TypeError(f"tensor: dtype {dt} is not supported (ndgrad has bool, integer "
                            f"and floating point tensors)")
        arr = arr.astype(dt, copy=False)
    return arr


_SUPPORTED_KINDS = "biuf"  # bool, signed/unsigned integers, floats


def _unsupported_message(data, dtype):
    what = type(data).__name__
    if dtype.kind == "c":
        return (f"can't convert {what} of dtype {dtype} to a Tensor: ndgrad does not support "
                f"complex numbers (use .real and .imag as two real tensors)")
    if dtype.kind in "US":
        return (f"can't convert {what} of {'strings' if dtype.kind == 'U' else 'bytes'} "
                f"(dtype {dtype}) to a Tensor: only numbers and bools can be")
    if dtype == object:
        return f"can't convert {what} with object elements to a Tensor"
    return f"can't convert {what} of dtype {dtype} to a Tensor"


# ---------------------------------------------------------------------- arguments
def _shape_arg(shape, op="size"):
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))`` -> a tuple of ints. A float is refused
    (a TypeError, as in torch), never truncated: ``zeros(2.5)`` is a mistake."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    out = []
    for i, s in enumerate(shape):
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (numbers.Integral, Variable)):
            raise TypeError(f"{op}: sizes must be ints, but got {type(s).__name__} {s!r} at "
                            f"position {i} of {tuple(shape)}")
        out.append(operator.index(s))
    return tuple(out)


def _check_sizes(shape, op):
    """Factories: negative sizes are a RuntimeError, as in torch."""
    for s in shape:
        if s < 0:
            raise RuntimeError(f"{op}: Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


def _check_dim(dim, ndim, op):
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (numbers.Integral, Variable)):
        raise TypeError(f"{op}: argument 'dim' must be int, not {type(dim).__name__}")
    dim = operator.index(dim)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimensions "
                         f"(expected to be in range of [{-n}, {n - 1}])")
    return dim % n


def _float_only(x, op):
    if x._data.dtype.kind not in _FLOAT_KINDS:  # torch has no integer kernel either
        raise NotImplementedError(f"{op}: not implemented for {x.dtype} tensors (shape "
                                  f"{x.shape}); convert with .float() first")


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0
