"""Checkpoints and ONNX: LeNet-5's checkpoint in the old .npz format and in safetensors
(file size, load time), and LeNet-5's forward at batch 64 in ndgrad, PyTorch and ONNX Runtime
(same weights, same process, same thread count).

    python benchmarks/bench_export.py [--threads 1] [--clock cpu] [--quick] [--json OUT]

One call: ``nn.load`` of the checkpoint file (model + Adam state, as ``ndgrad-train`` writes
it), or one inference-mode forward of a batch of 64 28x28 images.
"""
import os
import tempfile

import numpy as np

import _harness as H


def _checkpoint(nn, autograd, LeNet5):
    """LeNet-5 after one Adam step: the state ndgrad-train saves."""
    autograd.manual_seed(0)
    model = LeNet5()
    opt = nn.optim.Adam(model.parameters(), lr=1e-3)
    x = autograd.Tensor(np.random.default_rng(0).standard_normal((8, 1, 28, 28), np.float32))
    y = autograd.Tensor(np.arange(8) % 10)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return model, {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}


def bench_checkpoints(args, nn, model_ckpt, tmp):
    from nn import _legacy_npz
    _, ckpt = model_ckpt
    old, new = os.path.join(tmp, "lenet5.npz"), os.path.join(tmp, "lenet5.safetensors")
    _legacy_npz.save_npz(ckpt, old)
    nn.save(ckpt, new)
    old_w = os.path.join(tmp, "lenet5-weights.npz")
    new_w = os.path.join(tmp, "lenet5-weights.safetensors")
    _legacy_npz.save_npz(ckpt["model"], old_w)
    nn.save(ckpt["model"], new_w)
    repeat = 5 if args.quick else 20
    rows = [("checkpoint, old .npz", old, lambda: _legacy_npz.load_npz(old)),
            ("checkpoint, safetensors", new, lambda: nn.load(new)),
            ("weights only, old .npz", old_w, lambda: _legacy_npz.load_npz(old_w)),
            ("weights only, safetensors", new_w, lambda: nn.load(new_w))]
    print(f"\nLeNet-5 checkpoint (model + Adam moments) and weights alone ({H.CLOCK_NAME} clock)")
    print(f"{'format':28} {'size':>10} {'load median':>12} {'load min':>10}")
    results = {}
    for label, path, fn in rows:
        t = H.timeit(fn, repeat=repeat, warmup=2)
        size = os.path.getsize(path)
        print(f"{label:28} {H.fmt_bytes(size):>10} {H.fmt_time(t.median):>12} "
              f"{H.fmt_time(t.min):>10}")
        results[label] = dict(size_bytes=size, **t.as_dict())
    return results


def bench_inference(args, autograd, model, tmp):
    import onnxruntime as ort
    torch = H.import_torch(args.no_torch)
    x = np.random.default_rng(1).standard_normal((64, 1, 28, 28)).astype(np.float32)
    model.eval()
    path = os.path.join(tmp, "lenet5.onnx")
    autograd.onnx.export(model, autograd.Tensor(x), path, dynamic_axes={"input": {0: "batch"}})
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads or 0
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    def ndgrad_forward():
        with autograd.no_grad():
            return model(autograd.Tensor(x))._data

    fns = {"ndgrad": ndgrad_forward, "onnxruntime": lambda: session.run(None, {"input": x})[0]}
    if torch is not None:
        tmodel = _torch_lenet5(torch, model)
        tx = torch.from_numpy(x)

        def torch_forward():
            with torch.inference_mode():
                return tmodel(tx).numpy()
        fns["torch"] = torch_forward
    ref = ndgrad_forward()
    for name, fn in fns.items():
        np.testing.assert_allclose(fn(), ref, rtol=1e-4, atol=1e-4, err_msg=name)
    repeat = 5 if args.quick else 20
    timings = H.measure_interleaved(fns, rounds=args.rounds or (1 if args.quick else 3),
                                    repeat=repeat)
    print(f"\nLeNet-5 forward, batch 64 (eval, no graph; {H.CLOCK_NAME} clock, "
          f"{args.threads or 'default'} threads)")
    print(f"{'runtime':14} {'median':>10} {'min':>10} {'vs ndgrad (min)':>16}")
    for name, t in timings.items():
        print(f"{name:14} {H.fmt_time(t.median):>10} {H.fmt_time(t.min):>10} "
              f"{timings['ndgrad'].min / t.min:>15.2f}x")
    return {name: t.as_dict() for name, t in timings.items()}


def _torch_lenet5(torch, model):
    """The same LeNet-5 in PyTorch, with ndgrad's weights (loaded as a state dict)."""
    from collections import OrderedDict
    t = torch.nn
    tm = t.Sequential(OrderedDict([
        ("features", t.Sequential(OrderedDict([
            ("conv1", t.Conv2d(1, 20, 5, padding=2)), ("relu1", t.ReLU()),
            ("pool1", t.MaxPool2d(2)), ("conv2", t.Conv2d(20, 50, 5, padding=2)),
            ("relu2", t.ReLU()), ("pool2", t.MaxPool2d(2))]))),
        ("classifier", t.Sequential(OrderedDict([
            ("flatten", t.Flatten()), ("fc1", t.Linear(2450, 500)), ("relu3", t.ReLU()),
            ("fc2", t.Linear(500, 10))])))]))
    tm.load_state_dict({k: torch.from_numpy(np.array(v._data))
                        for k, v in model.state_dict().items()})
    return tm.eval()


def main(argv=None):
    args = H.parse_args(H.make_parser(__doc__.splitlines()[0]), argv)
    H.print_environment()
    H.warn_if_busy()
    import autograd
    import nn
    from nn.models import LeNet5
    model_ckpt = _checkpoint(nn, autograd, LeNet5)
    with tempfile.TemporaryDirectory() as tmp:
        results = {"checkpoints": bench_checkpoints(args, nn, model_ckpt, tmp),
                   "inference": bench_inference(args, autograd, model_ckpt[0], tmp)}
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
