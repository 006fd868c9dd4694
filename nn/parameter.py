"""Parameter: a module's learnable weight (like ``torch.nn.parameter.Parameter``)."""
import numpy as np

from autograd import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that is a module's learnable weight: assigning one to a module attribute
    registers it, and ``requires_grad`` defaults to True. The results of ops on a
    Parameter (and ``detach()``) are plain Tensors."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        # Share the array of a Tensor or ndarray, like torch.nn.Parameter shares storage.
        super().__init__(data._data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    @classmethod
    def _make(cls, data, grad_fn):
        return Tensor._make(data, grad_fn)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # copy.deepcopy / pickle: a fresh Parameter with copied data and grad.
        return (_rebuild_parameter, (self._data, self._requires_grad, self.grad))


def _rebuild_parameter(data, requires_grad, grad):
    p = Parameter(data, requires_grad=requires_grad)
    p.grad = grad
    return p
