"""NN-op and training-step benchmarks: ndgrad vs hand-written NumPy vs PyTorch (CPU).

Every case is float32 and times one forward + backward (for the training steps:
zero_grad, forward, loss, backward and the SGD update). All three columns run
in the same process with the same number of threads (torch.set_num_threads is
set to NumPy's BLAS thread count). Ratios > 1 mean ndgrad is slower.

Cases:
  conv2d fwd+bwd  (N=64, C=20, 14x14, O=50, K=5, P=2)       LeNet's second conv
  conv2d fwd+bwd  (N=32, C=64, 32x32, O=64, K=3, P=1)       a ResNet-ish 3x3
  conv2d fwd+bwd  (N=32, C=32, 31x31, O=64, K=3, S=2, D=2, P=2)
      each with GFLOP/s (3 x forward FLOPs: out, dW, dX) and the GEMM-only
      lower bound: the three im2col GEMMs (forward, dweight, dcols) timed alone
      on pre-built matrices, i.e. what any im2col implementation must pay.
  max_pool2d 2x2 fwd+bwd on (64, 64, 32, 32)
  avg_pool2d 2x2 fwd+bwd on (64, 64, 32, 32)
  LeNet-5 SGD step, batch 64 (1x28x28 input)
  PyTorch's MNIST example net (conv 1->32 k3, conv 32->64 k3, max-pool 2, dropout 0.25,
      fc 9216->128, dropout 0.5, fc 128->10, log_softmax + nll), SGD step, batch 64
      (no numpy-ref column)
  MLP 784-512-256-10 SGD step, batch 128

    python benchmarks/bench_nn.py [--quick] [--repeat N] [--rounds R] [--only conv,pool,lenet,mlp]
                                  [--no-torch] [--json OUT]

The columns of one case are timed in alternation (--rounds, default 3), so that
load from other processes hits them alike.
"""
import sys
import time

import numpy as np

import _harness as H  # noqa: E402  (sets sys.path for autograd/nn)
import numpy_reference as R

DT = np.float32

CONV_CASES = [
    # label, (N, C, H, W), (O, K), stride, padding, dilation
    ("conv2d N64 C20 14x14 O50 K5 P2", (64, 20, 14, 14), (50, 5), 1, 2, 1),
    ("conv2d N32 C64 32x32 O64 K3 P1", (32, 64, 32, 32), (64, 3), 1, 1, 1),
    ("conv2d N32 C32 31x31 O64 K3 S2 D2 P2", (32, 32, 31, 31), (64, 3), 2, 2, 2),
]
POOL_SHAPE = (64, 64, 32, 32)


class Ctx:
    def __init__(self, args):
        self.args = args
        self.torch = H.import_torch(disabled=args.no_torch)
        self.nd = H.import_ndgrad(need_nn=True)
        if args.quick:
            self.repeat, self.rounds, self.max_time, self.warmup_time = 3, 1, 2.0, 0.15
        else:
            self.repeat, self.rounds, self.max_time, self.warmup_time = 21, 7, 3.0, 0.2
        self.repeat = args.repeat or self.repeat
        self.rounds = args.rounds or self.rounds

    def measure(self, fns):
        """{column: fn or None} -> {column: Timing or None}, columns interleaved."""
        return H.measure_interleaved(fns, rounds=self.rounds, repeat=self.repeat, warmup=1,
                                     max_time=self.max_time, warmup_time=self.warmup_time)

    def nd_fn(self, label, make):
        """``make()`` builds (and checks) the ndgrad closure; None if that fails."""
        if self.nd is None:
            return None
        return H.try_case("ndgrad " + label, make)


def _faults(**cols):
    """Page faults per call: fresh memory the call touched (allocator behaviour)."""
    parts = [f"{'n/a' if t is None or t.minor_faults is None else f'{t.minor_faults:.0f}'}"
             for t in cols.values()]
    return {f"faults/call {'/'.join(cols)}": "/".join(parts)}


def _gflops(flops, t):
    """GFLOP/s at the best (min) time."""
    if t is None:
        return "n/a"
    return f"{flops / H.Table._sec(t, 'min') / 1e9:.1f}"


