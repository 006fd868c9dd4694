"""Seeing the graph: ``draw_graph`` / ``to_dot`` (graphviz) and ``explain_backward``.

Everything here only *reads* what the forward pass recorded on the graph nodes
(``Context`` objects, see ``function.py``): the op name, its non-tensor attributes,
input/output shapes and dtypes (kept after backward frees the saved tensors), the
edges to the inputs, the producing module, and, while the graph is alive, the
saved tensors. Scalar graphs also keep each node's value and gradient
(``ctx._output_ref``), so they can be drawn in the lecture's record style::

    { w0 | data 2.0000 | grad -0.1966 }

Traversals are iterative (a 100,000-deep chain is fine) and ``max_nodes`` bounds
what is drawn: the rest is summarized by one "+N more nodes" node.

``explain_backward`` replays the backward pass in the engine's order (the same
``topological_order`` and the same un-broadcasting helper) without touching
``.grad`` or freeing anything, and lists each step: which node, which op, the
upstream gradient, the local rule, the gradients sent to the inputs, and whether a
broadcast was summed away. For Scalars it prints the lecture's "flat" listing
(``grad_L = 1.0``, ``grad_s3 = grad_L · (1-L)·L = ...``) with the numbers.
"""
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from . import grad_mode
from .engine import _check_and_reduce, topological_order
from .function import _OUTPUT, Context
from .variable import Variable

__all__ = ["draw_graph", "to_dot", "render", "explain_backward", "GraphvizNotFoundError",
           "BackwardStep", "InputGradient", "BackwardExplanation", "COLORS", "RULES"]

# ------------------------------------------------------------------------------ style
COLORS = {
    "parameter": "#a4c2f4",   # blue: trainable parameters
    "input": "#b6d7a8",       # green: inputs (leaves that are not parameters, data)
    "output": "#ffd966",      # yellow: the output(s) drawn from
    "op": "#eeeeee",          # grey: Function nodes
    "value": "#ffffff",       # white: intermediate values (Scalar graphs)
    "saved": "#f9cb9c",       # orange: saved tensors
    "nonfinite": "#ff9999",   # red fill (and red outline): NaN/Inf in value or gradient
}
_RED = "red"

