"""Colours of the drawings and the graphviz wrapper (a ``Digraph`` that explains how to
install the ``dot`` binary when it is missing)."""
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

