"""ONNX for ndgrad's primitive ops (one ``Function`` each): ``SYMBOLIC[op name](g, args,
attrs, out)`` appends nodes to the GraphBuilder ``g`` and returns the output's value name.
``args`` are what ``Function.apply`` received (Tensors or raw values), ``out`` its result."""
import numpy as np

from ..variable import Variable
from ._graph import UnsupportedOperatorError

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def _dtype(v):
    return v._data.dtype if isinstance(v, Variable) else np.asarray(v).dtype


def _inputs(g, args, out):
    """Names of the Tensor inputs, each cast to the output's dtype where it differs."""
    names = []
    for a in args:
        name = g.name_of(a, dtype=out._data.dtype if not isinstance(a, Variable) else None)
        names.append(g.cast_to(name, _dtype(a), out._data.dtype))
    return names


def _elementwise(onnx_op):
    def symbolic(g, args, attrs, out):
        return g.node(onnx_op, _inputs(g, args, out))
    return symbolic


SYMBOLIC = {name: _elementwise(onnx_op) for name, onnx_op in {
    "Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Neg": "Neg", "Exp": "Exp",
    "Log": "Log", "Sqrt": "Sqrt", "Tanh": "Tanh", "Sigmoid": "Sigmoid", "Relu": "Relu",
    "Abs": "Abs", "Sign": "Sign", "Maximum": "Max", "Minimum": "Min", "MatMul": "MatMul",
    "Pow": "Pow"}.items()}


def _register(name):
    def decorator(fn):
        SYMBOLIC[name] = fn
        return fn
    return decorator


@_register("PowScalar")
def _pow_scalar(g, args, attrs, out):
    x = g.name_of(args[0])
    return g.node("Pow", [x, g.const(attrs["exponent"], dtype=out._data.dtype, hint="exponent")])


@_register("Where")
def _where(g, args, attrs, out):
    cond = g.cast_to(g.name_of(args[0]), _dtype(args[0]), np.bool_)
    return g.node("Where", [cond] + _inputs(g, args[1:], out))


@_register("Clamp")
def _clamp(g, args, attrs, out):
    dtype = out._data.dtype
    lo, hi = attrs.get("min"), attrs.get("max")
    return g.node("Clip", [g.name_of(args[0]),
                           "" if lo is None else g.const(lo, dtype=dtype, hint="min"),
                           "" if hi is None else g.const(hi, dtype=dtype, hint="max")])


@_register("Cast")
def _cast(g, args, attrs, out):
    return g.cast_to(g.name_of(args[0]), _dtype(args[0]), out._data.dtype)


