"""The blocked im2col convolution (nn/conv_blocked.py) against the plain im2col path and
PyTorch: values and gradients, odd sizes, strides, dilations, asymmetric padding, batch 1,
non-contiguous input, float32 and float64, blocks of one or several rows (and a short
last block), second derivatives, the automatic choice and forcing it."""
import numpy as np
import pytest

import autograd as A
from autograd import Tensor
import nn.functional as F
from nn import conv_blocked as B

# (N, C, H, W), (O, kh, kw), stride, padding (top, bottom, left, right), dilation
CASES = [
    ((2, 3, 7, 9), (4, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    ((1, 5, 6, 5), (3, 2, 3), (1, 1), (0, 0, 0, 0), (1, 1)),       # batch 1, no padding
    ((3, 4, 9, 8), (5, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1)),       # LeNet-like
    ((2, 3, 11, 10), (2, 3, 3), (2, 1), (1, 0, 2, 1), (1, 1)),     # row stride, asymmetric
    ((2, 3, 10, 11), (2, 3, 2), (1, 2), (1, 1, 0, 1), (1, 1)),     # column stride
    ((2, 2, 12, 9), (3, 3, 3), (1, 1), (2, 2, 1, 1), (2, 1)),      # row dilation
    ((2, 2, 9, 12), (3, 3, 3), (1, 1), (1, 1, 2, 2), (1, 2)),      # column dilation
    ((2, 2, 13, 13), (3, 3, 3), (2, 2), (2, 2, 2, 2), (2, 2)),
    ((1, 1, 3, 3), (1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1)),       # one output pixel
]
ROWS = [1, 2, 3, 100]   # output rows per block: 1, several (fewer or more than the kernel), all


def _grid(x_shape, w_shape, stride, pads, dilation):
    return tuple((x_shape[2 + a] + pads[2 * a] + pads[2 * a + 1]
                  - dilation[a] * (w_shape[1 + a] - 1) - 1) // stride[a] + 1 for a in (0, 1))


def _blocked(x, w, b, stride, pads, dilation, rows):
    args = (x, w) if b is None else (x, w, b)
    grid = _grid(x.shape, w.shape[1:], stride, pads, dilation)
    return B.Conv2dBlocked.apply(*args, stride=stride, padding=pads, dilation=dilation,
                                 grid=grid, rows=min(rows, grid[0]))


def _plain(x, w, b, stride, pads, dilation):
    return F.conv2d(F.pad(x, (pads[2], pads[3], pads[0], pads[1])), w, b, stride,
                    dilation=dilation, algorithm="im2col")


def _grads(fn, x, w, b, g):
    tx, tw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    tb = None if b is None else Tensor(b, requires_grad=True)
    out = fn(tx, tw, tb)
    out.backward(Tensor(g))
    return [out._data] + [t.grad._data for t in (tx, tw, tb) if t is not None]


def _data(case, dtype, seed=0, bias=True):
    shape, (o, kh, kw), stride, pads, dilation = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1], kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    grid = _grid(shape, (o, kh, kw), stride, pads, dilation)
    g = rng.standard_normal((shape[0], o) + grid).astype(dtype)
    return x, w, b, g


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_blocked_matches_plain_path(case, rows, dtype, tol):
    _, _, stride, pads, dilation = case
    x, w, b, g = _data(case, dtype)
    got = _grads(lambda x, w, b: _blocked(x, w, b, stride, pads, dilation, rows), x, w, b, g)
    want = _grads(lambda x, w, b: _plain(x, w, b, stride, pads, dilation), x, w, b, g)
    for a, e in zip(got, want):
        assert a.shape == e.shape and a.dtype == e.dtype
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * np.abs(e).max())


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_blocked_matches_torch(case, dtype, tol):
    torch = pytest.importorskip("torch")
    _, _, stride, pads, dilation = case
    x, w, b, g = _data(case, dtype, seed=1)
    got = _grads(lambda x, w, b: _blocked(x, w, b, stride, pads, dilation, 2), x, w, b, g)
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    xp = torch.nn.functional.pad(tx, (pads[2], pads[3], pads[0], pads[1]))
    out = torch.nn.functional.conv2d(xp, tw, tb, stride, dilation=dilation)
    out.backward(torch.tensor(g))
    for a, e in zip(got, (out, tx.grad, tw.grad, tb.grad)):
        e = e.detach().numpy()
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * np.abs(e).max())


