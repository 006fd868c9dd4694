"""Convolution: F.conv1d / conv2d / conv_transpose1d / conv_transpose2d and the two spatial
primitives under them (autograd.ops.Unfold = im2col, autograd.ops.Fold = col2im).

* the course's worked examples, exactly;
* conv2d against a naive loop reference; output sizes floor like PyTorch;
* property-based gradient checks (float64, central differences) over randomly drawn
  valid configurations: stride, padding (ints, pairs, 'same', 'valid'), dilation, groups,
  non-square kernels and inputs, with and without bias; one second-derivative check;
* conv_transpose2d is the gradient of conv2d with respect to its input; unfold and fold
  are adjoint (<unfold(x), y> = <x, fold(y)>) in every layout;
* every bad input gives an error naming the function, the parameter and the shapes;
* differential tests against PyTorch (skipped when it is not installed).
"""
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as A
from autograd import Tensor
from autograd import ops as O
from autograd.ops import spatial as S
import nn.functional as F


def t64(a, requires_grad=False):
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def naive_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """Direct loops over every output element (the definition)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    t, bt, l, r = padding
    xp = np.zeros((n, c, h + t + bt, wd + l + r))
    xp[:, :, t:t + h, l:l + wd] = x
    oh = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    og = o // groups
    out = np.zeros((n, o, oh, ow))
    for ni in range(n):
        for oc in range(o):
            g = oc // og
            for y in range(oh):
                for z in range(ow):
                    acc = 0.0 if b is None else b[oc]
                    for ci in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                acc += (w[oc, ci, i, j] *
                                        xp[ni, g * cg + ci, y * stride[0] + i * dilation[0],
                                           z * stride[1] + j * dilation[1]])
                    out[ni, oc, y, z] = acc
    return out


# ---------------------------------------------------------------------- worked examples
COURSE_X = np.array([
    [[1, -2, 2, 2], [2, 1, 3, -2], [-2, 3, -3, 1], [-1, 2, -4, 2]],
    [[3, 0, 0, 0], [-2, -2, 1, -1], [2, -1, 3, 1], [5, -2, 0, 1]],
], dtype=np.float64)[None]


def course_weight():
    w = np.zeros((2, 2, 2, 2))
    w[0, 0] = [[1, -2], [-2, 1]]
    w[1, 0] = [[3, 1], [2, 2]]
    w[0, 1] = [[1, 0], [0, 1]]
    w[1, 1] = [[0, 0], [0, 4]]
    return w


def test_course_two_channel_example():
    out = F.conv2d(t64(COURSE_X), t64(course_weight()), t64([0.1, 0.2]))
    assert out.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(out._data[0, 0], [[3.1, -3.9, -10.9], [4.1, -12.9, 16.1],
                                                [-3.9, 0.1, 9.1]], atol=1e-12)
    np.testing.assert_allclose(out._data[0, 1], [[-0.8, 8.2, 6.2], [5.2, 18.2, 7.2],
                                                [-8.8, 2.2, -7.8]], atol=1e-12)


def test_course_example_float32_and_unbatched():
    out = F.conv2d(Tensor(COURSE_X[0].astype(np.float32)),
                   Tensor(course_weight().astype(np.float32)),
                   Tensor(np.array([0.1, 0.2], np.float32)))
    assert out.shape == (2, 3, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out._data[1, 1], [5.2, 18.2, 7.2], rtol=1e-6)


def test_course_1d_backward():
    """I = [1, 2, 3, 4], W = [1, 2, 3], dL/dO = [1, 2]: dL/dW = correlation(I, dL/dO) =
    [5, 8, 11]; dL/dI = full convolution of dL/dO with the flipped kernel = [1, 4, 7, 6]."""
    i = t64([[[1, 2, 3, 4]]], requires_grad=True)
    w = t64([[[1, 2, 3]]], requires_grad=True)
    out = F.conv1d(i, w)
    np.testing.assert_allclose(out._data, [[[14, 20]]])
    out.backward(t64([[[1, 2]]]))
    np.testing.assert_allclose(w.grad._data, [[[5, 8, 11]]])
    np.testing.assert_allclose(i.grad._data, [[[1, 4, 7, 6]]])


def test_course_1d_backward_through_unfold_and_fold():
    """The same numbers from the primitives: cols = unfold(I); dW = dO · colsᵀ;
    dI = fold(Wᵀ·dO)."""
    i = t64(np.array([1, 2, 3, 4]).reshape(1, 1, 1, 4), requires_grad=True)
    cols = O.Unfold.apply(i, kernel=(1, 3), stride=(1, 1), padding=(0, 0, 0, 0),
                          dilation=(1, 1), layout="ckn")  # (C, kh, kw, N, OH, OW)
    assert cols.shape == (1, 1, 3, 1, 1, 2)
    np.testing.assert_allclose(cols._data.reshape(3, 2), [[1, 2], [2, 3], [3, 4]])
    dout = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(dout @ cols._data.reshape(3, 2).T, [[5, 8, 11]])
    dcols = np.array([[1.0], [2.0], [3.0]]) @ dout
    di = O.Fold.apply(Tensor(dcols.reshape(1, 1, 3, 1, 1, 2)), output_size=(1, 4),
                      kernel=(1, 3), stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                      layout="ckn")
    np.testing.assert_allclose(di._data.reshape(4), [1, 4, 7, 6])


# ---------------------------------------------------------------------- configurations
@st.composite
def conv_configs(draw, max_side=6):
    """A valid conv2d configuration with tiny sizes (and its arguments as a user writes them)."""
    groups = draw(st.sampled_from([1, 1, 2]))
    cg = draw(st.integers(1, 2))
    og = draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    mode = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    if mode == "same":
        stride = 1
        padding = "same"
        pads = tuple(v for k, d in ((kh, dh), (kw, dw))
                     for v in (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2))
    else:
        stride = draw(st.sampled_from([1, 2, (1, 2), (2, 1), 3]))
        if mode == "valid":
            padding, pads = "valid", (0, 0, 0, 0)
        elif mode == "int":
            p = draw(st.integers(0, 2))
            padding, pads = p, (p, p, p, p)
        else:
            p = (draw(st.integers(0, 2)), draw(st.integers(0, 1)))
            padding, pads = p, (p[0], p[0], p[1], p[1])
    # input just large enough for the (dilated) kernel to fit in the padded input
    min_h = max(1, dh * (kh - 1) + 1 - pads[0] - pads[1])
    min_w = max(1, dw * (kw - 1) + 1 - pads[2] - pads[3])
    h = draw(st.integers(min_h, max(min_h, max_side)))
    w = draw(st.integers(min_w, max(min_w, max_side)))
    n = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    s = (stride, stride) if isinstance(stride, int) else stride
    return dict(x_shape=(n, cg * groups, h, w), w_shape=(og * groups, cg, kh, kw), bias=bias,
                stride=stride, padding=padding, dilation=(dh, dw), groups=groups,
                s=s, pads=pads)


def make_inputs(cfg, rng, requires_grad=True):
    x = t64(rng.standard_normal(cfg["x_shape"]), requires_grad)
    w = t64(rng.standard_normal(cfg["w_shape"]), requires_grad)
    b = t64(rng.standard_normal(cfg["w_shape"][0]), requires_grad) if cfg["bias"] else None
    return x, w, b


def call(cfg, x, w, b=None):
    return F.conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])


@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_conv2d_matches_naive_loops(cfg, seed):
    x, w, b = make_inputs(cfg, np.random.default_rng(seed), requires_grad=False)
    out = call(cfg, x, w, b)
    ref = naive_conv2d(x._data, w._data, None if b is None else b._data, cfg["s"], cfg["pads"],
                       cfg["dilation"], cfg["groups"])
    assert out.shape == ref.shape
    np.testing.assert_allclose(out._data, ref, rtol=1e-10, atol=1e-10)


@given(cfg=conv_configs(max_side=5), seed=st.integers(0, 2**16))
def test_conv2d_gradcheck(cfg, seed):
    x, w, b = make_inputs(cfg, np.random.default_rng(seed))
    inputs = (x, w) if b is None else (x, w, b)
    assert A.gradcheck(lambda *a: call(cfg, *a), inputs)


@given(n=st.integers(1, 2), c=st.integers(1, 3), size=st.integers(1, 9), k=st.integers(1, 4),
       s=st.integers(1, 3), p=st.integers(0, 3), d=st.integers(1, 3))
def test_output_size_floors_like_pytorch(n, c, size, k, s, p, d):
    span = d * (k - 1) + 1
    x = Tensor(np.zeros((n, c, size, size + 1)))
    w = Tensor(np.zeros((2, c, k, k)))
    if span > size + 2 * p:
        with pytest.raises(RuntimeError, match="larger than the padded input"):
            F.conv2d(x, w, stride=s, padding=p, dilation=d)
        return
    out = F.conv2d(x, w, stride=s, padding=p, dilation=d)
    expected = ((size + 2 * p - d * (k - 1) - 1) // s + 1,
                (size + 1 + 2 * p - d * (k - 1) - 1) // s + 1)
    assert out.shape == (n, 2) + expected


def test_same_padding_keeps_size_even_kernel_and_dilation():
    rng = np.random.default_rng(0)
    for k, d in [(2, 1), (4, 1), (3, 2), (2, 3)]:
        x = t64(rng.standard_normal((1, 2, 5, 6)))
        w = t64(rng.standard_normal((3, 2, k, k)))
        out = F.conv2d(x, w, padding="same", dilation=d)
        assert out.shape == (1, 3, 5, 6)
        total = d * (k - 1)  # extra element of an odd total goes to the end, as in PyTorch
        ref = naive_conv2d(x._data, w._data, padding=(total // 2, total - total // 2) * 2,
                           dilation=(d, d))
        np.testing.assert_allclose(out._data, ref, atol=1e-12)


def test_gradgradcheck_through_conv2d():
    rng = np.random.default_rng(3)
    x = t64(rng.standard_normal((1, 2, 4, 5)), True)
    w = t64(rng.standard_normal((2, 1, 2, 3)), True)
    b = t64(rng.standard_normal(2), True)
    assert A.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1,
                                                    groups=2).tanh(), (x, w, b))


def test_gradgradcheck_through_conv_transpose2d():
    rng = np.random.default_rng(4)
    x = t64(rng.standard_normal((1, 2, 3, 2)), True)
    w = t64(rng.standard_normal((2, 2, 2, 2)), True)
    assert A.gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1,
                                                           output_padding=1).tanh(), (x, w))


def test_conv1d_gradcheck_and_same_padding():
    rng = np.random.default_rng(5)
    x = t64(rng.standard_normal((2, 4, 7)), True)
    w = t64(rng.standard_normal((6, 2, 3)), True)
    b = t64(rng.standard_normal(6), True)
    assert A.gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2,
                                                groups=2), (x, w, b))
    assert F.conv1d(x, w, b, padding="same", groups=2).shape == (2, 6, 7)
    assert F.conv1d(Tensor(x._data[0]), w, b, groups=2).shape == (6, 5)  # unbatched


# ---------------------------------------------------------------------- adjoints
@st.composite
def transpose_configs(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin_g, cout_g = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    op = tuple(draw(st.integers(0, max(s_, d_) - 1)) for s_, d_ in zip(s, d))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    # keep the output size positive
    max_p = [((size - 1) * s_ + d_ * (k - 1) + o) // 2
             for size, s_, d_, k, o in zip((h, w), s, d, (kh, kw), op)]
    p = tuple(draw(st.integers(0, min(2, m))) for m in max_p)
    return dict(x_shape=(draw(st.integers(1, 2)), cin_g * groups, h, w),
                w_shape=(cin_g * groups, cout_g, kh, kw), stride=s, padding=p,
                output_padding=op, groups=groups, dilation=d)


@given(cfg=transpose_configs(), seed=st.integers(0, 2**16))
def test_conv_transpose2d_is_the_input_gradient_of_conv2d(cfg, seed):
    rng = np.random.default_rng(seed)
    y = t64(rng.standard_normal(cfg["x_shape"]))
    w = t64(rng.standard_normal(cfg["w_shape"]))
    out = F.conv_transpose2d(y, w, None, cfg["stride"], cfg["padding"], cfg["output_padding"],
                             cfg["groups"], cfg["dilation"])
    # conv2d maps out-shaped inputs to y-shaped outputs with the same weight (when
    # output_padding >= stride, conv2d has extra windows at the end: they are not in y)
    x = t64(np.zeros(out.shape), requires_grad=True)
    z = F.conv2d(x, w, None, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])
    z = z[:, :, :y.shape[2], :y.shape[3]]
    assert z.shape == y.shape
    (gx,) = A.grad(z, x, grad_outputs=y)
    np.testing.assert_allclose(out._data, gx._data, rtol=1e-10, atol=1e-10)


@given(cfg=transpose_configs(), seed=st.integers(0, 2**16), bias=st.booleans())
def test_conv_transpose2d_gradcheck(cfg, seed, bias):
    rng = np.random.default_rng(seed)
    y = t64(rng.standard_normal(cfg["x_shape"]), True)
    w = t64(rng.standard_normal(cfg["w_shape"]), True)
    b = t64(rng.standard_normal(cfg["w_shape"][1] * cfg["groups"]), True) if bias else None
    args = (y, w) if b is None else (y, w, b)

    def fn(y, w, b=None):
        return F.conv_transpose2d(y, w, b, cfg["stride"], cfg["padding"], cfg["output_padding"],
                                  cfg["groups"], cfg["dilation"])
    assert A.gradcheck(fn, args)


@st.composite
def window_geometries(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(4))
    sizes = []
    for axis in range(2):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        lo = max(1, span - padding[2 * axis] - padding[2 * axis + 1])
        sizes.append(draw(st.integers(lo, lo + 4)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + tuple(sizes)
    return shape, kernel, stride, padding, dilation


@given(geom=window_geometries(), layout=st.sampled_from(["nck", "ckn", "ckl", "kcn"]),
       seed=st.integers(0, 2**16))
def test_unfold_and_fold_are_adjoint(geom, layout, seed):
    shape, kernel, stride, padding, dilation = geom
    rng = np.random.default_rng(seed)
    x = t64(rng.standard_normal(shape))
    attrs = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation, layout=layout)
    cols = O.Unfold.apply(x, **attrs)
    y = rng.standard_normal(cols.shape)
    back = O.Fold.apply(t64(y), output_size=shape[2:], **attrs)
    assert back.shape == shape
    np.testing.assert_allclose(np.sum(cols._data * y), np.sum(x._data * back._data), rtol=1e-10)
    # and the window view itself: cols[n, c, i, j, oh, ow] = xpad[n, c, oh·S + i·D, ow·S + j·D]
    t, b, l, r = padding
    xp = np.pad(x._data, ((0, 0), (0, 0), (t, b), (l, r)))
    canon = cols._data.transpose(np.argsort(S._LAYOUTS[layout]))
    n, c, kh, kw, oh, ow = canon.shape
    i, j = kh - 1, kw - 1
    np.testing.assert_array_equal(
        canon[:, :, i, j],
        xp[:, :, i * dilation[0]:i * dilation[0] + stride[0] * (oh - 1) + 1:stride[0],
           j * dilation[1]:j * dilation[1] + stride[1] * (ow - 1) + 1:stride[1]])


@given(geom=window_geometries(), layout=st.sampled_from(["nck", "ckn", "ckl", "kcn"]),
       seed=st.integers(0, 2**16))
def test_unfold_fold_gradients(geom, layout, seed):
    shape, kernel, stride, padding, dilation = geom
    rng = np.random.default_rng(seed)
    attrs = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation, layout=layout)
    x = t64(rng.standard_normal(shape), True)
    assert A.gradcheck(lambda x: O.Unfold.apply(x, **attrs), (x,))
    cols = O.Unfold.apply(x, **attrs)
    y = t64(rng.standard_normal(cols.shape), True)
    assert A.gradcheck(lambda y: O.Fold.apply(y, output_size=shape[2:], **attrs), (y,))


def test_functional_unfold_fold_layout_and_roundtrip():
    x = t64(np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5))
    cols = F.unfold(x, (2, 3), padding=1, stride=(1, 2))
    assert cols.shape == (2, 3 * 2 * 3, 5 * 3)
    # fold(unfold(x)) multiplies each pixel by the number of windows covering it
    ones = F.fold(F.unfold(t64(np.ones(x.shape)), (2, 3), padding=1, stride=(1, 2)), (4, 5),
                  (2, 3), padding=1, stride=(1, 2))
    np.testing.assert_allclose(F.fold(cols, (4, 5), (2, 3), padding=1, stride=(1, 2))._data,
                               x._data * ones._data)
    assert F.unfold(Tensor(x._data[0]), 2).shape == (12, 12)  # unbatched


def test_conv_primitives_in_the_graph():
    x = t64(np.ones((1, 1, 3, 3)), True)
    w = t64(np.ones((1, 1, 2, 2)), True)
    out = F.conv2d(x, w)
    names = [n.name for n in A.topological_order([out.grad_fn]) if isinstance(n, A.Context)]
    assert "Unfold" in names and "MatMulAdd" in names  # the product (and bias, if any)
    out.sum().backward()
    np.testing.assert_allclose(x.grad._data, [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]])


def _python_lines(fn):
    """Number of Python lines executed inside autograd/ops/spatial.py while running fn."""
    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == S.__file__ else None
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count[0]


@pytest.mark.parametrize("stride", [(1, 1), (2, 3)])
def test_fold_and_unfold_do_no_python_work_per_output_position(stride):
    """One strided add per kernel offset: the Python work is the same for a 3x3 grid of
    windows as for a 30x30 one (no loop over positions, no per-element np.add.at)."""
    def run(size):
        x = Tensor(np.ones((2, 3, size * stride[0] + 2, size * stride[1] + 2)))
        attrs = dict(kernel=(3, 3), stride=stride, padding=(1, 1, 0, 2), dilation=(1, 1))
        cols = O.Unfold.apply(x, **attrs, layout="ckn")
        return lambda: O.Fold.apply(cols, output_size=x.shape[2:], **attrs, layout="ckn")
    small, large = run(3), run(30)
    assert _python_lines(small) == _python_lines(large)
    out = O.Fold.apply(Tensor(np.ones((2, 3, 3, 3, 30, 30))), output_size=(32, 32),
                       kernel=(3, 3), stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1))
    assert out._data[0, 0, 10, 10] == 9 and out._data[0, 0, 0, 0] == 1 and out._data[0, 0, 0, 1] == 2


def test_dtype_is_preserved():
    x = Tensor(np.ones((1, 2, 5, 5), np.float32), requires_grad=True)
    w = Tensor(np.ones((3, 2, 3, 3), np.float32), requires_grad=True)
    out = F.conv2d(x, w, Tensor(np.zeros(3, np.float32)), padding=1)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    assert F.conv_transpose2d(x, Tensor(np.ones((2, 3, 3, 3), np.float32))).dtype == np.float32


# ---------------------------------------------------------------------- errors
def test_channel_mismatch_message():
    x = Tensor(np.zeros((1, 3, 5, 5)))
    w = Tensor(np.zeros((2, 4, 3, 3)))
    with pytest.raises(RuntimeError) as e:
        F.conv2d(x, w)
    assert str(e.value) == ("conv2d: weight (2, 4, 3, 3) with groups=1 expects 4 input "
                            "channels, got input (1, 3, 5, 5)")


@pytest.mark.parametrize("kwargs,x_shape,w_shape,exc,match", [
    (dict(groups=2), (1, 3, 5, 5), (2, 1, 3, 3), RuntimeError,
     r"input \(1, 3, 5, 5\) has 3 channels, which is not divisible by groups=2"),
    (dict(groups=2), (1, 4, 5, 5), (3, 2, 3, 3), RuntimeError,
     r"weight \(3, 2, 3, 3\) has 3 output channels, which is not divisible by groups=2"),
    (dict(groups=0), (1, 4, 5, 5), (2, 4, 3, 3), RuntimeError, "groups must be a positive int"),
    (dict(stride=0), (1, 1, 5, 5), (1, 1, 3, 3), RuntimeError, r"stride must be positive.*\(0, 0\)"),
    (dict(stride=(1, -1)), (1, 1, 5, 5), (1, 1, 3, 3), RuntimeError, "stride must be positive"),
    (dict(dilation=0), (1, 1, 5, 5), (1, 1, 3, 3), RuntimeError, "dilation must be positive"),
    (dict(padding=-1), (1, 1, 5, 5), (1, 1, 3, 3), RuntimeError, "padding must be non-negative"),
    (dict(padding="full"), (1, 1, 5, 5), (1, 1, 3, 3), RuntimeError, "'valid', 'same'"),
    (dict(padding="same", stride=2), (1, 1, 5, 5), (1, 1, 3, 3), RuntimeError, "strided"),
    (dict(stride=(1, 2, 3)), (1, 1, 5, 5), (1, 1, 3, 3), RuntimeError,
     "stride must be an int or a tuple of 2 ints"),
    ({}, (1, 1, 2, 2), (1, 1, 3, 3), RuntimeError,
     r"conv2d: kernel size \(3, 3\) with dilation \(1, 1\) spans \(3, 3\), larger than the "
     r"padded input \(2, 2\) \(input \(1, 1, 2, 2\)"),
    (dict(dilation=3), (1, 1, 5, 6), (1, 1, 3, 2), RuntimeError,
     r"kernel size \(3, 2\) with dilation \(3, 3\) spans \(7, 4\), larger than the padded "
     r"input \(5, 6\)"),
    ({}, (2, 5, 5), (1, 1, 3, 3), RuntimeError, r"weight \(1, 1, 3, 3\) with groups=1 expects 1 "
     r"input channels, got input \(2, 5, 5\)"),
    ({}, (5, 5), (1, 1, 3, 3), RuntimeError,
     r"expected a 3-D \(unbatched\) or 4-D \(batched\) input, got input of shape \(5, 5\)"),
    ({}, (1, 1, 5, 5), (1, 3, 3), RuntimeError, r"weight must be 4-D.*got weight of shape"),
])
def test_conv2d_errors(kwargs, x_shape, w_shape, exc, match):
    x, w = Tensor(np.zeros(x_shape)), Tensor(np.zeros(w_shape))
    with pytest.raises(exc, match=match):
        F.conv2d(x, w, **kwargs)


def test_bias_shape_error():
    with pytest.raises(RuntimeError, match=r"conv2d: bias of shape \(3,\) does not match the 2 "
                                           r"output channels of weight \(2, 1, 3, 3\)"):
        F.conv2d(Tensor(np.zeros((1, 1, 5, 5))), Tensor(np.zeros((2, 1, 3, 3))),
                 Tensor(np.zeros(3)))


def test_conv1d_and_transpose_errors():
    with pytest.raises(RuntimeError, match=r"conv1d: weight \(2, 3, 3\) with groups=1 expects 3 "
                                           r"input channels, got input \(1, 2, 8\)"):
        F.conv1d(Tensor(np.zeros((1, 2, 8))), Tensor(np.zeros((2, 3, 3))))
    with pytest.raises(RuntimeError, match=r"conv_transpose2d: weight \(3, 2, 3, 3\) with groups=1 "
                                           r"expects 3 input channels, got input \(1, 2, 4, 4\)"):
        F.conv_transpose2d(Tensor(np.zeros((1, 2, 4, 4))), Tensor(np.zeros((3, 2, 3, 3))))
    with pytest.raises(ValueError, match="output_padding .* must be smaller than either stride"):
        F.conv_transpose2d(Tensor(np.zeros((1, 2, 4, 4))), Tensor(np.zeros((2, 2, 3, 3))),
                           stride=2, output_padding=2)
    with pytest.raises(RuntimeError,
                       match=r"conv_transpose2d: output size \(-1, -1\) is too small"):
        F.conv_transpose2d(Tensor(np.zeros((1, 2, 1, 1))), Tensor(np.zeros((2, 2, 1, 1))),
                           padding=1)


def test_unfold_fold_errors():
    with pytest.raises(RuntimeError, match=r"fold: input \(1, 8, 5\) has 5 columns, but "
                                           r"output_size \(3, 3\)"):
        F.fold(Tensor(np.zeros((1, 8, 5))), (3, 3), 2)
    with pytest.raises(RuntimeError, match=r"dimension 1 \(7\) must be divisible by the kernel "
                                           r"area 4"):
        F.fold(Tensor(np.zeros((1, 7, 4))), (3, 3), 2)
    with pytest.raises(RuntimeError, match="unfold: kernel size"):
        F.unfold(Tensor(np.zeros((1, 1, 2, 2))), 3)
    with pytest.raises(ValueError, match="do not fit"):
        O.Unfold.apply(Tensor(np.zeros((1, 1, 4, 4))), kernel=(2, 2), stride=(1, 1),
                       padding=(0, 0, 0, 0), dilation=(1, 1), grid=(4, 4))


# ---------------------------------------------------------------------- against PyTorch
def _torch():
    return pytest.importorskip("torch")


TORCH_CONV = [
    # x shape, w shape, kwargs
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=1, padding=1)),
    ((2, 4, 9, 8), (6, 2, 3, 3), dict(stride=2, padding=(1, 2), dilation=2, groups=2)),
    ((1, 2, 6, 7), (3, 2, 4, 4), dict(padding="same")),
    ((1, 2, 6, 7), (3, 2, 3, 2), dict(padding="same", dilation=(2, 3))),
    ((2, 3, 5, 5), (3, 1, 1, 1), dict(stride=2, groups=3)),
    ((1, 2, 5, 6), (2, 2, 3, 3), dict(padding="valid", stride=(2, 1))),
    ((3, 6, 10, 10), (4, 3, 5, 5), dict(padding=2, groups=2)),
]


@pytest.mark.parametrize("x_shape,w_shape,kwargs", TORCH_CONV)
def test_conv2d_matches_torch(x_shape, w_shape, kwargs):
    torch = _torch()
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    ax, aw, ab = t64(x, True), t64(w, True), t64(b, True)
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.conv2d(ax, aw, ab, **kwargs)
    ref = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(ref.shape)
    out.backward(t64(g))
    ref.backward(torch.tensor(g))
    for a, t in ((ax, tx), (aw, tw), (ab, tb)):
        np.testing.assert_allclose(a.grad._data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv2d_float32_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5, 12, 12)).astype(np.float32)
    w = rng.standard_normal((7, 5, 5, 5)).astype(np.float32)
    ax, aw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    out, ref = F.conv2d(ax, aw, padding=2), torch.nn.functional.conv2d(tx, tw, padding=2)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(ax.grad._data, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(aw.grad._data, tw.grad.numpy(), rtol=1e-4, atol=1e-3)


TORCH_CONV1D = [
    ((2, 4, 11), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    ((1, 2, 8), (3, 2, 4), dict(padding="same")),
    ((3, 3, 9), (2, 3, 2), dict(stride=3)),
]


@pytest.mark.parametrize("x_shape,w_shape,kwargs", TORCH_CONV1D)
def test_conv1d_matches_torch(x_shape, w_shape, kwargs):
    torch = _torch()
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), \
        rng.standard_normal(w_shape[0])
    ax, aw, ab = t64(x, True), t64(w, True), t64(b, True)
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.conv1d(ax, aw, ab, **kwargs)
    ref = torch.nn.functional.conv1d(tx, tw, tb, **kwargs)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(ref.shape)
    out.backward(t64(g))
    ref.backward(torch.tensor(g))
    for a, t in ((ax, tx), (aw, tw), (ab, tb)):
        np.testing.assert_allclose(a.grad._data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


TORCH_CONVT = [
    # x shape, w shape, kwargs
    ((2, 3, 4, 5), (3, 4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 3, 3), (4, 3, 2, 2), dict(groups=2, dilation=2)),
    ((1, 2, 3, 4), (2, 2, 3, 2), dict(stride=(3, 2), padding=(1, 0), output_padding=(2, 1))),
    ((1, 2, 3, 3), (2, 2, 3, 3), dict(dilation=2, output_padding=1)),  # op < dilation
    ((2, 6, 2, 3), (6, 1, 3, 3), dict(stride=2, groups=3, padding=1)),
]


@pytest.mark.parametrize("x_shape,w_shape,kwargs", TORCH_CONVT)
def test_conv_transpose2d_matches_torch(x_shape, w_shape, kwargs):
    torch = _torch()
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1] * kwargs.get("groups", 1))
    ax, aw, ab = t64(x, True), t64(w, True), t64(b, True)
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.conv_transpose2d(ax, aw, ab, **kwargs)
    ref = torch.nn.functional.conv_transpose2d(tx, tw, tb, **kwargs)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(ref.shape)
    out.backward(t64(g))
    ref.backward(torch.tensor(g))
    for a, t in ((ax, tx), (aw, tw), (ab, tb)):
        np.testing.assert_allclose(a.grad._data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv_transpose1d_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 4, 5)), rng.standard_normal((4, 3, 3)), \
        rng.standard_normal(6)
    kwargs = dict(stride=2, padding=1, output_padding=1, groups=2)
    out = F.conv_transpose1d(t64(x), t64(w), t64(b), **kwargs)
    ref = torch.nn.functional.conv_transpose1d(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                               **kwargs)
    np.testing.assert_allclose(out._data, ref.numpy(), rtol=1e-10, atol=1e-10)


def test_unfold_fold_match_torch():
    torch = _torch()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 6))
    args = dict(kernel_size=(3, 2), dilation=(2, 1), padding=1, stride=(2, 1))
    cols = F.unfold(t64(x), **args)
    ref = torch.nn.functional.unfold(torch.tensor(x), **args)
    np.testing.assert_array_equal(cols._data, ref.numpy())
    y = rng.standard_normal(ref.shape)
    np.testing.assert_allclose(F.fold(t64(y), (7, 6), **args)._data,
                               torch.nn.functional.fold(torch.tensor(y), (7, 6), **args).numpy(),
                               rtol=1e-12, atol=1e-12)
