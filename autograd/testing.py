"""Hypothesis strategies for testing ops written on ndgrad (ours and yours).

This module needs `hypothesis <https://hypothesis.readthedocs.io>`_ (the ``test``
extra: ``pip install -e ".[test]"``); ``import autograd`` does not.

The strategies draw the awkward inputs that break gradient formulas: size-1
dimensions, 0-d tensors, broadcasting, negative axes, repeated indices, ties.
Combine them with :func:`gradcheck` (re-exported here), which compares the
analytic vector-Jacobian product for a *random* upstream gradient with central
differences in float64::

    from hypothesis import given, strategies as st
    from autograd.testing import tensors, broadcastable_shapes, valid_axes, gradcheck

    @given(tensors())
    def test_tanh(x):
        assert gradcheck(lambda t: t.tanh(), (x,))

    @given(broadcastable_shapes(2).flatmap(
        lambda s: st.tuples(tensors(shape=s[0]), tensors(shape=s[1]))))
    def test_mul_broadcasts(ab):
        assert gradcheck(lambda a, b: a * b, ab)

    @given(st.data())
    def test_sum(data):
        x = data.draw(tensors())
        dim = data.draw(valid_axes(x.shape))
        assert gradcheck(lambda t: t.sum(dim=dim), (x,))

Strategies:

- :func:`shapes` — array shapes (size-1 sides and 0-d included by default)
- :func:`tensors` — Tensors of a given or drawn shape and dtype, optionally with
  distinct values (no ties, for max-like ops) or values kept away from kinks
- :func:`broadcastable_shapes` — ``n`` shapes that broadcast together
- :func:`valid_axes` — a ``dim`` argument for a reduction: None, an int or a tuple
  (negative axes included)
- :func:`index_expressions` — ``x[...]`` indices: basic (ints, slices with steps,
  ``None``, ``Ellipsis``), integer arrays (with repeats) and boolean masks
"""
import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .tensor import Tensor

__all__ = ["shapes", "tensors", "broadcastable_shapes", "valid_axes", "index_expressions",
           "float_dtypes", "gradcheck", "gradgradcheck", "GradcheckError"]

DEFAULT_GAP = 1e-2


