"""Fast convolution paths against the plain im2col path and PyTorch: Winograd F(4x4, 3x3)
as a composite (nn/winograd.py, "winograd") and in cache-sized blocks
(nn/winograd_blocked.py, "winograd_blocked", what "auto" runs): values and gradients, odd
sizes, batch 1, non-contiguous input, float32 (1e-4 relative) and float64; automatic
choice, forcing either path, errors."""
import numpy as np
import pytest

import autograd as A
from autograd import Tensor, gradcheck, gradgradcheck
import nn
import nn.functional as F
from nn import functional_conv as FC
from nn import winograd as W
from autograd.engine import topological_order

# (N, C, H, W), O, padding: odd and even sizes, batch 1, 1x1 outputs, 'same'
CASES = [
    ((2, 3, 7, 9), 4, 1),
    ((1, 5, 6, 5), 3, 0),
    ((1, 1, 3, 3), 1, 0),        # a single output pixel
    ((3, 16, 11, 8), 17, 1),
    ((2, 4, 5, 4), 2, (2, 1)),
    ((2, 3, 6, 7), 5, "same"),
]


def _rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)


def _run(x, w, b, padding, algorithm, g):
    tx, tw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    tb = Tensor(b, requires_grad=True)
    out = F.conv2d(tx, tw, tb, padding=padding, algorithm=algorithm)
    out.backward(Tensor(g))
    return out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


WINOGRADS = ["winograd", "winograd_blocked"]


@pytest.mark.parametrize("algorithm", WINOGRADS)
@pytest.mark.parametrize("shape,o,padding", CASES)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_winograd_matches_im2col(shape, o, padding, dtype, tol, algorithm):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    ref = F.conv2d(Tensor(x), Tensor(w), Tensor(b), padding=padding, algorithm="im2col")
    g = rng.standard_normal(ref.shape).astype(dtype)
    fast = _run(x, w, b, padding, algorithm, g)
    plain = _run(x, w, b, padding, "im2col", g)
    for got, want in zip(fast, plain):
        assert got.dtype == dtype and got.shape == want.shape
        assert _rel(got, want) < tol


@pytest.mark.parametrize("algorithm", WINOGRADS)
def test_winograd_non_contiguous_and_unbatched_input(algorithm):
    rng = np.random.default_rng(1)
    base = rng.standard_normal((6, 9, 8, 2))
    x = Tensor(base, requires_grad=True)
    xv = x.permute(3, 0, 1, 2)                     # (2, 6, 9, 8), not contiguous
    w = Tensor(rng.standard_normal((4, 6, 3, 3)), requires_grad=True)
    out = F.conv2d(xv, w, padding=1, algorithm=algorithm)
    out.sum().backward()
    ref = F.conv2d(Tensor(np.ascontiguousarray(xv.detach().numpy())), Tensor(w.detach().numpy()),
                   padding=1, algorithm="im2col")
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    assert x.grad.shape == base.shape
    single = F.conv2d(Tensor(base[:, :, :, 0]), Tensor(w.detach().numpy()), padding=1,
                      algorithm=algorithm)            # (C, H, W) input
    np.testing.assert_allclose(single.numpy(), ref.numpy()[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("algorithm", WINOGRADS)
def test_winograd_gradcheck_and_second_derivatives(algorithm):
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)

    def f(x, w, b):
        return F.conv2d(x, w, b, padding=1, algorithm=algorithm)
    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))


