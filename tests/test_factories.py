"""Factories and random functions (autograd/factories.py): PyTorch's values and dtypes,
``Generator`` objects accepted by every random function, reproducible streams."""
import numpy as np
import pytest

import autograd as A
from autograd import Tensor
from ops_oracle import run_both

# op: fn(lib) -- deterministic factories, the same fn on autograd and torch
FACTORIES = {
    "linspace": lambda m: m.linspace(-1, 2, 7),
    "linspace_float64": lambda m: m.linspace(0, 1, 5, dtype=m.float64),
    "linspace_one": lambda m: m.linspace(3, 5, 1),
    "linspace_int_like": lambda m: m.linspace(0, 10, 11),
    "logspace": lambda m: m.logspace(-2, 2, 5),
    "logspace_base2": lambda m: m.logspace(0, 4, 5, base=2.0, dtype=m.float64),
    "arange_int": lambda m: m.arange(5),
    "arange_float_step": lambda m: m.arange(0, 1, 0.1),
    "arange_negative_step": lambda m: m.arange(3, -1, -0.5),
    "arange_float_end": lambda m: m.arange(2.5),
    "arange_dtype": lambda m: m.arange(1, 4, dtype=m.float64),
    "full_float": lambda m: m.full((2, 3), 1.5),
    "full_int": lambda m: m.full((2,), 7),
    "full_bool": lambda m: m.full((2,), True),
    "eye": lambda m: m.eye(3), "eye_rect": lambda m: m.eye(2, 4, dtype=m.float64),
    "tril_indices": lambda m: m.tril_indices(3, 4), "tril_indices_offset": lambda m: m.tril_indices(4, 3, -1),
    "triu_indices": lambda m: m.triu_indices(3, 3, 1),
    "zeros_like": lambda m: m.zeros_like(m.eye(2)), "ones_like": lambda m: m.ones_like(m.arange(3)),
    "full_like": lambda m: m.full_like(m.eye(2), 4.0),
    "empty_like_shape": lambda m: m.empty_like(m.eye(2)).shape,
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_against_torch(name):
    run_both(lambda m: FACTORIES[name](m), [], rtol=1e-6, atol=1e-7)


RANDOM = {
    "randn": lambda g: A.randn(3, 4, generator=g),
    "rand": lambda g: A.rand((2, 2), generator=g),
    "randint": lambda g: A.randint(0, 10, (5,), generator=g),
    "randint_high_only": lambda g: A.randint(4, (3, 3), generator=g),
    "randperm": lambda g: A.randperm(8, generator=g),
    "normal": lambda g: A.normal(2.0, 0.5, (4,), generator=g),
    "normal_tensors": lambda g: A.normal(A.zeros(3), A.ones(3), generator=g),
    "bernoulli": lambda g: A.bernoulli(A.full((6,), 0.5), generator=g),
    "multinomial": lambda g: A.multinomial(A.tensor([0.1, 0.2, 0.7]), 2, generator=g),
    "multinomial_replacement": lambda g: A.multinomial(A.tensor([[1.0, 3.0], [2.0, 2.0]]), 5,
                                                      replacement=True, generator=g),
    "multinomial_method": lambda g: A.tensor([[0.2, 0.8], [0.5, 0.5]]).multinomial(1, generator=g),
    "bernoulli_method": lambda g: A.full((4,), 0.3).bernoulli(generator=g),
    "rand_like": lambda g: A.rand_like(A.zeros(3), generator=g),
    "randn_like": lambda g: A.randn_like(A.zeros(3), generator=g),
    "randint_like": lambda g: A.randint_like(A.zeros(3), 5, generator=g),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_generator_streams_are_reproducible(name):
    fn = RANDOM[name]
    a = fn(A.Generator().manual_seed(7))
    b = fn(A.Generator().manual_seed(7))
    assert a.dtype == b.dtype and np.array_equal(a.numpy(), b.numpy())
    A.manual_seed(7)  # the default stream with the same seed gives the same numbers
    assert np.array_equal(fn(None).numpy(), a.numpy())


def test_generator_is_independent_of_the_default_stream():
    g = A.Generator().manual_seed(1)
    first = A.randn(4, generator=g)
    A.manual_seed(123)
    A.randn(10)  # drawing from the default stream does not move g
    g2 = A.Generator().manual_seed(1)
    assert np.array_equal(first.numpy(), A.randn(4, generator=g2).numpy())
    state = g.get_state()
    x = A.rand(3, generator=g)
    g.set_state(state)
    assert np.array_equal(x.numpy(), A.rand(3, generator=g).numpy())
    assert g.initial_seed() == 1 and A.manual_seed(5).initial_seed() == 5


def test_random_dtypes_and_ranges_like_torch():
    assert A.randn(2).dtype == np.float32 and A.randint(3, (2,)).dtype == np.int64
    assert A.randperm(5).dtype == np.int64 and sorted(A.randperm(5).tolist()) == list(range(5))
    x = A.randint(-3, 3, (1000,))
    assert x.min().item() >= -3 and x.max().item() < 3
    draws = A.multinomial(A.tensor([0.0, 1.0, 1.0, 0.0]), 2, generator=A.Generator().manual_seed(0))
    assert sorted(draws.tolist()) == [1, 2]  # without replacement, zero weights never drawn
    b = A.bernoulli(A.full((2000,), 0.25), generator=A.Generator().manual_seed(0))
    assert abs(b.mean().item() - 0.25) < 0.05 and b.dtype == np.float32
    n = A.normal(A.tensor([0.0, 100.0]), A.tensor([1e-6, 1e-6]), generator=A.Generator().manual_seed(0))
    assert np.allclose(n.numpy(), [0.0, 100.0], atol=1e-3)


def test_float_ops_keep_pytorch_dtype_rules():
    assert A.arange(0, 1, 0.25).dtype == np.float32   # NumPy would give float64
    assert A.full((1,), 2).dtype == np.int64 and A.full((1,), 2.0).dtype == np.float32
    assert A.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]


def test_errors():
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        A.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match="multinomial: cannot sample n_sample > prob_dist"):
        A.multinomial(A.tensor([0.5, 0.5]), 3)
    with pytest.raises(RuntimeError, match="bernoulli: all elements of input should be between 0 and 1"):
        A.bernoulli(A.tensor([1.5]))
    with pytest.raises(RuntimeError, match="Generator: ndgrad runs on the CPU"):
        A.Generator("cuda")
    with pytest.raises(TypeError, match="the size argument is required"):
        A.normal(0.0, 1.0)


def test_nelement_and_numel():
    t = Tensor(np.zeros((2, 3)))
    assert t.nelement() == t.numel() == A.numel(t) == 6


def test_generator_objects_work_with_nn_init():
    nn = pytest.importorskip("nn")
    a, b = A.zeros(3, 4), A.zeros(3, 4)
    nn.init.normal_(a, generator=A.Generator().manual_seed(3))
    nn.init.normal_(b, generator=A.Generator().manual_seed(3))
    assert np.array_equal(a.numpy(), b.numpy()) and a.numpy().std() > 0


def test_default_stream_state_round_trips():
    state = A.get_rng_state()
    x = A.randn(3)
    A.set_rng_state(state)
    assert np.array_equal(x.numpy(), A.randn(3).numpy())
