"""PyTorch's type promotion, on raw NumPy arrays.

NumPy and PyTorch disagree on mixed dtypes: NumPy gives ``float32 + int64 -> float64``
and ``int64 / int64 -> float64``; PyTorch gives ``float32`` for both (the default float
dtype), and a Python number or a 0-d tensor only changes the result's dtype when it is
of a higher *category* (bool < integer < floating). Ops call these helpers in
``forward`` so that results have PyTorch's dtype; the engine casts each gradient back to
its input's dtype.

The rule (``c10::ResultTypeState``): operands with dimensions decide the dtype; a 0-d
operand (a Python number is wrapped as one by ``Tensor._coerce``) wins only if its
category is higher, and then an integer or bool tensor becomes the 0-d operand's float
dtype (a Python float is wrapped as float32, so ``int_tensor * 0.5`` is float32).
"""
import numpy as np

DEFAULT_FLOAT = np.dtype(np.float32)
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}

# PyTorch's names, for messages ("mat1 and mat2 must have the same dtype, but got Double
# and Float")
_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def torch_name(dtype):
    """``np.float32`` -> ``"Float"`` (PyTorch's scalar type names)."""
    return _TORCH_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


def check_in_place_cast(op, result, target):
    """PyTorch refuses to write a result of a higher category (bool < integer < float)
    into a tensor in place (``int_tensor.add_(0.5)``, ``int_tensor.sin_()``: "result type
    Float can't be cast to the desired output type Long")."""
    if _CATEGORY.get(result.kind, 3) > _CATEGORY.get(target.kind, 3):
        raise RuntimeError(f"{op}: result type {torch_name(result)} can't be cast to the "
                           f"desired output type {torch_name(target)}")


def promote_types(a, b):
    """PyTorch's ``promote_types``: the higher category's dtype, or within a category
    the wider one (``int64, float32 -> float32``, unlike NumPy's float64)."""
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    ca, cb = _CATEGORY.get(a.kind, 3), _CATEGORY.get(b.kind, 3)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher, lower):
    """``combine_categories``: ``higher`` (dims) beats ``lower`` unless lower's category is
    higher."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(*arrays):
    """The dtype PyTorch gives an elementwise op on these raw arrays (0-d arrays, which
    include wrapped Python numbers, count as lower priority)."""
    first = arrays[0].dtype
    if all(a.dtype == first for a in arrays[1:]):
        return first
    dim = zero = None
    for a in arrays:
        if a.ndim:
            dim = a.dtype if dim is None else promote_types(dim, a.dtype)
        else:
            zero = a.dtype if zero is None else promote_types(zero, a.dtype)
    return _combine(dim, zero)


def promoted(a, b):
    """``a``, ``b`` converted to their PyTorch result dtype (no copy when already there;
    floats of Scalar graphs pass through)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.dtype == b.dtype:
        return a, b
    dtype = result_type(a, b)
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def as_float(x):
    """An integer or bool array as the default float dtype (float-valued ops such as
    ``exp``, ``sqrt`` or true division of integers give float32 in PyTorch)."""
    if type(x) is np.ndarray and x.dtype.kind in "biu":
        return x.astype(DEFAULT_FLOAT)
    return x
