"""Pooling: F.max_pool2d / avg_pool2d / adaptive_avg_pool2d (and the 1-D forms).

* max pooling sends each window's gradient to its maximum only (accumulating where
  windows overlap; the first maximum in row-major order on ties, like PyTorch);
  average pooling spreads it evenly (1/K² each);
* values against a direct loop reference, property-based gradient checks over random
  valid configurations (kernel, stride, padding, dilation, ceil_mode), second derivatives;
* errors name the function, the parameter and the shapes;
* differential tests against PyTorch (skipped when it is not installed), ties included.
"""
import sys

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import autograd as A
from autograd import Tensor
from autograd.ops import pooling, spatial as S
import nn.functional as F


def t64(a, requires_grad=False):
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def out_size(size, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    if ceil_mode:
        o = -(-(size + 2 * p - span) // s) + 1
        if (o - 1) * s >= size + p:
            o -= 1
        return o
    return (size + 2 * p - span) // s + 1


def naive_pool(x, kernel, stride, padding, dilation, ceil_mode, kind, count_include_pad=True):
    """Loops over windows; max: first maximum in row-major order wins."""
    n, c, h, w = x.shape
    oh = out_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = out_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    out = np.zeros((n, c, oh, ow))
    arg = np.zeros((n, c, oh, ow), dtype=np.int64)
    for y in range(oh):
        for z in range(ow):
            best = np.full((n, c), -np.inf)
            where = np.zeros((n, c), dtype=np.int64)
            total = np.zeros((n, c))
            inside_padded = 0
            inside_real = 0
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    r = y * stride[0] + i * dilation[0] - padding[0]
                    q = z * stride[1] + j * dilation[1] - padding[1]
                    if -padding[0] <= r < h + padding[0] and -padding[1] <= q < w + padding[1]:
                        inside_padded += 1
                    if 0 <= r < h and 0 <= q < w:
                        inside_real += 1
                        v = x[:, :, r, q]
                        better = v > best
                        best = np.where(better, v, best)
                        where = np.where(better, r * w + q, where)
                        total += v
            if kind == "max":
                out[:, :, y, z], arg[:, :, y, z] = best, where
            else:
                out[:, :, y, z] = total / (inside_padded if count_include_pad else inside_real)
    return out, arg


@st.composite
def pool_configs(draw, max_dilation=2, allow_ceil=True):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = (draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation)))
    ceil_mode = draw(st.booleans()) if allow_ceil else False
    sizes = []
    for a in range(2):
        span = dilation[a] * (kernel[a] - 1) + 1
        sizes.append(draw(st.integers(max(1, span - 2 * padding[a]), 7)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(sizes)
    return dict(shape=shape, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode)


def distinct(shape, seed):
    """Values with no ties (a random permutation), so the max is unique."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0


# ---------------------------------------------------------------------- routing
def test_max_pool_gradient_goes_to_the_max_only():
    x = t64([[[[1, 5, 2, 0],
               [3, 4, 8, 1],
               [0, 2, 6, 7],
               [9, 1, 3, 2]]]], requires_grad=True)
    out = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(out._data, [[[[5, 8], [9, 7]]]])
    out.backward(t64([[[[10, 20], [30, 40]]]]))
    np.testing.assert_array_equal(x.grad._data, [[[[0, 10, 0, 0],
                                                  [0, 0, 20, 0],
                                                  [0, 0, 0, 40],
                                                  [30, 0, 0, 0]]]])


def test_max_pool_overlapping_windows_accumulate():
    x = t64([[[[1, 2, 3],
               [4, 9, 5],
               [6, 7, 8]]]], requires_grad=True)
    out = F.max_pool2d(x, 2, stride=1)  # the 9 is the max of all four windows
    np.testing.assert_array_equal(out._data, [[[[9, 9], [9, 9]]]])
    out.backward(t64([[[[1, 2], [3, 4]]]]))
    np.testing.assert_array_equal(x.grad._data, [[[[0, 0, 0], [0, 10, 0], [0, 0, 0]]]])


def test_max_pool_ties_go_to_the_first_max_in_row_major_order():
    x = t64(np.zeros((1, 1, 4, 4)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[0::2, 0::2] = 1
    np.testing.assert_array_equal(x.grad._data[0, 0], expected)
    # (0, 1) and (1, 0) tie above (0, 0): row-major order picks (0, 1)
    x = t64([[[[0, 5], [5, 5]]]], requires_grad=True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    out.backward()
    np.testing.assert_array_equal(x.grad._data, [[[[0, 1], [0, 0]]]])
    assert idx._data.item() == 1


def test_avg_pool_spreads_the_gradient_evenly():
    x = t64(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    out = F.avg_pool2d(x, 2)
    np.testing.assert_allclose(out._data, [[[[2.5, 4.5], [10.5, 12.5]]]])
    out.backward(t64([[[[4, 8], [12, 16]]]]))
    np.testing.assert_allclose(x.grad._data, [[[[1, 1, 2, 2], [1, 1, 2, 2],
                                               [3, 3, 4, 4], [3, 3, 4, 4]]]])
    y = t64(np.ones((1, 1, 3, 3)), requires_grad=True)
    F.avg_pool2d(y, 2, stride=1).sum().backward()  # overlapping: 1/4 per window covering
    np.testing.assert_allclose(y.grad._data[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5],
                                                   [0.25, 0.5, 0.25]])


def test_padding_is_minus_infinity_for_max_and_zero_for_avg():
    x = t64(-np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(F.max_pool2d(x, 2, stride=1, padding=1)._data,
                                  -np.ones((1, 1, 3, 3)))
    np.testing.assert_allclose(F.avg_pool2d(x, 2, stride=1, padding=1)._data[0, 0, 0, 0], -0.25)
    np.testing.assert_allclose(
        F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)._data,
        -np.ones((1, 1, 3, 3)))


# ---------------------------------------------------------------------- properties
@given(cfg=pool_configs(), seed=st.integers(0, 2**16))
def test_max_pool_matches_loops(cfg, seed):
    x = distinct(cfg["shape"], seed)
    args = (cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"], cfg["ceil_mode"])
    out, idx = F.max_pool2d(t64(x), *args, return_indices=True)
    ref, ref_idx = naive_pool(x, *args, "max")
    assume(np.isfinite(ref).all())  # (a dilated window can fall entirely in the padding)
    np.testing.assert_array_equal(out._data, ref)
    np.testing.assert_array_equal(idx._data, ref_idx)


@given(cfg=pool_configs(max_dilation=1), seed=st.integers(0, 2**16),
       count_include_pad=st.booleans())
def test_avg_pool_matches_loops(cfg, seed, count_include_pad):
    x = np.random.default_rng(seed).standard_normal(cfg["shape"])
    args = (cfg["kernel"], cfg["stride"], cfg["padding"])
    out = F.avg_pool2d(t64(x), *args, ceil_mode=cfg["ceil_mode"],
                       count_include_pad=count_include_pad)
    ref, _ = naive_pool(x, *args, (1, 1), cfg["ceil_mode"], "avg", count_include_pad)
    np.testing.assert_allclose(out._data, ref, rtol=1e-12, atol=1e-12)


@given(cfg=pool_configs(), seed=st.integers(0, 2**16))
def test_max_pool_gradcheck(cfg, seed):
    x = t64(distinct(cfg["shape"], seed), requires_grad=True)
    args = (cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"], cfg["ceil_mode"])
    assume(np.isfinite(F.max_pool2d(x, *args)._data).all())
    assert A.gradcheck(lambda x: F.max_pool2d(x, cfg["kernel"], cfg["stride"], cfg["padding"],
                                              cfg["dilation"], cfg["ceil_mode"]), (x,))


@given(cfg=pool_configs(max_dilation=1), seed=st.integers(0, 2**16),
       count_include_pad=st.booleans())
def test_avg_pool_gradcheck(cfg, seed, count_include_pad):
    x = t64(np.random.default_rng(seed).standard_normal(cfg["shape"]), requires_grad=True)
    assert A.gradcheck(lambda x: F.avg_pool2d(x, cfg["kernel"], cfg["stride"], cfg["padding"],
                                              cfg["ceil_mode"], count_include_pad), (x,))


def test_pool_second_derivatives():
    x = t64(distinct((1, 2, 5, 5), 0), requires_grad=True)
    assert A.gradgradcheck(lambda x: (F.max_pool2d(x, 3, stride=2, padding=1) ** 2), (x,))
    assert A.gradgradcheck(lambda x: (F.avg_pool2d(x, 3, stride=2, padding=1,
                                                   ceil_mode=True) ** 2), (x,))
    assert A.gradgradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 3)) ** 2, (x,))


@given(h=st.integers(1, 7), w=st.integers(1, 7), oh=st.integers(1, 4), ow=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_adaptive_avg_pool_bins(h, w, oh, ow, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, h, w))
    out = F.adaptive_avg_pool2d(t64(x), (oh, ow))
    ref = np.zeros((2, 2, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
            c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            ref[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    np.testing.assert_allclose(out._data, ref, rtol=1e-12, atol=1e-12)
    xt = t64(x, requires_grad=True)
    assert A.gradcheck(lambda t: F.adaptive_avg_pool2d(t, (oh, ow)), (xt,))


def _python_lines(fn):
    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in (S.__file__, pooling.__file__) else None
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count[0]


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pools_do_no_python_work_per_window(kind):
    fn = getattr(F, f"{kind}_pool2d")

    def run(size):
        x = t64(distinct((2, 2, size, size), 1), requires_grad=True)
        return lambda: fn(x, 3, stride=2, padding=1).sum().backward()
    assert _python_lines(run(6)) == _python_lines(run(40))


def test_unbatched_and_1d_forms():
    x = distinct((2, 5, 6), 3)
    np.testing.assert_array_equal(F.max_pool2d(t64(x), 2)._data,
                                  F.max_pool2d(t64(x[None]), 2)._data[0])
    out, idx = F.max_pool2d(t64(x), 2, return_indices=True)
    assert out.shape == idx.shape == (2, 2, 3)
    y = distinct((2, 3, 9), 4)
    out = F.max_pool1d(t64(y), 3, stride=2, padding=1)
    np.testing.assert_array_equal(out._data, F.max_pool2d(t64(y[:, :, None]), (1, 3), (1, 2),
                                                         (0, 1))._data[:, :, 0])
    assert F.avg_pool1d(t64(y), 2).shape == (2, 3, 4)
    assert F.max_pool1d(t64(y[0]), 2).shape == (3, 4)


def test_dtype_and_nan_propagation():
    x = Tensor(np.ones((1, 1, 4, 4), np.float32))
    assert F.max_pool2d(x, 2).dtype == np.float32 and F.avg_pool2d(x, 2).dtype == np.float32
    z = np.zeros((1, 1, 2, 2))
    z[0, 0, 1, 0] = np.nan
    zt = t64(z, requires_grad=True)
    out = F.max_pool2d(zt, 2)
    assert np.isnan(out._data).all()  # NaN propagates, as in PyTorch
    out.backward(t64(np.ones((1, 1, 1, 1))))
    np.testing.assert_array_equal(zt.grad._data[0, 0], [[0, 0], [1, 0]])


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("fn,args,kwargs,exc,match", [
    ("max_pool2d", (3,), dict(padding=2), RuntimeError,
     r"max_pool2d: padding \(2, 2\) should be at most half of kernel_size \(3, 3\)"),
    ("avg_pool2d", ((2, 4),), dict(padding=(1, 3)), RuntimeError, "at most half of kernel_size"),
    ("max_pool2d", (0,), {}, RuntimeError, r"kernel_size must be positive, got kernel_size=\(0, 0\)"),
    ("max_pool2d", (2,), dict(stride=0), RuntimeError, "stride must be positive"),
    ("max_pool2d", (2,), dict(dilation=0), RuntimeError, "dilation must be positive"),
    ("max_pool2d", (2,), dict(padding=-1), RuntimeError, "padding must be non-negative"),
    ("max_pool2d", (5,), {}, RuntimeError,
     r"max_pool2d: output size \(0, 0\) is too small: input \(1, 1, 3, 3\) with kernel_size "
     r"\(5, 5\)"),
    ("avg_pool2d", (4,), {}, RuntimeError, r"avg_pool2d: output size \(0, 0\) is too small"),
    ("avg_pool2d", (2,), dict(divisor_override=0), RuntimeError, "divisor must be not zero"),
])
def test_pool_errors(fn, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        getattr(F, fn)(t64(np.zeros((1, 1, 3, 3))), *args, **kwargs)


def test_pool_input_rank_errors():
    with pytest.raises(RuntimeError, match=r"max_pool2d: expected a 3-D \(unbatched\) or 4-D "
                                           r"\(batched\) input, got input of shape \(3, 3\)"):
        F.max_pool2d(t64(np.zeros((3, 3))), 2)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be positive"):
        F.adaptive_avg_pool2d(t64(np.zeros((1, 1, 3, 3))), 0)


# ---------------------------------------------------------------------- against PyTorch
def _torch():
    return pytest.importorskip("torch")


TORCH_MAX = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 7, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 2, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1),
                        ceil_mode=True)),
    ((1, 1, 6, 5), dict(kernel_size=(2, 3), stride=(3, 2), dilation=(2, 1), ceil_mode=True)),
    ((2, 2, 5, 5), dict(kernel_size=2, stride=1)),
    ((1, 2, 10, 10), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
]


@pytest.mark.parametrize("shape,kwargs", TORCH_MAX)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_matches_torch(shape, kwargs, ties):
    torch = _torch()
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)
    ax, tx = t64(x, True), torch.tensor(x, requires_grad=True)
    out, idx = F.max_pool2d(ax, return_indices=True, **kwargs)
    ref, ref_idx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    np.testing.assert_array_equal(out._data, ref.detach().numpy())
    np.testing.assert_array_equal(idx._data, ref_idx.numpy())
    g = rng.standard_normal(ref.shape)
    out.backward(t64(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ax.grad._data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


TORCH_AVG = [
    ((2, 3, 8, 6), dict(kernel_size=2)),
    ((1, 2, 5, 5), dict(kernel_size=3, stride=1, padding=1)),
    ((1, 2, 5, 5), dict(kernel_size=3, stride=1, padding=1, count_include_pad=False)),
    ((2, 3, 7, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 7, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ((1, 1, 6, 7), dict(kernel_size=(2, 3), stride=(3, 2), ceil_mode=True)),
    ((1, 2, 5, 6), dict(kernel_size=2, divisor_override=3)),
]


@pytest.mark.parametrize("shape,kwargs", TORCH_AVG)
def test_avg_pool2d_matches_torch(shape, kwargs):
    torch = _torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    ax, tx = t64(x, True), torch.tensor(x, requires_grad=True)
    out = F.avg_pool2d(ax, **kwargs)
    ref = torch.nn.functional.avg_pool2d(tx, **kwargs)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(ref.shape)
    out.backward(t64(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ax.grad._data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,size", [((2, 3, 5, 7), (2, 3)), ((2, 3, 5, 7), 1),
                                        ((1, 2, 6, 4), (3, 2)), ((1, 2, 3, 3), (5, 4)),
                                        ((1, 2, 6, 6), (None, 4))])
def test_adaptive_avg_pool2d_matches_torch(shape, size):
    torch = _torch()
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    ax, tx = t64(x, True), torch.tensor(x, requires_grad=True)
    out = F.adaptive_avg_pool2d(ax, size)
    ref = torch.nn.functional.adaptive_avg_pool2d(tx, size)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(ref.shape)
    out.backward(t64(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ax.grad._data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_pool1d_matches_torch():
    torch = _torch()
    x = np.random.default_rng(3).standard_normal((2, 3, 11))
    for kwargs in (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, ceil_mode=True)):
        out, idx = F.max_pool1d(t64(x), return_indices=True, **kwargs)
        ref, ref_idx = torch.nn.functional.max_pool1d(torch.tensor(x), return_indices=True,
                                                      **kwargs)
        np.testing.assert_array_equal(out._data, ref.numpy())
        np.testing.assert_array_equal(idx._data, ref_idx.numpy())
        np.testing.assert_allclose(F.avg_pool1d(t64(x), **kwargs)._data,
                                   torch.nn.functional.avg_pool1d(torch.tensor(x),
                                                                  **kwargs).numpy(), rtol=1e-12)
