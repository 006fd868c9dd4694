"""Engine-overhead benchmarks: how much does recording and replaying the graph cost?

1. A chain of 2,000 small elementwise ops on a (16, 16) float32 tensor, cycling
   through  x*1.5, x+0.25, tanh, sigmoid, x-0.5, exp  (values stay bounded).
   Forward (recording the graph), backward (graph built untimed), and forward
   under no_grad, in microseconds per op. numpy-ref runs the same ops on bare
   arrays and applies the chain rule by hand (the floor: one ufunc call per op).
2. A 100,000-op chain of the same ops on shape (16,) tensors: forward+backward
   time and peak memory (each engine measured in a fresh subprocess: growth of
   max RSS, and tracemalloc's peak for the Python/NumPy side).
3. Scalar engines: a scalar MLP 2-16-16-1 (tanh) forward + backward of the mean
   squared error over 50 samples, and a 100,000-op scalar chain, with
   ``autograd.Scalar`` against a closure-based micrograd-style ``Value``
   (benchmarks/micrograd_ref.py) and torch 0-d tensors.

GC share = fraction of the timed wall time spent in CPython's cyclic garbage
collector (via gc.callbacks), shown as a note.

    python benchmarks/bench_engine.py [--quick] [--repeat N] [--no-torch] [--no-memory]
                                      [--only chain,deep,scalar] [--json OUT]
"""
import json
import argparse
import os
import subprocess
import sys
import time

import numpy as np

import _harness as H  # noqa: E402  (sets sys.path for autograd)
import micrograd_ref

CHAIN_N = 2_000
DEEP_N = 100_000
MLP_SIZES = (2, 16, 16, 1)
MLP_SAMPLES = 50

# the op cycle; each entry: (name, forward on any engine's value)
OPS = [
    ("mul", lambda x: x * 1.5),
    ("add", lambda x: x + 0.25),
    ("tanh", lambda x: x.tanh()),
    ("sigmoid", lambda x: x.sigmoid()),
    ("sub", lambda x: x - 0.5),
    ("exp", lambda x: x.exp()),
]


def chain(x, n):
    for i in range(n):
        x = OPS[i % len(OPS)][1](x)
    return x


# --------------------------------------------------------------------------- numpy reference
def np_chain_forward(x, n):
    """Returns the output and what backward needs (the outputs of tanh/sigmoid/exp)."""
    saved = []
    for i in range(n):
        k = i % 6
        if k == 0:
            x = x * np.float32(1.5)
        elif k == 1:
            x = x + np.float32(0.25)
        elif k == 2:
            x = np.tanh(x)
        elif k == 3:
            x = 1 / (1 + np.exp(-x))
        elif k == 4:
            x = x - np.float32(0.5)
        else:
            x = np.exp(x)
        saved.append(x)
    return x, saved


def np_chain_backward(g, saved, n):
    for i in reversed(range(n)):
        k = i % 6
        y = saved[i]
        if k == 0:
            g = g * np.float32(1.5)
        elif k == 2:
            g = g * (1 - y * y)
        elif k == 3:
            g = g * (y * (1 - y))
        elif k == 5:
            g = g * y
        # add / sub: gradient passes through unchanged
    return g


def np_chain_nograd(x, n):
    for i in range(n):
        k = i % 6
        if k == 0:
            x = x * np.float32(1.5)
        elif k == 1:
            x = x + np.float32(0.25)
        elif k == 2:
            x = np.tanh(x)
        elif k == 3:
            x = 1 / (1 + np.exp(-x))
        elif k == 4:
            x = x - np.float32(0.5)
        else:
            x = np.exp(x)
    return x


