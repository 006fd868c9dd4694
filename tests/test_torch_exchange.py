"""Models move between ndgrad and PyTorch through safetensors files: LeNet-5 and a BatchNorm
CNN trained a few steps in one library load strictly into the other and give the same
outputs (1e-5); Adam's state round-trips so training continues where it stopped."""
from collections import OrderedDict

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor
from nn.models import LeNet5

torch = pytest.importorskip("torch")
st = pytest.importorskip("safetensors.torch")


def torch_lenet5():
    t = torch.nn
    return t.Sequential(OrderedDict([
        ("features", t.Sequential(OrderedDict([
            ("conv1", t.Conv2d(1, 20, 5, padding=2)), ("relu1", t.ReLU()),
            ("pool1", t.MaxPool2d(2)), ("conv2", t.Conv2d(20, 50, 5, padding=2)),
            ("relu2", t.ReLU()), ("pool2", t.MaxPool2d(2))]))),
        ("classifier", t.Sequential(OrderedDict([
            ("flatten", t.Flatten()), ("fc1", t.Linear(2450, 500)), ("relu3", t.ReLU()),
            ("fc2", t.Linear(500, 10))])))]))


def bn_cnn(m):
    """The same BatchNorm/Dropout CNN in either library (m = nn or torch.nn)."""
    return m.Sequential(OrderedDict([
        ("conv1", m.Conv2d(1, 8, 3, padding=1)), ("bn1", m.BatchNorm2d(8)), ("relu1", m.ReLU()),
        ("pool1", m.MaxPool2d(2)), ("conv2", m.Conv2d(8, 16, 3, padding=1, bias=False)),
        ("bn2", m.BatchNorm2d(16)), ("relu2", m.ReLU()), ("drop", m.Dropout(0.25)),
        ("flatten", m.Flatten()), ("fc", m.Linear(16 * 4 * 4, 10)), ("bn3", m.BatchNorm1d(10))]))


def _batches(shape, n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((16,) + shape).astype(np.float32),
             rng.integers(0, 10, 16)) for _ in range(n)]


def _train_ndgrad(model, batches, opt):
    model.train()
    for x, y in batches:
        loss = nn.functional.cross_entropy(model(Tensor(x)), Tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()


def _train_torch(model, batches, opt):
    model.train()
    for x, y in batches:
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()


def _outputs_agree(ours, theirs, shape):
    x = np.random.default_rng(9).standard_normal((5,) + shape).astype(np.float32)
    ours.eval()
    theirs.eval()
    with autograd.no_grad(), torch.no_grad():
        a = ours(Tensor(x))._data
        b = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ["lenet5", "bn_cnn"])
def test_ndgrad_to_pytorch(tmp_path, arch):
    autograd.manual_seed(0)
    ours, theirs, shape = ((LeNet5(), torch_lenet5(), (1, 28, 28)) if arch == "lenet5" else
                           (bn_cnn(nn), bn_cnn(torch.nn), (1, 8, 8)))
    _train_ndgrad(ours, _batches(shape), nn.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9))
    nn.save(ours.state_dict(), tmp_path / "model.safetensors")
    theirs.load_state_dict(st.load_file(str(tmp_path / "model.safetensors")), strict=True)
    _outputs_agree(ours, theirs, shape)
    if arch == "bn_cnn":
        assert int(theirs.state_dict()["bn1.num_batches_tracked"]) == 3


@pytest.mark.parametrize("arch", ["lenet5", "bn_cnn"])
def test_pytorch_to_ndgrad(tmp_path, arch):
    torch.manual_seed(0)
    ours, theirs, shape = ((LeNet5(), torch_lenet5(), (1, 28, 28)) if arch == "lenet5" else
                           (bn_cnn(nn), bn_cnn(torch.nn), (1, 8, 8)))
    _train_torch(theirs, _batches(shape), torch.optim.SGD(theirs.parameters(), lr=0.05))
    st.save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    ours.load_state_dict(nn.load(tmp_path / "torch.safetensors"), strict=True)
    _outputs_agree(ours, theirs, shape)


def _torch_adam_state(sd):
    """An ndgrad optimizer state dict (from nn.load) as torch.optim.Adam's."""
    state = {i: {"step": torch.tensor(float(s["step"])),
                 "exp_avg": torch.from_numpy(np.array(s["exp_avg"])),
                 "exp_avg_sq": torch.from_numpy(np.array(s["exp_avg_sq"]))}
             for i, s in sd["state"].items()}
    return {"state": state, "param_groups": sd["param_groups"]}


def test_adam_state_round_trips_and_training_continues(tmp_path):
    shape = (1, 8, 8)
    batches = _batches(shape, n=5, seed=3)
    autograd.manual_seed(0)
    model = bn_cnn(nn)
    start = {k: np.array(v._data) for k, v in model.state_dict().items()}
    opt = nn.optim.Adam(model.parameters(), lr=1e-2)
    autograd.manual_seed(5)  # dropout masks
    _train_ndgrad(model, batches[:3], opt)
    nn.save({"model": model.state_dict(), "optimizer": opt.state_dict()},
            tmp_path / "ckpt.safetensors")
    ckpt = nn.load(tmp_path / "ckpt.safetensors")
    assert set(ckpt["optimizer"]["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}

    # ndgrad -> ndgrad: a fresh model + Adam continue exactly like the uninterrupted run
    resumed = bn_cnn(nn)
    resumed.load_state_dict(ckpt["model"])
    opt2 = nn.optim.Adam(resumed.parameters(), lr=1.0)
    opt2.load_state_dict(ckpt["optimizer"])
    autograd.manual_seed(1)
    _train_ndgrad(resumed, batches[3:], opt2)
    straight = bn_cnn(nn)
    straight.load_state_dict(start)
    opt3 = nn.optim.Adam(straight.parameters(), lr=1e-2)
    autograd.manual_seed(5)
    _train_ndgrad(straight, batches[:3], opt3)
    autograd.manual_seed(1)
    _train_ndgrad(straight, batches[3:], opt3)
    for k, v in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[k]._data, v._data, err_msg=k)



def test_adam_moments_continue_in_pytorch(tmp_path):
    """LeNet-5 trained with Adam in ndgrad; PyTorch's Adam takes the saved moments and
    both continue with the same batches to the same weights."""
    shape = (1, 28, 28)
    batches = _batches(shape, n=4, seed=4)
    autograd.manual_seed(0)
    ours = LeNet5()
    opt = nn.optim.Adam(ours.parameters(), lr=1e-3)
    _train_ndgrad(ours, batches[:2], opt)
    nn.save({"model": ours.state_dict(), "optimizer": opt.state_dict()},
            tmp_path / "ckpt.safetensors")
    ckpt = nn.load(tmp_path / "ckpt.safetensors")
    theirs = torch_lenet5()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ckpt["model"].items()})
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1.0)
    opt_theirs.load_state_dict(_torch_adam_state(ckpt["optimizer"]))
    assert opt_theirs.param_groups[0]["lr"] == 1e-3
    _train_ndgrad(ours, batches[2:], opt)
    _train_torch(theirs, batches[2:], opt_theirs)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k]._data, v.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=k)
