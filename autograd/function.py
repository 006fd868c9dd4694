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

``ctx.needs_input_grad`` is known before ``forward`` runs, so an op can save only what
its backward will read (the real ``Mul`` saves ``b`` only if ``a`` needs a gradient).
An op whose backward is plain arithmetic can declare ``raw_backward = True``: an
ordinary backward then runs that formula on the raw data, without wrapping (see
``Function``).
What happens to saved arrays while the graph is alive is ``saved.py``'s business.
"""
import itertools
from types import MappingProxyType

import numpy as np

from . import grad_mode
from . import saved as _saved_buffers

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

_OUTPUT = object()  # marks "this saved value is the op's own output" (for viz)
_OUT, _CONST = -1, -2
_FLOAT_META = ((), "float")  # the (shape, dtype) of a Scalar's value (a Python float)


class Context:
    """The graph node of one op application (what ``tensor.grad_fn`` returns).

    Attributes a reader may use:
      name            op name, e.g. ``"Mul"``
      attrs           non-tensor arguments (axis, stride, ...)
      next_functions  per input: the input's node (a Context, or the leaf tensor
                      itself) or None when no gradient flows there
      needs_input_grad  per input: whether backward must compute its gradient
      input_meta, output_meta  (shape, dtype) tuples, kept after the graph is freed
      module          name of the nn.Module whose forward created the node

    A Scalar graph is for teaching, so each of its nodes also keeps its numbers for
    ``draw_graph`` and ``explain_backward``, even after the intermediate Scalars are gone:
    ``_value`` (forward's raw result), ``_value_inputs`` (the raw inputs; None on a
    Tensor node) and ``_value_grad`` (the engine adds each backward's gradient, a float).
    In the node itself, not a separate record: Scalar recording ~10% faster.

    ``_seq`` numbers the nodes as they are created, downwards (-1, -2, ...): an op is
    always created after the ops that made its inputs, so the newer node (smaller
    number) comes first in backward. The engine walks nodes in that order.
    """

    __slots__ = (
        "fn", "attrs", "next_functions", "needs_input_grad", "input_meta", "output_meta",
        "_saved", "_saved_refs", "_saved_records", "_released", "_output_type", "_retain",
        "module", "_seq", "_value", "_value_inputs", "_value_grad", "_hooks",
        "__dict__", "__weakref__",
    )
    # Rarely set: a class-level default; an instance gets its own value (in its
    # __dict__) only when one is assigned. Keeps building a node cheap. (Not _hooks:
    # backward reads it on every node, and a slot is read faster than a class default
    # looked up past the instance dict.)
    trace = None
    # No __init__: Function.apply creates the node (``Context()``, ~20% faster than
    # ``object.__new__(Context)``) and sets every slot itself (a call fewer per node).

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
        saved = self._saved
        if saved is None:
            return ()
        if self._saved_records is not None:
            self._saved_records.check(self)  # (the name only if it raises)
        if grad_mode._raw_backward:  # the engine replays this formula on raw data
            return saved
        unpack = self._unpack
        return [None if value is None else unpack(value, ref)
                for value, ref in zip(saved, self._refs())]

    # What forward saved is remembered compactly (no extra objects per node): for
    # each saved value, the position of the input it is (>= 0), _OUT or _CONST. An
    # input is rebuilt from the edge to it: the leaf itself, or a Tensor whose
    # grad_fn is the input's node, which is all double backward needs.
    def _refs(self):
        """What each saved value is (see above). A Scalar node works it out only when
        asked (an ordinary backward never asks): from the raw inputs and output it keeps
        for drawings, and the saved floats (which backward does not free: see _release)."""
        refs = self._saved_refs
        if refs is None:
            if self._value_inputs is None:  # a Tensor node that saved nothing
                return ()
            saved = self._saved
            if saved is None:  # nothing saved
                return ()
            inputs, output = self._value_inputs, self._value
            refs = tuple([_CONST if value is None else _which(value, inputs, output)
                          for value in saved])
            self._saved_refs = refs = _refs_cache.get(refs) or _shared(_refs_cache, refs)
        return refs

    def _unpack(self, value, ref):
        if type(ref) is not int:  # a named constant input, kept so drawings can name it
            return ref
        if ref >= 0:
            edge = self.next_functions[ref]
            if edge is None:
                return self._output_type._make(value, None)
            if type(edge) is Context:
                return edge._output_type._make(value, edge)
            return edge  # a leaf
        return self._output_type._make(value, self if ref == _OUT else None)

    def _saved_items(self):
        """(value, what it is) pairs: _OUTPUT, the input Tensor, or None for a constant."""
        if self._saved is None:
            return []
        return [(v, _OUTPUT if r is _OUT else None if r is _CONST
                 else None if v is None else self._unpack(v, r))
                for v, r in zip(self._saved, self._refs())]

    def _finish_saving(self, args, raw, output_raw):
        """Classify what forward saved; guard saved arrays (see ``saved.py``)."""
        refs = []
        records = None  # stays None when nothing is guarded (Scalar floats, constants)
        for value in self._saved:
            if value is None:  # a place forward left empty (backward won't read it)
                refs.append(_CONST)
                continue
            ref = _which(value, raw, output_raw)
            if ref >= 0:
                arg = args[ref]  # a named constant is kept itself, so drawings can name it
                if not isinstance(arg, Variable):
                    ref = _OUT if value is output_raw else _CONST
                elif self.next_functions[ref] is None and arg.name is not None:
                    ref = arg
            refs.append(ref)
            if type(value) is np.ndarray:
                rec = _saved_buffers.protect(value)
                if rec is not None:
                    if records is None:
                        records = _saved_buffers.Guard()
                    records.append(rec)
        refs = tuple(refs)
        self._saved_refs = _refs_cache.get(refs) or _shared(_refs_cache, refs)
        if records is not None:
            self._saved_records = records

    def _release(self):
        """Free what was saved (backward calls it unless retain_graph=True).

        Afterwards ``saved_tensors`` refuses (a second backward). A Scalar node keeps its
        saved floats, which cost nothing and which drawings show: backward only marks it
        ``_released`` (inline, on its hot path) and never calls this."""
        # _saved_refs stays (a shared tuple, no cost): with input_meta/output_meta it tells
        # a drawing what was saved (shape, dtype) after the values were freed.
        self._saved = None
        self._released = True
        self._saved_records = None  # dropping the guard releases its arrays (saved.Guard)

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


class _ValueRecord:
    """A Scalar node's numbers as drawings read them: its value, raw inputs and (after
    backward) gradient. Made on demand; the node keeps the numbers (see Context)."""
    __slots__ = ("_node",)

    def __init__(self, node):
        self._node = node

    @property
    def _data(self):
        return float(self._node._value)

    @property
    def inputs(self):
        return self._node._value_inputs

    @property
    def grad(self):
        """The gradient as a (detached) Scalar, like ``retain_grad()``'s ``.grad``."""
        from .scalar import Scalar
        g = self._node._value_grad
        return None if g is None else Scalar._make(g, None)

    @staticmethod
    def of(node):
        """The record of a Scalar node, or None (a Tensor node keeps no numbers)."""
        return None if node._value_inputs is None else _ValueRecord(node)


