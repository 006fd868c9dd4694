"""Seeing the graph: drawing it, explaining its backward pass, stepping through it.

Everything here only *reads* what the forward pass recorded on the graph nodes
(``Context`` objects, see ``function.py``): the op name, its non-tensor attributes,
input/output shapes and dtypes (kept after backward frees the saved tensors), the
edges to the inputs, the producing module, and, while the graph is alive, the
saved tensors. Scalar graphs also keep each node's value and gradient, so they are
drawn in the lecture's record style ``{ w0 | data 2.0000 | grad -0.1966 }``.

Files, by what they do:

  graph.py         reading the recorded graph (reachable nodes, values, constants)
  naming.py        names of values (params, ``.name``, automatic s0, s1, ..., L)
  text.py          labels: shapes, numbers, attributes, escaping
  style.py         colours; the graphviz Digraph that explains a missing binary
  dot.py           ``draw_graph`` / ``to_dot`` / ``render``
  rules.py         each op's backward rule (``Function.backward_rule``)
  explain.py       ``explain_backward``: backward replayed step by step
  page.py          ``step_through``: a self-contained HTML page that steps through it
  static/          the page's HTML template, script and style sheet

Traversals are iterative (a 100,000-deep chain is fine) and ``max_nodes`` bounds
what is drawn: the rest is summarized by one "+N more nodes" node.
"""
from .dot import draw_graph, render, to_dot
from .page import StepThrough, step_through
from .explain import BackwardExplanation, BackwardStep, InputGradient, explain_backward
from .rules import RULES, SCALAR_RULES, rule_for
from .style import COLORS, GraphvizNotFoundError

__all__ = ["draw_graph", "to_dot", "render", "explain_backward", "step_through",
           "GraphvizNotFoundError", "BackwardStep", "InputGradient", "BackwardExplanation",
           "COLORS", "RULES", "SCALAR_RULES", "rule_for", "StepThrough"]
