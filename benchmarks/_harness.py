"""Small, dependency-free helpers shared by the benchmark scripts.

* ``timeit(fn)``: warm-up, then repeated calls timed with ``time.perf_counter``
  (or ``time.process_time``: ``--clock cpu``);
  returns a ``Timing`` with the median and the min (seconds).
* ``peak_memory(fn)``: peak bytes allocated by Python/NumPy during one call
  (``tracemalloc``; NumPy reports its buffers to it) plus the process max RSS.
* ``gc_share(fn)``: the fraction of one call's wall time spent in the cyclic GC.
* ``Table``: prints rows ``case | ndgrad | numpy-ref | torch | ndgrad/torch |
  ndgrad/numpy`` and collects them for ``--json OUT``.
* ``import_torch()``: ``torch`` or None, with its intra-op thread count set to
  the number of threads NumPy's BLAS uses, so both sides get the same cores.
* ``import_ndgrad()``: ``(autograd, nn, nn.functional)`` or None, with the
  reason printed once, so the other columns still run while ndgrad is missing.

Times are per call of the benchmarked function; each script says what one call
does.
"""
import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass, field

# Make ``import autograd`` / ``import nn`` work when a script runs as
# ``python benchmarks/bench_nn.py`` from anywhere.
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

import numpy as np


# --------------------------------------------------------------------------- timing
# The clock every measurement uses: wall time by default; ``--clock cpu``
# switches to this process's CPU time (all threads), which other processes on
# a shared machine barely disturb -- meaningful with ``--threads 1`` (with more
# threads, BLAS/OpenMP workers spinning while they wait count as CPU time).
clock = time.perf_counter
CLOCK_NAME = "wall"

@dataclass
class Timing:
    median: float          # seconds
    min: float             # seconds
    repeat: int
    samples: list = field(default_factory=list, repr=False)
    gc_fraction: float = None   # share of the timed wall time spent in the cyclic GC
    gc_collections: int = None
    minor_faults: float = None  # page faults per call (fresh memory touched; getrusage)
    round_mins: list = field(default_factory=list, repr=False)  # best sample of each round

    def as_dict(self):
        d = {"median_s": self.median, "min_s": self.min, "repeat": self.repeat}
        if self.gc_fraction is not None:
            d["gc_fraction"] = self.gc_fraction
            d["gc_collections"] = self.gc_collections
        if self.minor_faults is not None:
            d["minor_faults_per_call"] = self.minor_faults
        return d

    def scaled(self, factor):
        """Per-unit timing (e.g. per op): every sample multiplied by ``factor``."""
        return Timing(self.median * factor, self.min * factor, self.repeat,
                      [x * factor for x in self.samples], self.gc_fraction, self.gc_collections,
                      self.minor_faults, [x * factor for x in self.round_mins])


class _GCTimer:
    """Accumulates time spent inside gc collections while installed."""

    def __init__(self):
        self.total = 0.0
        self.n = 0
        self._t0 = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._t0 = clock()
        else:
            self.total += clock() - self._t0
            self.n += 1

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


def timeit(fn, repeat=10, warmup=2, number=1, max_time=None, warmup_time=0.3, setup=None,
           track_gc=True):
    """Time ``fn()``: ``warmup`` untimed calls (continued until ``warmup_time``
    seconds have passed, at most 100 calls), then ``repeat`` samples of
    ``number`` calls each. Returns per-call seconds (median and min) and the
    share of the timed time spent in the cyclic garbage collector.

    With ``setup``, every call is ``fn(setup())`` and only ``fn`` is timed
    (e.g. build a graph untimed, time its backward); ``number`` must be 1.

    The time-based warm-up matters when NumPy (OpenBLAS threads) and torch
    (OpenMP threads) alternate in one process on few cores: for the first
    several calls after switching, the other library's worker threads are
    still spinning and steal the cores (seen: 2.2 ms steps taking 6.5 ms).

    ``max_time`` (seconds) stops sampling early once that much has been spent
    (at least 3 samples are always taken), so slow cases stay quick.
    """
    assert setup is None or number == 1

    def call():
        if setup is None:
            t0 = clock()
            for _ in range(number):
                fn()
            return clock() - t0
        arg = setup()
        t0 = clock()
        fn(arg)
        dt = clock() - t0
        del arg
        return dt

    t_start = clock()
    n = 0
    while n < warmup or (clock() - t_start < warmup_time and n < 100):
        call()
        n += 1
    samples = []
    spent = 0.0
    gct = _GCTimer()
    faults0 = _minor_faults()
    with gct if track_gc else _nullcontext():
        for i in range(repeat):
            dt = call()
            # with setup, GC during setup is not part of the timed call
            samples.append(dt / number)
            spent += dt
            if max_time is not None and spent > max_time and i >= 2:
                break
    t = Timing(statistics.median(samples), min(samples), len(samples), samples)
    if setup is None:
        t.minor_faults = (_minor_faults() - faults0) / (len(samples) * number)
    if track_gc and setup is None and spent > 0:
        t.gc_fraction, t.gc_collections = gct.total / spent, gct.n
    return t


