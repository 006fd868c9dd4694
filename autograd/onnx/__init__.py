"""ONNX export: ``autograd.onnx.export(model, args, f, ...)``, like ``torch.onnx.export``.

The model runs once on ``args`` (in eval mode, recording on) while a tracer watches every
op: each ``Function.apply`` becomes standard ONNX operators (``_ops.py``), and the
``nn.functional`` layers that ndgrad builds from several primitives -- a convolution is
``Unfold`` + ``MatMulAdd`` + reshapes -- become the one operator they are (``Conv``,
``Gemm``, ``MaxPool``, ``AveragePool``, ``BatchNormalization``, ...; ``_composites.py``).
Dropout in eval mode returns its input and disappears. Parameters and buffers become
initializers named as in the state dict; other constants get generated names.
``dynamic_axes={"input": {0: "batch"}}`` makes the batch dimension symbolic: the model
is then traced a second time at batch + 1, and the Reshape/Expand shapes that differ
between the two runs are computed from the input's batch size in the graph. The file is
written with the ``onnx`` package (``pip install ndgrad[onnx]``) and checked with
``onnx.checker``; ONNX Runtime runs it::

    import onnxruntime as ort
    autograd.onnx.export(model, x, "model.onnx", input_names=["input"],
                         output_names=["logits"], dynamic_axes={"input": {0: "batch"}})
    logits = ort.InferenceSession("model.onnx").run(None, {"input": x_numpy})[0]

An op without an ONNX form raises ``UnsupportedOperatorError`` naming the op and the
module that ran it. Comparisons (``x > 0``, ``a & b``) and ``x.to(dtype)`` are traced too,
so masks follow the input. Values computed from the raw NumPy data inside ``forward``
(outside ndgrad's ops) are captured as constants of the traced run, as with
``torch.jit.trace``; with a symbolic batch, export warns about constants that have the
traced batch size as their first dimension (the usual sign of such a value).
"""
import contextlib
import inspect
import sys
import warnings

import numpy as np

from .. import function as _function
from ..tensor import Tensor
from ._composites import COMPOSITES
from ._graph import GraphBuilder, UnsupportedOperatorError
from ._ops import symbolic_for
from . import _ops_math  # noqa: F401  (registers more ops)

__all__ = ["export", "UnsupportedOperatorError", "DEFAULT_OPSET"]

DEFAULT_OPSET = 18
MIN_OPSET = 13


class _Tracer:
    def __init__(self, graph):
        self.g = graph
        self.depth = 0  # > 0 while a composite runs: its inner ops are not exported

    def _scope(self):
        stack = getattr(_function, "_module_stack", None)
        return stack[-1] if stack else None

    def _fail(self, what, error=None):
        scope = self._scope()
        where = f"in module {scope!r}" if scope else "at the top level (no module)"
        detail = f": {error}" if error else ""
        raise UnsupportedOperatorError(f"ONNX export: cannot export {what} {where}{detail}")

    def op(self, cls, args, attrs, out):
        if self.depth:
            return
        if not isinstance(out, Tensor):
            self._fail(f"the {cls.__name__} op on {type(out).__name__} values")
        symbolic = symbolic_for(cls.__name__)
        if symbolic is None:
            self._fail(f"the op {cls.__name__!r}", "it has no ONNX equivalent in ndgrad's "
                       "exporter")
        self.g.scope = self._scope()
        try:
            name = symbolic(self.g, args, attrs, out)
        except UnsupportedOperatorError as e:
            self._fail(f"the op {cls.__name__!r}", e)
        self.g.bind(out, name)

    def composite(self, fn_name, out, arguments):
        inp = arguments.get("input")
        if out is inp:  # dropout in eval mode, pad by nothing, ...: nothing to export
            return
        if inp is not None and not isinstance(inp, Tensor):
            arguments["input"] = Tensor(np.asarray(inp))
        self.g.scope = self._scope()
        try:
            name = COMPOSITES[fn_name](self.g, out, **arguments)
        except UnsupportedOperatorError as e:
            self._fail(f"F.{fn_name}", e)
        self.g.bind(out, name)

    def module(self, module, args, result):
        """A recurrent layer: one ONNX RNN/LSTM/GRU node per layer (see _rnn.py)."""
        from ._rnn import export_rnn
        self.g.scope = self._scope()
        try:
            export_rnn(self.g, module, args, result)
        except UnsupportedOperatorError as e:
            self._fail(type(module).__name__, e)

    def cast(self, x, out):
        """``x.to(dtype)`` where no Cast op was recorded (x not requiring grad)."""
        if self.depth or out is x or id(out) in self.g.values:
            return
        self.g.scope = self._scope()
        self.g.bind(out, self.g.cast_to(self.g.name_of(x), x._data.dtype, out._data.dtype))

    _COMPARE = {"equal": "Equal", "less": "Less", "less_equal": "LessOrEqual",
                "greater": "Greater", "greater_equal": "GreaterOrEqual", "logical_and": "And",
                "logical_or": "Or", "logical_xor": "Xor", "not_equal": "Equal"}

    def compare(self, ufunc, x, other, out):
        """``x == other``, ``x < other``, ``a & b``, ... (bool results no Function records)."""
        if self.depth:
            return
        op = self._COMPARE.get(ufunc.__name__)
        if op is None:
            self._fail(f"the comparison {ufunc.__name__}")
        g = self.g
        g.scope = self._scope()
        xd = x._data.dtype
        if isinstance(other, (Tensor, np.ndarray)):
            other = other if isinstance(other, Tensor) else Tensor(other)
            od = other._data.dtype
            common = np.result_type(xd, od)
        else:  # a Python number takes x's dtype, unless a float meets an integer tensor
            od = common = np.dtype(np.float32) if (
                isinstance(other, float) and xd.kind in "biu") else xd
            other = Tensor(np.asarray(other, dtype=od))
        a = g.cast_to(g.name_of(x), xd, common)
        name = g.node(op, [a, g.cast_to(g.name_of(other), od, common)])
        g.bind(out, g.node("Not", [name]) if ufunc.__name__ == "not_equal" else name)


