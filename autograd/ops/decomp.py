"""Linear algebra with PyTorch's gradients: det, inv, solve, cholesky, qr, svd, eigh, pinv.

All work on the last two dims (batched over the rest). Backward formulas are written
with Tensor ops (matmul, solve, inv, ...), so they can be differentiated again.

A Function has one output, so the decompositions (qr, svd, eigh) return their factors
*packed* side by side along the last dim; ``autograd.linalg`` slices them apart with
indexing, whose backward puts each factor's gradient back in its place of the packed
gradient (zeros for a factor that was not used). ``unpack`` does the reverse in backward.
"""
import numpy as np

from ..function import Function


def pack(*arrays, batch):
    return np.concatenate([a.reshape(batch + (-1,)) for a in arrays], axis=-1)


def unpack(packed, shapes, batch):
    """The pieces of a packed array or Tensor, reshaped to ``batch + shape``."""
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(packed[..., start:start + size].reshape(batch + tuple(shape)))
        start += size
    return out


def _sym_lower(x):
    """tril(x) with its strict lower part copied above the diagonal (symmetric)."""
    low = x.tril(-1)
    return low + low.mT + x.diagonal(0, -2, -1).diag_embed()


class Det(Function):
    """y = det(A)"""
    backward_rule = "dL/dA = dL/dy · y · A⁻ᵀ"

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return np.asarray(np.linalg.det(A))

    @staticmethod
    def backward(ctx, grad):
        (A,) = ctx.saved_tensors
        y = Det.apply(A)
        try:
            A_inv = Inv.apply(A)
        except np.linalg.LinAlgError:  # exactly singular: y = 0, and PyTorch's gradient is 0
            A_inv = Pinv.apply(A)
        return (grad * y).unsqueeze(-1).unsqueeze(-1) * A_inv.mT


class Inv(Function):
    """Y = A⁻¹"""
    backward_rule = "dL/dA = -Yᵀ @ dL/dY @ Yᵀ"

    @staticmethod
    def forward(ctx, A):
        Y = np.linalg.inv(A)
        ctx.save_for_backward(Y)
        return Y

    @staticmethod
    def backward(ctx, grad):
        (Y,) = ctx.saved_tensors
        Yt = Y.mT
        return -(Yt @ grad @ Yt)


class Solve(Function):
    """X = A⁻¹ B (B a matrix, or a vector per batch when ``vector``)"""
    backward_rule = "dL/dA = -dL/dB @ Xᵀ,  dL/dB = solve(Aᵀ, dL/dX)"

    @staticmethod
    def forward(ctx, A, B, vector=False):
        X = np.linalg.solve(A, B[..., None])[..., 0] if vector else np.linalg.solve(A, B)
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, grad):
        A, X = ctx.saved_tensors
        vector = ctx.attrs.get("vector", False)
        dA, dB = ctx.needs_input_grad
        gB = Solve.apply(A.mT, grad, vector=vector)
        gA = None
        if dA:
            gA = -(gB.unsqueeze(-1) * X.unsqueeze(-2)) if vector else -(gB @ X.mT)
        return gA, (gB if dB else None)


class Cholesky(Function):
    """L = cholesky(A), lower triangular with A = L Lᵀ (only A's lower triangle is read)"""
    backward_rule = ("dL/dA = L⁻ᵀ · Φ · L⁻¹ with Φ = tril(Lᵀ @ dL/dL), its diagonal "
                     "halved and its strict lower part mirrored / 2")

    @staticmethod
    def forward(ctx, A):
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            raise RuntimeError(f"linalg.cholesky: the input {A.shape} is not positive-definite") from None
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, grad):
        (L,) = ctx.saved_tensors
        phi = (L.mT @ grad).tril()
        phi = 0.5 * (phi + phi.tril(-1).mT)
        Linv = Inv.apply(L)
        return Linv.mT @ phi @ Linv


class Qr(Function):
    """Q, R = qr(A) (mode 'reduced' or 'complete'), packed as [Q | R] along the last dim"""
    backward_rule = ("dL/dA = (dL/dQ + Q · copyltu(M)) @ R⁻ᵀ with M = R @ dL/dRᵀ - dL/dQᵀ @ Q "
                     "(m >= n; for m < n the extra columns of A get Q @ dL/dR₂)")

    @staticmethod
    def forward(ctx, A, mode="reduced"):
        Q, R = np.linalg.qr(A, mode=mode)
        ctx.shapes = (Q.shape[-2:], R.shape[-2:])
        ctx.save_for_backward(Q, R)
        return pack(Q, R, batch=A.shape[:-2])

    @staticmethod
    def backward(ctx, grad):
        Q, R = ctx.saved_tensors
        m, n = ctx.input_meta[0][0][-2:]
        if ctx.attrs.get("mode", "reduced") == "complete" and m > n:
            raise RuntimeError("linalg.qr: the derivative of mode='complete' is not defined "
                               "when nrows > ncols (as in PyTorch)")
        gQ, gR = unpack(grad, ctx.shapes, tuple(grad.shape[:-1]))
        if m >= n:
            return _qr_backward(gQ, gR, Q, R)
        # A = Q [R₁ R₂]: X = A[:, :m] = Q R₁ is square; Y = A[:, m:] = Q R₂.
        R1, R2 = R[..., :, :m], R[..., :, m:]
        gR1, gR2 = gR[..., :, :m], gR[..., :, m:]
        # Y = Q R₂ also depends on Q: it adds Y @ dL/dR₂ᵀ to dL/dQ.
        gX = _qr_backward(gQ + (Q @ R2) @ gR2.mT, gR1, Q, R1)
        from ..tensor import cat
        return cat([gX, Q @ gR2], dim=-1)


