"""LeNet-5 on MNIST for 2 epochs with ndgrad: time per epoch and test accuracy.

    python benchmarks/train_mnist.py                       # data in ../shared/data/mnist
    python benchmarks/train_mnist.py --data-dir DIR --epochs 2 --json result.json

Runs the same job as ``ndgrad-train --dataset mnist`` (LeNet-5: conv 1->20 k5 p2, relu,
maxpool 2, conv 20->50 k5 p2, relu, maxpool 2, linear 2450->500, relu, linear 500->10;
Adam lr 1e-3, batch 64, cosine schedule, seed 0). The target is >= 98.5% test accuracy after
2 epochs. Not run in CI: on a 2-core CPU one epoch takes minutes.
"""
import argparse
import json
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
    p.add_argument("--data-dir", default=DEFAULT_DATA,
                   help=f"MNIST IDX files (default {DEFAULT_DATA})")
    p.add_argument("--dataset", default="mnist", choices=("mnist", "fashion-mnist"))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", default="adam", choices=("sgd", "adam", "adamw"))
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-limit", type=int, default=None, help="first N training images")
    p.add_argument("--out", default=os.path.join(_REPO, "runs", "bench-mnist-lenet5"))
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar / progress lines (only per-epoch lines)")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads (default 0: BLAS's choice; 1 is much faster on a "
                        "busy machine)")
    p.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    opts = p.parse_args(argv)

    import numpy as np
    from nn import train as T

    argv = ["--dataset", opts.dataset, "--data-dir", opts.data_dir, "--model", "lenet5",
            "--epochs", str(opts.epochs), "--batch-size", str(opts.batch_size),
            "--optimizer", opts.optimizer, "--seed", str(opts.seed), "--out", opts.out]
    if opts.lr is not None:
        argv += ["--lr", str(opts.lr)]
    if opts.train_limit:
        argv += ["--train-limit", str(opts.train_limit)]
    if opts.threads is not None:
        argv += ["--threads", str(opts.threads)]
    if opts.no_progress:
        argv.append("--no-progress")
    parser = T.build_parser()
    args = T._fill_defaults(parser.parse_args(argv))
    try:
        with T._blas_threads(args.threads):
            metrics = T.train(args)
    except T.UsageError as e:
        parser.error(str(e))

    print()
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"BLAS threads {args.threads or 'default'}, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"{'epoch':>5} | {'train s':>8} | {'epoch s':>8} | {'train acc':>9} | {'test acc':>8}")
    for e in metrics["epochs"]:
        print(f"{e['epoch']:>5} | {e['train_time_s']:>8.1f} | {e['epoch_time_s']:>8.1f} | "
              f"{100 * e['train_acc']:>8.2f}% | {100 * e['test_acc']:>7.2f}%")
    per_epoch = [e["train_time_s"] for e in metrics["epochs"]]
    summary = dict(dataset=opts.dataset, model="lenet5", epochs=len(per_epoch),
                   batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                   train_samples=metrics["config"]["train_samples"],
                   seconds_per_epoch=(sum(per_epoch) / len(per_epoch)) if per_epoch else None,
                   test_acc=metrics["final_test_acc"], total_time_s=metrics["total_time_s"],
                   target_met=(metrics["final_test_acc"] or 0) >= 0.985)
    print(f"mean train time per epoch {summary['seconds_per_epoch']:.1f} s; final test accuracy "
          f"{100 * summary['test_acc']:.2f}% (target >= 98.50%: "
          f"{'met' if summary['target_met'] else 'NOT met'}); total {summary['total_time_s']:.0f} s")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
