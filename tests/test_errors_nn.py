"""nn / nn.functional argument misuse (issue 9, sections 3-4): float kernel sizes, strides
and paddings (PyTorch: TypeError; they used to be truncated by the layers), out-of-range
values, and mismatched float dtypes in Linear/Conv/matmul (PyTorch raises instead of
promoting). Each case runs on ndgrad and, when importable, PyTorch.
"""
import numpy as np
import pytest

from errcases import Case, check_ndgrad, check_torch, params

F32, F64 = "float32", "float64"


def img(L, dtype=None):
    return L.A.ones(1, 1, 5, 5, dtype=dtype or L.float32)


def w(L, *shape, dtype=None):
    return L.A.ones(*shape, dtype=dtype or L.float32)


FLOAT_ARGS = [  # TypeError, never truncated
    Case("conv2d-stride-float", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2), stride=1.5),
         raises=(TypeError, r"conv2d\(\): argument 'stride' must be an int or a tuple of 2 "
                            r"ints, but got float")),
    Case("conv2d-padding-float", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2), padding=1.0),
         raises=(TypeError, "argument 'padding'")),
    Case("conv2d-dilation-float", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2), dilation=1.0),
         raises=(TypeError, "argument 'dilation'")),
    Case("conv2d-groups-float", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2), groups=1.0),
         raises=(TypeError, "argument 'groups' must be int, not float")),
    Case("conv2d-stride-bool", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2), stride=True),
         raises=(TypeError, "but got bool")),
    Case("conv2d-stride-tuple-float", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2),
                                                           stride=(1, 1.5)),
         raises=(TypeError, "argument 'stride'")),
    Case("conv1d-stride-float", lambda L: L.F.conv1d(L.A.ones(1, 1, 5), w(L, 1, 1, 2),
                                                     stride=1.5),
         raises=(TypeError, r"conv1d\(\): argument 'stride'")),
    Case("conv-transpose2d-stride-float",
         lambda L: L.F.conv_transpose2d(img(L), w(L, 1, 1, 2, 2), stride=2.0),
         raises=(TypeError, r"conv_transpose2d\(\): argument 'stride'")),
    Case("conv-transpose2d-output-padding-float",
         lambda L: L.F.conv_transpose2d(img(L), w(L, 1, 1, 2, 2), stride=2, output_padding=1.0),
         raises=(TypeError, "argument 'output_padding'")),
    Case("max-pool2d-kernel-float", lambda L: L.F.max_pool2d(img(L), 2.0),
         raises=(TypeError, r"max_pool2d\(\): argument 'kernel_size'")),
    Case("max-pool2d-stride-float", lambda L: L.F.max_pool2d(img(L), 2, 1.5),
         raises=(TypeError, "argument 'stride'")),
    Case("max-pool2d-padding-float", lambda L: L.F.max_pool2d(img(L), 2, 1, 1.0),
         raises=(TypeError, "argument 'padding'")),
    Case("max-pool1d-kernel-float", lambda L: L.F.max_pool1d(L.A.ones(1, 1, 5), 2.0),
         raises=(TypeError, r"max_pool1d\(\)")),
    Case("avg-pool2d-kernel-float", lambda L: L.F.avg_pool2d(img(L), 2.5),
         raises=(TypeError, r"avg_pool2d\(\): argument 'kernel_size'")),
    Case("avg-pool2d-stride-float", lambda L: L.F.avg_pool2d(img(L), 2, 1.5),
         raises=(TypeError, "argument 'stride'")),
    Case("avg-pool1d-kernel-float", lambda L: L.F.avg_pool1d(L.A.ones(1, 1, 5), 2.0),
         raises=(TypeError, r"avg_pool1d\(\)")),
    Case("adaptive-avg-pool2d-float", lambda L: L.F.adaptive_avg_pool2d(img(L), 2.0),
         raises=(TypeError, "argument 'output_size'")),
    Case("unfold-kernel-float", lambda L: L.F.unfold(img(L), 2.0),
         raises=(TypeError, r"unfold\(\): argument 'kernel_size'")),
    Case("fold-kernel-float", lambda L: L.F.fold(L.A.ones(1, 4, 16), (5, 5), 2.0),
         raises=(TypeError, r"fold\(\): argument 'kernel_size'")),
    # layers: these used to truncate 2.5 to 2 and train a different network silently
    Case("Conv2d-kernel-2.5", lambda L: L.nn.Conv2d(1, 1, 2.5)(img(L)),
         raises=(TypeError, "kernel_size must be an int or a tuple of 2 ints, got 2.5")),
    Case("Conv2d-kernel-2.0", lambda L: L.nn.Conv2d(1, 1, 2.0)(img(L)),
         raises=(TypeError, "kernel_size")),
    Case("Conv2d-stride-float", lambda L: L.nn.Conv2d(1, 1, 2, stride=1.5)(img(L)),
         raises=(TypeError, "stride")),
    Case("Conv2d-padding-float", lambda L: L.nn.Conv2d(1, 1, 2, padding=1.0)(img(L)),
         raises=(TypeError, "padding")),
    Case("Conv2d-in-channels-float", lambda L: L.nn.Conv2d(1.0, 1, 2)(img(L)),
         raises=(TypeError, "in_channels must be an int")),
    Case("Conv1d-kernel-float", lambda L: L.nn.Conv1d(1, 1, 2.5)(L.A.ones(1, 1, 5)),
         raises=(TypeError, "kernel_size")),
    Case("ConvTranspose2d-stride-float",
         lambda L: L.nn.ConvTranspose2d(1, 1, 2, stride=1.5)(img(L)),
         raises=(TypeError, "stride")),
    Case("MaxPool2d-2.5", lambda L: L.nn.MaxPool2d(2.5)(img(L)),
         raises=(TypeError, "kernel_size")),
    Case("MaxPool2d-2.0", lambda L: L.nn.MaxPool2d(2.0)(img(L)),
         raises=(TypeError, "kernel_size")),
    Case("AvgPool2d-2.5", lambda L: L.nn.AvgPool2d(2.5)(img(L)),
         raises=(TypeError, "kernel_size")),
    Case("Linear-float-features", lambda L: L.nn.Linear(2.5, 3),
         raises=(TypeError, "sizes must be ints, but got float 2.5")),
    Case("Linear-negative-features", lambda L: L.nn.Linear(-1, 3),
         raises=(RuntimeError, "negative dimension -1")),
]

