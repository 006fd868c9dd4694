"""Loading a state dict into a module: ``Module.load_state_dict``'s checks and copies.

Values are copied into the existing parameters and buffers in place (cast to their
dtype), as PyTorch does, so optimizers holding the Parameters keep working; a live graph
that saved the old values becomes stale (its backward raises, see ``autograd.saved``).
Missing and unexpected keys (with ``strict``), shape mismatches and non-numeric values
are reported together in one RuntimeError, in PyTorch's words.
"""
from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from autograd import Tensor, no_grad
from autograd.saved import prepare_write

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def load_state_dict(module, state_dict, strict=True):
    """See ``Module.load_state_dict``."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing, errors = [], []
    expected = set()
    for module_prefix, m in module.named_modules():
        p = module_prefix + "." if module_prefix else ""
        locals_ = [(n, t) for n, t in m._parameters.items() if t is not None]
        locals_ += [(n, t) for n, t in m._buffers.items()
                    if t is not None and n not in m._non_persistent_buffers_set]
        for name, target in locals_:
            key = p + name
            expected.add(key)
            if key not in state_dict:
                missing.append(key)
                continue
            value = state_dict[key]
            arr = value._data if isinstance(value, Tensor) else np.asarray(value)
            if not isinstance(arr, np.ndarray):
                arr = np.asarray(arr)
            if arr.dtype.kind not in "biuf":  # strings, objects, ...: no number to copy
                what = (f"an array of dtype {arr.dtype}" if isinstance(value, np.ndarray)
                        else f"{type(value).__name__} {value!r:.40}")
                errors.append(f'While copying the parameter named "{key}", expected a '
                              f'numeric array or Tensor from checkpoint but received {what}.')
                continue
            if arr.shape != target._data.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{arr.shape} from checkpoint, the shape in current model is "
                              f"{target._data.shape}.")
                continue
            _copy_into(target, arr)
    unexpected = [k for k in state_dict if k not in expected]
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {module._get_name()}:\n\t"
                           + "\n\t".join(errors))
    return IncompatibleKeys(missing, unexpected)


def _copy_into(target, arr):
    """Write ``arr`` into ``target`` in place (cast to its dtype), as PyTorch does: a live
    graph that saved the old values becomes stale (its backward raises). Memory that is
    read-only for another reason (a file mapped read-only) is replaced by a fresh array."""
    with no_grad():
        try:
            prepare_write(target._data, "load_state_dict")
        except RuntimeError:
            target._data = arr.astype(target._data.dtype, copy=True)
        else:
            np.copyto(target._data, arr, casting="unsafe")
        target._version += 1
