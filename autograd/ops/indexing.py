"""Indexing along a dimension and scattering: gather, scatter, scatter_add,
scatter_reduce, index_select, index_add, index_copy, masked_scatter.

``gather(x, dim, index)`` is x indexed by a tuple of integer arrays (``grid_index``):
``index`` at position ``dim`` and broadcast ``arange``s elsewhere, so it is GetItem
with that index (gradient: scatter-add of dL/dy). The scatters write at the same
tuple; their gradients gather.
"""
import numpy as np

from ..function import Function
from .elementwise import Where
from .shape import GetItem, IndexAdd


def grid_index(index, dim):
    """Index tuple that picks ``out[i][j][k] = x[i][index[i][j][k]][k]`` (for dim == 1)."""
    grids = list(np.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


def dim_index(ndim, dim, index):
    """Index tuple selecting ``index`` (1-D) along ``dim``: ``x[:, :, index]``."""
    return (slice(None),) * dim + (index,) + (slice(None),) * (ndim - dim - 1)


class Gather(GetItem):
    """y[i][j][k] = x[i][index[i][j][k]][k] (for dim == 1)"""
    backward_rule = "dL/dx = zeros,  dL/dx[index] += dL/dy (scatter_add)"


class IndexSelect(GetItem):
    """y = x[..., index, ...] (``index`` 1-D, at ``dim``)"""
    backward_rule = "dL/dx = zeros,  dL/dx[..., index, ...] += dL/dy"


class ScatterAdd(IndexAdd):
    """y = zeros(shape) with src added at the gather positions (repeats accumulate)"""
    backward_rule = "dL/dsrc = gather(dL/dy, dim, index)"


class Scatter(Function):
    """y = x with ``src`` written at the gather positions of ``index`` (repeated
    positions: one of the writes wins, as in PyTorch)"""
    backward_rule = "dL/dx = dL/dy · [not written],  dL/dsrc = gather(dL/dy, dim, index)"

    @staticmethod
    def forward(ctx, x, src, index):
        out = x.copy()
        out[index] = src
        return out

    @staticmethod
    def backward(ctx, grad):
        index = ctx.attrs["index"]
        dx, dsrc = ctx.needs_input_grad
        gx = gsrc = None
        if dx:
            written = np.zeros(grad.shape, dtype=bool)
            written[index] = True
            gx = Where.apply(written, grad * 0.0, grad)
        if dsrc:
            gsrc = Gather.apply(grad, index=index)
        return gx, gsrc


class ScatterReduce(Function):
    """y = x with src reduced into the gather positions by ``reduce`` (sum, prod, mean,
    amax, amin), counting x's own value unless ``include_self`` is False"""
    backward_rule = ("dL/dx = dL/dy · ∂y/∂x (sum: 1, mean: 1/N, prod: y/x, amax/amin: "
                     "[x == y] / #ties),  dL/dsrc = gather(dL/dy · ∂y/∂src, dim, index)")
    UFUNCS = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
              "amin": np.minimum}

    @staticmethod
    def forward(ctx, x, src, index, reduce, include_self=True):
        out = x.copy()
        hit = np.zeros(x.shape, dtype=bool)
        hit[index] = True
        if not include_self:
            start = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
            out[hit] = start
        ScatterReduce.UFUNCS[reduce].at(out, index, src)
        if reduce == "mean":
            count = np.zeros(x.shape, dtype=x.dtype)
            np.add.at(count, index, 1)
            count += include_self
            ctx.count = np.maximum(count, 1)
            out = out / ctx.count
            if np.issubdtype(x.dtype, np.integer):
                out = np.floor_divide(out * ctx.count, ctx.count)
            out = out.astype(x.dtype, copy=False)
        ctx.hit = hit
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, src, y = ctx.saved_tensors
        a = ctx.attrs
        index, reduce, include_self = a["index"], a["reduce"], a.get("include_self", True)
        dx, dsrc = ctx.needs_input_grad
        self_used = ctx.hit if not include_self else np.zeros(ctx.hit.shape, dtype=bool)
        if reduce == "sum":
            gx, gsrc = grad, Gather.apply(grad, index=index)
        elif reduce == "mean":
            g = grad / ctx.count
            gx, gsrc = g, Gather.apply(g, index=index)
        elif reduce == "prod" and not ((x._data == 0).any() or (src._data == 0).any()):
            gy = grad * y
            gx, gsrc = gy / x, Gather.apply(gy, index=index) / src
        elif reduce == "prod":  # zeros: the product of the other factors, exactly
            ox, osrc = _prod_of_others(x._data, src._data, index, ~self_used)
            gx, gsrc = grad * ox, Gather.apply(grad, index=index) * osrc
        else:  # amax / amin: ties share the gradient evenly
            yv = y._data
            x_tie = (x._data == yv) & ~self_used
            src_tie = src._data == yv[index]
            ties = x_tie.astype(yv.dtype)
            np.add.at(ties, index, src_tie)
            g = grad / np.maximum(ties, 1)
            gx = g * x_tie
            gsrc = Gather.apply(g, index=index) * src_tie
        if dx and self_used.any():
            gx = Where.apply(self_used, gx * 0.0, gx)
        return (gx if dx else None), (gsrc if dsrc else None)


