"""``MultiheadAttention`` (as ``torch.nn.MultiheadAttention``), a composite of linear maps,
batched matrix products and softmax.

Parameter names match PyTorch's state dict: ``in_proj_weight`` ``(3E, E)`` and
``in_proj_bias`` when query, key and value share the embedding size (else
``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``), ``bias_k``/``bias_v`` with
``add_bias_kv``, and ``out_proj.weight``/``out_proj.bias``. For each head,

    attention(Q, K, V) = softmax(Q·Kᵀ/√d + mask)·V,   d = E / num_heads

Masks follow PyTorch's MultiheadAttention convention: in a boolean ``attn_mask`` or
``key_padding_mask`` True marks a position that may NOT be attended; float masks are added
to the scores.
"""
import math

import numpy as np

import autograd
from autograd import Tensor

from . import functional as F
from . import init
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


def _float_mask(mask, dtype, name):
    """A float additive mask (-inf where a boolean mask is True)."""
    if mask is None:
        return None
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype == bool:
        return Tensor(np.where(m, -np.inf, 0.0).astype(dtype))
    if m.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask if isinstance(mask, Tensor) else Tensor(m.astype(dtype))


class MultiheadAttention(Module):
    """Multi-head attention: ``forward(query, key, value)`` returns ``(output, weights)``
    with output ``(L, N, E)`` (``(N, L, E)`` if ``batch_first``) and the attention weights
    ``(N, L, S)`` averaged over heads (``average_attn_weights=False``: ``(N, H, L, S)``)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.add_zero_attn = add_zero_attn
        dt = np.dtype(dtype) if dtype is not None else None
        out = Linear(embed_dim, embed_dim, bias=bias, dtype=dt)
        dt = out.weight.dtype
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dt))
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        else:
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dt))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dt))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dt))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = out
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dt))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dt))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _projections(self, query, key, value):
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        q_in, k_in, v_in = (x if isinstance(x, Tensor) else Tensor(x)
                            for x in (query, key, value))
        unbatched = q_in.ndim == 2
        if q_in.ndim not in (2, 3):
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but "
                                 f"received {q_in.ndim}-D query tensor")
        if unbatched:
            q_in, k_in, v_in = q_in.unsqueeze(1), k_in.unsqueeze(1), v_in.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(getattr(key_padding_mask, "_data",
                                                      key_padding_mask))[None]
        elif self.batch_first:
            q_in, k_in, v_in = (x.transpose(0, 1) for x in (q_in, k_in, v_in))
        if q_in.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, "
                                 f"but got {q_in.shape[-1]}")
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask`"
                               " to create this mask.")
        out, weights = self._attend(q_in, k_in, v_in, key_padding_mask, attn_mask,
                                    need_weights, average_attn_weights)
        if unbatched:
            out = out.squeeze(1)
            weights = weights.squeeze(0) if weights is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _attend(self, q_in, k_in, v_in, key_padding_mask, attn_mask, need_weights, average):
        L, N, E = q_in.shape
        H, d = self.num_heads, self.head_dim
        q, k, v = self._projections(q_in, k_in, v_in)
        mask = _float_mask(attn_mask, q.dtype, "attn_mask")
        kpm = _float_mask(key_padding_mask, q.dtype, "key_padding_mask")
        if mask is not None and mask.ndim == 2:
            mask = mask.unsqueeze(0)
        if self.bias_k is not None:
            k = autograd.cat([k, self.bias_k.expand(1, N, E)], 0)
            v = autograd.cat([v, self.bias_v.expand(1, N, E)], 0)
            mask = F.pad(mask, (0, 1)) if mask is not None else None
            kpm = F.pad(kpm, (0, 1)) if kpm is not None else None
        q = q.reshape(L, N * H, d).transpose(0, 1)                 # (N·H, L, d)
        k = k.reshape(k.shape[0], N * H, d).transpose(0, 1)        # (N·H, S, d)
        v = v.reshape(v.shape[0], N * H, d).transpose(0, 1)
        if self.add_zero_attn:
            zeros = Tensor(np.zeros((N * H, 1, d), q.dtype))
            k, v = autograd.cat([k, zeros], 1), autograd.cat([v, zeros], 1)
            mask = F.pad(mask, (0, 1)) if mask is not None else None
            kpm = F.pad(kpm, (0, 1)) if kpm is not None else None
        S = k.shape[1]
        if kpm is not None:
            kpm = kpm.reshape(N, 1, 1, S).expand(N, H, 1, S).reshape(N * H, 1, S)
            mask = kpm if mask is None else mask + kpm
        scores = (q * math.sqrt(1.0 / d)) @ k.transpose(-2, -1)   # (N·H, L, S)
        if mask is not None:
            scores = scores + mask
        w = scores.softmax(-1)
        if self.dropout > 0.0 and self.training:
            w = F.dropout(w, self.dropout, True)
        out = (w @ v).transpose(0, 1).reshape(L * N, E)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias).reshape(L, N, E)
        if not need_weights:
            return out, None
        w = w.reshape(N, H, L, S)
        return out, (w.mean(1) if average else w)
