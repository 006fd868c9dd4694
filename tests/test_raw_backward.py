"""The raw replay of backward (``Function.raw_backward``): without ``create_graph`` the
engine runs the formulas of flagged ops on raw arrays / floats. It must give exactly
what the same formulas give on Tensors (the ``create_graph`` path runs them on
Tensors), for Tensor and Scalar graphs, with broadcasting, mixed dtypes, hooks,
``retain_grad`` and ops that are not flagged in the same graph."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as A
from autograd import Function, Scalar, Tensor
from autograd.testing import broadcastable_shapes, tensors

# (name, op): flagged elementwise ops, plus a few that are not (sum, matmul-free reshape)
UNARY = [
    ("neg", lambda x: -x),
    ("exp", lambda x: (x * 0.1).exp()),
    ("log", lambda x: (x * x + 1.0).log()),
    ("sqrt", lambda x: (x * x + 1.0).sqrt()),
    ("tanh", lambda x: x.tanh()),
    ("sigmoid", lambda x: x.sigmoid()),
    ("relu", lambda x: x.relu()),
    ("square", lambda x: x ** 2),
    ("cube", lambda x: x ** 3),
]
BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / (b * b + 1.0)),
]


def both_paths(fn, leaves):
    """Gradients from an ordinary backward (raw replay) and from autograd.grad with
    create_graph=True (the same formulas on Tensors)."""
    out = fn(*leaves)
    wrapped = A.grad(out.sum() if isinstance(out, Tensor) else out, leaves,
                     create_graph=True)
    for leaf in leaves:
        leaf.grad = None
    (out.sum() if isinstance(out, Tensor) else out).backward()
    return [leaf.grad for leaf in leaves], list(wrapped)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_tensor_chain_raw_equals_wrapped(data):
    shapes = data.draw(broadcastable_shapes(2))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    a = data.draw(tensors(shape=shapes[0], dtype=dtype, min_value=-3, max_value=3))
    b = data.draw(tensors(shape=shapes[1], dtype=dtype, min_value=-3, max_value=3))
    steps = data.draw(st.lists(st.sampled_from(UNARY + BINARY), min_size=1, max_size=6))

    def fn(a, b):
        x = a
        for name, op in steps:
            x = op(x, b) if (name, op) in BINARY else op(x)
        return x * b  # b is used twice: its gradient accumulates
    raw, wrapped = both_paths(fn, [a, b])
    for r, w, leaf in zip(raw, wrapped, (a, b)):
        assert r.shape == leaf.shape and r.dtype == leaf.dtype
        np.testing.assert_array_equal(r._data, w._data)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(UNARY + BINARY), min_size=1, max_size=8),
       st.floats(-3, 3), st.floats(-3, 3))
def test_scalar_chain_raw_equals_wrapped(steps, av, bv):
    a, b = Scalar(av), Scalar(bv)

    def fn(a, b):
        x = a
        for name, op in steps:
            x = op(x, b) if (name, op) in BINARY else op(x)
        return x * b
    raw, wrapped = both_paths(fn, [a, b])
    for r, w in zip(raw, wrapped):
        assert type(r._data) is float
        np.testing.assert_array_equal(r._data, w._data)   # (nan where both overflow)


def test_mixed_dtypes_give_each_input_its_dtype():
    torch = pytest.importorskip("torch")
    x = Tensor(np.array([1.5, -2.0, 3.0], np.float32), requires_grad=True)
    s = Tensor(np.array(0.1, np.float64), requires_grad=True)  # 0-d: no promotion (torch)
    (x * s + x.tanh() * s).sum().backward()
    tx = torch.tensor([1.5, -2.0, 3.0], requires_grad=True)
    ts = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    (tx * ts + tx.tanh() * ts).sum().backward()
    assert x.grad.dtype == np.float32 and s.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.grad._data, ts.grad.numpy(), rtol=1e-6)


def test_hooks_and_retain_grad_see_tensors_in_a_raw_replay():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(type(g)) or g * 2.0)  # replaces the gradient
    (y * y).sum().backward()
    assert seen == [Tensor]
    # as in torch 2: .grad of a retained tensor is taken after its hooks ran
    np.testing.assert_array_equal(y.grad._data, [12.0, -24.0])
    np.testing.assert_array_equal(x.grad._data, [36.0, -72.0])


def _twice(flag, seen, fail=False):
    """y = 2x with ``raw_backward = flag``; its backward notes (flag, type of grad, type of
    the saved x) in ``seen`` (and raises if ``fail``)."""
    class Twice(Function):
        raw_backward = flag

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            seen.append((flag, type(grad), type(x)))
            if fail:
                raise ValueError("formula failed")
            return grad * 2
    return Twice


def test_flag_decides_what_saved_tensors_gives():
    for flag in (True, False):
        seen = []
        x = Tensor(np.ones(3), requires_grad=True)
        _twice(flag, seen).apply(x).sum().backward()
        np.testing.assert_array_equal(x.grad._data, [2.0, 2.0, 2.0])
        kind = np.ndarray if flag else Tensor
        assert seen == [(flag, kind, kind)]
    # with create_graph even a flagged op runs on Tensors (its backward is recorded)
    seen = []
    x = Tensor(np.ones(3), requires_grad=True)
    g, = A.grad(_twice(True, seen).apply(x).sum(), x, create_graph=True)
    assert seen == [(True, Tensor, Tensor)]


def test_raw_and_tensor_formulas_alternating_in_one_pass_each_get_their_kind():
    """The engine turns the raw flag off only while a formula written for Tensors runs:
    the raw formulas after it get raw data again, and an error inside one leaves the
    flag as it was before backward."""
    seen = []
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for flag in (True, False, True, False, True):
        y = _twice(flag, seen).apply(y)
    y.sum().backward()
    raw, wrapped = (True, np.ndarray, np.ndarray), (False, Tensor, Tensor)
    assert seen == [raw, wrapped, raw, wrapped, raw]
    np.testing.assert_array_equal(x.grad._data, [32.0, 32.0])
    with pytest.raises(ValueError, match="formula failed"):
        _twice(True, seen).apply(_twice(False, seen, fail=True).apply(x)).sum().backward()
    assert A.grad_mode._raw_backward is False and A.grad_mode._enabled is True


def test_apply_on_raw_data_is_refused_outside_a_raw_replay():
    with pytest.raises(TypeError, match="needs at least one Tensor or Scalar input"):
        A.ops.Mul.apply(np.ones(2), np.ones(2))


def test_a_raw_formula_may_return_python_numbers_for_scalars():
    class Clip(Function):
        """y = x for x > 0 else 0, with an int 0 as the gradient below (a formula's literal)."""
        raw_backward = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x if x > 0 else 0.0

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad if x > 0 else 0
    for value, want in ((2.0, 3.0), (-1.0, 0.0)):
        x = Scalar(value)
        (Clip.apply(x) * 3.0).backward()
        assert x.grad == want and isinstance(x.grad.data, float)
