"""nn.functional, part 2: activations, distances, embeddings, normalisation and dropout
variants (re-exported by ``nn.functional``; attention and bilinear are in
functional_attention.py).

Most are composites of autograd ops (so their gradients, and gradients of gradients, come
from the engine). Where PyTorch's derivative at a kink differs from what the plain composite
would give, the composite selects branches with masks built from PyTorch's backward
conditions (``hardtanh``: gradient 0 at the bounds; ``hardswish``: -0.5 at x = -3). Only
``gelu``'s exact form needs its own op (``erf`` is not a primitive here).
"""
import math
import numbers

import numpy as np

import autograd
from autograd.function import Function
from autograd.tensor import Tensor, _as_tensor, _rng, where

__all__ = [
    "gelu", "silu", "elu", "selu", "celu", "relu6", "hardtanh", "hardswish", "hardsigmoid",
    "mish", "softsign", "softmin", "tanhshrink", "softshrink", "hardshrink", "threshold",
    "glu", "prelu", "normalize", "cosine_similarity", "pairwise_distance", "one_hot",
    "embedding", "group_norm", "instance_norm", "layer_norm", "local_response_norm", "dropout1d", "dropout2d",
    "dropout3d", "alpha_dropout",
]


def _tensor(x):
    return x if isinstance(x, Tensor) else _as_tensor(x)


def _float_dtype(x):
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)


def _const(x, values):
    """A constant (no-gradient) Tensor of ``x``'s float dtype."""
    return Tensor(np.asarray(values, dtype=_float_dtype(x)))


