"""Every graph a notebook shows is a picture (SVG/PNG), not DOT text.

nbmake (CI) executes the notebooks but only checks that they run. Without graphviz's
``dot`` binary a ``draw_graph`` output quietly falls back to DOT text, so here the
notebooks that draw graphs are executed and each graph output is checked: a drawing
must carry ``image/svg+xml`` or ``image/png``, a step-through page its inline SVG."""
import pathlib
import shutil

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
DRAWING = ("draw_graph(", "step_through(")
pytestmark = pytest.mark.skipif(shutil.which("dot") is None,
                                reason="graphviz's dot renders the graphs (CI has it)")


def notebooks_with_graphs():
    found = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(c.cell_type == "code" and any(d in c.source for d in DRAWING) for c in nb.cells):
            found.append(path)
    return found


def graph_outputs(nb):
    """(kind, mime bundle) of every output that shows a graph."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = data.get("text/plain", "")
            html = data.get("text/html", "")
            if "image/svg+xml" in data and "<svg" in data["image/svg+xml"]:
                yield "svg", data
            elif "image/png" in data:
                yield "png", data
            elif text.lstrip().startswith(("digraph", "graph")):
                yield "dot-text", data
            elif "<iframe srcdoc=" in html:
                yield "step-through", data


def test_the_graph_notebooks_are_found():
    names = {p.name for p in notebooks_with_graphs()}
    assert {"01_scalar_backprop.ipynb", "04_training_lenet_digits.ipynb",
            "05_stride_upsampling_pooling.ipynb", "06_gradient_flow_patterns.ipynb"} <= names


@pytest.mark.parametrize("path", notebooks_with_graphs(), ids=lambda p: p.name)
def test_graph_outputs_are_pictures(path):
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    kinds = [kind for kind, _ in graph_outputs(nb)]
    drawing_cells = [c for c in nb.cells if c.cell_type == "code"
                     and any(d in c.source for d in DRAWING)]
    assert len(kinds) >= len(drawing_cells) > 0, (path.name, kinds)
    assert "dot-text" not in kinds, f"{path.name}: a graph was shown as DOT text, not a picture"
    for kind, data in graph_outputs(nb):
        if kind == "step-through":  # the page inlines graphviz's SVG (escaped in srcdoc)
            assert "&lt;svg" in data["text/html"], path.name
