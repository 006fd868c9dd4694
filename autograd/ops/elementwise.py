"""Elementwise ops. Forward works on raw data (NumPy arrays, or floats for Scalar);
backward is written with Tensor ops. Broadcasting is undone centrally by the
engine, so ``Add.backward`` may simply return ``grad, grad``.

Tie rules (PyTorch's): relu'(0) = 0, abs'(0) = 0, clamp passes the gradient where
min <= x <= max, maximum/minimum give half to each side when x == y.
"""
import numpy as np

from ..function import Function
from .dtypes import as_float, promoted


class Add(Function):
    """y = a + b;  dL/da = dL/dy,  dL/db = dL/dy"""
    backward_rule = "dL/da = dL/dy,  dL/db = dL/dy"
    raw_backward = True

    @staticmethod
    def forward(ctx, a, b):
        if type(a) is np.ndarray:  # (promoted changes only arrays: for floats, a call less)
            a, b = promoted(a, b)
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def _is_bool(x):
    return type(x) is np.ndarray and x.dtype.kind == "b"  # (== bool: 5x the time)


class Sub(Function):
    """y = a - b;  dL/da = dL/dy,  dL/db = -dL/dy"""
    backward_rule = "dL/da = dL/dy,  dL/db = -dL/dy"
    raw_backward = True

    @staticmethod
    def forward(ctx, a, b):
        if type(a) is np.ndarray or type(b) is np.ndarray:  # (floats: no call, see Add)
            if _is_bool(a) or _is_bool(b):  # NumPy would compute it; torch refuses
                if _is_bool(a) and _is_bool(b):
                    raise RuntimeError(
                        "Subtraction, the `-` operator, with two bool tensors is not supported. "
                        "Use the `^` or `logical_xor()` operator instead.")
                raise RuntimeError(
                    "Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                    "are trying to invert a mask, use the `~` or `logical_not()` operator "
                    "instead.")
            a, b = promoted(a, b)
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """y = a · b;  dL/da = dL/dy · b,  dL/db = dL/dy · a"""
    backward_rule = "dL/da = dL/dy · b,  dL/db = dL/dy · a"
    raw_backward = True

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad  # save only what backward reads (as PyTorch)
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        if type(a) is np.ndarray:  # (as in Add)
            a, b = promoted(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (grad * b if da else None), (grad * a if db else None)


class Div(Function):
    """y = a / b;  dL/da = dL/dy / b,  dL/db = -dL/dy · a / b²"""
    backward_rule = "dL/da = dL/dy / b,  dL/db = -dL/dy · a / b²"
    raw_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b = promoted(as_float(a), as_float(b))  # int / int is float32, as in torch
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        ga = grad / b if da else None
        gb = -grad * a / (b * b) if db else None
        return ga, gb


class Neg(Function):
    """y = -x;  dL/dx = -dL/dy"""
    backward_rule = "dL/dx = -dL/dy"
    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        try:
            return -x
        except TypeError:  # a bool array
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.") from None

    @staticmethod
    def backward(ctx, grad):
        return -grad


class PowScalar(Function):
    """y = x ** p for a constant p;  dL/dx = dL/dy · p · x^(p-1)  (0 when p == 0)"""
    backward_rule = "dL/dx = dL/dy · p·x^(p-1)"
    raw_backward = True

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        if type(x) is np.ndarray and x.dtype.kind in "biu":
            if isinstance(exponent, float):
                x = as_float(x)  # int ** 0.5 is float32, as in torch
            elif exponent < 0:
                raise RuntimeError(f"Integers to negative integer powers are not allowed "
                                   f"(pow: {x.dtype} tensor of shape {x.shape} ** {exponent})")
        return x ** exponent

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p = ctx.attrs["exponent"]
        if p == 0:
            return grad * 0.0
        if p == 1:
            return grad
        if p == 2:
            return grad * (x * 2.0)
        return grad * (x ** (p - 1) * p)


def _integers(a, b):
    return type(a) is np.ndarray and a.dtype.kind in "iu" and np.asarray(b).dtype.kind in "iu"


def _int_power(a, b):
    """Integer powers as PyTorch computes them: a negative exponent gives 1 for a == 1,
    ±1 for a == -1 and 0 otherwise (NumPy refuses negative integer exponents)."""
    neg = b < 0
    if not np.any(neg):
        return np.power(a, b)
    y = np.power(a, np.where(neg, 0, b))
    odd = (b % 2) != 0
    by_neg = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(neg, by_neg, y).astype(y.dtype, copy=False)


class Pow(Function):
    """y = a ** b;  dL/da = dL/dy · b · a^(b-1),  dL/db = dL/dy · y · log(a)

    As in PyTorch, the exponent's gradient is 0 where a == 0 and b >= 0.
    """
    backward_rule = "dL/da = dL/dy · b·a^(b-1),  dL/db = dL/dy · y·ln a"

    @staticmethod
    def forward(ctx, a, b):
        if type(a) is np.ndarray:
            a2, b2 = promoted(a, b)
            y = _int_power(a2, b2) if _integers(a2, b2) else np.power(a2, b2)
            if a2.dtype == bool:
                y = y.astype(bool)  # bool ** bool stays bool, as torch (NumPy gives int8)
        else:
            y = a ** b
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        ga = gb = None
        # Masks from the raw values (arrays, or floats for Scalar): constants in any case.
        if da:
            # 0 · 0^-1 would be nan: mask only that point, so d(ga)/db stays right at b == 0
            undefined = (b._data == 0) & (a._data == 0)
            with np.errstate(divide="ignore", invalid="ignore"):  # 0^-1: masked just below
                ga = Where.apply(undefined, grad * 0.0, grad * (b * a ** (b - 1.0)))
        if db:
            zero_base = (a._data == 0) & (b._data >= 0)  # d(0^b)/db taken as 0, as PyTorch does
            safe_a = Where.apply(zero_base, a * 0.0 + 1.0, a)
            gb = Where.apply(zero_base, grad * 0.0, grad * y * safe_a.log())
        return ga, gb


class Exp(Function):
    """y = eˣ;  dL/dx = dL/dy · y"""
    backward_rule = "dL/dx = dL/dy · y"
    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.exp(as_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


class Log(Function):
    """y = ln x;  dL/dx = dL/dy / x"""
    backward_rule = "dL/dx = dL/dy / x"
    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(as_float(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Function):
    """y = √x;  dL/dx = dL/dy / (2y)"""
    backward_rule = "dL/dx = dL/dy / (2y)"
    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(as_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad / (y * 2.0)


class Tanh(Function):
    """y = tanh x;  dL/dx = dL/dy · (1 - y²)"""
    backward_rule = "dL/dx = dL/dy · (1 - y²)"
    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(as_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return TanhBackward.apply(grad, y)


class TanhBackward(Function):
    """g = dL/dy · (1 - y²): tanh's backward as one op (one node, one pass over memory,
    where the composite takes three). Differentiable in both inputs, for HVPs."""
    backward_rule = "dL/dgrad = dL/dg · (1 - y²),  dL/dy = -2·y · grad · dL/dg"
    raw_backward = True

    @staticmethod
    def forward(ctx, grad, y):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(grad if needs[1] else None, y)
        return _times_local(grad, _one_minus(y * y))

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (TanhBackward.apply(gg, y) if needs[0] else None,
                gg * grad * y * -2.0 if needs[1] else None)


def _float_constants(value):
    """``value`` as read-only 0-d arrays, one per float dtype. A ufunc takes such an array
    ~0.5 us faster than the Python number, whose dtype NumPy 2 works out on every call
    (``1.0 - y`` on (16, 16) float32: 1.1 us, with a 0-d array 0.6 us): it counts where
    the arrays are small."""
    constants = {}
    for t in (np.float16, np.float32, np.float64):
        constants[np.dtype(t)] = a = np.array(value, t)
        a.flags.writeable = False
    return constants


_ZERO, _ONE = _float_constants(0), _float_constants(1)


def _one_minus(v):
    """1 - v, in place in the fresh array ``v`` (or for a float)."""
    if type(v) is np.ndarray:
        return np.subtract(_ONE.get(v.dtype, 1), v, out=v)
    return 1.0 - v


def _times_local(grad, local):
    """dL/dy · (local derivative), in place in the fresh ``local`` array when the dtypes
    allow (floats of Scalar graphs just multiply)."""
    if type(local) is np.ndarray and type(grad) is np.ndarray and local.dtype == grad.dtype \
            and (local.shape == grad.shape
                 or local.shape == np.broadcast_shapes(local.shape, grad.shape)):
        return np.multiply(grad, local, out=local)
    return grad * local


def _sigmoid(x):
    # Numerically stable, never exponentiating a large positive number:
    # σ(x) = e^min(x, 0) / (1 + e^-|x|), i.e. 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x)
    # below. In place, without np.where (3 us on a (16, 16) array, more than all the rest)
    # or np.abs (twice the time of a negation): -|x| = min(-x, x).
    if isinstance(x, np.ndarray):
        if x.ndim == 0:  # ufuncs give NumPy scalars for 0-d arrays: work on one element
            return _sigmoid(x.reshape(1)).reshape(())
        den = np.negative(x)
        np.minimum(den, x, out=den)                    # -|x|
        np.exp(den, out=den)                           # e^-|x|, in (0, 1]
        np.add(den, _ONE.get(x.dtype, 1), out=den)
        num = np.minimum(x, _ZERO.get(x.dtype, 0))
        np.exp(num, out=num)                           # e^x below 0, else 1
        return np.divide(num, den, out=num)
    return 1.0 / (1.0 + np.exp(-x)) if x >= 0 else np.exp(x) / (1.0 + np.exp(x))


class Sigmoid(Function):
    """y = 1 / (1 + e⁻ˣ);  dL/dx = dL/dy · y · (1 - y)"""
    backward_rule = "dL/dx = dL/dy · y·(1 - y)"
    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        y = _sigmoid(as_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return SigmoidBackward.apply(grad, y)


class SigmoidBackward(Function):
    """g = dL/dy · y·(1 - y): sigmoid's backward as one op (one node instead of three).
    Differentiable in both inputs, for HVPs."""
    backward_rule = "dL/dgrad = dL/dg · y·(1 - y),  dL/dy = dL/dg · grad · (1 - 2y)"
    raw_backward = True

    @staticmethod
    def forward(ctx, grad, y):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(grad if needs[1] else None, y)
        if type(y) is np.ndarray:  # y·(1 - y), in a fresh array
            local = np.subtract(_ONE.get(y.dtype, 1), y, out=np.empty_like(y))
            local *= y
        else:
            local = y * (1.0 - y)
        return _times_local(grad, local)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (SigmoidBackward.apply(gg, y) if needs[0] else None,
                gg * grad * (1.0 - 2.0 * y) if needs[1] else None)


class Relu(Function):
    """y = max(x, 0);  dL/dx = dL/dy · [x > 0]   (so relu'(0) = 0)"""
    backward_rule = "dL/dx = dL/dy · [x > 0]"
    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        if not isinstance(x, np.ndarray):  # Scalar (a nan stays nan, as in torch)
            y = 0.0 if x < 0 else x
        else:
            y = np.maximum(x, _ZERO.get(x.dtype, 0))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return ReluBackward.apply(grad, y)


class ReluBackward(Function):
    """g = dL/dy · [y > 0] (relu's backward as one op; its derivative in dL/dy is the same mask).

    As PyTorch's ``threshold_backward``: g = 0 where y <= 0, else dL/dy unchanged. So a
    NaN y passes the gradient, and an inf or NaN gradient where y <= 0 gives 0 (a product
    with the 0/1 mask would give inf·0 = NaN), a +0.0 (not the -0.0 of -1·0)."""
    backward_rule = "dL/dgrad = dL/dy · [y > 0]  (no gradient for y)"
    raw_backward = True

    @staticmethod
    def forward(ctx, grad, y):
        ctx.save_for_backward(y)
        if not isinstance(grad, np.ndarray):  # Scalar
            return 0.0 if y <= 0 else grad
        return _zero_where_not_positive(grad, y)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return ReluBackward.apply(grad, y), None


# float dtype -> (the integer type of its size, that type's 1 as a 0-d array)
_SAME_SIZE_INT = {np.dtype(f): (i, np.array(1, i)) for f, i in
                  ((np.float16, np.int16), (np.float32, np.int32), (np.float64, np.int64))}


def _zero_where_not_positive(grad, y):
    """``where(y <= 0, +0.0, grad)``, on the bits: an integer mask that is all ones where the
    gradient passes and 0 where it stops, ANDed with the gradient's bits (0 is +0.0's bit
    pattern). Three passes over memory and no special case for inf or NaN: 1.6 ms where
    NumPy's ``where`` takes 9 ms and finite check + mask product + 0.0 add took 2.9 ms
    ((64, 64, 24, 24) float32, the MNIST example's second relu)."""
    found = _SAME_SIZE_INT.get(grad.dtype)
    if found is None or y.shape != grad.shape:  # another dtype, or broadcasting
        return np.where(y <= 0, grad.dtype.type(0), grad)
    bits_type, one = found
    bits = np.less_equal(y, _ZERO.get(y.dtype, 0)).astype(bits_type)  # 1: the gradient stops
    bits -= one                                    # 0 there, else -1 (all bits set)
    bits &= grad.view(bits_type)
    return bits.view(grad.dtype)


class Abs(Function):
    """y = |x|;  dL/dx = dL/dy · sign(x)   (so abs'(0) = 0)"""
    backward_rule = "dL/dx = dL/dy · sign(x)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sign()


class Sign(Function):
    """y = sign(x); its derivative is 0 wherever it exists."""
    backward_rule = "dL/dx = 0"

    @staticmethod
    def forward(ctx, x):
        return x.copy() if type(x) is np.ndarray and x.dtype == bool else np.sign(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0.0


class Clamp(Function):
    """y = min(max(x, lo), hi);  dL/dx = dL/dy · [lo <= x <= hi]"""
    backward_rule = "dL/dx = dL/dy · [min ≤ x ≤ max]"

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        ctx.save_for_backward(x)
        if isinstance(min, float) or isinstance(max, float):
            x = as_float(x)  # an int tensor clamped to float bounds is float32, as in torch
        return np.clip(x, min, max)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.attrs["min"], ctx.attrs["max"]
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            mask = (x <= hi) if mask is None else mask & (x <= hi)
        return grad if mask is None else grad * mask


class Maximum(Function):
    """y = max(a, b) elementwise; on a tie each side gets half the gradient:
    dL/da = dL/dy · ([a > b] + ½[a == b]),  dL/db = dL/dy - dL/da"""
    backward_rule = "dL/da = dL/dy · ([a > b] + ½[a = b]),  dL/db = dL/dy · ([b > a] + ½[a = b])"
    pick = staticmethod(np.maximum)
    wins = staticmethod(lambda a, b: a > b)  # where a is the result

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.pick(*promoted(a, b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = ctx.fn.wins(a, b) + (a == b) * 0.5  # a's share of the gradient
        da, db = ctx.needs_input_grad
        return (grad * share if da else None), (grad * (1.0 - share) if db else None)


class Minimum(Maximum):
    """y = min(a, b) elementwise; on a tie each side gets half the gradient."""
    backward_rule = "dL/da = dL/dy · ([a < b] + ½[a = b]),  dL/db = dL/dy · ([b < a] + ½[a = b])"
    pick = staticmethod(np.minimum)
    wins = staticmethod(lambda a, b: a < b)


class Where(Function):
    """y = cond ? a : b;  dL/da = dL/dy · cond,  dL/db = dL/dy · (1 - cond)"""
    backward_rule = "dL/da = dL/dy · cond,  dL/db = dL/dy · (1 - cond)"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, *promoted(a, b))

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        _, da, db = ctx.needs_input_grad
        zero = grad * 0.0
        return (None,
                Where.apply(cond, grad, zero) if da else None,
                Where.apply(cond, zero, grad) if db else None)


class Cast(Function):
    """y = x converted to another float dtype; the gradient converts back."""
    backward_rule = "dL/dx = dL/dy cast back to x's dtype"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return Cast.apply(grad, dtype=ctx.in_dtype)
