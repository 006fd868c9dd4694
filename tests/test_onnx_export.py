"""autograd.onnx.export: standard ONNX operators (composites recognised), initializers named
as in the state dict, checked with onnx.checker and run with ONNX Runtime against ndgrad's
own forward (1e-5) for two batch sizes through a symbolic batch dimension."""
from collections import OrderedDict

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import autograd  # noqa: E402
import nn  # noqa: E402
from autograd import Tensor  # noqa: E402
from autograd.onnx import UnsupportedOperatorError, export  # noqa: E402
from nn import functional as F  # noqa: E402
from nn.models import LeNet5  # noqa: E402


def _export_and_compare(model, shape, tmp_path, batches=(3, 5), atol=1e-5, dtype=np.float32,
                        **kwargs):
    """Export with a symbolic batch; compare ONNX Runtime with ndgrad at two batch sizes.
    Returns the loaded ONNX model."""
    path = tmp_path / "model.onnx"
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((batches[0],) + shape).astype(dtype)
    kwargs.setdefault("dynamic_axes", {"input": {0: "batch"}})
    export(model, Tensor(x0), str(path), input_names=["input"], output_names=["output"],
           **kwargs)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    for b in batches:
        x = rng.standard_normal((b,) + shape).astype(dtype)
        with autograd.no_grad():
            expected = model(Tensor(x))._data
        (got,) = session.run(None, {"input": x})
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=atol)
    return proto


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


def _train_a_little(model, shape, steps=3):
    opt = nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(1)
    model.train()
    for _ in range(steps):
        x = Tensor(rng.standard_normal((8,) + shape).astype(np.float32))
        loss = (model(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_mlp(tmp_path):
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(),
                          nn.Linear(8, 4), nn.Sigmoid())
    proto = _export_and_compare(model, (6,), tmp_path)
    assert _ops(proto) == ["Gemm", "Relu", "Gemm", "Tanh", "Gemm", "Sigmoid"]
    assert {i.name for i in proto.graph.initializer} == set(model.state_dict())


def test_lenet5_is_conv_pool_gemm(tmp_path):
    autograd.manual_seed(0)
    model = LeNet5()
    proto = _export_and_compare(model, (1, 28, 28), tmp_path)
    assert _ops(proto) == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Reshape",
                           "Gemm", "Relu", "Gemm"]
    names = {i.name for i in proto.graph.initializer}
    assert set(model.state_dict()) <= names
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch"


def test_batchnorm_dropout_cnn_in_eval_mode(tmp_path):
    autograd.manual_seed(0)
    model = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 8, 3, padding=1, bias=False)), ("bn1", nn.BatchNorm2d(8)),
        ("relu1", nn.ReLU()), ("drop1", nn.Dropout(0.3)), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(8, 8, 3, padding=1)), ("bn2", nn.BatchNorm2d(8)),
        ("act2", nn.LeakyReLU(0.1)), ("pool2", nn.AvgPool2d(2)), ("flatten", nn.Flatten()),
        ("drop2", nn.Dropout(0.5)), ("fc", nn.Linear(8 * 2 * 2, 5)), ("bn3", nn.BatchNorm1d(5)),
        ("out", nn.LogSoftmax(dim=1))]))
    _train_a_little(model, (3, 8, 8))
    assert model.training
    proto = _export_and_compare(model, (3, 8, 8), tmp_path)
    ops = _ops(proto)
    assert ops.count("BatchNormalization") == 3 and "Dropout" not in ops
    assert ops.count("Conv") == 2 and "AveragePool" in ops and "LeakyRelu" in ops
    assert ops[-1] == "LogSoftmax"
    names = {i.name for i in proto.graph.initializer}
    assert {"bn1.running_mean", "bn1.running_var", "bn2.weight", "fc.weight"} <= names
    model.train()
    export(model, Tensor(np.ones((2, 3, 8, 8), np.float32)), str(tmp_path / "again.onnx"))
    assert model.training  # export runs in eval mode and restores the mode


