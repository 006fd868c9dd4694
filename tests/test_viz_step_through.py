"""autograd.step_through: the self-contained HTML page, checked in Python and clicked
through in a real headless Chromium (Playwright) against explain_backward's steps.

The browser tests need the ``playwright`` package and Debian's ``chromium``
(``/usr/bin/chromium``); .ci/run installs both and sets NDGRAD_REQUIRE_BROWSER=1, so
there they fail rather than skip when the browser is missing."""
import os
import re
import shutil

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Scalar, Tensor

HAS_DOT = shutil.which("dot") is not None
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
REQUIRE = os.environ.get("NDGRAD_REQUIRE_BROWSER") == "1"

pytestmark = pytest.mark.skipif(not HAS_DOT and not REQUIRE, reason="needs graphviz's dot")


def sigmoid_circuit():
    w0, x0, w1, x1, w2 = (Scalar(v, name=n) for v, n in
                          ((2.0, "w0"), (-1.0, "x0"), (-3.0, "w1"), (-2.0, "x1"), (-3.0, "w2")))
    f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    return f, (w0, x0, w1, x1, w2)


def small_cnn_loss(seed=0):
    rng = np.random.default_rng(seed)
    autograd.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(2 * 2 * 2, 3))
    x = Tensor(rng.standard_normal((2, 1, 4, 4)).astype(np.float32), name="image")
    loss = F.cross_entropy(model(x), Tensor(np.array([0, 2])))
    return model, loss


# ------------------------------------------------------------------ the page itself
def test_page_is_self_contained_and_matches_explain(tmp_path):
    f, (w0, *_rest) = sigmoid_circuit()
    page = autograd.step_through(f, tmp_path / "sigmoid.html")
    text = (tmp_path / "sigmoid.html").read_text(encoding="utf-8")
    assert text == page.html and "<svg" in text and "<script>" in text and "<style>" in text
    # nothing loaded from the network: no src/href to a URL, no <link> elements
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<link" not in text
    steps = autograd.explain_backward(f, print_table=False)
    assert [(s["op"], s["node"], s["rule"]) for s in page.data["steps"]] == \
        [(s.op, s.node, s.rule) for s in steps]
    assert w0.grad is None  # replayed, not run: nothing accumulated
    f.backward()  # and the graph was not freed by the page
    assert w0.grad._data == pytest.approx(-0.19661193)


def test_refuses_big_graphs_and_freed_graphs():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(30):
        y = y * 1.5
    with pytest.raises(ValueError, match=r"step_through: the graph has 32 nodes, more than "
                                         r"max_nodes=20"):
        autograd.step_through(y.sum(), max_nodes=20)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="already freed by backward"):
        autograd.step_through(loss)


def test_jupyter_display_is_an_iframe():
    f, _ = sigmoid_circuit()
    html = autograd.step_through(f)._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "&lt;svg" in html


