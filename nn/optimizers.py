"""More optimizers (re-exported by ``nn.optim``): ``Adagrad``, ``Adadelta``, ``RMSprop``,
``Adamax``, ``NAdam``, ``RAdam``, ``Rprop``, ``ASGD`` and ``LBFGS``, each following the single-tensor update of
``torch.optim`` step for step (so trajectories agree with PyTorch's to rounding).

Every update reads the gradient with ``_grad_array`` (which readies the parameter for an
in-place write) and writes the parameter through ``_subtract_`` / ``_scale_`` (its version
counter moves), inside ``no_grad``. ``maximize`` ascends; ``weight_decay`` adds
``weight_decay · p`` to the gradient (L2) unless ``decoupled_weight_decay``.
"""
import numpy as np

from autograd import no_grad

from .optim import (Optimizer, _check_nonneg, _check_number, _grad_array, _scale_,
                    _subtract_)

__all__ = ["Adagrad", "Adadelta", "RMSprop", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD",
           "LBFGS"]


def _lerp_(a, b, weight):
    """a += weight·(b - a) in place, rounded as PyTorch's lerp kernel."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        np.subtract(b, (b - a) * (1 - weight), out=a)


def _direction(p, grad, group):
    """-grad if maximize else grad, plus weight_decay·p (L2); decoupled decay scales p."""
    g = -grad if group.get("maximize") else grad
    wd = group.get("weight_decay", 0)
    if wd != 0:
        if group.get("decoupled_weight_decay"):
            _scale_(p, 1 - group["lr"] * wd)
        else:
            g = g + wd * p._data
    return g


def _check_betas(betas):
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: expected two values, got {betas!r}")
    for i, beta in enumerate(betas):
        _check_number(f"beta parameter at index {i}", beta)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


class _Simple(Optimizer):
    """An optimizer whose ``step`` applies ``_update(p, grad, state, group)`` per parameter."""

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    grad = _grad_array(p)
                    if grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        self._init_state(p, state, group)
                    state["step"] += 1
                    self._update(p, grad, state, group)
        return loss

    def _init_state(self, p, state, group):
        state["step"] = 0

    def _update(self, p, grad, state, group):
        raise NotImplementedError(f"{type(self).__name__} must implement _update")


class Adagrad(_Simple):
    """Adagrad: ``sum += g²;  p -= clr · g / (√sum + eps)`` with
    ``clr = lr / (1 + (step - 1)·lr_decay)``."""

    _param_shaped_state = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_nonneg("lr", "learning rate", group["lr"])
        _check_nonneg("lr_decay", "lr_decay value", group["lr_decay"])
        _check_nonneg("weight_decay", "weight_decay value", group["weight_decay"])
        _check_nonneg("initial_accumulator_value", "initial_accumulator_value value",
                      group["initial_accumulator_value"])
        _check_nonneg("eps", "epsilon value", group["eps"])

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["sum"] = np.full_like(p._data, group["initial_accumulator_value"])

    def _update(self, p, grad, state, group):
        g = _direction(p, grad, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        _subtract_(p, clr * g / (np.sqrt(state["sum"]) + group["eps"]))


class Adadelta(_Simple):
    """Adadelta: ``v = ρv + (1-ρ)g²;  δ = √(u + eps)/√(v + eps)·g;  u = ρu + (1-ρ)δ²;
    p -= lr·δ``."""

    _param_shaped_state = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_nonneg("lr", "learning rate", group["lr"])
        _check_number("rho", group["rho"])
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        _check_nonneg("eps", "epsilon value", group["eps"])
        _check_nonneg("weight_decay", "weight_decay value", group["weight_decay"])

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["square_avg"] = np.zeros_like(p._data)
        state["acc_delta"] = np.zeros_like(p._data)

    def _update(self, p, grad, state, group):
        g = _direction(p, grad, group)
        rho, eps = group["rho"], group["eps"]
        sq, acc = state["square_avg"], state["acc_delta"]
        sq *= rho
        sq += (1 - rho) * g * g
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        acc *= rho
        acc += (1 - rho) * delta * delta
        _subtract_(p, group["lr"] * delta)


class RMSprop(_Simple):
    """RMSprop: ``v = αv + (1-α)g²``; ``avg = √(v - ḡ²)`` if centered (ḡ a running mean of g)
    else ``√v``; then ``p -= lr·g/(avg + eps)`` (with momentum: ``b = μb + g/(avg + eps)``,
    ``p -= lr·b``)."""

    _param_shaped_state = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_nonneg("lr", "learning rate", group["lr"])
        _check_nonneg("eps", "epsilon value", group["eps"])
        _check_nonneg("momentum", "momentum value", group["momentum"])
        _check_nonneg("weight_decay", "weight_decay value", group["weight_decay"])
        _check_nonneg("alpha", "alpha value", group["alpha"])

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["square_avg"] = np.zeros_like(p._data)
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p._data)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(p._data)

    def _update(self, p, grad, state, group):
        g = _direction(p, grad, group)
        alpha, eps = group["alpha"], group["eps"]
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * g * g
        if group["centered"]:
            ga = state.setdefault("grad_avg", np.zeros_like(p._data))
            _lerp_(ga, g, 1 - alpha)
            avg = np.sqrt(sq - ga * ga)
        else:
            avg = np.sqrt(sq)
        avg += eps
        if group["momentum"] > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p._data))
            buf *= group["momentum"]
            buf += g / avg
            _subtract_(p, group["lr"] * buf)
        else:
            _subtract_(p, group["lr"] * g / avg)


class Adamax(_Simple):
    """Adamax (Adam with the infinity norm): ``m = lerp(m, g, 1-β1)``,
    ``u = max(β2·u, |g| + eps)``, ``p -= lr/(1 - β1^t) · m/u``."""

    _param_shaped_state = ("exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_nonneg("lr", "learning rate", group["lr"])
        _check_nonneg("eps", "epsilon value", group["eps"])
        _check_betas(group["betas"])
        _check_nonneg("weight_decay", "weight_decay value", group["weight_decay"])

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(p._data)
        state["exp_inf"] = np.zeros_like(p._data)

    def _update(self, p, grad, state, group):
        g = _direction(p, grad, group)
        beta1, beta2 = group["betas"]
        _lerp_(state["exp_avg"], g, 1 - beta1)
        u = state["exp_inf"]
        u *= beta2
        np.maximum(u, np.abs(g) + group["eps"], out=u)
        clr = group["lr"] / (1 - beta1 ** state["step"])
        _subtract_(p, clr * state["exp_avg"] / u)


class NAdam(_Simple):
    """Adam with Nesterov momentum (Dozat), with PyTorch's momentum-decay schedule
    ``μ_t = β1·(1 - ½·0.96^(t·momentum_decay))``."""

    _param_shaped_state = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_nonneg("lr", "learning rate", group["lr"])
        _check_nonneg("eps", "epsilon value", group["eps"])
        _check_betas(group["betas"])
        _check_nonneg("weight_decay", "weight_decay value", group["weight_decay"])
        _check_nonneg("momentum_decay", "momentum_decay value", group["momentum_decay"])

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["mu_product"] = 1.0
        state["exp_avg"] = np.zeros_like(p._data)
        state["exp_avg_sq"] = np.zeros_like(p._data)

    def _update(self, p, grad, state, group):
        g = _direction(p, grad, group)
        beta1, beta2 = group["betas"]
        lr, eps, md, t = group["lr"], group["eps"], group["momentum_decay"], state["step"]
        bias_correction2 = 1 - beta2 ** t
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * md))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * md))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        _lerp_(state["exp_avg"], g, 1 - beta1)
        sq = state["exp_avg_sq"]
        sq *= beta2
        sq += (1 - beta2) * g * g
        denom = np.sqrt(sq / bias_correction2) + eps
        step = (lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
        step += (lr * mu_next / (1.0 - mu_product * mu_next)) * state["exp_avg"] / denom
        _subtract_(p, step)


class RAdam(_Simple):
    """Rectified Adam: plain momentum SGD while the variance estimate is unreliable
    (ρ_t ≤ 5), Adam with the rectification term afterwards."""

    _param_shaped_state = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    _validate_group = Adamax._validate_group

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(p._data)
        state["exp_avg_sq"] = np.zeros_like(p._data)

    def _update(self, p, grad, state, group):
        g = _direction(p, grad, group)
        beta1, beta2 = group["betas"]
        lr, eps, t = group["lr"], group["eps"], state["step"]
        _lerp_(state["exp_avg"], g, 1 - beta1)
        sq = state["exp_avg_sq"]
        sq *= beta2
        sq += (1 - beta2) * g * g
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        m_hat = state["exp_avg"] / bc1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2 ** t) / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = (bc2 ** 0.5) / (np.sqrt(sq) + eps)
            _subtract_(p, m_hat * lr * adaptive * rect)
        else:
            _subtract_(p, m_hat * lr)


class Rprop(_Simple):
    """Resilient backpropagation: per-element step sizes grow by ``etas[1]`` while the
    gradient keeps its sign and shrink by ``etas[0]`` when it flips (that step is then
    skipped); ``p -= sign(g)·step_size``."""

    _param_shaped_state = ("prev", "step_size")

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                        maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_nonneg("lr", "learning rate", group["lr"])
        etaminus, etaplus = group["etas"]
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Invalid eta values: {etaminus}, {etaplus}")

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["prev"] = np.zeros_like(p._data)
        state["step_size"] = np.full_like(p._data, group["lr"])

    def _update(self, p, grad, state, group):
        g = -grad if group["maximize"] else grad
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        sign = np.sign(g * state["prev"])
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1.0))
        size = state["step_size"]
        size *= factor.astype(size.dtype)
        np.clip(size, lo, hi, out=size)
        g = np.where(factor == etaminus, 0, g).astype(p._data.dtype)
        _subtract_(p, np.sign(g) * size)
        state["prev"][...] = g


class ASGD(_Simple):
    """Averaged SGD: ``p = p·(1 - λ·η) - η·g``, with η and the averaging weight μ
    following PyTorch's schedules; the running average of the iterates is ``state['ax']``."""

    _param_shaped_state = ("ax",)

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_nonneg("lr", "learning rate", group["lr"])
        _check_nonneg("weight_decay", "weight_decay value", group["weight_decay"])

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["eta"] = float(group["lr"])
        state["mu"] = 1.0
        state["ax"] = np.zeros_like(p._data)

    def _update(self, p, grad, state, group):
        g = _direction(p, grad, group)
        eta, lr, lambd = state["eta"], group["lr"], group["lambd"]
        _scale_(p, 1 - lambd * eta)
        _subtract_(p, eta * g)
        if state["mu"] != 1:
            state["ax"] += (p._data - state["ax"]) * state["mu"]
        else:
            state["ax"][...] = p._data
        t = state["step"]
        state["eta"] = lr / ((1 + lambd * lr * t) ** group["alpha"])
        state["mu"] = 1 / max(1, t - group["t0"])


