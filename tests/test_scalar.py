"""Scalar: one float per node, on the same Function/Context/engine code as Tensor."""
import math

import numpy as np
import pytest

import autograd
from autograd.scalar import ScalarGrad
from hypothesis import given, strategies as st

import autograd as A
from autograd import Scalar, Tensor


def test_sigmoid_circuit_exact():
    w0, x0, w1, x1, w2 = map(Scalar, (2.0, -1.0, -3.0, -2.0, -3.0))
    f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    f.backward()
    assert round(f._data, 2) == 0.73
    assert [round(v.grad._data, 2) for v in (w0, x0, w1, x1, w2)] == [-0.20, 0.39, -0.39, -0.59,
                                                                      0.20]
    s = 1 / (1 + math.exp(-1.0))
    ds = s * (1 - s)  # the sigmoid gate's local gradient, times each input's multiplier
    for v, mult in ((w0, -1.0), (x0, 2.0), (w1, -2.0), (x1, -3.0), (w2, 1.0)):
        assert v.grad._data == pytest.approx(ds * mult, rel=1e-12)


def test_scalar_grad_is_a_number_and_ops_record_nodes():
    a, b = Scalar(3.0), Scalar(-2.0)
    c = a * b + a
    assert isinstance(c, Scalar) and c.grad_fn.name == "Add" and not c.is_leaf
    c.backward()
    assert type(a.grad) is ScalarGrad and isinstance(a.grad, float)
    assert a.grad == -1.0 and b.grad.data == 3.0 and f"{a.grad:.2f}" == "-1.00"


def test_create_graph_gives_scalar_grads_in_the_graph():
    x = Scalar(3.0)
    y = x ** 3
    y.backward(create_graph=True)
    assert isinstance(x.grad, Scalar) and x.grad.data == 27.0 and x.grad.grad_fn is not None
    (g2,) = autograd.grad(x.grad, x)
    assert g2.data == 18.0


def test_python_numbers_on_either_side():
    x = Scalar(2.0)
    cases = [(x + 1, 3.0), (1 + x, 3.0), (x - 1, 1.0), (1 - x, -1.0), (x * 3, 6.0),
             (3 * x, 6.0), (x / 4, 0.5), (4 / x, 2.0), (x ** 3, 8.0), (2 ** x, 4.0), (-x, -2.0)]
    for y, value in cases:
        assert isinstance(y, Scalar) and y._data == pytest.approx(value)


def test_scalar_with_tensor_raises():
    with pytest.raises(TypeError, match="Scalar"):
        Scalar(1.0) + Tensor([1.0])
    with pytest.raises(TypeError):
        Scalar(1.0) + "a"


@pytest.mark.parametrize("value, relu_grad, abs_grad", [(2.0, 1.0, 1.0), (-2.0, 0.0, -1.0),
                                                         (0.0, 0.0, 0.0)])
def test_kinks_follow_torch(value, relu_grad, abs_grad):
    x = Scalar(value)
    x.relu().backward()
    assert x.grad._data == relu_grad
    y = Scalar(value)
    y.abs().backward()
    assert y.grad._data == abs_grad


def test_comparisons():
    assert bool(Scalar(2.0) > 1) and not bool(Scalar(2.0) < 1)
    assert bool(Scalar(2.0) >= 2.0) and bool(Scalar(2.0) <= 2.0)


def test_repr_round_float():
    s = Scalar(1.23456, name="w")
    assert repr(s) == "Scalar(w: data=1.2346, grad=None)"
    assert round(s, 2) == 1.23 and float(s) == 1.23456 and s.item() == 1.23456


def test_scalar_engine_semantics():
    x = Scalar(1.5)
    h = x.tanh()
    y = h * h + h
    y.backward(retain_graph=True)
    g = x.grad._data
    y.backward()
    assert x.grad._data == pytest.approx(2 * g)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    seen = []
    z = Scalar(2.0)
    z.register_hook(lambda gr: seen.append(gr._data))
    (z * 5).backward()
    assert seen == [5.0]
    with A.no_grad():
        assert (z * 2).grad_fn is None


def test_scalar_create_graph_second_derivative():
    x = Scalar(0.7)
    y = x ** 3
    (g,) = A.grad(y, x, create_graph=True)
    assert g._data == pytest.approx(3 * 0.49)
    g.backward()
    assert x.grad._data == pytest.approx(6 * 0.7)