# ------------------------------------------------------------------ in a real browser
@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRE:
            raise
        pytest.skip("playwright is not installed")
    if not os.path.exists(CHROMIUM):
        if REQUIRE:
            raise RuntimeError(f"{CHROMIUM} not found (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def open_page(browser, path):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    return page, errors


def current_ids(page):
    return page.eval_on_selector_all("g.node.current", "els => els.map(e => e.id)")


def test_browser_sigmoid_circuit(browser, tmp_path):
    f, (w0, x0, w1, x1, w2) = sigmoid_circuit()
    st = autograd.step_through(f, tmp_path / "s.html")
    steps = autograd.explain_backward(f, print_table=False)
    page, errors = open_page(browser, tmp_path / "s.html")
    assert page.inner_text("#step-index") == f"0 / {len(steps)}"
    for k, step in enumerate(steps, 1):
        page.click("#next")
        assert page.inner_text("#step-index") == f"{k} / {len(steps)}"
        title = page.inner_text("#panel h2")
        assert title == f"Step {k}: {step.op} → {step.node}"
        assert page.text_content("#panel .rule") == step.rule
        assert sorted(current_ids(page)) == sorted(st.data["steps"][k - 1]["ids"])
        formulas = page.eval_on_selector_all("#panel .formula", "els => els.map(e => e.textContent)")
        assert [fm.split(" = ")[0] for fm in formulas] == [i.formula.split(" = ")[0] for i in step.inputs]
        flows = page.eval_on_selector_all("g.edge.flow", "els => els.map(e => e.id)")
        assert len(flows) == len(step.inputs)
    # at the end every leaf shows its gradient, as backward computes it
    f.backward()
    for leaf, name in ((w0, "w0"), (x0, "x0"), (w1, "w1"), (x1, "x1"), (w2, "w2")):
        nid = st.data["forward"][[it["name"] for it in st.data["forward"]].index(name)]["id"]
        badge = page.text_content(f'g.node[id="{nid}"] text.grad-badge')
        assert float(badge.replace("∇", "")) == pytest.approx(leaf.grad._data, abs=1e-4)
    # arrow keys and the slider move too; forward mode replays values
    page.keyboard.press("ArrowLeft")
    assert page.inner_text("#step-index") == f"{len(steps) - 1} / {len(steps)}"
    page.fill("#slider", "2")
    page.dispatch_event("#slider", "input")
    assert page.get_attribute("body", "data-step") == "2"
    page.check("#mode-forward")
    page.click("#next")
    assert page.get_attribute("body", "data-mode") == "forward"
    assert "Forward 1" in page.inner_text("#panel h2")
    assert errors == []


def test_browser_value_used_twice_adds_both_contributions(browser, tmp_path):
    x = Scalar(3.0, name="x")
    y = x * x
    autograd.step_through(y, tmp_path / "twice.html")
    page, errors = open_page(browser, tmp_path / "twice.html")
    page.click("#next")
    text = page.inner_text("#panel")
    assert "x is used more than once" in text
    assert page.text_content("g.node text.grad-badge >> nth=-1") != ""
    assert errors == []


def test_browser_small_cnn(browser, tmp_path):
    model, loss = small_cnn_loss()
    params = dict(model.named_parameters())
    st = autograd.step_through(loss, tmp_path / "cnn.html", params=params, group_by="module")
    steps = autograd.explain_backward(loss, params=params, print_table=False)
    page, errors = open_page(browser, tmp_path / "cnn.html")
    ops = []
    for k, step in enumerate(steps, 1):
        page.keyboard.press("ArrowRight")
        assert page.inner_text("#panel h2") == f"Step {k}: {step.op} → {step.node}"
        assert page.text_content("#panel .rule") == step.rule
        assert sorted(current_ids(page)) == sorted(st.data["steps"][k - 1]["ids"])
        ops.append(step.op)
        if step.op == "CrossEntropy":  # a (2, 3) gradient: the numbers are shown
            pre = page.inner_text("#panel li pre")
            assert "(2, 3)" in pre and "[[" in pre
    assert {"CrossEntropy", "Linear", "MaxPool2d", "Relu", "MatMulAdd"} <= set(ops)
    # the conv's input (no gradient) is drawn as the user's named input into an Unfold box
    assert "image" in page.inner_text("#graph") and "Unfold" in page.inner_text("#graph")
    assert errors == []


# ------------------------------------------------------------------ ndgrad-train --step-through
def test_train_cli_writes_a_step_through_page(tmp_path, browser):
    pytest.importorskip("sklearn")
    from nn import train
    page_path = tmp_path / "step.html"
    rc = train.main(["--out", str(tmp_path), "--step-through", str(page_path), "--no-plot",
                     "--threads", "1", "--epochs", "1", "--train-limit", "32",
                     "--test-limit", "16", "--no-progress"])
    assert rc == 0
    page, errors = open_page(browser, page_path)
    n = int(page.inner_text("#step-index").split("/")[1])
    assert n > 10
    page.click("#next")
    assert page.inner_text("#panel h2") == "Step 1: CrossEntropy → L"
    assert "features.conv1" in page.inner_text("#graph")  # clustered by module
    assert errors == []


def test_train_cli_step_through_needs_html(tmp_path, capsys):
    pytest.importorskip("sklearn")
    from nn import train
    with pytest.raises(SystemExit) as e:
        train.main(["--out", str(tmp_path), "--step-through", str(tmp_path / "s.svg"),
                    "--no-plot", "--epochs", "1", "--train-limit", "32", "--test-limit", "16",
                    "--no-progress"])
    assert e.value.code == 2
    assert "use an .html file name" in capsys.readouterr().err


def test_browser_module_clusters_collapse_and_expand(browser, tmp_path):
    model, loss = small_cnn_loss()
    st = autograd.step_through(loss, tmp_path / "c.html", params=dict(model.named_parameters()),
                               group_by="module")
    page, errors = open_page(browser, tmp_path / "c.html")
    conv_nodes = [s["ids"][0] for s in st.data["steps"] if s["module"] == "0"]
    page.evaluate("""() => {
        const c = [...document.querySelectorAll("g.cluster")].find(
            g => g.querySelector("text") && g.querySelector("text").textContent === "0");
        c.id = "conv-cluster";
        c.dispatchEvent(new MouseEvent("click", {bubbles: true}));
    }""")
    cluster = page.locator("#conv-cluster")
    assert "collapsed" in cluster.get_attribute("class")
    assert all("hidden" in page.get_attribute(f'g.node[id="{n}"]', "class") for n in conv_nodes)
    # stepping to a node inside it expands it again
    steps = [s["module"] for s in st.data["steps"]]
    for _ in range(steps.index("0") + 1):
        page.keyboard.press("ArrowRight")
    assert "collapsed" not in cluster.get_attribute("class")
    assert "hidden" not in page.get_attribute(f'g.node[id="{conv_nodes[0]}"]', "class")
    assert errors == []


def test_lenet5_training_step_by_module():
    from nn.models import LeNet5
    autograd.manual_seed(0)
    model = LeNet5()
    x = Tensor(np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32),
               name="digits")
    loss = F.cross_entropy(model(x), Tensor(np.array([3, 7])))
    page = autograd.step_through(loss, params=dict(model.named_parameters()), group_by="module")
    modules = [s["module"] for s in page.data["steps"]]
    assert modules[0] is None and "features.conv1" in modules and "classifier.fc2" in modules
    assert {"MaxPool2d", "MatMulAdd", "Linear", "Relu"} <= {s["op"] for s in page.data["steps"]}
    assert page.html.count('class="cluster"') >= 10  # one box per layer, nested in features/...
    big = next(s for s in page.data["steps"] if s["op"] == "Linear")
    assert "‖·‖" in big["inputs"][0]["grad"]["text"]   # large tensors: shape, norm, min, max
