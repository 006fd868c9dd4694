"""``step_through``: the backward pass as a page a student clicks through.

The page is one self-contained HTML file: the graph as ``draw_graph`` draws it (inline
SVG from graphviz), a side panel, and the steps of ``explain_backward`` as JSON. The
script (``static/step_through.js``) walks the steps: Previous/Next (or the arrow keys),
Play and a slider; the current node is highlighted, the edges its gradients flow along
are coloured, and the gradients found so far stay written on the nodes they reached. A
toggle replays the forward pass instead (each node's value, in forward order).

Nothing here touches ``.grad`` or frees the graph: the steps come from replaying
backward on the retained graph (``explain.py``), so call it before ``backward()`` or
after ``backward(retain_graph=True)``.
"""
import html
import json
from importlib import resources

import numpy as np

from ..function import Context
from .dot import _check_draw_options, _Drawer
from .explain import _Replay
from .graph import _node_record, _roots_list, _walk, _node_of, _known_values
from .text import _meta_str, _shape_str

__all__ = ["step_through", "StepThrough"]

SMALL = 64  # tensors with at most this many elements are shown number by number


def summarize(x):
    """A value or gradient for the panel: the numbers when small, else shape and stats."""
    if x is None:
        return None
    arr = np.asarray(x._data if hasattr(x, "_data") else x)
    if arr.ndim == 0:
        return {"text": f"{float(arr):.4g}", "short": f"{float(arr):.4g}"}
    if arr.size <= SMALL:
        # a column (50, 1) reads better as a row: print without its unit dimensions
        shown = arr.squeeze() if arr.ndim > 1 and arr.squeeze().ndim == 1 else arr
        text = np.array2string(shown, precision=4, suppress_small=True, max_line_width=60)
        short = f"{_shape_str(arr.shape)} ‖·‖ {_norm(arr):.3g}"
        return {"text": f"{_shape_str(arr.shape)}\n{text}", "short": short}
    if arr.size == 0 or arr.dtype.kind not in "fiu":
        return {"text": f"{_shape_str(arr.shape)} {arr.dtype}", "short": _shape_str(arr.shape)}
    stats = f"‖·‖ {_norm(arr):.4g}  min {float(arr.min()):.4g}  max {float(arr.max()):.4g}"
    return {"text": f"{_shape_str(arr.shape)} {arr.dtype}\n{stats}",
            "short": f"‖·‖ {_norm(arr):.3g}"}


def _norm(arr):
    return float(np.linalg.norm(arr.astype(np.float64, copy=False).ravel()))


def _static(name):
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