@pytest.mark.parametrize("f, d2", [
    (lambda x: x.exp(), lambda v: math.exp(v)),                      # saves its output
    (lambda x: x.tanh(), lambda v: -2 * math.tanh(v) * (1 - math.tanh(v) ** 2)),
    (lambda x: x.sigmoid(), lambda v: (lambda s: s * (1 - s) * (1 - 2 * s))(1 / (1 + math.exp(-v)))),
    (lambda x: x * x, lambda v: 2.0),                                 # saves the same input twice
    (lambda x: x.log() * x, lambda v: 1 / v),
])
def test_scalar_second_derivative_through_lazily_classified_saved_values(f, d2):
    """A Scalar node works out what its saved floats are (input, output, constant) only
    when asked: create_graph must still connect a saved output to its node."""
    x = Scalar(0.7)
    (g,) = A.grad(f(x), x, create_graph=True)
    (h,) = A.grad(g, x)
    assert h._data == pytest.approx(d2(0.7))


def test_scalar_saved_values_equal_but_distinct_inputs_stay_distinct():
    a, b = Scalar(2.0), Scalar(2.0)  # equal values, different inputs
    (ga, gb) = A.grad(a * b, (a, b), create_graph=True)
    dga_da, dga_db = A.grad(ga, (a, b), allow_unused=True)
    assert dga_db._data == pytest.approx(1.0) and dga_da is None


def test_scalar_graph_drawn_after_backward_describes_what_was_saved():
    x, w = Scalar(0.5, name="x"), Scalar(-1.5, name="w")
    y = (x * w).exp()
    y.backward()
    src = autograd.draw_graph(y, show_saved=True).source
    freed = [line for line in src.splitlines() if "saved (freed)" in line]
    assert len(freed) == 3  # Mul's x and w, Exp's output


def test_deep_scalar_chain():
    x = Scalar(1.0)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.backward()
    assert x.grad._data == pytest.approx(1.0001 ** 20_000, rel=1e-9)


# ------------------------------------------------------------------ Scalar == 0-d Tensor
UNARY = {
    "exp": lambda v: (v * 0.3).exp(), "tanh": lambda v: v.tanh(),
    "sigmoid": lambda v: v.sigmoid(), "relu": lambda v: v.relu(), "abs": lambda v: v.abs(),
    "log": lambda v: (v * v + 1.0).log(), "sqrt": lambda v: (v * v + 0.5).sqrt(),
    "square": lambda v: v ** 2, "neg": lambda v: -v, "recip": lambda v: 1.0 / (v * v + 1.0),
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0), "pow": lambda a, b: (a * a + 0.5) ** (b * 0.3),
}


