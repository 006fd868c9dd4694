"""Drawing the graph as DOT: ``draw_graph``, ``to_dot``, ``render``.

``_Drawer`` turns the recorded graph (see ``graph.py``) into node and edge specs, one
method per kind of node (leaf, Scalar value, tensor op, constant input, saved value);
``_Builder`` nests them into clusters (one per nn.Module with ``group_by="module"``)
and emits a ``graphviz.Digraph``. Every node has a stable DOT name (``n0`` is the
output, then breadth first), which the step-through page uses to highlight it.
"""
import sys

import numpy as np

from ..function import _OUTPUT, Context
from ..variable import Variable
from .graph import (_SCALAR_SYMBOLS, _constant_inputs, _is_parameter, _known_values,
                    _recorded_grad, _node_of, _node_record, _roots_list, _walk)
from .naming import _Naming
from .style import _RED, COLORS, INSTALL_HINT, GraphvizNotFoundError, _digraph_class, _graphviz
from .text import (_array, _escape, _escape_record, _finite, _fmt_attr, _fmt_bytes, _g,
                   _grad_stats, _lines, _meta_str)

# Attributes that say nothing to a reader (internal bookkeeping objects).
_HIDDEN_ATTRS = {"argmax", "layout"}


class _Builder:
    """Collects node/edge specs (with an optional cluster path) and emits a Digraph."""

    def __init__(self, ids=False):
        self.nodes = []   # (id, attrs, cluster)
        self.edges = []   # (tail, head, attrs)
        self.ids = ids    # give SVG elements the DOT names as ids (step-through page)

    def node(self, name, cluster=None, **attrs):
        if self.ids:
            attrs["id"] = name
        self.nodes.append((name, attrs, cluster))

    def edge(self, tail, head, **attrs):
        if self.ids:
            attrs["id"] = f"e_{tail}_{head}"
        self.edges.append((tail, head, attrs))

    def emit(self, graph, legend, nest_under=None):
        """Add the nodes (nested by cluster path), edges and legend to ``graph``.
        ``nest_under``: a top-level module whose own ops sit beside its children's
        clusters; the other clusters are drawn inside it, so the layout keeps order."""
        Digraph = type(graph)
        tree = {}  # cluster path tuple -> list of node specs
        for name, attrs, cluster in self.nodes:
            path = tuple(cluster or ())
            if nest_under and path and path[0] != nest_under:
                path = (nest_under,) + path
            tree.setdefault(path, []).append((name, attrs))
        for path in list(tree):  # every ancestor of a cluster exists too
            for k in range(1, len(path)):
                tree.setdefault(path[:k], [])
        counter = iter(range(1 << 30))

        def build(path, target):
            for name, attrs in tree.get(path, ()):
                target.node(name, **attrs)
            children = sorted(p for p in tree if len(p) == len(path) + 1 and p[:len(path)] == path)
            for child in children:
                label = ".".join(child[1:] if nest_under and child[0] == nest_under
                                 and len(child) > 1 else child)
                sub = Digraph(name=f"cluster_{next(counter)}", graph_attr={
                    "label": _escape(label), "style": "rounded", "color": "#999999",
                    "fontcolor": "#555555"})
                build(child, sub)
                target.subgraph(sub)

        build((), graph)
        for tail, head, attrs in self.edges:
            graph.edge(tail, head, **attrs)
        if legend:
            self._legend(graph, legend)

    @staticmethod
    def _legend(graph, legend):
        sub = type(graph)(name="cluster_legend", graph_attr={
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


def _module_class_names():
    """Names of the nn.Module classes defined so far (a root module's scope is its class
    name, see nn/module.py); empty when nn is not imported."""
    module = sys.modules.get("nn.module")
    base = getattr(module, "Module", None)
    if base is None:
        return set()
    names, stack = set(), [base]
    while stack:
        cls = stack.pop()
        names.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    return names


def _shown_attrs(ctx):
    """``key=value`` lines for the attributes worth reading (kernel, stride, dim, ...)."""
    lines = []
    for k, v in (ctx.attrs or {}).items():
        if v is None or k in _HIDDEN_ATTRS:
            continue
        text = _fmt_attr(v)
        if text.startswith("<"):  # an object's default repr: noise
            continue
        lines.append(f"{k}={text}")
    return lines


class _Drawer:
    """One drawing: walks the kept nodes and asks the builder for boxes and arrows."""

    def __init__(self, roots, params, show_saved, show_attrs, show_grad, group_by, max_nodes,
                 ids=False, inputs=None):
        self.roots = roots
        self.show_saved, self.show_attrs, self.show_grad = show_saved, show_attrs, show_grad
        self.group_by = group_by
        self.scalar = all(getattr(type(r), "_keeps_values", False) for r in roots)
        self.root_nodes = [_node_of(r) for r in roots]
        self.kept, self.total = _walk(self.root_nodes, max_nodes)
        from ..engine import topological_order
        self.naming = _Naming(roots, params, inputs)
        self.names = self.naming.auto(roots, topological_order(self.root_nodes))
        self.values = _known_values(self.kept)
        self.drawn = {id(n): f"n{i}" for i, n in enumerate(self.kept)}
        self.root_ids = {id(n) for n in self.root_nodes}
        self.root_of = {}
        for r in roots:
            self.root_of.setdefault(id(_node_of(r)), r)
        self.b = _Builder(ids=ids)
        self.used = set()       # colour keys in use (the legend shows NaN/Inf only when used)
        self.extra_ids = {}     # id(constant or saved value) -> DOT id (shared by several ops)
        self.cut_consumers = []  # drawn nodes with an input beyond max_nodes
        self.consumer_of = {}   # DOT name of a node -> the DOT name its inputs point to

    # ------------------------------------------------------------------ helpers
    def paint(self, attrs, key, bad):
        attrs["style"] = "filled" if "style" not in attrs else attrs["style"] + ",filled"
        attrs["fillcolor"] = COLORS["nonfinite"] if bad else COLORS[key]
        if bad:
            attrs.update(color=_RED, fontcolor=_RED, penwidth="2")
            self.used.add("nonfinite")
        self.used.add(key)
        return attrs

    def record_label(self, label, data, grad):
        fields = [_escape_record(label)] if label else []
        if data is not None:
            fields.append(f"data {float(data):.4f}")
        if grad is not None and self.show_grad:
            fields.append(f"grad {float(_array(grad)):.4f}")
        return "{ " + " | ".join(fields) + " }"

    def cluster_of_leaf(self, v):
        if self.group_by != "module":
            return None
        name = self.naming.explicit.get(id(v))
        if name and "." in name:
            return _module_path(name.rsplit(".", 1)[0])
        return None

    def cluster_of(self, ctx):
        return _module_path(ctx.module) if self.group_by == "module" else None

    # ------------------------------------------------------------------ nodes
    def draw(self):
        for node in self.kept:
            if type(node) is not Context:
                self.leaf(node)
            else:
                consumer = self.op(node)
                self.consumer_of[self.drawn[id(node)]] = consumer
                self.inputs(node, consumer)
                if self.show_saved:
                    self.saved(node, consumer)
        if self.total > len(self.kept):
            self.b.node("more", None, shape="box", style="dashed",
                        label=_lines(f"+{self.total - len(self.kept)} more nodes"))
            for consumer in self.cut_consumers:
                self.b.edge("more", consumer, style="dashed")

    def leaf(self, leaf):
        nid = self.drawn[id(leaf)]
        grad = leaf.grad if self.show_grad else None
        bad = self.show_grad and not (_finite(leaf._data) and _finite(grad))
        key = "output" if id(leaf) in self.root_ids else "input" if id(leaf) in self.naming.inputs \
            else "parameter" if id(leaf) in self.naming.params or _is_parameter(leaf) else "input"
        if self.scalar:
            attrs = dict(shape="record", label=self.record_label(self.names[id(leaf)],
                                                                 leaf._data, grad))
        else:
            lines = [self.naming.leaf_name(leaf), _meta_str(leaf._meta())]
            if grad is not None:
                lines.append(_grad_stats(grad))
            attrs = dict(shape="box", label=_lines(*lines))
        self.b.node(nid, self.cluster_of_leaf(leaf), **self.paint(attrs, key, bad))

    def op(self, ctx):
        """Draw an op node (and, for Scalars, its value record); return the DOT name its
        inputs' arrows point to."""
        nid = self.drawn[id(ctx)]
        root_var = self.root_of.get(id(ctx))
        grad = _recorded_grad(ctx) if self.show_grad else None
        if grad is None and self.show_grad and root_var is not None:
            grad = root_var.grad
        value = root_var._data if root_var is not None else self.values.get(id(ctx))
        bad = self.show_grad and not (_finite(value) and _finite(grad))
        attr_lines = _shown_attrs(ctx) if self.show_attrs else []
        if self.show_saved and ctx._released:
            attr_lines.append("saved tensors freed")
        if self.scalar:
            return self.scalar_op(ctx, nid, attr_lines, value, grad, bad)
        lines = [ctx.name, f"→ {self.names[id(ctx)]}: {_meta_str(ctx.output_meta)}"] + attr_lines
        if grad is not None:
            lines.append(_grad_stats(grad))
        self.b.node(nid, self.cluster_of(ctx),
                    **self.paint(dict(shape="box", label=_lines(*lines)), "op", bad))
        if root_var is not None:  # the output tensor itself, below its op
            label = _lines(self.naming.explicit.get(id(ctx)) or "output",
                           _meta_str(root_var._meta()),
                           _grad_stats(root_var.grad)
                           if self.show_grad and root_var.grad is not None else None)
            self.b.node(nid + "_out", None,
                        **self.paint(dict(shape="box", label=label), "output", bad))
            self.b.edge(nid, nid + "_out")
        return nid

    def scalar_op(self, ctx, nid, attr_lines, value, grad, bad):
        cluster = self.cluster_of(ctx)
        rec = _node_record(ctx)
        symbol = _SCALAR_SYMBOLS.get(ctx.name, ctx.name)
        if ctx.name == "PowScalar":
            symbol = f"**{_fmt_attr(ctx.attrs.get('exponent'))}"
            attr_lines = [l for l in attr_lines if not l.startswith("exponent=")]
        op_attrs = dict(shape="ellipse", label=_lines(symbol, *attr_lines))
        self.b.node(nid + "_op", cluster, **self.paint(op_attrs, "op", False))
        data = rec._data if rec is not None else value
        vkey = "output" if id(ctx) in self.root_ids else "value"
        vattrs = dict(shape="record", label=self.record_label(self.names[id(ctx)], data, grad))
        self.b.node(nid, cluster, **self.paint(vattrs, vkey, bad))
        self.b.edge(nid + "_op", nid)
        return nid + "_op"

    def inputs(self, ctx, consumer):
        """Arrows from the inputs: graph nodes (drawn or cut off) and constants."""
        nid = self.drawn[id(ctx)]
        cut = False
        constants = dict(_constant_inputs(ctx)) if not self.scalar else {}
        unfolded = getattr(ctx, "unfolded", None)  # conv: the input before im2col
        for i, nxt in enumerate(ctx.next_functions):
            if nxt is not None:
                if id(nxt) in self.drawn:
                    self.b.edge(self.drawn[id(nxt)], consumer)
                else:
                    cut = True
            elif unfolded is not None and unfolded[0] == i:
                self.unfold_input(ctx, nid, consumer, unfolded)
            elif ctx.input_meta[i] is not None:
                self.constant(ctx, i, nid, consumer, constants)
        if cut:
            self.cut_consumers.append(consumer)

    def constant(self, ctx, i, nid, consumer, constants):
        meta = ctx.input_meta[i]
        cid = f"{nid}_c{i}"
        if self.scalar:
            rec = _node_record(ctx)
            if rec is None:
                return
            self.b.node(cid, self.cluster_of(ctx), **self.paint(dict(
                shape="record", label=self.record_label("const", rec.inputs[i], None)),
                "input", not _finite(rec.inputs[i])))
            self.b.edge(cid, consumer)
            return
        if i not in constants:
            return
        const = constants[i]
        cname = self.naming.leaf_name(const) if const is not None else None
        if cname is None and meta[0] == ():
            return  # an anonymous 0-d constant (x * 2.0): not worth a node
        fresh = True
        if const is not None:
            fresh = id(const) not in self.extra_ids
            cid = self.extra_ids.setdefault(id(const), f"c{len(self.extra_ids)}")
        if fresh:
            bad = const is not None and self.show_grad and not _finite(const._data)
            self.b.node(cid, None, **self.paint(dict(shape="box", label=_lines(
                cname or "input", _meta_str(meta))), "input", bad))
        self.b.edge(cid, consumer)

    def unfold_input(self, ctx, nid, consumer, unfolded):
        """A convolution whose input needs no gradient: its im2col ran without a graph
        node, but the op recorded what it was (``ctx.unfolded``): draw the user's input
        feeding an ``Unfold`` box inside the conv's cluster, as when it needs a gradient."""
        _, name, meta, attrs = unfolded
        uid, xid = f"{nid}_unfold", f"{nid}_x"
        lines = ["Unfold", f"→ {meta_cols(ctx)}"]
        if self.show_attrs:
            lines += [f"{k}={_fmt_attr(v)}" for k, v in attrs.items()]
        lines.append("(no gradient: input is data)")
        self.b.node(uid, self.cluster_of(ctx), **self.paint(dict(
            shape="box", label=_lines(*lines)), "op", False))
        self.b.node(xid, None, **self.paint(dict(shape="box", label=_lines(
            name or "input", _meta_str(meta))), "input", False))
        self.b.edge(xid, uid)
        self.b.edge(uid, consumer)

    def saved(self, ctx, consumer):
        if ctx._saved is None or ctx._released:  # (a Scalar node keeps its floats: _release)
            if ctx._released:
                self.freed_saved(ctx, consumer)
            return
        for value_k, ref in ctx._saved_items():
            if value_k is None:  # not saved: backward will not need it
                continue
            fresh = id(value_k) not in self.extra_ids
            sid = self.extra_ids.setdefault(id(value_k), f"saved{len(self.extra_ids)}")
            if fresh:
                self.b.node(sid, self.cluster_of(ctx), **self.paint(dict(
                    shape="box", label=_lines("saved" + self._saved_role(ctx, ref, value_k),
                                              *_saved_desc(value_k)), fontsize="10"),
                    "saved", False))
            self.b.edge(sid, consumer, style="dashed", arrowhead="none")

    def freed_saved(self, ctx, consumer):
        """What backward used and freed, from the node's metadata: shape, dtype, bytes."""
        for k, ref in enumerate(ctx._refs()):
            meta = _freed_meta(ctx, ref)
            if meta is None:
                continue
            sid = f"freed{id(ctx)}_{k}"
            nbytes = int(np.prod(meta[0], dtype=np.int64)) * np.dtype(meta[1]).itemsize \
                if meta[1] != "float" else 8
            self.b.node(sid, self.cluster_of(ctx), **self.paint(dict(
                shape="box", style="dashed", label=_lines(
                    "saved (freed)", _meta_str(meta), _fmt_bytes(nbytes)), fontsize="10"),
                "saved", False))
            self.b.edge(sid, consumer, style="dashed", arrowhead="none")

    def _saved_role(self, ctx, ref, value):
        unfolded = getattr(ctx, "unfolded", None)
        if ref is _OUTPUT:  # name the saved value itself (s3, W, ...)
            role = self.names[id(ctx)]
        elif unfolded is not None and not getattr(ref, "requires_grad", False) and \
                np.shape(value) == tuple(ctx.input_meta[unfolded[0]][0]):
            role = f"unfold({unfolded[1] or 'input'})"  # a conv's window matrix
        elif isinstance(ref, Variable):
            role = self.names.get(id(ref.grad_fn)) if ref.grad_fn is not None else \
                (self.names.get(id(ref)) or self.naming.leaf_name(ref) or "input")
        else:
            role = None
        return f" ({role})" if role else ""

    # ------------------------------------------------------------------ graph
    def digraph(self, rankdir, legend):
        self.draw()
        Digraph = _digraph_class()
        graph = Digraph(name="ndgrad", graph_attr={"rankdir": rankdir},
                        node_attr={"fontname": "Helvetica", "fontsize": "11"})
        legend_rows = None
        if legend:
            labels = [("parameter", "parameter", {}), ("input", "input", {}),
                      ("output", "output", {}), ("op", "op (Function)", {})]
            if self.scalar:
                labels.append(("value", "intermediate value", {"shape": "record"}))
            if self.show_saved:
                labels.append(("saved", "saved tensor", {}))
            labels.append(("nonfinite", "NaN/Inf", {"color": _RED, "fontcolor": _RED}))
            legend_rows = [row for row in labels if row[0] in self.used or row[0] == "saved"]
        self.b.emit(graph, legend_rows, nest_under=self.root_module())
        return graph

    def root_module(self):
        """The top-level module whose forward called ops itself (``F.relu(self.conv1(x))``),
        when clustering by module: its children's clusters are nested inside it."""
        if self.group_by != "module":
            return None
        scopes = {n.module for n in self.kept if type(n) is Context and n.module}
        roots = {s for s in scopes if "." not in s} & _module_class_names()
        return next(iter(roots)) if len(roots) == 1 and len(scopes) > 1 else None


def meta_cols(ctx):
    """Shape of the unfolded matrix a conv's product read (its input 1)."""
    return _meta_str(ctx.input_meta[1]) if len(ctx.input_meta) > 1 else ""


def _freed_meta(ctx, ref):
    """(shape, dtype) of a freed saved value: an input's or the output's recorded meta."""
    if isinstance(ref, Variable):
        return ref._meta()
    if type(ref) is int and ref >= 0:
        return ctx.input_meta[ref]
    if ref == -1:  # the op's own output
        return ctx.output_meta
    return None  # a constant made inside forward: its shape was not recorded


def _saved_desc(value):
    if isinstance(value, np.ndarray):
        return [_meta_str((value.shape, value.dtype)), _fmt_bytes(value.nbytes)]
    return [_g(value) if isinstance(value, float) else type(value).__name__,
            _fmt_bytes(np.asarray(value).nbytes)]


def _check_draw_options(group_by, max_nodes):
    if group_by not in (None, "module"):
        raise ValueError(f"group_by must be None or 'module', got {group_by!r}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError("max_nodes must be at least 1 (or None for no limit)")


def draw_graph(root, params=None, show_saved=False, show_attrs=True, show_grad=True,
               group_by=None, max_nodes=200, rankdir="TB", legend=True, inputs=None):
    """The graph behind ``root`` (a Tensor or Scalar, or a list of them) as a
    ``graphviz.Digraph`` (displays inline in Jupyter; ``.render()``/``.pipe()`` need
    the graphviz binary, ``.source`` does not).

    params      ``dict(model.named_parameters())`` (or any name -> Tensor mapping) to
                name leaves (coloured as parameters); leaves' own ``name=`` is used
                otherwise. A non-leaf in it (``f=f``) names that intermediate value.
    inputs      name -> Tensor of data inputs: named like params, coloured as inputs.
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
    _check_draw_options(group_by, max_nodes)
    return _Drawer(roots, params, show_saved, show_attrs, show_grad, group_by,
                   max_nodes, inputs=inputs).digraph(rankdir, legend)


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
