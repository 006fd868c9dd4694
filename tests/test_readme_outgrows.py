"""The README's "When your model outgrows ndgrad" section runs as documented: the
ndgrad -> PyTorch / ONNX Runtime snippet, and the DDP script as a one-process gloo group."""
import os
import re
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _section_blocks():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index("## When your model outgrows ndgrad")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_snippets_run(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("safetensors.torch")
    pytest.importorskip("onnxruntime")
    snippet, ddp_script = _section_blocks()
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md (outgrows snippet)", "exec"), {"__name__": "readme"})
    assert (tmp_path / "lenet5.safetensors").is_file() and (tmp_path / "lenet5.onnx").is_file()

    # The DDP script imports lenet5 from model.py: the function the snippet defines.
    definition = snippet[snippet.index("def lenet5"):snippet.index("model = lenet5(nn)")]
    (tmp_path / "model.py").write_text("from collections import OrderedDict\n\n" + definition)
    (tmp_path / "train_ddp.py").write_text(ddp_script)
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), RANK="0",
               WORLD_SIZE="1", LOCAL_RANK="0", LOCAL_WORLD_SIZE="1", CUDA_VISIBLE_DEVICES="",
               OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "train_ddp.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    import nn
    ns = {}
    exec(compile("from collections import OrderedDict\n" + definition, "model.py", "exec"), ns)
    ns["lenet5"](nn).load_state_dict(nn.load(tmp_path / "lenet5-ddp.safetensors"), strict=True)
