"""nn.functional, part 3: more losses (re-exported by ``nn.functional``).

All are composites of autograd ops; ``reduction`` is ``'mean'``, ``'sum'`` or ``'none'``
(``kl_div`` also ``'batchmean'``), and the legacy ``size_average``/``reduce`` arguments are
translated as PyTorch does.
"""
import math
import warnings

import numpy as np

from autograd.function import Function
from autograd.tensor import Tensor, where

from .functional import _reduce, _reduction, _tensor
from .functional_act import _const, pairwise_distance

__all__ = [
    "huber_loss", "smooth_l1_loss", "kl_div", "poisson_nll_loss", "gaussian_nll_loss",
    "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
    "multi_margin_loss", "soft_margin_loss", "hinge_embedding_loss",
    "multilabel_soft_margin_loss", "multilabel_margin_loss",
]


def _pair(op, input, target):
    x, t = _tensor(input), _tensor(target)
    if tuple(x.shape) != tuple(t.shape):
        warnings.warn(f"Using a target size ({tuple(t.shape)}) that is different to the input "
                      f"size ({tuple(x.shape)}). This will likely lead to incorrect results due "
                      f"to broadcasting. Please ensure they have the same size.", stacklevel=3)
    return x, t


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5·d² where |d| < delta, delta·(|d| - delta/2) elsewhere (d = input - target)."""
    reduction = _reduction(reduction, None, None, "huber_loss")
    x, t = _pair("huber_loss", input, target)
    d = x - t
    a = d.abs()
    loss = where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * _tensor(weight)
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5·d²/beta where |d| < beta, |d| - beta/2 elsewhere (beta = 0: L1)."""
    reduction = _reduction(reduction, size_average, reduce, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, t = _pair("smooth_l1_loss", input, target)
    d = x - t
    a = d.abs()
    loss = a if beta == 0 else where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction)


