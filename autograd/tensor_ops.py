"""More Tensor methods, PyTorch's names: layout, indexing and scatter.

``Tensor`` inherits :class:`TensorOps` (this module's layout and indexing methods, plus
``tensor_math.MathOps`` and ``tensor_reduce.ReduceLinalgOps``). Every method is a thin wrapper over a Function in
``autograd/ops`` (math in ``ops/math.py``, scatters in ``ops/indexing.py``, ...) or a
composite of existing ops, whose gradient then comes from those ops.
"""
import functools
import inspect
import numbers

import numpy as np

from . import ops as O
from .ops import indexing as I, layout as L
from .tensor_math import MathOps
from .tensor_reduce import ReduceLinalgOps, _const, _dim, _raw, _tensor_like


def _sizes(args, op="size", name="sizes"):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    for s in args:  # a float is a TypeError (never truncated), as in torch
        _check_int(s, op, name)
    return tuple(int(s) for s in args)


def _check_int(value, op, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}(): argument '{name}' must be int, but got "
                        f"{type(value).__name__} {value!r}")
    return int(value)


def _index_array(index, op):
    arr = _raw(index)
    arr = np.asarray(arr)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _check_gather_index(x, dim, index, op):
    if index.ndim != max(x.ndim, 1) and not (x.ndim == 0 and index.ndim <= 1):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions "
                           f"as input tensor (input {x.shape}, index {index.shape})")
    n = x.shape[dim] if x.ndim else 1
    if index.size and (index.min() < 0 or index.max() >= n):  # no wrap-around, as PyTorch
        bad = int(index.max()) if index.max() >= n else int(index.min())
        raise RuntimeError(f"{op}(): index {bad} is out of bounds for dimension {dim} with "
                           f"size {n}")
    for d in range(x.ndim):
        if d != dim and index.shape[d] > x.shape[d]:
            raise RuntimeError(f"{op}(): Size does not match at dimension {d}: index "
                               f"{index.shape} is larger than input {x.shape}")


# PyTorch accepts NumPy's argument names everywhere (python_arg_parser's aliases):
# ``axis`` for ``dim`` and ``keepdims`` for ``keepdim``.
_NUMPY_ALIASED = (  # reductions and scans (shape ops stay unwrapped: they are on hot paths)
    "sum", "mean", "amax", "amin", "max", "min", "argmax", "argmin", "var", "std", "logsumexp",
    "prod", "nansum", "nanmean", "any", "all", "median", "mode", "kthvalue", "quantile", "norm",
    "count_nonzero", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "sort",
    "argsort", "topk",
)


def numpy_aliases(fn):
    """``fn`` accepting ``axis=``/``keepdims=`` as ``dim=``/``keepdim=``."""
    takes_axis = "axis" in inspect.signature(fn).parameters

    def method(self, *args, **kwargs):
        if kwargs:
            if "axis" in kwargs and not takes_axis:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(self, *args, **kwargs)
    return functools.wraps(fn)(method)


