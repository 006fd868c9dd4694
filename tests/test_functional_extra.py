"""The activations, distances, embedding, normalisation, resizing, losses and attention of
nn/functional_act.py, functional_loss.py, functional_resize.py:

* a table of ops checked against PyTorch (float64 values, then gradients of every float
  input for a random upstream gradient; skipped without torch);
* property-based gradient checks (``autograd.gradcheck`` on hypothesis-drawn tensors);
* PyTorch's kink rules and argument errors (without torch).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as A
import nn
import nn.functional as F
from autograd import Tensor, gradcheck
from autograd.testing import tensors

R = np.random.default_rng(0)


def rn(*shape):
    return R.standard_normal(shape)


def pos(*shape):
    return R.uniform(0.2, 2.0, shape)


def ints(high, *shape):
    return R.integers(0, high, shape)


def signs(*shape):
    return np.where(R.random(shape) < 0.5, -1.0, 1.0)


def probs(*shape):
    p = R.random(shape) + 0.05
    return p / p.sum(-1, keepdims=True)


class NoGrad:
    """An input that PyTorch does not differentiate (passed without requires_grad)."""

    def __init__(self, array):
        self.array = array


def logp(*shape):
    x = R.standard_normal(shape)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def kinks(*values):
    return np.array(values, dtype=np.float64)


# name, input arrays, keyword arguments (the same call on both sides)
CASES = [
    ("gelu", [rn(3, 4)], {}),
    ("gelu", [rn(3, 4)], dict(approximate="tanh")),
    ("silu", [rn(3, 4)], {}),
    ("elu", [np.r_[rn(6), 0.0]], dict(alpha=0.7)),
    ("selu", [np.r_[rn(6), 0.0]], {}),
    ("celu", [np.r_[rn(6), 0.0]], dict(alpha=1.5)),
    ("relu6", [kinks(-1, 0, 3, 6, 7)], {}),
    ("hardtanh", [kinks(-2, -1, 0.3, 1, 2)], {}),
    ("hardtanh", [rn(5)], dict(min_val=-0.5, max_val=0.2)),
    ("hardswish", [kinks(-4, -3, -1, 0, 2.5, 3, 4)], {}),
    ("hardsigmoid", [kinks(-4, -3, -1, 0, 2.5, 3, 4)], {}),
    ("mish", [rn(3, 4) * 3], {}),
    ("softsign", [rn(3, 4)], {}),
    ("softmin", [rn(3, 4)], dict(dim=1)),
    ("tanhshrink", [rn(3, 4)], {}),
    ("softshrink", [rn(3, 4)], dict(lambd=0.3)),
    ("hardshrink", [rn(3, 4)], dict(lambd=0.3)),
    ("glu", [rn(3, 4)], dict(dim=1)),
    ("glu", [rn(4, 3)], dict(dim=0)),
    ("prelu", [np.r_[rn(5), 0.0].reshape(2, 3), pos(3)], {}),
    ("prelu", [rn(2, 3, 4, 4), pos(1)], {}),
    ("logsigmoid", [rn(3, 4)], {}),
    ("normalize", [rn(3, 4)], {}),
    ("normalize", [rn(3, 4)], dict(p=1.0, dim=0)),
    ("normalize", [np.zeros((2, 3))], {}),
    ("cosine_similarity", [rn(3, 5), rn(3, 5)], {}),
    ("cosine_similarity", [rn(4, 5), rn(1, 5)], dict(dim=1)),
    ("cosine_similarity", [np.zeros((2, 3)), rn(2, 3)], dict(dim=1)),
    ("pairwise_distance", [rn(3, 5), rn(3, 5)], {}),
    ("pairwise_distance", [rn(3, 5), rn(3, 5)], dict(p=1.0, keepdim=True)),
    ("pairwise_distance", [rn(3, 5), rn(3, 5)], dict(p=3.0)),
    ("group_norm", [rn(2, 6, 3, 3), 3, rn(6), rn(6)], {}),
    ("group_norm", [rn(4, 4, 5), 2], dict(eps=1e-3)),
    ("instance_norm", [rn(2, 3, 4, 4)], {}),
    ("instance_norm", [rn(2, 3, 6)], dict(weight=rn(3), bias=rn(3))),
    ("layer_norm", [rn(2, 3, 4), (3, 4), rn(3, 4), rn(3, 4)], {}),
    ("bilinear", [rn(5, 3), rn(5, 4), rn(2, 3, 4), rn(2)], {}),
    ("bilinear", [rn(2, 5, 3), rn(2, 5, 4), rn(6, 3, 4)], {}),
    ("embedding_bag", [np.array([1, 2, 4, 5, 4, 3, 2, 9]), rn(10, 3),
                       np.array([0, 4, 4])], dict(mode="mean", padding_idx=4)),
    ("embedding_bag", [np.array([[1, 2, 4], [5, 5, 0]]), rn(10, 3)], dict(mode="max")),
    ("embedding_bag", [np.array([1, 2, 4, 5, 0]), rn(10, 3), np.array([0, 2, 5])],
     dict(mode="sum", include_last_offset=True, per_sample_weights=rn(5))),
    ("local_response_norm", [rn(2, 6, 3, 3), 3], dict(alpha=0.5, k=2.0)),
    ("local_response_norm", [rn(2, 5, 4), 4], {}),
    ("interpolate", [rn(2, 3, 4, 5)], dict(scale_factor=2, mode="nearest")),
    ("interpolate", [rn(2, 3, 4, 5)], dict(size=(7, 3), mode="nearest")),
    ("interpolate", [rn(2, 3, 4, 5)], dict(size=(7, 3), mode="nearest-exact")),
    ("interpolate", [rn(2, 3, 4, 5)], dict(size=(7, 9), mode="bilinear",
                                           align_corners=False)),
    ("interpolate", [rn(2, 3, 4, 5)], dict(size=(7, 9), mode="bilinear", align_corners=True)),
    ("interpolate", [rn(2, 3, 4, 5)], dict(scale_factor=1.7, mode="bilinear")),
    ("interpolate", [rn(2, 3, 6, 5)], dict(size=(3, 2), mode="bilinear")),
    ("interpolate", [rn(2, 3, 5)], dict(scale_factor=3, mode="linear")),
    ("interpolate", [rn(1, 2, 4, 5)], dict(size=(7, 3), mode="bicubic")),
    ("interpolate", [rn(1, 2, 4, 5)], dict(size=(9, 8), mode="bicubic", align_corners=True)),
    ("interpolate", [rn(1, 2, 4, 5)], dict(scale_factor=2.5, mode="bicubic")),
    ("interpolate", [rn(1, 2, 3, 4, 2)], dict(size=(4, 3, 5), mode="trilinear")),
    ("interpolate", [rn(2, 3, 6, 8)], dict(size=(4, 3), mode="area")),
    ("affine_grid", [rn(2, 2, 3), (2, 3, 4, 5)], dict(align_corners=False)),
    ("affine_grid", [rn(1, 2, 3), (1, 1, 3, 6)], dict(align_corners=True)),
    ("grid_sample", [rn(2, 3, 5, 6), R.uniform(-1.2, 1.2, (2, 4, 7, 2))],
     dict(align_corners=False)),
    ("grid_sample", [rn(2, 3, 5, 6), R.uniform(-1.2, 1.2, (2, 4, 7, 2))],
     dict(padding_mode="border", align_corners=True)),
    ("grid_sample", [rn(1, 2, 5, 6), R.uniform(-1.6, 1.6, (1, 4, 7, 2))],
     dict(padding_mode="reflection", align_corners=False)),
    ("grid_sample", [rn(1, 2, 5, 6), R.uniform(-1.6, 1.6, (1, 4, 7, 2))],
     dict(padding_mode="reflection", align_corners=True)),
    ("grid_sample", [rn(1, 2, 5, 6), R.uniform(-1.2, 1.2, (1, 3, 3, 2))],
     dict(mode="nearest", align_corners=False)),
    ("pixel_shuffle", [rn(2, 8, 3, 4), 2], {}),
    ("pixel_unshuffle", [rn(2, 2, 6, 4), 2], {}),
    ("adaptive_max_pool2d", [rn(2, 3, 7, 9), (3, 4)], {}),
    ("adaptive_max_pool2d", [np.round(rn(2, 3, 5, 5)), 2], dict(return_indices=True)),
    ("adaptive_max_pool1d", [rn(2, 3, 10), 4], {}),
    ("huber_loss", [rn(4, 5) * 2, rn(4, 5)], {}),
    ("huber_loss", [rn(4, 5) * 2, rn(4, 5)], dict(delta=0.5, reduction="sum")),
    ("smooth_l1_loss", [rn(4, 5) * 2, rn(4, 5)], dict(beta=0.5)),
    ("smooth_l1_loss", [rn(4, 5) * 2, rn(4, 5)], dict(beta=0.0, reduction="none")),
    ("kl_div", [np.log(probs(3, 4)), probs(3, 4)], dict(reduction="batchmean")),
    ("kl_div", [np.log(probs(3, 4)), np.log(probs(3, 4))],
     dict(reduction="sum", log_target=True)),
    ("kl_div", [np.log(probs(3, 4)), np.r_[probs(11), 0.0].reshape(3, 4)],
     dict(reduction="none")),
    ("poisson_nll_loss", [rn(4, 3), pos(4, 3) * 2], {}),
    ("poisson_nll_loss", [pos(4, 3), pos(4, 3) * 2], dict(log_input=False, full=True)),
    ("gaussian_nll_loss", [rn(4, 3), rn(4, 3), pos(4, 3)], {}),
    ("gaussian_nll_loss", [rn(4, 3), rn(4, 3), pos(4, 1)], dict(full=True, reduction="sum")),
    ("cosine_embedding_loss", [rn(5, 4), rn(5, 4), signs(5)], dict(margin=0.2)),
    ("margin_ranking_loss", [rn(6), rn(6), signs(6)], dict(margin=0.1)),
    ("triplet_margin_loss", [rn(5, 4), rn(5, 4), rn(5, 4)], {}),
    ("triplet_margin_loss", [rn(5, 4), rn(5, 4), rn(5, 4)], dict(swap=True, p=1, margin=2.0)),
    ("multi_margin_loss", [rn(5, 4), ints(4, 5)], {}),
    ("multi_margin_loss", [rn(5, 4), ints(4, 5)], dict(p=2, margin=0.5, weight=NoGrad(pos(4)))),
    ("soft_margin_loss", [rn(5, 4), NoGrad(signs(5, 4))], {}),
    ("hinge_embedding_loss", [rn(5, 4), signs(5, 4)], dict(margin=0.5)),
    ("multilabel_soft_margin_loss", [rn(5, 4), ints(2, 5, 4).astype(float)], {}),
    ("multilabel_margin_loss", [rn(3, 4), np.array([[3, 0, -1, 1], [1, 2, 3, -1],
                                                    [0, -1, 2, 2]])], {}),
    ("ctc_loss", [logp(12, 3, 5), ints(4, 3, 4) + 1, np.array([12, 10, 7]),
                  np.array([4, 2, 3])], {}),
    ("ctc_loss", [logp(9, 2, 4), np.array([1, 1, 2, 3, 3]), np.array([9, 8]),
                  np.array([3, 2])], dict(reduction="sum")),
    ("ctc_loss", [logp(6, 2, 4), np.array([[1, 2, 1, 2, 1], [2, 2, 2, 3, 3]]),
                  np.array([6, 6]), np.array([5, 2])], dict(reduction="none",
                                                            zero_infinity=True)),
    ("ctc_loss", [logp(7, 4), np.array([2, 1]), np.array(7), np.array(2)],
     dict(blank=3)),
    ("scaled_dot_product_attention", [rn(2, 3, 5, 4), rn(2, 3, 6, 4), rn(2, 3, 6, 2)], {}),
    ("scaled_dot_product_attention", [rn(2, 5, 4), rn(2, 5, 4), rn(2, 5, 3)],
     dict(is_causal=True)),
    ("scaled_dot_product_attention", [rn(2, 5, 4), rn(2, 6, 4), rn(2, 6, 3), rn(5, 6)],
     dict(scale=0.3)),
    ("scaled_dot_product_attention", [rn(2, 5, 4), rn(2, 6, 4), rn(2, 6, 3),
                                      R.random((5, 6)) < 0.8], {}),
    ("scaled_dot_product_attention", [rn(1, 4, 5, 4), rn(1, 2, 6, 4), rn(1, 2, 6, 3)],
     dict(enable_gqa=True)),
]


def _ids(case):
    name, _, kw = case
    return name + ("-" + "-".join(f"{k}={v}" for k, v in kw.items() if not
                                  isinstance(v, np.ndarray)) if kw else "")


def torch_tensor(a):
    import torch
    return torch.tensor(a)


def _wrap(arr, lib):
    """Arrays -> tensors of the library (float ones requiring grad); anything else as is."""
    if isinstance(arr, NoGrad):
        a = arr.array
        return torch_tensor(a) if lib == "torch" else Tensor(a.copy())
    if not isinstance(arr, np.ndarray):
        return arr
    if lib == "torch":
        import torch
        return torch.tensor(arr, requires_grad=arr.dtype.kind == "f")
    return Tensor(arr.copy(), requires_grad=arr.dtype.kind == "f")


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_against_torch(case):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    name, arrays, kwargs = case
    fn, tfn = getattr(F, name), getattr(TF, name)
    nd_in = [_wrap(a, "nd") for a in arrays]
    th_in = [_wrap(a, "torch") for a in arrays]
    nd_kw = {k: _wrap(v, "nd") for k, v in kwargs.items()}
    th_kw = {k: _wrap(v, "torch") for k, v in kwargs.items()}
    nd_out, th_out = fn(*nd_in, **nd_kw), tfn(*th_in, **th_kw)
    nd_out = list(nd_out) if isinstance(nd_out, tuple) else [nd_out]
    th_out = list(th_out) if isinstance(th_out, tuple) else [th_out]
    for n, t in zip(nd_out, th_out):
        assert tuple(n.shape) == tuple(t.shape)
        np.testing.assert_allclose(n._data, t.detach().numpy(), rtol=1e-9, atol=1e-12)
    n, t = nd_out[0], th_out[0]
    up = R.standard_normal(t.shape)
    leaves = [(a, b) for a, b in zip(nd_in + list(nd_kw.values()), th_in + list(th_kw.values()))
              if isinstance(a, Tensor) and a.requires_grad]
    nd_g = A.grad([n], [a for a, _ in leaves], [Tensor(up)], allow_unused=True)
    th_g = torch.autograd.grad([t], [b for _, b in leaves], [torch.tensor(up)],
                               allow_unused=True)
    for i, (gn, gt) in enumerate(zip(nd_g, th_g)):
        shape = leaves[i][0].shape
        gn = np.zeros(shape) if gn is None else gn._data
        gt = np.zeros(shape) if gt is None else gt.numpy()
        # PyTorch's hardsigmoid backward multiplies by a single-precision 1/6
        rtol = 1e-7 if name == "hardsigmoid" else 1e-8
        np.testing.assert_allclose(gn, gt, rtol=rtol, atol=1e-10,
                                   err_msg=f"{name}: gradient of input {i}")


def test_one_hot_and_embedding_against_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    idx = np.array([[0, 2, 4], [1, 4, 4]])
    assert np.array_equal(F.one_hot(Tensor(idx))._data, TF.one_hot(torch.tensor(idx)).numpy())
    assert F.one_hot(Tensor(idx), 7).shape == (2, 3, 7)
    w = rn(5, 3) * 2
    for kw in (dict(), dict(padding_idx=4), dict(max_norm=1.0), dict(scale_grad_by_freq=True),
               dict(padding_idx=-1, max_norm=1.5, norm_type=1.0)):
        wn, wt = Tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
        on = F.embedding(Tensor(idx), wn, **kw)
        ot = TF.embedding(torch.tensor(idx), wt, **kw)
        np.testing.assert_allclose(on._data, ot.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(wn._data, wt.detach().numpy(), rtol=1e-12)  # renormed
        up = rn(*ot.shape)
        on.backward(Tensor(up))
        ot.backward(torch.tensor(up))
        np.testing.assert_allclose(wn.grad._data, wt.grad.numpy(), rtol=1e-12, err_msg=str(kw))


# --------------------------------------------------------------------------- properties
SMOOTH = {
    "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu,
    "mish": F.mish, "softsign": F.softsign, "tanhshrink": F.tanhshrink,
    "softmin": lambda x: F.softmin(x, dim=-1), "glu": lambda x: F.glu(x.reshape(-1, 2), -1),
    "normalize": lambda x: F.normalize(x.reshape(1, -1) + 20.0, dim=1),
    "elu": lambda x: F.elu(x * x + 0.1) + F.elu(-x * x - 0.1),
    "selu": lambda x: F.selu(-x * x - 0.1), "celu": lambda x: F.celu(-x * x - 0.1, 2.0),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
@settings(max_examples=8)
@given(x=tensors(shape=st.sampled_from([(2,), (2, 2), (4, 2)]), min_value=-3, max_value=3))
def test_gradcheck_property(name, x):
    assert gradcheck(SMOOTH[name], (x,))


@settings(max_examples=8)
@given(x=tensors(shape=(1, 2, 3, 4), min_value=-3, max_value=3))
def test_gradcheck_resize_and_norms(x):
    assert gradcheck(lambda t: F.interpolate(t, size=(5, 3), mode="bilinear"), (x,))
    assert gradcheck(lambda t: F.group_norm(t, 2), (x * 1.0 + Tensor(np.arange(24.).reshape(
        1, 2, 3, 4)),))
    assert gradcheck(lambda t: F.pixel_shuffle(t.reshape(1, 4, 3, 2), 2), (x,))


def test_gelu_second_derivative():
    x = Tensor(np.linspace(-3, 3, 7), requires_grad=True)
    assert A.gradgradcheck(F.gelu, (x,))


# --------------------------------------------------------------------------- rules, errors
def test_kink_gradients_follow_pytorch():
    x = Tensor(np.array([-3.0, 3.0, 0.0, 6.0]), requires_grad=True)
    F.hardswish(x[:2]).sum().backward()
    np.testing.assert_allclose(x.grad._data[:2], [0.0, 1.0])
    x.grad = None
    F.relu6(x[2:]).sum().backward()
    np.testing.assert_allclose(x.grad._data[2:], [0.0, 0.0])  # hardtanh: 0 at the bounds
    y = Tensor(np.array([0.0]), requires_grad=True)
    F.elu(y, alpha=0.5).sum().backward()
    np.testing.assert_allclose(y.grad._data, [0.5])


def test_elu_large_inputs_have_finite_gradients():
    x = Tensor(np.array([800.0, -800.0]), requires_grad=True)
    F.elu(x).sum().backward()
    assert np.isfinite(x.grad._data).all()


@pytest.mark.parametrize("call, exc, match", [
    (lambda: F.glu(Tensor(np.zeros((2, 3)))), RuntimeError, "Halving dimension must be even"),
    (lambda: F.gelu(Tensor(np.zeros(2)), approximate="fast"), RuntimeError, "approximate"),
    (lambda: F.prelu(Tensor(np.zeros((2, 3))), Tensor(np.ones(2))), RuntimeError,
     "channel size = 3"),
    (lambda: F.one_hot(Tensor(np.array([1, 5])), 3), RuntimeError, "smaller than num_classes"),
    (lambda: F.one_hot(Tensor(np.array([1.0]))), RuntimeError, "index tensor"),
    (lambda: F.embedding(Tensor(np.array([5])), Tensor(np.zeros((3, 2)))), IndexError,
     "index out of range"),
    (lambda: F.embedding(Tensor(np.array([-1])), Tensor(np.zeros((3, 2)))), IndexError,
     "index out of range"),
    (lambda: F.embedding_bag(Tensor(np.array([1, 2])), Tensor(np.zeros((3, 2))),
                             Tensor(np.array([1]))), RuntimeError, "offsets\\[0\\] has to be 0"),
    (lambda: F.group_norm(Tensor(np.zeros((2, 6, 3))), 4), RuntimeError, "divisible by"),
    (lambda: F.interpolate(Tensor(np.zeros((1, 1, 4, 4))), size=3, scale_factor=2),
     ValueError, "only one of size or scale_factor"),
    (lambda: F.interpolate(Tensor(np.zeros((1, 1, 4, 4))), scale_factor=2, mode="nearest",
                           align_corners=True), ValueError, "align_corners"),
    (lambda: F.interpolate(Tensor(np.zeros((1, 1, 4))), scale_factor=2, mode="bilinear"),
     NotImplementedError, "bilinear mode needs 4D"),
    (lambda: F.pixel_shuffle(Tensor(np.zeros((1, 3, 2, 2))), 2), RuntimeError,
     "divisible by the square"),
    (lambda: F.dropout2d(Tensor(np.zeros((2, 2))), 1.5), ValueError, "between 0 and 1"),
    (lambda: F.smooth_l1_loss(Tensor(np.zeros(2)), Tensor(np.zeros(2)), beta=-1.0),
     RuntimeError, "negative values for beta"),
    (lambda: F.huber_loss(Tensor(np.zeros(2)), Tensor(np.zeros(2)), reduction="avg"),
     ValueError, "not a valid value for reduction"),
    (lambda: F.multi_margin_loss(Tensor(np.zeros((2, 3))), Tensor(np.array([0, 1])), p=3),
     ValueError, "only p == 1 and p == 2"),
    (lambda: F.scaled_dot_product_attention(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 4))),
                                            Tensor(np.zeros((2, 4)))), RuntimeError,
     "same embedding size"),
])
def test_argument_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_dropout2d_zeroes_whole_channels():
    A.manual_seed(0)
    x = Tensor(np.ones((8, 16, 3, 3)))
    y = F.dropout2d(x, 0.5)._data
    per_channel = y.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()
    assert 0 < (per_channel == 0).all(-1).mean() < 1
    assert F.dropout2d(x, 0.5, training=False) is x


def test_alpha_dropout_keeps_mean_and_variance():
    A.manual_seed(0)
    x = Tensor(np.random.default_rng(1).standard_normal(200_000))
    y = F.alpha_dropout(x, 0.2, training=True)._data
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02


LOSS_PROPS = {
    "huber": lambda a, b: F.huber_loss(a, b, delta=0.7),
    "smooth_l1": lambda a, b: F.smooth_l1_loss(a, b, beta=0.4),
    "kl_div": lambda a, b: F.kl_div(a.log_softmax(-1), b.softmax(-1), reduction="batchmean"),
    "poisson_nll": lambda a, b: F.poisson_nll_loss(a, b * b + 0.5),
    # (away from the kinks: zero vectors, zero distances)
    "cosine_similarity": lambda a, b: F.cosine_similarity(a + 3.0, b - 3.0, dim=-1).sum(),
    "pairwise_distance": lambda a, b: F.pairwise_distance(a, b + 5.0).sum(),
    "soft_margin": lambda a, b: F.soft_margin_loss(a, b.tanh()),
    "attention": lambda a, b: F.scaled_dot_product_attention(a, b, a + b).sum(),
}


@pytest.mark.parametrize("name", sorted(LOSS_PROPS))
@settings(max_examples=6)
@given(a=tensors(shape=(2, 3), min_value=-2, max_value=2),
       b=tensors(shape=(2, 3), min_value=-2, max_value=2))
def test_gradcheck_losses_property(name, a, b):
    assert gradcheck(LOSS_PROPS[name], (a, b), atol=1e-5, rtol=1e-3)


LOSS_MODULES = [
    ("HuberLoss", dict(delta=0.5), 2), ("SmoothL1Loss", dict(beta=0.3), 2),
    ("KLDivLoss", dict(reduction="batchmean"), 2), ("PoissonNLLLoss", {}, 2),
    ("SoftMarginLoss", {}, 2), ("MultiLabelSoftMarginLoss", {}, 2),
    ("MarginRankingLoss", dict(margin=0.1), 3), ("CosineEmbeddingLoss", dict(margin=0.2), 3),
    ("TripletMarginLoss", dict(margin=0.5, p=1.0), 3), ("HingeEmbeddingLoss", {}, 2),
    ("MultiMarginLoss", dict(margin=0.7), 2), ("BCELoss", {}, 2),
    ("CTCLoss", dict(blank=0), 4),
]


@pytest.mark.parametrize("name, kw, n", LOSS_MODULES, ids=[c[0] for c in LOSS_MODULES])
def test_loss_modules_match_torch(name, kw, n):
    torch = pytest.importorskip("torch")
    x = R.uniform(0.05, 0.95, (4, 3))
    if name == "CTCLoss":
        args = [logp(8, 2, 4), np.array([[1, 2], [3, 3]]), np.array([8, 6]), np.array([2, 2])]
    elif name == "MultiMarginLoss":
        args = [x, np.array([0, 2, 1, 2])]
    elif name in ("MarginRankingLoss",):
        args = [rn(4), rn(4), signs(4)]
    elif name == "CosineEmbeddingLoss":
        args = [rn(4, 3), rn(4, 3), signs(4)]
    elif name == "TripletMarginLoss":
        args = [rn(4, 3), rn(4, 3), rn(4, 3)]
    elif name in ("SoftMarginLoss", "HingeEmbeddingLoss"):
        args = [rn(4, 3), signs(4, 3)]
    elif name == "MultiLabelSoftMarginLoss":
        args = [rn(4, 3), ints(2, 4, 3).astype(float)]
    elif name == "KLDivLoss":
        args = [np.log(probs(4, 3)), probs(4, 3)]
    else:
        args = [x, R.uniform(0.05, 0.95, (4, 3))]
    ours = getattr(nn, name)(**kw)(*[Tensor(a) for a in args])
    theirs = getattr(torch.nn, name)(**kw)(*[torch.tensor(a) for a in args])
    assert repr(getattr(nn, name)(**kw)).split("(")[0] == name
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)


PIECEWISE = {  # name: (function, its kinks)
    "relu6": (F.relu6, (0.0, 6.0)),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 2.0), (-0.5, 2.0)),
    "hardswish": (F.hardswish, (-3.0, 3.0)),
    "hardsigmoid": (F.hardsigmoid, (-3.0, 3.0)),
    "softshrink": (lambda x: F.softshrink(x, 0.5), (-0.5, 0.5)),
    "hardshrink": (lambda x: F.hardshrink(x, 0.5), (-0.5, 0.5)),
    "threshold": (lambda x: F.threshold(x, 0.2, -1.0), (0.2,)),
    "prelu": (lambda x: F.prelu(x, Tensor(np.array([0.3]))), (0.0,)),
    "elu": (lambda x: F.elu(x, 0.7), (0.0,)),
    "celu": (lambda x: F.celu(x, 1.3), (0.0,)),
    "huber": (lambda x: F.huber_loss(x, Tensor(np.zeros(x.shape)), delta=1.0), (-1.0, 1.0)),
}


@pytest.mark.parametrize("name", sorted(PIECEWISE))
@settings(max_examples=8)
@given(data=st.data())
def test_gradcheck_piecewise_property(name, data):
    fn, kinks = PIECEWISE[name]
    x = data.draw(tensors(shape=(2, 3), min_value=-7, max_value=7, away_from=kinks))
    assert gradcheck(fn, (x,))


def test_embedding_bag_scale_grad_by_freq_follows_the_documented_rule():
    w = Tensor(np.zeros((5, 1)), requires_grad=True)
    out = F.embedding_bag(Tensor(np.array([1, 1, 2, 1, 3])), w, Tensor(np.array([0, 2])),
                          mode="sum", scale_grad_by_freq=True)
    out.backward(Tensor(np.array([[1.0], [10.0]])))
    # index 1 appears 3 times (gradients 1, 1, 10), indices 2 and 3 once (gradient 10)
    np.testing.assert_allclose(w.grad._data.ravel(), [0, 12 / 3, 10, 10, 0])
    with pytest.raises(ValueError, match="max mode does not support scaling"):
        F.embedding_bag(Tensor(np.array([[1, 2]])), w, mode="max", scale_grad_by_freq=True)


def test_spatial_transformer_identity_and_default_warning():
    x = Tensor(R.standard_normal((1, 2, 4, 5)))
    theta = Tensor(np.array([[[1.0, 0, 0], [0, 1.0, 0]]]))
    grid = F.affine_grid(theta, (1, 2, 4, 5), align_corners=False)
    np.testing.assert_allclose(F.grid_sample(x, grid, align_corners=False)._data, x._data,
                               atol=1e-12)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, grid)
