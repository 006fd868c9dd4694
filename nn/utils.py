"""``nn.utils`` (as ``torch.nn.utils``): gradient clipping and flat parameter vectors.

* ``clip_grad_norm_``: scale all gradients by ``min(1, max_norm / (total_norm + 1e-6))``,
  where ``total_norm`` is the ``norm_type``-norm of all gradients together; returns it.
* ``clip_grad_value_``: clamp every gradient element to ``[-clip_value, clip_value]``.
* ``parameters_to_vector`` / ``vector_to_parameters``: one flat vector of all parameters
  (differentiable) and back (copied in place).
* ``nn.utils.rnn.pad_sequence``: variable-length sequences padded into one batch
  (``PackedSequence`` is not implemented).
"""
import math
import sys
import types

import numpy as np

from autograd import Tensor, cat, no_grad, pad, stack

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters"]


def _params(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grads(parameters):
    return [p.grad for p in _params(parameters) if p.grad is not None]


def _norm(a, norm_type):
    a = np.abs(a.reshape(-1))
    if math.isinf(norm_type):
        return a.max(initial=0.0) if norm_type > 0 else a.min(initial=np.inf)
    if norm_type == 0:
        return float((a != 0).sum())
    return (a ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the norms of ``tensors`` (a 0-d Tensor)."""
    tensors = _params(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(np.array(0.0, np.float32))
    dtype = tensors[0]._data.dtype
    total = _norm(np.array([_norm(t._data.astype(np.float64), norm_type) for t in tensors]),
                  norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           f"`parameters` is non-finite, so it cannot be clipped. To disable "
                           f"this error and scale the gradients by the non-finite norm anyway, "
                           f"set `error_if_nonfinite=False`")
    return Tensor(np.array(total, dtype=dtype))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``, in place."""
    coef = min(float(max_norm) / (float(total_norm.item() if isinstance(total_norm, Tensor)
                                        else total_norm) + 1e-6), 1.0)
    with no_grad():
        for g in _grads(parameters):
            g.mul_(coef)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Clip the gradients' total norm to ``max_norm`` (in place); returns the total norm
    before clipping (a 0-d Tensor)."""
    parameters = _params(parameters)
    grads = _grads(parameters)
    if not grads:
        return Tensor(np.array(0.0, np.float32))
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to ``[-clip_value, clip_value]``, in place."""
    v = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-v, v)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated (part of the graph, like torch's)."""
    return cat([p.reshape(-1) for p in _params(parameters)])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = _params(parameters)
    total = sum(p._data.size for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise RuntimeError(f"vector_to_parameters: vec of shape {tuple(vec.shape)} does not "
                           f"hold the {total} values of the parameters")
    offset = 0
    with no_grad():
        for p in params:
            n = p._data.size
            p.copy_(vec._data[offset:offset + n].reshape(p._data.shape))
            offset += n


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes ``(T_i, *)`` into ``(T_max, B, *)`` (``(B, T_max, *)`` with
    ``batch_first``), padded with ``padding_value`` on ``padding_side``; differentiable."""
    seqs = [s if isinstance(s, Tensor) else Tensor(np.asarray(s)) for s in sequences]
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    longest = max(s.shape[0] for s in seqs)
    out = []
    for s in seqs:
        extra = longest - s.shape[0]
        widths = [0, 0] * (s.ndim - 1) + ([extra, 0] if padding_side == "left" else [0, extra])
        out.append(pad(s, widths, value=padding_value) if extra else s)
    return stack(out, 0 if batch_first else 1)


rnn = types.ModuleType(__name__ + ".rnn", "Sequence helpers (``torch.nn.utils.rnn``).")
rnn.pad_sequence = pad_sequence
rnn.__all__ = ["pad_sequence"]
sys.modules[rnn.__name__] = rnn
__all__ += ["pad_sequence", "rnn"]
