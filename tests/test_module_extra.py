"""Module features (ParameterList/Dict, to/half/cpu, hooks, buffers, apply), nn.utils and the
nn.init additions; compared with PyTorch where it is importable."""
import math

import numpy as np
import pytest

import autograd as A
import nn
from autograd import Tensor

R = np.random.default_rng(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scales = nn.ParameterList([nn.Parameter(np.ones(2, np.float32)),
                                        Tensor(np.full(2, 2.0, np.float32))])
        self.extra = nn.ParameterDict({"shift": nn.Parameter(np.zeros(2, np.float32))})
        self.register_buffer("steps", Tensor(np.zeros((), np.int64)))
        self.register_buffer("cache", Tensor(np.zeros(2, np.float32)), persistent=False)

    def forward(self, x):
        y = self.fc(x)
        for s in self.scales:
            y = y * s
        return y + self.extra["shift"]


def test_parameter_containers_register_their_parameters():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == ["fc.weight", "fc.bias", "scales.0",
                                                    "scales.1", "extra.shift"]
    assert isinstance(m.scales[1], nn.Parameter) and m.scales[1].requires_grad
    # own buffers before the children's entries, as in PyTorch; 'cache' is not persistent
    assert list(m.state_dict()) == ["steps", "fc.weight", "fc.bias", "scales.0", "scales.1",
                                    "extra.shift"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "cache"]
    assert [n for n, _ in m.named_children()] == ["fc", "scales", "extra"]
    assert [n for n, _ in m.named_modules()] == ["", "fc", "scales", "extra"]
    m(Tensor(np.ones((4, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.scales.append(Tensor(np.ones(2, np.float32)))
    assert len(m.scales) == 3 and len(list(m.parameters())) == 6
    assert "shift" in m.extra and list(m.extra.keys()) == ["shift"]
    m.extra.update({"bias2": Tensor(np.zeros(2, np.float32))})
    assert m.extra.pop("bias2").shape == (2,) and len(m.extra) == 1
    with pytest.raises(IndexError, match="out of range"):
        m.scales[5]
    assert "ParameterList(" in repr(m) and "(0): Parameter containing: [float32 of size 2]" \
        in repr(m)


def test_parameter_containers_match_torch_keys():
    torch = pytest.importorskip("torch")

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)
            self.scales = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)),
                                                  torch.full((2,), 2.0)])
            self.extra = torch.nn.ParameterDict({"shift": torch.nn.Parameter(torch.zeros(2))})
            self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
            self.register_buffer("cache", torch.zeros(2), persistent=False)
    t = T()
    assert list(Net().state_dict()) == list(t.state_dict())
    assert [n for n, _ in Net().named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in Net().named_buffers()] == [n for n, _ in t.named_buffers()]


def test_to_half_cpu_and_devices():
    m = Net()
    assert m.to("cpu") is m and m.cpu() is m
    m.half()
    assert m.fc.weight.dtype == np.float16 and m.steps.dtype == np.int64
    m.to("cpu", np.float64)
    assert m.fc.weight.dtype == np.float64 and m.cache.dtype == np.float64
    m.to(Tensor(np.zeros(1, np.float32)))
    assert m.scales[0].dtype == np.float32
    m.to(dtype=np.float64, device="cpu:0")
    assert m.extra["shift"].dtype == np.float64
    with pytest.raises(RuntimeError, match="ndgrad runs on the CPU only: device 'cuda:0'"):
        m.to("cuda:0")
    with pytest.raises(RuntimeError, match="CPU only"):
        m.cuda()
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        m.to(np.int64)


def test_hooks_apply_and_requires_grad():
    m = Net()
    calls = []
    h1 = m.fc.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.fc.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    x = Tensor(np.ones((1, 3), np.float32))
    y = m.fc(x)
    expected = nn.functional.linear(x * 2, m.fc.weight, m.fc.bias) + 1
    np.testing.assert_allclose(y._data, expected._data)
    assert calls == [(1, 2)]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(m.fc(x)._data, nn.functional.linear(x, m.fc.weight,
                                                                   m.fc.bias)._data)
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "ParameterList", "ParameterDict", "Net"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    assert m.fc.extra_repr() == "in_features=3, out_features=2, bias=True"