# --------------------------------------------------------------------------- engines
class Engines:
    """Per-engine leaf / backward adapters so one chain function serves all."""

    def __init__(self, args):
        self.args = args
        self.torch = H.import_torch(disabled=args.no_torch)
        nd = H.import_ndgrad(need_nn=False)
        self.A = nd[0] if nd else None

    # tensor leaves
    def nd_leaf(self, arr):
        return self.A.Tensor(arr, requires_grad=True)

    def th_leaf(self, arr):
        return self.torch.tensor(arr, requires_grad=True)

    def nd_backward(self, y):
        y.backward(self.A.Tensor(np.ones(y.shape, dtype=np.float32)))

    def th_backward(self, y):
        y.backward(self.torch.ones_like(y))


class Ctx:
    def __init__(self, args):
        self.args = args
        if args.quick:
            self.repeat, self.rounds, self.max_time, self.warmup_time = 3, 1, 3.0, 0.1
        else:
            self.repeat, self.rounds, self.max_time, self.warmup_time = 9, 3, 4.0, 0.3
        self.repeat = args.repeat or self.repeat
        self.rounds = args.rounds or self.rounds

    def time(self, fn, setup=None, repeat=None, warmup=1, max_time=None, warmup_time=None):
        return H.timeit(fn, setup=setup,
                        repeat=repeat or self.repeat,
                        warmup=warmup,
                        max_time=max_time or self.max_time,
                        warmup_time=self.warmup_time if warmup_time is None else warmup_time)

    def measure(self, fns):
        """{column: fn | (fn, setup) | None} -> {column: Timing | None}, interleaved."""
        return H.measure_interleaved(fns, rounds=self.rounds, repeat=self.repeat, warmup=1,
                                     max_time=self.max_time / self.rounds,
                                     warmup_time=self.warmup_time)


def _gc_note(**timings):
    parts = []
    for name, t in timings.items():
        if t is not None and t.gc_fraction is not None:
            parts.append(f"{name} {t.gc_fraction:.0%}")
    return {"GC share": " ".join(parts)} if parts else {}


def _safe(label, fn):
    return H.try_case(label, fn)


# --------------------------------------------------------------------------- 1. chain of 2,000
def bench_chain(E, ctx, table):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((16, 16), dtype=np.float32)
    n = CHAIN_N
    g1 = np.ones_like(x0)
    fns = {  # kind -> column -> fn | (fn, setup)
        "forward": {"numpy-ref": lambda: np_chain_forward(x0, n)},
        "backward": {"numpy-ref": (lambda st: np_chain_backward(g1, st[1], n),
                                   lambda: np_chain_forward(x0, n))},
        "fwd+bwd": {"numpy-ref": lambda: np_chain_backward(g1, np_chain_forward(x0, n)[1], n)},
        "no_grad forward": {"numpy-ref": lambda: np_chain_nograd(x0, n)},
    }

    if E.torch is not None:
        torch = E.torch
        tx = E.th_leaf(x0)

        def th_nograd():
            with torch.no_grad():
                chain(tx, n)

        def th_fb():
            tx.grad = None
            E.th_backward(chain(tx, n))
        fns["forward"]["torch"] = lambda: chain(tx, n)
        fns["backward"]["torch"] = (E.th_backward, lambda: chain(tx, n))
        fns["fwd+bwd"]["torch"] = th_fb
        fns["no_grad forward"]["torch"] = th_nograd

    if E.A is not None:
        A = E.A
        ax = E.nd_leaf(x0)

        def check():
            ax.grad = None
            E.nd_backward(chain(ax, n))
            ref = np_chain_backward(g1, np_chain_forward(x0, n)[1], n)
            np.testing.assert_allclose(ax.grad.numpy(), ref, rtol=1e-4, atol=1e-6)
            return True

        def nd_nograd():
            with A.no_grad():
                chain(ax, n)

        def nd_fb():
            ax.grad = None
            E.nd_backward(chain(ax, n))
        if _safe("ndgrad chain check", check):
            fns["forward"]["ndgrad"] = lambda: chain(ax, n)
            fns["backward"]["ndgrad"] = (E.nd_backward, lambda: chain(ax, n))
            fns["fwd+bwd"]["ndgrad"] = nd_fb
            fns["no_grad forward"]["ndgrad"] = nd_nograd

    label = f"{n}-op chain (16,16)"
    for kind, cols in fns.items():
        t = ctx.measure(cols)
        per = {c: (None if v is None else v.scaled(1.0 / n)) for c, v in t.items()}
        extra = _gc_note(nd=t.get("ndgrad"), np=t.get("numpy-ref"), th=t.get("torch")) \
            if kind in ("forward", "fwd+bwd") else {}
        table.add(f"{label} {kind}, per op", ndgrad=per.get("ndgrad"),
                  numpy_ref=per.get("numpy-ref"), torch=per.get("torch"), extra=extra)


