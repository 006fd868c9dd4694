"""Reading the recorded graph: roots, the nodes reachable from them (bounded by
``max_nodes``), and what each node still knows (a Scalar's value record, a retained
gradient, saved values, constant inputs). Nothing here changes the graph."""
from collections import deque

from ..function import _OUTPUT, Context, _ValueRecord
from ..variable import Variable

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


def _node_record(ctx):
    """A Scalar node's value record (value, raw inputs, gradient), or None."""
    return _ValueRecord.of(ctx)


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
            values[id(ctx)] = rec._data
        if ctx._retain is not None and rec is None:
            t = ctx._retain()
            if t is not None:
                values[id(ctx)] = t._data
        if ctx._saved is not None and not ctx._released:
            for value, ref in ctx._saved_items():
                if ref is _OUTPUT:
                    values[id(ctx)] = value
                elif isinstance(ref, Variable) and ref.grad_fn is not None:
                    values.setdefault(id(ref.grad_fn), ref._data)
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