BAD_VALUES = [  # RuntimeError in torch's functional forms
    Case("conv2d-stride-0", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2), stride=0),
         raises=(RuntimeError, r"conv2d: stride must be positive, got stride=\(0, 0\)")),
    Case("conv2d-padding-negative", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2), padding=-1),
         raises=(RuntimeError, "padding must be non-negative")),
    Case("conv2d-padding-string", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2),
                                                       padding="bogus"),
         raises=(RuntimeError, "padding must be 'valid', 'same'")),
    Case("conv2d-stride-3-tuple", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2),
                                                       stride=(1, 1, 1)),
         raises=(RuntimeError, "stride must be an int or a tuple of 2 ints")),
    Case("conv2d-groups-0", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2), groups=0),
         raises=(RuntimeError, "groups must be a positive int")),
    Case("max-pool2d-kernel-0", lambda L: L.F.max_pool2d(img(L), 0),
         raises=(RuntimeError, "kernel_size must be positive")),
    Case("max-pool2d-kernel-negative", lambda L: L.F.max_pool2d(img(L), -1),
         raises=(RuntimeError, "kernel_size must be positive")),
    Case("max-pool2d-padding-over-half", lambda L: L.F.max_pool2d(img(L), 2, padding=2),
         raises=(RuntimeError, "should be at most half of kernel_size")),
    Case("dropout-p", lambda L: L.F.dropout(L.A.ones(2), -0.5),
         raises=(ValueError, "dropout probability has to be between 0 and 1")),
    Case("Dropout-p", lambda L: L.nn.Dropout(2.0),
         raises=(ValueError, "dropout probability has to be between 0 and 1")),
]

DTYPES = [  # no silent promotion in products
    Case("matmul-f32-f64", lambda L: L.A.ones(2, 3) @ L.A.ones(3, 2, dtype=L.float64),
         raises=(RuntimeError, "expected m1 and m2 to have the same dtype, but got: float32 "
                               "!= float64")),
    Case("matmul-int-float", lambda L: L.A.ones(2, 3, dtype=L.int64) @ L.A.ones(3, 2),
         raises=(RuntimeError, "same dtype")),
    Case("matmul-1d-f32-f64", lambda L: L.A.ones(3) @ L.A.ones(3, dtype=L.float64),
         raises=(RuntimeError, "same dtype")),
    Case("matmul-int-int", lambda L: L.A.ones(2, 3, dtype=L.int64) @ L.A.ones(3, 1,
                                                                              dtype=L.int64),
         value=([[3], [3]], "int64")),
    Case("linear-weight-f64", lambda L: L.F.linear(L.A.ones(2, 3), w(L, 4, 3, dtype=L.float64)),
         raises=(RuntimeError, "linear: mat1 and mat2 must have the same dtype, but got Float "
                               "and Double")),
    Case("linear-bias-f64", lambda L: L.F.linear(L.A.ones(2, 3), w(L, 4, 3),
                                                 w(L, 4, dtype=L.float64)),
         raises=(RuntimeError, "linear: mat1 and bias must have the same dtype")),
    Case("linear-int-input", lambda L: L.F.linear(L.A.ones(2, 3, dtype=L.int64), w(L, 4, 3)),
         raises=(RuntimeError, "got Long and Float")),
    Case("Linear-f64-input", lambda L: L.nn.Linear(3, 4)(L.A.ones(2, 3, dtype=L.float64)),
         raises=(RuntimeError, "mat1 and mat2 must have the same dtype, but got Double and "
                               "Float")),
    Case("Linear-int-input", lambda L: L.nn.Linear(3, 4)(L.A.ones(2, 3, dtype=L.int64)),
         raises=(RuntimeError, "got Long and Float")),
    Case("conv2d-weight-f64", lambda L: L.F.conv2d(img(L), w(L, 1, 1, 2, 2, dtype=L.float64)),
         raises=(RuntimeError, r"conv2d: Input type \(float32\) and weight type \(float64\) "
                               r"should be the same")),
    Case("Conv2d-f64-input", lambda L: L.nn.Conv2d(1, 1, 2)(img(L, L.float64)),
         raises=(RuntimeError, r"Input type \(float64\) and weight type \(float32\)")),
    Case("conv1d-bias-f64", lambda L: L.F.conv1d(L.A.ones(1, 1, 5), w(L, 1, 1, 2),
                                                 w(L, 1, dtype=L.float64)),
         raises=(RuntimeError, r"bias type \(float64\) should be the same")),
    Case("mse-f32-f64", lambda L: L.F.mse_loss(L.A.ones(3), L.A.zeros(3, dtype=L.float64)),
         value=(1.0, F64)),
    Case("einsum-f32-f64", lambda L: L.A.einsum("ij,jk->ik", L.A.ones(2, 3),
                                                L.A.ones(3, 2, dtype=L.float64)),
         raises=(RuntimeError, "einsum.*same dtype")),
    Case("BatchNorm1d-f64-input", lambda L: L.nn.BatchNorm1d(3)(L.A.ones(2, 3, dtype=L.float64)),
         raises=(RuntimeError, "batch_norm: mixed dtype: all inputs must share the same")),
    Case("LayerNorm-f64-input", lambda L: L.nn.LayerNorm(3)(L.A.ones(2, 3, dtype=L.float64)),
         raises=(RuntimeError, "LayerNorm: mixed dtype")),
    Case("layer-norm-f64-weight", lambda L: L.F.layer_norm(L.A.ones(2, 3), (3,),
                                                           w(L, 3, dtype=L.float64)),
         raises=(RuntimeError, "layer_norm: mixed dtype")),
]

