"""nn.functional, part 5: ``scaled_dot_product_attention``, ``bilinear`` and
``embedding_bag`` (re-exported by ``nn.functional``), composites of matrix products,
softmax, masking and index gathers/scatters.
"""
import math

import numpy as np

from autograd.tensor import Tensor, where

from .functional_act import _tensor

__all__ = ["scaled_dot_product_attention", "bilinear", "embedding_bag"]


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = Σ_ij x1[..., i]·W[o, i, j]·x2[..., j] + b[o] (an einsum of matrix products)."""
    a, b, w = _tensor(input1), _tensor(input2), _tensor(weight)
    if w.ndim != 3 or a.shape[-1] != w.shape[1] or b.shape[-1] != w.shape[2]:
        raise RuntimeError(f"bilinear: input1 {tuple(a.shape)}, input2 {tuple(b.shape)} do not "
                           f"match weight {tuple(w.shape)} (out, in1, in2)")
    lead = a.shape[:-1]
    x1, x2 = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    # (N, in1) @ (in1, out·in2) -> (N, out, in2), then Σ_j with x2
    t = (x1 @ w.permute(1, 0, 2).reshape(w.shape[1], -1)).reshape(-1, w.shape[0], w.shape[2])
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + _tensor(bias)
    return y.reshape(*lead, w.shape[0])


# ============================================================================ attention
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q·Kᵀ·scale + mask)·V over the last two dims (``scale`` = 1/√E by default).

    A boolean ``attn_mask`` marks the positions that may be attended (True = keep); a float
    one is added to the scores; ``is_causal`` masks the future (upper triangle)."""
    q, k, v = _tensor(query), _tensor(key), _tensor(value)
    if q.shape[-1] != k.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query {tuple(q.shape)} and key "
                           f"{tuple(k.shape)} must have the same embedding size (last dim)")
    if k.shape[-2] != v.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key {tuple(k.shape)} and value "
                           f"{tuple(v.shape)} must have the same sequence length (dim -2)")
    L, S = q.shape[-2], k.shape[-2]
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k = _repeat_heads(k, rep)
        v = _repeat_heads(v, rep)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * factor
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not "
                               "be set when is_causal=True")
        attn_mask = np.tril(np.ones((L, S), dtype=bool))
    if attn_mask is not None:
        m = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if m.dtype == bool:
            neg = np.array(-np.inf, dtype=scores.dtype)
            scores = where(np.broadcast_to(m, scores.shape), scores, Tensor(neg))
        else:
            scores = scores + _tensor(attn_mask)
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        from .functional import dropout
        weights = dropout(weights, dropout_p, training=True)
    return weights @ v


def _repeat_heads(t, rep):
    """(..., H, S, E) -> (..., H·rep, S, E), each head repeated ``rep`` times in place."""
    shape = t.shape
    t = t.unsqueeze(-3).expand(*shape[:-3], shape[-3], rep, shape[-2], shape[-1])
    return t.reshape(*shape[:-3], shape[-3] * rep, shape[-2], shape[-1])


def _bags(idx, offsets, include_last_offset):
    """(flat indices, bag id of each, number of bags) from 2-D input or 1-D + offsets."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences.")
        b, n = idx.shape
        return idx.reshape(-1), np.repeat(np.arange(b), n), b
    if idx.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{idx.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = np.asarray(getattr(offsets, "_data", offsets), dtype=np.int64)
    if off.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if off.size and off[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the "
                           f"mini-batch has to start from position 0. However, got {off[0]}")
    bounds = np.append(off, len(idx)) if not include_last_offset else off
    n_bags = len(bounds) - 1
    bag = np.repeat(np.arange(n_bags), np.diff(bounds)) if n_bags else np.zeros(0, np.int64)
    return idx[:bounds[-1]] if n_bags else idx[:0], bag, n_bags


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sums, means or maxima of bags of embedding rows without forming the (bag, item, dim)
    tensor: bags are the rows of a 2-D ``input``, or slices of a 1-D ``input`` starting at
    ``offsets``; entries equal to ``padding_idx`` are left out; empty bags give zeros."""
    from .functional_act import _renorm_rows_
    w = _tensor(weight)
    idx = np.asarray(getattr(input, "_data", input))
    if idx.dtype.kind not in "iu":
        raise ValueError("embedding_bag: input has to be an integer tensor")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode}")
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    flat, bag, n_bags = _bags(idx, offsets, include_last_offset)
    if flat.size and (flat.min() < 0 or flat.max() >= w.shape[0]):
        raise IndexError(f"index out of range in self (embedding_bag: weight has "
                         f"{w.shape[0]} rows)")
    if max_norm is not None:
        _renorm_rows_(w, flat, max_norm, norm_type)
    keep = np.ones(len(flat), bool) if padding_idx is None else flat != padding_idx % w.shape[0]
    flat, bag = flat[keep], bag[keep]
    rows = w[flat]                                            # (items, D)
    if scale_grad_by_freq and rows.requires_grad:
        # each row's gradient divided by its index's count in the batch (as documented;
        # PyTorch 2.x's CPU kernel divides some rows by another index's count)
        from .functional_act import _scale_grad
        _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
        rows = _scale_grad(rows, (1.0 / counts[inverse])[:, None].astype(w.dtype))
    if per_sample_weights is not None:
        psw = _tensor(per_sample_weights).reshape(-1)[np.nonzero(keep)[0]]
        rows = rows * psw.unsqueeze(1)
    d = w.shape[1]
    if mode == "max":
        return _bag_max(rows, bag, n_bags, d)
    zeros = Tensor(np.zeros((n_bags, d), w.dtype))
    out = zeros.index_add(0, Tensor(bag), rows)
    if mode == "mean":
        counts = np.bincount(bag, minlength=n_bags).astype(w.dtype)
        out = out / Tensor(np.maximum(counts, 1)[:, None])
    return out


def _bag_max(rows, bag, n_bags, d):
    """Per-bag maxima: bags padded to the longest with a -inf row (empty bags: 0)."""
    counts = np.bincount(bag, minlength=n_bags)
    width = int(counts.max()) if counts.size else 0
    if width == 0:
        return Tensor(np.zeros((n_bags, d), rows.dtype))
    pos = np.arange(len(bag)) - np.repeat(np.cumsum(counts) - counts, counts)
    table = np.full((n_bags, width), len(bag), np.int64)
    table[bag, pos] = np.arange(len(bag))
    from autograd import cat
    ext = cat([rows, Tensor(np.full((1, d), -np.inf, rows.dtype))], 0)
    values = ext[table].max(dim=1)[0]                        # (bags, D)
    return where((counts > 0)[:, None], values, Tensor(np.zeros((1, d), rows.dtype)))
