"""In-place Tensor methods (``add_``, ``mul_``, ``copy_``, ``x[i] = v``, ...), as in PyTorch.

* Under ``no_grad`` (optimizer steps, weight init) or on tensors outside any graph the
  array is written in place and the tensor's ``_version`` goes up.
* On a tensor that is part of a graph (a non-leaf, or a write of a value that requires
  grad) the write is also *recorded*: the out-of-place op runs on a snapshot of the
  tensor and the tensor takes the result's place in the graph, so backward stays right.
* A view made by indexing, reshape, transpose or permute remembers its base: writing it
  while recording also records the base's new value (``base[index] = new value``, as
  PyTorch's CopySlices), so ``y[:, 0] += b`` is right. Other views are refused.
* A leaf that requires grad can't be written while recording (PyTorch's error).
* Memory that a live graph saved for backward may be written: ``saved.prepare_write``
  marks those nodes stale, and backward through them raises PyTorch's error.
"""
import numbers
import sys

import numpy as np

from . import grad_mode
from . import ops as O
from .ops.dtypes import check_in_place_cast, torch_name
from .saved import _root, prepare_write

def _dtype_of(value):
    """The dtype an operand (Tensor, array or Python number) counts as, PyTorch's way."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, numbers.Real):
        return np.dtype(np.float32)
    dtype = getattr(value, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(value).dtype


def _check_cast(op, target, operands, float_result=False):
    """PyTorch refuses an in-place result of a higher category than the tensor written
    (``int_tensor.add_(0.5)``: "result type Float can't be cast to ... Long")."""
    own = target._data.dtype
    for value in operands:
        if value is not None:
            check_in_place_cast(op, _dtype_of(value), own)
    if float_result:
        check_in_place_cast(op, np.dtype(np.float32), own)


def _raw(value):
    return value._data if hasattr(value, "_data") else value


def _check_not_shared_view(op, arr):
    """A recorded write into memory that another tensor also shows would change that
    tensor's values behind its graph (PyTorch rewrites the base's history; ndgrad does
    not), so it is refused. A view nobody else holds (a temporary inside an op) is fine:
    the owner of its memory is referenced only through the view (and by the two names
    below). NumPy points every plain view at the owner; strided views (a diagonal) may
    have a helper object in between, which is why the owner is looked up."""
    base = _root(arr)
    if base is not arr and sys.getrefcount(base) > 3:
        raise RuntimeError(
            f"{op}: in-place write into a view (shape {arr.shape}) that shares memory with "
            f"another tensor, while recording a graph: ndgrad cannot rewrite the other "
            f"tensor's history as PyTorch does. Use the out-of-place op, or clone() first.")


def _indexed_base(view):
    """The tensor that ``view`` (made by indexing, reshape, transpose or permute) still
    shows, or None."""
    view_of = getattr(view, "_view_of", None)
    if view_of is None or _root(view._data) is not _root(view_of[0]._data):
        return None
    return view_of[0]


def _rewrite_base(view, value, op):
    """``view`` now holds ``value``: record the base's new value on the base (for
    ``base[index]``, ``base[index] = value``, PyTorch's CopySlices; for a reshape or a
    transpose, ``value`` reshaped or transposed back), so the base's own graph knows of
    the write (up through a chain of views), then write the values."""
    base, rebuild = view._view_of
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is being used "
                           f"in an in-place operation.")
    new = rebuild(base._make(base._data, base.grad_fn), value)
    if _indexed_base(base) is not None:
        _rewrite_base(base, new, op)
    else:
        prepare_write(base._data, op)
        np.copyto(base._data, new._data, casting="unsafe")
    _take_place(base, new.grad_fn)
    base._version += 1


def _take_place(tensor, grad_fn):
    """``tensor`` now stands for the output of ``grad_fn`` in the graph."""
    old = tensor.grad_fn
    tensor.grad_fn = grad_fn
    if old is not None and old._retain is not None and old._retain() is tensor:
        old._retain = None    # retain_grad() follows the tensor to its new value,
        tensor.retain_grad()  # as in PyTorch (hooks stay with the old one)


class InPlaceMethods:
    """Mixed into Tensor."""
    __slots__ = ()

    def _recording(self, operands):
        if not grad_mode._enabled:
            return False
        return self.requires_grad or any(getattr(v, "requires_grad", False) for v in operands)

    def _write(self, op, raw_fn, operands=(), graph_fn=None, saves_self=True):
        """Write ``raw_fn(array, *raw operands)`` into self; when recording, also record
        ``graph_fn(snapshot, *operands)`` and take its place in the graph."""
        recording = self._recording(operands)
        if recording and self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place "
                f"operation. Wrap the update in `with no_grad():`, or use the out-of-place op.")
        if recording and graph_fn is not None:
            base = _indexed_base(self)
            if base is None:
                _check_not_shared_view(op, self._data)
            # The snapshot stands for self's old value in the graph; copied when the op
            # saves its input, since self's memory is about to be overwritten.
            data = self._data.copy() if saves_self else self._data
            snapshot = self._make(data, self.grad_fn)
            operands = [v if hasattr(v, "_data") else snapshot._wrap(v) for v in operands]
            result = graph_fn(snapshot, *operands)
            if base is not None:  # x[idx] op= v: x's history is rewritten too (CopySlices)
                _rewrite_base(self, result, op)
            else:
                prepare_write(self._data, op)
                np.copyto(self._data, result._data, casting="unsafe")
            _take_place(self, result.grad_fn)
        else:
            prepare_write(self._data, op)
            raw_fn(self._data, *[_raw(v) for v in operands])
        self._version += 1
        return self

    # ---------------------------------------------------------------- arithmetic
    def add_(self, other, alpha=1):
        _check_cast("add_", self, (other, alpha))
        scaled = (lambda o: o) if alpha == 1 else (lambda o: o * alpha)
        return self._write("add_", lambda d, o: np.add(d, np.multiply(o, alpha) if alpha != 1 else o,
                                                      out=d, casting="unsafe"),
                           (other,), lambda s, o: s + scaled(o), saves_self=False)

    def sub_(self, other, alpha=1):
        _check_cast("sub_", self, (other, alpha))
        scaled = (lambda o: o) if alpha == 1 else (lambda o: o * alpha)
        return self._write("sub_", lambda d, o: np.subtract(d, np.multiply(o, alpha) if alpha != 1 else o,
                                                           out=d, casting="unsafe"),
                           (other,), lambda s, o: s - scaled(o), saves_self=False)

    def mul_(self, other):
        _check_cast("mul_", self, (other,))
        return self._write("mul_", lambda d, o: np.multiply(d, o, out=d, casting="unsafe"),
                           (other,), lambda s, o: s * o)

    def div_(self, other):
        _check_cast("div_", self, (other,), float_result=True)
        return self._write("div_", lambda d, o: np.divide(d, o, out=d, casting="unsafe"),
                           (other,), lambda s, o: s / o)

    def clamp_(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp_: At least one of 'min' or 'max' must not be None")
        _check_cast("clamp_", self, (min, max))
        return self._write("clamp_", lambda d: np.clip(d, _raw(min), _raw(max), out=d), (),
                           lambda s: s.clamp(min, max))

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)

    # ---------------------------------------------------------------- overwrite
    def _replace(self, op, fill, value=None):
        """Overwrite every element with ``fill(array)``; recorded as ``where(False, self,
        new)`` so the old value gets a zero gradient and a tensor ``value`` its (summed)
        gradient."""
        operands = () if value is None or not hasattr(value, "_data") else (value,)

        def graph_fn(s, *v):
            from .tensor import Tensor, where
            if v:
                new = v[0]
            else:
                new = Tensor._make(np.empty_like(s._data), None)
                fill(new._data)
            return where(np.zeros(s.shape, dtype=bool), s, new)
        return self._write(op, lambda d, *_: fill(d), operands, graph_fn, saves_self=False)

    def copy_(self, src):
        return self._replace("copy_", lambda d: np.copyto(d, _raw(src), casting="unsafe"), src)

    def fill_(self, value):
        return self._replace("fill_", lambda d: d.fill(_raw(value)), value)

    def zero_(self):
        return self._replace("zero_", lambda d: d.fill(0))

    def _check_float(self, op):
        if self._data.dtype.kind != "f":  # torch has no such kernel for integers or bools
            raise NotImplementedError(f"{op}: not implemented for {torch_name(self._data.dtype)} "
                                      f"tensors (only floating point)")

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        self._check_float("normal_")
        from .factories import _rng
        return self._replace("normal_", lambda d: np.copyto(
            d, _rng(generator).normal(mean, std, d.shape), casting="unsafe"))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        self._check_float("uniform_")
        from .factories import _rng
        return self._replace("uniform_", lambda d: np.copyto(
            d, _rng(generator).uniform(a, b, d.shape), casting="unsafe"))

    # ---------------------------------------------------------------- x[index] = v
    def __setitem__(self, index, value):
        from .indexing import _index_steps
        steps = tuple(_index_steps(index, self.shape))

        def raw_fn(d, v):
            for step in steps[:-1]:
                d = d[step]  # basic steps: views
            d[steps[-1]] = v
        return self._write("index_put_ (x[index] = v)", raw_fn, (value,),
                           lambda s, v: O.IndexPut.apply(s, v, steps=steps), saves_self=False)

    def index_put_(self, indices, values, accumulate=False):
        """``self[indices] = values`` (``indices`` a tuple of index tensors); with
        ``accumulate=True`` values are added, repeated indices adding up."""
        if not isinstance(indices, (tuple, list)):
            raise TypeError(f"index_put_(): argument 'indices' must be tuple of Tensors, not "
                            f"{type(indices).__name__}")
        if not accumulate:
            self[tuple(indices)] = values
            return self
        from .indexing import _index_steps
        steps = tuple(_index_steps(tuple(indices), self.shape))
        if len(steps) != 1:
            raise NotImplementedError("index_put_(accumulate=True) with ints mixed among the "
                                      "index tensors is not supported by ndgrad")
        (index,) = steps
        target_shape = np.empty(self.shape, dtype=bool)[index].shape

        def added(s, v):
            spread = O.IndexAdd.apply(v.expand(target_shape) if v.shape != target_shape else v,
                                      shape=s.shape, index=index)
            return s + spread

        def raw_fn(d, v):
            np.add.at(d, index, np.broadcast_to(v, target_shape).astype(d.dtype, copy=False))
        return self._write("index_put_(accumulate=True)", raw_fn, (values,), added,
                           saves_self=False)

    def index_put(self, indices, values, accumulate=False):
        return self.clone().index_put_(indices, values, accumulate)

    def put_(self, index, source, accumulate=False):
        """Write ``source`` at ``index`` of self seen as 1-D (row-major), like ``torch.put_``."""
        flat = np.asarray(getattr(index, "_data", index))
        if flat.dtype.kind not in "iu":
            raise RuntimeError(f"put_(): Expected a long tensor for index, but got {flat.dtype}")
        n = self._data.size
        if flat.size and (flat.max() >= n or flat.min() < -n):
            raise IndexError(f"put_(): index {int(flat.max() if flat.max() >= n else flat.min())} "
                             f"is out of bounds for a tensor of {n} elements")
        coords = np.unravel_index(np.where(flat < 0, flat + n, flat), self.shape)
        src = source.reshape(flat.shape) if hasattr(source, "_data") else \
            np.asarray(source).reshape(flat.shape)
        return self.index_put_(tuple(coords), src, accumulate)

    def put(self, index, source, accumulate=False):
        return self.clone().put_(index, source, accumulate)