INSTALL_HINT = ("the graphviz 'dot' program is needed to render graphs: install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) "
                "or `conda install graphviz`. autograd.to_dot() gives the DOT text without it.")


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs the graphviz binary, which is not installed."""


def _graphviz():
    try:
        import graphviz
    except ImportError:  # pragma: no cover - graphviz is a dependency
        raise ImportError("draw_graph needs the graphviz Python package: pip install graphviz") from None
    return graphviz


_Digraph = None


def _digraph_class():
    """``graphviz.Digraph`` whose rendering explains how to install the binary.

    In Jupyter it displays inline as SVG (graphviz's own ``_repr_mimebundle_``);
    without the binary it falls back to showing the DOT text.
    """
    global _Digraph
    if _Digraph is not None:
        return _Digraph
    graphviz = _graphviz()

    class Digraph(graphviz.Digraph):
        def pipe(self, *args, **kwargs):
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise GraphvizNotFoundError(INSTALL_HINT) from e

        def render(self, *args, **kwargs):
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise GraphvizNotFoundError(INSTALL_HINT) from e

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except GraphvizNotFoundError:
                return {"text/plain": self.source}

    Digraph.__name__ = Digraph.__qualname__ = "Digraph"
    _Digraph = Digraph
    return Digraph


# ------------------------------------------------------------------------------ formatting
def _shape_str(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _meta_str(meta):
    if meta is None:
        return ""
    shape, dtype = meta
    return f"{_shape_str(shape)} {getattr(dtype, 'name', dtype)}"


def _g(x, digits=4):
    """A number, short."""
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.{digits}g}"


def _fmt_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _fmt_index_item(v):
    if isinstance(v, slice):
        parts = ["" if v.start is None else str(v.start), "" if v.stop is None else str(v.stop)]
        if v.step is not None:
            parts.append(str(v.step))
        return ":".join(parts)
    if v is Ellipsis:
        return "..."
    if v is None:
        return "None"
    return _fmt_attr(v)


def _fmt_attr(v, limit=40):
    """A non-tensor attribute, briefly (index arrays are summarized)."""
    if isinstance(v, np.ndarray):
        if v.size <= 6:
            text = np.array2string(v, separator=" ", threshold=6)
        else:
            text = f"array{_shape_str(v.shape)} {v.dtype}"
    elif isinstance(v, Variable):
        text = f"{type(v).__name__}{_shape_str(v.shape)}"
    elif isinstance(v, slice) or v is Ellipsis:
        text = _fmt_index_item(v)
    elif isinstance(v, tuple) and any(isinstance(x, (slice, np.ndarray, type(Ellipsis)))
                                      for x in v):
        text = "[" + ", ".join(_fmt_index_item(x) for x in v) + "]"
    elif isinstance(v, type) and issubclass(v, np.generic):
        text = np.dtype(v).name
    elif isinstance(v, np.dtype):
        text = v.name
    elif isinstance(v, float):
        text = f"{v:g}"
    else:
        text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _escape(text):
    """Text for a DOT label (the graphviz package adds the quotes)."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _escape_record(text):
    """Text for one field of a graphviz record label."""
    text = _escape(text)
    for ch in "{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _lines(*lines):
    return "\\n".join(_escape(l) for l in lines if l)


def _array(x):
    return x.data if isinstance(x, Variable) else x


def _finite(x):
    if x is None:
        return True
    arr = np.asarray(_array(x))
    if arr.dtype.kind not in "fc":
        return True
    return bool(np.all(np.isfinite(arr)))


def _grad_stats(g):
    arr = np.asarray(_array(g))
    if arr.ndim == 0:
        return f"grad {_g(arr)}"
    if arr.size == 0:
        return "grad (empty)"
    return (f"grad ‖·‖ {float(np.linalg.norm(arr.astype(np.float64, copy=False))):.4g}"
            f"  min {float(arr.min()):.4g}  max {float(arr.max()):.4g}")


# ------------------------------------------------------------------------------ graph walk
def _roots_list(root):
    roots = [root] if isinstance(root, Variable) else list(root)
    if not roots or not all(isinstance(r, Variable) for r in roots):
        raise TypeError("expected a Tensor or Scalar (or a list of them) to draw or explain, "
                        f"got {type(root).__name__}")
    return roots


def _node_of(v):
    return v.grad_fn if v.grad_fn is not None else v


def _walk(root_nodes, max_nodes):
    """Nodes reachable from the roots, breadth first (nearest to the output first).

    Returns the first ``max_nodes`` of them and the total count (the traversal goes
    on, counting only, so the cut-off node can say how many were left out)."""
    seen = set()
    kept, total = [], 0
    queue = deque()
    for n in root_nodes:
        if id(n) not in seen:
            seen.add(id(n))
            queue.append(n)
    limit = float("inf") if max_nodes is None else max_nodes
    while queue:
        node = queue.popleft()
        total += 1
        if len(kept) < limit:
            kept.append(node)
        if type(node) is Context:
            for nxt in node.next_functions:
                if nxt is not None and id(nxt) not in seen:
                    seen.add(id(nxt))
                    queue.append(nxt)
    return kept, total


def _is_parameter(v):
    return any(c.__name__ == "Parameter" for c in type(v).__mro__)


class _Naming:
    """Names of values: from ``params``, ``.name``, and (Scalar graphs, explain) automatic
    ``s0, s1, ...`` for intermediates in forward order, ``L`` for the output."""

    def __init__(self, roots, params):
        self.explicit = {}  # id(node) -> name
        self.params = set()  # ids of leaves passed in params
        for name, v in (params or {}).items():
            if isinstance(v, Variable):
                self.explicit[id(_node_of(v))] = str(name)
                if v.grad_fn is None:
                    self.params.add(id(v))
                    # constants saved by a node come back as new Tensors on the same data
                    self.explicit.setdefault(id(v.data), str(name))
        for r in roots:
            if r.name and id(_node_of(r)) not in self.explicit:
                self.explicit[id(_node_of(r))] = r.name

    def leaf_name(self, leaf):
        return self.explicit.get(id(leaf)) or leaf.name or (
            self.explicit.get(id(leaf.data)) if not isinstance(leaf.data, float) else None)

    def auto(self, roots, order):
        """Give every node in ``order`` (consumers first, as the engine runs) a name."""
        names = dict(self.explicit)
        taken = set(names.values())
        for i, r in enumerate(roots):
            key = id(_node_of(r))
            if key not in names and type(_node_of(r)) is Context:
                name = "L" if len(roots) == 1 else f"L{i}"
                names[key] = name
                taken.add(name)
        counters = {"s": 0, "v": 0}

        def fresh(prefix):
            while True:
                name = f"{prefix}{counters[prefix]}"
                counters[prefix] += 1
                if name not in taken:
                    taken.add(name)
                    return name

        for node in reversed(order):  # forward order: s0 is computed first
            if id(node) in names:
                continue
            if type(node) is Context:
                names[id(node)] = fresh("s")
            else:
                names[id(node)] = node.name or fresh("v")
                taken.add(names[id(node)])
        return names


def _node_record(ctx):
    """A Scalar node's value record (value, raw inputs, gradient), or None."""
    rec = ctx._output_ref
    return rec if rec is not None and hasattr(rec, "inputs") else None


def _node_grad(ctx):
    """The gradient the engine left for a non-leaf value: Scalar graphs always keep it,
    Tensors only after ``retain_grad()``."""
    if ctx._retain is None:
        return None
    holder = ctx._retain()
    return None if holder is None else holder.grad


def _recorded_grad(ctx):
    """What the last backward left for a non-leaf: the Scalar record's gradient, or the
    retained tensor's ``.grad``."""
    rec = _node_record(ctx)
    if rec is not None and rec.grad is not None:
        return rec.grad
    return _node_grad(ctx)


def _known_values(nodes):
    """Values of intermediate results still reachable while the graph is alive:
    a node's saved output, a consumer's saved input, a retained tensor."""
    values = {}
    for ctx in nodes:
        if type(ctx) is not Context:
            continue
        rec = _node_record(ctx)
        if rec is not None:
            values[id(ctx)] = rec.data
        if ctx._retain is not None and rec is None:
            t = ctx._retain()
            if t is not None:
                values[id(ctx)] = t.data
        if ctx._saved is not None:
            for value, ref in ctx._saved_items():
                if ref is _OUTPUT:
                    values[id(ctx)] = value
                elif isinstance(ref, Variable) and ref.grad_fn is not None:
                    values.setdefault(id(ref.grad_fn), ref.data)
    return values


def _constant_inputs(ctx):
    """Input positions of ``ctx`` that are constants (no gradient flows there),
    identified with the saved constant Tensor where that is unambiguous."""
    positions = [i for i, (nxt, meta) in enumerate(zip(ctx.next_functions, ctx.input_meta))
                 if nxt is None and meta is not None]
    found = {}
    saved_refs = [ref for _, ref in ctx._saved_items()]
    if positions and saved_refs:
        candidates = [r for r in saved_refs
                      if isinstance(r, Variable) and r.grad_fn is None and not r._requires_grad]
        for i in positions:
            matches = [r for r in candidates if r._meta() == ctx.input_meta[i]]
            same_meta = [j for j in positions if ctx.input_meta[j] == ctx.input_meta[i]]
            if len(matches) == 1 and len(same_meta) == 1:
                found[i] = matches[0]
    return [(i, found.get(i)) for i in positions]


_SCALAR_SYMBOLS = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Neg": "neg", "Pow": "**",
                   "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Tanh": "tanh", "Sigmoid": "σ",
                   "Relu": "ReLU", "Abs": "abs", "Sign": "sign"}