def test_through_conv2d_batch1_noncontiguous_no_bias_and_partial_gradients():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((5, 3, 9, 8))
    x = base.transpose(0, 1, 3, 2)[:1]          # batch 1, a transposed (non-contiguous) view
    w = rng.standard_normal((4, 3, 5, 5))
    for needs in ((True, True), (True, False), (False, True)):
        res = []
        for algorithm in ("blocked", "im2col"):
            tx, tw = Tensor(x, requires_grad=needs[0]), Tensor(w, requires_grad=needs[1])
            out = F.conv2d(tx, tw, padding=2, algorithm=algorithm)
            (out * out).sum().backward()
            res.append([out._data] + [t.grad._data for t, n in zip((tx, tw), needs) if n])
        for a, e in zip(*res):
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def test_batch_last_and_channel_major_output_gradients_agree():
    """The gradient arriving in either memory order gives the same result."""
    x, w, b, g = _data(CASES[2], np.float64)
    g_last = np.ascontiguousarray(g.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    conv = lambda x, w, b: _blocked(x, w, b, (1, 1), (2, 2, 2, 2), (1, 1), 1)  # noqa: E731
    for a, e in zip(_grads(conv, x, w, b, g_last), _grads(conv, x, w, b, g)):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [CASES[0], CASES[3], CASES[5]])
def test_second_derivatives(case):
    _, (o, kh, kw), stride, pads, dilation = case
    x, w, b, _ = _data(case, np.float64, seed=3)
    x = x[:1, :2, :6, :7].copy()
    w = w[:2, :2].copy()
    b = b[:2].copy()
    args = [Tensor(v, requires_grad=True) for v in (x, w, b)]
    fn = lambda x, w, b: _blocked(x, w, b, stride, pads, dilation, 2).tanh()  # noqa: E731
    assert A.gradcheck(fn, args)
    assert A.gradgradcheck(fn, args)


def test_automatic_choice_and_forcing():
    lenet2 = ((64, 20, 14, 14), (50, 20, 5, 5), (1, 1), (14, 14))
    assert B.use("auto", *lenet2[:3], 1, lenet2[3], np.float32)
    assert B.use(None, *lenet2[:3], 1, lenet2[3], np.float64)
    assert not B.use("auto", *lenet2[:3], 1, lenet2[3], np.float16)
    assert not B.use("im2col", *lenet2[:3], 1, lenet2[3], np.float32)
    assert not B.use("auto", (4, 20, 14, 14), *lenet2[1:3], 1, (14, 14), np.float32)  # batch 4
    # 5x5 and larger kernels: blocked at any width and size; 3x3 only if narrow and big
    assert B.use("auto", (64, 20, 32, 32), (50, 20, 5, 5), (1, 1), 1, (32, 32), np.float32)
    assert B.use("auto", (64, 2, 14, 14), (50, 2, 5, 5), (1, 1), 1, (14, 14), np.float32)
    assert not B.use("auto", (64, 3, 32, 32), (32, 3, 3, 3), (1, 1), 1, (32, 32), np.float32)
    assert not B.use("auto", (64, 2, 14, 14), (50, 2, 3, 3), (1, 1), 1, (14, 14), np.float32)
    assert B.use("auto", (64, 64, 14, 14), (64, 64, 3, 3), (1, 1), 1, (14, 14), np.float32)
    assert not B.use("auto", *lenet2[:2], (1, 2), 1, (14, 7), np.float32)   # column stride
    assert B.use("blocked", (1, 1, 3, 3), (1, 1, 3, 3), (1, 2), 1, (1, 1), np.float32)
    with F.conv_algorithm("im2col"):
        assert not B.use(None, *lenet2[:3], 1, lenet2[3], np.float32)
    with F.conv_algorithm("blocked"):
        assert B.use(None, (1, 1, 3, 3), (1, 1, 3, 3), (1, 1), 1, (1, 1), np.float32)
    with pytest.raises(ValueError, match="conv2d: algorithm='blocked' needs groups=1"):
        F.conv2d(Tensor(np.ones((1, 4, 5, 5))), Tensor(np.ones((2, 2, 3, 3))), groups=2,
                 algorithm="blocked")


