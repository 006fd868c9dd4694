"""nn.init: gains, fan computation, and the statistics of each initialiser."""
import math

import numpy as np
import pytest

import autograd as A
import nn
from nn import init


def param(*shape):
    return nn.Parameter(np.zeros(shape, dtype=np.float64))


@pytest.mark.parametrize("name,param_,expected", [
    ("linear", None, 1), ("conv2d", None, 1), ("sigmoid", None, 1), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", math.sqrt(5), math.sqrt(2 / 6)), ("selu", None, 0.75)])
def test_calculate_gain(name, param_, expected):
    assert init.calculate_gain(name, param_) == pytest.approx(expected)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ("linear", "conv1d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", 0.2))


@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3), (16, 3, 5, 5), (2, 6, 3, 1, 2)])
def test_fan_in_and_fan_out(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(np.zeros(shape))
    rf = int(np.prod(shape[2:]))
    assert (fan_in, fan_out) == (shape[1] * rf, shape[0] * rf)
    torch = pytest.importorskip("torch")
    assert (fan_in, fan_out) == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fan_needs_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(param(4))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(param(3, 3), mode="fan_avg")


def _check_uniform(values, bound):
    assert values.max() <= bound and values.min() >= -bound
    assert values.max() > 0.95 * bound and values.min() < -0.95 * bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert abs(values.mean()) < 0.05 * bound


def test_kaiming_uniform_bounds():
    A.manual_seed(0)
    w = param(256, 64, 3, 3)
    assert init.kaiming_uniform_(w) is w  # in place on a Parameter that requires grad
    _check_uniform(w._data, math.sqrt(3) * math.sqrt(2) / math.sqrt(64 * 9))  # a=0: gain sqrt(2)
    init.kaiming_uniform_(w, a=math.sqrt(5))  # Linear/Conv default: U(-1/sqrt(fan_in), ..)
    _check_uniform(w._data, 1 / math.sqrt(64 * 9))
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    _check_uniform(w._data, math.sqrt(6 / (256 * 9)))
    assert w.requires_grad and w.grad_fn is None


def test_kaiming_normal_and_xavier_statistics():
    A.manual_seed(1)
    w = param(400, 300)
    init.kaiming_normal_(w, nonlinearity="relu")
    assert w._data.std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w._data.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    init.xavier_normal_(w, gain=2.0)
    assert w._data.std() == pytest.approx(2 * math.sqrt(2 / 700), rel=0.02)
    init.xavier_uniform_(w)
    _check_uniform(w._data, math.sqrt(6 / 700))


def test_simple_fills():
    A.manual_seed(2)
    w = param(200, 200)
    init.uniform_(w, -2, 3)
    assert w._data.min() >= -2 and w._data.max() <= 3 and w._data.mean() == pytest.approx(0.5, abs=0.05)
    init.normal_(w, 1.0, 0.5)
    assert w._data.mean() == pytest.approx(1.0, abs=0.01) and w._data.std() == pytest.approx(0.5, rel=0.02)
    init.trunc_normal_(w, std=1.0, a=-1.0, b=0.5)
    assert w._data.min() >= -1.0 and w._data.max() <= 0.5
    init.constant_(w, 0.25)
    assert (w._data == 0.25).all()
    init.zeros_(w)
    assert not w._data.any()
    init.ones_(w)
    assert (w._data == 1).all()
    init.eye_(w)
    np.testing.assert_array_equal(w._data, np.eye(200))
    arr = np.zeros((3, 4), dtype=np.float32)  # NumPy arrays work too
    init.ones_(arr)
    assert (arr == 1).all()


def test_float32_parameters_stay_float32():
    w = nn.Parameter(np.zeros((4, 4), dtype=np.float32))
    init.kaiming_uniform_(w)
    assert w.dtype == np.float32 and w._data.any()


def test_seeded_initialisation_is_reproducible():
    a, b = param(10, 10), param(10, 10)
    A.manual_seed(7)
    init.kaiming_uniform_(a)
    A.manual_seed(7)
    init.kaiming_uniform_(b)
    np.testing.assert_array_equal(a._data, b._data)


def test_zero_element_tensor_warns():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(param(0, 3))
