"""Engine semantics: the order and accumulation of backward, graph lifetime (freeing,
retain_graph), hooks, retain_grad, create_graph, autograd.grad, grad modes,
detect_anomaly, in-place protection, custom Functions, very deep graphs."""
import gc
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as A
from autograd import Function, Tensor, no_grad, enable_grad
from autograd.testing import gradcheck, tensors


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# ------------------------------------------------------------------ graph shapes
def test_diamond_sums_both_paths():
    x = leaf([1.0, 2.0, -3.0])
    a = x * 2.0
    b = x * 3.0
    (a * b).sum().backward()  # y = 6x²
    np.testing.assert_allclose(x.grad._data, 12 * x._data)


def test_reused_non_leaf_gets_its_gradient_complete_before_backward():
    x = leaf([0.5, -1.0])
    h = x.exp()
    y = (h * h + h.tanh() + h).sum()
    y.backward()
    e = np.exp(x._data)
    np.testing.assert_allclose(x.grad._data, e * (2 * e + (1 - np.tanh(e) ** 2) + 1))


def test_same_tensor_on_both_sides():
    x = leaf([3.0])
    (x * x).backward(Tensor(np.array([1.0])))
    np.testing.assert_allclose(x.grad._data, [6.0])
    y = leaf([3.0])
    (y - y).sum().backward()
    np.testing.assert_allclose(y.grad._data, [0.0])


@given(x=tensors(min_value=-2, max_value=2), depth=st.integers(1, 6))
def test_wide_and_deep_mixtures_gradcheck(x, depth):
    def f(t):
        a, b = t, t.tanh()
        for _ in range(depth):
            a, b = a * b + 0.5, (a - b).sigmoid()
        return a + b
    assert gradcheck(f, (x,))


def test_topological_order_puts_consumers_first():
    x = leaf([1.0])
    a = x * 2.0
    b = a.exp()
    c = a + b
    order = A.topological_order([c.grad_fn])
    names = [n.name if hasattr(n, "name") and not isinstance(n, Tensor) else "leaf"
             for n in order]
    assert names[0] == "Add" and names[-1] == "leaf"
    assert order.index(b.grad_fn) < order.index(a.grad_fn)


def test_backward_visits_nodes_in_the_order_topological_order_gives():
    """Backward takes the newest waiting op first (creation order); drawings and
    explain_backward use topological_order, which must list the very same order."""
    x, w = leaf([1.0, 2.0]), leaf([0.5, -1.0])
    a = x * w
    b = (x + 1.0).exp()  # created after a, but not a consumer of a
    c = (a * b).sum() + a.sum()
    seen = []
    for t, name in ((a, "a"), (b, "b"), (c, "c")):
        t.register_hook(lambda g, name=name: seen.append(name))
    for t, name in ((x, "x"), (w, "w")):
        t.register_hook(lambda g, name=name: seen.append(name))
    order = A.topological_order([c.grad_fn])
    expected = [{id(a.grad_fn): "a", id(b.grad_fn): "b", id(c.grad_fn): "c",
                 id(x): "x", id(w): "w"}.get(id(n)) for n in order]
    c.backward()
    assert seen == [name for name in expected if name is not None]
    assert seen == ["c", "b", "a", "x", "w"]  # newest op first, leaves after every op
    seqs = [n._seq for n in order if isinstance(n, A.Context)]
    assert seqs == sorted(seqs)  # _seq counts down: newest (smallest) first


def test_backward_order_is_topological_for_random_graphs():
    """Every consumer before its inputs, whatever order the ops were written in."""
    rng = np.random.default_rng(0)
    for trial in range(20):
        nodes = [leaf(rng.standard_normal(3)) for _ in range(3)]
        for _ in range(12):
            i, j = rng.integers(0, len(nodes), size=2)
            nodes.append(nodes[i] * 0.5 + nodes[j].tanh())
        order = A.topological_order([nodes[-1].grad_fn])
        position = {id(n): k for k, n in enumerate(order)}
        for n in order:
            if isinstance(n, A.Context):
                for nxt in n.next_functions:
                    if nxt is not None:
                        assert position[id(n)] < position[id(nxt)]