def _axes(dim, ndim):
    if dim is None:
        return list(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    return sorted(int(d) % max(ndim, 1) for d in dims)


def _reduction(onnx_op):
    def symbolic(g, args, attrs, out):
        x = args[0]
        return g.reduce(onnx_op, g.name_of(x), _axes(attrs.get("dim"), x._data.ndim),
                        attrs.get("keepdim", False))
    return symbolic


for _name, _op in {"Sum": "ReduceSum", "Mean": "ReduceMean", "AMax": "ReduceMax",
                   "AMin": "ReduceMin", "LogSumExp": "ReduceLogSumExp"}.items():
    SYMBOLIC[_name] = _reduction(_op)


@_register("Var")
def _var(g, args, attrs, out):
    x = args[0]
    axes = _axes(attrs.get("dim"), x._data.ndim)
    name = g.name_of(x)
    mean = g.reduce("ReduceMean", name, axes, True)
    d = g.node("Sub", [name, mean])
    total = g.reduce("ReduceSum", g.node("Mul", [d, d]), axes, attrs.get("keepdim", False))
    n = int(np.prod([x._data.shape[a] for a in axes])) - attrs.get("correction", 1)
    return g.node("Div", [total, g.const(max(n, 0), dtype=out._data.dtype, hint="count")])


@_register("Softmax")
def _softmax(g, args, attrs, out):
    return g.node("Softmax", [g.name_of(args[0])], axis=int(attrs["dim"]))


@_register("LogSoftmax")
def _log_softmax(g, args, attrs, out):
    return g.node("LogSoftmax", [g.name_of(args[0])], axis=int(attrs["dim"]))


@_register("Reshape")
def _reshape(g, args, attrs, out):
    return g.node("Reshape", [g.name_of(args[0]), g.shape_input(out._data.shape, "Reshape")])


@_register("Expand")
def _expand(g, args, attrs, out):
    return g.node("Expand", [g.name_of(args[0]), g.shape_input(out._data.shape, "Expand")])


@_register("SumToShape")
def _sum_to_shape(g, args, attrs, out):
    x, shape = args[0], tuple(attrs["shape"])
    lead = x._data.ndim - len(shape)
    axes = list(range(lead)) + [i + lead for i, s in enumerate(shape)
                                if s == 1 and x._data.shape[i + lead] != 1]
    summed = g.reduce("ReduceSum", g.name_of(x), axes, True)
    return g.node("Reshape", [summed, g.shape_input(shape, "Reshape")])


@_register("Permute")
def _permute(g, args, attrs, out):
    return g.node("Transpose", [g.name_of(args[0])], perm=[int(d) for d in attrs["dims"]])


@_register("Transpose")
def _transpose(g, args, attrs, out):
    perm = list(range(args[0]._data.ndim))
    a, b = attrs["dim0"], attrs["dim1"]
    perm[a], perm[b] = perm[b], perm[a]
    return g.node("Transpose", [g.name_of(args[0])], perm=perm)


@_register("Cat")
def _cat(g, args, attrs, out):
    return g.node("Concat", _inputs(g, args, out), axis=int(attrs.get("dim", 0)))


@_register("Pad")
def _pad(g, args, attrs, out):
    x = args[0]
    pad, ndim = list(attrs["pad"]), x._data.ndim
    begins, ends = [0] * ndim, [0] * ndim
    for k in range(len(pad) // 2):  # the last dimension first, as in torch
        begins[ndim - 1 - k], ends[ndim - 1 - k] = pad[2 * k], pad[2 * k + 1]
    value = g.const(attrs.get("value", 0.0), dtype=x._data.dtype, hint="pad_value")
    return g.node("Pad", [g.name_of(x), g.ints(begins + ends, "pads"), value], mode="constant")


@_register("GetItem")
def _getitem(g, args, attrs, out):
    x, index = args[0], attrs["index"]
    items = list(index) if isinstance(index, tuple) else [index]
    arrays = [i for i, it in enumerate(items) if isinstance(it, np.ndarray)]
    if arrays:
        return _gather(g, x, items, arrays)
    return _basic_index(g, x, items)


def _gather(g, x, items, arrays):
    k = arrays[0]
    if len(arrays) > 1 or any(not (isinstance(it, slice) and it == slice(None))
                              for i, it in enumerate(items) if i != k):
        raise UnsupportedOperatorError("GetItem: only one integer-array index, with full "
                                       "slices elsewhere, can be exported (as Gather)")
    idx = items[k].astype(np.int64)
    return g.node("Gather", [g.name_of(x), g.const(idx, hint="indices")], axis=k)


def _basic_index(g, x, items):
    ndim = x._data.ndim
    if any(it is Ellipsis for it in items):
        at = items.index(Ellipsis)
        fill = ndim - sum(1 for it in items if it is not None and it is not Ellipsis)
        items = items[:at] + [slice(None)] * fill + items[at + 1:]
    items += [slice(None)] * (ndim - sum(1 for it in items if it is not None))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_pos = 0
    for it in items:
        if it is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        size = x._data.shape[axis]
        if isinstance(it, slice):
            if it != slice(None):
                start, stop, step = it.indices(size)
                if step < 0 and stop < 0:
                    stop = INT64_MIN
                starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
            out_pos += 1
        else:
            i = int(it) % size
            starts.append(i), ends.append(i + 1), axes.append(axis), steps.append(1)
            squeeze.append(axis)
        axis += 1
    name = g.name_of(x)
    if axes:
        name = g.node("Slice", [name, g.ints(starts, "starts"), g.ints(ends, "ends"),
                                g.ints(axes, "axes"), g.ints(steps, "steps")])
    if squeeze:
        name = g.node("Squeeze", [name, g.ints(squeeze, "axes")])
    if unsqueeze:
        name = g.node("Unsqueeze", [name, g.ints(unsqueeze, "axes")])
    if name == g.name_of(x):
        name = g.node("Identity", [name])
    return name


@_register("Linear")
def _linear(g, args, attrs, out):
    return g.node("Gemm", _inputs(g, args, out), transB=1)


@_register("MatMulAdd")
def _matmul_add(g, args, attrs, out):
    a, b, c = _inputs(g, args, out)
    return g.node("Add", [g.node("MatMul", [a, b]), c])


@_register("LogSigmoid")
def _log_sigmoid(g, args, attrs, out):
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [g.name_of(args[0])])])])


def _pool_attrs(attrs):
    top, bottom, left, right = attrs["padding"]
    return dict(kernel_shape=list(attrs["kernel"]), strides=list(attrs["stride"]),
                pads=[top, left, bottom, right])


@_register("MaxPool2d")
def _max_pool(g, args, attrs, out):
    return g.node("MaxPool", [g.name_of(args[0])], dilations=list(attrs["dilation"]),
                  **_pool_attrs(attrs))


def symbolic_for(name):
    return SYMBOLIC.get(name)

