"""Saving and loading state dicts: ``save(obj, path)`` and ``load(path)``, in safetensors.

``obj`` is a (possibly nested) dict of arrays -- ``autograd.Tensor`` or NumPy -- and plain
values: None, bool, int, float, str, and lists/tuples/dicts of these. That covers a
``Module.state_dict()``, an ``Optimizer.state_dict()`` and checkpoints such as
``{'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3}``.

The file is a `safetensors <https://github.com/huggingface/safetensors>`_ file written by
the ``safetensors`` package: an 8-byte header length, a JSON header naming every array
(dtype, shape, byte offsets), then the raw little-endian bytes. Nothing in it can run code.
The arrays are named by their path in ``obj``, joined with ``/``; a flat state dict keeps
its own keys, so ``safetensors.torch.load_file(path)`` gives PyTorch the very state dict
``model.load_state_dict`` expects. The header's ``__metadata__`` (strings only) holds::

    "ndgrad.format": "ndgrad.state",  "ndgrad.version": "2",  "ndgrad": "<package version>",
    "ndgrad.crc32": CRC-32 of the arrays' bytes in name order (safetensors has no checksum),
    "ndgrad.tree": JSON rebuilding obj, e.g.
        {"__dict__": [["model", {"__dict__": [["fc.weight", {"__array__": "model/fc.weight"}]]}],
                      ["epoch", 3]]}

``tree``: JSON scalars stand for themselves; ``{"__array__": name}`` is an array
(``"scalar": true`` for a NumPy scalar, ``"dtype"`` when it was not little-endian);
``{"__dict__": [[key, value], ...]}`` keeps key order and int keys (an optimizer's ``state``
is keyed by int); ``{"__list__": [...]}`` and ``{"__tuple__": [...]}`` keep the container.
A safetensors file without that metadata (written by PyTorch, say) loads as a flat dict of
its arrays. Files of the first format (``.npz`` + JSON manifest) still load, with a one-time
warning that saving again upgrades them (see ``_legacy_npz.py``).

Loading checks the file and its metadata; a malformed file raises ``ValueError`` naming the
file. Arrays come back as writable NumPy arrays (``Module.load_state_dict`` takes either).

Saving is atomic: the bytes are written to a temporary file beside ``path``, flushed to
disk, then renamed over ``path``; if anything fails, an existing file is left as it was.
"""
import json
import os
import tempfile
import warnings
import zlib
from collections.abc import Mapping

import numpy as np

from autograd import Tensor
from . import _legacy_npz
from ._legacy_npz import Bad as _Bad, path_str as _path_str

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "ndgrad.state"
FORMAT_VERSION = 2
_META_FORMAT, _META_VERSION, _META_TREE, _META_PACKAGE, _META_CRC = (
    "ndgrad.format", "ndgrad.version", "ndgrad.tree", "ndgrad", "ndgrad.crc32")
# What safetensors stores (NumPy names); anything else is refused when saving.
_SUPPORTED = {"bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
              "float16", "float32", "float64", "complex64"}


# ---------------------------------------------------------------------- save
def _encode(obj, keys, arrays):
    """Turn ``obj`` into a JSON-able tree, appending ``(keys, array)`` to ``arrays``; an
    array node is ``{"__array__": index}`` (the caller names it)."""
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, np.generic) and not isinstance(obj, (np.str_, np.bytes_)):
        node = _encode(np.asarray(obj), keys, arrays)
        node["scalar"] = True
        return node
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError(f"cannot save the array at {_path_str(keys)!r}: object arrays "
                            f"would need pickle")
        arrays.append((keys, obj))
        return {"__array__": len(arrays) - 1}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Mapping):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(f"cannot save the key {k!r} at {_path_str(keys)!r}: keys must "
                                f"be str or int, not {type(k).__name__}")
            items.append([k, _encode(v, keys + (k,), arrays)])
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        tag = "__tuple__" if isinstance(obj, tuple) else "__list__"
        return {tag: [_encode(v, keys + (i,), arrays) for i, v in enumerate(obj)]}
    raise TypeError(f"cannot save the value at {_path_str(keys)!r} of type "
                    f"{type(obj).__name__}: expected a Tensor, ndarray, dict, list, tuple, "
                    f"str, int, float, bool or None")


def _array_nodes(tree):
    """Every ``{"__array__": ...}`` node of an encoded tree, in order."""
    stack, out = [tree], []
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__array__" in node:
                out.append(node)
            else:
                stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return out


