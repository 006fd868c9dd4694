"""A tiny GPT-style character model in the spirit of Karpathy's "Let's build GPT" / minGPT:
token and position embeddings, pre-LayerNorm transformer blocks with causal multi-head
self-attention written with ``einsum`` (scores masked with ``masked_fill`` on a ``tril``
mask), a GELU MLP, weight decay with AdamW and a cosine schedule; written for this project.

The same source runs on ndgrad or on PyTorch; only the import block below differs
(``NDGRAD_BACKEND=torch python examples/tiny_gpt.py`` for PyTorch).
"""
import math
import os

import numpy as np

if os.environ.get("NDGRAD_BACKEND", "ndgrad") == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
else:
    import autograd as torch
    import nn
    import nn.functional as F
    from nn import optim

TEXT = ("first citizen: before we proceed any further, hear me speak. all: speak, speak. "
        "first citizen: you are all resolved rather to die than to famish? all: resolved. "
        "resolved. first citizen: first, you know caius marcius is chief enemy to the "
        "people. all: we know't, we know't. ")
CHARS = sorted(set(TEXT))
STOI = {c: i for i, c in enumerate(CHARS)}
BLOCK = 16


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.drop = nn.Dropout(dropout)
        self.register_buffer("mask", torch.tril(torch.ones(BLOCK, BLOCK)), persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head)          # (B, T, H, D)
        k = k.view(B, T, self.n_head, C // self.n_head)
        v = v.view(B, T, self.n_head, C // self.n_head)
        att = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(C // self.n_head)
        att = att.masked_fill(self.mask[:T, :T] == 0, float("-inf"))
        att = self.drop(F.softmax(att, dim=-1))
        y = torch.einsum("bhts,bshd->bthd", att, v).reshape(B, T, C)
        return self.drop(self.proj(y))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(),
                                 nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    def __init__(self, vocab=len(CHARS), n_embd=32, n_head=4, n_layer=2, dropout=0.1):
        super().__init__()
        self.tok = nn.Embedding(vocab, n_embd)
        self.pos = nn.Embedding(BLOCK, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab, bias=False)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.tok(idx) + self.pos(torch.arange(T))
        logits = self.head(self.ln_f(self.blocks(x)))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))


def get_batch(step, batch_size=8):
    """A deterministic batch of windows (the same for every backend)."""
    data = np.array([STOI[c] for c in TEXT], dtype=np.int64)
    rng = np.random.default_rng(step)
    starts = rng.integers(0, len(data) - BLOCK - 1, batch_size)
    x = np.stack([data[s:s + BLOCK] for s in starts])
    y = np.stack([data[s + 1:s + BLOCK + 1] for s in starts])
    return torch.tensor(x), torch.tensor(y)


def train(model, steps=20, lr=3e-3):
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr,
                            betas=(0.9, 0.95))
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    model.train()
    losses = []
    for step in range(steps):
        x, y = get_batch(step)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


if __name__ == "__main__":
    torch.manual_seed(0)
    model = TinyGPT()
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    losses = train(model, steps=200)
    print(" ".join(f"{loss:.3f}" for loss in losses[::20]))