# --------------------------------------------------------------------------- 2. deep chain
def _deep_run(engine, n, shape):
    """Build the engine's leaf, run fwd+bwd of an n-op chain once. Returns a
    callable doing that (so callers can time it or measure memory)."""
    x0 = np.random.default_rng(0).standard_normal(shape, dtype=np.float32) * 0.1
    if engine == "numpy":
        g1 = np.ones_like(x0)
        return lambda: np_chain_backward(g1, np_chain_forward(x0, n)[1], n)
    if engine == "ndgrad":
        import autograd as A
        ax = A.Tensor(x0, requires_grad=True)
        ones = A.Tensor(np.ones(shape, dtype=np.float32))

        def run():
            ax.grad = None
            chain(ax, n).backward(ones)
        return run
    if engine == "torch":
        import torch
        tx = torch.tensor(x0, requires_grad=True)
        ones = torch.ones(shape)

        def run():
            tx.grad = None
            chain(tx, n).backward(ones)
        return run
    # scalar engines
    v0 = float(x0.reshape(-1)[0])
    if engine == "ndgrad-scalar":
        import autograd as A

        def run():
            s = A.Scalar(v0)
            chain(s, n).backward()
            return s.grad
        return run
    if engine == "micrograd":
        def run():
            s = micrograd_ref.Value(v0)
            chain(s, n).backward()
            return s.grad
        return H.with_python_gc_defaults(run)
    if engine == "torch-0d":
        import torch

        def run():
            s = torch.tensor(v0, requires_grad=True)
            chain(s, n).backward()
            return s.grad
        return H.with_python_gc_defaults(run)
    raise ValueError(engine)


def _mem_child(engine, n, shape, traced=True):
    """Runs in a fresh interpreter: peak-RSS growth of one fwd+bwd, then (if
    ``traced``) the tracemalloc peak of a second one -- tracemalloc makes that
    run several times slower. Prints one JSON line."""
    if engine.startswith("torch"):
        import torch
        torch.set_num_threads(H.numpy_threads())
    run = _deep_run(engine, n, shape)
    run_small = _deep_run(engine, 100, shape)
    run_small()                                   # import / first-call costs
    H.reset_peak_rss()
    base = H.max_rss_bytes()
    run()
    rss = H.max_rss_bytes() - base
    peak = None
    if traced and not engine.startswith("torch"):
        peak, _ = H.peak_memory(run)
    print(json.dumps({"rss_growth": rss, "tracemalloc_peak": peak}))


def measure_memory(engine, n, shape, traced=True):
    cmd = [sys.executable, os.path.abspath(__file__), "--_mem-child", engine, "--_n", str(n),
           "--_shape", ",".join(map(str, shape))] + ([] if traced else ["--_untraced"])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not line:
            err = (out.stderr.strip().splitlines() or ["?"])[-1][:120]
            print(f"  [memory {engine}: n/a (exit {out.returncode}: {err})]")
            return None
        return json.loads(line[-1])
    except Exception as e:
        print(f"  [memory {engine}: n/a ({type(e).__name__}: {e})]")
        return None


def _mem_note(mems):
    parts = []
    for name, m in mems.items():
        if m is None:
            continue
        s = f"{name} rss+{H.fmt_bytes(m['rss_growth'])}"
        if m.get("tracemalloc_peak") is not None:
            s += f" (traced {H.fmt_bytes(m['tracemalloc_peak'])})"
        parts.append(s)
    return {"peak mem": ", ".join(parts)} if parts else {}


