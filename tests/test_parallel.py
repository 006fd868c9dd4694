"""autograd/_parallel.py: big array work in slabs on a thread pool. The threaded ops
(pad, unfold, fold, max/avg pooling and their backward) must give bit-for-bit the
one-thread result, for odd batch sizes, non-contiguous inputs and both float dtypes."""
import os
import threading
import time

import numpy as np
import pytest

import autograd as A
import nn.functional as F
from autograd import _blas
from autograd import _parallel as P

DTYPES = (np.float32, np.float64)


# ----------------------------------------------------------------------------- run()
@pytest.mark.parametrize("n, parts", [(1, 2), (3, 2), (7, 3), (7, 4), (2, 5)])
def test_run_covers_the_range_once(n, parts):
    seen = np.zeros(n, int)
    lock = threading.Lock()

    def fn(sl):
        with lock:
            seen[sl] += 1
    with P.forced(parts):
        P.run(fn, n, 1 << 30, "test")
    assert seen.tolist() == [1] * n


def test_run_raises_the_slabs_error_after_all_slabs_finished():
    done = []

    def fn(sl):
        if sl.start == 0:
            raise ValueError("slab 0 failed")
        time.sleep(0.05)
        done.append(sl.start)
    with P.forced(2), pytest.raises(ValueError, match="slab 0 failed"):
        P.run(fn, 4, 1 << 30, "test")
    assert done == [2]  # the pool's slab was waited for


def test_nested_run_stays_on_the_slabs_thread():
    calls = []

    def inner(sl):
        calls.append((threading.get_ident(), sl))

    def outer(sl):
        P.run(inner, 6, 1 << 30, "inner")
    with P.forced(2):
        P.run(outer, 2, 1 << 30, "outer")
    assert sorted(sl.stop - sl.start for _, sl in calls) == [6, 6]


def test_small_work_and_one_thread_run_on_the_calling_thread(monkeypatch):
    calls = []
    fn = lambda sl: calls.append((threading.get_ident(), sl))  # noqa: E731
    P.run(fn, 8, P.MIN_BYTES - 1, "small")
    monkeypatch.setattr(_blas, "current_threads", lambda: 1)   # OPENBLAS_NUM_THREADS=1
    P.run(fn, 8, 1 << 30, "one thread")
    assert calls == [(threading.get_ident(), slice(0, 8))] * 2


def test_threadpool_limits_one_means_no_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if _blas._controller() is None:
        pytest.skip("needs threadpoolctl to see NumPy's BLAS")
    calls = []
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        P.run(lambda sl: calls.append(sl), 8, 1 << 30, "limited")
    assert calls == [slice(0, 8)]


def test_run_follows_the_faster_setting(monkeypatch):
    """With fake timings: threads are dropped while they are slower (another process
    holds the other core) and taken up again once they are faster."""
    monkeypatch.setattr(_blas, "current_threads", lambda: 2)
    monkeypatch.setattr(P, "_CLASSES", {})
    clock = {"now": 0.0}
    cost = {"serial": 1e-3, "threads": 5e-3}
    used = []

    class FakeTime:
        @staticmethod
        def perf_counter():
            return clock["now"]

    def fake_threaded(fn, n, parts):
        used.append("threads")
        clock["now"] += cost["threads"]

    def fn(sl):
        used.append("serial")
        clock["now"] += cost["serial"]
    monkeypatch.setattr(P, "time", FakeTime)
    monkeypatch.setattr(_blas, "time", FakeTime)
    monkeypatch.setattr(P, "_threaded", fake_threaded)
    for _ in range(60):
        P.run(fn, 8, 1 << 24, "fake")
    assert used[-20:] == ["serial"] * 20
    cost["serial"], cost["threads"] = 4e-3, 1e-3
    clock["now"] += 10.0
    used.clear()
    for _ in range(60):
        P.run(fn, 8, 1 << 24, "fake")
    assert used[-20:] == ["threads"] * 20


