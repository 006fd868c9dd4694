"""The public strategies in autograd.testing keep their promises."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.errors import InvalidArgument

from autograd import Tensor
from autograd.testing import (broadcastable_shapes, float_dtypes, index_expressions, shapes,
                              tensors, valid_axes)


@given(t=tensors())
def test_tensors_defaults(t):
    assert isinstance(t, Tensor) and t.dtype == np.float64 and t.requires_grad and t.is_leaf
    assert 0 <= t.ndim <= 3 and all(1 <= s <= 4 for s in t.shape)
    assert np.all((t._data >= -10) & (t._data <= 10)) and t._data.flags.writeable


@given(t=tensors(shape=(2, 3), dtype=np.float32, min_value=0.1, max_value=0.7))
def test_tensors_fixed_shape_dtype_range(t):
    assert t.shape == (2, 3) and t.dtype == np.float32
    assert np.all((t._data >= np.float32(0.1)) & (t._data <= np.float32(0.7)))


@given(t=tensors(shape=shapes(min_dims=2, max_dims=2, min_side=2, max_side=2), dtype=None))
def test_tensors_shape_and_dtype_strategies(t):
    assert t.shape == (2, 2) and t.dtype in (np.float32, np.float64)


@given(t=tensors(distinct=True, min_value=-1, max_value=1, away_from=(0.0,)))
def test_distinct_and_away_from(t):
    v = np.sort(t._data.ravel())
    assert np.all(np.diff(v) >= 0.01 - 1e-12)
    assert np.all(np.abs(v) >= 0.01 - 1e-12)
    assert np.all((v >= -1) & (v <= 1))


@given(t=tensors(distinct=0.5, min_value=0, max_value=40))
def test_distinct_gap(t):
    assert np.all(np.diff(np.sort(t._data.ravel())) >= 0.5 - 1e-12)


@given(t=tensors(dtype=np.int64, min_value=-3, max_value=3))
def test_integer_tensors_do_not_require_grad(t):
    assert t.dtype == np.int64 and not t.requires_grad and np.all(np.abs(t._data) <= 3)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_impossible_distinct_request_is_a_clear_error():
    with pytest.raises(InvalidArgument, match="holds only"):
        tensors(shape=(10,), distinct=True, min_value=0, max_value=0.02).example()


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_invalid_arguments_name_themselves():
    with pytest.raises(InvalidArgument, match="min_value=2"):
        tensors(min_value=2, max_value=1).example()
    with pytest.raises(InvalidArgument, match="max_dims"):
        shapes(min_dims=3, max_dims=1).example()
    with pytest.raises(InvalidArgument, match="kinds"):
        index_expressions((2,), kinds=("fancy",)).example()


@given(s=broadcastable_shapes(3), dt=float_dtypes())
def test_broadcastable_shapes(s, dt):
    assert len(s) == 3
    np.broadcast_shapes(*s)
    assert dt in (np.float32, np.float64)


@given(sr=broadcastable_shapes(2, with_result=True))
def test_broadcastable_shapes_with_result(sr):
    s, result = sr
    assert np.broadcast_shapes(*s) == result


@given(data=st.data())
def test_valid_axes_are_valid_for_numpy(data):
    shape = data.draw(shapes())
    dim = data.draw(valid_axes(shape))
    np.sum(np.zeros(shape), axis=dim)
    if isinstance(dim, tuple):
        assert len(dim) >= 1 and len({d % len(shape) for d in dim}) == len(dim)


@given(data=st.data())
def test_index_expressions_are_valid_for_numpy(data):
    shape = data.draw(shapes())
    idx = data.draw(index_expressions(shape))
    np.zeros(shape)[idx]


@given(data=st.data())
def test_index_expressions_without_negative_steps(data):
    shape = data.draw(shapes(min_dims=1))
    idx = data.draw(index_expressions(shape, kinds=("basic",), negative_steps=False))
    items = idx if isinstance(idx, tuple) else (idx,)
    assert all(i.step is None or i.step > 0 for i in items if isinstance(i, slice))


def test_import_autograd_does_not_import_hypothesis():
    code = "import sys, autograd; assert 'hypothesis' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_root())


def _root():
    import os
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
