"""The ONNX graph being built while a model runs: names for traced values, initializers
for parameters (by their state-dict names) and constants, and the nodes in run order."""
import numpy as np

from ..variable import Variable


class UnsupportedOperatorError(RuntimeError):
    """An op ndgrad cannot express in ONNX (like ``torch.onnx.errors.UnsupportedOperatorError``)."""


class GraphBuilder:
    def __init__(self, opset, param_names, batch=None):
        self.opset = opset
        self.param_names = param_names      # id(Tensor) -> state-dict name
        self.batch = batch                  # the traced batch size, if dim 0 is dynamic
        self.nodes = []
        self.initializers = {}              # name -> array
        self.values = {}                    # id(Tensor) -> value name
        self.arrays = {}                    # id(its array) -> value name (finds aliases)
        self.keep = []                      # traced Tensors, kept alive so ids stay unique
        self.used = set()
        self.scope = None                   # module creating the current node (for names)
        self.batch_shaped = []              # constants whose first dim is the traced batch
        self.shape_log = []                 # every Reshape/Expand target, in trace order
        self.alt_shapes = None              # the same from a trace at batch + 1
        self.batch_input = self.batch_axis = self.batch_name = None

    # ----------------------------------------------------------------- names
    def fresh(self, hint):
        hint = hint or "v"
        name, i = hint, 0
        while name in self.used:
            i += 1
            name = f"{hint}.{i}"
        self.used.add(name)
        return name

    def bind(self, tensor, name):
        self.values[id(tensor)] = name
        self.arrays.setdefault(id(tensor._data), name)
        self.keep.append(tensor)
        return name

    def const(self, value, dtype=None, hint="const"):
        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers[name] = arr
        return name

    def ints(self, values, hint="shape"):
        return self.const(np.asarray(list(values), dtype=np.int64), hint=hint)

    def name_of(self, value, dtype=None):
        """The value name of a traced Tensor, a parameter/buffer (an initializer with its
        state-dict name) or a constant (Tensor, array or number; an initializer)."""
        if isinstance(value, Variable):
            name = self.values.get(id(value)) or self.arrays.get(id(value._data))
            if name is not None:  # a traced value (or another Tensor on its very array)
                return name
            pname = self.param_names.get(id(value))
            if pname is not None:
                self.used.add(pname)
                self.initializers[pname] = value._data
                return self.bind(value, pname)
            name = self.const(value._data, hint=value.name or "const")
            self._check_batch_shaped(name, value._data)
            return self.bind(value, name)
        name = self.const(value, dtype=dtype)
        self._check_batch_shaped(name, value)
        return name

    def _check_batch_shaped(self, name, value):
        shape = np.shape(value)
        if self.batch is not None and shape and shape[0] == self.batch:
            self.batch_shaped.append(name)

    # ----------------------------------------------------------------- nodes
    def node(self, op_type, inputs, n_outputs=1, **attrs):
        """Append a node; returns its output name (or names when n_outputs > 1)."""
        from onnx import helper
        prefix = "/" + self.scope.replace(".", "/") if self.scope else ""
        outputs = [self.fresh(f"{prefix}/{op_type}_output_{i}".lstrip("/"))
                   for i in range(n_outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs,
                                           name=self.fresh(f"{prefix}/{op_type}"), **attrs))
        return outputs[0] if n_outputs == 1 else outputs

    def cast_to(self, name, src_dtype, dtype):
        if np.dtype(src_dtype) == np.dtype(dtype):
            return name
        from onnx import helper
        return self.node("Cast", [name], to=helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def reduce(self, op_type, x, axes, keepdims):
        """A Reduce* node: axes as an input from opset 18 (13 for ReduceSum)."""
        axes = list(axes)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes, "axes")], keepdims=int(keepdims))
        return self.node(op_type, [x], axes=axes, keepdims=int(keepdims))

    # ----------------------------------------------------------------- dynamic shapes
    # With a symbolic batch, the model is traced twice, at batch sizes B and B + 1. The
    # shapes that Reshape/Expand receive are logged in order in both runs; a dimension
    # that differs is batch-dependent, k·batch (k = its difference). In the graph it is
    # -1 (Reshape, when it is the only one) or computed from the input's batch dimension.
    def shape_input(self, out_shape, op):
        """The value name of a Reshape/Expand shape input for ``out_shape``."""
        target = [int(d) for d in out_shape]
        self.shape_log.append(list(target))
        if self.batch is None:
            return self.ints(target)
        factors = self._batch_factors(target)
        dependent = [i for i, k in enumerate(factors) if k]
        if not dependent:
            return self.ints(target)
        if op == "Reshape" and len(dependent) == 1:
            target[dependent[0]] = -1  # inferred from the element count
            return self.ints(target)
        parts = []
        for d, k in zip(target, factors):
            parts.append(self.node("Mul", [self.batch_value(), self.ints([k], "factor")]) if k
                         else self.ints([d]))
        return self.node("Concat", parts, axis=0)

    def _batch_factors(self, target):
        """Per dimension: k if it is k·batch (seen by comparing the two traces), else 0."""
        i = len(self.shape_log) - 1
        if self.alt_shapes is None or i >= len(self.alt_shapes) or \
                len(self.alt_shapes[i]) != len(target):
            # no second trace to compare with: a dimension equal to the batch size is it
            return [1 if d == self.batch else 0 for d in target]
        return [b - a if b != a and a == (b - a) * self.batch else 0
                for a, b in zip(target, self.alt_shapes[i])]

    def batch_value(self):
        """A 1-element int64 value: the batch size of the graph's (first dynamic) input."""
        if self.batch_name is None:
            shape = self.node("Shape", [self.batch_input])
            self.batch_name = self.node("Gather", [shape, self.ints([self.batch_axis], "axis")],
                                        axis=0)
        return self.batch_name

    def prune(self, outputs):
        """Drop nodes (and initializers) that no output depends on."""
        needed, kept = set(outputs), []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        self.nodes = kept[::-1]
        self.initializers = {k: v for k, v in self.initializers.items() if k in needed}
