"""Autograd misuse (issue 9, sections 3, 4 and 6): gradient hooks that change the value's
shape or dtype or return a non-Tensor, ``autograd.grad`` with too few ``grad_outputs``,
assigning a wrong ``.grad``, custom Functions returning the wrong number of gradients,
``detect_anomaly`` (NaN only). Each case runs on ndgrad and, when importable, PyTorch.
"""
import numpy as np
import pytest

from errcases import Case, check_ndgrad, check_torch, params

F32 = "float32"


def hooked(L, hook, on="leaf"):
    """x -> y = 2x -> z = sum(y * 1); ``hook`` on x (leaf) or on y (non-leaf)."""
    x = L.A.ones(3, requires_grad=True)
    y = x * 2
    (x if on == "leaf" else y).register_hook(hook)
    (y * 1).sum().backward()
    return x.grad


def first_two(g):
    return g[:2]


def to_double(g):
    return g.double()


def summed(g):
    return g.sum()


def as_numpy(g):
    return np.ones(3, np.float32)


def as_float(g):
    return 1.0


def doubled(g):
    return g * 2


def grad_of_two_outputs(L, n_grads):
    x = L.A.ones(3, requires_grad=True)
    a, b = x * 2, x * 3
    return L.grad([a, b], [x], grad_outputs=[L.A.ones(3)] * n_grads)


def grad_output_wrong_shape(L):
    x = L.A.ones(3, requires_grad=True)
    return L.grad([x * 2], [x], grad_outputs=[L.A.ones(2)])


def set_grad(L, make):
    x = L.A.ones(3, requires_grad=True)
    x.grad = make(L)
    return x.grad


