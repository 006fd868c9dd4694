"""nn.Module, Parameter and the containers: registration, naming, modes, state dicts,
repr, hooks, and the module scope recorded on graph nodes."""
import copy
import os
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest

import autograd as A
import nn
from autograd.function import _module_stack

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


# ---------------------------------------------------------------------- small modules
class Affine(nn.Module):
    """x @ weight.T + bias, built from Tensor ops only (no nn.functional)."""

    def __init__(self, n_in, n_out, bias=True):
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.weight = nn.Parameter(A.randn(n_out, n_in, dtype=np.float64))
        if bias:
            self.bias = nn.Parameter(A.zeros(n_out, dtype=np.float64))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        return f"in={self.n_in}, out={self.n_out}"


class Act(nn.Module):
    def forward(self, x):
        return x.tanh()


class Stats(nn.Module):
    """A module with buffers: a running mean of its inputs."""

    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(A.ones(n))
        self.register_buffer("running_mean", A.zeros(n))
        self.register_buffer("count", A.tensor(0))
        self.register_buffer("scratch", A.zeros(n), persistent=False)

    def forward(self, x):
        with A.no_grad():
            self.running_mean.mul_(0.9).add_(x.detach().mean(0) * 0.1)
            self.count.add_(1)
        return x * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(Affine(4, 3), Act())
        self.stats = Stats(3)
        self.head = Affine(3, 2)

    def forward(self, x):
        return self.head(self.stats(self.features(x)))


# ---------------------------------------------------------------------- import guard
def test_autograd_is_this_projects_engine():
    here = os.path.dirname(os.path.dirname(os.path.realpath(A.__file__)))
    assert here == ROOT
    assert hasattr(A, "Function") and hasattr(A, "Scalar")


def test_shadowing_autograd_package_is_reported(monkeypatch, tmp_path):
    fake = types.ModuleType("autograd")
    fake.__file__ = str(tmp_path / "site-packages" / "autograd" / "__init__.py")
    monkeypatch.setitem(sys.modules, "autograd", fake)
    with pytest.raises(ImportError) as info:
        nn._check_autograd()
    message = str(info.value)
    assert fake.__file__ in message and "pip uninstall autograd" in message


# ---------------------------------------------------------------------- Parameter
def test_parameter_basics():
    p = nn.Parameter(A.tensor([1.0, 2.0]))
    assert isinstance(p, A.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")
    assert "requires_grad=True" in repr(p)
    assert type(p * 2) is A.Tensor and type(p.detach()) is A.Tensor
    assert type(p.detach()) is A.Tensor and not p.detach().requires_grad
    assert not nn.Parameter(A.zeros(2), requires_grad=False).requires_grad
    arr = np.zeros(3, dtype=np.float64)
    q = nn.Parameter(arr)
    assert q._data is arr and q.dtype == np.float64  # shares the array, keeps the dtype
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(np.arange(3))  # integers cannot require grad (as in torch)


def test_parameter_deepcopy_is_independent():
    p = nn.Parameter(A.tensor([1.0, 2.0]))
    p.grad = A.tensor([0.5, 0.5])
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad
    np.testing.assert_array_equal(q._data, p._data)
    np.testing.assert_array_equal(q.grad._data, p.grad._data)
    q._data[0] = 5
    assert p._data[0] == 1


def test_parameter_gradient_flows():
    p = nn.Parameter(A.tensor([1.0, -2.0]))
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad._data, [2.0, -4.0])


# ---------------------------------------------------------------------- registration
def test_registration_and_iteration_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "features.0.weight", "features.0.bias", "stats.scale", "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "stats.running_mean", "stats.count", "stats.scratch"]
    assert [n for n, _ in net.named_children()] == ["features", "stats", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "", "features", "features.0", "features.1", "stats", "head"]
    assert len(list(net.parameters())) == 5 and len(list(net.modules())) == 6
    assert list(net.parameters(recurse=False)) == []
    assert net.get_submodule("features.0") is net.features[0]
    assert net.get_parameter("head.bias") is net.head.bias
    assert net.num_parameters() == 4 * 3 + 3 + 3 + 3 * 2 + 2
    assert "features" in dir(net) and "scale" in dir(net.stats)


