"""Train a CNN from one command: ``ndgrad-train`` or ``python -m nn.train``.

    ndgrad-train                                   # small CNN on the bundled 8x8 digits
    ndgrad-train --dataset mnist --data-dir DIR    # LeNet-5 on MNIST, 2 epochs
    ndgrad-train --epochs 5 --optimizer sgd --lr 0.05 --out runs/sgd --graph runs/sgd/graph.svg

Datasets: ``digits`` (scikit-learn's bundled 8x8 digits, no network; stratified 80/20
train/test split), ``mnist`` and ``fashion-mnist`` (the IDX files, raw or .gz, in
``--data-dir``; nothing is downloaded). Writes to ``--out``:

* ``checkpoint.npz``: ``nn.save`` of ``{'model': state_dict, 'optimizer': state_dict,
  'scheduler': state_dict, 'epoch': int, 'config': {...}}`` after every epoch; reload with
  ``build_model(ckpt['config']['model'], ...)`` and ``model.load_state_dict(ckpt['model'])``
  (see ``load_checkpoint``);
* ``metrics.json``: per-epoch train/test loss and accuracy, per-batch losses, timings;
* ``curves.png``: loss and accuracy curves (matplotlib, Agg canvas, no display needed).

``--graph FILE`` draws the graph of one batch's forward + backward (``autograd.draw_graph``
grouped by module) as SVG/PNG/PDF by extension, or DOT text for ``.dot``/``.gv``.

Importing this module is cheap: nothing is trained or loaded until ``main()`` runs.
"""
import argparse
import contextlib
import json
import math
import os
import sys
import time

__all__ = ["main", "build_parser", "train", "evaluate", "load_checkpoint", "DEFAULTS"]

DATASETS = ("digits", "mnist", "fashion-mnist")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "cosine", "step")

