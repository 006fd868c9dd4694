"""Higher-level differentiation of functions (``torch.autograd.functional``): ``vjp``, ``jvp``,
``jacobian``, ``hessian``, ``vhp``, ``hvp``.

Each takes ``func`` and its ``inputs`` (a Tensor or a tuple of Tensors), runs ``func`` on
fresh leaves that share the inputs' values, and differentiates with ``autograd.grad``:

* ``vjp``: ``vᵀ·J`` by one reverse pass (``v`` shaped like the outputs);
* ``jvp``: ``J·v`` by the double-backward trick: ``g(u) = uᵀ·J`` is linear in a dummy ``u``,
  so the gradient of ``g(u)·v`` with respect to ``u`` is ``J·v``;
* ``jacobian``: one reverse pass per output element (shape ``output.shape + input.shape``);
* ``hessian``: the Jacobian of the gradient of a scalar function;
* ``vhp`` / ``hvp``: ``vᵀ·H`` / ``H·v`` by differentiating ``∇f·v`` once more.

With ``create_graph=True`` the results are part of a graph (differentiable again);
otherwise they are detached. ``strict=True`` raises when an output does not depend on an
input (instead of returning zeros).
"""
import numpy as np

from .engine import grad as _grad
from .grad_mode import enable_grad
from .tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x, name, fn):
    if isinstance(x, Tensor):
        return (x,), True
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return tuple(x), False
    raise TypeError(f"The {name} given to {fn} must be either a Tensor or a tuple of Tensors "
                    f"but the value at index 0 has type {type(x).__name__}.")


def _leaves(inputs, create_graph):
    """Inputs as leaves requiring grad (the same Tensors when they can take part in a
    higher-order graph, else detached views)."""
    if create_graph:
        return tuple(t if t.requires_grad else t.detach().requires_grad_() for t in inputs)
    return tuple(t.detach().requires_grad_() for t in inputs)


def _zeros_like(t):
    return Tensor(np.zeros(t.shape, t.dtype))


def _fill(grads, refs, strict, what):
    out = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode{what}.")
            g = _zeros_like(r)
        out.append(g)
    return tuple(out)


def _finish(ts, create_graph):
    return tuple(t if create_graph else t.detach() for t in ts)


def _outputs(func, leaves, fn):
    with enable_grad():
        out = func(*leaves)
    outs, single = _as_tuple(out, "outputs of the user-provided function", fn)
    return outs, single


def _check_v(v, refs, name, fn):
    vs, _ = _as_tuple(v, "v", fn)
    if len(vs) != len(refs):
        raise RuntimeError(f"{fn}: v has {len(vs)} tensors, expected {len(refs)} ({name})")
    for a, b in zip(vs, refs):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"Mismatch in shape: {fn}'s v of shape {tuple(a.shape)} for "
                               f"the {name} of shape {tuple(b.shape)}")
    return vs


def _default_v(refs, fn, name):
    if any(r._data.size != 1 for r in refs):
        raise RuntimeError(f"The vector v can only be None if the {name} of the user-provided "
                           f"function is a single Tensor with a single element.")
    return tuple(Tensor(np.ones(r.shape, r.dtype)) for r in refs)


