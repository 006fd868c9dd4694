"""draw_graph / to_dot / explain_backward: the DOT text is parsed and checked for nodes,
labels, colours, clusters and cut-offs; rendering is checked when the graphviz binary
is present; explain_backward reproduces the lecture's flat backprop listing."""
import re
import shutil

import numpy as np
import pytest

import autograd
from autograd import Function, Scalar, Tensor, topological_order
from autograd import viz
from autograd.function import Context, _module_stack

HAS_DOT = shutil.which("dot") is not None


# ------------------------------------------------------------------ a tiny DOT reader
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')


def _attrs(text):
    out = {}
    for key, value in _ATTR.findall(text or ""):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        out[key] = value.replace("\\n", "\n")
    return out


class Dot:
    """Nodes (id -> attrs), edges [(tail, head, attrs)], clusters (name -> label,
    parent, node ids) of the DOT text the graphviz package writes."""

    def __init__(self, source):
        self.source = source
        self.nodes, self.edges, self.clusters = {}, [], {}
        stack = []
        for line in source.splitlines():
            line = line.strip()
            m = re.match(r"subgraph (\w+) \{$", line)
            if m:
                self.clusters[m.group(1)] = {"label": None, "nodes": set(),
                                             "parent": stack[-1] if stack else None}
                stack.append(m.group(1))
                continue
            if line == "}":
                if stack:
                    stack.pop()
                continue
            m = re.match(r"graph \[(.*)\]$", line)
            if m:
                if stack:
                    self.clusters[stack[-1]]["label"] = _attrs(m.group(1)).get("label")
                continue
            m = re.match(r"(\w+) -> (\w+)(?: \[(.*)\])?$", line)
            if m:
                self.edges.append((m.group(1), m.group(2), _attrs(m.group(3))))
                continue
            m = re.match(r"(\w+) \[(.*)\]$", line)
            if m and m.group(1) not in ("node", "edge"):
                self.nodes[m.group(1)] = _attrs(m.group(2))
                if stack:
                    self.clusters[stack[-1]]["nodes"].add(m.group(1))

    def label(self, node):
        return self.nodes[node].get("label", "")

    def find(self, text):
        """Ids of the (non-legend) nodes whose label contains ``text``."""
        return [n for n, a in self.nodes.items()
                if text in a.get("label", "") and not n.startswith("legend_")]

    def one(self, text):
        found = self.find(text)
        assert len(found) == 1, (text, found, self.source)
        return found[0]

    def exact(self, label):
        """The node whose label is exactly ``label``."""
        found = [n for n, a in self.nodes.items() if a.get("label") == label]
        assert len(found) == 1, (label, found, self.source)
        return found[0]

    def inputs_of(self, node):
        return [t for t, h, _ in self.edges if h == node]

    def cluster_of(self, node):
        for name, c in self.clusters.items():
            if node in c["nodes"]:
                return name
        return None


def dot(root, **kwargs):
    return Dot(autograd.to_dot(root, **kwargs))


# ------------------------------------------------------------------ fixtures
def sigmoid_circuit(expanded=False):
    """The lecture's neuron: w0=2, x0=-1, w1=-3, x1=-2, w2=-3."""
    w0, x0, w1, x1, w2 = (Scalar(v, name=n) for v, n in
                          zip((2.0, -1.0, -3.0, -2.0, -3.0), ("w0", "x0", "w1", "x1", "w2")))
    if expanded:
        L = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    else:
        s0 = w0 * x0
        s1 = w1 * x1
        s2 = s0 + s1
        s3 = s2 + w2
        L = s3.sigmoid()
    return (w0, x0, w1, x1, w2), L


LECTURE = {"w0": -0.1966, "x0": 0.3932, "w1": -0.3932, "x1": -0.5898, "w2": 0.1966}


def mlp():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32), name="x")
    W = Tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(2, np.float32), requires_grad=True)
    h = (x @ W + b).relu()
    loss = h.sum(dim=1).mean()
    return x, W, b, loss


