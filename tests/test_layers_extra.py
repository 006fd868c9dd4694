"""Layers of nn/rnn.py, nn/attention.py, nn/layers_extra.py and the new activation, loss and
normalisation modules: PyTorch's state-dict keys and shapes; with a torch layer's weights
loaded, the same outputs and gradients (float64, skipped without torch); argument errors."""
import numpy as np
import pytest

import autograd as A
import nn
from autograd import Tensor

R = np.random.default_rng(0)


def _torch_pair(ctor_nd, ctor_th):
    """(ndgrad module, torch module) in float64 with the torch module's weights copied."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    th = ctor_th(torch.nn).double()
    nd = ctor_nd(nn).double()
    assert list(nd.state_dict()) == list(th.state_dict())
    nd.load_state_dict({k: v.detach().numpy() for k, v in th.state_dict().items()})
    return nd, th


def _compare(nd_out, th_out, rtol=1e-9):
    nd_flat, th_flat = [], []

    def flat(o, acc):
        if isinstance(o, (tuple, list)):
            for x in o:
                flat(x, acc)
        elif o is not None:
            acc.append(o)
    flat(nd_out, nd_flat)
    flat(th_out, th_flat)
    assert len(nd_flat) == len(th_flat)
    for a, b in zip(nd_flat, th_flat):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a._data, b.detach().numpy(), rtol=rtol, atol=1e-12)
    return nd_flat, th_flat


def _check(nd, th, arrays, call=lambda m, *x: m(*x), rtol=1e-9, grad_rtol=1e-8):
    """Forward on the same inputs, then gradients of a random projection of every output
    with respect to the inputs and every parameter."""
    import torch
    xs_nd = [Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    xs_th = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    nd_flat, th_flat = _compare(call(nd, *xs_nd), call(th, *xs_th), rtol)
    ups = [R.standard_normal(t.shape) for t in th_flat]
    loss_nd = sum(((o * Tensor(u)).sum() for o, u in zip(nd_flat, ups)), Tensor(0.0))
    loss_th = sum((o * torch.tensor(u)).sum() for o, u in zip(th_flat, ups))
    loss_nd.backward()
    loss_th.backward()
    for (name, p), (_, q) in zip(nd.named_parameters(), th.named_parameters()):
        np.testing.assert_allclose(p.grad._data, q.grad.numpy(), rtol=1e-8, atol=1e-11,
                                   err_msg=name)
    for a, b in zip(xs_nd, xs_th):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad._data, b.grad.numpy(), rtol=grad_rtol, atol=1e-11)


RNN_CASES = [
    ("RNN", dict(num_layers=2)),
    ("RNN", dict(nonlinearity="relu", bidirectional=True)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(bias=False)),
    ("GRU", dict(num_layers=2, batch_first=True)),
    ("GRU", dict(bidirectional=True)),
]


@pytest.mark.parametrize("kind, kw", RNN_CASES, ids=[f"{k}-{v}" for k, v in RNN_CASES])
def test_recurrent_layers_match_torch(kind, kw):
    nd, th = _torch_pair(lambda m: getattr(m, kind)(3, 4, **kw),
                         lambda m: getattr(m, kind)(3, 4, **kw))
    x = R.standard_normal((2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    _check(nd, th, [x])


def test_recurrent_layers_with_initial_state_and_unbatched():
    torch = pytest.importorskip("torch")
    nd, th = _torch_pair(lambda m: m.LSTM(3, 4, num_layers=2), lambda m: m.LSTM(3, 4, 2))
    x, h, c = R.standard_normal((6, 2, 3)), R.standard_normal((2, 2, 4)), \
        R.standard_normal((2, 2, 4))
    _check(nd, th, [x, h, c], call=lambda m, x, h, c: m(x, (h, c)))
    nd, th = _torch_pair(lambda m: m.GRU(3, 4), lambda m: m.GRU(3, 4))
    _check(nd, th, [R.standard_normal((6, 3)), R.standard_normal((1, 4))])
    del torch


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind):
    nd, th = _torch_pair(lambda m: getattr(m, kind)(3, 4), lambda m: getattr(m, kind)(3, 4))
    _check(nd, th, [R.standard_normal((2, 3))])


MHA_CASES = [
    dict(),
    dict(batch_first=True, bias=False),
    dict(add_bias_kv=True, add_zero_attn=True),
    dict(kdim=5, vdim=3),
]


@pytest.mark.parametrize("kw", MHA_CASES, ids=[str(k) for k in MHA_CASES])
def test_multihead_attention_matches_torch(kw):
    nd, th = _torch_pair(lambda m: m.MultiheadAttention(8, 2, **kw),
                         lambda m: m.MultiheadAttention(8, 2, **kw))
    q = R.standard_normal((2, 4, 8) if kw.get("batch_first") else (4, 2, 8))
    k = R.standard_normal((2, 6, kw.get("kdim", 8)) if kw.get("batch_first")
                          else (6, 2, kw.get("kdim", 8)))
    v = R.standard_normal(k.shape[:-1] + (kw.get("vdim", 8),))
    _check(nd, th, [q, k, v])


def test_multihead_attention_masks_match_torch():
    torch = pytest.importorskip("torch")
    nd, th = _torch_pair(lambda m: m.MultiheadAttention(8, 2), lambda m: m.MultiheadAttention(8, 2))
    q = R.standard_normal((4, 2, 8))
    causal = np.triu(np.ones((4, 4), bool), 1)
    pad = np.array([[False, False, False, True], [False, False, False, False]])
    for kwargs in (dict(attn_mask=causal), dict(key_padding_mask=pad),
                   dict(attn_mask=R.standard_normal((4, 4)), need_weights=False),
                   dict(attn_mask=causal, key_padding_mask=pad, average_attn_weights=False)):
        nd_kw = {k: (Tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        th_kw = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v)
                 for k, v in kwargs.items()}
        _check(nd, th, [q, q, q], call=lambda m, *x, _n=nd_kw, _t=th_kw:
               m(*x, **(_n if m is nd else _t)))
        nd.zero_grad()
        th.zero_grad()


LAYERS = [
    ("GELU", (), (3, 4)), ("SiLU", (), (3, 4)), ("ELU", (0.5,), (3, 4)), ("SELU", (), (3, 4)),
    ("CELU", (), (3, 4)), ("ReLU6", (), (3, 4)), ("Hardtanh", (-0.5, 0.5), (3, 4)),
    ("Hardswish", (), (3, 4)), ("Hardsigmoid", (), (3, 4)), ("Mish", (), (3, 4)),
    ("Softsign", (), (3, 4)), ("Softmin", (1,), (3, 4)), ("Tanhshrink", (), (3, 4)),
    ("Softshrink", (0.3,), (3, 4)), ("Threshold", (0.1, 2.0), (3, 4)),
    ("GLU", (), (3, 4)), ("PReLU", (3,), (2, 3, 4)), ("LogSigmoid", (), (3, 4)),
    ("Softplus", (2.0,), (3, 4)), ("GroupNorm", (2, 4), (2, 4, 3)),
    ("InstanceNorm1d", (3, 1e-5, 0.1, True), (2, 3, 5)),
    ("InstanceNorm2d", (3,), (2, 3, 4, 4)), ("LocalResponseNorm", (2,), (2, 4, 3, 3)),
    ("Upsample", (None, 2, "bilinear"), (1, 2, 3, 3)), ("PixelShuffle", (2,), (1, 4, 2, 3)),
    ("AdaptiveMaxPool2d", ((2, 3),), (1, 2, 5, 7)), ("UpsamplingNearest2d", (None, 2),
                                                     (1, 2, 3, 3)),
    ("CosineSimilarity", (), None), ("PairwiseDistance", (), None),
    ("Bilinear", (4, 4, 2), None), ("ZeroPad2d", (1,), (1, 2, 3, 3)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)), ("ReflectionPad2d", ((1, 0, 2, 0),), (1, 2, 4, 5)),
    ("ReplicationPad1d", ((2, 1),), (2, 3, 4)), ("CircularPad2d", (1,), (1, 2, 3, 3)),
    ("ReflectionPad3d", (1,), (1, 1, 3, 3, 3)), ("Unfold", (2,), (1, 2, 4, 4)),
    ("Fold", ((4, 5), 2), (1, 8, 12)),
]


@pytest.mark.parametrize("name, args, shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layers_match_torch(name, args, shape):
    nd, th = _torch_pair(lambda m: getattr(m, name)(*args), lambda m: getattr(m, name)(*args))
    assert repr(nd) == repr(th)
    arrays = [R.standard_normal(shape)] if shape else [R.standard_normal((3, 4))] * 2
    # PyTorch's hardsigmoid backward multiplies by a single-precision 1/6
    _check(nd, th, arrays, grad_rtol=1e-7 if name == "Hardsigmoid" else 1e-8)


def test_embedding_layer_matches_torch():
    nd, th = _torch_pair(lambda m: m.Embedding(6, 3, padding_idx=2),
                         lambda m: m.Embedding(6, 3, padding_idx=2))
    assert repr(nd) == repr(th)
    _check(nd, th, [np.array([[0, 2, 5], [2, 1, 1]])])
    e = nn.Embedding(6, 3, padding_idx=2)
    assert (e.weight._data[2] == 0).all()
    f = nn.Embedding.from_pretrained(Tensor(np.eye(3)))
    assert not f.weight.requires_grad and f(Tensor(np.array([1])))._data.tolist() == [[0, 1, 0]]


def test_embedding_bag_layer_matches_torch():
    nd, th = _torch_pair(lambda m: m.EmbeddingBag(6, 3, mode="sum", padding_idx=0),
                         lambda m: m.EmbeddingBag(6, 3, mode="sum", padding_idx=0))
    assert repr(nd) == repr(th)
    _check(nd, th, [np.array([1, 0, 5, 2, 2]), np.array([0, 3])])


def test_recurrent_module_reprs_and_keys():
    m = nn.LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)
    assert repr(m) == "LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)"
    keys = list(m.state_dict())
    assert keys[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "weight_ih_l1_reverse" in keys and m.weight_ih_l1.shape == (16, 8)
    assert len(m.all_weights) == 4


def test_recurrent_dropout_only_between_layers_in_training():
    A.manual_seed(0)
    m = nn.GRU(2, 3, num_layers=2, dropout=0.9)
    x = Tensor(np.ones((4, 1, 2), np.float32))
    m.eval()
    a, b = m(x)[0]._data, m(x)[0]._data
    np.testing.assert_array_equal(a, b)
    m.train()
    assert not np.allclose(m(x)[0]._data, a)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: nn.LSTM(3, 4)(Tensor(np.zeros((5, 2, 2)))), RuntimeError,
     "input.size\\(-1\\) must be equal to input_size. Expected 3, got 2"),
    (lambda: nn.GRU(3, 4)(Tensor(np.zeros((5, 2, 3))), Tensor(np.zeros((2, 2, 4)))),
     RuntimeError, "Expected hidden size"),
    (lambda: nn.RNN(3, 4, nonlinearity="gelu"), ValueError, "Unknown nonlinearity"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), ValueError, "dropout should be a number in range"),
    (lambda: nn.LSTM(3, 4.0), TypeError, "hidden_size should be of type int"),
    (lambda: nn.MultiheadAttention(10, 3), AssertionError, "divisible by num_heads"),
    (lambda: nn.GroupNorm(3, 4), ValueError, "divisible by num_groups"),
    (lambda: nn.Dropout2d(2.0), ValueError, "between 0 and 1"),
    (lambda: nn.Embedding(3, 2, padding_idx=5), AssertionError, "Padding_idx"),
])
def test_layer_argument_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


from hypothesis import given, settings  # noqa: E402
from autograd.testing import tensors  # noqa: E402


@settings(max_examples=5)
@given(x=tensors(shape=(3, 2, 2), min_value=-2, max_value=2))
def test_recurrent_gradients_property(x):
    A.manual_seed(1)
    for layer in (nn.LSTM(2, 3, bidirectional=True), nn.GRU(2, 3, num_layers=2),
                  nn.RNN(2, 3)):
        layer.double()
        assert A.gradcheck(lambda t, m=layer: m(t)[0], (x,))
    att = nn.MultiheadAttention(2, 1).double()
    assert A.gradcheck(lambda t: att(t, t, t)[0], (x,))


def test_instance_norm_running_stats_match_torch():
    nd, th = _torch_pair(lambda m: m.InstanceNorm1d(3, track_running_stats=True, affine=True),
                         lambda m: m.InstanceNorm1d(3, track_running_stats=True, affine=True))
    x = R.standard_normal((4, 3, 5))
    _check(nd, th, [x])
    np.testing.assert_allclose(nd.running_var._data, th.running_var.numpy(), rtol=1e-12)
    nd.eval()
    th.eval()
    _check(nd, th, [x])


@pytest.mark.parametrize("kind, kw", [("LSTM", dict(num_layers=2, bidirectional=True)),
                                      ("GRU", dict(batch_first=True)),
                                      ("RNN", dict(bidirectional=True))])
def test_packed_sequences_match_torch(kind, kw):
    torch = pytest.importorskip("torch")
    import nn.utils.rnn as U
    TU = torch.nn.utils.rnn
    nd, th = _torch_pair(lambda m: getattr(m, kind)(3, 4, **kw),
                         lambda m: getattr(m, kind)(3, 4, **kw))
    bf = kw.get("batch_first", False)
    x = R.standard_normal((3, 5, 3) if bf else (5, 3, 3))
    lengths = [2, 5, 3]
    dirs = 2 if kw.get("bidirectional") else 1
    h0 = R.standard_normal((kw.get("num_layers", 1) * dirs, 3, 4))

    def call(mod, xx, hh):
        pack = (U if mod is nd else TU).pack_padded_sequence(xx, lengths, batch_first=bf,
                                                             enforce_sorted=False)
        state = (hh, hh * 0.5) if kind == "LSTM" else hh
        out, h = mod(pack, state)
        padded, lens = (U if mod is nd else TU).pad_packed_sequence(out, batch_first=bf)
        return padded, h
    _check(nd, th, [x, h0], call=call)


def test_pack_utilities_match_torch():
    torch = pytest.importorskip("torch")
    import nn.utils.rnn as U
    seqs = [R.standard_normal((n, 2)) for n in (4, 4, 2, 1)]
    ours = U.pack_sequence([Tensor(s) for s in seqs])
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs])
    np.testing.assert_array_equal(ours.data._data, theirs.data.numpy())
    np.testing.assert_array_equal(ours.batch_sizes._data, theirs.batch_sizes.numpy())
    padded, lengths = U.pad_packed_sequence(ours, total_length=6, padding_value=-1.0)
    tp, tl = torch.nn.utils.rnn.pad_packed_sequence(theirs, total_length=6, padding_value=-1.0)
    np.testing.assert_array_equal(padded._data, tp.numpy())
    np.testing.assert_array_equal(lengths._data, tl.numpy())
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        U.pack_padded_sequence(Tensor(np.zeros((3, 2, 1))), [1, 3])


TRANSFORMERS = [
    ("TransformerEncoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0)),
    ("TransformerEncoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                     norm_first=True, batch_first=True, activation="gelu")),
    ("TransformerDecoderLayer", dict(d_model=8, nhead=4, dim_feedforward=12, dropout=0.0)),
    ("TransformerDecoderLayer", dict(d_model=8, nhead=2, dim_feedforward=12, dropout=0.0,
                                     norm_first=True)),
    ("Transformer", dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                         dim_feedforward=16, dropout=0.0)),
]


@pytest.mark.parametrize("name, kw", TRANSFORMERS, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(TRANSFORMERS)])
def test_transformer_layers_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    nd, th = _torch_pair(lambda m: getattr(m, name)(**kw), lambda m: getattr(m, name)(**kw))
    src = R.standard_normal((2, 5, 8) if kw.get("batch_first") else (5, 2, 8))
    tgt = R.standard_normal((4, 2, 8))
    causal = nn.Transformer.generate_square_subsequent_mask(4, dtype=np.float64)
    np.testing.assert_array_equal(
        causal._data, torch.nn.Transformer.generate_square_subsequent_mask(
            4, dtype=torch.float64).numpy())
    pad = np.array([[False] * 4 + [True], [False] * 5])
    if name == "TransformerEncoderLayer":
        def call(m, s):
            kpm = (Tensor(pad) if m is nd else torch.tensor(pad))
            return m(s, src_key_padding_mask=kpm)
        _check(nd, th, [src], call=call)
    else:
        def call(m, s, t):
            mask = causal if m is nd else torch.tensor(causal._data)
            if name == "Transformer":
                return m(s, t, tgt_mask=mask)
            return m(t, s, tgt_mask=mask)
        _check(nd, th, [src, tgt], call=call)


def test_transformer_encoder_keys_match_torch():
    torch = pytest.importorskip("torch")
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
    t_enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16), 2,
                                        norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    assert list(enc.state_dict()) == list(t_enc.state_dict())
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
