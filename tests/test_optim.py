"""nn.optim: SGD, Adam, AdamW and the schedulers, against hand-computed updates and (when it
is installed) against PyTorch step by step."""
import math

import numpy as np
import pytest

from autograd import Tensor, no_grad
from nn.optim import (SGD, Adam, AdamW, CosineAnnealingLR, LRScheduler, Optimizer, StepLR,
                      lr_scheduler)


def param(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def set_grad(p, values):
    p.grad = Tensor(np.array(values, dtype=p._data.dtype))


# ---------------------------------------------------------------------- by hand
def test_sgd_plain_step():
    p = param([1.0, -2.0])
    set_grad(p, [0.5, 1.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p._data, [0.95, -2.1])


def test_sgd_momentum_two_steps_by_hand():
    p = param([1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    set_grad(p, [1.0])
    opt.step()                        # buf = 1            p = 1 - 0.1 = 0.9
    np.testing.assert_allclose(p._data, [0.9])
    set_grad(p, [2.0])
    opt.step()                        # buf = 0.9 + 2 = 2.9  p = 0.9 - 0.29 = 0.61
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [2.9])
    np.testing.assert_allclose(p._data, [0.61])


def test_sgd_dampening_weight_decay_nesterov_maximize_by_hand():
    p = param([1.0])
    opt = SGD([p], lr=0.1, momentum=0.5, dampening=0.5, weight_decay=0.1)
    set_grad(p, [1.0])
    opt.step()          # g = 1 + 0.1 = 1.1, buf = 1.1 (no dampening at first), p = 1 - 0.11
    np.testing.assert_allclose(p._data, [0.89])
    set_grad(p, [1.0])
    opt.step()          # g = 1.089, buf = 0.55 + 0.5 * 1.089 = 1.0945, p = 0.89 - 0.10945
    np.testing.assert_allclose(p._data, [0.89 - 0.10945])

    q = param([1.0])
    opt = SGD([q], lr=0.1, momentum=0.9, nesterov=True)
    set_grad(q, [1.0])
    opt.step()          # buf = 1, g = 1 + 0.9 * 1 = 1.9
    np.testing.assert_allclose(q._data, [0.81])

    r = param([1.0])
    set_grad(r, [1.0])
    SGD([r], lr=0.1, maximize=True).step()
    np.testing.assert_allclose(r._data, [1.1])


def test_adam_first_step_is_lr_times_sign():
    # After one step m_hat = g and v_hat = g^2, so the update is lr * g / (|g| + eps).
    p = param([1.0, 1.0, 1.0])
    set_grad(p, [3.0, -0.5, 0.0])
    opt = Adam([p], lr=0.01)
    opt.step()
    np.testing.assert_allclose(p._data, [0.99, 1.01, 1.0], rtol=1e-7)
    st = opt.state[p]
    assert st["step"] == 1
    np.testing.assert_allclose(st["exp_avg"], [0.3, -0.05, 0.0])
    np.testing.assert_allclose(st["exp_avg_sq"], [0.009, 0.00025, 0.0])


def test_adam_two_steps_by_hand():
    p = param([0.0])
    opt = Adam([p], lr=0.1, betas=(0.5, 0.5), eps=0.0)
    set_grad(p, [1.0])
    opt.step()
    set_grad(p, [3.0])
    opt.step()
    m = 0.5 * 0.5 + 0.5 * 3.0           # 1.75
    v = 0.5 * 0.5 + 0.5 * 9.0           # 4.75
    m_hat, v_hat = m / 0.75, v / 0.75
    np.testing.assert_allclose(p._data, [-0.1 - 0.1 * m_hat / math.sqrt(v_hat)])


def test_adamw_decays_before_the_adam_step():
    p = param([2.0])
    set_grad(p, [0.0])
    AdamW([p], lr=0.1, weight_decay=0.5).step()     # zero gradient: only the decay acts
    np.testing.assert_allclose(p._data, [2.0 * (1 - 0.05)])
    q = param([2.0])
    set_grad(q, [0.0])
    Adam([q], lr=0.1, weight_decay=0.5).step()      # L2: g = 1.0, a full Adam step
    np.testing.assert_allclose(q._data, [1.9], rtol=1e-7)


def test_amsgrad_keeps_the_max():
    p = param([0.0, 0.0])
    opt = Adam([p], lr=0.1, amsgrad=True)
    set_grad(p, [10.0, 1.0])
    opt.step()
    set_grad(p, [0.1, 1.0])
    opt.step()
    st = opt.state[p]
    assert np.all(st["max_exp_avg_sq"] >= st["exp_avg_sq"])
    np.testing.assert_allclose(st["max_exp_avg_sq"][0], 0.001 * 100)


def test_skips_params_without_grad_and_keeps_dtype():
    a, b = param([1.0, 2.0], np.float32), param([3.0])
    set_grad(a, [1.0, 1.0])
    for opt in (SGD([a, b], lr=0.5, momentum=0.9), Adam([a, b]), AdamW([a, b])):
        before = b._data.copy()
        opt.step()
        np.testing.assert_array_equal(b._data, before)
        assert b not in opt.state
        assert a._data.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[a].values()
                   if isinstance(v, np.ndarray))


def test_update_is_in_place_and_bumps_version():
    p = param([1.0, 2.0])
    data, version = p._data, p._version
    set_grad(p, [1.0, 1.0])
    SGD([p], lr=0.1).step()
    assert p._data is data
    assert p._version > version
    assert p.grad is not None


def test_grad_of_another_dtype_is_refused_at_assignment():
    p = param([1.0], np.float32)
    with pytest.raises(RuntimeError, match="dtype 'float64' to a tensor with dtype 'float32'"):
        p.grad = Tensor(np.array([2.0]))        # float64 gradient, as torch refuses it
    assert p.grad is None


def test_gradient_is_never_written():
    p = param([1.0, -1.0])
    g = np.array([0.3, 0.4])
    p.grad = Tensor(g)
    for opt in (SGD([p], lr=0.1, momentum=0.9), SGD([p], lr=0.1, momentum=0.9, nesterov=True),
                SGD([p], lr=0.1, momentum=0.9, dampening=0.5), Adam([p], amsgrad=True)):
        for _ in range(3):
            opt.step()
    np.testing.assert_array_equal(g, [0.3, 0.4])


def test_read_only_param_is_refused_before_any_state_changes():
    p = param([1.0, 2.0])
    opt = Adam([p], weight_decay=0.1, decoupled_weight_decay=True)
    set_grad(p, [1.0, 1.0])
    opt.step()
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opt.state[p].items()}
    p._data.flags.writeable = False                 # read-only memory (not a saved buffer)
    with pytest.raises(RuntimeError, match="optimizer.step.*memory is read-only"):
        opt.step()
    p._data.flags.writeable = True
    assert opt.state[p]["step"] == before["step"]
    np.testing.assert_array_equal(opt.state[p]["exp_avg"], before["exp_avg"])


def test_only_tensors_can_be_optimized():
    class Stand:                                    # array-like, but not a Tensor
        def __init__(self, values):
            self.data = np.array(values)
            self.grad = None
            self.requires_grad = True

    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is Stand"):
        SGD([Stand([1.0, 2.0])], lr=0.1)


def test_grad_shape_mismatch_raises():
    p = param([1.0, 2.0])
    with pytest.raises(RuntimeError, match="gradient of size '\\[3\\]' to a tensor of size '\\[2\\]'"):
        p.grad = Tensor(np.ones(3))


def test_step_on_a_scalar_param():
    p = param(2.0)
    set_grad(p, 1.0)
    SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True).step()
    Adam([p], weight_decay=0.1, maximize=True).step()
    assert p._data.shape == ()


