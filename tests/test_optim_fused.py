"""The SGD update's fused path (``_blas.axpy``: ``p += -lr * d`` in one BLAS ``?axpy``
pass) against the plain NumPy path and PyTorch: values (float32 and float64, odd sizes,
every SGD option), when it applies and when it falls back (non-contiguous, overlapping,
read-only, integer arrays), the in-place semantics of ``optimizer.step()`` (version,
stale graphs) and the BLAS thread count left as it was."""
import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor, _blas
from nn import optim as optim_module

HAS_AXPY = bool(_blas._find_axpy())
needs_axpy = pytest.mark.skipif(not HAS_AXPY, reason="no ILP64 BLAS ?axpy reachable")

OPTIONS = [dict(), dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
           dict(momentum=0.8, dampening=0.3), dict(weight_decay=0.01),
           dict(maximize=True), dict(momentum=0.5, weight_decay=0.1, maximize=True)]
SHAPES = [(7, 5), (33,), (1, 1), (3, 17, 2)]


def _plain(monkeypatch):
    """Force the NumPy path of SGD.step."""
    monkeypatch.setattr(_blas, "axpy_routine", lambda x, y: None)


def _params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(step, dtype):
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _run(opts, dtype, steps=3):
    ps = [Tensor(a, requires_grad=True) for a in _params(dtype)]
    opt = nn.optim.SGD(ps, lr=0.05, **opts)
    for k in range(steps):
        for p, g in zip(ps, _grads(k, dtype)):
            p.grad = Tensor(g)
        opt.step()
    return [p._data.copy() for p in ps]


# ----------------------------------------------------------------------------- _blas.axpy
@needs_axpy
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 15, 16, 17, 1000, 100003])
def test_axpy_matches_numpy(dtype, n):
    rng = np.random.default_rng(n)
    x, y = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    wide = np.longdouble
    exact = y.astype(wide) + wide(dtype(-0.37)) * x.astype(wide)
    assert _blas.axpy(-0.37, x, y) is True
    # within an ulp of the terms (a fused multiply-add is within half an ulp of the result)
    err = np.abs(y.astype(wide) - exact)
    assert (err <= np.finfo(dtype).eps * (np.abs(exact) + np.abs(0.37 * x))).all()


@needs_axpy
def test_axpy_2d_and_numpy_scalar_alpha():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.ones((3, 4), np.float32)
    assert _blas.axpy(np.float32(0.5), x, y)
    np.testing.assert_array_equal(y, 1 + 0.5 * x)


def test_axpy_refuses_what_it_cannot_do():
    a = np.ones((4, 6))
    cases = [
        (np.ones((6, 4)).T, a),                        # x non-contiguous
        (a.copy(), np.ones((6, 4)).T.copy().T),       # y non-contiguous
        (np.ones((4, 6), np.float32), a),             # dtypes differ
        (np.ones(24), a),                              # shapes differ
        (np.ones((4, 6), np.int64), np.ones((4, 6), np.int64)),  # not floating
        (a, a),                                        # the same memory
    ]
    big = np.arange(30.0)
    cases.append((big[:24].reshape(4, 6), big[6:].reshape(4, 6)))  # overlapping
    ro = np.ones((4, 6))
    ro.setflags(write=False)
    cases.append((a.copy(), ro))                       # read-only
    for x, y in cases:
        before = y.copy()
        assert _blas.axpy(1.0, x, y) is False
        np.testing.assert_array_equal(y, before)
    assert _blas.axpy(1.0, [1.0, 2.0], [3.0, 4.0]) is False  # not arrays


@needs_axpy
def test_axpy_leaves_the_thread_count_as_it_was():
    before = _blas.current_threads()
    x, y = np.ones(50000), np.zeros(50000)
    assert _blas.axpy(2.0, x, y)
    assert _blas.current_threads() == before
    assert (y == 2.0).all()


