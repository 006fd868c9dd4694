"""``nn.utils`` (as ``torch.nn.utils``): gradient clipping and flat parameter vectors.

* ``clip_grad_norm_``: scale all gradients by ``min(1, max_norm / (total_norm + 1e-6))``,
  where ``total_norm`` is the ``norm_type``-norm of all gradients together; returns it.
* ``clip_grad_value_``: clamp every gradient element to ``[-clip_value, clip_value]``.
* ``parameters_to_vector`` / ``vector_to_parameters``: one flat vector of all parameters
  (differentiable) and back (copied in place).
* ``nn.utils.rnn``: ``pad_sequence``, ``pack_padded_sequence`` / ``pad_packed_sequence`` /
  ``pack_sequence`` and ``PackedSequence`` (which RNN, LSTM and GRU accept).
"""
import math
import sys
import types
from collections import namedtuple

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


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                                    "unsorted_indices"])):
    """Variable-length sequences packed time step by time step (as PyTorch's): ``data`` holds
    step 0 of every sequence, then step 1 of those still running, ...; ``batch_sizes[t]``
    says how many sequences are still running at step t (sequences sorted by decreasing
    length; ``sorted_indices`` / ``unsorted_indices`` map to and from the caller's order)."""

    def _padded_index(self):
        """(T, B) positions in ``data`` of each (step, sorted sequence), -1 past its end."""
        sizes = np.asarray(self.batch_sizes._data)
        idx = np.full((len(sizes), int(sizes[0]) if len(sizes) else 0), -1, np.int64)
        offset = 0
        for t, n in enumerate(sizes.tolist()):
            idx[t, :n] = np.arange(offset, offset + n)
            offset += n
        return idx


def _raw_lengths(lengths):
    arr = np.asarray(getattr(lengths, "_data", lengths))
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise RuntimeError("lengths must be a 1-D sequence of integers")
    return arr.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` if ``batch_first``) of sequences with
    the given lengths."""
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    lengths = _raw_lengths(lengths)
    if batch_first:
        x = x.transpose(0, 1)
    if len(lengths) != x.shape[1]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lengths)} (batch_size={x.shape[1]})")
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        sorted_idx = unsorted_idx = None
        order = np.arange(len(lengths))
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_idx, unsorted_idx = Tensor(order), Tensor(np.argsort(order, kind="stable"))
    lengths = lengths[order]
    if lengths.size and lengths[0] > x.shape[0]:
        raise RuntimeError(f"lengths {lengths[0]} exceed the padded length {x.shape[0]}")
    batch_sizes = (lengths[None, :] > np.arange(int(lengths[0]))[:, None]).sum(1)
    steps, seqs = np.nonzero(np.arange(int(lengths[0]))[:, None] < lengths[None, :])
    data = x[steps, order[seqs]]
    return PackedSequence(data, Tensor(batch_sizes.astype(np.int64)), sorted_idx, unsorted_idx)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)`` in the caller's order."""
    data = sequence.data
    idx = sequence._padded_index()
    steps = idx.shape[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        idx = np.concatenate([idx, np.full((total_length - steps, idx.shape[1]), -1)], 0)
    fill = Tensor(np.full((1,) + tuple(data.shape[1:]), padding_value, data.dtype))
    padded = cat([data, fill], 0)[np.where(idx < 0, data.shape[0], idx)]
    lengths = (idx >= 0).sum(0)
    if sequence.unsorted_indices is not None:
        order = np.asarray(sequence.unsorted_indices._data)
        padded, lengths = padded[:, order], lengths[order]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, Tensor(lengths.astype(np.int64))


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of ``(T_i, *)`` sequences."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


rnn = types.ModuleType(__name__ + ".rnn", "Sequence helpers (``torch.nn.utils.rnn``).")
for _name in ("pad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence",
              "pack_sequence"):
    setattr(rnn, _name, globals()[_name])
rnn.__all__ = ["pad_sequence", "PackedSequence", "pack_padded_sequence",
               "pad_packed_sequence", "pack_sequence"]
sys.modules[rnn.__name__] = rnn
__all__ += rnn.__all__ + ["rnn"]
