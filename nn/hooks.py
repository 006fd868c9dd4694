"""Module backward hooks (``register_full_backward_hook`` / ``register_full_backward_pre_hook``,
as PyTorch's).

A module with backward hooks passes its Tensor inputs and outputs through an identity op
(``BackwardHookIdentity``), so that the gradients flowing into *this* module's outputs
(``grad_output``) and out of it into its inputs (``grad_input``) each arrive at a node of
their own, where a gradient hook sees them:

* the output nodes collect ``grad_output`` and run the pre-hooks (which may replace it);
* the input nodes collect ``grad_input``; when the last one has arrived the hooks run
  ``hook(module, grad_input, grad_output)`` (a returned tuple replaces ``grad_input``;
  only possible for a module with a single differentiable input, where nothing has been
  passed on yet). With no differentiable input the hooks run as soon as ``grad_output``
  is known, with ``grad_input`` all None.
"""
from autograd import Tensor
from autograd.function import Function

__all__ = ["BackwardHookIdentity", "wrap_call"]


class BackwardHookIdentity(Function):
    """y = x (a fresh node for the module's backward hooks);  dL/dx = dL/dy"""
    backward_rule = "dL/dx = dL/dy"

    @staticmethod
    def forward(ctx, x):
        return x.view()

    @staticmethod
    def backward(ctx, grad):
        return grad


def _tensors(obj):
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    return []


def _rewrap(obj, mapping):
    if isinstance(obj, Tensor):
        return mapping.get(id(obj), obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_rewrap(o, mapping) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_rewrap(o, mapping) for o in obj)
    return obj


class _Call:
    """The bookkeeping of one forward call of a module with backward hooks."""

    def __init__(self, module, args):
        self.module = module
        self.inputs = [a if isinstance(a, Tensor) else None for a in args]
        self.grad_input = [None] * len(args)
        self.pending = 0
        self.grad_output = None
        self.outputs = []

    def wrap_inputs(self, args):
        wrapped = list(args)
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                w = BackwardHookIdentity.apply(a)
                w.register_hook(lambda g, i=i: self._input_grad(i, g))
                wrapped[i] = w
                self.pending += 1
        self.total = self.pending
        return tuple(wrapped)

    def wrap_outputs(self, out):
        mapping = {}
        tensors = [t for t in _tensors(out) if t.requires_grad]
        self.grad_output = [None] * len(tensors)
        self.outputs_left = len(tensors)
        for k, t in enumerate(tensors):
            w = BackwardHookIdentity.apply(t)
            w.register_hook(lambda g, k=k: self._output_grad(k, g))
            mapping[id(t)] = w
        return _rewrap(out, mapping)

    def _output_grad(self, k, grad):
        self.grad_output[k] = grad
        self.outputs_left -= 1
        if self.outputs_left:
            return None
        for hook in list(self.module.__dict__.get("_backward_pre_hooks", {}).values()):
            result = hook(self.module, tuple(self.grad_output))
            if result is not None:
                if len(self.grad_output) > 1:
                    raise RuntimeError(f"{type(self.module).__name__}: a backward pre-hook "
                                       f"may replace grad_output only for a module with one "
                                       f"differentiable output in ndgrad")
                self.grad_output = list(result if isinstance(result, tuple) else (result,))
        replaced = self.grad_output[k]
        if self.total == 0:
            self._run_hooks()
        return replaced

    def _input_grad(self, i, grad):
        self.grad_input[i] = grad
        self.pending -= 1
        if self.pending:
            return None
        new = self._run_hooks()
        return new[i] if new is not None else None

    def _run_hooks(self):
        replacement = None
        for hook in list(self.module.__dict__.get("_backward_hooks", {}).values()):
            grad_input = tuple(replacement if replacement is not None else self.grad_input)
            result = hook(self.module, grad_input, tuple(self.grad_output or ()))
            if result is not None:
                if self.total > 1:
                    raise RuntimeError(f"{type(self.module).__name__}: a backward hook may "
                                       f"replace grad_input only for a module with one "
                                       f"differentiable input in ndgrad")
                replacement = list(result if isinstance(result, tuple) else (result,))
        return replacement


def wrap_call(module, args, call_forward):
    """Run ``call_forward(args)`` with the module's backward hooks attached."""
    call = _Call(module, args)
    out = call_forward(call.wrap_inputs(args))
    return call.wrap_outputs(out)
