"""Optimizers of nn/optimizers.py (and SGD/Adam options) and schedulers of nn/lr_scheduler.py
against PyTorch: 50 steps in float64 on the same non-convex objective from the same start,
parameters (and learning rates / momenta) agreeing to 1e-6 at every step; state_dict
round trips; argument errors. Torch comparisons are skipped without torch."""
import math

import numpy as np
import pytest

import nn
from autograd import Tensor

R = np.random.default_rng(0)
X = R.standard_normal((6, 4))
W0, B0 = R.standard_normal((4, 3)) * 0.5, R.standard_normal(3) * 0.1


def _objective(x, w, b):
    """Σ tanh(x @ w + b)² + 0.1·Σ w⁴ - Σ b (the same code for both libraries)."""
    h = (x @ w + b).tanh()
    return (h * h).sum() + 0.1 * (w * w * w * w).sum() - b.sum()


def _run_nd(make, steps, groups=False):
    w, b = Tensor(W0.copy(), requires_grad=True), Tensor(B0.copy(), requires_grad=True)
    opt = make(nn.optim, [{"params": [w]}, {"params": [b]}] if groups else [w, b])
    x = Tensor(X)
    path = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = _objective(x, w, b)
            loss.backward()
            return loss
        opt.step(closure)
        path.append(np.concatenate([w._data.ravel(), b._data.ravel()]))
    return np.array(path), opt


def _run_torch(make, steps, groups=False):
    import torch
    w = torch.tensor(W0.copy(), requires_grad=True)
    b = torch.tensor(B0.copy(), requires_grad=True)
    opt = make(torch.optim, [{"params": [w]}, {"params": [b]}] if groups else [w, b])
    x = torch.tensor(X)
    path = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = _objective(x, w, b)
            loss.backward()
            return loss
        opt.step(closure)
        path.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return np.array(path)


OPTIMIZERS = {
    "SGD-nesterov": lambda o, p: o.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "SGD-maximize-decay": lambda o, p: o.SGD(p, lr=0.01, momentum=0.5, dampening=0.1,
                                             weight_decay=0.1, maximize=True),
    "Adam-amsgrad": lambda o, p: o.Adam(p, lr=0.05, amsgrad=True, weight_decay=0.1),
    "Adam-maximize": lambda o, p: o.Adam(p, lr=0.01, maximize=True),
    "AdamW-amsgrad": lambda o, p: o.AdamW(p, lr=0.05, amsgrad=True),
    "Adagrad": lambda o, p: o.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1,
                                      initial_accumulator_value=0.1),
    "Adagrad-maximize": lambda o, p: o.Adagrad(p, maximize=True),
    "Adadelta": lambda o, p: o.Adadelta(p, lr=1.0, rho=0.8, weight_decay=0.1),
    "Adadelta-maximize": lambda o, p: o.Adadelta(p, maximize=True),
    "RMSprop-centered-momentum": lambda o, p: o.RMSprop(p, lr=0.01, momentum=0.9,
                                                        centered=True),
    "RMSprop-decay": lambda o, p: o.RMSprop(p, lr=0.01, alpha=0.9, weight_decay=0.1),
    "RMSprop-maximize": lambda o, p: o.RMSprop(p, lr=0.01, maximize=True),
    "Adamax": lambda o, p: o.Adamax(p, lr=0.05, weight_decay=0.1),
    "Adamax-maximize": lambda o, p: o.Adamax(p, maximize=True),
    "NAdam": lambda o, p: o.NAdam(p, lr=0.05),
    "NAdam-decoupled": lambda o, p: o.NAdam(p, lr=0.05, weight_decay=0.1,
                                            decoupled_weight_decay=True),
    "NAdam-maximize": lambda o, p: o.NAdam(p, lr=0.01, weight_decay=0.1, maximize=True),
    "RAdam": lambda o, p: o.RAdam(p, lr=0.05),
    "RAdam-decay": lambda o, p: o.RAdam(p, lr=0.05, weight_decay=0.1),
    "RAdam-decoupled": lambda o, p: o.RAdam(p, lr=0.05, weight_decay=0.1,
                                            decoupled_weight_decay=True),
    "Rprop": lambda o, p: o.Rprop(p, lr=0.01),
    "Rprop-maximize": lambda o, p: o.Rprop(p, lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-4, 0.1),
                                           maximize=True),
    "ASGD": lambda o, p: o.ASGD(p, lr=0.05, t0=10, lambd=0.01),
    "ASGD-decay": lambda o, p: o.ASGD(p, lr=0.02, weight_decay=0.1, alpha=0.5),
}