class TensorOps(MathOps, ReduceLinalgOps):
    __slots__ = ()

    def __init_subclass__(cls, **kwargs):
        # Tensor (and its subclasses) get the NumPy argument aliases on these methods.
        super().__init_subclass__(**kwargs)
        for name in _NUMPY_ALIASED:
            fn = getattr(cls, name, None)
            if callable(fn) and not hasattr(fn, "__wrapped__"):
                setattr(cls, name, numpy_aliases(fn))

    # ------------------------------------------------------------------ copy / layout
    def clone(self, memory_format=None):
        return L.Clone.apply(self)

    def contiguous(self, memory_format=None):
        return self if self._data.flags.c_contiguous else L.Clone.apply(self)

    def is_contiguous(self, memory_format=None):
        return bool(self._data.flags.c_contiguous)

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def type_as(self, other):
        return self.to(other.dtype)

    def _new(self, fill, size, dtype, requires_grad):
        from .tensor import Tensor
        if not size:
            raise TypeError(f'{fill.__name__.replace("np.", "")}-like new_*() missing 1 required '
                            f'positional arguments: "size"')
        return Tensor(fill(_sizes(size), np.dtype(dtype or self.dtype)), requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(np.zeros, size, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(np.ones, size, dtype, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(np.empty, size, dtype, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return self._new(lambda s, d: np.full(s, fill_value, d), (size,), dtype, requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .tensor import Tensor
        return Tensor(np.array(_raw(data), dtype=np.dtype(dtype or self.dtype)),
                      requires_grad=requires_grad)

    def nelement(self):
        return self._data.size

    def unflatten(self, dim, sizes):
        d = _dim(dim, self.ndim, "unflatten")
        sizes = tuple(sizes)
        if -1 in sizes:
            known = int(np.prod([s for s in sizes if s != -1]))
            sizes = tuple(self.shape[d] // max(known, 1) if s == -1 else s for s in sizes)
        if int(np.prod(sizes)) != self.shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the "
                               f"size of dim {dim} ({self.shape[d]}) in the input tensor")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def movedim(self, source, destination):
        src = (source,) if isinstance(source, int) else tuple(source)
        dst = (destination,) if isinstance(destination, int) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} "
                               f"dims) should contain the same number of dims as destination "
                               f"({dst} dims)")
        src = [_dim(s, self.ndim, "movedim") for s in src]
        dst = [_dim(s, self.ndim, "movedim") for s in dst]
        order = [d for d in range(self.ndim) if d not in src]
        for s, d in sorted(zip(dst, src)):
            order.insert(s, d)
        return self if order == list(range(self.ndim)) else self.permute(order)

    moveaxis = movedim

    def swapaxes(self, axis0, axis1):
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def diagonal(self, offset=0, dim1=0, dim2=1):
        d1, d2 = _dim(dim1, self.ndim, "diagonal"), _dim(dim2, self.ndim, "diagonal")
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return L.Diagonal.apply(self, offset=offset, dim1=d1, dim2=d2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        nd = self.ndim + 1
        d1, d2 = _dim(dim1, nd, "diag_embed"), _dim(dim2, nd, "diag_embed")
        if d1 == d2:
            raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
        n = self.shape[-1] + abs(offset)
        batch = list(self.shape[:-1])
        shape = []
        for i in range(nd):
            shape.append(n if i in (d1, d2) else batch.pop(0))
        # The batch dims stay in order; the diagonal (the last dim of self) goes to d1/d2.
        return L.DiagonalScatter.apply(self, shape=tuple(shape), offset=offset, dim1=d1, dim2=d2)

    def diag(self, diagonal=0):
        if self.ndim == 1:
            return self.diag_embed(diagonal, 0, 1)
        if self.ndim == 2:
            return self.diagonal(diagonal, 0, 1)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def unfold(self, dimension, size, step):
        """Sliding windows of ``size`` along ``dimension`` every ``step``, as a new last dim."""
        d = _dim(dimension, self.ndim, "unfold")
        n = self.shape[d] if self.ndim else 1
        if size > n or step <= 0:
            raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but "
                               f"size is {size} (step {step} must be positive)")
        starts = np.arange(0, n - size + 1, step)
        windows = starts[:, None] + np.arange(size)[None, :]
        x = self if self.ndim else self.reshape(1)
        out = x[I.dim_index(x.ndim, d, windows)].movedim(d + 1, -1)  # [..., n_windows, ..., size]
        # torch returns overlapping windows of x's memory; this is a copy, so writing it in
        # place could never reach x: it is read-only instead (an in-place op raises)
        out._data.flags.writeable = False
        return out

    def flip(self, *dims):
        if not dims:
            raise TypeError('flip() missing 1 required positional arguments: "dims"')
        dims = tuple(_dim(d, self.ndim, "flip") for d in _sizes(dims, "flip", "dims"))
        return L.Flip.apply(self, dims=dims) if dims else self.clone()

    def fliplr(self):
        if self.ndim < 2:
            raise RuntimeError(f"fliplr: Input must be >= 2-d (got shape {self.shape}).")
        return self.flip(1)

    def flipud(self):
        if self.ndim < 1:
            raise RuntimeError("flipud: Input must be >= 1-d.")
        return self.flip(0)

    def roll(self, shifts, dims=None):
        for v in (shifts if isinstance(shifts, (tuple, list)) else (shifts,)):
            _check_int(v, "roll", "shifts")
        if dims is None:
            return L.Roll.apply(self, shifts=int(np.sum(shifts)), dims=None)
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims: {len(dims)}")
        return L.Roll.apply(self, shifts=shifts, dims=tuple(_dim(d, self.ndim, "roll") for d in dims))

    def rot90(self, k=1, dims=(0, 1)):
        if self.ndim < 2:
            raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {self.ndim}")
        d0, d1 = (_dim(d, self.ndim, "rot90") for d in dims)
        k %= 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self.clone()

    def tril(self, diagonal=0):
        if self.ndim < 2:
            raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got {self.ndim}")
        return L.Tril.apply(self, diagonal=diagonal, upper=False)

    def triu(self, diagonal=0):
        if self.ndim < 2:
            raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got {self.ndim}")
        return L.Tril.apply(self, diagonal=diagonal, upper=True)

    def repeat(self, *sizes):
        reps = _sizes(sizes, "repeat")
        if len(reps) < self.ndim:
            raise RuntimeError(f"repeat: Number of dimensions of repeat dims ({len(reps)}) can "
                               f"not be smaller than number of dimensions of tensor ({self.ndim})")
        return L.Repeat.apply(self, reps=reps)

    def tile(self, *dims):
        if not dims:
            raise TypeError('tile() missing 1 required positional arguments: "dims"')
        reps = _sizes(dims, "tile", "dims")
        return self.repeat((1,) * (self.ndim - len(reps)) + reps)

    def repeat_interleave(self, repeats, dim=None, output_size=None):
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _dim(dim, x.ndim, "repeat_interleave")
        reps = np.asarray(_raw(repeats))
        index = np.repeat(np.arange(x.shape[d]), reps)
        return x.index_select(d, index)

    def narrow(self, dim, start, length):
        d = _dim(dim, self.ndim, "narrow")
        _check_int(start, "narrow", "start"), _check_int(length, "narrow", "length")
        start = int(start) % self.shape[d] if int(start) < 0 else int(start)
        if start + length > self.shape[d]:
            raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                               f"size ({self.shape[d]}).")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim, index):
        d = _dim(dim, self.ndim, "select")
        return self[(slice(None),) * d + (_check_int(index, "select", "index"),)]

    def tensor_split(self, indices_or_sections, dim=0):
        """Split into n nearly equal parts (the first ``n % size`` one longer), or at the
        listed indices (``torch.tensor_split``)."""
        d = _dim(dim, self.ndim, "tensor_split")
        n = self.shape[d]
        sec = _raw(indices_or_sections)
        if isinstance(sec, (int, np.integer)) or (isinstance(sec, np.ndarray) and sec.ndim == 0):
            k = int(sec)
            if k <= 0:
                raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
            sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
            bounds = np.concatenate([[0], np.cumsum(sizes)])
        else:
            bounds = np.concatenate([[0], np.clip(np.asarray(sec, dtype=np.int64), 0, n), [n]])
        return tuple(self[(slice(None),) * d + (slice(int(lo), int(max(lo, hi))),)]
                     for lo, hi in zip(bounds[:-1], bounds[1:]))

    def hsplit(self, sections):
        return self.tensor_split(sections, 1 if self.ndim > 1 else 0)

    def vsplit(self, sections):
        return self.tensor_split(sections, 0)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """n-th forward difference along dim (``torch.diff``)."""
        from .tensor import cat
        d = _dim(dim, self.ndim, "diff")
        x = self
        if prepend is not None or append is not None:
            parts = [_tensor_like(p, self) for p in (prepend,) if p is not None] + [x] + \
                    [_tensor_like(a, self) for a in (append,) if a is not None]
            x = cat([p if p.ndim else p.expand(x.shape[:d] + (1,) + x.shape[d + 1:])
                     for p in parts], d)
        for _ in range(n):
            m = x.shape[d]
            x = x.narrow(d, 1, m - 1) - x.narrow(d, 0, m - 1) if m > 1 else x.narrow(d, 0, 0)
        return x

    def unbind(self, dim=0):
        d = _dim(dim, self.ndim, "unbind")
        return tuple(self.select(d, i) for i in range(self.shape[d]))

    # ------------------------------------------------------------------ indexing / scatter
    def gather(self, dim, index, sparse_grad=False):
        index = _index_array(index, "gather")
        d = _dim(dim, self.ndim, "gather")
        _check_gather_index(self, d, index, "gather")
        return I.Gather.apply(self, index=I.grid_index(index, d))

    def take_along_dim(self, indices, dim=None):
        indices = _index_array(indices, "take_along_dim")
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        d = _dim(dim, self.ndim, "take_along_dim")
        shape = np.broadcast_shapes(self.shape[:d] + (1,) + self.shape[d + 1:],
                                    indices.shape[:d] + (1,) + indices.shape[d + 1:])
        x = self.expand(shape[:d] + (self.shape[d],) + shape[d + 1:])
        idx = np.broadcast_to(indices, shape[:d] + (indices.shape[d],) + shape[d + 1:])
        return x.gather(d, idx)

    def take(self, index):
        index = _index_array(index, "take")
        return self.reshape(-1)[index]

    def index_select(self, dim, index):
        index = _index_array(index, "index_select").reshape(-1)
        d = _dim(dim, self.ndim, "index_select")
        n = self.shape[d] if self.ndim else 1
        if index.size and (index.min() < 0 or index.max() >= n):
            bad = int(index.max()) if index.max() >= n else int(index.min())
            raise RuntimeError(f"index_select(): index {bad} is out of range for dimension "
                               f"{dim} of size {n} (input {self.shape})")
        return I.IndexSelect.apply(self, index=I.dim_index(self.ndim, d, index))

    def _scatter_args(self, dim, index, src, op):
        index = _index_array(index, op)
        d = _dim(dim, self.ndim, op)
        _check_gather_index(self, d, index, op)
        src = _tensor_like(src, self)
        if src.ndim and src.shape != index.shape:
            src = src[tuple(slice(0, s) for s in index.shape)]
        return I.grid_index(index, d), src.expand(index.shape) if src.shape != index.shape else src

    def scatter(self, dim, index, src=None, value=None, reduce=None):
        if src is None:
            src = value
        if isinstance(src, numbers.Number) and src is not None:
            src = _const(np.asarray(src, dtype=self.dtype))
        if reduce is not None:
            return self.scatter_reduce(dim, index, src, {"add": "sum", "multiply": "prod"}[reduce])
        grid, src = self._scatter_args(dim, index, src, "scatter")
        return I.Scatter.apply(self, src, index=grid)

    def scatter_add(self, dim, index, src):
        grid, src = self._scatter_args(dim, index, src, "scatter_add")
        return self + I.ScatterAdd.apply(src, shape=self.shape, index=grid)

    def scatter_reduce(self, dim, index, src, reduce, include_self=True):
        if reduce not in I.ScatterReduce.UFUNCS:
            raise RuntimeError(f"scatter_reduce(): reduce argument must be one of sum, prod, "
                               f"mean, amax, amin, got {reduce!r}")
        grid, src = self._scatter_args(dim, index, src, "scatter_reduce")
        return I.ScatterReduce.apply(self, src, index=grid, reduce=reduce, include_self=include_self)

    def _index_args(self, dim, index, source, op):
        index = _index_array(index, op).reshape(-1)
        d = _dim(dim, self.ndim, op)
        source = _tensor_like(source, self)
        want = self.shape[:d] + (len(index),) + self.shape[d + 1:]
        if source.shape != want:
            raise RuntimeError(f"{op}(): source {source.shape} should have shape {want} for "
                               f"input {self.shape}, index of length {len(index)} at dim {dim}")
        return I.dim_index(self.ndim, d, index), source

    def index_add(self, dim, index, source, alpha=1):
        idx, source = self._index_args(dim, index, source, "index_add")
        return I.IndexCopy.apply(self, source, index=idx, accumulate=True, alpha=alpha)

    def index_copy(self, dim, index, source):
        idx, source = self._index_args(dim, index, source, "index_copy")
        return I.IndexCopy.apply(self, source, index=idx)

    def index_fill(self, dim, index, value):
        index = _index_array(index, "index_fill").reshape(-1)
        d = _dim(dim, self.ndim, "index_fill")
        mask = np.zeros(self.shape, dtype=bool)
        mask[I.dim_index(self.ndim, d, index)] = True
        return self.masked_fill(mask, value)

    def masked_fill(self, mask, value):
        mask = np.asarray(_raw(mask))
        if mask.dtype != bool:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with "
                               f"dtype {mask.dtype}")
        value = _tensor_like(value, self)
        if value.ndim:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        if value.dtype != self.dtype:  # the result keeps self's dtype (value cast), as torch
            value = value.to(self.dtype)
        return O.Where.apply(mask, value, self)

    def masked_select(self, mask):
        mask = np.asarray(_raw(mask), dtype=bool)
        shape = np.broadcast_shapes(self.shape, mask.shape)
        x = self.expand(shape) if self.shape != shape else self
        return x[np.broadcast_to(mask, shape)]

    def masked_scatter(self, mask, source):
        mask = np.asarray(_raw(mask), dtype=bool)
        mask = np.broadcast_to(mask, self.shape)
        return I.MaskedScatter.apply(self, _tensor_like(source, self), mask=mask)

    def nonzero(self, as_tuple=False):
        if self.ndim == 0:  # PyTorch: a 0-d tensor counts as one element with no index
            hit = bool(self._data)
            if as_tuple:
                return (_const(np.zeros(int(hit), dtype=np.int64)),)
            return _const(np.zeros((int(hit), 0), dtype=np.int64))
        idx = np.nonzero(self._data)
        if as_tuple:
            return tuple(_const(i.astype(np.int64)) for i in idx)
        return _const(np.stack(idx, axis=-1).astype(np.int64))

    def argwhere(self):
        return self.nonzero()

    # ------------------------------------------------------------------ formatting
    def __format__(self, spec):
        """A 0-d tensor formats its number (``f"{loss:.4f}"``), as in PyTorch."""
        if self.ndim == 0:
            return format(self._data.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)