def _prod_of_others(x, src, index, self_counts):
    """For scatter_reduce's prod: each factor's product of the other factors landing at
    the same position (x itself where ``self_counts``), without dividing by zero."""
    zeros = np.where(self_counts, x == 0, False).astype(np.int64)
    np.add.at(zeros, index, (src == 0).astype(np.int64))
    nonzero_prod = np.where(self_counts & (x != 0), x, 1).astype(x.dtype)
    np.multiply.at(nonzero_prod, index, np.where(src != 0, src, 1))

    def others(v, z, p):  # v: the factor, z / p: zero count and nonzero product at its place
        safe = np.where(v == 0, 1, v)
        return np.where(v == 0, np.where(z == 1, p, 0), np.where(z == 0, p / safe, 0))
    ox = others(x, zeros, nonzero_prod)
    osrc = others(src, zeros[index], nonzero_prod[index])
    return ox.astype(x.dtype), osrc.astype(src.dtype)


class IndexCopy(Function):
    """y = x with the slices ``index`` along ``dim`` replaced by src (``index_copy``);
    with ``accumulate``, src is added instead (``index_add``, times ``alpha``)"""
    backward_rule = ("dL/dx = dL/dy (index_copy: 0 on the replaced slices),  "
                     "dL/dsrc = index_select(dL/dy, dim, index) (· alpha)")

    @staticmethod
    def forward(ctx, x, src, index, accumulate=False, alpha=1):
        out = x.copy()
        if accumulate:
            np.add.at(out, index, src if alpha == 1 else src * alpha)
        else:
            out[index] = src
        return out

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        index, accumulate, alpha = a["index"], a.get("accumulate", False), a.get("alpha", 1)
        dx, dsrc = ctx.needs_input_grad
        gx = gsrc = None
        if dx:
            if accumulate:
                gx = grad
            else:
                replaced = np.zeros(grad.shape, dtype=bool)
                replaced[index] = True
                gx = Where.apply(replaced, grad * 0.0, grad)
        if dsrc:
            gsrc = IndexSelect.apply(grad, index=index)
            if alpha != 1:
                gsrc = gsrc * alpha
        return gx, gsrc


class MaskedScatter(Function):
    """y = x with the positions where ``mask`` holds filled, in order, from src's first
    elements"""
    backward_rule = "dL/dx = dL/dy · [not mask],  dL/dsrc[:count] = dL/dy[mask] (0 for the rest)"

    @staticmethod
    def forward(ctx, x, src, mask):
        out = x.copy()
        count = int(mask.sum())
        if count > src.size:
            raise RuntimeError(f"masked_scatter: the mask selects {count} elements but source "
                               f"{src.shape} has only {src.size}")
        out[mask] = src.reshape(-1)[:count]
        return out

    @staticmethod
    def backward(ctx, grad):
        mask = ctx.attrs["mask"]
        dx, dsrc = ctx.needs_input_grad
        gx = Where.apply(mask, grad * 0.0, grad) if dx else None
        gsrc = None
        if dsrc:
            shape = ctx.input_meta[1][0]
            count = int(mask.sum())
            flat = IndexAdd.apply(grad[mask], shape=(int(np.prod(shape)),),
                                  index=slice(0, count))
            gsrc = flat.reshape(shape)
        return gx, gsrc