GROUPED = {
    "SGD-groups": lambda o, g: o.SGD([dict(g[0], lr=0.1, momentum=0.9), g[1]], lr=0.01),
    "Adam-groups": lambda o, g: o.Adam([g[0], dict(g[1], lr=0.1, betas=(0.5, 0.9),
                                                   amsgrad=True)], lr=0.01),
    "RMSprop-groups": lambda o, g: o.RMSprop([dict(g[0], centered=True), g[1]], lr=0.01),
    "Adagrad-groups": lambda o, g: o.Adagrad([g[0], dict(g[1], lr_decay=0.1)], lr=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_trajectory_matches_torch(name):
    pytest.importorskip("torch")
    ours, _ = _run_nd(OPTIMIZERS[name], 50)
    theirs = _run_torch(OPTIMIZERS[name], 50)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    assert not np.allclose(ours[0], ours[-1])  # it moved


@pytest.mark.parametrize("name", sorted(GROUPED))
def test_per_group_options_match_torch(name):
    pytest.importorskip("torch")
    ours, _ = _run_nd(GROUPED[name], 50, groups=True)
    theirs = _run_torch(GROUPED[name], 50, groups=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kw", [dict(), dict(history_size=3, max_iter=4),
                                dict(lr=0.5, tolerance_change=1e-12),
                                dict(line_search_fn="strong_wolfe"),
                                dict(line_search_fn="strong_wolfe", history_size=2,
                                     max_iter=7)])
def test_lbfgs_matches_torch(kw):
    pytest.importorskip("torch")
    make = lambda o, p: o.LBFGS(p, **kw)  # noqa: E731
    ours, _ = _run_nd(make, 5)
    theirs = _run_torch(make, 5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kw", [dict(max_iter=1, lr=0.5), dict(max_iter=1, history_size=4,
                                                                line_search_fn="strong_wolfe")])
def test_lbfgs_50_single_iteration_steps_match_torch(kw):
    pytest.importorskip("torch")
    make = lambda o, p: o.LBFGS(p, **kw)  # noqa: E731
    ours, _ = _run_nd(make, 50)
    theirs = _run_torch(make, 50)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "RMSprop-centered-momentum", "Adamax",
                                  "NAdam", "RAdam", "Rprop", "ASGD"])
def test_state_dict_round_trip_resumes_exactly(name):
    full, _ = _run_nd(OPTIMIZERS[name], 20)
    w, b = Tensor(W0.copy(), requires_grad=True), Tensor(B0.copy(), requires_grad=True)
    x = Tensor(X)
    opt = OPTIMIZERS[name](nn.optim, [w, b])
    for i in range(20):
        if i == 10:  # a fresh optimizer continues from the snapshot
            sd = opt.state_dict()
            opt = OPTIMIZERS[name](nn.optim, [w, b])
            opt.load_state_dict(sd)
        opt.zero_grad()
        _objective(x, w, b).backward()
        opt.step()
    np.testing.assert_array_equal(np.concatenate([w._data.ravel(), b._data.ravel()]), full[-1])