def test_copy_to_broadcasts_and_matches():
    a = np.arange(7 * 5 * 3, dtype=np.float32).reshape(7, 5, 3)
    dst = np.empty((7, 5, 3), np.float32)
    with P.forced(3):
        P.copy_to(dst, a.transpose(0, 2, 1).transpose(0, 2, 1))
        assert np.array_equal(dst, a)
        P.copy_to(dst, np.float32(2.5))
    assert (dst == 2.5).all()


def test_copy_to_plus_broadcasts_and_matches():
    a = np.arange(7 * 5 * 3, dtype=np.float32).reshape(7, 3, 5).transpose(0, 2, 1)  # strided
    b = np.array([0.5, -1.0, 2.0], np.float32)                                      # broadcast
    dst = np.empty((7, 5, 3), np.float32)
    for parts in (1, 3):
        dst[...] = np.nan
        with P.forced(parts):
            P.copy_to(dst, a, plus=b)
        assert np.array_equal(dst, a + b)


# ----------------------------------------------------------------------------- the ops
def _both(fn):
    """fn() on one thread and on three slabs: every array bit-for-bit equal. (BLAS keeps
    its configured thread count: its adaptive choice could round products differently.)"""
    saved, _blas.ADAPTIVE = _blas.ADAPTIVE, False
    try:
        with P.forced(1):
            one = fn()
        with P.forced(3):
            three = fn()
    finally:
        _blas.ADAPTIVE = saved
    for a, b in zip(one, three):
        assert a.shape == b.shape and a.dtype == b.dtype and a.strides == b.strides
        assert a.tobytes() == b.tobytes()
    return one


def _input(shape, dtype, layout, seed=0):
    """A non-contiguous (N, C, H, W) view: batch-last, channel-major or sliced."""
    rng = np.random.default_rng(seed)
    n, c, h, w = shape
    if layout == "nchw":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "batch-last":
        return rng.standard_normal((c, h, w, n)).astype(dtype).transpose(3, 0, 1, 2)
    if layout == "channel-major":
        return rng.standard_normal((c, n, h, w)).astype(dtype).transpose(1, 0, 2, 3)
    return rng.standard_normal((n, c, h + 2, 2 * w)).astype(dtype)[:, :, 1:-1, ::2]  # sliced


def _grad_of(y):
    return A.Tensor(np.cos(np.arange(y.numel(), dtype=np.float64)).reshape(y.shape)
                    .astype(y.dtype))


LAYOUTS = ("nchw", "batch-last", "channel-major", "sliced")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 3, 7])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind, geom", [
    ("max", dict(kernel_size=2)), ("max", dict(kernel_size=3, stride=2, padding=1)),
    ("max", dict(kernel_size=3, stride=1, padding=1, dilation=1)),
    ("max", dict(kernel_size=(2, 3), stride=1, dilation=2)),
    ("max", dict(kernel_size=3, stride=2, ceil_mode=True)), ("max", dict(kernel_size=1)),
    ("avg", dict(kernel_size=2)), ("avg", dict(kernel_size=3, stride=2, padding=1)),
    ("avg", dict(kernel_size=3, stride=1, padding=1, count_include_pad=False)),
    ("avg", dict(kernel_size=3, stride=2, ceil_mode=True))])
def test_pooling_threaded_is_bit_identical(dtype, n, layout, kind, geom):
    x0 = _input((n, 5, 11, 13), dtype, layout)

    def fn():
        x = A.Tensor(x0, requires_grad=True)
        y = (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, **geom)
        y.backward(_grad_of(y))
        return y._data, x.grad._data
    _both(fn)


def test_max_pool_nan_and_inf_threaded():
    x0 = _input((7, 3, 8, 8), np.float32, "nchw")
    x0[1, 0, 2, 3] = np.nan
    x0[5, 2, 0, 0] = np.inf
    x0[6, 1, 4, 4] = -np.inf

    def fn():
        x = A.Tensor(x0, requires_grad=True)
        y, idx = F.max_pool2d(x, 2, return_indices=True)
        g = _grad_of(y)
        g._data[5, 2, 0, 0] = np.inf
        y.backward(g)
        return y._data, idx._data, x.grad._data
    y, _, _ = _both(fn)
    assert np.isnan(y[1, 0, 1, 1]) and y[5, 2, 0, 0] == np.inf


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 3, 7])
@pytest.mark.parametrize("layout", ("nchw", "sliced", "channel-major"))
@pytest.mark.parametrize("algorithm, geom", [
    ("im2col", dict(stride=1, padding=1)), ("im2col", dict(stride=2, padding=2, dilation=2)),
    ("im2col", dict(stride=(1, 2), padding=0)), ("winograd", dict(stride=1, padding=1)),
    ("auto", dict(stride=2, padding=2, dilation=2))])
