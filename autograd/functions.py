"""Functional forms (``autograd.sin(x)``, ``autograd.gather(x, 1, idx)``, like
``torch.sin``, ``torch.gather``) of the Tensor methods in ``tensor_ops``/``tensor_reduce``,
and the functions that have no method form: einsum, tensordot, meshgrid,
broadcast_tensors, std_mean, var_mean, where(condition)."""
import numpy as np

from .tensor import Tensor, _as_tensor, where as _where
from .tensor_reduce import einsum  # noqa: F401

_METHODS = (
    # copy / layout
    "clone", "view_as", "reshape_as", "unflatten", "movedim", "moveaxis", "swapaxes",
    "swapdims", "diagonal", "diag", "diag_embed", "flip", "fliplr", "flipud", "roll", "rot90",
    "tril", "triu", "repeat_interleave", "tile", "narrow", "select", "unbind", "numel",
    "nelement", "tensor_split", "hsplit", "vsplit", "chunk", "diff",
    # indexing
    "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
    "index_fill", "index_copy", "masked_fill", "masked_select", "masked_scatter", "take",
    "take_along_dim", "nonzero", "argwhere",
    # math
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "atan2", "arctan2",
    "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal", "square", "erf", "erfc",
    "erfinv", "floor", "ceil", "round", "trunc", "fix", "frac", "fmod", "remainder",
    "floor_divide", "div", "divide", "true_divide", "copysign", "hypot", "logaddexp", "lerp",
    "xlogy", "logit", "nan_to_num", "sgn", "heaviside", "clamp_min", "clamp_max",
    "lgamma", "digamma", "logaddexp2", "fmax", "fmin", "logical_and", "logical_or",
    "logical_xor", "logical_not", "ravel", "deg2rad", "rad2deg", "sinc",
    # reductions, scans, order statistics, tests
    "prod", "nansum", "nanmean", "aminmax", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "norm", "median", "mode",
    "kthvalue", "quantile", "any", "all", "count_nonzero", "sort", "argsort", "msort", "topk",
    "unique", "isclose", "allclose", "equal", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "bincount", "histc", "histogram",
    # linear algebra
    "mm", "bmm", "mv", "dot", "inner", "outer", "ger", "addmm", "addmv", "baddbmm", "addbmm",
    "kron", "trace", "cross", "det", "logdet", "inverse", "pinverse",
)


def _functional(name):
    def fn(input, *args, **kwargs):
        return getattr(_as_tensor(input), name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn


for _name in _METHODS:
    globals()[_name] = _functional(_name)
del _name

__all__ = list(_METHODS) + ["einsum", "tensordot", "meshgrid", "broadcast_tensors",
                            "broadcast_shapes", "std_mean", "var_mean", "where", "numel",
                            "is_tensor", "is_floating_point", "clamp", "clip", "add", "sub",
                            "mul", "pow", "neg", "subtract", "multiply", "negative",
                            "polygamma", "cdist", "atleast_1d", "atleast_2d", "atleast_3d",
                            "searchsorted", "bucketize", "cov", "corrcoef"]


def add(input, other, *, alpha=1):
    """input + alpha · other"""
    return _as_tensor(input) + (other if alpha == 1 else other * alpha)


def sub(input, other, *, alpha=1):
    """input - alpha · other"""
    return _as_tensor(input) - (other if alpha == 1 else other * alpha)


def mul(input, other):
    return _as_tensor(input) * other


def pow(input, exponent):
    return _as_tensor(input) ** exponent if isinstance(input, Tensor) or not isinstance(
        exponent, Tensor) else exponent.__rpow__(input)


def neg(input):
    return -_as_tensor(input)


subtract, multiply, negative = sub, mul, neg


def polygamma(n, input):
    """ψ⁽ⁿ⁾(input) (PyTorch's argument order: n first)."""
    return _as_tensor(input).polygamma(n)


def cdist(x1, x2, p=2.0):
    """Pairwise p-norm distances between the rows of x1 [.., P, M] and x2 [.., R, M];
    the gradient at a zero distance is 0, as in PyTorch."""
    from .linalg import vector_norm
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, dim=-1)


