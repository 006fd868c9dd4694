"""Identity, Linear, and the reshaping layers Flatten and Unflatten."""
import importlib

import numpy as np

from . import functional as F
from . import init
from .module import Module, Parameter

# autograd.tensor the module (the name `autograd.tensor` is the factory function)
_tensor_module = importlib.import_module("autograd.tensor")

__all__ = ["Identity", "Linear", "Flatten", "Unflatten"]


def _empty(shape, dtype):
    # a float size (Linear(2.5, 3)) is a TypeError, a negative one a RuntimeError, as in torch
    shape = _tensor_module._check_sizes(_tensor_module._shape_arg((shape,), "empty"), "empty")
    return np.empty(shape, dtype=np.dtype(dtype) if dtype is not None
                    else _tensor_module.default_dtype)


class Identity(Module):
    """Returns its input unchanged (a placeholder; any constructor arguments are ignored)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` of shape ``(out_features, in_features)``.

    Initialised like PyTorch: ``kaiming_uniform_(weight, a=sqrt(5))``, i.e.
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and the bias from the same range.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(_empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init._default_reset_(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Flattens dimensions ``start_dim`` .. ``end_dim`` into one (default: all but the batch)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size`` (the inverse of Flatten)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):
        dim = self.dim % input.ndim
        shape = input.shape[:dim] + self.unflattened_size + input.shape[dim + 1:]
        return input.reshape(shape)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