class XLogYSelf(Function):
    """y = t·log(t), 0 at t = 0;  dL/dt = dL/dy · (log(t) + t/t)  (PyTorch's xlogy backward:
    NaN at t = 0, where the true derivative is -inf)"""
    backward_rule = "dL/dt = dL/dy · (log(t) + t / t)"

    @staticmethod
    def forward(ctx, t):
        ctx.save_for_backward(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(t == 0, 0.0, t * np.log(np.where(t == 0, 1.0, t))).astype(t.dtype)

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad * (t.log() + t / t)


def _xlogy_self(t):
    return XLogYSelf.apply(t)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence of ``target`` from ``input`` (log-probabilities):
    t·(log t - input), or exp(t)·(t - input) with ``log_target``."""
    if reduction == "batchmean":
        red = "batchmean"
    else:
        red = _reduction(reduction, size_average, reduce, "kl_div")
        if red == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          stacklevel=2)
    x, t = _tensor(input), _tensor(target)
    loss = t.exp() * (t - x) if log_target else _xlogy_self(t) - t * x
    if red == "batchmean":
        return loss.sum() / x.shape[0] if x.ndim else loss.sum()
    return _reduce(loss, red)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """exp(input) - target·input (``log_input``) or input - target·log(input + eps); ``full``
    adds Stirling's term target·log(target) - target + ½·log(2π·target) where target > 1."""
    reduction = _reduction(reduction, size_average, reduce, "poisson_nll_loss")
    x, t = _tensor(input), _tensor(target)
    loss = x.exp() - t * x if log_input else x - t * (x + eps).log()
    if full:
        big = t._data > 1
        safe = where(big, t, _const(t, 1.0))
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + where(big, stirling, _const(t, 0.0))
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """½·(log(max(var, eps)) + (input - target)²/max(var, eps)) (+ ½·log 2π if ``full``)."""
    reduction = _reduction(reduction, None, None, "gaussian_nll_loss")
    x, t, v = _tensor(input), _tensor(target), _tensor(var)
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v = v.unsqueeze(-1)
        elif not (x.shape[:-1] == v.shape[:-1] and v.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if (v._data < 0).any():
        raise ValueError("var has negative entry/entries")
    # PyTorch clamps a clone under no_grad: values clamped, gradient passes unchanged
    low = np.maximum(eps - v._data, 0).astype(v.dtype)
    if low.any():
        v = v + Tensor(low)
    loss = ((x - t) ** 2 / v + v.log()) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where target = 1, max(0, cos(x1, x2) - margin) where target = -1."""
    reduction = _reduction(reduction, size_average, reduce, "cosine_embedding_loss")
    a, b, y = _tensor(input1), _tensor(input2), _tensor(target)
    if a.shape != b.shape:
        raise RuntimeError(f"cosine_embedding_loss: input1 {tuple(a.shape)} and input2 "
                           f"{tuple(b.shape)} must have the same shape")
    dim = a.ndim - 1
    eps = 1e-12
    prod = (a * b).sum(dim)
    mag = ((a * a).sum(dim) + eps) * ((b * b).sum(dim) + eps)
    cos = prod / mag.sqrt()
    zeros = _const(cos, np.zeros(cos.shape))
    pos = where(y._data == 1, 1.0 - cos, zeros)
    neg = where(y._data == -1, (cos - margin).clamp(min=0.0), zeros)
    return _reduce(pos + neg, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target·(input1 - input2) + margin)."""
    reduction = _reduction(reduction, size_average, reduce, "margin_ranking_loss")
    a, b, y = _tensor(input1), _tensor(input2), _tensor(target)
    if a.ndim != b.ndim or a.ndim != y.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {tuple(a.shape)}, input2: {tuple(b.shape)}, "
                           f"target: {tuple(y.shape)} ")
    return _reduce((-y * (a - b) + margin).clamp(min=0.0), reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) with d the pairwise p-distance (``swap``: use
    min(d(a, n), d(p, n)))."""
    reduction = _reduction(reduction, size_average, reduce, "triplet_margin_loss")
    a, pos, neg = _tensor(anchor), _tensor(positive), _tensor(negative)
    if not (a.ndim == pos.ndim == neg.ndim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {a.ndim}D, "
                           f"positive {pos.ndim}D, and negative {neg.ndim}D inputs")
    d_ap = pairwise_distance(a, pos, p, eps)
    d_an = pairwise_distance(a, neg, p, eps)
    if swap:
        d_an = d_an.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce((d_ap - d_an + margin).clamp(min=0.0), reduction)


def _targets(op, target, n, c):
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected integer class indices as target, got {t.dtype}")
    t = t.reshape(-1)
    if t.shape[0] != n:
        raise RuntimeError(f"{op}: inconsistent target size: {tuple(t.shape)} for input of "
                           f"{n} samples")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise IndexError(f"{op}: target out of range for {c} classes")
    return t


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Σ_{j≠y} max(0, margin - x[y] + x[j])^p / C per sample (times weight[y])."""
    reduction = _reduction(reduction, size_average, reduce, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = _tensor(input)
    x2 = x.reshape(1, -1) if x.ndim <= 1 else x
    if x2.ndim != 2:
        raise RuntimeError(f"multi_margin_loss: expected 1-D or 2-D input, got "
                           f"{tuple(x.shape)}")
    n, c = x2.shape
    t = _targets("multi_margin_loss", target, n, c)
    rows = np.arange(n)
    xy = x2[rows, t].reshape(n, 1)
    z = (x2 - xy + margin).clamp(min=0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        w = _tensor(weight)._data[t].reshape(n, 1)
        z = z * Tensor(w.astype(z.dtype))
    other = (np.arange(c)[None, :] != t[:, None]).astype(z.dtype)
    loss = (z * Tensor(other)).sum(1) / c
    if x.ndim <= 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target·input))."""
    from .functional import logsigmoid
    reduction = _reduction(reduction, size_average, reduce, "soft_margin_loss")
    x, y = _pair("soft_margin_loss", input, target)
    return _reduce(-logsigmoid(y * x), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where target = 1, max(0, margin - x) where target = -1."""
    reduction = _reduction(reduction, size_average, reduce, "hinge_embedding_loss")
    x, y = _tensor(input), _tensor(target)
    zeros = _const(x, np.zeros(np.broadcast_shapes(x.shape, y.shape)))
    pos = where(y._data == 1, x, zeros)
    neg = where(y._data == -1, (margin - x).clamp(min=0.0), zeros)
    return _reduce(pos + neg, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """-mean_c [y·log σ(x) + (1 - y)·log σ(-x)] per sample."""
    from .functional import logsigmoid
    reduction = _reduction(reduction, size_average, reduce, "multilabel_soft_margin_loss")
    x, y = _tensor(input), _tensor(target)
    loss = -(y * logsigmoid(x) + (1.0 - y) * logsigmoid(-x))
    if weight is not None:
        loss = loss * _tensor(weight)
    loss = loss.mean(x.ndim - 1)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Σ_{j in targets, i not in targets} max(0, 1 - (x[j] - x[i])) / C; the target row lists
    class indices and ends at the first -1."""
    reduction = _reduction(reduction, size_average, reduce, "multilabel_margin_loss")
    x = _tensor(input)
    x2 = x.reshape(1, -1) if x.ndim <= 1 else x
    n, c = x2.shape
    t = (target._data if isinstance(target, Tensor) else np.asarray(target)).reshape(n, c)
    valid = np.cumprod(t >= 0, axis=1).astype(bool)            # before the first -1
    is_target = np.zeros((n, c), dtype=bool)
    rows = np.repeat(np.arange(n), c)[valid.reshape(-1)]
    is_target[rows, t[valid]] = True
    pair = is_target[:, :, None] & ~is_target[:, None, :]        # (j target, i non-target)
    z = (1.0 - (x2.unsqueeze(2) - x2.unsqueeze(1))).clamp(min=0.0)
    loss = (z * Tensor(pair.astype(z.dtype))).sum((1, 2)) / c
    if x.ndim <= 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)



_NEG = -1e30   # "log 0" for CTC's unreachable states: finite, so no NaN gradients


def _ctc_targets(targets, target_lengths, n):
    t = np.asarray(getattr(targets, "_data", targets))
    lens = np.asarray(getattr(target_lengths, "_data", target_lengths), dtype=np.int64)
    lens = np.broadcast_to(lens, (n,)) if lens.ndim == 0 else lens
    if t.ndim == 2:
        return t.astype(np.int64), lens
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])     # concatenated 1-D form
    s = int(lens.max()) if n else 0
    padded = np.zeros((n, s), np.int64)
    for i in range(n):
        padded[i, :lens[i]] = t[starts[i]:starts[i] + lens[i]]
    return padded, lens


def _softmax_term(lp, ilen):
    """Zero in value, exp(log_probs) in gradient over each sequence's time steps: PyTorch's
    CTC backward returns the gradient with respect to the logits under the log_softmax
    (``exp(lp) - γ``), not with respect to ``log_probs`` (``-γ``). Both give the same gradient
    once it has gone back through ``log_softmax`` (Σ_c γ = Σ_c exp(lp) = 1)."""
    steps = (np.arange(lp.shape[0])[:, None] < ilen[None, :])[:, :, None]
    e = lp.exp() * Tensor(steps.astype(lp.dtype))
    return (e - e.detach()).sum((0, 2))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification: -log Σ over the alignments of each target
    (blanks between and around its labels, repeats merged) of Π log_probs, by the forward
    (alpha) recursion over time; ``log_probs`` is (T, N, C) (or (T, C)), ``targets`` (N, S)
    or concatenated. ``'mean'`` divides each loss by its target length, then averages."""
    reduction = _reduction(reduction, None, None, "ctc_loss")
    lp = _tensor(log_probs)
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp.unsqueeze(1)
    T, n, _ = lp.shape
    tg, tlen = _ctc_targets(targets, target_lengths, n)
    if unbatched and tg.ndim == 2 and tg.shape[0] != 1:
        tg = tg.reshape(1, -1)
    ilen = np.asarray(getattr(input_lengths, "_data", input_lengths), dtype=np.int64)
    ilen = np.broadcast_to(ilen, (n,)) if ilen.ndim == 0 else ilen
    S = 2 * tg.shape[1] + 1
    ext = np.full((n, S), blank, np.int64)
    ext[:, 1::2] = tg
    skip = np.zeros((n, S), bool)                  # s may come from s - 2
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    lp_ext = lp[:, np.arange(n)[:, None], ext]     # (T, N, S)
    neg = Tensor(np.full((n, 1), _NEG, lp.dtype))
    init = np.full((n, S), _NEG, lp.dtype)
    init[:, :2] = 0
    start = np.zeros((n, S), bool)
    start[:, :2] = True
    alpha = where(start, lp_ext[0], Tensor(init))
    skip_t = Tensor(np.where(skip, 0.0, _NEG).astype(lp.dtype))
    from autograd import cat, stack
    for t in range(1, T):
        prev1 = cat([neg, alpha[:, :-1]], 1)
        prev2 = cat([neg, neg, alpha[:, :-2]], 1) + skip_t
        new = stack([alpha, prev1, prev2], 0).logsumexp(0) + lp_ext[t]
        alpha = where((t < ilen)[:, None], new, alpha)
    rows = np.arange(n)
    last = alpha[rows, 2 * tlen]
    before = alpha[rows, np.maximum(2 * tlen - 1, 0)]
    before = where(tlen > 0, before, Tensor(np.full(n, _NEG, lp.dtype)))
    loglik = stack([last, before], 0).logsumexp(0)
    infeasible = loglik._data < _NEG / 2
    loss = -loglik + _softmax_term(lp, ilen)
    if infeasible.any():
        fill = 0.0 if zero_infinity else np.inf
        loss = where(infeasible, Tensor(np.full(n, fill, lp.dtype)), loss)
    if unbatched:
        loss = loss.reshape(())
    if reduction == "mean":
        return (loss / Tensor(np.maximum(tlen, 1).astype(lp.dtype))).mean()
    return _reduce(loss, reduction)


__all__.append("ctc_loss")
