"""Saving and loading state dicts: ``save(obj, path)`` and ``load(path)``.

``obj`` is a (possibly nested) dict of arrays -- ``autograd.Tensor`` or NumPy -- and plain
values: None, bool, int, float, str, and lists/tuples/dicts of these. That covers a
``Module.state_dict()``, an ``Optimizer.state_dict()`` and checkpoints such as
``{'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3}``.

The file is one ``.npz`` archive (``np.savez``): the arrays, as ``a0.npy``, ``a1.npy``, ...,
plus ``__manifest__.npy``, a uint8 array holding UTF-8 JSON::

    {"format": "ndgrad.state", "version": 1,
     "arrays": [{"name": "a0", "path": ["model", "fc.weight"], "shape": [10, 784], "dtype": "<f4"}, ...],
     "tree": {"__dict__": [["model", {"__dict__": [["fc.weight", {"__array__": 0}], ...]}],
                           ["epoch", 3]]}}

``tree`` rebuilds the object: JSON scalars stand for themselves; ``{"__array__": i}`` is the
i-th array (``"scalar": true`` for a NumPy scalar); ``{"__dict__": [[key, value], ...]}``
keeps key order and int keys (an optimizer's ``state`` is keyed by int);
``{"__list__": [...]}`` and ``{"__tuple__": [...]}`` keep the container type.

Loading uses ``np.load(path, allow_pickle=False)``, so a file can never run code, and checks
the archive against its manifest; a malformed file raises ``ValueError`` naming the file.
Tensors come back as NumPy arrays (``Module.load_state_dict`` accepts either).

Saving is atomic: the archive is written to a temporary file beside ``path``, flushed to
disk, then renamed over ``path``; if anything fails, an existing file is left as it was.
"""
import json
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Mapping

import numpy as np

from autograd import Tensor

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "ndgrad.state"
FORMAT_VERSION = 1
_MANIFEST = "__manifest__"

# Errors a damaged archive can raise from inside zipfile / np.load.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
                KeyError, zlib.error, struct.error, UnicodeDecodeError, NotImplementedError)


# ---------------------------------------------------------------------- save
def _path_str(keys):
    return "/".join(str(k) for k in keys) or "<root>"


def _encode(obj, keys, arrays):
    """Turn ``obj`` into a JSON-able tree, appending its arrays to ``arrays``."""
    if isinstance(obj, Tensor):
        obj = obj.data
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
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
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


