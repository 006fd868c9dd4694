"""Tensor: a NumPy array that records the ops applied to it.

Every method here is a thin wrapper that calls ``SomeOp.apply(...)`` from
``autograd.ops``; the math lives there, next to its backward.
"""
import numbers

import numpy as np

from . import ops as O
from .inplace import InPlaceMethods
from .tensor_ops import TensorOps
from .tensor_shape import ShapeMethods, _viewing  # noqa: F401  (_viewing: re-exported)
from .variable import Variable
from .ops.dtypes import result_type, torch_name

from .coercion import (_FLOAT_KINDS, _SUPPORTED_KINDS, default_dtype, _infer_array,  # noqa: F401
                       _unsupported_message, _shape_arg, _check_sizes, _check_dim,
                       _float_only, _correction)


_GRAD_SLOT = Variable.grad  # the slot that Tensor.grad (a property) stores into


def _check_assigned_grad(t, g):
    if not isinstance(g, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                        f"{type(g).__module__}.{type(g).__qualname__}".replace("builtins.", ""))
    if g._data.shape != t._data.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(g._data.shape)}' to "
                           f"a tensor of size '{list(t._data.shape)}'. Please ensure that the "
                           f"gradient and the tensor are the same size")
    if g._data.dtype != t._data.dtype:
        raise RuntimeError(f"attempting to assign a gradient with dtype '{g._data.dtype}' to a "
                           f"tensor with dtype '{t._data.dtype}'. The gradient must match the "
                           f"tensor's dtype")


