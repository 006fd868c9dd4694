"""The command line of ``ndgrad-train`` (see ``nn/train.py``): the parser, per-dataset
defaults, and the checks that turn every bad argument into a usage error (exit status 2,
no traceback) before anything is trained."""
import argparse
import importlib.util
import math
import os
import shutil
import tempfile

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

LAST = "last.safetensors"   # the checkpoint after the latest epoch
BEST = "best.safetensors"   # the checkpoint with the best test accuracy so far
CHECKPOINT = LAST
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
    p.add_argument("--momentum", type=_nonnegative_float, default=0.9,
                   help="SGD momentum (default 0.9)")
    p.add_argument("--weight-decay", type=_nonnegative_float, default=None,
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
    run = p.add_mutually_exclusive_group()
    run.add_argument("--resume", metavar="CKPT",
                     help="continue the run saved in checkpoint CKPT (its model, optimizer, "
                          "schedule, data order and settings; --epochs sets the new total)")
    run.add_argument("--eval", metavar="CKPT", dest="eval_ckpt",
                     help="evaluate checkpoint CKPT on its dataset's test split, print the "
                          "metrics and exit (no training)")
    p.add_argument("--export-onnx", metavar="FILE",
                   help="also write the trained (or --eval) model as ONNX (needs the onnx "
                        "package: pip install ndgrad[onnx])")
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


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
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


def check_args(args):
    """Raise UsageError for arguments that argparse alone cannot judge."""
    if args.graph:
        _check_graph(args.graph)
    if args.step_through and os.path.splitext(args.step_through)[1].lower() not in (".html",
                                                                                    ".htm"):
        raise UsageError(f"--step-through {args.step_through!r}: use an .html file name")
    if args.export_onnx:
        _check_writable_file("--export-onnx", args.export_onnx)
        if importlib.util.find_spec("onnx") is None:
            raise UsageError("--export-onnx needs the onnx package: pip install onnx "
                             "(or pip install ndgrad[onnx])")
    for flag, path in (("--resume", args.resume), ("--eval", args.eval_ckpt)):
        if path is not None and not os.path.isfile(path):
            raise UsageError(f"{flag} {path!r}: no such checkpoint file")
    if args.eval_ckpt is None:
        check_out_dir(args.out)


def _check_graph(path):
    ext = os.path.splitext(path)[1].lower()
    if ext not in GRAPH_TEXT_FORMATS + GRAPH_RENDER_FORMATS:
        raise UsageError(f"--graph {path!r}: use a .svg, .png, .pdf, .dot or .gv file name")
    if ext in GRAPH_RENDER_FORMATS:
        if importlib.util.find_spec("graphviz") is None:
            raise UsageError(f"--graph {path!r}: drawing needs the graphviz Python package "
                             f"(pip install graphviz)")
        if shutil.which("dot") is None:
            raise UsageError(f"--graph {path!r}: rendering {ext} needs graphviz's 'dot' "
                             f"program, which is not installed (apt-get install graphviz / "
                             f"brew install graphviz / conda install graphviz); or write DOT "
                             f"text with a .dot file name")
    _check_writable_file("--graph", path)


def _check_writable_file(flag, path):
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path!r} is a directory, not a file name")
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise UsageError(f"{flag} {path!r}: {parent!r} is a file, not a directory")


def check_out_dir(out):
    """--out must be a directory we can create and write into (checked by writing)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out!r} is an existing file, not a directory")
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise UsageError(f"--out {out!r} cannot be written: {e.strerror or e}") from None