def test_conv2d_threaded_is_bit_identical(dtype, n, layout, algorithm, geom):
    x0 = _input((n, 16, 11, 13), dtype, layout)
    w0 = np.random.default_rng(1).standard_normal((16, 16, 3, 3)).astype(dtype)

    def fn():
        x, w = A.Tensor(x0, requires_grad=True), A.Tensor(w0, requires_grad=True)
        y = F.conv2d(x, w, stride=geom["stride"], padding=geom["padding"],
                     dilation=geom.get("dilation", 1), algorithm=algorithm)
        y.backward(_grad_of(y))
        return y._data, x.grad._data, w.grad._data
    _both(fn)


@pytest.mark.parametrize("n", [1, 3, 7])
def test_winograd_with_bias_threaded_is_bit_identical(n):
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((n, 16, 10, 9)).astype(np.float32)
    w0 = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b0 = rng.standard_normal(16).astype(np.float32)

    def fn():
        x, w, b = (A.Tensor(v, requires_grad=True) for v in (x0, w0, b0))
        y = F.conv2d(x, w, b, padding=1, algorithm="winograd")  # bias added in the tile slabs
        y.backward(_grad_of(y))
        return y._data, x.grad._data, w.grad._data, b.grad._data
    _both(fn)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_batch_last_conv_and_transposed_conv_threaded(n):
    """LeNet-sized layer (the batch-last "ckl" im2col), grouped, and conv_transpose2d (fold)."""
    x0 = _input((n, 6, 14, 14), np.float32, "nchw")
    w0 = np.random.default_rng(2).standard_normal((4, 6, 5, 5)).astype(np.float32)
    wg = np.random.default_rng(3).standard_normal((4, 3, 3, 3)).astype(np.float32)
    wt = np.random.default_rng(4).standard_normal((6, 2, 3, 3)).astype(np.float32)

    def fn():
        x = A.Tensor(x0, requires_grad=True)
        w, g, t = (A.Tensor(a, requires_grad=True) for a in (w0, wg, wt))
        y1 = F.conv2d(x, w, padding=2)
        y2 = F.conv2d(x, g, padding=1, groups=2)
        y3 = F.conv_transpose2d(x, t, stride=2, padding=1, output_padding=1)
        (y1 * _grad_of(y1)).sum().backward()
        (y2 * _grad_of(y2) + 0).sum().backward()
        (y3 * _grad_of(y3)).sum().backward()
        return y1._data, y2._data, y3._data, x.grad._data, w.grad._data, t.grad._data
    _both(fn)


