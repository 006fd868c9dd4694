"""The backward pass: topological order + chain rule, shared by Tensor and Scalar.

Graph nodes are ``Context`` objects (non-leaf results) and leaf tensors. Each
Context lists, per input, the node the gradient flows to (``next_functions``).
Backward

1. visits the nodes that gradient reaches, newest first: every op is created after
   the ops that made its inputs, so when the newest waiting node comes up, all the
   nodes that use its output are done and its gradient is complete. Nodes are
   numbered as they are created (``Context._seq``) and a heap hands out the newest
   waiting one: no separate topological sort, no recursion (a 100,000-deep chain is
   fine), and deterministic. (The op reached last is usually that one, so it waits
   outside the heap and is taken directly when it is still the newest);
2. calls each node's ``backward(ctx, grad)``, un-broadcasts (sums) each returned
   gradient to its input's shape in one place, and adds it into the gradient of the
   next node;
3. accumulates into ``.grad`` of leaves (``backward``), after all the ops, or returns
   the gradients of chosen inputs (``grad``).

Without ``create_graph`` the gradients travel as raw data (arrays, floats) and the
formulas of ops that allow it (``Function.raw_backward``) run on them directly; the
others, hooks and ``.grad`` see Tensors (Scalars). With ``create_graph`` everything
runs on Tensors, recorded, for higher derivatives.
"""
import gc
import os
from heapq import heappop, heappush, heapreplace

import numpy as np

from . import grad_mode
from .function import _FLOAT_META, Context  # _FLOAT_META: what a raw Python number is
_NUMBERS = (float, int)


def tune_gc(threshold=None):
    """Raise CPython's young-generation GC threshold (700 allocations by default).

    ndgrad's graphs contain no reference cycles (a node never points back at its
    output), so the cyclic collector never frees any of them; but every few hundred
    allocations it rescans the growing graph, which costs up to half the time of a
    large define-by-run graph. Done once at import unless the environment variable
    ``NDGRAD_GC_THRESHOLD`` says otherwise (``0`` keeps Python's setting); only a
    threshold still at Python's default is changed.
    """
    if threshold is None:
        threshold = int(os.environ.get("NDGRAD_GC_THRESHOLD", "10000"))
    gen0, gen1, gen2 = gc.get_threshold()
    if threshold > 0 and gen0 == 700:
        gc.set_threshold(threshold, gen1, gen2)


def topological_order(root_nodes):
    """Nodes reachable from ``root_nodes``, every consumer before its inputs, in the order
    backward visits them: the ops from the newest to the oldest (``Context._seq``: an op is
    always created after the ops that made its inputs), then the leaves, in the order
    backward reaches them. For drawings and ``explain_backward``; backward itself keeps
    the ops it has reached in a heap (see ``run_backward``).
    """
    seen = set()
    stack = [r for r in root_nodes if r is not None]
    while stack:  # every reachable node (an explicit stack: no recursion limit)
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            if type(node) is Context:
                stack.extend(n for n in node.next_functions if n is not None)
    ops = sorted((n for n in seen if type(n) is Context), key=_seq_of)
    leaves = [r for r in root_nodes if r is not None and type(r) is not Context]
    leaves.extend(n for op in ops for n in op.next_functions
                  if n is not None and type(n) is not Context)
    return ops + list(dict.fromkeys(leaves))


def _seq_of(node):
    return node._seq


def _check_and_reduce(node, i, g):
    """Bring gradient ``g`` of input ``i`` of ``node`` to the input's shape and dtype."""
    shape, dtype = node.input_meta[i]
    if g.shape != shape:
        try:
            g = g.sum_to_shape(shape)
        except ValueError:
            raise RuntimeError(
                f"{node.name}.backward returned a gradient of shape {g.shape} for input {i}, "
                f"which has shape {shape}") from None
    if dtype is not None and g.dtype != dtype:
        g = g.to(dtype)
    return g


def _checked_raw(node, i, g, meta):
    """``_check_and_reduce`` for a raw gradient (an array, or a number)."""
    got = _FLOAT_META if type(g) in _NUMBERS else (g.shape, g.dtype)
    if got is meta or got == meta:
        return g
    return _check_and_reduce(node, i, node._output_type._make(g, None))._data


def _check_finite(node, i, g):
    # NaN only, as in torch: inf is a legitimate gradient (sqrt'(0), log'(0)). g is raw.
    if np.isnan(g).any():
        where = "".join(node.trace) if node.trace else "  (no creation trace recorded)\n"
        raise RuntimeError(
            f"Function '{node.name}Backward' returned nan values in its gradient for "
            f"input {i}. The op was created at:\n{where}")


