"""ndgrad-train --resume / --eval / --export-onnx, and the last + best checkpoints."""
import json
import os

import numpy as np
import pytest

pytest.importorskip("sklearn")
import nn  # noqa: E402
from nn import train as train_mod  # noqa: E402

QUICK = ["--batch-size", "32", "--train-limit", "128", "--test-limit", "64", "--no-progress",
         "--no-plot", "--threads", "1"]


def _weights(path):
    return nn.load(path)["model"]


@pytest.mark.parametrize("scheduler", ["cosine", "step"])
def test_resume_continues_exactly_where_it_stopped(tmp_path, monkeypatch, scheduler):
    full, part = tmp_path / "full", tmp_path / "part"
    opts = QUICK + ["--scheduler", scheduler, "--optimizer", "adam", "--epochs", "3"]
    assert train_mod.main(["--out", str(full)] + opts) == 0
    real_epoch = train_mod._one_epoch

    def interrupted_at_3(epoch, *args):
        if epoch == 3:
            raise KeyboardInterrupt        # Ctrl-C during epoch 3
        return real_epoch(epoch, *args)
    with monkeypatch.context() as m:
        m.setattr(train_mod, "_one_epoch", interrupted_at_3)
        assert train_mod.main(["--out", str(part)] + opts) == 130
    ckpt = nn.load(part / "last.safetensors")
    assert ckpt["epoch"] == 2 and ckpt["optimizer"]["state"]            # Adam moments saved
    assert train_mod.main(["--resume", str(part / "last.safetensors"), "--no-progress",
                           "--no-plot"]) == 0
    a, b = _weights(full / "last.safetensors"), _weights(part / "last.safetensors")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    metrics = json.loads((part / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    full_metrics = json.loads((full / "metrics.json").read_text())
    assert [e["lr"] for e in metrics["epochs"]] == [e["lr"] for e in full_metrics["epochs"]]


def test_best_checkpoint_is_the_best_epoch(tmp_path):
    assert train_mod.main(["--out", str(tmp_path), "--epochs", "3"] + QUICK) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    accs = [e["test_acc"] for e in metrics["epochs"]]
    best = nn.load(tmp_path / "best.safetensors")
    assert best["epoch"] == 1 + int(np.argmax(accs))
    assert nn.load(tmp_path / "last.safetensors")["epoch"] == 3


def test_eval_prints_metrics(tmp_path, capsys):
    assert train_mod.main(["--out", str(tmp_path), "--epochs", "1"] + QUICK) == 0
    capsys.readouterr()
    ckpt = str(tmp_path / "last.safetensors")
    assert train_mod.main(["--eval", ckpt, "--test-limit", "64"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert result["test_acc"] == pytest.approx(metrics["epochs"][-1]["test_acc"])
    assert result["test_loss"] == pytest.approx(metrics["epochs"][-1]["test_loss"], rel=1e-6)
    assert "test loss" in out[0] and "acc" in out[0]


def test_export_onnx_after_training_and_from_eval(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import autograd
    onnx_path = tmp_path / "model.onnx"
    assert train_mod.main(["--out", str(tmp_path), "--epochs", "1", "--export-onnx",
                           str(onnx_path)] + QUICK) == 0
    model, _ = train_mod.load_checkpoint(tmp_path / "last.safetensors")
    x = np.random.default_rng(0).standard_normal((7, 1, 8, 8)).astype(np.float32)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with autograd.no_grad():
        expected = model(autograd.Tensor(x))._data
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, rtol=1e-5,
                               atol=1e-5)
    os.remove(onnx_path)
    assert train_mod.main(["--eval", str(tmp_path / "best.safetensors"), "--export-onnx",
                           str(onnx_path)]) == 0
    assert onnx_path.stat().st_size > 1000