@pytest.mark.parametrize("conv", [
    lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1),
    lambda: nn.Conv2d(4, 8, 3, stride=(2, 1), dilation=2, padding=2, groups=2),
    lambda: nn.Conv2d(4, 4, (3, 5), padding="same", groups=4),
    lambda: nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect"),
    lambda: nn.Conv2d(4, 6, 3, padding=2, padding_mode="replicate"),
], ids=["strided", "dilated-grouped", "same-depthwise", "reflect", "replicate"])
def test_convolutions(tmp_path, conv):
    autograd.manual_seed(0)
    proto = _export_and_compare(nn.Sequential(conv()), (4, 9, 11), tmp_path)
    assert "Conv" in _ops(proto) and "MatMul" not in _ops(proto)


def test_conv1d(tmp_path):
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(3, 5, 3, stride=2, padding=1), nn.ReLU(),
                          nn.MaxPool1d(2))
    proto = _export_and_compare(model, (3, 17), tmp_path)
    assert _ops(proto)[0] == "Conv"


@pytest.mark.parametrize("kwargs", [dict(stride=2, padding=1, output_padding=1),
                                    dict(stride=1, padding=0, groups=2),
                                    dict(stride=2, padding=1, dilation=2)])
def test_transposed_conv(tmp_path, kwargs):
    autograd.manual_seed(0)
    model = nn.Sequential(nn.ConvTranspose2d(4, 6, 3, **kwargs))
    proto = _export_and_compare(model, (4, 5, 6), tmp_path)
    assert _ops(proto) == ["ConvTranspose"]


