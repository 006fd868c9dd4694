"""Activation layers: ReLU, LeakyReLU, Tanh, Sigmoid, Softmax, LogSoftmax, and (at the end)
GELU, SiLU, ELU, SELU, CELU, ReLU6, Hardtanh, Hardswish, Hardsigmoid, Mish, PReLU, ...

``inplace=True`` is accepted for compatibility and shown in the repr, but the result is
always a new tensor (ndgrad does not modify graph tensors in place).
"""
import warnings

from . import functional as F
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"]


class ReLU(Module):
    """``max(0, x)`` elementwise."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` if ``x >= 0`` else ``negative_slope * x``."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``."""

    def forward(self, input):
        return F.sigmoid(input)


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = self.dim if self.dim is not None else _softmax_dim("softmax", input.ndim)
        return F.softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = self.dim if self.dim is not None else _softmax_dim("log_softmax", input.ndim)
        return F.log_softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


# ---------------------------------------------------------------------------------------------
# More activations (PyTorch's names, arguments and reprs), each calling nn.functional.
def _act(name, fn_name, params=(), doc=""):
    """A Module class whose forward is ``F.<fn_name>(input, **params)``; ``params`` is a list
    of (argument, default) pairs, shown by ``extra_repr`` and accepted positionally."""

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        names = [p for p, _ in params]
        if len(args) > len(names):
            raise TypeError(f"{name}() takes at most {len(names)} arguments "
                            f"({len(args)} given)")
        values = dict(params)
        values.update(zip(names, args))
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"{name}() got an unexpected keyword argument '{k}'")
            values[k] = v
        for k, v in values.items():
            setattr(self, k, v)

    def forward(self, input):
        kwargs = {p: getattr(self, p) for p, _ in params if p != "inplace"}
        return getattr(F, fn_name)(input, **kwargs)

    def extra_repr(self):
        if name in ("Softshrink", "Hardshrink"):
            return str(self.lambd)
        parts = []
        for p, default in params:
            v = getattr(self, p)
            if p == "inplace":
                if v:
                    parts.append("inplace=True")
            else:
                parts.append(f"{p}={v!r}" if isinstance(v, str) else f"{p}={v}")
        return ", ".join(parts)

    cls = type(name, (Module,), {"__init__": __init__, "forward": forward,
                                 "extra_repr": extra_repr, "__doc__": doc,
                                 "__module__": __name__})
    __all__.append(name)
    return cls


GELU = _act("GELU", "gelu", [("approximate", "none")], "x·Φ(x) (or its tanh approximation).")
SiLU = _act("SiLU", "silu", [("inplace", False)], "x·σ(x).")
ELU = _act("ELU", "elu", [("alpha", 1.0), ("inplace", False)], "x, or alpha·(exp(x) - 1) below 0.")
SELU = _act("SELU", "selu", [("inplace", False)], "scale·elu(x, alpha), self-normalising.")
CELU = _act("CELU", "celu", [("alpha", 1.0), ("inplace", False)], "max(0,x)+min(0,α(exp(x/α)-1)).")
ReLU6 = _act("ReLU6", "relu6", [("inplace", False)], "min(max(0, x), 6).")
Hardtanh = _act("Hardtanh", "hardtanh", [("min_val", -1.0), ("max_val", 1.0),
                                         ("inplace", False)], "clamp(x, min_val, max_val).")
Hardswish = _act("Hardswish", "hardswish", [("inplace", False)], "x·relu6(x + 3)/6.")
Hardsigmoid = _act("Hardsigmoid", "hardsigmoid", [("inplace", False)], "relu6(x + 3)/6.")
Mish = _act("Mish", "mish", [("inplace", False)], "x·tanh(softplus(x)).")
Softsign = _act("Softsign", "softsign", (), "x / (1 + |x|).")
Softmin = _act("Softmin", "softmin", [("dim", None)], "softmax(-x) along dim.")
Tanhshrink = _act("Tanhshrink", "tanhshrink", (), "x - tanh(x).")
Softshrink = _act("Softshrink", "softshrink", [("lambd", 0.5)], "soft thresholding.")
Hardshrink = _act("Hardshrink", "hardshrink", [("lambd", 0.5)], "hard thresholding.")
GLU = _act("GLU", "glu", [("dim", -1)], "a·σ(b) of the two halves along dim.")
LogSigmoid = _act("LogSigmoid", "logsigmoid", (), "log σ(x).")
Softplus = _act("Softplus", "softplus", [("beta", 1.0), ("threshold", 20.0)],
                "log(1 + exp(beta·x))/beta.")
Threshold = _act("Threshold", "threshold", [("threshold", 0.0), ("value", 0.0),
                                            ("inplace", False)], "x above threshold, else value.")


class PReLU(Module):
    """x for x > 0, a·x otherwise, with a learned slope ``a`` (one, or one per channel)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        import importlib
        import numpy as np
        from .module import Parameter
        default = importlib.import_module("autograd.tensor").default_dtype
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(np.full((num_parameters,), init,
                                        dtype=np.dtype(dtype) if dtype else default))

    def reset_parameters(self):
        from . import init as _init
        _init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


__all__.append("PReLU")