# ============================================================================ gelu
def _erf(a):
    try:
        from scipy.special import erf
    except ImportError:  # exact but slower: math.erf elementwise
        return np.frompyfunc(math.erf, 1, 1)(a).astype(a.dtype)
    return erf(a).astype(a.dtype, copy=False)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class GeluPrime(Function):
    """y = Φ(x) + x·φ(x) (the derivative of x·Φ(x));  dL/dx = dL/dy · φ(x)·(2 - x²)"""
    backward_rule = "dL/dx = dL/dy · φ(x)·(2 - x²)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        cdf = 0.5 * (1.0 + _erf(x * _SQRT_HALF))
        return (cdf + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ((x * x * -0.5).exp() * _INV_SQRT_2PI) * (2.0 - x * x)


class Gelu(Function):
    """y = x·Φ(x) = x/2·(1 + erf(x/√2));  dL/dx = dL/dy · (Φ(x) + x·φ(x))"""
    backward_rule = "dL/dx = dL/dy · (Φ(x) + x·φ(x))"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (0.5 * x * (1.0 + _erf(x * _SQRT_HALF))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * GeluPrime.apply(x)


def gelu(input, approximate="none"):
    """x·Φ(x) (``approximate='none'``) or ``0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))``
    (``approximate='tanh'``)."""
    x = _tensor(input)
    if approximate == "none":
        return Gelu.apply(x)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1.0)
    raise RuntimeError(f"gelu: approximate argument must be either none or tanh, got "
                       f"{approximate!r}")


# ============================================================================ pointwise
def silu(input, inplace=False):
    """x·σ(x)."""
    x = _tensor(input)
    return x * x.sigmoid()


def _expm1_neg(x, scale=1.0):
    """exp(min(x, 0)·scale) - 1: the negative branch of elu/celu without overflow."""
    z = x.clamp(max=0.0)
    return (z * scale if scale != 1.0 else z).exp() - 1.0


def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha·(exp(x) - 1) otherwise (gradient alpha at 0, as PyTorch)."""
    x = _tensor(input)
    return where(x > 0, x, _expm1_neg(x) * alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale·elu(x, alpha) with the self-normalising constants."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha·(exp(x/alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu: alpha must not be 0")
    x = _tensor(input)
    return where(x > 0, x, _expm1_neg(x, 1.0 / alpha) * alpha)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val) with gradient 1 strictly inside and 0 at and beyond the
    bounds (PyTorch's rule)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    x = _tensor(input)
    inside = (x > min_val) & (x < max_val)
    return where(inside, x, _const(x, np.clip(x._data, min_val, max_val)))


def relu6(input, inplace=False):
    """min(max(0, x), 6) (hardtanh(x, 0, 6))."""
    return hardtanh(input, 0.0, 6.0)


def hardswish(input, inplace=False):
    """x·relu6(x + 3)/6; gradient (2x + 3)/6 on (-3, 3), 0 at -3 and 1 at 3 (as PyTorch)."""
    x = _tensor(input)
    mid = x * (x + 3.0) * (1.0 / 6.0)
    return where(x <= -3.0, _const(x, 0.0), where(x < 3.0, mid, x))


def hardsigmoid(input, inplace=False):
    """relu6(x + 3)/6; gradient 1/6 strictly inside (-3, 3), 0 elsewhere (as PyTorch)."""
    x = _tensor(input)
    inside = (x > -3.0) & (x < 3.0)
    return where(inside, x * (1.0 / 6.0) + 0.5, _const(x, (x._data >= 3.0)))


def mish(input, inplace=False):
    """x·tanh(softplus(x))."""
    from .functional import logsigmoid
    x = _tensor(input)
    return x * (-logsigmoid(-x)).tanh()


def softsign(input):
    """x / (1 + |x|)."""
    x = _tensor(input)
    return x / (x.abs() + 1.0)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``."""
    from .functional import softmax
    return softmax(-_tensor(input), dim, dtype)


def tanhshrink(input):
    """x - tanh(x)."""
    x = _tensor(input)
    return x - x.tanh()


def softshrink(input, lambd=0.5):
    """x - lambd for x > lambd, x + lambd for x < -lambd, 0 otherwise."""
    x = _tensor(input)
    return where(x > lambd, x - lambd, where(x < -lambd, x + lambd, _const(x, 0.0)))


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, 0 otherwise."""
    x = _tensor(input)
    return where((x > lambd) | (x < -lambd), x, _const(x, 0.0))


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else ``value``."""
    x = _tensor(input)
    return where(x > threshold, x, _const(x, value))


def glu(input, dim=-1):
    """a·σ(b) where a, b are the two halves of ``input`` along ``dim``."""
    x = _tensor(input)
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % x.ndim
    if x.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{x.shape[d]}")
    a, b = x.chunk(2, d)
    return a * b.sigmoid()


def prelu(input, weight):
    """x for x > 0, weight·x otherwise; ``weight`` has one value or one per channel (dim 1)."""
    x, w = _tensor(input), _tensor(weight)
    n = w._data.size
    if n != 1:
        channels = x.shape[1] if x.ndim >= 2 else (x.shape[0] if x.ndim == 1 else 1)
        if w.ndim != 1 or n != channels:
            raise RuntimeError(f"prelu: mismatch of parameter numbers and input channel size. "
                               f"Found parameter numbers = {n} and channel size = {channels}.")
        if x.ndim >= 2:
            w = w.reshape((n,) + (1,) * (x.ndim - 2))
    elif w.ndim:
        w = w.reshape(())
    return where(x > 0, x, w * x)


# ============================================================================ distances
class _VectorNorm(Function):
    """n = (Σ|x|^p)^(1/p) over ``dim`` (keepdim);
    dL/dx = dL/dn · x·|x|^(p-2) / n^(p-1)  (0 where n = 0, PyTorch's subgradient)"""
    backward_rule = "dL/dx = dL/dy · x·|x|^(p-2) / y^(p-1) · [y ≠ 0]"

    @staticmethod
    def forward(ctx, x, p, dim):
        n = np.linalg.norm(x, ord=None if p == 2 else p, axis=dim, keepdims=True) \
            if not np.isinf(p) else np.abs(x).max(axis=dim, keepdims=True)
        ctx.p = p
        ctx.save_for_backward(x)
        ctx.n = n.astype(x.dtype, copy=False)
        return ctx.n

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p, n = ctx.p, ctx.n
        safe = Tensor(np.where(n == 0, 1.0, n).astype(n.dtype))
        zero = Tensor((n != 0).astype(n.dtype))
        if p == 2:
            return grad * x / safe * zero
        if p == 1:
            return grad * x.sign()
        if np.isinf(p):
            hit = Tensor((np.abs(x._data) == n).astype(n.dtype))
            return grad * x.sign() * hit / hit.sum(dim=-1, keepdim=True).clamp(min=1.0)
        return grad * x * x.abs() ** (p - 2) / safe ** (p - 1) * zero


def _norm(x, p, dim):
    """Vector p-norm over one dim (keepdim=True)."""
    if np.isinf(p) and dim not in (-1, x.ndim - 1):
        return _norm(x.transpose(dim, -1), p, -1).transpose(dim, -1)
    return _VectorNorm.apply(x, p=float(p), dim=dim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(‖x‖_p, eps) along ``dim``."""
    x = _tensor(input)
    return x / _norm(x, p, dim).clamp(min=eps)


def _clamped_norm(x, dim, eps):
    """‖x‖ clamped below at eps with the gradient of the unclamped norm (PyTorch clamps
    under no_grad in cosine_similarity)."""
    n = _norm(x, 2.0, dim)
    low = n._data < eps
    if low.any():
        n = n + Tensor(np.where(low, eps - n._data, 0).astype(n.dtype))
    return n


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Σ x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) along ``dim`` (inputs broadcast)."""
    a, b = _tensor(x1), _tensor(x2)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"cosine_similarity: x1 {tuple(a.shape)} and x2 {tuple(b.shape)} "
                           f"do not broadcast") from None
    a, b = a.expand(*shape), b.expand(*shape)
    return ((a / _clamped_norm(a, dim, eps)) * (b / _clamped_norm(b, dim, eps))).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x1 - x2 + eps‖_p over the last dimension."""
    d = _tensor(x1) - _tensor(x2) + eps
    if d.ndim == 0:
        d = d.reshape(1)
    n = _norm(d, p, -1)
    return n if keepdim else n.squeeze(-1)


# ============================================================================ embeddings
def one_hot(tensor, num_classes=-1):
    """int64 ``(*, num_classes)`` with a 1 at each index (``num_classes=-1``: max + 1)."""
    t = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if t.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (numbers.Integral, np.integer)):
        raise TypeError(f"one_hot(): argument 'num_classes' must be int, not "
                        f"{type(num_classes).__name__}")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    if t.size and t.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if t.size and t.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor((t[..., None] == np.arange(num_classes)).astype(np.int64))


def _renorm_rows_(weight, idx, max_norm, norm_type):
    """PyTorch's embedding_renorm_: rows used by ``idx`` with norm > max_norm are scaled
    (in place, no gradient) to norm max_norm."""
    rows = np.unique(idx)
    w = weight._data if isinstance(weight, Tensor) else weight
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        with autograd.no_grad():
            new = w.copy()
            new[rows[big]] *= scale[:, None]
            weight.copy_(new) if isinstance(weight, Tensor) else np.copyto(w, new)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` at the integer indices ``input``: ``weight[input]``. The row at
    ``padding_idx`` gets no gradient; ``max_norm`` renormalises the looked-up rows in place."""
    w = _tensor(weight)
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {idx.dtype} instead "
                           f"(while checking arguments for embedding)")
    if w.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got weight of shape {tuple(w.shape)}")
    num = w.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):   # no wrap-around, as PyTorch
        raise IndexError(f"index out of range in self (embedding: index "
                         f"{int(idx.max() if idx.max() >= num else idx.min())} for a weight of "
                         f"{num} rows)")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
    if max_norm is not None:
        _renorm_rows_(w, idx % num, max_norm, norm_type)
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported by ndgrad")
    out = w[idx]
    if scale_grad_by_freq and out.requires_grad:
        _, inverse, counts = np.unique(idx % num, return_inverse=True, return_counts=True)
        scale = (1.0 / counts[inverse]).reshape(idx.shape + (1,)).astype(w.dtype)
        out = _scale_grad(out, scale)
    if padding_idx is not None and out.requires_grad:
        keep = (idx % num != padding_idx)[..., None]
        out = where(np.broadcast_to(keep, out.shape), out, out.detach())
    return out


