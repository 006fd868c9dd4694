"""Every Function of ndgrad states its backward rule (``backward_rule``), in one notation,
and the same rules are what explain_backward, the step-through viewer and the README show.

A new op without ``backward_rule`` makes ``test_every_function_has_a_backward_rule`` fail:
see autograd/viz/rules.py for the notation."""
import importlib
import pathlib
import pkgutil
import re

import numpy as np
import pytest

import autograd
import nn
from autograd import Function, Tensor
from autograd.viz.rules import RULES, function_classes, own_rule, rule_for

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _import_all():
    for package in (autograd, nn):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)


def ndgrad_functions():
    _import_all()
    return [c for c in function_classes()
            if c.__module__.split(".")[0] in ("autograd", "nn")]


def test_the_walk_finds_the_known_ops():
    names = {c.__name__ for c in ndgrad_functions()}
    assert {"Add", "MatMul", "Unfold", "Fold", "MaxPool2d", "MaxPoolScatter", "Linear",
            "CrossEntropy", "MatMulAdd", "AvgPool2d", "Minimum", "AMin"} <= names


def test_every_function_has_a_backward_rule():
    missing = [f"{c.__module__}.{c.__name__}" for c in ndgrad_functions() if own_rule(c) is None]
    assert not missing, (
        "these Functions have no backward_rule class attribute of their own (see "
        f"autograd/viz/rules.py and /work/notes/backward_rule.md): {missing}")


RULE_PART = re.compile(r"^dL/d\w+(\[[^\]]*\])? (=|\+=) \S")


def test_rules_use_the_notation():
    for c in ndgrad_functions():
        rule = own_rule(c)
        if rule is None:
            continue  # reported by test_every_function_has_a_backward_rule
        assert "\n" not in rule and rule == rule.strip(), c.__name__
        parts = rule.split(",  ")
        for part in parts:
            assert RULE_PART.match(part), f"{c.__name__}: {part!r} is not 'dL/d<input> = ...'"


def test_subclass_does_not_inherit_a_rule():
    class Plain(Function):
        @staticmethod
        def forward(ctx, x):
            return x

    class Child(autograd.ops.elementwise.Maximum):
        pass

    assert own_rule(Plain) is None and own_rule(Child) is None
    assert "Plain" not in RULES and RULES["Maximum"].startswith("dL/da")


def test_explain_backward_shows_the_rule_of_nn_ops():
    import nn.functional as F
    x = Tensor(np.random.randn(4, 3).astype(np.float32), requires_grad=True)
    w = Tensor(np.random.randn(5, 3).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(F.linear(x, w), Tensor(np.array([0, 1, 2, 3])))
    steps = autograd.explain_backward(loss, print_table=False)
    rules = {s.op: s.rule for s in steps}
    assert rules["CrossEntropy"] == own_rule(F.CrossEntropy)
    assert rules["Linear"] == "dL/dx = dL/dy @ W,  dL/dW = dL/dyᵀ @ x,  dL/db = Σₙ dL/dy"
    assert rule_for(loss.grad_fn) == rules["CrossEntropy"]


def test_readme_op_table_lists_every_rule():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    absent = [f"{c.__name__}: {own_rule(c)}" for c in ndgrad_functions()
              if own_rule(c) and f"`{own_rule(c).replace('|', chr(92) + '|')}`" not in readme]
    assert not absent, ("README's backward-rule table misses (regenerate it with "
                        f"`python -m autograd.viz.rules --update-readme README.md`): {absent}")