def test_winograd_bias_rides_in_the_tile_copy():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    g = rng.standard_normal((2, 4, 5, 4)).astype(np.float32)
    want = F.conv2d(Tensor(x), Tensor(w), Tensor(b), algorithm="im2col").numpy()
    # only the bias needs a gradient, then only x and w: each input gets what it needs
    tb = Tensor(b, requires_grad=True)
    out = F.conv2d(Tensor(x), Tensor(w), tb, algorithm="winograd")
    names = [node.name for node in topological_order([out.grad_fn]) if hasattr(node, "fn")]
    assert "TilesToImage" in names and "Add" not in names  # no separate pass for the bias
    out.backward(Tensor(g))
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tb.grad.numpy(), g.sum((0, 2, 3)), rtol=1e-5)
    tx, tw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    F.conv2d(tx, tw, Tensor(b), algorithm="winograd").backward(Tensor(g))
    rx, rw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    F.conv2d(rx, rw, Tensor(b), algorithm="im2col").backward(Tensor(g))
    assert _rel(tx.grad.numpy(), rx.grad.numpy()) < 1e-4
    assert _rel(tw.grad.numpy(), rw.grad.numpy()) < 1e-4


def test_automatic_choice_and_forcing():
    big, p1 = ((8, 64, 8, 8), (64, 64, 3, 3)), (1, 1, 1, 1)
    assert W.choose("auto", *big, (1, 1), (1, 1), 1, p1)
    assert W.choose("auto", (16, 16, 26, 26), (16, 16, 3, 3), (1, 1), (1, 1), 1)
    assert not W.choose("auto", (1, 16, 8, 8), (16, 16, 3, 3), (1, 1), (1, 1), 1, p1)  # little work
    assert W.choose("auto", (1, 64, 8, 8), (64, 64, 3, 3), (1, 1), (1, 1), 1, p1)  # 4.7 MFLOP
    assert not W.choose("auto", (64, 4, 32, 32), (16, 4, 3, 3), (1, 1), (1, 1), 1, p1)  # 4 channels
    assert W.choose("auto", (64, 6, 28, 28), (6, 6, 3, 3), (1, 1), (1, 1), 1, (1, 1, 1, 1))
    assert not W.choose("auto", *big, (2, 2), (1, 1), 1, p1)                      # strided
    assert not W.choose("auto", (2, 64, 8, 8), (64, 64, 5, 5), (1, 1), (1, 1), 1, p1)
    assert not W.choose("auto", *big, (1, 1), (1, 1), 1)      # 6x6 output: 56% of 8x8 tiles
    assert not W.choose("auto", (8, 64, 7, 7), (64, 64, 3, 3), (1, 1), (1, 1), 1, p1)  # 77%
    assert not W.choose("im2col", *big, (1, 1), (1, 1), 1, p1)
    assert W.choose("auto", *big, (1, 1), (1, 1), 1, p1, np.float64)
    assert not W.choose("auto", *big, (1, 1), (1, 1), 1, p1, np.float16)  # too inexact
    assert W.choose("winograd", (2, 1, 8, 8), (8, 1, 3, 3), (1, 1), (1, 1), 1)
    with F.conv_algorithm("im2col"):
        assert not W.choose(None, *big, (1, 1), (1, 1), 1, p1)
        assert W.choose("winograd", *big, (1, 1), (1, 1), 1, p1)   # a call's own choice wins
    assert W.choose(None, *big, (1, 1), (1, 1), 1, p1)


def test_transform_matrices_compute_a_correlation():
    """Aᵀ[(G g) ⊙ (Bᵀ d)] is the 1-D valid correlation of a 6-tap d with a 3-tap g, exactly
    (the 2-D transforms are Kronecker products of these)."""
    rng = np.random.default_rng(5)
    for _ in range(5):
        d, g = rng.standard_normal(6), rng.standard_normal(3)
        want = np.array([d[i:i + 3] @ g for i in range(4)])
        np.testing.assert_allclose(W._AT @ ((W._G @ g) * (W._BT @ d)), want, rtol=1e-12,
                                   atol=1e-12)


def _ops_of(out):
    return [n.name for n in A.topological_order([out.grad_fn]) if isinstance(n, A.Context)]


