"""nn.functional: the stateless operations behind the layers (like ``torch.nn.functional``).

Everything here is a composite of autograd ops, so gradients (and gradients of
gradients) come from the engine. The spatial work is carried by two primitives
in ``autograd/ops/spatial.py``:

* ``Unfold`` (im2col): every window of the zero-padded input, from one strided view;
* ``Fold`` (col2im): the adjoint, adding windows back (one strided add per kernel offset).

Each is the other's backward. A convolution is then

    cols = unfold(pad(x))                       (C·kh·kw, N·OH·OW) windows as columns
    out  = W.reshape(O, C·kh·kw) @ cols + b     (O, N·OH·OW) -> (N, O, OH, OW), a view

and the engine's backward of these three steps is exactly the textbook result:

    dL/dW = dL/dout @ colsᵀ       the correlation of the input with dL/dout
    dL/db = Σ dL/dout over (N, OH, OW)
    dL/dX = fold(Wᵀ @ dL/dout)    the full convolution of dL/dout with the flipped kernel

(for example in 1-D, input I = [1, 2, 3, 4], kernel W = [1, 2, 3] and dL/dO = [1, 2]:
dL/dW = [1·1+2·2, 2·1+3·2, 3·1+4·2] = [5, 8, 11] and dL/dI = [1, 2+2, 3+4, 6] = [1, 4, 7, 6]).
``conv_transpose2d`` runs the same pieces the other way round (a matrix product
with Wᵀ, then fold), so it is exactly the gradient of ``conv2d`` with respect to
its input. Pooling reduces the windows without materialising them (see
``autograd/ops/spatial.py``).

Output sizes floor like PyTorch's: ``floor((H + 2P - D·(K-1) - 1) / S) + 1``.
Errors name the function, the parameter and the shapes involved, with PyTorch's exception
types: a non-int kernel_size/stride/padding/dilation/groups is a ``TypeError`` (never
truncated), a non-positive stride or kernel, negative padding, inputs of the wrong shape
or mismatched dtypes (input vs weight) a ``RuntimeError``.
"""
import numbers
import warnings

import numpy as np

import autograd
from autograd import _blas, ops as _ops
from autograd.function import Function
from autograd.ops.dtypes import torch_name
from autograd.tensor import Tensor, _as_tensor, _rng, where

__all__ = [
    # (convolution, windows and pooling: functional_conv.py)
    # linear, activations, shape
    "linear", "relu", "leaky_relu", "tanh", "sigmoid", "logsigmoid", "softplus", "softmax",
    "log_softmax", "dropout", "batch_norm", "pad", "flatten",
    # losses (cross_entropy, nll_loss: functional_classification.py)
    "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
]

pad = autograd.pad


# ============================================================================ helpers
def _tensor(x):
    return x if isinstance(x, Tensor) else _as_tensor(x)


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)


def _tuple(value, n, name, op):
    """An int or a sequence of ``n`` ints -> an n-tuple of ints."""
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(_is_int(v) for v in value):
        return tuple(int(v) for v in value)
    if isinstance(value, (tuple, list)) and len(value) == 1 and _is_int(value[0]):
        return (int(value[0]),) * n
    items = value if isinstance(value, (tuple, list)) else (value,)
    bad = [v for v in items if not _is_int(v)]
    if bad:  # a float kernel_size/stride/padding is a TypeError (never truncated), as in torch
        raise TypeError(f"{op}(): argument '{name}' must be an int or a tuple of {n} ints, but "
                        f"got {type(bad[0]).__name__} in {name}={value!r}")
    raise RuntimeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")


def _positive(values, name, op):
    if any(v <= 0 for v in values):  # RuntimeErrors, as in torch's functional forms
        raise RuntimeError(f"{op}: {name} must be positive, got {name}={values}")
    return values


def _non_negative(values, name, op):
    if any(v < 0 for v in values):
        raise RuntimeError(f"{op}: {name} must be non-negative, got {name}={values}")
    return values