class _Misc(nn.Module):
    """Elementwise ops, reductions, indexing, cat, pad, softmax in one forward."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.scale = nn.Parameter(Tensor(np.linspace(0.5, 1.5, 6).astype(np.float32)))

    def forward(self, x):
        h = self.fc(x) * self.scale + 1.0
        a = h[:, 1:5].exp().log() - h[:, ::2].sum(dim=1, keepdim=True) / 3
        b = (h.abs() + 1).sqrt() ** 1.5 - h.clamp(-0.5, 0.5)
        c = autograd.cat([a, b[:, :2], h[:, np.array([5, 0, 3])]], dim=1)
        d = F.pad(c.unsqueeze(1), (1, 2), value=0.25).squeeze(1)
        e = d.softmax(dim=-1) + d.mean(dim=1, keepdim=True) - d.amax(dim=1, keepdim=True)
        f = e.reshape(e.shape[0], 3, 4).transpose(1, 2).permute(0, 2, 1)
        return f.var(dim=2, keepdim=True) + f.logsumexp(dim=2, keepdim=True) + \
            f.maximum(f * 0.5).amin(dim=2, keepdim=True) + F.softplus(f[..., :1], beta=2.0)


def test_elementwise_reductions_indexing(tmp_path):
    autograd.manual_seed(0)
    proto = _export_and_compare(_Misc(), (6,), tmp_path)
    ops = set(_ops(proto))
    assert {"Slice", "Gather", "Concat", "Pad", "Softmax", "ReduceSum", "ReduceMean",
            "ReduceMax", "ReduceMin", "ReduceLogSumExp", "Transpose"} <= ops


def test_layer_norm_and_adaptive_pool(tmp_path):
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                          nn.LayerNorm(4), nn.Linear(4, 3))
    _export_and_compare(model, (2, 7, 7), tmp_path)


def test_opset_13_and_no_dynamic_axes(tmp_path):
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=1))
    path = tmp_path / "m.onnx"
    proto = export(model, Tensor(np.ones((2, 4), np.float32)), str(path), opset_version=13)
    assert proto.opset_import[0].version == 13
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [2, 4]
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    np.testing.assert_allclose(got, model(Tensor(x))._data, rtol=1e-5, atol=1e-6)


def test_file_object_and_default_names(tmp_path):
    import io
    buf = io.BytesIO()
    proto = export(nn.Linear(3, 2), Tensor(np.ones((1, 3), np.float32)), buf)
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["output"]
    assert onnx.load_from_string(buf.getvalue()).graph.node[0].op_type == "Gemm"


class _Unfolds(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(OrderedDict([("patches", _Patches())]))

    def forward(self, x):
        return self.inner(x)


class _Patches(nn.Module):
    def forward(self, x):
        return F.unfold(x, 2)


def test_unsupported_op_names_op_and_module(tmp_path):
    with pytest.raises(UnsupportedOperatorError, match=r"'Unfold' in module 'inner\.patches'"):
        export(_Unfolds(), Tensor(np.ones((1, 1, 4, 4), np.float32)), str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()


def test_unsupported_arguments_are_named(tmp_path):
    class Pool(nn.Module):
        def forward(self, x):
            return F.max_pool2d(x, 2, return_indices=True)[0]
    with pytest.raises(UnsupportedOperatorError, match="return_indices"):
        export(Pool(), Tensor(np.ones((1, 1, 4, 4), np.float32)), str(tmp_path / "m"))
    with pytest.raises(ValueError, match="opset_version=7"):
        export(nn.Linear(2, 2), Tensor(np.ones((1, 2), np.float32)), str(tmp_path / "m"),
               opset_version=7)


def test_export_leaves_no_patches_behind(tmp_path):
    from autograd.function import Function
    before = (Function.__dict__["apply"], F.conv2d, F.linear, autograd.pad)
    with pytest.raises(UnsupportedOperatorError):
        export(_Unfolds(), Tensor(np.ones((1, 1, 4, 4), np.float32)), str(tmp_path / "m"))
    assert (Function.__dict__["apply"], F.conv2d, F.linear, autograd.pad) == before


class _Recurrent(nn.Module):
    """A recurrent layer over (N, L, F) input, its final state through a linear head."""

    def __init__(self, kind, **kwargs):
        super().__init__()
        self.rnn = getattr(nn, kind)(4, 5, batch_first=True, **kwargs)
        self.kind = kind
        dirs = 2 if kwargs.get("bidirectional") else 1
        self.head = nn.Linear(5 * dirs, 3)

    def forward(self, x):
        out, state = self.rnn(x)
        h = state[0] if self.kind == "LSTM" else state
        return self.head(out[:, -1]) + h.sum(dim=0).sum(dim=1, keepdim=True)


@pytest.mark.parametrize("kind, kwargs", [
    ("LSTM", {}), ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("GRU", dict(num_layers=2)), ("GRU", dict(bidirectional=True, bias=False)),
    ("RNN", dict(nonlinearity="relu", num_layers=2)), ("RNN", dict(bidirectional=True)),
])
def test_recurrent_layers(tmp_path, kind, kwargs):
    autograd.manual_seed(0)
    proto = _export_and_compare(_Recurrent(kind, **kwargs), (6, 4), tmp_path)
    assert _ops(proto).count(kind) == kwargs.get("num_layers", 1)


def test_embedding_is_a_gather_of_the_input_indices(tmp_path):
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    path = tmp_path / "emb.onnx"
    idx = np.array([[1, 2, 3], [4, 5, 6]], np.int64)
    proto = export(model, Tensor(idx), str(path), dynamic_axes={"input": {0: "batch"}})
    assert _ops(proto)[0] == "Gather"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    other = np.array([[9, 0, 9], [1, 1, 1], [7, 8, 2]], np.int64)
    with autograd.no_grad():
        expected = model(Tensor(other))._data
    np.testing.assert_allclose(session.run(None, {"input": other})[0], expected, rtol=1e-5,
                               atol=1e-6)


class _MoreMath(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.act = nn.GELU() if hasattr(nn, "GELU") else nn.Tanh()

    def forward(self, x):
        h = self.act(self.fc(x))
        u = h.sin() + h.cos() * h.atan() + h.tanh().asin() + h.sinh() / h.cosh()
        v = (h.abs() + 1).rsqrt() + (h.abs() + 0.5).reciprocal() + h.square() + h.erf()
        w = h.abs().log1p() + h.clamp(-1, 1).expm1() + (h.abs() + 1).log2() + h.exp2()
        r = (h * 3).floor() + (h * 3).ceil() + (h * 3).round() + (h * 3).trunc()
        s = h.flip(1) + h.cumsum(1) + h.fmod(0.7) + h.remainder(0.7)
        m = autograd.einsum("ni,nj->nij", h, h).tril().sum(dim=2)
        t = h.repeat(1, 2)[:, :6] + h.clone()
        return u + v + w + r * 0.1 + s + m + t + h.reshape(-1, 2, 3).prod(dim=1).repeat(1, 2)


def test_more_math_ops(tmp_path):
    autograd.manual_seed(0)
    proto = _export_and_compare(_MoreMath(), (4,), tmp_path, atol=2e-5)
    ops = set(_ops(proto))
    assert {"Sin", "Erf", "CumSum", "Einsum", "Trilu", "Tile", "ReduceProd", "Floor"} <= ops


class _Masked(nn.Module):
    def forward(self, x):
        keep = (x > 0.25) & (x != 1.0)
        return autograd.where(keep, x * 2.0, x.abs() * -1.0) + (x <= 0).float()


def test_comparisons_and_where_follow_the_input(tmp_path):
    proto = _export_and_compare(_Masked(), (7,), tmp_path)
    assert {"Greater", "And", "Not", "Equal", "Where", "LessOrEqual"} <= set(_ops(proto))


class _Frozen(nn.Module):
    def forward(self, x):
        mask = Tensor((x._data > 0).astype(np.float32))   # computed outside ndgrad's ops
        return x * mask


def test_values_computed_from_raw_data_are_flagged(tmp_path):
    with pytest.warns(UserWarning, match="frozen into the graph"):
        export(_Frozen(), Tensor(np.ones((3, 4), np.float32)), str(tmp_path / "m.onnx"),
               dynamic_axes={"input": {0: "batch"}})


def test_integer_comparisons_with_floats(tmp_path):
    class Count(nn.Module):
        def forward(self, idx):
            return ((idx > 1.5) & (idx <= 3)).to(np.float32) + (idx == idx).to(np.float32)
    path = tmp_path / "c.onnx"
    export(Count(), Tensor(np.array([[0, 1, 2, 3, 4]])), str(path),
           dynamic_axes={"input": {0: "batch"}})
    x = np.array([[3, 2, 1, 0, 5], [2, 2, 2, 2, 2]], np.int64)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    np.testing.assert_array_equal(got, Count()(Tensor(x))._data)


class _Block(nn.Module):
    """Self-attention + LayerNorm + GELU feed-forward: reshapes that merge the batch with
    the heads (N·heads), which the exporter finds by tracing at two batch sizes."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.ln = nn.LayerNorm(8)
        self.ff = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))

    def forward(self, x):
        a, _ = self.attn(x, x, x, need_weights=False)
        h = self.ln(x + a)
        return h + self.ff(h)


@pytest.mark.parametrize("make, shape", [
    (_Block, (5, 8)),
    (lambda: nn.Sequential(nn.GroupNorm(2, 4), nn.PixelShuffle(2)), (4, 3, 3)),
], ids=["attention-block", "groupnorm-pixelshuffle"])
def test_batch_dependent_reshapes(tmp_path, make, shape):
    autograd.manual_seed(0)
    proto = _export_and_compare(make(), shape, tmp_path, batches=(3, 4, 7))
    assert "Reshape" in _ops(proto)