def test_lbfgs_minimises_a_quadratic():
    x = Tensor(np.array([3.0, -2.0]), requires_grad=True)
    opt = nn.optim.LBFGS([x])

    def closure():
        opt.zero_grad()
        loss = ((x - Tensor(np.array([1.0, 2.0]))) ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    np.testing.assert_allclose(x._data, [1.0, 2.0], atol=1e-6)


# ------------------------------------------------------------------------------ schedulers
SCHEDULERS = {
    "LambdaLR": lambda s, o: s.LambdaLR(o, lambda e: 0.95 ** e + 0.01 * e),
    "MultiplicativeLR": lambda s, o: s.MultiplicativeLR(o, lambda e: 0.97),
    "MultiStepLR": lambda s, o: s.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.5),
    "ExponentialLR": lambda s, o: s.ExponentialLR(o, gamma=0.93),
    "LinearLR": lambda s, o: s.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=20),
    "ConstantLR": lambda s, o: s.ConstantLR(o, factor=0.25, total_iters=7),
    "PolynomialLR": lambda s, o: s.PolynomialLR(o, total_iters=30, power=2.0),
    "CosineAnnealingWarmRestarts": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5,
                                                                              T_mult=2,
                                                                              eta_min=0.001),
    "CosineAnnealingWarmRestarts-1": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=7),
    "CyclicLR-triangular": lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=4,
                                                   step_size_down=6),
    "CyclicLR-triangular2": lambda s, o: s.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=5,
                                                    mode="triangular2"),
    "CyclicLR-exp_range": lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                  mode="exp_range", gamma=0.97,
                                                  cycle_momentum=False),
    "OneCycleLR": lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=50),
    "OneCycleLR-linear-3phase": lambda s, o: s.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=5,
                                                          steps_per_epoch=10,
                                                          anneal_strategy="linear",
                                                          three_phase=True),
    "SequentialLR": lambda s, o: s.SequentialLR(o, [s.LinearLR(o, 0.1, total_iters=5),
                                                    s.ExponentialLR(o, 0.9),
                                                    s.ConstantLR(o, 0.5, total_iters=4)],
                                                milestones=[5, 20]),
    "ChainedScheduler": lambda s, o: s.ChainedScheduler([s.ConstantLR(o, 0.5, total_iters=4),
                                                         s.ExponentialLR(o, 0.9)]),
    "StepLR": lambda s, o: s.StepLR(o, 7, 0.5),
    "CosineAnnealingLR": lambda s, o: s.CosineAnnealingLR(o, 20, 0.001),
}


def _lr_path(lib, make, steps=49):
    """(lr, momentum) of both groups after construction and after each step."""
    if lib == "torch":
        import torch
        params = [torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)]
        opt = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.2}],
                              lr=0.1, momentum=0.9)
        sched = make(torch.optim.lr_scheduler, opt)
    else:
        params = [Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(2),
                                                                  requires_grad=True)]
        opt = nn.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.2}],
                           lr=0.1, momentum=0.9)
        sched = make(nn.optim.lr_scheduler, opt)
    path = []
    for i in range(steps + 1):
        if i:
            opt.step()
            sched.step()
        path.append([v for g in opt.param_groups for v in (g["lr"], g["momentum"])]
                    + list(sched.get_last_lr()))
    return np.array(path)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_matches_torch(name):
    pytest.importorskip("torch")
    ours = _lr_path("nd", SCHEDULERS[name])
    theirs = _lr_path("torch", SCHEDULERS[name])
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)


