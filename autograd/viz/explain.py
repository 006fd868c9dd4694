"""``explain_backward``: the backward pass replayed step by step, in the engine's order.

It runs the engine's own ``topological_order`` and un-broadcasting helper on a graph
that is still alive, without touching ``.grad`` or freeing anything, and lists each
step: which node, which op, the upstream gradient, the local rule (``rules.py``), the
gradients sent to the inputs, and whether a broadcast was summed away. For Scalars it
prints the lecture's "flat" listing (``grad_L = 1.0``, ``grad_s3 = grad_L · (1-L)·L =
...``) with the numbers. ``step_through`` builds its page from the same steps.
"""
from dataclasses import dataclass, field

from .. import grad_mode
from ..engine import _check_and_reduce, topological_order
from ..function import Context
from .graph import _node_of, _node_record, _recorded_grad, _roots_list
from .naming import _Naming
from .rules import _BROADCASTING, SCALAR_RULES, rule_for
from .text import _array, _fmt_attr, _g, _shape_str


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
    node_ref: object = field(default=None, repr=False, compare=False)  # the graph node

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
    ctx: object = field(default=None, repr=False, compare=False)  # the graph node


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
        numbers["y"] = _operand(rec._data)
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




class _Replay:
    """The backward pass of some roots, replayed node by node as the engine runs it.

    While the graph is alive the local backward of each node really runs (with recording
    off, nothing accumulated into ``.grad``); after backward freed it, only the recorded
    metadata (and, for Scalars, the numbers backward left) is available."""

    def __init__(self, roots, grad_output, params, inputs=None):
        self.roots = roots
        self.scalar = all(getattr(type(r), "_keeps_values", False) for r in roots)
        seeds = [r._initial_grad(g) for r, g in zip(roots, _grad_outputs(roots, grad_output))]
        self.root_nodes = [_node_of(r) for r in roots]
        self.order = topological_order(self.root_nodes)
        self.names = _Naming(roots, params, inputs).auto(roots, self.order)
        self.replayed = not any(type(n) is Context and n._released for n in self.order)
        self.consumers = {}
        for n in self.order:
            if type(n) is Context:
                for nxt in n.next_functions:
                    if nxt is not None:
                        self.consumers[id(nxt)] = self.consumers.get(id(nxt), 0) + 1
        self.pending = {}
        for node, g in zip(self.root_nodes, seeds):
            prev = self.pending.get(id(node))
            self.pending[id(node)] = g if prev is None else prev + g
        self.received = set()
        self.steps, self.final, self.root_lines = [], {}, []
        if self.scalar:
            for node in dict.fromkeys(self.root_nodes):
                self.root_lines.append(
                    f"grad_{self.names[id(node)]} = {_g(self.pending[id(node)]._data)}")

    def run(self):
        with grad_mode.no_grad():
            for node in self.order:
                if self.replayed:
                    g = self.pending.pop(id(node), None)
                    if g is None:
                        continue
                else:
                    g = None
                if type(node) is not Context:
                    self.final[self.names[id(node)]] = g if self.replayed else node.grad
                else:
                    self.steps.append(self._step(node, g))
        return BackwardExplanation(self.steps, self.final, self.scalar, self.replayed,
                                   self.root_lines)

    def _step(self, node, g):
        known = g if self.replayed else _recorded_grad(node)
        self.final[self.names[id(node)]] = known
        g_number = float(known._data) if self.scalar and known is not None else None
        step = BackwardStep(index=len(self.steps) + 1, node=self.names[id(node)], op=node.name,
                            upstream_shape=node.output_meta[0], rule=rule_for(node),
                            module=node.module, upstream=g, upstream_value=g_number, ctx=node)
        in_grads = _local_backward(node, g) if self.replayed else None
        for i, nxt in enumerate(node.next_functions):
            if nxt is None or (in_grads is not None and in_grads[i] is None):
                continue
            step.inputs.append(self._input(node, i, nxt, in_grads, g_number))
        return step

    def _input(self, node, i, nxt, in_grads, g_number):
        shape, dtype = node.input_meta[i]
        broadcast_from, ig = None, None
        if self.replayed:
            ig = in_grads[i]
            if ig.shape != shape:
                broadcast_from = tuple(ig.shape)
            if ig.shape != shape or ig.dtype != dtype:
                ig = _check_and_reduce(node, i, ig)
            prev = self.pending.get(id(nxt))
            self.pending[id(nxt)] = ig if prev is None else ig._make(prev._data + ig._data, None)
        else:
            broadcast_from = _freed_broadcast(node, shape)
        accumulated = id(nxt) in self.received
        self.received.add(id(nxt))
        inp = InputGradient(name=self.names[id(nxt)], shape=tuple(shape),
                            broadcast_from=broadcast_from, grad=ig, accumulated=accumulated,
                            shared=self.consumers.get(id(nxt), 0) > 1, node_ref=nxt)
        if self.scalar:
            self._scalar_input(node, i, nxt, inp, ig, g_number)
        return inp

    def _scalar_input(self, node, i, nxt, inp, ig, g_number):
        rec = _node_record(node)
        sym, num = _scalar_formula(node, i, self.names, rec, g_number, node.attrs or {})
        inp.formula = f"grad_{inp.name} {'+=' if inp.accumulated else '='} {sym}"
        inp.numbers = num
        if self.replayed:
            inp.value = float(ig._data)
        else:
            total = nxt.grad if type(nxt) is not Context else _recorded_grad(nxt)
            inp.value = None if total is None else float(_array(total))