def bad_function(L, n):
    class Twice(L.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return (g,) * n if n != 1 else g

    x = L.A.ones(2, requires_grad=True)
    Twice.apply(x, x).sum().backward()
    return x.grad


def anomaly(L, start):
    with L.detect_anomaly():
        x = L.t(start, requires_grad=True)
        x.sqrt().sum().backward()
    return x.grad


HOOKS = [
    Case("leaf-hook-changes-size", lambda L: hooked(L, first_two),
         raises=(RuntimeError, r"hook 'first_two' has changed the size of value \(was shape "
                               r"\(3,\)")),
    Case("nonleaf-hook-changes-size", lambda L: hooked(L, first_two, "y"),
         raises=(RuntimeError, "hook 'first_two' has changed the size of value")),
    Case("nonleaf-hook-returns-0d", lambda L: hooked(L, summed, "y"),
         raises=(RuntimeError, "hook 'summed' has changed the size")),
    Case("leaf-hook-changes-dtype", lambda L: hooked(L, to_double),
         raises=(RuntimeError, r"hook 'to_double' has changed the type of value .*float64")),
    Case("nonleaf-hook-changes-dtype", lambda L: hooked(L, to_double, "y"),
         raises=(RuntimeError, "hook 'to_double' has changed the type of value")),
    Case("leaf-hook-returns-ndarray", lambda L: hooked(L, as_numpy),
         raises=(TypeError, r"expected Variable, but hook returned 'numpy.ndarray'")),
    Case("nonleaf-hook-returns-ndarray", lambda L: hooked(L, as_numpy, "y"),
         raises=(TypeError, "hook returned 'numpy.ndarray'")),
    Case("hook-returns-float", lambda L: hooked(L, as_float, "y"),
         raises=(TypeError, "hook returned 'float'")),
    Case("leaf-hook-replaces", lambda L: hooked(L, doubled), value=([4.0] * 3, F32)),
    Case("nonleaf-hook-replaces", lambda L: hooked(L, doubled, "y"), value=([4.0] * 3, F32)),
    Case("hook-without-requires-grad", lambda L: L.A.ones(2).register_hook(doubled),
         raises=(RuntimeError, "cannot register a hook on a tensor that doesn't require")),
]

GRAD_API = [
    Case("grad-fewer-grad-outputs", lambda L: grad_of_two_outputs(L, 1),
         raises=(RuntimeError, "grad: got 2 tensors and 1 gradients")),
    Case("grad-matching-grad-outputs", lambda L: grad_of_two_outputs(L, 2)[0],
         value=([5.0] * 3, F32)),
    Case("grad-output-wrong-shape", grad_output_wrong_shape,
         raises=(RuntimeError, r"gradient has shape \(2,\) but the output has shape \(3,\)")),
    Case("grad-unused-input",
         lambda L: L.grad([L.A.ones(2, requires_grad=True).sum()],
                          [L.A.ones(2, requires_grad=True)]),
         raises=(RuntimeError, "appears to not have been used in the graph")),
    Case("backward-nonscalar", lambda L: (L.A.ones(2, requires_grad=True) * 2).backward(),
         raises=(RuntimeError, "grad can be implicitly created only for scalar outputs")),
    Case("backward-no-grad-fn", lambda L: L.A.ones(2).sum().backward(),
         raises=(RuntimeError, "does not require grad and does not have a grad_fn")),
    Case("retain-grad-no-requires-grad", lambda L: L.A.ones(2).retain_grad(),
         raises=(RuntimeError, "can't retain_grad on Tensor that has requires_grad=False")),
    Case("numpy-of-requires-grad", lambda L: L.A.ones(2, requires_grad=True).numpy(),
         raises=(RuntimeError, r"Can't call numpy\(\) on Tensor that requires grad")),
    Case("item-of-many", lambda L: L.A.ones(2).item(),
         raises=(RuntimeError, "a Tensor with 2 elements cannot be converted to Scalar")),
    Case("bool-of-many", lambda L: bool(L.A.ones(2)),
         raises=(RuntimeError, "Boolean value of Tensor with 2 elements is ambiguous")),
    Case("requires-grad-off-non-leaf",
         lambda L: setattr(L.A.ones(2, requires_grad=True) * 2, "requires_grad", False),
         raises=(RuntimeError, "you can only change requires_grad flags of leaf variables")),
]

ASSIGN_GRAD = [
    Case("grad-wrong-shape", lambda L: set_grad(L, lambda L: L.A.ones(2)),
         raises=(RuntimeError, r"attempting to assign a gradient of size '\[2\]' to a tensor "
                               r"of size '\[3\]'")),
    Case("grad-wrong-dtype", lambda L: set_grad(L, lambda L: L.A.ones(3, dtype=L.float64)),
         raises=(RuntimeError, "attempting to assign a gradient with dtype 'float64' to a "
                               "tensor with dtype 'float32'")),
    Case("grad-int-dtype", lambda L: set_grad(L, lambda L: L.A.ones(3, dtype=L.int64)),
         raises=(RuntimeError, "gradient with dtype 'int64'")),
    Case("grad-ndarray", lambda L: set_grad(L, lambda L: np.ones(3, np.float32)),
         raises=(TypeError, "assigned grad expected to be a Tensor or None but got grad of "
                            "type numpy.ndarray")),
    Case("grad-list", lambda L: set_grad(L, lambda L: [1.0, 1.0, 1.0]),
         raises=(TypeError, "assigned grad expected to be a Tensor or None")),
    Case("grad-ok", lambda L: set_grad(L, lambda L: L.A.full((3,), 2.0)),
         value=([2.0] * 3, F32)),
    Case("grad-none", lambda L: set_grad(L, lambda L: None), value=(None, None)),
]

FUNCTIONS = [
    Case("function-one-gradient-for-two-inputs", lambda L: bad_function(L, 1),
         raises=(RuntimeError, r"Twice.backward returned 1 gradient, but forward had 2 inputs")),
    Case("function-three-gradients-for-two-inputs", lambda L: bad_function(L, 3),
         raises=(RuntimeError, r"Twice.backward returned 3 gradients, but forward had 2 "
                               r"inputs")),
    Case("function-right-number", lambda L: bad_function(L, 2), value=([2.0, 2.0], F32)),
]

ANOMALY = [
    # sqrt'(0) = inf is a legitimate gradient: torch's anomaly mode checks NaN only
    Case("anomaly-allows-inf", lambda L: anomaly(L, [0.0, 1.0]), value=([np.inf, 0.5], F32)),
    Case("anomaly-flags-nan", lambda L: anomaly(L, [-1.0, 1.0]),
         raises=(RuntimeError, "Function 'SqrtBackward' returned nan values in its gradient")),
]

ALL = HOOKS + GRAD_API + ASSIGN_GRAD + FUNCTIONS + ANOMALY


@pytest.mark.parametrize("case", params(ALL))
def test_ndgrad(case):
    check_ndgrad(case)


@pytest.mark.parametrize("case", params(ALL))
def test_same_as_torch(case):
    check_torch(case)


def test_engine_assigns_grads_through_the_checked_property():
    """Accumulation over two backward passes still works (the property checks each assignment)."""
    import autograd as A
    x = A.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [5.0, 7.0])
    x.grad = None
    assert x.grad is None


def test_scalar_hooks_still_replace_gradients():
    import autograd as A
    s = A.Scalar(2.0)
    s.requires_grad = True
    s.register_hook(lambda g: g * 10)
    (s * s).backward()
    assert s.grad.data == 40.0
