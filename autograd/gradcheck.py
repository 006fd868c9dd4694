"""Check analytic gradients against central differences, in float64.

For a random upstream gradient v (not just ones), the analytic vector-Jacobian
product vᵀ·J from backward is compared, element by element, with

    d<f(x), v>/dx_i  ≈  (<f(x + eps·e_i), v> - <f(x - eps·e_i), v>) / (2·eps)
"""
import warnings

import numpy as np

from . import engine
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when analytic and numerical gradients disagree."""


def _as_outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _dot(outputs, vs):
    return sum(float(np.sum(o._data.astype(np.float64) * v)) for o, v in zip(outputs, vs))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """True if ``fn``'s gradients match central differences for every input that requires grad.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors. Inputs should be float64
    (a warning is given for float32: differences are too coarse there). On failure
    raises ``GradcheckError`` naming the input index, the worst element, the analytic
    and numerical values and the error (or returns False with ``raise_exception=False``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    tensors = [(i, x) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not tensors:
        raise ValueError("gradcheck: no input requires grad")
    for i, x in tensors:
        if x.dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} has dtype {x.dtype}; central differences need "
                          f"float64 to be reliable", UserWarning, stacklevel=2)
    rng = np.random.default_rng(seed)
    with enable_grad():
        outputs = _as_outputs(fn(*inputs))
    vs = [rng.standard_normal(o.shape) for o in outputs]
    diff_outputs = [(o, v) for o, v in zip(outputs, vs) if o.requires_grad]
    if diff_outputs:
        analytic = engine.grad([o for o, _ in diff_outputs], [x for _, x in tensors],
                               [Tensor(v.astype(o.dtype)) for o, v in diff_outputs],
                               allow_unused=True)
    else:
        analytic = [None] * len(tensors)

    for (i, x), g in zip(tensors, analytic):
        g = np.zeros(x.shape) if g is None else g._data.astype(np.float64)
        numeric = np.zeros(x.shape)
        # Perturb x in place and restore it (x may be saved, hence read-only, in the
        # graph built above: lift that for the duration).
        was_writeable = x._data.flags.writeable
        x._data.flags.writeable = True
        # Index the array itself (reshape(-1) of a non-contiguous array would be a copy).
        arr = x._data
        try:
            with no_grad():
                for k in np.ndindex(arr.shape):
                    orig = arr[k]
                    arr[k] = orig + eps
                    plus = _dot(_as_outputs(fn(*inputs)), vs)
                    arr[k] = orig - eps
                    minus = _dot(_as_outputs(fn(*inputs)), vs)
                    arr[k] = orig
                    numeric[k] = (plus - minus) / (2 * eps)
        finally:
            x._data.flags.writeable = was_writeable
        err = np.abs(g - numeric)
        bad = err > atol + rtol * np.abs(numeric)
        if np.any(bad):
            worst = np.unravel_index(np.argmax(np.where(bad, err, -1)), x.shape) if x.ndim else ()
            msg = (f"gradcheck: gradient of input {i} (shape {x.shape}) does not match central "
                   f"differences: worst element {tuple(int(w) for w in worst)}: analytic "
                   f"{g[worst]:.8g} vs numerical {numeric[worst]:.8g} (error {err[worst]:.3g}; "
                   f"{int(bad.sum())} of {bad.size} elements exceed atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Check second derivatives: gradcheck of x -> d<fn(x), v>/dx built with create_graph=True."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    positions = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        outs = _as_outputs(fn(*inputs))
    vs = [Tensor(rng.standard_normal(o.shape).astype(o.dtype)) for o in outs]

    def first_grads(*xs):
        wrt = [xs[i] for i in positions]
        with enable_grad():  # gradcheck evaluates this under no_grad; we need a graph
            outputs = _as_outputs(fn(*xs))
            pairs = [(o, v) for o, v in zip(outputs, vs) if o.requires_grad]
            gs = engine.grad([o for o, _ in pairs], wrt, [v for _, v in pairs],
                             create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor(np.zeros(x.shape, x.dtype))
                     for g, x in zip(gs, wrt))

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed,
                     raise_exception=raise_exception)