def test_forced_path_is_the_one_recorded():
    x = Tensor(np.ones((2, 3, 6, 6), np.float32), requires_grad=True)
    w = Tensor(np.ones((4, 3, 3, 3), np.float32), requires_grad=True)
    names = lambda out: [n.name for n in A.topological_order([out.grad_fn])  # noqa: E731
                         if isinstance(n, A.Context)]
    assert names(F.conv2d(x, w, padding=1, algorithm="blocked")) == ["Conv2dBlocked"]
    assert "Conv2dBlocked" not in names(F.conv2d(x, w, padding=1, algorithm="im2col"))


@pytest.mark.parametrize("case", [CASES[2], CASES[3], CASES[4], CASES[6]])
def test_threaded_slabs_give_the_one_thread_result_bit_for_bit(case):
    """Blocks in slabs on autograd._parallel's threads: the weight and input gradients
    are summed over the same fixed groups of rows whatever runs them."""
    from autograd import _parallel
    _, _, stride, pads, dilation = case
    x, w, b, g = _data(case, np.float32, seed=4)
    conv = lambda x, w, b: _blocked(x, w, b, stride, pads, dilation, 1)  # noqa: E731
    with _parallel.forced(1):
        one = _grads(conv, x, w, b, g)
    with _parallel.forced(2):
        two = _grads(conv, x, w, b, g)
    for a, e in zip(two, one):
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("case", [CASES[2], CASES[3], CASES[5], CASES[7]])
def test_many_groups_as_on_a_machine_with_more_cores(case, monkeypatch):
    """With more configured threads the rows are cut into more groups, each adding into a
    buffer of the padded rows it touches: the same values."""
    monkeypatch.setattr(B._blas, "max_threads", lambda: 5)
    _, _, stride, pads, dilation = case
    x, w, b, g = _data(case, np.float64, seed=5)
    got = _grads(lambda x, w, b: _blocked(x, w, b, stride, pads, dilation, 1), x, w, b, g)
    want = _grads(lambda x, w, b: _plain(x, w, b, stride, pads, dilation), x, w, b, g)
    assert len(B._groups(5)) == 5
    for a, e in zip(got, want):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12 * np.abs(e).max())


def test_lenet_conv2_layer_runs_blocked_and_matches_the_plain_path():
    import nn
    A.manual_seed(0)
    layer = nn.Conv2d(20, 50, 5, padding=2)
    x = Tensor(np.random.default_rng(6).standard_normal((32, 20, 14, 14)).astype(np.float32))
    out = layer(x)
    assert out.grad_fn.name == "Conv2dBlocked"
    out.sum().backward()
    grads = [p.grad._data.copy() for p in layer.parameters()]
    layer.zero_grad()
    with F.conv_algorithm("im2col"):
        plain = layer(x)
    assert plain.grad_fn.name != "Conv2dBlocked"
    plain.sum().backward()
    np.testing.assert_allclose(out._data, plain._data, rtol=1e-5, atol=1e-5)
    for a, p in zip(grads, layer.parameters()):
        np.testing.assert_allclose(a, p.grad._data, rtol=1e-4, atol=1e-4 * np.abs(a).max())


@pytest.mark.parametrize("shape, dtype", [
    ((64, 3, 32, 32), np.float32),   # images 12 KB apart: copied 8 at a time
    ((20, 1, 32, 32), np.float32),   # 4 KB apart, a short last group of images
    ((17, 2, 16, 16), np.float64),   # 4 KB apart in float64
    ((9, 4, 16, 32), np.float32),    # 8 KB apart, one image more than a group
    ((12, 5, 14, 14), np.float32),   # not aligned: one copy
    ((1, 3, 32, 32), np.float32),    # batch 1
])
@pytest.mark.parametrize("value", [0.0, -np.inf])
def test_padding_into_batch_last_memory_matches_np_pad(shape, dtype, value):
    """_pad copies images whose planes lie a multiple of 4 KB apart a few at a time (cache
    sets, see spatial._copy_images): every element must land where np.pad puts it."""
    from autograd.ops import spatial as S
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    pads = (1, 2, 0, 3)
    want = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]), constant_values=value)
    for src in (x, np.ascontiguousarray(x[::-1])[::-1]):   # contiguous, reversed strides
        got = S._pad(src, pads, value=value, order=B._ORDER, force=True)
        assert shape[0] == 1 or S._memory_order(got) == B._ORDER   # (batch 1: a tie)
        np.testing.assert_array_equal(got, want)
    got = S._pad(x, (0, 0, 0, 0), order=B._ORDER, force=True)   # no padding: a copy
    assert not np.shares_memory(got, x)
    np.testing.assert_array_equal(got, x)
