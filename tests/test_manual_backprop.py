"""A makemore-style manual backprop exercise, run on ndgrad with PyTorch's code.

The well-known "backprop ninja" exercise: a character-level MLP (embedding, linear,
batch norm, tanh, linear, cross entropy) whose forward pass is broken into small
steps; every intermediate gradient is then derived by hand and compared with autograd.
Written in our own words; the same source runs with ``T = autograd`` (and
``F = nn.functional``) or with ``T = torch``, only the import switched.
"""
import numpy as np
import pytest

import autograd
import nn.functional as nnF


def _model(T, F, seed=42, from_numpy=False):
    """The exercise's parameters, drawn with a ``Generator`` as in its notebook (or from
    NumPy, to give torch and ndgrad the same numbers: their generators differ)."""
    if from_numpy:
        rng0 = np.random.default_rng(seed)

        class _G:  # the same calls, answered from NumPy
            @staticmethod
            def randn(shape, generator=None):
                shape = shape if isinstance(shape, tuple) else (shape,)
                return T.tensor(rng0.standard_normal(shape).astype(np.float32))
        T_rand, g = _G, None
    else:
        T_rand, g = T, T.Generator().manual_seed(seed)
    vocab, n_embd, block, hidden, n = 27, 10, 3, 64, 32
    C = T_rand.randn((vocab, n_embd), generator=g)
    W1 = T_rand.randn((n_embd * block, hidden), generator=g) * (5 / 3) / (n_embd * block) ** 0.5
    b1 = T_rand.randn(hidden, generator=g) * 0.1
    W2 = T_rand.randn((hidden, vocab), generator=g) * 0.1
    b2 = T_rand.randn(vocab, generator=g) * 0.1
    bngain = T_rand.randn((1, hidden), generator=g) * 0.1 + 1.0
    bnbias = T_rand.randn((1, hidden), generator=g) * 0.1
    params = [C, W1, b1, W2, b2, bngain, bnbias]
    for p in params:
        p.requires_grad = True
    rng = np.random.default_rng(seed)
    Xb = T.tensor(rng.integers(0, vocab, (n, block)))
    Yb = T.tensor(rng.integers(0, vocab, n))
    return params, Xb, Yb, n


def _forward(T, F, params, Xb, Yb, n):
    C, W1, b1, W2, b2, bngain, bnbias = params
    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff ** 2
    bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = T.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum ** -1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    names = dict(logprobs=logprobs, probs=probs, counts_sum_inv=counts_sum_inv,
                 counts_sum=counts_sum, counts=counts, norm_logits=norm_logits,
                 logit_maxes=logit_maxes, logits=logits, h=h, hpreact=hpreact, bnraw=bnraw,
                 bnvar_inv=bnvar_inv, bnvar=bnvar, bndiff2=bndiff2, bndiff=bndiff,
                 hprebn=hprebn, bnmeani=bnmeani, embcat=embcat, emb=emb)
    for t in names.values():
        t.retain_grad()
    return loss, names


def _by_hand(T, F, params, Xb, Yb, n, v):
    """Every gradient derived by hand, with the same tensor API."""
    C, W1, b1, W2, b2, bngain, bnbias = params
    d = {}
    dlogprobs = T.zeros_like(v["logprobs"])
    dlogprobs[range(n), Yb] = -1.0 / n
    d["logprobs"] = dlogprobs
    d["probs"] = (1.0 / v["probs"]) * dlogprobs
    d["counts_sum_inv"] = (v["counts"] * d["probs"]).sum(1, keepdim=True)
    dcounts = v["counts_sum_inv"] * d["probs"]
    d["counts_sum"] = -v["counts_sum"] ** -2 * d["counts_sum_inv"]
    dcounts += T.ones_like(v["counts"]) * d["counts_sum"]
    d["counts"] = dcounts
    d["norm_logits"] = v["counts"] * dcounts
    dlogits = d["norm_logits"].clone()
    d["logit_maxes"] = -d["norm_logits"].sum(1, keepdim=True)
    dlogits += F.one_hot(v["logits"].max(1).indices, num_classes=v["logits"].shape[1]) * d["logit_maxes"]
    d["logits"] = dlogits
    d["h"] = dlogits @ W2.T
    d["hpreact"] = (1.0 - v["h"] ** 2) * d["h"]
    d["bnraw"] = bngain * d["hpreact"]
    dbndiff = v["bnvar_inv"] * d["bnraw"]
    d["bnvar_inv"] = (v["bndiff"] * d["bnraw"]).sum(0, keepdim=True)
    d["bnvar"] = -0.5 * (v["bnvar"] + 1e-5) ** -1.5 * d["bnvar_inv"]
    d["bndiff2"] = 1.0 / (n - 1) * T.ones_like(v["bndiff2"]) * d["bnvar"]
    dbndiff += 2 * v["bndiff"] * d["bndiff2"]
    d["bndiff"] = dbndiff
    dhprebn = dbndiff.clone()
    d["bnmeani"] = -dbndiff.sum(0, keepdim=True)
    dhprebn += 1.0 / n * T.ones_like(v["hprebn"]) * d["bnmeani"]
    d["hprebn"] = dhprebn
    d["embcat"] = dhprebn @ W1.T
    d["emb"] = d["embcat"].view(v["emb"].shape)
    grads = dict(W2=v["h"].T @ dlogits, b2=dlogits.sum(0), bngain=(v["bnraw"] * d["hpreact"]).sum(0, keepdim=True),
                 bnbias=d["hpreact"].sum(0, keepdim=True), W1=v["embcat"].T @ dhprebn, b1=dhprebn.sum(0))
    dC = T.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            dC[Xb[k, j]] += d["emb"][k, j]
    grads["C"] = dC
    return d, grads


def _run(T, F, from_numpy=False):
    params, Xb, Yb, n = _model(T, F, from_numpy=from_numpy)
    loss, v = _forward(T, F, params, Xb, Yb, n)
    for p in params:
        p.grad = None
    loss.backward()
    with T.no_grad():
        d, grads = _by_hand(T, F, params, Xb, Yb, n, v)
    return params, loss, v, d, grads


def _close(a, b, atol=1e-6):
    return np.allclose(np.asarray(a.detach()), np.asarray(b.detach()), atol=atol)


def test_every_hand_derived_gradient_matches_autograd():
    params, loss, v, d, grads = _run(autograd, nnF)
    for name, manual in d.items():
        assert _close(manual, v[name].grad), name
    C, W1, b1, W2, b2, bngain, bnbias = params
    for name, p in dict(C=C, W1=W1, b1=b1, W2=W2, b2=b2, bngain=bngain, bnbias=bnbias).items():
        assert _close(grads[name], p.grad), name
    # the fused forms of the exercise: cross_entropy's and batch norm's gradients in one step
    n = d["logits"].shape[0]
    dlogits = nnF.softmax(v["logits"], 1)
    dlogits[range(n), _model(autograd, nnF)[2]] -= 1
    assert _close(dlogits / n, v["logits"].grad)
    assert np.isfinite(loss.item()) and 3.0 < loss.item() < 4.5


def test_same_numbers_as_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as tF
    ours = _run(autograd, nnF, from_numpy=True)
    theirs = _run(torch, tF, from_numpy=True)
    assert abs(ours[1].item() - theirs[1].item()) < 1e-5
    for name in ours[3]:
        assert np.allclose(ours[3][name].numpy(), theirs[3][name].numpy(), atol=1e-5), name