# ----------------------------------------------------------------------------- SGD.step
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_sgd_fused_matches_plain_path(monkeypatch, dtype, opts):
    fused = _run(opts, dtype)
    _plain(monkeypatch)
    plain = _run(opts, dtype)
    for a, b in zip(fused, plain):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=8 * np.finfo(dtype).eps, atol=8 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_sgd_fused_matches_torch(dtype, opts):
    torch = pytest.importorskip("torch")
    ours = _run(opts, dtype)
    tps = [torch.tensor(a, requires_grad=True) for a in _params(dtype)]
    opt = torch.optim.SGD(tps, lr=0.05, **opts)
    for k in range(3):
        for p, g in zip(tps, _grads(k, dtype)):
            p.grad = torch.tensor(g)
        opt.step()
    for a, t in zip(ours, tps):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=8 * np.finfo(dtype).eps,
                                   atol=8 * np.finfo(dtype).eps)


@needs_axpy
def test_sgd_plain_update_is_pytorchs_rounding():
    """p.add_(grad, alpha=-lr) is a fused multiply-add in PyTorch; so is ?axpy."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p0, g = rng.standard_normal((64, 129)).astype(np.float32), \
        rng.standard_normal((64, 129)).astype(np.float32)
    p = Tensor(p0.copy(), requires_grad=True)
    p.grad = Tensor(g)
    nn.optim.SGD([p], lr=0.01).step()
    t = torch.tensor(p0.copy())
    t.add_(torch.tensor(g), alpha=-0.01)
    np.testing.assert_array_equal(p._data, t.numpy())


def test_sgd_non_contiguous_parameter_takes_the_plain_path(monkeypatch):
    base = np.random.default_rng(1).standard_normal((5, 8))
    expected = base.T - 0.5
    p = Tensor(base.T, requires_grad=True)  # an F-ordered parameter (shares base's memory)
    assert not p._data.flags.c_contiguous
    g = np.ones((8, 5))
    p.grad = Tensor(g)
    calls = []
    real = _blas.axpy
    monkeypatch.setattr(_blas, "axpy", lambda *a: calls.append(a) or real(*a))
    nn.optim.SGD([p], lr=0.5).step()
    assert calls == []
    np.testing.assert_allclose(p._data, expected)


def test_sgd_step_moves_the_version_once_per_parameter():
    ps = [Tensor(a, requires_grad=True) for a in _params(np.float32)]
    for p, g in zip(ps, _grads(0, np.float32)):
        p.grad = Tensor(g)
    before = [p._version for p in ps]
    nn.optim.SGD(ps, lr=0.1).step()
    assert [p._version - b for p, b in zip(ps, before)] == [1] * len(ps)


def test_sgd_fused_step_makes_a_graph_that_saved_the_parameter_stale():
    w = Tensor(np.random.default_rng(2).standard_normal((6, 6)), requires_grad=True)
    x = Tensor(np.ones((2, 6)))
    (x @ w).sum().backward()
    y = ((x @ w) * (x @ w)).sum()  # a live graph that saved w
    nn.optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_sgd_fused_step_writes_a_saved_gradient_array_nowhere():
    """The gradient is only read: a gradient that is also another tensor's data stays."""
    p = Tensor(np.zeros((4, 4)), requires_grad=True)
    g = Tensor(np.arange(16.0).reshape(4, 4))
    p.grad = g
    nn.optim.SGD([p], lr=1.0).step()
    np.testing.assert_array_equal(g._data, np.arange(16.0).reshape(4, 4))
    np.testing.assert_array_equal(p._data, -np.arange(16.0).reshape(4, 4))


def test_add_scaled_false_leaves_parameter_untouched(monkeypatch):
    _plain(monkeypatch)
    p = Tensor(np.ones(5), requires_grad=True)
    assert optim_module._add_scaled_(p, np.ones(5), -1.0) is False
    assert p._version == 0 and (p._data == 1).all()


