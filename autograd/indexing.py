"""PyTorch's indexing rules, on top of NumPy's.

``tensor[index]`` is computed as one or two NumPy indexing steps (``GetItem`` ops) so that
the result matches PyTorch where the two libraries disagree: boolean masks must match the
dimensions they index, float indices are refused, and an int next to index arrays is a
*select* (``x[1, :, idx]`` keeps PyTorch's placement of the indexed dimension).
"""
import numbers

import numpy as np

from .variable import Variable


def _is_int_index(i):
    return isinstance(i, (numbers.Integral, np.integer)) and not isinstance(i, (bool, np.bool_))


def _index_item(i):
    """One index item as NumPy takes it: Tensors/lists -> arrays (a 0-d integer Tensor is an
    int, as in torch); float indices are refused."""
    if isinstance(i, Variable):
        i = i._data
        if i.ndim == 0 and i.dtype.kind in "iu":
            return int(i)
    elif isinstance(i, (list, tuple)):
        i = np.asarray([x._data if isinstance(x, Variable) else x for x in i])
        if i.size == 0:
            i = i.astype(np.int64)
    if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors "
                         f"(got an index of dtype {i.dtype})")
    return i


def _index_steps(index, shape):
    """``tensor[index]`` as one or two NumPy indices applied in turn, with PyTorch's rules.

    * A boolean mask must match the sizes of the dimensions it indexes (NumPy would take
      ``nonzero()`` of a shorter mask silently); it becomes its ``nonzero()`` arrays.
    * An int is a *select* in PyTorch, not an advanced index: ``x[1, :, idx]`` is
      ``x[1][:, idx]`` (shape (3, 2) for x of shape (2, 3, 4)), where NumPy, which counts
      the int as advanced, would put the indexed dims first ((2, 3)). So when ints and
      index arrays are mixed, the ints are applied first, then the rest.
    """
    items = [_index_item(i) for i in (index if isinstance(index, tuple) else (index,))]
    used = sum(0 if i is None or i is Ellipsis or isinstance(i, (bool, np.bool_)) else
               i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else 1 for i in items)
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)} (index "
                         f"{index!r} uses {used} dimensions of shape {tuple(shape)})")
    if Ellipsis in [i for i in items if not isinstance(i, np.ndarray)]:
        at = next(k for k, i in enumerate(items) if not isinstance(i, np.ndarray) and i is Ellipsis)
        items[at:at + 1] = [slice(None)] * (len(shape) - used)
    out, dim, n_int, n_adv = [], 0, 0, 0
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype == bool and i.ndim:
            for k, (m, s) in enumerate(zip(i.shape, shape[dim:])):
                if m != s:
                    raise IndexError(f"The shape of the mask {list(i.shape)} at index {k} does "
                                     f"not match the shape of the indexed tensor "
                                     f"{list(shape)} at index {dim + k}")
            out.extend(np.nonzero(i))
            dim, n_adv = dim + i.ndim, n_adv + 1
            continue
        out.append(i)
        if i is not None and not isinstance(i, (bool, np.bool_)):
            dim += 1
            n_int += _is_int_index(i)
            n_adv += isinstance(i, np.ndarray)
    if n_int and n_adv:
        first = tuple(i if _is_int_index(i) or i is None else slice(None) for i in out)
        second = tuple(slice(None) if i is None else i for i in out if not _is_int_index(i))
        return [first, second]
    return [tuple(out) if isinstance(index, tuple) or len(out) != 1 else out[0]]
