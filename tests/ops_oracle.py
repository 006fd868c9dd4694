"""Helpers for the op tables of tests/test_ops_*.py: one function, written once, runs on
ndgrad and on PyTorch (``fn(lib, *tensors)`` with ``lib`` = ``autograd`` or ``torch``),
and values, dtypes and gradients (for a random upstream gradient) must agree."""
import numpy as np
import pytest

import autograd as A
from autograd import Tensor


def arrays(specs, seed=0):
    """Inputs from specs: a shape tuple (float64 in [-2, 2]), or a dict with shape, low,
    high, dtype ('int64' draws integers in [low, high)), or an ndarray as is."""
    rng = np.random.default_rng(seed)
    out = []
    for spec in specs:
        if isinstance(spec, np.ndarray):
            out.append(spec)
            continue
        if isinstance(spec, tuple):
            spec = dict(shape=spec)
        shape, dtype = spec["shape"], spec.get("dtype", "float64")
        low, high = spec.get("low", -2.0), spec.get("high", 2.0)
        if np.dtype(dtype).kind in "iu":
            out.append(rng.integers(low, high, shape).astype(dtype))
        elif np.dtype(dtype) == bool:
            out.append(rng.random(shape) < 0.5)
        else:
            out.append(rng.uniform(low, high, shape).astype(dtype))
    return out


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _flat(item)]
    return [out]


def _dtype_name(x):
    return str(x.dtype).replace("torch.", "")


def run_both(fn, specs, grad=True, rtol=1e-7, atol=1e-9, seed=0, check_dtype=True,
             compare_outputs=None):
    """Compare ``fn(autograd, *tensors)`` with ``fn(torch, *tensors)``; with ``grad``,
    float inputs require grad and the input gradients for a random upstream gradient of
    every differentiable output are compared too. ``compare_outputs``: indices of the
    outputs to compare (default all)."""
    torch = pytest.importorskip("torch")
    ins = arrays(specs, seed)
    mask = [grad and a.dtype.kind == "f" for a in ins]
    nd_in = [Tensor(a.copy(), requires_grad=g) for a, g in zip(ins, mask)]
    th_in = [torch.tensor(a, requires_grad=g) for a, g in zip(ins, mask)]
    nd_out, th_out = _flat(fn(A, *nd_in)), _flat(fn(torch, *th_in))
    assert len(nd_out) == len(th_out), (len(nd_out), len(th_out))
    keep = range(len(nd_out)) if compare_outputs is None else compare_outputs
    for i in keep:
        n, t = nd_out[i], th_out[i]
        if not isinstance(t, torch.Tensor):
            assert n == t, (i, n, t)
            continue
        assert tuple(n.shape) == tuple(t.shape), (i, n.shape, t.shape)
        if check_dtype:
            assert n.dtype.name == _dtype_name(t), (i, n.dtype, t.dtype)
        np.testing.assert_allclose(n._data, t.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"output {i}")
    # (an output torch marks as requiring grad but whose derivative is 0, e.g. slogdet's
    # sign, may be a constant in ndgrad)
    pairs = [(nd_out[i], th_out[i]) for i in keep if isinstance(th_out[i], torch.Tensor)
             and th_out[i].requires_grad and nd_out[i].requires_grad]
    wrt = [i for i, g in enumerate(mask) if g]
    if not pairs or not wrt:
        return
    rng = np.random.default_rng(seed + 1)
    ups = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    nd_g = A.grad([n for n, _ in pairs], [nd_in[i] for i in wrt],
                  [Tensor(u.astype(n.dtype)) for u, (n, _) in zip(ups, pairs)], allow_unused=True)
    th_g = torch.autograd.grad([t for _, t in pairs], [th_in[i] for i in wrt],
                               [torch.tensor(u, dtype=t.dtype) for u, (_, t) in zip(ups, pairs)],
                               allow_unused=True)
    for i, gn, gt in zip(wrt, nd_g, th_g):
        gn = np.zeros(ins[i].shape) if gn is None else gn._data
        gt = np.zeros(ins[i].shape) if gt is None else gt.numpy(force=True)
        np.testing.assert_allclose(gn, gt, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")


def const(lib, array):
    """A constant (index, mask) as a tensor of ``lib``."""
    return lib.tensor(np.asarray(array))


def gradcheck_row(data, fn, specs):
    """Property-based gradient check of one table row: float inputs drawn by hypothesis
    (``autograd.testing.tensors``: the spec's shape and range, distinct values so that
    order statistics have no ties), fixed arrays used as they are; rows without a float
    input or a differentiable output are skipped."""
    from autograd.testing import gradcheck, tensors
    inputs = []
    for spec in specs:
        if isinstance(spec, np.ndarray):
            inputs.append(Tensor(spec.copy(), requires_grad=spec.dtype.kind == "f"))
            continue
        spec = dict(shape=spec) if isinstance(spec, tuple) else spec
        dtype = np.dtype(spec.get("dtype", "float64"))
        if dtype.kind != "f":
            inputs.append(Tensor(arrays([spec])[0]))
            continue
        inputs.append(data.draw(tensors(shape=spec["shape"], dtype=dtype,
                                        min_value=spec.get("low", -2.0),
                                        max_value=spec.get("high", 2.0), distinct=0.01,
                                        away_from=spec.get("away_from", (0.0,)))))
    if not any(t.requires_grad for t in inputs) or any(t.dtype != np.float64 for t in inputs
                                                       if t.requires_grad):
        return
    out = _flat(fn(A, *inputs))
    if not any(isinstance(o, Tensor) and o.requires_grad for o in out):
        return
    assert gradcheck(lambda *t: tuple(o for o in _flat(fn(A, *t))
                                      if isinstance(o, Tensor) and o.dtype.kind == "f"), inputs)