MORE_INTS = [
    Case("one-hot-float-classes", lambda L: L.F.one_hot(L.t([0, 1]), 2.5),
         raises=(TypeError, r"one_hot\(\): argument 'num_classes' must be int, not float")),
    Case("pixel-shuffle-float", lambda L: L.F.pixel_shuffle(L.A.ones(1, 4, 2, 2), 2.0),
         raises=(TypeError, r"pixel_shuffle\(\): argument 'upscale_factor' must be int")),
    Case("pixel-unshuffle-float", lambda L: L.F.pixel_unshuffle(L.A.ones(1, 1, 4, 4), 2.0),
         raises=(TypeError, r"pixel_unshuffle\(\): argument 'downscale_factor' must be int")),
]

LOSSES = [
    Case("cross-entropy-float-class-indices",
         lambda L: L.F.cross_entropy(L.A.ones(2, 3), L.t([0.0, 1.0])),
         raises=(RuntimeError, "cross_entropy: expected target dtype to be Long")),
    Case("nll-float-class-indices", lambda L: L.F.nll_loss(L.A.ones(2, 3), L.t([0.0, 1.0])),
         raises=(RuntimeError, "nll_loss: expected integer class indices")),
    Case("cross-entropy-target-out-of-bounds",
         lambda L: L.F.cross_entropy(L.A.ones(2, 3), L.t([0, 3])),
         raises=(IndexError, "target 3 is out of bounds for 3 classes")),
    Case("cross-entropy-target-negative",
         lambda L: L.F.cross_entropy(L.A.ones(2, 3), L.t([0, -1])),
         raises=(IndexError, "target -1 is out of bounds")),
    Case("bce-target-shape", lambda L: L.F.binary_cross_entropy(L.A.ones(2) * 0.5, L.A.ones(3)),
         raises=(ValueError, r"target size \(3,\) must be the same as input size \(2,\)")),
    Case("bce-input-out-of-range",
         lambda L: L.F.binary_cross_entropy(L.A.ones(2) * 1.5, L.A.ones(2)),
         raises=(RuntimeError, "all elements of input should be between 0 and 1")),
    Case("batch-norm-running-mean-size",
         lambda L: L.F.batch_norm(L.A.ones(2, 3), L.A.zeros(4), L.A.ones(4)),
         raises=(RuntimeError, "running_mean")),
    Case("softmax-dim-out-of-range", lambda L: L.F.softmax(L.A.ones(2, 2, 2), dim=5),
         raises=(IndexError, "dim 5 is out of range")),
]

ALL = FLOAT_ARGS + BAD_VALUES + DTYPES + LOSSES + MORE_INTS


@pytest.mark.parametrize("case", params(ALL))
def test_ndgrad(case):
    check_ndgrad(case)


@pytest.mark.parametrize("case", params(ALL))
def test_same_as_torch(case):
    check_torch(case)


def test_float_kernel_never_truncated():
    """The silent wrong result this replaces: Conv2d(1, 1, 2.5) built a 2x2 kernel."""
    import nn
    with pytest.raises(TypeError):
        nn.Conv2d(1, 1, 2.5)
    assert nn.Conv2d(1, 1, 2).weight.shape == (1, 1, 2, 2)
    assert np.asarray(nn.Conv2d(1, 1, (2, 3)).weight.shape).tolist() == [1, 1, 2, 3]
