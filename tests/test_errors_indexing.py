"""Indexing and shape-argument misuse (issue 9, section 3): boolean masks of the wrong
shape, PyTorch's placement of advanced-index dims next to ints, expand/split/chunk/cat
arguments. Each case runs on ndgrad and, when importable, on PyTorch.
"""
import numpy as np
import pytest

from errcases import Case, check_ndgrad, check_torch, params

X = np.arange(24.0).reshape(2, 3, 4)


def x(L):
    return L.t(X.tolist())


def idx(L, *v):
    return L.t(list(v))


def mask(L, *v):
    return L.t(list(v), dtype=L.bool)


def ones_mask(L, *shape):
    return L.A.ones(*shape, dtype=L.bool)


F32 = "float32"
# PyTorch treats an int as a select applied first; NumPy counts it as an advanced index
# and moves the indexed dims to the front when a slice separates them.
PLACEMENT = [
    Case("x[1,:,idx]", lambda L: x(L)[1, :, idx(L, 0, 2)], value=(X[1][:, [0, 2]], F32)),
    Case("x[1,...,idx]", lambda L: x(L)[1, ..., idx(L, 0, 2)], value=(X[1][:, [0, 2]], F32)),
    Case("x[None,1,:,idx]", lambda L: x(L)[None, 1, :, idx(L, 0, 2)],
         value=(X[1][None][:, :, [0, 2]], F32)),
    Case("x[t(1),:,idx]", lambda L: x(L)[L.t(1), :, idx(L, 0, 2)], value=(X[1][:, [0, 2]], F32)),
    Case("x[1,:,mask]", lambda L: x(L)[1, :, mask(L, True, False, True, False)],
         value=(X[1][:, [0, 2]], F32)),
    Case("x[1,:,idx2d]", lambda L: x(L)[1, :, L.t([[0], [2]])],
         value=(X[1][:, [[0], [2]]], F32)),
    Case("x[:,1,idx]", lambda L: x(L)[:, 1, idx(L, 0, 2)], value=(X[:, 1, [0, 2]], F32)),
    Case("x[idx,:,1]", lambda L: x(L)[idx(L, 0, 1), :, 1], value=(X[:, :, 1], F32)),
    Case("x[idx,1,idx]", lambda L: x(L)[idx(L, 0, 1), 1, idx(L, 0, 1)],
         value=(X[[0, 1], 1, [0, 1]], F32)),
    Case("x[1,idx,idx]", lambda L: x(L)[1, idx(L, 0, 1), idx(L, 1, 2)],
         value=(X[1, [0, 1], [1, 2]], F32)),
    Case("x[idx,:,idx]", lambda L: x(L)[idx(L, 0, 1), :, idx(L, 0, 2)],
         value=(X[[0, 1], :, [0, 2]], F32)),
    Case("x[:,mask2d]", lambda L: x(L)[:, ones_mask(L, 3, 4)], value=(X.reshape(2, 12), F32)),
    Case("x[mask1d]", lambda L: x(L)[mask(L, False, True)], value=(X[1:], F32)),
    Case("x[mask3d]", lambda L: x(L)[x(L) > 20], value=([21.0, 22.0, 23.0], F32)),
]


def _grad_of_placement(L):
    t = L.t(X.tolist(), requires_grad=True)
    out = t[1, :, idx(L, 0, 2)]
    out.backward(L.t(np.arange(6.0).reshape(3, 2).tolist()))
    return t.grad


GRAD = np.zeros((2, 3, 4))
GRAD[1][:, [0, 2]] = np.arange(6.0).reshape(3, 2)
PLACEMENT.append(Case("grad-of-x[1,:,idx]", _grad_of_placement, value=(GRAD, F32)))

MASKS = [
    Case("mask-too-long", lambda L: x(L)[mask(L, True, False, True)],
         raises=(IndexError, r"The shape of the mask \[3\] at index 0 does not match the shape "
                             r"of the indexed tensor \[2, 3, 4\] at index 0")),
    Case("mask-too-short", lambda L: x(L)[mask(L, True)],
         raises=(IndexError, r"mask \[1\] at index 0 does not match")),
    Case("mask-2d-mismatch", lambda L: x(L)[ones_mask(L, 2, 4)],
         raises=(IndexError, r"mask \[2, 4\] at index 1 does not match .* \[2, 3, 4\] at "
                             r"index 1")),
    Case("mask-after-slice", lambda L: x(L)[:, ones_mask(L, 3, 3)],
         raises=(IndexError, r"mask \[3, 3\] at index 1 does not match .* at index 2")),
    Case("mask-after-int", lambda L: x(L)[0, mask(L, True, False)],
         raises=(IndexError, r"mask \[2\] at index 0 does not match")),
    Case("mask-list", lambda L: x(L)[:, :, [True, False]],
         raises=(IndexError, r"mask \[2\] at index 0 .* at index 2")),
]

BAD_INDEX = [
    Case("float-tensor-index", lambda L: x(L)[L.t([1.0])],
         raises=(IndexError, "tensors used as indices must be long, int, byte or bool")),
    Case("python-float-index", lambda L: x(L)[1.0], raises=(IndexError, "only integers")),
    Case("too-many-indices", lambda L: x(L)[0, 0, 0, 0],
         raises=(IndexError, "too many indices for tensor of dimension 3")),
    Case("index-out-of-bounds", lambda L: x(L)[idx(L, 5)],
         raises=(IndexError, "index 5 is out of bounds")),
    Case("int-out-of-bounds", lambda L: x(L)[0, 3], raises=(IndexError, "out of bounds")),
]

