"""ndgrad-train: every bad argument is a usage error -- exit status 2, a message naming the
argument, no traceback -- reported before any training starts."""
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
import nn  # noqa: E402
from nn import train as train_mod  # noqa: E402
from nn import train_args  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = ["--epochs", "1", "--train-limit", "64", "--test-limit", "32", "--no-progress",
         "--no-plot", "--threads", "1"]


def _usage_error(argv, capsys, *fragments):
    with pytest.raises(SystemExit) as info:
        train_mod.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: ndgrad-train" in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.mark.parametrize("flag, value, fragment", [
    ("--momentum", "-1", "argument --momentum: expected a finite number >= 0, got '-1'"),
    ("--momentum", "nan", "argument --momentum: expected a finite number >= 0"),
    ("--weight-decay", "-1", "argument --weight-decay: expected a finite number >= 0"),
    ("--weight-decay", "inf", "argument --weight-decay: expected a finite number >= 0"),
    ("--weight-decay", "lots", "argument --weight-decay: expected a finite number >= 0"),
    ("--lr", "1e999", "argument --lr: expected a positive number, got '1e999'"),
    ("--lr", "1" + "0" * 400, "argument --lr: expected a positive number"),
    ("--lr", "0", "argument --lr: expected a positive number"),
    ("--lr", "-0.1", "argument --lr: expected a positive number"),
    ("--epochs", "0", "argument --epochs: expected a positive integer"),
    ("--batch-size", "-3", "argument --batch-size: expected a positive integer"),
    ("--threads", "-1", "argument --threads: expected an integer >= 0"),
    ("--dataset", "cifar", "argument --dataset: invalid choice: 'cifar'"),
    ("--optimizer", "lion", "argument --optimizer: invalid choice: 'lion'"),
])
def test_bad_values(tmp_path, capsys, flag, value, fragment):
    _usage_error(["--out", str(tmp_path / "o"), flag, value] + QUICK, capsys, fragment)
    assert not (tmp_path / "o").exists()       # refused before anything was written


def test_out_is_an_existing_file(tmp_path, capsys):
    f = tmp_path / "results.txt"
    f.write_text("keep me")
    _usage_error(["--out", str(f)] + QUICK, capsys, "--out", "is an existing file")
    assert f.read_text() == "keep me"


def test_out_below_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("")
    _usage_error(["--out", str(f / "run")] + QUICK, capsys, "--out", "cannot be written")


def test_out_in_an_unwritable_place(tmp_path, capsys):
    _usage_error(["--out", "/proc/ndgrad-run"] + QUICK, capsys, "--out '/proc/ndgrad-run' "
                 "cannot be written")


def test_graph_without_the_graphviz_binary(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train_args.shutil, "which", lambda name: None)
    called = []
    monkeypatch.setattr(train_mod, "load_data", lambda *a, **k: called.append(1))
    _usage_error(["--out", str(tmp_path), "--graph", str(tmp_path / "g.svg")] + QUICK, capsys,
                 "needs graphviz's 'dot' program", "apt-get install graphviz", ".dot")
    assert called == [] and not (tmp_path / "last.safetensors").exists()  # before training


def test_graph_bad_extension_or_directory(tmp_path, capsys):
    _usage_error(["--out", str(tmp_path), "--graph", str(tmp_path / "g.jpeg")] + QUICK, capsys,
                 "--graph", "use a .svg, .png, .pdf, .dot or .gv file name")
    d = tmp_path / "g.dot"
    d.mkdir()
    _usage_error(["--out", str(tmp_path), "--graph", str(d)] + QUICK, capsys,
                 "is a directory, not a file name")


def test_resume_and_eval_of_missing_or_bad_files(tmp_path, capsys):
    _usage_error(["--resume", str(tmp_path / "nope.safetensors")], capsys,
                 "--resume", "no such checkpoint file")
    _usage_error(["--eval", str(tmp_path / "nope.safetensors")], capsys,
                 "--eval", "no such checkpoint file")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    _usage_error(["--eval", str(junk)], capsys, "cannot read checkpoint", str(junk))
    plain = tmp_path / "weights.safetensors"
    nn.save(nn.Linear(2, 2).state_dict(), plain)
    _usage_error(["--resume", str(plain), "--out", str(tmp_path)], capsys,
                 "is not an ndgrad-train checkpoint")


def test_checkpoint_that_does_not_fit_its_model(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    nn.save({"model": {"w": np.ones(2)}, "epoch": 1,
             "config": {"model": "lenet5", "in_channels": 1, "num_classes": 10,
                        "input_size": 28, "dataset": "digits"}}, bad)
    _usage_error(["--eval", str(bad)], capsys, "does not fit its model")


def test_resume_and_eval_together(tmp_path, capsys):
    _usage_error(["--resume", "a", "--eval", "b"], capsys,
                 "argument --eval: not allowed with argument --resume")


def test_export_onnx_target_is_a_directory(tmp_path, capsys):
    _usage_error(["--out", str(tmp_path), "--export-onnx", str(tmp_path)] + QUICK, capsys,
                 "--export-onnx", "is a directory")


def test_export_onnx_without_the_onnx_package(tmp_path, capsys, monkeypatch):
    real = train_args.importlib.util.find_spec
    monkeypatch.setattr(train_args.importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnx" else real(name, *a))
    _usage_error(["--out", str(tmp_path), "--export-onnx", str(tmp_path / "m.onnx")] + QUICK,
                 capsys, "pip install onnx")


def test_a_diverging_lr_is_reported_without_a_traceback(tmp_path, capsys):
    with np.errstate(all="ignore"):
        _usage_error(["--out", str(tmp_path), "--optimizer", "sgd", "--momentum", "0",
                      "--lr", "1e30"] + QUICK, capsys, "try a smaller --lr")


@pytest.mark.parametrize("argv, fragment", [
    (["--momentum", "-1"], "--momentum"),
    (["--out", "setup.cfg"], "is an existing file"),
])
def test_command_line_exit_status_and_no_traceback(argv, fragment):
    res = subprocess.run([sys.executable, "-m", "nn.train"] + argv, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert fragment in res.stderr and "Traceback" not in res.stderr