def _qr_backward(gQ, gR, Q, R):
    M = R @ gR.mT - gQ.mT @ Q
    b = gQ + Q @ _sym_lower(M)
    # b @ R⁻ᵀ, i.e. solve(R, bᵀ)ᵀ
    return Solve.apply(R, b.mT).mT


class Svd(Function):
    """U, S, Vh = svd(A), packed as [U | S | Vh] along the last dim"""
    backward_rule = ("dL/dA = U @ ((skew(Uᵀ @ dL/dU) · S_j + S_i · skew(Vᵀ @ dL/dV)) / "
                     "(S_j² - S_i²) + diag(dL/dS)) @ Vh + (I - U Uᵀ) @ dL/dU @ S⁻¹ @ Vh + "
                     "U @ S⁻¹ @ dL/dVh @ (I - V Vᵀ), skew(X) = X - Xᵀ")

    @staticmethod
    def forward(ctx, A, full_matrices=True):
        U, S, Vh = np.linalg.svd(A, full_matrices=full_matrices)
        ctx.shapes = (U.shape[-2:], S.shape[-1:], Vh.shape[-2:])
        ctx.save_for_backward(U, S, Vh)
        return pack(U, S, Vh, batch=A.shape[:-2])

    @staticmethod
    def backward(ctx, grad):
        U, S, Vh = ctx.saved_tensors
        gU, gS, gVh = unpack(grad, ctx.shapes, tuple(grad.shape[:-1]))
        k = S.shape[-1]
        U, gU, Vh, gVh = U[..., :, :k], gU[..., :, :k], Vh[..., :k, :], gVh[..., :k, :]
        return svd_backward(gU, gS, gVh, U, S, Vh)


def svd_backward(gU, gS, gVh, U, S, Vh):
    """PyTorch's svd_backward for real inputs (reduced factors)."""
    m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
    V, gV = Vh.mT, gVh.mT
    S2 = S * S
    eye = np.eye(k, dtype=bool)
    E = (S2.unsqueeze(-2) - S2.unsqueeze(-1)).masked_fill(eye, 1.0)  # E_ij = S_j² - S_i²
    UhgU = U.mT @ gU
    VhgV = V.mT @ gV
    skew_u = UhgU - UhgU.mT
    skew_v = VhgV - VhgV.mT
    ret = (skew_u * S.unsqueeze(-2) + S.unsqueeze(-1) * skew_v) / E
    ret = ret.masked_fill(eye, 0.0) + gS.diag_embed()
    if m > k:
        gA = U @ ret + (gU - U @ UhgU) / S.unsqueeze(-2)
        gA = gA @ Vh
    else:
        gA = U @ ret @ Vh
    if n > k:
        gA = gA + (U / S.unsqueeze(-2)) @ (gV - V @ VhgV).mT
    return gA


class Svdvals(Function):
    """S = the singular values of A (descending)"""
    backward_rule = "dL/dA = U @ diag(dL/dS) @ Vh"

    @staticmethod
    def forward(ctx, A):
        U, S, Vh = np.linalg.svd(A, full_matrices=False)
        ctx.save_for_backward(U, Vh)
        return S

    @staticmethod
    def backward(ctx, grad):
        U, Vh = ctx.saved_tensors
        return (U * grad.unsqueeze(-2)) @ Vh


class Eigh(Function):
    """L, V = eigh(A) (ascending eigenvalues; A's lower triangle is read), packed [L | V]"""
    backward_rule = ("dL/dA = sym(V @ (Vᵀ @ dL/dV / E + diag(dL/dL)) @ Vᵀ) with E_ij = L_j - L_i "
                     "(diagonal replaced by dL/dL), sym(G) = (G + Gᵀ) / 2")

    @staticmethod
    def forward(ctx, A, UPLO="L"):
        L, V = np.linalg.eigh(A, UPLO=UPLO)
        ctx.shapes = (L.shape[-1:], V.shape[-2:])
        ctx.save_for_backward(L, V)
        return pack(L, V, batch=A.shape[:-2])

    @staticmethod
    def backward(ctx, grad):
        L, V = ctx.saved_tensors
        gL, gV = unpack(grad, ctx.shapes, tuple(grad.shape[:-1]))
        n = L.shape[-1]
        eye = np.eye(n, dtype=bool)
        E = (L.unsqueeze(-2) - L.unsqueeze(-1)).masked_fill(eye, 1.0)
        ret = ((V.mT @ gV) / E).masked_fill(eye, 0.0) + gL.diag_embed()
        gA = V @ ret @ V.mT
        return (gA + gA.mT) * 0.5  # A is symmetric: PyTorch returns the symmetric part


class Pinv(Function):
    """P = A⁺ (Moore-Penrose pseudo-inverse; singular values below rtol · max are dropped)"""
    backward_rule = ("dL/dA = -Pᵀ @ dL/dP @ Pᵀ + (I - A P) @ dL/dPᵀ @ P Pᵀ + "
                     "Pᵀ P @ dL/dPᵀ @ (I - P A)")

    @staticmethod
    def forward(ctx, A, rtol=None, hermitian=False):
        if rtol is None:
            rtol = max(A.shape[-2:]) * np.finfo(A.dtype).eps
        P = np.linalg.pinv(A, rcond=rtol, hermitian=hermitian)
        ctx.save_for_backward(A, P)
        return P

    @staticmethod
    def backward(ctx, grad):
        A, P = ctx.saved_tensors
        Pt, gt = P.mT, grad.mT
        term1 = -(Pt @ grad @ Pt)
        term2 = (gt - A @ (P @ gt)) @ (P @ Pt)
        term3 = (Pt @ P) @ (gt - (gt @ P) @ A)
        return term1 + term2 + term3