# ------------------------------------------------------------------------------------ LBFGS
def _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag):
    """-H·g by L-BFGS's two-loop recursion over the stored curvature pairs (y, s)."""
    al = [None] * len(old_dirs)
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = (old_stps[i] @ q) * ro[i]
        q = q - al[i] * old_dirs[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        be_i = (old_dirs[i] @ r) * ro[i]
        r = r + old_stps[i] * (al[i] - be_i)
    return r


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters as one flat vector (PyTorch's algorithm:
    two-loop recursion over the last ``history_size`` curvature pairs, up to ``max_iter``
    iterations per ``step(closure)``, optional ``line_search_fn='strong_wolfe'``). ``closure``
    re-evaluates the model and returns the loss (after calling ``backward``). One group
    only."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_nonneg("lr", "learning rate", lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")
        self._flat_params = self.param_groups[0]["params"]

    def _gather_flat_grad(self):
        return np.concatenate([
            (p.grad._data if p.grad is not None else np.zeros_like(p._data)).reshape(-1)
            for p in self._flat_params])

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._flat_params:
            n = p._data.size
            _subtract_(p, (-step_size * update[offset:offset + n]).reshape(p._data.shape)
                       .astype(p._data.dtype))
            offset += n

    def _clone_param(self):
        return [p._data.copy() for p in self._flat_params]

    def _set_param(self, data):
        for p, d in zip(self._flat_params, data):
            p.copy_(d)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(self._closure_loss(closure))
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure=None):
        if closure is None:
            raise RuntimeError("LBFGS requires a closure (it re-evaluates the loss)")
        with no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        state = self.state[self._flat_params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._closure_loss(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps = state.get("old_dirs", []), state.get("old_stps", [])
        ro, H_diag = state.get("ro", []), state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y @ s
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / (y @ y)
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad @ d
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            if line_search_fn is not None:
                from ._strong_wolfe import strong_wolfe
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)
                # at most the evaluations left in this step (as PyTorch 2.x)
                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    loss = float(self._closure_loss(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