# Nodes share equal input_meta / needs_input_grad tuples: fewer long-lived objects
# for the garbage collector to scan in big graphs. Bounded: cleared if it grows large.
_meta_cache = {}
_refs_cache = {}  # separate: (0, 1) == (False, True) in Python


def _distinguish(raw, args):
    """Give forward distinct objects for different inputs that hold the very same one
    (``Scalar(2.0) * Scalar(2.0)`` from one literal, ``x * x.detach().requires_grad_()``):
    what forward saved is told apart by identity (``_which``), and taking one input's
    value for the other would silently connect double backward to the wrong input."""
    for j in range(1, len(raw)):
        for i in range(j):
            if raw[i] is raw[j] and args[i] is not args[j]:
                value = raw[j]  # a view of the same memory, or an equal float
                raw[j] = value.view() if type(value) is np.ndarray else value * 1.0
                break


def _which(value, raw, output_raw):
    """Which input ``value`` is (its position), else _OUT (the output) or _CONST. By
    identity: equal floats are not the same input."""
    i = 0
    for r in raw:
        if r is value:
            return i
        i += 1
    return _OUT if value is output_raw else _CONST


def _shared(cache, key):
    found = cache.get(key)
    if found is None:
        if len(cache) > 4096:
            cache.clear()
        cache[key] = found = key
    return found


class _NoGradContext:
    """Stand-in ctx when nothing is recorded: saving is a no-op."""
    __slots__ = ("__dict__",)
    needs_input_grad = (False,) * 64  # no input needs a gradient (indexed by position)

    def save_for_backward(self, *values):
        pass


