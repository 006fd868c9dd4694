"""Elementwise math beyond the basics: trigonometric and hyperbolic functions, exp/log
variants, error functions, rounding, and the binary functions (atan2, fmod, remainder,
copysign, hypot, logaddexp, lerp, xlogy).

Forward works on raw NumPy arrays; backward is written with Tensor ops, so double
backward works. Rounding ops (floor, ceil, round, trunc, sign) have a zero gradient,
as in PyTorch; ``frac = x - trunc(x)`` passes the gradient through.
"""
import math

import numpy as np

from ..function import Function

_SQRT_PI = math.sqrt(math.pi)


class Sin(Function):
    """y = sin x"""
    backward_rule = "dL/dx = dL/dy · cos x"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Function):
    """y = cos x"""
    backward_rule = "dL/dx = -dL/dy · sin x"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


class Tan(Function):
    """y = tan x"""
    backward_rule = "dL/dx = dL/dy · (1 + y²)"
    @staticmethod
    def forward(ctx, x):
        y = np.tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1.0 + y * y)


class Asin(Function):
    """y = asin x"""
    backward_rule = "dL/dx = dL/dy / √(1 - x²)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arcsin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (1.0 - x * x).rsqrt()


class Acos(Function):
    """y = acos x"""
    backward_rule = "dL/dx = -dL/dy / √(1 - x²)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arccos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * (1.0 - x * x).rsqrt()


class Atan(Function):
    """y = atan x"""
    backward_rule = "dL/dx = dL/dy / (1 + x²)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arctan(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + x * x)


class Sinh(Function):
    """y = sinh x"""
    backward_rule = "dL/dx = dL/dy · cosh x"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sinh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cosh()


class Cosh(Function):
    """y = cosh x"""
    backward_rule = "dL/dx = dL/dy · sinh x"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cosh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sinh()


class Asinh(Function):
    """y = asinh x"""
    backward_rule = "dL/dx = dL/dy / √(x² + 1)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arcsinh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x * x + 1.0).rsqrt()


class Acosh(Function):
    """y = acosh x"""
    backward_rule = "dL/dx = dL/dy / √((x - 1)(x + 1))"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arccosh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ((x - 1.0) * (x + 1.0)).rsqrt()


class Atanh(Function):
    """y = atanh x"""
    backward_rule = "dL/dx = dL/dy / (1 - x²)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arctanh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 - x * x)


class Exp2(Function):
    """y = 2ˣ"""
    backward_rule = "dL/dx = dL/dy · y · ln 2"
    @staticmethod
    def forward(ctx, x):
        y = np.exp2(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y * math.log(2.0)


class Expm1(Function):
    """y = eˣ - 1"""
    backward_rule = "dL/dx = dL/dy · (y + 1)"
    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y + 1.0)


class Log2(Function):
    """y = log₂ x"""
    backward_rule = "dL/dx = dL/dy / (x · ln 2)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log2(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x * math.log(2.0))


class Log10(Function):
    """y = log₁₀ x"""
    backward_rule = "dL/dx = dL/dy / (x · ln 10)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log10(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x * math.log(10.0))


class Log1p(Function):
    """y = ln(1 + x)"""
    backward_rule = "dL/dx = dL/dy / (1 + x)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1.0)


class Rsqrt(Function):
    """y = 1 / √x"""
    backward_rule = "dL/dx = -dL/dy · y³ / 2"
    @staticmethod
    def forward(ctx, x):
        with np.errstate(divide="ignore"):
            y = 1.0 / np.sqrt(x)
        ctx.save_for_backward(y)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y * y * y) * -0.5


class Reciprocal(Function):
    """y = 1 / x"""
    backward_rule = "dL/dx = -dL/dy · y²"
    @staticmethod
    def forward(ctx, x):
        with np.errstate(divide="ignore"):
            y = np.reciprocal(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return -grad * (y * y)


class Square(Function):
    """y = x²"""
    backward_rule = "dL/dx = dL/dy · 2x"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.square(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x * 2.0)


def _special():
    from scipy import special  # scipy: the accurate erf/erfinv (a dependency of ndgrad)
    return special


class Erf(Function):
    """y = erf x"""
    backward_rule = "dL/dx = dL/dy · 2/√π · exp(-x²)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special().erf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-(x * x)).exp() * (2.0 / _SQRT_PI)


class Erfc(Function):
    """y = 1 - erf x"""
    backward_rule = "dL/dx = -dL/dy · 2/√π · exp(-x²)"
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special().erfc(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-(x * x)).exp() * (-2.0 / _SQRT_PI)


class Erfinv(Function):
    """y = erf⁻¹ x"""
    backward_rule = "dL/dx = dL/dy · √π/2 · exp(y²)"
    @staticmethod
    def forward(ctx, x):
        y = _special().erfinv(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y * y).exp() * (_SQRT_PI / 2.0)


class Rounding(Function):
    """y = floor/ceil/round/trunc/sign of x (``fn`` attribute): a step function"""
    backward_rule = "dL/dx = 0"
    FNS = {"floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "sign": np.sign}

    @staticmethod
    def forward(ctx, x, fn, decimals=0):
        if fn == "round":  # half to even, as PyTorch (and NumPy) do
            return np.round(x, decimals)
        return Rounding.FNS[fn](x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0.0


class Frac(Function):
    """y = x - trunc(x)"""
    backward_rule = "dL/dx = dL/dy"
    @staticmethod
    def forward(ctx, x):
        return x - np.trunc(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Lgamma(Function):
    """y = ln |Γ(x)|"""
    backward_rule = "dL/dx = dL/dy · digamma(x)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special().gammaln(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Polygamma.apply(x, n=0)


class Polygamma(Function):
    """y = ψ⁽ⁿ⁾(x), the n-th derivative of digamma (n = 0: digamma itself)"""
    backward_rule = "dL/dx = dL/dy · polygamma(n + 1, x)"

    @staticmethod
    def forward(ctx, x, n=0):
        ctx.save_for_backward(x)
        special = _special()
        return special.digamma(x) if n == 0 else special.polygamma(n, x).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Polygamma.apply(x, n=ctx.attrs.get("n", 0) + 1)