def _batched(x, spatial, op):
    """Accept (N, C, *spatial) or unbatched (C, *spatial) input; returns (batched, unbatched?)."""
    if x.ndim == spatial + 2:
        return x, False
    if x.ndim == spatial + 1:
        return x.unsqueeze(0), True
    raise RuntimeError(f"{op}: expected a {spatial + 1}-D (unbatched) or {spatial + 2}-D (batched) "
                       f"input, got input of shape {tuple(x.shape)}")


# ============================================================================ linear
class Linear(Function):
    """y = x · Wᵀ + b for x (N, in), W (out, in), b (out,) (optional):

        dL/dx = dL/dy · W      dL/dW = dL/dyᵀ · x      dL/db = Σ_n dL/dy

    One op (rather than ``x @ W.t() + b``) so that dL/dW comes out in W's own
    (out, in) memory layout, which keeps the optimizer's update a contiguous pass.
    Its backward is right on raw arrays too (``raw_backward``; MLP step 4.17 -> 4.01 ms).
    """
    backward_rule = "dL/dx = dL/dy @ W,  dL/dW = dL/dyᵀ @ x,  dL/db = Σₙ dL/dy"
    raw_backward = True

    @staticmethod
    def forward(ctx, x, w, b=None):
        ctx.save_for_backward(x, w)
        y = _blas.matmul(x, w.T)  # x @ wᵀ on the thread count measured faster
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gx = _ops.MatMul.apply(grad, w) if needs[0] else None
        gw = _ops.MatMul.apply(_ops.Transpose.apply(grad, dim0=0, dim1=1), x) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (grad.sum(0) if needs[2] else None)


def linear(input, weight, bias=None):
    """y = input @ weightᵀ + bias, with weight (out_features, in_features) as in PyTorch;
    input (..., in_features)."""
    x, weight = _tensor(input), _tensor(weight)
    if weight.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got weight "
                           f"of shape {tuple(weight.shape)}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"linear: input {tuple(x.shape)} has "
                           f"{x.shape[-1] if x.ndim else 0} features but weight "
                           f"{tuple(weight.shape)} expects {weight.shape[1]} (weight is "
                           f"(out_features, in_features))")
    args = (weight,)
    if bias is not None:
        bias = _tensor(bias)
        if tuple(bias.shape) != (weight.shape[0],):
            raise RuntimeError(f"linear: bias of shape {tuple(bias.shape)} does not match the "
                               f"{weight.shape[0]} output features of weight "
                               f"{tuple(weight.shape)}")
        args = (weight, bias)
    for name, t in (("mat2", weight),) + ((("bias", bias),) if bias is not None else ()):
        if t.dtype != x.dtype:  # no silent promotion, as in torch
            raise RuntimeError(f"linear: mat1 and {name} must have the same dtype, but got "
                               f"{torch_name(x.dtype)} and {torch_name(t.dtype)} (input "
                               f"{tuple(x.shape)}, {'weight' if name == 'mat2' else name} "
                               f"{tuple(t.shape)})")
    if x.ndim == 2:
        return Linear.apply(x, *args)
    out = Linear.apply(x.reshape(-1, x.shape[-1]), *args)  # one product over leading dims
    return out.reshape(x.shape[:-1] + (weight.shape[0],))


# ============================================================================ activations
def relu(input, inplace=False):
    """max(x, 0); relu'(0) = 0."""
    return _tensor(input).relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, negative_slope · x otherwise (gradient negative_slope at 0, as PyTorch)."""
    x = _tensor(input)
    # x · m with the constant slope mask m = 1 where x > 0, negative_slope elsewhere
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    positive = x._data > 0
    mask = positive * dtype.type(1.0 - negative_slope) + dtype.type(negative_slope)
    return x * mask.astype(dtype, copy=False)


def tanh(input):
    return _tensor(input).tanh()


def sigmoid(input):
    return _tensor(input).sigmoid()


class LogSigmoid(Function):
    """y = log σ(x) = -(max(-x, 0) + log(1 + exp(-|x|))) (no overflow for any x);
    dL/dx = dL/dy · σ(-x)"""
    backward_rule = "dL/dx = dL/dy · σ(-x)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return -(np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-x).sigmoid()


def logsigmoid(input):
    """log(sigmoid(x)), computed stably."""
    return LogSigmoid.apply(_tensor(input))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold (as PyTorch)."""
    x = _tensor(input)
    bx = x * beta if beta != 1 else x
    soft = -LogSigmoid.apply(-bx)
    if beta != 1:
        soft = soft / beta
    return where(bx > threshold, x, soft)


