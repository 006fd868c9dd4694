"""Which dtypes PyTorch refuses for which Tensor methods, in one table.

NumPy happily computes ``abs`` of a bool array or ``frac`` of integers; PyTorch has no
kernel for them and says so. ndgrad follows PyTorch (a refusal is better than a result
a PyTorch user would never see), so each method below checks its input's dtype kind
(``b`` bool, ``i``/``u`` integers) before running, and raises PyTorch's exception.
"""
from .ops.dtypes import torch_name

_INTEGERS = "iub"

#  method: (refused dtype kinds, exception type, message; {dtype} = PyTorch's dtype name)
RULES = {
    "abs": ("b", NotImplementedError, '"abs_cpu" not implemented for \'{dtype}\''),
    "ceil": ("b", NotImplementedError, '"ceil_vml_cpu" not implemented for \'{dtype}\''),
    "floor": ("b", NotImplementedError, '"floor_vml_cpu" not implemented for \'{dtype}\''),
    "round": ("b", NotImplementedError, '"round_vml_cpu" not implemented for \'{dtype}\''),
    "trunc": ("b", NotImplementedError, '"trunc_vml_cpu" not implemented for \'{dtype}\''),
    "fix": ("b", NotImplementedError, '"trunc_vml_cpu" not implemented for \'{dtype}\''),
    "frac": (_INTEGERS, NotImplementedError, '"frac_cpu" not implemented for \'{dtype}\''),
    "median": ("b", NotImplementedError, '"median_cpu" not implemented for \'{dtype}\''),
    "argmax": ("b", RuntimeError, "argmax(): does not support bool input"),
    "argmin": ("b", RuntimeError, "argmin(): does not support bool input"),
    "relu": ("b", RuntimeError, "Boolean inputs not supported for relu"),
    "histc": (_INTEGERS, NotImplementedError, '"histogram_cpu" not implemented for \'{dtype}\''),
    "trace": ("b", NotImplementedError, '"trace" not implemented for \'{dtype}\''),
    "nanmean": (_INTEGERS, RuntimeError, "nanmean(): expected input to have floating point "
                                         "or complex dtype but got {dtype}"),
    "pinverse": (_INTEGERS, RuntimeError, "linalg.pinv: expected a tensor of float or double "
                                          "types, got {dtype}"),
}


def _guarded(method, kinds, error, message):
    def checked(self, *args, **kwargs):
        if self._data.dtype.kind in kinds:
            raise error(message.format(dtype=torch_name(self._data.dtype)))
        return method(self, *args, **kwargs)
    checked.__name__, checked.__doc__ = method.__name__, method.__doc__
    checked.__wrapped__ = method
    return checked


def install(cls):
    """Wrap ``cls``'s methods named in RULES with their dtype check."""
    for name, (kinds, error, message) in RULES.items():
        method = getattr(cls, name, None)
        if method is not None:
            setattr(cls, name, _guarded(method, kinds, error, message))