SHAPE_ARGS = [
    Case("expand-minus1-new-leading-dim", lambda L: L.A.ones(3).expand(-1, 3),
         raises=(RuntimeError, "expanded size -1 isn't allowed in a leading, non-existing "
                               "dimension 0")),
    Case("expand-minus2", lambda L: L.A.ones(3).expand(2, -2),
         raises=(RuntimeError, "expanded size -2 isn't allowed")),
    Case("expand-mismatch", lambda L: L.A.ones(3).expand(2, 4),
         raises=(RuntimeError, r"expand: the shape \(3,\) cannot be expanded to \(2, 4\)")),
    Case("expand-minus1-existing", lambda L: L.A.ones(1, 3).expand(2, -1),
         value=(np.ones((2, 3)), F32)),
    Case("split-negative-sizes", lambda L: L.A.ones(4).split([-1, 5]),
         raises=(RuntimeError, r"split_sizes must be non-negative, got split_sizes=\[-1, 5\]")),
    Case("split-negative-size", lambda L: L.A.ones(4).split(-1),
         raises=(RuntimeError, "got split_size=-1")),
    Case("split-zero", lambda L: L.A.ones(4).split(0), raises=(RuntimeError, "split_size=0")),
    Case("split-float", lambda L: L.A.ones(4).split(1.5), raises=(TypeError, "float")),
    Case("split-float-sizes", lambda L: L.A.ones(4).split([1.5, 2.5]),
         raises=(TypeError, "split: sizes must be ints")),
    Case("split-sizes-sum", lambda L: L.A.ones(4).split([1, 2]),
         raises=(RuntimeError, r"sizes \[1, 2\] must sum to the size 4")),
    Case("split-zero-sizes", lambda L: L.A.ones(4).split([0, 4]),
         value=([np.zeros(0), np.ones(4)], F32)),
    Case("chunk-zero", lambda L: L.A.ones(4).chunk(0),
         raises=(RuntimeError, "chunks must be greater than 0")),
    Case("chunk-float", lambda L: L.A.ones(4).chunk(2.0),
         raises=(TypeError, "argument 'chunks' must be int, not float")),
    Case("cat-0d", lambda L: L.A.cat([L.t(1.0), L.t(2.0)]),
         raises=(RuntimeError, r"zero-dimensional tensor \(at position 0\) cannot be "
                               r"concatenated")),
    Case("cat-dim-float", lambda L: L.A.cat([L.A.ones(2)], 0.0),
         raises=(TypeError, "argument 'dim' must be int, not float")),
    Case("transpose-dim-float", lambda L: L.A.ones(2, 3).transpose(0.0, 1),
         raises=(TypeError, "transpose: argument 'dim' must be int")),
    Case("softmax-dim-float", lambda L: L.A.ones(2, 3).softmax(1.0),
         raises=(TypeError, "softmax: argument 'dim' must be int")),
    Case("unsqueeze-dim-float", lambda L: L.A.ones(2).unsqueeze(0.5),
         raises=(TypeError, "unsqueeze: argument 'dim' must be int")),
    Case("where-float-condition", lambda L: L.A.where(L.A.ones(2), L.A.ones(2), L.A.zeros(2)),
         raises=(RuntimeError, "where expected condition to be a boolean tensor")),
    Case("pad-float", lambda L: L.F.pad(L.A.ones(2, 2), (1.5, 1)),
         raises=(TypeError, "pad: sizes must be ints")),
    Case("reshape-two-minus1", lambda L: L.A.ones(4).reshape(-1, -1),
         raises=(RuntimeError, "reshape")),
    Case("permute-duplicate", lambda L: L.A.ones(2, 3).permute(0, 0),
         raises=(RuntimeError, "permute")),
    # layout methods used to truncate floats (repeat(2.5) repeated twice)
    Case("repeat-float", lambda L: L.A.ones(2, 3).repeat(2.5, 1),
         raises=(TypeError, r"repeat\(\): argument 'sizes' must be int, but got float 2.5")),
    Case("tile-float", lambda L: L.A.ones(2, 3).tile((2.0,)),
         raises=(TypeError, r"tile\(\): argument 'dims' must be int")),
    Case("roll-float", lambda L: L.A.ones(2, 3).roll(1.5),
         raises=(TypeError, r"roll\(\): argument 'shifts' must be int")),
    Case("flip-float", lambda L: L.A.ones(2, 3).flip(0.0),
         raises=(TypeError, r"flip\(\): argument 'dims' must be int")),
    Case("narrow-float", lambda L: L.A.ones(2, 3).narrow(0, 0.0, 1),
         raises=(TypeError, r"narrow\(\): argument 'start' must be int")),
    Case("select-float", lambda L: L.A.ones(2, 3).select(0, 1.0),
         raises=(TypeError, r"select\(\): argument 'index' must be int")),
    Case("topk-float", lambda L: L.A.ones(2, 3).topk(1.5),
         raises=(TypeError, r"topk\(\): argument 'k' must be int, not float")),
    Case("kthvalue-float", lambda L: L.A.ones(2, 3).kthvalue(1.5),
         raises=(TypeError, r"kthvalue\(\): argument 'k' must be int")),
    Case("repeat-int", lambda L: L.t([1.0, 2.0]).repeat(2), value=([1.0, 2.0, 1.0, 2.0], F32)),
]

ALL = PLACEMENT + MASKS + BAD_INDEX + SHAPE_ARGS


@pytest.mark.parametrize("case", params(ALL))
def test_ndgrad(case):
    check_ndgrad(case)


@pytest.mark.parametrize("case", params(ALL))
def test_same_as_torch(case):
    check_torch(case)