def test_forced_path_is_the_one_recorded():
    x = Tensor(np.ones((1, 2, 6, 6), np.float32), requires_grad=True)
    w = Tensor(np.ones((2, 2, 3, 3), np.float32), requires_grad=True)
    layer = nn.Conv2d(2, 2, 3, padding=1)
    with F.conv_algorithm("winograd"):
        fast = F.conv2d(x, w, padding=1)
        layer_fast = layer(x)
    plain = F.conv2d(x, w, padding=1, algorithm="im2col")
    with F.conv_algorithm("im2col"):
        layer_plain = layer(x)
    np.testing.assert_allclose(fast.detach().numpy(), plain.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(layer_fast.detach().numpy(), layer_plain.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # Winograd: 4x4 input tiles at stride 2 (an Unfold) and four matrix products (MatMul);
    # im2col: one Unfold and one product (MatMulAdd)
    fast_ops, plain_ops = _ops_of(fast), _ops_of(plain)
    assert fast_ops.count("Unfold") == 1 and fast_ops.count("MatMul") == 4
    assert plain_ops.count("Unfold") == 1 and plain_ops.count("MatMulAdd") == 1
    assert "MatMul" not in plain_ops


@pytest.mark.parametrize("kwargs,match", [
    (dict(stride=2), "winograd.*stride"),
    (dict(dilation=2), "winograd.*dilation"),
])
def test_forcing_winograd_where_it_does_not_apply(kwargs, match):
    x, w = Tensor(np.ones((1, 2, 9, 9))), Tensor(np.ones((2, 2, 3, 3)))
    with pytest.raises(ValueError, match=match):
        F.conv2d(x, w, algorithm="winograd", **kwargs)
    with pytest.raises(ValueError, match="winograd.*3x3"):
        F.conv2d(x, Tensor(np.ones((2, 2, 5, 5))), algorithm="winograd")
    with pytest.raises(ValueError, match="conv2d: algorithm must be one of"):
        F.conv2d(x, w, algorithm="fft")
    with pytest.raises(ValueError, match="conv_algorithm: expected one of"):
        with F.conv_algorithm("fast"):
            pass


@pytest.mark.parametrize("algorithm", WINOGRADS)
@pytest.mark.parametrize("shape,o,padding", CASES[:4])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_winograd_matches_torch(shape, o, padding, dtype, tol, algorithm):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    tout = torch.nn.functional.conv2d(tx, tw, tb, padding=padding)
    g = rng.standard_normal(tuple(tout.shape)).astype(dtype)
    tout.backward(torch.tensor(g))
    got = _run(x, w, b, padding, algorithm, g)
    want = (tout.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy())
    for a, e in zip(got, want):
        assert _rel(a, e) < tol


@pytest.mark.parametrize("algorithm", WINOGRADS)
def test_winograd_float32_error_on_a_realistic_layer(algorithm):
    """The 1e-4 relative bound of the issue, on the benchmark's 3x3 layer size class and a
    wide one: output and both gradients against float64 im2col."""
    rng = np.random.default_rng(4)
    for n, c, hw in ((2, 64, 16), (1, 256, 12)):
        x = rng.standard_normal((n, c, hw, hw))
        w = rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c)
        g = rng.standard_normal((n, c, hw, hw))
        ref = _run(x, w, np.zeros(c), 1, "im2col", g)
        fast = _run(x.astype(np.float32), w.astype(np.float32), np.zeros(c, np.float32), 1,
                    algorithm, g.astype(np.float32))
        for got, want in zip(fast[:3], ref[:3]):
            assert got.dtype == A.float32
            assert _rel(got, want) < 1e-4


# stride = dilation: Winograd on every s-th input pixel (nn.winograd.as_stride1)
STRIDED = [
    ((2, 3, 11, 9), 4, 2, 2),
    ((1, 2, 9, 10), 3, 2, 1),             # odd padding: the other phase of the input
    ((2, 3, 13, 12), 2, 3, (2, 1)),
    ((3, 2, 8, 9), 3, (2, 1), (1, 2)),    # stride = dilation = 1 along the width
    ((1, 1, 5, 5), 1, 2, 0),
    ((2, 2, 7, 7), 2, 2, 3),              # windows reaching past the input
]


@pytest.fixture
def winograd_everywhere(monkeypatch):
    """'auto' picks Winograd for any size (the thresholds are for speed, not correctness)."""
    monkeypatch.setattr(W, "MIN_CHANNELS", 1)
    monkeypatch.setattr(W, "MIN_FILL", 0.0)
    monkeypatch.setattr(W, "MIN_FLOPS", 0)
    calls = []
    real = FC._winograd_conv
    monkeypatch.setattr(FC, "_winograd_conv", lambda *a: calls.append(a[0].shape) or real(*a))
    return calls


def _run_strided(x, w, b, stride, padding, algorithm, g):
    tx, tw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    tb = Tensor(b, requires_grad=True)
    out = F.conv2d(tx, tw, tb, stride=stride, padding=padding, dilation=stride,
                   algorithm=algorithm)
    out.backward(Tensor(g))
    return out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


@pytest.mark.parametrize("shape,o,stride,padding", STRIDED)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_stride_equal_dilation_matches_im2col(winograd_everywhere, shape, o, stride, padding,
                                              dtype, tol):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    ref = F.conv2d(Tensor(x), Tensor(w), stride=stride, padding=padding, dilation=stride,
                   algorithm="im2col")
    assert not winograd_everywhere                  # a forced path is the plain one
    g = rng.standard_normal(ref.shape).astype(dtype)
    fast = _run_strided(x, w, b, stride, padding, "auto", g)
    assert len(winograd_everywhere) == 1            # the subsampled input went to Winograd
    plain = _run_strided(x, w, b, stride, padding, "im2col", g)
    for got, want in zip(fast, plain):
        assert got.dtype == dtype and got.shape == want.shape
        assert _rel(got, want) < tol


@pytest.mark.parametrize("shape,o,stride,padding", STRIDED[:3])
def test_stride_equal_dilation_matches_torch(winograd_everywhere, shape, o, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(shape), rng.standard_normal((o, shape[1], 3, 3))
    b = rng.standard_normal(o)
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    tout = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding,
                                      dilation=stride)
    g = rng.standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(g))
    got = _run_strided(x, w, b, stride, padding, "auto", g)
    assert winograd_everywhere
    for a, e in zip(got, (tout.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(),
                          tb.grad.numpy())):
        assert _rel(a, e) < 1e-10