def _run_hook(hook, g):
    """``hook(g)``; a returned value replaces ``g`` but must be a Tensor (Scalar) of the same
    shape and dtype, as in torch (a different shape would be broadcast or summed silently)."""
    new = hook(g)
    if new is None:
        return g
    name = getattr(hook, "__name__", type(hook).__name__)
    if not isinstance(new, type(g)._result_type or type(g)):
        raise TypeError(f"expected Variable, but hook returned '{type(new).__module__}."
                        f"{type(new).__qualname__}' (hook '{name}' must return a "
                        f"{type(g).__name__} or None)".replace("builtins.", ""))
    if new._meta() != g._meta():
        (shape, dtype), (new_shape, new_dtype) = g._meta(), new._meta()
        what = "size" if new_shape != shape else "type"
        raise RuntimeError(f"hook '{name}' has changed the {what} of value (was shape {shape} "
                           f"dtype {dtype}, got shape {new_shape} dtype {new_dtype})")
    return new


def _own(g, handed_out):
    """``g`` detached, as a writeable array of its own, so that ``.grad`` can be changed in
    place (``grad.zero_()``, clipping) without touching another tensor's gradient or the
    caller's upstream gradient: ops pass gradients through unchanged (Add gives both inputs
    the same one) and broadcast them as read-only views (the backward of sum)."""
    data = g._data
    if type(data) is not np.ndarray:  # Scalar: floats are immutable, sharing is safe
        return g if g.grad_fn is None else g.detach()
    if id(data) in handed_out or not (data.flags.owndata and data.flags.writeable):
        data = np.array(data)
    handed_out.add(id(data))
    return g._make(data, None)



def _arrive_at_leaf(leaf, g, wanted, accumulate, create_graph, handed_out):
    """A leaf's gradient is complete: run its hooks, then capture it (``autograd.grad``)
    or add it into ``.grad``."""
    for hook in leaf._hooks or ():
        g = _run_hook(hook, g)
    if wanted is not None:
        if leaf in wanted:
            wanted[leaf] = g
    elif accumulate:
        if not create_graph:
            g = _own(g, handed_out)
        leaf.grad = g if leaf.grad is None else leaf.grad + g


def _arrive_at_node(node, g, wanted, create_graph, handed_out, raw):
    """The less common work before a node's backward: its hooks, ``retain_grad``, and
    capturing it for ``autograd.grad``. They see a Tensor (Scalar) even when the engine
    carries raw data (``raw``), which is then what comes back."""
    if raw:
        g = node._output_type._make(g, None)
    if node._hooks:
        for hook in node._hooks:
            g = _run_hook(hook, g)
    if node._retain is not None:
        t = node._retain()
        if t is not None:
            gg = g if create_graph else _own(g, handed_out)
            t.grad = gg if t.grad is None else t.grad + gg
    if wanted is not None and node in wanted:
        wanted[node] = g
    return g._data if raw else g


def _unwrapped(in_grads):
    """A Tensor-level backward's result as raw data (for the raw replay)."""
    if type(in_grads) is not tuple:
        in_grads = (in_grads,)
    return tuple(None if g is None else g._data for g in in_grads)


def _count_error(node, in_grads):
    n, k = len(in_grads), len(node.next_functions)
    return RuntimeError(
        f"function {node.name}.backward returned an incorrect number of gradients: "
        f"{node.name}.backward returned {n} gradient{'s' * (n != 1)}, but forward "
        f"had {k} input{'s' * (k != 1)} (expected {k}, got {n})")