def _manifest_array(manifest):
    text = json.dumps(manifest, allow_nan=True, ensure_ascii=False, separators=(",", ":"))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _new_file_mode():
    """The mode ``open()`` would give a new file (0o666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save(obj, path):
    """Save a (nested) state dict to ``path`` (str or os.PathLike) as an ``.npz`` archive.

    The name is used exactly as given (no ``.npz`` is appended). The write is atomic: a
    reader sees either the old file or the complete new one.
    """
    path = os.fspath(path)
    arrays = []
    tree = _encode(obj, (), arrays)
    entries = {}
    table = []
    for i, (keys, arr) in enumerate(arrays):
        name = f"a{i}"
        entries[name] = arr
        table.append({"name": name, "path": list(keys), "shape": list(arr.shape),
                      "dtype": arr.dtype.str})
    manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "arrays": table, "tree": tree}
    entries[_MANIFEST] = _manifest_array(manifest)

    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = _new_file_mode()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **entries)
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
class _Bad(Exception):
    """Internal: a problem with the file, turned into a ValueError naming the path."""


def _read_manifest(npz):
    if _MANIFEST + ".npy" not in npz.zip.namelist():
        raise _Bad("it has no manifest (not a file written by nn.save)")
    try:
        raw = npz[_MANIFEST]
    except ValueError as e:
        raise _Bad(f"its manifest cannot be read ({e})") from None
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _Bad(f"its manifest is a {raw.dtype} array of shape {raw.shape}, not bytes")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _Bad(f"its manifest is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        fmt = manifest.get("format") if isinstance(manifest, dict) else None
        raise _Bad(f"its manifest names format {fmt!r}, not {FORMAT_NAME!r}")
    version = manifest.get("version")
    if version != FORMAT_VERSION:
        raise _Bad(f"it has format version {version!r}; this ndgrad reads version "
                   f"{FORMAT_VERSION}")
    if not isinstance(manifest.get("arrays"), list) or "tree" not in manifest:
        raise _Bad("its manifest lacks the 'arrays' table or the 'tree'")
    return manifest


def _read_arrays(npz, table):
    members = set(npz.zip.namelist())
    expected = {_MANIFEST + ".npy"}
    arrays = []
    for i, entry in enumerate(table):
        if not isinstance(entry, dict) or not {"name", "shape", "dtype"} <= set(entry):
            raise _Bad(f"manifest entry {i} of the array table is malformed")
        name = entry["name"]
        where = _path_str(entry.get("path") or [name])
        if not isinstance(name, str) or name + ".npy" not in members:
            raise _Bad(f"the array for {where!r} ({name!r}) is missing")
        expected.add(name + ".npy")
        try:
            dtype = np.dtype(entry["dtype"])
        except TypeError:
            raise _Bad(f"the manifest gives {where!r} an unknown dtype {entry['dtype']!r}") from None
        if dtype.hasobject:
            raise _Bad(f"the manifest gives {where!r} an object dtype")
        try:
            arr = npz[name]  # allow_pickle=False: an object array raises ValueError here
        except ValueError as e:
            raise _Bad(f"the array for {where!r} cannot be read ({e})") from None
        if arr.dtype.hasobject:
            raise _Bad(f"the array for {where!r} has an object dtype")
        if arr.dtype != dtype or arr.dtype.str != dtype.str:
            raise _Bad(f"the array for {where!r} has dtype {arr.dtype.str}, but the manifest "
                       f"says {dtype.str}")
        if list(arr.shape) != entry["shape"]:
            raise _Bad(f"the array for {where!r} has shape {list(arr.shape)}, but the manifest "
                       f"says {entry['shape']}")
        arrays.append(arr)
    extra = sorted(members - expected)
    if extra:
        raise _Bad(f"it holds entries the manifest does not list: {extra[:5]}")
    return arrays


def _decode(node, arrays, used):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) in (1, 2):
        if "__array__" in node:
            i = node["__array__"]
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(arrays):
                raise _Bad(f"the manifest refers to a missing array {i!r}")
            if i in used:
                raise _Bad(f"the manifest uses array {i} twice")
            used.add(i)
            if node.get("scalar"):
                if arrays[i].ndim != 0:
                    raise _Bad(f"array {i} is marked as a scalar but has shape {arrays[i].shape}")
                return arrays[i][()]
            return arrays[i]
        if len(node) == 1:
            (tag, value), = node.items()
            if tag in ("__list__", "__tuple__") and isinstance(value, list):
                items = [_decode(v, arrays, used) for v in value]
                return tuple(items) if tag == "__tuple__" else items
            if tag == "__dict__" and isinstance(value, list):
                out = {}
                for item in value:
                    if not (isinstance(item, list) and len(item) == 2
                            and isinstance(item[0], (str, int))):
                        raise _Bad(f"the manifest has a malformed dict entry {item!r:.60}")
                    out[item[0]] = _decode(item[1], arrays, used)
                return out
    raise _Bad(f"the manifest has an unrecognised node {node!r:.60}")


def load(path):
    """Load what ``save`` wrote. Arrays come back as NumPy arrays.

    Raises ``FileNotFoundError`` if there is no file, and ``ValueError`` naming the file
    and the problem if it is not a valid ndgrad state file (not a zip archive, truncated,
    no manifest, unknown format version, arrays disagreeing with the manifest, ...).
    Never unpickles anything.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] != b"PK":
        what = "a pickle" if head[:1] == b"\x80" else (
            "a single .npy array" if head[:4] == b"\x93NUM" else "not a zip archive")
        raise ValueError(f"{path!r} is not an ndgrad state file ({what}; expected the .npz "
                         f"archive written by nn.save)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise _Bad("it is not an .npz archive")
            manifest = _read_manifest(npz)
            arrays = _read_arrays(npz, manifest["arrays"])
        used = set()
        obj = _decode(manifest["tree"], arrays, used)
        if len(used) != len(arrays):
            raise _Bad("the manifest lists arrays its tree does not use")
        return obj
    except _Bad as e:
        raise ValueError(f"{path!r} is not a valid ndgrad state file: {e}") from None
    except RecursionError:
        raise ValueError(f"{path!r} is not a valid ndgrad state file: its manifest is nested "
                         f"too deeply") from None
    except _READ_ERRORS as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"{path!r} is not a valid ndgrad state file: the archive is damaged "
                         f"or truncated ({type(e).__name__}: {e})") from e