def _differentiable(outs, leaves, grad_outputs, create_graph):
    """grad of outs w.r.t. leaves, skipping outputs that do not require grad."""
    pairs = [(o, g) for o, g in zip(outs, grad_outputs) if o.requires_grad]
    if not pairs:
        return (None,) * len(leaves)
    return _grad([o for o, _ in pairs], list(leaves), [g for _, g in pairs],
                 retain_graph=True, create_graph=create_graph, allow_unused=True)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ·J)``."""
    ins, single_in = _as_tuple(inputs, "inputs", "vjp")
    leaves = _leaves(ins, create_graph)
    outs, single_out = _outputs(func, leaves, "vjp")
    vs = _check_v(v, outs, "outputs", "vjp") if v is not None \
        else _default_v(outs, "vjp", "output")
    grads = _fill(_differentiable(outs, leaves, vs, create_graph), leaves, strict, "")
    outs, grads = _finish(outs, create_graph), _finish(grads, create_graph)
    return (outs[0] if single_out else outs), (grads[0] if single_in else grads)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J·v)`` (``v`` shaped like the inputs)."""
    ins, single_in = _as_tuple(inputs, "inputs", "jvp")
    leaves = _leaves(ins, create_graph)
    vs = _check_v(v, leaves, "inputs", "jvp") if v is not None \
        else _default_v(leaves, "jvp", "input")
    outs, single_out = _outputs(func, leaves, "jvp")
    dummies = tuple(Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outs)
    with enable_grad():
        g = _differentiable(outs, leaves, dummies, True)   # uᵀ·J, linear in u
        pairs = [(gi, vi) for gi, vi in zip(g, vs) if gi is not None and gi.requires_grad]
        if pairs:
            res = _grad([p for p, _ in pairs], list(dummies), [q for _, q in pairs],
                        retain_graph=True, create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(dummies)
    res = _fill(res, outs, strict, " (jvp)")
    outs, res = _finish(outs, create_graph), _finish(res, create_graph)
    return (outs[0] if single_out else outs), (res[0] if single_out else res)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """∂output/∂input: a Tensor of shape ``output.shape + input.shape`` for one input and one
    output, else tuples (one per output) of tuples (one per input)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                         'Hint: If your function has more outputs than inputs, '
                         '"forward-mode" tends to be more performant. Otherwise, prefer to use '
                         '"reverse-mode".')
    ins, single_in = _as_tuple(inputs, "inputs", "jacobian")
    leaves = _leaves(ins, create_graph)
    outs, single_out = _outputs(func, leaves, "jacobian")
    rows = []
    for out in outs:
        flat = out.reshape(-1)
        per_input = [[] for _ in leaves]
        for k in range(flat.shape[0]):
            if flat.requires_grad:
                gs = _grad([flat[k]], list(leaves), None, retain_graph=True,
                           create_graph=create_graph, allow_unused=True)
            else:
                gs = (None,) * len(leaves)
            gs = _fill(gs, leaves, strict, " (jacobian)")
            for lst, g in zip(per_input, gs):
                lst.append(g if create_graph else g.detach())
        rows.append(tuple(_stack(lst, out.shape, leaf) for lst, leaf in zip(per_input, leaves)))
    if single_out and single_in:
        return rows[0][0]
    if single_out:
        return rows[0]
    if single_in:
        return tuple(r[0] for r in rows)
    return tuple(rows)


def _stack(grads, out_shape, leaf):
    from .tensor import stack
    if not grads:
        return Tensor(np.zeros(tuple(out_shape) + tuple(leaf.shape), leaf.dtype))
    return stack(grads, 0).reshape(tuple(out_shape) + tuple(leaf.shape))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """∂²f/∂input² of a function returning one element: shape ``input.shape + input.shape``
    (tuples of tuples for several inputs)."""
    ins, single_in = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        with enable_grad():
            out = func(*xs)
        outs, _ = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if len(outs) != 1 or outs[0]._data.size != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "with a single element")
        if not outs[0].requires_grad:
            gs = (None,) * len(xs)
        else:
            gs = _grad([outs[0].reshape(())], list(xs), None, create_graph=True,
                       allow_unused=True)
        gs = _fill(gs, xs, strict, " (hessian)")
        return gs[0] if single_in else gs

    return jacobian(gradient, ins[0] if single_in else ins, create_graph, strict)


def _second(func, inputs, v, create_graph, strict, fn):
    ins, single_in = _as_tuple(inputs, "inputs", fn)
    leaves = _leaves(ins, True)
    outs, _ = _outputs(func, leaves, fn)
    if len(outs) != 1 or outs[0]._data.size != 1:
        raise RuntimeError(f"The function given to {fn} should return a single Tensor with a "
                           f"single element")
    vs = _check_v(v, leaves, "inputs", fn) if v is not None \
        else _default_v(leaves, fn, "input")
    with enable_grad():
        gs = _differentiable(outs, leaves, (None,), True)
        pairs = [(g, w) for g, w in zip(gs, vs) if g is not None and g.requires_grad]
        res = _grad([g for g, _ in pairs], list(leaves), [w for _, w in pairs],
                    retain_graph=True, create_graph=create_graph, allow_unused=True) \
            if pairs else (None,) * len(leaves)
    res = _fill(res, leaves, strict, f" ({fn})")
    out, res = _finish(outs, create_graph)[0], _finish(res, create_graph)
    return out, (res[0] if single_in else res)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ·H)`` for a scalar ``func``."""
    return _second(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H·v)`` for a scalar ``func`` (equal to ``vhp``: H is symmetric)."""
    return _second(func, inputs, v, create_graph, strict, "hvp")