# ------------------------------------------------------------------ Scalar graphs
def test_scalar_record_style_before_and_after_backward():
    (w0, x0, w1, x1, w2), L = sigmoid_circuit()
    d = dot(L)
    assert d.label(d.one("w0 |")) == "{ w0 | data 2.0000 }"
    assert d.label(d.one("{ L |")) == "{ L | data 0.7311 }"
    assert d.nodes[d.one("{ L |")]["fillcolor"] == viz.COLORS["output"]
    assert d.nodes[d.one("{ w0 |")]["fillcolor"] == viz.COLORS["input"]

    L.backward()
    d = dot(L)
    assert d.label(d.one("{ L |")) == "{ L | data 0.7311 | grad 1.0000 }"
    for name, grad in LECTURE.items():
        label = d.label(d.one("{ %s |" % name))
        assert label.startswith("{ %s | data" % name)
        assert float(label.split("grad")[1].strip(" }")) == pytest.approx(grad, abs=1e-4)
    # intermediates keep their values and gradients after backward freed the graph
    assert d.label(d.one("{ s3 |")) == "{ s3 | data 1.0000 | grad 0.1966 }"
    assert d.label(d.one("{ s0 |")) == "{ s0 | data -2.0000 | grad 0.1966 }"
    # ops are small nodes between the values: w0 -> * -> s0
    mul = d.inputs_of(d.one("{ s0 |"))
    assert len(mul) == 1 and d.label(mul[0]) == "*"
    assert set(d.inputs_of(mul[0])) == {d.one("{ w0 |"), d.one("{ x0 |")}
    assert d.label(d.inputs_of(d.one("{ L |"))[0]) == "σ"


def test_scalar_expanded_circuit_draws_constants():
    _, L = sigmoid_circuit(expanded=True)
    L.backward()
    d = dot(L, rankdir="LR")
    assert "rankdir=LR" in d.source
    assert d.label(d.one("{ L |")) == "{ L | data 0.7311 | grad 1.0000 }"
    assert len(d.find("{ const | data 1.0000 }")) == 2   # the two literal 1s
    assert {d.label(n) for n in d.find("")} >= {"exp", "neg", "/", "+", "*"}


def test_scalar_intermediate_values_survive_without_references():
    x = Scalar(3.0, name="x")
    y = (x * x + 1.0).tanh()      # the intermediates are dropped at once
    y.backward()
    d = dot(y)
    assert d.label(d.one("{ s0 |")) == "{ s0 | data 9.0000 | grad %.4f }" % (1 - np.tanh(10) ** 2)


# ------------------------------------------------------------------ Tensor graphs
def test_tensor_graph_names_shapes_colours_and_legend():
    x, W, b, loss = mlp()
    x_in = Tensor(np.ones((4, 3), np.float32), requires_grad=True)   # an input needing grad
    loss = loss + (x_in * 2.0).sum()
    d = dot(loss, params={"fc.weight": W, "fc.bias": b})
    w = d.one("fc.weight")
    assert d.label(w) == "fc.weight\n(3, 2) float32"
    assert d.nodes[w]["fillcolor"] == viz.COLORS["parameter"]
    assert d.nodes[d.one("fc.bias")]["fillcolor"] == viz.COLORS["parameter"]
    assert d.nodes[d.exact("(4, 3) float32")]["fillcolor"] == viz.COLORS["input"]  # x_in
    # the constant data tensor x (no grad) is drawn as a named input next to MatMul
    xc = d.one("x\n(4, 3) float32")
    assert d.nodes[xc]["fillcolor"] == viz.COLORS["input"]
    matmul = d.one("MatMul")
    assert set(d.inputs_of(matmul)) == {xc, w}
    assert "(4, 2) float32" in d.label(matmul)
    out = d.one("output")
    assert d.nodes[out]["fillcolor"] == viz.COLORS["output"]
    assert d.label(out) == "output\n() float32"
    # legend
    legend = d.clusters["cluster_legend"]
    assert legend["label"] == "Legend"
    assert {"legend_parameter", "legend_input", "legend_output", "legend_op"} <= legend["nodes"]
    assert d.nodes["legend_parameter"]["fillcolor"] == viz.COLORS["parameter"]
    assert "legend_nonfinite" not in d.nodes


