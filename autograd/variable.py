"""What Tensor and Scalar have in common: a value that can sit in the graph.

A Variable holds its raw value in ``_data`` (a NumPy array for Tensor, a float for
Scalar; ``Tensor.data`` is a detached Tensor as in PyTorch, ``Scalar.data`` the float), the
node that produced it (``grad_fn``, None for leaves) and, for leaves that
require grad, the accumulated ``grad``. Both kinds run on the same Function,
Context and engine code.
"""
import numbers

from . import engine
from . import ops as O


class Variable:
    __slots__ = ("_data", "grad", "grad_fn", "_requires_grad", "__dict__", "__weakref__")
    # Rarely changed: class-level defaults, stored per instance only once assigned.
    _version = 0   # bumped by in-place methods; checked when saved values are unpacked
    _hooks = None  # gradient hooks of a leaf
    name = None    # optional label (graph drawings)

    # Subclasses set this to the class that op results are wrapped in (Parameter -> Tensor).
    _result_type = None
    # Scalar sets this: its graph nodes keep their values and gradients (see Context).
    _keeps_values = False

    # -------------------------------------------------------------- graph state
    @property
    def requires_grad(self):
        return self._requires_grad or self.grad_fn is not None

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want "
                    "to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().")
            return
        if value:
            self._check_can_require_grad()
        self._requires_grad = bool(value)

    def _check_can_require_grad(self):
        pass

    def _operand(self, other):
        return self._wrap(other)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def detach(self):
        """The same data, cut from the graph."""
        return self._make(self._data, None)

    # -------------------------------------------------------------- hooks
    def register_hook(self, hook):
        """Call ``hook(grad)`` when this value's gradient is computed; a returned
        value replaces the gradient. Returns a handle with ``.remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(hook)
        from .function import _RemovableHandle
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf value after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        import weakref
        self.grad_fn._retain = weakref.ref(self)

    @property
    def retains_grad(self):
        return self.grad_fn is not None and self.grad_fn._retain is not None \
            and self.grad_fn._retain() is self

    # -------------------------------------------------------------- arithmetic
    # Shared by Tensor and Scalar: the same Function classes run on arrays and floats.
    # ``_operand`` turns a Python number (or array) into a constant operand of the op.
    def __add__(self, other): return O.Add.apply(self, self._operand(other))
    def __radd__(self, other): return O.Add.apply(self._operand(other), self)
    def __sub__(self, other): return O.Sub.apply(self, self._operand(other))
    def __rsub__(self, other): return O.Sub.apply(self._operand(other), self)
    def __mul__(self, other): return O.Mul.apply(self, self._operand(other))
    def __rmul__(self, other): return O.Mul.apply(self._operand(other), self)
    def __truediv__(self, other): return O.Div.apply(self, self._operand(other))
    def __rtruediv__(self, other): return O.Div.apply(self._operand(other), self)
    def __neg__(self): return O.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return O.Abs.apply(self)

    def __pow__(self, other):
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return O.PowScalar.apply(self, exponent=other)
        return O.Pow.apply(self, self._operand(other))

    def __rpow__(self, other): return O.Pow.apply(self._operand(other), self)

    def exp(self): return O.Exp.apply(self)
    def log(self): return O.Log.apply(self)
    def sqrt(self): return O.Sqrt.apply(self)
    def tanh(self): return O.Tanh.apply(self)
    def sigmoid(self): return O.Sigmoid.apply(self)
    def relu(self): return O.Relu.apply(self)
    def abs(self): return O.Abs.apply(self)
    def sign(self): return O.Sign.apply(self)

    # -------------------------------------------------------------- backward
    def _initial_grad(self, gradient):
        if gradient is None:
            if self._numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            return self._ones_like()
        if not isinstance(gradient, Variable):
            gradient = self._make(self._coerce(gradient), None)
        if gradient.shape != self.shape:
            raise RuntimeError(
                f"backward: gradient has shape {gradient.shape} but the output has shape "
                f"{self.shape}")
        return gradient

    def backward(self, gradient=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) · gradient into ``.grad`` of every leaf.

        ``gradient`` is dL/d(self); it may be omitted for a one-element output
        (then it is 1). Saved values are freed afterwards unless ``retain_graph``.
        ``create_graph`` records the backward pass itself, for higher derivatives.
        """
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        g = self._initial_grad(gradient)
        engine.run_backward([self], [g], retain_graph=retain_graph or create_graph,
                            create_graph=create_graph)