def test_unfold_fold_threaded():
    x0 = _input((7, 3, 9, 10), np.float64, "sliced")

    def fn():
        x = A.Tensor(x0, requires_grad=True)
        cols = F.unfold(x, (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
        back = F.fold(cols, (9, 10), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
        back.backward(_grad_of(back))
        return cols._data, back._data, x.grad._data
    _both(fn)


# ----------------------------------------------------------------------------- vs torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_threaded_ops_match_torch(dtype):
    torch = pytest.importorskip("torch")
    x0 = _input((7, 16, 12, 13), dtype, "batch-last")
    w0 = np.random.default_rng(5).standard_normal((16, 16, 3, 3)).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    cases = [
        (lambda F_, x, w: F_.max_pool2d(x, 3, 2, 1), False),
        (lambda F_, x, w: F_.avg_pool2d(x, 2), False),
        (lambda F_, x, w: F_.conv2d(x, w, padding=1), True),
        (lambda F_, x, w: F_.conv2d(x, w, padding=2, stride=2, dilation=2), True)]
    for f, uses_w in cases:
        with P.forced(3):
            x, w = A.Tensor(x0, requires_grad=True), A.Tensor(w0, requires_grad=True)
            y = f(F, x, w)
            y.backward(_grad_of(y))
        tx = torch.tensor(np.ascontiguousarray(x0), requires_grad=True)
        tw = torch.tensor(w0, requires_grad=True)
        ty = f(torch.nn.functional, tx, tw)
        ty.backward(torch.tensor(_grad_of(y)._data))
        np.testing.assert_allclose(y._data, ty.detach().numpy(), **tol)
        np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), **tol)
        if uses_w:
            np.testing.assert_allclose(w.grad._data, tw.grad.numpy(), **tol)


# ----------------------------------------------------------------------------- fork
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_threaded_work_child_can_use_the_pool():
    x0 = _input((7, 4, 16, 16), np.float32, "nchw")
    with P.forced(2):
        ref = F.max_pool2d(A.Tensor(x0), 2)._data
    assert P._POOL[0] is not None
    pid = os.fork()
    if pid == 0:  # child: the pool was shut down before the fork; a new one must work
        code = 1
        try:
            with P.forced(2):
                out = F.max_pool2d(A.Tensor(x0), 2)._data
            code = 0 if out.tobytes() == ref.tobytes() else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung using the thread pool")
        time.sleep(0.01)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    with P.forced(2):  # the parent starts a new pool as well
        assert F.max_pool2d(A.Tensor(x0), 2)._data.tobytes() == ref.tobytes()


# ----------------------------------------------------------------------------- _blas
@pytest.mark.parametrize("dtype", DTYPES + (np.complex64,))
@pytest.mark.parametrize("sa, sb", [((5, 40), (40, 301)), ((301, 40), (40, 5)),
                                    ((7, 9, 40), (7, 40, 11)), ((9, 40), (3, 40, 11)),
                                    ((1, 9, 40), (5, 40, 11)), ((2, 3, 9, 4), (3, 4, 10))])
def test_split_matmul_matches_one_thread(dtype, sa, sb):
    """_blas.matmul's 'all threads': slabs of the batch, rows or columns on the pool."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(sa).astype(dtype)
    b = rng.standard_normal(sb[:-2] + sb[:-3:-1]).astype(dtype).swapaxes(-1, -2)  # transposed
    want = np.matmul(a, b)
    for parts in (2, 3):
        got = _blas._split_matmul(a, b, None, parts)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype != np.float64 else 1e-12,
                                   atol=1e-4 if dtype != np.float64 else 1e-12)
    out = np.full(want.shape, np.nan, dtype)
    assert _blas._split_matmul(a, b, out, 2) is out
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("lately", [True, False])
def test_blas_matmul_threads_setting_splits_and_restores_the_thread_count(monkeypatch, lately):
    """'All threads' is the split product while the pool has had work lately
    (else OpenBLAS's own threads); either way the BLAS thread count is put back."""
    if _blas._controller() is None or (_blas.info()["threads"] or 1) < 2:
        pytest.skip("needs a BLAS with at least two threads and threadpoolctl")
    monkeypatch.setattr(P, "_LAST", [time.perf_counter() if lately else -1e9])
    calls = []
    real = _blas._split_matmul
    monkeypatch.setattr(_blas, "_split_matmul", lambda *a: calls.append(1) or real(*a))
    before = _blas.info()["threads"]
    a = np.random.default_rng(1).standard_normal((64, 300)).astype(np.float32)
    got, _ = _blas._timed(a, a.T, None, before, before)
    np.testing.assert_allclose(got, a @ a.T, rtol=1e-4, atol=1e-3)
    assert _blas.info()["threads"] == before and len(calls) == int(lately)


def test_used_lately_follows_big_threaded_jobs(monkeypatch):
    monkeypatch.setattr(_blas, "current_threads", lambda: 2)
    monkeypatch.setattr(P, "_LAST", [-1e9])
    P.run(lambda sl: None, 8, P.MIN_BYTES - 1, "small")
    assert not P.used_lately()
    P.run(lambda sl: None, 8, P.MIN_BYTES, "big")
    assert P.used_lately()
