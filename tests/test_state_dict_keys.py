"""State-dict keys, shapes and dtypes are PyTorch's for the same layer (a tested promise):
an ndgrad state dict saved with nn.save loads into the PyTorch layer with
``load_state_dict(strict=True)`` via ``safetensors.torch.load_file``, and back."""
import numpy as np
import pytest

import nn

# (ndgrad layer, torch constructor expression) -- the same arguments in both libraries.
LAYERS = {
    "Linear": lambda m: m.Linear(4, 3),
    "Conv1d": lambda m: m.Conv1d(4, 6, 3, groups=2),
    "Conv2d": lambda m: m.Conv2d(3, 8, (3, 5), bias=False),
    "ConvTranspose2d": lambda m: m.ConvTranspose2d(4, 6, 3, groups=2),
    "BatchNorm1d": lambda m: m.BatchNorm1d(5),
    "BatchNorm2d": lambda m: m.BatchNorm2d(5),
    "BatchNorm2d-affine-off": lambda m: m.BatchNorm2d(5, affine=False),
    "LayerNorm": lambda m: m.LayerNorm((4, 6)),
    "GroupNorm": lambda m: m.GroupNorm(2, 6),
    "InstanceNorm2d": lambda m: m.InstanceNorm2d(4, affine=True, track_running_stats=True),
    "Embedding": lambda m: m.Embedding(10, 4),
    "PReLU": lambda m: m.PReLU(3),
    "LSTM": lambda m: m.LSTM(4, 5, num_layers=2, bidirectional=True),
    "GRU": lambda m: m.GRU(4, 5, bias=False),
    "RNN": lambda m: m.RNN(4, 5, num_layers=2),
    "LSTMCell": lambda m: m.LSTMCell(4, 5),
    "GRUCell": lambda m: m.GRUCell(4, 5),
    "MultiheadAttention": lambda m: m.MultiheadAttention(8, 2),
    "MultiheadAttention-kdim-vdim-bias_kv": lambda m: m.MultiheadAttention(
        8, 2, kdim=4, vdim=6, add_bias_kv=True),
    "BatchNorm1d-no-running-stats": lambda m: m.BatchNorm1d(5, track_running_stats=False),
    "LayerNorm-no-affine": lambda m: m.LayerNorm(4, elementwise_affine=False),
    "InstanceNorm1d": lambda m: m.InstanceNorm1d(3, affine=True),
    "Embedding-padding": lambda m: m.Embedding(7, 3, padding_idx=0),
    "RNNCell": lambda m: m.RNNCell(4, 5, nonlinearity="relu"),
    "ConvTranspose2d-no-bias": lambda m: m.ConvTranspose2d(2, 4, (2, 3), stride=2, bias=False),
    "Sequential": lambda m: m.Sequential(m.Conv2d(1, 2, 3), m.BatchNorm2d(2), m.ReLU(),
                                         m.Flatten(), m.Linear(8, 3)),
}

# Written out for the most common layers, so the promise is checked without torch too.
EXPECTED = {
    "Linear": [("weight", (3, 4)), ("bias", (3,))],
    "Conv2d": [("weight", (8, 3, 3, 5))],
    "BatchNorm2d": [("weight", (5,)), ("bias", (5,)), ("running_mean", (5,)),
                    ("running_var", (5,)), ("num_batches_tracked", ())],
    "Embedding": [("weight", (10, 4))],
    "LSTM": [(f"{kind}_l{layer}{suffix}", shape)
             for layer in (0, 1) for suffix in ("", "_reverse")
             for kind, shape in (("weight_ih", (20, 4 if layer == 0 else 10)),
                                 ("weight_hh", (20, 5)), ("bias_ih", (20,)),
                                 ("bias_hh", (20,)))],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_keys_and_shapes_are_pytorchs(name):
    sd = LAYERS[name](nn).state_dict()
    assert [(k, tuple(v.shape)) for k, v in sd.items()] == EXPECTED[name]
    if name == "BatchNorm2d":
        assert sd["num_batches_tracked"].dtype == np.int64


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_same_keys_shapes_dtypes_as_torch_and_loads_strictly(tmp_path, name):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    ours, theirs = LAYERS[name](nn), LAYERS[name](torch.nn)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for k in ours_sd:
        assert tuple(ours_sd[k].shape) == tuple(theirs_sd[k].shape), k
        assert str(ours_sd[k].dtype) == str(theirs_sd[k].dtype).replace("torch.", ""), k
    # ndgrad -> file -> PyTorch, strictly, values intact
    nn.save(ours_sd, tmp_path / "ours.safetensors")
    theirs.load_state_dict(st.load_file(str(tmp_path / "ours.safetensors")), strict=True)
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), np.asarray(ours_sd[k]._data), err_msg=k)
    # PyTorch -> file -> ndgrad
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(0.5)
    st.save_file({k: v.contiguous() for k, v in theirs.state_dict().items()},
                 str(tmp_path / "theirs.safetensors"))
    ours.load_state_dict(nn.load(tmp_path / "theirs.safetensors"), strict=True)
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(np.asarray(ours.state_dict()[k]._data), v.numpy(),
                                      err_msg=k)
