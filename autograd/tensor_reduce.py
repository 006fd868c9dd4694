"""More Tensor methods, PyTorch's names: reductions, scans, sorting, tests, linear algebra.

Ops whose result is an element of the input (sort, topk, median, kthvalue, mode,
cummax, quantile) are composites: NumPy finds the indices, and the values are gathered
at them, so the gradient goes to the returned index, as in PyTorch. Indices are ties
resolved as PyTorch does where it documents it (sort/topk: stable order).
"""
from collections import namedtuple

import numpy as np

from .ops import einsum as E, scan as S, stats as ST
from .ops.reduce import normalize_dims


def _raw(x):
    from .variable import Variable
    return x._data if isinstance(x, Variable) else x


def _const(arr):
    from .tensor import Tensor
    return Tensor._make(np.asarray(arr), None)


def _tensor_like(x, like):
    """``x`` as a Tensor: Tensors pass, numbers take ``like``'s dtype (as Tensor._wrap)."""
    from .tensor import Tensor
    return x if isinstance(x, Tensor) else like._wrap(x)


def _float(x):
    """Integer/bool tensors -> the default float dtype (as PyTorch's float-only ops do)."""
    if x.dtype.kind in "fc":
        return x
    from .tensor import default_dtype
    return x.to(default_dtype)


def _int_k(k, op):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):  # 1.5 is never truncated
        raise TypeError(f"{op}(): argument 'k' must be int, not {type(k).__name__}")


