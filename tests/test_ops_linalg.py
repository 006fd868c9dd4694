"""Linear algebra (autograd/ops/einsum.py, decomp.py, autograd/linalg.py, the products in
tensor_reduce.py): values and gradients against PyTorch, each row running the same
function on both libraries, plus property-based and second-order gradient checks."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as A
from autograd import Tensor
from autograd.testing import gradcheck, tensors
from ops_oracle import gradcheck_row, run_both


def spd(n, batch=(), seed=3):
    """A well-conditioned symmetric positive-definite matrix (batched)."""
    rng = np.random.default_rng(seed)
    m = rng.standard_normal(batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def sym(n, batch=(), seed=4):
    m = np.random.default_rng(seed).standard_normal(batch + (n, n))
    return m + np.swapaxes(m, -1, -2)


def signfix_eigh(m, res):
    """Eigenvectors are defined up to sign: make each one's first entry positive (the
    sign is a constant for the gradient), so both libraries' answers compare."""
    L, V = res
    return L, V * m.sign(V[..., :1, :]).detach()


def signfix_svd(m, res):
    U, S, Vh = res
    s = m.sign(U[..., :1, :]).detach()
    return U * s, S, Vh * s.mT


def attention_head(m, x, wq, wk, wv):
    """A causal self-attention head as tutorials write it (tril, masked_fill, einsum)."""
    T = x.shape[1]
    q, k, v = x @ wq, x @ wk, x @ wv
    wei = m.einsum("btd,bsd->bts", q, k) * k.shape[-1] ** -0.5
    tril = m.tril(m.ones(T, T))
    wei = wei.masked_fill(tril == 0, float("-inf")).softmax(-1)
    return wei @ v


WELL = np.array([[3.0, 1.0, 0.5], [0.2, 2.5, -1.0], [1.0, 0.0, 4.0]])