class Function:
    """Base class of every op. Subclasses define ``forward`` and ``backward``.

    ``raw_backward = True`` says that ``backward`` is also right on raw data: it only
    combines ``grad`` and the saved values with + - * / ** and calls other ops'
    ``apply``. Then an ordinary backward (no ``create_graph``) runs it on the arrays (or
    floats) themselves, with ``ctx.saved_tensors`` giving the saved raw values, instead
    of building a Tensor (Scalar) for every intermediate gradient only to unwrap it:
    Scalar backward ~1.6x faster. With ``create_graph`` it runs on Tensors as always.
    """
    raw_backward = False

    @staticmethod
    def forward(ctx, *args, **attrs):
        raise NotImplementedError("Function is abstract: subclasses must implement forward")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function is abstract: subclasses must implement backward")

    @classmethod
    def _apply_unrecorded(cls, args, attrs):
        if grad_mode._raw_backward:  # a formula replayed on raw data calls an op
            for a in args:
                if isinstance(a, Variable):
                    break
            else:  # (all raw, as usual there: forward directly, ~2.5x faster)
                return cls.forward(_NoGradContext(), *args, **attrs)
        out_type = None
        raw = []
        for a in args:
            if isinstance(a, Variable):
                raw.append(a._data)
                if out_type is None:
                    out_type = a._result_type
            else:
                raw.append(a)
        return cls._forward_unrecorded(raw, out_type, attrs)

    @classmethod
    def _forward_unrecorded(cls, raw, out_type, attrs):
        if out_type is None:
            if grad_mode._raw_backward:  # an op called by a formula replayed on raw data
                return cls.forward(_NoGradContext(), *raw, **attrs)
            raise TypeError(f"{cls.__name__}.apply needs at least one Tensor or Scalar input")
        try:
            return out_type._make(cls.forward(_NoGradContext(), *raw, **attrs), None)
        except ValueError as e:
            message = _restated(cls, raw, e)
            if message is None:
                raise
            raise RuntimeError(message) from None

    @classmethod
    def apply(cls, *args, **attrs):
        """Run forward on raw data; record a node if any input requires grad."""
        if not grad_mode._enabled:  # nothing is recorded (e.g. inside backward): short path
            return cls._apply_unrecorded(args, attrs)
        # A Variable alone (a unary op) or with one constant array (``x * 1.5``): its facts
        # directly, not by the general pass below (~4k of ~45k instructions, (16, 16) tanh).
        n = len(args)
        a = args[0] if n else None
        if isinstance(a, Variable) and (n == 1 or n == 2 and type(args[1]) is np.ndarray
                                        and args[1] is not a._data):
            data = a._data
            edge = a.grad_fn or (a if a._requires_grad else None)
            out_type = a._result_type
            raw = [data] if n == 1 else [data, args[1]]
            if edge is None:
                return cls._forward_unrecorded(raw, out_type, attrs)
            meta = _FLOAT_META if type(data) is float else (data.shape, data.dtype)
            nexts, needs, metas = ((edge,), _NEEDS_ONE, (meta,)) if n == 1 else \
                ((edge, None), _NEEDS_FIRST, (meta, None))
        else:
            # One pass over the inputs: raw data for forward, and the graph edges (a
            # non-leaf's grad_fn, a leaf itself, or None) with the inputs' (shape, dtype).
            raw, nexts, needs, metas = [], [], [], []
            out_type = None
            for a in args:
                if isinstance(a, Variable):
                    data = a._data  # an array (Tensor) or a float (Scalar); (shape, dtype) inline
                    raw.append(data)
                    edge = a.grad_fn or (a if a._requires_grad else None)
                    metas.append(_FLOAT_META if type(data) is float else (data.shape, data.dtype))
                    if out_type is None:
                        out_type = a._result_type
                else:
                    raw.append(a)
                    edge = None
                    metas.append(None)
                nexts.append(edge)
                needs.append(edge is not None)
            n = len(raw)
            if n > 1 and (n > 2 or raw[0] is raw[1]):  # the same object for two inputs?
                _distinguish(raw, args)
            needs = tuple(needs)  # shared tuples (_meta_cache): fewer objects for the GC
            needs = _meta_cache.get(needs) or _shared(_meta_cache, needs)
            if True not in needs:  # no input requires grad: nothing to record
                return cls._forward_unrecorded(raw, out_type, attrs)
            nexts, metas = tuple(nexts), tuple(metas)

        ctx = Context()  # (no __init__: apply sets every slot; faster than object.__new__)
        ctx.fn, ctx.attrs, ctx.next_functions = cls, attrs or _NO_ATTRS, nexts
        ctx.needs_input_grad = needs  # known before forward: it saves only what backward needs
        ctx.input_meta = _meta_cache.get(metas) or _shared(_meta_cache, metas)
        ctx._saved = ctx._saved_records = ctx._retain = ctx._value_inputs = ctx._saved_refs = None
        ctx._hooks = None
        ctx._released = False
        ctx.module = _module_stack[-1] if _module_stack else None
        ctx._seq = _next_seq()
        try:
            # (without **{} when there are no attributes: ~1% of recording an op)
            result = cls.forward(ctx, *raw, **attrs) if attrs else cls.forward(ctx, *raw)
        except BaseException as e:
            ctx._saved = None  # nothing is guarded until forward succeeds: drop what it saved
            message = _restated(cls, raw, e) if isinstance(e, ValueError) else None
            if message is None:
                raise
            raise RuntimeError(message) from None
        out = out_type._make(result, ctx)
        ctx._output_type = out_type
        data = out._data
        ctx.output_meta = _FLOAT_META if type(data) is float else (data.shape, data.dtype)
        if out_type._keeps_values:  # Scalar graphs: keep every node's number for viz
            ctx._value, ctx._value_inputs, ctx._value_grad = result, tuple(raw), None
            # Saved floats need no guard; what they are is worked out only if asked (_refs),
            # unless a constant input may need its name (False in needs: None in nexts).
            if ctx._saved is not None and False in needs:
                ctx._finish_saving(args, raw, result)
        elif ctx._saved is not None:
            ctx._finish_saving(args, raw, result)
        if grad_mode._anomaly:
            _record_trace(ctx)
        return out