@pytest.mark.parametrize("kind", ["Tensor", "Scalar"])
@given(seed=st.integers(0, 2**32 - 1))
def test_backward_runs_ops_exactly_in_topological_order(kind, seed):
    """The engine holds the op reached last outside its heap (usually the next one): the
    order it runs ops in must still be topological_order's, newest first, on any graph."""
    rng = np.random.default_rng(seed)
    make = (lambda: leaf(rng.standard_normal(2))) if kind == "Tensor" else \
        (lambda: A.Scalar(float(rng.standard_normal())))
    nodes = [make() for _ in range(3)]
    for _ in range(int(rng.integers(1, 15))):
        i, j, k = rng.integers(0, len(nodes), size=3)
        op = int(rng.integers(0, 3))
        nodes.append(nodes[i] * nodes[j] if op == 0 else
                     nodes[i] + nodes[j].tanh() * nodes[k] if op == 1 else nodes[i].exp())
    root = nodes[-1] if kind == "Scalar" else nodes[-1].sum()
    expected = [n for n in A.topological_order([root.grad_fn]) if isinstance(n, A.Context)]
    ran = []
    for n in expected:
        n.register_hook(lambda g, n=n: ran.append(n))
    root.backward()
    assert ran == expected

# ------------------------------------------------------------------ backward API
def test_non_scalar_backward_without_gradient_raises():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        y.backward()


def test_one_element_non_scalar_output_is_fine():
    x = leaf([[2.0]])
    (x * 3.0).backward()
    np.testing.assert_array_equal(x.grad._data, [[3.0]])


def test_backward_gradient_shape_mismatch_raises():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\) but the output has shape "
                                           r"\(2,\)"):
        y.backward(Tensor(np.ones(3)))


def test_backward_accepts_numpy_gradient():
    x = leaf([1.0, 2.0])
    (x * 2.0).backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad._data, [2.0, -2.0])


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(2)).sum().backward()


def test_gradients_accumulate_into_leaves_and_reset():
    x = leaf([1.0, 2.0])
    for k in range(1, 4):
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad._data, k * 2 * x._data)
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad._data, [0.0, 0.0])
    (x * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [1.0, 1.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0, 3.0])
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_leaf_grads_are_writeable_and_do_not_alias():
    """Add hands both inputs the same gradient and sum's backward broadcasts a read-only
    view: each .grad must still be an array of its own that zero_() can clear."""
    a, b = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad._data, [1.0, 1.0, 1.0])
    a.grad = b.grad = None
    upstream = Tensor(np.ones(3))
    h = a + b
    h.retain_grad()
    h.backward(upstream)
    a.grad.mul_(0.0)
    h.grad.mul_(5.0)
    np.testing.assert_array_equal(b.grad._data, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(upstream._data, [1.0, 1.0, 1.0])
    x = leaf([1.0, 2.0])
    x.backward(upstream[:2])
    assert not np.shares_memory(x.grad._data, upstream._data)


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    h = x * 2.0
    k = x * 3.0
    k.retain_grad()
    assert k.retains_grad and not h.retains_grad
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(k.grad._data, h._data)
    assert h.is_leaf is False and x.is_leaf is True


def test_retain_grad_accumulates_over_two_backwards():
    x = leaf([1.0])
    h = x * 2.0
    h.retain_grad()
    y = (h * h).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(h.grad._data, [8.0])


def test_second_backward_through_freed_graph_says_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*"
                                           r"retain_graph=True"):
        y.backward()


def test_retain_graph_allows_repeated_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad._data.copy()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad._data, 2 * first)
    y.backward()  # the last one frees
    np.testing.assert_allclose(x.grad._data, 3 * first)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_shared_subgraph_freed_by_first_backward():
    x = leaf([1.0])
    h = x.exp()
    y1 = h.sum()
    y2 = (h * 2.0).sum()
    y1.backward()  # frees h's node (Exp saved its output)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y2.backward()


def test_saved_tensors_released_after_backward():
    x = leaf([1.0, 2.0])
    y = x * x
    node = y.grad_fn
    assert node._saved is not None
    y.sum().backward()
    assert node._saved is None and node._released
    # metadata survives
    assert node.name == "Mul" and node.input_meta[0][0] == (2,)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        node.saved_tensors


