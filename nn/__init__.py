"""ndgrad's neural-network library, in the style of ``torch.nn``.

* ``Module``, ``Parameter`` and the containers ``Sequential``, ``ModuleList``, ``ModuleDict``,
  ``ParameterList``, ``ParameterDict`` (module.py)
* layers: ``Linear``, ``Conv1d``, ``Conv2d``, ``ConvTranspose2d``, pooling, batch/group/
  instance norm, dropout, activations, losses (linear.py, conv.py, pooling.py,
  normalization.py, dropout.py, activation.py, loss.py), ``Embedding``, ``Upsample``, ...
  (layers_extra.py), ``RNN``/``LSTM``/``GRU`` (rnn.py), ``MultiheadAttention``
  (attention.py), ``Transformer`` (transformer.py), all calling ``nn.functional``
  (functional.py, with functional_act.py, functional_loss.py, functional_resize.py)
* ``nn.init`` (weight initialisation), ``nn.optim`` (optimizers and LR schedulers; more in
  optimizers.py and lr_scheduler.py), ``nn.utils`` (gradient clipping, ``utils.rnn``),
  ``nn.save`` / ``nn.load`` (state dicts as safetensors), data utilities (``Dataset``,
  ``TensorDataset``, ``DataLoader``, samplers, MNIST loaders; data.py, dataloader.py,
  samplers.py)
"""
import os as _os


def _check_autograd():
    """Fail early, and clearly, if ``import autograd`` finds some other package.

    An unrelated PyPI project (HIPS autograd) is also imported as ``autograd``; if it is
    installed, it can shadow this project's engine and every import below would fail in
    a confusing way."""
    here = _os.path.dirname(_os.path.dirname(_os.path.realpath(__file__)))
    try:
        import autograd
    except ImportError as e:
        raise ImportError(f"nn needs ndgrad's autograd package (expected in {here}), but "
                          f"'import autograd' failed: {e}") from e
    found = getattr(autograd, "__file__", None)
    ours = (found is not None
            and _os.path.dirname(_os.path.dirname(_os.path.realpath(found))) == here
            and hasattr(autograd, "Function") and hasattr(autograd, "Scalar"))
    if not ours:
        raise ImportError(
            f"'import autograd' found a different package: {found or autograd!r}, not "
            f"ndgrad's engine in {_os.path.join(here, 'autograd')}. Probably the unrelated "
            f"PyPI project 'autograd' is installed and shadows it: run `pip uninstall "
            f"autograd` (or run from the ndgrad checkout).")


_check_autograd()

from . import init  # noqa: E402
from .module import (Parameter, Module, Sequential, ModuleList, ModuleDict,  # noqa: E402
                     ParameterList, ParameterDict)

from . import optim  # noqa: E402
from .serialization import save, load  # noqa: E402
from .data import (Dataset, ArrayDataset, TensorDataset, Subset, random_split,  # noqa: E402
                   DataLoader, default_collate)
from . import data  # noqa: E402

from . import functional  # noqa: E402
from .linear import Identity, Linear, Flatten, Unflatten  # noqa: E402
from .conv import Conv1d, Conv2d, ConvTranspose2d  # noqa: E402
from .pooling import MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool2d  # noqa: E402
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: E402
from .dropout import Dropout  # noqa: E402
from .activation import ReLU, LeakyReLU, Tanh, Sigmoid, Softmax, LogSoftmax  # noqa: E402
from .loss import CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCEWithLogitsLoss  # noqa: E402
from .activation import (GELU, SiLU, ELU, SELU, CELU, ReLU6, Hardtanh, Hardswish,  # noqa: E402
                         Hardsigmoid, Mish, Softsign, Softmin, Tanhshrink, Softshrink,
                         Hardshrink, GLU, LogSigmoid, Softplus, Threshold, PReLU)
from .loss import (HuberLoss, SmoothL1Loss, KLDivLoss, PoissonNLLLoss,  # noqa: E402
                   GaussianNLLLoss, CosineEmbeddingLoss, MarginRankingLoss, HingeEmbeddingLoss,
                   TripletMarginLoss, MultiMarginLoss, SoftMarginLoss, MultiLabelSoftMarginLoss,
                   MultiLabelMarginLoss, BCELoss, CTCLoss)
from .normalization import (GroupNorm, InstanceNorm1d, InstanceNorm2d,  # noqa: E402
                            InstanceNorm3d, LocalResponseNorm)
from .layers_extra import (Embedding, Upsample, UpsamplingNearest2d,  # noqa: E402
                           UpsamplingBilinear2d, PixelShuffle, PixelUnshuffle, AdaptiveMaxPool1d,
                           AdaptiveMaxPool2d, Dropout1d, Dropout2d, Dropout3d, AlphaDropout,
                           CosineSimilarity, PairwiseDistance, Unfold, Fold, Bilinear,
                           ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d,
                           ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                           ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, CircularPad1d,
                           CircularPad2d, CircularPad3d, EmbeddingBag)
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell  # noqa: E402
from .attention import MultiheadAttention  # noqa: E402
from .transformer import (Transformer, TransformerEncoder, TransformerDecoder,  # noqa: E402
                          TransformerEncoderLayer, TransformerDecoderLayer)
from . import utils  # noqa: E402
