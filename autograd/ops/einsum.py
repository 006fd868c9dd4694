"""Einstein summation with a backward for any subscripts.

``einsum`` (in ``autograd/tensor_reduce.py``) first rewrites the equation PyTorch accepts
(implicit output, ``...``, spaces, size-1 broadcasting) into an explicit, letters-only
one with operands of consistent sizes, then applies :class:`Einsum`.

The gradient of operand k is itself an einsum: the upstream gradient contracted with
the other operands, producing k's subscripts. Two cases need care:

- a letter only k has (summed out in forward): the gradient is constant along it, so
  a ones vector with that letter is added to the contraction (a broadcast);
- a letter repeated in k (a diagonal, ``"ii->i"``): the gradient lives on that
  diagonal, so each extra occurrence gets a fresh letter tied to the first one by an
  identity matrix (zeros off the diagonal).
"""
import string

import numpy as np

from ..function import Function


def parse(equation):
    """``"ij,jk->ik"`` -> (["ij", "jk"], "ik") (explicit, letters only)."""
    lhs, out = equation.split("->")
    return lhs.split(","), out


class Einsum(Function):
    """y = einsum(equation, *operands) (explicit output, letters only)"""
    backward_rule = ("dL/doperandₖ = einsum(dL/dy with the other operands -> operandₖ's "
                     "subscripts) (ones for letters only operandₖ has, identities for repeats)")

    @staticmethod
    def forward(ctx, *operands, equation):
        ctx.save_for_backward(*operands)
        # NumPy's path optimizer (BLAS contractions) pays off for 3+ operands or big
        # ones; for small pairs its planning costs more than it saves.
        big = len(operands) > 2 or sum(o.size for o in operands) > 4096
        out = np.asarray(np.einsum(equation, *operands, optimize=big))
        # "ij->ji" or "ii->i" come back as views of an operand: give the result its own memory
        return out.copy() if any(np.may_share_memory(out, o) for o in operands) else out

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        ins, out = parse(ctx.attrs["equation"])
        sizes = {}
        for subs, (shape, _) in zip(ins, ctx.input_meta):
            sizes.update(zip(subs, shape))
        grads = []
        for k, needed in enumerate(ctx.needs_input_grad):
            grads.append(_operand_grad(grad, operands, ins, out, k, sizes) if needed else None)
        return tuple(grads)


def _operand_grad(grad, operands, ins, out, k, sizes):
    subs_k = ins[k]
    terms = [out] + [s for j, s in enumerate(ins) if j != k]
    tensors = [grad] + [t for j, t in enumerate(operands) if j != k]
    available = set("".join(terms))
    free = iter(c for c in string.ascii_letters if c not in set("".join(ins) + out))
    target, seen = [], set()
    for letter in subs_k:
        if letter in seen:  # a repeat: a fresh letter, tied to the first by an identity
            fresh = next(free)
            eye = np.eye(sizes[letter], dtype=grad.dtype)
            terms.append(letter + fresh)
            tensors.append(grad._make(eye, None))
            target.append(fresh)
            continue
        seen.add(letter)
        if letter not in available:  # summed out in forward: the gradient is broadcast
            terms.append(letter)
            tensors.append(grad._make(np.ones(sizes[letter], dtype=grad.dtype), None))
            available.add(letter)
        target.append(letter)
    return Einsum.apply(*tensors, equation=",".join(terms) + "->" + "".join(target))
