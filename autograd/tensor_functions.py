"""Tensor functions (like ``torch.tensor``, ``torch.zeros``, ``torch.matmul``, ``torch.cat``):
factories and the ops that take several tensors. Re-exported by ``autograd.tensor``."""
import numbers
import operator

import numpy as np

from . import ops as O
from .tensor import (Tensor, _check_dim, _check_sizes, _infer_array, _rng, _shape_arg,
                     default_dtype)


def tensor(data, dtype=None, requires_grad=False):
    """Make a Tensor, copying ``data`` (like ``torch.tensor``)."""
    arr = _infer_array(data, dtype)
    if arr is data or (isinstance(data, Tensor) and arr is data._data):
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def from_numpy(ndarray):
    """A Tensor sharing memory with the NumPy array (like ``torch.from_numpy``): writes to
    either are seen by the other; the dtype is kept (float64 stays float64)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    t = Tensor(ndarray)
    if t._data is not ndarray:  # pragma: no cover  (Tensor() keeps ndarrays as they are)
        raise TypeError(f"from_numpy: cannot share memory with a {ndarray.dtype} array")
    return t


def from_dlpack(ext_tensor):
    """A Tensor sharing memory with any DLPack producer on the CPU (a torch.Tensor, a NumPy
    or JAX array, ...), like ``torch.from_dlpack``. A producer that flags its memory
    read-only gives a read-only Tensor."""
    if isinstance(ext_tensor, Tensor):
        return Tensor(ext_tensor._data)  # same memory, flags included
    return Tensor(np.from_dlpack(ext_tensor))


def _factory(fill):
    def make(*shape, dtype=None, requires_grad=False):
        shape = _check_sizes(_shape_arg(shape, make.__name__), make.__name__)
        return Tensor(fill(shape, np.dtype(dtype or default_dtype)), requires_grad=requires_grad)
    return make


zeros = _factory(lambda s, d: np.zeros(s, d))
ones = _factory(lambda s, d: np.ones(s, d))
empty = _factory(lambda s, d: np.empty(s, d))
randn = _factory(lambda s, d: _rng().standard_normal(s).astype(d))
rand = _factory(lambda s, d: _rng().random(s).astype(d))
for _name in ("zeros", "ones", "empty", "randn", "rand"):
    globals()[_name].__name__ = _name


def full(shape, fill_value, dtype=None, requires_grad=False):
    shape = _check_sizes(_shape_arg((shape,), "full"), "full")
    return Tensor(np.full(shape, fill_value, np.dtype(dtype or default_dtype)),
                  requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return Tensor(np.zeros(t.shape, dtype or t.dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return Tensor(np.ones(t.shape, dtype or t.dtype), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    arr = np.arange(start, end, step) if end is not None else np.arange(start)
    return Tensor(arr.astype(dtype) if dtype else _infer_array(arr.tolist()) if arr.size else arr,
                  requires_grad=requires_grad)


def eye(n, m=None, dtype=None):
    return Tensor(np.eye(n, m, dtype=np.dtype(dtype or default_dtype)))


def _as_tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    return like._wrap(x) if like is not None else Tensor(x)


def matmul(a, b):
    """Matrix product with NumPy/PyTorch semantics for 1-D, 2-D and batched operands."""
    plain = None if isinstance(a, Tensor) and isinstance(b, Tensor) else (
        "a" if not isinstance(a, Tensor) else "b")
    a, b = _as_tensor(a), _as_tensor(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got {a.shape} @ {b.shape}")
    if plain is not None and a.dtype.kind == b.dtype.kind == "f" and a.dtype != b.dtype:
        # a list / NumPy array operand takes the Tensor's float dtype (like a Python number)
        if plain == "a":
            a = Tensor._make(a._data.astype(b.dtype), None)
        else:
            b = Tensor._make(b._data.astype(a.dtype), None)
    if a._data.dtype != b._data.dtype:  # no silent promotion between Tensors, as in torch
        raise RuntimeError(f"matmul: expected m1 and m2 to have the same dtype, but got: "
                           f"{a.dtype} != {b.dtype} ({a.shape} @ {b.shape})")
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        raise RuntimeError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {k_a} and {k_b} differ")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(f"matmul: {a.shape} @ {b.shape}: batch dimensions {a.shape[:-2]} and "
                           f"{b.shape[:-2]} do not broadcast") from None
    if a.ndim >= 2 and b.ndim >= 2:
        return O.MatMul.apply(a, b)
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    out = O.MatMul.apply(a2, b2)
    shape = out.shape
    if b.ndim == 1:
        shape = shape[:-1]
    if a.ndim == 1:
        shape = shape[:-2] + shape[-1:] if b.ndim > 1 else shape[:-1]
    return out.reshape(shape)


def where(condition, x, y):
    """Elementwise ``x if condition else y`` (gradient flows to the chosen side)."""
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = Tensor(x)
    x = _as_tensor(x, y if isinstance(y, Tensor) else None)
    y = _as_tensor(y, x)
    cond = condition if isinstance(condition, Tensor) else Tensor(np.asarray(condition, dtype=bool))
    if cond.dtype != bool:  # torch refuses too: a float mask is usually a mistake
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {cond.dtype} (shape {cond.shape}); compare it first "
                           f"(cond > 0) or call .bool()")
    return O.Where.apply(cond, x, y)


def cat(tensors, dim=0):
    """Concatenate along an existing dimension (like ``torch.cat``)."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of Tensors")
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
    d = _check_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {dim}: "
                               f"tensor 0 has shape {ref.shape} but tensor {i} has shape {t.shape}")
    return O.Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors, dim=0):
    """Join along a new dimension (like ``torch.stack``)."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got "
                               f"{tensors[0].shape} at entry 0 and {t.shape} at entry {i}")
    d = _check_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(d) for t in tensors], dim=d)


def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces of a given size, or of the listed sizes (like ``torch.split``)."""
    d = _check_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (numbers.Integral, Tensor)) and \
            not isinstance(split_size_or_sections, (bool, np.bool_)):
        size = operator.index(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):  # RuntimeErrors, as in torch
            raise RuntimeError(f"split: split_size must be positive (0 only for an empty "
                               f"dimension), got split_size={size} for dimension {d} of size {n}")
        if size == 0:
            return (tensor,)
        sizes = [size] * (n // size)
        if n % size:
            sizes.append(n % size)
    else:
        if not isinstance(split_size_or_sections, (tuple, list)):
            raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, "
                            f"not {type(split_size_or_sections).__name__}")
        sizes = list(_shape_arg((split_size_or_sections,), "split"))
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"split: split_sizes must be non-negative, got split_sizes={sizes}")
        if sum(sizes) != n:
            raise RuntimeError(f"split: sizes {sizes} must sum to the size {n} of dimension {dim} "
                               f"of input {tensor.shape}")
    out, start = [], 0
    for s in sizes:
        out.append(tensor[(slice(None),) * d + (slice(start, start + s),)])
        start += s
    return tuple(out)


