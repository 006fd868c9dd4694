"""The learning-rate scheduler base class and the two classic schedules (``StepLR``,
``CosineAnnealingLR``), as in ``torch.optim.lr_scheduler``; the others are in
``lr_scheduler.py``. Re-exported by ``nn.optim``."""
import math
import numbers

from .optim import Optimizer, _check_number

class LRScheduler:
    """Base class of the learning-rate schedulers (``torch.optim.lr_scheduler.LRScheduler``).

    Creating one records each group's ``'initial_lr'`` and sets the learning rates for epoch
    0; each ``step()`` advances ``last_epoch`` by one and sets ``group['lr']`` to
    ``get_lr()``. The schedules here are closed-form functions of ``last_epoch`` and the
    base learning rates (so a manual change of ``group['lr']`` is overwritten at the next
    ``step()``).
    """

    _hyperparams = ()

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) \
                or last_epoch < -1:
            raise ValueError(f"Invalid last_epoch: {last_epoch!r} (expected an int >= -1)")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   f"when resuming a scheduler with last_epoch >= 0")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._step_count = 0
        self.step()

    def get_lr(self):
        """The learning rates for ``self.last_epoch``, one per param group."""
        raise NotImplementedError("LRScheduler is abstract: subclasses implement get_lr()")

    def get_last_lr(self):
        """The learning rates set by the latest ``step()`` (a new list)."""
        return list(self._last_lr)

    def step(self):
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer: hyperparameters, ``base_lrs``, ``last_epoch``, ..."""
        sd = {name: getattr(self, name) for name in self._hyperparams}
        sd.update(base_lrs=list(self.base_lrs), last_epoch=self.last_epoch,
                  _step_count=self._step_count, _last_lr=list(self._last_lr))
        return sd

    def load_state_dict(self, state_dict):
        keys = set(self._hyperparams) | {"base_lrs", "last_epoch", "_step_count", "_last_lr"}
        missing = sorted(keys - set(state_dict))
        if missing:
            raise ValueError(f"{type(self).__name__} state dict is missing {missing}")
        for key in keys:  # extra keys (e.g. torch's private attributes) are ignored
            value = state_dict[key]
            setattr(self, key, list(value) if key in ("base_lrs", "_last_lr") else value)

    def __repr__(self):
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyperparams)
        return f"{type(self).__name__}({args}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs:
    ``lr = base_lr * gamma ** (last_epoch // step_size)``."""

    _hyperparams = ("step_size", "gamma")

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) \
                or step_size < 1:
            raise ValueError(f"Invalid step_size: {step_size!r} (expected a positive int)")
        _check_number("gamma", gamma)
        if not gamma >= 0:
            raise ValueError(f"Invalid gamma: {gamma}")
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base learning rate down to ``eta_min`` over ``T_max`` epochs:
    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2``
    (after ``T_max`` the cosine goes on, rising again, as in PyTorch)."""

    _hyperparams = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _check_number("T_max", T_max)
        if not T_max > 0:
            raise ValueError(f"Invalid T_max: {T_max} (expected a positive number of epochs)")
        _check_number("eta_min", eta_min)
        if not math.isfinite(eta_min):
            raise ValueError(f"Invalid eta_min: {eta_min}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        factor = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * factor for base_lr in self.base_lrs]


# `nn.optim.lr_scheduler.StepLR(...)` and `from nn.optim.lr_scheduler import StepLR`, like