def bench_deep(E, ctx, table, engines, shape, label, memory=True):
    """engines: {column: engine-name}"""
    n = DEEP_N
    runs = {}
    for col, eng in engines.items():
        def build(eng=eng):
            _deep_run(eng, 100, shape)()        # warm-up on a 100-op chain
            return _deep_run(eng, n, shape)
        runs[col] = None if eng is None else _safe(f"{eng} {n}-op chain", build)
    # one fwd+bwd takes seconds: 3 samples per engine, one per round (--quick: 1)
    k = 1 if ctx.args.quick else 3
    times = H.measure_interleaved(runs, rounds=k, repeat=k, warmup=0, warmup_time=0.0)
    mems = {}
    if memory:
        for col, eng in engines.items():
            if times.get(col) is not None:
                mems[col.replace("-ref", "").replace("ndgrad", "nd")] = measure_memory(
                    eng, n, shape, traced=not ctx.args.quick)
    extra = _gc_note(**{k.replace("-ref", ""): v for k, v in times.items()})
    extra.update(_mem_note(mems))
    per = {k: (None if v is None else v.scaled(1e6 / n)) for k, v in times.items()}
    row = f"{n // 1000}k-op chain {label} fwd+bwd, total"
    cols = list(engines)
    table.add(row, **{c.replace("-", "_"): times[c] for c in cols}, extra=extra)
    return per


# --------------------------------------------------------------------------- 3. scalar MLP
def make_mlp_params(make, rng):
    layers = []
    for fan_in, fan_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        neurons = []
        for _ in range(fan_out):
            w = [make(float(v)) for v in rng.uniform(-1, 1, fan_in)]
            b = make(0.0)
            neurons.append((w, b))
        layers.append(neurons)
    return layers


def mlp_forward(layers, x):
    for li, layer in enumerate(layers):
        last = li == len(layers) - 1
        out = []
        for w, b in layer:
            act = b
            for wi, xi in zip(w, x):
                act = act + wi * xi
            out.append(act if last else act.tanh())
        x = out
    return x[0]


def mlp_loss(layers, X, Y):
    loss = None
    for x, y in zip(X, Y):
        d = mlp_forward(layers, x) - y
        loss = d * d if loss is None else loss + d * d
    return loss * (1.0 / len(X))


def flat_params(layers):
    return [p for layer in layers for w, b in layer for p in (*w, b)]