class Tensor(Variable, InPlaceMethods, ShapeMethods, TensorOps):
    """A multi-dimensional array with automatic differentiation (like ``torch.Tensor``)."""

    __slots__ = ()
    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__
    __hash__ = Variable.__hash__

    def __init__(self, data, dtype=None, requires_grad=False, name=None):
        self._data = _infer_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self._requires_grad = False
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data, grad_fn):
        """Fast constructor for op results (no inference, no checks)."""
        t = object.__new__(cls)
        t._data = data if type(data) is np.ndarray else np.asarray(data)
        t.grad_fn = grad_fn  # .grad stays unset: the property reads it as None
        t._requires_grad = False
        return t

    # ``.grad`` as a checked property over Variable's slot: assigning a gradient of the wrong
    # shape or dtype (or a NumPy array) raises as in torch, instead of being broadcast or
    # promoted silently by the next optimizer step.
    @property
    def grad(self):
        try:
            return _GRAD_SLOT.__get__(self, Tensor)
        except AttributeError:  # never assigned (op results: see _make)
            return None

    @grad.setter
    def grad(self, value):
        if value is not None:
            _check_assigned_grad(self, value)
        _GRAD_SLOT.__set__(self, value)

    def _check_can_require_grad(self):
        if self._data.dtype.kind not in _FLOAT_KINDS:  # a RuntimeError, as in torch
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                               f"(got dtype {self._data.dtype})")

    def _meta(self):
        return (self._data.shape, self._data.dtype)

    def _numel(self):
        return self._data.size

    def _ones_like(self):
        return Tensor._make(np.ones_like(self._data), None)

    def _coerce(self, value):
        """A Python number / array / list as an array suited to combine with self."""
        if type(value) is float or type(value) is int:  # the common case: a cached constant
            const = _constants.get((value, type(value), self._data.dtype))
            if const is not None:
                return const
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in _SUPPORTED_KINDS:
                raise TypeError(_unsupported_message(value, value.dtype))
            return value
        if isinstance(value, numbers.Number) or isinstance(value, np.generic):
            if isinstance(value, (complex, np.complexfloating)):
                raise TypeError(f"can't combine a Tensor with the complex number {value!r}: "
                                f"ndgrad does not support complex numbers")
            if isinstance(value, (bool, np.bool_)) and self.dtype != bool:
                value = int(value)
            kind = self._data.dtype.kind
            if kind in _FLOAT_KINDS:
                return _constant(value, self._data.dtype, self._data.dtype)
            if isinstance(value, (float, np.floating)):  # int tensor * 0.5 is float32
                return _constant(value, default_dtype, self._data.dtype)
            # an int with a bool tensor promotes to int64 (True + 1 == 2), as in torch
            return _constant(value, self._data.dtype if kind in "iu" else None, self._data.dtype)
        return _infer_array(value)

    def _wrap(self, other):
        return other if isinstance(other, Tensor) else Tensor._make(self._coerce(other), None)

    def _operand(self, other):
        """``other`` as the second operand of ``+ - * / **``: a Python number goes to the op
        as its cached 0-d array itself (``Function.apply`` takes raw constants), without a
        Tensor made only to be unwrapped again; anything else as ``_wrap`` gives it."""
        if type(other) is float or type(other) is int:
            const = _constants.get((other, type(other), self._data.dtype))
            if const is not None:
                return const
        return self._wrap(other)

    # ------------------------------------------------------------------ properties
    @property
    def data(self):
        """This tensor's values as a new Tensor cut from the graph (``requires_grad=False``)
        that shares memory with it, as ``torch.Tensor.data``. ``.numpy()`` gives the raw
        NumPy array."""
        return Tensor._make(self._data, None)

    @data.setter
    def data(self, value):
        if not isinstance(value, (Tensor, np.ndarray)):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data if isinstance(value, Tensor) else value

    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    def size(self, dim=None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self):
        return self._data.size

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        # NumPy 2 leaves copying to us: np.array(t) passes copy=True, np.asarray(t) None.
        arr = self._data if dtype is None else self._data.astype(dtype, copy=False)
        if copy is False and arr is not self._data:
            raise ValueError(f"cannot convert a {self._data.dtype} Tensor to {dtype} without a copy")
        return arr.copy() if copy and arr is self._data else arr

    # DLPack (zero-copy exchange with PyTorch, NumPy, JAX, ...): the CPU array itself.
    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export the data as a DLPack capsule sharing memory (``torch.from_dlpack(t)``).

        A read-only array -- saved for backward by a live graph, or read-only for another
        reason -- is refused (``BufferError``) unless ``copy=True``: consumers such as
        PyTorch ignore DLPack's read-only flag and could write behind the graph's back."""
        arr = self._data
        if copy:
            arr = np.array(arr)
        elif not arr.flags.writeable:  # saved arrays are flagged read-only
            if copy is False:
                raise BufferError("__dlpack__: copy=False, but the tensor's memory is read-only")
            raise BufferError(
                f"cannot export a tensor of shape {self.shape} through DLPack: its memory is "
                f"read-only (saved for backward by a graph that is still alive, or a read-only "
                f"array); call backward (or drop the graph) first, or export a copy with "
                f"t.clone() / __dlpack__(copy=True)")
        return arr.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()  # (kDLCPU, 0)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data)

    def __repr__(self):
        # Like torch: integral floats as "1.", otherwise 4 fixed decimals ("0.1000").
        finite = self._data[np.isfinite(self._data)] if self.dtype.kind == "f" else None
        fixed = finite is not None and bool(np.any(finite != np.round(finite)))
        body = np.array2string(self._data, separator=", ", prefix="tensor(", precision=4,
                               floatmode="fixed" if fixed else "maxprec_equal")
        extras = []
        if self._data.dtype not in (default_dtype, np.dtype(np.int64), np.dtype(bool)):
            extras.append(f"dtype={self._data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}Backward>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------------------ arithmetic
    # + - * / ** and their reflected forms come from Variable (shared with Scalar);
    # numbers and NumPy arrays work on either side (``__array_ufunc__ = None``).
    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)

    def __sub__(self, other):
        _no_bool_subtraction(other)
        return Variable.__sub__(self, other)

    def __rsub__(self, other):
        _no_bool_subtraction(other)
        return Variable.__rsub__(self, other)

    add = Variable.__add__
    sub = __sub__
    mul = Variable.__mul__
    neg = Variable.__neg__
    pow = Variable.__pow__

    # comparisons: no gradient, a bool tensor
    def _compare(self, other, op):
        other = other._data if isinstance(other, Tensor) else other
        return Tensor._make(op(self._data, other), None)

    def __eq__(self, other): return self._compare(other, np.equal)
    def __ne__(self, other): return self._compare(other, np.not_equal)
    def __lt__(self, other): return self._compare(other, np.less)
    def __le__(self, other): return self._compare(other, np.less_equal)
    def __gt__(self, other): return self._compare(other, np.greater)
    def __ge__(self, other): return self._compare(other, np.greater_equal)
    def _bitwise(self, other, fn, name):
        """``& | ^``: bitwise on integers and bools (logical for two bools), in PyTorch's
        promoted dtype (``bool & int64`` is int64); floats are refused, as in torch."""
        b = other._data if isinstance(other, Tensor) else self._coerce(other)
        dtype = result_type(self._data, np.asarray(b))
        if dtype.kind not in "biu":
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{torch_name(dtype)}\'')
        if dtype == bool:  # through _compare, which graph tracers (ONNX export) follow
            return self._compare(other, _LOGICAL[fn])
        a = self if self.dtype == dtype else Tensor._make(self._data.astype(dtype), None)
        return a._compare(np.asarray(b).astype(dtype, copy=False), fn)

    def __and__(self, other): return self._bitwise(other, np.bitwise_and, "bitwise_and")
    def __or__(self, other): return self._bitwise(other, np.bitwise_or, "bitwise_or")
    def __xor__(self, other): return self._bitwise(other, np.bitwise_xor, "bitwise_xor")
    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__
    def __invert__(self): return Tensor._make(np.logical_not(self._data) if self.dtype == bool else ~self._data, None)
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    # ------------------------------------------------------------------ elementwise
    def maximum(self, other): return O.Maximum.apply(self, _tensor_arg(other, "maximum"))
    def minimum(self, other): return O.Minimum.apply(self, _tensor_arg(other, "minimum"))

    def clamp(self, min=None, max=None):
        if min is None and max is None:  # a RuntimeError, as in torch
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return self._clamp_tensor(min, max)  # tensor_math.py: gradients for the bounds too
        return O.Clamp.apply(self, min=min, max=max)

    clip = clamp

    def to(self, dtype):
        dtype = np.dtype(dtype)
        if dtype.kind not in _SUPPORTED_KINDS:  # complex, strings: refused as at construction
            raise TypeError(f"to: dtype {dtype} is not supported (ndgrad has bool, integer and "
                            f"floating point tensors)")
        if dtype == self._data.dtype:
            return self
        if self.requires_grad and dtype.kind in _FLOAT_KINDS:
            return O.Cast.apply(self, dtype=dtype)
        return Tensor._make(self._data.astype(dtype), None)

    def float(self): return self.to(np.float32)
    def double(self): return self.to(np.float64)
    def long(self): return self.to(np.int64)
    def int(self): return self.to(np.int32)
    def bool(self): return self.to(np.bool_)
    type = to

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, axis=None, *, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return O.Sum.apply(x, dim=axis if dim is None else dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False, axis=None, *, dtype=None):
        if dtype is not None:
            return self.to(dtype).mean(dim, keepdim, axis)
        if self.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                               f"floating point, but got {self.dtype}")
        return O.Mean.apply(self, dim=axis if dim is None else dim, keepdim=keepdim)

    def amax(self, dim=None, keepdim=False):
        return O.AMax.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim=None, keepdim=False):
        return O.AMin.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        """Full ``max()`` (ties share the gradient), ``max(dim)`` -> (values, indices)
        with the gradient going to the index, or ``max(other)`` = maximum."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return self.amax()
        return _values_indices(self, dim, keepdim, np.argmax)

    def min(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return self.amin()
        return _values_indices(self, dim, keepdim, np.argmin)

    def argmax(self, dim=None, keepdim=False):
        return _arg_reduce(self, dim, keepdim, np.argmax)

    def argmin(self, dim=None, keepdim=False):
        return _arg_reduce(self, dim, keepdim, np.argmin)

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        correction = _correction(unbiased, correction)
        if self.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(f"std and var only support floating point dtypes, but got a "
                               f"{self.dtype} tensor of shape {self.shape}")
        return O.Var.apply(self, dim=dim, correction=correction, keepdim=keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        v = self.var(dim, unbiased, keepdim, correction)
        # Like torch, the gradient is 0 where std == 0 (all values equal), not nan: take the
        # square root of v + 1 there (finite derivative) and multiply its result by 0.
        zero = v._data == 0
        if not np.any(zero):
            return v.sqrt()
        s = O.Where.apply(zero, v + 1.0, v).sqrt()
        return O.Where.apply(zero, s * 0.0, s)

    def logsumexp(self, dim, keepdim=False):
        return O.LogSumExp.apply(self, dim=dim, keepdim=keepdim)

    def softmax(self, dim):
        dim = _check_dim(dim, self.ndim, "softmax")
        _float_only(self, "softmax")
        if self.ndim == 0:  # like torch: a 0-d tensor is treated as one element along dim 0
            return O.Softmax.apply(self.reshape(1), dim=0).reshape(())
        return O.Softmax.apply(self, dim=dim)

    def log_softmax(self, dim):
        dim = _check_dim(dim, self.ndim, "log_softmax")
        _float_only(self, "log_softmax")
        if self.ndim == 0:
            return O.LogSoftmax.apply(self.reshape(1), dim=0).reshape(())
        return O.LogSoftmax.apply(self, dim=dim)

    def sum_to_shape(self, shape):
        """Sum over broadcast dimensions so the result has ``shape``."""
        shape = tuple(shape)
        return self if self.shape == shape else O.SumToShape.apply(self, shape=shape)

    def matmul(self, other):
        return matmul(self, other)

    def where(self, condition, other):
        return where(condition, self, other)


_LOGICAL = {np.bitwise_and: np.logical_and, np.bitwise_or: np.logical_or,
            np.bitwise_xor: np.logical_xor}

# Python numbers met as operands become 0-d arrays. They are cached and read-only: never
# written (an in-place op on one is refused), so nodes can save them without a guard.
_constants = {}


def _constant(value, dtype, self_dtype):
    """``value`` as a 0-d array of ``dtype`` (None: NumPy's choice), cached per
    (value, its type, the dtype of the tensor it is combined with)."""
    arr = np.asarray(value, dtype=dtype)
    # Not float zeros: -0.0 == 0.0 (same key), but x / -0.0 is -inf where x / 0.0 is inf.
    if type(value) is int or (type(value) is float and value != 0.0):
        arr.flags.writeable = False
        if len(_constants) > 4096:
            _constants.clear()
        _constants[(value, type(value), self_dtype)] = arr
    return arr


from .dtype_rules import install as _install_dtype_rules  # noqa: E402
_install_dtype_rules(Tensor)


def _tensor_arg(other, op):
    """PyTorch's binary functions such as ``maximum`` take a Tensor, not a number."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(other).__name__}")
    return other


def _no_bool_subtraction(other):
    if isinstance(other, (bool, np.bool_)):  # a Python bool would become 1 and pass
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


Tensor._result_type = Tensor


# ---------------------------------------------------------------------- helpers
def _arg_reduce(x, dim, keepdim, fn):
    if dim is None:
        if x._data.size == 0:
            raise IndexError(f"{fn.__name__}(): Expected reduction dim to be specified for "
                             f"input.numel() == 0 (input of shape {x.shape})")
        return Tensor._make(np.asarray(fn(x._data)), None)
    dim = _check_dim(dim, x.ndim, fn.__name__)
    if x.ndim:
        O.reduce.check_nonempty_dims(x.shape, (dim,), fn.__name__)
    return Tensor._make(fn(x._data, axis=dim, keepdims=keepdim), None)


class _ValuesIndices(tuple):
    """(values, indices) like torch.return_types.max."""
    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _values_indices(x, dim, keepdim, fn):
    dim = _check_dim(dim, x.ndim, fn.__name__[3:])
    if x.ndim:
        O.reduce.check_nonempty_dims(x.shape, (dim,), fn.__name__[3:])
    idx = fn(x._data, axis=dim, keepdims=True)
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    values = x[tuple(grids)]  # gather: the gradient goes to the returned index
    indices = idx
    if not keepdim:
        values = values.squeeze(dim)
        indices = np.squeeze(idx, axis=dim)
    return _ValuesIndices((values, Tensor._make(indices, None)))


_generator = None


def _rng():
    global _generator
    if _generator is None:
        _generator = np.random.default_rng()
    return _generator


def manual_seed(seed):
    """Seed the generator used by randn/rand/normal_/uniform_ (and nn.init)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


# Functions on tensors (factories, matmul, cat, ...) live in tensor_functions.py.
from .tensor_functions import (tensor, from_numpy, from_dlpack, zeros, ones, empty, randn,  # noqa: E402,F401
                               rand, full, zeros_like, ones_like, arange, eye, _as_tensor,
                               matmul, where, cat, concatenate, stack, split, pad)