def test_sgd_under_enable_grad_is_still_a_no_grad_write():
    p = Tensor(np.ones((3, 3)), requires_grad=True)
    p.grad = Tensor(np.ones((3, 3)))
    with autograd.enable_grad():
        nn.optim.SGD([p], lr=0.5).step()
    assert p.grad_fn is None and p.requires_grad
    np.testing.assert_array_equal(p._data, np.full((3, 3), 0.5))


def test_sgd_float16_parameter_takes_the_plain_path():
    torch = pytest.importorskip("torch")
    p0 = np.random.default_rng(4).standard_normal((5, 3)).astype(np.float16)
    g = np.random.default_rng(5).standard_normal((5, 3)).astype(np.float16)
    assert _blas.axpy_routine(g, p0.copy()) is None
    p = Tensor(p0.copy(), requires_grad=True)
    p.grad = Tensor(g)
    nn.optim.SGD([p], lr=0.1, momentum=0.9).step()
    t = torch.tensor(p0.copy(), requires_grad=True)
    t.grad = torch.tensor(g)
    torch.optim.SGD([t], lr=0.1, momentum=0.9).step()
    assert p._data.dtype == np.float16
    np.testing.assert_allclose(p._data, t.detach().numpy(), rtol=2e-3, atol=2e-3)


# ---------------------------------------------------------------- Adam in slabs
ADAM_OPTIONS = [dict(), dict(amsgrad=True), dict(weight_decay=0.01), dict(maximize=True),
                dict(weight_decay=0.05, decoupled_weight_decay=True)]


def _adam_run(opts, parts, shapes, steps=3):
    """Parameters and Adam state after ``steps`` steps, with every ``_parallel.run`` cut
    into ``parts`` slabs (1: the calling thread only)."""
    rng = np.random.default_rng(7)
    ps = [Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
          for s in shapes]
    opt = nn.optim.Adam(ps, lr=0.01, **opts)
    with autograd._parallel.forced(parts):
        for step in range(steps):
            for p in ps:
                p.grad = Tensor(rng.standard_normal(p.shape).astype(np.float32))
            opt.step()
    state = [opt.state[p][k] for p in ps for k in sorted(opt.state[p]) if k != "step"]
    return [p.detach().numpy() for p in ps] + state


@pytest.mark.parametrize("opts", ADAM_OPTIONS)
def test_adam_in_slabs_is_bit_identical_to_one_pass(opts):
    shapes = [(9, 4), (7,), (), (5, 3, 2)]
    one, three = _adam_run(opts, 1, shapes), _adam_run(opts, 3, shapes)
    assert len(one) == len(three)
    for a, b in zip(one, three):
        np.testing.assert_array_equal(a, b)


def test_adam_in_slabs_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    p0 = rng.standard_normal((6, 5)).astype(np.float32)
    grads = [rng.standard_normal((6, 5)).astype(np.float32) for _ in range(4)]
    p, tp = Tensor(p0.copy(), requires_grad=True), torch.tensor(p0.copy(), requires_grad=True)
    opt, topt = nn.optim.Adam([p], lr=0.01, amsgrad=True), torch.optim.Adam([tp], lr=0.01,
                                                                             amsgrad=True)
    with autograd._parallel.forced(2):
        for g in grads:
            p.grad, tp.grad = Tensor(g), torch.tensor(g)
            opt.step()
            topt.step()
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_adam_non_contiguous_parameter_in_slabs():
    base = np.random.default_rng(9).standard_normal((4, 6)).astype(np.float32)
    p = Tensor(base.T, requires_grad=True)                  # (6, 4), not contiguous
    q = Tensor(np.ascontiguousarray(base.T), requires_grad=True)
    opt_p, opt_q = nn.optim.Adam([p], lr=0.1), nn.optim.Adam([q], lr=0.1)
    g = np.random.default_rng(10).standard_normal((6, 4)).astype(np.float32)
    with autograd._parallel.forced(2):
        p.grad, q.grad = Tensor(g), Tensor(g)
        opt_p.step()
        opt_q.step()
    np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert p._version == 1
