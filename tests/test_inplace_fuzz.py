"""Random programs mixing ordinary ops with in-place writes, run on ndgrad and on torch.

Either both libraries compute the same loss and gradients, or both refuse (PyTorch's
"modified by an inplace operation" and friends). A silently different gradient fails.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as A

torch = pytest.importorskip("torch")

STEPS = ["mul_const", "add_const", "tanh", "exp", "sigmoid", "add_", "mul_w", "mul_w_",
         "setitem", "setitem_w", "clone", "div_", "clamp_", "copy_from_w", "retain",
         "slice_iadd", "view_mul_", "int_view_sub_", "reshape_view_mul_", "reshaped_row_iadd",
         "transposed_row_add_"]


def _run(lib, program, x0, w0):
    x = lib.tensor(x0.copy(), requires_grad=True)
    w = lib.tensor(w0.copy(), requires_grad=True)
    y = x * 1.0
    kept = None  # a tensor whose retain_grad() was called
    for step in program:
        if step == "mul_const":
            y = y * 1.5
        elif step == "add_const":
            y = y + 0.25
        elif step == "tanh":
            y = y.tanh()
        elif step == "exp":
            y = (y * 0.1).exp()
        elif step == "sigmoid":
            y = y.sigmoid()
        elif step == "add_":
            y.add_(0.5)
        elif step == "mul_w":
            y = y * w
        elif step == "mul_w_":
            y.mul_(w)
        elif step == "setitem":
            y[0] = y[1] * 2.0
        elif step == "setitem_w":
            y[1:] = w[1:] * 3.0
        elif step == "clone":
            y = y.clone()
        elif step == "div_":
            y.div_(w + 3.0)
        elif step == "clamp_":
            y.clamp_(-0.8, 0.9)
        elif step == "copy_from_w":
            y.copy_(w * y)
        elif step == "slice_iadd":
            y[1:3] += w[:2]               # getitem, in-place on the view, setitem
        elif step == "view_mul_":
            v = y[0:2]
            v.mul_(w[2:])                 # writes y through the view: y's history too
        elif step == "int_view_sub_":
            y[3].sub_(w[0] * 0.5)
        elif step == "reshape_view_mul_":
            y.reshape(2, 2).mul_(w.reshape(2, 2))
        elif step == "reshaped_row_iadd":
            y.reshape(2, 2)[0] += w[:2]
        elif step == "transposed_row_add_":
            y.reshape(2, 2).T[1].add_(w[0])
        elif step == "retain":
            y.retain_grad()
            kept = y
    loss = (y * lib.tensor(np.arange(1.0, 5.0))).sum()
    loss.backward()
    retained = None if kept is None or kept.grad is None else kept.grad.numpy().copy()
    return (loss.item(), x.grad.numpy().copy(),
            w.grad.numpy().copy() if w.grad is not None else None, retained)


def _outcome(lib, program, x0, w0):
    try:
        return _run(lib, program, x0, w0)
    except RuntimeError as e:
        return e


@settings(max_examples=60, deadline=None)
@given(program=st.lists(st.sampled_from(STEPS), min_size=1, max_size=7),
       seed=st.integers(0, 2 ** 16))
def test_random_in_place_programs_match_torch(program, seed):
    rng = np.random.default_rng(seed)
    x0, w0 = rng.uniform(-1, 1, 4), rng.uniform(0.5, 1.5, 4)
    ours, theirs = _outcome(A, program, x0, w0), _outcome(torch, program, x0, w0)
    if isinstance(theirs, Exception) or isinstance(ours, Exception):
        assert type(ours) is type(theirs), (program, ours, theirs)
        assert "inplace" in str(ours) or "in-place" in str(ours), (program, ours)
        return
    assert ours[0] == pytest.approx(theirs[0], rel=1e-9, abs=1e-12), program
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12, err_msg=str(program))
    for k in (2, 3):  # w's gradient, the retained gradient
        if theirs[k] is None:
            assert ours[k] is None or not ours[k].any(), program
        else:
            np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-9, atol=1e-12,
                                       err_msg=str(program))


def _torch_index(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    out = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in items)
    return out if isinstance(idx, tuple) else out[0]


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_random_index_expressions_read_and_write_as_torch(data):
    from autograd.testing import index_expressions
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple))
    idx = data.draw(index_expressions(shape, negative_steps=False))
    x0 = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 7.0
    results = []
    for lib, index in ((A, idx), (torch, _torch_index(idx))):
        try:
            x = lib.tensor(x0.copy(), requires_grad=True)
            picked = x[index]
            y = x * 1.0
            y[index] = picked * 2.0 + 1.0          # setitem, recorded, with duplicates possible
            (y * lib.tensor(x0 + 1.0)).sum().backward()
            results.append((picked.detach().numpy().copy(), y.detach().numpy().copy(),
                            x.grad.numpy().copy()))
        except (IndexError, RuntimeError) as e:
            results.append(type(e))
    ours, theirs = results
    if not isinstance(theirs, tuple) or not isinstance(ours, tuple):
        assert ours == theirs, (idx, ours, theirs)
        return
    np.testing.assert_array_equal(ours[0], theirs[0], err_msg=f"read {idx!r}")
    # with repeated indices the written value is one of the duplicates' in both libraries
    # (their order is unspecified in torch), so values and gradients are compared only
    # where the index has no repeats
    if not _has_repeats(idx, shape):
        np.testing.assert_allclose(ours[1], theirs[1], err_msg=f"write {idx!r}")
        np.testing.assert_allclose(ours[2], theirs[2], err_msg=f"grad {idx!r}")


def _has_repeats(idx, shape):
    """Does ``idx`` reach some element more than once (then which write wins is up to
    the library)?"""
    marks = np.zeros(shape, dtype=np.int64)
    np.add.at(marks, idx, 1)
    return bool((marks > 1).any())