def _dim(dim, ndim, op):
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}(): dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise IndexError(f"{op}(): Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


class ValuesIndices(tuple):
    """(values, indices), like ``torch.return_types.sort`` / ``topk`` / ``median``."""
    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


_Histogram = namedtuple("histogram", "hist bin_edges")


def _pick(x, dim, index, keepdim):
    """(x gathered at ``index`` (keepdim-shaped) along dim, index), squeezed unless keepdim."""
    values = x.gather(dim, index)
    if not keepdim:
        values, index = values.squeeze(dim), np.squeeze(index, axis=dim)
    return ValuesIndices((values, _const(index.astype(np.int64))))


def _scalar_dim(x, dim, op):
    """A 0-d tensor treated as one element along dim 0 (PyTorch's rule)."""
    return (x.reshape(1), 0) if x.ndim == 0 else (x, _dim(dim, x.ndim, op))


class ReduceLinalgOps:
    __slots__ = ()

    # ------------------------------------------------------------------ reductions
    def prod(self, dim=None, keepdim=False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return ST.Prod.apply(x, dim=dim, keepdim=keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """``torch.norm``: a vector norm over ``dim`` (all elements by default); 'fro' is
        the 2-norm, 'nuc' the nuclear norm of a matrix."""
        from . import linalg
        if p == "nuc":
            return linalg.matrix_norm(self, "nuc", dim if dim is not None else (-2, -1), keepdim)
        return linalg.vector_norm(self, 2 if p == "fro" else p, dim, keepdim)

    def nansum(self, dim=None, keepdim=False):
        """Sum treating nan as 0 (its gradient is 0 there)."""
        return self.masked_fill(np.isnan(self._data), 0.0).sum(dim=dim, keepdim=keepdim)

    def nanmean(self, dim=None, keepdim=False):
        nan = np.isnan(self._data)
        count = (~nan).sum(axis=normalize_dims(dim, self.ndim, "nanmean"), keepdims=keepdim)
        return self.nansum(dim, keepdim) / count.astype(self.dtype)

    def aminmax(self, *, dim=None, keepdim=False):
        from collections import namedtuple
        pair = namedtuple("aminmax", "min max")
        return pair(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def count_nonzero(self, dim=None):
        dims = normalize_dims(dim, self.ndim, "count_nonzero")
        return _const(np.count_nonzero(self._data, axis=dims).astype(np.int64))

    def any(self, dim=None, keepdim=False):
        dims = normalize_dims(dim, self.ndim, "any")
        return _const(np.any(self._data, axis=dims, keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        dims = normalize_dims(dim, self.ndim, "all")
        return _const(np.all(self._data, axis=dims, keepdims=keepdim))

    # ------------------------------------------------------------------ scans
    def cumsum(self, dim, dtype=None):
        dtype = np.int64 if dtype is None and self.dtype.kind in "bu" else dtype  # as torch
        x, d = _scalar_dim(self if dtype is None else self.to(dtype), dim, "cumsum")
        return S.Cumsum.apply(x, dim=d).reshape(self.shape)

    def cumprod(self, dim, dtype=None):
        dtype = np.int64 if dtype is None and self.dtype.kind in "bu" else dtype  # as torch
        x, d = _scalar_dim(self if dtype is None else self.to(dtype), dim, "cumprod")
        return S.Cumprod.apply(x, dim=d).reshape(self.shape)

    def logcumsumexp(self, dim):
        x, d = _scalar_dim(self, dim, "logcumsumexp")
        return S.LogCumSumExp.apply(x, dim=d).reshape(self.shape)

    def _cum_extreme(self, dim, better, op):
        x, d = _scalar_dim(self, dim, op)
        a = np.moveaxis(x._data, d, -1)
        n = a.shape[-1]
        pos = np.broadcast_to(np.arange(n), a.shape)
        best = better.accumulate(a, axis=-1)
        # the latest position holding the running extreme (PyTorch's tie rule), nan sticks
        hit = (a == best) | (np.isnan(a) if a.dtype.kind == "f" else False)
        idx = np.maximum.accumulate(np.where(hit, pos, -1), axis=-1)
        if a.dtype.kind == "f":
            first_nan = np.where(np.isnan(a), pos, n).min(axis=-1, keepdims=True)
            nan_idx = np.maximum.accumulate(np.where(np.isnan(a), pos, -1), axis=-1)
            idx = np.where(pos >= first_nan, nan_idx, idx)
        idx = np.moveaxis(idx, -1, d)
        values = x.gather(d, idx)
        return ValuesIndices((values.reshape(self.shape), _const(idx.reshape(self.shape))))

    def cummax(self, dim):
        return self._cum_extreme(dim, np.maximum, "cummax")

    def cummin(self, dim):
        return self._cum_extreme(dim, np.minimum, "cummin")

    # ------------------------------------------------------------------ order statistics
    def argsort(self, dim=-1, descending=False, stable=False):
        x, d = _scalar_dim(self, dim, "argsort")
        a = x._data
        if descending:
            # ascending order of -value, stably: equal values keep their original order
            # (PyTorch's stable=True order, which its CPU sort also gives by default)
            key = -a if a.dtype.kind in "fi" else ~a if a.dtype == bool else -a.astype(np.int64)
            idx = np.argsort(key, axis=d, kind="stable")
        else:
            idx = np.argsort(a, axis=d, kind="stable")
        return _const(idx.reshape(self.shape).astype(np.int64))

    def sort(self, dim=-1, descending=False, stable=False):
        x, d = _scalar_dim(self, dim, "sort")
        idx = x.argsort(d, descending)._data
        return ValuesIndices((x.gather(d, idx).reshape(self.shape),
                              _const(idx.reshape(self.shape))))

    def msort(self):
        return self.sort(0).values

    def topk(self, k, dim=-1, largest=True, sorted=True):
        x, d = _scalar_dim(self, dim, "topk")
        _int_k(k, "topk")
        if not 0 <= k <= x.shape[d]:
            raise RuntimeError(f"topk(): selected index k ({k}) out of range for dimension "
                               f"{dim} of size {x.shape[d]}")
        idx = x.argsort(d, descending=largest)._data
        idx = np.take(idx, np.arange(k), axis=d)
        values = x.gather(d, idx)
        if self.ndim == 0:
            values, idx = values.reshape(()), idx.reshape(())
        return ValuesIndices((values, _const(idx)))

    def kthvalue(self, k, dim=-1, keepdim=False):
        x, d = _scalar_dim(self, dim, "kthvalue")
        _int_k(k, "kthvalue")
        if not 1 <= k <= x.shape[d]:
            raise RuntimeError(f"kthvalue(): selected number k ({k}) out of range for "
                               f"dimension {dim} of size {x.shape[d]}")
        idx = np.take(np.argsort(x._data, axis=d, kind="stable"), [k - 1], axis=d)
        out = _pick(x, d, idx, keepdim or self.ndim == 0)
        return out if self.ndim else ValuesIndices((out[0].reshape(()), out[1].reshape(())))

    def median(self, dim=None, keepdim=False):
        """The lower median. ``median()``: ties share the gradient evenly (as PyTorch);
        ``median(dim)``: (values, indices), the gradient goes to the index."""
        if dim is None:
            flat = self.reshape(-1)
            if flat.shape[0] == 0:
                return _const(np.asarray(np.nan, dtype=self.dtype))
            value = flat.kthvalue((flat.shape[0] + 1) // 2, 0).values
            if not self.requires_grad:
                return value
            # the max over the elements equal to it: amax shares the gradient among ties
            return self.masked_fill(self._data != value._data, -np.inf).amax()
        x, d = _scalar_dim(self, dim, "median")
        return x.kthvalue((x.shape[d] + 1) // 2, d, keepdim) if self.ndim else \
            ValuesIndices((self.clone(), _const(np.asarray(0))))

    def nanmedian(self, dim=None, keepdim=False):
        """``median`` ignoring NaN (the lower median of the other values; NaN when a slice
        holds only NaN). Gradients as ``median``."""
        if dim is None:
            flat = self.reshape(-1)
            kept = flat[~np.isnan(flat._data)] if self.dtype.kind == "f" else flat
            if kept.shape[0] == 0:
                return _const(np.asarray(np.nan, dtype=self.dtype))
            value = kept.kthvalue((kept.shape[0] + 1) // 2, 0).values
            if not self.requires_grad:
                return value
            return self.masked_fill(self._data != value._data, -np.inf).amax()
        x, d = _scalar_dim(self, dim, "nanmedian")
        a = x._data
        order = np.argsort(a, axis=d, kind="stable")          # NaN sorts last
        count = np.sum(~np.isnan(a), axis=d, keepdims=True) if a.dtype.kind == "f" else \
            np.full(a.shape[:d] + (1,) + a.shape[d + 1:], a.shape[d])
        idx = np.take_along_axis(order, np.maximum((count - 1) // 2, 0), axis=d)
        out = _pick(x, d, idx, keepdim or self.ndim == 0)
        return out if self.ndim else ValuesIndices((out[0].reshape(()), out[1].reshape(())))

    def mode(self, dim=-1, keepdim=False):
        """The most frequent value (the smallest among equally frequent ones) and an index
        of it; the gradient goes to that index."""
        x, d = _scalar_dim(self, dim, "mode")
        a = np.moveaxis(x._data, d, -1)
        order = np.argsort(a, axis=-1, kind="stable")
        s = np.take_along_axis(a, order, -1)
        n = s.shape[-1]
        pos = np.broadcast_to(np.arange(n), s.shape)
        new_run = np.concatenate([np.ones(s.shape[:-1] + (1,), bool), s[..., 1:] != s[..., :-1]], -1)
        start = np.maximum.accumulate(np.where(new_run, pos, 0), axis=-1)
        length = pos - start + 1
        best = np.argmax(length, axis=-1)[..., None]       # the end of the first longest run
        idx = np.take_along_axis(order, best, -1)           # its last occurrence
        idx = np.moveaxis(idx, -1, d)
        out = _pick(x, d, idx, keepdim or self.ndim == 0)
        return out if self.ndim else ValuesIndices((out[0].reshape(()), out[1].reshape(())))

    def quantile(self, q, dim=None, keepdim=False, interpolation="linear"):
        modes = ("linear", "lower", "higher", "midpoint", "nearest")
        if interpolation not in modes:
            raise ValueError(f"quantile() interpolation must be one of {modes}, got {interpolation!r}")
        qa = np.asarray(_raw(q), dtype=np.float64)
        if qa.ndim > 1 or np.any((qa < 0) | (qa > 1)):
            raise RuntimeError("quantile() q must be a scalar or 1D tensor with values in [0, 1]")
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _dim(dim, x.ndim, "quantile")
        s = x.sort(d).values
        n = s.shape[d]
        pos = qa.reshape(-1) * (n - 1)
        lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
        if interpolation == "nearest":
            lo = hi = np.round(pos).astype(np.int64)  # half to even, as PyTorch
        a, b = s.index_select(d, lo), s.index_select(d, hi)
        w = {"linear": pos - lo, "lower": 0 * pos, "higher": 0 * pos + 1,
             "midpoint": 0 * pos + 0.5, "nearest": 0 * pos}[interpolation]
        shape = [1] * s.ndim
        shape[d] = len(pos)
        out = a + (b - a) * w.reshape(shape).astype(self.dtype)   # [.., nq, ..]
        out = out.movedim(d, 0)
        if keepdim:
            out = out.unsqueeze(d + 1) if dim is not None else \
                out.reshape((len(pos),) + (1,) * self.ndim)
        return out[0] if qa.ndim == 0 else out

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        res = np.unique(self._data, return_inverse=True, return_counts=True, axis=dim)
        out = [_const(res[0])]
        if return_inverse:
            inv = res[1].reshape(self.shape) if dim is None else res[1].reshape(-1)
            out.append(_const(inv.astype(np.int64)))
        if return_counts:
            out.append(_const(res[2].astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    # ------------------------------------------------------------------ tests
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _const(np.isclose(self._data, _raw(other), rtol, atol, equal_nan))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return bool(np.allclose(self._data, _raw(other), rtol, atol, equal_nan))

    def equal(self, other):
        return self.shape == other.shape and bool(np.array_equal(self._data, _raw(other)))

    def isnan(self): return _const(np.isnan(self._data))
    def isinf(self): return _const(np.isinf(self._data))
    def isfinite(self): return _const(np.isfinite(self._data))
    def isposinf(self): return _const(np.isposinf(self._data))
    def isneginf(self): return _const(np.isneginf(self._data))

    def bincount(self, weights=None, minlength=0):
        if self.ndim != 1 or self.dtype.kind not in "iu":
            raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got "
                               f"{self.ndim}-d {self.dtype}")
        w = None if weights is None else _raw(weights)
        out = np.bincount(self._data, w, minlength)
        return _const(out.astype(np.int64) if w is None else out)

    def histc(self, bins=100, min=0, max=0):
        lo, hi = float(min), float(max)
        if lo == hi:
            lo, hi = float(self._data.min()), float(self._data.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        a = self._data[(self._data >= lo) & (self._data <= hi)]
        hist, _ = np.histogram(a, bins=bins, range=(lo, hi))
        return _const(hist.astype(self.dtype))

    def histogram(self, bins, *, range=None, weight=None, density=False):
        hist, edges = np.histogram(self._data, bins=_raw(bins), range=range,
                                   weights=None if weight is None else _raw(weight),
                                   density=density)
        return _Histogram(_const(hist.astype(self.dtype)), _const(edges.astype(self.dtype)))

    # ------------------------------------------------------------------ sampling
    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from .factories import multinomial
        return multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        from .factories import bernoulli
        return bernoulli(self, p, generator=generator)

    # ------------------------------------------------------------------ linear algebra
    def mm(self, mat2):
        if self.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError(f"mm: expected 2D tensors, got {self.shape} and {mat2.shape}")
        return self @ mat2

    def bmm(self, mat2):
        if self.ndim != 3 or mat2.ndim != 3 or self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm: expected 3D tensors with the same batch size, got "
                               f"{self.shape} and {mat2.shape}")
        return self @ mat2

    def mv(self, vec):
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"mv: expected a matrix and a vector, got {self.shape} and {vec.shape}")
        return self @ vec

    def dot(self, other):
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        return self @ other

    inner = dot

    def outer(self, vec2):
        return self.unsqueeze(-1) * vec2.unsqueeze(0)

    ger = outer

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _scaled(self, beta) + _scaled(mat1.mm(mat2), alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _scaled(self, beta) + _scaled(mat.mv(vec), alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _scaled(self, beta) + _scaled(batch1.bmm(batch2), alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _scaled(self, beta) + _scaled(batch1.bmm(batch2).sum(0), alpha)

    def kron(self, other):
        nd = max(self.ndim, other.ndim)
        a = self.reshape((1,) * (nd - self.ndim) + self.shape)
        b = other.reshape((1,) * (nd - other.ndim) + other.shape)
        # a[i] * b[j] at position (i * len_b + j) per dim: interleave, multiply, merge
        ea = a.reshape(tuple(s for n in a.shape for s in (n, 1)))
        eb = b.reshape(tuple(s for n in b.shape for s in (1, n)))
        return (ea * eb).reshape(tuple(x * y for x, y in zip(a.shape, b.shape)))

    def trace(self):
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    def cross(self, other, dim=None):
        if dim is None:
            shape = np.broadcast_shapes(self.shape, other.shape)
            dim = next((i for i, s in enumerate(shape) if s == 3), None)
            if dim is None:
                raise RuntimeError(f"cross: no dimension of size 3 in input {self.shape}")
        d = _dim(dim, self.ndim, "cross")
        if self.shape[d] != 3 or other.shape[d] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                               f"{self.shape[d]} and {other.shape[d]}")
        a = [self.select(d, i) for i in range(3)]
        b = [other.select(d, i) for i in range(3)]
        from .tensor import stack
        return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                      a[0] * b[1] - a[1] * b[0]], dim=d)

    def det(self):
        from . import linalg
        return linalg.det(self)

    def logdet(self):
        """log det A (nan for a negative determinant, as PyTorch); gradient A⁻ᵀ."""
        return self.det().log()

    def inverse(self):
        from . import linalg
        return linalg.inv(self)

    def pinverse(self, rcond=1e-15):
        from . import linalg
        return linalg.pinv(self, rtol=rcond)


def _scaled(t, factor):
    return t if factor == 1 else t * factor


def einsum(equation, *operands):
    """``torch.einsum``: implicit or explicit output, ``...``, broadcasting of size-1 dims;
    the backward is an einsum too, for any subscripts (see ``autograd/ops/einsum.py``)."""
    from .tensor import Tensor
    if not isinstance(equation, str):  # sublist form: einsum(a, [0, 1], b, [1, 2], [0, 2])
        equation, operands = _from_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [t if isinstance(t, Tensor) else Tensor(t) for t in operands]
    for t in operands[1:]:
        if t.dtype != operands[0].dtype:  # no silent promotion, as in torch
            raise RuntimeError(f"einsum(): expected all operands to have the same dtype, but "
                               f"got {operands[0].dtype} and {t.dtype}")
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(operands):
        raise ValueError(f"einsum(): {len(ins)} operands in the equation {equation!r} but "
                         f"{len(operands)} were given")
    free = iter(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in eq)
    n_ell = max((t.ndim - len(s.replace("...", "")) for s, t in zip(ins, operands) if "..." in s),
                default=0)
    ell = "".join(next(free) for _ in range(n_ell))
    new_ins = []
    for s, t in zip(ins, operands):
        if "..." in s:
            k = t.ndim - len(s.replace("...", ""))
            s = s.replace("...", ell[n_ell - k:] if k else "")
        if len(s) != t.ndim or (s and not s.isalpha()):
            raise RuntimeError(f"einsum(): the subscripts {s!r} do not match operand of "
                               f"shape {t.shape}")
        new_ins.append(s)
    if not arrow:
        counts = {c: "".join(new_ins).count(c) for c in set("".join(new_ins))}
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    sizes = {}
    for s, t in zip(new_ins, operands):
        for c, n in zip(s, t.shape):
            if sizes.get(c, 1) != 1 and n not in (1, sizes[c]):
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes: "
                                   f"subscript {c} has sizes {sizes[c]} and {n}")
            sizes[c] = max(sizes.get(c, 1), n) if n != 0 else 0
    ops = []
    for s, t in zip(new_ins, operands):
        want = tuple(sizes[c] for c in s)
        ops.append(t.expand(want) if want != t.shape else t)
    return E.Einsum.apply(*ops, equation=",".join(new_ins) + "->" + out)


def _from_sublists(args):
    """(op, sublist, op, sublist, ..., [out sublist]) -> (equation, operands)."""
    import string

    def letters(sub):
        return "".join("..." if i is Ellipsis else string.ascii_letters[i] for i in sub)
    ops, subs = args[0:len(args) - len(args) % 2:2], args[1::2]
    eq = ",".join(letters(sub) for sub in subs[:len(ops)])
    if len(args) % 2:
        eq += "->" + letters(args[-1])
    return eq, tuple(ops)