# ------------------------------------------------------------------ hooks
def test_leaf_hook_sees_and_replaces_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g._data.copy()) or g * 10.0)
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad._data, [30.0, 30.0])
    handle.remove()
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0, 3.0])
    assert len(seen) == 1


def test_non_leaf_hook_changes_what_flows_upstream():
    x = leaf([1.0, 2.0])
    h = x * 2.0
    h.register_hook(lambda g: g * 0.5)
    h.register_hook(lambda g: g + 1.0)  # hooks run in registration order
    (h * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0, 3.0])  # ((1 * 0.5) + 1) * 2


def test_hook_returning_none_keeps_gradient():
    x = leaf([1.0])
    x.register_hook(lambda g: None)
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [2.0])


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        Tensor(np.ones(2)).register_hook(lambda g: g)


# ------------------------------------------------------------------ create_graph / grad()
def test_create_graph_gives_second_derivative():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    (g,) = A.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g._data, 3 * x._data ** 2)
    assert g.requires_grad and g.grad_fn is not None
    g.sum().backward()
    np.testing.assert_allclose(x.grad._data, 6 * x._data)


def test_backward_with_create_graph_makes_grad_differentiable():
    x = leaf([0.3, -0.7])
    (x.tanh() * x).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    gx = x.grad
    x.grad = None
    gx.sum().backward()
    t = np.tanh(x._data)
    d1 = 1 - t ** 2
    np.testing.assert_allclose(x.grad._data, 2 * d1 - 2 * x._data * t * d1)


@given(data=st.data())
def test_hessian_vector_product(data):
    """Hv by double backward equals the analytic Hessian of f(x) = Σ x_i³ + (Σ x_i)²."""
    x = data.draw(tensors(shape=data.draw(st.integers(1, 5)), min_value=-3, max_value=3))
    v = data.draw(tensors(shape=x.shape, requires_grad=False))
    f = (x ** 3).sum() + x.sum() ** 2
    (g,) = A.grad(f, x, create_graph=True)
    (hv,) = A.grad((g * v).sum(), x)
    hessian = np.diag(6 * x._data) + 2 * np.ones((x.shape[0], x.shape[0]))
    np.testing.assert_allclose(hv._data, hessian @ v._data, rtol=1e-10, atol=1e-10)
    assert x.grad is None  # autograd.grad never touches .grad


def test_grad_returns_tuple_and_handles_unused():
    x, y, z = leaf([1.0]), leaf([2.0]), leaf([3.0])
    out = (x * y).sum()
    gx, gy = A.grad(out, [x, y], retain_graph=True)
    np.testing.assert_array_equal(gx._data, [2.0])
    np.testing.assert_array_equal(gy._data, [1.0])
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        A.grad(out, [x, z], retain_graph=True)
    gx, gz = A.grad(out, [x, z], allow_unused=True)
    assert gz is None
    assert x.grad is None and y.grad is None


def test_grad_with_grad_outputs_and_several_outputs():
    x = leaf([1.0, 2.0])
    a, b = x * 2.0, x * x
    (g,) = A.grad([a, b], x, grad_outputs=[Tensor(np.array([1.0, 0.0])),
                                           Tensor(np.array([0.0, 1.0]))])
    np.testing.assert_array_equal(g._data, [2.0, 4.0])


def test_grad_of_input_that_does_not_require_grad_raises():
    x = Tensor(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        A.grad((leaf([1.0]) * 2).sum(), x)


def test_grad_with_respect_to_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    (gh,) = A.grad((h * h).sum(), h)
    np.testing.assert_array_equal(gh._data, 2 * h._data)


# ------------------------------------------------------------------ grad modes
def test_no_grad_island_records_nothing():
    x = leaf([1.0, 2.0])
    a = x * 2.0
    with no_grad():
        b = a * 3.0
        assert not A.is_grad_enabled()
        with enable_grad():
            c = x * 4.0
    assert A.is_grad_enabled()
    assert b.grad_fn is None and not b.requires_grad and b.is_leaf
    assert c.grad_fn is not None
    (a + b + c).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [6.0, 6.0])  # b contributes nothing


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @no_grad()
    def frozen(t):
        return t * 2.0

    @enable_grad()
    def live(t):
        return t * 2.0

    assert frozen(x).grad_fn is None
    assert frozen.__name__ == "frozen"
    with no_grad():
        assert live(x).grad_fn is not None
        assert not A.is_grad_enabled()
    assert frozen(x).grad_fn is None  # the decorator works again and again


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError):
        with no_grad():
            raise ValueError("boom")
    assert A.is_grad_enabled()