def atleast_1d(*tensors):
    out = [_as_tensor(t) for t in (tensors[0] if len(tensors) == 1 and isinstance(
        tensors[0], (list, tuple)) else tensors)]
    out = [t.reshape(1) if t.ndim == 0 else t for t in out]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    out = atleast_1d(*tensors)
    out = [t.unsqueeze(0) if t.ndim == 1 else t for t in (out if isinstance(out, tuple) else [out])]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors):
    out = atleast_2d(*tensors)
    out = [t.unsqueeze(-1) if t.ndim == 2 else t for t in (out if isinstance(out, tuple) else [out])]
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(sorted_sequence, values, *, right=False, side=None, out_int32=False):
    """Insertion indices of ``values`` in the last dim of ``sorted_sequence`` (1-D, or one
    row per leading index of values); no gradient."""
    right = right or side == "right"
    seq = np.asarray(sorted_sequence._data if isinstance(sorted_sequence, Tensor) else sorted_sequence)
    vals = np.asarray(values._data if isinstance(values, Tensor) else values)
    less = np.less_equal if right else np.less
    if seq.ndim == 1:
        idx = less(seq, vals[..., None]).sum(-1)
    else:
        idx = less(seq[..., None, :], vals[..., :, None]).sum(-1)
    return Tensor(idx.astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each input value: i with boundaries[i-1] < x <= boundaries[i]
    (``right=True``: boundaries[i-1] <= x < boundaries[i])."""
    return searchsorted(boundaries, input, right=right, out_int32=out_int32)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of ``input`` (observations in columns)."""
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov: fweights/aweights are not supported by ndgrad")
    x = _as_tensor(input)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    centered = x - x.mean(dim=1, keepdim=True)
    out = centered @ centered.T / float(max(x.shape[1] - correction, 0))
    return out.reshape(()) if _as_tensor(input).ndim < 2 else out


def corrcoef(input):
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return c / (d.unsqueeze(1) * d.unsqueeze(0))


def numel(input):
    return input.numel()


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.dtype.kind == "f"


def where(condition, input=None, other=None):
    """``where(condition, x, y)``: x where condition holds, else y; ``where(condition)``:
    ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return _as_tensor(condition).nonzero(as_tuple=True)
    return _where(condition, input, other)


def clamp(input, min=None, max=None):
    return input.clamp(min, max)


clip = clamp


def tensordot(a, b, dims=2):
    """Contract the last ``dims`` dims of a with the first of b, or the listed pairs."""
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if isinstance(dims, int):
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    dims_a = [d % a.ndim for d in dims_a]
    dims_b = [d % b.ndim for d in dims_b]
    if len(dims_a) != len(dims_b):
        raise RuntimeError(f"tensordot: both dimension lists should have the same length, got "
                           f"{len(dims_a)} and {len(dims_b)}")
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has "
                               f"size {a.shape[da]} in dim {da} and second has size "
                               f"{b.shape[db]} in dim {db}")
        sb[db] = sa[da]
    out = [c for i, c in enumerate(sa) if i not in dims_a] + \
          [c for i, c in enumerate(sb) if i not in dims_b]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def broadcast_shapes(*shapes):
    return tuple(np.broadcast_shapes(*shapes))


def broadcast_tensors(*tensors):
    tensors = [_as_tensor(t) for t in tensors]
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(shape) if t.shape != shape else t for t in tensors)


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    tensors = [_as_tensor(t).reshape(-1) for t in tensors]
    n = len(tensors)
    if indexing == "xy" and n >= 2:
        tensors[0], tensors[1] = tensors[1], tensors[0]
    shape = tuple(t.shape[0] for t in tensors)
    out = []
    for i, t in enumerate(tensors):
        view = [1] * n
        view[i] = shape[i]
        out.append(t.reshape(view).expand(shape))
    if indexing == "xy" and n >= 2:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) with Bessel's correction by default (PyTorch's, not NumPy's ddof=0)."""
    return (input.std(dim, unbiased, keepdim, correction=correction),
            input.mean(dim=dim, keepdim=keepdim) if dim is not None else
            input.mean().reshape((1,) * input.ndim if keepdim else ()))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (input.var(dim, unbiased, keepdim, correction=correction),
            input.mean(dim=dim, keepdim=keepdim) if dim is not None else
            input.mean().reshape((1,) * input.ndim if keepdim else ()))
