"""Smoke tests of ``ndgrad-train`` (nn/train.py): a short digits run writes a checkpoint that
reloads, metrics JSON, a PNG and a DOT graph; an MNIST run reads IDX files; bad inputs give
clear errors. Kept small (a few hundred images, one epoch)."""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytest.importorskip("sklearn")
import nn  # noqa: E402

from nn import train as train_mod  # noqa: E402
from nn.models import build_model, LeNet5, SmallCNN  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = ["--epochs", "1", "--batch-size", "32", "--train-limit", "256", "--test-limit", "64",
         "--no-progress"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits_run")
    graph = out / "graph.dot"
    rc = train_mod.main(["--dataset", "digits", "--out", str(out), "--graph", str(graph)]
                        + SMALL)
    return rc, out, graph


def test_run_succeeds_and_writes_files(digits_run):
    rc, out, graph = digits_run
    assert rc == 0
    for name in ("last.safetensors", "best.safetensors", "metrics.json", "curves.png"):
        assert (out / name).is_file(), name
    assert graph.is_file()


def test_metrics_json(digits_run):
    _, out, _ = digits_run
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("config", "num_parameters", "epochs", "batch_loss", "final_test_acc",
                "best_test_acc", "total_time_s"):
        assert key in metrics, key
    assert metrics["config"]["dataset"] == "digits"
    assert metrics["config"]["model"] == "small-cnn"
    assert metrics["config"]["train_samples"] == 256
    assert metrics["config"]["test_samples"] == 64
    (epoch,) = metrics["epochs"]
    for key in ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc",
                "epoch_time_s"):
        assert key in epoch, key
    assert epoch["epoch"] == 1
    assert 0.0 <= epoch["test_acc"] <= 1.0 and np.isfinite(epoch["train_loss"])
    assert len(metrics["batch_loss"]) == 256 // 32
    assert metrics["final_test_acc"] == epoch["test_acc"]


def test_checkpoint_reloads_into_fresh_model(digits_run):
    _, out, _ = digits_run
    ckpt = nn.load(out / "last.safetensors")
    assert set(ckpt) >= {"model", "optimizer", "epoch", "config"}
    assert ckpt["epoch"] == 1
    fresh = build_model("small-cnn", in_channels=1, num_classes=10, input_size=8)
    before = {k: np.array(v) for k, v in fresh.state_dict().items()}
    fresh.load_state_dict(ckpt["model"])
    after = fresh.state_dict()
    assert set(after) == set(ckpt["model"])
    for k, v in ckpt["model"].items():
        np.testing.assert_array_equal(np.asarray(after[k]), v)
    assert any(not np.array_equal(before[k], np.asarray(ckpt["model"][k])) for k in before)
    # the optimizer state loads into a fresh optimizer over the fresh model
    opt = nn.optim.Adam(fresh.parameters(), lr=1.0)
    opt.load_state_dict(ckpt["optimizer"])
    assert opt.param_groups[0]["lr"] == pytest.approx(ckpt["optimizer"]["param_groups"][0]["lr"])
    # load_checkpoint rebuilds the same model, which then predicts like the trained one
    model, _ = train_mod.load_checkpoint(out / "last.safetensors")
    x, _ = nn.data.load_digits("test")
    import autograd
    with autograd.no_grad():
        np.testing.assert_allclose(model(autograd.tensor(x[:8]))._data,
                                   fresh.eval()(autograd.tensor(x[:8]))._data, rtol=1e-6)


def test_png_and_dot(digits_run):
    _, out, graph = digits_run
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC
    dot = graph.read_text()
    assert dot.lstrip().startswith("digraph")
    assert "features.conv1" in dot  # parameters named, clustered by module


def test_graph_rendered_by_extension(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("graphviz 'dot' not installed")
    svg = tmp_path / "g.svg"
    rc = train_mod.main(["--out", str(tmp_path), "--graph", str(svg), "--no-plot",
                         "--threads", "1", "--epochs", "1", "--train-limit", "32", "--test-limit", "16",
                         "--no-progress"])
    assert rc == 0
    assert b"<svg" in svg.read_bytes()[:2000]


def test_bad_graph_extension(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        train_mod.main(["--out", str(tmp_path), "--graph", str(tmp_path / "g.jpeg")] + SMALL)
    assert e.value.code == 2
    assert ".dot" in capsys.readouterr().err


def test_bad_data_dir_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(SystemExit) as e:
        train_mod.main(["--dataset", "mnist", "--data-dir", str(missing),
                        "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--data-dir" in err and "not a directory" in err and str(missing) in err

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as e:
        train_mod.main(["--dataset", "fashion-mnist", "--data-dir", str(empty),
                        "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "cannot read fashion-mnist" in err and "train-images-idx3-ubyte" in err

    with pytest.raises(SystemExit) as e:
        train_mod.main(["--dataset", "mnist", "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    assert "needs --data-dir" in capsys.readouterr().err


def _write_idx(path, array):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                    *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_mnist_idx_run_with_lenet(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 64), ("t10k", 32)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz",
                   rng.integers(0, 256, size=(n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, size=n))
    out = tmp_path / "out"
    rc = train_mod.main(["--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(out),
                         "--epochs", "1", "--batch-size", "32", "--no-plot", "--no-progress",
                         "--optimizer", "sgd"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"] == "lenet5"
    assert metrics["config"]["input_size"] == 28
    ckpt = nn.load(out / "last.safetensors")
    assert ckpt["model"]["classifier.fc1.weight"].shape == (500, 2450)
    assert not (out / "curves.png").exists()


def test_models():
    lenet = LeNet5()
    shapes = {k: tuple(v.shape) for k, v in lenet.state_dict().items()}
    assert shapes["features.conv1.weight"] == (20, 1, 5, 5)
    assert shapes["features.conv2.weight"] == (50, 20, 5, 5)
    assert shapes["classifier.fc1.weight"] == (500, 2450)
    assert shapes["classifier.fc2.weight"] == (10, 500)
    import autograd
    with autograd.no_grad():
        assert SmallCNN()(autograd.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("resnet1000")


def test_import_is_cheap_and_help_works():
    code = ("import sys, nn.train; "
            "heavy = [m for m in ('matplotlib', 'tqdm', 'sklearn', 'graphviz') "
            "if m in sys.modules]; print(heavy)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
    res = subprocess.run([sys.executable, "-m", "nn.train", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "--dataset" in res.stdout and "--graph" in res.stdout