def test_set_grad_enabled():
    x = leaf([1.0])
    with A.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    assert A.is_grad_enabled()
    A.set_grad_enabled(False)
    try:
        assert (x * 2).grad_fn is None
    finally:
        A.set_grad_enabled(True)
    assert (x * 2).grad_fn is not None


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    d = (x * 2.0).detach()
    assert d.grad_fn is None and not d.requires_grad
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad._data, d._data)


def test_requires_grad_flags():
    x = leaf([1.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        y.requires_grad_(False)
    t = Tensor(np.ones(2))
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad = False
    assert not (t * 2).requires_grad


# ------------------------------------------------------------------ detect_anomaly
def test_detect_anomaly_names_op_and_user_line():
    x = leaf([-1.0, 1.0])
    with A.detect_anomaly(), np.errstate(invalid="ignore"):
        y = x.sqrt()  # THE-LINE-THAT-CREATED-IT
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "SqrtBackward" in msg and "nan values" in msg
    assert "test_engine.py" in msg and "THE-LINE-THAT-CREATED-IT" in msg


def test_without_detect_anomaly_inf_passes_silently():
    x = leaf([0.0, 1.0])
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad._data[0])


def test_detect_anomaly_ok_graph_is_unaffected():
    x = leaf([1.0, 4.0])
    with A.detect_anomaly():
        x.sqrt().sum().backward()
    np.testing.assert_allclose(x.grad._data, [0.5, 0.25])
    assert x.sqrt().grad_fn.trace is None  # traces only recorded inside detect_anomaly


# ------------------------------------------------------------------ in-place protection
def test_in_place_on_saved_tensor_is_allowed_and_the_stale_graph_refuses_backward():
    w = leaf([1.0, 2.0])
    a = Tensor(np.array([3.0, 4.0]))
    y = (w * a).sum()
    with pytest.raises(ValueError, match="read-only"):
        a._data[0] = 100.0  # the NumPy buffer itself is protected
    a.add_(1.0)  # through ndgrad: allowed, as in PyTorch
    assert a._version == 1
    np.testing.assert_array_equal(a._data, [4.0, 5.0])
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*MulBackward.*add_"):
        y.backward()
    assert w.grad is None


def test_protection_lifted_when_graph_is_dropped():
    a = Tensor(np.array([3.0, 4.0]))
    y = leaf([1.0, 2.0]) * a
    assert not a._data.flags.writeable
    del y
    gc.collect()
    assert a._data.flags.writeable
    a.mul_(2.0)


def test_array_saved_by_two_graphs_stays_protected_until_both_release():
    a = Tensor(np.array([3.0, 4.0]))
    w = leaf([1.0, 2.0])
    y1 = (w * a).sum()
    y2 = (w * a * 2.0).sum()
    y1.backward()
    assert not a._data.flags.writeable
    y2.backward()
    assert a._data.flags.writeable


def test_version_counter_catches_a_write_behind_the_protection():
    """If the read-only flag is lifted by hand, the version counter still catches it."""
    w = leaf([1.0, 2.0])
    a = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = (w * a).sum()
    a._data.flags.writeable = True
    v0 = a._version
    with no_grad():
        a.add_(1.0)
    assert a._version == v0 + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_version_counter_counts_in_place_ops():
    t = Tensor(np.zeros(3))
    ops = [lambda: t.add_(1), lambda: t.sub_(1), lambda: t.mul_(2), lambda: t.div_(2),
           lambda: t.copy_(np.ones(3)), lambda: t.fill_(2.0), lambda: t.zero_(),
           lambda: t.clamp_(0, 1), lambda: t.normal_(), lambda: t.uniform_()]
    for k, op in enumerate(ops, 1):
        assert op() is t
        assert t._version == k
    t += 1
    assert t._version == len(ops) + 1


def test_in_place_on_leaf_requiring_grad_needs_no_grad():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1.0)
    with no_grad():
        w.sub_(0.5)
    np.testing.assert_array_equal(w._data, [0.5, 1.5])


