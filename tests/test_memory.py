"""Memory stays flat over a long training loop, and each step's graph is freed by
reference counting alone (no reference cycles: the loop runs with the cyclic garbage
collector switched off)."""
import gc
import os
import tracemalloc
import weakref

import numpy as np

import autograd as A
import nn
from autograd import function as _function
from autograd import saved as _saved


class MLP(nn.Module):
    """Built from Tensor ops only, so this file does not depend on nn.functional."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList()
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layer = nn.Module()
            layer.weight = nn.Parameter(A.randn(n_out, n_in) * (1 / np.sqrt(n_in)))
            layer.bias = nn.Parameter(A.zeros(n_out))
            self.layers.append(layer)

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = x @ layer.weight.T + layer.bias
            if i < len(self.layers) - 1:
                x = x.relu()
        return x


def cross_entropy(logits, labels):
    picked = logits.log_softmax(1)[np.arange(len(labels)), labels]
    return -picked.mean()


def sgd_step(model, lr=0.05):
    with A.no_grad():
        for p in model.parameters():
            p.sub_(p.grad * lr)
    model.zero_grad()


# Python keeps freed small tuples etc. on free lists (still counted by tracemalloc); they
# fill up over the first few dozen steps and then stay put, so growth is measured after
# this many warm-up steps.
# Steps before the measurement starts: CPython's free lists (tuples, dicts, lists) fill
# up over the first few hundred steps; that bounded growth is not a leak.
WARMUP = 300


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _train(model, loss_fn, x, y, steps, warmup, on_step=None):
    """Run ``steps`` steps with gc disabled; returns (traced growth, RSS growth) in bytes
    between the end of warm-up and the end, and the weakrefs checked along the way."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        base_traced = base_rss = None
        for step in range(steps):
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            if on_step is not None:
                on_step(step, out, loss)
            sgd_step(model)
            del out, loss
            if step == warmup:
                base_traced = tracemalloc.get_traced_memory()[0]
                base_rss = rss_bytes()
        traced = tracemalloc.get_traced_memory()[0] - base_traced
        rss = rss_bytes() - base_rss
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
    return traced, rss


def _check_graph_freed(step, out, loss, refs):
    # Weak references to this step's nodes and intermediate tensors; checked at the next
    # step, after the loop dropped its last strong references.
    if refs:
        assert all(r() is None for r in refs), \
            f"step {step - 1}'s graph is still alive: {[r() for r in refs if r() is not None]}"
        refs.clear()
    nodes = [n for n in A.topological_order([loss.grad_fn]) if isinstance(n, A.Context)]
    assert len(nodes) > 5
    refs.extend(weakref.ref(n) for n in nodes)
    refs.append(weakref.ref(out))
    refs.append(weakref.ref(loss))


def test_mlp_training_memory_is_flat():
    A.manual_seed(0)
    rng = np.random.default_rng(0)
    model = MLP([64, 48, 32, 10])
    x = A.Tensor(rng.standard_normal((32, 64), dtype=np.float32))
    y = rng.integers(0, 10, 32)
    protected_before = _saved.live_count()
    refs = []
    traced, rss = _train(model, cross_entropy, x, y, steps=WARMUP + 300, warmup=WARMUP,
                         on_step=lambda s, o, l: _check_graph_freed(s, o, l, refs))
    assert traced < 64 * 1024, f"traced memory grew by {traced} bytes over 300 steps"
    assert rss < 8 * 1024 * 1024, f"RSS grew by {rss} bytes over 300 steps"
    # saved arrays released (an earlier test's graph may be freed meanwhile: no growth)
    assert _saved.live_count() <= protected_before
    assert _function._module_stack == []


def test_graph_without_backward_is_freed():
    """A forward pass whose result is dropped (evaluation) leaves nothing behind, and
    the arrays it saved become writable again."""
    model = MLP([8, 8, 2])
    x = A.randn(4, 8)
    gc.disable()
    try:
        out = model(x)
        node = weakref.ref(out.grad_fn)
        assert not x._data.flags.writeable  # saved by the first matmul
        del out
        assert node() is None
        assert x._data.flags.writeable
    finally:
        gc.enable()


def test_cnn_training_memory_is_flat():
    A.manual_seed(1)
    rng = np.random.default_rng(1)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Dropout(0.1), nn.Linear(8 * 2 * 2, 10))
    x = A.Tensor(rng.standard_normal((8, 1, 8, 8), dtype=np.float32))
    y = A.Tensor(rng.integers(0, 10, 8))
    refs = []
    traced, rss = _train(model, nn.CrossEntropyLoss(), x, y, steps=WARMUP + 200, warmup=WARMUP,
                         on_step=lambda s, o, l: _check_graph_freed(s, o, l, refs))
    assert traced < 64 * 1024, f"traced memory grew by {traced} bytes over 200 steps"
    assert rss < 8 * 1024 * 1024, f"RSS grew by {rss} bytes over 200 steps"
    assert _function._module_stack == []
