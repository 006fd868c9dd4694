"""NumPy's BLAS as ndgrad sees it (library, kernel, threads), and ``matmul``, the matrix
product every ndgrad op uses, with a thread count chosen per product size by measurement
(also ``axpy``, the one-pass ``y += a·x`` of the SGD update; see its docstring).

Why. On a 2-core machine OpenBLAS's second thread is a gamble: when the other core is
free a large GEMM runs ~1.6x faster on two threads, but when another process holds that
core the product waits for a worker that is not scheduled, and the same GEMM takes
4-30x longer (``benchmarks/bench_threads.py``, 31 paired rounds on a busy machine:
128x784x512 took 1.0 ms on one thread, 42 ms on two). PyTorch's OpenMP pool suffers
the same way. Below a few MFLOP the hand-off to the worker never pays.

What ``matmul`` does. Products under ``SMALL_GEMM_FLOPS`` run on one thread. Larger ones
are sorted into size classes (powers of two of the FLOP count); each class keeps a
running average of the time per call on one thread and on all threads, uses the faster,
and tries the other one again after 0.05 s (doubling the wait up to 1 s while it stays
slower, and never sooner than 50x the slower setting's time, so tries cost <= ~2%), so
it follows the machine's load as it changes within about a second. A try is 3 calls and
counts the best (the first call on sleeping threads pays for waking them). A call slower
than ``_OUTLIER_CAP`` (2) times its setting's average counts as that much: one call that
lost the other core for a moment no longer flips the class to one thread until the next
try, while a lasting slowdown still raises the average 1.3x per call and flips it within
a few calls. MLP 784-512-256-10 step at 2 threads, the policies interleaved in one process
for 40 s each time: share of products on one thread 18% -> 3% on a lightly loaded
machine (median step 3.09 -> 2.82 ms, paired 0.99), paired 0.96-0.97 under the other
sessions' load, 1.005 with a CPU hog added (both policies ~91% on one thread).
"All threads" runs the product in slabs on ``autograd._parallel``'s pool, OpenBLAS set to
one thread (``_split_matmul``: as fast as OpenBLAS's threads, which would spin after the
call and hold the other core from the threaded copies and pooling that follow).
The thread count is switched with one C call (< 1 µs) through threadpoolctl and put
back afterwards (to the count in force at the call, so ``threadpool_limits`` still rules).
With one BLAS thread configured (``OPENBLAS_NUM_THREADS=1``) or without threadpoolctl it
is plain ``np.matmul``.

Uses ``threadpoolctl`` (if installed) to find the BLAS library NumPy loaded. Without it
everything here degrades to "unknown" and ``set_threads`` does nothing.
"""
import math
import os
import time

import numpy as np

ADAPTIVE = True               # False: every product on BLAS's configured thread count
SMALL_GEMM_FLOPS = 4e6        # below this a product always runs on one thread
# OpenBLAS itself runs a GEMM on one thread while m·n·k < 2 · 65536 · 4 (interface/gemm.c:
# SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD, the thread count truncated to 1), so
# products smaller than that skip the thread switch: ~3.5 µs of 5 per small product
# at 2 threads (an MLP step has 4-5 of them: (128, 10) @ (10, 256) and the like).
_ONE_THREAD_FLOPS = 2.0 * 2 * 65536 * 4
_EXPLORE_MIN, _EXPLORE_MAX = 0.05, 1.0  # seconds between tries of the other setting
_TRY_COST_FACTOR = 50
_TRY_CALLS = 3  # calls per try of the other setting (the best one counts)
_OUTLIER_CAP = 2.0   # a call counts as at most this many times its setting's average

_STATE = {}


def _controller():
    """threadpoolctl's controller of NumPy's BLAS library, or None."""
    if "ctl" not in _STATE:
        ctl = None
        try:
            import numpy  # noqa: F401  (loads the BLAS)
            from threadpoolctl import ThreadpoolController
            libs = ThreadpoolController().select(user_api="blas").lib_controllers
            ctl = _numpy_blas(libs)
        except Exception:  # not installed, or an unknown library layout
            ctl = None
        _STATE["ctl"] = ctl
        _STATE["max"] = ctl.num_threads if ctl is not None else None
        _STATE["openblas"] = getattr(ctl, "internal_api", None) == "openblas"
    return _STATE["ctl"]


