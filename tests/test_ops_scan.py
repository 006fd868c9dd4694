"""Reductions, scans, order statistics and tests (autograd/ops/scan.py, stats.py and the
composites in tensor_reduce.py): values and gradients against PyTorch, each row running
the same function on both libraries, plus property-based gradient checks."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import gradcheck, tensors, valid_axes
from ops_oracle import gradcheck_row, run_both

S = (3, 4)
S3 = (2, 3, 4)
WITH_ZEROS = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 0.5], [2.0, -0.5, 1.0, 0.0]])
TIES = np.array([[1.0, 2.0, 2.0, 0.0], [3.0, 3.0, 1.0, 3.0], [0.0, 1.0, 1.0, 1.0]])
INTS = dict(shape=(8,), dtype="int64", low=0, high=5)
NO_GRAD = dict(grad=False)  # not differentiable (torch marks the output but cannot backward)

# op: (fn(lib, *inputs), input specs[, options]) -- the same fn runs on autograd and torch
OPS = {
    "nansum": (lambda m, x: m.nansum(m.log(x), 1), [S]),
    "nanmean": (lambda m, x: m.log(x).nanmean(), [S]),
    "aminmax": (lambda m, x: m.aminmax(x, dim=1), [S]),
    "prod": (lambda m, x: x.prod(), [S]), "prod_dim": (lambda m, x: m.prod(x, 1, keepdim=True), [S]),
    "prod_zeros": (lambda m, x: x.prod(1), [WITH_ZEROS]),
    "prod_zeros_all": (lambda m, x: x.prod(), [WITH_ZEROS]),
    "prod_one_zero": (lambda m, x: x.prod(0), [WITH_ZEROS]),
    "cumsum": (lambda m, x: x.cumsum(1), [S]), "cumsum_neg": (lambda m, x: m.cumsum(x, dim=-3), [S3]),
    "cumsum_int": (lambda m, x: x.cumsum(0), [INTS]),
    "cumprod": (lambda m, x: m.cumprod(x, 1), [S]),
    "cumprod_zeros": (lambda m, x: x.cumprod(1), [WITH_ZEROS]),
    "cummax": (lambda m, x: m.cummax(x, 1), [S]), "cummin": (lambda m, x: x.cummin(0), [S]),
    "cummax_ties": (lambda m, x: x.cummax(1), [TIES]), "cummin_ties": (lambda m, x: x.cummin(1), [TIES]),
    "logcumsumexp": (lambda m, x: m.logcumsumexp(x * 10, 1), [S]),
    "norm": (lambda m, x: x.norm(), [S]), "norm_dim": (lambda m, x: m.norm(x, dim=1), [S]),
    "norm_p1": (lambda m, x: x.norm(p=1, dim=0, keepdim=True), [S]),
    "norm_p3": (lambda m, x: x.norm(p=3), [S]),
    "norm_inf": (lambda m, x: x.norm(p=float("inf"), dim=1), [S]),
    "norm_nuc": (lambda m, x: x.norm(p="nuc"), [S]),
    "vector_norm": (lambda m, x: m.linalg.vector_norm(x, 2, (0, 2)), [S3]),
    "vector_norm_ninf": (lambda m, x: m.linalg.vector_norm(x, float("-inf")), [S]),
    "vector_norm_0": (lambda m, x: m.linalg.vector_norm(x, 0), [WITH_ZEROS]),
    "vector_norm_zero_vector": (lambda m, x: m.linalg.vector_norm(x * 0, dim=1), [S]),
    "matrix_norm_fro": (lambda m, x: m.linalg.matrix_norm(x), [S3]),
    "matrix_norm_1": (lambda m, x: m.linalg.matrix_norm(x, 1), [S3]),
    "matrix_norm_inf": (lambda m, x: m.linalg.matrix_norm(x, float("inf"), keepdim=True), [S3]),
    "matrix_norm_2": (lambda m, x: m.linalg.matrix_norm(x, 2), [S3]),
    "matrix_norm_m2": (lambda m, x: m.linalg.matrix_norm(x, -2, dim=(0, 2)), [S3]),
    "matrix_norm_nuc": (lambda m, x: m.linalg.matrix_norm(x, "nuc"), [S3]),
    "linalg_norm": (lambda m, x: m.linalg.norm(x), [S3]),
    "std_mean": (lambda m, x: m.std_mean(x, 1), [S]),
    "var_mean": (lambda m, x: m.var_mean(x, dim=0, keepdim=True, correction=0), [S]),
    "var_mean_all": (lambda m, x: m.var_mean(x), [S]),
    "median": (lambda m, x: x.median(), [S]), "median_ties": (lambda m, x: m.median(x), [TIES]),
    "median_dim": (lambda m, x: x.median(1), [S]),
    "median_dim_keep": (lambda m, x: m.median(x, 0, keepdim=True), [(4, 3)]),
    "kthvalue": (lambda m, x: x.kthvalue(2, 1), [S]),
    "kthvalue_dim0": (lambda m, x: m.kthvalue(x, 3, 0, True), [S]),
    "mode_values": (lambda m, x: m.mode(x, 1).values, [TIES]),
    "quantile": (lambda m, x: x.quantile(0.3), [S]),
    "quantile_dim": (lambda m, x: m.quantile(x, m.tensor([0.25, 0.5, 1.0], dtype=x.dtype), dim=1), [S]),
    "quantile_keep": (lambda m, x: x.quantile(0.6, dim=0, keepdim=True), [S]),
    "quantile_lower": (lambda m, x: x.quantile(0.3, 1, interpolation="lower"), [S]),
    "quantile_midpoint": (lambda m, x: x.quantile(0.3, 1, interpolation="midpoint"), [S]),
    "quantile_nearest": (lambda m, x: x.quantile(0.3, 1, interpolation="nearest"), [S]),
    "sort": (lambda m, x: x.sort(), [S]), "sort_desc": (lambda m, x: m.sort(x, 0, descending=True), [S]),
    "sort_ties_stable": (lambda m, x: x.sort(dim=1, stable=True), [TIES]),
    "sort_ties_desc_stable": (lambda m, x: x.sort(dim=1, descending=True, stable=True), [TIES]),
    "argsort": (lambda m, x: m.argsort(x, 1, descending=True), [S]),
    "msort": (lambda m, x: m.msort(x), [S]),
    "topk": (lambda m, x: x.topk(2), [S]), "topk_small": (lambda m, x: m.topk(x, 2, 0, largest=False), [S]),
    "any": (lambda m, x: (x > 1).any(), [S]), "any_dim": (lambda m, x: m.any(x > 1, 1), [S]),
    "all_dim": (lambda m, x: (x > -1.5).all(dim=0, keepdim=True), [S]),
    "count_nonzero": (lambda m, x: m.count_nonzero(x, 1), [WITH_ZEROS]),
    "unique": (lambda m, x: m.unique(x, return_inverse=True, return_counts=True), [TIES], NO_GRAD),
    "unique_dim": (lambda m, x: x.unique(dim=0), [np.array([[1, 2], [0, 1], [1, 2]])]),
    "isclose": (lambda m, x: m.isclose(x, x + 1e-9), [S]),
    "allclose": (lambda m, x: m.allclose(x, x + 1e-3), [S]),
    "equal": (lambda m, x: m.equal(x, x.clone()), [S]),
    "isnan_isinf": (lambda m, x: (m.isnan(m.log(x)), m.isinf(x / 0), m.isfinite(m.log(x))), [S]),
    "isposinf": (lambda m, x: (m.isposinf(x / 0), m.isneginf(x / 0)), [S]),
    "bincount": (lambda m, x: m.bincount(x, minlength=7), [INTS]),
    "bincount_weights": (lambda m, x, w: x.bincount(w), [INTS, (8,)], NO_GRAD),
    "histc": (lambda m, x: m.histc(x, bins=5), [S]),
    "histc_range": (lambda m, x: x.histc(4, -1, 1), [S]),
    "histogram": (lambda m, x: m.histogram(x, 5), [S], NO_GRAD),
    "histogram_range": (lambda m, x: x.histogram(3, range=(-1.0, 1.0)), [S], NO_GRAD),
    "searchsorted": (lambda m, x: m.searchsorted(m.tensor([-1.0, 0.0, 1.0], dtype=x.dtype), x), [S]),
    "searchsorted_rows_right": (lambda m, s, v: m.searchsorted(s.sort().values, v.round(), right=True),
                                [(3, 5), (3, 2)], NO_GRAD),
    "bucketize": (lambda m, x: m.bucketize(x.round(), m.tensor([-1.0, 0.0, 1.0], dtype=x.dtype)), [S]),
    "cov": (lambda m, x: m.cov(x), [S]), "cov_vector": (lambda m, x: m.cov(x, correction=0), [(5,)]),
    "corrcoef": (lambda m, x: m.corrcoef(x), [S]),
    "sum_numpy_aliases": (lambda m, x: x.sum(axis=1, keepdims=True), [S]),
    "max_numpy_aliases": (lambda m, x: m.max(x, axis=0, keepdims=True), [S]),
    "mean_axis": (lambda m, x: m.mean(x, axis=(0, 1)), [S3]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_against_torch(name):
    fn, specs, *opts = OPS[name]
    run_both(fn, specs, **(opts[0] if opts else {}))


def test_result_tuples_have_pytorchs_field_names():
    x = Tensor(np.array([1.0, 3.0, 2.0]))
    h = x.histogram(2)
    assert h.hist.tolist() == [1.0, 2.0] and h.bin_edges.tolist() == [1.0, 2.0, 3.0]
    assert x.sort().indices.tolist() == [0, 2, 1] and x.topk(1).values.tolist() == [3.0]
    assert x.aminmax().max.item() == 3.0 and x.cummax(0).indices.tolist() == [0, 1, 1]


def test_mode_index_points_at_the_value():
    x = Tensor(TIES)
    values, indices = x.mode(1)
    assert values.tolist() == [2.0, 3.0, 1.0]
    assert np.all(np.take_along_axis(TIES, indices._data[:, None], 1)[:, 0] == values._data)


# ----------------------------------------------------------------- property-based
# Every differentiable row on inputs drawn by hypothesis (distinct values: no ties);
# norms at 0 and the order statistics' tie rows are kinks, checked against torch above.
KINKS = {"norm_p1", "norm_inf", "vector_norm_ninf", "matrix_norm_1", "matrix_norm_inf",
         "quantile_nearest", "vector_norm_zero_vector", "cummax_ties", "cummin_ties",
         "median_ties", "mode_values", "sort_ties_stable", "sort_ties_desc_stable",
         "nansum", "nanmean",  # (log of drawn values near 0)
         "norm_nuc", "matrix_norm_nuc", "matrix_norm_m2"}  # (drawn matrices may be singular)


@pytest.mark.parametrize("name", sorted(set(OPS) - KINKS))
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_gradcheck_every_row(name, data):
    gradcheck_row(data, OPS[name][0], OPS[name][1])


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_gradcheck_prod_cumsum_cumprod(data):
    x = data.draw(tensors(min_dims=1, min_value=-2, max_value=2))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert gradcheck(lambda t: t.cumsum(dim) + t.cumprod(dim) + t.logcumsumexp(dim), (x,))
    axes = data.draw(valid_axes(x.shape))
    assert gradcheck(lambda t: t.prod(axes), (x,))


@settings(max_examples=10, deadline=None)
@given(x=tensors(min_dims=1, distinct=True))
def test_gradcheck_order_statistics(x):
    assert gradcheck(lambda t: t.sort(-1, descending=True).values, (x,))
    assert gradcheck(lambda t: (t.topk(1, 0).values, t.cummax(-1).values, t.median(-1).values), (x,))
    assert gradcheck(lambda t: t.quantile(0.7, -1), (x,))


@settings(max_examples=10, deadline=None)
@given(x=tensors(min_dims=1, min_value=0.1, distinct=True))  # |x| without ties (inf-norms)
def test_gradcheck_norms(x):
    for p in (1, 2, 3, float("inf"), float("-inf")):
        assert gradcheck(lambda t: t.norm(p=p, dim=-1), (x,))


def test_prod_with_zeros_is_twice_differentiable():
    x = Tensor(WITH_ZEROS, requires_grad=True)
    assert A.gradgradcheck(lambda t: t.prod(1), (x,))
    assert A.gradgradcheck(lambda t: t.cumprod(1), (x,))


def test_errors():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match=r"topk\(\): selected index k \(4\) out of range"):
        x.topk(4)
    with pytest.raises(RuntimeError, match=r"kthvalue\(\): selected number k \(0\) out of range"):
        x.kthvalue(0)
    with pytest.raises(IndexError, match=r"cumsum\(\): Dimension out of range"):
        x.cumsum(2)
    with pytest.raises(RuntimeError, match="quantile\\(\\) q must be"):
        x.quantile(1.5)


def test_nanmedian_against_torch():
    torch = pytest.importorskip("torch")
    v = [[1.0, float("nan"), 3.0, 2.0], [5.0, 4.0, float("nan"), float("nan")], [7.0, 1.0, 3.0, 3.0]]
    for lib in (A, torch):
        x = lib.tensor(v, requires_grad=True)
        r = x.nanmedian(1)
        (r.values * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        x2 = lib.tensor(v, requires_grad=True)
        m = x2.nanmedian()
        m.backward()
        out = (r.values.tolist(), r.indices.tolist(), x.grad.tolist(), m.item(), x2.grad.tolist())
        if lib is A:
            ours = out
    np.testing.assert_allclose(np.array(ours[0]), np.array(out[0]))
    assert ours[1] == out[1] and ours[3] == out[3]
    np.testing.assert_allclose(np.array(ours[2]), np.array(out[2]))
    np.testing.assert_allclose(np.array(ours[4]), np.array(out[4]), rtol=1e-6)


def test_nanmedian_without_torch():
    x = A.tensor([[1.0, float("nan"), 3.0, 2.0], [float("nan")] * 4])
    r = x.nanmedian(1)
    assert r.values.tolist()[0] == 2.0 and np.isnan(r.values.tolist()[1])
    assert x.nanmedian().item() == 2.0
