"""A CNN digit classifier in the shape of PyTorch's classic ``examples/mnist/main.py``
(two convolutions, max pooling, dropout, two linear layers, log-softmax + NLL loss,
Adadelta with a StepLR schedule, batches from a DataLoader), written for this project.

The same source runs on ndgrad or on PyTorch; only the import block below differs
(``NDGRAD_BACKEND=torch python examples/mnist_cnn.py`` for PyTorch). Data: scikit-learn's
bundled 8x8 digits when available, else a synthetic set of noisy class prototypes.
"""
import os

import numpy as np

if os.environ.get("NDGRAD_BACKEND", "ndgrad") == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import StepLR
    from torch.utils.data import DataLoader, TensorDataset
else:
    import autograd as torch
    import nn
    import nn.functional as F
    from nn import optim
    from nn.optim.lr_scheduler import StepLR
    from nn.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, dropout=(0.25, 0.5)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1)
        self.dropout1 = nn.Dropout(dropout[0])
        self.dropout2 = nn.Dropout(dropout[1])
        self.fc1 = nn.Linear(32 * 3 * 3, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def get_data(n=512, seed=0):
    """(images (N, 1, 8, 8) float32 in [0, 1], labels (N,) int64) as NumPy arrays."""
    try:
        from sklearn.datasets import load_digits
        d = load_digits()
        x, y = d.images[:n].astype(np.float32) / 16.0, d.target[:n].astype(np.int64)
    except ImportError:
        rng = np.random.default_rng(seed)
        protos = rng.random((10, 8, 8)).astype(np.float32)
        y = rng.integers(0, 10, n)
        x = np.clip(protos[y] + 0.2 * rng.standard_normal((n, 8, 8)), 0, 1).astype(np.float32)
    return x.reshape(-1, 1, 8, 8), y


def train(model, steps=30, batch_size=64, lr=1.0, dtype=None, shuffle=False):
    """Train for ``steps`` minibatches (epochs of the DataLoader, repeated); returns the
    losses."""
    x_all, y_all = get_data()
    dataset = TensorDataset(torch.tensor(x_all, dtype=dtype or torch.float32),
                            torch.tensor(y_all))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=True)
    optimizer = optim.Adadelta(model.parameters(), lr=lr)
    scheduler = StepLR(optimizer, step_size=10, gamma=0.7)
    model.train()
    losses = []
    while len(losses) < steps:
        for data, target in loader:
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return losses


def accuracy(model, dtype=None):
    x_all, y_all = get_data()
    model.eval()
    with torch.no_grad():
        pred = model(torch.tensor(x_all, dtype=dtype or torch.float32)).argmax(dim=1)
    return float((pred == torch.tensor(y_all)).float().mean().item())


if __name__ == "__main__":
    torch.manual_seed(1)
    model = Net()
    for i, loss in enumerate(train(model, steps=60, shuffle=True)):
        if i % 10 == 0:
            print(f"step {i:3d}  loss {loss:.4f}")
    print(f"train accuracy {accuracy(model):.3f}")
