"""In-place writes and live graphs: PyTorch's semantics, and ndgrad's saved-buffer guard.

Each case runs on ndgrad and, where torch is importable, the same program on torch:
both must succeed with the same numbers, or both raise (same exception type; ndgrad's
message fragment is checked). See autograd/saved.py for the mechanism.
"""
import gc
import re
import weakref

import numpy as np
import pytest

import autograd as A
import nn
from autograd import Function, Tensor, no_grad
from nn import functional as F


def _run(program, lib):
    """``program(lib)`` with ``lib`` = ndgrad or torch; returns its result or the error."""
    try:
        return program(lib)
    except Exception as e:  # noqa: BLE001 -- compared below
        return e


class _Nd:
    """The few names the programs use, ndgrad flavoured."""
    no_grad = staticmethod(no_grad)

    @staticmethod
    def tensor(values, requires_grad=False, dtype=None):
        arr = np.array(values, dtype=dtype or (np.float64 if np.asarray(values).dtype.kind == "f" else None))
        return Tensor(arr, requires_grad=requires_grad)

    @staticmethod
    def grad_of(t):
        return None if t.grad is None else t.grad.detach().numpy()


def _torch_lib():
    torch = pytest.importorskip("torch")

    class _T:
        no_grad = staticmethod(torch.no_grad)

        @staticmethod
        def tensor(values, requires_grad=False, dtype=None):
            arr = np.array(values, dtype=dtype or (np.float64 if np.asarray(values).dtype.kind == "f" else None))
            return torch.tensor(arr, requires_grad=requires_grad)

        @staticmethod
        def grad_of(t):
            return None if t.grad is None else t.grad.detach().numpy()
    return _T


# ---------------------------------------------------------------- the programs
def stale_after_no_grad_update(L):
    w = L.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with L.no_grad():
        w -= 0.1 * L.tensor([1.0, 1.0])
    y.backward()


def fresh_graph_after_no_grad_update(L):
    w = L.tensor([1.0, 2.0], requires_grad=True)
    with L.no_grad():
        w -= 0.5 * L.tensor([1.0, 1.0])
    (w * w).sum().backward()
    return L.grad_of(w), int(w._version)


def leaf_in_place_outside_no_grad(L):
    w = L.tensor([1.0], requires_grad=True)
    w.add_(1.0)


def leaf_setitem_outside_no_grad(L):
    w = L.tensor([1.0, 2.0], requires_grad=True)
    w[0] = 5.0


