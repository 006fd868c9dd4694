"""Where the per-node time goes: the cost of recording one op and replaying it in backward.

Prints, for a Scalar and for a small (16, 16) Tensor, in one run:

* the op with nothing recorded (``no_grad``), and recorded (``Function.apply`` builds a
  node): the difference is what recording costs;
* the blocks of memory each recorded node keeps alive (``sys.getallocatedblocks``) and
  what it allocates in passing;
* backward per node on a long chain (the engine walks a heap of waiting nodes), the
  topological sort that drawings use (not part of backward), and what a Scalar pays
  for being wrapped (``_make``) each time an op returns one;
* for Tensors, what guarding one saved array costs (``saved.protect`` + ``release``);
* micrograd's ``Value`` (the PyPI package, if installed) on the same chain, for scale.

    python benchmarks/bench_node_cost.py [--n 20000]

Times are the best of 5 (``time.process_time``), the garbage collector off.
"""
import argparse
import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import autograd as A  # noqa: E402
from autograd import saved  # noqa: E402
from autograd.engine import topological_order  # noqa: E402


def best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def chain(x, w, n):
    """x * w + w, n times: one Mul and one Add node per step."""
    for _ in range(n):
        x = x * w + w
    return x


def measure(label, make_leaf, n):
    x, w = make_leaf(), make_leaf()
    rows = []
    with A.no_grad():
        t_plain = best(lambda: chain(x, w, n)) / (2 * n)
    t_rec = best(lambda: chain(x, w, n)) / (2 * n)
    rows.append(("op, nothing recorded (no_grad)", t_plain))
    rows.append(("op, recorded (builds a node)", t_rec))
    rows.append(("  recording cost per node", t_rec - t_plain))

    before = sys.getallocatedblocks()
    out = chain(x, w, n)
    kept = (sys.getallocatedblocks() - before) / (2 * n)

    order = topological_order([out.grad_fn])
    t_topo = best(lambda: topological_order([out.grad_fn])) / len(order)
    del order
    backs = []
    for _ in range(5):
        out = chain(x, w, n)
        seed = out._ones_like()  # dL/dout = 1 (an array of ones for a Tensor)
        t0 = time.process_time()
        out.backward(seed)
        backs.append(time.process_time() - t0)
        x.grad = w.grad = None
    rows.append(("backward per node (whole walk)", min(backs) / (2 * n)))
    rows.append(("topological_order (drawings only)", t_topo))
    print(f"\n## {label}: per node, GC off  (each node keeps {kept:.1f} memory blocks alive)")
    for name, t in rows:
        print(f"{name:38s} {t * 1e6:8.2f} us")


def micro(stmt, env, number=100000):
    import timeit
    return min(timeit.repeat(stmt, globals=env, number=number, repeat=5)) / number


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="chain steps (2 nodes each)")
    args = ap.parse_args()
    gc.disable()
    print(f"# python={sys.version.split()[0]}, numpy={np.__version__}")
    rng = np.random.default_rng(0)
    measure("Scalar", lambda: A.Scalar(float(rng.uniform(0.5, 1.0))), args.n)
    measure("Tensor (16, 16) float32",
            lambda: A.Tensor(rng.uniform(0.5, 1.0, (16, 16)).astype(np.float32),
                             requires_grad=True), args.n // 4)

    arr = np.ones((16, 16), np.float32)

    def guard():
        saved.release(saved.protect(arr))
    env = {"A": A, "guard": guard}
    print("\n## pieces")
    print(f"{'Scalar wrap (Scalar._make)':38s} {micro('A.Scalar._make(1.0, None)', env) * 1e6:8.2f} us")
    print(f"{'guard one saved array (protect+release)':38s} {micro('guard()', env) * 1e6:8.2f} us")
    try:
        from micrograd.engine import Value
    except ImportError:
        print("micrograd is not installed (pip install micrograd): no comparison row")
        return 0
    x, w = Value(0.7), Value(0.9)
    n = args.n
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * n + 1000))  # its topo sort recurses
    t_fwd = best(lambda: chain(x, w, n)) / (2 * n)
    backs = []
    for _ in range(5):
        out = chain(x, w, n)
        t0 = time.process_time()
        out.backward()
        backs.append(time.process_time() - t0)
    print("\n## micrograd Value (PyPI), same chain, GC off")
    print(f"{'op, recorded':38s} {t_fwd * 1e6:8.2f} us")
    print(f"{'backward per node':38s} {min(backs) / (2 * n) * 1e6:8.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