# Per-dataset defaults for the options left unset on the command line.
DEFAULTS = {
    # threads: BLAS threads (0 = BLAS's choice). The digits model's matrices are tiny, so
    # extra BLAS threads only add overhead (and spin badly on a busy machine).
    "digits": dict(model="small-cnn", epochs=15, batch_size=32, threads=1,
                   lr={"sgd": 0.05, "adam": 3e-3, "adamw": 3e-3}),
    "mnist": dict(model="lenet5", epochs=2, batch_size=64, threads=0,
                  lr={"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}),
}
DEFAULTS["fashion-mnist"] = DEFAULTS["mnist"]

CHECKPOINT = "checkpoint.npz"
METRICS = "metrics.json"
CURVES = "curves.png"
GRAPH_TEXT_FORMATS = (".dot", ".gv")
GRAPH_RENDER_FORMATS = (".svg", ".png", ".pdf")


class UsageError(Exception):
    """A problem with the command line or the inputs it names (reported as ``error: ...``)."""


def build_parser():
    from .models import model_names  # noqa: F401  (cheap: the layers load lazily)
    p = argparse.ArgumentParser(
        prog="ndgrad-train",
        description="Train a small CNN with ndgrad (define-by-run autodiff on NumPy).",
        epilog="Defaults: digits -> small-cnn, 15 epochs, batch 32, adam lr 3e-3; "
               "mnist/fashion-mnist -> lenet5, 2 epochs, batch 64, adam lr 1e-3 "
               "(sgd: lr 0.05, momentum 0.9). All with a cosine learning-rate schedule.")
    p.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="digits (bundled 8x8, default), mnist or fashion-mnist (needs --data-dir)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="directory with the MNIST/Fashion-MNIST IDX files (raw or .gz)")
    p.add_argument("--model", choices=model_names(),
                   help="network (default: small-cnn for digits, lenet5 for 28x28 data)")
    p.add_argument("--epochs", type=_positive_int, help="training epochs")
    p.add_argument("--batch-size", type=_positive_int, help="training batch size")
    p.add_argument("--lr", type=_positive_float, help="learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default: adam")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="weight decay (default 0; 0.01 for adamw)")
    p.add_argument("--scheduler", choices=SCHEDULERS, default="cosine",
                   help="learning-rate schedule, stepped once per epoch (default: cosine)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output directory (default: runs/DATASET-MODEL)")
    p.add_argument("--graph", metavar="FILE",
                   help="also draw one batch's forward+backward graph: .svg/.png/.pdf "
                        "(needs graphviz's dot) or .dot/.gv (DOT text)")
    p.add_argument("--graph-max-nodes", type=_positive_int, default=200, metavar="N",
                   help="draw at most N graph nodes (default 200)")
    p.add_argument("--step-through", metavar="FILE",
                   help="also write an HTML page stepping through one training step's "
                        "backward pass (autograd.step_through; needs graphviz's dot)")
    p.add_argument("--train-limit", type=_positive_int, metavar="N",
                   help="use only the first N training samples (quick runs)")
    p.add_argument("--test-limit", type=_positive_int, metavar="N",
                   help="use only the first N test samples (quick runs)")
    p.add_argument("--eval-batch-size", type=_positive_int, default=1000, metavar="N",
                   help="batch size for evaluation (default 1000)")
    p.add_argument("--threads", type=_nonnegative_int, metavar="N",
                   help="limit NumPy's BLAS to N threads, 0: BLAS's own choice (default: 1 "
                        "for digits, 0 otherwise; needs threadpoolctl). On a busy machine "
                        "1 can be several times faster")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (plain per-epoch lines only)")
    p.add_argument("--no-plot", action="store_true", help="don't write curves.png")
    return p


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fill_defaults(args):
    d = DEFAULTS[args.dataset]
    if args.model is None:
        args.model = d["model"]
    if args.epochs is None:
        args.epochs = d["epochs"]
    if args.batch_size is None:
        args.batch_size = d["batch_size"]
    if args.lr is None:
        args.lr = d["lr"][args.optimizer]
    if args.threads is None:
        args.threads = d["threads"]
    if args.weight_decay is None:
        args.weight_decay = 0.01 if args.optimizer == "adamw" else 0.0
    if args.out is None:
        args.out = os.path.join("runs", f"{args.dataset}-{args.model}")
    return args


# --------------------------------------------------------------------------------- data
def load_data(dataset, data_dir=None, train_limit=None, test_limit=None):
    """``(x_train, y_train), (x_test, y_test)`` as NumPy arrays, images ``(N, 1, H, W)``."""
    from . import data
    if dataset == "digits":
        try:
            train = data.load_digits("train")
            test = data.load_digits("test")
        except ImportError as e:
            raise UsageError(str(e)) from None
    else:
        if data_dir is None:
            raise UsageError(f"--dataset {dataset} needs --data-dir DIR: the directory holding "
                             f"the IDX files (train-images-idx3-ubyte[.gz], ...)")
        if not os.path.isdir(data_dir):
            raise UsageError(f"--data-dir {data_dir!r} is not a directory")
        try:
            train = data.load_mnist(data_dir, "train", kind=dataset, normalize=True)
            test = data.load_mnist(data_dir, "test", kind=dataset, normalize=True)
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read {dataset} from --data-dir {data_dir!r}: {e}") from None
    if train_limit:
        train = tuple(a[:train_limit] for a in train)
    if test_limit:
        test = tuple(a[:test_limit] for a in test)
    return train, test


# ---------------------------------------------------------------------------- building
def make_optimizer(name, params, lr, momentum=0.9, weight_decay=0.0):
    from . import optim
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}")


def make_scheduler(name, optimizer, epochs):
    from . import optim
    if name == "none":
        return None
    if name == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return optim.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    raise ValueError(f"unknown scheduler {name!r}")


