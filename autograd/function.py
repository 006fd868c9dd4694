"""Function and Context: how an operation records itself in the graph.

Every differentiable operation is a small class::

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):            # raw data in (NumPy arrays, or floats for Scalar)
            ctx.save_for_backward(a, b)
            return a * b                   # raw data out

        @staticmethod
        def backward(ctx, grad):           # grad and saved tensors arrive as Tensors (or Scalars)
            a, b = ctx.saved_tensors
            return grad * b, grad * a      # dL/da = dL/dy · b,  dL/db = dL/dy · a

``Mul.apply(x, y)`` runs ``forward`` on the raw data and, when some input requires
grad, wraps the result in a Tensor whose ``grad_fn`` is the ``Context``. That
context *is* the graph node: it keeps the op name, its non-tensor attributes, the
shapes and dtypes of its inputs and output, the edges to its inputs' nodes, and the
saved data. Backward formulas are written with Tensor operations, so running
them with recording switched on (``create_graph=True``) builds a differentiable
graph of the backward pass: second derivatives come for free.
"""
import numpy as np

from . import grad_mode

# --- read-only protection of saved buffers ------------------------------------------
# A NumPy array saved for backward is made read-only while a graph that saved it is
# alive, so modifying it in place raises instead of silently corrupting a gradient.
# Several graphs may save the same array: count them and restore writability when
# the last one releases it (only for arrays that we made read-only ourselves).
_protected = {}  # id(array) -> [array, count]


def _protect(arr):
    entry = _protected.get(id(arr))
    if entry is not None:
        entry[1] += 1
        return True
    if arr.flags.writeable:
        arr.flags.writeable = False
        _protected[id(arr)] = [arr, 1]
        return True
    return False


def _unprotect(arr):
    entry = _protected.get(id(arr))
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _protected[id(arr)]
        arr.flags.writeable = True


# Names of the nn.Modules whose forward is running (innermost last). nn.Module.__call__
# pushes its qualified name (e.g. "features.0"); each node records the innermost one,
# so a drawing can group nodes by the layer that created them.
_module_stack = []

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Saved intermediate values of the "
    "graph are freed when you call .backward() or autograd.grad(). Specify "
    "retain_graph=True if you need to backward through the graph a second time or "
    "if you need to access saved tensors after calling backward."
)

# What ctx.save_for_backward stored for each object, decided when the node is built:
_SAVED_INPUT, _SAVED_OUTPUT, _SAVED_CONSTANT = 0, 1, 2


