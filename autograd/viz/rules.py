"""The local (backward) rule of each op, as text.

Every built-in ``Function`` states its rule in a class attribute, next to its forward
and backward::

    class Mul(Function):
        backward_rule = "dL/da = dL/dy · b,  dL/db = dL/dy · a"

Notation: ``y`` is the op's output and ``dL/dy`` the upstream gradient; inputs are
named as forward's arguments; ``·`` is an elementwise product, ``@`` a matrix product,
``ᵀ`` a transpose, ``Σ`` a sum, ``[cond]`` is 1 where cond holds, ``+=`` a scatter-add.
``tests/test_backward_rules.py`` fails for a Function of ndgrad without one. A
user-defined Function without ``backward_rule`` falls back to its docstring's first line.
"""
from collections.abc import Mapping

from ..function import Function


def function_classes(base=Function):
    """Every subclass of ``base`` defined so far (recursively), in definition order."""
    found, stack = [], list(reversed(base.__subclasses__()))
    seen = set()
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        found.append(cls)
        stack.extend(reversed(cls.__subclasses__()))
    return found


def own_rule(cls):
    """``cls``'s own ``backward_rule`` (not inherited), or None."""
    rule = cls.__dict__.get("backward_rule")
    return rule if isinstance(rule, str) and rule.strip() else None


class _Rules(Mapping):
    """op name -> backward rule of every Function class defined so far (a live view)."""

    def _table(self):
        return {cls.__name__: own_rule(cls) for cls in function_classes() if own_rule(cls)}

    def __getitem__(self, name):
        return self._table()[name]

    def __iter__(self):
        return iter(self._table())

    def __len__(self):
        return len(self._table())


RULES = _Rules()


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
    """The local rule of ``ctx``'s op as text: the Function's ``backward_rule``, else the
    first line of its docstring, else ``<Op>.backward``."""
    rule = own_rule(ctx.fn)
    if rule is None:
        doc = (ctx.fn.__doc__ or "").strip()
        rule = doc.splitlines()[0].strip() if doc else f"{ctx.name}.backward"
    return rule


def markdown_table():
    """The README's table of backward rules: one row per Function of autograd and nn."""
    import importlib
    import pkgutil
    for package in ("autograd", "nn"):
        pkg = importlib.import_module(package)
        for info in pkgutil.walk_packages(pkg.__path__, package + "."):
            importlib.import_module(info.name)
    rows = ["| op | defined in | backward rule |", "|---|---|---|"]
    for cls in function_classes():
        if cls.__module__.split(".")[0] in ("autograd", "nn") and own_rule(cls):
            rule = own_rule(cls).replace("|", "\\|")
            rows.append(f"| `{cls.__name__}` | `{cls.__module__}` | `{rule}` |")
    return "\n".join(rows)


_START, _END = "<!-- backward-rules:start -->", "<!-- backward-rules:end -->"


def update_readme(path):
    """Replace the table between the README's backward-rules markers with a fresh one."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, sep, rest = text.partition(_START)
    _, sep2, tail = rest.partition(_END)
    if not (sep and sep2):
        raise ValueError(f"{path}: no {_START} ... {_END} markers")
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + _START + "\n" + markdown_table() + "\n" + _END + tail)


if __name__ == "__main__":  # python -m autograd.viz.rules [--update-readme README.md]
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--update-readme":
        update_readme(sys.argv[2])
    else:
        print(markdown_table())