# ------------------------------------------------------------------------------ nn.utils
def _with_grads(seed=0):
    rng = np.random.default_rng(seed)
    ps = [Tensor(rng.standard_normal((3, 4)), requires_grad=True),
          Tensor(rng.standard_normal(5), requires_grad=True)]
    for p in ps:
        p.grad = Tensor(rng.standard_normal(p.shape) * 3)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    ps = _with_grads()
    ts = [torch.tensor(p._data, requires_grad=True) for p in ps]
    for t, p in zip(ts, ps):
        t.grad = torch.tensor(p.grad._data)
    ours = nn.utils.clip_grad_norm_(ps, 1.5, norm_type)
    theirs = torch.nn.utils.clip_grad_norm_(ts, 1.5, norm_type)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad._data, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_vectors():
    ps = _with_grads()
    nn.utils.clip_grad_value_(ps, 0.5)
    assert all(np.abs(p.grad._data).max() <= 0.5 for p in ps)
    vec = nn.utils.parameters_to_vector(ps)
    assert vec.shape == (17,) and vec.requires_grad
    (vec * vec).sum().backward()
    np.testing.assert_allclose(ps[1].grad._data, 2 * ps[1]._data + 0 * ps[1].grad._data,
                               atol=10)  # gradient flows back through the vector
    new = Tensor(np.arange(17.0))
    nn.utils.vector_to_parameters(new, ps)
    np.testing.assert_array_equal(ps[0]._data.ravel(), np.arange(12.0))
    np.testing.assert_array_equal(ps[1]._data, np.arange(12.0, 17.0))
    with pytest.raises(RuntimeError, match="does not hold the 17 values"):
        nn.utils.vector_to_parameters(Tensor(np.zeros(3)), ps)


def test_clip_grad_norm_nonfinite():
    ps = _with_grads()
    ps[0].grad._data[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


# ------------------------------------------------------------------------------- nn.init
def test_orthogonal_sparse_dirac():
    A.manual_seed(0)
    for shape in [(3, 5), (5, 3), (4, 2, 3)]:
        t = Tensor(np.zeros(shape))
        nn.init.orthogonal_(t, gain=2.0)
        flat = t._data.reshape(shape[0], -1)
        small = flat @ flat.T if shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(small, 4.0 * np.eye(len(small)), atol=1e-12)
    s = Tensor(np.zeros((10, 6)))
    nn.init.sparse_(s, 0.3)
    assert ((s._data == 0).sum(0) == 3).all()
    w = Tensor(np.zeros((4, 2, 3, 3)))
    nn.init.dirac_(w, groups=2)
    x = Tensor(R.standard_normal((1, 4, 5, 5)))
    y = nn.functional.conv2d(x, w, padding=1, groups=2)
    np.testing.assert_allclose(y._data, x._data)
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        nn.init.dirac_(Tensor(np.zeros((2, 2))))


def test_orthogonal_matches_torch_given_the_same_gaussian():
    torch = pytest.importorskip("torch")
    g = R.standard_normal((3, 6))
    q_t = torch.linalg.qr(torch.tensor(g.T))
    expected = (q_t.Q * torch.sign(torch.diag(q_t.R))).T.numpy()

    class Fixed:
        def normal(self, mean, std, shape):
            return g.copy()
    t = Tensor(np.zeros((3, 6)))
    nn.init.orthogonal_(t, generator=Fixed())
    np.testing.assert_allclose(t._data, expected, atol=1e-12)


def test_hook_options_prepend_and_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor
    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args: order.append("first"))
    m.register_forward_pre_hook(lambda mod, args: order.append("prepended"), prepend=True)
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}),
                                with_kwargs=True)
    seen = {}
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.update(kwargs),
                            with_kwargs=True)
    out = m(Tensor(np.ones(2)), factor=2.0)
    assert order == ["prepended", "first"]
    np.testing.assert_array_equal(out._data, [3.0, 3.0])
    assert seen == {"factor": 3.0}
    bad = Scale()
    bad.register_forward_pre_hook(lambda mod, args, kwargs: 1, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        bad(Tensor(np.ones(2)))


def test_hooks_match_torch_semantics():
    torch = pytest.importorskip("torch")
    calls = {}
    for lib, mod in (("nd", nn), ("torch", torch.nn)):
        m = mod.Linear(2, 2)
        log = calls.setdefault(lib, [])
        m.register_forward_pre_hook(lambda md, a, _l=log: _l.append("pre"))
        m.register_forward_pre_hook(lambda md, a, _l=log: _l.append("pre0"), prepend=True)
        m.register_forward_hook(lambda md, a, o, _l=log: _l.append("post"))
        m.register_forward_hook(lambda md, a, o, _l=log: _l.append("post0"), prepend=True)
        m(Tensor(np.ones((1, 2), np.float32)) if lib == "nd" else torch.ones(1, 2))
    assert calls["nd"] == calls["torch"]


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, padding_value=-1.0),
                                dict(padding_side="left")])
