"""``autograd.linalg``: PyTorch's ``torch.linalg`` functions, with PyTorch's gradients.

The decompositions return named tuples like PyTorch's (``Q, R = linalg.qr(A)``,
``linalg.svd(A).S``). Their factors are computed by one op and sliced apart (see
``autograd/ops/decomp.py``), so a loss using any of them differentiates back to A.
"""
from collections import namedtuple

import numpy as np

from .ops import decomp as D
from .ops import stats as ST
from .tensor_reduce import _const

QR = namedtuple("QR", "Q R")
SVD = namedtuple("SVD", "U S Vh")
Eigh = namedtuple("Eigh", "eigenvalues eigenvectors")
Lstsq = namedtuple("Lstsq", "solution residuals rank singular_values")
SlogDet = namedtuple("SlogDet", "sign logabsdet")

__all__ = ["det", "slogdet", "inv", "solve", "cholesky", "qr", "svd", "svdvals", "eigh",
           "eigvalsh", "lstsq", "pinv", "vector_norm", "matrix_norm", "norm", "cross",
           "matmul", "multi_dot", "matrix_power", "diagonal", "vecdot"]


def _square(A, op):
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.ndim > 1 else A.shape} by "
                           f"{A.shape[-1] if A.ndim else ''} matrices")


def _float(A, op):
    if A.dtype.kind != "f":
        raise RuntimeError(f"linalg.{op}: Expected a floating point tensor as input. Got {A.dtype}")


def _matrices(A, op):
    """At least 2-D and floating point (NumPy would compute on integers, or raise its own
    LinAlgError for a vector), as PyTorch requires."""
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions "
                           f"(got shape {A.shape}).")
    _float(A, op)


def det(A):
    _square(A, "det")
    _float(A, "det")
    return D.Det.apply(A)


def slogdet(A):
    """(sign, log|det A|); the log is differentiable (its gradient is A⁻ᵀ)."""
    _square(A, "slogdet")
    sign, _ = np.linalg.slogdet(A._data)
    return SlogDet(_const(sign), det(A).abs().log())


def inv(A):
    _square(A, "inv")
    _float(A, "inv")
    try:
        return D.Inv.apply(A)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.inv: The diagonal element 1 is zero, the inversion could "
                           "not be completed because the input matrix is singular.") from None


def solve(A, B, *, left=True):
    _square(A, "solve")
    if not left:  # X A = B  <=>  Aᵀ Xᵀ = Bᵀ
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if B.shape[-2 if not vector else -1] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"AX = B ({A.shape} and {B.shape})")
    try:
        return D.Solve.apply(A, B, vector=vector)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.solve: The solver failed because the input matrix is "
                           "singular.") from None


def cholesky(A, *, upper=False):
    _square(A, "cholesky")
    _float(A, "cholesky")
    L = D.Cholesky.apply(A)
    return L.mT if upper else L


def _unpack(packed, shapes):
    batch = packed.shape[:-1]
    return D.unpack(packed, shapes, batch)


def qr(A, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    _matrices(A, "qr")
    m, n = A.shape[-2:]
    k = min(m, n)
    qm = "complete" if mode == "complete" else "reduced"
    q_shape = (m, m) if qm == "complete" else (m, k)
    r_shape = (m, n) if qm == "complete" else (k, n)
    Q, R = _unpack(D.Qr.apply(A, mode=qm), (q_shape, r_shape))
    if mode == "r":
        return QR(_const(np.zeros((0,), dtype=A.dtype)), R)
    return QR(Q, R)


def svd(A, full_matrices=True):
    _matrices(A, "svd")
    m, n = A.shape[-2:]
    k = min(m, n)
    shapes = ((m, m), (k,), (n, n)) if full_matrices else ((m, k), (k,), (k, n))
    return SVD(*_unpack(D.Svd.apply(A, full_matrices=full_matrices), shapes))


def svdvals(A):
    _matrices(A, "svdvals")
    return D.Svdvals.apply(A)


def eigh(A, UPLO="L"):
    _square(A, "eigh")
    _float(A, "eigh")
    n = A.shape[-1]
    return Eigh(*_unpack(D.Eigh.apply(A, UPLO=UPLO), ((n,), (n, n))))


def eigvalsh(A, UPLO="L"):
    return eigh(A, UPLO).eigenvalues


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    if atol is not None:
        raise NotImplementedError("linalg.pinv: atol is not supported by ndgrad; use rtol")
    _matrices(A, "pinv")
    return D.Pinv.apply(A, rtol=rtol, hermitian=hermitian)


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution X = pinv(A) @ B (differentiable through pinv, as in
    PyTorch); residuals, rank and singular values come from NumPy (no gradient)."""
    vector = B.ndim == A.ndim - 1
    X = pinv(A, rtol=rcond)
    X = (X @ B.unsqueeze(-1)).squeeze(-1) if vector else X @ B
    m, n = A.shape[-2:]
    sv = np.linalg.svd(A._data, compute_uv=False)
    tol = (rcond if rcond is not None else np.finfo(A.dtype).eps * max(m, n)) * sv[..., :1]
    rank = (sv > tol).sum(-1)
    residuals = np.zeros((0,), dtype=A.dtype)
    if m > n and np.all(rank == n):
        r = A._data @ X._data[..., None] - B._data[..., None] if vector else A._data @ X._data - B._data
        residuals = (r ** 2).sum(-2)
        residuals = residuals[..., 0] if vector else residuals
    return Lstsq(X, _const(residuals), _const(rank.astype(np.int64)), _const(sv))


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {x.dtype}")
    return ST.VectorNorm.apply(x, ord=float(ord), dim=dim, keepdim=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """'fro', 'nuc', 1, -1, 2, -2, inf, -inf over the two dims ``dim``."""
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 "
                           f"dimensions, got {A.ndim}")
    d0, d1 = (d % A.ndim for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    X = A.movedim((d0, d1), (-2, -1))
    if ord in ("nuc", 2, -2):
        s = svdvals(X)
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
    elif ord in (1, -1):
        col = X.abs().sum(-2)
        out = col.amax(-1) if ord == 1 else col.amin(-1)
    elif ord in (np.inf, -np.inf):
        row = X.abs().sum(-1)
        out = row.amax(-1) if ord == np.inf else row.amin(-1)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm for 1-D input or an int ``dim``, a matrix norm
    for 2-D input or a pair ``dim``; ord None is the 2-norm / Frobenius norm."""
    if dim is None and ord is not None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                           f"be 1D or 2D. Got {A.ndim}D.")
    if isinstance(dim, int) or (dim is None and (A.ndim == 1 or ord is None)):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, "fro" if ord is None else ord, dim if dim is not None else (-2, -1),
                       keepdim, dtype=dtype)


def cross(input, other, *, dim=-1):
    return input.cross(other, dim)


def matmul(input, other):
    return input @ other


def vecdot(x, y, *, dim=-1):
    return (x * y).sum(dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


def multi_dot(tensors):
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def matrix_power(A, n):
    _square(A, "matrix_power")
    if n < 0:
        return matrix_power(inv(A), -n)
    from .tensor import Tensor
    result = Tensor(np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape).copy())
    base = A
    while n:
        if n & 1:
            result = result @ base
        n >>= 1
        if n:
            base = base @ base
    return result

