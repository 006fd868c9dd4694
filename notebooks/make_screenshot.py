"""Make the README's screenshot: the step-through page of one LeNet-5 training step,
stopped halfway through backward, as rendered by headless Chromium.

    python notebooks/make_screenshot.py [OUT.png]     (default notebooks/images/...)

Needs graphviz's ``dot``, the ``playwright`` package and Debian's ``chromium``. The
batch is 8 of scikit-learn's 8x8 digits, scaled up 3x and padded to 28x28."""
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import autograd  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
from nn.models import LeNet5  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def digits_batch(n=8):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = np.kron(d.images[:n], np.ones((3, 3))) / 16.0          # (n, 24, 24)
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)))[:, None].astype(np.float32)
    return autograd.Tensor(x, name="digits"), autograd.Tensor(d.target[:n])


def lenet_page(path):
    autograd.manual_seed(0)
    model = LeNet5()
    x, y = digits_batch()
    loss = F.cross_entropy(model(x), y)
    return autograd.step_through(loss, path, params=dict(model.named_parameters()),
                                 group_by="module")


def screenshot(html_path, png_path, step=None):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto("file://" + os.path.abspath(html_path))
        total = int(page.inner_text("#step-index").split("/")[1])
        for _ in range(total // 2 if step is None else step):
            page.keyboard.press("ArrowRight")
        page.screenshot(path=png_path, full_page=False)
        browser.close()
    return png_path


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "images",
                                                             "step_through_lenet5.png")
    with tempfile.TemporaryDirectory() as tmp:
        html = os.path.join(tmp, "lenet5.html")
        page = lenet_page(html)
        print(f"{len(page)} backward steps; screenshot at step {len(page) // 2} -> {out}")
        screenshot(html, out)