def test_pad_sequence_matches_torch(kw):
    torch = pytest.importorskip("torch")
    arrays = [R.standard_normal((n, 3)) for n in (4, 1, 3)]
    ours = nn.utils.rnn.pad_sequence([Tensor(a, requires_grad=True) for a in arrays], **kw)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    theirs = torch.nn.utils.rnn.pad_sequence(ts, **kw)
    np.testing.assert_array_equal(ours._data, theirs.detach().numpy())
    from nn.utils.rnn import pad_sequence
    assert pad_sequence is nn.utils.pad_sequence


def _hooked_run(lib, mod, make_tensor, state=None):
    """A 3-layer MLP with backward hooks: what the hooks saw, and the first weight's grad."""
    m = mod.Sequential(mod.Linear(3, 4), mod.ReLU(), mod.Linear(4, 2)).double()
    if state is not None:
        m.load_state_dict(state)
    seen = []

    def total(t):
        return None if t is None else float(t.sum())
    m[2].register_full_backward_hook(
        lambda md, gi, go: seen.append(("last", total(gi[0]), total(go[0]))) or (gi[0] * 2,))
    m[0].register_full_backward_pre_hook(lambda md, go: seen.append(("pre", total(go[0]))))
    m[0].register_full_backward_hook(
        lambda md, gi, go: seen.append(("first", [total(g) for g in gi], total(go[0]))))
    out = m(make_tensor(np.linspace(-1, 1, 15).reshape(5, 3)))
    out.sum().backward()
    return seen, m[0].weight.grad, m


def test_full_backward_hooks_match_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    seen_t, grad_t, mt = _hooked_run("torch", torch.nn, torch.tensor)
    state = {k: v.detach().numpy() for k, v in mt.state_dict().items()}
    seen_n, grad_n, _ = _hooked_run("nd", nn, Tensor, state)
    assert [s[0] for s in seen_n] == [s[0] for s in seen_t] == ["last", "pre", "first"]
    np.testing.assert_allclose(np.array(seen_n[0][1:]), np.array(seen_t[0][1:]), rtol=1e-12)
    np.testing.assert_allclose(seen_n[1][1], seen_t[1][1], rtol=1e-12)   # doubled grad_input
    assert seen_n[2][1] == seen_t[2][1] == [None]                        # input needs no grad
    np.testing.assert_allclose(grad_n._data, grad_t.numpy(), rtol=1e-12)


def test_backward_hook_sees_input_gradient_and_is_removable():
    lin = nn.Linear(2, 2).double()
    got = []
    handle = lin.register_full_backward_hook(lambda m, gi, go: got.append(gi[0]._data.copy()))
    x = Tensor(np.ones((1, 2)), requires_grad=True)
    lin(x).sum().backward()
    np.testing.assert_allclose(got[0], x.grad._data)
    handle.remove()
    lin(x).sum().backward()
    assert len(got) == 1
    with A.no_grad():
        lin(x)  # no graph, no hooks
