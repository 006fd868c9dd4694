"""Winograd in cache-sized blocks of images (nn/winograd_blocked.py), beyond the cases it
shares with the composite in test_conv_fast.py: several blocks and a short last one, the
same bits on one thread and on several, inputs that need no gradient, retain_graph, saved
inputs overwritten in place, what "auto" records, and forcing it where it does not apply."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as A
from autograd import Tensor, _parallel
import nn.functional as F
from nn import winograd_blocked as WB


def _data(shape, o, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    return x, w, b, rng


def _grads(x, w, b, padding, algorithm, g, needs=(True, True, True)):
    tx, tw, tb = (Tensor(v, requires_grad=r) for v, r in zip((x, w, b), needs))
    out = F.conv2d(tx, tw, tb, padding=padding, algorithm=algorithm)
    out.backward(Tensor(g))
    return [out.detach().numpy()] + [t.grad.numpy() if r else None
                                     for t, r in zip((tx, tw, tb), needs)]


def _image_bytes(shape, o, itemsize):
    th, tw = -(-(shape[2]) // 4), -(-(shape[3]) // 4)   # padding 1: output = input size
    return 36 * max(shape[1], o) * th * tw * itemsize


@pytest.mark.parametrize("images_per_block", [1, 2, 3, 100])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_blocks_of_any_size_match_im2col(monkeypatch, images_per_block, dtype, tol):
    shape, o = (5, 3, 9, 7), 4                 # 5 images: blocks of 2 or 3 leave a short one
    x, w, b, rng = _data(shape, o, dtype)
    monkeypatch.setattr(WB, "BLOCK_BYTES", images_per_block * _image_bytes(shape, o,
                                                                           x.itemsize))
    geo = WB._Geometry(shape, o, (1, 1, 1, 1), x.itemsize)
    sizes = [e - s for s, e in geo.blocks]
    assert max(sizes) == geo.per_block <= images_per_block and sum(sizes) == 5
    assert [s for s, _ in geo.blocks] == [0] + [e for _, e in geo.blocks[:-1]]   # in order
    assert max(sizes) - min(sizes) <= 1          # shared out evenly among the threads
    g = rng.standard_normal((5, o, 9, 7)).astype(dtype)
    got = _grads(x, w, b, 1, "winograd_blocked", g)
    want = _grads(x, w, b, 1, "im2col", g)
    for a, e in zip(got, want):
        assert a.dtype == dtype and a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * np.abs(e).max())


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 4), o=st.integers(1, 4), h=st.integers(1, 11),
       w=st.integers(1, 11), pads=st.tuples(*[st.integers(0, 2)] * 4),
       images_per_block=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_any_geometry_matches_im2col(n, c, o, h, w, pads, images_per_block, seed):
    """Random sizes, asymmetric padding (top, bottom, left, right) and block sizes."""
    t, b, l, r = pads
    if h + t + b < 3 or w + l + r < 3:          # no output: im2col raises, as torch
        return
    rng = np.random.default_rng(seed)
    x, wt = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3))
    bias = rng.standard_normal(o)
    oh, ow = h + t + b - 2, w + l + r - 2
    g = rng.standard_normal((n, o, oh, ow))
    per_image = 36 * max(c, o) * -(-oh // 4) * -(-ow // 4) * 8
    saved = WB.BLOCK_BYTES
    WB.BLOCK_BYTES = images_per_block * per_image
    try:
        tx, tw, tb = (Tensor(v, requires_grad=True) for v in (x, wt, bias))
        out = WB.WinogradConv.apply(tx, tw, tb, pads=(t, b, l, r))
        out.backward(Tensor(g))
    finally:
        WB.BLOCK_BYTES = saved
    rx, rw, rb = (Tensor(v, requires_grad=True) for v in (x, wt, bias))
    ref = F.conv2d(F.pad(rx, (l, r, t, b)), rw, rb, algorithm="im2col")
    ref.backward(Tensor(g))
    for got, want in ((out, ref), (tx.grad, rx.grad), (tw.grad, rw.grad), (tb.grad, rb.grad)):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10,
                                   atol=1e-10 * max(1.0, np.abs(want.detach().numpy()).max()))


def test_same_bits_on_one_thread_and_on_several(monkeypatch):
    shape, o = (7, 4, 10, 11), 5
    x, w, b, rng = _data(shape, o, np.float32, seed=1)
    monkeypatch.setattr(WB, "BLOCK_BYTES", _image_bytes(shape, o, 4))   # 7 blocks
    g = rng.standard_normal((7, o, 10, 11)).astype(np.float32)
    with _parallel.forced(1):
        one = _grads(x, w, b, 1, "winograd_blocked", g)
    with _parallel.forced(3):
        three = _grads(x, w, b, 1, "winograd_blocked", g)
    for a, e in zip(one, three):
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("needs", [(True, False, False), (False, True, False),
                                   (False, False, True), (True, False, True)])
def test_only_the_inputs_that_need_a_gradient(needs):
    shape, o = (3, 2, 8, 6), 3
    x, w, b, rng = _data(shape, o, np.float64, seed=2)
    g = rng.standard_normal((3, o, 8, 6))
    got = _grads(x, w, b, 1, "winograd_blocked", g, needs)
    want = _grads(x, w, b, 1, "im2col", g, needs)
    for a, e in zip(got, want):
        if e is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def test_empty_batch():
    x = Tensor(np.zeros((0, 3, 8, 8), np.float32), requires_grad=True)
    w = Tensor(np.ones((4, 3, 3, 3), np.float32), requires_grad=True)
    out = F.conv2d(x, w, padding=1, algorithm="winograd_blocked")
    out.sum().backward()
    assert out.shape == (0, 4, 8, 8) and x.grad.shape == (0, 3, 8, 8)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((4, 3, 3, 3), np.float32))


def test_tiles_are_kept_only_for_the_weight_gradient():
    shape, o = (2, 2, 6, 6), 2
    x, w, b, _ = _data(shape, o, np.float64, seed=3)
    only_x = F.conv2d(Tensor(x, requires_grad=True), Tensor(w), padding=1,
                      algorithm="winograd_blocked")
    only_w = F.conv2d(Tensor(x), Tensor(w, requires_grad=True), padding=1,
                      algorithm="winograd_blocked")
    assert only_x.grad_fn.name == only_w.grad_fn.name == "WinogradConv"
    x_saved, w_saved, *tiles = only_x.grad_fn._saved
    assert x_saved is None and w_saved is w and tiles == []
    x_saved, w_saved, *tiles = only_w.grad_fn._saved
    assert x_saved is x and w_saved is None and len(tiles) == 2     # a block per thread
    assert tiles[0].shape == (36, 2, 1 * 2 * 2)   # (36, C, tiles of the block's one image)


def test_retain_graph_and_second_backward():
    shape, o = (2, 3, 7, 7), 2
    x, w, b, rng = _data(shape, o, np.float64, seed=4)
    tx, tw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    out = F.conv2d(tx, tw, Tensor(b), padding=1, algorithm="winograd_blocked")
    g = Tensor(rng.standard_normal(out.shape))
    out.backward(g, retain_graph=True)
    first = tx.grad.numpy().copy(), tw.grad.numpy().copy()
    out.backward(g)
    np.testing.assert_allclose(tx.grad.numpy(), 2 * first[0], rtol=1e-12)
    np.testing.assert_allclose(tw.grad.numpy(), 2 * first[1], rtol=1e-12)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward(g)


@pytest.mark.parametrize("needs", [(False, True), (True, False)])
def test_second_derivatives_when_only_one_input_needs_a_gradient(needs):
    """create_graph with x or the weight alone requiring grad (the other is not saved)."""
    x, w, _, _ = _data((2, 3, 6, 5), 4, np.float64, seed=7)
    results = []
    for algorithm in ("winograd_blocked", "im2col"):
        tx, tw = Tensor(x, requires_grad=needs[0]), Tensor(w, requires_grad=needs[1])
        leaf = tx if needs[0] else tw
        out = F.conv2d(tx, tw, padding=1, algorithm=algorithm)
        (g,) = A.grad((out * out).sum(), leaf, create_graph=True)
        (gg,) = A.grad((g * g).sum(), leaf)
        results.append((g.detach().numpy(), gg.numpy()))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_input_overwritten_after_forward_refuses_backward():
    x, w, b, _ = _data((2, 2, 6, 6), 2, np.float64, seed=5)
    tx, tw = Tensor(x), Tensor(w, requires_grad=True)
    out = F.conv2d(tx, tw, padding=1, algorithm="winograd_blocked")
    tx.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_auto_records_the_blocked_node_and_winograd_forces_the_composite():
    x = Tensor(np.ones((8, 32, 16, 16), np.float32), requires_grad=True)   # work enough
    w = Tensor(np.ones((32, 32, 3, 3), np.float32), requires_grad=True)
    auto = F.conv2d(x, w, padding=1)
    composite = F.conv2d(x, w, padding=1, algorithm="winograd")
    assert auto.grad_fn.name == "WinogradConv"
    ops = [n.name for n in A.topological_order([composite.grad_fn]) if isinstance(n, A.Context)]
    assert "WinogradConv" not in ops and "TilesToImage" in ops
    np.testing.assert_allclose(auto.detach().numpy(), composite.detach().numpy(), rtol=1e-5)


def test_forcing_it_where_winograd_does_not_apply():
    x = Tensor(np.ones((1, 2, 9, 9)))
    with pytest.raises(ValueError, match="algorithm='winograd_blocked' needs a 3x3 kernel"):
        F.conv2d(x, Tensor(np.ones((2, 2, 5, 5))), algorithm="winograd_blocked")
    with pytest.raises(ValueError, match="algorithm='winograd_blocked' needs.*stride"):
        F.conv2d(x, Tensor(np.ones((2, 2, 3, 3))), stride=2, algorithm="winograd_blocked")


def test_matches_torch_on_a_layer_cut_into_blocks(monkeypatch):
    torch = pytest.importorskip("torch")
    shape, o = (6, 16, 13, 13), 8
    x, w, b, rng = _data(shape, o, np.float32, seed=6)
    monkeypatch.setattr(WB, "BLOCK_BYTES", 2 * _image_bytes(shape, o, 4))   # 3 blocks
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    tout = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
    g = rng.standard_normal(tuple(tout.shape)).astype(np.float32)
    tout.backward(torch.tensor(g))
    got = _grads(x, w, b, 1, "winograd_blocked", g)
    for a, e in zip(got, (tout.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(),
                          tb.grad.numpy())):
        assert np.abs(a - e).max() / np.abs(e).max() < 1e-4