# ------------------------------------------------------------------------------ progress
class _Progress:
    """A tqdm bar over one epoch's batches when tqdm is installed and stderr is a terminal;
    otherwise a few plain lines (at 25/50/75%) for long epochs."""

    def __init__(self, total, desc, enabled=True):
        self.total, self.desc, self.count = total, desc, 0
        self.bar = None
        if enabled and _isatty(sys.stderr):
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, unit="batch", leave=False,
                                dynamic_ncols=True, file=sys.stderr)
        self.marks = set()
        if self.bar is None and enabled and total >= 100:
            self.marks = {total * k // 4 for k in (1, 2, 3)}

    def update(self, loss, acc):
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.count % 5 == 0 or self.count == self.total:
                self.bar.set_postfix({"loss": f"{loss:.4f}", "acc": f"{100 * acc:.2f}%"},
                                     refresh=False)
        elif self.count in self.marks:
            print(f"  {self.desc}: batch {self.count}/{self.total}  loss {loss:.4f}  "
                  f"acc {100 * acc:.2f}%", flush=True)

    def write(self, line):
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# ------------------------------------------------------------------------- train / eval
def train_one_epoch(model, loader, optimizer, loss_fn, progress=None, batch_losses=None):
    """One pass over ``loader``; returns ``(mean loss, accuracy)`` over its samples."""
    import numpy as np
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        loss = loss_fn(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n = len(y)
        value = float(loss.item())
        if not math.isfinite(value):
            raise FloatingPointError(f"the training loss became {value}; try a smaller --lr")
        total_loss += value * n
        correct += int((np.argmax(logits.data, axis=1) == y.data).sum())
        seen += n
        if batch_losses is not None:
            batch_losses.append(value)
        if progress is not None:
            progress.update(total_loss / seen, correct / seen)
    return total_loss / max(seen, 1), correct / max(seen, 1)


def evaluate(model, loader, loss_fn):
    """``(mean loss, accuracy)`` of ``model`` on ``loader``, in eval mode without a graph."""
    import numpy as np
    import autograd
    was_training = model.training
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    try:
        with autograd.no_grad():
            for x, y in loader:
                logits = model(x)
                n = len(y)
                total_loss += float(loss_fn(logits, y).item()) * n
                correct += int((np.argmax(logits.data, axis=1) == y.data).sum())
                seen += n
    finally:
        model.train(was_training)
    return total_loss / max(seen, 1), correct / max(seen, 1)


def export_graph(path, model, loss_fn, x, y, max_nodes=200):
    """Run one batch forward + backward and draw its graph to ``path`` (format from the
    extension); the gradients are cleared afterwards. Returns the path."""
    import autograd
    ext = os.path.splitext(path)[1].lower()
    if ext not in GRAPH_TEXT_FORMATS + GRAPH_RENDER_FORMATS:
        raise UsageError(f"--graph {path!r}: use a .svg, .png, .pdf, .dot or .gv file name")
    model.train()
    loss = loss_fn(model(x), y)
    loss.backward()
    params = dict(model.named_parameters())
    try:
        graph = autograd.draw_graph(loss, params=params, group_by="module", max_nodes=max_nodes)
        if ext in GRAPH_TEXT_FORMATS:
            data = graph.source.encode("utf-8")
        else:
            import graphviz
            try:
                data = graph.pipe(format=ext[1:])
            except graphviz.ExecutableNotFound:
                raise UsageError(f"--graph {path!r}: rendering {ext} needs graphviz's 'dot' "
                                 f"program (apt install graphviz / brew install graphviz / "
                                 f"conda install graphviz); or write DOT text with a .dot "
                                 f"file name") from None
    finally:
        model.zero_grad()
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---------------------------------------------------------------------------- outputs
def plot_curves(metrics, path):
    """Loss and accuracy curves as a PNG, drawn on a plain Agg canvas (no pyplot, so it
    works headless and leaves the caller's matplotlib backend alone)."""
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    epochs = [e["epoch"] for e in metrics["epochs"]]
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    batch = metrics.get("batch_loss") or []
    if batch and epochs:
        per_epoch = len(batch) / len(epochs)
        xs = [(i + 1) / per_epoch for i in range(len(batch))]
        ax_loss.plot(xs, batch, color="tab:blue", alpha=0.25, linewidth=0.8,
                     label="train (per batch)")
    ax_loss.plot(epochs, [e["train_loss"] for e in metrics["epochs"]], "o-", color="tab:blue",
                 label="train (epoch mean)")
    ax_loss.plot(epochs, [e["test_loss"] for e in metrics["epochs"]], "s-", color="tab:orange",
                 label="test")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.set_yscale("log")
    ax_loss.legend()
    ax_loss.grid(True, alpha=0.3)
    ax_acc.plot(epochs, [100 * e["train_acc"] for e in metrics["epochs"]], "o-",
                color="tab:blue", label="train")
    ax_acc.plot(epochs, [100 * e["test_acc"] for e in metrics["epochs"]], "s-",
                color="tab:orange", label="test")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend()
    ax_acc.grid(True, alpha=0.3)
    cfg = metrics["config"]
    fig.suptitle(f"{cfg['model']} on {cfg['dataset']}: {cfg['optimizer']} lr {cfg['lr']:g}, "
                 f"batch {cfg['batch_size']}; final test accuracy "
                 f"{100 * metrics['final_test_acc']:.2f}%")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _write_json(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def load_checkpoint(path):
    """``(model, checkpoint dict)``: the model rebuilt from the checkpoint's config with its
    weights loaded (in eval mode)."""
    from .serialization import load
    from .models import build_model
    ckpt = load(path)
    cfg = ckpt["config"]
    model = build_model(cfg["model"], in_channels=cfg["in_channels"],
                        num_classes=cfg["num_classes"], input_size=cfg["input_size"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt


# ---------------------------------------------------------------------------------- main
def train(args, log=print):
    """Run the job described by parsed ``args`` (see ``build_parser``); returns the metrics."""
    import numpy as np
    import autograd
    from . import data
    from .loss import CrossEntropyLoss
    from .models import build_model
    from .serialization import save

    t_start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = load_data(args.dataset, args.data_dir,
                                                     args.train_limit, args.test_limit)
    in_channels, input_size = x_train.shape[1], x_train.shape[-1]
    num_classes = 10
    autograd.manual_seed(args.seed)
    np.random.seed(args.seed)
    try:
        model = build_model(args.model, in_channels=in_channels, num_classes=num_classes,
                            input_size=input_size)
    except ValueError as e:
        raise UsageError(f"--model {args.model}: {e}") from None
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr, args.momentum,
                               args.weight_decay)
    scheduler = make_scheduler(args.scheduler, optimizer, args.epochs)
    loss_fn = CrossEntropyLoss()
    train_loader = data.DataLoader(data.TensorDataset(x_train, y_train),
                                   batch_size=args.batch_size, shuffle=True, seed=args.seed)
    test_loader = data.DataLoader(data.TensorDataset(x_test, y_test),
                                  batch_size=args.eval_batch_size)
    os.makedirs(args.out, exist_ok=True)

    config = dict(dataset=args.dataset, model=args.model, epochs=args.epochs,
                  batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                  momentum=args.momentum if args.optimizer == "sgd" else None,
                  weight_decay=args.weight_decay, scheduler=args.scheduler, seed=args.seed,
                  in_channels=int(in_channels), input_size=int(input_size),
                  num_classes=num_classes, threads=getattr(args, "threads", None),
                  train_samples=int(len(y_train)),
                  test_samples=int(len(y_test)))
    n_params = sum(p.data.size for p in model.parameters())
    log(f"{args.model} ({n_params:,} parameters) on {args.dataset}: {len(y_train)} train / "
        f"{len(y_test)} test images of {in_channels}x{input_size}x{input_size}; "
        f"{args.optimizer} lr {args.lr:g}, batch {args.batch_size}, {args.epochs} epochs")

    if args.graph:
        k = min(args.batch_size, len(y_train))
        x0, y0 = autograd.Tensor(x_train[:k]), autograd.Tensor(y_train[:k])
        export_graph(args.graph, model, loss_fn, x0, y0, args.graph_max_nodes)
        log(f"graph of one batch's forward + backward written to {args.graph}")
    if args.step_through:
        from .step_through_export import export_step_through
        k = min(args.batch_size, len(y_train))
        export_step_through(args.step_through, model, loss_fn, autograd.Tensor(x_train[:k]),
                            autograd.Tensor(y_train[:k]), args.graph_max_nodes)
        log(f"step-through page of one training step written to {args.step_through}")

    metrics = dict(config=config, num_parameters=int(n_params), epochs=[], batch_loss=[],
                   final_test_acc=None, best_test_acc=None, total_time_s=None)
    paths = dict(checkpoint=os.path.join(args.out, CHECKPOINT),
                 metrics=os.path.join(args.out, METRICS),
                 curves=None if args.no_plot else os.path.join(args.out, CURVES))
    try:
        for epoch in range(1, args.epochs + 1):
            lr = optimizer.param_groups[0]["lr"]
            progress = _Progress(len(train_loader), f"epoch {epoch}/{args.epochs}",
                                 enabled=not args.no_progress)
            t0 = time.perf_counter()
            try:
                train_loss, train_acc = train_one_epoch(model, train_loader, optimizer, loss_fn,
                                                        progress, metrics["batch_loss"])
            finally:
                progress.close()
            t_train = time.perf_counter() - t0
            test_loss, test_acc = evaluate(model, test_loader, loss_fn)
            t_epoch = time.perf_counter() - t0
            if scheduler is not None:
                scheduler.step()
            metrics["epochs"].append(dict(
                epoch=epoch, lr=lr, train_loss=train_loss, train_acc=train_acc,
                test_loss=test_loss, test_acc=test_acc, train_time_s=round(t_train, 3),
                epoch_time_s=round(t_epoch, 3)))
            metrics["final_test_acc"] = test_acc
            metrics["best_test_acc"] = max(e["test_acc"] for e in metrics["epochs"])
            metrics["total_time_s"] = round(time.perf_counter() - t_start, 3)
            log(f"epoch {epoch:>{len(str(args.epochs))}}/{args.epochs}  "
                f"train loss {train_loss:.4f} acc {100 * train_acc:6.2f}%  |  "
                f"test loss {test_loss:.4f} acc {100 * test_acc:6.2f}%  "
                f"({t_epoch:.1f} s, lr {lr:.3g})")
            ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "epoch": epoch, "config": config}
            save(ckpt, paths["checkpoint"])
            _write_json(metrics, paths["metrics"])
    except KeyboardInterrupt:
        metrics["interrupted"] = True
        log("interrupted: keeping the epochs completed so far")
    metrics["total_time_s"] = round(time.perf_counter() - t_start, 3)
    _write_json(metrics, paths["metrics"])
    if paths["curves"] and metrics["epochs"]:
        try:
            plot_curves(metrics, paths["curves"])
        except ImportError:
            log("matplotlib is not installed: skipping curves.png (pip install matplotlib)")
            paths["curves"] = None
    if metrics["epochs"]:
        log(f"final test accuracy {100 * metrics['final_test_acc']:.2f}% "
            f"(best {100 * metrics['best_test_acc']:.2f}%) in {metrics['total_time_s']:.1f} s")
    written = [p for p in (paths["checkpoint"], paths["metrics"], paths["curves"])
               if p and os.path.exists(p)]
    log("wrote " + ", ".join(written))
    return metrics


@contextlib.contextmanager
def _blas_threads(n):
    """Limit the BLAS thread pool to ``n`` threads for the block (``None`` or 0: no change).
    OpenBLAS threads spin while waiting, so on a machine whose cores are busy with other
    work, more threads can be many times slower than one."""
    if not n:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print(f"warning: not limiting BLAS to {n} thread(s): threadpoolctl is not installed "
              f"(pip install threadpoolctl, or set OPENBLAS_NUM_THREADS={n} before starting)",
              file=sys.stderr)
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def main(argv=None):
    """Entry point of ``ndgrad-train`` / ``python -m nn.train``; returns the exit status."""
    parser = build_parser()
    args = _fill_defaults(parser.parse_args(argv))
    try:
        with _blas_threads(args.threads):
            metrics = train(args)
    except UsageError as e:
        parser.error(str(e))  # exits with status 2
    return 130 if metrics.get("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main())