def bench_scalar(E, ctx, table):
    rng = np.random.default_rng(0)
    X = [[float(a), float(b)] for a, b in rng.standard_normal((MLP_SAMPLES, 2))]
    Y = [1.0 if a * b > 0 else -1.0 for a, b in X]
    init_rng_seed = 1
    n_params = sum((i + 1) * o for i, o in zip(MLP_SIZES[:-1], MLP_SIZES[1:]))

    def build(make):
        return make_mlp_params(make, np.random.default_rng(init_rng_seed))

    # micrograd
    mg = build(micrograd_ref.Value)
    mg_params = flat_params(mg)

    def mg_step():
        for p in mg_params:
            p.grad = 0.0
        loss = mlp_loss(mg, X, Y)
        loss.backward()
        return loss
    mg_loss = mg_step().data
    mg_grads = [p.grad for p in mg_params]

    th_step = None
    if E.torch is not None:
        torch = E.torch
        th = build(lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
        th_params = flat_params(th)

        def th_step():
            for p in th_params:
                p.grad = None
            loss = mlp_loss(th, X, Y)
            loss.backward()
            return loss
        th_loss = th_step()
        assert abs(th_loss.item() - mg_loss) < 1e-9, (th_loss.item(), mg_loss)

    def make():
        A = E.A
        nd = build(lambda v: A.Scalar(v))
        nd_params = flat_params(nd)

        def nd_step():
            for p in nd_params:
                p.grad = None
            loss = mlp_loss(nd, X, Y)
            loss.backward()
            return loss
        loss = nd_step()
        assert abs(loss._data - mg_loss) < 1e-9, (loss._data, mg_loss)
        got = [0.0 if p.grad is None else p.grad._data for p in nd_params]
        np.testing.assert_allclose(got, mg_grads, rtol=1e-9, atol=1e-12)
        return nd_step
    nd_step = _safe("ndgrad Scalar MLP", make) if E.A is not None else None

    t = ctx.measure({"ndgrad": nd_step, "micrograd": H.with_python_gc_defaults(mg_step),
                     "torch": th_step and H.with_python_gc_defaults(th_step)})
    t_nd, t_mg, t_th = t["ndgrad"], t["micrograd"], t["torch"]

    # node count: ops recorded per step (for a per-node figure)
    nodes = _count_nodes(mg_step)
    extra = {"nodes": nodes, "params": n_params}
    extra.update(_gc_note(nd=t_nd, mg=t_mg, th=t_th))
    if t_nd is not None:
        extra["ndgrad per node"] = H.fmt_time(t_nd.min / nodes, "us")
    extra["micrograd per node"] = H.fmt_time(t_mg.min / nodes, "us")
    table.add(f"scalar MLP 2-16-16-1 tanh, {MLP_SAMPLES} samples fwd+bwd", ndgrad=t_nd,
              micrograd=t_mg, torch=t_th, extra=extra)


def _count_nodes(step):
    loss = step()
    seen, stack = set(), [loss]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.extend(v._prev)
    return len(seen)


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = H.make_parser(__doc__.splitlines()[0])
    ap.add_argument("--only", default="chain,deep,scalar",
                    help="comma-separated subset of: chain, deep, scalar")
    ap.add_argument("--no-memory", action="store_true",
                    help="skip the subprocess peak-memory measurements of the deep chains")
    ap.add_argument("--_mem-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_n", type=int, default=DEEP_N, help=argparse.SUPPRESS)
    ap.add_argument("--_shape", default="16", help=argparse.SUPPRESS)
    ap.add_argument("--_untraced", action="store_true", help=argparse.SUPPRESS)
    args = H.parse_args(ap, argv)
    if args._mem_child:
        shape = tuple(int(s) for s in args._shape.split(",") if s)
        _mem_child(args._mem_child, args._n, shape, traced=not args._untraced)
        return 0

    which = set(args.only.split(","))
    t_start = time.perf_counter()
    E = Engines(args)
    ctx = Ctx(args)
    H.print_environment()
    tables = []
    if "chain" in which:
        t = H.Table(f"{CHAIN_N}-op elementwise chain on (16,16) float32: time per op", unit="us")
        bench_chain(E, ctx, t)
        t.print()
        tables.append(t)
    if "deep" in which:
        t = H.Table(f"{DEEP_N:,}-op chain, shape (16,) float32: fwd+bwd", unit="s")
        bench_deep(E, ctx, t, {"ndgrad": "ndgrad" if E.A else None, "numpy-ref": "numpy",
                               "torch": "torch" if E.torch else None},
                   (16,), "(16,)", memory=not args.no_memory)
        t.print()
        tables.append(t)
    if which & {"scalar", "deep"}:
        t = H.Table("scalar engines: autograd.Scalar vs micrograd-style closures vs torch 0-d",
                    columns=("ndgrad", "micrograd", "torch"))
        if "scalar" in which:
            bench_scalar(E, ctx, t)
        if "deep" in which:
            bench_deep(E, ctx, t, {"ndgrad": "ndgrad-scalar" if E.A else None,
                                   "micrograd": "micrograd",
                                   "torch": "torch-0d" if E.torch else None},
                       (), "scalar / 0-d", memory=not args.no_memory)
        t.print()
        tables.append(t)
    print(f"\n# total {time.perf_counter() - t_start:.0f} s")
    H.dump_json(args.json, tables, script="bench_engine.py", quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