def test_op_attributes_and_index_arrays_are_summarized():
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x.sum(dim=1, keepdim=True)
    z = x[np.array([0, 2, 1]), 1:3]
    big = x.reshape(12)[np.arange(100) % 12]
    loss = y.sum() + z.sum() + big.sum() + x.transpose(0, 1).clamp(min=1.0).sum()
    d = dot(loss)
    assert "dim=1\nkeepdim=True" in d.label(d.one("(3, 1) float64"))
    getitem = [n for n in d.find("GetItem")]
    labels = sorted(d.label(n) for n in getitem)
    assert any("index=[[0 2 1], 1:3]" in l for l in labels), labels
    assert any("index=array(100,) int64" in l for l in labels), labels
    assert "dim0=0\ndim1=1" in d.label(d.one("Transpose"))
    clamp = d.label(d.one("Clamp"))
    assert "min=1" in clamp and "max=" not in clamp        # None attributes are left out
    assert "shape=(12,)" in d.label(d.one("Reshape"))
    plain = dot(loss, show_attrs=False)
    assert "dim=1" not in plain.source and "index=" not in plain.source


def test_show_saved_before_and_after_backward():
    x, W, b, loss = mlp()
    d = dot(loss, params={"W": W}, show_saved=True)
    matmul = d.one("MatMul")
    saved = [t for t, h, a in d.edges if h == matmul and a.get("style") == "dashed"]
    labels = sorted(d.label(s) for s in saved)
    assert labels == ["saved (W)\n(3, 2) float32\n24 B", "saved (x)\n(4, 3) float32\n48 B"]
    assert all(d.nodes[s]["fillcolor"] == viz.COLORS["saved"] for s in saved)
    relu = d.one("Relu")
    (relu_saved,) = [t for t, h, a in d.edges if h == relu and a.get("style") == "dashed"]
    assert d.label(relu_saved).startswith("saved (s2)\n(4, 2) float32\n32 B")

    before = dot(loss, params={"W": W})
    loss.backward()
    after = dot(loss, params={"W": W}, show_grad=False)
    # the graph's metadata survives the release of the saved tensors (graph nodes are
    # n<i>; the constant x is no longer identified by name once its saved ref is freed)
    graph_nodes = lambda d: sorted(a["label"] for n, a in d.nodes.items()
                                   if re.fullmatch(r"n\d+(_out)?", n))
    assert graph_nodes(before) == graph_nodes(after)
    assert len(graph_nodes(after)) == 8
    assert after.exact("input\n(4, 3) float32")
    freed = dot(loss, show_saved=True)
    assert "saved tensors freed" in freed.label(freed.one("MatMul"))
    kept = sorted(freed.label(t) for t, h, a in freed.edges if a.get("style") == "dashed")
    assert kept == ["saved (freed)\n(3, 2) float32\n24 B", "saved (freed)\n(4, 2) float32\n32 B",
                    "saved (freed)\n(4, 3) float32\n48 B"]  # what was saved stays described


def test_gradients_after_backward_and_retain_grad():
    x, W, b, loss = mlp()
    d = dot(loss, params={"W": W, "b": b})
    assert "grad" not in d.label(d.one("W"))
    loss.backward()
    d = dot(loss, params={"W": W, "b": b})
    g = W.grad._data
    expected = (f"grad ‖·‖ {np.linalg.norm(g.astype(np.float64)):.4g}  "
                f"min {g.min():.4g}  max {g.max():.4g}")
    assert d.label(d.one("W")) == "W\n(3, 2) float32\n" + expected
    assert "grad ‖·‖" not in dot(loss, params={"W": W}, show_grad=False).source

    # an intermediate shows its gradient when it was retained
    x = Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    out = (h * h).sum()
    out.backward()
    d = dot(out)
    mul = [n for n in d.find("Mul") if "(2, 2)" in d.label(n)]
    labels = [d.label(n) for n in mul]
    assert any("grad ‖·‖ 12  min 6  max 6" in l for l in labels), labels