_new_node = object.__new__


def apply_to_scalar_pair(cls, a, b):
    """``cls.apply(a, b)`` for two Scalars, the operands of Scalar's ``+ - * /``: the very
    node ``apply`` records (same Context, same ``forward``, same backward), built in fewer
    steps because a Scalar's facts are known in advance: its value is a float, its
    (shape, dtype) is ``_FLOAT_META``, there are no attributes and no arrays to guard.
    Scalar graphs are all such nodes: recording one takes ~25% fewer instructions."""
    x, y = a._data, b._data
    edge_a = a.grad_fn or (a if a._requires_grad else None)
    edge_b = b.grad_fn or (b if b._requires_grad else None)
    if edge_a is None:  # (needs_input_grad: one of three shared tuples, as in apply)
        if edge_b is None:
            return cls.apply(a, b)  # nothing to record
        needs = _NEEDS_SECOND
    else:
        needs = _NEEDS_FIRST if edge_b is None else _NEEDS_BOTH
    if x is y and a is not b:  # one float object in two Scalars (see _distinguish)
        y = y * 1.0
    ctx = Context()
    ctx.fn, ctx.attrs, ctx.next_functions = cls, _NO_ATTRS, (edge_a, edge_b)
    ctx.needs_input_grad, ctx.input_meta, ctx.output_meta = needs, _FLOAT_PAIR, _FLOAT_META
    ctx._saved = ctx._saved_records = ctx._retain = ctx._saved_refs = ctx._hooks = None
    ctx._released = False
    ctx.module = _module_stack[-1] if _module_stack else None
    ctx._seq = _next_seq()
    try:
        result = cls.forward(ctx, x, y)
    except BaseException:
        ctx._saved = None  # (as in apply)
        raise
    if type(result) is not float:
        result = float(result)
    out_type = ctx._output_type = a._result_type
    out = _new_node(out_type)  # Scalar._make, inline (a call fewer)
    out._data, out.grad_fn, out._requires_grad = result, ctx, False
    ctx._value, ctx._value_inputs, ctx._value_grad = result, (x, y), None
    if needs is not _NEEDS_BOTH and ctx._saved is not None:  # a constant may need its name
        ctx._finish_saving((a, b), (x, y), result)
    if grad_mode._anomaly:
        _record_trace(ctx)
    return out


_FLOAT_PAIR = (_FLOAT_META, _FLOAT_META)


def _record_trace(ctx):
    """Anomaly mode: keep where the node was created, for backward's error messages."""
    from .anomaly import _creation_trace
    ctx.trace = _creation_trace()


_next_seq = itertools.count(-1, -1).__next__  # creation order, newest smallest (Context._seq)
_NO_ATTRS = MappingProxyType({})  # shared by the nodes of ops without attributes
# needs_input_grad of apply's one-Variable case and of two Scalars, the shared tuples
_NEEDS_ONE, _NEEDS_FIRST = _shared(_meta_cache, (True,)), _shared(_meta_cache, (True, False))
_NEEDS_SECOND = _shared(_meta_cache, (False, True))
_NEEDS_BOTH = _shared(_meta_cache, (True, True))


def _restated(cls, raw, error):
    """NumPy's broadcasting errors, restated with the op's name and its input shapes (to
    raise as a RuntimeError, as in PyTorch); None for errors that pass through unchanged.
    (``apply`` re-raises with a bare ``raise`` or an inline new error: neither leaves a
    reference cycle through the traceback that would keep the graph alive until the next
    ``gc.collect()``.)"""
    message = str(error)
    if "broadcast" in message and not message.startswith(cls.__name__.lower()):
        shapes = " and ".join(str(np.shape(r)) for r in raw if isinstance(r, np.ndarray))
        return f"{cls.__name__.lower()}: shapes {shapes} cannot be broadcast together"
    return None


from .variable import Variable  # noqa: E402  (variable -> engine -> function: import last)