# ------------------------------------------------------------------------------ drawing
class _Builder:
    """Collects node/edge specs (with an optional cluster path) and emits a Digraph."""

    def __init__(self):
        self.nodes = []   # (id, attrs, cluster)
        self.edges = []   # (tail, head, attrs)

    def node(self, name, cluster=None, **attrs):
        self.nodes.append((name, attrs, cluster))

    def edge(self, tail, head, **attrs):
        self.edges.append((tail, head, attrs))

    def emit(self, graph, legend):
        Digraph = type(graph)
        tree = {}  # cluster path tuple -> list of node specs

        for name, attrs, cluster in self.nodes:
            tree.setdefault(cluster or (), []).append((name, attrs))
        # every ancestor of a cluster exists too (nested modules: features > features.0)
        for path in list(tree):
            for k in range(1, len(path)):
                tree.setdefault(path[:k], [])
        counter = iter(range(1 << 30))

        def build(path, target):
            for name, attrs in tree.get(path, ()):
                target.node(name, **attrs)
            children = sorted(p for p in tree if len(p) == len(path) + 1 and p[:len(path)] == path)
            for child in children:
                sub = Digraph(name=f"cluster_{next(counter)}", graph_attr={
                    "label": _escape(".".join(child)), "style": "rounded", "color": "#999999",
                    "fontcolor": "#555555"})
                build(child, sub)
                target.subgraph(sub)

        build((), graph)
        for tail, head, attrs in self.edges:
            graph.edge(tail, head, **attrs)
        if legend:
            sub = Digraph(name="cluster_legend", graph_attr={
                "label": "Legend", "style": "rounded", "color": "#bbbbbb", "fontsize": "10"})
            for key, label, extra in legend:
                attrs = {"shape": "box", "style": "filled", "fillcolor": COLORS[key], "fontsize": "10"}
                attrs.update(extra)
                sub.node(f"legend_{key}", label=label, **attrs)
            graph.subgraph(sub)


def _module_path(module):
    if not module:
        return None
    return tuple(module.split("."))