def _tensors(obj):
    """``(tree, {name: little-endian contiguous array})`` for ``obj``."""
    arrays = []
    tree = _encode(obj, (), arrays)
    nodes = sorted(_array_nodes(tree), key=lambda n: n["__array__"])
    tensors = {}
    for node, (keys, arr) in zip(nodes, arrays):
        if arr.dtype.name not in _SUPPORTED:
            raise TypeError(f"cannot save the array at {_path_str(keys)!r}: dtype {arr.dtype} "
                            f"is not one safetensors stores (bool, ints, float16/32/64, "
                            f"complex64)")
        name = base = "/".join(str(k) for k in keys) or "<root>"
        n = 1
        while name in tensors:  # a key containing "/" can collide with a nested path
            n += 1
            name = f"{base}#{n}"
        if arr.dtype.byteorder == ">":
            node["dtype"] = arr.dtype.str
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        node["__array__"] = name
        tensors[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
    return tree, tensors


def _package_version():
    try:
        from importlib.metadata import version
        return version("ndgrad")
    except Exception:  # not installed (running from a checkout)
        return "unknown"


def _serialize(obj):
    from safetensors.numpy import save as st_save
    tree, tensors = _tensors(obj)
    metadata = {_META_FORMAT: FORMAT_NAME, _META_VERSION: str(FORMAT_VERSION),
                _META_PACKAGE: _package_version(),
                _META_TREE: json.dumps(tree, allow_nan=True, ensure_ascii=False,
                                       separators=(",", ":"))}
    metadata[_META_CRC] = _crc(tensors)
    return st_save(tensors, metadata=metadata)


def _crc(arrays):
    """CRC-32 of the arrays' bytes in name order, as hex (safetensors has no checksum)."""
    crc = 0
    for name in sorted(arrays):
        crc = zlib.crc32(arrays[name].reshape(-1).view(np.uint8), crc)
    return f"{crc:08x}"


def _new_file_mode():
    """The mode ``open()`` would give a new file (0o666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save(obj, path):
    """Save a (nested) state dict to ``path`` (str or os.PathLike) as a safetensors file.

    The name is used exactly as given (no extension is appended). The write is atomic: a
    reader sees either the old file or the complete new one.
    """
    path = os.fspath(path)
    data = _serialize(obj)
    atomic_write(path, data)


def atomic_write(path, data):
    """Write the bytes ``data`` to ``path`` through a temporary file and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = _new_file_mode()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX; a no-op where directories can't be opened)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# ---------------------------------------------------------------------- load
_warned_legacy = False


def _warn_legacy(path):
    global _warned_legacy
    if not _warned_legacy:
        _warned_legacy = True
        warnings.warn(f"{path!r} is in ndgrad's old .npz checkpoint format; it loads, but "
                      f"saving it again with nn.save writes safetensors, which PyTorch and "
                      f"other tools read as well", UserWarning, stacklevel=3)


def _read_safetensors(path):
    from safetensors import SafetensorError, safe_open
    try:
        # safe_open checks the header (dtypes, shapes, offsets against the file's size)
        # and maps the file; each get_tensor is one copy into a writable array.
        with safe_open(path, framework="numpy") as f:
            metadata = f.metadata() or {}
            arrays = {name: f.get_tensor(name) for name in f.keys()}
    except SafetensorError as e:
        raise _Bad(f"the safetensors data is malformed or truncated ({e})") from None
    crc = metadata.get(_META_CRC)
    if crc is not None and crc != _crc(arrays):
        raise _Bad("its array data is corrupted (the CRC-32 recorded when saving differs)")
    if _META_TREE not in metadata:  # a plain safetensors file (PyTorch, ...): flat dict
        return arrays
    if metadata.get(_META_FORMAT) != FORMAT_NAME or metadata.get(_META_VERSION) != str(
            FORMAT_VERSION):
        raise _Bad(f"its metadata names format {metadata.get(_META_FORMAT)!r} version "
                   f"{metadata.get(_META_VERSION)!r}; this ndgrad reads {FORMAT_NAME!r} "
                   f"version {FORMAT_VERSION}")
    try:
        tree = json.loads(metadata[_META_TREE])
    except json.JSONDecodeError as e:
        raise _Bad(f"its metadata tree is not valid JSON ({e})") from None

    def lookup(name):
        if not isinstance(name, str) or name not in arrays:
            raise _Bad(f"the metadata tree refers to a missing array {name!r:.60}")
        return arrays[name]

    used = set()
    obj = _legacy_npz.decode(tree, lookup, used)
    if len(used) != len(arrays):
        raise _Bad(f"it holds arrays the metadata tree does not use: "
                   f"{sorted(set(arrays) - used)[:5]}")
    return obj


def _sniff(path):
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) == 9 and head[8:9] == b"{":  # an 8-byte header length, then JSON
        return "safetensors"
    if head[:2] == b"PK":
        return "npz"
    if head[:1] == b"\x80":
        return "a pickle"
    if head[:4] == b"\x93NUM":
        return "a single .npy array"
    return "neither safetensors nor ndgrad's old .npz format"


def load(path, map_location=None, weights_only=True):
    """Load what ``save`` wrote (or any safetensors file). Arrays come back as NumPy arrays.

    ``map_location``: None or ``"cpu"`` (ndgrad runs on the CPU). ``weights_only``: kept for
    PyTorch's signature; ndgrad never unpickles, so only data is ever loaded.

    Raises ``FileNotFoundError`` if there is no file, and ``ValueError`` naming the file
    and the problem if it is not a valid state file (truncated, wrong types in the
    metadata, arrays disagreeing with it, a pickle, ...).
    """
    path = os.fspath(path)
    if map_location is not None and str(map_location) != "cpu":
        raise ValueError(f"load: map_location={map_location!r} is not supported; ndgrad "
                         f"runs on the CPU (use None or 'cpu')")
    kind = _sniff(path)
    try:
        if kind == "npz":
            obj = _legacy_npz.load_npz(path)
            _warn_legacy(path)
            return obj
        if kind == "safetensors":
            return _read_safetensors(path)
    except _Bad as e:
        raise ValueError(f"{path!r} is not a valid ndgrad state file: {e}") from None
    except RecursionError:
        raise ValueError(f"{path!r} is not a valid ndgrad state file: its metadata is nested "
                         f"too deeply") from None
    raise ValueError(f"{path!r} is not an ndgrad state file ({kind}; expected the "
                     f"safetensors file written by nn.save)")
