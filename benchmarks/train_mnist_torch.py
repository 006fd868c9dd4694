"""The PyTorch twin of ``train_mnist.py``: LeNet-5 on MNIST, same data, model, optimizer,
schedule, batch size and threads, so the two times can be put side by side.

    python benchmarks/train_mnist_torch.py [--threads N] [--epochs 2]
    python benchmarks/train_mnist.py       [--threads N] [--epochs 2]

Data: the same IDX files read by ndgrad's own loader (``nn.data.load_mnist``, normalized),
shuffled each epoch; model conv 1->20 k5 p2, relu, maxpool 2, conv 20->50 k5 p2, relu,
maxpool 2, linear 2450->500, relu, linear 500->10; Adam lr 1e-3, cosine schedule over the
epochs, batch 64, seed 0. Reports the train time per epoch and the test accuracy.
"""
import argparse
import os
import platform
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

DEFAULT_DATA = os.path.normpath(os.path.join(_REPO, "..", "shared", "data", "mnist"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=DEFAULT_DATA)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads (default: NumPy's BLAS thread count, as the "
                        "ndgrad run uses)")
    opts = p.parse_args(argv)

    import numpy as np
    import torch
    from nn import data
    from autograd import _blas

    torch.manual_seed(0)
    torch.set_num_threads(opts.threads or _blas.max_threads())
    xtr, ytr = (torch.tensor(a) for a in data.load_mnist(opts.data_dir, "train", normalize=True))
    xte, yte = (torch.tensor(a) for a in data.load_mnist(opts.data_dir, "test", normalize=True))
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Conv2d(1, 20, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(20, 50, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(2450, 500), tnn.ReLU(), tnn.Linear(500, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=opts.epochs)
    lossf = torch.nn.functional.cross_entropy
    gen = torch.Generator().manual_seed(0)
    print(f"{'epoch':>5} | {'train s':>8} | {'test acc':>8}")
    times = []
    for epoch in range(1, opts.epochs + 1):
        model.train()
        order = torch.randperm(len(xtr), generator=gen)
        t0 = time.perf_counter()
        for start in range(0, len(xtr), opts.batch_size):
            idx = order[start:start + opts.batch_size]
            opt.zero_grad()
            loss = lossf(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
        sched.step()
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                          for i in range(0, len(xte), 1000))
        print(f"{epoch:>5} | {times[-1]:>8.1f} | {100 * correct / len(xte):>7.2f}%")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"mean train time per epoch {sum(times) / len(times):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