def test_step_after_backward():
    w = param([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward()
    SGD([w], lr=0.25).step()
    np.testing.assert_allclose(w._data, [0.5, 1.0])


def test_closure_is_called_with_grad_enabled():
    w = param([3.0])
    opt = SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with no_grad():
        loss = opt.step(closure)
    assert float(loss.item()) == 9.0
    np.testing.assert_allclose(w._data, [2.4])


# ---------------------------------------------------------------------- zero_grad
def test_zero_grad_set_to_none_by_default():
    a, b = param([1.0]), param([2.0])
    set_grad(a, [5.0])
    opt = SGD([a, b], lr=0.1)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_zero_grad_fills_zeros_in_place():
    a = param([1.0, 2.0])
    set_grad(a, [5.0, 6.0])
    g = a.grad
    SGD([a], lr=0.1).zero_grad(set_to_none=False)
    assert a.grad is g
    np.testing.assert_array_equal(a.grad._data, [0.0, 0.0])


def test_zero_grad_replaces_a_grad_that_is_in_a_graph():
    a = param([1.0, 2.0])
    a.grad = param([5.0, 6.0]) * 2               # a gradient with a grad_fn
    SGD([a], lr=0.1).zero_grad(set_to_none=False)
    assert a.grad.grad_fn is None
    np.testing.assert_array_equal(a.grad._data, [0.0, 0.0])


# ---------------------------------------------------------------------- param groups
def test_param_groups_override_defaults():
    a, b = param([1.0]), param([1.0])
    opt = SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.5
    set_grad(a, [1.0])
    set_grad(b, [1.0])
    opt.step()
    np.testing.assert_allclose([a._data[0], b._data[0]], [0.9, 0.0])


def test_param_group_errors():
    a = param([1.0])
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError):
        SGD(a, lr=0.1)                               # a Tensor, not an iterable of them
    with pytest.raises(TypeError):
        SGD({a}, lr=0.1)
    with pytest.raises(ValueError, match="more than one"):
        SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(ValueError, match="duplicate"):
        SGD([a, a], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="floating"):
        SGD([Tensor(np.array([1, 2]))], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD([{"params": [a]}])                       # no lr anywhere
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        SGD([{"params": [a], "lr": -1}], lr=0.1)     # bad per-group value
    opt = SGD([a], lr=0.1)
    b = param([2.0])
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0


@pytest.mark.parametrize("make, message", [
    (lambda ps: SGD(ps, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda ps: SGD(ps, lr=float("nan")), "Invalid learning rate: nan"),
    (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda ps: SGD(ps, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "Nesterov momentum requires"),
    (lambda ps: Adam(ps, lr=-1e-3), "Invalid learning rate: -0.001"),
    (lambda ps: Adam(ps, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda ps: Adam(ps, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda ps: Adam(ps, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda ps: Adam(ps, weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda ps: AdamW(ps, lr=-2), "Invalid learning rate: -2"),
    (lambda ps: AdamW(ps, betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
])
def test_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make([param([1.0])])


def test_non_number_hyperparameter_is_a_type_error():
    with pytest.raises(TypeError, match="lr"):
        SGD([param([1.0])], lr="0.1")


# ---------------------------------------------------------------------- state dicts
def _train(opt, params, grads):
    for g in grads:
        for p, gp in zip(params, g):
            set_grad(p, gp)
        opt.step()


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: AdamW(ps, lr=0.01, betas=(0.8, 0.9)),
])
def test_state_dict_round_trip_continues_identically(make):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    grads = [[rng.standard_normal(a.shape) for a in init] for _ in range(6)]

    ps = [param(a) for a in init]
    opt = make(ps)
    _train(opt, ps, grads[:3])
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 1]
    assert sd["param_groups"][0]["params"] == [0, 1]
    saved_params = [p._data.copy() for p in ps]
    _train(opt, ps, grads[3:])

    # The snapshot did not move with the later steps.
    ps2 = [param(a) for a in saved_params]
    opt2 = make(ps2)
    opt2.param_groups[0]["lr"] = 123.0        # overwritten by the load
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert opt2.param_groups[0]["params"][0] is ps2[0]
    _train(opt2, ps2, grads[3:])
    for p, q in zip(ps, ps2):
        np.testing.assert_array_equal(p._data, q._data)


def test_state_dict_survives_save_and_load(tmp_path):
    from nn.serialization import load, save
    ps = [param([1.0, 2.0], np.float32), param([3.0], np.float32)]
    opt = Adam(ps, lr=0.01)
    _train(opt, ps, [[[1.0, 2.0], [3.0]]] * 2)
    save(opt.state_dict(), tmp_path / "opt.npz")
    sd = load(tmp_path / "opt.npz")
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    opt2 = Adam([param([1.0, 2.0], np.float32), param([3.0], np.float32)])
    opt2.load_state_dict(sd)
    assert opt2.state_dict()["state"][0]["step"] == 2
    np.testing.assert_array_equal(opt2.state_dict()["state"][1]["exp_avg"],
                                  opt.state_dict()["state"][1]["exp_avg"])


def test_load_state_dict_casts_and_checks():
    p = param([1.0, 2.0], np.float32)
    opt = SGD([p], lr=0.1, momentum=0.9)
    sd = {"state": {"0": {"momentum_buffer": Tensor(np.array([1.0, 2.0]))}},
          "param_groups": [{"lr": 0.5, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                            "nesterov": False, "maximize": False, "params": [0]}]}
    opt.load_state_dict(sd)
    buf = opt.state[p]["momentum_buffer"]
    assert isinstance(buf, np.ndarray) and buf.dtype == np.float32
    assert opt.param_groups[0]["lr"] == 0.5

    bad = {"state": {0: {"momentum_buffer": np.zeros(3)}}, "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": sd["param_groups"] * 2})
    with pytest.raises(ValueError, match="size"):
        opt.load_state_dict({"state": {}, "param_groups": [dict(sd["param_groups"][0],
                                                                params=[0, 1])]})
    with pytest.raises(ValueError, match="no parameter group"):
        opt.load_state_dict({"state": {5: {}}, "param_groups": sd["param_groups"]})
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.load_state_dict({"state": {}, "param_groups": [dict(sd["param_groups"][0], lr=-1)]})
    assert opt.param_groups[0]["lr"] == 0.5   # a failed load changed nothing


# ---------------------------------------------------------------------- schedulers
def test_step_lr_closed_form():
    opt = SGD([param([1.0])], lr=1.0)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(7):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert opt.param_groups[0]["lr"] == 0.25
    assert opt.param_groups[0]["initial_lr"] == 1.0


def test_cosine_annealing_closed_form():
    opt = SGD([{"params": [param([1.0])]}, {"params": [param([1.0])], "lr": 0.5}], lr=1.0)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    got = [sched.get_last_lr()]
    for _ in range(8):
        sched.step()
        got.append(sched.get_last_lr())
    for epoch, lrs in enumerate(got):
        for base, lr in zip([1.0, 0.5], lrs):
            expected = 0.1 + (base - 0.1) * (1 + math.cos(math.pi * epoch / 4)) / 2
            assert lr == pytest.approx(expected, rel=1e-15)
    assert got[4] == pytest.approx([0.1, 0.1])
    assert got[8] == pytest.approx([1.0, 0.5])          # the cosine goes on past T_max


def test_scheduler_state_dict_round_trip():
    opt = SGD([param([1.0])], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(3):
        sched.step()
    sd = sched.state_dict()
    assert sd["last_epoch"] == 3 and sd["base_lrs"] == [1.0] and sd["step_size"] == 2

    opt2 = SGD([param([1.0])], lr=1.0)
    sched2 = StepLR(opt2, step_size=5, gamma=0.9)
    sched2.load_state_dict(sd)
    assert (sched2.step_size, sched2.gamma, sched2.last_epoch) == (2, 0.1, 3)
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == [pytest.approx(0.01)]

    cos = CosineAnnealingLR(opt, T_max=10)
    assert set(cos.state_dict()) >= {"T_max", "eta_min", "base_lrs", "last_epoch"}
    with pytest.raises(ValueError, match="missing"):
        cos.load_state_dict({"T_max": 3})


def test_scheduler_errors_and_module_alias():
    opt = SGD([param([1.0])], lr=1.0)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(TypeError):
        StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(SGD([param([1.0])], lr=1.0), step_size=1, last_epoch=4)
    assert lr_scheduler.StepLR is StepLR
    from nn.optim.lr_scheduler import CosineAnnealingLR as C
    assert C is CosineAnnealingLR
    assert issubclass(StepLR, LRScheduler) and issubclass(SGD, Optimizer)


# ---------------------------------------------------------------------- vs PyTorch
def _compare_with_torch(make_ours, make_theirs, dtype=np.float64, steps=8, seed=0,
                        rtol=None, sched=None):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,), ()]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [Tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    # Two groups, so that per-group options and indexing are exercised too.
    opt = make_ours([{"params": ours[:2]}, {"params": ours[2:]}])
    topt = make_theirs(torch.optim, [{"params": theirs[:2]}, {"params": theirs[2:]}])
    if sched is not None:
        s, ts = sched[0](opt), sched[1](torch.optim.lr_scheduler, topt)
    rtol = rtol or (1e-12 if dtype == np.float64 else 2e-5)
    for step in range(steps):
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            if step == 2 and i == 1:
                p.grad = tp.grad = None              # a skipped parameter
                continue
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad = Tensor(g)
            tp.grad = torch.tensor(g)
        opt.step()
        topt.step()
        if sched is not None:
            s.step()
            ts.step()
            np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-12)
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p._data, tp.detach().numpy(), rtol=rtol, atol=rtol * 1e-2)
    # The per-parameter state matches too (same names, same values).
    tsd, sd = topt.state_dict(), opt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for idx, st in tsd["state"].items():
        assert set(st) == set(sd["state"][idx])
        for name, value in st.items():
            np.testing.assert_allclose(np.asarray(sd["state"][idx][name], dtype=np.float64),
                                       value.detach().numpy().astype(np.float64), rtol=rtol,
                                       atol=rtol * 1e-2)
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]


SGD_OPTIONS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
    dict(lr=0.05, maximize=True),
    dict(lr=0.05, momentum=0.5, weight_decay=0.2, maximize=True),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", SGD_OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_sgd_matches_torch(kw, dtype):
    _compare_with_torch(lambda g: SGD(g, **kw), lambda o, g: o.SGD(g, **kw), dtype)


ADAM_OPTIONS = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.05, amsgrad=True, maximize=True),
    dict(lr=0.02, betas=(0.3, 0.5)),           # beta1 < 0.5: the other branch of lerp
    dict(lr=0.02, betas=(0.0, 0.9)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", ADAM_OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_and_adamw_match_torch(name, kw, dtype):
    ours = {"Adam": Adam, "AdamW": AdamW}[name]
    _compare_with_torch(lambda g: ours(g, **kw), lambda o, g: getattr(o, name)(g, **kw), dtype)


def test_per_group_hyperparameters_match_torch():
    def groups(gs):
        gs[1]["lr"] = 0.5
        gs[1]["momentum"] = 0.0
        return gs
    _compare_with_torch(lambda g: SGD(groups(g), lr=0.1, momentum=0.9),
                        lambda o, g: o.SGD(groups(g), lr=0.1, momentum=0.9))


@pytest.mark.parametrize("kind", ["step", "cosine"])
def test_schedulers_match_torch(kind):
    if kind == "step":
        sched = (lambda opt: StepLR(opt, step_size=3, gamma=0.3),
                 lambda m, opt: m.StepLR(opt, step_size=3, gamma=0.3))
    else:
        sched = (lambda opt: CosineAnnealingLR(opt, T_max=5, eta_min=0.001),
                 lambda m, opt: m.CosineAnnealingLR(opt, T_max=5, eta_min=0.001))
    _compare_with_torch(lambda g: SGD(g, lr=0.1, momentum=0.9),
                        lambda o, g: o.SGD(g, lr=0.1, momentum=0.9), steps=13, sched=sched,
                        rtol=1e-10)


def test_load_a_torch_optimizer_state_dict():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    init = rng.standard_normal((2, 3))
    tp = torch.tensor(init.copy(), requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.01, amsgrad=True)
    for _ in range(3):
        tp.grad = torch.tensor(rng.standard_normal((2, 3)))
        topt.step()
    tsd = topt.state_dict()
    sd = {"state": {k: {n: v.detach().numpy() for n, v in st.items()}
                    for k, st in tsd["state"].items()},
          "param_groups": tsd["param_groups"]}
    p = param(tp.detach().numpy().copy())
    opt = Adam([p])
    opt.load_state_dict(sd)
    assert opt.state[p]["step"] == 3
    g = rng.standard_normal((2, 3))
    tp.grad = torch.tensor(g)
    p.grad = Tensor(g)
    topt.step()
    opt.step()
    np.testing.assert_allclose(p._data, tp.detach().numpy(), rtol=1e-12)
