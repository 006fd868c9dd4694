"""A character-level LSTM language model in the spirit of Karpathy's char-rnn and PyTorch's
``examples/word_language_model`` (embedding, stacked LSTM, linear decoder, truncated
backpropagation through time with the hidden state carried over and detached, gradient
clipping, Adam), written for this project.

The same source runs on ndgrad or on PyTorch; only the import block below differs
(``NDGRAD_BACKEND=torch python examples/char_rnn.py`` for PyTorch).
"""
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

TEXT = ("the quick brown fox jumps over the lazy dog. " * 3
        + "a stitch in time saves nine. all that glitters is not gold. " * 3
        + "to be or not to be, that is the question. ")
CHARS = sorted(set(TEXT))
STOI = {c: i for i, c in enumerate(CHARS)}


class CharLSTM(nn.Module):
    def __init__(self, vocab=len(CHARS), embed=16, hidden=32, layers=2, dropout=0.2):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, dropout=dropout,
                            batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)
        return self.decoder(out), state


def batches(seq_len=16, batch_size=4):
    """Consecutive (input, target) windows of the text for each of ``batch_size`` streams."""
    data = np.array([STOI[c] for c in TEXT], dtype=np.int64)
    per = len(data) // batch_size
    streams = data[:per * batch_size].reshape(batch_size, per)
    for lo in range(0, per - seq_len - 1, seq_len):
        yield streams[:, lo:lo + seq_len], streams[:, lo + 1:lo + seq_len + 1]


def train(model, steps=20, lr=0.01, clip=1.0):
    """Truncated BPTT over the text, several passes; returns the losses."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    while len(losses) < steps:
        state = None
        for x, y in batches():
            if len(losses) == steps:
                break
            if state is not None:  # keep the values, cut the graph (truncated BPTT)
                state = tuple(s.detach() for s in state)
            logits, state = model(torch.tensor(x), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   torch.tensor(y).reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())
    return losses


def sample(model, start="t", length=60):
    """Greedy decoding from ``start``."""
    model.eval()
    idx = [STOI[c] for c in start]
    state = None
    with torch.no_grad():
        x = torch.tensor(np.array([idx], dtype=np.int64))
        for _ in range(length):
            logits, state = model(x, state)
            nxt = int(logits[0, -1].argmax().item())
            idx.append(nxt)
            x = torch.tensor(np.array([[nxt]], dtype=np.int64))
    return "".join(CHARS[i] for i in idx)


if __name__ == "__main__":
    torch.manual_seed(0)
    model = CharLSTM()
    losses = train(model, steps=300)
    print(" ".join(f"{loss:.3f}" for loss in losses[::30]))
    print(repr(sample(model)))
