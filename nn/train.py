"""Train a CNN from one command: ``ndgrad-train`` or ``python -m nn.train``.

    ndgrad-train                                   # small CNN on the bundled 8x8 digits
    ndgrad-train --dataset mnist --data-dir DIR    # LeNet-5 on MNIST, 2 epochs
    ndgrad-train --epochs 5 --optimizer sgd --lr 0.05 --out runs/sgd --graph runs/sgd/graph.svg

Datasets: ``digits`` (scikit-learn's bundled 8x8 digits, no network; stratified 80/20
train/test split), ``mnist`` and ``fashion-mnist`` (the IDX files, raw or .gz, in
``--data-dir``; nothing is downloaded). Writes to ``--out``:

* ``last.safetensors`` (after every epoch) and ``best.safetensors`` (the epoch with the best
  test accuracy): ``nn.save`` of ``{'model': state_dict, 'optimizer': state_dict,
  'scheduler': state_dict, 'epoch': int, 'config': {...}, 'metrics': {...}, 'rng': {...}}``;
  reload with ``load_checkpoint(path)``, continue with ``--resume CKPT`` (the same run, to
  the total ``--epochs``: weights, optimizer moments, schedule and data order as if it had
  never stopped), evaluate with ``--eval CKPT``; ``model`` loads into the same PyTorch
  architecture as is;
* ``metrics.json``: per-epoch train/test loss and accuracy, per-batch losses, timings;
* ``curves.png``: loss and accuracy curves (matplotlib, Agg canvas, no display needed).

``--export-onnx FILE`` writes the final model as ONNX (``autograd.onnx.export``, batch
dimension symbolic). ``--graph FILE`` draws the graph of one batch's forward + backward (``autograd.draw_graph``
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

__all__ = ["main", "build_parser", "train", "evaluate", "load_checkpoint", "read_checkpoint",
           "run_eval", "export_onnx", "DEFAULTS"]

from .train_args import (DATASETS, OPTIMIZERS, SCHEDULERS, DEFAULTS, LAST, BEST,  # noqa: F401
                         CHECKPOINT, METRICS, CURVES, GRAPH_TEXT_FORMATS,
                         GRAPH_RENDER_FORMATS, UsageError, build_parser, check_args,
                         _fill_defaults)


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
        correct += int((np.argmax(logits._data, axis=1) == y._data).sum())
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
                correct += int((np.argmax(logits._data, axis=1) == y._data).sum())
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


def read_checkpoint(path):
    """The checkpoint dict saved by a run, or UsageError naming the file and the problem."""
    from .serialization import load
    try:
        ckpt = load(path)
    except FileNotFoundError:
        raise UsageError(f"{path!r}: no such checkpoint file") from None
    except (ValueError, OSError) as e:
        raise UsageError(f"cannot read checkpoint: {e}") from None
    if not isinstance(ckpt, dict) or not {"model", "config", "epoch"} <= set(ckpt):
        raise UsageError(f"{path!r} is not an ndgrad-train checkpoint (it needs 'model', "
                         f"'config' and 'epoch' entries)")
    return ckpt


def load_checkpoint(path):
    """``(model, checkpoint dict)``: the model rebuilt from the checkpoint's config with its
    weights loaded (in eval mode)."""
    from .models import build_model
    ckpt = read_checkpoint(path)
    cfg = ckpt["config"]
    try:
        model = build_model(cfg["model"], in_channels=cfg["in_channels"],
                            num_classes=cfg["num_classes"], input_size=cfg["input_size"])
        model.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise UsageError(f"{path!r}: the checkpoint does not fit its model: {e}") from None
    model.eval()
    return model, ckpt


def export_onnx(model, path, in_channels, input_size):
    """Write ``model`` (eval mode) as ONNX with a symbolic batch dimension."""
    import numpy as np
    import autograd
    from autograd.onnx import export
    x = autograd.Tensor(np.zeros((1, in_channels, input_size, input_size), np.float32))
    export(model, x, path, input_names=["input"], output_names=["logits"],
           dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return path


def run_eval(args, log=print):
    """``--eval CKPT``: the checkpoint's test loss and accuracy, printed and returned."""
    import autograd
    from . import data
    from .loss import CrossEntropyLoss
    model, ckpt = load_checkpoint(args.eval_ckpt)
    cfg = ckpt["config"]
    _, (x_test, y_test) = load_data(cfg["dataset"], args.data_dir, 1, args.test_limit)
    loader = data.DataLoader(data.TensorDataset(x_test, y_test),
                             batch_size=args.eval_batch_size)
    loss, acc = evaluate(model, loader, CrossEntropyLoss())
    result = dict(checkpoint=args.eval_ckpt, dataset=cfg["dataset"], model=cfg["model"],
                  epoch=ckpt["epoch"], test_samples=int(len(y_test)), test_loss=loss,
                  test_acc=acc)
    log(f"{args.eval_ckpt}: {cfg['model']} on {cfg['dataset']} after epoch {ckpt['epoch']}: "
        f"test loss {loss:.4f} acc {100 * acc:.2f}% ({len(y_test)} images)")
    log(json.dumps(result))
    if args.export_onnx:
        with autograd.no_grad():
            export_onnx(model, args.export_onnx, cfg["in_channels"], cfg["input_size"])
        log(f"ONNX model written to {args.export_onnx}")
    return result


