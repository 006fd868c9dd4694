"""Scalar: one Python float per graph node, micrograd-style.

It exists to make the lecture's flat backprop examples visible node by node, and
it runs on exactly the same Function / Context / engine code as Tensor: the
ops in ``autograd.ops`` work on floats as well as on arrays. ``.grad`` is a Scalar.

    >>> w0, x0, w1, x1, w2 = map(Scalar, (2.0, -1.0, -3.0, -2.0, -3.0))
    >>> f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    >>> f.backward(); round(w0.grad.data, 2)
    -0.2
"""
import numbers
import operator

from . import grad_mode
from . import ops as O
from .function import _FLOAT_META, apply_to_scalar_pair
from .variable import Variable

_SCALAR_META = _FLOAT_META  # ((), "float"), the same object as the nodes record
_GRAD_SLOT = Variable.grad  # the slot that Scalar.grad (a property) stores into


class Scalar(Variable):
    """A single float that records the ops applied to it."""

    __slots__ = ()
    __hash__ = Variable.__hash__

    def __init__(self, data, requires_grad=True, name=None):
        self._data = float(data)
        self.grad = None
        self.grad_fn = None
        self._requires_grad = bool(requires_grad)
        if name is not None:
            self.name = name

    @classmethod
    def _make(cls, data, grad_fn):
        s = _new(cls)  # .grad stays unset (reads as None): one store fewer per node
        s._data, s.grad_fn, s._requires_grad = \
            data if type(data) is float else float(data), grad_fn, False
        return s

    @property
    def data(self):
        """The number (a Python float), as in micrograd: ``p.data -= lr * p.grad``."""
        return self._data

    @data.setter
    def data(self, value):
        self._data = float(value)

    shape = ()
    ndim = 0
    dtype = "float"

    def _meta(self):
        return _SCALAR_META

    def _numel(self):
        return 1

    def _ones_like(self):
        return Scalar._make(1.0, None)

    def _coerce(self, value):
        if not isinstance(value, numbers.Real):
            raise TypeError(f"Scalar: cannot combine with {type(value).__name__}")
        return float(value)

    def _wrap(self, other):
        if isinstance(other, Scalar):
            return other
        if isinstance(other, Variable):
            raise TypeError("Scalar: cannot combine a Scalar with a Tensor")
        return Scalar._make(self._coerce(other), None)

    def sum_to_shape(self, shape):
        return self

    def to(self, dtype):
        return self

    def item(self):
        return self._data

    def __float__(self):
        return self._data

    def __bool__(self):
        return self._data != 0.0

    def __round__(self, ndigits=None):
        return round(self._data, ndigits)

    def __repr__(self):
        grad = "None" if self.grad is None else f"{float(self.grad._data):.4f}"
        label = f"{self.name}: " if self.name else ""
        return f"Scalar({label}data={self._data:.4f}, grad={grad})"

    # Arithmetic (+ - * / **, exp, tanh, ...) is inherited from Variable: the same
    # Function classes as Tensor. When nothing is recorded (inside backward, under
    # no_grad) + - * / and negation are plain float arithmetic, the result the op's
    # forward would give, without a trip through Function.apply: backward formulas are
    # mostly products of numbers, and this halves the time of a Scalar backward.
    # (+ - * / and their reflected forms are set below the class by _operator.)
    def __neg__(self):
        if grad_mode._enabled:
            return Variable.__neg__(self)
        return Scalar._make(-self._data, None)

    # Comparisons compare values and give plain bools, as micrograd's code expects
    # (``Scalar(2.0) == 2.0``). Hashing stays by identity: graph nodes are dict keys.
    def __eq__(self, other): return self._data == _number(other)
    def __ne__(self, other): return self._data != _number(other)
    def __gt__(self, other): return self._data > _number(other)
    def __ge__(self, other): return self._data >= _number(other)
    def __lt__(self, other): return self._data < _number(other)
    def __le__(self, other): return self._data <= _number(other)

    # ``.grad`` is a number (a ScalarGrad, which is a float) after an ordinary backward,
    # so micrograd-style updates (``p.data -= lr * p.grad``) stay plain arithmetic; after
    # ``create_graph=True`` it is a Scalar in the graph, for higher derivatives.
    @property
    def grad(self):
        try:
            return _GRAD_SLOT.__get__(self, Scalar)
        except AttributeError:  # never assigned (op results: see _make)
            return None

    @grad.setter
    def grad(self, value):
        if value is not None and not (isinstance(value, Scalar) and value.requires_grad):
            value = ScalarGrad(_number(value))
        _GRAD_SLOT.__set__(self, value)


def _plain(value):
    return value._data if type(value) is Scalar else float(value)


def _number(value):
    if isinstance(value, Variable):
        return value._data
    if isinstance(value, numbers.Real):
        return value
    return NotImplemented if value is None else float(value)


class ScalarGrad(float):
    """A Scalar's gradient: a float that also answers ``.data`` / ``.item()`` like a
    Scalar, so ``p.grad.data`` (ndgrad) and ``p.grad`` (micrograd) both read the number."""
    __slots__ = ()
    grad_fn = None
    requires_grad = False

    @property
    def data(self):
        return float(self)

    _data = data

    def item(self):
        return float(self)

    def detach(self):
        return self

    def __repr__(self):
        return repr(float(self))


def _operator(name, op, compute, reflected=False):
    """``Scalar.<name>`` for + - * /: ``op.apply`` when grad mode records (by its shortcut
    for two Scalars, ``function.apply_to_scalar_pair``), else the float arithmetic that
    op's forward would do, without a trip through ``Function.apply``.
    Other operands (bools, NumPy numbers, Tensors) take Variable's general path."""
    general = getattr(Variable, name)

    def method(self, other):
        kind = type(other)
        if kind is not Scalar and kind is not float and kind is not int:
            return general(self, other)
        if grad_mode._enabled:
            if kind is not Scalar:
                other = Scalar._make(float(other), None)
            return (apply_to_scalar_pair(op, other, self) if reflected
                    else apply_to_scalar_pair(op, self, other))
        b = other._data if kind is Scalar else float(other)
        return Scalar._make(compute(b, self._data) if reflected else compute(self._data, b), None)
    method.__name__ = name
    return method


_new = object.__new__
for _name, _op, _compute in (("add", O.Add, operator.add), ("sub", O.Sub, operator.sub),
                             ("mul", O.Mul, operator.mul), ("truediv", O.Div, operator.truediv)):
    setattr(Scalar, f"__{_name}__", _operator(f"__{_name}__", _op, _compute))
    setattr(Scalar, f"__r{_name}__", _operator(f"__r{_name}__", _op, _compute, reflected=True))
del _name, _op, _compute

Scalar._result_type = Scalar
Scalar._keeps_values = True