class Context:
    """The graph node of one op application (what ``tensor.grad_fn`` returns).

    Attributes a reader may use:
      name            op name, e.g. ``"Mul"``
      attrs           non-tensor arguments (axis, stride, ...)
      next_functions  per input: the input's node (a Context, or the leaf tensor
                      itself) or None when no gradient flows there
      needs_input_grad  per input: whether backward must compute its gradient
      input_meta, output_meta  (shape, dtype) tuples, kept after the graph is freed
    """

    __slots__ = (
        "fn", "attrs", "next_functions", "needs_input_grad", "input_meta",
        "output_meta", "_saved", "_saved_kinds", "_versions", "_released",
        "_inputs_for_save", "_output_type", "_output_ref", "_hooks", "_retain",
        "trace", "module", "__dict__", "__weakref__",
    )

    def __init__(self, fn):
        self.fn = fn
        self.attrs = None
        self.next_functions = ()
        self.needs_input_grad = ()
        self._saved = None
        self._saved_kinds = None
        self._released = False
        self._hooks = None
        self._retain = None
        self.trace = None
        self.module = _module_stack[-1] if _module_stack else None

    # ------------------------------------------------------------------ saving
    def save_for_backward(self, *values):
        """Stash raw data (inputs, the output, or anything else) for backward."""
        self._saved = values

    @property
    def saved_tensors(self):
        """The saved values, wrapped as Tensors (or Scalars).

        An input comes back as the very input Tensor, so gradients of gradients
        flow into it; the output comes back as a Tensor whose grad_fn is this node;
        anything else comes back as a constant.
        """
        if self._released:
            raise RuntimeError(_FREED_MESSAGE)
        if self._saved is None:
            return ()
        out = []
        for value, (kind, ref), version in zip(self._saved, self._saved_kinds, self._versions):
            if kind == _SAVED_INPUT:
                if ref._version != version:
                    raise RuntimeError(
                        f"one of the variables needed for gradient computation has been "
                        f"modified by an inplace operation: the input of {self.name} with "
                        f"shape {ref.shape} is at version {ref._version}; expected version "
                        f"{version} instead.")
                out.append(ref)
            elif kind == _SAVED_OUTPUT:
                out.append(self._output_type._make(value, self))
            else:
                out.append(self._output_type._make(value, None))
        return tuple(out)

    def _finish_saving(self, inputs, output_raw, output_type):
        """Classify what forward saved; protect saved arrays from in-place writes."""
        self._output_type = output_type
        if self._saved is None:
            return
        kinds, versions = [], []
        for value in self._saved:
            for t in inputs:
                if t is not None and value is t.data:
                    kinds.append((_SAVED_INPUT, t))
                    versions.append(t._version)
                    break
            else:
                kinds.append((_SAVED_OUTPUT, None) if value is output_raw else (_SAVED_CONSTANT, None))
                versions.append(None)
            if isinstance(value, np.ndarray):
                _protect(value)
        self._saved_kinds = kinds
        self._versions = versions

    def _release(self):
        """Free what was saved (called after backward unless retain_graph=True)."""
        if self._saved is not None:
            for value in self._saved:
                if isinstance(value, np.ndarray):
                    _unprotect(value)
        self._saved = None
        self._saved_kinds = None
        self._released = True

    def __del__(self):
        # A graph dropped without backward must not leave the arrays read-only.
        if self._saved is not None:
            try:
                self._release()
            except Exception:  # interpreter shutdown
                pass

    # ------------------------------------------------------------------ description
    @property
    def name(self):
        return self.fn.__name__

    def register_hook(self, hook):
        """Run ``hook(grad)`` on the gradient of this node's output before backward."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def __repr__(self):
        return f"<{self.name}Backward>"


class _RemovableHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class _NoGradContext:
    """Stand-in ctx when nothing is recorded: saving is a no-op."""
    __slots__ = ("__dict__",)

    def save_for_backward(self, *values):
        pass


class Function:
    """Base class of every op. Subclasses define ``forward`` and ``backward``."""

    @staticmethod
    def forward(ctx, *args, **attrs):
        raise NotImplementedError("Function is abstract: subclasses must implement forward")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function is abstract: subclasses must implement backward")

    @classmethod
    def apply(cls, *args, **attrs):
        """Run forward on raw data; record a node if any input requires grad."""
        from .variable import Variable

        record = False
        out_type = None
        raw = []
        for a in args:
            if isinstance(a, Variable):
                raw.append(a.data)
                if out_type is None:
                    out_type = type(a)._result_type
                if a.requires_grad:
                    record = True
            else:
                raw.append(a)
        if out_type is None:
            raise TypeError(f"{cls.__name__}.apply needs at least one Tensor or Scalar input")
        record = record and grad_mode._enabled

        if not record:
            return out_type._make(cls.forward(_NoGradContext(), *raw, **attrs), None)

        ctx = Context(cls)
        ctx.attrs = attrs
        result = cls.forward(ctx, *raw, **attrs)
        nexts, needs, metas = [], [], []
        inputs = []
        for a in args:
            if isinstance(a, Variable):
                inputs.append(a)
                metas.append(a._meta())
                if a.requires_grad:
                    nexts.append(a.grad_fn if a.grad_fn is not None else a)
                    needs.append(True)
                    continue
            else:
                inputs.append(None)
                metas.append(None)
            nexts.append(None)
            needs.append(False)
        ctx.next_functions = tuple(nexts)
        ctx.needs_input_grad = tuple(needs)
        ctx.input_meta = tuple(metas)
        out = out_type._make(result, ctx)
        ctx.output_meta = out._meta()
        ctx._finish_saving(inputs, result, out_type)
        if grad_mode._anomaly:
            from .anomaly import _creation_trace
            ctx.trace = _creation_trace()
        return out