def test_setattr_rules():
    m = Affine(2, 2)
    with pytest.raises(TypeError, match="cannot assign .* as parameter 'weight'"):
        m.weight = A.zeros(2, 2)
    m.bias = None                      # a parameter may be set to None ...
    assert m.bias is None and "bias" not in dict(m.named_parameters())
    assert m(A.ones(1, 2, dtype=np.float64)).shape == (1, 2)
    m.bias = nn.Parameter(A.zeros(2))  # ... and back
    assert "bias" in dict(m.named_parameters())
    m.extra = Act()
    assert "extra" in m._modules
    m.extra = nn.Parameter(A.zeros(1))  # re-registered as a parameter
    assert "extra" not in m._modules and "extra" in m._parameters
    del m.extra
    assert not hasattr(m, "extra")
    m.plain = 3
    assert m.plain == 3 and "plain" not in m._parameters
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope

    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(A.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_register_buffer_rules():
    m = Stats(2)
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("scale", A.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", A.zeros(1))
    with pytest.raises(TypeError):
        m.register_buffer("x", np.zeros(1))
    m.running_mean = A.ones(2)  # assignment replaces the buffer
    assert m._buffers["running_mean"] is m.running_mean
    with pytest.raises(TypeError):
        m.running_mean = 3.0


def test_shared_parameters_counted_once():
    a = Affine(2, 2)
    seq = nn.Sequential(a, a)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_modules()] == ["", "0"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


# ---------------------------------------------------------------------- modes, grads, dtype
def test_train_eval_propagate():
    net = Net()
    assert net.training and net.head.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not net.features[1].training
    with pytest.raises(ValueError):
        net.train("yes")


def test_zero_grad_and_requires_grad():
    net = Net()
    net(A.randn(5, 4, dtype=np.float64)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad._data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_visits_children_first():
    net = Net()
    order = []
    assert net.apply(lambda m: order.append(type(m).__name__)) is net
    assert order == ["Affine", "Act", "Sequential", "Stats", "Affine", "Net"]


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    params = list(net.parameters())
    net.float()
    assert [p for p in net.parameters()] == params or all(
        a is b for a, b in zip(net.parameters(), params))
    assert all(p.dtype == np.float32 for p in net.parameters())
    net.to(np.float64)
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.stats.running_mean.dtype == np.float64
    assert net.stats.count.dtype == np.int64  # integer buffers are left alone
    assert all(a is b for a, b in zip(net.parameters(), params))
    assert net.to("cpu") is net


# ---------------------------------------------------------------------- state dict
def test_state_dict_keys_values_and_sharing():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["features.0.weight", "features.0.bias", "stats.scale",
                        "stats.running_mean", "stats.count", "head.weight", "head.bias"]
    assert all(type(v) is A.Tensor and not v.requires_grad for v in sd.values())
    assert sd["head.weight"]._data is net.head.weight._data  # shares memory, like torch
    kept = net.state_dict(keep_vars=True)
    assert kept["head.weight"] is net.head.weight


def test_load_state_dict_round_trip(tmp_path):
    src, dst = Net(), Net()
    src(A.randn(3, 4, dtype=np.float64))  # moves the buffers
    result = dst.load_state_dict(src.state_dict())
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        np.testing.assert_array_equal(a._data, b._data, err_msg=k)
        assert a._data is not b._data
    # through nn.save / nn.load: NumPy arrays
    nn.save(src.state_dict(), tmp_path / "net.npz")
    loaded = nn.load(tmp_path / "net.npz")
    assert all(isinstance(v, np.ndarray) for v in loaded.values())
    third = Net()
    third.load_state_dict(loaded)
    assert int(third.stats.count.item()) == 1
    x = A.randn(2, 4, dtype=np.float64)
    np.testing.assert_allclose(third(x)._data, src(x)._data)


def test_load_state_dict_casts_and_copies_in_place():
    net = Affine(2, 2)
    w = net.weight
    net.load_state_dict({"weight": np.ones((2, 2), np.float32), "bias": [1.0, 2.0]})
    assert net.weight is w and w.dtype == np.float64
    np.testing.assert_array_equal(w._data, np.ones((2, 2)))


def test_load_state_dict_while_a_graph_saved_the_weight():
    net = Affine(2, 2)
    x = A.randn(1, 2, dtype=np.float64, requires_grad=True)
    out = net(x).sum()  # the graph saved weight's array (read-only now)
    weight = net.weight._data
    net.load_state_dict({"weight": np.zeros((2, 2)), "bias": np.zeros(2)})
    assert net.weight._data is weight and not weight.any()  # copied in place, as torch
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*load_state_dict"):
        out.backward()  # the old graph is stale, as in PyTorch


def test_load_state_dict_errors_like_torch():
    net = Net()
    sd = net.state_dict()
    del sd["head.bias"]
    sd["head.extra"] = A.zeros(1)
    sd["features.0.weight"] = A.zeros(3, 5)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    assert str(info.value) == (
        'Error(s) in loading state_dict for Net:\n'
        '\tMissing key(s) in state_dict: "head.bias". \n'
        '\tUnexpected key(s) in state_dict: "head.extra". \n'
        '\tsize mismatch for features.0.weight: copying a param with shape (3, 5) from '
        'checkpoint, the shape in current model is (3, 4).')
    # strict=False still rejects a size mismatch ...
    with pytest.raises(RuntimeError, match="size mismatch for features.0.weight"):
        net.load_state_dict(sd, strict=False)
    # ... and reports the key differences otherwise
    sd["features.0.weight"] = A.zeros(3, 4, dtype=np.float64)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["head.bias"] and unexpected == ["head.extra"]
    assert not net.features[0].weight._data.any()
    with pytest.raises(TypeError):
        net.load_state_dict([("a", 1)])


def test_load_state_dict_matches_torch_message():
    torch = pytest.importorskip("torch")
    t = torch.nn.Linear(4, 10)
    sd = {"weight": torch.zeros(10, 5), "bias": torch.zeros(10)}
    with pytest.raises(RuntimeError) as tinfo:
        t.load_state_dict(sd)
    m = Affine(4, 10)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict({k: v.numpy() for k, v in sd.items()})
    expected = str(tinfo.value).replace("torch.Size([10, 5])", "(10, 5)") \
        .replace("torch.Size([10, 4])", "(10, 4)").replace("Linear", "Affine")
    assert str(info.value) == expected


def test_non_persistent_buffer_not_saved_or_loaded():
    m = Stats(2)
    assert "scratch" not in m.state_dict()
    m.load_state_dict({k: v for k, v in m.state_dict().items()})


# ---------------------------------------------------------------------- repr
def test_repr_nested():
    assert repr(Net()) == (
        "Net(\n"
        "  (features): Sequential(\n"
        "    (0): Affine(in=4, out=3)\n"
        "    (1): Act()\n"
        "  )\n"
        "  (stats): Stats()\n"
        "  (head): Affine(in=3, out=2)\n"
        ")")


def test_repr_matches_torch_structure():
    torch = pytest.importorskip("torch")

    class TAffine(torch.nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.i, self.o = i, o

        def extra_repr(self):
            return f"in={self.i}, out={self.o}"

    class TMulti(torch.nn.Module):
        def extra_repr(self):
            return "a=1,\nb=2"

    class Multi(nn.Module):
        def extra_repr(self):
            return "a=1,\nb=2"

    t = torch.nn.Sequential(OrderedDict(
        [("a", TAffine(4, 3)), ("m", TMulti()),
         ("l", torch.nn.ModuleList([TAffine(1, 2), torch.nn.Sequential()])),
         ("d", torch.nn.ModuleDict({"x": TAffine(2, 2)}))]))
    ours = nn.Sequential(OrderedDict(
        [("a", Affine(4, 3)), ("m", Multi()),
         ("l", nn.ModuleList([Affine(1, 2), nn.Sequential()])),
         ("d", nn.ModuleDict({"x": Affine(2, 2)}))]))
    assert repr(ours) == repr(t).replace("TAffine", "Affine").replace("TMulti", "Multi")


# ---------------------------------------------------------------------- hooks and calling
def test_forward_hooks():
    m = Affine(2, 2)
    seen = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape) or out + 1)
    out = m(A.ones(1, 2, dtype=np.float64))
    np.testing.assert_allclose(out._data, m.bias._data[None] + 1)
    assert seen == [(1, 2)]
    h1.remove()
    h2.remove()
    x = A.ones(1, 2, dtype=np.float64)
    np.testing.assert_allclose(m(x)._data, (x @ m.weight.T + m.bias)._data)


def test_forward_not_implemented():
    with pytest.raises(NotImplementedError, match=r'Module \[ModuleList\] is missing the required '
                                                  r'"forward" function'):
        nn.ModuleList()(A.zeros(1))


# ---------------------------------------------------------------------- module scope
def _modules_of(out):
    """{node name: module} for every node of the graph behind ``out``."""
    names = {}
    for node in A.topological_order([out.grad_fn]):
        if isinstance(node, A.Context):
            names.setdefault(node.module, set()).add(node.name)
    return names


def test_scope_in_sequential():
    seq = nn.Sequential(Affine(3, 2), Act())
    out = seq(A.randn(4, 3, dtype=np.float64))
    assert out.grad_fn.module == "1"
    mods = _modules_of(out)
    assert set(mods) == {"0", "1"}
    assert "Tanh" in mods["1"] and "MatMul" in mods["0"]
    assert _module_stack == []


def test_scope_nested_and_root():
    class Root(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(Affine(4, 3), Act())
            self.head = Affine(3, 2)

        def forward(self, x):
            h = self.features(x) * 2            # created in Root's own forward
            h = self.features[1](h)             # a grandchild called from the root
            return self.head(h)

    root = Root()
    out = root(A.randn(2, 4, dtype=np.float64))
    mods = _modules_of(out)
    assert set(mods) == {"features.0", "features.1", "Root", "head"}
    assert mods["Root"] == {"Mul"}
    assert _module_stack == []
    # a module called on its own is named after its class
    lone = Affine(2, 2)
    assert lone(A.ones(1, 2, dtype=np.float64)).grad_fn.module == "Affine"
    # nothing is recorded outside modules
    assert (A.ones(2, requires_grad=True) * 2).grad_fn.module is None


def test_scope_follows_structure_changes_and_copies():
    seq = nn.Sequential(Affine(2, 2))
    x = A.ones(1, 2, dtype=np.float64)
    assert seq(x).grad_fn.module == "0"
    seq.insert(0, Act())
    assert seq(x).grad_fn.module == "1"
    seq2 = copy.deepcopy(seq)
    assert seq2(x).grad_fn.module == "1"
    assert seq2[1].weight is not seq[1].weight
    np.testing.assert_array_equal(seq2[1].weight._data, seq[1].weight._data)


def test_scope_popped_after_exception():
    class Bad(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    seq = nn.Sequential(Act(), Bad())
    with pytest.raises(ValueError):
        seq(A.ones(2, requires_grad=True))
    assert _module_stack == []


# ---------------------------------------------------------------------- containers
def test_sequential_container():
    a, b, c = Affine(2, 2), Act(), Affine(2, 2)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == [b, c]
    assert list(seq[1:]._modules) == ["1", "2"]
    del seq[1]
    assert list(seq._modules) == ["0", "1"] and seq[1] is c
    seq.append(b)
    assert seq[2] is b
    seq[0] = Act()
    assert isinstance(seq[0], Act)
    with pytest.raises(IndexError):
        seq[5]
    named = nn.Sequential(OrderedDict([("conv", a), ("act", b)]))
    assert named.conv is a and list(named.state_dict()) == ["conv.weight", "conv.bias"]
    x = A.randn(3, 2, dtype=np.float64)
    np.testing.assert_allclose(nn.Sequential(a, b)(x)._data, b(a(x))._data)
    assert len(nn.Sequential(a) + nn.Sequential(b)) == 2


def test_module_list_and_dict():
    layers = nn.ModuleList([Affine(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(Act())
    layers.insert(0, Act())
    assert [type(m).__name__ for m in layers] == ["Act", "Affine", "Affine", "Affine", "Act"]
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    layers += [Act()]
    assert len(layers) == 5 and isinstance(layers[-2:], nn.ModuleList)

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleDict({"a": Affine(2, 2), "b": Act()})
    h = Holder()
    assert list(h.blocks) == ["a", "b"] and "a" in h.blocks
    assert list(h.state_dict()) == ["blocks.a.weight", "blocks.a.bias"]
    h.blocks["c"] = Affine(2, 1)
    assert list(h.blocks.keys()) == ["a", "b", "c"]
    assert isinstance(h.blocks.pop("b"), Act) and len(h.blocks) == 2
