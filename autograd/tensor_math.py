"""More Tensor methods, PyTorch's names: elementwise math and in-place variants.

Mixed into ``Tensor`` through ``tensor_ops.TensorOps``. Math methods wrap the Functions
of ``ops/math.py`` and ``ops/math_binary.py``; integer inputs of float-valued functions
become the default float dtype and binary ops follow PyTorch's type promotion. The
in-place variants (``masked_fill_``, ``scatter_``, ``sin_``, ...) compute the
out-of-place op and write it through ``inplace.py``, which records it on graph tensors.
"""
import numpy as np

from .ops import math as M, math_binary as MB
from .ops.dtypes import check_in_place_cast, result_type
from .tensor_reduce import _const, _float, _raw, _tensor_like

_FILLS = ("masked_fill_", "index_fill_", "fill_diagonal_")  # cast the value, as fill_ does


def _check_castable(op, result, target):
    if op not in _FILLS:
        check_in_place_cast(op, result, target)


class MathOps:
    __slots__ = ()

    # ------------------------------------------------------------------ math
    def _unary(self, fn, **attrs):
        return fn.apply(_float(self), **attrs)

    def sin(self): return self._unary(M.Sin)
    def cos(self): return self._unary(M.Cos)
    def tan(self): return self._unary(M.Tan)
    def asin(self): return self._unary(M.Asin)
    def acos(self): return self._unary(M.Acos)
    def atan(self): return self._unary(M.Atan)
    def sinh(self): return self._unary(M.Sinh)
    def cosh(self): return self._unary(M.Cosh)
    def asinh(self): return self._unary(M.Asinh)
    def acosh(self): return self._unary(M.Acosh)
    def atanh(self): return self._unary(M.Atanh)
    arcsin, arccos, arctan = asin, acos, atan
    arcsinh, arccosh, arctanh = asinh, acosh, atanh
    def exp2(self): return self._unary(M.Exp2)
    def expm1(self): return self._unary(M.Expm1)
    def log2(self): return self._unary(M.Log2)
    def log10(self): return self._unary(M.Log10)
    def log1p(self): return self._unary(M.Log1p)
    def rsqrt(self): return self._unary(M.Rsqrt)
    def erf(self): return self._unary(M.Erf)
    def erfc(self): return self._unary(M.Erfc)
    def erfinv(self): return self._unary(M.Erfinv)

    def lgamma(self): return self._unary(M.Lgamma)
    def digamma(self): return self._unary(M.Polygamma, n=0)

    def polygamma(self, n):
        return self._unary(M.Polygamma, n=int(n))

    def logaddexp2(self, other):
        """log₂(2ᵃ + 2ᵇ), through logaddexp"""
        ln2 = float(np.log(2.0))
        return (self * ln2).logaddexp(_tensor_like(other, self) * ln2) / ln2

    def deg2rad(self): return _float(self) * float(np.pi / 180.0)
    def rad2deg(self): return _float(self) * float(180.0 / np.pi)

    def sinc(self):
        """sin(πx) / (πx), 1 at 0 (where its derivative is 0)"""
        x = _float(self)
        zero = x._data == 0
        safe = x.masked_fill(zero, 1.0) * float(np.pi)
        return (safe.sin() / safe).masked_fill(zero, 1.0)

    def fmax(self, other):
        """Elementwise max ignoring nan (nan only where both are nan)"""
        other = _tensor_like(other, self)
        return self.maximum(other).where(~np.isnan(self._data) & ~np.isnan(other._data),
                                         self.where(np.isnan(other._data), other))

    def fmin(self, other):
        other = _tensor_like(other, self)
        return self.minimum(other).where(~np.isnan(self._data) & ~np.isnan(other._data),
                                         self.where(np.isnan(other._data), other))

    def logical_and(self, other): return _const(np.logical_and(self._data, _raw(other)))
    def logical_or(self, other): return _const(np.logical_or(self._data, _raw(other)))
    def logical_xor(self, other): return _const(np.logical_xor(self._data, _raw(other)))
    def logical_not(self): return _const(np.logical_not(self._data))

    def ravel(self):
        return self.reshape(-1)

    def reciprocal(self):
        return self._unary(M.Reciprocal)

    def square(self):
        if self.dtype == bool:  # NumPy's bool * bool is int8; torch squares bools to int64
            return self.to(np.int64).square()
        return M.Square.apply(self)

    def _rounding(self, fn, decimals=0):
        if self.dtype.kind in "iub" and fn != "sign":
            return self.clone()
        return M.Rounding.apply(self, fn=fn, decimals=decimals)

    def floor(self): return self._rounding("floor")
    def ceil(self): return self._rounding("ceil")
    def trunc(self): return self._rounding("trunc")
    fix = trunc
    def sgn(self): return self.clone() if self.dtype == bool else self._rounding("sign")

    def round(self, decimals=0):
        """Half to even (2.5 -> 2, 3.5 -> 4), as PyTorch does."""
        return self._rounding("round", decimals)

    def frac(self):
        return M.Frac.apply(self)

    def _binary(self, fn, other, reflected=False, floating=False):
        """Both operands in PyTorch's result dtype (the default float for float-only ops)."""
        other = _tensor_like(other, self)
        dtype = result_type(self._data, other._data)
        if floating and dtype.kind != "f":
            from .tensor import default_dtype
            dtype = default_dtype
        a, b = (t if t.dtype == dtype else t.to(dtype) for t in (self, other))
        return fn.apply(b, a) if reflected else fn.apply(a, b)

    def atan2(self, other): return self._binary(MB.Atan2, other, floating=True)
    arctan2 = atan2
    def fmod(self, other): return self._binary(MB.Fmod, other)
    def remainder(self, other): return self._binary(MB.Remainder, other)
    def copysign(self, other): return self._binary(MB.Copysign, other, floating=True)
    def hypot(self, other): return self._binary(MB.Hypot, other, floating=True)
    def logaddexp(self, other): return self._binary(MB.LogAddExp, other, floating=True)
    def xlogy(self, other): return self._binary(MB.Xlogy, other, floating=True)
    def __mod__(self, other): return self.remainder(other)
    def __rmod__(self, other): return self._binary(MB.Remainder, other, reflected=True)

    def floor_divide(self, other):
        return self.div(other, rounding_mode="floor")

    def __floordiv__(self, other):
        return self.floor_divide(other)

    def __rfloordiv__(self, other):
        return _tensor_like(other, self).floor_divide(self)

    def div(self, other, rounding_mode=None):
        """``/`` (true division); ``rounding_mode='trunc'`` or ``'floor'`` rounds the
        quotient (zero gradient), integer tensors stay integer then."""
        q = self / other
        if rounding_mode is None:
            return q
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or "
                             f"'floor' but found {rounding_mode!r}")
        a, b = self._data, np.asarray(_raw(other))
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":  # integer division, as torch
            dtype = result_type(a, b)  # torch's promotion (uint8 // 3 stays uint8)
            if dtype.kind == "b":
                raise NotImplementedError(f'"div_{rounding_mode}_cpu" not implemented for \'Bool\'')
            if np.any(b == 0):
                raise RuntimeError("ZeroDivisionError (integer division by zero in div with "
                                   f"rounding_mode={rounding_mode!r})")
            a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
            out = np.floor_divide(a, b) if rounding_mode == "floor" else \
                np.where((a % b != 0) & ((a < 0) != (b < 0)), a // b + 1, a // b)
            return _const(np.asarray(out).astype(dtype, copy=False))
        return q.floor() if rounding_mode == "floor" else q.trunc()

    divide = div
    true_divide = div

    def lerp(self, end, weight):
        end = _tensor_like(end, self)
        return MB.Lerp.apply(self, end, _tensor_like(weight, self))

    def logit(self, eps=None):
        return MB.Logit.apply(_float(self), eps=eps)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        if self.dtype.kind != "f":
            return self.clone()
        info = np.finfo(self.dtype)
        return MB.NanToNum.apply(self, nan=nan, posinf=info.max if posinf is None else posinf,
                                 neginf=info.min if neginf is None else neginf)

    def heaviside(self, values):
        """0 for x < 0, ``values`` at x == 0, 1 for x > 0 (no derivative, as in PyTorch)."""
        out = np.heaviside(self._data, _raw(values))
        return _const(out.astype(self.dtype, copy=False))

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def _clamp_tensor(self, min=None, max=None):
        lo = _tensor_like(-np.inf if min is None else min, self)
        hi = _tensor_like(np.inf if max is None else max, self)
        return MB.ClampTensor.apply(self, lo, hi)

    # ------------------------------------------------------------------ in place
    def _inplace_variant(self, op, method, *args, **kwargs):
        """``self.<method>(*args)`` written into self (PyTorch's ``<method>_``), through
        the in-place machinery of ``inplace.py``: recorded on graph tensors, so backward
        stays right; Tensor arguments that require grad get their gradients too."""
        from .grad_mode import no_grad
        from .variable import Variable
        tensors = tuple(a for a in args if isinstance(a, Variable))

        def call(target, *new):
            it = iter(new)
            return getattr(target, method)(*(next(it) if isinstance(a, Variable) else a
                                              for a in args), **kwargs)

        def raw_fn(d, *raw):
            with no_grad():
                out = call(self._make(d, None), *tensors)
            _check_castable(op, out._data.dtype, d.dtype)
            np.copyto(d, out._data, casting="unsafe")

        def graph_fn(target, *new):
            out = call(target, *new)
            _check_castable(op, out._data.dtype, self._data.dtype)
            return out
        return self._write(op, raw_fn, tensors, graph_fn)

    def masked_fill_(self, mask, value): return self._inplace_variant("masked_fill_", "masked_fill", mask, value)
    def masked_scatter_(self, mask, source): return self._inplace_variant("masked_scatter_", "masked_scatter", mask, source)
    def index_fill_(self, dim, index, value): return self._inplace_variant("index_fill_", "index_fill", dim, index, value)
    def index_copy_(self, dim, index, source): return self._inplace_variant("index_copy_", "index_copy", dim, index, source)

    def index_add_(self, dim, index, source, alpha=1):
        return self._inplace_variant("index_add_", "index_add", dim, index, source, alpha=alpha)

    def scatter_(self, dim, index, src=None, value=None, reduce=None):
        return self._inplace_variant("scatter_", "scatter", dim, index, src, value=value, reduce=reduce)

    def scatter_add_(self, dim, index, src):
        return self._inplace_variant("scatter_add_", "scatter_add", dim, index, src)

    def scatter_reduce_(self, dim, index, src, reduce, include_self=True):
        return self._inplace_variant("scatter_reduce_", "scatter_reduce", dim, index, src, reduce,
                                     include_self=include_self)

    def tril_(self, diagonal=0): return self._inplace_variant("tril_", "tril", diagonal)
    def triu_(self, diagonal=0): return self._inplace_variant("triu_", "triu", diagonal)

    def fill_diagonal_(self, fill_value, wrap=False):
        """Fill the main diagonal (all dims equal; for a tall matrix, ``wrap`` restarts it
        every n + 1 rows as NumPy/PyTorch do)."""
        mask = np.zeros(self.shape, dtype=bool)
        np.fill_diagonal(mask, True, wrap=wrap)
        return self._inplace_variant("fill_diagonal_", "masked_fill", mask, fill_value)


def _inplace_unary(name):
    def method(self, *args, **kwargs):
        return self._inplace_variant(name + "_", name, *args, **kwargs)
    method.__name__ = name + "_"
    method.__doc__ = f"In-place ``{name}``."
    return method


for _name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
              "atanh", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal",
              "square", "erf", "erfc", "erfinv", "floor", "ceil", "round", "trunc", "frac",
              "sgn", "fmod", "remainder", "copysign", "hypot", "lerp", "xlogy", "logit",
              "nan_to_num", "clamp_min", "clamp_max", "atan2"):
    setattr(MathOps, _name + "_", _inplace_unary(_name))
del _name