def test_in_place_on_non_leaf_in_graph_is_recorded():
    w = leaf([1.0])
    h = w * 2.0
    h.mul_(3.0)
    assert h.grad_fn.name == "Mul" and h._version == 1
    h.sum().backward()
    np.testing.assert_array_equal(w.grad._data, [6.0])


def test_in_place_through_an_earlier_view_is_caught():
    # a view taken before `a` was saved does not share its read-only flag: the saved
    # memory is tracked by base array, so the write marks the graph stale all the same
    a = Tensor(np.array([3.0, 4.0]))
    view = a[0:1]  # no graph (a does not require grad): a plain NumPy view of a._data
    w = leaf([1.0, 2.0])
    y = (w * a).sum()
    view.add_(100.0)
    assert a._data[0] == 103.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


# ------------------------------------------------------------------ custom Functions
class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3.0 * x * x


class ScaledMul(Function):
    """y = scale · a · b with a non-tensor positional argument and an attribute."""
    @staticmethod
    def forward(ctx, a, b, scale, *, label="m"):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        ctx.calls = []
        return scale * a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ctx.calls.append(tuple(ctx.needs_input_grad))
        ga = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


@given(x=tensors())
def test_custom_function_gradcheck_and_double_backward(x):
    assert gradcheck(lambda t: Cube.apply(t), (x,))
    assert A.gradgradcheck(lambda t: Cube.apply(t), (x,))


def test_custom_function_needs_input_grad_and_attrs():
    a = leaf([1.0, 2.0])
    b = Tensor(np.array([3.0, 4.0]))
    y = ScaledMul.apply(a, b, 2.0, label="double")
    ctx = y.grad_fn
    assert ctx.name == "ScaledMul" and ctx.attrs == {"label": "double"}
    assert ctx.needs_input_grad == (True, False, False)
    assert ctx.next_functions[0] is a and ctx.next_functions[1] is None
    assert ctx.input_meta[0] == ((2,), np.dtype(np.float64))
    assert ctx.output_meta == ((2,), np.dtype(np.float64))
    y.sum().backward()
    assert ctx.calls == [(True, False, False)]
    np.testing.assert_array_equal(a.grad._data, [6.0, 8.0])
    assert repr(ctx) == "<ScaledMulBackward>"


def test_custom_function_without_grad_inputs_records_nothing():
    y = Cube.apply(Tensor(np.array([2.0])))
    assert y.grad_fn is None
    np.testing.assert_array_equal(y._data, [8.0])
    with no_grad():
        assert Cube.apply(leaf([2.0])).grad_fn is None


def test_custom_function_wrong_number_of_gradients():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(RuntimeError, match="Bad.backward returned 1 gradient, but forward had "
                                           "2 inputs"):
        Bad.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_custom_function_wrong_gradient_shape():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return Tensor(np.ones((5, 7)))

    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape "
                                           r"\(5, 7\) for input 0, which has shape \(3,\)"):
        BadShape.apply(leaf([1.0, 2.0, 3.0])).sum().backward()


def test_custom_function_broadcast_gradient_is_reduced_by_the_engine():
    class AddRow(Function):
        @staticmethod
        def forward(ctx, m, row):
            return m + row

        @staticmethod
        def backward(ctx, grad):
            return grad, grad  # the engine sums grad down to row's shape

    m = leaf(np.ones((3, 2)))
    row = leaf([1.0, 2.0])
    AddRow.apply(m, row).sum().backward()
    np.testing.assert_array_equal(row.grad._data, [3.0, 3.0])


def test_function_apply_needs_a_tensor():
    with pytest.raises(TypeError, match="needs at least one Tensor"):
        Cube.apply(np.ones(2))