def test_nan_and_inf_are_marked_red():
    x = Tensor(np.array([1.0, 0.0, 4.0]), requires_grad=True, name="x")
    loss = x.sqrt().sum()
    d = dot(loss)
    assert "legend_nonfinite" not in d.nodes
    with np.errstate(divide="ignore"):
        loss.backward()                   # d sqrt(x)/dx = inf at 0
    d = dot(loss)
    leaf = d.one("x\n(3,) float64")
    assert d.nodes[leaf]["color"] == "red"
    assert d.nodes[leaf]["fillcolor"] == viz.COLORS["nonfinite"]
    assert d.nodes["legend_nonfinite"]["color"] == "red"
    assert d.nodes[d.one("Sqrt")].get("color") != "red"   # its value and output grad are finite

    with np.errstate(invalid="ignore"):
        y = Tensor(np.array([1.0, -1.0]), requires_grad=True)
        bad = y.log()
        bad.retain_grad()
        d = dot(bad.sum())
    assert d.nodes[d.one("Log")]["color"] == "red"       # NaN in its value
    assert d.nodes[d.one("output")]["color"] == "red"

    s = Scalar(-1.0, name="s")
    with np.errstate(invalid="ignore"):
        r = s.sqrt()
    d = dot(r)
    assert d.nodes[d.one("{ L |")]["color"] == "red"


def test_group_by_module_with_the_module_stack():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    W0 = Tensor(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=True)
    W1 = Tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
    try:
        _module_stack.append("features.0")
        h = x @ W0
        _module_stack[-1] = "features.1"
        h = h.relu()
        _module_stack[-1] = "classifier"
        out = h @ W1
    finally:
        del _module_stack[:]
    loss = out.mean()
    params = {"features.0.weight": W0, "classifier.weight": W1}
    d = dot(loss, params=params, group_by="module")
    by_label = {c["label"]: name for name, c in d.clusters.items()}
    assert {"features", "features.0", "features.1", "classifier", "Legend"} <= set(by_label)
    f0, f1 = by_label["features.0"], by_label["features.1"]
    assert d.clusters[f0]["parent"] == by_label["features"]
    assert d.clusters[f1]["parent"] == by_label["features"]
    matmuls = d.find("MatMul")
    assert {d.cluster_of(n) for n in matmuls} == {f0, by_label["classifier"]}
    assert d.cluster_of(d.one("Relu")) == f1
    assert d.cluster_of(d.one("features.0.weight")) == f0
    assert d.cluster_of(d.one("classifier.weight")) == by_label["classifier"]
    assert d.cluster_of(d.one("Mean")) is None
    assert set(dot(loss, params=params).clusters) == {"cluster_legend"}


