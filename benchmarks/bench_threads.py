"""Do two BLAS threads pay off? GEMM time on 1 vs 2 OpenBLAS threads, by size.

For each GEMM shape that ndgrad's layers produce (MLP, LeNet-5, the conv cases of
bench_nn.py), times ``a @ b`` with NumPy's BLAS limited to 1 thread and to N threads
(default: all), alternating the two settings call by call, and reports the median of
the paired ratios t(N threads) / t(1 thread) (< 1: threads help). The thread count is
switched with threadpoolctl's direct handle on the library (one C call each).

    python benchmarks/bench_threads.py [--rounds 41] [--threads N]

Used to choose ``autograd._blas.SMALL_GEMM_FLOPS``: below it ndgrad runs a GEMM
on one thread (see that module's docstring for the measured figures).
"""
import argparse
import statistics
import sys
import time

import _harness as H  # noqa: F401  (sets sys.path)
import numpy as np

SHAPES = [  # (m, k, n): (m x k) @ (k x n), float32
    ("MLP fc3 fwd 128x256x10", (128, 256, 10)),
    ("MLP fc2 fwd 128x512x256", (128, 512, 256)),
    ("MLP fc1 fwd 128x784x512", (128, 784, 512)),
    ("MLP fc1 dW 512x128x784", (512, 128, 784)),
    ("LeNet fc1 fwd 64x2450x500", (64, 2450, 500)),
    ("LeNet conv1 fwd 20x25x50176", (20, 25, 50176)),
    ("LeNet conv2 fwd 50x500x12544", (50, 500, 12544)),
    ("LeNet conv2 dW 50x12544x500", (50, 12544, 500)),
    ("3x3 conv fwd 64x576x32768", (64, 576, 32768)),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--threads", type=int, default=None, help="N (default: BLAS's own count)")
    args = ap.parse_args(argv)
    sys.path.insert(0, H._REPO)
    from autograd import _blas
    many = args.threads or _blas.max_threads()
    print(f"# BLAS: {_blas.describe()}; comparing 1 vs {many} threads, {args.rounds} rounds")
    H.warn_if_busy()
    rng = np.random.default_rng(0)
    print(f"{'GEMM (m x k x n)':32} {'MFLOP':>8} {'t1 (ms)':>9} {'tN (ms)':>9} {'tN/t1':>7}")
    for label, (m, k, n) in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        times = {1: [], many: []}
        for _ in range(args.rounds):
            for nt in (1, many):
                _blas.set_threads(nt)
                a @ b  # warm: the threads wake up
                t0 = time.perf_counter()
                a @ b
                times[nt].append(time.perf_counter() - t0)
        _blas.set_threads(many)
        ratio = statistics.median(x / y for x, y in zip(times[many], times[1]))
        print(f"{label:32} {2 * m * k * n / 1e6:8.1f} {statistics.median(times[1]) * 1e3:9.3f} "
              f"{statistics.median(times[many]) * 1e3:9.3f} {ratio:7.2f}")


if __name__ == "__main__":
    sys.exit(main())
