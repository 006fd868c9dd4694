"""``_blas.matmul`` on products OpenBLAS runs on one thread by itself (m·n·k < 2·65536·4):
no thread switch, the same values as ``np.matmul`` (float32/float64, batched, ``out=``);
larger products still go through the thread policy."""
import numpy as np
import pytest

from autograd import _blas


class _CountingController:
    """Stands for threadpoolctl's controller: counts the thread switches."""

    def __init__(self, threads):
        self.threads, self.switches = threads, 0
        self.internal_api = "openblas"

    def get_num_threads(self):
        return self.threads

    def set_num_threads(self, n):
        self.switches += 1


@pytest.fixture
def two_threads(monkeypatch):
    ctl = _CountingController(2)
    _blas._controller()  # fill _STATE first
    monkeypatch.setitem(_blas._STATE, "ctl", ctl)
    monkeypatch.setitem(_blas._STATE, "openblas", True)
    monkeypatch.setattr(_blas, "ADAPTIVE", True)
    monkeypatch.setattr(_blas, "SPLIT", False)
    return ctl


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape_a, shape_b", [((128, 10), (10, 256)), ((10, 128), (128, 256)),
                                              ((1, 7), (7, 3)), ((3, 5, 9), (9, 11))])
def test_small_products_skip_the_thread_switch(two_threads, shape_a, shape_b, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape_a).astype(dtype), rng.standard_normal(shape_b).astype(dtype)
    assert _blas._flops(a, b) < _blas._ONE_THREAD_FLOPS
    got = _blas.matmul(a, b)
    out = np.empty_like(got)
    assert _blas.matmul(a, b, out=out) is out
    assert two_threads.switches == 0
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.matmul(a, b))
    np.testing.assert_array_equal(out, got)


def test_non_contiguous_small_product(two_threads):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((20, 9))[::2].T  # (9, 10), strided
    b = rng.standard_normal((10, 4))
    np.testing.assert_array_equal(_blas.matmul(a, b), np.matmul(a, b))
    assert two_threads.switches == 0


def test_larger_products_still_switch(two_threads):
    a = np.ones((100, 100), np.float32)  # 2·100³ flops: above, yet a "small" GEMM (< 4 MFLOP)
    assert _blas._ONE_THREAD_FLOPS <= _blas._flops(a, a) < _blas.SMALL_GEMM_FLOPS
    np.testing.assert_array_equal(_blas.matmul(a, a), np.full((100, 100), 100, np.float32))
    assert two_threads.switches == 2  # to one thread and back


def test_other_libraries_always_switch(two_threads, monkeypatch):
    monkeypatch.setitem(_blas._STATE, "openblas", False)
    a = np.ones((4, 4))
    _blas.matmul(a, a)
    assert two_threads.switches == 2


# ----------------------------------------------------------------------------- the policy
def test_one_slow_call_does_not_flip_the_thread_choice():
    """An outlier counts as at most _OUTLIER_CAP times the average; a lasting slowdown
    still flips the choice to one thread within a few calls."""
    import time
    classes = {}
    st, _ = _blas.choose(classes, 7)
    st[:] = [1.0e-3, 0.5e-3, time.perf_counter() + 100.0, _blas._EXPLORE_MIN, 0, None]
    assert _blas.choose(classes, 7)[1] == 1                 # all threads: faster
    _blas.record(st, 1, 50e-3)                               # one call 100x slower
    assert st[1] <= 0.7 * 0.5e-3 + 0.3 * _blas._OUTLIER_CAP * 0.5e-3 + 1e-12
    assert _blas.choose(classes, 7)[1] == 1                  # still all threads
    for _ in range(6):                                       # the other core stays busy
        _blas.record(st, 1, 50e-3)
    assert st[1] > st[0]
    assert _blas.choose(classes, 7)[1] == 0                  # now one thread