def run_backward(roots, root_grads, retain_graph=False, create_graph=False,
                 inputs=None, allow_unused=False, accumulate=True):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``accumulate`` (``Tensor.backward``) gradients are added to leaves' ``.grad``;
    otherwise (``autograd.grad``) the gradients of ``inputs`` are returned.
    """
    # Without create_graph the formulas of ops that allow it (Function.raw_backward) run on
    # the raw data (arrays, floats): no Tensor or Scalar is built for a gradient that
    # is thrown away a moment later. With create_graph they run on Tensors, recorded.
    raw = not create_graph
    grads = {}  # node -> gradient of that node's output so far (raw data if raw)
    # The ops whose gradient has begun to arrive: their _seq numbers in a heap (ints
    # compare ~3x faster than (seq, node) tuples; Scalar backward ~5% faster), the ops
    # themselves found by number.
    heap, ops = [], {}
    leaves = []  # leaves whose gradient has begun to arrive, in that order
    for r, g in zip(roots, root_grads):
        node = _node_of(r)
        if raw:
            g = g._data
        if node in grads:
            grads[node] = grads[node] + g
        else:
            grads[node] = g
            _wait(node, heap, ops, leaves)
    # autograd.grad: capture the gradient arriving at each requested input's node.
    wanted = None if inputs is None else dict.fromkeys(_node_of(t) for t in inputs)
    # ids of arrays already visible to the user (root gradients, .grad of earlier nodes
    # in this pass): a .grad must not share memory with them (see _own).
    handed_out = {id(g._data) for g in root_grads}

    prev_mode, prev_raw = grad_mode._enabled, grad_mode._raw_backward
    grad_mode._enabled, grad_mode._raw_backward = create_graph, raw
    anomaly = grad_mode._anomaly
    capture = wanted is not None
    # The op whose gradient began to arrive last is held out of the heap: it is usually the
    # next one (in a chain, always), taken then without a trip through heap and dict.
    held = None
    formulas = {}  # Function class -> its backward (or _WRAP), looked up once per pass
    # Backward creates no reference cycles, so the cyclic collector has nothing to
    # find; pausing it avoids repeated scans of the (large) live graph.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while True:  # take the newest op waiting: its gradient is complete
            if held is not None:  # the op reached last: usually the newest waiting
                node, held = held, None
                if heap and heap[0] < node._seq:  # not this time: an op made later waits
                    ops[node._seq] = node
                    node = ops.pop(heapreplace(heap, node._seq))
            elif heap:
                node = ops.pop(heappop(heap))
            else:
                break
            g = grads.pop(node)
            if node._hooks is not None or node._retain is not None or capture:
                g = _arrive_at_node(node, g, wanted, create_graph, handed_out, raw)
            if node._value_inputs is not None:  # a Scalar graph keeps each node's gradient
                value = g if raw else g._data
                prev = node._value_grad
                node._value_grad = value if prev is None else prev + value

            formula = formulas.get(node.fn)  # (a dict: reading it from the class costs more)
            if formula is None:
                formula = formulas[node.fn] = _formula(node.fn, raw)
            if formula is _WRAP:  # a formula written for Tensors, on raw data: wrap, unwrap
                grad_mode._raw_backward = False  # (so its ctx.saved_tensors gives Tensors)
                in_grads = _unwrapped(node.fn.backward(node, node._output_type._make(g, None)))
                grad_mode._raw_backward = True
            else:
                in_grads = formula(node, g)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
            nexts, metas = node.next_functions, node.input_meta
            if len(in_grads) != len(nexts):
                raise _count_error(node, in_grads)
            # (by index, not zip(nexts, in_grads, metas): 2.5x faster for 1-2 inputs)
            i = -1
            for nxt in nexts:
                i += 1
                ig = in_grads[i]
                if nxt is None or ig is None:
                    continue
                meta = metas[i]
                if raw:  # (a float's meta is the very object: no tuple comparison)
                    if type(ig) is not float or meta is not _FLOAT_META:
                        ig = _checked_raw(node, i, ig, meta)
                elif ig._meta() != meta:
                    ig = _check_and_reduce(node, i, ig)
                if anomaly:
                    _check_finite(node, i, ig if raw else ig._data)
                prev = grads.get(nxt)
                if prev is None:  # its first gradient: queue it (_wait, inline: hot path)
                    grads[nxt] = ig
                    if type(nxt) is Context:
                        if held is not None:
                            ops[held._seq] = held
                            heappush(heap, held._seq)
                        held = nxt
                    else:
                        leaves.append(nxt)
                else:  # raw: plain addition; create_graph: recorded, for higher derivatives
                    grads[nxt] = prev + ig
            if not retain_graph:  # free what it saved (a Scalar node: only marked, see _release)
                if node._saved is None or node._value_inputs is not None:
                    node._released = True
                else:
                    node._release()
        for leaf in leaves:  # every op is done: the leaves' gradients are complete
            g = grads.pop(leaf)
            if raw:
                g = leaf._result_type._make(g, None)
            _arrive_at_leaf(leaf, g, wanted, accumulate, create_graph, handed_out)
    finally:
        grad_mode._enabled, grad_mode._raw_backward = prev_mode, prev_raw
        if gc_was_enabled:
            gc.enable()

    return None if wanted is None else _requested(inputs, wanted, allow_unused, create_graph)


_WRAP = object()


def _formula(fn, raw):
    """What backward calls for a node of ``fn``: its ``backward``, or _WRAP when the engine
    carries raw data and that formula is written for Tensors."""
    return _WRAP if raw and not fn.raw_backward else fn.backward


def _node_of(t):
    return t.grad_fn if t.grad_fn is not None else t


def _wait(node, heap, ops, leaves):
    """``node``'s gradient has begun to arrive: queue it (an op by creation, a leaf last)."""
    if type(node) is Context:
        ops[node._seq] = node
        heappush(heap, node._seq)
    else:
        leaves.append(node)


def _requested(inputs, wanted, allow_unused, create_graph):
    """``autograd.grad``'s answer: the gradient captured for each input, in order."""
    result = []
    for t in inputs:
        g = wanted[_node_of(t)]
        if g is None and not allow_unused:
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the "
                "graph. Set allow_unused=True if this is the desired behavior.")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs`` (without touching ``.grad``).

    Like ``torch.autograd.grad``: returns a tuple with one gradient per input.
    """
    from .variable import Variable
    single_out = isinstance(outputs, Variable)
    outputs = [outputs] if single_out else list(outputs)
    single_in = isinstance(inputs, Variable)
    inputs = [inputs] if single_in else list(inputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Variable) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) < len(outputs):  # zip would silently drop outputs (torch raises)
        raise RuntimeError(f"grad: got {len(outputs)} tensors and {len(grad_outputs)} "
                           f"gradients (grad_outputs needs one gradient per output)")
    root_grads = [o._initial_grad(g) for o, g in zip(outputs, grad_outputs)]
    for o in outputs:
        if not o.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(outputs, root_grads, retain_graph, create_graph,
                        inputs=inputs, allow_unused=allow_unused, accumulate=False)