@st.composite
def programs(draw):
    """A random straight-line program over two inputs: a list of (op, operand indices)."""
    steps = []
    n = 2
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            steps.append(("u", draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, n - 1))))
        else:
            steps.append(("b", draw(st.sampled_from(sorted(BINARY))),
                          draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
        n += 1
    return steps


def _run(program, a, b):
    values = [a, b]
    for step in program:
        if step[0] == "u":
            values.append(UNARY[step[1]](values[step[2]]))
        else:
            values.append(BINARY[step[1]](values[step[2]], values[step[3]]))
    out = values[-1]
    for v in values[2:-1]:  # use every intermediate, so the graph has diamonds
        out = out + v * 0.1
    return out


@given(program=programs(), a=st.floats(-2, 2), b=st.floats(-2, 2))
def test_scalar_graph_matches_tensor_graph(program, a, b):
    sa, sb = Scalar(a), Scalar(b)
    ta = Tensor(np.array(a), requires_grad=True)
    tb = Tensor(np.array(b), requires_grad=True)
    s, t = _run(program, sa, sb), _run(program, ta, tb)
    assert s._data == pytest.approx(t.item(), rel=1e-9, abs=1e-12)
    s.backward()
    t.backward()
    for sv, tv in ((sa, ta), (sb, tb)):
        sg = 0.0 if sv.grad is None else sv.grad._data
        tg = 0.0 if tv.grad is None else tv.grad.item()
        assert sg == pytest.approx(tg, rel=1e-9, abs=1e-12)


@given(seed=st.integers(0, 2 ** 16), sizes=st.tuples(st.integers(1, 3), st.integers(1, 4),
                                                       st.integers(1, 3)))
def test_scalar_mlp_matches_tensor_mlp(seed, sizes):
    """A 2-layer tanh MLP written neuron by neuron in Scalars gives the same loss and
    gradients as the same MLP written with Tensor matmuls."""
    n_in, n_hidden, n_out = sizes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_in)
    W1, b1 = rng.standard_normal((n_hidden, n_in)), rng.standard_normal(n_hidden)
    W2, b2 = rng.standard_normal((n_out, n_hidden)), rng.standard_normal(n_out)
    target = rng.standard_normal(n_out)

    sW1 = [[Scalar(v) for v in row] for row in W1]
    sb1 = [Scalar(v) for v in b1]
    sW2 = [[Scalar(v) for v in row] for row in W2]
    sb2 = [Scalar(v) for v in b2]
    hidden = [sum((w * xi for w, xi in zip(row, x)), b).tanh() for row, b in zip(sW1, sb1)]
    out = [sum((w * h for w, h in zip(row, hidden)), b) for row, b in zip(sW2, sb2)]
    s_loss = sum(((o - t) ** 2 for o, t in zip(out, target)), Scalar(0.0, requires_grad=False))
    s_loss.backward()

    tW1, tb1 = Tensor(W1, requires_grad=True), Tensor(b1, requires_grad=True)
    tW2, tb2 = Tensor(W2, requires_grad=True), Tensor(b2, requires_grad=True)
    h = (tW1 @ Tensor(x) + tb1).tanh()
    t_loss = ((tW2 @ h + tb2 - target) ** 2).sum()
    t_loss.backward()

    assert s_loss._data == pytest.approx(t_loss.item(), rel=1e-10)
    np.testing.assert_allclose([[w.grad._data for w in row] for row in sW1], tW1.grad._data,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([b.grad._data for b in sb1], tb1.grad._data, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([[w.grad._data for w in row] for row in sW2], tW2.grad._data,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([b.grad._data for b in sb2], tb2.grad._data, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("op", ["add", "radd", "sub", "rsub", "mul", "rmul", "truediv",
                                "rtruediv"])
@pytest.mark.parametrize("other", [Scalar(-1.5), 2, 0.25])
def test_unrecorded_arithmetic_fast_path_equals_the_recorded_op(op, other):
    a = Scalar(3.0)
    recorded = getattr(a, f"__{op}__")(other)
    with autograd.no_grad():
        plain = getattr(a, f"__{op}__")(other)
    assert type(plain) is Scalar and plain.grad_fn is None and not plain.requires_grad
    assert plain.data == recorded.data and recorded.grad_fn is not None


def test_unrecorded_fast_path_still_refuses_tensors():
    with autograd.no_grad():
        with pytest.raises(TypeError, match="cannot combine a Scalar with a Tensor"):
            Scalar(1.0) * Tensor(np.ones(2))


def _node_facts(y):
    node = y.grad_fn
    return (node.name, dict(node.attrs), node.next_functions, node.needs_input_grad,
            node.input_meta, node.output_meta, node._output_type, node._value,
            node._value_inputs, node._saved, node._saved_refs, node.module, y._data,
            type(y), y.requires_grad)


@pytest.mark.parametrize("op", [A.ops.Add, A.ops.Sub, A.ops.Mul, A.ops.Div])
@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
def test_scalar_pair_shortcut_records_the_node_apply_records(op, needs):
    """Scalar's + - * / record through function.apply_to_scalar_pair: the node must be
    the one Function.apply builds for the same operands, field by field."""
    a = Scalar(1.25, requires_grad=needs[0], name="a")
    b = Scalar(-0.5, requires_grad=needs[1], name="b")
    symbol = {"Add": "__add__", "Sub": "__sub__", "Mul": "__mul__", "Div": "__truediv__"}
    short = getattr(a, symbol[op.__name__])(b)
    general = op.apply(a, b)
    assert _node_facts(short) == _node_facts(general)
    short.backward()
    grads = a.grad, b.grad
    a.grad = b.grad = None
    general.backward()
    assert (a.grad, b.grad) == grads


def test_scalar_pair_shortcut_without_grad_records_nothing_and_names_constants():
    a, b = Scalar(3.0, requires_grad=False), Scalar(4.0, requires_grad=False)
    y = a * b
    assert y.grad_fn is None and y.data == 12.0 and not y.requires_grad
    x, c = Scalar(0.5, name="x"), Scalar(2.0, requires_grad=False, name="c")
    y = x * c
    assert y.grad_fn._saved_refs[1] is c  # a named constant input is kept for drawings
    assert "c" in autograd.draw_graph(y, show_saved=True).source


def test_scalar_pair_shortcut_keeps_one_float_in_two_scalars_apart():
    v = 2.0
    a, b = Scalar(v), Scalar(v)  # the very same float object in both
    assert a._data is b._data
    (ga, gb) = A.grad(a * b, (a, b), create_graph=True)
    assert A.grad(ga, (a, b), allow_unused=True)[0] is None  # d(b)/da: no edge to a


def test_scalar_pair_shortcut_records_anomaly_traces_and_raises_like_floats():
    x = Scalar(1.0)
    with autograd.detect_anomaly():
        y = x * 3.0
    assert y.grad_fn.trace and "test_scalar.py" in "".join(y.grad_fn.trace)
    with pytest.raises(ZeroDivisionError, match="float division by zero"):
        x / Scalar(0.0)