@contextlib.contextmanager
def _tracing(tracer):
    """Wrap ``Function.apply`` and the composite ``nn.functional`` entry points."""
    import autograd
    from nn import functional as F
    original_apply = _function.Function.__dict__["apply"]

    def apply(cls, *args, **attrs):
        out = original_apply.__func__(cls, *args, **attrs)
        tracer.op(cls, args, attrs, out)
        return out

    patched = [(_function.Function, "apply", original_apply)]
    _function.Function.apply = classmethod(apply)
    try:
        original_compare = Tensor._compare

        def compare(self, other, op):
            out = original_compare(self, other, op)
            tracer.compare(op, self, other, out)
            return out
        patched.append((Tensor, "_compare", original_compare))
        Tensor._compare = compare
        original_to = Tensor.to

        def to(self, *args, **kwargs):
            out = original_to(self, *args, **kwargs)
            tracer.cast(self, out)
            return out
        patched.append((Tensor, "to", original_to))
        Tensor.to = to
        rnn = _rnn_base()
        if rnn is not None:
            patched.append((rnn, "forward", rnn.forward))
            rnn.forward = _wrap_module_forward(tracer, rnn.forward)
        for name in COMPOSITES:
            defined_in = sys.modules.get(getattr(getattr(F, name, None), "__module__", ""))
            targets = [F] + ([autograd] if name == "pad" else []) + (
                [defined_in] if defined_in is not None and defined_in is not F else [])
            for module in targets:
                orig = getattr(module, name, None)
                if orig is None:
                    continue
                patched.append((module, name, orig))
                setattr(module, name, _wrap_composite(tracer, name, orig))
        yield
    finally:
        for owner, name, orig in reversed(patched):
            setattr(owner, name, orig)


def _wrap_composite(tracer, name, fn):
    signature = inspect.signature(fn)

    def wrapper(*args, **kwargs):
        if tracer.depth:
            return fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        tracer.depth += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            tracer.depth -= 1
        tracer.composite(name, out, dict(bound.arguments))
        return out
    return wrapper


def _rnn_base():
    try:
        from nn.rnn import RNNBase
    except ImportError:
        return None
    return RNNBase


def _wrap_module_forward(tracer, forward):
    def wrapper(self, *args, **kwargs):
        if tracer.depth:
            return forward(self, *args, **kwargs)
        tracer.depth += 1
        try:
            result = forward(self, *args, **kwargs)
        finally:
            tracer.depth -= 1
        tracer.module(self, args + tuple(kwargs.values()), result)
        return result
    return wrapper