def test_stride_equal_dilation_non_contiguous_and_fallbacks(winograd_everywhere):
    rng = np.random.default_rng(8)
    base = Tensor(rng.standard_normal((9, 3, 10, 2)), requires_grad=True)
    xv = base.permute(3, 1, 0, 2)                   # (2, 3, 9, 10), not contiguous
    w = Tensor(rng.standard_normal((4, 3, 3, 3)))
    out = F.conv2d(xv, w, stride=2, padding=1, dilation=2)
    out.sum().backward()
    ref = F.conv2d(Tensor(np.ascontiguousarray(xv.detach().numpy())), w, stride=2, padding=1,
                   dilation=2, algorithm="im2col")
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    assert base.grad.shape == (9, 3, 10, 2) and len(winograd_everywhere) == 1
    x = Tensor(np.ones((1, 2, 9, 9)))
    F.conv2d(x, Tensor(np.ones((2, 2, 3, 3))), stride=2, dilation=3)    # stride != dilation
    F.conv2d(x, Tensor(np.ones((2, 2, 5, 5))), stride=2, dilation=2)    # not 3x3
    F.conv2d(x, Tensor(np.ones((2, 1, 3, 3))), stride=2, dilation=2, groups=2)
    assert len(winograd_everywhere) == 1
    with pytest.raises(RuntimeError, match="conv2d"):                   # does not fit
        F.conv2d(Tensor(np.ones((1, 2, 3, 3))), Tensor(np.ones((2, 2, 3, 3))), stride=2,
                 dilation=2)