def draw_graph(root, params=None, show_saved=False, show_attrs=True, show_grad=True,
               group_by=None, max_nodes=200, rankdir="TB", legend=True):
    """The graph behind ``root`` (a Tensor or Scalar, or a list of them) as a
    ``graphviz.Digraph`` (displays inline in Jupyter; ``.render()``/``.pipe()`` need
    the graphviz binary, ``.source`` does not).

    params      ``dict(model.named_parameters())`` (or any name -> Tensor mapping) to
                name leaves; leaves' own ``name=`` is used otherwise.
    show_saved  draw saved tensors as their own nodes with shape and byte size.
    show_attrs  list each op's non-tensor attributes (stride, padding, dim, ...).
    show_grad   after backward, show gradients (norm, min, max) and mark NaN/Inf in red.
    group_by    ``"module"``: cluster nodes by the nn.Module that created them.
    max_nodes   draw at most this many graph nodes; the rest become "+N more nodes".
    rankdir     graphviz layout direction, "TB" (top to bottom) or "LR".
    legend      add a legend of the colours.

    Scalar graphs use the record style ``{ label | data 0.7311 | grad -0.1966 }``.
    """
    roots = _roots_list(root)
    if group_by not in (None, "module"):
        raise ValueError(f"group_by must be None or 'module', got {group_by!r}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError("max_nodes must be at least 1 (or None for no limit)")
    scalar = all(getattr(type(r), "_keeps_values", False) for r in roots)
    root_nodes = [_node_of(r) for r in roots]
    kept, total = _walk(root_nodes, max_nodes)
    naming = _Naming(roots, params)
    names = naming.auto(roots, topological_order(root_nodes))
    values = _known_values(kept)
    drawn = {id(n): f"n{i}" for i, n in enumerate(kept)}
    root_ids = {id(n) for n in root_nodes}
    root_of = {}
    for r in roots:
        root_of.setdefault(id(_node_of(r)), r)
    b = _Builder()
    used = set()          # colour keys in use (the legend shows NaN/Inf only when used)
    extra_ids = {}        # id(constant or saved value) -> DOT id (shared by several ops)
    cut_consumers = []    # drawn nodes with an input beyond max_nodes

    def cluster_of_leaf(v):
        if group_by != "module":
            return None
        name = naming.explicit.get(id(v))
        if name and "." in name:
            return _module_path(name.rsplit(".", 1)[0])
        return None

    def paint(attrs, key, bad):
        attrs["style"] = "filled" if "style" not in attrs else attrs["style"] + ",filled"
        attrs["fillcolor"] = COLORS["nonfinite"] if bad else COLORS[key]
        if bad:
            attrs.update(color=_RED, fontcolor=_RED, penwidth="2")
        used.add(key)
        if bad:
            used.add("nonfinite")
        return attrs

    def record_label(label, data, grad):
        fields = [_escape_record(label)] if label else []
        if data is not None:
            fields.append(f"data {float(data):.4f}")
        if grad is not None and show_grad:
            fields.append(f"grad {float(_array(grad)):.4f}")
        return "{ " + " | ".join(fields) + " }"

    for node in kept:
        nid = drawn[id(node)]
        is_root = id(node) in root_ids
        if type(node) is not Context:  # a leaf
            leaf = node
            grad = leaf.grad if show_grad else None
            bad = show_grad and not (_finite(leaf.data) and _finite(grad))
            key = "output" if is_root else (
                "parameter" if id(leaf) in naming.params or _is_parameter(leaf) else "input")
            if scalar:
                attrs = dict(shape="record", label=record_label(names[id(leaf)], leaf.data, grad))
            else:
                lines = [naming.leaf_name(leaf), _meta_str(leaf._meta())]
                if grad is not None:
                    lines.append(_grad_stats(grad))
                attrs = dict(shape="box", label=_lines(*lines))
            b.node(nid, cluster_of_leaf(leaf), **paint(attrs, key, bad))
            continue

        ctx = node
        cluster = _module_path(ctx.module) if group_by == "module" else None
        root_var = root_of.get(id(ctx))
        grad = _node_grad(ctx) if show_grad else None
        if grad is None and show_grad and root_var is not None:
            grad = root_var.grad
        value = root_var.data if root_var is not None else values.get(id(ctx))
        bad = show_grad and not (_finite(value) and _finite(grad))
        attr_lines = []
        if show_attrs:
            attr_lines = [f"{k}={_fmt_attr(v)}" for k, v in (ctx.attrs or {}).items()
                          if v is not None]
        if show_saved and ctx._released:
            attr_lines.append("saved tensors freed")
        if scalar:
            rec = _node_record(ctx)
            symbol = _SCALAR_SYMBOLS.get(ctx.name, ctx.name)
            if ctx.name == "PowScalar":
                symbol = f"**{_fmt_attr(ctx.attrs.get('exponent'))}"
                attr_lines = [l for l in attr_lines if not l.startswith("exponent=")]
            op_attrs = dict(shape="ellipse", label=_lines(symbol, *attr_lines))
            b.node(nid + "_op", cluster, **paint(op_attrs, "op", False))
            data = rec.data if rec is not None else value
            vkey = "output" if is_root else "value"
            vattrs = dict(shape="record", label=record_label(names[id(ctx)], data, grad))
            b.node(nid, cluster, **paint(vattrs, vkey, bad))
            b.edge(nid + "_op", nid)
            consumer = nid + "_op"
        else:
            lines = [ctx.name, f"→ {names[id(ctx)]}: {_meta_str(ctx.output_meta)}"] + attr_lines
            if grad is not None:
                lines.append(_grad_stats(grad))
            b.node(nid, cluster, **paint(dict(shape="box", label=_lines(*lines)), "op", bad))
            consumer = nid
            if root_var is not None:  # the output tensor itself, below its op
                label = _lines(naming.explicit.get(id(ctx)) or "output",
                               _meta_str(root_var._meta()),
                               _grad_stats(root_var.grad) if show_grad and root_var.grad is not None
                               else None)
                b.node(nid + "_out", None, **paint(dict(shape="box", label=label), "output",
                                                   bad))
                b.edge(nid, nid + "_out")

        # inputs: graph nodes (drawn or cut off) and constants
        cut = False
        constants = dict(_constant_inputs(ctx)) if not scalar else {}
        for i, nxt in enumerate(ctx.next_functions):
            if nxt is not None:
                if id(nxt) in drawn:
                    b.edge(drawn[id(nxt)], consumer)
                else:
                    cut = True
                continue
            meta = ctx.input_meta[i]
            if meta is None:
                continue
            cid = f"{nid}_c{i}"
            if scalar:
                rec = _node_record(ctx)
                if rec is None:
                    continue
                b.node(cid, cluster, **paint(dict(shape="record",
                                                  label=record_label("const", rec.inputs[i], None)),
                                             "input", not _finite(rec.inputs[i])))
                b.edge(cid, consumer)
            elif i in constants:
                const = constants[i]
                cname = naming.leaf_name(const) if const is not None else None
                if cname is None and meta[0] == ():
                    continue  # an anonymous 0-d constant (x * 2.0): not worth a node
                fresh = True
                if const is not None:
                    fresh = id(const) not in extra_ids
                    cid = extra_ids.setdefault(id(const), f"c{len(extra_ids)}")
                if fresh:
                    bad = const is not None and show_grad and not _finite(const.data)
                    b.node(cid, None, **paint(dict(shape="box", label=_lines(
                        cname or "input", _meta_str(meta))), "input", bad))
                b.edge(cid, consumer)
        if cut:
            cut_consumers.append(consumer)

        if show_saved and ctx._saved is not None:
            for k, (value_k, ref) in enumerate(ctx._saved_items()):
                fresh = id(value_k) not in extra_ids
                sid = extra_ids.setdefault(id(value_k), f"saved{len(extra_ids)}")
                if fresh:
                    if ref is _OUTPUT:  # name the saved value itself (s3, W, ...)
                        role = names[id(ctx)]
                    elif isinstance(ref, Variable):
                        role = names.get(id(ref.grad_fn)) if ref.grad_fn is not None else \
                            (names.get(id(ref)) or naming.leaf_name(ref) or "input")
                    else:
                        role = None
                    if isinstance(value_k, np.ndarray):
                        desc = [_meta_str((value_k.shape, value_k.dtype)), _fmt_bytes(value_k.nbytes)]
                    else:
                        desc = [_g(value_k) if isinstance(value_k, float) else type(value_k).__name__,
                                _fmt_bytes(np.asarray(value_k).nbytes)]
                    b.node(sid, cluster, **paint(dict(shape="box", label=_lines(
                        "saved" + (f" ({role})" if role else ""), *desc), fontsize="10"),
                        "saved", False))
                b.edge(sid, consumer, style="dashed", arrowhead="none")

    if total > len(kept):
        b.node("more", None, shape="box", style="dashed",
               label=_lines(f"+{total - len(kept)} more nodes"))
        for consumer in cut_consumers:
            b.edge("more", consumer, style="dashed")

    Digraph = _digraph_class()
    graph = Digraph(name="ndgrad", graph_attr={"rankdir": rankdir},
                    node_attr={"fontname": "Helvetica", "fontsize": "11"})
    legend_rows = None
    if legend:
        labels = [("parameter", "parameter", {}), ("input", "input", {}),
                  ("output", "output", {}), ("op", "op (Function)", {})]
        if scalar:
            labels.append(("value", "intermediate value", {"shape": "record"}))
        if show_saved:
            labels.append(("saved", "saved tensor", {}))
        labels.append(("nonfinite", "NaN/Inf", {"color": _RED, "fontcolor": _RED}))
        legend_rows = [row for row in labels if row[0] in used or row[0] == "saved"]
    b.emit(graph, legend_rows)
    return graph


def to_dot(root, **kwargs):
    """The DOT source of ``draw_graph(root, **kwargs)`` as text (no graphviz binary needed)."""
    return draw_graph(root, **kwargs).source


def render(root, filename, format=None, **kwargs):
    """Draw ``root`` (or take an existing drawing) and write it to ``filename`` as SVG,
    PNG or PDF (``format`` defaults to the file extension). Needs the graphviz binary;
    without it raises ``GraphvizNotFoundError`` (a RuntimeError) saying how to install it."""
    graph = root if hasattr(root, "pipe") and not isinstance(root, Variable) \
        else draw_graph(root, **kwargs)
    if format is None:
        format = str(filename).rsplit(".", 1)[-1].lower() if "." in str(filename) else "svg"
    graphviz = _graphviz()
    try:
        data = graph.pipe(format=format)
    except graphviz.ExecutableNotFound as e:
        raise GraphvizNotFoundError(INSTALL_HINT) from e
    with open(filename, "wb") as f:
        f.write(data)
    return str(filename)


# ------------------------------------------------------------------------------ explain_backward
# The local rule of each built-in op, as text. User-defined Functions fall back to the
# first line of their docstring.
RULES = {
    "Add": "dL/da = dL/dy,  dL/db = dL/dy",
    "Sub": "dL/da = dL/dy,  dL/db = -dL/dy",
    "Mul": "dL/da = dL/dy · b,  dL/db = dL/dy · a",
    "Div": "dL/da = dL/dy / b,  dL/db = -dL/dy · a / b²",
    "Neg": "dL/dx = -dL/dy",
    "PowScalar": "dL/dx = dL/dy · p·x^(p-1)",
    "Pow": "dL/da = dL/dy · b·a^(b-1),  dL/db = dL/dy · y·ln a",
    "Exp": "dL/dx = dL/dy · y",
    "Log": "dL/dx = dL/dy / x",
    "Sqrt": "dL/dx = dL/dy / (2y)",
    "Tanh": "dL/dx = dL/dy · (1 - y²)",
    "Sigmoid": "dL/dx = dL/dy · y·(1 - y)",
    "Relu": "dL/dx = dL/dy · [x > 0]",
    "Abs": "dL/dx = dL/dy · sign(x)",
    "Sign": "dL/dx = 0",
    "Clamp": "dL/dx = dL/dy · [min ≤ x ≤ max]",
    "Maximum": "dL/da = dL/dy · ([a > b] + ½[a = b]),  dL/db = dL/dy · ([b > a] + ½[a = b])",
    "Minimum": "dL/da = dL/dy · ([a < b] + ½[a = b]),  dL/db = dL/dy · ([b < a] + ½[a = b])",
    "Where": "dL/da = dL/dy · cond,  dL/db = dL/dy · (1 - cond)",
    "Cast": "dL/dx = dL/dy cast back to x's dtype",
    "Sum": "dL/dx = dL/dy broadcast back over the summed dims",
    "Mean": "dL/dx = dL/dy / n broadcast back over the reduced dims",
    "SumToShape": "dL/dx = dL/dy expanded back to x's shape",
    "Expand": "dL/dx = dL/dy summed over the expanded dims",
    "AMax": "dL/dx = dL/dy · [x = max] / (number of maxima)",
    "AMin": "dL/dx = dL/dy · [x = min] / (number of minima)",
    "Var": "dL/dx = dL/dy · 2(x - mean) / (n - correction)",
    "LogSumExp": "dL/dx = dL/dy · softmax(x)",
    "Softmax": "dL/dx = y · (dL/dy - Σ dL/dy · y)",
    "LogSoftmax": "dL/dx = dL/dy - softmax(x) · Σ dL/dy",
    "Reshape": "dL/dx = dL/dy reshaped to x's shape",
    "Permute": "dL/dx = dL/dy permuted back (inverse permutation)",
    "Transpose": "dL/dx = dL/dy with the two axes swapped back",
    "GetItem": "dL/dx = zeros with dL/dy added at the indexed places",
    "IndexAdd": "dL/dx = dL/dy[index]",
    "Cat": "dL/dxᵢ = the slice of dL/dy where xᵢ was placed",
    "Pad": "dL/dx = dL/dy with the padding cut off",
    "MatMul": "dL/dA = dL/dY · Bᵀ,  dL/dB = Aᵀ · dL/dY",
}

# Per-input formulas for Scalar graphs, in the lecture's notation. {g} is the upstream
# gradient's name (grad_L), {y} the node's output, {a}/{b} its inputs, {name} an attribute.
SCALAR_RULES = {
    "Add": ("{g}", "{g}"),
    "Sub": ("{g}", "-{g}"),
    "Mul": ("{g} · {b}", "{g} · {a}"),
    "Div": ("{g} / {b}", "-{g} · {a} / {b}²"),
    "Neg": ("-{g}",),
    "PowScalar": ("{g} · {exponent}·{a}^({exponent}-1)",),
    "Pow": ("{g} · {b}·{a}^({b}-1)", "{g} · {y}·ln({a})"),
    "Exp": ("{g} · {y}",),
    "Log": ("{g} / {a}",),
    "Sqrt": ("{g} / (2·{y})",),
    "Tanh": ("{g} · (1 - {y}²)",),
    "Sigmoid": ("{g} · (1-{y})·{y}",),
    "Relu": ("{g} · [{y} > 0]",),
    "Abs": ("{g} · sign({a})",),
    "Sign": ("0",),
    "Clamp": ("{g} · [{min} ≤ {a} ≤ {max}]",),
    "Maximum": ("{g} · ([{a} > {b}] + ½[{a} = {b}])", "{g} · ([{b} > {a}] + ½[{a} = {b}])"),
    "Minimum": ("{g} · ([{a} < {b}] + ½[{a} = {b}])", "{g} · ([{b} < {a}] + ½[{a} = {b}])"),
}

# Ops whose backward returns output-shaped gradients that the engine sums to each
# input's shape (used to tell broadcasts apart when the graph was already freed).
_BROADCASTING = {"Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Where"}


def rule_for(ctx):
    """The local rule of ``ctx``'s op as text."""
    rule = RULES.get(ctx.name)
    if rule is None:
        doc = (ctx.fn.__doc__ or "").strip()
        rule = doc.splitlines()[0].strip() if doc else f"{ctx.name}.backward"
    return rule


@dataclass
class InputGradient:
    """What one step sends to one input."""
    name: str                      # the input's name (leaf name, s0, ...)
    shape: tuple                   # the gradient's shape = the input's shape
    broadcast_from: tuple = None   # shape before the engine summed a broadcast away
    grad: object = None            # the gradient sent (Tensor/Scalar), when replayed
    accumulated: bool = False      # added to a gradient the input already had
    shared: bool = False           # the input feeds several ops (its gradient is a sum)
    formula: str = None            # Scalar graphs: "grad_s3 = grad_L · (1-L)·L"
    numbers: str = None            # ... the same with the numbers: "1.0 · (1-0.7311)·0.7311"
    value: float = None            # ... and the result

    @property
    def broadcast(self):
        return self.broadcast_from is not None


@dataclass
class BackwardStep:
    """One node of the backward pass, in the engine's order."""
    index: int
    node: str                      # name of the value whose gradient is passed back
    op: str
    upstream_shape: tuple          # shape of dL/d(node)
    rule: str
    inputs: list = field(default_factory=list)
    module: str = None
    upstream: object = None        # dL/d(node) (Tensor/Scalar), when replayed
    upstream_value: float = None   # Scalar graphs: its number


class BackwardExplanation(list):
    """The list of ``BackwardStep``; ``str()`` gives the table (Tensor graphs) or the
    lecture's flat listing (Scalar graphs).

    grads       name -> gradient of every value reached (root, intermediates, leaves)
    lines       Scalar graphs: the flat listing, one ``grad_x = ...`` per line
    replayed    True if the gradients were computed by replaying backward (the graph
                was alive); False if only the recorded metadata was available
    """

    def __init__(self, steps, grads, scalar, replayed, root_lines):
        super().__init__(steps)
        self.grads = grads
        self.scalar = scalar
        self.replayed = replayed
        self._root_lines = root_lines

    @property
    def lines(self):
        out = list(self._root_lines)
        for step in self:
            for inp in step.inputs:
                if inp.formula is None:
                    continue
                parts = [inp.formula]
                value = None if inp.value is None else _g(inp.value)
                if inp.numbers and inp.numbers.strip("()") != value:
                    parts.append(inp.numbers)
                if value is not None:
                    parts.append(value + ("" if self.replayed or not inp.shared
                                          else " (total of all uses)"))
                out.append(" = ".join(parts))
        return out

    def table(self):
        if self.scalar:
            return self._scalar_table()
        has_module = any(s.module for s in self)
        header = ["#", "node", "op"] + (["module"] if has_module else []) + \
            ["upstream dL/d(node)", "local rule", "gradients to inputs", "broadcast summed"]
        rows = []
        for s in self:
            ins = "; ".join(f"{'+' if i.accumulated else ''}{i.name} {_shape_str(i.shape)}"
                            for i in s.inputs)
            bc = "; ".join(f"{i.name}: {_shape_str(i.broadcast_from)} → {_shape_str(i.shape)}"
                           for i in s.inputs if i.broadcast)
            row = [str(s.index), s.node, s.op] + ([s.module or ""] if has_module else []) + \
                [_shape_str(s.upstream_shape), s.rule, ins, bc or "-"]
            rows.append(row)
        table = _format_table(header, rows)
        if any(i.accumulated for s in self for i in s.inputs):
            table += "\n(+x: added to the gradient x already had from another use)"
        return table

    def _scalar_table(self):
        lines = self.lines
        # align on the first " = "
        split = [l.split(" = ", 1) for l in lines]
        width = max((len(p[0]) for p in split), default=0)
        return "\n".join(p[0].ljust(width) + (" = " + p[1] if len(p) > 1 else "") for p in split)

    def __str__(self):
        note = "" if self.replayed else (
            "\n(graph already freed by backward: shapes from the recorded metadata"
            + ("; numbers are the gradients backward left" if self.scalar else "")
            + ". Call explain_backward before backward, or use retain_graph=True, "
              "to replay it.)")
        return self.table() + note

    def __repr__(self):
        return f"<BackwardExplanation: {len(self)} steps>"

    def _repr_pretty_(self, p, cycle):  # IPython: show the table, not the list
        p.text(str(self))


def _format_table(header, rows):
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def _operand(x):
    """A number inside a formula: negative ones in parentheses."""
    x = float(x)
    return f"({_g(x)})" if x < 0 else _g(x)


class _Formatter(dict):
    def __missing__(self, key):
        return "?"


def _scalar_formula(ctx, i, names, rec, g_value, attrs):
    """("grad_s3 = grad_L · (1-L)·L", "1.0 · (1-0.7311)·0.7311") for input i of ctx."""
    templates = SCALAR_RULES.get(ctx.name)
    y = names[id(ctx)]
    symbols, numbers = _Formatter(g="grad_" + y, y=y), _Formatter()
    if g_value is not None:
        numbers["g"] = _operand(g_value)
    if rec is not None:
        numbers["y"] = _operand(rec.data)
    for j, key in zip(range(len(ctx.next_functions)), "ab"):
        nxt = ctx.next_functions[j]
        value = rec.inputs[j] if rec is not None else None
        if nxt is not None:
            symbols[key] = names[id(nxt)]
        elif value is not None:
            symbols[key] = _operand(value)
        if value is not None:
            numbers[key] = _operand(value)
    for k, v in attrs.items():
        text = {"min": "-∞", "max": "∞"}.get(k, "None") if v is None else _fmt_attr(v)
        symbols[k] = numbers[k] = text
    if templates is None or i >= len(templates):
        target = names[id(ctx.next_functions[i])]
        return f"grad_{y} · ∂{y}/∂{target}", None
    sym = templates[i].format_map(symbols)
    num = templates[i].format_map(numbers) if g_value is not None and rec is not None else None
    return sym, (None if num is None or "?" in num else num)


def explain_backward(root, grad_output=None, params=None, print_table=True):
    """The backward pass of ``root``, step by step in the order the engine runs it.

    Each step is one node: its name, op, the upstream gradient's shape, the local
    rule (e.g. ``dL/dA = dL/dY · Bᵀ``), the gradients sent to its inputs and whether
    the engine summed a broadcast away. For Scalar graphs it gives the lecture's
    flat listing with the numbers (``grad_L = 1.0``, ``grad_s3 = grad_L · (1-L)·L
    = 0.1966``, ...).

    While the graph is alive (before backward, or after ``backward(retain_graph=True)``)
    the steps are replayed for real: nothing is accumulated into ``.grad``, nothing is
    freed, hooks are not run. After backward freed the graph, the shapes come from the
    recorded metadata (and, for Scalars, the numbers from what backward left).

    ``grad_output`` is dL/d(root) (needed when root has more than one element), ``params``
    names leaves as in ``draw_graph``. Prints the table unless ``print_table=False``;
    returns a ``BackwardExplanation`` (a list of ``BackwardStep``).
    """
    roots = _roots_list(root)
    scalar = all(getattr(type(r), "_keeps_values", False) for r in roots)
    if len(roots) == 1:
        grad_outputs = [grad_output]
    elif grad_output is None:
        grad_outputs = [None] * len(roots)
    else:
        grad_outputs = list(grad_output)
        if len(grad_outputs) != len(roots):
            raise ValueError("explain_backward: give one grad_output per root")
    seeds = [r._initial_grad(g) for r, g in zip(roots, grad_outputs)]
    root_nodes = [_node_of(r) for r in roots]
    order = topological_order(root_nodes)
    naming = _Naming(roots, params)
    names = naming.auto(roots, order)
    replayed = not any(type(n) is Context and n._released for n in order)

    consumers = {}
    for n in order:
        if type(n) is Context:
            for nxt in n.next_functions:
                if nxt is not None:
                    consumers[id(nxt)] = consumers.get(id(nxt), 0) + 1

    steps, final = [], {}
    root_lines = []
    pending = {}
    for node, g in zip(root_nodes, seeds):
        pending[id(node)] = g if id(node) not in pending else pending[id(node)] + g
    if scalar:
        for node in dict.fromkeys(root_nodes):
            root_lines.append(f"grad_{names[id(node)]} = {_g(pending[id(node)].data)}")

    received = set()
    with grad_mode.no_grad():
        for node in order:
            if replayed:
                g = pending.pop(id(node), None)
                if g is None:
                    continue
            else:
                g = None
            if type(node) is not Context:
                final[names[id(node)]] = g if replayed else node.grad
                continue
            rec = _node_record(node) if scalar else None
            known = g if replayed else _recorded_grad(node)
            final[names[id(node)]] = known
            g_number = float(known.data) if scalar and known is not None else None
            step = BackwardStep(index=len(steps) + 1, node=names[id(node)], op=node.name,
                                upstream_shape=node.output_meta[0], rule=rule_for(node),
                                module=node.module, upstream=g, upstream_value=g_number)
            in_grads = node.fn.backward(node, g) if replayed else None
            if in_grads is not None and not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if in_grads is not None and len(in_grads) != len(node.next_functions):
                raise RuntimeError(
                    f"{node.name}.backward returned {len(in_grads)} gradients, but forward "
                    f"had {len(node.next_functions)} inputs")
            attrs = node.attrs or {}
            for i, nxt in enumerate(node.next_functions):
                if nxt is None:
                    continue
                shape, dtype = node.input_meta[i]
                out_shape = node.output_meta[0]
                broadcast_from = None
                ig = None
                if replayed:
                    ig = in_grads[i]
                    if ig is None:
                        continue
                    if ig.shape != shape:
                        broadcast_from = tuple(ig.shape)
                    if ig.shape != shape or ig.dtype != dtype:
                        ig = _check_and_reduce(node, i, ig)
                    prev = pending.get(id(nxt))
                    pending[id(nxt)] = ig if prev is None else ig._make(prev.data + ig.data, None)
                else:
                    if node.name in _BROADCASTING and tuple(shape) != tuple(out_shape):
                        broadcast_from = tuple(out_shape)
                    elif node.name == "MatMul" and len(shape) >= 2 and \
                            tuple(out_shape[:-2]) + tuple(shape[-2:]) != tuple(shape):
                        broadcast_from = tuple(out_shape[:-2]) + tuple(shape[-2:])
                accumulated = id(nxt) in received
                received.add(id(nxt))
                inp = InputGradient(name=names[id(nxt)], shape=tuple(shape),
                                    broadcast_from=broadcast_from, grad=ig, accumulated=accumulated,
                                    shared=consumers.get(id(nxt), 0) > 1)
                if scalar:
                    sym, num = _scalar_formula(node, i, names, rec, g_number, attrs)
                    op = "+=" if accumulated else "="
                    inp.formula = f"grad_{inp.name} {op} {sym}"
                    inp.numbers = num
                    if replayed:
                        inp.value = float(ig.data)
                    else:
                        total = nxt.grad if type(nxt) is not Context else _recorded_grad(nxt)
                        inp.value = None if total is None else float(_array(total))
                step.inputs.append(inp)
            steps.append(step)

    result = BackwardExplanation(steps, final, scalar, replayed, root_lines)
    if print_table:
        print(result)
    return result