def _as_list(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def _axes_spec(spec, name, shape):
    """dynamic_axes entry -> {axis: dim name}."""
    if spec is None:
        return {}
    if isinstance(spec, dict):
        return {int(a) % max(len(shape), 1): str(n) for a, n in spec.items()}
    return {int(a) % max(len(shape), 1): f"{name}_dim_{int(a)}" for a in spec}


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=None, verbose=False, export_params=True, do_constant_folding=True):
    """Export ``model`` run on ``args`` (a Tensor, an array, or a tuple of them) to ONNX
    file ``f`` (a path or a binary file object); returns the ``onnx.ModelProto``.

    ``input_names``/``output_names`` name the graph's inputs and outputs (default
    ``input``, ``input_1``, ... and ``output``, ``output_1``, ...); ``dynamic_axes`` maps
    a name to ``{axis: "dim name"}`` (or a list of axes) to make those dimensions symbolic;
    ``opset_version`` defaults to 18 (13 and above are supported). ``export_params`` and
    ``do_constant_folding`` are accepted for PyTorch compatibility (parameters are always
    stored; nothing is folded).
    """
    import onnx
    from onnx import helper, numpy_helper
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset_version={opset_version} is not supported (use "
                         f"{MIN_OPSET}..{onnx.defs.onnx_opset_version()})")
    inputs = [a if isinstance(a, Tensor) else Tensor(np.asarray(a)) for a in _as_list(args)]
    input_names = list(input_names or (["input"] if len(inputs) == 1 else
                                       [f"input_{i}" for i in range(len(inputs))]))
    if len(input_names) != len(inputs):
        raise ValueError(f"export: {len(input_names)} input_names for {len(inputs)} inputs")
    dynamic_axes = dict(dynamic_axes or {})
    in_axes = [_axes_spec(dynamic_axes.get(n), n, t._data.shape)
               for n, t in zip(input_names, inputs)]
    batch_dims = [(t._data.shape[0], axes[0]) for t, axes in zip(inputs, in_axes) if 0 in axes]

    state = model.state_dict(keep_vars=True) if hasattr(model, "state_dict") else {}
    param_names = {id(t): n for n, t in state.items()}
    g = GraphBuilder(opset, param_names, batch=batch_dims[0][0] if batch_dims else None)
    if batch_dims:
        g.batch_input = next(n for n, a in zip(input_names, in_axes) if 0 in a)
        g.batch_axis = 0
        # A first run at batch + 1 tells which shapes depend on the batch size.
        grown = [Tensor(np.concatenate([t._data, t._data[:1]])) if 0 in a else t
                 for t, a in zip(inputs, in_axes)]
        probe = GraphBuilder(opset, param_names, batch=g.batch + 1)
        probe.batch_input, probe.batch_axis = g.batch_input, 0
        _run_traced(model, grown, input_names, probe)
        g.alt_shapes = probe.shape_log
    outputs = _run_traced(model, inputs, input_names, g)

    output_names = list(output_names or (["output"] if len(outputs) == 1 else
                                         [f"output_{i}" for i in range(len(outputs))]))
    if len(output_names) != len(outputs):
        raise ValueError(f"export: {len(output_names)} output_names for {len(outputs)} outputs")
    for out, name in zip(outputs, output_names):
        g.used.add(name)
        g.nodes.append(helper.make_node("Identity", [g.name_of(out)], [name],
                                        name=f"/{name}/Identity"))
    g.prune(output_names)
    _fold_output_identities(g, output_names, input_names)
    frozen = [n for n in g.batch_shaped if n in g.initializers]
    if frozen:
        warnings.warn(
            f"ONNX export: constant(s) {frozen[:3]} have the traced batch size "
            f"{g.batch} as their first dimension: values computed from the input's NumPy "
            f"data outside ndgrad's ops are frozen into the graph (as in torch.jit.trace), "
            f"so the model may be wrong for other inputs", UserWarning, stacklevel=2)

    def info(name, t, axes):
        shape = [axes.get(i, d) for i, d in enumerate(t._data.shape)]
        if batch_dims and not axes and shape and shape[0] == batch_dims[0][0]:
            shape[0] = batch_dims[0][1]
        return helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(t._data.dtype), shape)

    graph = helper.make_graph(
        g.nodes, type(model).__name__,
        [info(n, t, a) for n, t, a in zip(input_names, inputs, in_axes)],
        [info(n, o, _axes_spec(dynamic_axes.get(n), n, o._data.shape))
         for n, o in zip(output_names, outputs)],
        [numpy_helper.from_array(np.ascontiguousarray(a), n) for n, a in g.initializers.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="ndgrad")
    proto.ir_version = min(proto.ir_version, 10)  # readable by older runtimes too
    onnx.checker.check_model(proto)
    if verbose:
        print(helper.printable_graph(proto.graph))
    onnx.save(proto, f)
    return proto


def _run_traced(model, inputs, input_names, g):
    """Run ``model`` in eval mode on ``inputs`` (bound to ``input_names``), recording into
    ``g``; the model's mode is restored. Returns its outputs as a list."""
    traced = []
    for name, t in zip(input_names, inputs):
        g.used.add(name)
        leaf = Tensor(t._data, requires_grad=t._data.dtype.kind == "f")  # record every op
        g.bind(leaf, name)
        traced.append(leaf)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with _tracing(_Tracer(g)):
            return _as_list(model(*traced))
    finally:
        if hasattr(model, "train"):
            model.train(was_training)


def _fold_output_identities(g, output_names, input_names):
    """Rename a value to its output name instead of keeping ``value -> Identity -> output``
    (where the value is a node's output, not a graph input or an initializer)."""
    producers = {o: node for node in g.nodes for o in node.output}
    for name in output_names:
        ident = producers.get(name)
        src = ident.input[0] if ident is not None else None
        prod = producers.get(src)
        if prod is None or src in input_names or src in output_names or sum(
                src in n.input for n in g.nodes) != 1:
            continue
        prod.output[list(prod.output).index(src)] = name
        g.nodes.remove(ident)
        producers[name] = prod
