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

    def dynamic_shape(self, in_shape, out_shape):
        """A Reshape target for ``out_shape`` that keeps a dynamic batch dimension."""
        target = list(out_shape)
        if self.batch is None or not in_shape or in_shape[0] != self.batch:
            return target
        if target and target[0] == self.batch:
            target[0] = 0  # ONNX Reshape: 0 copies the input's dimension
        elif target.count(self.batch) == 1 and -1 not in target:
            target[target.index(self.batch)] = -1
        return target

    def prune(self, outputs):
        """Drop nodes (and initializers) that no output depends on."""
        needed, kept = set(outputs), []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        self.nodes = kept[::-1]
        self.initializers = {k: v for k, v in self.initializers.items() if k in needed}
