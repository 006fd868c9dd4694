"""Factories with PyTorch's signatures and dtype rules, and random generators.

Every random function takes ``generator=``: a :class:`Generator` (its own reproducible
stream, ``Generator().manual_seed(0)``) or None for the default stream, which
``manual_seed`` reseeds. The same seed gives the same numbers either way.
"""
import numbers
import sys

import numpy as np

from .tensor import Tensor

_T = sys.modules[Tensor.__module__]  # the module (``autograd.tensor`` is also a function)


class Generator:
    """A random stream, like ``torch.Generator`` (CPU only)."""

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise RuntimeError(f"Generator: ndgrad runs on the CPU, got device {device!r}")
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._rng = np.random.default_rng(self._seed)

    device = "cpu"

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        return self.manual_seed(np.random.SeedSequence().entropy % (2 ** 63)).initial_seed()

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return dict(self._rng.bit_generator.state)

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self

    def __getattr__(self, name):
        # NumPy's sampling methods (normal, uniform, integers, ...), so that code written
        # for a np.random.Generator (nn.init's generator=) accepts this one too
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._rng, name)


class _DefaultGenerator(Generator):
    """The default stream (what ``generator=None`` uses), reseeded by ``manual_seed``."""

    def __init__(self):
        self._seed = None

    @property
    def _rng(self):
        return _T._rng()

    def manual_seed(self, seed):
        _T.manual_seed(int(seed))
        self._seed = int(seed)
        return self


default_generator = _DefaultGenerator()


def manual_seed(seed):
    """Reseed the default stream (randn, rand, randint, ..., nn.init); returns it."""
    return default_generator.manual_seed(seed)


def get_rng_state():
    """The default stream's state (a dict; ``set_rng_state`` restores it)."""
    return dict(_T._rng().bit_generator.state)


def set_rng_state(new_state):
    _T._rng().bit_generator.state = new_state


def initial_seed():
    return default_generator.initial_seed()


def seed():
    return manual_seed(np.random.SeedSequence().entropy % (2 ** 63)).initial_seed()


def _rng(generator):
    if generator is None:
        return _T._rng()
    if isinstance(generator, np.random.Generator):
        return generator
    return generator._rng


def _shape(size):
    # ints only (a float size is a TypeError, never truncated) and none negative (a
    # RuntimeError), as in torch: see tensor._shape_arg / _check_sizes
    from .tensor import _check_sizes, _shape_arg
    return _check_sizes(_shape_arg(size, "size"), "size")


def _dtype(dtype, default=None):
    return np.dtype(dtype) if dtype is not None else (default or _T.default_dtype)