# op: (fn(lib, *inputs), input specs[, options]) -- the same fn runs on autograd and torch
OPS = {
    # einsum, any subscripts
    "einsum_matmul": (lambda m, a, b: m.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)]),
    "einsum_implicit": (lambda m, a, b: m.einsum("ij,jk", a, b), [(2, 3), (3, 4)]),
    "einsum_trace": (lambda m, a: m.einsum("ii", a), [(3, 3)]),
    "einsum_diag": (lambda m, a: m.einsum("ii->i", a), [(3, 3)]),
    "einsum_diag_batch": (lambda m, a: m.einsum("bii->bi", a), [(2, 3, 3)]),
    "einsum_repeat_mixed": (lambda m, a, b: m.einsum("iij,j->i", a, b), [(3, 3, 2), (2,)]),
    "einsum_sum_out": (lambda m, a: m.einsum("ijk->j", a), [(2, 3, 4)]),
    "einsum_outer": (lambda m, a, b: m.einsum("i,j->ij", a, b), [(3,), (4,)]),
    "einsum_transpose": (lambda m, a: m.einsum("ij->ji", a), [(2, 3)]),
    "einsum_ellipsis": (lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b), [(2, 2, 3), (2, 3, 4)]),
    "einsum_ellipsis_broadcast": (lambda m, a, b: m.einsum("...ij,...jk", a, b), [(1, 2, 3), (5, 3, 2)]),
    "einsum_ellipsis_middle": (lambda m, a: m.einsum("i...j->j...i", a), [(2, 3, 4, 5)]),
    "einsum_three": (lambda m, a, b, c: m.einsum("ab,bc,cd->ad", a, b, c), [(2, 3), (3, 4), (4, 2)]),
    "einsum_attention": (lambda m, q, k: m.einsum("bhqd,bhkd->bhqk", q, k).softmax(-1),
                         [(2, 2, 3, 4), (2, 2, 5, 4)]),
    "attention_head": (attention_head, [(2, 4, 3), (3, 5), (3, 5), (3, 5)]),
    "einsum_list_operands": (lambda m, a, b: m.einsum("i,i->", [a, b]), [(4,), (4,)]),
    "einsum_spaces": (lambda m, a, b: m.einsum("b i, b i -> b", a, b), [(2, 3), (2, 3)]),
    "einsum_sublists": (lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [0, 2]), [(2, 3), (3, 4)]),
    "einsum_sublists_ellipsis": (lambda m, a, b: m.einsum(a, [..., 0], b, [..., 0]), [(2, 3), (2, 3)]),
    "einsum_scalar": (lambda m, a, b: m.einsum(",ij->ij", a, b), [(), (2, 3)]),
    # products
    "cdist": (lambda m, a, b: m.cdist(a, b), [(4, 3), (5, 3)]),
    "cdist_p1_batched": (lambda m, a, b: m.cdist(a, b, p=1.0), [(2, 4, 3), (2, 5, 3)]),
    "cdist_same_points": (lambda m, a: m.cdist(a, a), [(3, 2)]),
    "atleast": (lambda m, a, b, c: m.atleast_3d(a, b, c), [(), (3,), (2, 3)]),
    "atleast_2d": (lambda m, a: m.atleast_2d(a), [(3,)]),
    "mm": (lambda m, a, b: m.mm(a, b), [(2, 3), (3, 4)]),
    "bmm": (lambda m, a, b: a.bmm(b), [(2, 2, 3), (2, 3, 4)]),
    "mv": (lambda m, a, v: m.mv(a, v), [(2, 3), (3,)]),
    "dot": (lambda m, a, b: a.dot(b), [(4,), (4,)]),
    "inner": (lambda m, a, b: m.inner(a, b), [(4,), (4,)]),
    "outer": (lambda m, a, b: m.outer(a, b), [(3,), (4,)]),
    "addmm": (lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2.0), [(4,), (2, 3), (3, 4)]),
    "addmv": (lambda m, c, a, v: c.addmv(a, v), [(2,), (2, 3), (3,)]),
    "baddbmm": (lambda m, c, a, b: m.baddbmm(c, a, b, alpha=0.3), [(2, 2, 4), (2, 2, 3), (2, 3, 4)]),
    "addbmm": (lambda m, c, a, b: c.addbmm(a, b), [(2, 4), (3, 2, 3), (3, 3, 4)]),
    "tensordot_int": (lambda m, a, b: m.tensordot(a, b, 2), [(2, 3, 4), (3, 4, 2)]),
    "tensordot_lists": (lambda m, a, b: m.tensordot(a, b, dims=([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)]),
    "kron": (lambda m, a, b: m.kron(a, b), [(2, 3), (2, 2)]),
    "kron_mixed_dims": (lambda m, a, b: a.kron(b), [(3,), (2, 2)]),
    "trace": (lambda m, a: m.trace(a), [(3, 4)]),
    "cross": (lambda m, a, b: m.cross(a, b, dim=1), [(2, 3), (2, 3)]),
    "linalg_cross": (lambda m, a, b: m.linalg.cross(a, b), [(4, 3), (1, 3)]),
    "matrix_power": (lambda m, a: m.linalg.matrix_power(a, 3), [(3, 3)]),
    "multi_dot": (lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), [(2, 3), (3, 4), (4, 2)]),
    # decompositions and solvers
    "det": (lambda m, a: m.linalg.det(a), [WELL]),
    "det_singular": (lambda m, a: m.linalg.det(a), [np.array([[1.0, 2.0], [2.0, 4.0]])]),
    "det_batch": (lambda m, a: a.det(), [dict(shape=(2, 3, 3))]),
    "slogdet": (lambda m, a: m.linalg.slogdet(a), [WELL]),
    "logdet": (lambda m, a: m.logdet(a), [spd(3)]),
    "inv": (lambda m, a: m.linalg.inv(a), [WELL]),
    "inverse": (lambda m, a: m.inverse(a), [WELL]),
    "solve": (lambda m, a, b: m.linalg.solve(a, b), [WELL, (3, 2)]),
    "solve_vector": (lambda m, a, b: m.linalg.solve(a, b), [WELL, (3,)]),
    "solve_batched_vector": (lambda m, a, b: m.linalg.solve(a, b), [spd(3, (2,)), (2, 3)]),
    "solve_right": (lambda m, a, b: m.linalg.solve(a, b, left=False), [WELL, (2, 3)]),
    "cholesky": (lambda m, a: m.linalg.cholesky(a), [spd(3)]),
    "cholesky_batch_upper": (lambda m, a: m.linalg.cholesky(a, upper=True), [spd(3, (2,))]),
    "qr_tall": (lambda m, a: m.linalg.qr(a), [(4, 3)]),
    "qr_square": (lambda m, a: m.linalg.qr(a), [(3, 3)]),
    "qr_wide": (lambda m, a: m.linalg.qr(a), [(2, 4)]),
    "qr_batch": (lambda m, a: m.linalg.qr(a), [(2, 4, 2)]),
    "svd": (lambda m, a: signfix_svd(m, m.linalg.svd(a, full_matrices=False)), [(4, 3)]),
    "svd_wide": (lambda m, a: signfix_svd(m, m.linalg.svd(a, full_matrices=False)), [(2, 4)]),
    "svd_batch": (lambda m, a: signfix_svd(m, m.linalg.svd(a, full_matrices=False)), [(2, 3, 3)]),
    "svd_full_values": (lambda m, a: m.linalg.svd(a).S, [(4, 3)]),
    "svd_reconstruct": (lambda m, a: (lambda u, s, v: (u * s.unsqueeze(-2)) @ v)(
        *m.linalg.svd(a, full_matrices=False)), [(4, 3)]),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), [(3, 5)]),
    "eigh": (lambda m, a: signfix_eigh(m, m.linalg.eigh(a)), [sym(3)]),
    "eigh_batch": (lambda m, a: signfix_eigh(m, m.linalg.eigh(a)), [sym(4, (2,))]),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(a), [sym(3)]),
    "pinv_tall": (lambda m, a: m.linalg.pinv(a), [(4, 3)]),
    "pinv_wide": (lambda m, a: m.linalg.pinv(a), [(2, 4)]),
    "pinverse": (lambda m, a: m.pinverse(a), [(3, 3)]),
    "lstsq": (lambda m, a, b: m.linalg.lstsq(a, b).solution, [(5, 3), (5, 2)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_against_torch(name):
    fn, specs, *opts = OPS[name]
    run_both(fn, specs, **(opts[0] if opts else {"rtol": 1e-6, "atol": 1e-8}))


# ----------------------------------------------------------------- property-based
# Every row on inputs drawn by hypothesis, except the decompositions of drawn matrices
# (they can be near-singular or have close singular values: checked below on
# well-conditioned constructions, and on fixed inputs above).
DRAWN_DECOMPOSITIONS = {"det_batch", "det_singular", "cdist_same_points", "qr_tall", "qr_square", "qr_wide", "qr_batch", "svd",
                        "svd_wide", "svd_batch", "svd_full_values", "svd_reconstruct",
                        "svdvals", "pinv_tall", "pinv_wide", "pinverse", "lstsq",
                        "matrix_power",
                        # read one triangle: their gradient is for symmetric perturbations
                        # (checked through t.T @ t below)
                        "cholesky", "cholesky_batch_upper", "eigh", "eigh_batch", "eigvalsh"}


@pytest.mark.parametrize("name", sorted(set(OPS) - DRAWN_DECOMPOSITIONS))
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_gradcheck_every_row(name, data):
    gradcheck_row(data, OPS[name][0], OPS[name][1])


SUBSCRIPTS = ["ij,jk->ik", "ij->", "ii->i", "ij,ij->i", "ijk,ik->j", "i,j,k->ijk", "iij->j",
              "ij,j", "bij,bjk->bik", "...i,...i->..."]


@pytest.mark.parametrize("equation", SUBSCRIPTS)
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_gradcheck_einsum(equation, data):
    lhs = equation.split("->")[0].split(",")
    n = data.draw(st.integers(1, 3))
    shapes = [tuple(n if c != "." else 2 for c in s.replace("...", ".")) for s in lhs]
    xs = [data.draw(tensors(shape=s)) for s in shapes]
    assert gradcheck(lambda *t: A.einsum(equation, *t), xs)


@settings(max_examples=6, deadline=None)
@given(a=tensors(shape=(3, 3), min_value=-1, max_value=1), b=tensors(shape=(3, 2)))
def test_gradcheck_solvers(a, b):
    assert gradcheck(lambda t, r: A.linalg.solve(t + Tensor(4.0 * np.eye(3)), r), (a, b))
    assert gradcheck(lambda t: A.linalg.inv(t + Tensor(4.0 * np.eye(3))), (a,))
    assert gradcheck(lambda t: A.linalg.det(t + Tensor(4.0 * np.eye(3))), (a,))


@settings(max_examples=6, deadline=None)
@given(a=tensors(shape=(4, 3), min_value=-1, max_value=1))
def test_gradcheck_decompositions(a):
    # (not at a matrix with exact zeros below the diagonal: LAPACK's Householder signs,
    # hence Q and R, jump there)
    base = Tensor(np.random.default_rng(5).standard_normal((4, 3)) + np.eye(4, 3) * 3)
    assert gradcheck(lambda t: A.linalg.qr(t * 0.3 + base), (a,))
    # Distinct singular values, kept apart and off 0 (where svdvals has a kink: hypothesis
    # found t with t + diag(6, 3, 1) singular): 0.25·t moves each by at most 0.25·√12 < 0.9.
    spread = Tensor(np.eye(4, 3) * np.array([8.0, 4.0, 2.0]))
    assert gradcheck(lambda t: A.linalg.svdvals(t * 0.25 + spread), (a,))
    assert gradcheck(lambda t: (lambda u, s, v: (u * s.unsqueeze(-2)) @ v)(
        *A.linalg.svd(t * 0.25 + spread, full_matrices=False)), (a,))
    sym_fn = lambda t: A.linalg.eigh(t.T @ t + Tensor(np.diag([6.0, 3.0, 0.0]))).eigenvalues  # noqa: E731
    assert gradcheck(sym_fn, (a,))
    assert gradcheck(lambda t: A.linalg.cholesky(t.T @ t + Tensor(np.eye(3))), (a,))
    assert gradcheck(lambda t: A.linalg.pinv(t + Tensor(np.eye(4, 3) * 3)), (a,))


def test_hessian_vector_products_through_linalg():
    a = Tensor(spd(3), requires_grad=True)
    assert A.gradgradcheck(lambda t: A.linalg.inv(t), (a,))
    assert A.gradgradcheck(lambda t: A.linalg.det(t), (a,))
    # cholesky reads one triangle: differentiate it on symmetric inputs, as PyTorch means it
    assert A.gradgradcheck(lambda t: A.linalg.cholesky(t @ t.mT), (a,))
    assert A.gradgradcheck(lambda t: A.einsum("ij,jk->ik", t, t), (a,))
    b = Tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True)
    assert A.gradgradcheck(lambda t, r: A.linalg.solve(t, r), (a, b))


def test_errors():
    with pytest.raises(RuntimeError, match="linalg.det: A must be batches of square matrices"):
        A.linalg.det(Tensor(np.zeros((2, 3))))
    with pytest.raises(RuntimeError, match="linalg.inv: .*singular"):
        A.linalg.inv(Tensor(np.zeros((2, 2))))
    with pytest.raises(RuntimeError, match="linalg.cholesky: the input .* is not positive-definite"):
        A.linalg.cholesky(Tensor(-np.eye(2)))
    with pytest.raises(RuntimeError, match=r"einsum\(\): operands do not broadcast"):
        A.einsum("ij,jk->ik", Tensor(np.zeros((2, 3))), Tensor(np.zeros((4, 2))))
    with pytest.raises(RuntimeError, match="bmm: expected 3D tensors"):
        Tensor(np.zeros((2, 2))).bmm(Tensor(np.zeros((2, 2))))
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        Tensor(np.zeros((2, 2))).dot(Tensor(np.zeros(2)))


def test_einsum_result_has_its_own_memory():
    a = Tensor(np.arange(6.0).reshape(2, 3))
    t = A.einsum("ij->ji", a)
    assert not np.shares_memory(t._data, a._data)
