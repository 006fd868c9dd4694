"""The PyTorch-programs test (issue 11): three well-known kinds of PyTorch program, written
in this project's own words in ``examples/`` (a CNN classifier in the shape of PyTorch's
MNIST example, a character-level LSTM language model, a tiny GPT with einsum attention).
Each source file runs on ndgrad or on PyTorch; only its import block differs (selected by
``NDGRAD_BACKEND``). From the same initial weights (PyTorch's initialisation copied into
the ndgrad model through ``load_state_dict``) the losses of the first training steps must
agree. Dropout is switched off for the comparison (the two libraries' random streams
differ) and both run in float64, so the agreement is to rounding.
"""
import importlib.util
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(name, backend):
    """The example module ``examples/<name>.py`` imported with the given backend."""
    path = os.path.join(ROOT, "examples", name + ".py")
    spec = importlib.util.spec_from_file_location(f"example_{name}_{backend}", path)
    module = importlib.util.module_from_spec(spec)
    old = os.environ.get("NDGRAD_BACKEND")
    os.environ["NDGRAD_BACKEND"] = backend
    try:
        spec.loader.exec_module(module)
    finally:
        if old is None:
            del os.environ["NDGRAD_BACKEND"]
        else:
            os.environ["NDGRAD_BACKEND"] = old
    return module


PROGRAMS = {
    # name: (model factory without dropout, train keyword arguments, steps)
    "mnist_cnn": (lambda m: m.Net(dropout=(0.0, 0.0)), dict(batch_size=32), 6),
    "char_rnn": (lambda m: m.CharLSTM(dropout=0.0), {}, 6),
    "tiny_gpt": (lambda m: m.TinyGPT(dropout=0.0), {}, 6),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_losses_as_pytorch_from_the_same_weights(name):
    torch = pytest.importorskip("torch")
    make, kwargs, steps = PROGRAMS[name]
    th, nd = load(name, "torch"), load(name, "ndgrad")
    torch.manual_seed(0)
    th_model = make(th).double()
    nd_model = make(nd).double()
    state = {k: v.detach().numpy().copy() for k, v in th_model.state_dict().items()}
    assert list(nd_model.state_dict()) == list(state)   # PyTorch's parameter names
    nd_model.load_state_dict(state)
    if name == "mnist_cnn":  # its images are made with the backend's float dtype
        th_losses = th.train(th_model, steps, dtype=torch.float64, **kwargs)
        nd_losses = nd.train(nd_model, steps, dtype=np.float64, **kwargs)
    else:
        th_losses = th.train(th_model, steps, **kwargs)
        nd_losses = nd.train(nd_model, steps, **kwargs)
    np.testing.assert_allclose(nd_losses, th_losses, rtol=1e-7)
    assert nd_losses[-1] < nd_losses[0]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_runs_and_learns_on_ndgrad(name):
    import autograd
    nd = load(name, "ndgrad")
    autograd.manual_seed(0)
    model = PROGRAMS[name][0](nd)
    losses = nd.train(model, 8)
    assert np.isfinite(losses).all() and min(losses[-3:]) < losses[0]
