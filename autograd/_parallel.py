"""Big memory-bound array work (copies, pooling, im2col/col2im) on all cores.

Why. With several threads PyTorch runs its copies, pooling and elementwise loops on
all of them, while NumPy runs every ufunc and copy on the calling thread: at default
threads ndgrad only got BLAS's threads, for the GEMMs. NumPy releases the GIL inside
a ufunc or copy of a large array, so plain Python threads can run such work side by
side: each one gets a slab of the array along an axis (one the computation treats
independently: the batch, or the channels) and does the whole job on it.

What ``run(fn, n, nbytes, name)`` does. It calls ``fn(slice)`` on slices that cover
``range(n)``: either once, ``fn(slice(0, n))`` on the calling thread, or on as many
near-equal slices as there are BLAS threads in force (``threadpool_limits(1)`` /
``OPENBLAS_NUM_THREADS=1`` mean no threads at all), the first on the calling thread
and the others on a persistent ``ThreadPoolExecutor``. Which of the two is the same
adaptive choice as for BLAS's threads (``autograd._blas.choose``/``record``): per op
and size class (powers of two of the bytes touched), the faster setting lately, the
other one re-tried now and then, so a second core held by another process never makes
ndgrad slower than one thread for long. Work under ``MIN_BYTES`` always runs on the
calling thread (handing a slab to a pool thread and waiting for it costs 20-80 µs;
copies of 0.5-2 MB ran 1.05-1.35x slower in two slabs, from ~4 MB they gain).
Inside a slab (``fn`` running on a pool thread) ``run`` never nests.

While jobs big enough for threads come by (``used_lately``), the same pool runs the "all
threads" setting of ``_blas.matmul``: the product cut into slabs on single-threaded
OpenBLAS. OpenBLAS's own worker threads busy-wait ~0.1 s after
every call, holding the other core, so with them no slab work after a GEMM gained at
all (col2im of LeNet's conv2: 4.3 ms on one thread, 4.7 ms in two slabs).

Measured (``benchmarks/bench_nn.py``, 2 cores, default threads, wall clock, ratio to
PyTorch paired, against the code before this module in the same session):
max_pool2d 2x2 fwd+bwd (64, 64, 32, 32) 15.1 -> 8.2 ms (1.16 -> 0.64x), avg_pool2d
8.1 -> 4.9 ms (0.98 -> 0.61x); conv2d fwd+bwd LeNet conv2 1.41 -> 1.18x, 3x3 N32 C64
1.75 -> 1.32x, stride 2 dilation 2 1.32 -> 1.21x; LeNet-5 step 1.28 -> 1.13x, the MNIST
example's step 1.40 -> 1.21x. Of the conv rows' gain, the slabs of unfold, fold and
Winograd's tile copy together give 13-15% (fold 6-8%, tile copy 2-4%, unfold 1-4%), the
rest is the GEMMs'; the zero-padding copy gained nothing in slabs and stays serial.
One thread (``--threads 1 --clock cpu``): the same NumPy calls; rows within run-to-run noise
(paired runs -4% to +8%; pooling forward and backward alone within 2%).

Each slab is computed by the very same NumPy calls as the whole array would be, so
results are bit-for-bit those of one thread (``tests/test_parallel.py``).

Fork safety: before ``os.fork`` the pool is shut down (its threads joined), so a child
process (DataLoader workers) starts with no pool thread and no lock held by one; the
next ``run`` in either process starts a new pool.
"""
import contextlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _blas

MIN_BYTES = 4 << 20   # below this (bytes read + written), always one thread
_CLASSES = {}         # (name, log2(bytes)) -> the policy's state (see _blas.choose)
_POOL = [None]        # [ThreadPoolExecutor or None]
_LOCK = threading.Lock()
_LOCAL = threading.local()
_FORCED = [None]      # tests: always this many slabs (see ``forced``)
_LAST = [-1e9]        # perf_counter() of the last job big enough for threads
LATELY = 0.25         # seconds (a CNN step has slab work every few ms): see used_lately


def threads():
    """How many slabs ``run`` may use now (the BLAS thread count in force)."""
    return _blas.current_threads()


def _executor(workers):
    with _LOCK:
        pool = _POOL[0]
        if pool is None or pool._max_workers < workers:
            if pool is not None:
                pool.shutdown(wait=False)
            pool = _POOL[0] = ThreadPoolExecutor(max_workers=workers,
                                                 thread_name_prefix="ndgrad-parallel")
        return pool


def _slab(fn, sl):
    _LOCAL.inside = True
    try:
        return fn(sl)
    finally:
        _LOCAL.inside = False


