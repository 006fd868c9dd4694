"""ONNX for ndgrad's composite layers. A convolution runs as ``Unfold`` + ``MatMulAdd`` +
reshapes, batch norm as elementwise ops on its running statistics, ...; exported op by op
they would be slow and tied to the traced batch size. So while exporting, the
``nn.functional`` entry points below are wrapped: each call runs as usual (the ops inside
are not traced) and is exported as the one ONNX operator it is (``Conv``, ``Gemm``,
``MaxPool``, ``BatchNormalization``, ...). ``COMPOSITES[name](g, out, **arguments)``
returns the output's value name."""
import numpy as np

from ..variable import Variable
from ._graph import UnsupportedOperatorError


def _n(value, n):
    return list(value) if isinstance(value, (tuple, list)) else [value] * n


def _batched(x, spatial, op):
    if x._data.ndim != spatial + 2:
        raise UnsupportedOperatorError(f"{op}: only batched input (N, C, *{spatial} spatial "
                                       f"dims) can be exported, got shape {x._data.shape}")


def _conv(g, out, input, weight, bias, stride, padding, dilation, groups, spatial, op):
    _batched(input, spatial, op)
    kernel = list(weight._data.shape[2:])
    dilation = _n(dilation, spatial)
    if padding == "valid":
        lo = hi = [0] * spatial
    elif padding == "same":
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        lo = [t // 2 for t in totals]
        hi = [t - t // 2 for t in totals]
    else:
        lo = hi = _n(padding, spatial)
    inputs = [g.name_of(input), g.name_of(weight)]
    if bias is not None:
        inputs.append(g.name_of(bias))
    return g.node("Conv", inputs, kernel_shape=kernel, strides=_n(stride, spatial),
                  pads=lo + hi, dilations=dilation, group=int(groups))


def conv2d(g, out, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
           **_):  # e.g. algorithm=: how ndgrad computes it, not what
    return _conv(g, out, input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv1d(g, out, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
           **_):
    return _conv(g, out, input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv_transpose2d(g, out, input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1, **_):
    _batched(input, 2, "conv_transpose2d")
    inputs = [g.name_of(input), g.name_of(weight)]
    if bias is not None:
        inputs.append(g.name_of(bias))
    pads = _n(padding, 2)
    return g.node("ConvTranspose", inputs, kernel_shape=list(weight._data.shape[2:]),
                  strides=_n(stride, 2), pads=pads + pads, dilations=_n(dilation, 2),
                  output_padding=_n(output_padding, 2), group=int(groups))


def linear(g, out, input, weight, bias=None, **_):
    x, w = g.name_of(input), g.name_of(weight)
    if input._data.ndim == 2:
        return g.node("Gemm", [x, w] + ([g.name_of(bias)] if bias is not None else []),
                      transB=1)
    y = g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])])
    return y if bias is None else g.node("Add", [y, g.name_of(bias)])


def _pool_common(input, kernel_size, stride, padding, op):
    _batched(input, 2, op)
    kernel = _n(kernel_size, 2)
    stride = kernel if stride is None or stride == [] or stride == () else _n(stride, 2)
    pads = _n(padding, 2)
    return dict(kernel_shape=kernel, strides=stride, pads=pads + pads)


def max_pool2d(g, out, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, **_):
    if return_indices:
        raise UnsupportedOperatorError("max_pool2d with return_indices=True cannot be exported")
    attrs = _pool_common(input, kernel_size, stride, padding, "max_pool2d")
    return g.node("MaxPool", [g.name_of(input)], dilations=_n(dilation, 2),
                  ceil_mode=int(bool(ceil_mode)), **attrs)


def avg_pool2d(g, out, input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, **_):
    if divisor_override is not None:
        raise UnsupportedOperatorError("avg_pool2d with divisor_override cannot be exported")
    attrs = _pool_common(input, kernel_size, stride, padding, "avg_pool2d")
    return g.node("AveragePool", [g.name_of(input)], ceil_mode=int(bool(ceil_mode)),
                  count_include_pad=int(bool(count_include_pad)), **attrs)


def batch_norm(g, out, input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, **_):
    if training:
        raise UnsupportedOperatorError("batch_norm in training mode cannot be exported: call "
                                       "model.eval() first (export does so for modules)")
    dtype = input._data.dtype
    c = input._data.shape[1]

    def param(v, fill):
        if v is None:
            return g.const(np.full(c, fill, dtype), hint="bn_const")
        return g.name_of(v) if isinstance(v, Variable) else g.const(np.asarray(v, dtype))
    return g.node("BatchNormalization", [g.name_of(input), param(weight, 1.0), param(bias, 0.0),
                                         param(running_mean, 0.0), param(running_var, 1.0)],
                  epsilon=float(eps))


def leaky_relu(g, out, input, negative_slope=0.01, inplace=False, **_):
    return g.node("LeakyRelu", [g.name_of(input)], alpha=float(negative_slope))


def softplus(g, out, input, beta=1.0, threshold=20.0, **_):
    x = g.name_of(input)
    if beta == 1:
        return g.node("Softplus", [x])
    b = g.const(beta, dtype=input._data.dtype, hint="beta")
    return g.node("Div", [g.node("Softplus", [g.node("Mul", [x, b])]), b])


def dropout(g, out, input, p=0.5, training=True, inplace=False, **_):
    if training and p > 0:
        raise UnsupportedOperatorError("dropout with training=True cannot be exported: pass "
                                       "training=self.training and export in eval mode")
    return g.node("Identity", [g.name_of(input)])


def pad(g, out, input, pad, mode="constant", value=0.0, **_):
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap"}
    if mode == "circular" and g.opset < 19:
        raise UnsupportedOperatorError("pad with mode='circular' needs opset_version >= 19")
    ndim = input._data.ndim
    begins, ends = [0] * ndim, [0] * ndim
    pad = list(pad)
    for k in range(len(pad) // 2):
        begins[ndim - 1 - k], ends[ndim - 1 - k] = pad[2 * k], pad[2 * k + 1]
    inputs = [g.name_of(input), g.ints(begins + ends, "pads")]
    if mode == "constant":
        inputs.append(g.const(value, dtype=input._data.dtype, hint="pad_value"))
    return g.node("Pad", inputs, mode=modes[mode])


def embedding(g, out, input, weight, padding_idx=None, max_norm=None, **_):
    if max_norm is not None:
        raise UnsupportedOperatorError("embedding with max_norm (rows renormalised in place) "
                                       "cannot be exported")
    idx = g.cast_to(g.name_of(input), input._data.dtype, np.int64)
    return g.node("Gather", [g.name_of(weight), idx], axis=0)


COMPOSITES = {f.__name__: f for f in (embedding, conv2d, conv1d, conv_transpose2d, linear, max_pool2d,
                                      avg_pool2d, batch_norm, leaky_relu, softplus, dropout,
                                      pad)}