def _make(arr, requires_grad):
    return Tensor(arr, requires_grad=requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    return _make(_rng(generator).standard_normal(_shape(size)).astype(_dtype(dtype)), requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    return _make(_rng(generator).random(_shape(size)).astype(_dtype(dtype)), requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, requires_grad=False,
            device=None):
    """``randint(high, size)`` or ``randint(low, high, size)``: integers in [low, high)."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    arr = _rng(generator).integers(low, high, _shape((size,)))
    return _make(arr.astype(_dtype(dtype, np.dtype(np.int64))), requires_grad)


def randperm(n, *, generator=None, dtype=None, requires_grad=False, device=None):
    return _make(_rng(generator).permutation(int(n)).astype(_dtype(dtype, np.dtype(np.int64))),
                 requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False):
    """Samples of N(mean, std²): tensor means/stds broadcast (shape of their broadcast),
    number means/stds need ``size``."""
    m, s = (x._data if isinstance(x, Tensor) else x for x in (mean, std))
    if size is None and not (isinstance(mean, Tensor) or isinstance(std, Tensor)):
        raise TypeError("normal(): with a float mean and std, the size argument is required")
    if np.any(np.asarray(s) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {np.min(s)}")
    shape = _shape((size,)) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    dt = _dtype(dtype, like.dtype if like is not None else None)
    z = _rng(generator).standard_normal(shape)
    return _make((m + s * z).astype(dt), requires_grad)


def bernoulli(input, p=None, *, generator=None):
    """1 with probability ``input`` (or ``p``), elementwise, in ``input``'s dtype."""
    probs = input._data if p is None else np.full(input.shape, p)
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("bernoulli: all elements of input should be between 0 and 1")
    u = _rng(generator).random(input.shape)
    return Tensor((u < probs).astype(input.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn with probabilities proportional to the rows of ``input`` (1-D or 2-D)."""
    w = np.asarray(input._data, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {w.ndim}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows.sum(-1) <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    n = rows.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           f"without replacement (got {num_samples} > {n})")
    rng = _rng(generator)
    if replacement:  # inverse CDF
        cdf = np.cumsum(rows, -1)
        cdf /= cdf[:, -1:]
        u = rng.random((rows.shape[0], num_samples))
        out = (u[:, :, None] >= cdf[:, None, :]).sum(-1)
        out = np.minimum(out, n - 1)
    else:  # Gumbel top-k: exactly sampling without replacement
        with np.errstate(divide="ignore"):
            keys = np.log(rows) - np.log(-np.log(rng.random(rows.shape)))
        out = np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
    return Tensor(out.reshape(w.shape[:-1] + (num_samples,)).astype(np.int64))


def linspace(start, end, steps, *, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from start to end (PyTorch's symmetric formula:
    the first half counts up from start, the second half down from end)."""
    steps = int(steps)
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    half = steps // 2
    arr = np.where(i < half, start + i * step, end - (steps - 1 - i) * step)
    if steps == 1:
        arr = np.array([start], dtype=np.float64)
    return _make(arr.astype(_dtype(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, requires_grad=False, device=None):
    lin = linspace(start, end, steps, dtype=np.float64)._data
    return _make((base ** lin).astype(_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, requires_grad=False, device=None):
    """Values from start (default 0) to end, exclusive, every step; float arguments give
    the default float dtype, as in PyTorch."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    is_float = any(isinstance(v, float) or (isinstance(v, np.floating)) for v in (start, end, step))
    n = max(int(np.ceil((end - start) / step)), 0)
    if is_float or (dtype is not None and np.dtype(dtype).kind == "f"):
        arr = start + np.arange(n, dtype=np.float64) * step
        default = _T.default_dtype
    else:
        arr = start + np.arange(n, dtype=np.int64) * int(step)
        default = np.dtype(np.int64)
    return _make(arr.astype(_dtype(dtype, default)), requires_grad)


def _fill_dtype(fill_value):
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(fill_value, numbers.Integral):
        return np.dtype(np.int64)
    return _T.default_dtype


def full(size, fill_value, *, dtype=None, requires_grad=False, device=None):
    """Filled with ``fill_value``; the dtype follows it (bool, int64, or the default float)."""
    fill = fill_value._data if isinstance(fill_value, Tensor) else fill_value
    return _make(np.full(_shape((size,)), fill, _dtype(dtype, _fill_dtype(fill_value))),
                 requires_grad)


def eye(n, m=None, *, dtype=None, requires_grad=False, device=None):
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    """2 x N (row, column) indices of the lower triangle, row by row."""
    return Tensor(np.stack(np.tril_indices(row, offset, col)).astype(_dtype(dtype, np.dtype(np.int64))))


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    return Tensor(np.stack(np.triu_indices(row, offset, col)).astype(_dtype(dtype, np.dtype(np.int64))))


def zeros_like(input, *, dtype=None, requires_grad=False, device=None):
    return _make(np.zeros(input.shape, _dtype(dtype, input.dtype)), requires_grad)


def ones_like(input, *, dtype=None, requires_grad=False, device=None):
    return _make(np.ones(input.shape, _dtype(dtype, input.dtype)), requires_grad)


def empty_like(input, *, dtype=None, requires_grad=False, device=None):
    return _make(np.empty(input.shape, _dtype(dtype, input.dtype)), requires_grad)


def full_like(input, fill_value, *, dtype=None, requires_grad=False, device=None):
    return _make(np.full(input.shape, fill_value, _dtype(dtype, input.dtype)), requires_grad)


def rand_like(input, *, dtype=None, requires_grad=False, generator=None, device=None):
    return rand(input.shape, generator=generator, dtype=_dtype(dtype, input.dtype),
                requires_grad=requires_grad)


def randn_like(input, *, dtype=None, requires_grad=False, generator=None, device=None):
    return randn(input.shape, generator=generator, dtype=_dtype(dtype, input.dtype),
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, device=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=_dtype(dtype, input.dtype))
