"""The Scalar engine runs micrograd-style code unchanged with ``Value = autograd.Scalar``.

micrograd (karpathy/micrograd) is where most learners start. Its code relies on a few
habits: ``Value(x)`` for every number, Python numbers on either side of an op,
``x += ...`` building new nodes, comparisons of values, ``.grad`` as a plain number that
``zero_grad`` resets with ``p.grad = 0``, and updates written as ``p.data -= lr * p.grad``.
The tests below are written in our own words in that style: an engine check against
PyTorch (when importable) and a small MLP trained with a max-margin loss as in its demo.
"""
import math
import random

import numpy as np
import pytest

from autograd import Scalar as Value


# ---------------------------------------------------------------- engine, micrograd style
def _expression(a, b):
    """A chain mixing every op micrograd has, with reuse of intermediate values."""
    c = a * b + b ** 2
    c = c + (3 + c * (-a))   # (micrograd's `+=`, written out: on torch it'd be in place)
    d = (a - b).relu() + (c * 0.01).relu() * 2
    d = d + d * c / 4.0
    e = (d - c) ** 2
    f = e / 10.0 + 5.0 / (e + 1) + (a * 0.1).tanh() + (b * 0.05).exp()
    return f


def test_values_and_gradients_match_torch():
    torch = pytest.importorskip("torch")
    a, b = Value(-3.0), Value(1.5)
    f = _expression(a, b)
    f.backward()
    at = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    ft = _expression(at, bt)
    ft.backward()
    assert abs(f.data - ft.item()) < 1e-9
    assert abs(a.grad - at.grad.item()) < 1e-9     # .grad compares as a number
    assert abs(b.grad - bt.grad.item()) < 1e-9


def test_gradients_match_finite_differences():
    def value(x, y):
        return _expression(Value(x), Value(y)).data

    a, b = Value(0.7), Value(-1.2)
    _expression(a, b).backward()
    h = 1e-6
    da = (value(0.7 + h, -1.2) - value(0.7 - h, -1.2)) / (2 * h)
    db = (value(0.7, -1.2 + h) - value(0.7, -1.2 - h)) / (2 * h)
    assert a.grad == pytest.approx(da, rel=1e-5)
    assert b.grad == pytest.approx(db, rel=1e-5)


def test_number_habits():
    x = Value(2.0)
    assert x == 2.0 and x != 3.0 and x > 1 and x <= 2.0 and not (x < 2)
    assert type(x > 1) is bool
    assert type(x.data) is float
    y = x * x
    y.backward()
    assert y.data == 4.0 and x.grad == 4.0 and f"{x.grad:.3f}" == "4.000"
    x.data -= 0.5 * x.grad                          # micrograd's update
    assert type(x.data) is float and x.data == 0.0
    x.grad = 0                                      # micrograd's zero_grad
    assert x.grad == 0.0
    (x * 3).backward()
    assert x.grad == 3.0                            # accumulated onto the reset value
    assert {x: 1}[x] == 1                           # still hashable (by identity)
    z = x
    z += 1                                          # a new node, as in micrograd
    assert z is not x and z.data == 1.0 and x.data == 0.0


# ---------------------------------------------------------------- the demo's MLP
class Module:
    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        return []


class Neuron(Module):
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer(Module):
    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP(Module):
    def __init__(self, nin, nouts):
        sizes = [nin] + nouts
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1)
                       for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def _two_blobs(n, seed):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal((-1.0, -1.0), 0.5, (n // 2, 2)),
                        rng.normal((1.0, 1.0), 0.5, (n // 2, 2))])
    y = np.concatenate([-np.ones(n // 2), np.ones(n // 2)])
    return X, y


def _loss(model, X, y, alpha=1e-4):
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    accuracy = [(yi > 0) == (si.data > 0) for yi, si in zip(y, scores)]
    return data_loss + reg_loss, sum(accuracy) / len(accuracy)


def test_demo_style_training_learns():
    random.seed(1337)
    X, y = _two_blobs(40, seed=0)
    model = MLP(2, [8, 8, 1])
    first, _ = _loss(model, X, y)
    for k in range(15):
        total, acc = _loss(model, X, y)
        model.zero_grad()
        total.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
        assert all(type(p.data) is float for p in model.parameters())
    final, acc = _loss(model, X, y)
    assert final.data < first.data and acc >= 0.9, (first.data, final.data, acc)
    assert not math.isnan(final.data)
