"""Binary and parameterised elementwise math: atan2, fmod, remainder, copysign, hypot,
logaddexp, lerp, xlogy, logit, nan_to_num, clamp with tensor bounds.

Broadcasting is undone by the engine. Where PyTorch and NumPy differ PyTorch's
definition is used: ``remainder``/``%`` takes the sign of the divisor (floored, like
Python), ``fmod`` the sign of the dividend (truncated).
"""
import numpy as np

from ..function import Function
from .dtypes import as_float, promoted, result_type
from .elementwise import Where


def _zero_where(mask, value):
    """``value`` with 0 where ``mask`` (a bool array) holds."""
    return Where.apply(mask, value * 0.0, value)


class Atan2(Function):
    """y = atan2(a, b)"""
    backward_rule = "dL/da = dL/dy · b / (a² + b²),  dL/db = -dL/dy · a / (a² + b²)"
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(*promoted(as_float(a), as_float(b)))  # torch's dtypes (ops/dtypes.py)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        r2 = a * a + b * b
        return (grad * b / r2 if da else None), (-grad * a / r2 if db else None)


class Fmod(Function):
    """y = a - trunc(a / b) · b (sign of a)"""
    backward_rule = "dL/da = dL/dy,  dL/db = -dL/dy · trunc(a / b)"
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.fmod(*promoted(a, b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        db = ctx.needs_input_grad[1]
        return grad, (-grad * np.trunc(a._data / b._data) if db else None)


class Remainder(Function):
    """y = a - floor(a / b) · b (sign of b, Python's %)"""
    backward_rule = "dL/da = dL/dy,  dL/db = -dL/dy · floor(a / b)"
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b = promoted(a, b)
        if a.dtype == bool:
            raise NotImplementedError('"remainder_cpu" not implemented for \'Bool\'')
        if a.dtype.kind in "iu" and np.any(np.asarray(b) == 0):  # NumPy would give 0
            raise RuntimeError("ZeroDivisionError (integer remainder by zero)")
        return np.remainder(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        db = ctx.needs_input_grad[1]
        return grad, (-grad * np.floor(a._data / b._data) if db else None)


class Copysign(Function):
    """y = |a| with the sign of b"""
    backward_rule = "dL/da = dL/dy · y / a (0 where a == 0),  dL/db = 0"
    @staticmethod
    def forward(ctx, a, b):
        y = np.copysign(*promoted(as_float(a), as_float(b)))
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, y = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(a._data == 0, 0.0, y._data / a._data).astype(a.dtype)
        return grad * ratio, None


class Hypot(Function):
    """y = √(a² + b²)"""
    backward_rule = "dL/da = dL/dy · a / y,  dL/db = dL/dy · b / y"
    @staticmethod
    def forward(ctx, a, b):
        y = np.hypot(*promoted(as_float(a), as_float(b)))
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (grad * a / y if da else None), (grad * b / y if db else None)


class LogAddExp(Function):
    """y = ln(eᵃ + eᵇ)"""
    backward_rule = "dL/da = dL/dy · e^(a - y),  dL/db = dL/dy · e^(b - y)"
    @staticmethod
    def forward(ctx, a, b):
        y = np.logaddexp(*promoted(as_float(a), as_float(b)))
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (grad * (a - y).exp() if da else None), (grad * (b - y).exp() if db else None)


class Lerp(Function):
    """y = s + w · (e - s)"""
    backward_rule = "dL/dstart = dL/dy · (1 - weight),  dL/dend = dL/dy · weight,  dL/dweight = dL/dy · (end - start)"
    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(start, end, weight)
        return start + weight * (end - start)

    @staticmethod
    def backward(ctx, grad):
        s, e, w = ctx.saved_tensors
        ds, de, dw = ctx.needs_input_grad
        return ((grad * (1.0 - w) if ds else None), (grad * w if de else None),
                (grad * (e - s) if dw else None))


class Xlogy(Function):
    """y = a · ln b (0 where a == 0, unless b is nan)"""
    backward_rule = "dL/da = dL/dy · xlogy([a != 0], b),  dL/db = dL/dy · a / b"
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where((a == 0) & ~np.isnan(b), 0.0, a * np.log(b))
        return y.astype(result_type(as_float(a), as_float(b)), copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        ga = gb = None
        if da:
            nonzero = (a._data != 0).astype(b.dtype)
            ga = grad * Xlogy.apply(b._make(nonzero, None), b)
        if db:
            gb = grad * a / b
        return ga, gb


class Logit(Function):
    """y = ln(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given"""
    backward_rule = "dL/dx = dL/dy / (x · (1 - x)) · [eps <= x <= 1 - eps]"
    @staticmethod
    def forward(ctx, x, eps=None):
        ctx.save_for_backward(x)
        z = x if eps is None else np.clip(x, eps, 1.0 - eps)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(z / (1.0 - z))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        eps = ctx.attrs.get("eps")
        g = grad / (x * (1.0 - x))
        if eps is None:
            return g
        return _zero_where((x._data < eps) | (x._data > 1.0 - eps), g)


class NanToNum(Function):
    """y = x with nan, +inf, -inf replaced"""
    backward_rule = "dL/dx = dL/dy · [x is finite]"
    @staticmethod
    def forward(ctx, x, nan=0.0, posinf=None, neginf=None):
        ctx.save_for_backward(x)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _zero_where(~np.isfinite(x._data), grad)


class ClampTensor(Function):
    """y = min(max(x, lo), hi) with tensor bounds (PyTorch's rule; when lo > hi, y = hi
    and the whole gradient goes to hi)"""
    backward_rule = "dL/dx = dL/dy · [lo <= x <= hi],  dL/dlo = dL/dy · [x < lo],  dL/dhi = dL/dy · [x > hi]"
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        return np.minimum(np.maximum(x, lo), hi)

    @staticmethod
    def backward(ctx, grad):
        x, lo, hi = (t._data for t in ctx.saved_tensors)
        dx, dlo, dhi = ctx.needs_input_grad
        above = (x > hi) | (lo > hi)
        below = (x < lo) & ~above
        return ((_zero_where(below | above, grad) if dx else None),
                (_zero_where(~below, grad) if dlo else None),
                (_zero_where(~above, grad) if dhi else None))