class StepThrough:
    """The step-through page of one graph. ``.html`` is the page, ``.save(filename)``
    writes it, ``.steps`` are the backward steps (as ``explain_backward``), and in
    Jupyter it displays inline (in an iframe, so several pages do not clash)."""

    def __init__(self, roots, grad_output=None, params=None, max_nodes=200, inputs=None,
                 **draw_options):
        unknown = set(draw_options) - {"group_by", "show_saved", "show_attrs", "show_grad",
                                       "rankdir", "legend"}
        if unknown:
            raise TypeError(f"step_through() got unexpected keyword arguments {sorted(unknown)}")
        group_by = draw_options.get("group_by")
        _check_draw_options(group_by, max_nodes)
        kept, total = _walk([_node_of(r) for r in roots], None)
        if max_nodes is not None and total > max_nodes:
            raise ValueError(
                f"step_through: the graph has {total} nodes, more than max_nodes={max_nodes}; "
                f"pass a larger max_nodes (a page with hundreds of steps is hard to follow) "
                f"or step through a smaller model or batch")
        replay = _Replay(roots, grad_output, params, inputs)
        if not replay.replayed:
            raise RuntimeError(
                "step_through: the graph was already freed by backward(); call step_through "
                "before backward(), or use backward(retain_graph=True)")
        self.steps = replay.run()
        drawer = _Drawer(roots, params, draw_options.get("show_saved", False),
                         draw_options.get("show_attrs", True), draw_options.get("show_grad", True),
                         group_by, None, ids=True, inputs=inputs)
        graph = drawer.digraph(draw_options.get("rankdir", "TB"), draw_options.get("legend", True))
        self.graph = graph
        self.svg = graph.pipe(format="svg").decode("utf-8")
        self.data = self._data(drawer, roots)
        self.html = self._page()

    # ------------------------------------------------------------------ the steps as JSON
    def _data(self, drawer, roots):
        drawn, scalar = drawer.drawn, self.steps.scalar
        totals, steps = {}, []
        for s in self.steps:
            nid = drawn.get(id(s.ctx))
            consumer = drawer.consumer_of.get(nid, nid)
            item = {"node": s.node, "op": s.op, "module": s.module, "rule": s.rule,
                    "ids": [i for i in dict.fromkeys((nid, consumer)) if i], "upstream": summarize(s.upstream),
                    "upstream_shape": _shape_str(s.upstream_shape), "inputs": []}
            for inp in s.inputs:
                target = drawn.get(id(inp.node_ref))
                key = id(inp.node_ref)
                total = inp.grad._data if key not in totals else totals[key] + inp.grad._data
                totals[key] = total
                item["inputs"].append({
                    "name": inp.name, "id": target,
                    "edge": f"e_{target}_{consumer}" if target else None,
                    "grad": summarize(inp.grad), "total": summarize(total),
                    "accumulated": inp.accumulated, "shared": inp.shared,
                    "broadcast_from": _shape_str(inp.broadcast_from) if inp.broadcast else None,
                    "shape": _shape_str(inp.shape), "formula": inp.formula,
                    "numbers": inp.numbers})
            steps.append(item)
        seeds = [{"id": drawn.get(id(_node_of(r))), "grad": summarize(s.upstream)}
                 for r, s in zip(roots, self.steps)]
        return {"scalar": scalar, "steps": steps, "forward": self._forward(drawer, roots),
                "root_lines": self.steps.lines[:len(self.steps._root_lines)] if scalar else [],
                "seeds": seeds}

    def _forward(self, drawer, roots):
        """The nodes in forward order (inputs first) with the value each computed."""
        values = _known_values(drawer.kept)
        for r in roots:
            values[id(_node_of(r))] = r._data
        out = []
        for node in reversed(drawer.kept):
            nid = drawer.drawn[id(node)]
            if type(node) is Context:
                rec = _node_record(node)
                value = rec._data if rec is not None else values.get(id(node))
                label, meta = node.name, node.output_meta
            else:
                value, label, meta = node._data, "input", node._meta()
            out.append({"id": nid, "ids": list(dict.fromkeys((nid, drawer.consumer_of.get(nid, nid)))),
                        "name": drawer.names.get(id(node), ""), "op": label,
                        "meta": _meta_str(meta), "value": summarize(value)})
        return _forward_order(out, drawer)

    # ------------------------------------------------------------------ the page
    def _page(self):
        data = json.dumps(self.data, ensure_ascii=False).replace("</", "<\\/")
        svg = self.svg[self.svg.index("<svg"):]  # drop the XML prolog and doctype
        page = _static("step_through.html")
        return (page.replace("/*STYLE*/", _static("step_through.css"))
                .replace("/*SCRIPT*/", _static("step_through.js"))
                .replace("/*DATA*/", data)
                .replace("<!--SVG-->", svg))

    def save(self, filename):
        with open(filename, "w", encoding="utf-8") as f:
            f.write(self.html)
        return str(filename)

    def __len__(self):
        return len(self.steps)

    def _repr_html_(self):
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width: 100%; height: 640px; border: 1px solid #ddd"></iframe>')

    def __repr__(self):
        return f"<StepThrough: {len(self.steps)} backward steps>"


def _forward_order(items, drawer):
    """Forward (topological) order: a node after all its inputs."""
    from ..engine import topological_order
    order = topological_order(drawer.root_nodes)
    rank = {drawer.drawn[id(n)]: i for i, n in enumerate(reversed(order)) if id(n) in drawer.drawn}
    return sorted(items, key=lambda it: rank.get(it["id"], -1))


def step_through(root, filename=None, grad_output=None, params=None, max_nodes=200,
                 inputs=None, **draw_options):
    """A page that steps through the backward pass of ``root`` one node at a time.

    Returns a ``StepThrough`` (displays inline in Jupyter); with ``filename`` also writes
    it as one self-contained HTML file (no network access needed) to open in a browser.
    ``params``, ``inputs``, ``group_by``, ``show_saved``, ``show_attrs``, ``rankdir``, ``legend`` are
    ``draw_graph``'s options; a graph of more than ``max_nodes`` nodes is refused.
    Needs a live graph (before ``backward()`` or with ``retain_graph=True``) and the
    graphviz binary.
    """
    page = StepThrough(_roots_list(root), grad_output, params, max_nodes, inputs,
                       **draw_options)
    if filename is not None:
        page.save(filename)
    return page