def _softmax_dim(ndim):
    return 0 if ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice


def softmax(input, dim=None, dtype=None):
    """exp(x) / Σ exp(x) along ``dim`` (computed stably)."""
    x = _tensor(input)
    if dtype is not None:
        x = x.to(dtype)
    if dim is None:
        warnings.warn("Implicit dimension choice for softmax has been deprecated. Change the "
                      "call to include dim=X as an argument.", UserWarning, stacklevel=2)
        dim = _softmax_dim(x.ndim)
    return x.softmax(dim)


def log_softmax(input, dim=None, dtype=None):
    """x - logsumexp(x) along ``dim`` (computed stably)."""
    x = _tensor(input)
    if dtype is not None:
        x = x.to(dtype)
    if dim is None:
        warnings.warn("Implicit dimension choice for log_softmax has been deprecated. Change "
                      "the call to include dim=X as an argument.", UserWarning, stacklevel=2)
        dim = _softmax_dim(x.ndim)
    return x.log_softmax(dim)


def dropout(input, p=0.5, training=True, inplace=False):
    """In training, zero each element with probability p and scale the rest by 1/(1-p)
    (a mask multiply: the gradient is the same mask); the identity otherwise."""
    if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _tensor(input)
    if not training or p == 0:
        return x
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    if p == 1:
        return x * np.zeros(x.shape, dtype)
    mask = _rng().random(x.shape, dtype=np.float32 if dtype == np.float32 else np.float64) >= p
    return x * (mask * dtype.type(1.0 / (1.0 - p))).astype(dtype, copy=False)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one (like ``torch.flatten``)."""
    return _tensor(input).flatten(start_dim, end_dim)


# ============================================================================ normalisation
def _update_running(buf, value, momentum):
    """buf = (1 - momentum)·buf + momentum·value, in place (a Tensor or an ndarray)."""
    if isinstance(buf, Tensor):
        with autograd.no_grad():
            buf.mul_(1.0 - momentum).add_(value.astype(buf.dtype) * buf.dtype.type(momentum))
    else:
        buf *= (1.0 - momentum)
        buf += momentum * value


def _raw(v):
    return v._data if isinstance(v, Tensor) else np.asarray(v)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over dimension 1 of (N, C) or (N, C, *) input.

    training: normalise with the batch mean and biased variance over every dimension but
    1, and update ``running_mean``/``running_var`` (if given; Tensors or arrays, in place)
    with momentum, using the unbiased variance; otherwise normalise with the running
    statistics. y = (x - mean) / sqrt(var + eps) · weight + bias.
    """
    x = _tensor(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dimensions (N, C, ...), "
                         f"got input of shape {tuple(x.shape)}")
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    for name, v in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if v is not None and tuple(np.shape(_raw(v))) != (c,):
            raise RuntimeError(f"batch_norm: {name} of shape {tuple(np.shape(_raw(v)))} does not "
                               f"match the {c} channels of input {tuple(x.shape)}")
        if v is not None and np.asarray(_raw(v)).dtype != x.dtype:  # as torch: no promotion
            raise RuntimeError(f"batch_norm: mixed dtype: all inputs must share the same "
                               f"datatype (input {x.dtype}, {name} "
                               f"{np.asarray(_raw(v)).dtype})")
    dims = (0,) + tuple(range(2, x.ndim))
    if training:
        count = x._data.size // c if c else 0
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {tuple(x.shape)}")
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, correction=0, keepdim=True)
        y = (x - mean) / (var + eps).sqrt()
        if running_mean is not None:
            _update_running(running_mean, mean._data.reshape(c), momentum)
        if running_var is not None:
            _update_running(running_var, var._data.reshape(c) * (count / (count - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given when "
                               "training=False")
        dtype = x.dtype
        mean = np.array(_raw(running_mean), dtype=dtype).reshape(shape)
        inv_std = (1.0 / np.sqrt(np.array(_raw(running_var), dtype=dtype) + eps)).astype(dtype)
        y = (x - mean) * inv_std.reshape(shape)
    if weight is not None:
        y = y * _tensor(weight).reshape(shape)
    if bias is not None:
        y = y + _tensor(bias).reshape(shape)
    return y


# ============================================================================ losses
def _reduction(reduction, size_average, reduce, op):
    if size_average is not None or reduce is not None:  # PyTorch's legacy arguments
        if reduce is False:
            reduction = "none"
        else:
            reduction = "mean" if size_average is None or size_average else "sum"
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (expected "
                         f"'mean', 'sum' or 'none')")
    return reduction


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _same_shape(op, input, target):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: target size {tuple(target.shape)} must be the same as input "
                         f"size {tuple(input.shape)}")


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(input - target)² reduced; input and target must have the same shape."""
    reduction = _reduction(reduction, size_average, reduce, "mse_loss")
    x, t = _tensor(input), _tensor(target)
    _same_shape("mse_loss", x, t)
    d = x - t
    return _reduce(d * d, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """|input - target| reduced; input and target must have the same shape."""
    reduction = _reduction(reduction, size_average, reduce, "l1_loss")
    x, t = _tensor(input), _tensor(target)
    _same_shape("l1_loss", x, t)
    return _reduce((x - t).abs(), reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-(t·log p + (1 - t)·log(1 - p)) for probabilities p (logs clamped at -100, as PyTorch)."""
    op = "binary_cross_entropy"
    reduction = _reduction(reduction, size_average, reduce, op)
    p, t = _tensor(input), _tensor(target)
    _same_shape(op, p, t)
    if p._data.size and (np.any(p._data < 0) or np.any(p._data > 1)):
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1")
    loss = -(t * p.log().clamp(min=-100) + (1 - t) * (1 - p).log().clamp(min=-100))
    if weight is not None:
        loss = loss * _tensor(weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross entropy on logits x (sigmoid folded in, stable for any x):

        loss = (1 - t)·x - (1 + (pos_weight - 1)·t)·log σ(x)     [· weight]

    which is -[pos_weight·t·log σ(x) + (1 - t)·log(1 - σ(x))]."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(reduction, size_average, reduce, op)
    x, t = _tensor(input), _tensor(target)
    _same_shape(op, x, t)
    log_sig = LogSigmoid.apply(x)
    if pos_weight is not None:
        pw = _tensor(pos_weight)
        loss = (1 - t) * x - (1 + (pw - 1) * t) * log_sig
    else:
        loss = (1 - t) * x - log_sig
    if weight is not None:
        loss = loss * _tensor(weight)
    return _reduce(loss, reduction)


# More functions live in sibling modules (this file holds the core); re-exported here so
# that ``nn.functional.gelu`` etc. work as in PyTorch.
from .functional_conv import *  # noqa: E402,F401,F403
from .functional_conv import (MatMulAdd, _conv2d, _conv_padding, _check_conv_args,  # noqa: E402,F401
                              _pool_geometry, _adaptive_matrix)
from .functional_act import *  # noqa: E402,F401,F403
from .functional_loss import *  # noqa: E402,F401,F403
from .functional_classification import *  # noqa: E402,F401,F403
from .functional_classification import CrossEntropy  # noqa: E402,F401
from .functional_resize import *  # noqa: E402,F401,F403
from .functional_attention import *  # noqa: E402,F401,F403
from . import functional_act as _act, functional_loss as _loss, functional_resize as _resize  # noqa: E402
from . import functional_attention as _attention  # noqa: E402
from . import functional_classification as _classification  # noqa: E402
from . import functional_conv as _conv  # noqa: E402
__all__ = (__all__ + _conv.__all__ + _act.__all__ + _loss.__all__ + _classification.__all__
           + _resize.__all__ + _attention.__all__)