def pad(input, pad, mode="constant", value=0.0):
    """Pad the last dimensions, last dimension first (like ``torch.nn.functional.pad``).

    ``mode`` is 'constant' (with ``value``), 'reflect', 'replicate' or 'circular'. The
    last three are a gather with index arrays (``np.pad`` of an ``arange``), so their
    gradient comes from indexing's backward (repeated indices accumulate).
    """
    pad = _shape_arg((pad,), "pad")  # ints only: a float is a TypeError, as in torch
    if mode == "constant":
        return O.Pad.apply(input, pad=pad, value=value)
    np_modes = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if mode not in np_modes:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got mode={mode!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad: padding {pad} must have an even length of at most "
                         f"2 * {input.ndim} for input of shape {input.shape}")
    index = []
    for d, n in enumerate(input.shape):
        k = input.ndim - 1 - d  # pad lists the last dimension first
        lo, hi = (pad[2 * k], pad[2 * k + 1]) if 2 * k < len(pad) else (0, 0)
        if min(lo, hi) < 0:
            raise ValueError(f"pad: negative padding {pad} is not supported for mode={mode!r}")
        limit = n - 1 if mode == "reflect" else n
        if max(lo, hi) > limit or (n == 0 and max(lo, hi) > 0):
            raise ValueError(f"pad: padding ({lo}, {hi}) of dimension {d} must be at most "
                             f"{limit} for mode={mode!r} (input shape {input.shape})")
        index.append(np.pad(np.arange(n), (lo, hi), mode=np_modes[mode]))
    return input[np.ix_(*index)]
