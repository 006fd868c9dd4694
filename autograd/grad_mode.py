"""Switching graph recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
import functools

_enabled = True    # record graph nodes?
_anomaly = False   # record creation traces and check backward for NaN/Inf?
_raw_backward = False  # is the engine replaying a formula on raw data now? (Function.raw_backward)


def is_grad_enabled():
    return _enabled


class _GradModeContext:
    """Base for the context managers below; each also works as a decorator."""
    mode = True

    def __enter__(self):
        global _enabled
        self._prev = _enabled
        _enabled = self.mode

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            global _enabled
            prev, _enabled = _enabled, mode
            try:
                return fn(*args, **kwargs)
            finally:
                _enabled = prev
        return wrapper


class no_grad(_GradModeContext):
    """Ops inside ``with no_grad():`` record nothing (inference, optimizer steps)."""
    mode = False


class enable_grad(_GradModeContext):
    """Re-enable recording inside a ``no_grad`` region."""
    mode = True


class set_grad_enabled(_GradModeContext):
    def __init__(self, mode):
        self.mode = bool(mode)
        global _enabled
        self._prev = _enabled
        _enabled = self.mode  # like torch, also works as a plain function call

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False