def _check_sides(min_dims, max_dims, min_side, max_side):
    if min_dims < 0 or max_dims < min_dims:
        raise InvalidArgument(f"need 0 <= min_dims <= max_dims, got min_dims={min_dims}, "
                              f"max_dims={max_dims}")
    if min_side < 0 or max_side < min_side:
        raise InvalidArgument(f"need 0 <= min_side <= max_side, got min_side={min_side}, "
                              f"max_side={max_side}")


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Shapes with ``min_dims..max_dims`` dimensions of ``min_side..max_side`` each.

    The defaults include 0-d shapes ``()`` and size-1 sides (the cases where
    broadcasting and reductions go wrong), and keep tensors small enough for
    gradcheck (at most 4³ = 64 elements)::

        @given(shapes(min_dims=2, max_dims=2))    # matrices: (1, 1), (3, 1), (2, 4), ...
        def test_transpose(shape): ...
    """
    _check_sides(min_dims, max_dims, min_side, max_side)
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def float_dtypes():
    """float32 or float64 (as NumPy dtypes)."""
    return st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)])


def broadcastable_shapes(n=2, min_dims=0, max_dims=3, min_side=1, max_side=4, base_shape=(),
                         with_result=False):
    """``n`` shapes that broadcast together (NumPy/PyTorch rules), as a tuple.

    Shapes may differ in length and have size-1 sides where others do not, so a
    gradient test with them exercises the engine's un-broadcasting::

        @given(broadcastable_shapes(3))           # e.g. ((2, 1, 3), (3,), (4, 1, 1))
        def test_where(shapes): ...

    ``base_shape`` is a shape every result must broadcast with. With
    ``with_result=True`` the strategy draws ``(shapes, result_shape)``.
    """
    _check_sides(min_dims, max_dims, min_side, max_side)
    if n < 1:
        raise InvalidArgument(f"broadcastable_shapes: n must be at least 1, got n={n}")
    strategy = hnp.mutually_broadcastable_shapes(
        num_shapes=n, base_shape=tuple(base_shape), min_dims=min_dims, max_dims=max_dims,
        min_side=min_side, max_side=max_side)
    if with_result:
        return strategy.map(lambda b: (tuple(b.input_shapes), b.result_shape))
    return strategy.map(lambda b: tuple(b.input_shapes))


def _ndim_of(shape):
    return shape if isinstance(shape, (int, np.integer)) else len(tuple(shape))


def valid_axes(shape, allow_none=True, allow_int=True, allow_tuple=True, min_size=1,
               max_size=None):
    """A valid ``dim`` argument for a tensor of ``shape`` (or of that many dimensions).

    Draws ``None`` (reduce everything), an int in ``[-ndim, ndim)``, or a tuple of
    distinct axes in any order with negative spellings mixed in (``min_size`` to
    ``max_size`` long; empty tuples are left out by default because PyTorch and NumPy
    disagree about them). A 0-d shape only gets ``None``::

        @given(st.data())
        def test_mean(data):
            x = data.draw(tensors())
            dim = data.draw(valid_axes(x.shape))   # None, 1, -2, (0, -1), ...
            keepdim = data.draw(st.booleans())
            assert gradcheck(lambda t: t.mean(dim=dim, keepdim=keepdim), (x,))
    """
    ndim = _ndim_of(shape)
    options = []
    if allow_none:
        options.append(st.none())
    if ndim > 0:
        if allow_int:
            options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            hi = ndim if max_size is None else min(max_size, ndim)
            if min_size <= hi:
                options.append(hnp.valid_tuple_axes(ndim, min_size=min_size, max_size=hi))
    if not options:
        raise InvalidArgument(f"valid_axes: nothing to draw for shape {shape} with "
                              f"allow_none={allow_none}, allow_int={allow_int}, "
                              f"allow_tuple={allow_tuple}")
    return st.one_of(*options)


def _representable_bounds(dtype, min_value, max_value):
    """The range rounded inwards to values the dtype represents exactly (0.1 is not a
    float32: hypothesis wants bounds it can hit)."""
    lo, hi = dtype.type(min_value), dtype.type(max_value)
    if float(lo) < min_value:
        lo = np.nextafter(lo, dtype.type(np.inf))
    if float(hi) > max_value:
        hi = np.nextafter(hi, dtype.type(-np.inf))
    return float(lo), float(hi)


def _elements(dtype, min_value, max_value, away_from, gap):
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = max(int(math.ceil(min_value)), int(info.min))
        hi = min(int(math.floor(max_value)), int(info.max))
        elements = st.integers(lo, hi)
    else:
        lo, hi = _representable_bounds(dtype, min_value, max_value)
        elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                             allow_subnormal=False, width=8 * dtype.itemsize)
    if away_from:
        points = tuple(float(p) for p in away_from)
        elements = elements.filter(lambda v: all(abs(v - p) >= gap for p in points))
    return elements


def _distinct_array(draw, shape, dtype, min_value, max_value, away_from, gap):
    """Values on a grid ``min_value + k·gap`` (distinct k): pairwise at least ``gap`` apart."""
    size = int(np.prod(shape, dtype=np.int64))
    steps = int(math.floor((max_value - min_value) / gap + 1e-9))
    points = tuple(float(p) for p in away_from)

    def ok(k):
        v = min_value + k * gap
        return all(abs(v - p) >= gap for p in points)

    allowed = [k for k in range(steps + 1) if ok(k)] if points else None
    available = len(allowed) if allowed is not None else steps + 1
    if size > available:
        raise InvalidArgument(
            f"tensors(distinct=True): a tensor of shape {shape} needs {size} values at least "
            f"{gap} apart, but [{min_value}, {max_value}] holds only {available}; widen the "
            f"range, lower the gap or draw smaller shapes")
    ks = st.sampled_from(allowed) if allowed is not None else st.integers(0, steps)
    flat = draw(st.lists(ks, min_size=size, max_size=size, unique=True))
    values = np.minimum(min_value + np.asarray(flat, dtype=np.float64) * gap, max_value)
    return values.reshape(shape).astype(dtype)


@st.composite
def _tensors(draw, shape, dtype, min_value, max_value, requires_grad, distinct, away_from,
             min_dims, max_dims, min_side, max_side, elements):
    if shape is None:
        shape = draw(shapes(min_dims, max_dims, min_side, max_side))
    elif isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    shape = tuple(int(s) for s in ((shape,) if isinstance(shape, (int, np.integer)) else shape))
    if dtype is None:
        dtype = draw(float_dtypes())
    elif isinstance(dtype, st.SearchStrategy):
        dtype = draw(dtype)
    dtype = np.dtype(dtype)
    gap = DEFAULT_GAP if distinct is True or distinct is False else float(distinct)
    if elements is not None:
        arr = draw(hnp.arrays(dtype, shape, elements=elements))
    elif distinct is not False and distinct is not None and dtype.kind == "f":
        arr = _distinct_array(draw, shape, dtype, min_value, max_value, away_from, gap)
    else:
        arr = draw(hnp.arrays(dtype, shape, elements=_elements(dtype, min_value, max_value,
                                                               away_from, gap),
                              unique=bool(distinct) and dtype.kind != "f"))
    arr = np.array(arr, dtype=dtype)  # own, writeable, C-contiguous
    return Tensor(arr, requires_grad=bool(requires_grad) and dtype.kind == "f")


def tensors(shape=None, dtype=np.float64, min_value=-10.0, max_value=10.0, requires_grad=True,
            distinct=False, away_from=(), min_dims=0, max_dims=3, min_side=1, max_side=4,
            elements=None):
    """Tensors with finite values in ``[min_value, max_value]``.

    shape
        None (draw one with ``shapes(min_dims, max_dims, min_side, max_side)``), a
        tuple (or int), or a strategy of shapes (e.g. one of
        :func:`broadcastable_shapes`' results).
    dtype
        A NumPy dtype (default float64, what :func:`gradcheck` wants), a strategy of
        dtypes (:func:`float_dtypes`), or None for float32-or-float64. Integer and
        bool dtypes give data tensors; they never require grad.
    requires_grad
        Set on floating-point tensors (default True).
    distinct
        True: values pairwise at least ``0.01`` apart (no ties, so max/min-like ops
        have a unique derivative that central differences can see); a float: that
        gap. Values then lie on a grid ``min_value + k·gap``.
    away_from
        Points every value stays at least the gap (``0.01``, or ``distinct`` when it
        is a float) away from, e.g. ``(0,)`` for relu/abs/sign kinks or the clamp
        bounds; use ``min_value`` for domains (``log``: ``min_value=0.1``).
    elements
        A hypothesis strategy for the values, overriding the range options.

    Examples::

        tensors()                                  # float64, 0-3 dims, sides 1-4
        tensors(shape=(2, 3), dtype=np.float32)    # fixed shape and dtype
        tensors(min_value=0.1, max_value=5)        # for log/sqrt
        tensors(distinct=True)                     # for amax/max/sort-like ops
        tensors(away_from=(0.0,))                  # for relu/abs
        tensors(dtype=np.int64, min_value=0, max_value=3, requires_grad=False)
        broadcastable_shapes(2).flatmap(
            lambda s: st.tuples(tensors(shape=s[0]), tensors(shape=s[1])))
    """
    if not min_value <= max_value:
        raise InvalidArgument(f"tensors: min_value={min_value} must not exceed "
                              f"max_value={max_value}")
    if distinct is not True and distinct is not False and float(distinct) <= 0:
        raise InvalidArgument(f"tensors: distinct must be a bool or a positive gap, "
                              f"got distinct={distinct!r}")
    _check_sides(min_dims, max_dims, min_side, max_side)
    return _tensors(shape, dtype, min_value, max_value, requires_grad, distinct, tuple(away_from),
                    min_dims, max_dims, min_side, max_side, elements)


# ---------------------------------------------------------------------- indexing
def _positive_step_slices(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(i, slice) or i.step is None or i.step > 0 for i in items)


@st.composite
def _integer_array_index(draw, shape, max_len, max_index_dims):
    """Integer arrays on one or more consecutive axes (the others sliced), with repeats
    and negative indices; optionally a leading Ellipsis."""
    ndim = len(shape)
    start = draw(st.integers(0, ndim - 1))
    count = draw(st.integers(1, min(ndim - start, max_index_dims)))
    index_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=max_len))
    arrays = []
    for axis in range(start, start + count):
        n = shape[axis]
        arrays.append(draw(hnp.arrays(np.int64, index_shape, elements=st.integers(-n, n - 1))))
    if start == 0 and count == ndim and draw(st.booleans()):
        return tuple(arrays)
    if draw(st.booleans()) and start + count == ndim:
        return (Ellipsis,) + tuple(arrays)
    return (slice(None),) * start + tuple(arrays)


@st.composite
def _boolean_mask_index(draw, shape):
    """A boolean mask over the first k dimensions (k >= 1), the rest untouched."""
    k = draw(st.integers(1, len(shape)))
    mask = draw(hnp.arrays(np.bool_, shape[:k]))
    if k < len(shape) and draw(st.booleans()):
        return (mask, Ellipsis)
    return mask


@st.composite
def _index_expressions(draw, shape, kinds, negative_steps, max_len, max_index_dims):
    choices = [k for k in kinds if k == "basic" or len(shape) > 0]
    kind = draw(st.sampled_from(choices))
    if kind == "basic":
        strategy = hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True)
        if not negative_steps:
            strategy = strategy.filter(_positive_step_slices)
        return draw(strategy)
    if kind == "integer":
        return draw(_integer_array_index(shape, max_len, max_index_dims))
    return draw(_boolean_mask_index(shape))


def index_expressions(shape, kinds=("basic", "integer", "boolean"), negative_steps=True,
                      max_len=5, max_index_dims=2):
    """Valid indices ``idx`` for ``x[idx]`` on a tensor of ``shape``.

    kinds
        ``"basic"``: ints (negative too), slices with steps, ``None`` and ``Ellipsis``
        (views, as in NumPy); ``"integer"``: NumPy int64 arrays on one or more
        consecutive axes (with repeated and negative entries, so a correct backward
        must *accumulate*), possibly with slices or an Ellipsis; ``"boolean"``: a
        bool mask over the leading dimensions.
    negative_steps
        Allow slices like ``::-2`` (NumPy does; PyTorch does not, so a test that
        compares with torch passes ``negative_steps=False``).
    max_len
        The largest side of an integer index array.

    0-d shapes only get basic indices (``()``, ``...``, ``None``)::

        @given(st.data())
        def test_getitem(data):
            x = data.draw(tensors(min_dims=1))
            idx = data.draw(index_expressions(x.shape))
            assert gradcheck(lambda t: t[idx], (x,))
    """
    shape = tuple(int(s) for s in shape)
    unknown = set(kinds) - {"basic", "integer", "boolean"}
    if unknown or not kinds:
        raise InvalidArgument(f"index_expressions: kinds must be drawn from 'basic', 'integer', "
                              f"'boolean'; got kinds={kinds!r}")
    if any(s == 0 for s in shape) and set(kinds) & {"integer"}:
        kinds = tuple(k for k in kinds if k != "integer") or ("basic",)
    return _index_expressions(shape, tuple(kinds), negative_steps, max_len, max_index_dims)