def _minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def merge_timings(timings):
    """One Timing from several (pooled samples; GC share weighted by time)."""
    timings = [t for t in timings if t is not None]
    if not timings:
        return None
    samples = [x for t in timings for x in t.samples]
    out = Timing(statistics.median(samples), min(samples), len(samples), samples)
    out.round_mins = [t.min for t in timings]
    faults = [(t.minor_faults, t.repeat) for t in timings if t.minor_faults is not None]
    if faults:
        out.minor_faults = sum(f * r for f, r in faults) / sum(r for _, r in faults)
    gcs = [t for t in timings if t.gc_fraction is not None]
    if gcs:
        total = sum(sum(t.samples) for t in gcs)
        out.gc_fraction = sum(t.gc_fraction * sum(t.samples) for t in gcs) / total if total else 0.0
        out.gc_collections = sum(t.gc_collections for t in gcs)
    return out


def measure_interleaved(fns, rounds=2, repeat=10, **timeit_kw):
    """Time several implementations of one case in alternation.

    ``fns`` maps a column name to a zero-argument callable, or to a pair
    ``(fn, setup)`` timed as ``fn(setup())`` with only ``fn`` timed (see
    ``timeit``), or to None (not available). Each of ``rounds`` rounds times every column for about
    ``repeat / rounds`` samples (with its own warm-up), so that a burst of load
    from other processes hits all columns alike instead of one. Returns
    {name: Timing or None}; a column that raises is reported once and is None.
    """
    per_round = max(1, -(-repeat // rounds))
    got = {name: [] for name in fns}
    dead = set()
    for _ in range(rounds):
        for name, fn in fns.items():
            if fn is None or name in dead:
                continue
            fn, setup = fn if isinstance(fn, tuple) else (fn, None)
            gc.collect()  # the previous column's garbage is not charged to this one
            try:
                got[name].append(timeit(fn, repeat=per_round, setup=setup, **timeit_kw))
            except Exception as e:
                msg = str(e).splitlines()[0][:120] if str(e) else ""
                print(f"  [{name}: n/a ({type(e).__name__}: {msg})]")
                dead.add(name)
    return {name: (None if name in dead else merge_timings(ts)) for name, ts in got.items()}


def fmt_time(seconds, unit=None):
    """``1.23 ms`` style; ``unit`` forces 's', 'ms' or 'us'."""
    if seconds is None:
        return "n/a"
    if unit is None:
        unit = "s" if seconds >= 1 else "ms" if seconds >= 1e-3 else "us"
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
    return f"{seconds * scale:.3g} {unit}"


def fmt_bytes(n):
    if n is None:
        return "n/a"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


# --------------------------------------------------------------------------- memory
def max_rss_bytes():
    """The process's peak resident set size so far, in bytes.

    Linux: VmHWM from /proc/self/status (per address space, so it starts
    afresh in a new process; getrusage's ru_maxrss survives fork+exec and a
    child started by a big parent would report the parent's peak). Elsewhere:
    resource.getrusage ru_maxrss.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def reset_peak_rss():
    """Reset the peak-RSS mark to the current RSS (Linux >= 4.0); True on success."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_memory(fn):
    """Run ``fn()`` once under tracemalloc; return (peak_bytes, result).

    Counts Python objects and NumPy buffers (NumPy reports its allocations to
    tracemalloc); not memory allocated inside BLAS or by torch's C++ allocator.
    tracemalloc slows Python-heavy code down, so never time under it.
    """
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak, result


def with_python_gc_defaults(fn):
    """``fn`` run under CPython's default GC thresholds (700, 10, 10).

    ``import autograd`` raises the young-generation threshold (ndgrad's graphs have
    no reference cycles); engines compared against it in the same process (the
    micrograd-style reference, torch) are timed as they run on their own."""
    def wrapped(*args, **kwargs):
        saved = gc.get_threshold()
        gc.set_threshold(700, 10, 10)
        try:
            return fn(*args, **kwargs)
        finally:
            gc.set_threshold(*saved)
    wrapped.__name__ = getattr(fn, "__name__", "wrapped")
    return wrapped


def gc_share(fn):
    """Run ``fn()`` once; return (fraction of wall time spent in GC, n collections)."""
    state = {"t0": 0.0, "total": 0.0, "n": 0}

    def cb(phase, info):
        if phase == "start":
            state["t0"] = clock()
        else:
            state["total"] += clock() - state["t0"]
            state["n"] += 1

    gc.collect()
    gc.callbacks.append(cb)
    try:
        t0 = clock()
        fn()
        wall = clock() - t0
    finally:
        gc.callbacks.remove(cb)
    return (state["total"] / wall if wall > 0 else 0.0), state["n"]


# --------------------------------------------------------------------------- threads / imports
def numpy_threads():
    """Threads NumPy's BLAS will use (threadpoolctl if installed, else env/cpus)."""
    try:
        from threadpoolctl import threadpool_info
        counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except Exception:
        pass
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


_TORCH = "unset"


def import_torch(disabled=False):
    """``torch`` with ``set_num_threads(numpy_threads())``, or None."""
    global _TORCH
    if disabled:
        return None
    if _TORCH == "unset":
        try:
            import torch
            torch.set_num_threads(numpy_threads())
            _TORCH = torch
        except Exception as e:  # not installed, or broken install
            print(f"[torch column: n/a ({type(e).__name__}: {e})]")
            _TORCH = None
    return _TORCH


def import_ndgrad(need_nn=True):
    """``(autograd, nn, F)`` or None (printing why). ``nn``/``F`` are None if
    ``need_nn`` is False or only ``autograd`` imports."""
    try:
        import autograd
    except Exception as e:
        print(f"[ndgrad column: n/a (import autograd: {type(e).__name__}: {e})]")
        return None
    if not need_nn:
        return autograd, None, None
    try:
        import nn
        import nn.functional as F
    except Exception as e:
        print(f"[ndgrad column: n/a (import nn.functional: {type(e).__name__}: {e})]")
        return None
    return autograd, nn, F


def try_case(label, fn):
    """Call ``fn()``; on any exception print one line and return None, so that
    one missing/broken ndgrad op costs one cell, not the run."""
    try:
        return fn()
    except Exception as e:
        msg = str(e).splitlines()[0][:120] if str(e) else ""
        print(f"  [{label}: n/a ({type(e).__name__}: {msg})]")
        return None


def environment():
    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "numpy_threads": numpy_threads(),
        "clock": CLOCK_NAME,
    }
    if _TORCH not in (None, "unset"):
        info["torch"] = _TORCH.__version__
        info["torch_threads"] = _TORCH.get_num_threads()
    return info


def print_environment():
    env = environment()
    parts = [f"{k}={v}" for k, v in env.items()]
    print("# " + ", ".join(parts))
    warn_if_busy()


# --------------------------------------------------------------------------- argument parsing
def make_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="fewer repeats (for smoke tests / CI)")
    p.add_argument("--repeat", type=int, default=None, help="timed repeats per case")
    p.add_argument("--rounds", type=int, default=None,
                   help="alternate the columns this many times per case (default 3; --quick 1)")
    p.add_argument("--no-torch", action="store_true", help="skip the torch column")
    p.add_argument("--json", metavar="OUT", default=None,
                   help="also write the results as JSON to OUT")
    p.add_argument("--ratio-stat", choices=("paired", "min", "median"), default="paired",
                   help="statistic the ndgrad/x ratios use (default: paired = median over "
                        "rounds of the per-round ratio of best times)")
    p.add_argument("--threads", type=int, default=None,
                   help="limit NumPy's BLAS (threadpoolctl) and torch to N threads")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall: time.perf_counter (default); cpu: time.process_time, robust "
                        "to other processes' load -- use with --threads 1")
    return p


