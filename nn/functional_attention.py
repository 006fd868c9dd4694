"""nn.functional, part 5: ``scaled_dot_product_attention`` and ``bilinear`` (re-exported by
``nn.functional``), composites of matrix products, softmax and masking.
"""
import math

import numpy as np

from autograd.tensor import Tensor, where

from .functional_act import _tensor

__all__ = ["scaled_dot_product_attention", "bilinear"]


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