def _numpy_blas(controllers):
    """Of the BLAS libraries loaded in this process, the one NumPy itself uses. Another
    may come first in threadpoolctl's list (SciPy's own OpenBLAS, loaded by SciPy or
    scikit-learn): ndgrad would then set the threads of a library its products never
    call. NumPy's is the one inside NumPy's install (numpy/ or a wheel's numpy.libs/),
    else the one of the version NumPy was built against, else the only one."""
    if not controllers:
        return None
    site = os.path.dirname(os.path.dirname(os.path.realpath(np.__file__)))
    own = (os.path.join(site, "numpy") + os.sep, os.path.join(site, "numpy.libs") + os.sep)
    for ctl in controllers:
        if os.path.realpath(getattr(ctl, "filepath", None) or "").startswith(own):
            return ctl
    try:
        version = np.__config__.CONFIG["Build Dependencies"]["blas"]["version"]
    except (AttributeError, KeyError, TypeError):
        version = None
    matching = [ctl for ctl in controllers if version and ctl.version == version]
    return matching[0] if len(matching) == 1 else controllers[0]


def info():
    """dict(library, version, kernel, threads, path) of NumPy's BLAS (values may be None)."""
    ctl = _controller()
    if ctl is None:
        return dict(library=None, version=None, kernel=None, threads=None, path=None)
    return dict(library=ctl.internal_api, version=ctl.version,
                kernel=getattr(ctl, "architecture", None), threads=ctl.get_num_threads(),
                path=ctl.filepath)


def describe():
    i = info()
    if i["library"] is None:
        return "unknown (threadpoolctl not installed)"
    return f"{i['library']} {i['version']}, kernel {i['kernel']}, {i['threads']} threads"


def max_threads():
    """The BLAS thread count at import time (its default, or the user's setting)."""
    _controller()
    return _STATE.get("max") or os.cpu_count() or 1


def set_threads(n):
    """Set the BLAS thread count (a no-op without threadpoolctl)."""
    ctl = _controller()
    if ctl is not None:
        ctl.set_num_threads(n)


def current_threads():
    """The BLAS thread count in force now (``threadpool_limits`` included); without
    threadpoolctl, ``max_threads()``."""
    ctl = _STATE["ctl"] if "ctl" in _STATE else _controller()
    return ctl.get_num_threads() if ctl is not None else max_threads()


_CLASSES = {}   # log2(flops) -> state list (see matmul)


