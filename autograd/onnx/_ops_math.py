"""ONNX for ndgrad's further math and layout ops (trigonometry, rounding, scans, flips,
tiling, triangles, einsum, ...). Registered into ``_ops.SYMBOLIC`` on import."""
import math

import numpy as np

from ._graph import UnsupportedOperatorError
from ._ops import SYMBOLIC, _axes, _inputs, _register

for _name in ("Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
              "Atanh", "Erf", "Reciprocal"):
    SYMBOLIC[_name] = (lambda op: lambda g, args, attrs, out: g.node(op, [g.name_of(args[0])]))(
        _name)


def _const(g, value, out, hint="c"):
    return g.const(value, dtype=out._data.dtype, hint=hint)


@_register("Clone")
def _clone(g, args, attrs, out):
    return g.node("Identity", [g.name_of(args[0])])


@_register("Square")
def _square(g, args, attrs, out):
    x = g.name_of(args[0])
    return g.node("Mul", [x, x])


@_register("Rsqrt")
def _rsqrt(g, args, attrs, out):
    return g.node("Reciprocal", [g.node("Sqrt", [g.name_of(args[0])])])


@_register("Log1p")
def _log1p(g, args, attrs, out):
    return g.node("Log", [g.node("Add", [g.name_of(args[0]), _const(g, 1, out)])])


@_register("Expm1")
def _expm1(g, args, attrs, out):
    return g.node("Sub", [g.node("Exp", [g.name_of(args[0])]), _const(g, 1, out)])


@_register("Log2")
def _log2(g, args, attrs, out):
    return g.node("Div", [g.node("Log", [g.name_of(args[0])]), _const(g, math.log(2), out)])


@_register("Log10")
def _log10(g, args, attrs, out):
    return g.node("Div", [g.node("Log", [g.name_of(args[0])]), _const(g, math.log(10), out)])


@_register("Exp2")
def _exp2(g, args, attrs, out):
    return g.node("Pow", [_const(g, 2, out), g.name_of(args[0])])


@_register("Gelu")
def _gelu(g, args, attrs, out):
    x = g.name_of(args[0])
    if g.opset >= 20:
        return g.node("Gelu", [x])
    erf = g.node("Erf", [g.node("Mul", [x, _const(g, math.sqrt(0.5), out)])])
    half_x = g.node("Mul", [x, _const(g, 0.5, out)])
    return g.node("Mul", [half_x, g.node("Add", [erf, _const(g, 1, out)])])


@_register("Rounding")
def _rounding(g, args, attrs, out):
    fn, x = attrs["fn"], g.name_of(args[0])
    if attrs.get("decimals", 0):
        raise UnsupportedOperatorError("round with decimals != 0 has no ONNX operator")
    if fn in ("floor", "ceil", "round"):
        return g.node(fn.capitalize(), [x])
    if fn == "trunc":
        return g.node("Mul", [g.node("Sign", [x]), g.node("Floor", [g.node("Abs", [x])])])
    raise UnsupportedOperatorError(f"rounding function {fn!r} has no ONNX operator")


@_register("ClampTensor")
def _clamp_tensor(g, args, attrs, out):
    x, lo, hi = _inputs(g, args, out)
    return g.node("Min", [g.node("Max", [x, lo]), hi])


@_register("Fmod")
def _fmod(g, args, attrs, out):
    return g.node("Mod", _inputs(g, args, out), fmod=1)


@_register("Remainder")
def _remainder(g, args, attrs, out):
    a, b = _inputs(g, args, out)
    if out._data.dtype.kind in "iu":
        return g.node("Mod", [a, b], fmod=0)
    return g.node("Sub", [a, g.node("Mul", [g.node("Floor", [g.node("Div", [a, b])]), b])])


@_register("Prod")
def _prod(g, args, attrs, out):
    x = args[0]
    return g.reduce("ReduceProd", g.name_of(x), _axes(attrs.get("dim"), x._data.ndim),
                    attrs.get("keepdim", False))


@_register("Cumsum")
def _cumsum(g, args, attrs, out):
    axis = g.const(np.asarray(int(attrs["dim"]), np.int64), hint="axis")
    return g.node("CumSum", [g.name_of(args[0]), axis])


@_register("Flip")
def _flip(g, args, attrs, out):
    dims = _axes(attrs["dims"], args[0]._data.ndim)
    n = len(dims)
    return g.node("Slice", [g.name_of(args[0]), g.ints([-1] * n, "starts"),
                            g.ints([-(2 ** 63)] * n, "ends"), g.ints(dims, "axes"),
                            g.ints([-1] * n, "steps")])


@_register("Repeat")
def _repeat(g, args, attrs, out):
    x, reps = args[0], list(attrs["reps"])
    name = g.name_of(x)
    if len(reps) > x._data.ndim:
        shape = [1] * (len(reps) - x._data.ndim) + list(x._data.shape)
        name = g.node("Reshape", [name, g.shape_input(shape, "Reshape")])
    return g.node("Tile", [name, g.ints(reps, "repeats")])


@_register("Tril")
def _tril(g, args, attrs, out):
    k = g.const(np.asarray(int(attrs.get("diagonal", 0)), np.int64), hint="k")
    return g.node("Trilu", [g.name_of(args[0]), k], upper=int(bool(attrs.get("upper"))))


@_register("Einsum")
def _einsum(g, args, attrs, out):
    return g.node("Einsum", _inputs(g, args, out), equation=attrs["equation"].replace(" ", ""))
