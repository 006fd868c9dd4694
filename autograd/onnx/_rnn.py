"""ONNX for ``nn.RNN``/``nn.LSTM``/``nn.GRU``: one ONNX ``RNN``/``LSTM``/``GRU`` node per
layer (both directions in one node), instead of the unrolled time steps ndgrad runs.

ONNX orders the gates differently from PyTorch (LSTM: i, o, f, c instead of i, f, g, o;
GRU: z, r, h instead of r, z, n), so the weights become reordered constants ``W``, ``R``
and ``B`` (``B`` = input and hidden biases side by side); GRU uses
``linear_before_reset=1``, which is PyTorch's formula. Layer outputs ``Y`` (seq, dirs,
batch, H) are reshaped to (seq, batch, dirs·H) for the next layer, as PyTorch returns them.
"""
import numpy as np

from ._graph import UnsupportedOperatorError

_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def _reorder(arr, mode, hidden):
    chunks = [arr[i * hidden:(i + 1) * hidden] for i in range(len(_ORDER[mode]))]
    return np.concatenate([chunks[i] for i in _ORDER[mode]], axis=0)


def _layer_weights(g, module, layer, dirs, scope):
    mode, hidden = module.mode, module.hidden_size
    ws, rs, bs = [], [], []
    for d in range(dirs):
        w_ih, w_hh, b_ih, b_hh = module._weights(layer, d)
        ws.append(_reorder(w_ih._data, mode, hidden))
        rs.append(_reorder(w_hh._data, mode, hidden))
        zeros = np.zeros(w_ih._data.shape[0], w_ih._data.dtype)
        bs.append(np.concatenate([_reorder(b._data if b is not None else zeros, mode, hidden)
                                  for b in (b_ih, b_hh)]))
    return [g.const(np.stack(a), hint=f"{scope}.onnx_{n}_l{layer}")
            for n, a in (("W", ws), ("R", rs), ("B", bs))]


def _initial(g, state, layer, dirs):
    """The layer's slice of an initial state (num_layers·dirs, N, H), or '' for zeros."""
    if state is None:
        return ""
    return g.node("Slice", [g.name_of(state), g.ints([layer * dirs], "starts"),
                            g.ints([(layer + 1) * dirs], "ends"), g.ints([0], "axes")])


def export_rnn(g, module, args, result):
    """Append the nodes of ``module(*args)`` (which returned ``result``); bind its outputs."""
    input = args[0]
    hx = args[1] if len(args) > 1 else None
    mode = module.mode
    if input._data.ndim != 3:
        raise UnsupportedOperatorError(f"{type(module).__name__}: only batched (3-D) input "
                                       f"can be exported, got shape {input._data.shape}")
    h0, c0 = (hx if isinstance(hx, (tuple, list)) else (hx, None))
    dirs = 2 if module.bidirectional else 1
    scope = g.scope or type(module).__name__.lower()
    x = g.name_of(input)
    if module.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    attrs = dict(hidden_size=module.hidden_size,
                 direction="bidirectional" if dirs == 2 else "forward")
    if mode == "GRU":
        attrs["linear_before_reset"] = 1
    elif mode.startswith("RNN"):
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * dirs
    op = "LSTM" if mode == "LSTM" else "GRU" if mode == "GRU" else "RNN"
    hs, cs = [], []
    for layer in range(module.num_layers):
        w, r, b = _layer_weights(g, module, layer, dirs, scope)
        inputs = [x, w, r, b, "", _initial(g, h0, layer, dirs)]
        if op == "LSTM":
            inputs.append(_initial(g, c0, layer, dirs))
        while inputs[-1] == "":  # omitted optional inputs (zero initial states)
            inputs.pop()
        outs = g.node(op, inputs, n_outputs=3 if op == "LSTM" else 2, **attrs)
        y = g.node("Transpose", [outs[0]], perm=[0, 2, 1, 3])     # (seq, N, dirs, H)
        x = g.node("Reshape", [y, g.ints([0, 0, -1])])
        hs.append(outs[1])
        if op == "LSTM":
            cs.append(outs[2])
    out = g.node("Transpose", [x], perm=[1, 0, 2]) if module.batch_first else x
    output, state = result
    g.bind(output, out)
    h_n = hs[0] if len(hs) == 1 else g.node("Concat", hs, axis=0)
    if op == "LSTM":
        g.bind(state[0], h_n)
        g.bind(state[1], cs[0] if len(cs) == 1 else g.node("Concat", cs, axis=0))
    else:
        g.bind(state, h_n)