def out_plus_bias(L):
    x = L.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = L.tensor([0.5, -1.0], requires_grad=True)
    out = x @ x
    out += b
    out *= b
    (out * L.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return L.grad_of(x), L.grad_of(b)


def sub_alpha_and_div(L):
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 3
    h.sub_(x, alpha=2)
    h.div_(L.tensor([2.0, 4.0, 8.0]))
    (h * h).sum().backward()
    return L.grad_of(x)


def in_place_on_saved_output(op):
    def program(L):
        x = L.tensor([0.5, 2.0], requires_grad=True)
        y = getattr(x, op)()
        y.add_(1.0)
        y.sum().backward()
    program.__name__ = f"{op}_then_add_"
    return program


def setitem_recorded(L):
    x = L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    v = L.tensor([10.0, 20.0], requires_grad=True)
    y = x * 2
    y[:, 1] = v
    y[0] = y[0] * 3
    (y * y).sum().backward()
    return L.grad_of(x), L.grad_of(v)


def setitem_scalar_broadcast(L):
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    z = y * 1
    z[1:] = L.tensor([7.0], requires_grad=True).sum()
    z.sum().backward()
    return L.grad_of(x)


def setitem_mask(L):
    x = L.tensor([1.0, -2.0, 3.0, -4.0], requires_grad=True)
    y = x * 1
    y[y < 0] = 0.0
    (y * L.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    return L.grad_of(x)


def zero_fill_copy_recorded(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    s = L.tensor([3.0, 4.0], requires_grad=True)
    a = x * 2
    a.zero_()
    b = x * 3
    b.copy_(s * s)
    c = x * 4
    c.fill_(2.5)
    (a + b * x + c * x).sum().backward()
    return L.grad_of(x), L.grad_of(s)


def clamp_recorded(L):
    x = L.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = x * 1
    y.clamp_(min=-1.0, max=1.0)
    (y * L.tensor([1.0, 2.0, 3.0])).sum().backward()
    return L.grad_of(x)


def plain_tensor_becomes_part_of_graph(L):
    w = L.tensor([1.0, 2.0], requires_grad=True)
    acc = L.tensor([0.0, 0.0])
    acc.add_(w * w)
    acc.sum().backward()
    return L.grad_of(w), bool(acc.requires_grad)


def int_add_float(L):
    L.tensor([1, 2]).add_(0.5)


def int_div(L):
    L.tensor([1, 2]).div_(2)


def bool_add_int(L):
    L.tensor([True, False]).add_(1)


def float_into_int_by_setitem(L):
    t = L.tensor([1, 2, 3])
    t[0] = 7.9
    return t.tolist()


def expand_view_written(L):
    t = L.tensor([1.0, 2.0]).expand(3, 2)
    t.add_(1.0)


def version_counts(L):
    t = L.tensor([1.0, 2.0])
    t.add_(1.0)
    t.mul_(2.0)
    t[0] = 3.0
    t.zero_()
    return int(t._version)


def data_update_tutorial_style(L):
    p = L.tensor([1.0, 2.0, 4.0], requires_grad=True)
    (p * p).sum().backward()
    p.data += -0.1 * p.grad
    return p.detach().numpy().copy(), float(p.data.std())


def gan_step(L, bad_order=False):
    """Two optimizers, a detached fake for D, then G through a fresh D (the standard loop);
    ``bad_order`` computes G's loss before D's step, which PyTorch refuses."""
    g_w = L.tensor([[0.5, -0.3], [0.2, 0.8]], requires_grad=True)
    d_w = L.tensor([[0.7], [-0.4]], requires_grad=True)
    z = L.tensor([[1.0, 2.0], [0.5, -1.0]])
    real = L.tensor([[1.0, 1.0], [2.0, 0.0]])
    lr = 0.1
    fake = z @ g_w
    if bad_order:
        g_loss = ((fake @ d_w) - 1).pow(2).mean() if hasattr(fake, "pow") else None
    d_loss = ((real @ d_w) - 1).pow(2).mean() + (fake.detach() @ d_w).pow(2).mean()
    d_loss.backward()
    with L.no_grad():
        d_w -= lr * d_w.grad
    d_w.grad = None
    if not bad_order:
        g_loss = ((fake @ d_w) - 1).pow(2).mean()
    g_loss.backward()
    with L.no_grad():
        g_w -= lr * g_w.grad
    return g_w.detach().numpy().copy(), float(d_loss.item()), float(g_loss.item())


def index_put_and_put(L):
    x = L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    v = L.tensor([10.0, 20.0, 30.0], requires_grad=True)
    y = x * 1
    y.index_put_((L.tensor([0, 1, 0]), L.tensor([2, 0, 2])), v, accumulate=True)
    z = y.put(L.tensor([1, -1]), L.tensor([7.0, 8.0]))
    w = y.clone()
    w.put_(L.tensor([0, 0]), v[:2] * 2, accumulate=True)
    (y * L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) + z + w * w).sum().backward()
    return y.detach().numpy().copy(), z.detach().numpy().copy(), L.grad_of(x), L.grad_of(v)


def index_put_replaces(L):
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.index_put_((L.tensor([0, 2]),), L.tensor([5.0, 6.0]))
    (y * y).sum().backward()
    return y.detach().numpy().copy(), L.grad_of(x)


def retain_grad_follows_in_place(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    (y * L.tensor([1.0, 10.0])).sum().backward()
    return L.grad_of(y), L.grad_of(x)


def int_index_is_a_view(L):
    y = L.tensor([1.0, 2.0, 3.0])
    y[1].add_(10.0)                     # writes y, as a view does
    m = L.tensor([[1.0, 2.0], [3.0, 4.0]])
    m[1, 0].mul_(100.0)
    return y.numpy().copy(), m.numpy().copy()


def stale_through_int_index_views(L):
    x = L.tensor([0.3, -0.7, 1.1], requires_grad=True)
    y = x * x
    y[0] = y[1] * y[2]                  # the product saved views of y; y is then written
    y.sum().backward()


def write_through_view_ops(L):
    out = []
    for view in (lambda t: t.diagonal(), lambda t: t.diagonal(1), lambda t: t.T, lambda t: t[1],
                 lambda t: t.narrow(1, 1, 2), lambda t: t.select(0, 1), lambda t: t.unbind(0)[1],
                 lambda t: t.reshape(6), lambda t: t.detach(), lambda t: t.data, lambda t: t[:, ::2]):
        base = L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        view(base).mul_(10.0)
        out.append(base.numpy().copy())
    return tuple(out)


def put_out_of_range(L):
    L.tensor([1.0, 2.0]).put_(L.tensor([5]), L.tensor([1.0]))


CASES = [  # (program, expected error type or None, ndgrad message fragment)
    (index_put_and_put, None, None),
    (index_put_replaces, None, None),
    (retain_grad_follows_in_place, None, None),
    (int_index_is_a_view, None, None),
    (write_through_view_ops, None, None),
    (stale_through_int_index_views, RuntimeError, "modified by an inplace operation.*index_put_"),
    (put_out_of_range, IndexError, "out of bounds"),
    (stale_after_no_grad_update, RuntimeError, "modified by an inplace operation.*sub_"),
    (fresh_graph_after_no_grad_update, None, None),
    (leaf_in_place_outside_no_grad, RuntimeError, "leaf Variable that requires grad"),
    (leaf_setitem_outside_no_grad, RuntimeError, "leaf Variable that requires grad"),
    (out_plus_bias, None, None),
    (sub_alpha_and_div, None, None),
    (in_place_on_saved_output("exp"), RuntimeError, "ExpBackward.*add_"),
    (in_place_on_saved_output("sigmoid"), RuntimeError, "SigmoidBackward.*add_"),
    (in_place_on_saved_output("tanh"), RuntimeError, "TanhBackward.*add_"),
    (in_place_on_saved_output("sqrt"), RuntimeError, "modified by an inplace operation"),
    (in_place_on_saved_output("relu"), RuntimeError, "modified by an inplace operation"),
    (setitem_recorded, None, None),
    (setitem_scalar_broadcast, None, None),
    (setitem_mask, None, None),
    (zero_fill_copy_recorded, None, None),
    (clamp_recorded, None, None),
    (plain_tensor_becomes_part_of_graph, None, None),
    (int_add_float, RuntimeError, "result type Float can't be cast to the desired output type Long"),
    (int_div, RuntimeError, "result type Float can't be cast to the desired output type Long"),
    (bool_add_int, RuntimeError, "result type Long can't be cast to the desired output type Bool"),
    (float_into_int_by_setitem, None, None),
    (expand_view_written, RuntimeError, "more than one element of the written-to tensor"),
    (version_counts, None, None),
    (data_update_tutorial_style, None, None),
    (gan_step, None, None),
    (lambda L: gan_step(L, bad_order=True), RuntimeError, "modified by an inplace operation.*sub_"),
]
IDS = [getattr(c[0], "__name__", "case") if c[0].__name__ != "<lambda>" else "gan_step_bad_order"
       for c in CASES]


@pytest.mark.parametrize("program,error,fragment", CASES, ids=IDS)
def test_ndgrad(program, error, fragment):
    result = _run(program, _Nd)
    if error is None:
        assert not isinstance(result, Exception), repr(result)
    else:
        assert isinstance(result, error), repr(result)
        assert re.search(fragment, str(result)), str(result)


@pytest.mark.parametrize("program,error,fragment", CASES, ids=IDS)
def test_same_as_torch(program, error, fragment):
    T = _torch_lib()
    ours, theirs = _run(program, _Nd), _run(program, T)
    if isinstance(theirs, Exception):
        assert type(ours) is type(theirs), (ours, theirs)
        return
    assert not isinstance(ours, Exception), repr(ours)
    as_list = (lambda r: list(r) if isinstance(r, tuple) else [r])
    assert len(as_list(ours)) == len(as_list(theirs))
    for a, b in zip(as_list(ours), as_list(theirs)):
        if a is None or b is None:
            assert a is b
        else:
            np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                       rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- optimizers on live graphs
def _optimizers():
    names = ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "RMSprop", "Adamax", "NAdam", "RAdam"]
    return [getattr(nn.optim, n) for n in names if hasattr(nn.optim, n)]


@pytest.mark.parametrize("opt_cls", _optimizers(), ids=lambda c: c.__name__)
def test_step_with_a_leftover_graph_then_the_stale_graph_refuses(opt_cls):
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = opt_cls(model.parameters(), lr=0.01)
    x = A.randn(5, 4)
    y = Tensor(np.array([0, 1, 2, 0, 1]))
    leftover = F.cross_entropy(model(x), y)          # e.g. a validation loss without no_grad
    for _ in range(3):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()                                    # allowed, as in PyTorch
    assert model[0].weight._version >= 3
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*optimizer.step"):
        leftover.backward()


def test_refused_optimizer_step_leaves_state_untouched():
    p = Tensor(np.frombuffer(np.ones(2).tobytes(), dtype=np.float64), requires_grad=True)
    p.grad = Tensor(np.ones(2))
    opt = nn.optim.Adam([p])
    with pytest.raises(RuntimeError, match="optimizer.step.*memory is read-only"):
        opt.step()
    assert opt.state.get(p, {}) == {} or "step" not in opt.state[p]


def test_load_state_dict_with_a_live_graph_then_backward_refused():
    net = nn.Linear(2, 2)
    out = net(A.randn(3, 2)).sum()
    net.load_state_dict({"weight": np.zeros((2, 2), np.float32), "bias": np.zeros(2, np.float32)})
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*load_state_dict"):
        out.backward()


# ---------------------------------------------------------------- the guard itself
def test_raw_numpy_write_into_saved_memory_is_refused():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.detach().numpy()[0] = 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    x.detach().numpy()[0] = 5.0                       # released after backward


def test_data_write_into_saved_memory_makes_the_graph_stale():
    # PyTorch's .data bypasses the version counter (a silently wrong gradient there);
    # ndgrad treats it as an in-place write: the graph that saved the memory refuses.
    p = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (p * p).sum()
    p.data.mul_(10.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*mul_"):
        y.backward()


def test_failed_forward_keeps_a_live_graphs_protection():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = (x ** 3).sum()
    with pytest.raises(RuntimeError, match="mul: shapes \\(3,\\) and \\(4,\\) cannot be broadcast"):
        x * Tensor(np.ones(4))
    assert not x._data.flags.writeable               # still guarded for y
    with pytest.raises(ValueError, match="read-only"):
        x._data[0] = 100.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 12.0, 27.0])


class _SavesThenRaises(Function):
    backward_rule = "dL/dx = dL/dy"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        raise ValueError("user forward failed")

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_failed_forward_leaves_nothing_read_only_and_nothing_alive():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    was = gc.isenabled()
    gc.disable()                                      # no help from the cyclic collector
    try:
        with pytest.raises(ValueError, match="user forward failed"):
            _SavesThenRaises.apply(x)
        assert x._data.flags.writeable
        h = x * Tensor(np.array([3.0, 4.0]))
        node = weakref.ref(h.grad_fn)
        with pytest.raises(RuntimeError, match="cannot be broadcast"):
            h * Tensor(np.ones(3))
        del h
        assert node() is None                         # no reference cycle kept the graph
        assert x._data.flags.writeable
    finally:
        if was:
            gc.enable()


def test_read_only_for_another_reason_says_so():
    t = Tensor(np.frombuffer(bytes(16), dtype=np.float64))
    with pytest.raises(RuntimeError, match="add_: cannot write in place.*read-only buffer"):
        t.add_(1.0)
    with pytest.raises(RuntimeError, match="fill_: cannot write in place.*read-only"):
        t.fill_(1.0)


def test_recorded_write_into_an_indexed_view_rewrites_the_base():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    w = Tensor(np.array([5.0, 7.0]), requires_grad=True)
    h = x * 2
    view = h[1:]
    view.mul_(w)                       # h's values and h's history both change (CopySlices)
    assert h.tolist() == [2.0, 20.0, 42.0] and h.grad_fn.name == "IndexPut"
    (h * Tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0, 42.0])
    np.testing.assert_array_equal(w.grad.numpy(), [8.0, 18.0])


