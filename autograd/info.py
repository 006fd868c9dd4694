"""What ndgrad runs on: NumPy's BLAS, its kernel and threads, and the CPU's instruction sets.

    python -m autograd.info            # or, in Python: autograd.show_config()
    python -m autograd.info --no-measure

All of ndgrad's heavy arithmetic (matrix products, hence convolutions and linear
layers) runs in the BLAS library NumPy ships, usually OpenBLAS. OpenBLAS picks its
compute kernel for the CPU when it loads, but a build may not know a new CPU and fall
back to an older kernel: e.g. Haswell (AVX2) kernels on a CPU with AVX-512, which
leaves up to half of the GEMM speed unused. ``OPENBLAS_CORETYPE=<kernel>``, set before
Python starts, overrides the choice. When the kernel in use is older than the CPU
allows, this report says so and measures the speed-up on the spot: a float32 GEMM on one
thread in fresh interpreters with and without the override, alternated over a few
rounds (the median of the paired ratios).

Threads: NumPy's BLAS uses ``threads`` worker threads (``OPENBLAS_NUM_THREADS``);
ndgrad picks one or all of them per product size by measurement (``autograd/_blas.py``).
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys

import numpy as np

from . import _blas

# OpenBLAS x86 kernels by the instruction set their float GEMMs use
# (Cooperlake/SapphireRapids add bf16/fp16 kernels; their float32 GEMM is SkylakeX's).
_KERNEL_TIER = {
    "SAPPHIRERAPIDS": 3, "COOPERLAKE": 3, "SKYLAKEX": 3,
    "HASWELL": 2, "ZEN": 2, "EXCAVATOR": 2,
    "SANDYBRIDGE": 1, "BULLDOZER": 1, "PILEDRIVER": 1, "STEAMROLLER": 1,
}
_TIER_NAME = {3: "AVX-512", 2: "AVX2+FMA", 1: "AVX", 0: "SSE"}
_AVX512 = ("avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd")
# flags shown in the report, in this order (those the CPU has)
_SHOWN = ("sse4_2", "avx", "fma", "avx2") + _AVX512 + (
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "asimd", "sve")


def cpu_features():
    """(model name, set of instruction-set flags) of this CPU (Linux's /proc/cpuinfo;
    elsewhere the flags are empty)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and value.strip():
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def cpu_tier(flags):
    """The best float-GEMM instruction tier the CPU has: 3 AVX-512, 2 AVX2+FMA, 1 AVX, 0."""
    if all(f in flags for f in _AVX512):
        return 3
    if "avx2" in flags and "fma" in flags:
        return 2
    return 1 if "avx" in flags else 0


def best_kernel(flags):
    """The OpenBLAS kernel to ask for (``OPENBLAS_CORETYPE``) on a CPU with ``flags``."""
    return {3: "SkylakeX", 2: "Haswell", 1: "Sandybridge"}.get(cpu_tier(flags))


def kernel_advice(kernel, flags):
    """None if ``kernel`` uses the best instruction set the CPU has, else the kernel to set."""
    if kernel is None:
        return None
    tier = _KERNEL_TIER.get(str(kernel).upper())
    if tier is None or tier >= cpu_tier(flags):
        return None
    return best_kernel(flags)


_GEMM_SCRIPT = """
import time, numpy as np
n = {n}
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = a.T.copy()
a @ b
best = min((lambda t0: (a @ b, time.perf_counter() - t0)[1])(time.perf_counter())
           for _ in range({repeat}))
print(2 * n ** 3 / best / 1e9)
"""


def _gflops(coretype, n, repeat):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if coretype is not None:
        env["OPENBLAS_CORETYPE"] = coretype
    out = subprocess.run([sys.executable, "-c", _GEMM_SCRIPT.format(n=n, repeat=repeat)],
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def measure_speedup(coretype, n=768, rounds=5, repeat=5):
    """Median over ``rounds`` of GFLOP/s(OPENBLAS_CORETYPE=coretype) / GFLOP/s(default)
    for an n x n float32 GEMM on one thread, each in a fresh interpreter, alternated.
    Returns (ratio, default GFLOP/s, forced GFLOP/s) (the GFLOP/s are medians)."""
    pairs = [(_gflops(None, n, repeat), _gflops(coretype, n, repeat)) for _ in range(rounds)]
    return (statistics.median(f / d for d, f in pairs),
            statistics.median(d for d, _ in pairs), statistics.median(f for _, f in pairs))


def report(measure=True):
    """The configuration report (a str); with ``measure``, time the kernel advice."""
    model, flags = cpu_features()
    blas = _blas.info()
    lines = [
        f"ndgrad on Python {platform.python_version()}, NumPy {np.__version__}",
        f"CPU:      {model} ({os.cpu_count()} logical CPUs"
        + (f", {len(os.sched_getaffinity(0))} usable)" if hasattr(os, "sched_getaffinity")
           else ")"),
        "          instruction sets: " + (" ".join(f for f in _SHOWN if f in flags) or "unknown")
        + f"  (best float GEMM tier: {_TIER_NAME[cpu_tier(flags)]})",
    ]
    if blas["library"] is None:
        lines.append("BLAS:     unknown (pip install threadpoolctl to see NumPy's BLAS)")
        return "\n".join(lines)
    lines += [
        f"BLAS:     {blas['library']} {blas['version']}  ({blas['path']})",
        f"          kernel {blas['kernel']}, {blas['threads']} threads"
        + ("  (OPENBLAS_CORETYPE=%s)" % os.environ["OPENBLAS_CORETYPE"]
           if "OPENBLAS_CORETYPE" in os.environ else ""),
        "Threads:  " + ("ndgrad runs products under %.0e FLOP on one thread and picks one or all "
                        "threads per size class by measurement" % _blas.SMALL_GEMM_FLOPS
                        if _blas.ADAPTIVE and (blas["threads"] or 1) > 1 else
                        "one BLAS thread: every product runs single-threaded"),
    ]
    better = kernel_advice(blas["kernel"], flags)
    if better is None:
        lines.append(f"Advice:   none; the {blas['kernel']} kernel uses the best instruction set "
                     f"this CPU offers for float GEMMs.")
        return "\n".join(lines)
    lines.append(f"Advice:   the {blas['kernel']} kernel is older than this CPU allows. Start "
                 f"Python with\n              export OPENBLAS_CORETYPE={better}\n"
                 f"          (before NumPy is imported) to use the {better} kernel.")
    if measure:
        try:
            ratio, base, forced = measure_speedup(better)
            lines.append(f"          Measured now (768^3 float32 GEMM, 1 thread, 5 paired runs): "
                         f"{base:.0f} -> {forced:.0f} GFLOP/s, {ratio:.2f}x.")
        except Exception as e:  # measuring is a bonus; the advice stands
            lines.append(f"          (could not measure the speed-up: {type(e).__name__}: {e})")
    return "\n".join(lines)


def show_config(measure=True):
    """Print NumPy's BLAS (library, kernel, threads), the CPU's instruction sets and, when
    the BLAS kernel is older than the CPU allows, how to change it and the speed-up
    measured on the spot. Same as ``python -m autograd.info``."""
    print(report(measure=measure))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m autograd.info", description=__doc__.splitlines()[0])
    ap.add_argument("--no-measure", action="store_true",
                    help="do not time the suggested BLAS kernel (faster)")
    args = ap.parse_args(argv)
    show_config(measure=not args.no_measure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