# --------------------------------------------------------------------------- conv
def bench_conv(ctx, table):
    rng = np.random.default_rng(0)
    for label, (N, C, Hh, W), (O, K), s, p, d in CONV_CASES:
        x = rng.standard_normal((N, C, Hh, W), dtype=DT)
        w = (rng.standard_normal((O, C, K, K), dtype=DT) / np.sqrt(C * K * K)).astype(DT)
        b = rng.standard_normal(O, dtype=DT)
        out, _ = R.conv2d_forward(x, w, b, s, p, d)
        g = rng.standard_normal(out.shape, dtype=DT)
        flops = 3 * R.conv2d_flops(x.shape, w.shape, out.shape)

        def numpy_fn():
            o, cache = R.conv2d_forward(x, w, b, s, p, d)
            return R.conv2d_backward(g, cache)

        torch_fn = None
        if ctx.torch is not None:
            torch = ctx.torch
            tx = torch.tensor(x, requires_grad=True)
            tw = torch.tensor(w, requires_grad=True)
            tb = torch.tensor(b, requires_grad=True)
            tg = torch.tensor(g)

            def torch_fn():
                tx.grad = tw.grad = tb.grad = None
                torch.nn.functional.conv2d(tx, tw, tb, s, p, d).backward(tg)

        def make():
            A, nn, F = ctx.nd
            ax = A.Tensor(x, requires_grad=True)
            aw = A.Tensor(w, requires_grad=True)
            ab = A.Tensor(b, requires_grad=True)
            ag = A.Tensor(g)

            def nd_fn():
                ax.grad = aw.grad = ab.grad = None
                F.conv2d(ax, aw, ab, s, p, d).backward(ag)
            # correctness guard: a benchmark of wrong numbers is worthless (errors relative
            # to the largest element: Winograd's float32 error is ~1e-5 of that, see
            # nn/winograd.py, and dweight's elements reach ~1e3 here)
            nd_fn()
            dx_ref, dw_ref, _ = numpy_fn()
            for got, ref in ((aw.grad.numpy(), dw_ref), (ax.grad.numpy(), dx_ref)):
                np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4 * np.abs(ref).max())
            return nd_fn

        t = ctx.measure({"ndgrad": ctx.nd_fn(label, make), "numpy-ref": numpy_fn, "torch": torch_fn,
                         "gemm": R.conv2d_gemm_operands(x.shape, w.shape, s, p, d, DT)})
        nd, np_, th, gemm = t["ndgrad"], t["numpy-ref"], t["torch"], t["gemm"]
        table.add(label, ndgrad=nd, numpy_ref=np_, torch=th, extra={
            "GFLOP/s nd/np/th": f"{_gflops(flops, nd)}/{_gflops(flops, np_)}/{_gflops(flops, th)}",
            "GEMM-only LB (min)": f"{H.fmt_time(gemm.min, 'ms')} ({_gflops(flops, gemm)} GFLOP/s)",
            "% of LB nd/th": "/".join("n/a" if t is None else f"{100 * gemm.min / t.min:.0f}%"
                                      for t in (nd, th)),
            **_faults(nd=nd, np=np_, th=th),
        })