_LIMITS = []


def set_threads(n):
    """Limit BLAS (and, later, torch) to ``n`` threads for the rest of the run."""
    try:
        from threadpoolctl import threadpool_limits
        _LIMITS.append(threadpool_limits(limits=n))
    except Exception as e:
        print(f"# WARNING: cannot limit NumPy's threads ({type(e).__name__}); "
              f"set OPENBLAS_NUM_THREADS={n} OMP_NUM_THREADS={n} instead")
    os.environ["OMP_NUM_THREADS"] = str(n)


def parse_args(parser, argv=None):
    args = parser.parse_args(argv)
    global RATIO_STAT, clock, CLOCK_NAME
    RATIO_STAT = args.ratio_stat
    if args.threads:
        set_threads(args.threads)
    if args.clock == "cpu":
        clock, CLOCK_NAME = time.process_time, "cpu"
    return args


# --------------------------------------------------------------------------- the table
def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def paired_ratios(a, b):
    """Per round, a's best time / b's best time in that round (a list), or None unless
    both are Timings with the same number of rounds."""
    if not (isinstance(a, Timing) and isinstance(b, Timing)) or not a.round_mins \
            or len(a.round_mins) != len(b.round_mins) or min(b.round_mins) <= 0:
        return None
    return [x / y for x, y in zip(a.round_mins, b.round_mins)]


