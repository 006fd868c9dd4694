"""The op library, grouped by kind. Each op is a Function with forward and backward side by side."""
from .elementwise import (Add, Sub, Mul, Div, Neg, Pow, PowScalar, Exp, Log, Sqrt, Tanh,  # noqa: F401
                          Sigmoid, SigmoidBackward, TanhBackward, Relu, ReluBackward, Abs, Sign, Clamp, Maximum, Minimum, Where, Cast)
from .reduce import (Sum, Mean, SumToShape, Expand, AMax, AMin, Var, LogSumExp,  # noqa: F401
                     Softmax, LogSoftmax)
from .shape import Reshape, Permute, Transpose, GetItem, IndexAdd, Cat, Pad  # noqa: F401
from .linalg import MatMul  # noqa: F401
from .spatial import Unfold, Fold, MaxPool2d, MaxPoolScatter, MaxPoolGather, AvgPool2d, AvgPoolScatter  # noqa: F401
from .assign import IndexPut  # noqa: F401