def test_group_by_module_with_real_modules():
    import nn

    class Affine(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.weight = nn.Parameter(autograd.randn(i, o))
            self.bias = nn.Parameter(autograd.zeros(o))

        def forward(self, x):
            return x @ self.weight + self.bias

    class Act(nn.Module):
        def forward(self, x):
            return x.relu()

    autograd.manual_seed(0)
    model = nn.Sequential(Affine(4, 8), Act(), nn.Sequential(Affine(8, 3)))
    loss = model(autograd.randn(5, 4)).sum()
    d = dot(loss, params=dict(model.named_parameters()), group_by="module")
    by_label = {c["label"]: name for name, c in d.clusters.items()}
    assert {"0", "1", "2", "2.0"} <= set(by_label)
    assert d.clusters[by_label["2.0"]]["parent"] == by_label["2"]
    assert d.cluster_of(d.exact("0.weight\n(4, 8) float32")) == by_label["0"]
    assert d.cluster_of(d.exact("2.0.bias\n(3,) float32")) == by_label["2.0"]
    assert d.cluster_of(d.one("Relu")) == by_label["1"]
    # parameters are coloured as such even without names
    unnamed = dot(loss)
    params = [n for n, a in unnamed.nodes.items() if a.get("fillcolor") == viz.COLORS["parameter"]
              and not n.startswith("legend")]
    assert len(params) == 4


def test_max_nodes_cuts_off_with_a_summary_node():
    x = Tensor(np.ones(3, np.float32), requires_grad=True, name="x")
    y = x
    for _ in range(30):
        y = y.tanh() * 0.5
    loss = y.sum()                               # 61 ops + 1 leaf
    d = dot(loss, max_nodes=10)
    ops = [n for n in d.nodes if re.fullmatch(r"n\d+", n)]
    assert len(ops) == 10
    assert d.label("more") == "+52 more nodes"
    assert d.nodes["more"]["style"] == "dashed"
    assert [h for t, h, _ in d.edges if t == "more"] == ["n9"]
    assert "more" not in dot(loss, max_nodes=None).nodes
    assert "more" not in dot(loss, max_nodes=62).nodes
    with pytest.raises(ValueError):
        dot(loss, max_nodes=0)


def test_a_100000_deep_chain_draws_with_max_nodes():
    x = Scalar(1.0, name="x")
    y = x
    for _ in range(100_000):
        y = y * 1.0
    d = dot(y, max_nodes=50)
    assert d.label("more") == "+99951 more nodes"
    assert d.label(d.one("{ L |")) == "{ L | data 1.0000 }"
    y.backward()
    d = dot(y, max_nodes=50)
    assert d.label("more") == "+99951 more nodes"
    assert d.label(d.one("{ L |")) == "{ L | data 1.0000 | grad 1.0000 }"
    assert len(d.find("grad 1.0000")) == 50


def test_several_outputs_and_argument_checks():
    x = Tensor(np.ones(2, np.float32), requires_grad=True, name="x")
    a, b = (x * 2.0).sum(), (x * 3.0).sum()
    d = dot([a, b])
    outs = d.find("output")
    assert len(outs) == 2
    assert len(d.find("x\n(2,) float32")) == 1
    # a leaf given as the root is drawn as the output
    d = dot(x)
    assert d.nodes[d.one("x\n(2,) float32")]["fillcolor"] == viz.COLORS["output"]
    with pytest.raises(TypeError):
        autograd.draw_graph(3.0)
    with pytest.raises(ValueError):
        autograd.draw_graph(a, group_by="layer")
    assert autograd.draw_graph(a).source == autograd.to_dot(a)
    assert "legend" not in autograd.to_dot(a, legend=False)


# ------------------------------------------------------------------ rendering
@pytest.mark.skipif(not HAS_DOT, reason="graphviz binary not installed")
def test_render_svg_png_and_jupyter(tmp_path):
    _, L = sigmoid_circuit()
    L.backward()
    g = autograd.draw_graph(L)
    svg = g.pipe(format="svg").decode()
    assert "<svg" in svg and "0.7311" in svg
    path = viz.render(L, tmp_path / "graph.svg")
    assert open(path).read().lstrip().startswith("<?xml")
    png = viz.render(g, tmp_path / "graph.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "image/svg+xml" in g._repr_mimebundle_()


def test_rendering_without_the_binary_says_how_to_install(monkeypatch, tmp_path):
    x, W, b, loss = mlp()
    g = autograd.draw_graph(loss)
    monkeypatch.setenv("PATH", str(tmp_path))          # no `dot` to be found
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        g.pipe(format="svg")
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        g.render(str(tmp_path / "g"), format="png")
    with pytest.raises(viz.GraphvizNotFoundError):
        viz.render(loss, tmp_path / "g.svg")
    assert autograd.to_dot(loss).startswith("digraph")   # DOT text needs no binary
    assert g._repr_mimebundle_() == {"text/plain": g.source}


# ------------------------------------------------------------------ explain_backward
def test_explain_backward_reproduces_the_lecture_listing(capsys):
    (w0, x0, w1, x1, w2), L = sigmoid_circuit()
    steps = autograd.explain_backward(L)
    printed = capsys.readouterr().out
    lines = steps.lines
    symbolic = [l.split(" = ")[:2] for l in lines]
    assert symbolic == [
        ["grad_L", "1.0"],
        ["grad_s3", "grad_L · (1-L)·L"],
        ["grad_s2", "grad_s3"], ["grad_w2", "grad_s3"],
        ["grad_s0", "grad_s2"], ["grad_s1", "grad_s2"],
        ["grad_w1", "grad_s1 · x1"], ["grad_x1", "grad_s1 · w1"],
        ["grad_w0", "grad_s0 · x0"], ["grad_x0", "grad_s0 · w0"],
    ]
    assert lines[1] == "grad_s3 = grad_L · (1-L)·L = 1.0 · (1-0.7311)·0.7311 = 0.1966"
    assert lines[6] == "grad_w1 = grad_s1 · x1 = 0.1966 · (-2.0) = -0.3932"
    values = {l.split(" = ")[0][5:]: float(l.split(" = ")[-1]) for l in lines}
    for name, grad in LECTURE.items():
        assert values[name] == pytest.approx(grad, abs=1e-4)
        assert float(steps.grads[name]) == pytest.approx(grad, abs=1e-4)
    assert values["s3"] == pytest.approx(0.1966, abs=1e-4)
    assert "grad_s3 = grad_L · (1-L)·L" in printed
    # explaining neither accumulates into .grad nor frees the graph
    assert w0.grad is None and not L.grad_fn._released
    assert steps.replayed
    assert [s.op for s in steps] == ["Sigmoid", "Add", "Add", "Mul", "Mul"]
    assert steps[0].upstream_value == 1.0 and steps[0].rule == "dL/dx = dL/dy · y·(1 - y)"


def test_explain_backward_expanded_circuit_and_after_backward(capsys):
    (w0, x0, w1, x1, w2), L = sigmoid_circuit(expanded=True)
    steps = autograd.explain_backward(L, print_table=False)
    assert capsys.readouterr().out == ""
    assert [s.op for s in steps] == ["Div", "Add", "Exp", "Neg", "Add", "Add", "Mul", "Mul"]
    assert steps.lines[1].startswith("grad_s6 = -grad_L · 1.0 / s6² = ")
    assert steps.lines[3].startswith("grad_s4 = grad_s5 · s5 = ")
    for name, grad in LECTURE.items():
        assert float(steps.grads[name]) == pytest.approx(grad, abs=1e-4)
    L.backward()
    for v, name in zip((w0, x0, w1, x1, w2), ("w0", "x0", "w1", "x1", "w2")):
        assert v.grad._data == pytest.approx(float(steps.grads[name]))
    # after backward freed the graph, the numbers come from what backward left
    again = autograd.explain_backward(L, print_table=False)
    assert not again.replayed
    assert again.lines == steps.lines
    assert "graph already freed" in str(again)


def test_explain_backward_tensor_table():
    x, W, b, loss = mlp()
    steps = autograd.explain_backward(loss, params={"W": W, "b": b}, print_table=False)
    engine_order = [n.name for n in topological_order([loss.grad_fn]) if type(n) is Context]
    assert [s.op for s in steps] == engine_order == ["Mean", "Sum", "Relu", "Add", "MatMul"]
    add = steps[3]
    assert add.upstream_shape == (4, 2)
    assert [(i.name, i.shape, i.broadcast_from) for i in add.inputs] == \
        [("s0", (4, 2), None), ("b", (2,), (4, 2))]
    matmul = steps[4]
    assert matmul.rule == "dL/da = dL/dy @ bᵀ,  dL/db = aᵀ @ dL/dy"
    assert [(i.name, i.shape, i.broadcast) for i in matmul.inputs] == [("W", (3, 2), False)]
    table = str(steps)
    assert "b: (4, 2) → (2,)" in table and "dL/da = dL/dy @ bᵀ" in table
    assert W.grad is None
    loss.backward()
    np.testing.assert_allclose(steps.grads["W"]._data, W.grad._data, rtol=1e-6)
    np.testing.assert_allclose(steps.grads["b"]._data, b.grad._data, rtol=1e-6)
    freed = autograd.explain_backward(loss, params={"W": W, "b": b}, print_table=False)
    assert not freed.replayed
    assert [(s.op, s.upstream_shape, [(i.name, i.shape, i.broadcast_from) for i in s.inputs])
            for s in freed] == \
        [(s.op, s.upstream_shape, [(i.name, i.shape, i.broadcast_from) for i in s.inputs])
         for s in steps]


def test_explain_backward_accumulation_and_custom_functions():
    class Cube(Function):
        """y = x³;  dL/dx = dL/dy · 3x²"""
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * (x * x * 3.0)

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = Cube.apply(x) + x                   # x is used twice
    steps = autograd.explain_backward(y.sum(), print_table=False)
    cube = [s for s in steps if s.op == "Cube"][0]
    assert cube.rule == "y = x³;  dL/dx = dL/dy · 3x²"
    uses = [i for s in steps for i in s.inputs if i.name == "x"]
    assert [u.accumulated for u in uses] == [False, True]
    np.testing.assert_allclose(steps.grads["x"]._data, [4.0, 13.0])
    assert "(+x: added to the gradient" in str(steps)

    a = Scalar(3.0, name="a")
    b = a * a
    lines = autograd.explain_backward(b, print_table=False).lines
    assert lines[1:] == ["grad_a = grad_L · a = 1.0 · 3.0 = 3.0",
                         "grad_a += grad_L · a = 1.0 · 3.0 = 3.0"]


def test_intermediates_named_through_params_and_retained():
    (w0, x0, w1, x1, w2) = (Scalar(v, name=n) for v, n in
                            zip((2.0, -1.0, -3.0, -2.0, -3.0), ("w0", "x0", "w1", "x1", "w2")))
    dot_ = w0 * x0 + w1 * x1 + w2
    f = dot_.sigmoid()
    dot_.retain_grad()                     # replaces the node's own record of its gradient
    f.backward()
    assert dot_.grad._data == pytest.approx(0.1966, abs=1e-4)
    names = {"dot": dot_, "f": f}
    lines = autograd.explain_backward(f, params=names, print_table=False).lines
    assert lines[:2] == ["grad_f = 1.0",
                         "grad_dot = grad_f · (1-f)·f = 1.0 · (1-0.7311)·0.7311 = 0.1966"]
    d = dot(f, params=names)
    assert d.exact("{ dot | data 1.0000 | grad 0.1966 }")
    assert d.exact("{ f | data 0.7311 | grad 1.0000 }")


def test_show_saved_after_backward_shows_what_was_saved_and_freed():
    x = Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    w = Tensor(np.ones((4, 2), np.float32), requires_grad=True)
    y = (x @ w).exp().sum()
    y.backward()
    src = autograd.draw_graph(y, show_saved=True).source
    freed = [line for line in src.splitlines() if "saved (freed)" in line]
    assert len(freed) == 3  # MatMul's x and w, Exp's output
    assert any("(3, 4) float32\\n48 B" in line for line in freed)
    assert any("(4, 2) float32\\n32 B" in line for line in freed)
    assert any("(3, 2) float32\\n24 B" in line for line in freed)