def _split(n, parts):
    """``parts`` near-equal consecutive slices covering range(n)."""
    bounds = [n * k // parts for k in range(parts + 1)]
    return [slice(bounds[k], bounds[k + 1]) for k in range(parts)]


def _threaded(fn, n, parts):
    slices = _split(n, parts)
    pool = _executor(parts - 1)
    try:
        futures = [pool.submit(_slab, fn, sl) for sl in slices[1:]]
    except RuntimeError:  # the pool was shut down under us (a fork in another thread)
        futures = []
        for sl in slices[1:]:
            fn(sl)
    try:
        _slab(fn, slices[0])
    finally:
        for f in futures:   # never return while a pool thread still writes into the result
            f.exception()
    for f in futures:
        f.result()


def run(fn, n, nbytes, name):
    """Call ``fn(slice)`` for slices covering ``range(n)``: once on the whole range, or
    on several slabs in parallel where that has been measured to be faster (see the
    module docstring). ``nbytes``: the memory the whole job reads and writes; ``name``:
    the op, whose size classes keep their own timings."""
    if _FORCED[0] is not None:
        parts = min(_FORCED[0], n)
        if parts > 1 and not getattr(_LOCAL, "inside", False):
            _threaded(fn, n, parts)
        else:
            fn(slice(0, n))
        return
    parts = min(threads(), n) if nbytes >= MIN_BYTES else 1
    if parts <= 1 or getattr(_LOCAL, "inside", False):
        fn(slice(0, n))
        return
    st, arm = _blas.choose(_CLASSES, (name, int(nbytes).bit_length()))
    t0 = _LAST[0] = time.perf_counter()
    if arm == 0:
        fn(slice(0, n))
    else:
        _threaded(fn, n, parts)
    _blas.record(st, arm, time.perf_counter() - t0)


def used_lately():
    """Has a job big enough for threads come by in the last ``LATELY`` seconds? (Then
    ``_blas.matmul`` runs its threaded products on this pool too, see ``_split_matmul``.)"""
    return time.perf_counter() - _LAST[0] < LATELY


def run_split(fn, n, parts):
    """``fn`` over ``parts`` slabs of range(n) on the pool, without the size and timing
    checks of ``run`` (for a caller that has made its own choice: ``_blas.matmul``)."""
    parts = min(parts, n)
    if parts <= 1 or getattr(_LOCAL, "inside", False):
        fn(slice(0, n))
    else:
        _threaded(fn, n, parts)


def is_forced():
    """Inside a ``forced`` block (tests)?"""
    return _FORCED[0] is not None


@contextlib.contextmanager
def forced(parts):
    """Within the block every ``run`` uses ``parts`` slabs (1: the calling thread only),
    whatever the size, thread setting or timings (for tests)."""
    saved, _FORCED[0] = _FORCED[0], parts
    try:
        yield
    finally:
        _FORCED[0] = saved


def split_axis(a, axes=(0, 1)):
    """Of ``axes``, the one outermost in a's memory (each slab then is one block of
    memory), preferring one long enough to give every thread a slab."""
    order = sorted(axes, key=lambda k: -abs(a.strides[k]))
    for k in order:
        if a.shape[k] >= threads():
            return k
    return max(axes, key=lambda k: a.shape[k])


def index(axis, sl):
    """The index tuple that takes slice ``sl`` along ``axis``."""
    return (slice(None),) * axis + (sl,)


def copy_to(dst, src, name="copy", plus=None):
    """``dst[...] = src`` (+ ``plus``; both broadcast to dst's shape), in slabs along dst's
    outermost axis. ``plus`` is added to each slab in place right after its copy: one
    ``np.add`` from a strided ``src`` and a broadcast ``plus`` was slower than the two
    (4.9 against 3.2 ms for Winograd's tile copy of (32, 64, 32, 32) float32 plus bias,
    on one thread)."""
    if dst.ndim == 0 or dst.size == 0:
        dst[...] = src if plus is None else src + plus
        return
    axis = split_axis(dst, range(dst.ndim))
    src = src if getattr(src, "shape", ()) == dst.shape else np.broadcast_to(src, dst.shape)
    if plus is not None:
        plus = np.broadcast_to(plus, dst.shape)

    def slab(sl):
        i = index(axis, sl)
        dst[i] = src[i]
        if plus is not None:
            dst[i] += plus[i]
    run(slab, dst.shape[axis], (2 if plus is None else 3) * dst.nbytes, name)


def _reset_after_fork():
    global _LOCK
    _LOCK = threading.Lock()  # another thread may have held it at the fork
    _POOL[0] = None
    _LOCAL.inside = False


def _shutdown_before_fork():
    with _LOCK:
        pool, _POOL[0] = _POOL[0], None
    if pool is not None:
        pool.shutdown(wait=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_shutdown_before_fork, after_in_child=_reset_after_fork)