def paired_ratio(a, b):
    """Median over rounds of a's best time / b's best time in the same round.

    The columns of a case are timed in alternating rounds (``measure_interleaved``), so
    the two times of one round saw about the same outside load; their ratio is steadier
    than a ratio of overall minima on a shared machine. None unless both are Timings
    with the same number of rounds."""
    ratios = paired_ratios(a, b)
    return None if ratios is None else statistics.median(ratios)


# Which statistic the ratios use. "paired" (default): the median over rounds of
# the per-round ratio of best times (see ``paired_ratio``); falls back to "min"
# (on a shared 2-core machine other processes only ever add time, so the fastest
# sample is the most reproducible single number) when rounds do not pair up.
RATIO_STAT = "paired"


class Table:
    """Rows of ``case | ndgrad | numpy-ref | torch | ndgrad/torch | ndgrad/numpy``.

    Cells are Timings (printed ``median / min``), plain seconds, or None
    ("n/a"). Ratios use ``RATIO_STAT`` (paired by default); > 1 means ndgrad is
    slower. ``extra`` is a dict of additional named values for a row (GFLOP/s,
    the GEMM lower bound, ...), printed in a final column.
    """

    def __init__(self, title, unit=None, columns=("ndgrad", "numpy-ref", "torch")):
        self.title = title
        self.unit = unit
        self.columns = list(columns)
        self.rows = []

    @property
    def ref_column(self):
        """The hand-written reference the second ratio is taken against."""
        others = [c for c in self.columns if c not in ("ndgrad", "torch")]
        return others[0] if others else "numpy-ref"

    @staticmethod
    def _sec(cell, stat=None):
        if cell is None:
            return None
        if isinstance(cell, Timing):
            stat = stat or RATIO_STAT
            return getattr(cell, "min" if stat == "paired" else stat)
        return float(cell)

    @classmethod
    def ratio(cls, a, b):
        """a / b by ``RATIO_STAT`` (paired per-round ratios when possible)."""
        if RATIO_STAT == "paired":
            r = paired_ratio(a, b)
            if r is not None:
                return r
        return _ratio(cls._sec(a), cls._sec(b))

    def _cell(self, cell):
        if cell is None:
            return "n/a"
        if isinstance(cell, Timing):
            unit = self.unit
            if unit is None:
                unit = "s" if cell.min >= 1 else "ms" if cell.min >= 1e-3 else "us"
            scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
            return f"{cell.median * scale:.3g} / {cell.min * scale:.3g} {unit}"
        return fmt_time(float(cell), self.unit)

    def add(self, case, ndgrad=None, numpy_ref=None, torch=None, extra=None, **other):
        cells = {"ndgrad": ndgrad, "numpy-ref": numpy_ref, "torch": torch}
        cells.update({k.replace("_", "-"): v for k, v in other.items()})
        self.rows.append({"case": case, "cells": cells, "extra": extra or {}})

    @staticmethod
    def _ratio_cell(a, b, r):
        """``1.05x``, with the lowest and highest per-round ratio when there are 3+
        rounds (``1.05x [0.98-1.12]``): how far outside load moved it in this run."""
        if r is None:
            return "n/a"
        ratios = paired_ratios(a, b) if RATIO_STAT == "paired" else None
        if ratios is None or len(ratios) < 3:
            return f"{r:.2f}x"
        return f"{r:.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]"

    def _ratio_names(self):
        return "ndgrad/torch", f"ndgrad/{self.ref_column.replace('-ref', '')}"

    def print(self):
        ref_col = self.ref_column
        header = (["case"] + [f"{c} (med / min)" for c in self.columns]
                  + [f"{n} ({RATIO_STAT}{' [range]' if RATIO_STAT == 'paired' else ''})"
                     for n in self._ratio_names()] + ["notes"])
        lines = []
        for row in self.rows:
            cells = row["cells"]
            nd = cells.get("ndgrad")
            r_t = self.ratio(nd, cells.get("torch"))
            r_n = self.ratio(nd, cells.get(ref_col))
            notes = "; ".join(f"{k}={v}" for k, v in row["extra"].items())
            lines.append([row["case"]] + [self._cell(cells.get(c)) for c in self.columns]
                         + [self._ratio_cell(nd, cells.get("torch"), r_t),
                            self._ratio_cell(nd, cells.get(ref_col), r_n), notes])
        print()
        print(f"## {self.title}")
        if not lines:
            print("(no rows)")
            return
        widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
        fmt = " | ".join("{:<%d}" % w if i == 0 or i == len(widths) - 1 else "{:>%d}" % w
                         for i, w in enumerate(widths))
        print(fmt.format(*header).rstrip())
        print("-|-".join("-" * w for w in widths))
        for line in lines:
            print(fmt.format(*line).rstrip())

    def as_dict(self):
        out = []
        n_t, n_r = self._ratio_names()
        for row in self.rows:
            r = {"case": row["case"], "extra": row["extra"]}
            for c, v in row["cells"].items():
                if isinstance(v, Timing):
                    r[c] = v.as_dict()
                elif v is None:
                    r[c] = None
                else:
                    r[c] = {"median_s": float(v), "min_s": float(v)}
            nd = row["cells"].get("ndgrad")
            r[n_t] = self.ratio(nd, row["cells"].get("torch"))
            r[n_r] = self.ratio(nd, row["cells"].get(self.ref_column))
            r[n_t + " per round"] = paired_ratios(nd, row["cells"].get("torch"))
            r["ratio_stat"] = RATIO_STAT
            out.append(r)
        return {"title": self.title, "rows": out}


def cpu_busy_fraction(interval=0.5):
    """Share of all CPUs busy (any process) over ``interval`` s, from /proc/stat."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v), idle
    try:
        t0, i0 = snap()
        time.sleep(interval)
        t1, i1 = snap()
        return 1.0 - (i1 - i0) / max(1, t1 - t0)
    except OSError:
        return None


def warn_if_busy():
    """Print a warning when other processes use the CPUs (timings will be noisy)."""
    busy = cpu_busy_fraction()
    if busy is not None and busy > 0.15:
        print(f"# WARNING: CPUs already {busy:.0%} busy before the benchmark started "
              "(other processes); timings will be noisy. Ratios pair the columns round by round.")
    return busy


def dump_json(path, tables, **meta):
    if not path:
        return
    doc = {"environment": environment(), "tables": [t.as_dict() for t in tables]}
    doc.update(meta)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, default=str)
    print(f"\n[wrote {path}]")