# --------------------------------------------------------------------------- pooling
def bench_pool(ctx, table):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(POOL_SHAPE, dtype=DT)
    g = rng.standard_normal(POOL_SHAPE[:2] + (POOL_SHAPE[2] // 2, POOL_SHAPE[3] // 2), dtype=DT)
    shape = "x".join(map(str, POOL_SHAPE))
    for kind in ("max", "avg"):
        fwd = getattr(R, f"{kind}_pool2d_forward")
        bwd = getattr(R, f"{kind}_pool2d_backward")

        def numpy_fn():
            o, cache = fwd(x, 2)
            return bwd(g, cache)

        torch_fn = None
        if ctx.torch is not None:
            torch = ctx.torch
            tfn = getattr(torch.nn.functional, f"{kind}_pool2d")
            tx = torch.tensor(x, requires_grad=True)
            tg = torch.tensor(g)

            def torch_fn():
                tx.grad = None
                tfn(tx, 2).backward(tg)

        def make():
            A, nn, F = ctx.nd
            nfn = getattr(F, f"{kind}_pool2d")
            ax = A.Tensor(x, requires_grad=True)
            ag = A.Tensor(g)

            def nd_fn():
                ax.grad = None
                nfn(ax, 2).backward(ag)
            nd_fn()
            np.testing.assert_allclose(ax.grad.numpy(), numpy_fn(), rtol=1e-5, atol=1e-6)
            return nd_fn

        t = ctx.measure({"ndgrad": ctx.nd_fn(f"{kind}_pool2d", make), "numpy-ref": numpy_fn,
                         "torch": torch_fn})
        table.add(f"{kind}_pool2d 2x2 {shape}", ndgrad=t["ndgrad"], numpy_ref=t["numpy-ref"],
                  torch=t["torch"], extra={"input": H.fmt_bytes(x.nbytes),
                                           **_faults(nd=t["ndgrad"], np=t["numpy-ref"],
                                                     th=t["torch"])})


# --------------------------------------------------------------------------- training steps
def _torch_lenet(torch, p):
    tnn = torch.nn
    m = tnn.Sequential(
        tnn.Conv2d(1, 20, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(20, 50, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(2450, 500), tnn.ReLU(), tnn.Linear(500, 10))
    with torch.no_grad():
        for mod, key in ((m[0], "c1"), (m[3], "c2"), (m[7], "f1"), (m[9], "f2")):
            mod.weight.copy_(torch.tensor(p[key + ".w"]))
            mod.bias.copy_(torch.tensor(p[key + ".b"]))
    return m


def _torch_mlp(torch, p):
    tnn = torch.nn
    m = tnn.Sequential(tnn.Linear(784, 512), tnn.ReLU(), tnn.Linear(512, 256), tnn.ReLU(),
                       tnn.Linear(256, 10))
    with torch.no_grad():
        for i, mod in enumerate((m[0], m[2], m[4])):
            mod.weight.copy_(torch.tensor(p[f"l{i}.w"]))
            mod.bias.copy_(torch.tensor(p[f"l{i}.b"]))
    return m


def _nd_lenet(A, nn, F, p):
    """ndgrad LeNet-5 from nn.Conv2d / nn.Linear modules and functional glue."""
    c1 = nn.Conv2d(1, 20, 5, padding=2)
    c2 = nn.Conv2d(20, 50, 5, padding=2)
    f1 = nn.Linear(2450, 500)
    f2 = nn.Linear(500, 10)
    mods = {"c1": c1, "c2": c2, "f1": f1, "f2": f2}
    with A.no_grad():
        for key, mod in mods.items():
            mod.weight.copy_(p[key + ".w"])
            mod.bias.copy_(p[key + ".b"])

    def forward(x):
        h = F.max_pool2d(c1(x).relu(), 2)
        h = F.max_pool2d(c2(h).relu(), 2)
        h = f1(h.flatten(1)).relu()
        return f2(h)
    params = [prm for mod in mods.values() for prm in mod.parameters()]
    return forward, params


def _mnistnet_params(rng):
    shapes = {"c1.w": (32, 1, 3, 3), "c1.b": (32,), "c2.w": (64, 32, 3, 3), "c2.b": (64,),
              "f1.w": (128, 9216), "f1.b": (128,), "f2.w": (10, 128), "f2.b": (10,)}
    return {k: (rng.standard_normal(v, dtype=DT) / np.sqrt(np.prod(v[1:]) if len(v) > 1 else 10)
                ).astype(DT) for k, v in shapes.items()}


class _TorchMnistNet:
    """PyTorch's examples/mnist Net (log_softmax output; nll_loss applied by the caller)."""
    def __new__(cls, torch, p):
        tnn, F = torch.nn, torch.nn.functional

        class Net(tnn.Module):
            def __init__(self):
                super().__init__()
                self.conv1, self.conv2 = tnn.Conv2d(1, 32, 3, 1), tnn.Conv2d(32, 64, 3, 1)
                self.dropout1, self.dropout2 = tnn.Dropout(0.25), tnn.Dropout(0.5)
                self.fc1, self.fc2 = tnn.Linear(9216, 128), tnn.Linear(128, 10)

            def forward(self, x):
                x = F.relu(self.conv1(x))
                x = F.max_pool2d(F.relu(self.conv2(x)), 2)
                x = self.dropout1(x).flatten(1)
                x = self.dropout2(F.relu(self.fc1(x)))
                return F.log_softmax(self.fc2(x), dim=1)
        m = Net()
        with torch.no_grad():
            for key in ("conv1", "conv2", "fc1", "fc2"):
                mod, k = getattr(m, key), key[0] + key[-1]
                mod.weight.copy_(torch.tensor(p[k + ".w"]))
                mod.bias.copy_(torch.tensor(p[k + ".b"]))
        return m


def _torch_mnistnet(torch, p):
    return _TorchMnistNet(torch, p)


def _nd_mnistnet(A, nn, F, p):
    mods = {"c1": nn.Conv2d(1, 32, 3, 1), "c2": nn.Conv2d(32, 64, 3, 1),
            "f1": nn.Linear(9216, 128), "f2": nn.Linear(128, 10)}
    drop1, drop2 = nn.Dropout(0.25), nn.Dropout(0.5)
    with A.no_grad():
        for key, mod in mods.items():
            mod.weight.copy_(p[key + ".w"])
            mod.bias.copy_(p[key + ".b"])

    def forward(x):
        h = mods["c1"](x).relu()
        h = F.max_pool2d(mods["c2"](h).relu(), 2)
        h = drop1(h).flatten(1)
        h = drop2(mods["f1"](h).relu())
        return F.log_softmax(mods["f2"](h), dim=1)
    return forward, [prm for mod in mods.values() for prm in mod.parameters()]


def _nd_mlp(A, nn, F, p):
    layers = [nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)]
    with A.no_grad():
        for i, mod in enumerate(layers):
            mod.weight.copy_(p[f"l{i}.w"])
            mod.bias.copy_(p[f"l{i}.b"])

    def forward(x):
        h = layers[0](x).relu()
        h = layers[1](h).relu()
        return layers[2](h)
    return forward, [prm for mod in layers for prm in mod.parameters()]


def bench_steps(ctx, table, which):
    rng = np.random.default_rng(2)
    lr = 0.01
    specs = []
    if "lenet" in which:
        specs.append(("LeNet-5 SGD step, batch 64", R.LeNet5, rng.standard_normal((64, 1, 28, 28), dtype=DT),
                      _torch_lenet, _nd_lenet))
    if "mnistnet" in which:
        specs.append(("MNIST-example net SGD step, batch 64", None,
                      rng.standard_normal((64, 1, 28, 28), dtype=DT), _torch_mnistnet,
                      _nd_mnistnet))
    if "mlp" in which:
        specs.append(("MLP 784-512-256-10 SGD step, batch 128", R.MLP,
                      rng.standard_normal((128, 784), dtype=DT), _torch_mlp, _nd_mlp))
    for label, Model, x, torch_builder, nd_builder in specs:
        y = rng.integers(0, 10, size=x.shape[0])
        lossname = "cross_entropy" if Model is not None else "nll_loss"  # MNIST net: log-probs
        ref = Model(dtype=DT) if Model is not None else None
        init = {k: v.copy() for k, v in ref.params.items()} if ref is not None else \
            _mnistnet_params(rng)

        def numpy_fn():
            return ref.step(x, y, lr)
        if ref is None:
            numpy_fn = None

        torch_fn = None
        if ctx.torch is not None:
            torch = ctx.torch
            tm = torch_builder(torch, init)
            topt = torch.optim.SGD(tm.parameters(), lr=lr)
            tx, ty = torch.tensor(x), torch.tensor(y)
            lossf = getattr(torch.nn.functional, lossname)

            def torch_fn():
                topt.zero_grad()
                loss = lossf(tm(tx), ty)
                loss.backward()
                topt.step()
                return loss

        def make():
            A, nn, F = ctx.nd
            forward, params = nd_builder(A, nn, F, init)
            opt = nn.optim.SGD(params, lr=lr)
            ax, ay = A.Tensor(x), A.Tensor(y)

            def nd_fn():
                opt.zero_grad()
                loss = getattr(F, lossname)(forward(ax), ay)
                loss.backward()
                opt.step()
                return loss
            # correctness guard: first-step loss equals the reference's
            l_nd = float(nd_fn().item())
            if Model is None:  # dropout: only a sanity check (about log 10 at the start)
                assert 0.5 < l_nd < 10, l_nd
                return nd_fn
            l_ref, _ = Model(dtype=DT).loss_and_grads(x, y)
            assert abs(l_nd - l_ref) < 1e-3 * max(1.0, abs(l_ref)), (l_nd, l_ref)
            return nd_fn

        nd_fn = ctx.nd_fn(label, make)
        t = ctx.measure({"ndgrad": nd_fn, "numpy-ref": numpy_fn, "torch": torch_fn})
        peak_np = H.peak_memory(numpy_fn)[0] if numpy_fn is not None else None
        peak_nd = H.peak_memory(nd_fn)[0] if nd_fn is not None and t["ndgrad"] is not None else None
        table.add(label, ndgrad=t["ndgrad"], numpy_ref=t["numpy-ref"], torch=t["torch"],
                  extra={"peak py/np mem nd/np": f"{H.fmt_bytes(peak_nd)}/{H.fmt_bytes(peak_np)}",
                         **_faults(nd=t["ndgrad"], np=t["numpy-ref"], th=t["torch"])})


def main(argv=None):
    ap = H.make_parser(__doc__.splitlines()[0])
    ap.add_argument("--only", default="conv,pool,lenet,mnistnet,mlp",
                    help="comma-separated subset of: conv, pool, lenet, mnistnet, mlp")
    args = H.parse_args(ap, argv)
    which = set(args.only.split(","))
    t_start = time.perf_counter()
    ctx = Ctx(args)
    H.print_environment()
    table = H.Table("nn ops and training steps, float32, fwd+bwd per call", unit="ms")
    if "conv" in which:
        bench_conv(ctx, table)
    if "pool" in which:
        bench_pool(ctx, table)
    if which & {"lenet", "mnistnet", "mlp"}:
        bench_steps(ctx, table, which)
    table.print()
    print(f"\n# total {time.perf_counter() - t_start:.0f} s")
    H.dump_json(args.json, [table], script="bench_nn.py", quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
