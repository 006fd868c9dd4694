"""Layers and losses: repr, parameter names and shapes, default init, outputs and
gradients against PyTorch (weights copied across), gradcheck in float64, train/eval
behaviour of Dropout and BatchNorm, and the module scope recorded on graph nodes."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import autograd as A
import nn


def _torch():
    return pytest.importorskip("torch")


def to_torch(torch, module_ours, module_torch):
    """Copy our parameters and buffers into the torch module (strict: same keys)."""
    module_torch.load_state_dict(OrderedDict(
        (k, torch.tensor(np.array(v._data))) for k, v in module_ours.state_dict().items()))
    return module_torch


def run_both(ours, theirs, x, train=True, target=None):
    """Forward and backward (with the same random upstream gradient) through both;
    returns (ours out, torch out, ours grads, torch grads) with grads by name incl. 'input'."""
    torch = _torch()
    ours.train(train)
    theirs.train(train)
    xa = A.Tensor(x.copy(), requires_grad=True)
    xt = torch.tensor(x.copy(), requires_grad=True)
    out_a, out_t = ours(xa), theirs(xt)
    g = np.random.default_rng(0).standard_normal(out_a.shape).astype(x.dtype)
    out_a.backward(A.Tensor(g))
    out_t.backward(torch.tensor(g))
    grads_a = {"input": xa.grad._data, **{n: p.grad._data for n, p in ours.named_parameters()}}
    grads_t = {"input": xt.grad.numpy(),
               **{n: p.grad.numpy() for n, p in theirs.named_parameters()}}
    return out_a._data, out_t.detach().numpy(), grads_a, grads_t


def assert_same(ours, theirs, x, train=True, rtol=1e-4, atol=1e-5):
    out_a, out_t, ga, gt = run_both(ours, theirs, x, train)
    np.testing.assert_allclose(out_a, out_t, rtol=rtol, atol=atol)
    assert ga.keys() == gt.keys()
    for k in ga:
        np.testing.assert_allclose(ga[k], gt[k], rtol=rtol, atol=atol, err_msg=k)


# ---------------------------------------------------------------------- repr and names
LENET_REPR = """Sequential(
  (0): Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
  (1): ReLU()
  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (3): Conv2d(20, 50, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
  (4): ReLU()
  (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (6): Flatten(start_dim=1, end_dim=-1)
  (7): Linear(in_features=2450, out_features=500, bias=True)
  (8): ReLU()
  (9): Linear(in_features=500, out_features=10, bias=True)
)"""


def lenet(m):
    return m.Sequential(
        m.Conv2d(1, 20, 5, padding=2), m.ReLU(), m.MaxPool2d(2),
        m.Conv2d(20, 50, 5, padding=2), m.ReLU(), m.MaxPool2d(2),
        m.Flatten(), m.Linear(2450, 500), m.ReLU(), m.Linear(500, 10))


def zoo(m):
    """One of every layer, with non-default options, in ndgrad or torch."""
    return m.Sequential(OrderedDict([
        ("c1", m.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=False)),
        ("c2", m.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2))),
        ("c3", m.Conv2d(8, 8, 3, padding="same", dilation=2, groups=4)),
        ("c4", m.Conv2d(8, 8, 3, padding="valid")),
        ("ct", m.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)),
        ("ct2", m.ConvTranspose2d(4, 4, 2, groups=2, bias=False, dilation=2)),
        ("mp", m.MaxPool2d(3, stride=2, padding=1)),
        ("ap", m.AvgPool2d((2, 2))),
        ("mp1", m.MaxPool1d(2)), ("ap1", m.AvgPool1d(3, stride=2, padding=1)),
        ("aap", m.AdaptiveAvgPool2d((1, 1))),
        ("bn1", m.BatchNorm1d(5, momentum=None)),
        ("bn2", m.BatchNorm2d(8, eps=1e-3, affine=False, track_running_stats=False)),
        ("ln", m.LayerNorm(10)),
        ("drop", m.Dropout(0.25)),
        ("flat", m.Flatten(0, 2)),
        ("unflat", m.Unflatten(1, (2, 5))),
        ("relu", m.ReLU()),
        ("lrelu", m.LeakyReLU(0.2)),
        ("tanh", m.Tanh()), ("sig", m.Sigmoid()),
        ("sm", m.Softmax(dim=1)), ("lsm", m.LogSoftmax(dim=-1)),
        ("id", m.Identity()),
        ("fc", m.Linear(3, 4, bias=False)),
        ("ce", m.CrossEntropyLoss()), ("nll", m.NLLLoss()), ("mse", m.MSELoss()),
        ("l1", m.L1Loss()), ("bce", m.BCEWithLogitsLoss()),
    ]))


def test_lenet_repr():
    assert repr(lenet(nn)) == LENET_REPR


def test_reprs_names_and_shapes_match_torch():
    torch = _torch()
    ours, theirs = zoo(nn), zoo(torch.nn)
    assert repr(ours) == repr(theirs)
    assert repr(lenet(nn)) == repr(lenet(torch.nn))
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert a.shape == tuple(b.shape), k


def test_state_dict_keys_with_batchnorm_like_torch():
    torch = _torch()

    def build(m):
        net = m.Sequential(m.Conv2d(1, 2, 3), m.BatchNorm2d(2))
        return net
    assert list(build(nn).state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked"]
    assert list(build(nn).state_dict()) == list(build(torch.nn).state_dict())
    # torch's state dict loads into ours and back
    t = build(torch.nn)
    ours = build(nn)
    ours.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    to_torch(torch, ours, build(torch.nn))


# ---------------------------------------------------------------------- default init
@pytest.mark.parametrize("make,fan_in", [
    (lambda: nn.Linear(300, 200), 300),
    (lambda: nn.Conv2d(16, 64, 3), 16 * 9),
    (lambda: nn.Conv1d(8, 32, 5, groups=2), 4 * 5),
    (lambda: nn.ConvTranspose2d(16, 64, 3, groups=4), 16 * 9),  # weight.shape[1] * k * k
])
def test_default_init_like_torch(make, fan_in):
    A.manual_seed(0)
    layer = make()
    w, b = layer.weight._data, layer.bias._data
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), ..)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)
    assert w.dtype == np.float32 and layer.weight.requires_grad
    # torch's layer of the same configuration draws from the same range
    tw = to_torch_layer(_torch(), layer).weight.detach().numpy()
    assert np.abs(tw).max() <= bound * 1.0001 and np.abs(tw).max() > 0.95 * bound


def to_torch_layer(torch, layer):
    """A fresh torch layer with the same constructor as ours (from its attributes)."""
    if isinstance(layer, nn.Linear):
        return torch.nn.Linear(layer.in_features, layer.out_features)
    cls = getattr(torch.nn, type(layer).__name__)
    return cls(layer.in_channels, layer.out_channels, layer.kernel_size, groups=layer.groups)


def test_init_is_seeded():
    A.manual_seed(3)
    a = nn.Linear(4, 3)
    A.manual_seed(3)
    b = nn.Linear(4, 3)
    np.testing.assert_array_equal(a.weight._data, b.weight._data)
    np.testing.assert_array_equal(a.bias._data, b.bias._data)


def test_dtype_argument_and_double():
    assert nn.Linear(2, 3, dtype=np.float64).weight.dtype == np.float64
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).double()
    assert all(t.dtype == np.float64 for t in m.state_dict().values()
               if t.dtype.kind == "f")
    out = m(A.randn(2, 1, 5, 5, dtype=np.float64))
    assert out.dtype == np.float64


# ---------------------------------------------------------------------- outputs vs torch
LAYER_CASES = [
    ("linear", lambda m: m.Linear(5, 3), (4, 5)),
    ("linear-3d", lambda m: m.Linear(5, 3, bias=False), (2, 4, 5)),
    ("conv1d", lambda m: m.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (2, 4, 11)),
    ("conv2d", lambda m: m.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 9, 8)),
    ("conv2d-grouped", lambda m: m.Conv2d(4, 6, (3, 2), dilation=(1, 2), groups=2, bias=False),
     (2, 4, 7, 7)),
    ("conv2d-same-even", lambda m: m.Conv2d(2, 3, 4, padding="same", dilation=1), (1, 2, 6, 7)),
    ("conv2d-same-dil", lambda m: m.Conv2d(2, 3, 3, padding="same", dilation=2), (1, 2, 6, 7)),
    ("conv2d-valid", lambda m: m.Conv2d(2, 3, 3, padding="valid"), (1, 2, 6, 7)),
    ("convT", lambda m: m.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
     (2, 3, 4, 5)),
    ("convT-grouped", lambda m: m.ConvTranspose2d(4, 6, 2, groups=2, dilation=2), (2, 4, 3, 3)),
    ("maxpool", lambda m: m.MaxPool2d(2), (2, 3, 8, 8)),
    ("maxpool-pad", lambda m: m.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
    ("maxpool-ceil", lambda m: m.MaxPool2d(2, ceil_mode=True), (1, 2, 7, 5)),
    ("maxpool-dil", lambda m: m.MaxPool2d(2, stride=1, dilation=2), (1, 2, 6, 6)),
    ("maxpool1d", lambda m: m.MaxPool1d(3, stride=2, padding=1), (2, 3, 9)),
    ("avgpool", lambda m: m.AvgPool2d(2), (2, 3, 8, 6)),
    ("avgpool-options", lambda m: m.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                              count_include_pad=False), (1, 2, 8, 7)),
    ("avgpool-divisor", lambda m: m.AvgPool2d(2, divisor_override=3), (1, 2, 4, 4)),
    ("avgpool1d", lambda m: m.AvgPool1d(2, padding=1), (2, 3, 7)),
    ("avgpool-stride", lambda m: m.AvgPool2d(3, stride=1, padding=1), (1, 2, 5, 5)),
    ("adaptive", lambda m: m.AdaptiveAvgPool2d((1, 1)), (2, 3, 5, 5)),
    ("adaptive-int", lambda m: m.AdaptiveAvgPool2d(2), (2, 3, 4, 6)),
    ("bn1d", lambda m: m.BatchNorm1d(4), (8, 4)),
    ("bn1d-3d", lambda m: m.BatchNorm1d(4), (5, 4, 3)),
    ("bn2d", lambda m: m.BatchNorm2d(3), (4, 3, 5, 5)),
    ("bn2d-noaffine", lambda m: m.BatchNorm2d(3, affine=False), (4, 3, 2, 2)),
    ("layernorm", lambda m: m.LayerNorm((3, 4)), (2, 3, 4)),
    ("flatten", lambda m: m.Flatten(), (2, 3, 4)),
    ("unflatten", lambda m: m.Unflatten(1, (3, 4)), (2, 12)),
    ("relu", lambda m: m.ReLU(), (3, 7)),
    ("leaky", lambda m: m.LeakyReLU(0.2), (3, 7)),
    ("tanh", lambda m: m.Tanh(), (3, 7)),
    ("sigmoid", lambda m: m.Sigmoid(), (3, 7)),
    ("softmax", lambda m: m.Softmax(dim=1), (3, 7)),
    ("logsoftmax", lambda m: m.LogSoftmax(dim=0), (3, 7)),
    ("identity", lambda m: m.Identity(), (3, 7)),
    ("lenet", lenet, (2, 1, 28, 28)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels
@pytest.mark.parametrize("name,make,shape", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_matches_torch(name, make, shape):
    torch = _torch()
    A.manual_seed(0)
    ours = make(nn)
    theirs = to_torch(torch, ours, make(torch.nn))
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    assert_same(ours, theirs, x, train=True)
    assert_same(ours, theirs, x, train=False)


def test_max_pool_return_indices():
    torch = _torch()
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    out, idx = nn.MaxPool2d(2, return_indices=True)(A.Tensor(x))
    tout, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(out._data, tout.numpy())
    np.testing.assert_array_equal(idx._data, tidx.numpy())


def test_conv_transpose_output_size():
    torch = _torch()
    ours = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    theirs = to_torch(torch, ours, torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1))
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    out = ours(A.Tensor(x), output_size=(8, 8))
    assert out.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(out._data, theirs(torch.tensor(x), output_size=[8, 8])
                               .detach().numpy(), rtol=1e-5, atol=1e-6)
    assert ours(A.Tensor(x), output_size=(1, 3, 7, 7)).shape == (1, 3, 7, 7)
    with pytest.raises(ValueError, match="requested an output size of"):
        ours(A.Tensor(x), output_size=(10, 10))


# ---------------------------------------------------------------------- gradcheck
GRAD_CASES = [
    ("linear", lambda: nn.Linear(3, 2), (4, 3)),
    ("conv2d", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, groups=1), (2, 2, 5, 5)),
    ("conv2d-same", lambda: nn.Conv2d(2, 2, 2, padding="same", groups=2), (1, 2, 4, 4)),
    ("conv1d", lambda: nn.Conv1d(2, 2, 3, dilation=2), (2, 2, 7)),
    ("convT", lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1), (1, 2, 3, 3)),
    ("bn2d", lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    ("bn1d", lambda: nn.BatchNorm1d(3), (4, 3)),
    ("layernorm", lambda: nn.LayerNorm(4), (2, 4)),
    ("avgpool", lambda: nn.AvgPool2d(2), (1, 2, 4, 4)),
    ("adaptive", lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 6)),
    ("seq", lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2),
                                  nn.LogSoftmax(dim=1)), (5, 3)),
]


@pytest.mark.parametrize("name,make,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck_through_module(name, make, shape):
    A.manual_seed(0)
    m = make().double()
    x = A.randn(*shape, dtype=np.float64, requires_grad=True)
    params = list(m.parameters())
    assert A.gradcheck(lambda x, *ps: m(x), [x, *params])


# ---------------------------------------------------------------------- losses
def test_losses_match_torch():
    torch = _torch()
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2, 3])
    labels_ignored = np.array([0, -100, 1, 1, 2, -100])
    weight = np.array([1.0, 2.0, 0.5, 1.5], dtype=np.float32)
    pred = rng.standard_normal((6, 4)).astype(np.float32)
    target = rng.standard_normal((6, 4)).astype(np.float32)
    binary = (rng.random((6, 4)) > 0.5).astype(np.float32)
    pos_weight = np.array([1.0, 3.0, 0.5, 2.0], dtype=np.float32)

    cases = [
        ("CrossEntropyLoss", {}, logits, labels),
        ("CrossEntropyLoss", {"reduction": "sum"}, logits, labels),
        ("CrossEntropyLoss", {"reduction": "none"}, logits, labels),
        ("CrossEntropyLoss", {"weight": weight}, logits, labels),
        ("CrossEntropyLoss", {"ignore_index": -100}, logits, labels_ignored),
        ("CrossEntropyLoss", {"label_smoothing": 0.1}, logits, labels),
        ("NLLLoss", {}, logits, labels),
        ("NLLLoss", {"weight": weight, "reduction": "sum"}, logits, labels),
        ("MSELoss", {}, pred, target),
        ("MSELoss", {"reduction": "none"}, pred, target),
        ("L1Loss", {"reduction": "sum"}, pred, target),
        ("L1Loss", {}, pred, target),
        ("BCEWithLogitsLoss", {}, pred, binary),
        ("BCEWithLogitsLoss", {"pos_weight": pos_weight, "weight": weight}, pred, binary),
    ]
    for cls, kwargs, inp, tgt in cases:
        ours = getattr(nn, cls)(**{k: A.Tensor(v) if isinstance(v, np.ndarray) else v
                                   for k, v in kwargs.items()})
        theirs = getattr(torch.nn, cls)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                           for k, v in kwargs.items()})
        xa = A.Tensor(inp, requires_grad=True)
        xt = torch.tensor(inp, requires_grad=True)
        la, lt = ours(xa, A.Tensor(tgt)), theirs(xt, torch.tensor(tgt))
        np.testing.assert_allclose(la._data, lt.detach().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{cls} {kwargs}")
        la.sum().backward()
        lt.sum().backward()
        np.testing.assert_allclose(xa.grad._data, xt.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{cls} {kwargs} grad")
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_loss_legacy_arguments():
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"


# ---------------------------------------------------------------------- train / eval
def test_dropout_train_and_eval():
    A.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = A.ones(200, 100)
    y = drop(x)._data
    zero_fraction = (y == 0).mean()
    assert zero_fraction == pytest.approx(0.25, abs=0.02)
    np.testing.assert_allclose(y[y != 0], 1 / 0.75)
    drop.eval()
    assert np.array_equal(drop(x)._data, x._data)
    assert not nn.Dropout(1.0)(x)._data.any()
    np.testing.assert_array_equal(nn.Dropout(0.0)(x)._data, x._data)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_gradient_matches_mask():
    A.manual_seed(1)
    x = A.ones(50, 40, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, y._data)  # d(sum)/dx = mask / (1 - p) = y / x


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_running_stats_like_torch(momentum):
    torch = _torch()
    ours = nn.BatchNorm2d(3, momentum=momentum)
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum)
    rng = np.random.default_rng(0)
    for step in range(4):
        x = (rng.standard_normal((4, 3, 3, 3)) * (step + 1) + step).astype(np.float32)
        out_a = ours(A.Tensor(x))
        out_t = theirs(torch.tensor(x))
        np.testing.assert_allclose(out_a._data, out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k]._data, v.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)
    assert int(ours.num_batches_tracked.item()) == 4
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    before = ours.running_mean._data.copy()
    np.testing.assert_allclose(ours(A.Tensor(x))._data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ours.running_mean._data, before)  # eval: no update
    assert int(ours.num_batches_tracked.item()) == 4


def test_batchnorm_without_running_stats():
    bn = nn.BatchNorm1d(3, track_running_stats=False)
    assert bn.running_mean is None and list(bn.state_dict()) == ["weight", "bias"]
    x = A.randn(6, 3)
    bn.eval()  # still normalises with the batch statistics
    out = bn(x)._data
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)


def test_batchnorm_input_checks():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(A.zeros(2, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(A.zeros(2, 3, 4, 5))


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="Invalid padding string"):
        nn.Conv2d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")


def test_train_eval_switches_every_layer():
    torch = _torch()
    make = lambda m: m.Sequential(m.Linear(6, 8), m.BatchNorm1d(8), m.ReLU(), m.Dropout(0.5),  # noqa: E731
                                  m.Linear(8, 3))
    A.manual_seed(0)
    ours = make(nn)
    theirs = to_torch(torch, ours, make(torch.nn))
    x = np.random.default_rng(0).standard_normal((10, 6)).astype(np.float32)
    ours(A.Tensor(x))        # a training step moves the running stats
    ours.eval()
    theirs.load_state_dict({k: torch.tensor(np.array(v._data))
                            for k, v in ours.state_dict().items()})
    theirs.eval()
    np.testing.assert_allclose(ours(A.Tensor(x))._data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------- module scope
def test_scope_recorded_for_layers():
    seq = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    out = seq(A.randn(1, 1, 4, 4))
    nodes = [n for n in A.topological_order([out.grad_fn]) if isinstance(n, A.Context)]
    assert {n.module for n in nodes} == {"0", "1", "2", "3"}

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8, 2))
            self.loss = nn.CrossEntropyLoss()

        def forward(self, x, y):
            return self.loss(self.classifier(self.features(x)), y)

    loss = Net()(A.randn(3, 1, 4, 4), A.tensor([0, 1, 1]))
    nodes = [n for n in A.topological_order([loss.grad_fn]) if isinstance(n, A.Context)]
    assert {n.module for n in nodes} == {"features.0", "features.1", "classifier.0",
                                         "classifier.1", "loss"}
    assert loss.grad_fn.module == "loss"


# ---------------------------------------------------------------------- end to end
def test_training_and_checkpoint_round_trip(tmp_path):
    A.manual_seed(0)
    rng = np.random.default_rng(0)

    def build():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(16, 3))
    model = build()
    opt = nn.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    x = A.Tensor(rng.standard_normal((12, 1, 4, 4)).astype(np.float32))
    y = A.Tensor(rng.integers(0, 3, 12))
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    nn.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = nn.load(tmp_path / "ckpt.npz")
    restored = build()
    restored.load_state_dict(ckpt["model"])
    model.eval()
    restored.eval()
    np.testing.assert_array_equal(restored(x)._data, model(x)._data)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding,kernel", [(1, 3), ((1, 2), 3), ("same", (3, 4))])
def test_conv2d_padding_modes_match_torch(mode, padding, kernel):
    torch = _torch()
    A.manual_seed(0)
    ours = nn.Conv2d(3, 4, kernel, padding=padding, padding_mode=mode).double()
    theirs = torch.nn.Conv2d(3, 4, kernel, padding=padding, padding_mode=mode).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight._data))
        theirs.bias.copy_(torch.tensor(ours.bias._data))
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 7))
    a, b = A.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(a), theirs(b)
    np.testing.assert_allclose(y._data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(yt.shape)
    y.backward(A.Tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad._data, b.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad._data, theirs.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    assert repr(ours) == repr(theirs)
