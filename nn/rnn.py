"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` and their cells, as composites of autograd ops
(the engine derives backpropagation through time).

Parameters carry PyTorch's names and shapes, so ``state_dict`` keys match
``torch.nn.LSTM``'s: per layer ``k`` and direction (suffix ``""`` or ``"_reverse"``)
``weight_ih_l{k}`` ``(G·H, input)``, ``weight_hh_l{k}`` ``(G·H, H)``, ``bias_ih_l{k}``,
``bias_hh_l{k}`` (``G`` = 1 for RNN, 4 for LSTM, 3 for GRU), all initialised from
U(-1/√H, 1/√H). Gate order and equations are PyTorch's:

* RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)   (or relu)
* LSTM: i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh);
  c' = f·c + i·g,  h' = o·tanh(c')
* GRU:  r, z = σ(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z});
  n = tanh(W_in x + b_in + r·(W_hn h + b_hn));  h' = (1 - z)·n + z·h

The input projection of every time step is one matrix product over the whole sequence;
only ``h @ W_hhᵀ`` runs per step. A ``PackedSequence`` (``nn.utils.rnn``) is accepted as
input (and returned as output), as in PyTorch.
"""
import importlib
import math
import numbers

import numpy as np

import autograd
from autograd import Tensor

from . import functional as F
from . import init
from .module import Module, Parameter
from .utils import PackedSequence

_tensor_module = importlib.import_module("autograd.tensor")

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _cell_step(mode, gx, h, c, w_hh, b_hh):
    """One time step: ``gx`` = W_ih x + b_ih (N, G·H) precomputed; returns (h', c')."""
    gh = F.linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return (gx + gh).tanh(), None
    if mode == "RNN_RELU":
        return (gx + gh).relu(), None
    if mode == "LSTM":
        i, f, g, o = (gx + gh).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c
    xr, xz, xn = gx.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n), None            # (1 - z)·n + z·h


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU (``mode`` picks the cell)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if proj_size:
            raise NotImplementedError("LSTM proj_size is not supported by ndgrad")
        self.mode = mode
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bias = num_layers, bias
        self.batch_first, self.dropout = batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        dtype = np.dtype(dtype) if dtype is not None else _tensor_module.default_dtype
        gate = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gate, layer_in)), ("weight_hh", (gate, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                for name, shape in shapes:
                    setattr(self, name + sfx, Parameter(np.empty(shape, dtype)))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    @property
    def all_weights(self):
        per = 4 if self.bias else 2
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def flatten_parameters(self):
        """No-op (PyTorch compacts cuDNN weights here)."""

    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
        b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
        b_hh = getattr(self, "bias_hh" + sfx) if self.bias else None
        return w_ih, w_hh, b_ih, b_hh

    def _check_input(self, x, hx):
        if x.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{x.ndim}D instead")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")

    def _initial(self, hx, n, dtype, unbatched):
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, n, self.hidden_size)
        if hx is None:
            return Tensor(np.zeros(shape, dtype))
        hx = hx if isinstance(hx, Tensor) else Tensor(hx)
        if unbatched:
            if hx.ndim != 2:
                raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got "
                                   f"{hx.ndim}-D tensor")
            hx = hx.unsqueeze(1)
        if tuple(hx.shape) != shape:
            raise RuntimeError(f"Expected hidden size {shape}, got {tuple(hx.shape)}")
        return hx

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        x = input if isinstance(input, Tensor) else Tensor(input)
        self._check_input(x, hx)
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        n = x.shape[1]
        h0, c0 = self._states(hx, n, x.dtype, unbatched)
        out, h_n, c_n = self._run(x, h0, c0)
        if unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def _states(self, hx, n, dtype, unbatched):
        """(h_0, c_0): given or zeros (c_0 None except for LSTM)."""
        if self.mode != "LSTM":
            return self._initial(hx, n, dtype, unbatched), None
        if hx is None:
            h0 = self._initial(None, n, dtype, unbatched)
            return h0, h0
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise RuntimeError("LSTM expects hx as a tuple (h_0, c_0)")
        return (self._initial(hx[0], n, dtype, unbatched),
                self._initial(hx[1], n, dtype, unbatched))

    def _forward_packed(self, packed, hx):
        """A PackedSequence in, a PackedSequence out: the padded batch runs with each
        sequence's state frozen past its end (the same numbers as stepping through the
        packed batches), and h_n holds each sequence's state at its own last step."""
        idx = packed._padded_index()
        data = packed.data
        if data.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.shape[-1]}")
        zero = Tensor(np.zeros((1,) + tuple(data.shape[1:]), data.dtype))
        x = autograd.cat([data, zero], 0)[np.where(idx < 0, data.shape[0], idx)]
        n = x.shape[1]
        order = packed.sorted_indices
        if hx is not None and order is not None:
            pick = np.asarray(order._data)
            hx = tuple(h[:, pick] for h in hx) if isinstance(hx, (tuple, list)) else hx[:, pick]
        h0, c0 = self._states(hx, n, x.dtype, False)
        out, h_n, c_n = self._run(x, h0, c0, valid=idx >= 0)
        out = out[np.nonzero(idx >= 0)]          # back to the packed order
        if packed.unsorted_indices is not None:
            back = np.asarray(packed.unsorted_indices._data)
            h_n = h_n[:, back]
            c_n = c_n[:, back] if c_n is not None else None
        result = PackedSequence(out, packed.batch_sizes, packed.sorted_indices,
                                packed.unsorted_indices)
        return result, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def _run(self, x, h0, c0, valid=None):
        """All layers and directions over (L, N, features); ``valid`` (L, N) marks the real
        steps of variable-length sequences (elsewhere the state is carried unchanged)."""
        dirs = 2 if self.bidirectional else 1
        length = x.shape[0]
        keep = None if valid is None else valid[:, :, None]
        hs, cs = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                gx = F.linear(layer_input, w_ih, b_ih)              # (L, N, G·H), one product
                h, c = h0[k], (c0[k] if c0 is not None else None)
                steps = [None] * length
                order = range(length - 1, -1, -1) if d else range(length)
                for t in order:
                    h_new, c_new = _cell_step(self.mode, gx[t], h, c, w_hh, b_hh)
                    if keep is not None:
                        h_new = autograd.where(keep[t], h_new, h)
                        c_new = autograd.where(keep[t], c_new, c) if c is not None else None
                    h, c = h_new, c_new
                    steps[t] = h
                outs.append(autograd.stack(steps, 0))
                hs.append(h)
                cs.append(c)
            layer_input = outs[0] if dirs == 1 else autograd.cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        h_n = autograd.stack(hs, 0)
        c_n = autograd.stack(cs, 0) if self.mode == "LSTM" else None
        return layer_input, h_n, c_n

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (``nonlinearity='relu'``: relu).
    ``forward(input, h_0=None)`` returns ``(output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory. ``forward(input, (h_0, c_0)=None)`` returns
    ``(output, (h_n, c_n))``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit. ``forward(input, h_0=None)`` returns ``(output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# ---------------------------------------------------------------------------------- cells
class _CellBase(Module):
    _mode = None

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = np.dtype(dtype) if dtype is not None else _tensor_module.default_dtype
        gate = _GATES[self._mode] * hidden_size
        self.weight_ih = Parameter(np.empty((gate, input_size), dtype))
        self.weight_hh = Parameter(np.empty((gate, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.empty((gate,), dtype))
            self.bias_hh = Parameter(np.empty((gate,), dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def _prepare(self, input, hx):
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{x.ndim}D instead")
        unbatched = x.ndim == 1
        if unbatched:
            x = x.unsqueeze(0)
        if hx is None:
            zeros = Tensor(np.zeros((x.shape[0], self.hidden_size), x.dtype))
            hx = (zeros, zeros) if self._mode == "LSTM" else zeros
        elif unbatched:
            hx = tuple(h.unsqueeze(0) for h in hx) if self._mode == "LSTM" else hx.unsqueeze(0)
        return x, hx, unbatched

    def forward(self, input, hx=None):
        x, hx, unbatched = self._prepare(input, hx)
        h, c = (hx if self._mode == "LSTM" else (hx, None))
        gx = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = _cell_step(self._mode, gx, h, c, self.weight_hh, self.bias_hh)
        if self._mode == "LSTM":
            return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)
        return h.squeeze(0) if unbatched else h

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(_CellBase):
    _mode = "RNN_TANH"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.__dict__["_mode"] = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(_CellBase):
    _mode = "LSTM"


class GRUCell(_CellBase):
    _mode = "GRU"
