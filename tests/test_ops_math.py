"""Elementwise math (autograd/ops/math.py, math_binary.py): values and gradients against
PyTorch (each row runs the same function on both libraries), property-based gradient
checks, and the places where PyTorch and NumPy disagree (PyTorch wins)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import gradcheck, tensors
from ops_oracle import gradcheck_row, run_both

S = (3, 4)
UNIT = dict(shape=S, low=-0.9, high=0.9)
POS = dict(shape=S, low=0.2, high=3.0)
ABOVE1 = dict(shape=S, low=1.1, high=3.0)
PROB = dict(shape=S, low=0.05, high=0.95)

# op: (fn(lib, *inputs), input specs) -- the same fn runs on autograd and on torch
OPS = {
    "sin": (lambda m, x: m.sin(x), [S]), "cos": (lambda m, x: x.cos(), [S]),
    "tan": (lambda m, x: m.tan(x), [UNIT]), "asin": (lambda m, x: m.asin(x), [UNIT]),
    "acos": (lambda m, x: x.acos(), [UNIT]), "atan": (lambda m, x: m.atan(x), [S]),
    "sinh": (lambda m, x: m.sinh(x), [S]), "cosh": (lambda m, x: x.cosh(), [S]),
    "asinh": (lambda m, x: m.asinh(x), [S]), "acosh": (lambda m, x: m.acosh(x), [ABOVE1]),
    "atanh": (lambda m, x: m.atanh(x), [UNIT]), "arcsin": (lambda m, x: m.arcsin(x), [UNIT]),
    "exp2": (lambda m, x: m.exp2(x), [S]), "expm1": (lambda m, x: x.expm1(), [S]),
    "log2": (lambda m, x: m.log2(x), [POS]), "log10": (lambda m, x: m.log10(x), [POS]),
    "log1p": (lambda m, x: m.log1p(x), [UNIT]), "rsqrt": (lambda m, x: m.rsqrt(x), [POS]),
    "reciprocal": (lambda m, x: x.reciprocal(), [POS]), "square": (lambda m, x: m.square(x), [S]),
    "erf": (lambda m, x: m.erf(x), [S]), "erfc": (lambda m, x: m.erfc(x), [S]),
    "erfinv": (lambda m, x: m.erfinv(x), [UNIT]),
    "floor": (lambda m, x: m.floor(x * 3), [S]), "ceil": (lambda m, x: x.mul(3).ceil(), [S]),
    "round": (lambda m, x: m.round(x * 3), [S]), "trunc": (lambda m, x: m.trunc(x * 3), [S]),
    "round_decimals": (lambda m, x: x.round(decimals=1), [S]),
    "frac": (lambda m, x: m.frac(x * 3), [S]), "sgn": (lambda m, x: m.sgn(x), [S]),
    "atan2": (lambda m, a, b: m.atan2(a, b), [S, S]),
    "fmod": (lambda m, a, b: m.fmod(a * 3, b), [S, POS]),
    "remainder": (lambda m, a, b: m.remainder(a * 3, b), [S, POS]),
    "mod_operator": (lambda m, a, b: (a * 3) % b, [S, POS]),
    "rmod": (lambda m, b: 5.0 % b, [POS], dict(grad=False)),  # torch: no derivative here
    "floordiv": (lambda m, a, b: (a * 3) // b, [S, POS], dict(grad=False)),  # torch: no derivative
    "div_floor": (lambda m, a, b: m.div(a * 3, b, rounding_mode="floor"), [S, POS]),
    "div_trunc": (lambda m, a, b: (a * 3).div(b, rounding_mode="trunc"), [S, POS]),
    "copysign": (lambda m, a, b: m.copysign(a, b), [S, S]),
    "hypot": (lambda m, a, b: m.hypot(a, b), [S, S]),
    "logaddexp": (lambda m, a, b: m.logaddexp(a, b), [S, (4,)]),
    "lerp_scalar": (lambda m, a, b: m.lerp(a, b, 0.3), [S, S]),
    "lerp_tensor": (lambda m, a, b, w: a.lerp(b, w), [S, S, (4,)]),
    "xlogy": (lambda m, a, b: m.xlogy(a, b), [S, POS]),
    "logit": (lambda m, x: m.logit(x), [PROB]),
    "logit_eps": (lambda m, x: x.logit(eps=0.2), [PROB]),
    "nan_to_num": (lambda m, x: m.nan_to_num(m.log(x)), [S]),
    "clamp_tensor": (lambda m, x, lo, hi: x.clamp(lo, hi), [S, (4,), dict(shape=(4,), low=0.5)]),
    "clamp_tensor_min": (lambda m, x, lo: m.clamp(x, min=lo), [S, S]),
    "clamp_min_max": (lambda m, x: m.clamp_min(x, -0.5).clamp_max(0.5), [S]),
    "add_alpha": (lambda m, a, b: m.add(a, b, alpha=2.5), [S, (4,)]),
    "sub_alpha": (lambda m, a, b: m.sub(a, b, alpha=0.5), [S, S]),
    "mul_pow_neg": (lambda m, a, b: m.neg(m.pow(m.mul(a, b), 2)), [S, S]),
    "pow_scalar_base": (lambda m, a: m.pow(2.0, a), [S]),
    "heaviside": (lambda m, x: m.heaviside(m.round(x), m.tensor(0.5, dtype=x.dtype)), [S],
                  dict(grad=False)),  # no derivative in torch either
    "sin_cos_inplace": (lambda m, x: (x * 1).sin_().cos_(), [S]),
    # (an in-place op on an output its producer saved fails at backward, in both
    # libraries: sqrt/rsqrt save their result, so a mul(1) sits in between here)
    "math_inplace": (lambda m, x: (x + 3).log2_().mul(1).rsqrt_().mul(1).erf_(), [S]),
    "round_inplace": (lambda m, x: (x * 3).round_(), [S]),
    "clamp_min_inplace": (lambda m, x: (x * 1).clamp_min_(0.1).clamp_max_(0.9), [S]),
    "lerp_inplace": (lambda m, a, b: (a * 1).lerp_(b, 0.25), [S, S]),
    "lgamma": (lambda m, x: m.lgamma(x), [dict(shape=S, low=0.2, high=5)]),
    "lgamma_negative": (lambda m, x: x.lgamma(), [dict(shape=S, low=-2.9, high=-2.1)]),
    "digamma": (lambda m, x: m.digamma(x), [POS]),
    "polygamma": (lambda m, x: m.polygamma(2, x), [POS]),
    "logaddexp2": (lambda m, a, b: m.logaddexp2(a, b), [S, S]),
    "deg2rad_rad2deg": (lambda m, x: m.deg2rad(x * 90).rad2deg(), [S]),
    "sinc": (lambda m, x: m.sinc(x), [S]),
    "sinc_at_zero": (lambda m, x: m.sinc(x * 0), [S]),
    "fmax_fmin": (lambda m, a, b: (m.fmax(m.log(a), b), m.fmin(a.log(), m.log(b))), [S, S]),
    "logical": (lambda m, a, b: (m.logical_and(a > 0, b > 0), (a > 0).logical_or(b > 0),
                                 m.logical_xor(a > 0, b > 0), m.logical_not(a > 0)), [S, S]),
    "ravel": (lambda m, x: m.ravel(x.t()), [S]),
    "int_sin_promotes": (lambda m, x: m.sin(x), [dict(shape=S, dtype="int64", low=-3, high=3)]),
    "mixed_dtypes_atan2": (lambda m, a, b: m.atan2(a, b), [dict(shape=S, dtype="float32"), (4,)]),
    "int_float32_fmod": (lambda m, a, b: m.fmod(a, b), [dict(shape=S, dtype="int64", low=-9, high=9),
                                                        dict(shape=(4,), dtype="float32", low=1, high=3)]),
    "int_scalar_xlogy": (lambda m, a: m.xlogy(a, 2.0), [dict(shape=S, dtype="int64", low=-9, high=9)]),
    "int_remainder_scalar": (lambda m, a: a.remainder(2.5), [dict(shape=S, dtype="int64", low=-9, high=9)]),
    "int_floordiv": (lambda m, x: x // 2, [dict(shape=S, dtype="int64", low=-9, high=9)]),
    "int_mod": (lambda m, x: x % 4, [dict(shape=S, dtype="int64", low=-9, high=9)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_against_torch(name):
    fn, specs, *opts = OPS[name]
    run_both(fn, specs, **(opts[0] if opts else {}))


# ----------------------------------------------------------------- property-based
# Every differentiable row, on inputs drawn by hypothesis (rows with jumps or kinks
# inside the drawn range are covered by the torch comparison and the tests below).
JUMPS = {"floor", "ceil", "round", "trunc", "round_decimals", "frac", "fmod", "remainder",
         "mod_operator", "rmod", "floordiv", "div_floor", "div_trunc", "copysign", "sgn",
         "heaviside", "clamp_tensor", "clamp_tensor_min", "clamp_min_max", "nan_to_num",
         "logit_eps", "round_inplace", "clamp_min_inplace", "fmax_fmin"}


@pytest.mark.parametrize("name", sorted(set(OPS) - JUMPS))
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_gradcheck_every_row(name, data):
    gradcheck_row(data, OPS[name][0], OPS[name][1])


SMOOTH = {
    "sin": (lambda t: t.sin(), {}), "tan": (lambda t: t.tan(), dict(min_value=-1, max_value=1)),
    "asin": (lambda t: t.asin(), dict(min_value=-0.9, max_value=0.9)),
    "atanh": (lambda t: t.atanh(), dict(min_value=-0.9, max_value=0.9)),
    "acosh": (lambda t: t.acosh(), dict(min_value=1.1, max_value=4)),
    "log1p": (lambda t: t.log1p(), dict(min_value=-0.9, max_value=4)),
    "rsqrt": (lambda t: t.rsqrt(), dict(min_value=0.2, max_value=4)),
    "erf": (lambda t: t.erf(), dict(min_value=-3, max_value=3)),
    "erfinv": (lambda t: t.erfinv(), dict(min_value=-0.9, max_value=0.9)),
    "expm1": (lambda t: t.expm1(), dict(min_value=-3, max_value=3)),
    "frac": (lambda t: t.frac(), dict(min_value=-2.9, max_value=2.9, away_from=(-2, -1, 0, 1, 2))),
    "logit": (lambda t: t.logit(), dict(min_value=0.05, max_value=0.95)),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_gradcheck_unary(name, data):
    fn, spec = SMOOTH[name]
    x = data.draw(tensors(**spec))
    assert gradcheck(fn, (x,))


@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_gradcheck_binary(data):
    a = data.draw(tensors(shape=(2, 3), away_from=(0,)))  # xlogy's gradient is 0 at a == 0
    b = data.draw(tensors(shape=(3,), min_value=0.5, max_value=3))
    assert gradcheck(lambda x, y: x.atan2(y) + x.hypot(y) + x.logaddexp(y) + x.xlogy(y), (a, b))
    w = data.draw(tensors(shape=(2, 3), min_value=0, max_value=1))
    assert gradcheck(lambda x, y, z: x.lerp(y, z), (a, b, w))


def test_second_derivative_of_trig():
    x = Tensor(np.linspace(-1, 1, 5), requires_grad=True)
    assert A.gradgradcheck(lambda t: t.sin() * t.atan() + t.erf(), (x,))


# ----------------------------------------------------------------- PyTorch over NumPy
def test_round_is_half_to_even_like_torch():
    x = Tensor([0.5, 1.5, 2.5, -0.5, -2.5])
    assert x.round().tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]  # not 1, 2, 3 (half away)


def test_remainder_takes_the_divisors_sign_fmod_the_dividends():
    x = Tensor([-7.0, 7.0])
    assert (x % 3).tolist() == [2.0, 1.0]
    assert x.fmod(3).tolist() == [-1.0, 1.0]
    assert (Tensor([-7, 7]) // 2).tolist() == [-4, 3]          # floor, like torch (since 1.13)
    assert x.div(2, rounding_mode="trunc").tolist() == [-3.0, 3.0]


def test_float_ops_on_integer_tensors_give_the_default_float():
    y = A.sin(Tensor([1, 2]))
    assert y.dtype == np.float32  # NumPy would give float64


def test_std_uses_bessels_correction_like_torch():
    x = Tensor([1.0, 2.0, 3.0, 4.0])
    assert np.isclose(x.std().item(), np.std(x.numpy(), ddof=1))   # NumPy's default is ddof=0
    std, mean = A.std_mean(x)
    assert np.isclose(std.item(), 1.2909944) and mean.item() == 2.5


def test_format_of_a_one_element_tensor():
    loss = Tensor(1.23456)
    assert f"{loss:.2f}" == "1.23" and f"{loss}" == str(float(np.float32(1.23456)))
    assert f"{Tensor([2.5])}" == repr(Tensor([2.5]))
    with pytest.raises(TypeError, match="unsupported format string"):
        format(Tensor([1.0, 2.0]), ".2f")


def test_errors_name_the_op():
    with pytest.raises(ValueError, match="rounding_mode"):
        Tensor([1.0]).div(2, rounding_mode="ceil")


def test_heaviside_has_no_gradient():
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = x.heaviside(Tensor(0.5))
    assert y.tolist() == [0.0, 0.5, 1.0] and not y.requires_grad
