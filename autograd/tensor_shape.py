"""Tensor's shape methods: reshape/view, flatten, transpose, permute, T, squeeze,
unsqueeze, expand, indexing, split and chunk (a mixin of ``Tensor``).

Each calls its op from ``autograd.ops``. Results that share memory with the input are
marked as views of it (``_viewing``), so an in-place write to a view while recording
also updates its base's history, as PyTorch's views do (see ``inplace.py``).
"""
import numbers

import numpy as np

from . import ops as O
from .coercion import _shape_arg, _check_dim
from .indexing import _index_steps  # PyTorch's indexing rules


class ShapeMethods:
    """Shape and indexing methods of Tensor."""
    __slots__ = ()

    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if shape == self.shape:
            return self
        return _viewing(O.Reshape.apply(self, shape=shape), self, lambda b, v: v.reshape(b.shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = _check_dim(start_dim, self.ndim, "flatten")
        e = _check_dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise RuntimeError(f"flatten: start_dim {start_dim} cannot come after end_dim {end_dim}")
        shape = self.shape[:s] + (int(np.prod(self.shape[s:e + 1])),) + self.shape[e + 1:]
        return self.reshape(shape)

    def transpose(self, dim0, dim1):
        dim0 = _check_dim(dim0, self.ndim, "transpose")
        dim1 = _check_dim(dim1, self.ndim, "transpose")
        return _viewing(O.Transpose.apply(self, dim0=dim0, dim1=dim1), self,
                        lambda b, v: v.transpose(dim0, dim1))

    def permute(self, *dims):
        dims = tuple(_check_dim(d, self.ndim, "permute") for d in _shape_arg(dims))
        inverse = tuple(int(i) for i in np.argsort(dims))
        return _viewing(O.Permute.apply(self, dims=dims), self, lambda b, v: v.permute(inverse))

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(s for s in self.shape if s != 1)
        else:
            dims = (dim,) if isinstance(dim, int) else tuple(dim)
            dims = {_check_dim(d, self.ndim, "squeeze") for d in dims}
            shape = tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1))
        return self.reshape(shape)

    def unsqueeze(self, dim):
        d = _check_dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *shape):
        shape = _shape_arg(shape, "expand")
        lead = len(shape) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be greater "
                               f"or equal to the number of dimensions in the tensor ({self.ndim})")
        for i, s in enumerate(shape):
            if s < 0 and (i < lead or s != -1):  # -1 keeps an existing size only
                where = "a leading, non-existing dimension" if i < lead else "dimension"
                raise RuntimeError(f"expand: the expanded size {s} isn't allowed in {where} {i} "
                                   f"(shape {self.shape} expanded to {shape})")
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
        return self if shape == self.shape else O.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    broadcast_to = expand

    def __getitem__(self, index):
        out = self
        steps = tuple(_index_steps(index, self.shape))  # PyTorch's rules (see _index_steps)
        for step in steps:
            out = O.GetItem.apply(out, index=step)
        return _viewing(out, self, lambda b, v: O.IndexPut.apply(b, v, steps=steps))

    def split(self, split_size_or_sections, dim=0):
        return _functions().split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        if isinstance(chunks, (bool, np.bool_)) or not isinstance(chunks, numbers.Integral):
            raise TypeError(f"chunk: argument 'chunks' must be int, not {type(chunks).__name__}")
        if chunks <= 0:  # a RuntimeError, as in torch
            raise RuntimeError(f"chunk: chunks must be greater than 0, got chunks={chunks}")
        size = max(-(-self.shape[_check_dim(dim, self.ndim, "chunk")] // chunks), 1)
        return _functions().split(self, size, dim)


def _viewing(out, base, rebuild):
    """Mark ``out`` as a view of ``base`` when it shares its memory: an in-place write to
    it while recording then rebuilds base's new value with ``rebuild(base, new_view)``
    (see inplace.py), as PyTorch's views do."""
    if out is not base and out._data.base is not None:
        out._view_of = (base, rebuild)
    return out


def _functions():
    from . import tensor_functions  # imports tensor.py: looked up when first needed
    return tensor_functions
