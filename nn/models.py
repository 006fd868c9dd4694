"""Small image classifiers for ``ndgrad-train``, registered by name.

* ``SmallCNN`` ("small-cnn"): two 3x3 conv blocks and a two-layer head; made for the 8x8
  digits (about 12k parameters) but works for any square input whose side is divisible by 4.
* ``LeNet5`` ("lenet5"): the classic LeNet-5 layout for 28x28 MNIST with ReLU and max
  pooling: conv 1->20 k5 p2, relu, maxpool 2, conv 20->50 k5 p2, relu, maxpool 2, flatten,
  linear 2450->500, relu, linear 500->10 (about 1.3M parameters).

Both are ``features`` (conv part) followed by ``classifier`` (flatten + linear part), each an
``nn.Sequential`` with named layers, so parameter names read ``features.conv1.weight`` and
``autograd.draw_graph(..., group_by="module")`` clusters the graph by layer.

``build_model(name, ...)`` makes one by name; ``register_model(name)`` adds your own::

    @register_model("tiny-mlp")
    def tiny_mlp(in_channels=1, num_classes=10, input_size=8):
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * input_size ** 2, num_classes))
"""
from collections import OrderedDict

from . import module as _module

__all__ = ["SmallCNN", "LeNet5", "MODELS", "register_model", "build_model", "model_names"]

MODELS = {}


def register_model(name):
    """Decorator: register a builder ``fn(in_channels=, num_classes=, input_size=)`` under
    ``name`` so that ``build_model(name)`` and ``ndgrad-train --model name`` find it."""
    def decorator(builder):
        if name in MODELS:
            raise ValueError(f"a model named {name!r} is already registered")
        MODELS[name] = builder
        return builder
    return decorator


def model_names():
    return sorted(MODELS)


def build_model(name, in_channels=1, num_classes=10, input_size=None):
    """The registered model ``name`` for ``in_channels`` x ``input_size`` x ``input_size``
    images and ``num_classes`` classes (``input_size=None``: the model's default)."""
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(model_names())}") \
            from None
    kwargs = dict(in_channels=in_channels, num_classes=num_classes)
    if input_size is not None:
        kwargs["input_size"] = input_size
    return builder(**kwargs)


def _layers():
    # Imported lazily: the layer modules need nn.functional.
    import nn
    return nn


def _check_size(model, input_size, factor):
    if input_size < factor or input_size % factor:
        raise ValueError(f"{model} needs input_size divisible by {factor}, got {input_size}")


class _Classifier(_module.Module):
    """``features`` then ``classifier``."""

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model("small-cnn")
class SmallCNN(_Classifier):
    """conv 3x3 (c->16), relu, maxpool 2, conv 3x3 (16->32), relu, maxpool 2, flatten,
    linear (32*(s/4)^2 -> hidden), relu, linear (hidden -> num_classes). Padding 1 keeps
    each conv's output the size of its input, so 8x8 digits become 32x2x2 = 128 features."""

    def __init__(self, in_channels=1, num_classes=10, input_size=8, width=16, hidden=64):
        super().__init__()
        nn = _layers()
        _check_size("SmallCNN", input_size, 4)
        self.input_size = input_size
        side = input_size // 4
        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(in_channels, width, kernel_size=3, padding=1)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(width, 2 * width, kernel_size=3, padding=1)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(2 * width * side * side, hidden)),
            ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(hidden, num_classes)),
        ]))


@register_model("lenet5")
class LeNet5(_Classifier):
    """LeNet-5 with ReLU and max pooling: conv 5x5 (c->20, padding 2), relu, maxpool 2,
    conv 5x5 (20->50, padding 2), relu, maxpool 2, flatten, linear (50*(s/4)^2 -> 500),
    relu, linear (500 -> num_classes). For 28x28 inputs the flattened size is 2450."""

    def __init__(self, in_channels=1, num_classes=10, input_size=28):
        super().__init__()
        nn = _layers()
        _check_size("LeNet5", input_size, 4)
        self.input_size = input_size
        side = input_size // 4
        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(in_channels, 20, kernel_size=5, padding=2)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(20, 50, kernel_size=5, padding=2)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(50 * side * side, 500)),
            ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(500, num_classes)),
        ]))