def test_recorded_write_into_another_kind_of_shared_view_is_refused():
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    h = x * 2
    view = h.diagonal()                 # a strided view ndgrad cannot map back onto h
    with pytest.raises(RuntimeError, match="add_: in-place write into a view.*shares memory"):
        view.add_(Tensor(np.ones(2), requires_grad=True))


def test_recorded_writes_through_reshape_transpose_and_permute_views_as_torch():
    results = []
    for lib in (A, pytest.importorskip("torch")):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        w = lib.tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
        h = x * 2
        h.T.mul_(w)
        h.reshape(4)[1:3] += w.reshape(4)[:2]
        h.permute(1, 0)[0].add_(w[1])
        (h * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        results.append((h.detach().numpy().copy(), x.grad.numpy().copy(), w.grad.numpy().copy()))
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_two_graphs_share_a_buffer_and_both_go_stale():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    a = Tensor(np.array([3.0, 4.0]))
    y1, y2 = (w * a).sum(), (a * w * 2).sum()
    a.add_(1.0)
    for y in (y1, y2):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_in_place_math_on_int_tensors_refuses_float_results():
    t = Tensor(np.array([1, 2]))
    for op in ("sin_", "exp2_", "sqrt_", "sigmoid_"):
        if hasattr(t, op):
            with pytest.raises(RuntimeError, match=f"{op}: result type Float can't be cast to the desired output type Long"):
                getattr(t, op)()
    assert t.tolist() == [1, 2]


def test_fills_cast_the_value_to_the_tensors_dtype():
    t = Tensor(np.array([1, 2]))
    mask = Tensor(np.array([True, False]))
    assert t.masked_fill(mask, 0.5).tolist() == [0, 2] and t.masked_fill(mask, 0.5).dtype == np.int64
    assert t.masked_fill_(mask, 7.9).tolist() == [7, 2]


def test_random_fills_need_float_tensors_and_take_a_generator():
    with pytest.raises(NotImplementedError, match="normal_: not implemented for Long"):
        Tensor(np.array([1, 2])).normal_()
    with pytest.raises(NotImplementedError, match="uniform_: not implemented for Bool"):
        Tensor(np.array([True])).uniform_()
    a = A.zeros(4).normal_(generator=A.Generator().manual_seed(7))
    b = A.zeros(4).normal_(generator=A.Generator().manual_seed(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), np.zeros(4))


def test_clamp_in_place_needs_a_bound():
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        A.zeros(2).clamp_()


def _gan(lib_nn, lib, F, opt_mod, steps=3, bad_order=False):
    """A tiny GAN: D learns real vs fake, G learns to fool D; two Adam optimizers."""
    rng = np.random.default_rng(0)
    G = lib_nn.Sequential(lib_nn.Linear(2, 4), lib_nn.Tanh(), lib_nn.Linear(4, 2))
    D = lib_nn.Sequential(lib_nn.Linear(2, 4), lib_nn.Tanh(), lib_nn.Linear(4, 1))
    for m in (G, D):
        for p in m.parameters():
            with lib.no_grad():
                p.copy_(lib.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))
    opt_g, opt_d = opt_mod.Adam(G.parameters(), lr=0.01), opt_mod.Adam(D.parameters(), lr=0.01)
    real = lib.tensor(rng.normal(1.0, 0.1, (8, 2)).astype(np.float32))
    z = lib.tensor(rng.normal(0.0, 1.0, (8, 2)).astype(np.float32))
    ones, zeros = lib.ones(8, 1), lib.zeros(8, 1)
    losses = []
    for _ in range(steps):
        fake = G(z)
        if bad_order:  # G's loss through D computed before D's update: PyTorch refuses
            g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
        d_loss = (F.binary_cross_entropy_with_logits(D(real), ones)
                  + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if not bad_order:
            g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        losses.append((d_loss.item(), g_loss.item()))
    return np.array(losses)


def test_gan_two_optimizers_as_torch():
    import nn.functional as nF
    ours = _gan(nn, A, nF, nn.optim)
    assert np.isfinite(ours).all()
    torch = pytest.importorskip("torch")
    theirs = _gan(torch.nn, torch, torch.nn.functional, torch.optim)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_gan_generator_loss_before_discriminator_step_is_refused_as_torch():
    import nn.functional as nF
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*optimizer.step"):
        _gan(nn, A, nF, nn.optim, steps=1, bad_order=True)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _gan(torch.nn, torch, torch.nn.functional, torch.optim, steps=1, bad_order=True)
