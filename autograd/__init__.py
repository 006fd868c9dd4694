"""ndgrad's autograd: define-by-run automatic differentiation on NumPy.

Read in this order: ``function.py`` (Function, Context: how an op records a
node), ``engine.py`` (backward: topological order + chain rule), ``variable.py``,
``tensor.py`` and ``scalar.py`` (the values), ``saved.py`` (how memory saved for
backward is guarded), ``inplace.py`` (in-place methods), ``ops/`` (every op's forward
and backward side by side), ``gradcheck.py`` (checking gradients numerically),
``testing.py`` (hypothesis strategies), ``viz/`` (drawing and explaining graphs, the
step-through page). Around the tensor: ``indexing.py``, ``coercion.py``, ``tensor_functions.py``,
``tensor_ops.py``/``tensor_reduce.py`` (more methods), ``factories.py``, ``linalg.py``,
``functional.py`` (jacobian, hessian, ...), ``onnx/`` (export).
"""
import numpy as _np

from .function import Function, Context
from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .anomaly import detect_anomaly
from .engine import grad, topological_order, tune_gc
from .variable import Variable
from .tensor import (Tensor, tensor, zeros, ones, empty, full, zeros_like, ones_like, arange,
                     randn, rand, eye, manual_seed, matmul, where, cat, concatenate, stack,
                     split, pad, _as_tensor, from_numpy, from_dlpack)
from .scalar import Scalar
from .factories import (Generator, default_generator, manual_seed, initial_seed, seed,  # noqa: F811
                        get_rng_state, set_rng_state,
                        randn, rand, randint, randperm, normal, bernoulli, multinomial, linspace,
                        logspace, arange, full, eye, tril_indices, triu_indices, zeros_like,
                        ones_like, empty_like, full_like, rand_like, randn_like, randint_like)
from .functions import *  # noqa: F401,F403  (sin, gather, einsum, cumsum, where(cond), ...)
from . import linalg  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import _malloc


def _functional(name):
    def fn(input, *args, **kwargs):
        return getattr(_as_tensor(input), name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn


# autograd.exp(x), autograd.sum(x, dim=1), ... like torch.exp, torch.sum
for _name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sign", "clamp", "sum",
              "mean", "amax", "amin", "max", "min", "argmax", "argmin", "var", "std", "logsumexp",
              "softmax", "log_softmax", "reshape", "transpose", "permute", "flatten", "squeeze",
              "unsqueeze", "expand", "maximum", "minimum"):
    globals()[_name] = _functional(_name)
del _name

tune_gc()
_malloc.tune_malloc()  # reuse freed big arrays instead of page-faulting fresh ones (glibc)

float32 = _np.float32
float64 = _np.float64
int64 = _np.int64
int32 = _np.int32
bool_ = _np.bool_


def __getattr__(name):
    # Lazy so that `import autograd` needs neither graphviz nor hypothesis.
    if name in ("draw_graph", "to_dot", "render", "explain_backward", "step_through"):
        from . import viz
        return getattr(viz, name)
    if name == "show_config":  # NumPy's BLAS, kernel, threads, CPU; see autograd/info.py
        from .info import show_config
        return show_config
    if name == "onnx":  # needs the optional onnx package only when used
        import importlib
        return importlib.import_module(".onnx", __name__)
    if name in ("testing", "functional"):  # functional: jacobian, hessian, vjp, jvp, hvp
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")