def _plateau_path(lib, **kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.81, 0.81, 0.81, 0.81, 0.81, 0.5] * 4
    if lib == "torch":
        import torch
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    else:
        opt = nn.optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
        s = nn.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        s.step(m)
        out.append(opt.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize("kw", [dict(patience=2), dict(patience=1, cooldown=2, factor=0.5),
                                dict(mode="max", patience=1, threshold_mode="abs",
                                     threshold=0.05, min_lr=0.01)])
def test_reduce_lr_on_plateau_matches_torch(kw):
    pytest.importorskip("torch")
    np.testing.assert_allclose(_plateau_path("nd", **kw), _plateau_path("torch", **kw))


def test_schedulers_without_torch():
    w = Tensor(np.zeros(1), requires_grad=True)
    opt = nn.optim.SGD([w], lr=1.0)
    s = nn.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    for _ in range(3):
        s.step()
    assert s.get_last_lr() == [0.125]
    opt = nn.optim.SGD([w], lr=1.0, momentum=0.9)
    s = nn.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert math.isclose(opt.param_groups[0]["lr"], 1.0 / 25)
    assert opt.param_groups[0]["momentum"] == 0.95


@pytest.mark.parametrize("call, exc, match", [
    (lambda p: nn.optim.Adagrad(p, lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda p: nn.optim.Adadelta(p, rho=1.5), ValueError, "Invalid rho value: 1.5"),
    (lambda p: nn.optim.RMSprop(p, alpha=-0.1), ValueError, "Invalid alpha value"),
    (lambda p: nn.optim.Adamax(p, betas=(1.0, 0.9)), ValueError,
     "Invalid beta parameter at index 0"),
    (lambda p: nn.optim.NAdam(p, momentum_decay=-1), ValueError,
     "Invalid momentum_decay value"),
    (lambda p: nn.optim.RAdam(p, eps=-1), ValueError, "Invalid epsilon value"),
    (lambda p: nn.optim.LBFGS([{"params": p[:1]}, {"params": p[1:]}]), ValueError,
     "doesn't support per-parameter options"),
    (lambda p: nn.optim.LBFGS(p).step(), RuntimeError, "requires a closure"),
    (lambda p: nn.optim.lr_scheduler.OneCycleLR(nn.optim.SGD(p, lr=1), 1.0), ValueError,
     "You must define either total_steps OR"),
    (lambda p: nn.optim.lr_scheduler.CyclicLR(nn.optim.Adagrad(p), 0.1, 1.0), ValueError,
     "optimizer must support momentum or beta1"),
    (lambda p: nn.optim.lr_scheduler.ReduceLROnPlateau(nn.optim.SGD(p, lr=1), factor=1.5),
     ValueError, "Factor should be < 1.0"),
    (lambda p: nn.optim.lr_scheduler.LinearLR(nn.optim.SGD(p, lr=1), start_factor=0),
     ValueError, "Starting multiplicative factor"),
])
def test_optimizer_and_scheduler_errors(call, exc, match):
    params = [Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(2), requires_grad=True)]
    with pytest.raises(exc, match=match):
        call(params)


def test_onecycle_refuses_to_step_past_total_steps():
    opt = nn.optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0, momentum=0.9)
    s = nn.optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of "
                                         "total steps is 3"):
        s.step()


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "RMSprop-centered-momentum",
                                  "RMSprop-decay", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"])
def test_state_dict_layout_matches_torch(name):
    torch = pytest.importorskip("torch")
    _, opt = _run_nd(OPTIMIZERS[name], 2)
    w = torch.tensor(W0.copy(), requires_grad=True)
    b = torch.tensor(B0.copy(), requires_grad=True)
    topt = OPTIMIZERS[name](torch.optim, [w, b])
    _objective(torch.tensor(X), w, b).backward()
    topt.step()
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for k in theirs["state"]:
        assert set(ours["state"][k]) == set(theirs["state"][k])
    assert ours["param_groups"][0]["params"] == theirs["param_groups"][0]["params"]
    shared = set(ours["param_groups"][0]) & set(theirs["param_groups"][0])
    for key in shared - {"params"}:
        assert ours["param_groups"][0][key] == theirs["param_groups"][0][key], key


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_resumes_from_state_dicts(name):
    """Save optimizer and scheduler state after 10 steps, rebuild both, load, continue:
    the same learning rates as 20 uninterrupted steps (PyTorch's resume recipe)."""
    def fresh():
        p = [Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(2), requires_grad=True)]
        opt = nn.optim.SGD([{"params": p[:1]}, {"params": p[1:], "lr": 0.2}], lr=0.1,
                           momentum=0.9)
        return opt, SCHEDULERS[name](nn.optim.lr_scheduler, opt)

    def lrs(opt):
        return [v for g in opt.param_groups for v in (g["lr"], g["momentum"])]
    opt, sched = fresh()
    straight = []
    for _ in range(20):
        opt.step()
        sched.step()
        straight.append(lrs(opt))
    opt, sched = fresh()
    resumed = []
    for _ in range(10):
        opt.step()
        sched.step()
        resumed.append(lrs(opt))
    sd_opt, sd_sched = opt.state_dict(), sched.state_dict()
    opt, sched = fresh()
    opt.load_state_dict(sd_opt)
    sched.load_state_dict(sd_sched)
    for _ in range(10):
        opt.step()
        sched.step()
        resumed.append(lrs(opt))
    np.testing.assert_allclose(resumed, straight, rtol=1e-12)
