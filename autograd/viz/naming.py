"""Names of values in drawings and explanations: from ``params``, ``.name``, and
automatic ``s0, s1, ...`` for intermediates in forward order, ``L`` for the output."""
from ..function import Context
from ..variable import Variable
from .graph import _node_of


class _Naming:
    """Names of values: from ``params``, ``.name``, and (Scalar graphs, explain) automatic
    ``s0, s1, ...`` for intermediates in forward order, ``L`` for the output."""

    def __init__(self, roots, params, inputs=None):
        self.explicit = {}  # id(node) -> name
        self.params = set()  # ids of leaves passed in params (parameters: weights)
        self.inputs = set()  # ids of leaves passed in inputs (data)
        for group, ids in ((params, self.params), (inputs, self.inputs)):
            for name, v in (group or {}).items():
                if isinstance(v, Variable):
                    self.explicit[id(_node_of(v))] = str(name)
                    if v.grad_fn is None:
                        ids.add(id(v))
                        # constants saved by a node come back as new Tensors on the same data
                        self.explicit.setdefault(id(v._data), str(name))
        for r in roots:
            if r.name and id(_node_of(r)) not in self.explicit:
                self.explicit[id(_node_of(r))] = r.name

    def leaf_name(self, leaf):
        return self.explicit.get(id(leaf)) or leaf.name or (
            self.explicit.get(id(leaf._data)) if not isinstance(leaf._data, float) else None)

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