_RESUMED = ("dataset", "model", "batch_size", "lr", "optimizer", "momentum", "weight_decay",
            "scheduler", "seed", "train_limit", "test_limit")


def _apply_resume(args, ckpt):
    """Continue the checkpoint's run: its settings replace the command line's (except the
    total --epochs, which defaults to the run's own)."""
    cfg = ckpt["config"]
    for key in _RESUMED:
        if key in cfg and cfg[key] is not None:
            setattr(args, key, cfg[key])
    if args.epochs_given is None:
        args.epochs = cfg.get("epochs", args.epochs)
    return args


def _generators():
    """autograd's global generator (weights init, dropout masks, randn, ...)."""
    import importlib
    return importlib.import_module("autograd.tensor")._rng()


def train(args, log=print):
    """Run the job described by parsed ``args`` (see ``build_parser``); returns the metrics."""
    import numpy as np
    import autograd
    from . import data
    from .loss import CrossEntropyLoss
    from .models import build_model
    from .serialization import save

    t_start = time.perf_counter()
    ckpt = read_checkpoint(args.resume) if getattr(args, "resume", None) else None
    if ckpt is not None:
        _apply_resume(args, ckpt)
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
                  train_limit=args.train_limit, test_limit=args.test_limit,
                  train_samples=int(len(y_train)),
                  test_samples=int(len(y_test)))
    n_params = sum(p._data.size for p in model.parameters())
    metrics = dict(config=config, num_parameters=int(n_params), epochs=[], batch_loss=[],
                   final_test_acc=None, best_test_acc=None, total_time_s=None)
    start = 1
    if ckpt is not None:
        start = _restore(ckpt, model, optimizer, scheduler, train_loader, metrics, args)
        log(f"resuming {args.resume} after epoch {start - 1} of {args.epochs}")
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

    paths = dict(last=os.path.join(args.out, LAST), best=os.path.join(args.out, BEST),
                 metrics=os.path.join(args.out, METRICS),
                 curves=None if args.no_plot else os.path.join(args.out, CURVES))
    try:
        for epoch in range(start, args.epochs + 1):
            best_before = metrics["best_test_acc"]
            _one_epoch(epoch, args, model, optimizer, scheduler, loss_fn, train_loader,
                       test_loader, metrics, t_start, log)
            ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "epoch": epoch, "config": config, "metrics": metrics,
                    "rng": {"loader": train_loader.generator.bit_generator.state,
                            "autograd": _generators().bit_generator.state}}
            save(ckpt, paths["last"])
            if best_before is None or metrics["epochs"][-1]["test_acc"] > best_before:
                save(ckpt, paths["best"])  # the first of equally good epochs stays
            _write_json(metrics, paths["metrics"])
    except KeyboardInterrupt:
        metrics["interrupted"] = True
        log("interrupted: keeping the epochs completed so far")
    return _finish(args, model, metrics, paths, t_start, in_channels, input_size, log)


def _restore(ckpt, model, optimizer, scheduler, loader, metrics, args):
    """Load a checkpoint's state into the run; returns the first epoch still to train."""
    try:
        model.load_state_dict(ckpt["model"])
        if ckpt.get("optimizer") is not None:
            optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None:
            # Replay the schedule from the start for the (possibly new) total --epochs,
            # so a resumed run gets the learning rates an uninterrupted one would.
            for group in optimizer.param_groups:
                group["lr"] = group.get("initial_lr", group["lr"])
            for _ in range(int(ckpt["epoch"])):
                scheduler.step()
        rng = ckpt.get("rng") or {}
        if rng.get("loader"):  # in place: the loader's sampler holds this very generator
            loader.generator.bit_generator.state = rng["loader"]
        if rng.get("autograd"):
            _generators().bit_generator.state = rng["autograd"]
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise UsageError(f"--resume {args.resume!r}: the checkpoint does not fit: {e}") from None
    old = ckpt.get("metrics") or {}
    for key in ("epochs", "batch_loss"):
        metrics[key] = list(old.get(key) or [])
    if metrics["epochs"]:
        metrics["final_test_acc"] = metrics["epochs"][-1]["test_acc"]
        metrics["best_test_acc"] = max(e["test_acc"] for e in metrics["epochs"])
    return int(ckpt["epoch"]) + 1


def _one_epoch(epoch, args, model, optimizer, scheduler, loss_fn, train_loader, test_loader,
               metrics, t_start, log):
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


def _finish(args, model, metrics, paths, t_start, in_channels, input_size, log):
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
    if args.export_onnx:
        export_onnx(model, args.export_onnx, int(in_channels), int(input_size))
        paths["onnx"] = args.export_onnx
    written = [p for k, p in paths.items() if p and os.path.exists(p)]
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
    """Entry point of ``ndgrad-train`` / ``python -m nn.train``; returns the exit status.
    Every bad argument is a usage error (exit status 2, no traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.epochs_given = args.epochs
    if args.resume is not None and args.out is None:  # continue in the run's directory
        args.out = os.path.dirname(os.path.abspath(args.resume))
    args = _fill_defaults(args)
    try:
        check_args(args)
        with _blas_threads(args.threads):
            if args.eval_ckpt is not None:
                run_eval(args)
                return 0
            metrics = train(args)
    except UsageError as e:
        parser.error(str(e))  # exits with status 2
    except FloatingPointError as e:
        parser.error(str(e))
    return 130 if metrics.get("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main())
