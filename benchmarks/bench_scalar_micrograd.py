"""autograd.Scalar against the `micrograd` package (PyPI) on the same MLP, in one run.

Each sample is a fresh subprocess per engine (so ``import autograd``'s GC tuning never
touches micrograd's process), interleaved round by round; the ratio is the median over
rounds of ndgrad's best time / micrograd's best time. Two settings: each library as it
comes (Python's default collector; ndgrad raises its young-generation threshold at
import), and the collector disabled in both processes.

    pip install micrograd      # the package, not this repository's reference copy
    python benchmarks/bench_scalar_micrograd.py [--rounds 5]

The model is micrograd's own demo shape with ReLU (its package has no tanh):
MLP 2-16-16-1 over 50 samples, squared error, one forward + backward per timing.

Two times per setting. "fwd+bwd": building the graph and running backward; the graph is
dropped after the clock stops, in both libraries. "+ free": the same plus freeing the
graph. The two libraries free differently: ndgrad's graphs have no reference cycles, so
dropping the root frees them at once (reference counting); micrograd's nodes are cycles
(each ``_backward`` closure holds its own node), so only the cyclic collector frees them:
with the collector off, the worker runs ``gc.collect()`` after each repetition, and that
collection is micrograd's freeing time. (Until this split, the timing included ndgrad's
freeing, inside ``step``, and not micrograd's, after it.)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = r'''
import gc, json, random, sys, time
engine, gc_mode, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
if engine == "ndgrad":
    sys.path.insert(0, sys.argv[4])
    from autograd import Scalar as V   # with ndgrad's default GC tuning (see README)
else:
    from micrograd.engine import Value as V
if gc_mode == "off":
    gc.disable()
rnd = random.Random(0)
sizes = [2, 16, 16, 1]
layers = [[([V(rnd.uniform(-1, 1)) for _ in range(sizes[i])], V(0.0))
           for _ in range(sizes[i + 1])] for i in range(3)]
data = [((rnd.uniform(-1, 1), rnd.uniform(-1, 1)), rnd.uniform(-1, 1)) for _ in range(50)]

def step():
    loss = V(0.0)
    for (x0, x1), y in data:
        h = [V(x0), V(x1)]
        for li, layer in enumerate(layers):
            out = []
            for w, b in layer:
                act = b
                for wi, xi in zip(w, h):
                    act = act + wi * xi
                out.append(act.relu() if li < 2 else act)
            h = out
        d = h[0] - y
        loss = loss + d * d
    loss.backward()
    return loss   # the graph stays alive until the caller drops it

best = total = float("inf")
for _ in range(repeat):
    t0 = time.perf_counter()
    root = step()
    t1 = time.perf_counter()
    value = root.data
    del root               # ndgrad: the graph is freed here; micrograd: nothing (cycles)
    if gc_mode == "off":
        gc.collect()       # micrograd: its graph is freed here
    t2 = time.perf_counter()
    best, total = min(best, t1 - t0), min(total, t2 - t0)
print(json.dumps({"best": best, "total": total, "loss": value}))
'''


def sample(engine, gc_mode, repeat):
    out = subprocess.run([sys.executable, "-c", WORKER, engine, gc_mode, str(repeat), ROOT],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    try:
        import micrograd  # noqa: F401
    except ImportError:
        print("micrograd is not installed (pip install micrograd): nothing to compare")
        return 0
    print(f"# python={sys.version.split()[0]}, rounds={args.rounds}, repeat={args.repeat}")
    print("setting    | fwd+bwd (ms): ndgrad | micrograd | ndgrad/micrograd (paired) "
          "| + free (ms): ndgrad | micrograd | ndgrad/micrograd (paired)")
    for gc_mode in ("default", "off"):
        runs = {"best": ([], [], []), "total": ([], [], [])}
        for _ in range(args.rounds):
            a, b = sample("ndgrad", gc_mode, args.repeat), sample("micrograd", gc_mode, args.repeat)
            assert abs(a["loss"] - b["loss"]) < 1e-9, (a, b)  # the same computation
            for key, (nd, mg, ratios) in runs.items():
                nd.append(a[key]), mg.append(b[key]), ratios.append(a[key] / b[key])
        cells = [f"{min(nd) * 1e3:.1f} | {min(mg) * 1e3:.1f} | {statistics.median(r):.2f}x"
                 for nd, mg, r in runs.values()]
        print(f"GC {gc_mode:7s} | {cells[0]} | {cells[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