def _flops(a, b):
    if a.ndim < 2 or b.ndim < 2:
        return 0
    batch = max(a.size // (a.shape[-1] * a.shape[-2] or 1),
                b.size // (b.shape[-1] * b.shape[-2] or 1))
    return 2.0 * batch * a.shape[-2] * a.shape[-1] * b.shape[-1]


def matmul(a, b, out=None):
    """``np.matmul(a, b)`` on the number of BLAS threads measured to be faster for its size."""
    ctl = _STATE["ctl"] if "ctl" in _STATE else _controller()
    many = ctl.get_num_threads() if ADAPTIVE and ctl is not None else 1  # the user's setting
    if many <= 1:
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    flops = _flops(a, b)
    if flops < SMALL_GEMM_FLOPS:
        if flops < _ONE_THREAD_FLOPS and _STATE["openblas"]:  # one thread already
            return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
        return _timed(a, b, out, 1, many)[0]
    st, arm = choose(_CLASSES, int(math.log2(flops)))
    result, dt = _timed(a, b, out, 1 if arm == 0 else many, many)
    record(st, arm, dt)
    return result


def choose(classes, key):
    """The adaptive thread policy, shared with ``autograd._parallel``: which setting to run
    this call of size class ``key`` on, 0 (one thread) or 1 (all threads), and the class's
    state, to pass to ``record`` with the call's time. ``classes``: the caller's dict of
    size classes (each user keeps its own)."""
    st = classes.get(key)
    if st is None:  # [avg 1 thread, avg N threads, next try at, wait, tries left, best of try]
        st = classes[key] = [None, None, 0.0, _EXPLORE_MIN, 0, None]
    if st[0] is None or st[1] is None:   # measure each setting once
        return st, 0 if st[0] is None else 1
    arm = 0 if st[0] <= st[1] else 1
    if st[4] == 0 and time.perf_counter() >= st[2]:  # time to try the other one again
        st[4], st[5] = _TRY_CALLS, None
    return st, (1 - arm if st[4] else arm)


def record(st, arm, dt):
    """Account a call of ``dt`` seconds on setting ``arm`` (see ``choose``)."""
    if st[4]:  # a try: its best call (the first may pay for waking the threads) replaces
        st[5] = dt if st[5] is None else min(st[5], dt)  # the stale figure
        st[4] -= 1
        if st[4]:
            return
        st[arm] = st[5]
        st[3] = min(2 * st[3], _EXPLORE_MAX) if st[arm] > st[1 - arm] else _EXPLORE_MIN
    else:
        old = st[arm]
        if old is not None and _OUTLIER_CAP is not None:
            dt = min(dt, _OUTLIER_CAP * old)
        st[arm] = dt if old is None else 0.7 * old + 0.3 * dt
        if st[2] != 0.0:
            return
    # next try: after the wait, and never sooner than 50x the slower setting's time
    # (so that tries cost at most ~2% however bad the other setting is)
    slower = max(v for v in st[:2] if v is not None)
    st[2] = time.perf_counter() + max(st[3], _TRY_COST_FACTOR * slower * _TRY_CALLS)


def _timed(a, b, out, threads, many):
    ctl = _STATE["ctl"]
    split = threads > 1 and SPLIT and _splittable(a, b, out) and _slabs_lately()
    if threads != many or split:
        ctl.set_num_threads(1 if split else threads)
    t0 = time.perf_counter()
    try:
        if split:
            result = _split_matmul(a, b, out, threads)
        else:
            result = np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    finally:
        if threads != many or split:
            ctl.set_num_threads(many)
    return result, time.perf_counter() - t0


SPLIT = True  # False: "all threads" means OpenBLAS's own threads


def _slabs_lately():
    """Has ``autograd._parallel`` had threaded work lately (see ``_split_matmul``)?"""
    par = _STATE.get("parallel")
    if par is None:
        from . import _parallel as par
        _STATE["parallel"] = par
    return par.used_lately()


def _splittable(a, b, out):
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim >= 2
            and b.ndim >= 2 and a.dtype == b.dtype and a.dtype.kind in "fc"
            and (out is None or out.dtype == a.dtype))


def _split_matmul(a, b, out, parts):
    """``np.matmul(a, b)`` as ``parts`` products on single-threaded OpenBLAS, side by side
    on ``autograd._parallel``'s threads: the batch, or the larger of the result's rows and
    columns, cut into slabs (each slab's product writes into its part of the result).

    Why not OpenBLAS's own threads: after a call they spin (busy-wait, ~0.1 s) for the
    next one, holding the other core, so any other threaded work (``_parallel``'s slabs
    of pooling, im2col, col2im) found no free core and ran no faster than on one thread
    (col2im of LeNet's conv2 after a 2-thread GEMM: 4.3 ms on one thread, 4.7 ms in two
    slabs). Splitting the product ourselves is as fast as OpenBLAS's two threads (e.g.
    (50, 500) @ (500, 12544): 8.1 ms on one thread, 4.5 ms on two, 4.4 ms in two slabs)
    and leaves no thread spinning. Only while ``autograd._parallel`` has had threaded work
    in the last 0.25 s: otherwise (an MLP, say) nothing competes with OpenBLAS's spinning
    threads, whose instant start wins on mid-sized products (MLP step at 2 threads 2.4 ms
    with them, 3.0 ms with the split: ~0.1 ms hand-off per product); mixing the two, with
    slab work about, is the worst (LeNet-5 step 32 -> 45 ms)."""
    from . import _parallel
    m, n = a.shape[-2], b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if out is None:
        out = np.empty(batch + (m, n), a.dtype)
    nd = out.ndim
    if batch and batch[0] >= parts:   # slabs of the leading batch axis
        a_cut = a.ndim == nd and a.shape[0] != 1
        b_cut = b.ndim == nd and b.shape[0] != 1

        def slab(sl):
            np.matmul(a[sl] if a_cut else a, b[sl] if b_cut else b, out=out[sl])
        size = batch[0]
    elif n >= m:                      # slabs of the result's columns

        def slab(sl):
            np.matmul(a, b[..., sl], out=out[..., sl])
        size = n
    else:                             # slabs of the result's rows

        def slab(sl):
            np.matmul(a[..., sl, :], b, out=out[..., sl, :])
        size = m
    _parallel.run_split(slab, size, parts)
    return out