def test_abstract_function_raises():
    with pytest.raises(NotImplementedError):
        Function.apply(Tensor(np.ones(1)))


def test_graph_node_records_module_name():
    from autograd.function import _module_stack
    _module_stack.append("encoder.0")
    try:
        y = leaf([1.0]) * 2.0
    finally:
        _module_stack.pop()
    assert y.grad_fn.module == "encoder.0"
    assert (leaf([1.0]) * 2.0).grad_fn.module is None


# ------------------------------------------------------------------ very deep graphs
def test_100000_deep_chain_with_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10000  # nothing raised it for us
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.00001 ** 100_000, rtol=1e-9)
    # dropping a deep graph that was never backpropagated must not overflow the stack
    z = x
    for _ in range(100_000):
        z = z + 1.0
    del z
    gc.collect()


def test_double_backward_tells_apart_inputs_sharing_one_array():
    """Two leaves holding the very same array (detach shares memory, as in torch): what Mul
    saved must stay connected to the right input for second derivatives."""
    x = A.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x.detach().requires_grad_()
    assert y._data is x._data
    (gx,) = A.grad((x * y).sum(), x, create_graph=True)  # = y
    dx, dy = A.grad(gx.sum(), (x, y), allow_unused=True)
    assert dx is None
    np.testing.assert_array_equal(dy._data, np.ones(3))
    assert x._data.flags.writeable  # nothing stays guarded


def test_one_input_ops_record_what_the_general_pass_records():
    """Function.apply takes one-input ops' facts directly (no general pass over the
    inputs): the node must say what it would have said, for leaves and non-leaves,
    with and without attributes, and nothing is recorded when no gradient is needed."""
    x = Tensor(np.array([[0.5, -1.0, 2.0]], np.float32), requires_grad=True)
    y = A.ops.Tanh.apply(x)
    node = y.grad_fn
    assert node.next_functions == (x,) and node.needs_input_grad == (True,)
    assert node.input_meta == (((1, 3), np.dtype(np.float32)),)
    assert node.output_meta == ((1, 3), np.dtype(np.float32)) and dict(node.attrs) == {}
    z = A.ops.PowScalar.apply(y, exponent=3)
    assert z.grad_fn.next_functions == (node,) and dict(z.grad_fn.attrs) == {"exponent": 3}
    z.sum().backward()
    t = np.tanh(x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 3 * t ** 2 * (1 - t ** 2), rtol=1e-5)
    c = Tensor(np.ones(3, np.float32))  # needs no gradient: a plain result, no node
    r = A.ops.Exp.apply(c)
    assert r.grad_fn is None and not r.requires_grad
    np.testing.assert_allclose(r.numpy(), np.e, rtol=1e-6)
    s = A.Scalar(0.25)
    assert A.ops.Exp.apply(s).grad_fn.input_meta == (((), "float"),)
    with pytest.raises(TypeError, match="needs at least one Tensor or Scalar input"):
        A.ops.Exp.apply(np.ones(2))  # one raw input, outside a raw replay: refused as before


def test_a_variable_with_a_constant_array_records_what_the_general_pass_records():
    """``x * 1.5`` (a Tensor and a constant 0-d array) also skips the general pass: a raw
    constant gets no edge and no meta, as there; the very array of x given as the
    constant still goes the general way (its two inputs are told apart)."""
    x = Tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    y = A.ops.Mul.apply(x, np.array(1.5, np.float32))  # what x * 1.5 passes (a cached 0-d array)
    node = y.grad_fn
    assert node.next_functions == (x, None) and node.needs_input_grad == (True, False)
    assert node.input_meta == (((2,), np.dtype(np.float32)), None)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.5, 1.5])
    same = A.ops.Mul.apply(x, x._data)  # x times its own array, as a constant
    assert same.grad_fn.next_functions == (x, None)
    x.grad = None
    same.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, -2.0])  # d(x·c)/dx = c
    (g,) = A.grad(A.ops.Mul.apply(x, x._data).sum(), x, create_graph=True)
    assert not g.requires_grad  # c stays a constant: no second derivative through it
    c = Tensor(np.ones(2, np.float32))
    assert (c * 2.0).grad_fn is None and not (c + 1.0).requires_grad
