"""Conv graphs that show the conv (issue 10, part 3): the data input drawn into an Unfold
box inside the conv's cluster, no noisy attributes, functional ops of a module's own
forward nested with its children, saved values after backward."""
import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Tensor
from test_viz import Dot


def conv_net_loss(input_requires_grad=False):
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(2, 3, 3, padding=1), nn.Flatten(), nn.Linear(12, 2))
    x = Tensor(np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32),
               name="image", requires_grad=input_requires_grad)
    loss = F.cross_entropy(model(x), Tensor(np.array([0, 1])))
    return model, x, loss


def draw(loss, model, **kwargs):
    return Dot(autograd.to_dot(loss, params=dict(model.named_parameters()), group_by="module",
                               **kwargs))


@pytest.mark.parametrize("input_requires_grad", [False, True])
def test_conv_input_feeds_an_unfold_inside_the_cluster(input_requires_grad):
    model, x, loss = conv_net_loss(input_requires_grad)
    d = draw(loss, model)
    image = d.one("image\n(2, 1, 4, 4) float32")
    (unfold,) = [h for t, h, _ in d.edges if t == image]
    assert d.label(unfold).startswith("Unfold")
    assert "kernel=(3, 3)" in d.label(unfold) and "stride=(1, 1)" in d.label(unfold)
    assert d.clusters[d.cluster_of(unfold)]["label"] == "0"  # the first conv's cluster
    # the unfolded matrix is no longer drawn as a loose green "input (9, 32)" box
    assert not d.find("input\n(9, 32)")
    # both conv layers now show an Unfold node in their own cluster
    unfolds = [n for n in d.nodes if d.label(n).startswith("Unfold")]
    assert sorted(d.clusters[d.cluster_of(n)]["label"] for n in unfolds) == ["0", "3"]


def test_recording_the_unfold_does_not_change_gradients():
    model, x, loss = conv_net_loss()
    loss.backward()
    grads = {n: p.grad._data.copy() for n, p in model.named_parameters()}
    model2, _, loss2 = conv_net_loss()
    loss2.backward()
    for n, p in model2.named_parameters():
        np.testing.assert_array_equal(p.grad._data, grads[n])


def test_no_noisy_attributes_but_geometry_stays():
    model, x, loss = conv_net_loss()
    source = autograd.to_dot(loss)
    assert "argmax=" not in source and "<argmax>" not in source and "layout=" not in source
    d = Dot(source)
    pool = d.one("MaxPool2d")
    assert "kernel=(2, 2)" in d.label(pool) and "stride=(2, 2)" in d.label(pool)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return self.fc(F.relu(x.flatten(1)))


def test_functional_ops_of_a_module_forward_are_nested_with_its_children():
    autograd.manual_seed(0)
    model = Net()
    x = Tensor(np.ones((2, 1, 4, 4), np.float32))
    loss = model(x).sum()
    d = draw(loss, model)
    by_label = {c["label"]: name for name, c in d.clusters.items()}
    assert {"Net", "conv1", "fc"} <= set(by_label)
    assert d.clusters[by_label["conv1"]]["parent"] == by_label["Net"]
    assert d.clusters[by_label["fc"]]["parent"] == by_label["Net"]
    relus = [n for n in d.nodes if d.label(n).startswith("Relu")]
    assert relus and all(d.cluster_of(n) == by_label["Net"] for n in relus)


def test_saved_values_are_drawn_while_alive_and_marked_freed_after_backward():
    model, x, loss = conv_net_loss()
    before = draw(loss, model, show_saved=True)
    saved = [n for n in before.nodes if before.label(n).startswith("saved")
             and not n.startswith("legend_")]
    assert saved and all(before.label(n).endswith("B") for n in saved)  # shape, dtype, bytes
    assert before.find("saved (unfold(image))\n(9, 32) float32")
    loss.backward()
    after = draw(loss, model, show_saved=True)
    assert after.find("saved tensors freed")
    assert after.find("grad ‖·‖")  # gradients in the same picture


def test_inputs_and_parameters_are_coloured_apart_and_named_as_in_the_code():
    from autograd import Scalar
    from autograd.viz import COLORS
    w0, x0, w1, x1, w2 = (Scalar(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
    f = (w0 * x0 + w1 * x1 + w2).sigmoid()
    params, inputs = dict(w0=w0, w1=w1, w2=w2, f=f), dict(x0=x0, x1=x1)
    d = Dot(autograd.to_dot(f, params=params, inputs=inputs))
    assert d.nodes[d.one("{ x0 |")]["fillcolor"] == COLORS["input"]
    assert d.nodes[d.one("{ w0 |")]["fillcolor"] == COLORS["parameter"]
    steps = autograd.explain_backward(f, params=params, inputs=inputs, print_table=False)
    assert steps.lines[0] == "grad_f = 1.0"
    assert steps[0].inputs[0].formula == "grad_s3 = grad_f · (1-f)·f"
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['colour'\\]"):
        autograd.step_through(f, colour="red")