# ---------------------------------------------------------------------- axpy
def axpy(alpha, x, y, routine=None):
    """``y += alpha * x`` in place, in one pass over memory, with BLAS's ``?axpy`` on one
    thread; returns True, or False (nothing done) where it does not apply: not float32 or
    float64 arrays of one dtype and shape, both C-contiguous, ``y`` writeable and not
    sharing memory with ``x``, or no BLAS reachable (the caller then writes ``y`` with
    NumPy). The ctypes call costs ~3 µs, so on small arrays it is no faster than NumPy,
    but it is used on every size so that the rounding does not depend on the size.

    Why. NumPy has no fused multiply-add, so ``y -= lr * x`` is two passes (the product
    into a temporary, then the subtraction) and the SGD update of a large layer writes
    and reads a temporary as big as the layer. ``?axpy`` reads x and y once and writes y
    once, and it is a fused multiply-add per element, ``fma(x, alpha, y)``: exactly
    PyTorch's ``p.add_(grad, alpha=-lr)`` (bitwise equal on float32, where the two NumPy
    passes round twice and differ in ~2% of the elements by an ulp). MLP 784-512-256-10,
    one thread, inside the training step (12 interleaved rounds): SGD update 0.34 ->
    0.20 ms, the whole step 4.37 -> 4.21 ms (paired ratio 0.96). One thread always:
    OpenBLAS threads ``?axpy`` above 10,000 elements, and on this busy 2-core machine the
    hand-off made the update 14 ms (median).

    The routine comes from the library NumPy loaded (found by threadpoolctl), through
    ``ctypes``; only ILP64 builds whose symbols say so (``scipy_cblas_saxpy64_``, NumPy's
    own wheels, and ``cblas_saxpy64_``) are used, so that the integer arguments are
    certain to be 64-bit. ``routine``: what ``axpy_routine(x, y)`` returned, if the caller
    has asked already."""
    fn = routine or axpy_routine(x, y)
    if fn is None:
        return False
    ctl = _STATE["ctl"]
    many = ctl.get_num_threads()
    if many > 1:
        ctl.set_num_threads(1)
    try:
        fn(y.size, float(alpha), x.ctypes.data, 1, y.ctypes.data, 1)
    finally:
        if many > 1:
            ctl.set_num_threads(many)
    return True


def axpy_routine(x, y):
    """The BLAS routine ``axpy(alpha, x, y)`` would use, or None where it does not apply."""
    fns = _STATE.get("axpy")
    if fns is None:
        fns = _STATE["axpy"] = _find_axpy()
    fn = fns.get(y.dtype) if type(y) is np.ndarray and type(x) is np.ndarray else None
    if (fn is None or x.dtype != y.dtype or x.shape != y.shape
            or not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable)
            or np.may_share_memory(x, y)):
        return None
    return fn


def _find_axpy():
    """{dtype: ctypes function} for NumPy's BLAS ``?axpy`` (empty when not found)."""
    import ctypes
    ctl = _controller()
    path = getattr(ctl, "filepath", None)
    if ctl is None or not path:
        return {}
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return {}
    found = {}
    for dtype, letter, scalar in ((np.dtype(np.float32), "s", ctypes.c_float),
                                  (np.dtype(np.float64), "d", ctypes.c_double)):
        for name in (f"scipy_cblas_{letter}axpy64_", f"cblas_{letter}axpy64_"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = None
                fn.argtypes = [ctypes.c_int64, scalar, ctypes.c_void_p, ctypes.c_int64,
                               ctypes.c_void_p, ctypes.c_int64]
                found[dtype] = fn
                break
    return found