def _scale_grad(x, scale):
    """x in the forward pass, dL/dy · scale in the backward pass."""
    s = Tensor(scale)
    return x * s + (x * (1.0 - s)).detach()


# ============================================================================ normalisation
def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * _tensor(weight).reshape(shape)
    if bias is not None:
        y = y + _tensor(bias).reshape(shape)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dims (biased variance)."""
    x = _tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    n = len(shape)
    if tuple(x.shape[x.ndim - n:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size "
                           f"{list(x.shape)}")
    for t in (weight, bias):
        if t is not None and _tensor(t).dtype != x.dtype:  # no silent promotion, as in torch
            raise RuntimeError(f"layer_norm: mixed dtype: all inputs must share the same "
                               f"datatype (input {x.dtype}, weight/bias {_tensor(t).dtype})")
    dims = tuple(range(x.ndim - n, x.ndim))
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, correction=0, keepdim=True)
    y = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * _tensor(weight)
    if bias is not None:
        y = y + _tensor(bias)
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each of ``num_groups`` channel groups of each sample (biased variance),
    then a per-channel affine."""
    x = _tensor(input)
    if x.ndim < 2:
        raise RuntimeError(f"group_norm: expected input with at least 2 dimensions (N, C, *), "
                           f"got {tuple(x.shape)}")
    n, c = x.shape[0], x.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(x.shape)} and "
                           f"num_groups={num_groups}")
    g = x.reshape(n, num_groups, -1)
    mean = g.mean(-1, keepdim=True)
    var = g.var(-1, correction=0, keepdim=True)
    y = ((g - mean) / (var + eps).sqrt()).reshape(x.shape)
    return _affine(y, weight, bias, (1, c) + (1,) * (x.ndim - 2))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample over its spatial dims. With running buffers and
    ``use_input_stats``, they are updated with the batch-averaged instance statistics;
    without ``use_input_stats`` they are used instead."""
    from .functional import _update_running
    x = _tensor(input)
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input of at least 3 dimensions (N, C, *), "
                         f"got {tuple(x.shape)}")
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    dims = tuple(range(2, x.ndim))
    if use_input_stats:
        count = int(np.prod(x.shape[2:]))
        if count <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {list(x.shape)}")
        mean = x.mean(dims, keepdim=True)
        var = x.var(dims, correction=0, keepdim=True)
        y = (x - mean) / (var + eps).sqrt()
        if running_mean is not None:
            _update_running(running_mean, mean._data.mean(axis=0).reshape(c), momentum)
        if running_var is not None:
            unbiased = var._data * (count / (count - 1))
            _update_running(running_var, unbiased.mean(axis=0).reshape(c), momentum)
    else:
        from .functional import _raw
        m = np.asarray(_raw(running_mean), dtype=x.dtype).reshape(shape)
        v = np.asarray(_raw(running_var), dtype=x.dtype).reshape(shape)
        y = (x - m) * (1.0 / np.sqrt(v + eps)).astype(x.dtype)
    return _affine(y, weight, bias, shape)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha · mean of x² over ``size`` neighbouring channels)^beta (zero-padded:
    size//2 channels before, (size-1)//2 after, as PyTorch)."""
    x = _tensor(input)
    if x.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {x.ndim} "
                         f"dimensions)")
    c = x.shape[1]
    sq = x * x
    pads = [(0, 0)] * x.ndim
    pads[1] = (size // 2, (size - 1) // 2)
    flat = [p for pair in reversed(pads) for p in pair]
    padded = autograd.pad(sq, flat)
    total = padded[:, 0:c]
    for j in range(1, size):
        total = total + padded[:, j:j + c]
    return x / (total * (alpha / size) + k) ** beta


# ============================================================================ dropout variants
def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _feature_dropout(x, p, training, spatial, op):
    _check_p(p)
    x = _tensor(x)
    if not training or p == 0:
        return x
    if x.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{op}: Expected {spatial + 1}D or {spatial + 2}D input, but "
                           f"received a {x.ndim}D input")
    mask_shape = x.shape[:x.ndim - spatial] + (1,) * spatial
    dtype = _float_dtype(x)
    if p == 1:
        return x * np.zeros(mask_shape, dtype)
    keep = _rng().random(mask_shape) >= p
    return x * (keep * (1.0 / (1.0 - p))).astype(dtype)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p; scale by 1/(1-p)."""
    return _feature_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input with probability p; scale by 1/(1-p)."""
    return _feature_dropout(input, p, training, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, 3, "dropout3d")


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalising mean and variance: dropped units take the
    value -alpha·scale, then an affine map restores mean 0 and variance 1."""
    _check_p(p)
    x = _tensor(input)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    alpha = _SELU_ALPHA * _SELU_SCALE
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    keep = (_rng().random(x.shape) >= p).astype(_float_dtype(x))
    b = (keep - 1.0) * (alpha * a) + alpha * a * p   # PyTorch's formula
    return x * (keep * a).astype(keep.dtype) + _const(x, b)