def _grad_outputs(roots, grad_output):
    if len(roots) == 1:
        return [grad_output]
    if grad_output is None:
        return [None] * len(roots)
    grad_outputs = list(grad_output)
    if len(grad_outputs) != len(roots):
        raise ValueError("explain_backward: give one grad_output per root")
    return grad_outputs


def _local_backward(node, g):
    """The node's own backward on upstream ``g``: one gradient (or None) per input."""
    in_grads = node.fn.backward(node, g)
    if not isinstance(in_grads, tuple):
        in_grads = (in_grads,)
    if len(in_grads) != len(node.next_functions):
        raise RuntimeError(
            f"{node.name}.backward returned {len(in_grads)} gradients, but forward "
            f"had {len(node.next_functions)} inputs")
    return in_grads


def _freed_broadcast(node, shape):
    """The shape a broadcast was summed from, guessed from the metadata (graph freed)."""
    out_shape = node.output_meta[0]
    if node.name in _BROADCASTING and tuple(shape) != tuple(out_shape):
        return tuple(out_shape)
    if node.name == "MatMul" and len(shape) >= 2 and \
            tuple(out_shape[:-2]) + tuple(shape[-2:]) != tuple(shape):
        return tuple(out_shape[:-2]) + tuple(shape[-2:])
    return None


def explain_backward(root, grad_output=None, params=None, print_table=True, inputs=None):
    """The backward pass of ``root``, step by step in the order the engine runs it.

    Each step is one node: its name, op, the upstream gradient's shape, the local
    rule (e.g. ``dL/da = dL/dy @ bᵀ``), the gradients sent to its inputs and whether
    the engine summed a broadcast away. For Scalar graphs it gives the lecture's
    flat listing with the numbers (``grad_L = 1.0``, ``grad_s3 = grad_L · (1-L)·L
    = 0.1966``, ...).

    While the graph is alive (before backward, or after ``backward(retain_graph=True)``)
    the steps are replayed for real: nothing is accumulated into ``.grad``, nothing is
    freed, hooks are not run. After backward freed the graph, the shapes come from the
    recorded metadata (and, for Scalars, the numbers from what backward left).

    ``grad_output`` is dL/d(root) (needed when root has more than one element), ``params``
    and ``inputs`` name values as in ``draw_graph``. Prints the table unless ``print_table=False``;
    returns a ``BackwardExplanation`` (a list of ``BackwardStep``).
    """
    result = _Replay(_roots_list(root), grad_output, params, inputs).run()
    if print_table:
        print(result)
    return result
